//! Natural logarithm.
//!
//! x = 2^e · m, m ∈ [1, 2) with fraction f; a 128-entry table gives d_i with 1 − d_i ≈ 1/c_i for
//! the centre c_i of f's 1/128-wide bucket, so u = m(1 − d_i) − 1 = f − d_i − f·d_i is tiny
//! (|u| < 2^-8) and ln m = −ln(1 − d_i) + ln(1 + u) with an 8-term series (truncation < 1e-21).
//! Arguments within 1/128 of 1 skip the table and use u = x − 1 exactly with 10 terms, so ln
//! keeps relative precision next to 1 where the table would cancel.

use crate::tables::{LN_D_Q64, LN_L_Q64, LN1P_POLY_Q64, LN2_Q112};
use crate::wide::{mul_hi_u64, shr_round_u128};
use crate::{Fix, MathError, MathResult};

/// ln x, rounded to nearest (faithful: absolute error ≤ 2^-62, relative ≤ 1e-17 for |ln x| ≥ 2^-50).
///
/// Errors: [`MathError::Domain`] for x ≤ 0.
pub fn ln(x: Fix) -> MathResult<Fix> {
    let bits = x.to_bits();
    if bits <= 0 {
        return Err(MathError::Domain);
    }
    ln_bits(bits as u128, 64).map(Fix::from_bits)
}

/// ln of the unsigned fixed-point number `bits · 2^-frac_bits` (frac_bits ≤ 127), as Q64.64 bits.
///
/// Takes any binary scale, so probabilities with 127 fraction bits (far tails) and raw token
/// amounts (frac_bits = 0) get their logarithm without first being squeezed into I64F64.
pub fn ln_bits(bits: u128, frac_bits: u32) -> MathResult<i128> {
    if bits == 0 || frac_bits > 127 {
        return Err(MathError::Domain);
    }
    let one = 1u128 << frac_bits;
    let (dist, below) = if bits >= one {
        (bits - one, false)
    } else {
        (one - bits, true)
    };
    if dist < one >> 7 {
        // |x − 1| < 1/128: u = x − 1 exactly, at Q0.64
        let mag = if frac_bits >= 64 {
            shr_round_u128(dist, frac_bits - 64, false, true)
        } else {
            dist << (64 - frac_bits)
        } as i128;
        let u = if below { -mag } else { mag };
        return Ok(ln1p_series(u, LN1P_POLY_Q64.len()));
    }

    let lz = bits.leading_zeros();
    let exponent = (127 - lz) as i32 - frac_bits as i32;
    // the 64 fraction bits below the leading one (lower bits truncated: < 2^-64 relative)
    let f = ((bits << lz) << 1 >> 64) as u64;
    let i = (f >> 57) as usize;
    let d = LN_D_Q64[i];
    let u = f as i128 - d as i128 - mul_hi_u64(f, d) as i128;
    let ln_m = LN_L_Q64[i] as i128 + ln1p_series(u, 8);
    // exponent · ln2 at 112 fraction bits, rounded to 64
    let e_ln2 = exponent as i128 * LN2_Q112 as i128;
    let e_ln2 = (e_ln2 + (1 << 47)) >> 48;
    Ok(e_ln2 + ln_m)
}

/// ln(1 + u) for |u| < 2^-7 (Q0.64 bits) from the first `terms` Taylor terms, Horner form.
fn ln1p_series(u: i128, terms: usize) -> i128 {
    let mut acc = LN1P_POLY_Q64[terms - 1];
    for c in LN1P_POLY_Q64[..terms - 1].iter().rev() {
        acc = c + ((acc * u) >> 64);
    }
    (acc * u) >> 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_points_and_domain() {
        assert_eq!(ln(Fix::ONE).unwrap(), Fix::ZERO);
        assert_eq!(ln(Fix::ZERO), Err(MathError::Domain));
        assert_eq!(ln(Fix::from_num(-1)), Err(MathError::Domain));
        assert_eq!(ln_bits(0, 0), Err(MathError::Domain));
        // ln 2^k = k ln 2 to the last bit of the constant
        let ln2 = ((LN2_Q112 + (1 << 47)) >> 48) as i128;
        let ln1024 = (10 * LN2_Q112 as i128 + (1 << 47)) >> 48;
        assert!((ln_bits(1 << 10, 0).unwrap() - ln1024).abs() <= 2);
        assert!((ln(Fix::from_num(2)).unwrap().to_bits() - ln2).abs() <= 2);
    }

    #[test]
    fn scale_independent() {
        // the same number given with different binary scales has the same logarithm
        let a = ln_bits(3 << 64, 64).unwrap();
        let b = ln_bits(3 << 125, 125).unwrap();
        let c = ln_bits(3, 0).unwrap();
        assert!((a - b).abs() <= 2 && (a - c).abs() <= 2, "{a} {b} {c}");
    }
}
