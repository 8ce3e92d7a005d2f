//! The sandbox's event log: every fill, fee, premium, liquidation, LP flow, keeper action and a
//! daily balance line, in the order they happened. Amounts are integers in the quote token's
//! native units (6 decimals) unless named otherwise; the report is computed from this log alone.

use serde::{Deserialize, Serialize};

pub use crate::client::quote::LpParts;

/// One entry: the replay day (0-based), its date, and what happened.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub day: u32,
    pub date: String,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// The sandbox's set-up: markets, LP capital, default fund.
    Setup {
        markets: Vec<String>,
        sources: Vec<String>,
        lp_capital: u64,
        default_fund: u64,
        /// The Imbalance Score limit, bps of LP capital.
        max_imbalance_bps: u32,
    },
    /// `closed_markets`: markets with open interest that were closed by their hours then
    /// (valued at their last price moved against the pool by the gap allowance).
    LpDeposit {
        lp: String,
        amount: u64,
        shares: u64,
        #[serde(default)]
        closed_markets: u32,
    },
    LpWithdraw {
        lp: String,
        shares: u64,
        amount: u64,
        #[serde(default)]
        closed_markets: u32,
    },
    /// A trade filled. `premium` < 0 is a rebate. `size` is signed base native units.
    Fill {
        trader: String,
        market: String,
        action: String,
        size: i64,
        oracle_price: f64,
        fill_price: f64,
        q: f64,
        premium: i64,
        /// Premium balance released to LP capital by this fill.
        #[serde(default)]
        premium_released: u64,
        fees: u64,
        funding_paid: u64,
        realized_pnl: i64,
        payout: u64,
        imbalance_after: u64,
        /// What the fill moved in and out of LP capital.
        #[serde(default)]
        lp: LpParts,
    },
    /// A request's step: `placed`, `executed`, `refused` (executed, the fill refused and the
    /// escrow returned), `cancelled` by its owner or `cleared` by the keeper (expired, or its
    /// position gone). `order` names its kind; `market` is "-" for LP requests.
    Request {
        owner: String,
        market: String,
        order: String,
        outcome: String,
        keeper_fee: u64,
    },
    /// The program refused a trade (the agent's order was too large, too risky, ...).
    Refused {
        trader: String,
        market: String,
        action: String,
        code: Option<u32>,
        error: String,
    },
    Liquidation {
        owner: String,
        market: String,
        size: i64,
        oracle_price: f64,
        keeper_reward: u64,
        returned_to_owner: u64,
        bad_debt: u64,
        /// What the liquidation's fill moved in and out of LP capital (the keeper's reward
        /// comes from the collateral or the default fund, never LP capital).
        #[serde(default)]
        lp: LpParts,
        /// By the keeper watching between two daily closes (on the hourly path).
        #[serde(default)]
        intraday: bool,
        /// On the first price after the market's reopen (a gap through the margin).
        #[serde(default)]
        at_reopen: bool,
    },
    /// In the hour before a long close the keeper cut a position above its market's leverage
    /// over the close (`reduce_before_close`): `size` closed (signed like the position),
    /// leverage before and after.
    CloseReduction {
        owner: String,
        market: String,
        size: i64,
        oracle_price: f64,
        notional: u64,
        leverage_before: f64,
        leverage_after: f64,
        fees: u64,
        premium: i64,
        /// What the cut's fill moved in and out of LP capital.
        lp: LpParts,
    },
    /// The operator announced a schedule's holidays (`set_schedule`), in force from
    /// `effective_from` (unix seconds).
    HolidaysAnnounced {
        schedule: String,
        holidays: Vec<String>,
        effective_from: i64,
    },
    /// Auto-deleveraging closed `size` of a winner (traders' profit past the pool's ceiling).
    Deleverage {
        owner: String,
        market: String,
        size: i64,
        oracle_price: f64,
        realized_pnl: i64,
        lp: LpParts,
    },
    /// The risk keeper committed σ and R.
    RiskPublished {
        as_of: i64,
        sigma_e9: Vec<u64>,
        max_corr_step_e9: u64,
    },
    /// A collateral rebalancing pool was created.
    CrpOpened {
        pool: String,
        strike: f64,
        expiry: String,
        lent: u64,
        borrowed: u64,
        collateral_risky: u64,
    },
    /// The keeper re-weighted a crp (weights ×1e9).
    CrpRebalance {
        pool: String,
        price: f64,
        delta_e9: u64,
        weight_e9: u64,
        ltv_bps: u64,
    },
    /// A crp crossed its conversion LTV: flight to quality.
    CrpConversion {
        pool: String,
        price: f64,
        ltv_bps: u64,
    },
    CrpSettled {
        pool: String,
        price: f64,
        lender_paid: u64,
        /// What lenders were owed at expiry: unlent cash plus the debt at face.
        lender_owed: u64,
        borrower_risky: u64,
        borrower_riskless: u64,
    },
    /// End of day: the pool's balances and risk.
    Day {
        prices: Vec<f64>,
        lp_capital: u64,
        default_fund: u64,
        total_collateral: u64,
        /// Σ premium balances: premiums paid and not yet rebated or released to LPs.
        #[serde(default)]
        premium_balance: u64,
        vault: u64,
        /// LP capital less the traders' unrealised PnL, as a withdrawal would value it.
        pool_value: i64,
        lp_supply: u64,
        /// The Imbalance Score and ‖K‖, 1e-3 quote tokens.
        imbalance_score: u64,
        exposure_norm: u64,
        open_positions: u32,
        long_oi_value: u64,
        short_oi_value: u64,
        /// Per market: traders' unrealised PnL as a withdrawal values it (`lp_capital −
        /// pool_value`, split by market).
        #[serde(default)]
        unrealized: Vec<i64>,
        /// The markets their hours had closed at the day's snapshot.
        #[serde(default)]
        closed: Vec<String>,
    },
}

/// Totals over a log, the figures the report's summary prints.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Totals {
    pub fills: u64,
    pub refused: u64,
    pub premiums_charged: u64,
    pub rebates_paid: u64,
    pub fees: u64,
    pub funding_paid: u64,
    pub liquidations: u64,
    pub keeper_rewards: u64,
    pub bad_debt: u64,
    pub risk_publications: u64,
    pub crp_pools: u64,
    pub crp_rebalances: u64,
    pub crp_conversions: u64,
    pub requests_placed: u64,
    pub requests_executed: u64,
    pub requests_refused: u64,
    pub requests_cancelled: u64,
    pub requests_cleared: u64,
    /// Lamports paid to the keeper for executions (refusals included).
    pub keeper_fees: u64,
    /// Market hours: positions cut before a long close, liquidations on the first price after
    /// a reopen, and LP deposits and withdrawals executed while a market with open interest
    /// was closed.
    pub close_reductions: u64,
    pub reopen_liquidations: u64,
    pub lp_flows_while_closed: u64,
}

impl Totals {
    pub fn of(events: &[Event]) -> Self {
        let mut t = Totals::default();
        for e in events {
            match &e.what {
                What::Fill {
                    premium,
                    fees,
                    funding_paid,
                    ..
                } => {
                    t.fills += 1;
                    if *premium >= 0 {
                        t.premiums_charged += *premium as u64;
                    } else {
                        t.rebates_paid += premium.unsigned_abs();
                    }
                    t.fees += fees;
                    t.funding_paid += funding_paid;
                }
                What::Refused { .. } => t.refused += 1,
                What::Liquidation {
                    keeper_reward,
                    bad_debt,
                    at_reopen,
                    ..
                } => {
                    t.liquidations += 1;
                    t.keeper_rewards += keeper_reward;
                    t.bad_debt += bad_debt;
                    t.reopen_liquidations += *at_reopen as u64;
                }
                What::CloseReduction { .. } => t.close_reductions += 1,
                What::LpDeposit { closed_markets, .. }
                | What::LpWithdraw { closed_markets, .. } => {
                    t.lp_flows_while_closed += (*closed_markets > 0) as u64;
                }
                What::RiskPublished { .. } => t.risk_publications += 1,
                What::CrpOpened { .. } => t.crp_pools += 1,
                What::CrpRebalance { .. } => t.crp_rebalances += 1,
                What::CrpConversion { .. } => t.crp_conversions += 1,
                What::Request {
                    outcome,
                    keeper_fee,
                    ..
                } => match outcome.as_str() {
                    "placed" => t.requests_placed += 1,
                    "executed" => {
                        t.requests_executed += 1;
                        t.keeper_fees += keeper_fee;
                    }
                    "refused" => {
                        t.requests_refused += 1;
                        t.keeper_fees += keeper_fee;
                    }
                    "cancelled" => t.requests_cancelled += 1,
                    _ => t.requests_cleared += 1,
                },
                _ => {}
            }
        }
        t
    }
}
