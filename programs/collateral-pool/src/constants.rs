//! Seeds and limits shared by the program and its clients.

/// Pool PDA: [CRP_POOL_SEED, risky_mint, riskless_mint, expiry.to_le_bytes()].
pub const CRP_POOL_SEED: &[u8] = b"crp_pool";
/// Risky-token vault PDA: [RISKY_VAULT_SEED, pool].
pub const RISKY_VAULT_SEED: &[u8] = b"crp_risky";
/// Riskless-token vault PDA: [RISKLESS_VAULT_SEED, pool]. It holds four pots (see `CrpPool`).
pub const RISKLESS_VAULT_SEED: &[u8] = b"crp_riskless";
/// Lender claim mint PDA: [LENDER_MINT_SEED, pool]. One claim pays one riskless unit at expiry.
pub const LENDER_MINT_SEED: &[u8] = b"crp_lender";
/// Borrower residual claim mint PDA: [RESIDUAL_MINT_SEED, pool].
pub const RESIDUAL_MINT_SEED: &[u8] = b"crp_residual";

pub use keel_math::crp::{BPS, SECONDS_PER_YEAR};
/// Scale of the *_e9 parameters.
pub const E9: u64 = 1_000_000_000;
/// Shortest and longest term a pool may be created with.
pub const MIN_TERM_SECS: i64 = 86_400;
pub const MAX_TERM_SECS: i64 = 2 * 366 * 86_400;
