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

const LOW32: u64 = 0xffff_ffff;

/// The full 128-bit product of two `u64`, as `(high, low)`.
///
/// SBF has a native 64-bit multiply but no high-word multiply, and a `u128` product there is a
/// `__multi3` call (~40 CU, more with overflow checks), so on Solana the product is assembled
/// from four 32×32-bit products. Both paths are exact and give the same bits.
#[inline(always)]
pub(crate) fn mul_u64_wide(a: u64, b: u64) -> (u64, u64) {
    #[cfg(target_os = "solana")]
    {
        mul_u64_wide_limbs(a, b)
    }
    #[cfg(not(target_os = "solana"))]
    {
        let p = (a as u128) * (b as u128);
        ((p >> 64) as u64, p as u64)
    }
}

#[cfg_attr(not(target_os = "solana"), allow(dead_code))]
/// [`mul_u64_wide`] from 32-bit limbs (every partial product and sum provably fits 64 bits).
#[inline(always)]
pub(crate) fn mul_u64_wide_limbs(a: u64, b: u64) -> (u64, u64) {
    let (a1, a0) = (a >> 32, a & LOW32);
    let (b1, b0) = (b >> 32, b & LOW32);
    let p00 = a0.wrapping_mul(b0);
    let p01 = a0.wrapping_mul(b1);
    let p10 = a1.wrapping_mul(b0);
    let p11 = a1.wrapping_mul(b1);
    // < 3·2^32: no overflow
    let mid = (p00 >> 32)
        .wrapping_add(p01 & LOW32)
        .wrapping_add(p10 & LOW32);
    let hi = p11
        .wrapping_add(p01 >> 32)
        .wrapping_add(p10 >> 32)
        .wrapping_add(mid >> 32);
    (hi, (mid << 32) | (p00 & LOW32))
}

/// `⌊a·b / 2^64⌋`: the high word of a Q0.64 product.
#[inline(always)]
pub(crate) fn mul_hi(a: u64, b: u64) -> u64 {
    mul_u64_wide(a, b).0
}

/// `⌊a·b / 2^64⌋` for signed operands (floor, as an arithmetic shift would give).
#[inline(always)]
pub(crate) fn mul_hi_signed(a: i64, b: i64) -> i64 {
    let hi = mul_hi(a as u64, b as u64);
    // the unsigned product of the two's-complement words overstates by b·2^64 when a < 0 and
    // by a·2^64 when b < 0
    let hi = hi
        .wrapping_sub(if a < 0 { b as u64 } else { 0 })
        .wrapping_sub(if b < 0 { a as u64 } else { 0 });
    hi as i64
}

/// `a·b / 2^64` within 2 units below the floor: three of the four 32×32-bit partial products
/// (the low×low one only ever adds a carry). For inner Horner steps, whose rounding is far
/// below the kernels' error budgets; one multiply and a handful of operations cheaper on SBF.
#[inline(always)]
pub(crate) fn mul_hi_approx(a: u64, b: u64) -> u64 {
    let (a1, a0) = (a >> 32, a & LOW32);
    let (b1, b0) = (b >> 32, b & LOW32);
    a1.wrapping_mul(b1)
        .wrapping_add(a1.wrapping_mul(b0) >> 32)
        .wrapping_add(a0.wrapping_mul(b1) >> 32)
}

/// [`mul_hi_approx`] for signed operands: within 2 units below `⌊a·b / 2^64⌋`.
#[inline(always)]
pub(crate) fn mul_hi_signed_approx(a: i64, b: i64) -> i64 {
    mul_hi_approx(a as u64, b as u64)
        .wrapping_sub(if a < 0 { b as u64 } else { 0 })
        .wrapping_sub(if b < 0 { a as u64 } else { 0 }) as i64
}

/// `a·b / 2^64` for signed operands, rounded to nearest (ties toward +∞).
#[inline(always)]
pub(crate) fn mul_round_signed(a: i64, b: i64) -> i64 {
    let lo = (a as u64).wrapping_mul(b as u64);
    mul_hi_signed(a, b).wrapping_add((lo >> 63) as i64)
}

/// `a·b / 2^63` for signed operands, floored: the product of two Q0.63 (or Q.63) words.
#[inline(always)]
pub(crate) fn mul_shr63_signed(a: i64, b: i64) -> i64 {
    let lo = (a as u64).wrapping_mul(b as u64);
    (mul_hi_signed(a, b) << 1) | (lo >> 63) as i64
}

/// Leading zeros of a `u64`: a binary search on SBF, which has no count-leading-zeros
/// instruction (the generic lowering costs ~40 instructions); the intrinsic elsewhere.
#[inline(always)]
pub(crate) fn clz64(x: u64) -> u32 {
    #[cfg(target_os = "solana")]
    {
        clz64_search(x)
    }
    #[cfg(not(target_os = "solana"))]
    {
        x.leading_zeros()
    }
}

#[cfg_attr(not(target_os = "solana"), allow(dead_code))]
#[inline(always)]
pub(crate) fn clz64_search(mut x: u64) -> u32 {
    if x == 0 {
        return 64;
    }
    let mut n = 0;
    for step in [32, 16, 8, 4, 2, 1] {
        if x >> (64 - step) == 0 {
            n += step;
            x <<= step;
        }
    }
    n
}

/// The exact product of two `i64` as `i128`, from one 64×64 → 128-bit word product.
#[inline(always)]
pub(crate) fn mul_i64_wide(a: i64, b: i64) -> i128 {
    let lo = (a as u64).wrapping_mul(b as u64);
    ((mul_hi_signed(a, b) as i128) << 64) | lo as i128
}

/// The exact product of two `u64` (one word product; see [`mul_u64_wide`]).
#[inline(always)]
pub fn mul_u64(a: u64, b: u64) -> u128 {
    let (hi, lo) = mul_u64_wide(a, b);
    ((hi as u128) << 64) | lo as u128
}

/// The full 256-bit product of two `u128`, as `(high, low)`: four 64×64-bit products.
#[inline]
pub(crate) fn mul_u128_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = ((a >> 64) as u64, a as u64);
    let (b1, b0) = ((b >> 64) as u64, b as u64);
    let (h00, l00) = mul_u64_wide(a0, b0);
    if a1 == 0 && b1 == 0 {
        return (0, ((h00 as u128) << 64) | l00 as u128);
    }
    if a1 == 0 || b1 == 0 {
        // (x1·2^64 + x0)·y0 with y0 the short operand: two word products
        let (x1, y0) = if a1 == 0 { (b1, a0) } else { (a1, b0) };
        let (h, l) = mul_u64_wide(x1, y0);
        let (w1, carry) = h00.overflowing_add(l);
        // h ≤ 2^64 − 2, so the carry cannot overflow the third word
        let w2 = h + carry as u64;
        return (w2 as u128, ((w1 as u128) << 64) | l00 as u128);
    }
    let (h01, l01) = mul_u64_wide(a0, b1);
    let (h10, l10) = mul_u64_wide(a1, b0);
    let (h11, l11) = mul_u64_wide(a1, b1);
    // word 1 = h00 + l01 + l10, word 2 = h01 + h10 + l11 + carries, word 3 = h11 + carries
    let (t, c1) = h00.overflowing_add(l01);
    let (w1, c2) = t.overflowing_add(l10);
    let (t, c3) = h01.overflowing_add(h10);
    let (t, c4) = t.overflowing_add(l11);
    let (w2, c5) = t.overflowing_add(c1 as u64 + c2 as u64);
    // the full product is below 2^256, so word 3 cannot overflow
    let w3 = h11.wrapping_add(c3 as u64 + c4 as u64 + c5 as u64);
    (
        ((w3 as u128) << 64) | w2 as u128,
        ((w1 as u128) << 64) | l00 as u128,
    )
}

/// `⌊(u1·2^64 + u0) / v⌋` and the remainder, for a normalised divisor (top bit set) and
/// `u1 < v` (so the quotient fits 64 bits).
///
/// SBF divides 64-bit integers natively but a 128-bit division is a long software routine, so
/// on Solana this is Hacker's Delight `divlu`: two 64/32-bit quotient digits, each estimated
/// with one native division and corrected at most twice.
#[inline(always)]
pub(crate) fn div_u128_by_u64_norm(u1: u64, u0: u64, v: u64) -> (u64, u64) {
    debug_assert!(u1 < v && v >> 63 == 1);
    #[cfg(target_os = "solana")]
    {
        div_u128_by_u64_digits(u1, u0, v)
    }
    #[cfg(not(target_os = "solana"))]
    {
        let n = ((u1 as u128) << 64) | u0 as u128;
        ((n / v as u128) as u64, (n % v as u128) as u64)
    }
}

#[cfg_attr(not(target_os = "solana"), allow(dead_code))]
/// [`div_u128_by_u64_norm`] with 32-bit digits and native 64-bit divisions.
#[inline(always)]
pub(crate) fn div_u128_by_u64_digits(u1: u64, u0: u64, v: u64) -> (u64, u64) {
    const B: u64 = 1 << 32;
    let (vn1, vn0) = (v >> 32, v & LOW32);
    let (un1, un0) = (u0 >> 32, u0 & LOW32);
    // first digit: estimate from u1 / vn1, at most two corrections (v is normalised)
    let mut q1 = u1 / vn1;
    let mut rhat = u1 - q1.wrapping_mul(vn1);
    while q1 >= B || q1.wrapping_mul(vn0) > (rhat << 32 | un1) {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    // (u1·2^32 + un1) − q1·v fits 64 bits: compute it modulo 2^64
    let un21 = (u1 << 32 | un1).wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    let mut rhat = un21 - q0.wrapping_mul(vn1);
    while q0 >= B || q0.wrapping_mul(vn0) > (rhat << 32 | un0) {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let r = (un21 << 32 | un0).wrapping_sub(q0.wrapping_mul(v));
    (q1 << 32 | q0, r)
}

/// `⌊(n_hi·2^128 + n_lo) / d⌋` and the remainder, for `n_hi < d` (so the quotient fits 128
/// bits): Knuth's algorithm D with 64-bit digits, normalised so that every digit estimate
/// comes from one 128/64-bit division.
pub(crate) fn div_u256_by_u128(n_hi: u128, n_lo: u128, d: u128) -> (u128, u128) {
    debug_assert!(n_hi < d);
    if d >> 64 == 0 {
        // one-digit divisor: three digits of the numerator matter (n_hi < d < 2^64)
        let d = d as u64;
        let s = d.leading_zeros();
        let dn = d << s;
        let (n2, n1, n0) = shl_3_digits(n_hi as u64, (n_lo >> 64) as u64, n_lo as u64, s);
        let (q1, r) = div_u128_by_u64_norm(n2, n1, dn);
        let (q0, r) = div_u128_by_u64_norm(r, n0, dn);
        return (((q1 as u128) << 64) | q0 as u128, (r >> s) as u128);
    }
    let s = d.leading_zeros(); // < 64
    let dn = d << s;
    // numerator << s: four digits, with (u3:u2) < dn because n_hi < d
    let hi = if s == 0 {
        n_hi
    } else {
        (n_hi << s) | (n_lo >> (128 - s))
    };
    let lo = n_lo << s;
    let (q1, rem) = div_step(hi, (lo >> 64) as u64, dn);
    let (q0, rem) = div_step(rem, lo as u64, dn);
    (((q1 as u128) << 64) | q0 as u128, rem >> s)
}

/// Digits `(a:b:c) << s` truncated to three digits (the caller guarantees nothing is lost).
#[inline(always)]
fn shl_3_digits(a: u64, b: u64, c: u64, s: u32) -> (u64, u64, u64) {
    if s == 0 {
        return (a, b, c);
    }
    (a << s | b >> (64 - s), b << s | c >> (64 - s), c << s)
}

/// One digit of Knuth's algorithm D: `⌊(r·2^64 + u) / dn⌋` and its remainder, for a normalised
/// two-digit divisor `dn` and `r < dn`.
#[inline(always)]
fn div_step(r: u128, u: u64, dn: u128) -> (u64, u128) {
    let (v1, v0) = ((dn >> 64) as u64, dn as u64);
    let (r1, r0) = ((r >> 64) as u64, r as u64);
    // estimate q̂ from the top two digits; q̂ ≥ q and q̂ − q ≤ 2 after the refinement
    let (mut qhat, mut rhat) = if r1 >= v1 {
        // r1 == v1: q̂ = 2^64 − 1, r̂ = (r1:r0) − q̂·v1 = r0 + v1
        (u64::MAX, r0 as u128 + v1 as u128)
    } else {
        let (q, rh) = div_u128_by_u64_norm(r1, r0, v1);
        (q, rh as u128)
    };
    while rhat >> 64 == 0 {
        let (ph, pl) = mul_u64_wide(qhat, v0);
        if (ph as u128) << 64 | pl as u128 <= rhat << 64 | u as u128 {
            break;
        }
        qhat -= 1;
        rhat += v1 as u128;
    }
    // (r1:r0:u) − q̂·(v1:v0) over three digits; q̂ may still be one too large
    let (a_hi, a_lo) = mul_u64_wide(qhat, v0);
    let (b_hi, b_lo) = mul_u64_wide(qhat, v1);
    let p_mid = (b_lo as u128) + (a_hi as u128);
    let p_top = b_hi as u128 + (p_mid >> 64); // product = p_top:p_mid_low:a_lo
    let (d0, borrow0) = u.overflowing_sub(a_lo);
    let (d1, borrow1a) = r0.overflowing_sub(p_mid as u64);
    let (d1, borrow1b) = d1.overflowing_sub(borrow0 as u64);
    let top = (r1 as u128)
        .wrapping_sub(p_top)
        .wrapping_sub((borrow1a | borrow1b) as u128);
    let rem = ((d1 as u128) << 64) | d0 as u128;
    if top >> 127 == 1 {
        // negative: add the divisor back once
        (qhat - 1, rem.wrapping_add(dn))
    } else {
        (qhat, rem)
    }
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
        let (q, rem) = div_u256_by_u128(0, n << shift, d);
        return Ok((q, rem, d));
    }
    // Numerator (hi:lo) = n << shift spans more than 128 bits.
    let hi = n >> (128 - shift);
    let lo = n << shift;
    if hi >= d {
        return Err(MathError::Overflow);
    }
    let (q, rem) = div_u256_by_u128(hi, lo, d);
    Ok((q, rem, d))
}

/// `round(a · b / d)` for unsigned integers, exact through a 256-bit intermediate.
pub fn mul_div_u128(a: u128, b: u128, d: u128, rounding: Rounding) -> MathResult<u128> {
    if d == 0 {
        return Err(MathError::DivisionByZero);
    }
    let (hi, lo) = mul_u128_wide(a, b);
    if hi >= d {
        return Err(MathError::Overflow);
    }
    if d.is_power_of_two() {
        // a shift (Q64.64 rescaling divides by 2^64): no division at all
        let k = d.trailing_zeros();
        let (q, rem) = if k == 0 {
            (lo, 0)
        } else {
            (hi << (128 - k) | lo >> k, lo & (d - 1))
        };
        return round_quotient(q, rem, d, rounding);
    }
    let (q, rem) = div_u256_by_u128(hi, lo, d);
    round_quotient(q, rem, d, rounding)
}

/// `round(n / d)` for unsigned integers (a decimal rescale, for instance): one 128/128-bit
/// division, which on SBF is two native-digit steps when `d` fits a word.
pub fn div_u128(n: u128, d: u128, rounding: Rounding) -> MathResult<u128> {
    if d == 0 {
        return Err(MathError::DivisionByZero);
    }
    let (q, rem) = div_u256_by_u128(0, n, d);
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

    /// xorshift64*, with a random bit length so that small, large and edge operands all occur.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn u64(&mut self) -> u64 {
            let bits = self.next() % 65;
            match bits {
                0 => 0,
                64 => self.next(),
                b => self.next() >> (64 - b),
            }
        }
        fn u128(&mut self) -> u128 {
            let bits = self.next() % 129;
            let v = ((self.next() as u128) << 64) | self.next() as u128;
            match bits {
                0 => 0,
                128 => v,
                b => v >> (128 - b),
            }
        }
    }

    /// Schoolbook 256-bit product from u128 products of 64-bit halves.
    fn mul_reference(a: u128, b: u128) -> (u128, u128) {
        const M: u128 = u64::MAX as u128;
        let (a1, a0, b1, b0) = (a >> 64, a & M, b >> 64, b & M);
        let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
        let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
        let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
        (hi, (mid << 64) | (p00 & M))
    }

    /// Restoring long division, one bit at a time: slow, obviously correct.
    fn div_reference(hi: u128, lo: u128, d: u128) -> (u128, u128) {
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
        (q, rem)
    }

    #[test]
    fn limb_products_and_digit_divisions_match_the_native_ones() {
        // the Solana paths, checked against u128 arithmetic on the host
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            let (a, b) = (rng.u64(), rng.u64());
            let p = a as u128 * b as u128;
            assert_eq!(mul_u64_wide_limbs(a, b), ((p >> 64) as u64, p as u64));
            let p = (a as i64 as i128) * (b as i64 as i128);
            assert_eq!(mul_hi_signed(a as i64, b as i64), (p >> 64) as i64);
            assert_eq!(mul_shr63_signed(a as i64, b as i64), (p >> 63) as i64);
            assert_eq!(
                mul_round_signed(a as i64, b as i64),
                ((p + (1 << 63)) >> 64) as i64
            );
            assert_eq!(clz64_search(a), a.leading_zeros());
            let exact = ((a as u128 * b as u128) >> 64) as u64;
            assert!((0..=2).contains(&(exact - mul_hi_approx(a, b))));
            let exact = mul_hi_signed(a as i64, b as i64);
            assert!((0..=2).contains(&(exact - mul_hi_signed_approx(a as i64, b as i64))));
            let v = rng.next() | 1 << 63;
            let u1 = rng.u64() % v;
            let u0 = rng.u64();
            let n = ((u1 as u128) << 64) | u0 as u128;
            let expect = ((n / v as u128) as u64, (n % v as u128) as u64);
            assert_eq!(div_u128_by_u64_digits(u1, u0, v), expect, "{u1} {u0} {v}");
        }
        for (u1, u0, v) in [
            (u64::MAX - 1, u64::MAX, u64::MAX),
            (1 << 63, 0, (1 << 63) + 1),
        ] {
            let n = ((u1 as u128) << 64) | u0 as u128;
            let expect = ((n / v as u128) as u64, (n % v as u128) as u64);
            assert_eq!(div_u128_by_u64_digits(u1, u0, v), expect);
        }
    }

    #[test]
    fn wide_product_and_division_match_the_references() {
        let mut rng = Rng(0xbf58_476d_1ce4_e5b9);
        for _ in 0..50_000 {
            let (a, b) = (rng.u128(), rng.u128());
            let (hi, lo) = mul_u128_wide(a, b);
            assert_eq!((hi, lo), mul_reference(a, b), "{a} × {b}");
            let d = rng.u128().max(1);
            if hi < d {
                assert_eq!(div_u256_by_u128(hi, lo, d), div_reference(hi, lo, d));
            }
            let hi = rng.u128() % d;
            assert_eq!(
                div_u256_by_u128(hi, lo, d),
                div_reference(hi, lo, d),
                "{hi} {lo} {d}"
            );
        }
        // the q̂ = 2^64 − 1 and add-back corners of algorithm D
        let d = (u128::MAX >> 1) + 2;
        for (hi, lo) in [
            (d - 1, u128::MAX),
            (d - 1, 0),
            (1, u128::MAX),
            (d >> 1, 12345),
        ] {
            assert_eq!(div_u256_by_u128(hi, lo, d), div_reference(hi, lo, d));
        }
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
        // power-of-two divisors take the shift path: same results as the division
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            let (a, b) = (rng.u128(), rng.u128());
            let k = (rng.next() % 128) as u32;
            let d = 1u128 << k;
            let (hi, lo) = mul_reference(a, b);
            for r in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                let expect = if hi >= d {
                    Err(MathError::Overflow)
                } else {
                    let (q, rem) = div_reference(hi, lo, d);
                    round_quotient(q, rem, d, r)
                };
                assert_eq!(mul_div_u128(a, b, d, r), expect, "{a} {b} 2^{k} {r:?}");
            }
        }
        assert_eq!(
            mul_div_u128(u128::MAX, 2, 1, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn div_u128_rounds_like_u128_division() {
        let mut rng = Rng(11);
        for i in 0..20_000 {
            let n = rng.u128();
            // word-sized divisors (powers of ten among them) and wide ones
            let d = match i % 3 {
                0 => 10u128.pow((rng.next() % 39) as u32),
                1 => (rng.next() | 1) as u128,
                _ => rng.u128() | 1,
            };
            let (q, rem) = (n / d, n % d);
            assert_eq!(div_u128(n, d, Rounding::Down), Ok(q));
            assert_eq!(div_u128(n, d, Rounding::Up), Ok(q + (rem != 0) as u128));
            let nearest = q + (rem != 0 && rem >= d - rem) as u128;
            assert_eq!(div_u128(n, d, Rounding::Nearest), Ok(nearest));
        }
        assert_eq!(
            div_u128(1, 0, Rounding::Down),
            Err(MathError::DivisionByZero)
        );
    }
}
