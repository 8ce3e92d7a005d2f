//! Errors of the shared code. Not an Anchor error enum: the programs map these onto their own
//! append-only codes (`perp_amm::errors::onchain`, `collateral_pool::errors::onchain`), so a
//! change here cannot renumber either program's errors.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnchainError {
    /// The account is not the expected oracle: address, owner, type, pool or feed id.
    WrongOracle,
    /// The price is older than the caller allows.
    StaleOracle,
    /// The confidence interval is wider than the caller allows.
    OracleConfidence,
    /// The price is zero or negative.
    InvalidOraclePrice,
    /// A push oracle's price is stamped after the cluster's clock (it would never go stale).
    OracleInFuture,
    /// A decimal rescale overflowed.
    MathOverflow,
    /// The account's data is already mutably borrowed (the runtime's `AccountBorrowFailed`).
    AccountBorrowFailed,
}

impl core::fmt::Display for OnchainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}
