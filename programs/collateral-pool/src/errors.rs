use anchor_lang::prelude::*;

/// Collateral-pool errors. Append-only: codes are part of the interface (6000 + position).
#[error_code]
pub enum CrpError {
    /// 6000
    #[msg("Math overflow")]
    MathOverflow,
    /// 6001
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    /// 6002
    #[msg("Signer is not the pool authority")]
    Unauthorized,
    /// 6003
    #[msg("Wrong mint")]
    WrongMint,
    /// 6004
    #[msg("Wrong vault")]
    WrongVault,
    /// 6005
    #[msg("Wrong oracle account")]
    WrongOracle,
    /// 6006
    #[msg("Oracle price is stale")]
    StaleOracle,
    /// 6007
    #[msg("Oracle confidence interval is too wide")]
    OracleConfidence,
    /// 6008
    #[msg("Oracle price is not positive")]
    InvalidOraclePrice,
    /// 6009
    #[msg("Instruction group is paused")]
    Paused,
    /// 6010
    #[msg("Invalid parameter")]
    InvalidParameter,
    /// 6011
    #[msg("The pool has expired")]
    Expired,
    /// 6012
    #[msg("The pool has not expired yet")]
    NotExpired,
    /// 6013
    #[msg("Loan above the initial loan-to-value of the collateral")]
    LoanToValue,
    /// 6014
    #[msg("Not enough unlent cash for this loan")]
    InsufficientLiquidity,
    /// 6015
    #[msg("Slippage limit exceeded")]
    SlippageExceeded,
    /// 6016
    #[msg("Trade above the pool's maximum in/out ratio")]
    TradeTooLarge,
    /// 6017
    #[msg("Rebalance before the minimum interval has passed")]
    RebalanceTooEarly,
    /// 6018
    #[msg("Signer is not the pool's keeper")]
    NotKeeper,
    /// 6019
    #[msg("The pool is converting to the riskless asset (flight to quality)")]
    Converting,
    /// 6020
    #[msg("The pool holds only the riskless asset: it no longer trades or re-weights")]
    Converted,
    /// 6021
    #[msg("Loan-to-value is below the conversion threshold")]
    BelowConversionThreshold,
    /// 6022
    #[msg("The pool is not settled yet")]
    NotSettled,
    /// 6023
    #[msg("The pool is settling: only the conversion sale and settle are open")]
    Settling,
    /// 6024
    #[msg("Residual equity of the pool is not positive")]
    PoolUnderwater,
    /// 6025
    #[msg("This operation is not available in the pool's current state")]
    WrongState,
    /// 6026
    #[msg("The borrow would take the pool to its conversion threshold")]
    WouldTriggerConversion,
    /// 6027
    #[msg("Swaps in this slot would move a balance by more than the trade cap")]
    SlotTradeLimit,
    /// 6028
    #[msg("Oracle price is published in the future")]
    OracleInFuture,
    /// 6029
    #[msg("The conversion breach is not confirmed yet")]
    BreachNotConfirmed,
    /// 6030
    #[msg("The swap would move the pool's price past the oracle's band")]
    PriceOffOracle,
}

impl From<keel_math::MathError> for CrpError {
    fn from(e: keel_math::MathError) -> Self {
        match e {
            keel_math::MathError::Domain => CrpError::InvalidParameter,
            _ => CrpError::MathOverflow,
        }
    }
}

/// A keel-math error as this program's error.
pub fn math(e: keel_math::MathError) -> Error {
    error!(CrpError::from(e))
}

/// The shared on-chain code's errors as this program's codes: the one place they are mapped.
pub fn onchain(e: keel_onchain::OnchainError) -> Error {
    use keel_onchain::OnchainError as E;
    match e {
        E::WrongOracle => error!(CrpError::WrongOracle),
        E::StaleOracle => error!(CrpError::StaleOracle),
        E::OracleConfidence => error!(CrpError::OracleConfidence),
        E::InvalidOraclePrice => error!(CrpError::InvalidOraclePrice),
        E::MathOverflow => error!(CrpError::MathOverflow),
        E::OracleInFuture => error!(CrpError::OracleInFuture),
        E::AccountBorrowFailed => ProgramError::AccountBorrowFailed.into(),
    }
}
