//! The Imbalance Score kept exactly in integers and updated one market at a time.
//!
//! A fill changes one market's exposure K_i. Re-evaluating IS = √(Kᵀ R K) over every market costs
//! O(n²) products per trade; keeping the quadratic form T = Kᵀ R K as an exact integer lets a
//! fill update it in O(n):
//!
//! T' = T + 2δ·(R K)_i + δ²,  δ = K_i' − K_i  (ρ_ii = 1).
//!
//! Every quantity is an integer and every operation exact, so a running T equals a fresh
//! [`quadratic_form`] of the same exposures bit for bit, however many fills it has seen: there
//! is no drift to bound or to reset.
//!
//! Units: K_i counts 10^-[`EXPOSURE_DECIMALS`] whole quote tokens (milli-dollars for a USD
//! stablecoin) and is bounded by [`MAX_EXPOSURE`] (2^40, ~1.1e9 quote tokens of one-period
//! standard deviation per market), so that every row product and T fit `i128` with room to
//! spare. R is the strict upper triangle scaled by 1e9, as stored on chain
//! ([`crate::imbalance::corr_at`]); T carries that scale (T = 1e9 · Σ K_i ρ_ij K_j).

use crate::imbalance::{CORR_SCALE, MAX_ASSETS, upper_len};
use crate::wide::{Rounding, div_u128, mul_i64_wide, mul_u64};
use crate::{MathError, MathResult};

/// K is counted in 10^-3 whole quote tokens.
pub const EXPOSURE_DECIMALS: u8 = 3;
/// The largest |K_i| a book accepts.
pub const MAX_EXPOSURE: i64 = 1 << 40;
/// Split of K for native products: K = high·2^20 + low, 0 ≤ low < 2^20, |high| ≤ 2^20.
const SPLIT_BITS: u32 = 20;

/// K = B·σ in exposure units, from B in quote native units (a signed notional), σ scaled by
/// 1e9 and the quote token's decimals. Rounded away from zero: a book never looks smaller than
/// it is.
///
/// Errors: Overflow when |K| exceeds [`MAX_EXPOSURE`].
pub fn exposure_units(b_native: i64, sigma_e9: u64, quote_decimals: u8) -> MathResult<i64> {
    let product = mul_u64(b_native.unsigned_abs(), sigma_e9);
    // K = B·σ_e9 / 1e9 / 10^(qd − 3)
    let shift = 9 + quote_decimals as i32 - EXPOSURE_DECIMALS as i32;
    let magnitude = if shift >= 0 {
        let divisor = 10u64.checked_pow(shift as u32).ok_or(MathError::Overflow)?;
        match u64::try_from(product) {
            // a native division when the product fits a word (every book below ~$370k at σ=5 %)
            Ok(small) => small.div_ceil(divisor) as u128,
            Err(_) => div_u128(product, divisor as u128, Rounding::Up)?,
        }
    } else {
        product
            .checked_mul(10u128.pow((-shift) as u32))
            .ok_or(MathError::Overflow)?
    };
    if magnitude > MAX_EXPOSURE as u128 {
        return Err(MathError::Overflow);
    }
    let magnitude = magnitude as i64;
    Ok(if b_native < 0 { -magnitude } else { magnitude })
}

/// [`exposure_units`] clamped to ±[`MAX_EXPOSURE`], and whether it was clamped: a book too
/// large for the quadratic form is counted at the largest exposure it can hold, so the score
/// can always be computed (and reductions never fail on it); the program refuses opens that
/// would be clamped.
pub fn exposure_units_saturating(b_native: i64, sigma_e9: u64, quote_decimals: u8) -> (i64, bool) {
    match exposure_units(b_native, sigma_e9, quote_decimals) {
        Ok(k) => (k, false),
        Err(_) => (
            if b_native < 0 {
                -MAX_EXPOSURE
            } else {
                MAX_EXPOSURE
            },
            true,
        ),
    }
}

fn check_exposures(k: &[i64]) -> MathResult<()> {
    if k.len() > MAX_ASSETS {
        return Err(MathError::Dimension);
    }
    if k.iter().any(|x| x.unsigned_abs() > MAX_EXPOSURE as u64) {
        return Err(MathError::Overflow);
    }
    Ok(())
}

fn check_rho(rho: i32) -> MathResult<i64> {
    let rho = rho as i64;
    if rho.abs() > CORR_SCALE {
        return Err(MathError::Domain);
    }
    Ok(rho)
}

/// Σ_j ρ_j·K_j over pairs (ρ, K) in native words: each K split in two 20-bit halves so that
/// every product is below 2^50 and each partial sum below 2^55 (at most 32 terms).
///
/// Wrapping operations on purpose: the bounds above make them exact, and overflow-checked 64-bit
/// products cost a 128-bit multiply each on SBF.
#[inline(always)]
fn weighted_sum(high: &mut i64, low: &mut i64, rho: i64, k: i64) {
    *high = high.wrapping_add(rho.wrapping_mul(k >> SPLIT_BITS));
    *low = low.wrapping_add(rho.wrapping_mul(k & ((1 << SPLIT_BITS) - 1)));
}

/// The exact product of |x| < 2^80 and |k| ≤ 2^40 (< 2^120) from two native word products:
/// x = a·2^40 + b with 0 ≤ b < 2^40.
#[inline(always)]
fn mul_wide_by_exposure(x: i128, k: i64) -> i128 {
    let (a, b) = ((x >> 40) as i64, (x & ((1 << 40) - 1)) as i64);
    (mul_i64_wide(a, k) << 40) + mul_i64_wide(b, k)
}

#[inline(always)]
fn join(high: i64, low: i64) -> i128 {
    ((high as i128) << SPLIT_BITS) + low as i128
}

/// (R K)_i scaled by 1e9: Σ_j ρ_ij K_j with ρ_ii = 1, for `k.len()` = n assets.
///
/// Errors: Dimension for mismatched lengths or i ≥ n; Overflow for |K_j| > [`MAX_EXPOSURE`];
/// Domain for |ρ| > 1.
pub fn row_product(upper: &[i32], k: &[i64], i: usize) -> MathResult<i128> {
    let n = k.len();
    if i >= n || upper.len() != upper_len(n) {
        return Err(MathError::Dimension);
    }
    check_exposures(k)?;
    let (mut high, mut low) = (0i64, 0i64);
    // column i above the diagonal: entry (j, i) of row j, j < i
    let mut index = i.wrapping_sub(1);
    for (j, kj) in k.iter().enumerate().take(i) {
        weighted_sum(&mut high, &mut low, check_rho(upper[index])?, *kj);
        index += n - j - 2;
    }
    // row i right of the diagonal
    let start = i * (2 * n - i - 1) / 2;
    for (rho, kj) in upper[start..start + (n - 1 - i)].iter().zip(&k[i + 1..]) {
        weighted_sum(&mut high, &mut low, check_rho(*rho)?, *kj);
    }
    Ok(join(high, low) + mul_i64_wide(CORR_SCALE, k[i]))
}

/// T = 1e9 · Kᵀ R K, exactly.
///
/// Errors: as [`row_product`].
pub fn quadratic_form(upper: &[i32], k: &[i64]) -> MathResult<i128> {
    let n = k.len();
    if upper.len() != upper_len(n) {
        return Err(MathError::Dimension);
    }
    check_exposures(k)?;
    // T = Σ_i K_i·(1e9·K_i + 2·Σ_{j>i} ρ_ij K_j), one pass over the triangle
    let mut total: i128 = 0;
    let mut rows = upper;
    for i in 0..n {
        let (row, rest) = rows.split_at(n - 1 - i);
        rows = rest;
        let (mut high, mut low) = (0i64, 0i64);
        for (rho, kj) in row.iter().zip(&k[i + 1..]) {
            weighted_sum(&mut high, &mut low, check_rho(*rho)?, *kj);
        }
        // |inner| < 2^70 + 2^76: the product is below 2^117 and 32 of them below 2^122
        let inner = mul_i64_wide(CORR_SCALE, k[i]) + 2 * join(high, low);
        total += mul_wide_by_exposure(inner, k[i]);
    }
    Ok(total)
}

/// T after K_i moves by δ, given `row` = (R K)_i before the move: T + 2δ·row + 1e9·δ².
pub fn quadratic_form_step(t: i128, row: i128, delta: i64) -> MathResult<i128> {
    let delta = delta as i128;
    row.checked_mul(2 * delta)
        .and_then(|cross| t.checked_add(cross))
        .and_then(|t| t.checked_add(CORR_SCALE as i128 * delta * delta))
        .ok_or(MathError::Overflow)
}

/// Σ K² after K_i moves from `old` to `new`.
pub fn norm_squared_step(sum: u128, old: i64, new: i64) -> MathResult<u128> {
    let (old, new) = (old as i128, new as i128);
    let next = (sum as i128)
        .checked_add((new - old) * (new + old))
        .ok_or(MathError::Overflow)?;
    u128::try_from(next).map_err(|_| MathError::Overflow)
}

/// IS = √(T/1e9) in exposure units, rounded up (0 for T ≤ 0: the certificate's tolerance
/// admits R with eigenvalues a hair below zero).
pub fn score(t: i128) -> MathResult<u64> {
    if t <= 0 {
        return Ok(0);
    }
    // ⌈√⌈x⌉⌉ = ⌈√x⌉, and T/1e9 < 2^91/1e9 fits a u64
    let radicand = div_u128(t as u128, CORR_SCALE as u128, Rounding::Up)?;
    ceil_sqrt(radicand)
}

/// ||K|| = √(Σ K²), rounded up.
pub fn norm(sum_squares: u128) -> MathResult<u64> {
    ceil_sqrt(sum_squares)
}

fn ceil_sqrt(x: u128) -> MathResult<u64> {
    // a 64-bit root when the radicand fits a word: SBF has native 64-bit arithmetic only
    if let Ok(small) = u64::try_from(x) {
        let root = small.isqrt();
        return Ok(if root * root < small { root + 1 } else { root });
    }
    let root = x.isqrt();
    let root = if root * root < x { root + 1 } else { root };
    u64::try_from(root).map_err(|_| MathError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imbalance::corr_at;

    /// T by the definition, over the full matrix.
    fn naive(upper: &[i32], k: &[i64]) -> i128 {
        let n = k.len();
        let mut t = 0i128;
        for i in 0..n {
            for j in 0..n {
                t += k[i] as i128 * corr_at(upper, n, i, j) as i128 * k[j] as i128;
            }
        }
        t
    }

    const UPPER4: [i32; 6] = [
        890_000_000,  // BTC-ETH
        -300_000_000, // BTC-EUR
        1_000_000_000,
        -250_000_000, // ETH-EUR
        0,
        -1_000_000_000,
    ];

    #[test]
    fn quadratic_form_and_rows_match_the_definition() {
        let k = [MAX_EXPOSURE, -MAX_EXPOSURE, 123_456_789_012, -(1 << 20) + 1];
        assert_eq!(quadratic_form(&UPPER4, &k), Ok(naive(&UPPER4, &k)));
        for i in 0..4 {
            let direct: i128 = (0..4)
                .map(|j| corr_at(&UPPER4, 4, i, j) as i128 * k[j] as i128)
                .sum();
            assert_eq!(row_product(&UPPER4, &k, i), Ok(direct), "row {i}");
        }
    }

    #[test]
    fn steps_stay_equal_to_a_fresh_evaluation() {
        let mut k = [0i64; 4];
        let mut t = 0i128;
        let mut sum = 0u128;
        let moves = [
            (0, 5_000_000),
            (1, -3_000_000),
            (2, 999_999_999),
            (0, -MAX_EXPOSURE),
            (3, 7),
            (1, MAX_EXPOSURE),
            (0, 0),
        ];
        for (i, new) in moves {
            let row = row_product(&UPPER4, &k, i).unwrap();
            t = quadratic_form_step(t, row, new - k[i]).unwrap();
            sum = norm_squared_step(sum, k[i], new).unwrap();
            k[i] = new;
            assert_eq!(t, quadratic_form(&UPPER4, &k).unwrap());
            assert_eq!(
                sum,
                k.iter()
                    .map(|x| (*x as i128 * *x as i128) as u128)
                    .sum::<u128>()
            );
        }
    }

    #[test]
    fn scores_round_up() {
        // K = (400, −500), ρ = 0.89: T/1e9 = 160_000 + 250_000 − 2·0.89·200_000 = 54_000
        let upper = [890_000_000];
        let t = quadratic_form(&upper, &[400, -500]).unwrap();
        assert_eq!(t, 54_000 * CORR_SCALE as i128);
        assert_eq!(score(t), Ok(233)); // √54000 = 232.379…
        assert_eq!(score(272 * 272 * CORR_SCALE as i128), Ok(272));
        assert_eq!(score(272 * 272 * CORR_SCALE as i128 + 1), Ok(273));
        assert_eq!(score(-5), Ok(0));
        assert_eq!(norm(400 * 400 + 500 * 500), Ok(641)); // 640.3…
    }

    #[test]
    fn exposure_units_round_away_from_zero() {
        // $1,000.000001 (USDC native) at σ = 4 %: 40.00000004 dollars → 40_001 milli-dollars
        assert_eq!(exposure_units(1_000_000_001, 40_000_000, 6), Ok(40_001));
        assert_eq!(exposure_units(-1_000_000_000, 40_000_000, 6), Ok(-40_000));
        assert_eq!(exposure_units(-1, 1, 6), Ok(-1));
        assert_eq!(exposure_units(0, 40_000_000, 6), Ok(0));
        // two-decimal quote: 1 native = 10 milli-units
        assert_eq!(exposure_units(100, 1_000_000_000, 2), Ok(1_000));
        assert_eq!(
            exposure_units(i64::MAX, 5_000_000_000, 6),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn bad_inputs() {
        assert_eq!(row_product(&UPPER4, &[0; 4], 4), Err(MathError::Dimension));
        assert_eq!(row_product(&UPPER4, &[0; 3], 0), Err(MathError::Dimension));
        assert_eq!(
            quadratic_form(&UPPER4, &[MAX_EXPOSURE + 1, 0, 0, 0]),
            Err(MathError::Overflow)
        );
        let mut bad = UPPER4;
        bad[4] = 1_000_000_001;
        assert_eq!(quadratic_form(&bad, &[1; 4]), Err(MathError::Domain));
        assert_eq!(row_product(&bad, &[1; 4], 1), Err(MathError::Domain));
    }
}
