//! `keel sandbox`: the whole protocol on the embedded runtime, no validator. It deploys both
//! programs, creates the ten default markets, LPs, agent traders, keepers, lenders and
//! borrowers, replays daily prices, and writes a report with figures and the event log.
//!
//! Every trade is quoted first with the program's own code (`client::quote`) and then sent;
//! after it lands, the position and the pool on chain must equal the quote's, or the run
//! stops. The event log therefore records exactly what the programs did.

pub mod agents;
pub mod crp;
pub mod events;
pub mod prices;
pub mod report;
pub mod world;

use std::path::PathBuf;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail};
use clap::Args;
use perp_amm::instructions::RiskLimits;
use perp_amm::instructions::{
    DecreasePositionArgs, DepositArgs, IncreasePositionArgs, OpenPositionArgs, WithdrawArgs,
};
use perp_amm::state::premium_mode;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use solana_signer::Signer;

use crate::client::markets::default_markets;
use crate::client::perp as ix;
use crate::client::quote::{TradeAction, quote_trade};
use crate::risk::{EstimateOptions, Join, PriceSeries, cholesky_certificate, estimate};
use crate::transport::Transport;
use agents::Agent;
use events::{Event, Totals, What};
use world::{Actor, USD, World};

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
    /// Replay days (common trading days: 500 is about two years)
    #[arg(long, default_value_t = 500)]
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
             liquidations {} (keeper rewards {:.2}, bad debt {:.2}), risk publications {}\n\
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
            t.liquidations,
            usd(t.keeper_rewards as i128),
            usd(t.bad_debt as i128),
            t.risk_publications,
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

/// Noon UTC of an ISO date, as unix time.
pub fn noon(date: &str) -> anyhow::Result<i64> {
    let parse = |r: std::ops::Range<usize>| -> anyhow::Result<i64> {
        date.get(r)
            .context("date")?
            .parse()
            .with_context(|| format!("date {date}"))
    };
    let (y, m, d) = (parse(0..4)?, parse(5..7)?, parse(8..10)?);
    // days from civil (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400 + 43_200)
}

/// A liquidity provider and its LP-token account.
pub struct Lp {
    pub actor: Actor,
    pub lp_account: Pubkey,
}

/// The sandbox's state between days.
pub struct Sandbox {
    pub world: World,
    pub agents: Vec<Agent>,
    pub lps: Vec<Lp>,
    pub keeper: Actor,
    pub events: Vec<Event>,
    pub replay: prices::Replay,
    pub day: usize,
    rng: rand::rngs::StdRng,
    crp: crp::CrpDesk,
    /// Scales the agents' position sizes.
    flow: f64,
    /// The risk model last published: σ and the full R.
    last_risk: Option<(Vec<f64>, Vec<f64>)>,
}

/// The LPs and their shares of the starting capital, %.
const LPS: [(&str, u64); 3] = [("lp-fund", 50), ("lp-dao", 30), ("lp-retail", 20)];
const DEFAULT_FUND: u64 = 250_000;
/// Days between the risk keeper's publications, and the window it estimates over.
const RISK_EVERY: usize = 21;
const RISK_WINDOW: usize = 60;

impl Sandbox {
    pub fn new(args: &SandboxArgs) -> anyhow::Result<Self> {
        let presets = default_markets();
        let start: [f64; 10] = std::array::from_fn(|i| presets[i].price);
        let replay = prices::load(
            args.prices.as_deref(),
            &args.from,
            args.days,
            &start,
            args.seed,
        )?;
        let limits = RiskLimits {
            max_imbalance_bps: args.max_imbalance_bps,
            premium_mode: premium_mode::PER_MARKET,
            premium_horizon_secs: 86_400,
        };
        let now = noon(&replay.dates[0])?;
        let mut world = World::new(now, &presets, &replay.prices[0], limits)?;
        let keeper = world.actor("keeper", 0)?;
        let agents = agents::cast(|name| world.actor(name, 50_000_000 * USD), presets.len())?;
        let crp = crp::CrpDesk::new(&mut world)?;
        let mut sb = Sandbox {
            world,
            agents,
            lps: vec![],
            keeper,
            events: vec![],
            replay,
            day: 0,
            rng: rand::rngs::StdRng::seed_from_u64(args.seed ^ 0x5eed),
            crp,
            last_risk: None,
            flow: args.flow,
        };
        sb.log(What::Setup {
            markets: presets.iter().map(|m| m.symbol.to_string()).collect(),
            sources: sb.replay.sources.iter().map(source_name).collect(),
            lp_capital: args.lp_capital * USD,
            default_fund: DEFAULT_FUND * USD,
            max_imbalance_bps: args.max_imbalance_bps,
        });
        sb.publish_risk()?;
        for (name, percent) in LPS {
            let amount = args.lp_capital * percent / 100;
            let actor = sb.world.actor(name, amount * USD)?;
            let lp_mint = sb.world.lp_mint;
            let lp_account = sb.world.token_account(&lp_mint, &actor.key())?;
            sb.lps.push(Lp { actor, lp_account });
            let i = sb.lps.len() - 1;
            sb.deposit(i, amount * USD)?;
        }
        let funder = sb.world.actor("default-fund", DEFAULT_FUND * USD)?;
        let pool = sb.world.pool;
        sb.world
            .chain
            .send(
                &[ix::fund_default_fund(
                    &funder.key(),
                    &pool,
                    &funder.quote,
                    DEFAULT_FUND * USD,
                )],
                &[&funder.kp],
            )
            .map_err(|e| anyhow::anyhow!("funding the default fund: {e}"))?;
        Ok(sb)
    }

    fn log(&mut self, what: What) {
        self.events.push(Event {
            day: self.day as u32,
            date: self.replay.dates[self.day].clone(),
            what,
        });
    }

    fn prices(&self) -> [f64; 10] {
        self.replay.prices[self.day]
    }

    /// One replay day: prices, funding, liquidations, LP flows, the agents' trades, the risk
    /// keeper, the collateral pools, and the day's balance line.
    pub fn step(&mut self) -> anyhow::Result<()> {
        let now = noon(&self.replay.dates[self.day])?;
        self.world.set_time(now);
        let prices = self.prices();
        self.world.push_prices(&prices)?;
        self.update_funding()?;
        self.liquidate()?;
        if self.day > 0 && self.day.is_multiple_of(RISK_EVERY) && self.day >= RISK_WINDOW {
            self.publish_risk()?;
        }
        self.lp_flows()?;
        self.trade()?;
        self.refresh_imbalance()?;
        let crp_events = self.crp.step(&mut self.world, self.day, &self.replay)?;
        for e in crp_events {
            self.log(e);
        }
        self.snapshot()?;
        Ok(())
    }

    fn update_funding(&mut self) -> anyhow::Result<()> {
        let pool = self.world.pool;
        let ixs: Vec<_> = self
            .world
            .markets
            .iter()
            .map(|m| ix::update_funding(&pool, &m.key, &m.oracle))
            .collect();
        self.world
            .chain
            .send(&ixs, &[])
            .map_err(|e| anyhow::anyhow!("update_funding: {e}"))
    }

    fn refresh_imbalance(&mut self) -> anyhow::Result<()> {
        let ix = ix::refresh_imbalance(&self.world.pool, &self.world.oracles());
        self.world
            .chain
            .send(&[ix], &[])
            .map_err(|e| anyhow::anyhow!("refresh_imbalance: {e}"))
    }

    /// The liquidation keeper: every open position that the program would liquidate is.
    fn liquidate(&mut self) -> anyhow::Result<()> {
        for a in 0..self.agents.len() {
            for k in 0..self.agents[a].markets.len() {
                if self.agents[a].sides[k] == 0 {
                    continue;
                }
                let m = self.agents[a].markets[k];
                let owner = self.agents[a].actor.key();
                let view = self.world.trade_view(m, &owner)?;
                let Ok(q) = quote_trade(&view, &owner, TradeAction::Liquidate, 0, self.world.now)
                else {
                    continue;
                };
                let market = &self.world.markets[m];
                let symbol = market.symbol.clone();
                let ix = ix::liquidate(
                    &self.keeper.key(),
                    &self.world.pool,
                    &market.key,
                    &owner,
                    &market.oracle,
                    &self.keeper.quote,
                    &self.agents[a].actor.quote,
                    Some(self.world.risk_model),
                );
                self.world
                    .chain
                    .send(&[ix], &[&self.keeper.kp])
                    .map_err(|e| anyhow::anyhow!("liquidation the quote accepted failed: {e}"))?;
                self.check(m, &owner, &q)?;
                self.agents[a].sides[k] = 0;
                self.log(What::Liquidation {
                    owner: self.agents[a].actor.name.clone(),
                    market: symbol,
                    size: -q.quote.size,
                    oracle_price: q.quote.oracle_price,
                    keeper_reward: q.quote.keeper_reward,
                    returned_to_owner: q.quote.payout,
                    bad_debt: q.quote.bad_debt,
                });
            }
        }
        Ok(())
    }

    /// After a trade: the chain's position and pool equal what the quote computed.
    fn check(
        &mut self,
        market: usize,
        owner: &Pubkey,
        q: &crate::client::quote::QuotedState,
    ) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let position = self.world.position(market, owner)?;
        let (size, collateral, entry) = position
            .map(|p| (p.size, p.collateral, p.entry_notional))
            .unwrap_or((0, 0, 0));
        let expected = (
            q.quote.position_size,
            q.quote.position_collateral,
            q.quote.position_entry_notional,
        );
        if (size, collateral, entry) != expected
            || pool.lp_capital != q.pool.lp_capital
            || pool.default_fund != q.pool.default_fund
            || pool.total_collateral != q.pool.total_collateral
            || pool.risk.imbalance_score != q.pool.risk.imbalance_score
        {
            bail!(
                "day {}: the chain's state differs from the quote on market {market}: \
                 position {:?} vs {:?}, LP capital {} vs {}",
                self.day,
                (size, collateral, entry),
                expected,
                pool.lp_capital,
                q.pool.lp_capital
            );
        }
        Ok(())
    }

    fn deposit(&mut self, lp: usize, amount: u64) -> anyhow::Result<()> {
        let before = self.world.balance(&self.lps[lp].lp_account)?;
        let l = &self.lps[lp];
        let ix = ix::deposit(
            &l.actor.key(),
            &self.world.pool,
            &l.actor.quote,
            &l.lp_account,
            &self.world.oracles(),
            DepositArgs {
                amount,
                min_shares: 0,
            },
        );
        let kp = l.actor.kp.insecure_clone();
        self.world
            .chain
            .send(&[ix], &[&kp])
            .map_err(|e| anyhow::anyhow!("deposit: {e}"))?;
        let shares = self.world.balance(&self.lps[lp].lp_account)? - before;
        let name = self.lps[lp].actor.name.clone();
        self.log(What::LpDeposit {
            lp: name,
            amount,
            shares,
        });
        Ok(())
    }

    /// LP flows: the retail LP takes out a fifth of its shares each quarter and puts back what
    /// it took the quarter after; a withdrawal the pool refuses (capital reserved for open
    /// positions) is logged and retried next quarter.
    fn lp_flows(&mut self) -> anyhow::Result<()> {
        if self.day == 0 || !self.day.is_multiple_of(63) {
            return Ok(());
        }
        let lp = 2;
        if (self.day / 63).is_multiple_of(2) {
            let balance = self.world.balance(&self.lps[lp].actor.quote)?;
            if balance >= 10 * USD {
                self.deposit(lp, balance)?;
            }
            return Ok(());
        }
        let shares = self.world.balance(&self.lps[lp].lp_account)? / 5;
        let before = self.world.balance(&self.lps[lp].actor.quote)?;
        let l = &self.lps[lp];
        let ix = ix::withdraw(
            &l.actor.key(),
            &self.world.pool,
            &l.actor.quote,
            &l.lp_account,
            &self.world.oracles(),
            WithdrawArgs {
                shares,
                min_amount: 0,
            },
        );
        let kp = l.actor.kp.insecure_clone();
        let name = l.actor.name.clone();
        match self.world.chain.send(&[ix], &[&kp]) {
            Ok(()) => {
                let amount = self.world.balance(&self.lps[lp].actor.quote)? - before;
                self.log(What::LpWithdraw {
                    lp: name,
                    shares,
                    amount,
                });
            }
            Err(e) => self.log(What::Refused {
                trader: name,
                market: "-".into(),
                action: "withdraw".into(),
                code: e.code(),
                error: e.to_string(),
            }),
        }
        Ok(())
    }

    /// The agents' orders of the day.
    fn trade(&mut self) -> anyhow::Result<()> {
        for a in 0..self.agents.len() {
            for k in 0..self.agents[a].markets.len() {
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
                    let Some(pos) = self.world.position(m, &owner)? else {
                        continue;
                    };
                    if roll < 8 {
                        let size = pos.size / 5;
                        let collateral = pos.collateral / 5;
                        if size != 0 {
                            self.execute(a, k, TradeAction::Increase { size, collateral })?;
                        }
                    } else if roll < 16 {
                        let size = pos.size.unsigned_abs() / 4;
                        if size > 0 {
                            self.execute(a, k, TradeAction::Decrease { size })?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, a: usize, k: usize, side: i8) -> anyhow::Result<bool> {
        let m = self.agents[a].markets[k];
        let market = &self.world.markets[m];
        let preset_leverage = default_markets()[m].params.max_leverage as f64;
        let leverage = self.agents[a].leverage.min(preset_leverage * 0.8);
        let price = self.prices()[m];
        let notional = self.agents[a].notional * self.flow;
        let size = (notional / price * 10f64.powi(market.base_decimals as i32)) as i64;
        let collateral = (notional / leverage * USD as f64) as u64;
        self.execute(
            a,
            k,
            TradeAction::Open {
                size: size * side as i64,
                collateral,
            },
        )
    }

    /// Quote, send and check one trade; a refusal is logged and returns false.
    fn execute(&mut self, a: usize, k: usize, action: TradeAction) -> anyhow::Result<bool> {
        let m = self.agents[a].markets[k];
        let owner = self.agents[a].actor.key();
        let view = self.world.trade_view(m, &owner)?;
        let (symbol, name) = (
            self.world.markets[m].symbol.clone(),
            self.agents[a].actor.name.clone(),
        );
        let label = match action {
            TradeAction::Open { .. } => "open",
            TradeAction::Increase { .. } => "increase",
            TradeAction::Decrease { .. } => "decrease",
            TradeAction::Close => "close",
            TradeAction::Liquidate => "liquidate",
        };
        let limit_for = |buy: bool| if buy { u64::MAX } else { 0 };
        let long = view.position.as_ref().is_some_and(|p| p.size > 0);
        let limit = match action {
            TradeAction::Open { size, .. } | TradeAction::Increase { size, .. } => {
                limit_for(size > 0)
            }
            _ => limit_for(!long),
        };
        let q = match quote_trade(&view, &owner, action, limit, self.world.now) {
            Ok(q) => q,
            Err(r) => {
                self.log(What::Refused {
                    trader: name,
                    market: symbol,
                    action: label.into(),
                    code: r.code,
                    error: r.name,
                });
                return Ok(false);
            }
        };
        let agent = &self.agents[a].actor;
        let (pool, mk) = (self.world.pool, &self.world.markets[m]);
        let rm = Some(self.world.risk_model);
        let ix = match action {
            TradeAction::Open { size, collateral } => ix::open_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &agent.quote,
                OpenPositionArgs {
                    size,
                    collateral,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Increase { size, collateral } => ix::increase_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &agent.quote,
                IncreasePositionArgs {
                    size,
                    collateral,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Decrease { size } => ix::decrease_position(
                &owner,
                &pool,
                &mk.key,
                &mk.oracle,
                &agent.quote,
                DecreasePositionArgs {
                    size,
                    price_limit_e9: limit,
                },
                rm,
            ),
            TradeAction::Close => {
                ix::close_position(&owner, &pool, &mk.key, &mk.oracle, &agent.quote, limit, rm)
            }
            TradeAction::Liquidate => bail!("agents do not liquidate"),
        };
        let kp = agent.kp.insecure_clone();
        self.world.chain.send(&[ix], &[&kp]).map_err(|e| {
            anyhow::anyhow!(
                "day {}: {name} {label} {symbol}: the quote accepted it, the chain said {e}",
                self.day
            )
        })?;
        self.check(m, &owner, &q)?;
        self.agents[a].sides[k] = q.quote.position_size.signum() as i8;
        self.log(What::Fill {
            trader: name,
            market: symbol,
            action: label.into(),
            size: q.quote.size,
            oracle_price: q.quote.oracle_price,
            fill_price: q.quote.fill_price,
            q: q.quote.q,
            premium: q.quote.premium,
            fees: q.quote.fees,
            funding_paid: q.quote.funding_paid,
            realized_pnl: q.quote.realized_pnl,
            payout: q.quote.payout,
            imbalance_after: q.quote.imbalance_after,
        });
        Ok(true)
    }

    /// The risk keeper: σ and R over the last `RISK_WINDOW` days (the calibration on day 0),
    /// moved toward the estimate only as far as the model's step bounds allow, so the commit
    /// is accepted. Blending two PSD matrices keeps R PSD.
    fn publish_risk(&mut self) -> anyhow::Result<()> {
        let n = self.world.markets.len();
        let (target_sigma, target_corr): (Vec<f64>, Vec<f64>) = if self.day == 0 {
            (
                (0..n).map(prices::calibrated_sigma).collect(),
                (0..n * n)
                    .map(|x| prices::calibrated_corr(x / n, x % n))
                    .collect(),
            )
        } else {
            let from = self.day - RISK_WINDOW;
            let series: Vec<PriceSeries> = (0..n)
                .map(|i| PriceSeries {
                    name: self.world.markets[i].symbol.clone(),
                    dates: self.replay.dates[from..=self.day].to_vec(),
                    closes: self.replay.prices[from..=self.day]
                        .iter()
                        .map(|p| p[i])
                        .collect(),
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
            (e.sigma, e.corr)
        };
        let (sigma, corr) = match &self.last_risk {
            None => (target_sigma, target_corr),
            Some((old_sigma, old_corr)) => {
                // σ within ±19 % of the current value, every ρ within 0.099: blend R
                let sigma = old_sigma
                    .iter()
                    .zip(&target_sigma)
                    .map(|(o, t)| t.clamp(o * 0.81, o * 1.19))
                    .collect();
                let step = old_corr
                    .iter()
                    .zip(&target_corr)
                    .map(|(o, t)| (t - o).abs())
                    .fold(0.0, f64::max);
                let w = if step > 0.099 { 0.099 / step } else { 1.0 };
                let corr = old_corr
                    .iter()
                    .zip(&target_corr)
                    .map(|(o, t)| o + w * (t - o))
                    .collect();
                (sigma, corr)
            }
        };
        let sigma_e9: Vec<u64> = sigma
            .iter()
            .map(|s| (s * 1e9).round().max(1.0) as u64)
            .collect();
        let upper = crate::risk::corr_upper_e9(&corr, n);
        let full = crate::risk::corr_full_from_upper(&upper, n);
        let lower = cholesky_certificate(&full, n).context("R has no PSD certificate")?;
        let keeper = self.world.risk_keeper.insecure_clone();
        let writes = ix::stage_risk_writes(
            &keeper.pubkey(),
            &self.world.pool,
            &sigma_e9,
            &upper,
            &lower,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        for w in writes {
            self.world
                .chain
                .send(&[w], &[&keeper])
                .map_err(|e| anyhow::anyhow!("stage_risk: {e}"))?;
        }
        let as_of = self.world.now;
        self.world
            .chain
            .send(
                &[ix::commit_risk(&keeper.pubkey(), &self.world.pool, as_of)],
                &[&keeper],
            )
            .map_err(|e| anyhow::anyhow!("commit_risk: {e}"))?;
        self.last_risk = Some((sigma, full));
        self.log(What::RiskPublished {
            as_of,
            sigma_e9,
            max_corr_step_e9: 100_000_000,
        });
        Ok(())
    }

    /// The day's balance line.
    fn snapshot(&mut self) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let vault_key = self.world.vault;
        let vault = self.world.balance(&vault_key)?;
        anyhow::ensure!(
            vault as u128
                == pool.lp_capital as u128
                    + pool.default_fund as u128
                    + pool.total_collateral as u128,
            "day {}: vault {vault} != LP capital + default fund + collateral",
            self.day
        );
        let lp_mint = self.world.lp_mint;
        let lp_supply = self.world.supply(&lp_mint)?;
        let mut oracles = Vec::with_capacity(self.world.markets.len());
        for key in self.world.oracles() {
            let account = self.world.chain.account(&key)?.context("oracle")?;
            oracles.push((key, account));
        }
        let (value, _) =
            crate::client::quote::pool_value(&pool, &self.world.pool, &oracles, self.world.now)
                .map_err(|e| anyhow::anyhow!("valuing the pool: {e}"))?;
        let prices = self.prices();
        let mut open_positions = 0;
        for a in &self.agents {
            open_positions += a.sides.iter().filter(|s| **s != 0).count() as u32;
        }
        let (mut long_value, mut short_value) = (0.0, 0.0);
        for (i, m) in self.world.markets.iter().enumerate() {
            let slot = &pool.markets[i];
            let unit = prices[i] / 10f64.powi(m.base_decimals as i32);
            long_value += slot.long_oi as f64 * unit;
            short_value += slot.short_oi as f64 * unit;
        }
        self.log(What::Day {
            prices: prices.to_vec(),
            lp_capital: pool.lp_capital,
            default_fund: pool.default_fund,
            total_collateral: pool.total_collateral,
            vault,
            pool_value: value as i64,
            lp_supply: lp_supply + pool.dead_shares,
            imbalance_score: pool.risk.imbalance_score,
            exposure_norm: pool.risk.exposure_norm,
            open_positions,
            long_oi_value: (long_value * USD as f64) as u64,
            short_oi_value: (short_value * USD as f64) as u64,
        });
        Ok(())
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
    sb.crp.finish(&mut sb.world)?;
    bar.finish_and_clear();
    let transactions = sb.world.chain.transactions();
    let seconds = started.elapsed().as_secs_f64();
    let written = report::write(&args.out, args.format, &sb.events, &sb.replay, seconds)?;
    let totals = Totals::of(&sb.events);
    let days: Vec<_> = sb
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
    let (first, last) = (days[0], days[days.len() - 1]);
    Ok(SandboxReport {
        days: args.days,
        first_date: sb.replay.dates[0].clone(),
        last_date: sb.replay.dates[args.days - 1].clone(),
        markets: sb.world.markets.iter().map(|m| m.symbol.clone()).collect(),
        sources: sb.replay.sources.iter().map(source_name).collect(),
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
