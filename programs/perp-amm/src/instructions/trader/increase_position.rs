use anchor_lang::prelude::*;

use crate::engine::{TradeInput, apply_increase, check_increase};
use crate::instructions::shared::{market_context, pool_risk_model, transfer_in};
use crate::instructions::trader::{Trade, emit_fill};
use crate::state::{OracleUse, limit_price, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct IncreasePositionArgs {
    /// Base native units to add, with the position's sign.
    pub size: i64,
    /// Extra margin posted with the trade (may be 0).
    pub collateral: u64,
    /// Worst acceptable average price, quote per base ×1e9 (see `OpenPositionArgs`).
    pub price_limit_e9: u64,
}

pub fn handle_increase_position(ctx: Context<Trade>, args: IncreasePositionArgs) -> Result<()> {
    let a = &mut *ctx.accounts;
    check_increase(a.position.size, args.size)?;
    let now = Clock::get()?.unix_timestamp;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        pause::OPEN,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, limit) = (
        mc.price,
        limit_price(args.price_limit_e9, market.base_decimals, mc.quote_decimals)?,
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    if args.collateral > 0 {
        transfer_in(
            &a.token_program,
            a.owner_quote.to_account_info(),
            a.vault.to_account_info(),
            a.owner.to_account_info(),
            args.collateral,
        )?;
    }
    let position = &mut a.position;
    let mut pool = a.pool.load_mut()?;
    let input = TradeInput {
        market,
        price,
        limit,
        now,
        model: model.as_deref(),
    };
    let out = apply_increase(&mut pool, position, &input, args.size, args.collateral)?;
    emit_fill(&pool, pool_key, market, position, args.size, &price, &out)
}
