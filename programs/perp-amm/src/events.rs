use anchor_lang::prelude::*;

use crate::state::MarketParams;

/// A trade: open, increase, decrease or close. Prices are Fix bits (quote native per base native).
#[event]
pub struct FillEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub size: i64,
    pub position_size: i64,
    pub oracle_price: i128,
    pub fill_price: i128,
    /// q at the state after the trade, U1F127 bits.
    pub q: u128,
    /// Premium paid (negative: rebate), quote native.
    pub premium: i64,
    /// Premium balance released to LP capital by this fill (the part above the book's
    /// insurance value), quote native.
    pub premium_released: u64,
    pub fees: u64,
    pub funding_paid: u64,
    pub realized_pnl: i64,
    pub bad_debt: u64,
    pub long_oi: u64,
    pub short_oi: u64,
    /// The pool's Imbalance Score and ||K|| after the fill, 10^-3 quote tokens (0 without a
    /// risk model).
    pub imbalance_score: u64,
    pub exposure_norm: u64,
}

#[event]
pub struct LpEvent {
    pub pool: Pubkey,
    pub owner: Pubkey,
    pub deposit: bool,
    pub amount: u64,
    pub shares: u64,
    pub pool_value: i128,
    pub lp_capital: u64,
}

#[event]
pub struct CollateralEvent {
    pub position: Pubkey,
    pub owner: Pubkey,
    pub amount: i64,
    pub collateral: u64,
}

#[event]
pub struct FundingEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub long_index: i128,
    pub short_index: i128,
    pub timestamp: i64,
}

#[event]
pub struct LiquidationEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    pub size: i64,
    pub oracle_price: i128,
    pub keeper_reward: u64,
    pub returned_to_owner: u64,
    pub bad_debt: u64,
    pub bad_debt_covered: u64,
}

/// Auto-deleveraging closed `size` of a winner at `oracle_price` because traders' unrealised
/// profit exceeded `ceiling` (quote native).
#[event]
pub struct DeleverageEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    pub size: i64,
    pub oracle_price: i128,
    pub realized_pnl: i64,
    /// The insurance charge (negative: a refund of the position's premiums) and the close fee.
    pub premium: i64,
    pub fees: u64,
    pub traders_profit: u64,
    pub ceiling: u64,
    pub returned_to_owner: u64,
}

/// `reduce_before_close` cut `size` of a position (all of it when `returned_to_owner` is
/// paid) at `oracle_price`, from `leverage_e2_before` to `leverage_e2_after` (hundredths).
#[event]
pub struct CloseReductionEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    pub size: i64,
    pub oracle_price: i128,
    pub realized_pnl: i64,
    /// The insurance charge (negative: a refund of the position's premiums) and the close fee.
    pub premium: i64,
    pub fees: u64,
    pub leverage_e2_before: u64,
    pub leverage_e2_after: u64,
    pub returned_to_owner: u64,
    /// Fills it took (more than one when an insurance charge outran the 1 % margin).
    pub fills: u8,
}

#[event]
pub struct MarketEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub index: u8,
    pub added: bool,
}

/// A market change announced (kind 0, due at `effective_at`), applied (1) or cancelled (2).
#[event]
pub struct MarketChangeEvent {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub kind: u8,
    pub params: MarketParams,
    pub effective_at: i64,
}

/// A premium mode or horizon change announced (kind 0, due at `effective_at`), applied (1) or
/// cancelled (2).
#[event]
pub struct PremiumChangeEvent {
    pub pool: Pubkey,
    pub kind: u8,
    pub mode: u8,
    pub horizon_secs: u32,
    pub effective_at: i64,
}

/// A market-hours schedule set: in force from `effective_from` (at once when no market on it
/// holds open interest, else after a day's notice).
#[event]
pub struct ScheduleEvent {
    pub pool: Pubkey,
    pub index: u8,
    pub effective_from: i64,
}

#[event]
pub struct AdminEvent {
    pub pool: Pubkey,
    pub kind: u8,
    pub value: Pubkey,
    pub flags: u8,
}

/// A risk model commit: σ and R now cover `market_count` markets, estimated from data up to
/// `as_of`.
#[event]
pub struct RiskEvent {
    pub pool: Pubkey,
    pub market_count: u8,
    pub as_of: i64,
}

/// The pool's Imbalance Score and ||K|| (10^-3 quote tokens, one-period standard deviation)
/// over the markets its risk model covers, after `refresh_imbalance` re-marked them all.
#[event]
pub struct ImbalanceEvent {
    pub pool: Pubkey,
    pub market_count: u8,
    pub imbalance_score: u64,
    pub exposure_norm: u64,
}

/// What happened to a request.
pub mod request_outcome {
    pub const PLACED: u8 = 0;
    pub const EXECUTED: u8 = 1;
    /// Executed but its fill was refused (slippage, a limit, margin): escrow refunded, `reason`
    /// holds the error code.
    pub const REFUSED: u8 = 2;
    pub const CANCELLED: u8 = 3;
    /// Cleared by anyone once expired, or once its position was closed.
    pub const CLEARED: u8 = 4;
}

/// A request's life: placed, then executed, refused, cancelled or cleared.
#[event]
pub struct RequestEvent {
    pub pool: Pubkey,
    pub request: Pubkey,
    pub owner: Pubkey,
    pub market: Pubkey,
    /// A `RequestKind` discriminant.
    pub kind: u8,
    /// A [`request_outcome`] constant.
    pub outcome: u8,
    /// The program error code of a refusal (0 otherwise).
    pub reason: u32,
    /// The executing or clearing signer (the owner when placed or cancelled).
    pub by: Pubkey,
    /// Publish time of the price it executed at (0 when not executed).
    pub price_publish_time: i64,
    pub keeper_fee: u64,
}
