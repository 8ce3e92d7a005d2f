//! Integer building blocks: 128×128 → 256-bit products, Q64.64 multiply/divide with an explicit
//! rounding direction, and shifts that round.
//!
//! Every kernel is built from these, so a rounding decision is made in exactly one place.

use crate::{MathError, MathResult};

/// Rounding direction of a conversion or an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// Toward −∞ (floor). Use when paying out.
    Down,
    /// Toward +∞ (ceiling). Use when charging.
    Up,
    /// To nearest, ties away from zero.
    Nearest,
}

/// The full 256-bit product of two `u128`, as `(high, low)`.
#[inline]
pub(crate) fn mul_u128_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // middle = p01 + p10 + (p00 >> 64), tracked with its carry into the high word
    let (mid, carry1) = p01.overflowing_add(p10);
    let (mid, carry2) = mid.overflowing_add(p00 >> 64);
    let carry = ((carry1 as u128) + (carry2 as u128)) << 64;
    let low = (mid << 64) | (p00 & MASK);
    let high = p11 + (mid >> 64) + carry;
    (high, low)
}

/// `(a * b) >> 64` for `u64` operands, floored: the high word of a Q0.64 product.
#[inline]
pub(crate) fn mul_hi_u64(a: u64, b: u64) -> u64 {
    (((a as u128) * (b as u128)) >> 64) as u64
}

/// Shift a non-negative magnitude right by `shift` bits with the given rounding of the magnitude
/// (`Up` rounds the magnitude up). `shift` may be ≥ 128.
#[inline]
pub(crate) fn shr_round_u128(x: u128, shift: u32, up: bool, nearest: bool) -> u128 {
    if shift == 0 {
        return x;
    }
    if shift >= 128 {
        let half_or_more = shift == 128 && x >> 127 == 1;
        return ((up && x != 0) || (nearest && half_or_more)) as u128;
    }
    let q = x >> shift;
    let rem = x & ((1u128 << shift) - 1);
    let bump = rem != 0 && (up || (nearest && rem >> (shift - 1) == 1));
    q + bump as u128
}

/// Whether the magnitude should round up, given the sign of the true result.
#[inline]
fn magnitude_rounds_up(negative: bool, rounding: Rounding) -> (bool, bool) {
    match rounding {
        Rounding::Nearest => (false, true),
        Rounding::Up => (!negative, false),
        Rounding::Down => (negative, false),
    }
}

/// Apply a sign to a magnitude, checking that it fits `i128`.
#[inline]
pub(crate) fn signed(magnitude: u128, negative: bool) -> MathResult<i128> {
    if negative {
        if magnitude > 1u128 << 127 {
            return Err(MathError::Overflow);
        }
        Ok((magnitude as i128).wrapping_neg())
    } else {
        i128::try_from(magnitude).map_err(|_| MathError::Overflow)
    }
}

/// Product of two Q64.64 numbers (`i128` bits), rounded as asked.
pub fn mul_q64(a: i128, b: i128, rounding: Rounding) -> MathResult<i128> {
    let negative = (a < 0) != (b < 0);
    let (hi, lo) = mul_u128_wide(a.unsigned_abs(), b.unsigned_abs());
    // result magnitude = (hi:lo) >> 64; it must fit 128 bits
    if hi >> 64 != 0 {
        return Err(MathError::Overflow);
    }
    let (up, nearest) = magnitude_rounds_up(negative, rounding);
    let q = (hi << 64) | (lo >> 64);
    let rem = lo & (u64::MAX as u128);
    let q = if rem == 0 {
        q
    } else if up || (nearest && rem >> 63 == 1) {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    if negative && q == 0 {
        return Ok(0);
    }
    signed(q, negative)
}

/// Quotient of two Q64.64 numbers (`i128` bits), `a / b`, rounded as asked.
pub fn div_q64(a: i128, b: i128, rounding: Rounding) -> MathResult<i128> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    let negative = (a < 0) != (b < 0);
    let (q, rem, den) = div_wide(a.unsigned_abs(), 64, b.unsigned_abs())?;
    let (up, nearest) = magnitude_rounds_up(negative, rounding);
    let q = if rem == 0 {
        q
    } else if up || (nearest && rem >= den - rem) {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    if negative && q == 0 {
        return Ok(0);
    }
    signed(q, negative)
}

/// `floor(n · 2^shift / d)` for `shift ≤ 127`, with the remainder, as `(quotient, remainder, d)`.
/// Overflow when the quotient does not fit `u128`.
pub(crate) fn div_wide(n: u128, shift: u32, d: u128) -> MathResult<(u128, u128, u128)> {
    debug_assert!(d != 0 && shift < 128);
    if shift == 0 || n.leading_zeros() >= shift {
        let num = n << shift;
        return Ok((num / d, num % d, d));
    }
    // Numerator (hi:lo) = n << shift spans more than 128 bits.
    let hi = n >> (128 - shift);
    let lo = n << shift;
    if hi >= d {
        return Err(MathError::Overflow);
    }
    // Restoring binary long division, 128 steps; the remainder stays below d < 2^128, and
    // the case that would need a 129th bit is detected by the carry out of the shift.
    let mut rem = hi;
    let mut q: u128 = 0;
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    Ok((q, rem, d))
}

/// `round(a · b / d)` for unsigned integers, exact through a 256-bit intermediate.
pub fn mul_div_u128(a: u128, b: u128, d: u128, rounding: Rounding) -> MathResult<u128> {
    if d == 0 {
        return Err(MathError::DivisionByZero);
    }
    let (hi, lo) = mul_u128_wide(a, b);
    if hi == 0 {
        let q = lo / d;
        let rem = lo % d;
        return round_quotient(q, rem, d, rounding);
    }
    if hi >= d {
        return Err(MathError::Overflow);
    }
    let mut rem = hi;
    let mut q: u128 = 0;
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    round_quotient(q, rem, d, rounding)
}

fn round_quotient(q: u128, rem: u128, d: u128, rounding: Rounding) -> MathResult<u128> {
    let bump = rem != 0
        && match rounding {
            Rounding::Down => false,
            Rounding::Up => true,
            Rounding::Nearest => rem >= d - rem,
        };
    if bump {
        q.checked_add(1).ok_or(MathError::Overflow)
    } else {
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_product_matches_schoolbook() {
        let cases = [
            (u128::MAX, u128::MAX),
            (u128::MAX, 1),
            (1 << 64, 1 << 64),
            (
                0x1234_5678_9abc_def0_1122_3344_5566_7788,
                0xffee_ddcc_bbaa_9988_7766_5544_3322_1100,
            ),
        ];
        for (a, b) in cases {
            let (hi, lo) = mul_u128_wide(a, b);
            // check modulo 2^128 and via the high part with a 64-bit split of b
            assert_eq!(lo, a.wrapping_mul(b));
            let b_lo = b & (u64::MAX as u128);
            let b_hi = b >> 64;
            let (h1, l1) = mul_u128_wide(a, b_lo);
            let (h2, l2) = mul_u128_wide(a, b_hi);
            // (h2:l2) << 64 + (h1:l1)
            let (sum_lo, c) = l1.overflowing_add(l2 << 64);
            let sum_hi = h1 + (l2 >> 64) + (h2 << 64) + c as u128;
            assert_eq!((sum_hi, sum_lo), (hi, lo));
        }
        assert_eq!(mul_u128_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    }

    #[test]
    fn q64_rounding_directions() {
        let third = div_q64(1 << 64, 3 << 64, Rounding::Down).unwrap();
        assert_eq!(third, 0x5555_5555_5555_5555);
        assert_eq!(div_q64(1 << 64, 3 << 64, Rounding::Up).unwrap(), third + 1);
        assert_eq!(
            div_q64(-(1 << 64), 3 << 64, Rounding::Down).unwrap(),
            -third - 1
        );
        assert_eq!(div_q64(-(1 << 64), 3 << 64, Rounding::Up).unwrap(), -third);
        // 1.5 * 1.5 = 2.25 exactly
        let x = 3i128 << 63;
        assert_eq!(mul_q64(x, x, Rounding::Down).unwrap(), 9i128 << 62);
        // the smallest positive product rounds to 0 or 1 ulp by direction
        assert_eq!(mul_q64(1, 1, Rounding::Down).unwrap(), 0);
        assert_eq!(mul_q64(1, 1, Rounding::Up).unwrap(), 1);
        assert_eq!(mul_q64(-1, 1, Rounding::Down).unwrap(), -1);
        assert_eq!(
            mul_q64(i128::MAX, 2 << 64, Rounding::Down),
            Err(MathError::Overflow)
        );
        assert_eq!(
            div_q64(1, 0, Rounding::Down),
            Err(MathError::DivisionByZero)
        );
    }

    #[test]
    fn wide_division_matches_narrow_path() {
        // n << shift overflowing 128 bits goes through the long division
        let n = (1u128 << 100) + 12345;
        let d = (1u128 << 90) + 7;
        let (q, r, _) = div_wide(n, 64, d).unwrap();
        // verify q*d + r == n << 64 in 256-bit arithmetic
        let (hi, lo) = mul_u128_wide(q, d);
        let (lo2, c) = lo.overflowing_add(r);
        assert_eq!((hi + c as u128, lo2), (n >> 64, n << 64));
        assert!(r < d);
        assert_eq!(div_wide(u128::MAX, 64, 1), Err(MathError::Overflow));
    }

    #[test]
    fn mul_div_is_exact() {
        assert_eq!(
            mul_div_u128(u128::MAX, u128::MAX, u128::MAX, Rounding::Down).unwrap(),
            u128::MAX
        );
        assert_eq!(mul_div_u128(10, 10, 3, Rounding::Down).unwrap(), 33);
        assert_eq!(mul_div_u128(10, 10, 3, Rounding::Up).unwrap(), 34);
        assert_eq!(mul_div_u128(10, 10, 3, Rounding::Nearest).unwrap(), 33);
        assert_eq!(
            mul_div_u128(u128::MAX, 2, 1, Rounding::Down),
            Err(MathError::Overflow)
        );
    }
}
