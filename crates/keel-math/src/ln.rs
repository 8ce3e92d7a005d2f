//! Natural logarithm.
//!
//! x = 2^e · m, m ∈ [1, 2) with fraction f; a 256-entry table gives d_i with 1 − d_i ≈ 1/c_i for
//! the centre c_i of f's 1/128-wide bucket, so u = m(1 − d_i) − 1 = f − d_i − f·d_i is tiny
//! (|u| < 2^-8) and ln m = −ln(1 − d_i) + ln(1 + u) with an 8-term series (truncation < 1e-21).
//! Arguments within 1/128 of 1 skip the table and use u = x − 1 exactly with 10 terms, so ln
//! keeps relative precision next to 1 where the table would cancel.

use crate::tables::{LN_D_Q64, LN_L_Q64, LN1P_POLY_Q64, LN2_Q112};
use crate::wide::{
    clz64, mul_hi, mul_hi_signed, mul_hi_signed_approx, mul_round_signed, mul_u64_wide,
};
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
    // normalise on 64-bit words (variable 128-bit shifts are long sequences on SBF): lz leading
    // zeros, f the 64 fraction bits below the leading one (lower bits truncated: < 2^-64 relative)
    let (hi, lo) = ((bits >> 64) as u64, bits as u64);
    let (lz, f) = if hi != 0 {
        let z = clz64(hi);
        let top = if z == 0 { hi } else { hi << z | lo >> (64 - z) };
        (z, top << 1 | (lo << z) >> 63)
    } else {
        let z = clz64(lo);
        (64 + z, (lo << z) << 1)
    };
    let exponent = (127 - lz) as i32 - frac_bits as i32;
    // |x − 1| < 1/128: the series on u = x − 1 itself (Q0.64), which keeps relative precision
    // where the table's terms would cancel
    if exponent == 0 && f < 1 << 57 {
        return Ok(ln1p_series(f as i64, LN1P_POLY_Q64.len()) as i128);
    }
    if exponent == -1 && f > (1u64 << 58).wrapping_neg() {
        // x = (1 + f/2^64)/2, so 1 − x = (2^64 − f)/2^65, rounded to Q0.64
        let u = (f.wrapping_neg() + 1) >> 1;
        return Ok(ln1p_series(-(u as i64), LN1P_POLY_Q64.len()) as i128);
    }
    let i = (f >> 56) as usize;
    let d = LN_D_Q64[i];
    // u = (1 + f)(1 − d) − 1 = f − d − f·d, |u| < 2^-9: exact modulo 2^64, so exact as i64
    let u = f.wrapping_sub(d).wrapping_sub(mul_hi(f, d)) as i64;
    // terms to u^7: the first omitted one is below 2^-75
    let ln_m = LN_L_Q64[i] as i128 + ln1p_series(u, 5) as i128;
    Ok(ln2_multiple(exponent) + ln_m)
}

/// e·ln 2 as Q64.64 bits, rounded to nearest, for |e| < 2^15: ln 2 is held to 112 bits, its
/// top 64 in one word (one exact 64×64 product) and the next 48 bits in another.
fn ln2_multiple(e: i32) -> i128 {
    const HIGH: u64 = (LN2_Q112 >> 48) as u64;
    const LOW: u64 = (LN2_Q112 & ((1 << 48) - 1)) as u64;
    let n = e.unsigned_abs() as u64;
    let (hi, lo) = mul_u64_wide(n, HIGH);
    let mag = (((hi as u128) << 64) | lo as u128) + ((n * LOW + (1 << 47)) >> 48) as u128;
    if e < 0 { -(mag as i128) } else { mag as i128 }
}

/// ln(1 + u) for |u| < 2^-7 (Q0.64) from its Taylor terms up to u^(coefficients + 2):
/// u + u·(−u/2 + u²·(1/3 − u/4 + …)), Horner on 64-bit words (every partial sum below 1/2).
#[inline(always)]
fn ln1p_series(u: i64, coefficients: usize) -> i64 {
    let mut acc = LN1P_POLY_Q64[coefficients - 1];
    for &c in LN1P_POLY_Q64[..coefficients - 1].iter().rev() {
        acc = c.wrapping_add(mul_hi_signed_approx(acc, u));
    }
    let inner =
        (u.wrapping_neg() >> 1).wrapping_add(mul_hi_signed(mul_hi_signed_approx(acc, u), u));
    u.wrapping_add(mul_round_signed(inner, u))
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
