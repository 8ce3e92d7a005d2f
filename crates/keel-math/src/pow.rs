//! x^y = e^(y·ln x) and the square root.

use crate::exp::exp_bits;
use crate::ln::ln_bits;
use crate::wide::{Rounding, mul_q64, mul_u128_wide};
use crate::{Fix, MathError, MathResult};

/// x^y for x ≥ 0 and any y, rounded to nearest (faithful: relative error below
/// 16·(|y| + 4)·2^-64 plus half an ulp; see [`pow_up`]/[`pow_down`] for guaranteed brackets).
///
/// 0^y is 0 for y > 0 and 1 for y = 0. Errors: [`MathError::Domain`] for x < 0 or (x = 0, y < 0);
/// [`MathError::Overflow`] when the result reaches 2^63. Results below 2^-65 round to 0.
pub fn pow(x: Fix, y: Fix) -> MathResult<Fix> {
    pow_bits(x.to_bits(), y.to_bits()).map(Fix::from_bits)
}

/// x^y rounded up with a margin that covers the kernel's error bound: never below the exact value.
pub fn pow_up(x: Fix, y: Fix) -> MathResult<Fix> {
    let r = pow_bits(x.to_bits(), y.to_bits())?;
    if is_exact(x.to_bits(), y.to_bits()) {
        return Ok(Fix::from_bits(r));
    }
    r.checked_add(error_margin(r, y.to_bits()))
        .map(Fix::from_bits)
        .ok_or(MathError::Overflow)
}

/// x^y rounded down with a margin that covers the kernel's error bound: never above the exact
/// value (and never below 0).
pub fn pow_down(x: Fix, y: Fix) -> MathResult<Fix> {
    let r = pow_bits(x.to_bits(), y.to_bits())?;
    if is_exact(x.to_bits(), y.to_bits()) {
        return Ok(Fix::from_bits(r));
    }
    Ok(Fix::from_bits((r - error_margin(r, y.to_bits())).max(0)))
}

/// Cases the kernel returns exactly (x ∈ {0, 1} or y = 0).
fn is_exact(x: i128, y: i128) -> bool {
    x == 0 || x == 1 << 64 || y == 0
}

/// Bound on |pow − exact| in ulps: 16·(⌈|y|⌉ + 4)·2^-64 relative plus 2 ulps. The ln error
/// (≤ 2^-62 absolute) is multiplied by |y|; the product adds 2^-64 and exp ≤ 24·2^-64
/// relative; the bound is more than twice that, and the accuracy sweep checks the bracket on
/// every reference point.
fn error_margin(result: i128, y: i128) -> i128 {
    let y_ceil = (y.unsigned_abs() >> 64) + 1;
    let rel = 16 * (y_ceil + 4); // in units of 2^-64
    let (hi, lo) = mul_u128_wide(result as u128, rel);
    ((hi << 64) | (lo >> 64)) as i128 + 2
}

pub(crate) fn pow_bits(x: i128, y: i128) -> MathResult<i128> {
    if x < 0 {
        return Err(MathError::Domain);
    }
    if y == 0 {
        return Ok(1 << 64);
    }
    if x == 0 {
        return if y > 0 { Ok(0) } else { Err(MathError::Domain) };
    }
    if x == 1 << 64 {
        return Ok(1 << 64);
    }
    let ln_x = ln_bits(x as u128, 64)?;
    match mul_q64(y, ln_x, Rounding::Nearest) {
        Ok(z) => exp_bits(z),
        // |y·ln x| ≥ 2^63: far beyond either end of the representable range
        Err(MathError::Overflow) if (y < 0) != (ln_x < 0) => Ok(0),
        Err(e) => Err(e),
    }
}

/// √x, rounded down (the largest representable r with r² ≤ x). Errors: Domain for x < 0.
pub fn sqrt(x: Fix) -> MathResult<Fix> {
    let bits = x.to_bits();
    if bits < 0 {
        return Err(MathError::Domain);
    }
    Ok(Fix::from_bits(sqrt_q64_bits(bits as u128) as i128))
}

/// floor(√(x · 2^64)): the Q64.64 square root of Q64.64 bits `x` (< 2^128), rounded down.
pub(crate) fn sqrt_q64_bits(x: u128) -> u128 {
    if x >> 64 == 0 {
        return (x << 64).isqrt();
    }
    // N = x·2^64 has up to 192 bits. Start from r0 = ⌊√x⌋·2^32 ≤ √N (error < 2^32) and take one
    // integer Newton step, which lands on ⌊√N⌋ or just above it; then step down while r² > N.
    // ⌊N/r0⌋ = ⌊x·2^32/a⌋ with a = ⌊√x⌋ < 2^64: a 192-by-64-bit schoolbook division.
    let a = x.isqrt() as u64;
    let r0 = (a as u128) << 32;
    let q = div_u192_by_u64(x >> 32, (x << 96) >> 64, a);
    let mut r = (r0 >> 1) + (q >> 1) + (r0 & q & 1);
    let (n_hi, n_lo) = (x >> 64, x << 64);
    loop {
        let (h, l) = mul_u128_wide(r, r);
        if (h, l) <= (n_hi, n_lo) {
            return r;
        }
        r -= 1;
    }
}

/// ⌊(hi·2^64 + lo)/d⌋ for a numerator with hi < d·2^64 and lo < 2^64 (so the quotient fits
/// 128 bits): two 128-by-64-bit division steps.
fn div_u192_by_u64(hi: u128, lo: u128, d: u64) -> u128 {
    let d = d as u128;
    let (h1, h0) = (hi >> 64, hi & (u64::MAX as u128));
    debug_assert!(h1 < d);
    let n1 = ((h1 % d) << 64) | h0;
    let (q1, r) = (n1 / d, n1 % d);
    let n0 = (r << 64) | lo;
    (q1 << 64) | (n0 / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_cases() {
        let two = Fix::from_num(2);
        assert_eq!(pow(Fix::ZERO, two).unwrap(), Fix::ZERO);
        assert_eq!(pow(Fix::ZERO, Fix::ZERO).unwrap(), Fix::ONE);
        assert_eq!(pow(Fix::ZERO, -two), Err(MathError::Domain));
        assert_eq!(pow(-two, two), Err(MathError::Domain));
        assert_eq!(pow(Fix::ONE, Fix::from_num(1000)).unwrap(), Fix::ONE);
        assert_eq!(pow(two, Fix::from_num(70)), Err(MathError::Overflow));
        assert_eq!(pow(two, Fix::from_num(-70)).unwrap(), Fix::ZERO);
        assert_eq!(
            pow(Fix::from_num(1_000_000), Fix::from_num(-1_000_000_000)).unwrap(),
            Fix::ZERO
        );
        // ALEX's pow gives 0.171 for this; the exact value is 0.1
        let hundredth: Fix = "0.01".parse().unwrap();
        let r = pow(hundredth, Fix::from_num(0.5)).unwrap();
        assert!((r - "0.1".parse::<Fix>().unwrap()).abs() < Fix::from_bits(16));
    }

    #[test]
    fn sqrt_is_floor() {
        for x in [
            0u128,
            1,
            2,
            3,
            1 << 64,
            (1 << 64) + 1,
            2 << 64,
            u64::MAX as u128,
            u128::MAX >> 1,
            12345 << 70,
        ] {
            let r = sqrt_q64_bits(x);
            let (h, l) = mul_u128_wide(r, r);
            assert!((h, l) <= (x >> 64, x << 64), "r² > x for {x}");
            let (h, l) = mul_u128_wide(r + 1, r + 1);
            assert!((h, l) > (x >> 64, x << 64), "not the floor for {x}");
        }
        assert_eq!(sqrt(Fix::from_num(4)).unwrap(), Fix::from_num(2));
        assert_eq!(sqrt(Fix::from_num(-1)), Err(MathError::Domain));
    }
}
