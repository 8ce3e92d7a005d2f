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

/// A fill's effect on IS: whether it raised Kᵀ R K (against the book without the fill, both at
/// the fill's oracle price) and the score after it (10^-3 quote tokens).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImbalanceChange {
    pub raises: bool,
    pub after: u64,
    /// The market's exposure was clamped at the largest the score can hold.
    pub saturated: bool,
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
        // clamped, never failing: a σ or a book too large for the form must not block the
        // fills (closes, liquidations) that run this rebuild
        slot.risk_exposure = if i < n {
            book::exposure_units_saturating(
                slot.risk_notional,
                model.current.sigma_e9[i],
                quote_decimals,
            )
            .0
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
    pool.risk.imbalance_sq.set(t);
    pool.risk.exposure_sq.set(sum);
    pool.risk.revision = model.revision;
    pool.risk.covered = n as u8;
    Ok(())
}

/// IS and ||K|| from the stored T and Σ K² (the square roots are left to the one place that
/// reports them, so a fill pays for two and a rebuild inside it for none).
pub fn store_scores(pool: &mut Pool) -> Result<()> {
    pool.risk.imbalance_score = book::score(pool.risk.imbalance_sq.get()).map_err(math)?;
    pool.risk.exposure_norm = book::norm(pool.risk.exposure_sq.get() as u128).map_err(math)?;
    Ok(())
}

/// What moving market `index` from net OI `net_before` to `net_after` at `price` does to the
/// pool's quadratic form, from the stored K of the other markets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    pub b_after: i64,
    pub k_after: i64,
    k_stored: i64,
    pub t_before: i128,
    pub t_after: i128,
    /// K after the fill was clamped (see `exposure_units_saturating`).
    pub saturated: bool,
}

/// The effect of a fill on a covered market (the pool already synced with `model`).
pub fn fill_effect(
    pool: &Pool,
    model: &RiskModel,
    index: u8,
    net_before: i128,
    net_after: i128,
    price: Fix,
) -> Result<Effect> {
    let (i, n) = (index as usize, pool.risk.covered as usize);
    let (sigma, quote_decimals) = (model.current.sigma_e9[i], pool.quote_decimals);
    let b_before = marked_notional(net_before, price)?;
    let b_after = marked_notional(net_after, price)?;
    let (k_before, _) = book::exposure_units_saturating(b_before, sigma, quote_decimals);
    let (k_after, saturated) = book::exposure_units_saturating(b_after, sigma, quote_decimals);
    let mut k = [0i64; MAX_ASSETS];
    for (kj, slot) in k.iter_mut().zip(&pool.markets[..n]) {
        *kj = slot.risk_exposure;
    }
    let row =
        book::row_product(&model.current.corr_upper[..upper_len(n)], &k[..n], i).map_err(math)?;
    let t = pool.risk.imbalance_sq.get();
    Ok(Effect {
        b_after,
        k_after,
        k_stored: k[i],
        t_before: book::quadratic_form_step(t, row, k_before - k[i]).map_err(math)?,
        t_after: book::quadratic_form_step(t, row, k_after - k[i]).map_err(math)?,
        saturated,
    })
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
    priced: Option<Effect>,
) -> Result<ImbalanceChange> {
    sync_with_model(pool, model)?;
    let net = pool.slot(index)?.net_position();
    if index >= pool.risk.covered {
        pool.slot_mut(index)?.risk_notional = marked_notional(net, price)?;
        store_scores(pool)?;
        return Ok(ImbalanceChange {
            raises: false,
            after: pool.risk.imbalance_score,
            saturated: false,
        });
    }
    // the portfolio premium computed this same effect before the fill moved the OI: nothing
    // it reads (the stored K, T, the model) has changed since
    let effect = match priced {
        Some(effect) => effect,
        None => fill_effect(pool, model, index, net - size as i128, net, price)?,
    };
    let sum = book::norm_squared_step(
        pool.risk.exposure_sq.get() as u128,
        effect.k_stored,
        effect.k_after,
    )
    .map_err(math)?;
    let slot = pool.slot_mut(index)?;
    slot.risk_notional = effect.b_after;
    slot.risk_exposure = effect.k_after;
    pool.risk.imbalance_sq.set(effect.t_after);
    pool.risk.exposure_sq.set(sum as i128);
    store_scores(pool)?;
    pool.risk.updated_ts = now;
    Ok(ImbalanceChange {
        raises: effect.t_after > effect.t_before,
        after: pool.risk.imbalance_score,
        saturated: effect.saturated,
    })
}

/// Portfolio mode: the pool's capital C net of every market's unrealised PnL (markets other than
/// `index` marked at their last fill, `index` at `price`), and S = IS·√h before and after a fill
/// of `size` in market `index`, in quote native units.
pub fn portfolio_spreads(
    pool: &Pool,
    model: &RiskModel,
    index: u8,
    size: i64,
    price: Fix,
) -> Result<(Fix, Fix, Fix, Effect)> {
    let slot = pool.slot(index)?;
    let net = slot.net_position();
    let effect = fill_effect(pool, model, index, net, net + size as i128, price)?;
    // C in quote native units: realising PnL moves LP capital and the book by the same amount
    let mut capital = pool.pricing_capital() as i128;
    for (j, other) in pool.markets[..pool.market_count as usize]
        .iter()
        .enumerate()
    {
        if j == index as usize {
            let locked = other.locked_value() + notional(size as i128, price, Rounding::Up)?;
            capital += locked - effect.b_after as i128;
        } else if other.active == 1 {
            capital += other.locked_value() - other.risk_notional as i128;
        }
    }
    let shift = pool.quote_decimals as i32 - book::EXPOSURE_DECIMALS as i32;
    let sqrt_h = crate::math::fix_e9(pool.risk.premium_sqrt_horizon_e9);
    // IS in 10^-3 tokens to native, times √h; IS rounds up (a larger S only raises V)
    let spread = |t: i128| -> Result<Fix> {
        let score = book::score(t).map_err(math)? as i128;
        let scaled = if shift >= 0 {
            score.checked_mul(10i128.pow(shift as u32))
        } else {
            let d = 10i128.pow((-shift) as u32);
            Some((score + d - 1) / d)
        };
        scaled
            .and_then(Fix::checked_from_num)
            .and_then(|v| v.checked_mul(sqrt_h))
            .ok_or_else(overflow)
    };
    Ok((
        Fix::checked_from_num(capital).ok_or_else(overflow)?,
        spread(effect.t_before)?,
        spread(effect.t_after)?,
        effect,
    ))
}

/// The largest IS an IS-raising open may leave, 10^-3 quote tokens (rounded down, saturating).
pub fn imbalance_cap(pool: &Pool) -> u64 {
    // lp_capital (native) × bps / 1e4 in 10^-3 tokens = lp_capital × bps / (1e4 · 10^(qd − 3))
    let scaled = pool.lp_capital as u128 * pool.risk.max_imbalance_bps as u128;
    let shift = pool.quote_decimals as i32 - book::EXPOSURE_DECIMALS as i32;
    let cap = if shift >= 0 {
        scaled / (BPS as u128 * 10u128.pow(shift as u32))
    } else {
        scaled * 10u128.pow((-shift) as u32) / BPS as u128
    };
    u64::try_from(cap).unwrap_or(u64::MAX)
}

/// Refuse an open or increase that raises IS above the cap; one that lowers it always passes.
pub fn check_imbalance_limit(pool: &Pool, change: &ImbalanceChange) -> Result<()> {
    // an open whose exposure the score can no longer hold is refused (reductions pass)
    require!(!change.saturated, PerpError::MathOverflow);
    if change.raises {
        require!(
            change.after <= imbalance_cap(pool),
            PerpError::ImbalanceLimit
        );
    }
    Ok(())
}
