//! Seeds and limits shared by the program and its clients.

/// Pool PDA: [CRP_POOL_SEED, risky_mint, riskless_mint, expiry.to_le_bytes(), authority]. The
/// creator is in the seeds: no one can take another operator's address for a (pair, expiry).
pub const CRP_POOL_SEED: &[u8] = b"crp_pool";
/// Risky-token vault PDA: [RISKY_VAULT_SEED, pool].
pub const RISKY_VAULT_SEED: &[u8] = b"crp_risky";
/// Riskless-token vault PDA: [RISKLESS_VAULT_SEED, pool]. It holds four pots (see `CrpPool`).
pub const RISKLESS_VAULT_SEED: &[u8] = b"crp_riskless";
/// Lender claim mint PDA: [LENDER_MINT_SEED, pool]. A claim is a share of what the pool owes its
/// lenders at expiry (unlent cash plus the borrowers' debt).
pub const LENDER_MINT_SEED: &[u8] = b"crp_lender";
/// Borrower residual claim mint PDA: [RESIDUAL_MINT_SEED, pool].
pub const RESIDUAL_MINT_SEED: &[u8] = b"crp_residual";

pub use keel_math::crp::{BPS, SECONDS_PER_YEAR};
/// Scale of the *_e9 parameters.
pub const E9: u64 = 1_000_000_000;
/// Shortest and longest term a pool may be created with.
pub const MIN_TERM_SECS: i64 = 86_400;
pub const MAX_TERM_SECS: i64 = 2 * 366 * 86_400;
/// Shortest rebalance interval: each re-weight ramps over the interval, so the interval bounds
/// how fast the weight can move (an hour).
pub const MIN_REBALANCE_INTERVAL_SECS: u64 = 3_600;
/// A conversion starts only when a second tight print, published at least this long after the
/// first print that showed the breach, still shows it...
pub const CONVERSION_CONFIRM_SECS: i64 = 300;
/// ...and no more than this long after it: an older record is a stale breach, and the print
/// starts a new one (two brief dips hours apart cannot convert the pool).
pub const CONVERSION_CONFIRM_WINDOW_SECS: i64 = 600;
/// After expiry plus this, a pool that still cannot sell its risky at a fresh price settles in
/// kind at its last accepted price: three days cover a weekend and a holiday of a closed market.
pub const SETTLE_GRACE_SECS: i64 = 3 * 86_400;
