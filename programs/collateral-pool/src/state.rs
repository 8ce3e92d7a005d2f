//! The pool account.

use anchor_lang::prelude::*;
use keel_onchain::WrappedI128;

/// Where the pool is in its life.
pub mod status {
    /// Lending, borrowing, swaps and rebalances.
    pub const ACTIVE: u8 = 0;
    /// Flight to quality: the loan-to-value reached the conversion threshold. The pool sells its
    /// risky balance at a bounded discount to the oracle; nothing else trades.
    pub const CONVERTING: u8 = 1;
    /// All risky sold: only the riskless asset is left, and the pool never re-weights again.
    pub const CONVERTED: u8 = 2;
    /// Expired with less riskless than the debt: the conversion sale runs until the debt is
    /// covered (or nothing risky is left), then `settle` completes.
    pub const SETTLING: u8 = 3;
    /// Claims are redeemable.
    pub const SETTLED: u8 = 4;
}

/// Pause switches, one bit per instruction group. Settlement, redemptions and the conversion sale
/// (flight to quality and settling) are never paused: `SWAP` stops only the weighted market.
pub mod pause {
    pub const LEND: u8 = 1 << 0;
    pub const BORROW: u8 = 1 << 1;
    pub const SWAP: u8 = 1 << 2;
    pub const REBALANCE: u8 = 1 << 3;
    pub const ALL: u8 = LEND | BORROW | SWAP | REBALANCE;
}

/// A pool's parameters, fixed at creation and validated there.
#[derive(
    AnchorSerialize,
    AnchorDeserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    bytemuck::Pod,
    bytemuck::Zeroable,
)]
#[repr(C)]
pub struct CrpParams {
    /// Option strike, riskless per risky in whole tokens, ×1e9.
    pub strike_e9: u64,
    /// Annual volatility σ of the risky asset, ×1e9.
    pub sigma_e9: u64,
    /// A loan may be at most this share of the collateral's oracle value (bps).
    pub initial_ltv_bps: u64,
    /// Debt over pool value at which the pool converts to the riskless asset (bps).
    pub conversion_ltv_bps: u64,
    /// EMA factor α of the weight update w ← α·Δ + (1 − α)·w, ×1e9.
    pub ema_alpha_e9: u64,
    /// Minimum seconds between two rebalances.
    pub min_rebalance_interval_secs: u64,
    /// Swap fee (bps of the riskless leg).
    pub fee_bps: u64,
    /// Share of each swap fee paid into the reserve fund (bps); the rest stays in the pool.
    pub reserve_share_bps: u64,
    /// A swap may bring in or take out at most this share of the pool's balance (bps).
    pub max_trade_ratio_bps: u64,
    /// Fixed simple annual rate of lenders and borrowers (bps).
    pub rate_bps: u64,
    /// Discount to the oracle at which the conversion sale sells the risky asset (bps).
    pub conversion_discount_bps: u64,
    /// Oracle validity: maximum age and confidence interval (bps of the price).
    pub max_age_secs: u64,
    pub max_conf_bps: u64,
}

/// A collateral rebalancing pool for one (risky mint, riskless mint, expiry).
///
/// The riskless vault holds four pots and always equals their sum: `riskless_balance` (the
/// weighted pool's riskless side), `loan_cash` (lenders' cash not lent yet), `reserve` (the
/// reserve fund) and `lender_assets` (set aside for lender claims at settlement). The risky vault
/// equals `risky_balance` plus `lender_risky` (set aside for lenders by a settlement in kind).
///
/// The risky weight moves linearly from `risky_weight` at `last_rebalance_ts` to `target_weight`
/// at `ramp_end_ts` ([`CrpPool::weight_at`]).
#[account(zero_copy)]
#[repr(C)]
pub struct CrpPool {
    pub version: u8,
    pub bump: u8,
    /// A [`status`] constant.
    pub status: u8,
    /// [`pause`] bits.
    pub paused: u8,
    /// 0 = push oracle (perp program), 1 = Pyth `PriceUpdateV2`.
    pub oracle_kind: u8,
    pub risky_decimals: u8,
    pub riskless_decimals: u8,
    pub _pad0: u8,
    pub expiry: i64,
    pub created_ts: i64,
    pub last_rebalance_ts: i64,
    /// When the conversion started and when the pool was settled (0 until then).
    pub conversion_ts: i64,
    pub settled_ts: i64,

    pub authority: Pubkey,
    /// Only this signer may rebalance; the default key lets anyone.
    pub keeper: Pubkey,
    pub risky_mint: Pubkey,
    pub riskless_mint: Pubkey,
    pub risky_vault: Pubkey,
    pub riskless_vault: Pubkey,
    pub lender_mint: Pubkey,
    pub residual_mint: Pubkey,
    pub oracle: Pubkey,
    /// For a push oracle: the perp pool whose oracle authority writes it.
    pub oracle_pool: Pubkey,
    pub feed_id: [u8; 32],
    pub params: CrpParams,

    /// Strike in riskless native per risky native (Fix bits).
    pub strike: WrappedI128,
    /// The risky token's weight in the weighted pool at `last_rebalance_ts`, where its ramp to
    /// `target_weight` starts (Fix bits); the riskless weight is 1 − w.
    pub risky_weight: WrappedI128,
    /// Φ(d1) at the last rebalance (Fix bits).
    pub last_delta: WrappedI128,

    pub risky_balance: u64,
    pub riskless_balance: u64,
    pub loan_cash: u64,
    pub reserve: u64,
    pub lender_assets: u64,
    /// Σ borrowers' debt at face value (due at expiry).
    pub debt_face: u64,
    /// Lender claims outstanding (= the lender mint's supply): shares of `loan_cash + debt_face`
    /// until settlement, of `lender_assets` and `lender_risky` after.
    pub lender_claims: u64,
    /// Borrower residual claims outstanding (= the residual mint's supply).
    pub residual_supply: u64,
    /// Swap fees paid into the reserve fund, all time.
    pub reserve_premiums: u64,
    /// Where the weight ramp ends (Fix bits) and when.
    pub target_weight: WrappedI128,
    pub ramp_end_ts: i64,
    /// The slot of the last weighted swap and the balances at that slot's first swap: swaps in
    /// one slot may move a balance by at most `max_trade_ratio_bps` of it, together.
    pub swap_slot: u64,
    pub slot_risky_start: u64,
    pub slot_riskless_start: u64,
    /// The last oracle mid price the pool accepted (Fix bits): a pool whose oracle stops settles
    /// in kind at it.
    pub last_price: WrappedI128,
    /// Publish time of the first tight print that showed the conversion breach (0: none).
    pub breach_publish_ts: i64,
    /// Risky set aside for lenders by a settlement in kind.
    pub lender_risky: u64,
    /// When the oracle published `last_price`.
    pub last_price_ts: i64,
    pub reserved: [u8; 168],
}

impl CrpPool {
    pub const SIZE: usize = 8 + core::mem::size_of::<CrpPool>();

    pub fn require_not_paused(&self, flag: u8) -> Result<()> {
        require!(self.paused & flag == 0, crate::errors::CrpError::Paused);
        Ok(())
    }

    /// Only an active, unexpired pool lends, borrows, trades at its weights or re-weights.
    pub fn require_active(&self, now: i64) -> Result<()> {
        use crate::errors::CrpError;
        match self.status {
            status::ACTIVE => {}
            status::CONVERTING => return err!(CrpError::Converting),
            status::CONVERTED => return err!(CrpError::Converted),
            status::SETTLING => return err!(CrpError::Settling),
            _ => return err!(CrpError::Expired),
        }
        require!(now < self.expiry, CrpError::Expired);
        Ok(())
    }

    /// Remember a validated price as the pool's last (the price a stale pool settles at).
    pub fn record_price(&mut self, prices: &crate::oracle::Prices) {
        if prices.publish_time >= self.last_price_ts {
            self.last_price.set_fix(prices.mid);
            self.last_price_ts = prices.publish_time;
        }
    }

    /// The risky weight at `now`, along the ramp the last rebalance set.
    pub fn weight_at(&self, now: i64) -> Result<keel_math::Fix> {
        keel_math::crp::ramp_weight(
            self.risky_weight.fix(),
            self.target_weight.fix(),
            self.last_rebalance_ts,
            self.ramp_end_ts,
            now,
        )
        .map_err(crate::errors::math)
    }

    /// Seconds until expiry (0 after it).
    pub fn secs_left(&self, now: i64) -> u64 {
        self.expiry.saturating_sub(now).max(0) as u64
    }

    /// Vault totals the accounting says there must be.
    pub fn riskless_total(&self) -> u128 {
        self.riskless_balance as u128
            + self.loan_cash as u128
            + self.reserve as u128
            + self.lender_assets as u128
    }
}

// the layout is the account's: 880 bytes since version 1 (new fields came out of `reserved`)
const _: () = assert!(core::mem::size_of::<CrpPool>() == 880);
