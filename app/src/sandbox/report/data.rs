//! The report's data: every series and table it draws, collected in one pass over the event log.

use std::collections::BTreeMap;

use crate::sandbox::events::{Event, LpParts, What};
use crate::sandbox::usd;

/// Points (replay day, value).
pub(super) type Series = Vec<(f64, f64)>;

/// Per-market counts for the report's table.
#[derive(Default)]
pub(super) struct MarketRow {
    pub fills: u64,
    pub premiums: u64,
    pub rebates: u64,
    pub fees: u64,
    pub liquidations: u64,
    pub refused: u64,
}

/// A market that keeps hours: days its hours had it closed at noon, positions cut before a
/// long close (and the notional cut), liquidations on the first price after a reopen and the
/// bad debt they left.
#[derive(Default)]
pub(super) struct HoursRow {
    pub closed_days: u64,
    pub cuts: u64,
    pub cut_notional: u64,
    pub reopen_liquidations: u64,
    pub reopen_bad_debt: u64,
}

/// LP deposits and withdrawals executed while a market with open interest was closed.
#[derive(Default)]
pub(super) struct LpWhileClosed {
    pub deposits: u64,
    pub deposited: u64,
    pub withdrawals: u64,
    pub withdrawn: u64,
}

/// Where a market's LP result came from (native units, signed as the LPs see them): each part
/// of every fill's cash to and from LP capital, and the traders' unrealised PnL at the end.
/// `total()` is the market's LP result; over all markets it is the LP value at the end less the
/// LPs' net deposits, exactly (the desk checks every day that the parts account for LP capital).
#[derive(Clone, Copy, Default)]
pub(super) struct Attribution {
    pub fees: i128,
    pub funding: i128,
    /// Premiums the LPs kept: what positions paid and did not get back as rebates.
    pub premiums_kept: i128,
    /// Traders' realised PnL against the pool: losses owed less profits paid from LP capital.
    pub realized: i128,
    /// Losses owed that the collateral could not pay.
    pub bad_debt: i128,
    /// What the default fund paid LP capital for that bad debt.
    pub default_fund_cover: i128,
    /// Traders' unrealised PnL at the end, as a withdrawal values it (the LPs' side of it).
    pub unrealized: i128,
    /// Memo items, not LP money: premiums charged and rebated (through the premium balances),
    /// keepers' liquidation rewards (from collateral or the default fund) and profits the
    /// default fund paid once LP capital was empty.
    pub premiums_charged: i128,
    pub rebates: i128,
    pub keeper_rewards: i128,
    pub profit_from_default_fund: i128,
}

impl Attribution {
    fn add(&mut self, lp: &LpParts) {
        self.fees += lp.fees as i128;
        self.funding += lp.funding as i128;
        self.premiums_kept += lp.premium_released as i128;
        self.realized += lp.loss_owed as i128 - lp.profit_paid as i128;
        self.bad_debt -= (lp.loss_owed - lp.loss_taken) as i128;
        self.default_fund_cover += lp.default_fund_cover as i128;
        self.profit_from_default_fund += lp.profit_from_default_fund as i128;
    }

    /// The LP result: every part but the memo items.
    pub fn total(&self) -> i128 {
        self.fees
            + self.funding
            + self.premiums_kept
            + self.realized
            + self.bad_debt
            + self.default_fund_cover
            + self.unrealized
    }

    pub fn plus(&self, o: &Attribution) -> Attribution {
        Attribution {
            fees: self.fees + o.fees,
            funding: self.funding + o.funding,
            premiums_kept: self.premiums_kept + o.premiums_kept,
            realized: self.realized + o.realized,
            bad_debt: self.bad_debt + o.bad_debt,
            default_fund_cover: self.default_fund_cover + o.default_fund_cover,
            unrealized: self.unrealized + o.unrealized,
            premiums_charged: self.premiums_charged + o.premiums_charged,
            rebates: self.rebates + o.rebates,
            keeper_rewards: self.keeper_rewards + o.keeper_rewards,
            profit_from_default_fund: self.profit_from_default_fund + o.profit_from_default_fund,
        }
    }
}

/// What the rebate hunter's fills did (native units).
#[derive(Default)]
pub(super) struct HunterRow {
    pub opens: u64,
    pub closes: u64,
    pub premiums: u64,
    pub rebates: u64,
    pub fees: u64,
    pub funding: u64,
    pub realized: i128,
    pub liquidated: u64,
}

/// Sums over the log so far (native units), sampled into the cumulative series at each day's end.
#[derive(Default)]
struct Running {
    charged: u64,
    rebated: u64,
    fees: u64,
    liquidations: u64,
    bad_debt: u64,
    /// The first day's LP share value, the share series' unit.
    first_share: Option<f64>,
}

/// Everything the figures and the text draw on.
#[derive(Default)]
pub(super) struct ReportData {
    /// The Imbalance Score limit, bps of LP capital, from the set-up.
    pub max_is_bps: u32,
    /// The set-up's markets and their price sources, pairwise.
    pub setup_markets: Vec<String>,
    pub setup_sources: Vec<String>,
    /// Counts by market name.
    pub markets: BTreeMap<String, MarketRow>,
    /// The collateral pool table's rows, in log order.
    pub crp_rows: Vec<String>,
    /// At each day's end: LP share value (1 = first day) and LP capital (million USD).
    pub share: Series,
    pub lp_capital: Series,
    /// At each day's end: the Imbalance Score and its limit (USD).
    pub is: Series,
    pub limit: Series,
    /// At each day's end, cumulative: premiums charged, rebates paid, fees (USD).
    pub charged: Series,
    pub rebated: Series,
    pub fees: Series,
    /// At each day's end, cumulative: liquidations (count) and bad debt (USD).
    pub liq_count: Series,
    pub bad_debt: Series,
    /// At each collateral pool rebalance: the risky weight and the Black–Scholes delta.
    pub weight: Series,
    pub delta: Series,
    /// The days of flights to quality.
    pub conversions: Vec<f64>,
    /// The rebate hunter's fills.
    pub hunter: HunterRow,
    /// The LP result's attribution per market, in the set-up's order.
    pub attribution: Vec<Attribution>,
    /// Market hours: per market that keeps them, LP flows while closed, and the operator's
    /// holiday announcements (date, schedule, holidays).
    pub hours: BTreeMap<String, HoursRow>,
    pub lp_while_closed: LpWhileClosed,
    pub holidays: Vec<(String, String, Vec<String>)>,
    /// LP deposits less withdrawals, and the LP value (withdrawal valuation) at the last day.
    pub net_deposits: i128,
    pub final_pool_value: i128,
    running: Running,
}

impl ReportData {
    pub fn of(events: &[Event]) -> Self {
        let mut d = Self::default();
        for e in events {
            d.add(e);
        }
        d
    }

    fn add(&mut self, e: &Event) {
        let x = e.day as f64;
        if let Some(row) = crp_row(e) {
            self.crp_rows.push(row);
        }
        match &e.what {
            What::Setup {
                markets,
                sources,
                max_imbalance_bps,
                ..
            } => {
                self.max_is_bps = *max_imbalance_bps;
                self.setup_markets = markets.clone();
                self.setup_sources = sources.clone();
                self.attribution = vec![Attribution::default(); markets.len()];
            }
            What::Fill {
                market,
                premium,
                fees,
                lp,
                trader,
                action,
                funding_paid,
                realized_pnl,
                ..
            } => {
                if trader == crate::sandbox::agents::RebateHunter::NAME {
                    let h = &mut self.hunter;
                    if action == "open" {
                        h.opens += 1;
                    } else {
                        h.closes += 1;
                    }
                    if *premium >= 0 {
                        h.premiums += *premium as u64;
                    } else {
                        h.rebates += premium.unsigned_abs();
                    }
                    h.fees += fees;
                    h.funding += funding_paid;
                    h.realized += *realized_pnl as i128;
                }
                self.add_fill(market, *premium, *fees);
                if let Some(a) = self.attribution_of(market) {
                    a.add(lp);
                    if *premium >= 0 {
                        a.premiums_charged += *premium as i128;
                    } else {
                        a.rebates += premium.unsigned_abs() as i128;
                    }
                }
            }
            What::Deleverage { market, lp, .. } => {
                if let Some(a) = self.attribution_of(market) {
                    a.add(lp);
                }
            }
            What::CloseReduction {
                market,
                lp,
                premium,
                notional,
                ..
            } => {
                if let Some(a) = self.attribution_of(market) {
                    a.add(lp);
                    if *premium >= 0 {
                        a.premiums_charged += *premium as i128;
                    } else {
                        a.rebates += premium.unsigned_abs() as i128;
                    }
                }
                let h = self.hours_row(market);
                h.cuts += 1;
                h.cut_notional += *notional;
            }
            What::LpDeposit {
                amount,
                closed_markets,
                ..
            } => {
                self.net_deposits += *amount as i128;
                if *closed_markets > 0 {
                    self.lp_while_closed.deposits += 1;
                    self.lp_while_closed.deposited += amount;
                }
            }
            What::LpWithdraw {
                amount,
                closed_markets,
                ..
            } => {
                self.net_deposits -= *amount as i128;
                if *closed_markets > 0 {
                    self.lp_while_closed.withdrawals += 1;
                    self.lp_while_closed.withdrawn += amount;
                }
            }
            What::HolidaysAnnounced {
                schedule, holidays, ..
            } => self
                .holidays
                .push((e.date.clone(), schedule.clone(), holidays.clone())),
            What::Refused { market, .. } => self.market(market).refused += 1,
            What::Liquidation {
                market,
                bad_debt,
                lp,
                keeper_reward,
                owner,
                at_reopen,
                ..
            } => {
                if owner == crate::sandbox::agents::RebateHunter::NAME {
                    self.hunter.liquidated += 1;
                }
                if *at_reopen {
                    let h = self.hours_row(market);
                    h.reopen_liquidations += 1;
                    h.reopen_bad_debt += bad_debt;
                }
                if let Some(a) = self.attribution_of(market) {
                    a.add(lp);
                    a.keeper_rewards += *keeper_reward as i128;
                }
                self.market(market).liquidations += 1;
                self.running.liquidations += 1;
                self.running.bad_debt += bad_debt;
            }
            What::CrpRebalance {
                delta_e9,
                weight_e9,
                ..
            } => {
                self.weight.push((x, *weight_e9 as f64 / 1e9));
                self.delta.push((x, *delta_e9 as f64 / 1e9));
            }
            What::CrpConversion { .. } => self.conversions.push(x),
            What::Day {
                pool_value,
                lp_supply,
                lp_capital,
                imbalance_score,
                unrealized,
                closed,
                ..
            } => {
                for m in closed {
                    self.hours_row(m).closed_days += 1;
                }
                // the LPs' side of traders' unrealised PnL, as of the latest day
                for (a, u) in self.attribution.iter_mut().zip(unrealized) {
                    a.unrealized = -(*u as i128);
                }
                self.final_pool_value = *pool_value as i128;
                self.add_day(x, *pool_value, *lp_supply, *lp_capital, *imbalance_score)
            }
            _ => {}
        }
    }

    fn hours_row(&mut self, market: &str) -> &mut HoursRow {
        self.hours.entry(market.to_string()).or_default()
    }

    fn attribution_of(&mut self, market: &str) -> Option<&mut Attribution> {
        let i = self.setup_markets.iter().position(|m| m == market)?;
        self.attribution.get_mut(i)
    }

    /// Over all markets.
    pub fn attribution_total(&self) -> Attribution {
        self.attribution
            .iter()
            .fold(Attribution::default(), |t, a| t.plus(a))
    }

    fn market(&mut self, market: &str) -> &mut MarketRow {
        self.markets.entry(market.to_string()).or_default()
    }

    fn add_fill(&mut self, market: &str, premium: i64, fee: u64) {
        let row = self.markets.entry(market.to_string()).or_default();
        row.fills += 1;
        row.fees += fee;
        if premium >= 0 {
            self.running.charged += premium as u64;
            row.premiums += premium as u64;
        } else {
            self.running.rebated += premium.unsigned_abs();
            row.rebates += premium.unsigned_abs();
        }
        self.running.fees += fee;
    }

    fn add_day(&mut self, x: f64, pool_value: i64, lp_supply: u64, cap: u64, imbalance: u64) {
        let s = pool_value as f64 / lp_supply as f64;
        let first = *self.running.first_share.get_or_insert(s);
        let r = &self.running;
        self.share.push((x, s / first));
        self.lp_capital.push((x, usd(cap as i128) / 1e6));
        self.is.push((x, imbalance as f64 / 1e3));
        self.limit
            .push((x, usd(cap as i128) * self.max_is_bps as f64 / 1e4));
        self.charged.push((x, usd(r.charged as i128)));
        self.rebated.push((x, usd(r.rebated as i128)));
        self.fees.push((x, usd(r.fees as i128)));
        self.liq_count.push((x, r.liquidations as f64));
        self.bad_debt.push((x, usd(r.bad_debt as i128)));
    }
}

/// The collateral pool table's row for a pool's opening, flight to quality or settlement.
fn crp_row(e: &Event) -> Option<String> {
    let row = match &e.what {
        What::CrpConversion {
            pool,
            price,
            ltv_bps,
        } => format!(
            "| {} | {pool} | flight to quality at {price:.0}, LTV {:.1} % |",
            e.date,
            *ltv_bps as f64 / 100.0
        ),
        What::CrpOpened {
            pool,
            strike,
            lent,
            borrowed,
            collateral_risky,
            ..
        } => format!(
            "| {} | {pool} | opened at strike {strike:.0}: {:.0} lent, {:.0} borrowed against {:.1} BTC |",
            e.date,
            usd(*lent as i128),
            usd(*borrowed as i128),
            *collateral_risky as f64 / 1e8
        ),
        What::CrpSettled {
            pool,
            price,
            lender_paid,
            lender_owed,
            borrower_risky,
            borrower_riskless,
        } => format!(
            "| {} | {pool} | settled at {price:.0}: lenders paid {:.2} of {:.2} owed; borrowers got {:.4} BTC and {:.2} USD |",
            e.date,
            usd(*lender_paid as i128),
            usd(*lender_owed as i128),
            *borrower_risky as f64 / 1e8,
            usd(*borrower_riskless as i128)
        ),
        _ => return None,
    };
    Some(row)
}
