//! Scenario files: a scripted sequence of price moves and actions, run by
//! `keel sandbox --scenario FILE` on the same runtime and desk as the replay, writing the same
//! event log and report. For reviewers (what exactly happens when …), regression tests, and
//! anyone checking the protocol's numbers.
//!
//! ```toml
//! name = "a crowded BTC long meets a crash"
//! start = "2024-01-02"          # the date of day 0
//! lp_capital = 1_000_000        # whole USD, deposited by the actor "lp"
//! default_fund = 50_000
//! max_imbalance_bps = 1_000
//! prices = { BTC-PERP = 60_000 } # day-0 prices; other markets start at their presets
//!
//! [[step]]
//! day = 0
//! actions = [
//!   { kind = "fund", actor = "alice", amount = 100_000 },
//!   { kind = "open", actor = "alice", market = "BTC-PERP", size = 2.0, collateral = 20_000 },
//! ]
//!
//! [[step]]
//! day = 1
//! prices = { BTC-PERP = 52_000 }
//! actions = [{ kind = "keeper" }]
//! ```
//!
//! Sizes are signed whole base units (2.0 = long two BTC), amounts whole quote tokens. An
//! action may name the program error it must meet (`expect = "ImbalanceLimit"`): the scenario
//! fails if the action succeeds or fails differently. An action that fails without `expect` is
//! logged as refused and the scenario goes on. Every step ends with the day's balance line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

pub use crate::client::dates::civil_date;
use crate::client::dates::noon;
use crate::client::perp as ix;
use crate::client::presets::{calibration, default_markets};
use crate::client::quote::TradeAction;
use crate::sandbox::desk::{Desk, Lp};
use crate::sandbox::events::What;
use crate::sandbox::limits;
use crate::sandbox::world::{Actor, USD, World};
use crate::transport::Transport;
use solana_signer::Signer;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub start: String,
    #[serde(default = "default_lp_capital")]
    pub lp_capital: u64,
    #[serde(default)]
    pub default_fund: u64,
    #[serde(default = "default_imbalance")]
    pub max_imbalance_bps: u32,
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

fn default_lp_capital() -> u64 {
    1_000_000
}
fn default_imbalance() -> u32 {
    1_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub day: u32,
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Give an actor quote tokens (creating it on first use).
    Fund { actor: String, amount: f64 },
    /// LP deposit and withdrawal (a fraction of the actor's shares).
    Deposit {
        actor: String,
        amount: f64,
        expect: Option<String>,
    },
    Withdraw {
        actor: String,
        fraction: f64,
        expect: Option<String>,
    },
    Open {
        actor: String,
        market: String,
        size: f64,
        collateral: f64,
        expect: Option<String>,
    },
    Increase {
        actor: String,
        market: String,
        size: f64,
        #[serde(default)]
        collateral: f64,
        expect: Option<String>,
    },
    Decrease {
        actor: String,
        market: String,
        size: f64,
        expect: Option<String>,
    },
    Close {
        actor: String,
        market: String,
        expect: Option<String>,
    },
    /// The keepers: liquidate every position the program would, refresh the Imbalance Score.
    /// (A struct variant, so that unknown fields are refused like everywhere else.)
    Keeper {},
}

impl Scenario {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let s: Scenario =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(
            !s.steps.is_empty(),
            "a scenario needs at least one [[step]]"
        );
        ensure!(
            s.steps.windows(2).all(|w| w[0].day < w[1].day),
            "steps must be in increasing day order"
        );
        Ok(s)
    }
}

/// Where a scenario's run stands: the desk, its actors (an LP account each) and positions.
struct Run {
    desk: Desk,
    actors: BTreeMap<String, Lp>,
    symbols: Vec<String>,
    prices: Vec<f64>,
}

impl Run {
    fn actor(&mut self, name: &str) -> anyhow::Result<&Lp> {
        if !self.actors.contains_key(name) {
            let lp = self.desk.lp(name, 0)?;
            self.actors.insert(name.to_string(), lp);
        }
        self.actors.get(name).context("actor")
    }

    fn market(&self, symbol: &str) -> anyhow::Result<usize> {
        self.symbols
            .iter()
            .position(|s| s == symbol)
            .with_context(|| format!("no market {symbol} (markets: {})", self.symbols.join(", ")))
    }

    fn set_prices(&mut self, prices: &BTreeMap<String, f64>) -> anyhow::Result<()> {
        for (symbol, &p) in prices {
            let m = self.market(symbol)?;
            ensure!(
                p > 0.0 && p.is_finite(),
                "{symbol}: price {p} must be positive"
            );
            self.prices[m] = p;
        }
        Ok(())
    }

    /// Base whole units to native, rounded toward zero.
    fn base_native(&self, market: usize, size: f64) -> i64 {
        let decimals = self.desk.world.markets[market].base_decimals as i32;
        (size * 10f64.powi(decimals)) as i64
    }
}

fn usd_native(amount: f64) -> anyhow::Result<u64> {
    ensure!(
        amount >= 0.0 && amount.is_finite(),
        "amount {amount} must be ≥ 0"
    );
    Ok((amount * USD as f64).round() as u64)
}

/// Check an action's outcome against its `expect`: `Ok(true)` when it succeeded as expected.
fn expect(what: &str, expected: &Option<String>, error: Option<String>) -> anyhow::Result<()> {
    match (expected, error) {
        (None, _) => Ok(()),
        (Some(e), None) => bail!("{what}: expected {e}, but it succeeded"),
        (Some(e), Some(got)) if got.contains(e.as_str()) => Ok(()),
        (Some(e), Some(got)) => bail!("{what}: expected {e}, got {got}"),
    }
}

/// Run `scenario`; returns the desk with its event log and the dates of its steps.
pub fn run(scenario: &Scenario) -> anyhow::Result<(Desk, Vec<String>, Vec<[f64; 10]>)> {
    let presets = default_markets();
    let symbols: Vec<String> = presets.iter().map(|m| m.symbol.to_string()).collect();
    let start = noon(&scenario.start)?;
    let mut prices: Vec<f64> = presets.iter().map(|m| m.price).collect();
    for (symbol, &p) in &scenario.prices {
        let m = symbols
            .iter()
            .position(|s| s == symbol)
            .with_context(|| format!("no market {symbol}"))?;
        prices[m] = p;
    }
    let mut world = World::new(start, &presets, &prices, limits(scenario.max_imbalance_bps))?;
    // a scripted step expects each action's outcome at once: withdrawals execute without the
    // pool's delay here (the sandbox's replay keeps it)
    let operator = world.operator();
    let no_delay = perp_amm::state::RequestParams {
        withdrawal_delay_secs: 0,
        ..crate::client::presets::request_params()
    };
    world
        .chain
        .send(
            &[ix::set_request_params(
                &operator.pubkey(),
                &world.pool,
                no_delay,
            )],
            &[],
        )
        .map_err(|e| anyhow::anyhow!("set_request_params: {e}"))?;
    let mut desk = Desk::new(world, scenario.start.clone())?;
    desk.log(What::Setup {
        markets: symbols.clone(),
        sources: vec![format!("scenario: {}", scenario.name); symbols.len()],
        lp_capital: scenario.lp_capital * USD,
        default_fund: scenario.default_fund * USD,
        max_imbalance_bps: scenario.max_imbalance_bps,
    });
    let (sigma, corr) = calibration(symbols.len());
    desk.publish_risk(sigma, corr)?;
    let mut run = Run {
        desk,
        actors: BTreeMap::new(),
        symbols,
        prices,
    };
    let lp = run.desk.lp("lp", scenario.lp_capital * USD)?;
    ensure!(
        run.desk.deposit(&lp, scenario.lp_capital * USD)?,
        "the LP's deposit was refused"
    );
    run.actors.insert("lp".into(), lp);
    run.desk.fund_default_fund(scenario.default_fund * USD)?;

    let (mut dates, mut history) = (vec![], vec![]);
    for step in &scenario.steps {
        run.set_prices(&step.prices)?;
        let now = start + step.day as i64 * 86_400;
        let date = civil_date(now);
        let prices = run.prices.clone();
        run.desk.begin_day(step.day, &date, now, &prices)?;
        for action in &step.actions {
            act(&mut run, action).with_context(|| format!("day {}: {action:?}", step.day))?;
        }
        run.desk.refresh_imbalance()?;
        let open = open_positions(&mut run)?;
        run.desk.snapshot(&prices, open)?;
        dates.push(date);
        history.push(std::array::from_fn(|i| prices[i]));
    }
    Ok((run.desk, dates, history))
}

fn open_positions(run: &mut Run) -> anyhow::Result<u32> {
    let mut n = 0;
    let keys: Vec<_> = run.actors.values().map(|a| a.actor.key()).collect();
    for key in keys {
        for m in 0..run.symbols.len() {
            if run.desk.world.position(m, &key)?.is_some() {
                n += 1;
            }
        }
    }
    Ok(n)
}

fn act(run: &mut Run, action: &Action) -> anyhow::Result<()> {
    match action {
        Action::Fund { actor, amount } => {
            let amount = usd_native(*amount)?;
            let quote = run.actor(actor)?.actor.quote;
            let mint = run.desk.world.quote_mint;
            run.desk.world.mint_to(&mint, &quote, amount)
        }
        Action::Deposit {
            actor,
            amount,
            expect: e,
        } => {
            let amount = usd_native(*amount)?;
            let lp = run.actor(actor)?.clone_lp();
            let before = run.desk.events.len();
            run.desk.deposit(&lp, amount)?;
            expect("deposit", e, refusal_since(&run.desk, before))
        }
        Action::Withdraw {
            actor,
            fraction,
            expect: e,
        } => {
            ensure!(
                (0.0..=1.0).contains(fraction),
                "fraction {fraction} must be in [0, 1]"
            );
            let lp = run.actor(actor)?.clone_lp();
            let shares = (run.desk.world.balance(&lp.lp_account)? as f64 * fraction) as u64;
            let before = run.desk.events.len();
            run.desk.withdraw(&lp, shares)?;
            expect("withdraw", e, refusal_since(&run.desk, before))
        }
        Action::Open {
            actor,
            market,
            size,
            collateral,
            expect: e,
        } => {
            let m = run.market(market)?;
            let action = TradeAction::Open {
                size: run.base_native(m, *size),
                collateral: usd_native(*collateral)?,
            };
            trade(run, actor, m, action, e)
        }
        Action::Increase {
            actor,
            market,
            size,
            collateral,
            expect: e,
        } => {
            let m = run.market(market)?;
            let action = TradeAction::Increase {
                size: run.base_native(m, *size),
                collateral: usd_native(*collateral)?,
            };
            trade(run, actor, m, action, e)
        }
        Action::Decrease {
            actor,
            market,
            size,
            expect: e,
        } => {
            let m = run.market(market)?;
            let size = run.base_native(m, size.abs()).unsigned_abs();
            trade(run, actor, m, TradeAction::Decrease { size }, e)
        }
        Action::Close {
            actor,
            market,
            expect: e,
        } => {
            let m = run.market(market)?;
            trade(run, actor, m, TradeAction::Close, e)
        }
        Action::Keeper {} => {
            let owners: Vec<Actor> = run.actors.values().map(|a| a.actor.clone()).collect();
            for owner in owners {
                for m in 0..run.symbols.len() {
                    run.desk.liquidate(&owner, m)?;
                }
            }
            Ok(())
        }
    }
}

fn trade(
    run: &mut Run,
    actor: &str,
    market: usize,
    action: TradeAction,
    e: &Option<String>,
) -> anyhow::Result<()> {
    let a = run.actor(actor)?.actor.clone();
    let result = run.desk.trade(&a, market, action)?;
    expect("trade", e, result.err().map(|r| r.name))
}

/// The error of a refusal logged after event `from`, if any.
fn refusal_since(desk: &Desk, from: usize) -> Option<String> {
    desk.events[from..].iter().find_map(|e| match &e.what {
        What::Refused { error, .. } => Some(error.clone()),
        _ => None,
    })
}

impl Lp {
    fn clone_lp(&self) -> Lp {
        Lp {
            actor: self.actor.clone(),
            lp_account: self.lp_account,
        }
    }
}
