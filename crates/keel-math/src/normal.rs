//! The standard normal distribution: Φ, its density and its inverse.
//!
//! Φ(−t) = g(t)·e^(−t²/2) for t ≥ 0, where g(t) = erfcx(t/√2)/2 is smooth and slowly varying.
//! g is tabulated as 64 degree-6 polynomials in y = 4/(4 + t) (Chebyshev fits, largest relative
//! error 2.5e-17, `scripts/gen_tables.py`), and e^(−t²/2) comes from the exp kernel in mantissa/exponent
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
use crate::wide::{
    Rounding, clz64, div_q64, div_u128_by_u64_norm, mul_hi_signed_approx, mul_q64,
    mul_shr63_signed, mul_u64_wide, shr_round_u128,
};
use crate::{Fix, MathError, MathResult, Prob};

const PROB_ONE: u128 = 1 << 127;

/// Φ(x), the standard normal CDF, rounded to nearest in [`Prob`] (127 fraction bits).
///
/// Absolute error below 3e-18 everywhere and relative error below 3e-16 in the lower tail down
/// to Φ ≈ 1e-35 (measured 2.1e-18 and 1.8e-16). Never fails; returns `Result` for a uniform kernel interface.
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
    let (g, m, e) = tail_parts(t)?;
    Ok(tail_from_parts(g, m, e))
}

/// (Φ(x), φ(x)) for Q64.64 bits x, as U1F127 and Q64.64 bits, sharing one e^(−x²/2): the
/// Bachelier value S·φ(z) − C·Φ(−z) needs both at the same point.
pub(crate) fn cdf_and_pdf_bits(x: i128) -> MathResult<(u128, i128)> {
    let t = x.unsigned_abs().min(i128::MAX as u128) as i128;
    if t == 0 {
        return Ok((PROB_ONE >> 1, INV_SQRT_2PI_Q64 as i128));
    }
    if t >= NORM_T_MAX_Q64 {
        return Ok((if x > 0 { PROB_ONE } else { 0 }, 0));
    }
    let (g, m, e) = tail_parts(t)?;
    let tail = tail_from_parts(g, m, e);
    // φ = m·2^(e − 63)/√(2π): m·c (Q1.63 × Q0.64 = Q1.127) → Q1.63 mantissa keeps e
    let mc = ((m as u128 * INV_SQRT_2PI_Q64 as u128) + (1 << 63)) >> 64;
    let density = scale_mantissa_q64(mc as u64, e + 1)?;
    Ok((if x > 0 { PROB_ONE - tail } else { tail }, density))
}

/// g(t) (Q0.63) and e^(−t²/2) as mantissa m (Q1.63) and exponent e, for 0 < t < T_MAX.
fn tail_parts(t: i128) -> MathResult<(i64, u64, i32)> {
    // y = 1/(1 + t/4) in Q0.64 = 2^125 / D with D = 2^61 + t/32 (Q3.61 of 1 + t/4, < 2^64),
    // D rounded up so that y < 1: one 128/64-bit division on native words
    let d = (1u64 << 61) + (((t as u128) + 31) >> 5) as u64;
    let s = clz64(d);
    let (y, _) = div_u128_by_u64_norm(1u64 << (61 + s), 0, d << s);
    let piece = (y >> 58) as usize;
    // local variable u = 128y − (2·piece + 1) ∈ [−1, 1), Q0.63
    let u = ((y & ((1 << 58) - 1)) << 6).wrapping_sub(1 << 63) as i64;
    let c = &NORM_G_POLY_Q63[piece];
    let mut g = c[6];
    for &ck in c[1..6].iter().rev() {
        g = ck.wrapping_add(mul_hi_signed_approx(g, u) << 1);
    }
    let g = c[0].wrapping_add(mul_shr63_signed(g, u));
    // e^(−t²/2) as mantissa · 2^(e − 63); t < 16 is taken at Q4.60 (t² exact from there)
    let t60 = (t >> 4) as u64;
    let (hi, lo) = mul_u64_wide(t60, t60);
    let half_t2 = (((hi as u128) << 64 | lo as u128) >> 57) as i128;
    let (m, e) = exp_parts(-half_t2)?;
    Ok((g, m, e))
}

/// Q = g·m·2^(e − 126) as U1F127 bits = g·m·2^(e + 1); e ≤ −1 for t > 0.
fn tail_from_parts(g: i64, m: u64, e: i32) -> u128 {
    let (hi, lo) = mul_u64_wide(g.max(0) as u64, m);
    shr_round_words(hi, lo, (-(e + 1)) as u32)
}

/// `(hi·2^64 + lo) >> s` rounded to nearest (ties up), on 64-bit words (a variable 128-bit
/// shift is a long sequence on SBF).
#[inline(always)]
fn shr_round_words(hi: u64, lo: u64, s: u32) -> u128 {
    match s {
        0 => (hi as u128) << 64 | lo as u128,
        1..=63 => {
            let low = (lo >> s | hi << (64 - s)) as u128 | ((hi >> s) as u128) << 64;
            low + ((lo >> (s - 1)) & 1) as u128
        }
        64 => hi as u128 + (lo >> 63) as u128,
        65..=127 => ((hi >> (s - 64)) + ((hi >> (s - 65)) & 1)) as u128,
        128 => (hi >> 63) as u128,
        _ => 0,
    }
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
