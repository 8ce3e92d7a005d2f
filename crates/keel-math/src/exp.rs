//! e^x.
//!
//! x = i + j/256 + r with i = ⌊x⌋, j the next 8 bits and 0 ≤ r < 2^-8; e^x = e^i · e^(j/256) · e^r
//! with e^i (mantissa and binary exponent) and e^(j/256) from tables and e^r − 1 from its Taylor
//! polynomial of degree 6 (truncation < 2^-68). Everything runs on 64-bit words with exact
//! 64×64 → 128-bit products, which SBF builds from native multiplies: no 128-bit multiply, no
//! division, no loop. The integer-part table covers x ∈ [−96, 48).

use crate::tables::{
    EXP_FRAC_Q62, EXP_INT_EXP, EXP_INT_MANT, EXP_INT_MAX, EXP_INT_MIN, EXP_POLY_Q64, EXPM1_POLY_Q64,
};
use crate::wide::{mul_hi, mul_hi_approx, mul_hi_signed, mul_round_signed};
use crate::{Fix, MathError, MathResult};

/// Largest argument (Q64.64 bits) whose exponential is below 2^63 (the I64F64 maximum).
const EXP_MAX_ARG: i128 = 805_537_444_647_767_306_566; // floor(63·ln2·2^64) ≈ 43.668
/// Below this argument e^x < 2^-65, half an ulp of I64F64, and rounds to 0.
const EXP_ZERO_ARG: i128 = -831_110_061_938_172_617_887; // floor(-65·ln2·2^64) ≈ -45.05

/// e^x as a normalised mantissa and exponent: e^x ≈ m · 2^(e − 63) with m ∈ [2^63, 2^64).
///
/// Relative error below 24·2^-64 for x ∈ [−96, 48) (Q64.64 bits of x): e^r − 1 to 6 units of
/// 2^-64, the two tables to half a unit, the two products' floors to 4 and 8 units of 2^-64
/// relative. So callers that need
/// relative precision for tiny results (the normal tails) keep it. Errors: Overflow outside.
pub(crate) fn exp_parts(x: i128) -> MathResult<(u64, i32)> {
    let int = x >> 64;
    if int < EXP_INT_MIN as i128 || int > EXP_INT_MAX as i128 {
        return Err(MathError::Overflow);
    }
    let index = (int as i64 - EXP_INT_MIN) as usize;
    let frac = x as u64;
    let j = (frac >> 56) as usize;
    let r = frac & ((1 << 56) - 1);
    // e^r − 1 = r + r²·(1/2 + r/6 + r²/24 + r³/120 + r⁴/720), every term positive and < 1;
    // the inner products' few units of 2^-64 are within the 24·2^-64 bound below
    let mut p = EXP_POLY_Q64[4];
    for &c in EXP_POLY_Q64[..4].iter().rev() {
        p = c.wrapping_add(mul_hi_approx(p, r));
    }
    let em1 = r.wrapping_add(mul_hi(mul_hi_approx(p, r), r));
    // e^(j/256)·e^r in Q2.62 (< e), then times e^i's mantissa (Q1.63): Q3.61 in [1, 8)
    let t = EXP_FRAC_Q62[j];
    let v = t.wrapping_add(mul_hi(t, em1));
    let w = mul_hi(v, EXP_INT_MANT[index]);
    let e = EXP_INT_EXP[index] as i32;
    Ok(if w >> 63 != 0 {
        (w, e + 2)
    } else if w >> 62 != 0 {
        (w << 1, e + 1)
    } else {
        (w << 2, e)
    })
}

/// e^x, rounded to nearest (faithful: error ≤ 0.5 ulp + 24·2^-64 relative; 10·2^-64 is the
/// largest seen on 3,000 random arguments against mpmath).
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

/// e^x − 1 without the cancellation of exp(x) − 1 near 0, rounded to nearest (within a few units
/// of 2^-64 for |x| < 1/32, where it sums the Taylor series on 64-bit words; exp(x) − 1
/// elsewhere, where the result is at least 0.03 in magnitude).
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
    // x + x·s with s = x/2 + x²·(1/3! + x/4! + … + x^6/9!): Horner on Q0.64 words (|x| < 2^-5)
    let x = x as i64;
    let mut acc = EXPM1_POLY_Q64[6];
    for &c in EXPM1_POLY_Q64[..6].iter().rev() {
        acc = c.wrapping_add(mul_hi_signed(acc, x));
    }
    let s = (x >> 1).wrapping_add(mul_hi_signed(mul_hi_signed(acc, x), x));
    Ok(x as i128 + mul_round_signed(s, x) as i128)
}

/// `m · 2^shift` as Q64.64 bits, rounded to nearest; Overflow if it reaches 2^127.
pub(crate) fn scale_mantissa_q64(m: u64, shift: i32) -> MathResult<i128> {
    if shift >= 0 {
        if shift > 63 {
            return Err(MathError::Overflow);
        }
        return Ok(((m as u128) << shift) as i128);
    }
    let s = shift.unsigned_abs();
    Ok(match s {
        1..=63 => ((m >> s) + ((m >> (s - 1)) & 1)) as i128,
        64 => (m >> 63) as i128,
        _ => 0,
    })
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
        assert_eq!(exp_parts(48 << 64), Err(MathError::Overflow));
        assert_eq!(exp_parts((-97) << 64), Err(MathError::Overflow));
        assert!(exp_parts(-(96 << 64)).is_ok());
    }
}
