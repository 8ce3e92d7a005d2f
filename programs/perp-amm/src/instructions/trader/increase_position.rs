use anchor_lang::prelude::*;

use crate::engine::{Pricing, fill};
use crate::errors::PerpError;
use crate::instructions::shared::transfer_in;
use crate::instructions::trader::{
    Trade, check_after_increase, emit_fill, market_context, pool_risk_model, require_covered,
    track_imbalance,
};
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
    require!(args.size != 0, PerpError::ZeroAmount);
    let a = &mut *ctx.accounts;
    require!(
        a.position.size != 0 && (a.position.size > 0) == (args.size > 0),
        PerpError::InvalidSize
    );
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
    require_covered(model.as_deref(), market)?;
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
    position.collateral = position
        .collateral
        .checked_add(args.collateral)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    pool.total_collateral = pool
        .total_collateral
        .checked_add(args.collateral)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    let out = fill(
        &mut pool,
        market.index,
        &market.params,
        position,
        args.size,
        &price,
        now,
        Pricing::Market {
            limit,
            fee_bps: market.params.open_fee_bps,
        },
        model.as_deref(),
    )?;
    check_after_increase(&pool, market, position, price.price)?;
    track_imbalance(
        &mut pool,
        model.as_deref(),
        market,
        args.size,
        price.price,
        now,
        true,
    )?;
    emit_fill(&pool, pool_key, market, position, args.size, &price, &out)
}
