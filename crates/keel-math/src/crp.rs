//! The collateral rebalancing pool's arithmetic (ALEX, seed 004), shared by the program, the
//! client's quotes and the study: face values at the fixed rate, the delta-tracking weight,
//! swaps through the weighted pool with fees, the flight-to-quality sale and the settlement
//! waterfall.
//!
//! Amounts are integer native units; every conversion names its rounding, and each one favours
//! the pool (fewer claims to lenders, more debt from borrowers, less out and more in on swaps).

use crate::black_scholes::call_delta;
use crate::ema::ema_update;
use crate::weighted::{fee_amount, in_given_out, out_given_in};
use crate::wide::{Rounding, mul_div_u128};
use crate::{Fix, MathError, MathResult};

/// Seconds in a year of 365.25 days (rates and σ are annual).
pub const SECONDS_PER_YEAR: u64 = 31_557_600;
/// Basis points.
pub const BPS: u64 = 10_000;
/// Weights stay in [1 %, 99 %] (Balancer's bound): the weighted invariant needs both tokens,
/// and a delta of 0 or 1 would leave the pool unable to quote one side.
pub const MIN_WEIGHT: Fix = Fix::from_bits((1i128 << 64) / 100 + 1);
pub const MAX_WEIGHT: Fix = Fix::from_bits((1i128 << 64) - ((1i128 << 64) / 100 + 1));

/// The face value at expiry of `amount` lent or borrowed now at the simple annual rate
/// `rate_bps`, with `secs_left` to expiry: amount·(1 + r·τ). Lenders' claims round down,
/// borrowers' debt rounds up.
pub fn face_value(
    amount: u64,
    rate_bps: u64,
    secs_left: u64,
    rounding: Rounding,
) -> MathResult<u64> {
    let interest = mul_div_u128(
        amount as u128 * rate_bps as u128,
        secs_left as u128,
        BPS as u128 * SECONDS_PER_YEAR as u128,
        rounding,
    )?;
    u64::try_from(amount as u128 + interest).map_err(|_| MathError::Overflow)
}

/// The value now of `face` due at expiry: face/(1 + r·τ), rounded as asked.
pub fn present_value(
    face: u64,
    rate_bps: u64,
    secs_left: u64,
    rounding: Rounding,
) -> MathResult<u64> {
    let year = BPS as u128 * SECONDS_PER_YEAR as u128;
    let growth = year + rate_bps as u128 * secs_left as u128;
    let v = mul_div_u128(face as u128, year, growth, rounding)?;
    u64::try_from(v).map_err(|_| MathError::Overflow)
}

/// `secs` in years, rounded down.
pub fn years(secs: u64) -> Fix {
    Fix::from_bits(((secs as u128) << 64) as i128 / SECONDS_PER_YEAR as i128)
}

/// Lender claims for `amount` lent to a pool whose lenders are owed `owed` at expiry (unlent cash
/// plus the borrowers' debt at face value) over `supply` claims: a share of what is owed, rounded
/// down. Cash lent earns only the interest of loans taken after it arrives, and idle cash earns
/// nothing: a newcomer buys in at the interest already promised, so he cannot take it. The first
/// lender (or any lender of a pool that owes nothing) gets one claim per unit.
pub fn lender_claims(amount: u64, owed: u64, supply: u64) -> MathResult<u64> {
    if supply == 0 || owed == 0 {
        return Ok(amount);
    }
    let c = mul_div_u128(amount as u128, supply as u128, owed as u128, Rounding::Down)?;
    u64::try_from(c).map_err(|_| MathError::Overflow)
}

/// The weight at `now` of a pool moving linearly from `start` at `t0` to `target` at `t1`
/// (Balancer's managed-pool weight ramp): `start` before `t0`, `target` from `t1`. Inside the
/// ramp the step is rounded toward `start`. A rebalance sets a target instead of jumping, so no
/// transaction sees the weight change by more than the elapsed share of one step.
pub fn ramp_weight(start: Fix, target: Fix, t0: i64, t1: i64, now: i64) -> MathResult<Fix> {
    if now >= t1 || t1 <= t0 {
        return Ok(target);
    }
    if now <= t0 {
        return Ok(start);
    }
    let step = target.to_bits() - start.to_bits();
    let moved = mul_div_u128(
        step.unsigned_abs(),
        (now - t0) as u128,
        (t1 - t0) as u128,
        Rounding::Down,
    )? as i128;
    Ok(Fix::from_bits(
        start.to_bits() + if step < 0 { -moved } else { moved },
    ))
}

/// A rebalance: the call delta at the oracle price and the pool's new risky weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebalance {
    pub delta: Fix,
    pub weight: Fix,
}

/// Δ = Φ(d1(S, K, σ, τ)) (zero rate), then w' = α·Δ + (1 − α)·w, clamped to
/// [`MIN_WEIGHT`, `MAX_WEIGHT`]. S and K in the same units.
pub fn rebalance(
    spot: Fix,
    strike: Fix,
    sigma: Fix,
    t_years: Fix,
    previous: Fix,
    alpha: Fix,
) -> MathResult<Rebalance> {
    let delta = call_delta(spot, strike, sigma, t_years)?;
    // U1F127 → I64F64, to nearest
    let delta = Fix::from_bits(((delta.to_bits() >> 62) as i128 + 1) >> 1);
    let weight = ema_update(previous, delta, alpha)?.clamp(MIN_WEIGHT, MAX_WEIGHT);
    Ok(Rebalance { delta, weight })
}

/// The pool's two balances (native units) and the risky token's weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balances {
    pub risky: u64,
    pub riskless: u64,
    pub risky_weight: Fix,
}

impl Balances {
    fn weights(&self) -> (Fix, Fix) {
        (self.risky_weight, Fix::ONE - self.risky_weight)
    }
}

/// A priced swap. The fee is always charged in the riskless token: on the input when it comes in,
/// on the output when it goes out, so the reserve fund is one token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swap {
    pub amount_in: u64,
    pub amount_out: u64,
    pub fee: u64,
}

/// `x / (1 − f)`, rounded up: the gross amount whose fee leaves `x`.
fn gross_up(x: u64, fee_rate: Fix) -> MathResult<u64> {
    let keep = (1u128 << 64) - fee_rate.to_bits() as u128;
    let g = mul_div_u128(x as u128, 1 << 64, keep, Rounding::Up)?;
    u64::try_from(g).map_err(|_| MathError::Overflow)
}

/// Exact-in swap through the weighted invariant: `amount_in` of the risky token (`risky_in`) or
/// of the riskless one. Rounds down what goes out and up the fee.
pub fn swap_exact_in(
    b: &Balances,
    risky_in: bool,
    amount_in: u64,
    fee_rate: Fix,
) -> MathResult<Swap> {
    let (wx, wy) = b.weights();
    if risky_in {
        let gross = out_given_in(b.risky, wx, b.riskless, wy, amount_in)?;
        let fee = fee_amount(gross, fee_rate)?;
        Ok(Swap {
            amount_in,
            amount_out: gross - fee,
            fee,
        })
    } else {
        let fee = fee_amount(amount_in, fee_rate)?;
        let out = out_given_in(b.riskless, wy, b.risky, wx, amount_in - fee)?;
        Ok(Swap {
            amount_in,
            amount_out: out,
            fee,
        })
    }
}

/// Exact-out swap: `amount_out` of the other token leaves the pool (net of the fee when it is the
/// riskless one). Rounds up what comes in.
///
/// Errors: Domain when the pool does not hold that much.
pub fn swap_exact_out(
    b: &Balances,
    risky_in: bool,
    amount_out: u64,
    fee_rate: Fix,
) -> MathResult<Swap> {
    let (wx, wy) = b.weights();
    if risky_in {
        let gross = gross_up(amount_out, fee_rate)?;
        let amount_in = in_given_out(b.risky, wx, b.riskless, wy, gross)?;
        Ok(Swap {
            amount_in,
            amount_out,
            fee: gross - amount_out,
        })
    } else {
        let net = in_given_out(b.riskless, wy, b.risky, wx, amount_out)?;
        let amount_in = gross_up(net, fee_rate)?;
        Ok(Swap {
            amount_in,
            amount_out,
            fee: amount_in - net,
        })
    }
}

/// The flight-to-quality sale price: the oracle price less the discount, rounded up (the buyer
/// pays at least this), riskless native per risky native.
pub fn sale_price(oracle_price: Fix, discount_bps: u64) -> MathResult<Fix> {
    if oracle_price <= Fix::ZERO || discount_bps >= BPS {
        return Err(MathError::Domain);
    }
    let bits = mul_div_u128(
        oracle_price.to_bits() as u128,
        (BPS - discount_bps) as u128,
        BPS as u128,
        Rounding::Up,
    )?;
    i128::try_from(bits)
        .map(Fix::from_bits)
        .map_err(|_| MathError::Overflow)
}

/// The conversion sale of risky for riskless at `price` (from [`sale_price`]), taking no more
/// than `available` risky. `exact_in`: `amount` riskless in, risky out rounded down; otherwise
/// `amount` risky out, riskless in rounded up. When `available` binds, the riskless taken is the
/// cost of what goes out.
pub fn conversion(price: Fix, available: u64, exact_in: bool, amount: u64) -> MathResult<Swap> {
    let p = price.to_bits();
    if p <= 0 {
        return Err(MathError::Domain);
    }
    let p = p as u128;
    let cost = |out: u64| -> MathResult<u64> {
        let c = mul_div_u128(out as u128, p, 1 << 64, Rounding::Up)?;
        u64::try_from(c).map_err(|_| MathError::Overflow)
    };
    if exact_in {
        let out = mul_div_u128((amount as u128) << 64, 1, p, Rounding::Down)?;
        if out >= available as u128 {
            return Ok(Swap {
                amount_in: cost(available)?,
                amount_out: available,
                fee: 0,
            });
        }
        Ok(Swap {
            amount_in: amount,
            amount_out: out as u64,
            fee: 0,
        })
    } else {
        let out = amount.min(available);
        Ok(Swap {
            amount_in: cost(out)?,
            amount_out: out,
            fee: 0,
        })
    }
}

/// `value` of `amount` risky at `price` (riskless native per risky native), rounded as asked.
pub fn risky_value(amount: u64, price: Fix, rounding: Rounding) -> MathResult<u64> {
    if price.is_negative() {
        return Err(MathError::Domain);
    }
    let v = mul_div_u128(amount as u128, price.to_bits() as u128, 1 << 64, rounding)?;
    u64::try_from(v).map_err(|_| MathError::Overflow)
}

/// Residual claims for a borrower who adds `equity` (riskless native, present value) to a pool
/// whose existing residual equity is `equity_before` over `supply` claims. The first borrower
/// gets one claim per unit. Rounded down.
///
/// Errors: Domain when claims exist and `equity_before` is not positive (the pool is
/// underwater: new money would only pay its lenders).
pub fn residual_claims(equity: u64, equity_before: i128, supply: u64) -> MathResult<u64> {
    if supply == 0 {
        return Ok(equity);
    }
    if equity_before <= 0 {
        return Err(MathError::Domain);
    }
    let c = mul_div_u128(
        equity as u128,
        supply as u128,
        equity_before as u128,
        Rounding::Down,
    )?;
    u64::try_from(c).map_err(|_| MathError::Overflow)
}

/// Who gets what at expiry. The pool pays its borrowers' debt (face value) in riskless first;
/// together with unlent cash that is what lenders are owed (`lender_face`: unlent cash plus the
/// debt). A pool settled in kind ([`settle_in_kind`]) then pays the rest of the debt in risky; a
/// shortfall left after that is drawn from the reserve fund; a surplus (rounding) goes to the
/// reserve fund.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Riskless moved from the collateral pool to the lenders.
    pub from_pool: u64,
    /// Drawn from the reserve fund to make lenders whole.
    pub from_reserve: u64,
    /// Left over for the reserve fund.
    pub to_reserve: u64,
    /// Riskless set aside for lender claims: equal to their face value unless risky was paid in
    /// kind or the reserve ran out.
    pub lender_assets: u64,
    /// Risky set aside for lender claims (settlement in kind only).
    pub lender_risky: u64,
}

pub fn settle(
    riskless_balance: u64,
    debt_face: u64,
    loan_cash: u64,
    lender_face: u64,
    reserve: u64,
) -> MathResult<Settlement> {
    let from_pool = debt_face.min(riskless_balance);
    let pot = loan_cash
        .checked_add(from_pool)
        .ok_or(MathError::Overflow)?;
    Ok(if pot >= lender_face {
        Settlement {
            from_pool,
            from_reserve: 0,
            to_reserve: pot - lender_face,
            lender_assets: lender_face,
            lender_risky: 0,
        }
    } else {
        let from_reserve = (lender_face - pot).min(reserve);
        Settlement {
            from_pool,
            from_reserve,
            to_reserve: 0,
            lender_assets: pot + from_reserve,
            lender_risky: 0,
        }
    })
}

/// Settlement of a pool that cannot sell its risky at a fresh price (its oracle stopped) once
/// the grace period has passed: the riskless side pays what it can of the debt, lenders take
/// risky in kind for the rest at `kind_price` (the last accepted oracle price less the
/// conversion discount, riskless native per risky native), rounded up in risky so that lenders
/// are not short for rounding, and the reserve fund tops up only if the risky runs out.
pub fn settle_in_kind(
    riskless_balance: u64,
    risky_balance: u64,
    debt_face: u64,
    loan_cash: u64,
    lender_face: u64,
    reserve: u64,
    kind_price: Fix,
) -> MathResult<Settlement> {
    if kind_price <= Fix::ZERO {
        return Err(MathError::Domain);
    }
    let from_pool = debt_face.min(riskless_balance);
    let short = debt_face - from_pool;
    let needed = mul_div_u128(
        (short as u128) << 64,
        1,
        kind_price.to_bits() as u128,
        Rounding::Up,
    )?;
    let lender_risky = needed.min(risky_balance as u128) as u64;
    // what the risky paid, at the same price (the full shortfall when enough was left)
    let paid = if lender_risky as u128 == needed {
        short
    } else {
        risky_value(lender_risky, kind_price, Rounding::Down)?.min(short)
    };
    let owed_riskless = lender_face.saturating_sub(paid);
    let mut s = settle(
        riskless_balance,
        debt_face,
        loan_cash,
        owed_riskless,
        reserve,
    )?;
    s.lender_risky = lender_risky;
    Ok(s)
}

/// `amount`·`part`/`whole`, rounded down (a holder's share of a pot at redemption).
pub fn pro_rata(amount: u64, part: u64, whole: u64) -> MathResult<u64> {
    if whole == 0 {
        return Err(MathError::DivisionByZero);
    }
    let v = mul_div_u128(amount as u128, part as u128, whole as u128, Rounding::Down)?;
    u64::try_from(v).map_err(|_| MathError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weighted::spot_price;

    fn ratio(n: i64, d: i64) -> Fix {
        Fix::from_num(n) / Fix::from_num(d)
    }

    #[test]
    fn face_values_round_for_the_pool() {
        // 1,000,000 at 10 % for half a year: 1,050,000 exactly
        let half = SECONDS_PER_YEAR / 2;
        assert_eq!(
            face_value(1_000_000, 1_000, half, Rounding::Down),
            Ok(1_050_000)
        );
        assert_eq!(
            face_value(1_000_000, 1_000, half, Rounding::Up),
            Ok(1_050_000)
        );
        // 7 at 10 % for a day: interest 0.0019 rounds to 0 for lenders, 1 for borrowers
        assert_eq!(face_value(7, 1_000, 86_400, Rounding::Down), Ok(7));
        assert_eq!(face_value(7, 1_000, 86_400, Rounding::Up), Ok(8));
        assert_eq!(face_value(5, 0, 86_400, Rounding::Up), Ok(5));
        assert_eq!(
            present_value(1_050_000, 1_000, half, Rounding::Down),
            Ok(1_000_000)
        );
        assert_eq!(
            present_value(1_050_001, 1_000, half, Rounding::Down),
            Ok(1_000_000)
        );
        assert_eq!(
            present_value(1_050_001, 1_000, half, Rounding::Up),
            Ok(1_000_001)
        );
        assert_eq!(
            face_value(u64::MAX, 10_000, SECONDS_PER_YEAR, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn weight_follows_the_smoothed_delta_within_bounds() -> MathResult<()> {
        let (k, sigma, t) = (Fix::from_num(100), ratio(1, 2), years(SECONDS_PER_YEAR / 4));
        // at the money Φ(σ√T/2) = Φ(0.125) = 0.549738…: α = 1 takes it as is
        let r = rebalance(Fix::from_num(100), k, sigma, t, ratio(1, 2), Fix::ONE)?;
        assert!((r.delta - ratio(549_738, 1_000_000)).abs() < ratio(1, 1_000_000));
        assert_eq!(r.weight, r.delta);
        // α = 0.2 moves a fifth of the way from 0.5
        let s = rebalance(Fix::from_num(100), k, sigma, t, ratio(1, 2), ratio(1, 5))?;
        let expected = ratio(1, 2) + (r.delta - ratio(1, 2)) / 5;
        assert!((s.weight - expected).abs() <= Fix::DELTA * 4);
        // far out of the money the delta is ~0 and the weight stops at 1 %
        let low = rebalance(Fix::from_num(10), k, sigma, t, MIN_WEIGHT, Fix::ONE)?;
        assert!(low.delta < ratio(1, 1_000_000));
        assert_eq!(low.weight, MIN_WEIGHT);
        let high = rebalance(Fix::from_num(1_000), k, sigma, t, MAX_WEIGHT, Fix::ONE)?;
        assert_eq!(high.weight, MAX_WEIGHT);
        // at expiry the delta is the step function, still clamped
        let at_expiry = rebalance(
            Fix::from_num(101),
            k,
            sigma,
            Fix::ZERO,
            ratio(1, 2),
            Fix::ONE,
        )?;
        assert_eq!((at_expiry.delta, at_expiry.weight), (Fix::ONE, MAX_WEIGHT));
        Ok(())
    }

    fn pool() -> Balances {
        // 1,000 risky at 100 and 100,000 riskless, 50/50: spot 100
        Balances {
            risky: 1_000_000_000,
            riskless: 100_000_000_000,
            risky_weight: ratio(1, 2),
        }
    }

    #[test]
    fn swaps_charge_the_fee_in_riskless_and_never_beat_spot() -> MathResult<()> {
        let b = pool();
        let fee = ratio(3, 1000);
        let spot = spot_price(
            b.riskless,
            Fix::ONE - b.risky_weight,
            b.risky,
            b.risky_weight,
        )?;
        assert_eq!(spot, Fix::from_num(100));
        // buy risky with 1,000,000 riskless
        let buy = swap_exact_in(&b, false, 1_000_000, fee)?;
        assert_eq!(buy.fee, 3_000);
        assert!(Fix::from_num(buy.amount_out) * spot < Fix::from_num(1_000_000 - 3_000));
        // sell 10,000 risky: the fee is on the riskless out
        let sell = swap_exact_in(&b, true, 10_000, fee)?;
        assert!(Fix::from_num(sell.amount_out + sell.fee) < spot * Fix::from_num(10_000));
        assert_eq!(sell.fee, fee_amount(sell.amount_out + sell.fee, fee)?);
        // exact-out is the inverse, rounded up: asking for what exact-in gave costs at most that
        // (less up to one risky unit, ~100 riskless, lost to rounding the exact-in output down)
        let back = swap_exact_out(&b, false, buy.amount_out, fee)?;
        assert!(back.amount_in <= 1_000_000 && back.amount_in >= 999_800);
        let back = swap_exact_out(&b, true, sell.amount_out, fee)?;
        assert!(back.amount_in <= 10_000 && back.amount_in >= 9_990);
        // more than the pool holds
        assert_eq!(
            swap_exact_out(&b, false, b.risky, fee),
            Err(MathError::Domain)
        );
        Ok(())
    }

    #[test]
    fn conversion_sells_at_the_discounted_oracle_price() -> MathResult<()> {
        let p = sale_price(Fix::from_num(100), 100)?; // 1 % off: 99
        assert_eq!(p, Fix::from_num(99));
        let s = conversion(p, 1_000, true, 9_950)?;
        assert_eq!((s.amount_in, s.amount_out), (9_950, 100)); // 100.5 → 100
        let capped = conversion(p, 50, true, 9_950)?;
        assert_eq!((capped.amount_in, capped.amount_out), (4_950, 50));
        let out = conversion(p, 1_000, false, 7)?;
        assert_eq!((out.amount_in, out.amount_out), (693, 7));
        assert_eq!(sale_price(Fix::from_num(100), BPS), Err(MathError::Domain));
        Ok(())
    }

    #[test]
    fn residual_claims_and_settlement() -> MathResult<()> {
        assert_eq!(residual_claims(500, 0, 0), Ok(500));
        assert_eq!(residual_claims(500, 1_000, 2_000), Ok(1_000));
        assert_eq!(residual_claims(500, 0, 2_000), Err(MathError::Domain));
        // enough riskless: lenders at par, the unlent cash's surplus to the reserve
        let s = settle(10_000, 6_000, 1_000, 6_900, 50)?;
        assert_eq!(
            (s.from_pool, s.from_reserve, s.to_reserve, s.lender_assets),
            (6_000, 0, 100, 6_900)
        );
        // short: the reserve pays the gap
        let s = settle(5_000, 6_000, 1_000, 6_900, 5_000)?;
        assert_eq!(
            (s.from_pool, s.from_reserve, s.lender_assets),
            (5_000, 900, 6_900)
        );
        // the reserve runs out: lenders share what there is
        let s = settle(5_000, 6_000, 1_000, 6_900, 100)?;
        assert_eq!(s.lender_assets, 6_100);
        assert_eq!(pro_rata(6_100, 690, 6_900), Ok(610));
        assert_eq!(pro_rata(1, 1, 0), Err(MathError::DivisionByZero));
        Ok(())
    }

    #[test]
    fn newcomers_buy_lender_claims_at_what_is_owed() -> MathResult<()> {
        // the first lender at par; once his 100,000 is lent the pool owes 101,232 (interest 1,232)
        // on his 100,000 claims: a newcomer's 10M buys fewer claims
        assert_eq!(lender_claims(100_000, 0, 0)?, 100_000);
        let newcomer = lender_claims(10_000_000, 101_232, 100_000)?;
        assert_eq!(newcomer, 9_878_299);
        // at expiry the pot is 10,101,232: the honest lender gets his face, the newcomer par
        let pot = 10_000_000 + 101_232;
        let supply = 100_000 + newcomer;
        assert_eq!(pro_rata(pot, 100_000, supply)?, 101_232);
        assert_eq!(pro_rata(pot, newcomer, supply)?, 9_999_999);
        Ok(())
    }

    #[test]
    fn weights_ramp_linearly_to_the_target() -> MathResult<()> {
        let (a, b) = (ratio(1, 4), ratio(3, 4));
        assert_eq!(ramp_weight(a, b, 100, 200, 50)?, a);
        assert_eq!(ramp_weight(a, b, 100, 200, 100)?, a);
        assert_eq!(ramp_weight(a, b, 100, 200, 150)?, ratio(1, 2));
        assert_eq!(ramp_weight(b, a, 100, 200, 150)?, ratio(1, 2));
        assert_eq!(ramp_weight(a, b, 100, 200, 200)?, b);
        assert_eq!(ramp_weight(a, b, 100, 100, 100)?, b);
        // rounded toward the start, both ways
        let third = ramp_weight(Fix::ZERO, Fix::from_bits(10), 0, 3, 1)?;
        assert_eq!(third, Fix::from_bits(3));
        let back = ramp_weight(Fix::from_bits(10), Fix::ZERO, 0, 3, 1)?;
        assert_eq!(back, Fix::from_bits(7));
        Ok(())
    }

    #[test]
    fn settling_in_kind_pays_the_debt_in_risky_before_the_reserve() -> MathResult<()> {
        // debt 6,000, riskless 5,000, 1,000 unlent: the 1,000 short is paid in risky at 2
        let s = settle_in_kind(5_000, 700, 6_000, 1_000, 7_000, 300, Fix::from_num(2))?;
        assert_eq!(
            (s.from_pool, s.from_reserve, s.lender_assets, s.lender_risky),
            (5_000, 0, 6_000, 500)
        );
        // 300 risky is not enough: it pays 600, the reserve 300 of the last 400
        let s = settle_in_kind(5_000, 300, 6_000, 1_000, 7_000, 300, Fix::from_num(2))?;
        assert_eq!(
            (s.from_pool, s.from_reserve, s.lender_assets, s.lender_risky),
            (5_000, 300, 6_300, 300)
        );
        // rounding up in risky: 1 short at 3 per risky takes one whole risky
        let s = settle_in_kind(5, 10, 6, 0, 6, 0, Fix::from_num(3))?;
        assert_eq!((s.lender_assets, s.lender_risky), (5, 1));
        assert_eq!(
            settle_in_kind(5, 10, 6, 0, 6, 0, Fix::ZERO),
            Err(MathError::Domain)
        );
        Ok(())
    }
}
