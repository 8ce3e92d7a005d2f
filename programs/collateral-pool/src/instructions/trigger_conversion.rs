use anchor_lang::prelude::*;

use crate::errors::CrpError;
use crate::instructions::shared::{Breach, start_conversion_if_due};
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

/// Anyone: report the oracle's price to the conversion check, so that the switch never waits for
/// the keeper or its interval. The first tight print whose mid price puts the loan-to-value at
/// the threshold is recorded; a tight print published `CONVERSION_CONFIRM_SECS` later that still
/// shows it starts the flight to quality; a print below the threshold clears a recorded breach.
/// Anything else changes nothing and says why.
pub fn handle_trigger_conversion(ctx: Context<TriggerConversion>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    pool.require_active(now)?;
    let prices = load_prices(&pool, &ctx.accounts.oracle, now)?;
    pool.record_price(&prices);
    let pending = pool.breach_publish_ts != 0;
    match start_conversion_if_due(&mut pool, pool_key, &prices, now)? {
        Breach::Observed | Breach::Converted => Ok(()),
        Breach::None if pending => Ok(()),
        Breach::None => err!(CrpError::BelowConversionThreshold),
        Breach::Unconfirmable => err!(CrpError::OracleConfidence),
        Breach::Pending => err!(CrpError::BreachNotConfirmed),
    }
}
