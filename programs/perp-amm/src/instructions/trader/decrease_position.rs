use anchor_lang::prelude::*;

use crate::engine::{TradeInput, apply_decrease};
use crate::errors::PerpError;
use crate::instructions::shared::{market_context, pool_risk_model};
use crate::instructions::trader::{Trade, emit_fill};
use crate::state::{OracleUse, limit_price, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct DecreasePositionArgs {
    /// Base native units to remove (a positive amount, less than the position's size; use
    /// `close_position` to close it all).
    pub size: u64,
    /// Worst acceptable average price, quote per base ×1e9 (a floor when selling out of a long,
    /// a ceiling when buying back a short; 0 or u64::MAX for none).
    pub price_limit_e9: u64,
}

/// Reduce a position; the realised PnL stays in its collateral (withdraw it with
/// `remove_collateral`).
pub fn handle_decrease_position(ctx: Context<Trade>, args: DecreasePositionArgs) -> Result<()> {
    require!(args.size > 0, PerpError::ZeroAmount);
    let a = &mut *ctx.accounts;
    require!(
        args.size < a.position.size.unsigned_abs(),
        PerpError::InvalidSize
    );
    let now = Clock::get()?.unix_timestamp;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        pause::CLOSE,
        OracleUse::RiskReducing,
        now,
    )?;
    let (price, limit) = (
        mc.price,
        limit_price(args.price_limit_e9, market.base_decimals, mc.quote_decimals)?,
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let position = &mut a.position;
    let mut pool = a.pool.load_mut()?;
    let input = TradeInput {
        market,
        price,
        limit,
        now,
        model: model.as_deref(),
    };
    let (size, out) = apply_decrease(&mut pool, position, &input, args.size)?;
    emit_fill(&pool, pool_key, market, position, size, &price, &out)
}
