use anchor_lang::prelude::*;

/// Perp AMM errors. Append-only: codes are part of the interface (6000 + position).
#[error_code]
pub enum PerpError {
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
    #[msg("Account belongs to another pool")]
    WrongPool,
    /// 6004
    #[msg("Account belongs to another market")]
    WrongMarket,
    /// 6005
    #[msg("Wrong mint")]
    WrongMint,
    /// 6006
    #[msg("Wrong vault")]
    WrongVault,
    /// 6007
    #[msg("Wrong oracle account")]
    WrongOracle,
    /// 6008
    #[msg("Oracle price is stale")]
    StaleOracle,
    /// 6009
    #[msg("Oracle confidence interval is too wide")]
    OracleConfidence,
    /// 6010
    #[msg("Oracle price is not positive")]
    InvalidOraclePrice,
    /// 6011
    #[msg("Instruction group is paused")]
    Paused,
    /// 6012
    #[msg("Invalid parameter")]
    InvalidParameter,
    /// 6013
    #[msg("Pool holds the maximum number of markets")]
    TooManyMarkets,
    /// 6014
    #[msg("Leverage above the market maximum")]
    MaxLeverage,
    /// 6015
    #[msg("Open interest cap exceeded")]
    OpenInterestCap,
    /// 6016
    #[msg("Execution price beyond the limit price")]
    SlippageExceeded,
    /// 6017
    #[msg("Position is below maintenance margin")]
    BelowMaintenanceMargin,
    /// 6018
    #[msg("Position is not liquidatable")]
    NotLiquidatable,
    /// 6019
    #[msg("Not enough LP shares")]
    InsufficientShares,
    /// 6020
    #[msg("Withdrawal would take capital reserved for open positions")]
    CapitalReserved,
    /// 6021
    #[msg("Pool default probability would exceed the market's maximum")]
    DefaultProbabilityCap,
    /// 6022
    #[msg("Trade would flip or exceed the position")]
    InvalidSize,
    /// 6023
    #[msg("Not enough collateral")]
    InsufficientCollateral,
    /// 6024
    #[msg("Signer is not the position owner")]
    NotPositionOwner,
    /// 6025
    #[msg("Signer is not the pending authority")]
    NotPendingAuthority,
    /// 6026
    #[msg("Signer is not the oracle authority")]
    NotOracleAuthority,
    /// 6027
    #[msg("Remaining accounts do not match the pool's markets")]
    MarketAccountsMismatch,
    /// 6028
    #[msg("Deposit too small")]
    DepositTooSmall,
    /// 6029
    #[msg("Pool value is not positive")]
    PoolInsolvent,
    /// 6030
    #[msg("Oracle timestamp went backwards")]
    OracleNotMonotonic,
    /// 6031
    #[msg("Market is not active")]
    MarketInactive,
    /// 6032
    #[msg("Position size is below the market minimum")]
    DustPosition,
    /// 6033
    #[msg("Risk model: sigma must be in (0, 5] for every covered market")]
    RiskSigma,
    /// 6034
    #[msg("Risk model: a correlation is outside [-1, 1]")]
    RiskCorrelation,
    /// 6035
    #[msg("Risk model: the certificate does not show R positive semi-definite")]
    RiskNotPositiveSemidefinite,
    /// 6036
    #[msg("Risk model: a parameter moved more than one update allows")]
    RiskStepTooLarge,
    /// 6037
    #[msg("Risk model: the data time is not newer than the current model, or in the future")]
    RiskStale,
    /// 6038
    #[msg("Risk model: the staged write is outside the staging area")]
    RiskStageOutOfRange,
    /// 6039
    #[msg("Signer is not the risk model's publisher")]
    NotRiskAuthority,
    /// 6040
    #[msg("The risk model has no committed parameters yet")]
    RiskNotCommitted,
    /// 6041
    #[msg("The trade would raise the Imbalance Score above the pool's limit")]
    ImbalanceLimit,
    /// 6042
    #[msg("Risk model account missing, or not the pool's")]
    WrongRiskModel,
    /// 6043
    #[msg("The market is not covered by the pool's risk model yet: positions may only shrink")]
    MarketNotInRiskModel,
    /// 6044
    #[msg("Oracle price is published in the future")]
    OracleInFuture,
    /// 6045
    #[msg("The request's arguments do not fit its kind (size, collateral, trigger or expiry)")]
    InvalidRequest,
    /// 6046
    #[msg("The price was published before the request could execute")]
    PriceBeforeRequest,
    /// 6047
    #[msg("The price is older than one this market has already used")]
    PriceOlderThanMarket,
    /// 6048
    #[msg("The request has expired: clear it to refund its owner")]
    RequestExpired,
    /// 6049
    #[msg("The request is still live: only its owner may cancel it")]
    RequestNotExpired,
    /// 6050
    #[msg("The oracle price has not reached the order's trigger")]
    TriggerNotReached,
    /// 6051
    #[msg("Signer does not own this request")]
    NotRequestOwner,
    /// 6052
    #[msg("The keeper fee is below the pool's minimum")]
    KeeperFeeTooLow,
    /// 6053
    #[msg("This instruction does not handle this kind of request")]
    WrongRequestKind,
    /// 6054
    #[msg("The request may not execute yet (withdrawal delay)")]
    RequestNotReady,
    /// 6055
    #[msg("Token account is not the one the request pays or refunds")]
    WrongPayoutAccount,
    /// 6056
    #[msg("There is no open position for this request to act on")]
    NoPosition,
    /// 6057
    #[msg("The position the request named was closed since (the request no longer applies)")]
    PositionChanged,
    /// 6058
    #[msg("Request slot out of range: an owner holds at most 16 requests per pool")]
    RequestSlotOutOfRange,
    /// 6059
    #[msg("Position is not the one the request names")]
    WrongPosition,
    /// 6060
    #[msg("The execution price is older than requests accept (10 s)")]
    ExecutionPriceTooOld,
    /// 6061
    #[msg("A market request cannot be cancelled before it expires")]
    CancelTooEarly,
    /// 6062
    #[msg("This request slot holds a pending request")]
    RequestSlotInUse,
    /// 6063
    #[msg("Risk model: too soon after the last commit")]
    RiskTooSoon,
    /// 6064
    #[msg("Risk model: a parameter moved further over the rolling window than its bound")]
    RiskWindowExceeded,
    /// 6065
    #[msg("Risk model: sigma outside the range set for its market")]
    RiskSigmaOutOfRange,
    /// 6066
    #[msg("Parameter change: a worsening step larger than one change may make")]
    ChangeTooLarge,
    /// 6067
    #[msg("Parameter change: it worsens open positions' terms and must be announced first")]
    ChangeNeedsNotice,
    /// 6068
    #[msg("Parameter change: its notice period has not passed")]
    ChangeNotDue,
    /// 6069
    #[msg("Parameter change: none is pending")]
    NoPendingChange,
    /// 6070
    #[msg("Parameter change: one is already pending; cancel it first")]
    ChangePending,
    /// 6071
    #[msg("Parameter change: its window to be applied has passed")]
    ChangeExpired,
    /// 6072
    #[msg("Auto-deleveraging: traders' unrealised profit is within its ceiling")]
    ProfitWithinCeiling,
    /// 6073
    #[msg("Auto-deleveraging: the position is not in profit")]
    PositionNotInProfit,
    /// 6074
    #[msg("Market change: the market's parameters changed since it was proposed")]
    ChangeOutdated,
    /// 6075
    #[msg("Auto-deleveraging: the keeper may not be the position's owner")]
    DeleverageOwnPosition,
    /// 6076
    #[msg(
        "The market is closed (its schedule): no fill, liquidation or funding-free price until it reopens"
    )]
    MarketClosed,
    /// 6077
    #[msg(
        "Schedule: sessions empty, past the week, out of order, overlapping, or open under two days a week"
    )]
    ScheduleSessions,
    /// 6078
    #[msg(
        "Schedule: a holiday that has begun, or begins within an hour of the schedule taking effect"
    )]
    HolidayInPast,
    /// 6079
    #[msg("Schedule: a holiday empty, over four days, not on a minute, or within a day of another")]
    HolidayInvalid,
    /// 6080
    #[msg("The calendar account is not the pool's")]
    WrongCalendar,
    /// 6081
    #[msg("The market is not within the hour before a long close (weekend, holiday, overnight)")]
    NotClosingSoon,
    /// 6082
    #[msg("The position is within the leverage it may hold over a close")]
    WithinCloseLeverage,
}

impl From<keel_math::MathError> for PerpError {
    fn from(e: keel_math::MathError) -> Self {
        match e {
            keel_math::MathError::Domain => PerpError::InvalidParameter,
            _ => PerpError::MathOverflow,
        }
    }
}

/// The shared on-chain code's errors as this program's codes: the one place they are mapped.
pub fn onchain(e: keel_onchain::OnchainError) -> Error {
    use keel_onchain::OnchainError as E;
    match e {
        E::WrongOracle => error!(PerpError::WrongOracle),
        E::StaleOracle => error!(PerpError::StaleOracle),
        E::OracleConfidence => error!(PerpError::OracleConfidence),
        E::InvalidOraclePrice => error!(PerpError::InvalidOraclePrice),
        E::MathOverflow => error!(PerpError::MathOverflow),
        E::OracleInFuture => error!(PerpError::OracleInFuture),
        E::AccountBorrowFailed => ProgramError::AccountBorrowFailed.into(),
    }
}
