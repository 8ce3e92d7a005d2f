use anchor_lang::prelude::*;

use crate::engine::accrue_funding;
use crate::errors::PerpError;
use crate::events::FundingEvent;
use crate::instructions::shared::check_slot;
use crate::state::{Market, OracleUse, Pool, load_price, pause};

#[derive(Accounts)]
pub struct UpdateFunding<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
}

/// Permissionless: accrue the market's funding to now (funding also accrues on every trade).
pub fn handle_update_funding(ctx: Context<UpdateFunding>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let market = &ctx.accounts.market;
    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.require_not_paused(pause::FUNDING)?;
    check_slot(&pool, market)?;
    let price = load_price(
        &ctx.accounts.oracle,
        &market.oracle_spec(),
        &pool_key,
        pool.quote_decimals,
        now,
        OracleUse::RiskReducing,
    )?;
    let slot = pool.slot_mut(market.index)?;
    accrue_funding(slot, &market.params, price.price, now)?;
    emit!(FundingEvent {
        pool: pool_key,
        market: market.key(),
        long_index: slot.long_funding_index.get(),
        short_index: slot.short_funding_index.get(),
        timestamp: now,
    });
    Ok(())
}
