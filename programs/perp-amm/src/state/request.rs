//! Requests: what a trader or LP asks for, executed later by a keeper at a price published
//! after the request was made. A request is an account of its own (PDA [REQUEST_SEED, pool,
//! owner, slot]), holds its rent and keeper fee in lamports, and is closed to its owner when it
//! is executed, refused, cancelled or cleared.

use anchor_lang::prelude::*;

use crate::constants::{
    MAX_MIN_KEEPER_FEE_LAMPORTS, MAX_ORDER_WINDOW_SECS, MAX_TRIGGER_LIFETIME_SECS,
    MAX_WITHDRAWAL_DELAY_SECS,
};
use crate::errors::PerpError;

/// What a request asks for.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum RequestKind {
    /// Open or add to a position (`size` signed, `collateral` escrowed), at once.
    MarketIncrease,
    /// Reduce a position by `size` (≥ its size, or 0: close it and pay out), at once.
    MarketReduce,
    /// Take `collateral` of margin out, at once.
    RemoveCollateral,
    /// Open or add to a position when the oracle is at or better than the trigger: at or below
    /// it for a long, at or above it for a short.
    LimitIncrease,
    /// Reduce when the oracle reaches the trigger in the position's favour.
    TakeProfit,
    /// Reduce when the oracle reaches the trigger against the position.
    StopLoss,
    /// Deposit `collateral` quote tokens (escrowed) for LP shares.
    Deposit,
    /// Redeem `size` LP shares (escrowed), no earlier than the pool's withdrawal delay.
    Withdraw,
}

impl RequestKind {
    pub fn is_trigger(self) -> bool {
        matches!(
            self,
            RequestKind::LimitIncrease | RequestKind::TakeProfit | RequestKind::StopLoss
        )
    }
    pub fn is_lp(self) -> bool {
        matches!(self, RequestKind::Deposit | RequestKind::Withdraw)
    }
    /// Kinds that act on an existing position and name it by its `opened_at`.
    pub fn acts_on_position(self) -> bool {
        matches!(
            self,
            RequestKind::MarketReduce
                | RequestKind::RemoveCollateral
                | RequestKind::TakeProfit
                | RequestKind::StopLoss
        )
    }
    pub fn increases(self) -> bool {
        matches!(
            self,
            RequestKind::MarketIncrease | RequestKind::LimitIncrease
        )
    }
}

/// A pending request.
#[account]
#[derive(InitSpace)]
pub struct Request {
    pub pool: Pubkey,
    pub owner: Pubkey,
    /// The market traded (default for LP requests).
    pub market: Pubkey,
    /// Where payouts go: the owner's quote account (trades, withdrawals) or LP account
    /// (deposits). Checked when the request is placed.
    pub pay_to: Pubkey,
    /// Where escrow returns on refusal, cancel or expiry: quote (opens, deposits) or LP shares
    /// (withdrawals).
    pub refund_to: Pubkey,
    pub kind: RequestKind,
    /// The owner's request slot (< MAX_REQUESTS_PER_OWNER), part of the address.
    pub slot: u8,
    pub bump: u8,
    /// Base native units: signed for increases, a positive amount (0: all) for reductions; LP
    /// shares for a withdrawal.
    pub size: i64,
    /// Quote native escrowed (open collateral, deposit), or margin to remove.
    pub collateral: u64,
    /// Worst acceptable average fill price, quote per base ×1e9 (0 / u64::MAX: none); for LP
    /// requests, the fewest shares (deposit) or quote tokens (withdrawal) accepted.
    pub acceptable: u64,
    /// Trigger price, quote per base ×1e9 (trigger kinds only).
    pub trigger_price_e9: u64,
    /// `opened_at` of the position the request acts on (reductions, margin, TP/SL): a position
    /// closed and reopened since is another position, and the request no longer applies.
    pub position_opened_at: i64,
    pub created_ts: i64,
    /// Earliest execution (a withdrawal's delay; `created_ts` otherwise): the price must be
    /// published after both.
    pub executable_ts: i64,
    /// Last moment of execution; then anyone may clear it, refunding the owner.
    pub expires_ts: i64,
    /// Lamports above rent paid to the executing keeper (refunded on cancel or expiry).
    pub keeper_fee: u64,
    /// An increase placed with no position (or an empty one) also holds the position account's
    /// rent, with which its execution creates the account; returned to the owner otherwise.
    pub position_rent: u64,
    /// The position address's bump the client gave (checked canonical when it is created).
    pub position_bump: u8,
    pub reserved: [u8; 23],
}

impl Request {
    /// The price used to execute must be published strictly after this.
    pub fn price_not_before(&self) -> i64 {
        self.created_ts.max(self.executable_ts)
    }

    /// Quote tokens the request holds in the vault's `request_escrow`.
    pub fn escrowed_quote(&self) -> u64 {
        match self.kind {
            RequestKind::MarketIncrease | RequestKind::LimitIncrease | RequestKind::Deposit => {
                self.collateral
            }
            _ => 0,
        }
    }

    /// LP shares the request holds in the pool's LP escrow account.
    pub fn escrowed_shares(&self) -> u64 {
        match self.kind {
            RequestKind::Withdraw => self.size as u64,
            _ => 0,
        }
    }
}

/// A pool's request settings (set at `init_pool`, changed by `set_request_params`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestParams {
    /// A market or LP request must execute within this many seconds of becoming executable
    /// (and on a price published in that window); then it expires and refunds.
    pub order_window_secs: u32,
    /// A withdrawal request may execute only this long after it was placed.
    pub withdrawal_delay_secs: u32,
    /// The smallest keeper fee a request may carry, lamports.
    pub min_keeper_fee_lamports: u64,
}

impl RequestParams {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.order_window_secs > 0
                && self.order_window_secs <= MAX_ORDER_WINDOW_SECS
                && self.withdrawal_delay_secs <= MAX_WITHDRAWAL_DELAY_SECS
                && self.min_keeper_fee_lamports <= MAX_MIN_KEEPER_FEE_LAMPORTS,
            PerpError::InvalidParameter
        );
        Ok(())
    }
}

/// The longest a trigger order may live.
pub fn max_trigger_expiry(now: i64) -> i64 {
    now + MAX_TRIGGER_LIFETIME_SECS
}
