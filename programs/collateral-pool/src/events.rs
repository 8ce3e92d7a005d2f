use anchor_lang::prelude::*;

/// Fix values are I64F64 bits; prices are riskless native per risky native.
#[event]
pub struct LendEvent {
    pub pool: Pubkey,
    pub lender: Pubkey,
    pub amount: u64,
    pub claims: u64,
    pub loan_cash: u64,
}

#[event]
pub struct BorrowEvent {
    pub pool: Pubkey,
    pub borrower: Pubkey,
    pub collateral: u64,
    /// Riskless the borrower added with the collateral to keep the pool's proportions.
    pub riskless_leg: u64,
    pub loan: u64,
    /// Debt at face value (due at expiry).
    pub debt: u64,
    pub residual_claims: u64,
    /// The pool's debt over its value after the borrow (bps).
    pub pool_ltv_bps: u64,
}

#[event]
pub struct SwapEvent {
    pub pool: Pubkey,
    pub trader: Pubkey,
    pub risky_in: bool,
    /// The flight-to-quality (or settlement) sale rather than the weighted pool.
    pub conversion: bool,
    pub amount_in: u64,
    pub amount_out: u64,
    pub fee: u64,
    pub reserve_cut: u64,
    pub risky_balance: u64,
    pub riskless_balance: u64,
}

/// A weight update: the option delta, the smoothed weight before and after.
#[event]
pub struct RebalanceEvent {
    pub pool: Pubkey,
    pub price: i128,
    pub delta: i128,
    pub old_weight: i128,
    pub new_weight: i128,
    pub pool_ltv_bps: u64,
    pub ts: i64,
}

/// Flight to quality started (`completed` false) or finished (all risky sold).
#[event]
pub struct FlightToQualityEvent {
    pub pool: Pubkey,
    pub price: i128,
    pub pool_ltv_bps: u64,
    pub risky_balance: u64,
    pub riskless_balance: u64,
    pub completed: bool,
    pub ts: i64,
}

#[event]
pub struct SettleEvent {
    pub pool: Pubkey,
    /// Not settled yet: the sale must cover the debt first.
    pub settling: bool,
    pub from_pool: u64,
    pub from_reserve: u64,
    pub to_reserve: u64,
    pub lender_assets: u64,
    pub risky_left: u64,
    pub riskless_left: u64,
    /// Risky paid to lenders in kind (a settlement past the grace period).
    pub lender_risky: u64,
}

#[event]
pub struct RedeemEvent {
    pub pool: Pubkey,
    pub owner: Pubkey,
    pub lender: bool,
    pub claims: u64,
    pub risky_out: u64,
    pub riskless_out: u64,
}

#[event]
pub struct ReserveEvent {
    pub pool: Pubkey,
    pub funder: Pubkey,
    pub amount: u64,
    pub reserve: u64,
}
