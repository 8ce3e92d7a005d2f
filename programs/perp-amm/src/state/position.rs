use anchor_lang::prelude::*;

use keel_onchain::WrappedI128;

/// One trader's position in one market: PDA [POSITION_SEED, market, owner].
#[account]
#[derive(InitSpace)]
pub struct Position {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    /// Base native units, > 0 long, < 0 short.
    pub size: i64,
    /// Σ fill size × index price (quote native), signed like `size`, rounded toward +∞ at every
    /// fill so unrealised PnL = size·s − entry_notional never favours the trader.
    pub entry_notional: i64,
    /// Margin held for this position (quote native).
    pub collateral: u64,
    /// The side's funding index at the last settlement (Fix bits).
    pub funding_snapshot: WrappedI128,
    pub opened_at: i64,
    pub bump: u8,
    /// Requests that name this position: while any is pending the account stays open (a full
    /// close or liquidation leaves it empty), so every request can still be executed or cleared.
    pub pending_requests: u8,
    /// Premiums this position has paid and not had back as rebates (quote native): the most
    /// its later fills can be rebated. Held in the market's premium balance; released to LP
    /// capital when the position closes.
    pub premium_paid: u64,
    pub reserved: [u8; 23],
}

impl Position {
    pub fn is_long(&self) -> bool {
        self.size > 0
    }
}
