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
/// Announced market change PDA: [MARKET_CHANGE_SEED, market].
pub const MARKET_CHANGE_SEED: &[u8] = b"market_change";
/// Push-oracle PDA: [PUSH_ORACLE_SEED, pool, feed_id].
pub const PUSH_ORACLE_SEED: &[u8] = b"push_oracle";
/// Market-hours calendar PDA: [CALENDAR_SEED, pool].
pub const CALENDAR_SEED: &[u8] = b"calendar";

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
/// Request PDA: [REQUEST_SEED, pool, owner, slot].
pub const REQUEST_SEED: &[u8] = b"request";
/// LP-share escrow token account PDA: [LP_ESCROW_SEED, pool] (withdrawal requests' shares).
pub const LP_ESCROW_SEED: &[u8] = b"lp_escrow";
/// Pending requests one owner may hold in one pool (slots 0..16 of the request address).
pub const MAX_REQUESTS_PER_OWNER: u8 = 16;
/// Bounds of the pool's request parameters.
pub const MAX_ORDER_WINDOW_SECS: u32 = 3_600;
pub const MAX_WITHDRAWAL_DELAY_SECS: u32 = 30 * 86_400;
/// The smallest keeper fee a pool may require of a request (0.01 SOL): more would price
/// traders' closes out.
pub const MAX_MIN_KEEPER_FEE_LAMPORTS: u64 = 10_000_000;
/// A trigger order lives at most this long.
pub const MAX_TRIGGER_LIFETIME_SECS: i64 = 90 * 86_400;
/// A withdrawal may execute for this long once its delay has passed, so a weekend without
/// keepers or prices does not void it (its price is still bounded by the markets' freshness and
/// the per-market monotonic publish time, so the longer window is no longer lookback).
pub const WITHDRAWAL_EXECUTION_SECS: i64 = 7 * 86_400;
/// A request executes only on a print at most this old: a keeper (or the owner executing his
/// own request) cannot reach back for a better print of the last minutes.
pub const EXECUTION_PRICE_MAX_AGE_SECS: i64 = 10;
/// A new risk model's bounds (`init_risk_model`): an hour between commits, and over a rolling
/// week σ within a factor 1 + 10,000 bps (2×) and ρ within 0.5 of the week's first values.
pub const DEFAULT_COMMIT_INTERVAL_SECS: u32 = 3_600;
pub const DEFAULT_RISK_WINDOW_SECS: u32 = 7 * 86_400;
pub const DEFAULT_SIGMA_WINDOW_BPS: u32 = 10_000;
pub const DEFAULT_CORR_WINDOW_E9: u32 = 500_000_000;
/// Fills' LP income becomes capital that premiums price against at most this often.
pub const INCOME_PRICING_INTERVAL_SECS: i64 = 3_600;
/// Auto-deleveraging: traders' unrealised profit may exceed this share of LP capital (bps)
/// before keepers may close winners, unless the pool authority set another within
/// [`PROFIT_CEILING_RANGE_BPS`].
pub const DEFAULT_PROFIT_CEILING_BPS: u32 = 5_000;
/// The ceiling's range: never so low that ordinary gains are cut short (10 %), never so high that
/// winners could empty the pool before a keeper may act (90 %).
pub const PROFIT_CEILING_RANGE_BPS: core::ops::RangeInclusive<u32> = 1_000..=9_000;
/// Before a close of at least [`LONG_CLOSE_SECS`], this long: new risk (opens, increases, margin
/// taken out) must meet the leverage held over a close, and a keeper may bring positions above
/// it down to it (`reduce_before_close`). Ostium's stocks close such trades 15 minutes before
/// the bell; an hour gives the keeper rounds to reach every position and a trader time to add
/// margin first.
pub const CLOSE_WINDOW_SECS: i64 = 3_600;
/// The oldest print a cut before a close may use. Tighter than an execution's 10 s: the cut
/// answers to no request whose time would bound the print, so whoever calls it (the owner
/// too, from any key) picks among the prints of this long, with hindsight.
pub const CLOSE_CUT_PRICE_MAX_AGE_SECS: i64 = 2;
/// A close this long or longer (a weekend, a holiday, an overnight) is held at the leverage over
/// a close; a shorter break (a futures market's daily hour) is not: its gap is an hour's move.
pub const LONG_CLOSE_SECS: i64 = 2 * 3_600;
