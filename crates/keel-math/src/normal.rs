//! The standard normal distribution: Φ, its density and its inverse.
//!
//! Φ(−t) = g(t)·e^(−t²/2) for t ≥ 0, where g(t) = erfcx(t/√2)/2 is smooth and slowly varying.
//! g is tabulated as 32 degree-8 polynomials in y = 4/(4 + t) (Chebyshev fits, largest error
//! 1e-20, `scripts/gen_tables.py`), and e^(−t²/2) comes from the exp kernel in mantissa/exponent
//! form. The product keeps relative precision all the way into the tail, and the result is a
//! [`Prob`] with 127 fraction bits, so Φ(−12) ≈ 1.8e-33 still carries ~17 significant digits.
//! Beyond |x| = 13.5 the tail is below 2^-128 and Φ is exactly 0 or 1.

use crate::exp::{exp_parts, scale_mantissa_q64};
use crate::ln::ln_bits;
use crate::pow::sqrt_q64_bits;
use crate::tables::{
    AS241_A, AS241_B, AS241_C, AS241_D, AS241_E, AS241_F, INV_SQRT_2PI_Q64, NORM_G_POLY_Q63,
    NORM_T_MAX_Q64,
};
use crate::wide::{Rounding, div_q64, mul_q64, shr_round_u128};
use crate::{Fix, MathError, MathResult, Prob};

const PROB_ONE: u128 = 1 << 127;

/// Φ(x), the standard normal CDF, rounded to nearest in [`Prob`] (127 fraction bits).
///
/// Absolute error below 1e-18 everywhere and relative error below 1e-16 in the lower tail down
/// to Φ ≈ 1e-35. Never fails; returns `Result` for a uniform kernel interface.
pub fn norm_cdf(x: Fix) -> MathResult<Prob> {
    norm_cdf_bits(x.to_bits()).map(Prob::from_bits)
}

/// 1 − Φ(x) = Φ(−x), with the same relative precision in the upper tail.
pub fn norm_sf(x: Fix) -> MathResult<Prob> {
    let t = x.to_bits();
    let neg = if t == i128::MIN { i128::MAX } else { -t };
    norm_cdf_bits(neg).map(Prob::from_bits)
}

pub(crate) fn norm_cdf_bits(x: i128) -> MathResult<u128> {
    if x <= 0 {
        if x <= -NORM_T_MAX_Q64 {
            return Ok(0);
        }
        upper_tail_bits(-x)
    } else {
        Ok(PROB_ONE - upper_tail_bits(x)?)
    }
}

/// Q(t) = Φ(−t) for 0 ≤ t (Q64.64 bits), as U1F127 bits.
fn upper_tail_bits(t: i128) -> MathResult<u128> {
    if t == 0 {
        return Ok(PROB_ONE >> 1);
    }
    if t >= NORM_T_MAX_Q64 {
        return Ok(0);
    }
    // y = 1/(1 + t/4) in Q0.64 (u128::MAX/den is within one unit of 2^128/den)
    let den = (1u128 << 64) + ((t as u128) >> 2);
    let y = (u128::MAX / den) as u64;
    let piece = (y >> 59) as usize;
    // local variable u = 64y − (2·piece + 1) ∈ [−1, 1), Q0.63
    let u = (((y as i128) << 6) - (((2 * piece + 1) as i128) << 64)) >> 1;
    let c = &NORM_G_POLY_Q63[piece];
    let mut g = c[8] as i128;
    for &ck in c[..8].iter().rev() {
        g = ck as i128 + ((g * u) >> 63);
    }
    // e^(−t²/2) as mantissa · 2^(e − 63)
    let half_t2 = mul_q64(t, t, Rounding::Nearest)? >> 1;
    let (m, e) = exp_parts(-half_t2)?;
    // Q = g·m·2^(e − 126); U1F127 bits = g·m·2^(e + 1), and e ≤ −1 for t > 0
    let prod = (g as u128) * (m as u128);
    Ok(shr_round_u128(prod, (-(e + 1)) as u32, false, true))
}

/// φ(x) = e^(−x²/2)/√(2π), the standard normal density, rounded to nearest.
pub fn norm_pdf(x: Fix) -> MathResult<Fix> {
    let x = x.to_bits();
    if x.unsigned_abs() >= NORM_T_MAX_Q64 as u128 {
        return Ok(Fix::ZERO);
    }
    let half_x2 = mul_q64(x, x, Rounding::Nearest)? >> 1;
    let (m, e) = exp_parts(-half_x2)?;
    // m·c (Q1.63 × Q0.64 = Q1.127) → Q1.63 mantissa keeps the exponent e
    let mc = ((m as u128 * INV_SQRT_2PI_Q64 as u128) + (1 << 63)) >> 64;
    scale_mantissa_q64(mc as u64, e + 1).map(Fix::from_bits)
}

/// Φ⁻¹(p), the standard normal quantile, for 0 < p < 1 ([`Prob`], 127 fraction bits).
///
/// Wichura's AS241 (PPND16) rational approximations evaluated in Q64.64 (relative error about
/// 1e-16). The tail branch takes ln p at p's full 127-bit precision, so quantiles down to
/// p = 2^-127 are available. Errors: [`MathError::Domain`] for p = 0 or p ≥ 1.
pub fn norm_inv(p: Prob) -> MathResult<Fix> {
    let p = p.to_bits();
    if p == 0 || p >= PROB_ONE {
        return Err(MathError::Domain);
    }
    let upper = p > PROB_ONE >> 1;
    let tail = if upper { PROB_ONE - p } else { p };
    // q = p − 1/2 in Q64.64 (only used in the central region, where 2^-64 is ample)
    let q_mag = shr_round_u128((PROB_ONE >> 1) - tail, 63, false, true) as i128;
    let q = if upper { q_mag } else { -q_mag };
    const Q_SPLIT: i128 = 7_839_866_231_326_559_437; // 0.425 · 2^64
    if q_mag <= Q_SPLIT {
        const R_CONST: i128 = 3_331_943_148_313_787_761; // 0.180625 · 2^64
        let r = R_CONST - mul_q64(q, q, Rounding::Nearest)?;
        let num = horner(&AS241_A, r)?;
        let den = horner(&AS241_B, r)?;
        return div_q64(mul_q64(q, num, Rounding::Nearest)?, den, Rounding::Nearest)
            .map(Fix::from_bits);
    }
    // r = √(−ln tail)
    let neg_ln = -ln_bits(tail, 127)?;
    let r = sqrt_q64_bits(neg_ln as u128) as i128;
    const R_SPLIT: i128 = 5 << 64;
    let x = if r <= R_SPLIT {
        const SHIFT: i128 = 29_514_790_517_935_282_586; // 1.6 · 2^64
        let r = r - SHIFT;
        div_q64(
            horner(&AS241_C, r)?,
            horner(&AS241_D, r)?,
            Rounding::Nearest,
        )?
    } else {
        let r = r - R_SPLIT;
        div_q64(
            horner(&AS241_E, r)?,
            horner(&AS241_F, r)?,
            Rounding::Nearest,
        )?
    };
    Ok(Fix::from_bits(if upper { x } else { -x }))
}

/// Σ c_k r^k in Q64.64, Horner form.
fn horner(c: &[i128; 8], r: i128) -> MathResult<i128> {
    let mut acc = c[7];
    for &ck in c[..7].iter().rev() {
        acc = ck
            .checked_add(mul_q64(acc, r, Rounding::Nearest)?)
            .ok_or(MathError::Overflow)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_bounded() {
        assert_eq!(norm_cdf(Fix::ZERO).unwrap(), Prob::from_num(0.5));
        assert_eq!(norm_cdf(Fix::from_num(-14)).unwrap(), Prob::ZERO);
        assert_eq!(norm_cdf(Fix::from_num(14)).unwrap(), Prob::ONE);
        assert_eq!(norm_cdf(Fix::MIN).unwrap(), Prob::ZERO);
        assert_eq!(norm_cdf(Fix::MAX).unwrap(), Prob::ONE);
        for x in [0.1, 1.0, 2.5, 7.0, 12.0] {
            let a = norm_cdf(Fix::from_num(x)).unwrap().to_bits();
            let b = norm_cdf(Fix::from_num(-x)).unwrap().to_bits();
            assert_eq!(a + b, PROB_ONE, "Φ(x) + Φ(−x) = 1 at {x}");
        }
    }

    #[test]
    fn inverse_domain() {
        assert_eq!(norm_inv(Prob::ZERO), Err(MathError::Domain));
        assert_eq!(norm_inv(Prob::ONE), Err(MathError::Domain));
        assert_eq!(norm_inv(Prob::from_num(0.5)).unwrap(), Fix::ZERO);
    }
}
