use anchor_lang::prelude::*;
use keel_math::imbalance::{lower_len, upper_len};

use crate::constants::MAX_MARKETS;

/// R's strict upper triangle for the largest pool.
pub const CORR_LEN: usize = upper_len(MAX_MARKETS);
/// A Cholesky certificate's lower triangle (with its diagonal) for the largest pool.
pub const CHOL_LEN: usize = lower_len(MAX_MARKETS);
/// σ above this (500 % per period) is refused as a units mistake.
pub const MAX_RISK_SIGMA_E9: u64 = 5_000_000_000;

/// The pool's multi-asset risk model: σ per market and the correlation matrix R that the
/// Imbalance Score IS = √(Kᵀ R K), K_i = B_i·σ_i, is computed with.
///
/// The risk authority (a keeper) publishes in two steps, because R for 32 markets (~2 KB) plus
/// its certificate do not fit one transaction: `stage_risk` writes pieces of [`StagedRisk`],
/// then `commit_risk` validates the whole (σ range, |ρ| ≤ 1, positive semi-definiteness, bounded
/// change from the current model, a newer data time) and makes it current.
#[account(zero_copy)]
#[repr(C)]
pub struct RiskModel {
    pub pool: Pubkey,
    /// Publishes σ and R.
    pub authority: Pubkey,
    pub version: u8,
    pub bump: u8,
    /// Markets (slots 0..market_count) the current parameters cover; 0 before the first commit.
    pub market_count: u8,
    pub _pad: [u8; 5],
    /// Time of the data the current parameters were estimated from (unix seconds), and when
    /// they were committed.
    pub as_of: i64,
    pub committed_at: i64,
    /// Largest change one commit may make to a covered market: σ relative, in bps.
    pub max_sigma_step_bps: u32,
    /// Largest change one commit may make to a correlation, 1e9 scale.
    pub max_corr_step_e9: u32,
    /// Tolerance of the positive semi-definiteness certificate, 1e9 scale (R's smallest
    /// eigenvalue is then ≥ −n·tolerance).
    pub psd_tolerance_e9: u32,
    pub _pad2: u32,
    pub current: RiskParams,
    pub staged: StagedRisk,
    /// Counts commits: pools compare it with the revision their stored IS was computed with.
    pub revision: u64,
    /// A publisher the pool authority proposed, who must accept (default: none).
    pub pending_authority: Pubkey,
    /// What the pool authority allows a publisher beyond one commit's step (issue #19).
    pub bounds: RiskBounds,
    /// The rolling window's start and the values then: no commit may move σ or ρ further from
    /// them than the window bounds allow, however many commits it takes.
    pub window_start: i64,
    /// Markets `anchor` covers (the model's count when the window started).
    pub anchor_count: u8,
    pub _pad3: [u8; 7],
    pub anchor: RiskParams,
    pub reserved: [u8; 216],
}

/// Bounds on publications beyond one commit's step, set by the pool authority
/// (`set_risk_bounds`). Zero disables a bound; every σ range starts open.
#[zero_copy]
#[repr(C)]
pub struct RiskBounds {
    /// Seconds between two commits.
    pub min_commit_interval_secs: u32,
    /// Length of the rolling window, seconds (at most 30 days).
    pub window_secs: u32,
    /// σ stays within a factor 1 + bps/10,000 of its value at the window's start (either way).
    pub max_sigma_window_bps: u32,
    /// ρ stays within this of its value at the window's start, 1e9 scale.
    pub max_corr_window_e9: u32,
    /// σ range per market, 1e9 scale (the range the pool's limits were set for); a maximum of 0
    /// means no range.
    pub sigma_min_e9: [u64; MAX_MARKETS],
    pub sigma_max_e9: [u64; MAX_MARKETS],
}

/// σ and R for markets 0..n.
#[zero_copy]
#[repr(C)]
pub struct RiskParams {
    /// σ per market, 1e9 scale (one horizon for all markets; the keeper publishes daily σ).
    pub sigma_e9: [u64; MAX_MARKETS],
    /// R's strict upper triangle for n markets, row-major, 1e9 scale (the
    /// `keel_math::imbalance` layout), in the first `upper_len(n)` entries.
    pub corr_upper: [i32; CORR_LEN],
}

/// What `stage_risk` writes and `commit_risk` reads.
#[zero_copy]
#[repr(C)]
pub struct StagedRisk {
    pub params: RiskParams,
    /// A factor L with L·Lᵀ ≈ R (lower triangle with the diagonal, row-major, 2^30 scale, first
    /// `lower_len(n)` entries): the certificate that R is positive semi-definite.
    pub chol_lower: [i32; CHOL_LEN],
}

const _: () = assert!(core::mem::size_of::<RiskParams>() == 2240);
const _: () = assert!(core::mem::size_of::<StagedRisk>() == 4352);
const _: () = assert!(core::mem::size_of::<RiskBounds>() == 528);
const _: () = assert!(core::mem::size_of::<RiskModel>() == 9736);

impl RiskModel {
    pub const SIZE: usize = 8 + core::mem::size_of::<RiskModel>();

    /// The σ range of market `i`: [min, max], max open when unset.
    pub fn sigma_range(&self, i: usize) -> (u64, u64) {
        let max = self.bounds.sigma_max_e9[i];
        (
            self.bounds.sigma_min_e9[i].max(1),
            if max == 0 { MAX_RISK_SIGMA_E9 } else { max },
        )
    }

    /// Whether a commit at `now` starts a new window (re-anchoring at the current values).
    pub fn window_restarts(&self, now: i64) -> bool {
        self.bounds.window_secs > 0
            && (self.anchor_count == 0
                || now
                    >= self
                        .window_start
                        .saturating_add(self.bounds.window_secs as i64))
    }

    /// σ and R of the markets the model covers.
    pub fn covered(&self) -> (&[u64], &[i32]) {
        let n = self.market_count as usize;
        (
            &self.current.sigma_e9[..n],
            &self.current.corr_upper[..upper_len(n)],
        )
    }
}
