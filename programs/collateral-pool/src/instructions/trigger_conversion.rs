use anchor_lang::prelude::*;

use crate::errors::CrpError;
use crate::instructions::shared::start_conversion_if_due;
use crate::oracle::load_prices;
use crate::state::CrpPool;

#[derive(Accounts)]
pub struct TriggerConversion<'info> {
    pub caller: Signer<'info>,
    #[account(mut)]
    pub pool: AccountLoader<'info, CrpPool>,
    /// CHECK: the pool's oracle, checked by `load_prices`.
    pub oracle: UncheckedAccount<'info>,
}

/// Anyone: start the flight to quality once the pool's loan-to-value has reached the conversion
/// threshold, so that the switch never waits for the keeper or its interval.
pub fn handle_trigger_conversion(ctx: Context<TriggerConversion>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.require_active(now)?;
    let prices = load_prices(&pool, &ctx.accounts.oracle, now)?;
    require!(
        start_conversion_if_due(&mut pool, pool_key, &prices, now)?,
        CrpError::BelowConversionThreshold
    );
    Ok(())
}
