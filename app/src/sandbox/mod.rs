//! `keel sandbox`: the whole protocol on the embedded runtime, no validator. It deploys both
//! programs, creates the ten default markets, LPs, agent traders, keepers, lenders and
//! borrowers, replays daily prices, and writes a report with figures and the event log.
//!
//! Every trade is quoted first with the program's own code (`client::quote`) and then sent;
//! after it lands, the position and the pool on chain must equal the quote's, or the run
//! stops. The event log therefore records exactly what the programs did.

pub mod agents;
pub mod crp;
pub mod desk;
pub mod events;
pub mod hours;
pub mod prices;
pub mod report;
pub mod scenario;
pub mod world;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use perp_amm::instructions::RiskLimits;
use perp_amm::state::premium_mode;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::client::dates::noon;
use crate::client::presets::{calibration, default_markets};
use crate::client::quote::{TradeAction, quote_trade};
use crate::risk::{EstimateOptions, Join, PriceSeries, estimate};
use agents::{Agent, RebateHunter};
use desk::{Desk, Lp};
use events::{Totals, What};
use world::{USD, World};

/// Replay two years of daily prices through both programs and report what happened.
#[derive(Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Directory of `date,close` files named after the instruments (BTC-USD.csv, ETH-USD.csv,
    /// SOL-USD.csv, XRP-USD.csv, BNB-USD.csv, EUR-USD.csv, GBP-USD.csv, USD-JPY.csv, GC-F.csv,
    /// WTI.csv); missing ones come from the shipped FX/WTI files or the calibrated model
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// First replay date (ISO)
    #[arg(long, default_value = "2021-09-01")]
    pub from: String,
    /// Replay days (calendar days: crypto trades on each, FX, gold and oil keep their hours)
    #[arg(long, default_value_t = 730)]
    pub days: usize,
    /// Seed of the generated prices and the agents' coin flips
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Where the report, figures and event log go
    #[arg(long, default_value = "sandbox-out")]
    pub out: PathBuf,
    /// Report format
    #[arg(long, value_enum, default_value_t = report::Format::Md)]
    pub format: report::Format,
    /// The Imbalance Score limit, bps of LP capital (a one-sigma day's loss)
    #[arg(long, default_value_t = 500)]
    pub max_imbalance_bps: u32,
    /// LP capital deposited at the start, whole quote tokens (three LPs, 50/30/20)
    #[arg(long, default_value_t = 5_000_000)]
    pub lp_capital: u64,
    /// Scales every agent's position size
    #[arg(long, default_value_t = 3.0)]
    pub flow: f64,
    /// Run a scripted scenario (TOML) instead of the replay; the price and agent flags do not
    /// apply
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
}

/// What the run did, as printed.
#[derive(Debug, Serialize)]
pub struct SandboxReport {
    pub days: usize,
    pub first_date: String,
    pub last_date: String,
    pub markets: Vec<String>,
    pub sources: Vec<String>,
    pub transactions: u64,
    pub seconds: f64,
    pub totals: Totals,
    pub lp_return_pct: f64,
    pub final_imbalance_score: f64,
    pub peak_imbalance_score: f64,
    pub report: String,
    pub events: String,
    pub figures: Vec<String>,
}

impl SandboxReport {
    pub fn to_text(&self) -> String {
        let t = &self.totals;
        format!(
            "sandbox: {} days ({} .. {}), {} markets, {} transactions in {:.1} s\n\
             fills {} (refused {}), premiums {:.2} charged / {:.2} rebated, fees {:.2}, \
             funding {:.2}\n\
             requests {} placed, {} executed, {} refused, {} cancelled, {} cleared; keeper fees \
             {:.4} SOL\n\
             liquidations {} (keeper rewards {:.2}, bad debt {:.2}), risk publications {}\n\
             market hours: {} positions cut before a long close, {} liquidations at a reopen, \
             {} LP flows while a market was closed\n\
             collateral pools {} ({} rebalances, {} conversions)\n\
             LP return {:+.2} %, Imbalance Score {:.0} at the end (peak {:.0})\n\
             report {}\nevent log {}\n",
            self.days,
            self.first_date,
            self.last_date,
            self.markets.len(),
            self.transactions,
            self.seconds,
            t.fills,
            t.refused,
            usd(t.premiums_charged as i128),
            usd(t.rebates_paid as i128),
            usd(t.fees as i128),
            usd(t.funding_paid as i128),
            t.requests_placed,
            t.requests_executed,
            t.requests_refused,
            t.requests_cancelled,
            t.requests_cleared,
            t.keeper_fees as f64 / 1e9,
            t.liquidations,
            usd(t.keeper_rewards as i128),
            usd(t.bad_debt as i128),
            t.risk_publications,
            t.close_reductions,
            t.reopen_liquidations,
            t.lp_flows_while_closed,
            t.crp_pools,
            t.crp_rebalances,
            t.crp_conversions,
            self.lp_return_pct,
            self.final_imbalance_score,
            self.peak_imbalance_score,
            self.report,
            self.events,
        )
    }
}

/// Native quote units as whole tokens.
pub fn usd(native: i128) -> f64 {
    native as f64 / USD as f64
}

/// An open position the keeper watches: the agent and its market slot (none for the rebate
/// hunter), the market, and the owner.
type OpenPosition = (Option<(usize, usize)>, usize, world::Actor);

/// The sandbox's state between days.
pub struct Sandbox {
    pub desk: Desk,
    pub agents: Vec<Agent>,
    pub hunter: RebateHunter,
    pub lps: Vec<Lp>,
    pub replay: prices::Replay,
    pub day: usize,
    rng: rand::rngs::StdRng,
    crp: crp::CrpDesk,
    /// Scales the agents' position sizes.
    flow: f64,
    /// Whether each market was open at the keeper's last look (a reopen is its first open
    /// look after a closed one).
    was_open: Vec<bool>,
}

/// The LPs and their shares of the starting capital, %.
const LPS: [(&str, u64); 3] = [("lp-fund", 50), ("lp-dao", 30), ("lp-retail", 20)];
const DEFAULT_FUND: u64 = 250_000;
/// Calendar days between the risk keeper's publications, and the window it estimates over (on
/// the days every market traded: about 60).
const RISK_EVERY: usize = 28;
const RISK_WINDOW: usize = 84;
/// Calendar days between the retail LP's moves: about a quarter, and not a whole number of
/// weeks, so its moves fall on every day of the week, weekends included.
const LP_EVERY: usize = 88;

/// The pool's risk limits with the IS cap at `max_imbalance_bps`, D8X pricing, a one-day horizon.
pub fn limits(max_imbalance_bps: u32) -> RiskLimits {
    RiskLimits {
        max_imbalance_bps,
        premium_mode: premium_mode::PER_MARKET,
        premium_horizon_secs: 86_400,
    }
}

impl Sandbox {
    pub fn new(args: &SandboxArgs) -> anyhow::Result<Self> {
        let presets = default_markets();
        let start: [f64; 10] = std::array::from_fn(|i| presets[i].price);
        let schedules: [u8; 10] = std::array::from_fn(|i| presets[i].params.schedule);
        let replay = prices::load(
            args.prices.as_deref(),
            &args.from,
            args.days,
            &start,
            &schedules,
            args.seed,
        )?;
        let now = noon(&replay.dates[0])?;
        let mut world = World::new(
            now,
            &presets,
            &replay.prices[0],
            limits(args.max_imbalance_bps),
        )?;
        world.keep_hours()?;
        let agents = agents::cast(|name| world.actor(name, 50_000_000 * USD), presets.len())?;
        let hunter = RebateHunter::new(
            world.actor(RebateHunter::NAME, 50_000_000 * USD)?,
            presets.len(),
        );
        let crp = crp::CrpDesk::new(&mut world)?;
        let mut desk = Desk::new(world, replay.dates[0].clone())?;
        desk.log(What::Setup {
            markets: presets.iter().map(|m| m.symbol.to_string()).collect(),
            sources: replay.sources.iter().map(source_name).collect(),
            lp_capital: args.lp_capital * USD,
            default_fund: DEFAULT_FUND * USD,
            max_imbalance_bps: args.max_imbalance_bps,
        });
        let (sigma, corr) = calibration(presets.len());
        desk.publish_risk(sigma, corr)?;
        let mut lps = vec![];
        for (name, percent) in LPS {
            let amount = args.lp_capital * percent / 100 * USD;
            let lp = desk.lp(name, amount)?;
            anyhow::ensure!(
                desk.deposit(&lp, amount)?,
                "the first deposits were refused"
            );
            lps.push(lp);
        }
        desk.fund_default_fund(DEFAULT_FUND * USD)?;
        Ok(Sandbox {
            desk,
            agents,
            hunter,
            lps,
            replay,
            day: 0,
            rng: rand::rngs::StdRng::seed_from_u64(args.seed ^ 0x5eed),
            crp,
            flow: args.flow,
            was_open: vec![true; presets.len()],
        })
    }

    fn prices(&self) -> [f64; 10] {
        self.replay.prices[self.day]
    }

    /// One replay day: prices, funding, liquidations, the risk keeper, LP flows, the agents'
    /// trades, the Imbalance Score refresh, the crps, and the day's balance line.
    pub fn step(&mut self) -> anyhow::Result<()> {
        let date = self.replay.dates[self.day].clone();
        let prices = self.prices();
        self.intraday()?;
        self.desk
            .begin_day(self.day as u32, &date, noon(&date)?, &prices)?;
        for e in hours::keep_holidays(&mut self.desk.world, &self.replay.holidays)? {
            self.desk.log(e);
        }
        // the keeper first executes what the day's prices trigger (take-profits, stop-losses)
        // and the withdrawals whose delay has passed, then liquidates
        for (owner, market) in self.desk.run_pending()? {
            for agent in &mut self.agents {
                if agent.actor.key() == owner
                    && let Some(k) = agent.markets.iter().position(|&m| m == market)
                {
                    agent.sides[k] = 0;
                }
            }
        }
        self.liquidate()?;
        if self.day > 0 && self.day.is_multiple_of(RISK_EVERY) && self.day >= RISK_WINDOW {
            self.publish_risk()?;
        }
        self.lp_flows()?;
        self.trade()?;
        self.hunt_rebates()?;
        self.desk.refresh_imbalance()?;
        // the crp keeper works an hour after noon: the day's requests tick the clock by a
        // second each, and a crp re-weights at most once a day
        let crp_time = self.desk.world.now.max(noon(&date)? + 3_600);
        self.desk.world.set_time(crp_time);
        self.desk.world.push_prices(&prices)?;
        let crp_events = self
            .crp
            .step(&mut self.desk.world, self.day, &self.replay)?;
        for e in crp_events {
            self.desk.log(e);
        }
        let open = self
            .agents
            .iter()
            .map(|a| a.sides.iter().filter(|s| **s != 0).count() as u32)
            .sum();
        self.desk.snapshot(&prices, open)
    }

    /// The liquidation keeper between the last close and this one, as a keeper watching the
    /// market would: every hour from two hours after the last noon (the crp keeper works at the
    /// first) to an hour before this one, on a seeded Brownian bridge in log price between the
    /// two closes with each market's daily σ (markets drawn independently). Each hour's prices
    /// are published and every position an estimate puts within half its maintenance margin of
    /// it is quoted for liquidation by the program's code, and liquidated if the program would.
    fn intraday(&mut self) -> anyhow::Result<()> {
        if self.day == 0 {
            return Ok(());
        }
        let presets = default_markets();
        let from = self.replay.prices[self.day - 1];
        let to = self.prices();
        let start = noon(&self.replay.dates[self.day - 1])?;
        let end = noon(&self.replay.dates[self.day])?;
        let steps = ((end - start) / 3_600).max(1) as usize;
        // the bridge, one hour at a time: the next log price's mean closes the remaining gap
        // evenly, its variance is the remaining time's share of one hour's
        let mut x: Vec<f64> = from.iter().map(|p| p.ln()).collect();
        let mut path = vec![];
        for h in 1..steps {
            let left = (steps - h + 1) as f64;
            for (i, xi) in x.iter_mut().enumerate() {
                let hourly = presets[i].params.sigma_e9 as f64 / 1e9 / 24f64.sqrt();
                let drift = (to[i].ln() - *xi) / left;
                let spread = hourly * ((left - 1.0) / left).sqrt();
                *xi += drift + spread * prices::standard_normal(&mut self.rng);
            }
            path.push(x.iter().map(|v| v.exp()).collect::<Vec<f64>>());
        }
        self.desk.day = self.day as u32;
        self.desk.date = self.replay.dates[self.day].clone();
        for (h, hour) in path.iter().enumerate().skip(1) {
            let now = (start + (h as i64 + 1) * 3_600).max(self.desk.world.now);
            self.desk.world.set_time(now);
            self.desk.world.push_prices(hour)?;
            // the keeper's look at the hours: which markets just reopened (their first price
            // after a closed stretch), which close within the hour
            let open: Vec<bool> = (0..presets.len())
                .map(|m| self.desk.world.is_open(m, now))
                .collect();
            let reopened: Vec<bool> = open
                .iter()
                .zip(&self.was_open)
                .map(|(now_open, before)| *now_open && !before)
                .collect();
            self.was_open = open;
            // every open position: the agents' and the rebate hunter's
            let mut open: Vec<OpenPosition> = vec![];
            for (a, agent) in self.agents.iter().enumerate() {
                for (k, &m) in agent.markets.iter().enumerate() {
                    if agent.sides[k] != 0 {
                        open.push((Some((a, k)), m, agent.actor.clone()));
                    }
                }
            }
            for (m, opened) in self.hunter.opened.iter().enumerate() {
                if opened.is_some() {
                    open.push((None, m, self.hunter.actor.clone()));
                }
            }
            for (agent, m, owner) in open {
                if self.desk.world.closing_soon(m, now)
                    && self.desk.reduce_before_close(&owner, m)? == Some(true)
                {
                    match agent {
                        Some((a, k)) => self.agents[a].sides[k] = 0,
                        None => self.hunter.opened[m] = None,
                    }
                    continue;
                }
                {
                    let Some(pos) = self.desk.world.position(m, &owner.key())? else {
                        continue;
                    };
                    // quote native per base native
                    let unit = hour[m] / 10f64.powi(presets[m].base_decimals as i32) * USD as f64;
                    let notional = pos.size.unsigned_abs() as f64 * unit;
                    let equity =
                        pos.collateral as f64 + pos.size as f64 * unit - pos.entry_notional as f64;
                    let maintenance = presets[m].params.maintenance_margin_bps as f64 / 1e4;
                    if equity > 1.5 * maintenance * notional {
                        continue;
                    }
                    if self.desk.liquidate_intraday(&owner, m, reopened[m])? {
                        match agent {
                            Some((a, k)) => self.agents[a].sides[k] = 0,
                            None => self.hunter.opened[m] = None,
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The liquidation keeper over every open position.
    fn liquidate(&mut self) -> anyhow::Result<()> {
        for a in 0..self.agents.len() {
            for k in 0..self.agents[a].markets.len() {
                if self.agents[a].sides[k] == 0 {
                    continue;
                }
                let owner = self.agents[a].actor.clone();
                if self.desk.liquidate(&owner, self.agents[a].markets[k])? {
                    self.agents[a].sides[k] = 0;
                }
            }
        }
        for m in 0..self.hunter.opened.len() {
            let owner = self.hunter.actor.clone();
            if self.hunter.opened[m].is_some() && self.desk.liquidate(&owner, m)? {
                self.hunter.opened[m] = None;
            }
        }
        Ok(())
    }

    /// σ and R over the last `RISK_WINDOW` days of the replay.
    fn publish_risk(&mut self) -> anyhow::Result<()> {
        let n = self.desk.world.markets.len();
        let from = self.day - RISK_WINDOW;
        // each market's closes on the days it traded (a weekend's carried price is no return);
        // the estimate joins them on the dates all share
        let series: Vec<PriceSeries> = (0..n)
            .map(|i| {
                let schedule = self.desk.world.schedules[i];
                let days: Vec<usize> = (from..=self.day)
                    .filter(|&t| self.replay.traded(schedule, &self.replay.dates[t]))
                    .collect();
                PriceSeries {
                    name: self.desk.world.markets[i].symbol.clone(),
                    dates: days.iter().map(|&t| self.replay.dates[t].clone()).collect(),
                    closes: days.iter().map(|&t| self.replay.prices[t][i]).collect(),
                }
            })
            .collect();
        let e = estimate(
            &series,
            &EstimateOptions {
                from: None,
                to: None,
                interval: 1,
                join: Join::Common,
            },
        )?;
        self.desk.publish_risk(e.sigma, e.corr)
    }

    /// LP flows: the retail LP takes out a fifth of its shares every other quarter and puts the
    /// cash back the quarter after; a refused withdrawal (capital reserved for open positions)
    /// is logged.
    fn lp_flows(&mut self) -> anyhow::Result<()> {
        if self.day == 0 || !self.day.is_multiple_of(LP_EVERY) {
            return Ok(());
        }
        let lp = &self.lps[2];
        if (self.day / LP_EVERY).is_multiple_of(2) {
            let balance = self.desk.world.balance(&lp.actor.quote)?;
            if balance >= 10 * USD {
                self.desk.deposit(lp, balance)?;
            }
        } else {
            let shares = self.desk.world.balance(&lp.lp_account)? / 5;
            self.desk.withdraw(lp, shares)?;
        }
        Ok(())
    }

    /// The agents' orders of the day.
    fn trade(&mut self) -> anyhow::Result<()> {
        for a in 0..self.agents.len() {
            for k in 0..self.agents[a].markets.len() {
                // nothing fills on a market its hours have closed
                if !self
                    .desk
                    .world
                    .is_open(self.agents[a].markets[k], self.desk.world.now)
                {
                    continue;
                }
                let wanted = self.agents[a].wanted(k, &self.replay.prices, self.day, &mut self.rng);
                let Some(side) = wanted else { continue };
                let current = self.agents[a].sides[k];
                if side != current {
                    if current != 0 && !self.execute(a, k, TradeAction::Close)? {
                        continue;
                    }
                    self.open(a, k, side)?;
                } else if current != 0 {
                    // now and then, resize the position it keeps
                    let roll = self.rng.random_range(0..100);
                    let m = self.agents[a].markets[k];
                    let owner = self.agents[a].actor.key();
                    let Some(pos) = self.desk.world.position(m, &owner)? else {
                        continue;
                    };
                    if roll < 8 && pos.size / 5 != 0 {
                        let (size, collateral) = (pos.size / 5, pos.collateral / 5);
                        self.execute(a, k, TradeAction::Increase { size, collateral })?;
                    } else if (8..16).contains(&roll) && pos.size.unsigned_abs() / 4 > 0 {
                        let size = pos.size.unsigned_abs() / 4;
                        self.execute(a, k, TradeAction::Decrease { size })?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The rebate hunter's day ([`RebateHunter`]).
    fn hunt_rebates(&mut self) -> anyhow::Result<()> {
        let presets = default_markets();
        let prices = self.prices();
        for m in 0..self.hunter.opened.len() {
            let owner = self.hunter.actor.key();
            let now = self.desk.world.now + 1;
            if !self.desk.world.is_open(m, now) {
                continue;
            }
            if let Some(day) = self.hunter.opened[m] {
                let view = self.desk.world.trade_view(m, &owner)?;
                let Some(pos) = view.position.as_ref() else {
                    // liquidated or deleveraged
                    self.hunter.opened[m] = None;
                    continue;
                };
                let limit = if pos.size > 0 { 0 } else { u64::MAX };
                let Ok(q) = quote_trade(&view, &owner, TradeAction::Close, limit, now) else {
                    continue;
                };
                if q.quote.premium <= 0 || self.day >= day + self.hunter.max_days {
                    let actor = self.hunter.actor.clone();
                    if self.desk.trade(&actor, m, TradeAction::Close)?.is_ok() {
                        self.hunter.opened[m] = None;
                    }
                }
                continue;
            }
            let pool = self.desk.world.pool_state()?;
            let slot = &pool.markets[m];
            let unit = prices[m] / 10f64.powi(presets[m].base_decimals as i32);
            let skew = slot.long_oi as f64 - slot.short_oi as f64;
            let skew_value = skew.abs() * unit;
            if skew_value < 0.01 * usd(pool.lp_capital as i128) {
                continue;
            }
            let notional = (skew_value / 2.0).min(self.hunter.max_notional);
            let size = (notional / unit) as i64 * -(skew.signum() as i64);
            let collateral = (notional / 5.0 * USD as f64) as u64;
            let view = self.desk.world.trade_view(m, &owner)?;
            let limit = if size > 0 { u64::MAX } else { 0 };
            let open = TradeAction::Open { size, collateral };
            let Ok(q) = quote_trade(&view, &owner, open, limit, now) else {
                continue;
            };
            if q.quote.premium <= 0 {
                let actor = self.hunter.actor.clone();
                if self.desk.trade(&actor, m, open)?.is_ok() {
                    self.hunter.opened[m] = Some(self.day);
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, a: usize, k: usize, side: i8) -> anyhow::Result<bool> {
        let m = self.agents[a].markets[k];
        let preset = &default_markets()[m];
        let leverage = self.agents[a]
            .leverage
            .min(preset.params.max_leverage as f64 * 0.8);
        let notional = self.agents[a].notional * self.flow;
        let size = (notional / self.prices()[m] * 10f64.powi(preset.base_decimals as i32)) as i64;
        let collateral = (notional / leverage * USD as f64) as u64;
        let opened = self.execute(
            a,
            k,
            TradeAction::Open {
                size: size * side as i64,
                collateral,
            },
        )?;
        // every third agent protects what it opens: take profit at +3σ, stop at −2σ (a day's σ
        // of the market)
        if opened && a.is_multiple_of(3) {
            let sigma = preset.params.sigma_e9 as f64 / 1e9;
            let actor = self.agents[a].actor.clone();
            self.desk.protect(&actor, m, 3.0 * sigma, 2.0 * sigma)?;
        }
        Ok(opened)
    }

    /// One agent trade; keeps the agent's side in step with the chain. False if refused.
    fn execute(&mut self, a: usize, k: usize, action: TradeAction) -> anyhow::Result<bool> {
        let actor = self.agents[a].actor.clone();
        match self.desk.trade(&actor, self.agents[a].markets[k], action)? {
            Ok(q) => {
                self.agents[a].sides[k] = q.quote.position_size.signum() as i8;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }
}

fn source_name(s: &prices::Source) -> String {
    match s {
        prices::Source::File(p) => p.clone(),
        prices::Source::Shipped => "shipped (public domain)".into(),
        prices::Source::Generated => "generated (calibrated model)".into(),
    }
}

/// Run the sandbox: set up, replay every day with a progress bar, write the report.
pub fn run_sandbox(args: &SandboxArgs) -> anyhow::Result<SandboxReport> {
    if let Some(path) = &args.scenario {
        return run_scenario(path, args);
    }
    let started = Instant::now();
    let mut sb = Sandbox::new(args)?;
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(args.days as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} replaying {msg} [{bar:40}] {pos}/{len} days ({elapsed})",
        )?
        .progress_chars("=> "),
    );
    for day in 0..args.days {
        sb.day = day;
        bar.set_message(sb.replay.dates[day].clone());
        sb.step()?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let transactions = sb.desk.world.chain.transactions();
    let seconds = started.elapsed().as_secs_f64();
    let written = report::write(&args.out, args.format, &sb.desk.events, &sb.replay, seconds)?;
    summarize(&sb.desk, &sb.replay, transactions, seconds, written)
}

/// Run a scenario file and report it like a replay.
fn run_scenario(path: &std::path::Path, args: &SandboxArgs) -> anyhow::Result<SandboxReport> {
    let started = Instant::now();
    let s = scenario::Scenario::read(path)?;
    let (desk, dates, history) = scenario::run(&s)?;
    let replay = prices::Replay {
        dates,
        prices: history,
        sources: vec![prices::Source::File(path.display().to_string()); 10],
        holidays: vec![],
    };
    let seconds = started.elapsed().as_secs_f64();
    let written = report::write(&args.out, args.format, &desk.events, &replay, seconds)?;
    let transactions = desk.world.chain.transactions();
    summarize(&desk, &replay, transactions, seconds, written)
}

fn summarize(
    desk: &Desk,
    replay: &prices::Replay,
    transactions: u64,
    seconds: f64,
    written: report::Written,
) -> anyhow::Result<SandboxReport> {
    let totals = Totals::of(&desk.events);
    let days: Vec<_> = desk
        .events
        .iter()
        .filter_map(|e| match &e.what {
            What::Day {
                pool_value,
                lp_supply,
                imbalance_score,
                ..
            } => Some((*pool_value, *lp_supply, *imbalance_score)),
            _ => None,
        })
        .collect();
    let share = |v: i64, s: u64| v as f64 / s as f64;
    let (first, last) = (
        *days.first().context("no day was replayed")?,
        *days.last().context("no day was replayed")?,
    );
    Ok(SandboxReport {
        days: replay.dates.len(),
        first_date: replay.dates[0].clone(),
        last_date: replay.dates[replay.dates.len() - 1].clone(),
        markets: desk
            .world
            .markets
            .iter()
            .map(|m| m.symbol.clone())
            .collect(),
        sources: replay.sources.iter().map(source_name).collect(),
        transactions,
        seconds,
        totals,
        lp_return_pct: (share(last.0, last.1) / share(first.0, first.1) - 1.0) * 100.0,
        final_imbalance_score: last.2 as f64 / 1e3,
        peak_imbalance_score: days.iter().map(|d| d.2).max().unwrap_or(0) as f64 / 1e3,
        report: written.report.display().to_string(),
        events: written.events.display().to_string(),
        figures: written
            .figures
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    })
}
