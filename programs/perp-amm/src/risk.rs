//! The Imbalance Score on every fill, and its limit.
//!
//! A pool with a risk model keeps IS = √(Kᵀ R K) exactly (`keel_math::imbalance_book`): each
//! fill re-marks its own market, B_i = net OI × oracle price, K_i = B_i·σ_i, and moves T by
//! 2δ·(R K)_i + δ² in O(n). The other markets keep the mark of their own last fill until
//! `refresh_imbalance` re-marks them all.
//!
//! The limit: an open or increase that raises IS may not take it above
//! `max_imbalance_bps` × LP capital. A fill that lowers IS is always allowed, and decreases,
//! closes and liquidations are never refused for it (a trader can always exit), though they
//! move IS too: a close can raise IS when the position hedged another market.

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::imbalance::{MAX_ASSETS, upper_len};
use keel_math::imbalance_book as book;
use keel_math::wide::Rounding;

use crate::constants::BPS;
use crate::errors::PerpError;
use crate::math::{notional, overflow};
use crate::state::{Pool, RiskModel};

fn math(e: keel_math::MathError) -> Error {
    error!(PerpError::from(e))
}

/// IS (10^-3 quote tokens) without a fill and with it, both at the fill's oracle price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImbalanceChange {
    pub before: u64,
    pub after: u64,
}

impl ImbalanceChange {
    pub fn raises(&self) -> bool {
        self.after > self.before
    }
}

/// B = net × price in quote native units, rounded away from zero.
pub fn marked_notional(net: i128, price: Fix) -> Result<i64> {
    let magnitude = notional(net.unsigned_abs() as i128, price, Rounding::Up)?;
    let signed = if net < 0 { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| overflow())
}

/// Bring the pool's K and T to the model's current revision: recompute every covered K from
/// its stored B and evaluate T afresh (O(n²), once per commit).
pub fn sync_with_model(pool: &mut Pool, model: &RiskModel) -> Result<()> {
    if pool.risk.revision == model.revision {
        return Ok(());
    }
    rebuild(pool, model)
}

/// Recompute every covered K from its stored B, and T and Σ K² afresh, under the model's
/// current parameters.
pub fn rebuild(pool: &mut Pool, model: &RiskModel) -> Result<()> {
    let n = model.market_count as usize;
    let quote_decimals = pool.quote_decimals;
    let mut k = [0i64; MAX_ASSETS];
    for (i, slot) in pool.markets.iter_mut().enumerate() {
        slot.risk_exposure = if i < n {
            book::exposure_units(
                slot.risk_notional,
                model.current.sigma_e9[i],
                quote_decimals,
            )
            .map_err(math)?
        } else {
            0
        };
        if i < n {
            k[i] = slot.risk_exposure;
        }
    }
    let t =
        book::quadratic_form(&model.current.corr_upper[..upper_len(n)], &k[..n]).map_err(math)?;
    let sum: i128 = k[..n].iter().map(|x| *x as i128 * *x as i128).sum();
    store(pool, t, sum)?;
    pool.risk.revision = model.revision;
    pool.risk.covered = n as u8;
    Ok(())
}

fn store(pool: &mut Pool, t: i128, sum_squares: i128) -> Result<()> {
    pool.risk.imbalance_sq.set(t);
    pool.risk.exposure_sq.set(sum_squares);
    pool.risk.imbalance_score = book::score(t).map_err(math)?;
    pool.risk.exposure_norm = book::norm(sum_squares as u128).map_err(math)?;
    Ok(())
}

/// After a fill of `size` base units in market `index` at oracle `price` (the slot's OI already
/// moved): mark the market, update T and Σ K², and return IS without and with the fill.
/// Markets the model does not cover keep their mark for when it does, and IS does not move.
pub fn record_fill(
    pool: &mut Pool,
    model: &RiskModel,
    index: u8,
    size: i64,
    price: Fix,
    now: i64,
) -> Result<ImbalanceChange> {
    sync_with_model(pool, model)?;
    let i = index as usize;
    let net = pool.slot(index)?.net_position();
    let b_after = marked_notional(net, price)?;
    pool.slot_mut(index)?.risk_notional = b_after;
    let n = pool.risk.covered as usize;
    if i >= n {
        let is = pool.risk.imbalance_score;
        return Ok(ImbalanceChange {
            before: is,
            after: is,
        });
    }
    let b_before = marked_notional(net - size as i128, price)?;
    let (sigma, quote_decimals) = (model.current.sigma_e9[i], pool.quote_decimals);
    let k_before = book::exposure_units(b_before, sigma, quote_decimals).map_err(math)?;
    let k_after = book::exposure_units(b_after, sigma, quote_decimals).map_err(math)?;

    let mut k = [0i64; MAX_ASSETS];
    for (kj, slot) in k.iter_mut().zip(&pool.markets[..n]) {
        *kj = slot.risk_exposure;
    }
    let k_stored = k[i];
    let row =
        book::row_product(&model.current.corr_upper[..upper_len(n)], &k[..n], i).map_err(math)?;
    let t = pool.risk.imbalance_sq.get();
    let t_before = book::quadratic_form_step(t, row, k_before - k_stored).map_err(math)?;
    let t_after = book::quadratic_form_step(t, row, k_after - k_stored).map_err(math)?;
    let sum = book::norm_squared_step(pool.risk.exposure_sq.get() as u128, k_stored, k_after)
        .map_err(math)?;
    let before = book::score(t_before).map_err(math)?;
    pool.slot_mut(index)?.risk_exposure = k_after;
    store(pool, t_after, sum as i128)?;
    pool.risk.updated_ts = now;
    Ok(ImbalanceChange {
        before,
        after: pool.risk.imbalance_score,
    })
}

/// The largest IS an IS-raising open may leave, 10^-3 quote tokens (rounded down).
pub fn imbalance_cap(pool: &Pool) -> Result<u64> {
    // lp_capital (native) × bps / 1e4 in 10^-3 tokens = lp_capital × bps / (1e4 · 10^(qd − 3))
    let scaled = pool.lp_capital as u128 * pool.risk.max_imbalance_bps as u128;
    let shift = pool.quote_decimals as i32 - book::EXPOSURE_DECIMALS as i32;
    let cap = if shift >= 0 {
        scaled / (BPS as u128 * 10u128.pow(shift as u32))
    } else {
        scaled * 10u128.pow((-shift) as u32) / BPS as u128
    };
    Ok(u64::try_from(cap).unwrap_or(u64::MAX))
}

/// Refuse an open or increase that raises IS above the cap; one that lowers it always passes.
pub fn check_imbalance_limit(pool: &Pool, change: &ImbalanceChange) -> Result<()> {
    if change.raises() {
        require!(
            change.after <= imbalance_cap(pool)?,
            PerpError::ImbalanceLimit
        );
    }
    Ok(())
}
