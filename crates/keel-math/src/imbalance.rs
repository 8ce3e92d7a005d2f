//! Ostium's Imbalance Score IS = √(Kᵀ R K), K_i = B_i·σ_i, and the uncorrelated norm ||K||.
//!
//! R is passed compactly, as it is stored on-chain: the strict upper triangle, row-major,
//! correlations scaled by [`CORR_SCALE`] (so 0.89 is exactly 890_000_000). The quadratic form is
//! evaluated exactly in integers after rounding K to 52 significant bits (a power-of-two scale),
//! and the square root is an exact integer square root, so the result is accurate to ~1e-15
//! relative (measured 7e-16).

use crate::wide::{Rounding, mul_div_u128, mul_i64_wide, mul_q64, shr_round_u128};
use crate::{Fix, MathError, MathResult};

/// The largest number of assets (markets) a score covers.
pub const MAX_ASSETS: usize = 32;
/// Fixed scale of stored correlations: ρ = value / 1e9.
pub const CORR_SCALE: i64 = 1_000_000_000;

/// Length of the strict upper triangle of an n×n matrix.
pub const fn upper_len(n: usize) -> usize {
    n * n.saturating_sub(1) / 2
}

/// ρ_ij from the strict upper triangle (i ≠ j), or CORR_SCALE on the diagonal.
#[inline]
pub fn corr_at(upper: &[i32], n: usize, i: usize, j: usize) -> i64 {
    if i == j {
        return CORR_SCALE;
    }
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    // rows 0..a hold (n−1) + (n−2) + … + (n−a) entries
    let row_start = a * (2 * n - a - 1) / 2;
    upper[row_start + (b - a - 1)] as i64
}

/// Check a full n×n correlation matrix (scaled by 1e9, row-major): square, at most 32 assets,
/// unit diagonal, symmetric, every |ρ| ≤ 1. Positive semi-definiteness is checked where R is
/// published (the risk model), not here.
pub fn validate_full(full: &[i64], n: usize) -> MathResult<()> {
    if n == 0 || n > MAX_ASSETS || full.len() != n * n {
        return Err(MathError::Dimension);
    }
    for i in 0..n {
        if full[i * n + i] != CORR_SCALE {
            return Err(MathError::Domain);
        }
        for j in 0..i {
            let (a, b) = (full[i * n + j], full[j * n + i]);
            if a != b || a.abs() > CORR_SCALE {
                return Err(MathError::Domain);
            }
        }
    }
    Ok(())
}

/// Fraction bits of a Cholesky certificate's entries: L_ij = value / 2^30 (|L_ij| ≤ 1 fits i32).
pub const CHOL_FRAC_BITS: u32 = 30;

/// Length of the lower triangle of an n×n matrix, diagonal included.
pub const fn lower_len(n: usize) -> usize {
    n * (n + 1) / 2
}

/// Check that `lower` (a factor L: its lower triangle with the diagonal, row-major, entries
/// scaled by 2^30) certifies the correlation matrix R (strict upper triangle `upper`, scaled by
/// 1e9) as positive semi-definite: |(L·Lᵀ)_ij − ρ_ij| ≤ tol_e9/1e9 for every i ≥ j, against 1 on
/// the diagonal. Then R = L·Lᵀ + E with every |E_ij| ≤ tol, and since ‖E‖₂ ≤ n·max|E_ij| the
/// smallest eigenvalue of R is at least −n·tol: R is PSD up to that tolerance.
///
/// Finding L (a Cholesky factorisation) needs square roots and divisions; checking it needs only
/// ~n³/6 native 64-bit products, which a program can afford where the factorisation would not.
/// Errors: Dimension for mismatched lengths or more than 32 assets; Domain when L does not
/// certify R or the tolerance is outside [0, 1e-3].
pub fn check_psd_certificate(
    upper: &[i32],
    lower: &[i32],
    n: usize,
    tol_e9: i64,
) -> MathResult<()> {
    if n == 0 || n > MAX_ASSETS || upper.len() != upper_len(n) || lower.len() != lower_len(n) {
        return Err(MathError::Dimension);
    }
    // the loop's no-overflow argument needs row norms within √(1 + 1e-3)
    if !(0..=1_000_000).contains(&tol_e9) {
        return Err(MathError::Domain);
    }
    let row = |i: usize| &lower[lower_len(i)..lower_len(i + 1)];
    let tolerance = (tol_e9 as i128) << (2 * CHOL_FRAC_BITS);
    let off_by = |dot: i64, rho: i64| {
        // |dot/2^60 − ρ/1e9| ≤ tol/1e9  ⇔  |dot·1e9 − ρ·2^60| ≤ tol·2^60
        let diff = mul_i64_wide(dot, CORR_SCALE) - ((rho as i128) << (2 * CHOL_FRAC_BITS));
        diff.abs() > tolerance
    };
    // diagonals first, in i128 (any input): each row of L must have norm ≈ 1
    for i in 0..n {
        let norm: i128 = row(i)
            .iter()
            .map(|a| mul_i64_wide(*a as i64, *a as i64))
            .sum();
        let norm = i64::try_from(norm).map_err(|_| MathError::Domain)?;
        if off_by(norm, CORR_SCALE) {
            return Err(MathError::Domain);
        }
    }
    // then every row norm is below √(1 + 1e-3), and by Cauchy–Schwarz each partial sum of
    // L_ik·L_jk is below 2^61: native 64-bit products and sums, no overflow possible (this is
    // the n³/6 loop; checked 128-bit arithmetic here cost ~60 CU a term on SBF). Each dot is
    // compared with ρ·2^60/1e9 in native words too: ρ·⌊2^60/1e9⌋ + ρ·(the fraction, to 2^-30),
    // within 2 units of 2^-60 of exact, against a tolerance of ~1.15e9 such units per 1e-9.
    let tolerance = tol_e9.wrapping_mul(TWO_60_PER_E9 + 1);
    let rho_scaled = |rho: i32| {
        let rho = rho as i64;
        rho.wrapping_mul(TWO_60_PER_E9) + ((rho * TWO_60_PER_E9_FRACTION_Q30) >> 30)
    };
    // where each row of R's strict upper triangle starts
    let mut row_start = [0usize; MAX_ASSETS];
    for (a, start) in row_start.iter_mut().enumerate().take(n) {
        *start = a * (2 * n - a - 1) / 2;
    }
    for i in 1..n {
        let row_i = row(i);
        for j in 0..i {
            let dot = dot_i32(&row_i[..=j], row(j));
            let rho = upper[row_start[j] + (i - j - 1)];
            if (dot - rho_scaled(rho)).abs() > tolerance {
                return Err(MathError::Domain);
            }
        }
    }
    Ok(())
}

/// ⌊2^60 / 1e9⌋, and the fraction it drops (0.606846976) in units of 2^-30, rounded.
const TWO_60_PER_E9: i64 = 1_152_921_504;
const TWO_60_PER_E9_FRACTION_Q30: i64 = 651_596_979;
const _: () = assert!(TWO_60_PER_E9 == (1i64 << 60) / 1_000_000_000);

/// Σ a_k·b_k over equal-length rows, four terms a step, in wrapping 64-bit arithmetic (exact
/// when the caller has bounded the partial sums, as [`check_psd_certificate`] does).
#[inline(always)]
fn dot_i32(a: &[i32], b: &[i32]) -> i64 {
    let term = |x: i32, y: i32| (x as i64).wrapping_mul(y as i64);
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let (a_rest, b_rest) = (a4.remainder(), b4.remainder());
    let mut acc = 0i64;
    for (x, y) in a4.zip(b4) {
        let pair = term(x[0], y[0]).wrapping_add(term(x[1], y[1]));
        let pair2 = term(x[2], y[2]).wrapping_add(term(x[3], y[3]));
        acc = acc.wrapping_add(pair).wrapping_add(pair2);
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        acc = acc.wrapping_add(term(*x, *y));
    }
    acc
}

/// K_i = B_i·σ_i (Q64.64 bits), checking the inputs.
fn exposures(b: &[Fix], sigma: &[Fix], out: &mut [i128; MAX_ASSETS]) -> MathResult<usize> {
    let n = b.len();
    if n == 0 || n > MAX_ASSETS || sigma.len() != n {
        return Err(MathError::Dimension);
    }
    for i in 0..n {
        if sigma[i].is_negative() {
            return Err(MathError::Domain);
        }
        out[i] = mul_q64(b[i].to_bits(), sigma[i].to_bits(), Rounding::Nearest)?;
    }
    Ok(n)
}

/// Bit length of the normalised exposures: max |K̂| ∈ [2^51, 2^52).
const KHAT_BITS: i32 = 52;

/// Scale K so that max |K̂| ∈ [2^51, 2^52): returns (K̂, shift) with K ≈ K̂·2^shift (rounded
/// to nearest, so the relative error of each K̂ is below 2^-52 of the largest).
fn normalise(k: &[i128], out: &mut [i64; MAX_ASSETS]) -> Option<i32> {
    let max = k.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
    if max == 0 {
        return None;
    }
    let shift = (128 - max.leading_zeros()) as i32 - KHAT_BITS;
    for (o, &x) in out.iter_mut().zip(k) {
        let mag = if shift >= 0 {
            shr_round_u128(x.unsigned_abs(), shift as u32, false, true)
        } else {
            x.unsigned_abs() << (-shift) as u32
        } as i64;
        *o = if x < 0 { -mag } else { mag };
    }
    Some(shift)
}

/// √(total · 2^extra / divisor) · 2^shift, as Q64.64 bits (total > 0).
fn scaled_sqrt(total: u128, extra: u32, divisor: u128, shift: i32) -> MathResult<Fix> {
    // lift the radicand to ≥ 2^124 by an even power of two so isqrt keeps 62+ bits
    let bits =
        128 - total.leading_zeros() as i32 + extra as i32 - (128 - divisor.leading_zeros() as i32);
    let lift = ((125 - bits).max(0) / 2) as u32;
    let radicand = mul_div_u128(
        total,
        1u128 << (extra + 2 * lift),
        divisor,
        Rounding::Nearest,
    )?;
    let root = radicand.isqrt();
    let shift = shift - lift as i32;
    let bits = if shift >= 0 {
        if root.leading_zeros() <= shift as u32 {
            return Err(MathError::Overflow);
        }
        root << shift
    } else {
        shr_round_u128(root, (-shift) as u32, false, true)
    };
    i128::try_from(bits)
        .map(Fix::from_bits)
        .map_err(|_| MathError::Overflow)
}

/// IS = √(Σ_ij K_i ρ_ij K_j) with K_i = B_i·σ_i, in B's units.
///
/// `upper` is R's strict upper triangle scaled by 1e9 ([`corr_at`]). Errors: Dimension for
/// mismatched lengths or more than 32 assets; Domain for σ < 0, |ρ| > 1, or a quadratic form
/// that is clearly negative (R not positive semi-definite).
pub fn imbalance_score(b: &[Fix], sigma: &[Fix], upper: &[i32]) -> MathResult<Fix> {
    let mut k = [0i128; MAX_ASSETS];
    let n = exposures(b, sigma, &mut k)?;
    if upper.len() != upper_len(n) {
        return Err(MathError::Dimension);
    }
    if upper.iter().any(|r| (*r as i64).abs() > CORR_SCALE) {
        return Err(MathError::Domain);
    }
    let mut kh = [0i64; MAX_ASSETS];
    let Some(shift) = normalise(&k[..n], &mut kh) else {
        return Ok(Fix::ZERO);
    };
    // T = Σ_i K̂_i · round((1e9·K̂_i + 2·S_i) / 2^30) with S_i = Σ_{j>i} ρ_ij K̂_j: one pass over
    // the stored triangle, row by row. Each K̂_j is split as high·2^24 + low (|high| < 2^28,
    // 0 ≤ low < 2^24) so that every ρ·part is a native 64-bit product (< 2^58) and each row's
    // two partial sums stay below 2^63: no 128-bit multiply in the O(n²) loop.
    let mut high = [0i64; MAX_ASSETS];
    let mut low = [0i64; MAX_ASSETS];
    for i in 0..n {
        high[i] = kh[i] >> 24;
        low[i] = kh[i] & ((1 << 24) - 1);
    }
    let mut total: i128 = 0;
    let mut row = upper;
    for i in 0..n {
        let (this_row, rest) = row.split_at(n - 1 - i);
        row = rest;
        let (mut s_high, mut s_low) = (0i64, 0i64);
        for ((rho, h), l) in this_row.iter().zip(&high[i + 1..n]).zip(&low[i + 1..n]) {
            let rho = *rho as i64;
            s_high = s_high.wrapping_add(rho.wrapping_mul(*h));
            s_low = s_low.wrapping_add(rho.wrapping_mul(*l));
        }
        let s = ((s_high as i128) << 24) + s_low as i128;
        // |inner| < 2^88, so the rounded quotient fits i64 and the product i128
        let inner = CORR_SCALE as i128 * kh[i] as i128 + 2 * s;
        let scaled = ((inner + (1 << 29)) >> 30) as i64;
        total += mul_i64_wide(kh[i], scaled);
    }
    if total <= 0 {
        // a PSD R gives T ≥ 0; allow only the rounding of the exact zero (T ≥ −n·2^53)
        if total < -((n as i128) << 53) {
            return Err(MathError::Domain);
        }
        return Ok(Fix::ZERO);
    }
    // IS² = T · 2^30 / 1e9 · 2^(2·shift) in Q64.64²
    scaled_sqrt(total as u128, 30, CORR_SCALE as u128, shift)
}

/// ||K|| = √(Σ K_i²), K_i = B_i·σ_i: the score if the assets were uncorrelated.
pub fn exposure_norm(b: &[Fix], sigma: &[Fix]) -> MathResult<Fix> {
    let mut k = [0i128; MAX_ASSETS];
    let n = exposures(b, sigma, &mut k)?;
    let mut kh = [0i64; MAX_ASSETS];
    let Some(shift) = normalise(&k[..n], &mut kh) else {
        return Ok(Fix::ZERO);
    };
    let total: u128 = kh[..n].iter().map(|&x| mul_i64_wide(x, x) as u128).sum();
    scaled_sqrt(total, 0, 1, shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_indexing() {
        // 4×4: upper = [r01, r02, r03, r12, r13, r23]
        let upper = [1, 2, 3, 4, 5, 6];
        assert_eq!(corr_at(&upper, 4, 0, 1), 1);
        assert_eq!(corr_at(&upper, 4, 3, 0), 3);
        assert_eq!(corr_at(&upper, 4, 1, 2), 4);
        assert_eq!(corr_at(&upper, 4, 2, 3), 6);
        assert_eq!(corr_at(&upper, 4, 2, 2), CORR_SCALE);
        assert_eq!(upper_len(32), 496);
    }

    /// L scaled to 2^30 from exact decimals (rounded to nearest).
    fn chol<const N: usize>(entries: [(i64, i64); N]) -> [i32; N] {
        entries.map(|(num, den)| {
            (((num as i128) << 30) + den as i128 / 2).div_euclid(den as i128) as i32
        })
    }

    #[test]
    fn rho_in_the_certificates_scale_is_within_2_units() {
        let scaled = |rho: i64| rho * TWO_60_PER_E9 + ((rho * TWO_60_PER_E9_FRACTION_Q30) >> 30);
        let mut rho = -1_000_000_000i64;
        while rho <= 1_000_000_000 {
            let exact = ((rho as i128) << 60) / 1_000_000_000;
            assert!((scaled(rho) as i128 - exact).abs() <= 2, "{rho}");
            rho += 999_983; // a prime step: many residues
        }
        assert!((scaled(1_000_000_000) as i128 - (1i128 << 60)).abs() <= 2);
    }

    #[test]
    fn psd_certificates() {
        // L rows (1,0,0), (0.6,0.8,0), (0,0.6,0.8): R = [[1,.6,0],[.6,1,.48],[0,.48,1]]
        let lower = chol([(1, 1), (6, 10), (8, 10), (0, 1), (6, 10), (8, 10)]);
        let upper = [600_000_000, 0, 480_000_000];
        assert_eq!(check_psd_certificate(&upper, &lower, 3, 1_000), Ok(()));
        // the 2^-30 rounding of L is ~1e-9 of R: a zero tolerance refuses it
        assert_eq!(
            check_psd_certificate(&upper, &lower, 3, 0),
            Err(MathError::Domain)
        );
        // a correlation the factor does not reproduce
        let off = [600_000_000, 0, 490_000_000];
        assert_eq!(
            check_psd_certificate(&off, &lower, 3, 1_000),
            Err(MathError::Domain)
        );
        // ρ = (.9, −.9, .9) is not PSD (x = (1, −1, 1) gives xᵀRx = 3 − 5.4 < 0); no L certifies
        // it, and the nearest-looking factor is refused
        let not_psd = [900_000_000, -900_000_000, 900_000_000];
        let attempt = chol([(1, 1), (9, 10), (436, 1000), (-9, 10), (1, 1), (0, 1)]);
        assert_eq!(
            check_psd_certificate(&not_psd, &attempt, 3, 1_000_000),
            Err(MathError::Domain)
        );
        assert_eq!(
            check_psd_certificate(&upper, &lower[..5], 3, 1_000),
            Err(MathError::Dimension)
        );
        assert_eq!(
            check_psd_certificate(&[], &[], 0, 1_000),
            Err(MathError::Dimension)
        );
        // entries far beyond 1 (rows whose products would overflow a word) are refused
        let huge = [i32::MAX; 6];
        assert_eq!(
            check_psd_certificate(&upper, &huge, 3, 1_000),
            Err(MathError::Domain)
        );
        assert_eq!(
            check_psd_certificate(&upper, &lower, 3, 1_000_001),
            Err(MathError::Domain)
        );
    }

    #[test]
    fn bad_inputs() {
        let b = [Fix::ONE, Fix::ONE];
        let s = [Fix::ONE, Fix::ONE];
        assert_eq!(imbalance_score(&b, &s, &[]), Err(MathError::Dimension));
        assert_eq!(
            imbalance_score(&b, &[Fix::ONE], &[0]),
            Err(MathError::Dimension)
        );
        assert_eq!(
            imbalance_score(&b, &[Fix::ONE, -Fix::ONE], &[0]),
            Err(MathError::Domain)
        );
        assert_eq!(
            imbalance_score(&b, &s, &[1_000_000_001]),
            Err(MathError::Domain)
        );
        assert_eq!(imbalance_score(&[], &[], &[]), Err(MathError::Dimension));
        let full = [CORR_SCALE, 5, 6, CORR_SCALE];
        assert_eq!(validate_full(&full, 2), Err(MathError::Domain));
        assert_eq!(validate_full(&[CORR_SCALE, 5, 5, CORR_SCALE], 2), Ok(()));
        assert_eq!(
            validate_full(&[2, 0, 0, CORR_SCALE], 2),
            Err(MathError::Domain)
        );
    }
}
