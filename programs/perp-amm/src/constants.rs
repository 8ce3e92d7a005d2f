//! Seeds and limits shared by the program and its clients: one definition, never a literal twice.

/// Pool PDA: [POOL_SEED, quote_mint, pool_id.to_le_bytes()].
pub const POOL_SEED: &[u8] = b"pool";
/// Vault token account PDA: [VAULT_SEED, pool].
pub const VAULT_SEED: &[u8] = b"vault";
/// LP mint PDA: [LP_MINT_SEED, pool].
pub const LP_MINT_SEED: &[u8] = b"lp_mint";
/// Market PDA: [MARKET_SEED, pool, index].
pub const MARKET_SEED: &[u8] = b"market";
/// Position PDA: [POSITION_SEED, market, owner].
pub const POSITION_SEED: &[u8] = b"position";
/// Push-oracle PDA: [PUSH_ORACLE_SEED, pool, feed_id].
pub const PUSH_ORACLE_SEED: &[u8] = b"push_oracle";

/// Markets one pool can hold (the per-market aggregates live in the pool account).
pub const MAX_MARKETS: usize = 32;
/// Basis points.
pub const BPS: u64 = 10_000;
/// Scale of the *_e9 parameters.
pub const E9: u64 = 1_000_000_000;
/// LP shares locked forever by the first deposit, so that the share price cannot be inflated by
/// donating to an almost empty pool.
pub const DEAD_SHARES: u64 = 1_000;
/// Seconds per day (funding rates are quoted per day).
pub const SECONDS_PER_DAY: i64 = 86_400;
/// Risk-model PDA: [RISK_MODEL_SEED, pool].
pub const RISK_MODEL_SEED: &[u8] = b"risk_model";
