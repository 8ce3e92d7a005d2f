//! Prices for the pool, read by the shared oracle reader (`keel_onchain::oracle`: push oracles
//! and Pyth `PriceUpdateV2`, the owner, feed, staleness and confidence checks the perp program
//! applies too), its errors mapped onto this program's codes (`errors::onchain`).

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_onchain::AccountRead;
use keel_onchain::bytes::keys_eq;
use keel_onchain::oracle::{MarkLimits, OracleKind, read_mark, read_raw, scale_pow10};

use crate::errors::{CrpError, onchain};
use crate::state::CrpPool;

/// The oracle price in riskless native per risky native, and the ends of its confidence
/// interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prices {
    pub mid: Fix,
    pub low: Fix,
    pub high: Fix,
    /// When the oracle published the price.
    pub publish_time: i64,
    /// The confidence interval is at most half the pool's `max_conf_bps`: tight enough to start
    /// the irreversible conversion.
    pub tight: bool,
}

/// Read the pool's oracle at `now`: its address, owner, feed id, age and confidence checked.
/// Over any [`AccountRead`]: the program's `AccountInfo`s, or bytes fetched off chain
/// (`keel crp status` reads the pool's price through it).
pub fn load_prices<A: AccountRead>(pool: &CrpPool, info: &A, now: i64) -> Result<Prices> {
    require!(keys_eq(info.key(), &pool.oracle), CrpError::WrongOracle);
    let settings = OracleSettings {
        kind: pool.oracle_kind,
        oracle_pool: &pool.oracle_pool,
        feed_id: &pool.feed_id,
        max_age_secs: pool.params.max_age_secs,
        max_conf_bps: pool.params.max_conf_bps,
        decimals_shift: pool.riskless_decimals as i32 - pool.risky_decimals as i32,
    };
    read_prices(info, &settings, now)
}

/// The oracle's latest print, whatever its age and confidence (owner, type, pool and feed id
/// checked): the mid price and when it was published, `None` if it cannot be read or is not
/// positive. What a pool past its settlement grace period settles at, when it is newer than the
/// last price the pool accepted.
pub fn latest_print<A: AccountRead>(pool: &CrpPool, info: &A) -> Option<(Fix, i64)> {
    let kind = OracleKind::from_u8(pool.oracle_kind);
    let raw = read_raw(info, kind, &pool.oracle_pool, Some(&pool.feed_id)).ok()?;
    let price = u64::try_from(raw.price).ok().filter(|p| *p > 0)?;
    let shift = pool.riskless_decimals as i32 - pool.risky_decimals as i32;
    let mid = scale_pow10(price, raw.expo.checked_add(shift)?).ok()?;
    (mid > Fix::ZERO).then_some((mid, raw.publish_time))
}

/// How a pool reads its oracle.
pub struct OracleSettings<'a> {
    /// 0 = push oracle, 1 = Pyth.
    pub kind: u8,
    pub oracle_pool: &'a Pubkey,
    pub feed_id: &'a [u8; 32],
    pub max_age_secs: u64,
    pub max_conf_bps: u64,
    /// riskless decimals − risky decimals.
    pub decimals_shift: i32,
}

/// [`load_prices`] from explicit settings (pool creation reads the oracle before the pool exists).
pub fn read_prices<A: AccountRead>(info: &A, s: &OracleSettings, now: i64) -> Result<Prices> {
    let limits = MarkLimits {
        max_age_secs: s.max_age_secs.min(u32::MAX as u64) as u32,
        max_conf_bps: s.max_conf_bps,
        decimals_shift: s.decimals_shift,
    };
    let mark = read_mark(
        info,
        OracleKind::from_u8(s.kind),
        s.oracle_pool,
        Some(s.feed_id),
        limits,
        now,
    )
    .map_err(onchain)?;
    let at = |v: u64| scale_pow10(v, mark.exp10).map_err(onchain);
    // the confidence check bounds conf to a fraction of the price, so price − conf > 0
    Ok(Prices {
        mid: at(mark.price)?,
        low: at(mark.price - mark.conf.min(mark.price - 1))?,
        high: at(mark.price.saturating_add(mark.conf))?,
        publish_time: mark.publish_time,
        tight: mark.conf as u128 * 2 * crate::constants::BPS as u128
            <= mark.price as u128 * s.max_conf_bps as u128,
    })
}
