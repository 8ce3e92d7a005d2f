//! Pieces every instruction uses: the pool's signer seeds, token moves, valuation.

use anchor_lang::prelude::*;
use keel_math::Rounding;
use keel_math::crp::risky_value;

use crate::constants::{
    BPS, CONVERSION_CONFIRM_SECS, CONVERSION_CONFIRM_WINDOW_SECS, CRP_POOL_SEED,
};
use crate::errors::{CrpError, math};
use crate::events::FlightToQualityEvent;
use crate::oracle::Prices;
use crate::state::{CrpPool, status};

/// Signer seeds of the pool PDA (authority of both vaults and both claim mints).
pub struct PoolSeeds {
    risky_mint: Pubkey,
    riskless_mint: Pubkey,
    expiry: [u8; 8],
    authority: Pubkey,
    bump: [u8; 1],
}

impl PoolSeeds {
    pub fn of(pool: &CrpPool) -> Self {
        PoolSeeds {
            risky_mint: pool.risky_mint,
            riskless_mint: pool.riskless_mint,
            expiry: pool.expiry.to_le_bytes(),
            authority: pool.authority,
            bump: [pool.bump],
        }
    }
    pub fn seeds(&self) -> [&[u8]; 6] {
        [
            CRP_POOL_SEED,
            self.risky_mint.as_ref(),
            self.riskless_mint.as_ref(),
            &self.expiry,
            self.authority.as_ref(),
            &self.bump,
        ]
    }
}

// Token moves are the shared crate's: one implementation of each CPI for both programs.
pub use keel_onchain::token::{
    burn as burn_claims, mint_to as mint_claims, transfer_in, transfer_out,
};

pub fn add(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b)
        .ok_or_else(|| error!(CrpError::MathOverflow))
}

pub fn sub(a: u64, b: u64) -> Result<u64> {
    a.checked_sub(b)
        .ok_or_else(|| error!(CrpError::MathOverflow))
}

/// The pool's value in riskless native units, its risky side at `price` rounded as asked.
pub fn pool_value(pool: &CrpPool, price: keel_math::Fix, rounding: Rounding) -> Result<u64> {
    let risky = risky_value(pool.risky_balance, price, rounding).map_err(math)?;
    add(risky, pool.riskless_balance)
}

/// Debt over pool value (bps, saturating), the pool valued at the low end of the oracle's
/// confidence interval (what a new loan must stay under).
pub fn pool_ltv_bps(pool: &CrpPool, prices: &Prices) -> Result<u64> {
    ltv_bps_at(pool, prices.low)
}

/// Debt over pool value (bps, saturating), the pool's risky valued at `price`.
pub fn ltv_bps_at(pool: &CrpPool, price: keel_math::Fix) -> Result<u64> {
    let value = pool_value(pool, price, Rounding::Down)?;
    if value == 0 {
        return Ok(if pool.debt_face == 0 { 0 } else { u64::MAX });
    }
    let ltv = keel_math::wide::mul_div_u128(
        pool.debt_face as u128,
        BPS as u128,
        value as u128,
        Rounding::Up,
    )
    .map_err(math)?;
    Ok(ltv.min(u64::MAX as u128) as u64)
}

/// A reading that shows the loan-to-value back under the threshold clears a recorded breach:
/// every instruction that reads the oracle calls this (it costs nothing unless one is recorded).
pub fn clear_breach_if_recovered(pool: &mut CrpPool, prices: &Prices) -> Result<()> {
    if pool.breach_publish_ts != 0 && ltv_bps_at(pool, prices.mid)? < pool.params.conversion_ltv_bps
    {
        pool.breach_publish_ts = 0;
    }
    Ok(())
}

/// What a reading of the oracle does to the conversion breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    /// The loan-to-value at the mid price is below the threshold (a pending breach is cleared).
    None,
    /// The print is too wide to start or confirm the irreversible conversion.
    Unconfirmable,
    /// The first tight print that shows the breach: recorded, not yet acted on.
    Observed,
    /// Seen, but not yet confirmed by a print published `CONVERSION_CONFIRM_SECS` later.
    Pending,
    /// Confirmed: the flight to quality started.
    Converted,
}

/// Start the flight to quality once the loan-to-value at the oracle's mid price has reached the
/// conversion threshold on two tight prints published `CONVERSION_CONFIRM_SECS` to
/// `CONVERSION_CONFIRM_WINDOW_SECS` apart (a lagging, wide or one-off print cannot start it, nor
/// two dips far apart). Any reading below the threshold clears a recorded breach. A pool with
/// nothing risky left is converted at once.
pub fn start_conversion_if_due(
    pool: &mut CrpPool,
    pool_key: Pubkey,
    prices: &Prices,
    now: i64,
) -> Result<Breach> {
    let ltv = ltv_bps_at(pool, prices.mid)?;
    if pool.debt_face == 0 || ltv < pool.params.conversion_ltv_bps {
        pool.breach_publish_ts = 0;
        return Ok(Breach::None);
    }
    if !prices.tight {
        return Ok(Breach::Unconfirmable);
    }
    let stale = prices.publish_time
        > pool
            .breach_publish_ts
            .saturating_add(CONVERSION_CONFIRM_WINDOW_SECS);
    if pool.breach_publish_ts == 0 || stale {
        pool.breach_publish_ts = prices.publish_time.max(1);
        return Ok(Breach::Observed);
    }
    if prices.publish_time
        < pool
            .breach_publish_ts
            .saturating_add(CONVERSION_CONFIRM_SECS)
    {
        return Ok(Breach::Pending);
    }
    pool.status = if pool.risky_balance == 0 {
        status::CONVERTED
    } else {
        status::CONVERTING
    };
    pool.conversion_ts = now;
    emit!(FlightToQualityEvent {
        pool: pool_key,
        price: prices.mid.to_bits(),
        pool_ltv_bps: ltv,
        risky_balance: pool.risky_balance,
        riskless_balance: pool.riskless_balance,
        completed: pool.status == status::CONVERTED,
        ts: now,
    });
    Ok(Breach::Converted)
}
