//! Off-chain risk-model helpers: turning an estimated correlation matrix into what the program
//! stores (1e9-scaled strict upper triangle) and the certificate it checks (a Cholesky factor
//! scaled by 2^30). Floating point is fine here: the program re-checks everything in integers.

use keel_math::imbalance::{CHOL_FRAC_BITS, CORR_SCALE};

/// R (full, row-major, n×n) as the program stores it: the strict upper triangle, row-major,
/// rounded to 1e9.
pub fn corr_upper_e9(full: &[f64], n: usize) -> Vec<i32> {
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push((full[i * n + j] * CORR_SCALE as f64).round() as i32);
        }
    }
    out
}

/// R rebuilt from the stored triangle, so the certificate factors exactly what the program
/// holds.
pub fn corr_full_from_upper(upper: &[i32], n: usize) -> Vec<f64> {
    let mut full = vec![0.0; n * n];
    for i in 0..n {
        full[i * n + i] = 1.0;
        for j in 0..n {
            if i != j {
                full[i * n + j] =
                    keel_math::imbalance::corr_at(upper, n, i, j) as f64 / CORR_SCALE as f64;
            }
        }
    }
    full
}

/// A Cholesky factor L of R (L·Lᵀ = R), lower triangle with the diagonal, row-major, scaled by
/// 2^30: the certificate `commit_risk` checks. A pivot that is negative beyond `1e-12` means R
/// is not positive semi-definite, and there is no certificate; a pivot that is zero within that
/// (a singular R, e.g. two identical markets) gives a zero column.
pub fn cholesky_certificate(full: &[f64], n: usize) -> Option<Vec<i32>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let pivot = full[i * n + i] - dot;
                if pivot < -1e-12 {
                    return None;
                }
                l[i * n + i] = pivot.max(0.0).sqrt();
            } else {
                let d = l[j * n + j];
                l[i * n + j] = if d > 1e-12 {
                    (full[i * n + j] - dot) / d
                } else {
                    0.0
                };
            }
        }
    }
    let scale = (1u64 << CHOL_FRAC_BITS) as f64;
    let mut out = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in 0..=i {
            out.push((l[i * n + j] * scale).round() as i32);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_math::imbalance::check_psd_certificate;

    #[test]
    fn certificates_pass_the_programs_check() {
        // the article's crypto block is strongly correlated; mixed signs elsewhere
        let full = [
            1.0, 0.89, 0.85, -0.2, //
            0.89, 1.0, 0.8, -0.1, //
            0.85, 0.8, 1.0, 0.0, //
            -0.2, -0.1, 0.0, 1.0,
        ];
        let upper = corr_upper_e9(&full, 4);
        let lower = cholesky_certificate(&corr_full_from_upper(&upper, 4), 4).unwrap();
        assert_eq!(check_psd_certificate(&upper, &lower, 4, 100), Ok(()));
        // not PSD: no certificate
        let bad = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!(cholesky_certificate(&bad, 3).is_none());
        // singular (two identical markets): still certified
        let twins = [1.0, 1.0, 1.0, 1.0];
        let upper = corr_upper_e9(&twins, 2);
        let lower = cholesky_certificate(&twins, 2).unwrap();
        assert_eq!(check_psd_certificate(&upper, &lower, 2, 100), Ok(()));
    }
}
