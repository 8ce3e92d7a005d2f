//! The trading engine: funding, fills priced with the D8X premium, margin, liquidation and the
//! pool's valuation. Instructions load accounts, call these, and emit events.
//!
//! Cash never appears or vanishes: every amount moves between the pool's balances
//! (`lp_capital`, `default_fund`, `total_collateral` = Σ position collateral, the markets'
//! `premium_balances`) or through the vault.

mod trade;
pub use trade::*;

use anchor_lang::prelude::*;
use keel_math::insurance::{BookValue, gaussian_book_value, lognormal_book_value};
use keel_math::wide::{Rounding, mul_q64, mul_u64};
use keel_math::{Fix, Prob};

use crate::constants::SECONDS_PER_DAY;
use crate::errors::PerpError;
use crate::errors::onchain;
use crate::math::{add_u64, bps_up, e9, fix_e9, fix_int, notional, overflow, to_int, to_u64};
use crate::state::{
    Mark, MarketParams, MarketSlot, OraclePrice, Pool, Position, RiskModel, premium_mode,
    rescale_pow10,
};

/// Bring a market's funding indices up to `now` at `price`: the crowded side pays
/// rate = max_rate · |long − short|/(long + short) per day on its notional, to the pool (which
/// carries the opposite of the skew). The increment per base unit rounds up.
pub fn accrue_funding(
    slot: &mut MarketSlot,
    params: &MarketParams,
    price: Fix,
    now: i64,
) -> Result<()> {
    let dt = now.saturating_sub(slot.last_funding_ts);
    if dt <= 0 {
        return Ok(());
    }
    slot.last_funding_ts = now;
    let (long, short) = (slot.long_oi as u128, slot.short_oi as u128);
    if long == short || params.max_funding_rate_e9 == 0 {
        return Ok(());
    }
    // per-unit increment = price · max_rate · skew · dt / day
    let skew = Fix::from_bits(
        keel_math::wide::mul_div_u128(long.abs_diff(short), 1 << 64, long + short, Rounding::Up)
            .map_err(|_| overflow())? as i128,
    );
    let per_day = price
        .checked_mul(fix_e9(params.max_funding_rate_e9))
        .and_then(|v| v.checked_mul(skew))
        .ok_or_else(overflow)?;
    let increment = per_day
        .checked_mul(fix_int(dt as i128)?)
        .and_then(|v| v.checked_div(Fix::from_num(SECONDS_PER_DAY)))
        .ok_or_else(overflow)?
        + Fix::DELTA;
    let index = if long > short {
        &mut slot.long_funding_index
    } else {
        &mut slot.short_funding_index
    };
    index.set_fix(index.fix().checked_add(increment).ok_or_else(overflow)?);
    Ok(())
}

fn side_index(slot: &MarketSlot, long: bool) -> Fix {
    if long {
        slot.long_funding_index.fix()
    } else {
        slot.short_funding_index.fix()
    }
}

/// Funding the position owes since its snapshot, rounded up (quote native).
pub fn funding_owed(slot: &MarketSlot, pos: &Position) -> Result<u64> {
    if pos.size == 0 {
        return Ok(0);
    }
    let delta = side_index(slot, pos.is_long()) - pos.funding_snapshot.fix();
    let owed = notional(pos.size.unsigned_abs() as i128, delta, Rounding::Up)?;
    to_u64(owed.max(0))
}

/// Move the position's snapshot to the current index, keeping the side's Σ|size|·snapshot.
fn resnapshot(slot: &mut MarketSlot, pos: &mut Position) -> Result<()> {
    let long = pos.is_long();
    let index = side_index(slot, long);
    let size = fix_int(pos.size.unsigned_abs() as i128)?;
    let step = size
        .checked_mul(index - pos.funding_snapshot.fix())
        .ok_or_else(overflow)?;
    let sum = if long {
        &mut slot.long_funding_snap_sum
    } else {
        &mut slot.short_funding_snap_sum
    };
    sum.set_fix(sum.fix().checked_add(step).ok_or_else(overflow)?);
    pos.funding_snapshot.set_fix(index);
    Ok(())
}

/// Change the side's Σ|size|·snapshot for a size change at the current snapshot.
fn snap_sum_resize(
    slot: &mut MarketSlot,
    long: bool,
    snapshot: Fix,
    old_abs: u64,
    new_abs: u64,
) -> Result<()> {
    let delta = fix_int(new_abs as i128 - old_abs as i128)?;
    let step = delta.checked_mul(snapshot).ok_or_else(overflow)?;
    let sum = if long {
        &mut slot.long_funding_snap_sum
    } else {
        &mut slot.short_funding_snap_sum
    };
    sum.set_fix(sum.fix().checked_add(step).ok_or_else(overflow)?);
    Ok(())
}

/// Credit the pool with `amount` of trading fees: the LP share to LP capital, the rest to the
/// default fund.
fn credit_fees(pool: &mut Pool, amount: u64) -> Result<()> {
    let to_lp =
        (amount as u128 * pool.lp_fee_share_bps as u128 / crate::constants::BPS as u128) as u64;
    pool.lp_capital = pool.lp_capital.checked_add(to_lp).ok_or_else(overflow)?;
    pool.book_income(to_lp);
    pool.default_fund = pool
        .default_fund
        .checked_add(amount - to_lp)
        .ok_or_else(overflow)?;
    Ok(())
}

/// A loss the pool booked but could not collect (a trader's loss beyond their collateral):
/// the default fund compensates LP capital first; LPs bear the rest. Returns the part the
/// default fund covered.
pub fn cover_bad_debt(pool: &mut Pool, shortfall: u64) -> u64 {
    let covered = shortfall.min(pool.default_fund);
    pool.default_fund -= covered;
    pool.lp_capital = pool.lp_capital.saturating_add(covered);
    covered
}

/// Pay `amount` from LP capital to a trader's collateral (profits); if LP capital
/// runs out the default fund pays, and beyond both the payout is cut. Returns what was paid.
fn pay_from_pool(pool: &mut Pool, amount: u64) -> u64 {
    let from_lp = amount.min(pool.lp_capital);
    pool.lp_capital -= from_lp;
    let from_df = (amount - from_lp).min(pool.default_fund);
    pool.default_fund -= from_df;
    from_lp + from_df
}

/// What a fill did, for events and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillOutcome {
    /// The pool's default probability after the fill (the market's in per-market mode).
    pub q: Prob,
    /// Premium paid by the trader, negative for a rebate (quote native): the change of the
    /// book's insurance value; a rebate at most the position's own unreturned premiums, a
    /// premium at most what the collateral could pay.
    pub premium: i64,
    /// Trading fee plus half-spread (quote native).
    pub fees: u64,
    pub funding_paid: u64,
    /// PnL realised on the part of the position that was reduced.
    pub realized_pnl: i64,
    /// Average fill price with premium and half-spread, quote native per base native.
    pub price: Fix,
    /// Loss beyond the position's collateral (bad debt), and the part the default fund covered.
    pub bad_debt: u64,
    pub bad_debt_covered: u64,
    /// Premium released to LP capital: what a position the fill closed had paid and not had
    /// back.
    pub premium_released: u64,
    /// Portfolio mode: the fill's effect on the Imbalance Score, computed for its price and
    /// reused when the score is updated after the fill.
    pub effect: Option<crate::risk::Effect>,
    /// What the fill moved in and out of LP capital, part by part (for attribution).
    pub lp: LpFlows,
}

impl FillOutcome {
    /// Add `next`'s amounts to these (fills made one after another on one position): sums of
    /// the money, the last fill's q, price and effect.
    pub fn absorb(&mut self, next: &FillOutcome) {
        self.q = next.q;
        self.price = next.price;
        self.effect = next.effect;
        self.premium = self.premium.saturating_add(next.premium);
        self.fees = self.fees.saturating_add(next.fees);
        self.funding_paid = self.funding_paid.saturating_add(next.funding_paid);
        self.realized_pnl = self.realized_pnl.saturating_add(next.realized_pnl);
        self.bad_debt = self.bad_debt.saturating_add(next.bad_debt);
        self.bad_debt_covered = self.bad_debt_covered.saturating_add(next.bad_debt_covered);
        self.premium_released = self.premium_released.saturating_add(next.premium_released);
        let (a, b) = (&mut self.lp, &next.lp);
        a.fees = a.fees.saturating_add(b.fees);
        a.funding = a.funding.saturating_add(b.funding);
        a.loss_owed = a.loss_owed.saturating_add(b.loss_owed);
        a.loss_taken = a.loss_taken.saturating_add(b.loss_taken);
        a.profit_paid = a.profit_paid.saturating_add(b.profit_paid);
        a.profit_from_default_fund = a
            .profit_from_default_fund
            .saturating_add(b.profit_from_default_fund);
    }
}

/// A fill's cash to and from LP capital: `fees + funding + loss_taken + premium_released
/// + bad_debt_covered − profit_paid` is exactly its change of `lp_capital` (the premium released
/// and the default fund's cover are in [`FillOutcome`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LpFlows {
    /// The LP share of the trading fees collected.
    pub fees: u64,
    /// Funding collected.
    pub funding: u64,
    /// The trader's realised loss owed, and the part the collateral paid.
    pub loss_owed: u64,
    pub loss_taken: u64,
    /// The trader's realised profit paid from LP capital, and from the default fund once LP
    /// capital ran out.
    pub profit_paid: u64,
    pub profit_from_default_fund: u64,
}

/// How a fill is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// A trader's order: the D8X price with premium/rebate and half-spread, a trading fee, and
    /// `limit`, the worst acceptable average price (quote native per base native): a ceiling
    /// for buys and a floor for sells.
    Market { limit: Fix, fee_bps: u32 },
    /// A liquidation: the oracle price, no premium, rebate or trading fee (the keeper's reward
    /// is paid separately).
    Liquidation,
}

/// Execute a fill of `size` base units on `pos`: settle funding, price the trade, charge fees,
/// realise PnL on any reduced part and update the pool's aggregates. Margin checks are the
/// caller's.
pub fn fill(
    pool: &mut Pool,
    index: u8,
    params: &MarketParams,
    pos: &mut Position,
    size: i64,
    oracle: &OraclePrice,
    now: i64,
    pricing: Pricing,
    model: Option<&RiskModel>,
) -> Result<FillOutcome> {
    require!(size != 0, PerpError::ZeroAmount);
    if let Some(model) = model {
        crate::risk::sync_with_model(pool, model)?;
    }
    let old = pos.size;
    let new = old.checked_add(size).ok_or_else(overflow)?;
    // a fill may open, add to, reduce or close a position, never flip it
    require!(
        old == 0 || new == 0 || (old > 0) == (new > 0),
        PerpError::InvalidSize
    );
    let s = oracle.price;

    let mut out = FillOutcome::default();
    let slot = pool.slot_mut(index)?;
    accrue_funding(slot, params, s, now)?;
    out.funding_paid = funding_owed(slot, pos)?;
    if old != 0 {
        resnapshot(slot, pos)?;
    } else {
        pos.funding_snapshot.set_fix(side_index(slot, new > 0));
    }

    if let Pricing::Market { limit, fee_bps } = pricing {
        let reduces = old != 0 && (old > 0) != (size > 0);
        price_with_premium(
            pool,
            index,
            params,
            size,
            reduces,
            pos.premium_paid,
            s,
            limit,
            fee_bps,
            model,
            &mut out,
        )?;
    } else {
        out.price = s;
    }

    // position and aggregates move by the same integers
    let slot = pool.slot_mut(index)?;
    if old == 0 || (old > 0) == (size > 0) {
        let entry =
            i64::try_from(notional(size as i128, s, Rounding::Up)?).map_err(|_| overflow())?;
        pos.entry_notional = pos.entry_notional.checked_add(entry).ok_or_else(overflow)?;
        if size > 0 {
            slot.long_oi = slot.long_oi.checked_add(size as u64).ok_or_else(overflow)?;
            slot.long_entry = slot
                .long_entry
                .checked_add(entry as u64)
                .ok_or_else(overflow)?;
        } else {
            slot.short_oi = slot
                .short_oi
                .checked_add(size.unsigned_abs())
                .ok_or_else(overflow)?;
            slot.short_entry = slot
                .short_entry
                .checked_add(entry.unsigned_abs())
                .ok_or_else(overflow)?;
        }
    } else {
        // reduce: remove entry pro rata (rounded toward +∞) and realise PnL on the removed part
        let removed = -size; // same sign as the position
        let entry_removed = keel_math::wide::mul_div_u128(
            pos.entry_notional.unsigned_abs() as u128,
            removed.unsigned_abs() as u128,
            old.unsigned_abs() as u128,
            if old > 0 {
                Rounding::Up
            } else {
                Rounding::Down
            },
        )
        .map_err(|_| overflow())? as i64;
        let entry_removed = if old > 0 {
            entry_removed
        } else {
            -entry_removed
        };
        let value =
            i64::try_from(notional(removed as i128, s, Rounding::Down)?).map_err(|_| overflow())?;
        out.realized_pnl = value.checked_sub(entry_removed).ok_or_else(overflow)?;
        pos.entry_notional -= entry_removed;
        if old > 0 {
            slot.long_oi -= removed as u64;
            slot.long_entry -= entry_removed as u64;
        } else {
            slot.short_oi -= removed.unsigned_abs();
            slot.short_entry -= entry_removed.unsigned_abs();
        }
    }
    let snapshot = pos.funding_snapshot.fix();
    snap_sum_resize(
        slot,
        new > 0 || (new == 0 && old > 0),
        snapshot,
        old.unsigned_abs(),
        new.unsigned_abs(),
    )?;
    pos.size = new;

    settle_cash(pool, index, pos, &mut out)?;
    Ok(out)
}

/// The market part of a fill: the insurance charge (premium or rebate), the default-probability
/// cap (on opens and increases only), the slippage check and the fees.
///
/// The charge is V(after) − V(before), the change of the book's insurance value
/// (`keel_math::insurance`) at the oracle price: in per-market mode the market's book against
/// its share of the pricing capital, in portfolio mode the whole pool's Gaussian PnL. It rounds
/// up (premiums up, rebates toward zero), and a rebate is at most what the position has paid
/// in premiums and not had back (`refundable`).
#[allow(clippy::too_many_arguments)]
fn price_with_premium(
    pool: &Pool,
    index: u8,
    params: &MarketParams,
    size: i64,
    reduces: bool,
    refundable: u64,
    s: Fix,
    limit: Fix,
    fee_bps: u32,
    model: Option<&RiskModel>,
    out: &mut FillOutcome,
) -> Result<()> {
    match insurance_charge(
        pool, index, params, size, reduces, refundable, s, model, out,
    ) {
        Ok(()) => {}
        // a reduction is never refused for arithmetic (a book too large for the kernels, an
        // IS the risk model overflowed): it fills at no premium and no rebate
        Err(_) if reduces => {
            out.premium = 0;
            out.q = Prob::ZERO;
            out.effect = None;
        }
        Err(e) => return Err(e),
    }
    let premium = out.premium as i128;
    // average price = s·(1 + sgn(k)·β) + premium/k, rounded against the trader
    let against_trader = if size > 0 {
        Rounding::Up
    } else {
        Rounding::Down
    };
    let spread_factor =
        (1i128 << 64) + size.signum() as i128 * fix_e9(params.half_spread_e9).to_bits();
    let quoted = mul_q64(s.to_bits(), spread_factor, against_trader).map_err(|_| overflow())?;
    let per_unit = keel_math::wide::div_q64(premium << 64, (size as i128) << 64, against_trader)
        .map_err(|_| overflow())?;
    out.price = Fix::from_bits(quoted.checked_add(per_unit).ok_or_else(overflow)?);
    if size > 0 {
        require!(out.price <= limit, PerpError::SlippageExceeded);
    } else {
        require!(out.price >= limit, PerpError::SlippageExceeded);
    }
    let traded = notional(size.unsigned_abs() as i128, s, Rounding::Up)? as u128;
    let spread = e9(traded, params.half_spread_e9, Rounding::Up)?;
    let fee = bps_up(traded, fee_bps as u64)?;
    out.fees = u64::try_from(spread + fee).map_err(|_| overflow())?;
    Ok(())
}

/// The fill's premium (rebate < 0) and q after it, into `out`. A rebate is at most `refundable`,
/// the premium the position itself has paid and not had back.
#[allow(clippy::too_many_arguments)]
fn insurance_charge(
    pool: &Pool,
    index: u8,
    params: &MarketParams,
    size: i64,
    reduces: bool,
    refundable: u64,
    s: Fix,
    model: Option<&RiskModel>,
    out: &mut FillOutcome,
) -> Result<()> {
    let (before, after, effect) = insurance_values(pool, index, params, size, s, model)?;
    out.effect = effect;
    let cap = Prob::from_bits(
        keel_math::wide::mul_div_u128(
            params.max_default_prob_e9 as u128,
            1 << 127,
            crate::constants::E9 as u128,
            Rounding::Down,
        )
        .map_err(|_| overflow())?,
    );
    if !reduces {
        // an open or increase may not leave q above the cap unless it lowers q; a reduction
        // always may (in portfolio mode closing a hedge raises it): exits are never refused
        // for the risk they leave behind
        require!(
            after.default_probability <= cap
                || after.default_probability <= before.default_probability,
            PerpError::DefaultProbabilityCap
        );
    }
    // premiums round up, rebates toward zero; a rebate refunds only the position's own premium,
    // so no ordering of fills moves premiums from one trader to another
    let premium = to_int(after.value - before.value, Rounding::Up).max(-(refundable as i128));
    out.premium = i64::try_from(premium).map_err(|_| overflow())?;
    out.q = after.default_probability;
    Ok(())
}

/// The insurance value of the book a fill of `size` at price `s` changes, before and after it,
/// and, when that book is the whole pool's (portfolio mode), the fill's effect on IS.
///
/// Per market: F = K·s and the headroom H = w·(C − U), with w the market's capital share, C the
/// pricing capital and U = K·s − L the book's unrealised PnL; a fill at s leaves U (and so H)
/// unchanged, and so does realising PnL, which moves C and U together. Portfolio mode: the
/// pool's capital net of every market's unrealised PnL against S = IS·√h.
pub fn insurance_values(
    pool: &Pool,
    index: u8,
    params: &MarketParams,
    size: i64,
    s: Fix,
    model: Option<&RiskModel>,
) -> Result<(BookValue, BookValue, Option<crate::risk::Effect>)> {
    let math = |e: keel_math::MathError| error!(PerpError::from(e));
    let portfolio = model
        .filter(|_| pool.risk.premium_mode == premium_mode::PORTFOLIO && index < pool.risk.covered);
    if let Some(model) = portfolio {
        let (capital, before, after, effect) =
            crate::risk::portfolio_spreads(pool, model, index, size, s)?;
        return Ok((
            gaussian_book_value(capital, before).map_err(math)?,
            gaussian_book_value(capital, after).map_err(math)?,
            Some(effect),
        ));
    }
    let slot = pool.slot(index)?;
    let net = slot.net_position();
    // K·s in Q64.64 is K × s's bits exactly (K is an integer)
    let book = |k: i128| -> Result<Fix> {
        k.checked_mul(s.to_bits())
            .map(Fix::from_bits)
            .ok_or_else(overflow)
    };
    let f_before = book(net)?;
    let f_after = book(net.checked_add(size as i128).ok_or_else(overflow)?)?;
    let unrealised = f_before
        .checked_sub(fix_int(slot.locked_value())?)
        .ok_or_else(overflow)?;
    let free = fix_int(pool.pricing_capital() as i128)?
        .checked_sub(unrealised)
        .ok_or_else(overflow)?;
    let headroom = Fix::from_bits(
        mul_q64(
            free.to_bits(),
            fix_e9(slot.capital_share_e9).to_bits(),
            Rounding::Down,
        )
        .map_err(|_| overflow())?,
    );
    let sigma = fix_e9(params.sigma_e9);
    Ok((
        lognormal_book_value(f_before, headroom, sigma).map_err(math)?,
        lognormal_book_value(f_after, headroom, sigma).map_err(math)?,
        None,
    ))
}

/// Settle the position's funding (accrue the market to `now`, pay what is owed from the
/// collateral to the pool). Returns the amount owed; any part beyond the collateral is bad debt.
pub fn settle_funding(
    pool: &mut Pool,
    index: u8,
    params: &MarketParams,
    pos: &mut Position,
    price: Fix,
    now: i64,
) -> Result<FillOutcome> {
    let slot = pool.slot_mut(index)?;
    accrue_funding(slot, params, price, now)?;
    let mut out = FillOutcome {
        funding_paid: funding_owed(slot, pos)?,
        price,
        ..Default::default()
    };
    if pos.size != 0 {
        resnapshot(slot, pos)?;
    }
    settle_cash(pool, index, pos, &mut out)?;
    Ok(out)
}

/// Apply a fill's cash flows to the position's collateral and the pool's balances.
///
/// The pool pays first (a profit from LP capital, then the default fund; a rebate from the
/// market's premium balance, out of the position's own premiums), so that a profit can cover
/// fees; then it collects from the collateral in order: fees, funding, loss, premium. A premium
/// goes to the market's premium balance and the position's `premium_paid`; what the collateral
/// cannot pay of it is waived (not bad debt: nobody is owed it). A position the fill empties
/// releases its unused premium to LP capital.
fn settle_cash(
    pool: &mut Pool,
    index: u8,
    pos: &mut Position,
    out: &mut FillOutcome,
) -> Result<()> {
    let slot = index as usize;
    require!(slot < pool.premium_balances.len(), PerpError::WrongMarket);
    // price_with_premium capped the rebate at premium_paid, which the balance holds
    let rebate = if out.premium < 0 {
        out.premium.unsigned_abs().min(pos.premium_paid)
    } else {
        0
    };
    pos.premium_paid -= rebate;
    pool.premium_balances[slot] = pool.premium_balances[slot].saturating_sub(rebate);
    let profit = out.realized_pnl.max(0) as u64;
    let lp_before = pool.lp_capital;
    let from_pool = pay_from_pool(pool, profit);
    out.lp.profit_paid = lp_before - pool.lp_capital;
    out.lp.profit_from_default_fund = from_pool - out.lp.profit_paid;
    let paid = from_pool as u128 + rebate as u128;

    let loss = out.realized_pnl.min(0).unsigned_abs() as u128;
    let owes = out.fees as u128 + out.funding_paid as u128 + loss;
    let available = pos.collateral as u128 + paid;
    let mut rest = owes.min(available);
    let shortfall = to_u64((owes - rest) as i128)?;
    // the premium comes last, from what is left
    let premium = (out.premium.max(0) as u128).min(available - rest);
    rest += premium;
    pos.collateral = to_u64((available - rest) as i128)?;
    pool.total_collateral = to_u64(pool.total_collateral as i128 + paid as i128 - rest as i128)?;
    out.premium = if out.premium < 0 {
        -(rebate as i64)
    } else {
        premium as i64
    };

    let mut take = |part: u128| {
        let taken = part.min(rest);
        rest -= taken;
        taken as u64
    };
    let fees = take(out.fees as u128);
    let funding = take(out.funding_paid as u128);
    out.lp.loss_owed = to_u64(loss as i128)?;
    let loss = take(loss);
    let lp_before = pool.lp_capital;
    credit_fees(pool, fees)?;
    out.lp.fees = pool.lp_capital - lp_before;
    out.lp.funding = funding;
    out.lp.loss_taken = loss;
    pool.lp_capital = add_u64(pool.lp_capital, add_u64(funding, loss)?)?;
    pool.book_income(funding);
    let premium = premium as u64;
    pos.premium_paid = add_u64(pos.premium_paid, premium)?;
    pool.premium_balances[slot] = add_u64(pool.premium_balances[slot], premium)?;
    if pos.size == 0 && pos.premium_paid > 0 {
        // closed (or liquidated): what it paid and did not get back is the LPs'
        let released = pos.premium_paid.min(pool.premium_balances[slot]);
        pos.premium_paid = 0;
        pool.premium_balances[slot] -= released;
        pool.lp_capital = add_u64(pool.lp_capital, released)?;
        pool.book_income(released);
        out.premium_released = released;
    }
    if shortfall > 0 {
        out.bad_debt = shortfall;
        out.bad_debt_covered = cover_bad_debt(pool, shortfall);
    }
    Ok(())
}

/// Keep a market's per-side collateral (`Pool::side_collateral`) in step with a position that
/// was `before` = (size, collateral) and is now `pos`. Saturating: bookkeeping never blocks an
/// exit.
pub fn sync_side_collateral(
    pool: &mut Pool,
    index: u8,
    before: (i64, u64),
    pos: &Position,
) -> Result<()> {
    let sides = pool
        .side_collateral
        .get_mut(index as usize)
        .ok_or_else(|| error!(PerpError::WrongMarket))?;
    let side = |size: i64| (size != 0).then_some(if size > 0 { 0 } else { 1 });
    if let Some(s) = side(before.0) {
        sides[s] = sides[s].saturating_sub(before.1);
    }
    if let Some(s) = side(pos.size) {
        sides[s] = sides[s].saturating_add(pos.collateral);
    }
    Ok(())
}

/// Equity of a position at `price`: collateral + unrealised PnL − funding owed (quote native).
pub fn equity(slot: &MarketSlot, pos: &Position, price: Fix) -> Result<i128> {
    let value = notional(pos.size as i128, price, Rounding::Down)?;
    Ok(pos.collateral as i128 + value
        - pos.entry_notional as i128
        - funding_owed(slot, pos)? as i128)
}

/// |size|·price, rounded up (quote native).
pub fn position_notional(pos: &Position, price: Fix) -> Result<u128> {
    Ok(notional(pos.size.unsigned_abs() as i128, price, Rounding::Up)? as u128)
}

/// Initial margin: notional ≤ equity × `max_leverage` (the market's, or the leverage held over
/// a close in the hour before one).
pub fn check_initial_margin(
    slot: &MarketSlot,
    pos: &Position,
    max_leverage: u32,
    price: Fix,
) -> Result<()> {
    let eq = equity(slot, pos, price)?;
    let need = position_notional(pos, price)? as i128;
    require!(
        eq > 0 && eq.checked_mul(max_leverage as i128).ok_or_else(overflow)? >= need,
        PerpError::MaxLeverage
    );
    Ok(())
}

/// Initial margin for taking margin out: like [`check_initial_margin`], but unrealised profit
/// does not count (losses do), so margin can only be withdrawn against realised money.
pub fn check_withdrawal_margin(
    slot: &MarketSlot,
    pos: &Position,
    max_leverage: u32,
    price: Fix,
) -> Result<()> {
    let value = notional(pos.size as i128, price, Rounding::Down)?;
    let pnl = (value - pos.entry_notional as i128).min(0);
    let eq = pos.collateral as i128 + pnl - funding_owed(slot, pos)? as i128;
    let need = position_notional(pos, price)? as i128;
    require!(
        eq > 0 && eq.checked_mul(max_leverage as i128).ok_or_else(overflow)? >= need,
        PerpError::MaxLeverage
    );
    Ok(())
}

/// Equity below maintenance margin (the liquidation test).
pub fn below_maintenance(
    slot: &MarketSlot,
    pos: &Position,
    params: &MarketParams,
    price: Fix,
) -> Result<bool> {
    let eq = equity(slot, pos, price)?;
    let need = bps_up(
        position_notional(pos, price)?,
        params.maintenance_margin_bps as u64,
    )? as i128;
    Ok(eq < need)
}

/// Which way to lean when valuing the pool for LP actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Valuation {
    /// Deposits: value the pool high (traders' PnL at the confidence edge that is worst for
    /// them, accrued funding counted), so a depositor never buys shares cheaply.
    High,
    /// Withdrawals: value it low (traders' PnL at their best edge, unsettled funding ignored),
    /// so a leaver never takes more than their share.
    Low,
}

/// What an LP action sees of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolValuation {
    /// LP capital − traders' unrealised PnL (+ accrued funding when valuing high), quote native.
    pub value: i128,
    /// Withdrawals only (`Valuation::Low`): the LP capital the pool must keep, the largest over
    /// markets of M*/share, where M* is the capital at which the market's default probability
    /// equals the pool's target q*.
    pub reserved: Option<u128>,
}

/// Value the pool for an LP action. `marks[i]` is the mark of slot i (ignored for inactive
/// slots). For a withdrawal each market side's losses count as pool assets only up to that
/// side's collateral (`Pool::side_collateral`): a bankrupt position's shortfall is not netted
/// against another trader's margin. A deposit counts them whole: that values the pool higher,
/// against the depositor, never the LPs.
///
/// Each market with open interest costs one product and decimal rescale (a deposit, on the net
/// position) or two (a withdrawal, one a side), at the confidence edge that favours the pool. A
/// withdrawal's reserve uses the sides' difference (the edge worst for the pool, so M* is never
/// understated) with the slot's precomputed σ/q* factors.
///
/// A market closed by its schedule (`closed`) is valued by a withdrawal at both edges of its
/// widened band, keeping the one worse for the pool: with each side's loss capped at its
/// collateral, traders' PnL is convex in the price, so a gap either way can cost the pool
/// (a 90x long beside a 1x short: the long's loss stops at its margin while the short gains).
/// The other edge is computed only when the net side's cap can bind there. The reserve keeps
/// the lean edge, where the book's notional is largest.
pub fn value_pool(
    pool: &Pool,
    marks: &[Option<Mark>],
    valuation: Valuation,
    closed: &crate::state::ClosedMarkets,
) -> Result<PoolValuation> {
    let high = valuation == Valuation::High;
    let mut traders_pnl: i128 = 0;
    let mut accrued_funding: i128 = 0;
    let mut largest_reserve = (!high).then_some(LargestRatio::default());
    // closed markets' bits, shifted along with the slots
    let mut closed_bits = closed.mask;
    for ((slot, mark), sides) in pool.markets.iter().zip(marks).zip(&pool.side_collateral) {
        let is_closed = closed_bits & 1 != 0;
        closed_bits >>= 1;
        if slot.active == 0 || (slot.long_oi == 0 && slot.short_oi == 0) {
            continue;
        }
        let m = mark.ok_or_else(|| error!(PerpError::MarketAccountsMismatch))?;
        let net_long = slot.long_oi >= slot.short_oi;
        // the traders' net side gains when the price moves its way: lean by the confidence, and
        // round the values the same way
        let lean_up = net_long != high;
        let (edge, rounding) = if lean_up {
            (
                m.price.checked_add(m.conf).ok_or_else(overflow)?,
                Rounding::Up,
            )
        } else {
            (m.price.saturating_sub(m.conf), Rounding::Down)
        };
        let product = |oi: u64| -> Result<i128> {
            let v = rescale_pow10(mul_u64(oi, edge), m.exp10, rounding).map_err(onchain)?;
            i128::try_from(v).map_err(|_| overflow())
        };
        let value = if high {
            // a deposit: losses counted beyond their margin only value the pool higher, which the
            // depositor pays for; one product on the net position
            let magnitude = product(slot.long_oi.abs_diff(slot.short_oi))?;
            let value = if net_long { magnitude } else { -magnitude };
            traders_pnl = traders_pnl
                .checked_add(value - slot.locked_value())
                .ok_or_else(overflow)?;
            value
        } else {
            // a withdrawal: each side's loss counts as the pool's only up to that side's
            // collateral, so one trader's bad debt is not another's margin (issue #19)
            let long_value = if slot.long_oi == 0 {
                0
            } else {
                product(slot.long_oi)?
            };
            let short_value = if slot.short_oi == 0 {
                0
            } else {
                product(slot.short_oi)?
            };
            let long_pnl = (long_value - slot.long_entry as i128).max(-(sides[0] as i128));
            let short_pnl = (slot.short_entry as i128 - short_value).max(-(sides[1] as i128));
            let mut pnl = long_pnl + short_pnl;
            if is_closed {
                pnl = pnl.max(other_edge_pnl(slot, sides, &m, net_long)?);
            }
            traders_pnl = traders_pnl.checked_add(pnl).ok_or_else(overflow)?;
            long_value - short_value
        };
        let locked = slot.locked_value();
        if high {
            accrued_funding += accrued_funding_of(
                slot.long_oi,
                slot.long_funding_index.get(),
                slot.long_funding_snap_sum.get(),
            )?;
            accrued_funding += accrued_funding_of(
                slot.short_oi,
                slot.short_funding_index.get(),
                slot.short_funding_snap_sum.get(),
            )?;
        }
        if let Some(largest) = largest_reserve.as_mut() {
            // valuing low, the edge is up for a net long and down for a net short, with the
            // magnitude rounded the same way: what `capital_target` asks of the notional
            let m_star = slot
                .capital_factors()
                .capital_target_units(value, locked)
                .map_err(|e| error!(PerpError::from(e)))?;
            largest.consider(m_star, slot.capital_share_e9)?;
        }
    }
    if high {
        // (a deposit's bound, as before issue #19: all traders' collateral)
        traders_pnl = traders_pnl.max(-(pool.total_collateral as i128));
    }
    let reserved = match largest_reserve {
        // M*/share in 1e9 units, rounded up: one division for the whole pool
        Some(r) => Some(
            keel_math::wide::mul_div_u128(
                r.numerator,
                crate::constants::E9 as u128,
                r.denominator as u128,
                Rounding::Up,
            )
            .map_err(|_| overflow())?,
        ),
        None => None,
    };
    Ok(PoolValuation {
        value: pool.lp_capital as i128 - traders_pnl + accrued_funding,
        reserved,
    })
}

/// A closed market's traders' PnL at the edge against its net side (down for a net long),
/// where that side's loss may stop at its collateral while the other side's gain does not;
/// `i128::MIN` when it cannot (decided on the product before its decimal rescale): then PnL
/// is linear across the band and the lean edge is the worse one.
#[inline(never)]
fn other_edge_pnl(slot: &MarketSlot, sides: &[u64; 2], m: &Mark, net_long: bool) -> Result<i128> {
    let factor = keel_onchain::oracle::pow10(m.exp10.unsigned_abs()).ok_or_else(overflow)?;
    let (edge, rounding) = if net_long {
        (m.price.saturating_sub(m.conf), Rounding::Down)
    } else {
        (
            m.price.checked_add(m.conf).ok_or_else(overflow)?,
            Rounding::Up,
        )
    };
    // the value of `oi` at the edge, before the rescale, against `bound` after it
    let scaled = |bound: u128| -> Option<u128> {
        match m.exp10 >= 0 {
            true => Some(bound),
            // a word by a word cannot overflow (and costs one product on SBF)
            false if bound >> 64 == 0 && factor >> 64 == 0 => {
                Some(mul_u64(bound as u64, factor as u64))
            }
            false => bound.checked_mul(factor),
        }
    };
    let raw = |oi: u64| -> Option<u128> {
        let raw = mul_u64(oi, edge);
        match m.exp10 >= 0 {
            true => raw.checked_mul(factor),
            false => Some(raw),
        }
    };
    // whether the net side's loss is capped at this edge: exact on the raw product when it
    // fits (a capped side's PnL is then minus its collateral, no product needed), unknown
    // when it does not
    let capped = if net_long {
        // longs lose: capped when their value falls below entry − collateral
        if slot.long_entry <= sides[0] {
            Some(false)
        } else {
            match (
                raw(slot.long_oi),
                scaled((slot.long_entry - sides[0]) as u128),
            ) {
                (Some(v), Some(floor)) => Some(v < floor),
                _ => None,
            }
        }
    } else {
        // shorts lose: capped when their value rises above entry + collateral
        match (
            raw(slot.short_oi),
            scaled(slot.short_entry as u128 + sides[1] as u128),
        ) {
            (Some(v), Some(ceiling)) => Some(v > ceiling),
            _ => None,
        }
    };
    if capped == Some(false) {
        return Ok(i128::MIN);
    }
    let product = |oi: u64| -> Result<i128> {
        if oi == 0 {
            return Ok(0);
        }
        let v = rescale_pow10(mul_u64(oi, edge), m.exp10, rounding).map_err(onchain)?;
        i128::try_from(v).map_err(|_| overflow())
    };
    // v < floor·10^k gives ⌊v/10^k⌋ < floor (and v > ceiling·10^k gives ⌈v/10^k⌉ > ceiling):
    // the capped side's PnL is exactly minus its collateral
    let long_pnl = if net_long && capped == Some(true) {
        -(sides[0] as i128)
    } else {
        (product(slot.long_oi)? - slot.long_entry as i128).max(-(sides[0] as i128))
    };
    let short_pnl = if !net_long && capped == Some(true) {
        -(sides[1] as i128)
    } else {
        (slot.short_entry as i128 - product(slot.short_oi)?).max(-(sides[1] as i128))
    };
    Ok(long_pnl + short_pnl)
}

/// Traders' unrealised profit the pool owes, Σ over market sides of max(0, side PnL), each side
/// valued at the confidence edge worst for it (funding left out): what auto-deleveraging
/// compares with its ceiling. A side's losers net against its winners; no side's loss offsets
/// another's profit, so the sum bounds what the winners could take from LP capital now.
pub fn traders_profit(pool: &Pool, marks: &[Option<Mark>]) -> Result<u128> {
    let mut total: u128 = 0;
    for (slot, mark) in pool.markets.iter().zip(marks) {
        if slot.active == 0 || (slot.long_oi == 0 && slot.short_oi == 0) {
            continue;
        }
        let m = mark.ok_or_else(|| error!(PerpError::MarketAccountsMismatch))?;
        let (long, short) = side_profits(slot, &m)?;
        total = total.saturating_add(long).saturating_add(short);
    }
    Ok(total)
}

/// A market's longs' and shorts' unrealised profit, max(0, side PnL), each at the confidence
/// edge worst for that side (quote native).
pub fn side_profits(slot: &MarketSlot, m: &Mark) -> Result<(u128, u128)> {
    let value = |oi: u64, edge: u64, rounding: Rounding| -> Result<u128> {
        rescale_pow10(mul_u64(oi, edge), m.exp10, rounding).map_err(onchain)
    };
    let long_value = value(slot.long_oi, m.price.saturating_sub(m.conf), Rounding::Down)?;
    let up = m.price.checked_add(m.conf).ok_or_else(overflow)?;
    let short_value = value(slot.short_oi, up, Rounding::Up)?;
    Ok((
        long_value.saturating_sub(slot.long_entry as u128),
        (slot.short_entry as u128).saturating_sub(short_value),
    ))
}

/// The largest of a set of ratios n/d (d > 0), compared by cross products so that only the
/// winner is divided.
#[derive(Clone, Copy, Debug)]
struct LargestRatio {
    numerator: u128,
    denominator: u64,
}

impl Default for LargestRatio {
    fn default() -> Self {
        LargestRatio {
            numerator: 0,
            denominator: 1,
        }
    }
}

impl LargestRatio {
    fn consider(&mut self, numerator: u128, denominator: u64) -> Result<()> {
        require!(denominator > 0, PerpError::InvalidParameter);
        // markets with one capital share (the usual pool) compare by their numerators alone
        if denominator == self.denominator {
            if numerator > self.numerator {
                self.numerator = numerator;
            }
            return Ok(());
        }
        let times = |n: u128, d: u64| -> Result<u128> {
            if n >> 64 == 0 {
                Ok(mul_u64(n as u64, d))
            } else {
                n.checked_mul(d as u128).ok_or_else(overflow)
            }
        };
        if times(numerator, self.denominator)? > times(self.numerator, denominator)? {
            *self = LargestRatio {
                numerator,
                denominator,
            };
        }
        Ok(())
    }
}

/// Funding a side has accrued but not settled, oi·index − Σ snapshots (Fix bits), floored to
/// whole quote units and never negative.
fn accrued_funding_of(oi: u64, index: i128, snap_sum: i128) -> Result<i128> {
    // oi·index exactly from two word products (index = hi·2^64 + lo, lo unsigned)
    let hi = index >> 64;
    let owed = if hi >= 0 {
        let high = mul_u64(oi, hi as u64);
        if high >> 63 != 0 {
            return Err(overflow());
        }
        let total = (high << 64)
            .checked_add(mul_u64(oi, index as u64))
            .ok_or_else(overflow)?;
        i128::try_from(total).map_err(|_| overflow())?
    } else {
        // a negative index (never produced: indices only grow from zero)
        mul_q64((oi as i128) << 64, index, Rounding::Down).map_err(|_| overflow())?
    };
    let accrued = owed.checked_sub(snap_sum).ok_or_else(overflow)?;
    Ok((accrued >> 64).max(0))
}

/// `amount · bps / 10_000` rounded up (a fee charged), as u64.
pub fn bps_up_u64(amount: u128, bps: u32) -> Result<u64> {
    u64::try_from(bps_up(amount, bps as u64)?).map_err(|_| overflow())
}
