//! Weighted geometric-mean market maker (Balancer invariant Π Bᵢ^wᵢ = V), two-token swaps.
//!
//! Amounts are integer native units; weights are fractions in (0, 1]. Every rounding step
//! favours the pool: out-given-in rounds the ratio up, the exponent down, the power up (with the
//! kernel's error margin) and the amount down; in-given-out rounds the other way and the amount up.
//! Both compute 1 − ratio^e as an expm1 of e·ln(ratio), so the margin is relative to the traded
//! amount rather than to the balance.

use crate::exp::expm1_bits;
use crate::ln::ln_bits;
use crate::pow::pow_bits;
use crate::wide::{Rounding, div_wide, mul_div_u128, mul_q64};
use crate::{Fix, MathError, MathResult};

/// Error bound (Q64.64 bits) of v = expm1(e·ln r) as computed above, for exponent e ≥ 0.
///
/// ln r is exact to 1 ulp plus 2^-62 relative; e·ln r adds e ulps and one rounding; expm1 adds
/// 2^-60 relative near 0 and 2^-62 of e^z elsewhere (≤ 133·2^-64 of |v| since |v| ≥ 0.03 there).
/// Relative part 256·(⌈e⌉ + 2), absolute part 2·(⌈e⌉ + 2)·(1 + v) ulps: about twice the sum.
/// The accuracy sweep checks that no swap ever crosses the exact amount.
fn error_margin(v: i128, exponent: i128) -> i128 {
    let e = (exponent.unsigned_abs() >> 64) + 1;
    let mag = v.unsigned_abs();
    let relative =
        mul_div_u128(mag, 256 * (e + 2), 1 << 64, Rounding::Up).unwrap_or(u128::MAX >> 2);
    let absolute = 2 * (e + 2) * (1 + (mag >> 64));
    relative
        .saturating_add(absolute)
        .min(i128::MAX as u128 >> 1) as i128
}

fn check_weight(w: Fix) -> MathResult<u128> {
    if w <= Fix::ZERO || w > Fix::ONE {
        return Err(MathError::Domain);
    }
    Ok(w.to_bits() as u128)
}

fn check_balance(b: u64) -> MathResult<u128> {
    if b == 0 {
        return Err(MathError::Domain);
    }
    Ok(b as u128)
}

/// `num/den` in Q64.64 bits with the given rounding (`num`, `den` > 0).
fn ratio(num: u128, den: u128, rounding: Rounding) -> MathResult<i128> {
    let (q, rem, _) = div_wide(num, 64, den)?;
    let q = if rem != 0 && rounding == Rounding::Up {
        q + 1
    } else {
        q
    };
    i128::try_from(q).map_err(|_| MathError::Overflow)
}

/// Tokens out for `amount_in` tokens in (after fees): B_o·(1 − (B_i/(B_i + A_i))^(w_i/w_o)),
/// rounded down.
///
/// Errors: Domain for a zero balance or a weight outside (0, 1].
pub fn out_given_in(
    balance_in: u64,
    weight_in: Fix,
    balance_out: u64,
    weight_out: Fix,
    amount_in: u64,
) -> MathResult<u64> {
    let (bi, bo) = (check_balance(balance_in)?, check_balance(balance_out)?);
    let (wi, wo) = (check_weight(weight_in)?, check_weight(weight_out)?);
    if amount_in == 0 {
        return Ok(0);
    }
    // 1 − (B_i/(B_i + A_i))^e = −expm1(e·ln ratio): no cancellation for small trades
    let base = ratio(bi, bi + amount_in as u128, Rounding::Up)?;
    let exponent = ratio(wi, wo, Rounding::Down)?;
    let z = mul_q64(exponent, ln_bits(base as u128, 64)?, Rounding::Up)?;
    let fraction = -expm1_bits(z)?;
    let fraction = (fraction - error_margin(fraction, exponent)).max(0) as u128;
    let out = mul_div_u128(bo, fraction, 1 << 64, Rounding::Down)?;
    Ok(out.min(bo - 1) as u64)
}

/// Tokens in needed for `amount_out` tokens out (before fees): B_i·((B_o/(B_o − A_o))^(w_o/w_i) − 1),
/// rounded up.
///
/// Errors: Domain for a zero balance, a weight outside (0, 1] or A_o ≥ B_o; Overflow when the
/// amount exceeds u64.
pub fn in_given_out(
    balance_in: u64,
    weight_in: Fix,
    balance_out: u64,
    weight_out: Fix,
    amount_out: u64,
) -> MathResult<u64> {
    let (bi, bo) = (check_balance(balance_in)?, check_balance(balance_out)?);
    let (wi, wo) = (check_weight(weight_in)?, check_weight(weight_out)?);
    if amount_out as u128 >= bo {
        return Err(MathError::Domain);
    }
    if amount_out == 0 {
        return Ok(0);
    }
    // (B_o/(B_o − A_o))^e − 1 = expm1(e·ln ratio)
    let base = ratio(bo, bo - amount_out as u128, Rounding::Up)?;
    let exponent = ratio(wo, wi, Rounding::Up)?;
    let z = mul_q64(exponent, ln_bits(base as u128, 64)?, Rounding::Up)?;
    let growth = expm1_bits(z)?;
    let growth = growth
        .checked_add(error_margin(growth, exponent))
        .ok_or(MathError::Overflow)?;
    let amount = mul_div_u128(bi, growth as u128, 1 << 64, Rounding::Up)?;
    u64::try_from(amount).map_err(|_| MathError::Overflow)
}

/// Spot price of the out token in units of the in token, (B_i/w_i)/(B_o/w_o), rounded to nearest.
pub fn spot_price(
    balance_in: u64,
    weight_in: Fix,
    balance_out: u64,
    weight_out: Fix,
) -> MathResult<Fix> {
    let (bi, bo) = (check_balance(balance_in)?, check_balance(balance_out)?);
    let (wi, wo) = (check_weight(weight_in)?, check_weight(weight_out)?);
    // (B_i·2^64)·w_o / (B_o·w_i): w bits carry 2^64, so the quotient is the Q64.64 price
    let p = mul_div_u128(bi << 64, wo, bo * wi, Rounding::Nearest)?;
    i128::try_from(p)
        .map(Fix::from_bits)
        .map_err(|_| MathError::Overflow)
}

/// The invariant V = Π Bᵢ^wᵢ, rounded to nearest.
///
/// Errors: Dimension for mismatched or empty slices; Domain for a zero balance or a weight
/// outside (0, 1]; Overflow when V ≥ 2^63.
pub fn invariant(balances: &[u64], weights: &[Fix]) -> MathResult<Fix> {
    if balances.is_empty() || balances.len() != weights.len() {
        return Err(MathError::Dimension);
    }
    let mut v: i128 = 1 << 64;
    for (&b, &w) in balances.iter().zip(weights) {
        check_weight(w)?;
        let b = check_balance(b)?;
        // Bᵢ^wᵢ as a Q64.64 power of an integer: b < 2^64 fits I64F64 only below 2^63
        let base = i128::try_from(b << 64).map_err(|_| MathError::Overflow)?;
        let f = pow_bits(base, w.to_bits())?;
        v = mul_q64(v, f, Rounding::Nearest)?;
    }
    Ok(Fix::from_bits(v))
}

/// The fee on `amount` at `fee_rate` ∈ [0, 1), rounded up (in the pool's favour).
pub fn fee_amount(amount: u64, fee_rate: Fix) -> MathResult<u64> {
    if fee_rate.is_negative() || fee_rate >= Fix::ONE {
        return Err(MathError::Domain);
    }
    let fee = mul_div_u128(
        amount as u128,
        fee_rate.to_bits() as u128,
        1 << 64,
        Rounding::Up,
    )?;
    Ok(fee as u64)
}
