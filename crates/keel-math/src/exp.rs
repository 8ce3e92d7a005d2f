//! e^x.
//!
//! x = N·ln2/64 + r with N = round(64x/ln2) and |r| ≤ ln2/128; e^x = 2^(N>>6) · 2^((N&63)/64) · e^r,
//! with 2^(j/64) from a table and e^r from its Taylor polynomial of degree 6 (truncation < 3e-20
//! relative). The reduction subtracts N·ln2/64 at 96 fractional bits, so the reduced argument is
//! exact to ~2^-65 for any |x| ≤ 2^20.

use crate::tables::{
    EXP_POLY_Q64, EXP2_FRAC_Q63, EXPM1_POLY_Q64, INV_LN2_MUL64_Q32, LN2_DIV64_Q96,
};
use crate::wide::shr_round_u128;
use crate::{Fix, MathError, MathResult};

/// Largest argument (Q64.64 bits) whose exponential is below 2^63 (the I64F64 maximum).
const EXP_MAX_ARG: i128 = 805_537_444_647_767_306_566; // floor(63·ln2·2^64) ≈ 43.668
/// Below this argument e^x < 2^-65, half an ulp of I64F64, and rounds to 0.
const EXP_ZERO_ARG: i128 = -831_110_061_938_172_617_887; // floor(-65·ln2·2^64) ≈ -45.05
/// |x| limit of the mantissa/exponent form (keeps the reduction index exact).
const PARTS_LIMIT: i128 = 1 << 84;

/// e^x as a normalised mantissa and exponent: e^x ≈ m · 2^(e − 63) with m ∈ [2^63, 2^64).
///
/// Relative error below 2^-62 for every |x| ≤ 2^20 (Q64.64 bits of x), so callers that need
/// relative precision for tiny results (the normal tails, pow) keep it.
pub(crate) fn exp_parts(x: i128) -> MathResult<(u64, i32)> {
    if !(-PARTS_LIMIT..=PARTS_LIMIT).contains(&x) {
        return Err(MathError::Overflow);
    }
    // N = round(x · 64/ln2), from an approximate multiplier: any nearby integer only moves r a
    // hair, and r is then computed exactly from N.
    let n = ((x >> 32) * INV_LN2_MUL64_Q32 as i128 + (1 << 63)) >> 64;
    let r_q96 = (x << 32) - n * LN2_DIV64_Q96 as i128;
    let r = (r_q96 + (1 << 31)) >> 32; // Q0.64, |r| < 2^57

    let mut acc = EXP_POLY_Q64[6];
    for c in EXP_POLY_Q64[..6].iter().rev() {
        acc = c + ((acc * r) >> 64);
    }
    // acc = e^r in Q.64 (∈ 0.994..1.006); take it to Q1.63 and multiply by 2^(j/64) (Q1.63).
    let j = (n & 63) as usize;
    let k = (n >> 6) as i32;
    let p63 = ((acc + 1) >> 1) as u128;
    let prod = p63 * EXP2_FRAC_Q63[j] as u128; // Q2.126, value in [0.99, 2.02)
    // normalise: value = prod·2^-126 ∈ [2^(b−126), 2^(b−125)) with b = bit length of prod
    let top = 128 - prod.leading_zeros() as i32; // 126, 127 or 128
    let (mut m, mut e) = (
        shr_round_u128(prod, (top - 64) as u32, false, true),
        k + top - 127,
    );
    if m >> 64 != 0 {
        m >>= 1;
        e += 1;
    }
    Ok((m as u64, e))
}

/// e^x, rounded to nearest (faithful: error ≤ 0.5 ulp + 2^-62 relative).
///
/// Errors: [`MathError::Overflow`] when e^x ≥ 2^63 (x > 43.668). Arguments below −45.05 give 0.
pub fn exp(x: Fix) -> MathResult<Fix> {
    exp_bits(x.to_bits()).map(Fix::from_bits)
}

pub(crate) fn exp_bits(x: i128) -> MathResult<i128> {
    if x > EXP_MAX_ARG {
        return Err(MathError::Overflow);
    }
    if x < EXP_ZERO_ARG {
        return Ok(0);
    }
    let (m, e) = exp_parts(x)?;
    // value = m · 2^(e − 63) → Q64.64 bits = m · 2^(e + 1)
    scale_mantissa_q64(m, e + 1)
}

/// e^x − 1 without the cancellation of exp(x) − 1 near 0, rounded to nearest (relative error
/// below 2^-60 for |x| < 1/32, where it sums the Taylor series; exp(x) − 1 elsewhere, where the
/// result is at least 0.03 in magnitude).
///
/// Errors: [`MathError::Overflow`] as for [`exp`].
pub fn expm1(x: Fix) -> MathResult<Fix> {
    expm1_bits(x.to_bits()).map(Fix::from_bits)
}

pub(crate) fn expm1_bits(x: i128) -> MathResult<i128> {
    const SMALL: i128 = 1 << 59; // 1/32
    if x.unsigned_abs() >= SMALL as u128 {
        return Ok(exp_bits(x)? - (1 << 64));
    }
    // x·(1 + x/2 + x²/6 + … + x^8/9!): coefficients 1/(k+1)!, Horner in Q0.64
    let mut acc = EXPM1_POLY_Q64[8];
    for c in EXPM1_POLY_Q64[..8].iter().rev() {
        acc = c + ((acc * x) >> 64);
    }
    Ok((acc * x + (1 << 63)) >> 64)
}

/// `m · 2^shift` as Q64.64 bits, rounded to nearest; Overflow if it reaches 2^127.
pub(crate) fn scale_mantissa_q64(m: u64, shift: i32) -> MathResult<i128> {
    let bits = if shift >= 0 {
        if shift > 63 {
            return Err(MathError::Overflow);
        }
        (m as u128) << shift
    } else {
        shr_round_u128(m as u128, shift.unsigned_abs(), false, true)
    };
    i128::try_from(bits).map_err(|_| MathError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_points() {
        assert_eq!(exp(Fix::ZERO).unwrap(), Fix::ONE);
        // e^(k ln2) = 2^k: the table and the reduction line up
        let (m, e) = exp_parts(0).unwrap();
        assert_eq!((m, e), (1 << 63, 0));
    }

    #[test]
    fn limits() {
        // just below 63·ln2 the result is just below 2^63 and must still fit
        assert!(exp_bits(EXP_MAX_ARG - (1 << 20)).unwrap() > (1i128 << 126));
        assert_eq!(exp_bits(EXP_MAX_ARG + 1), Err(MathError::Overflow));
        assert_eq!(exp_bits(EXP_ZERO_ARG - 1), Ok(0));
        assert!(exp_bits(EXP_ZERO_ARG + (1 << 60)).unwrap() >= 1);
        assert_eq!(exp_parts(PARTS_LIMIT + 1), Err(MathError::Overflow));
    }
}
