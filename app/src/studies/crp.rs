//! `keel study crp`: the collateral rebalancing pool over 3-month BTC paths (ALEX seed 004,
//! their Figure 2 and high-volatility simulation), reproduced with the program's own arithmetic
//! and set against ALEX's delta and single-asset collateral.
//!
//! Each path runs one pool the way the program does: `keel_math::crp::rebalance` for the daily
//! weight target (the program's own step), `keel_math::crp::ramp_weight` for the weight in force
//! (the program's `CrpPool::weight_at`), `keel_math::crp::swap_exact_in` for the arbitrage that
//! follows it (fees included), the flight to quality at the conversion LTV (a sale at the oracle
//! less the discount, then frozen), and the settlement waterfall at expiry. Integer amounts: the
//! risky token has 8 decimals and the riskless one 6. The variants on the same paths:
//! - **keel**: Φ(d1) with the exact ln(S/K), the EMA, the weight ramp, the freeze (issue #17).
//!   A rebalance sets the target w' = α·Φ(d1) + (1 − α)·w and the weight moves linearly to it
//!   over the rebalance interval (one day). The study reads one price a day (the close) and
//!   rebalances at that reading. The first arbitrage follows at the same instant, when the weight
//!   is still the ramp's start (the target set the day before), so the weight at each reading
//!   lags Φ(d1) by one interval. Arbitrageurs then trade along the ramp, `--arbitrage-steps`
//!   times a day (hourly by default), at the reading's price: the price moves once a day, at
//!   the reading. With `--arbitrage-steps 1` nobody trades between readings and each day's
//!   whole weight step is traded at once against the next day's price move.
//!   The conversion needs the LTV at the mid price (the close: no confidence band is modelled,
//!   so every print counts as tight) at the threshold on two prints 300 s apart. A daily model
//!   has no price 5 minutes later, so the confirming print is taken to be the same close, and
//!   the pool converts at the reading that shows the breach (what its balances do in those 5
//!   minutes is ignored); it is checked at the readings only. Lenders are owed unlent cash at
//!   par plus the debt at face; the study's single loan takes all the lent cash, so they are
//!   owed the debt, as before;
//! - **ALEX**: their contract's weight (ln(S/K) ≈ S/K − 1, Φ(d2) at or below the strike) and no
//!   real freeze (after converting, the pool keeps re-weighting into the risky asset);
//! - **single asset**: the collateral held as BTC, no liquidation.

use std::path::{Path, PathBuf};

use anyhow::Context;
use keel_math::Fix;
use keel_math::crp::{
    Balances, MAX_WEIGHT, MIN_WEIGHT, Rebalance, ramp_weight, rebalance, swap_exact_in, years,
};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};

use crate::risk::PriceSeries;

#[derive(clap::Args, Debug)]
pub struct CrpArgs {
    /// Directory holding BTC-USD.csv (`date,close`)
    #[arg(long)]
    pub prices: PathBuf,
    /// Where the SVG figures and the table are written
    #[arg(long, default_value = "study-out/crp")]
    pub out: PathBuf,
    /// First dates of the historical windows (comma-separated): a rally and a crash by default
    #[arg(long, value_delimiter = ',', default_value = "2020-10-01,2022-04-01")]
    pub windows: Vec<String>,
    /// Term of each loan, days
    #[arg(long, default_value_t = 90)]
    pub days: usize,
    /// Simulated paths
    #[arg(long, default_value_t = 1_000)]
    pub paths: usize,
    /// Annual volatility of the simulated paths (the high-volatility case)
    #[arg(long, default_value_t = 1.5)]
    pub sim_sigma: f64,
    /// The pool's σ parameter (the delta's volatility)
    #[arg(long, default_value_t = 0.8)]
    pub sigma: f64,
    /// EMA factor α of the weight update
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// Loan over collateral value at the start
    #[arg(long, default_value_t = 0.5)]
    pub ltv: f64,
    /// Debt over pool value at which the pool converts to the riskless asset
    #[arg(long, default_value_t = 0.8)]
    pub conversion_ltv: f64,
    /// Fixed simple annual rate of the loan
    #[arg(long, default_value_t = 0.05)]
    pub rate: f64,
    /// Swap fee on the riskless leg
    #[arg(long, default_value_t = 0.003)]
    pub fee: f64,
    /// Discount to the oracle of the conversion sale
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Seed of the simulated paths
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Arbitrages a day in the keel pool, evenly spaced along its weight ramp from the daily
    /// reading on, all at that reading's price (24: hourly; 1: only at the reading, when the
    /// weight is still the ramp's start, so each day's whole weight step is traded at once)
    #[arg(long, default_value_t = 24)]
    pub arbitrage_steps: u32,
}

/// Which weight rule a pool follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Keel,
    Alex,
}

/// Collateral value at the start, riskless native units (1,000,000 USD at 6 decimals).
const COLLATERAL: f64 = 1e12;
/// Riskless native per risky native for a USD price (8 and 6 decimals).
const PRICE_SCALE: f64 = 1e-2;
/// Seconds between two readings of the price, and the pool's rebalance interval
/// (`min_rebalance_interval_secs`), over which each re-weight ramps.
const DAY: i64 = 86_400;

/// One pool's day-by-day record and its outcome.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PathRun {
    /// The risky weight in force at each day's reading (0 once converted): for keel the weight on
    /// its ramp at that instant, which the day's arbitrage trades against.
    pub weights: Vec<f64>,
    pub deltas: Vec<f64>,
    /// Day and price at which the flight to quality started.
    pub ftq: Option<(usize, f64)>,
    /// Pool value at expiry over the initial collateral.
    pub value: f64,
    /// What lenders lack at expiry, over the debt.
    pub shortfall: f64,
    /// The borrower's residual at expiry over the initial collateral.
    pub residual: f64,
}

struct Cfg {
    sigma: Fix,
    alpha: Fix,
    fee: Fix,
    ltv: f64,
    conversion: f64,
    rate: f64,
    discount: f64,
    days: usize,
    arbitrage_steps: u32,
}

fn fix(v: f64) -> Fix {
    Fix::from_num(v)
}

/// ALEX's weight: ln(S/K) ≈ S/K − 1, and Φ(d2) at or below the strike (mission.md).
fn alex_delta(s: f64, k: f64, sigma: f64, t: f64) -> anyhow::Result<f64> {
    let vol = sigma * t.sqrt();
    if vol == 0.0 {
        return Ok(if s > k { 1.0 } else { 0.0 });
    }
    let d1 = ((s / k - 1.0) + vol * vol / 2.0) / vol;
    let d = if s > k { d1 } else { d1 - vol };
    Ok(keel_math::norm_cdf(fix(d))?.to_num::<f64>())
}

/// Trade the pool's price to `price` (riskless native per risky native) as an arbitrageur
/// would, in up to four trades of at most 30 % of a balance, through the program's swap math.
fn arbitrage(b: &mut Balances, price: f64, fee: Fix) -> anyhow::Result<()> {
    for _ in 0..4 {
        let w = b.risky_weight.to_num::<f64>();
        let (x, y) = (b.risky as f64, b.riskless as f64);
        let l = x.powf(w) * y.powf(1.0 - w);
        let ratio = price * (1.0 - w) / w;
        let x_target = l / ratio.powf(1.0 - w);
        let risky_in = x_target > x;
        let amount = if risky_in {
            (x_target - x).min(0.3 * x)
        } else {
            (x_target * ratio - y).min(0.3 * y)
        };
        // below a thousandth of a percent of the pool the fee outweighs the edge
        if amount < 1e-5 * if risky_in { x } else { y } {
            break;
        }
        let s = swap_exact_in(b, risky_in, amount as u64, fee)?;
        if risky_in {
            b.risky += s.amount_in;
            b.riskless -= s.amount_out;
        } else {
            b.riskless += s.amount_in;
            b.risky -= s.amount_out;
        }
    }
    Ok(())
}

/// Run one loan's pool over `prices` (USD, day 0 … term).
fn run_path(prices: &[f64], cfg: &Cfg, variant: Variant) -> anyhow::Result<PathRun> {
    let p0 = prices[0];
    let strike = p0 * PRICE_SCALE;
    let total = years(cfg.days as u64 * 86_400);
    // keel's step is the program's own (`crp::rebalance`: Φ(d1), EMA, clamp); ALEX's is their
    // delta through the same EMA and clamp
    let step = |p: f64, day: usize, previous: Fix, alpha: Fix| -> anyhow::Result<Rebalance> {
        let t = years(((cfg.days - day) * 86_400) as u64);
        Ok(match variant {
            Variant::Keel => rebalance(
                fix(p * PRICE_SCALE),
                fix(strike),
                cfg.sigma,
                t,
                previous,
                alpha,
            )?,
            Variant::Alex => {
                let delta = fix(alex_delta(
                    p,
                    p0,
                    cfg.sigma.to_num::<f64>(),
                    t.to_num::<f64>(),
                )?);
                let weight =
                    keel_math::ema_update(previous, delta, alpha)?.clamp(MIN_WEIGHT, MAX_WEIGHT);
                Rebalance { delta, weight }
            }
        })
    };
    // the first weight is the delta itself (α = 1), as `init_pool` sets it
    let start = step(p0, 0, MIN_WEIGHT, Fix::ONE)?;
    let w0 = start.weight.to_num::<f64>();
    let mut b = Balances {
        risky: (w0 * COLLATERAL / (p0 * PRICE_SCALE)) as u64,
        riskless: ((1.0 - w0) * COLLATERAL) as u64,
        risky_weight: start.weight,
    };
    let debt = COLLATERAL * cfg.ltv * (1.0 + cfg.rate * total.to_num::<f64>());
    let mut run = PathRun {
        weights: vec![w0],
        deltas: vec![start.delta.to_num::<f64>()],
        ..Default::default()
    };
    // keel's weight ramp (start, target, t0, t1): `init_pool` leaves it ended at the start weight
    let mut ramp = (start.weight, start.weight, 0, 0);
    let mut frozen = false;
    for (day, &p) in prices.iter().enumerate().skip(1) {
        let now = day as i64 * DAY;
        if variant == Variant::Keel && !frozen {
            // the weight in force at this reading: a day after the last rebalance, its target
            b.risky_weight = ramp_weight(ramp.0, ramp.1, ramp.2, ramp.3, now)?;
        }
        let at_reading = b.risky_weight;
        let native = p * PRICE_SCALE;
        let value = b.risky as f64 * native + b.riskless as f64;
        if !frozen && run.ftq.is_none() && debt >= cfg.conversion * value && b.risky > 0 {
            // flight to quality at the mid price (the close), confirmed by a second print 300 s
            // later taken at the same close: everything risky sold at the oracle less the discount
            run.ftq = Some((day, p));
            b.riskless += (b.risky as f64 * native * (1.0 - cfg.discount)) as u64;
            b.risky = 0;
            frozen = variant == Variant::Keel;
        }
        let next = step(p, day, b.risky_weight, cfg.alpha)?;
        let delta = next.delta.to_num::<f64>();
        run.deltas.push(delta);
        if day < cfg.days && !frozen {
            if b.risky == 0 {
                // ALEX's converted pool keeps re-weighting: it buys risky back on a rebound
                if variant == Variant::Alex && delta > 0.01 {
                    let buy = b.riskless as f64 * delta.min(0.99) * (1.0 - cfg.discount);
                    b.risky = (buy / native) as u64;
                    b.riskless -= buy as u64;
                    b.risky_weight = fix(delta.clamp(0.01, 0.99));
                }
            } else {
                match variant {
                    // the program's rebalance: the target is set and the weight ramps to it over
                    // the interval; at this instant it is still the ramp's start
                    Variant::Keel => ramp = (b.risky_weight, next.weight, now, now + DAY),
                    Variant::Alex => b.risky_weight = next.weight,
                }
                arbitrage(&mut b, native, cfg.fee)?;
                if variant == Variant::Keel {
                    // arbitrage later in the interval, along the ramp, at the same price
                    let n = i64::from(cfg.arbitrage_steps.max(1));
                    for j in 1..n {
                        let at = now + j * DAY / n;
                        b.risky_weight = ramp_weight(ramp.0, ramp.1, ramp.2, ramp.3, at)?;
                        arbitrage(&mut b, native, cfg.fee)?;
                    }
                }
            }
        }
        run.weights.push(if b.risky == 0 {
            0.0
        } else if variant == Variant::Keel {
            at_reading.to_num::<f64>()
        } else {
            b.risky_weight.to_num::<f64>()
        });
    }
    let native = prices[cfg.days] * PRICE_SCALE;
    let value = b.risky as f64 * native + b.riskless as f64;
    // settlement: the riskless side pays the debt, selling risky at the discount when short
    let short = (debt - b.riskless as f64).max(0.0);
    let sale_loss = short.min(b.risky as f64 * native) * cfg.discount;
    let net = value - sale_loss;
    let paid = debt.min(net);
    run.value = net / COLLATERAL;
    run.shortfall = (debt - paid) / debt;
    run.residual = (net - paid) / COLLATERAL;
    Ok(run)
}

/// Zero-drift geometric Brownian motion, daily closes, Box–Muller normals.
fn simulate(rng: &mut rand::rngs::StdRng, days: usize, sigma: f64) -> Vec<f64> {
    let dt = 1.0 / 365.25;
    let mut p = vec![100.0];
    for _ in 0..days {
        let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let last = *p.last().unwrap_or(&100.0);
        p.push(last * (-0.5 * sigma * sigma * dt + sigma * dt.sqrt() * z).exp());
    }
    p
}

/// One historical window: its path and the three outcomes.
#[derive(Debug, serde::Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub prices: Vec<f64>,
    pub keel: PathRun,
    pub alex: PathRun,
    pub single_value: f64,
    pub single_shortfall: f64,
}

/// A variant's statistics over the simulated paths.
#[derive(Debug, Default, serde::Serialize)]
pub struct SimStats {
    pub name: String,
    pub ftq_rate: f64,
    pub mean_ftq_day: f64,
    pub shortfall_rate: f64,
    pub mean_shortfall: f64,
    pub mean_residual: f64,
    pub p5_residual: f64,
    pub median_residual: f64,
}

#[derive(Debug, serde::Serialize)]
pub struct CrpStudy {
    pub days: usize,
    pub ltv: f64,
    pub arbitrage_steps: u32,
    pub windows: Vec<Window>,
    pub paths: usize,
    pub sim_sigma: f64,
    pub debt: f64,
    pub simulated: Vec<SimStats>,
    pub compute_ms: f64,
    pub files: Vec<String>,
    #[serde(skip)]
    outcomes: Vec<(f64, f64, f64)>,
    #[serde(skip)]
    sample: Option<(Vec<f64>, PathRun, PathRun)>,
}

fn stats(name: &str, runs: &[(Option<usize>, f64, f64)]) -> SimStats {
    let n = runs.len().max(1) as f64;
    let mut residuals: Vec<f64> = runs.iter().map(|r| r.2).collect();
    residuals.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        residuals
            .get(((residuals.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let ftq: Vec<usize> = runs.iter().filter_map(|r| r.0).collect();
    SimStats {
        name: name.into(),
        ftq_rate: ftq.len() as f64 / n,
        mean_ftq_day: if ftq.is_empty() {
            0.0
        } else {
            ftq.iter().sum::<usize>() as f64 / ftq.len() as f64
        },
        shortfall_rate: runs.iter().filter(|r| r.1 > 0.0).count() as f64 / n,
        mean_shortfall: runs.iter().map(|r| r.1).sum::<f64>() / n,
        mean_residual: residuals.iter().sum::<f64>() / n,
        p5_residual: pct(0.05),
        median_residual: pct(0.5),
    }
}

pub fn run_crp(args: &CrpArgs) -> anyhow::Result<CrpStudy> {
    anyhow::ensure!(
        args.days >= 2 && args.paths >= 1,
        "--days ≥ 2 and --paths ≥ 1"
    );
    anyhow::ensure!(
        0.0 < args.ltv && args.ltv < args.conversion_ltv && args.conversion_ltv < 1.0,
        "0 < --ltv < --conversion-ltv < 1"
    );
    let cfg = Cfg {
        sigma: fix(args.sigma),
        alpha: fix(args.alpha),
        fee: fix(args.fee),
        ltv: args.ltv,
        conversion: args.conversion_ltv,
        rate: args.rate,
        discount: args.discount,
        days: args.days,
        arbitrage_steps: args.arbitrage_steps,
    };
    let debt = args.ltv * (1.0 + args.rate * args.days as f64 / 365.25);
    let started = std::time::Instant::now();
    let btc = PriceSeries::read(&args.prices.join("BTC-USD.csv"))?;
    let mut windows = Vec::new();
    for start in &args.windows {
        let i = btc
            .dates
            .iter()
            .position(|d| d.as_str() >= start.as_str())
            .with_context(|| format!("no BTC price on or after {start}"))?;
        let prices = btc
            .closes
            .get(i..=i + args.days)
            .with_context(|| format!("fewer than {} days after {start}", args.days))?
            .to_vec();
        let single_value = prices[args.days] / prices[0];
        windows.push(Window {
            start: btc.dates[i].clone(),
            end: btc.dates[i + args.days].clone(),
            keel: run_path(&prices, &cfg, Variant::Keel)?,
            alex: run_path(&prices, &cfg, Variant::Alex)?,
            single_value,
            single_shortfall: ((debt - single_value) / debt).max(0.0),
            prices,
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let (mut ours, mut theirs, mut single) = (vec![], vec![], vec![]);
    let mut outcomes = Vec::with_capacity(args.paths);
    let mut sample = None;
    for _ in 0..args.paths {
        let path = simulate(&mut rng, args.days, args.sim_sigma);
        let k = run_path(&path, &cfg, Variant::Keel)?;
        let a = run_path(&path, &cfg, Variant::Alex)?;
        let ratio = path[args.days] / path[0];
        if sample.is_none() && k.ftq.is_some() && ratio > 0.8 {
            // the figure's simulated panel: a path that converts and then recovers
            sample = Some((path.clone(), k.clone(), a.clone()));
        }
        outcomes.push((ratio, k.value, a.value));
        ours.push((k.ftq.map(|f| f.0), k.shortfall, k.residual));
        theirs.push((a.ftq.map(|f| f.0), a.shortfall, a.residual));
        let shortfall = ((debt - ratio) / debt).max(0.0);
        single.push((None, shortfall, (ratio - debt).max(0.0)));
    }
    let compute_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut study = CrpStudy {
        days: args.days,
        ltv: args.ltv,
        arbitrage_steps: args.arbitrage_steps.max(1),
        windows,
        paths: args.paths,
        sim_sigma: args.sim_sigma,
        debt,
        simulated: vec![
            stats("keel: Φ(d1), EMA, frozen after conversion", &ours),
            stats("ALEX: S/K − 1, Φ(d2) below K, no freeze", &theirs),
            stats("single asset (BTC), no liquidation", &single),
        ],
        compute_ms,
        files: vec![],
        outcomes,
        sample,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    study.files.push(weights_figure(
        &args.out.join("weight_vs_delta.svg"),
        &study,
    )?);
    study.files.push(value_figure(
        &args.out.join("value_vs_single_asset.svg"),
        &study,
    )?);
    let table = args.out.join("table.md");
    std::fs::write(&table, study.to_text())?;
    study.files.push(table.display().to_string());
    Ok(study)
}

impl CrpStudy {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "Collateral rebalancing pool, {}-day loans at {:.0} % LTV (values per unit of collateral); \
             the keel pool's weight ramps over a day to each daily target, arbitraged {} time(s) a day along the ramp\n\n\
             | BTC window | price | flight to quality (keel) | pool value keel / ALEX | single asset | lenders short keel / ALEX / single | mean abs(w − Δ) keel |\n\
             |---|---|---|---:|---:|---|---:|\n",
            self.days,
            100.0 * self.ltv,
            self.arbitrage_steps
        );
        for w in &self.windows {
            let gap = w
                .keel
                .weights
                .iter()
                .zip(&w.keel.deltas)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                / w.keel.weights.len() as f64;
            let ftq = w
                .keel
                .ftq
                .map_or("none".into(), |(d, p)| format!("day {d} at {p:.0}"));
            s += &format!(
                "| {} → {} | {:.0} → {:.0} | {ftq} | {:.3} / {:.3} | {:.3} | {:.1} % / {:.1} % / {:.1} % | {gap:.3} |\n",
                w.start,
                w.end,
                w.prices[0],
                w.prices[w.prices.len() - 1],
                w.keel.value,
                w.alex.value,
                w.single_value,
                100.0 * w.keel.shortfall,
                100.0 * w.alex.shortfall,
                100.0 * w.single_shortfall,
            );
        }
        s += &format!(
            "\n{} simulated paths, σ = {:.0} % a year, zero drift (debt {:.4} of the collateral)\n\n\
             | collateral | flight to quality | mean day | lenders short (paths) | mean shortfall | borrower residual mean / median / 5th pct |\n\
             |---|---:|---:|---:|---:|---|\n",
            self.paths,
            100.0 * self.sim_sigma,
            self.debt
        );
        for v in &self.simulated {
            s += &format!(
                "| {} | {:.1} % | {:.1} | {:.1} % | {:.2} % | {:.3} / {:.3} / {:.3} |\n",
                v.name,
                100.0 * v.ftq_rate,
                v.mean_ftq_day,
                100.0 * v.shortfall_rate,
                100.0 * v.mean_shortfall,
                v.mean_residual,
                v.median_residual,
                v.p5_residual
            );
        }
        if let Some((prices, keel, alex)) = &self.sample {
            let day = |r: &PathRun| r.ftq.map_or("none".into(), |(d, _)| format!("day {d}"));
            s += &format!(
                "\nThe figure's simulated path: {:.1} → {:.1}, flight to quality keel {} / ALEX {}\n",
                prices[0],
                prices[prices.len() - 1],
                day(keel),
                day(alex)
            );
        }
        s += &format!("\ncomputed in {:.0} ms\n", self.compute_ms);
        for f in &self.files {
            s += &format!("wrote {f}\n");
        }
        s
    }
}

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

const KEEL: RGBColor = RGBColor(30, 110, 200);
const ALEX: RGBColor = RGBColor(230, 120, 20);
const DELTA: RGBColor = RGBColor(40, 40, 40);

/// ALEX's Figure 2, per path: price above, the risky weight and the delta below.
fn weights_figure(path: &Path, study: &CrpStudy) -> anyhow::Result<String> {
    let mut panels: Vec<(String, &[f64], &PathRun, &PathRun)> = study
        .windows
        .iter()
        .map(|w| {
            (
                format!("BTC {} → {}", w.start, w.end),
                w.prices.as_slice(),
                &w.keel,
                &w.alex,
            )
        })
        .collect();
    if let Some((prices, k, a)) = &study.sample {
        panels.push((
            format!("simulated, σ {:.0} %", 100.0 * study.sim_sigma),
            prices.as_slice(),
            k,
            a,
        ));
    }
    let root = SVGBackend::new(path, (520 * panels.len().max(1) as u32, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let columns = root.split_evenly((1, panels.len().max(1)));
    for (area, (title, prices, keel, alex)) in columns.iter().zip(&panels) {
        let (top, bottom) = area.split_vertically(220);
        let days = prices.len() - 1;
        let (lo, hi) = prices
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &p| (l.min(p), h.max(p)));
        let mut chart = ChartBuilder::on(&top)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(0..days, lo * 0.95..hi * 1.05)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .y_desc("price")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                prices.iter().enumerate().map(|(d, &p)| (d, p)),
                &BLACK,
            ))
            .map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&bottom)
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0..days, 0.0..1.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("day")
            .y_desc("risky weight")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                keel.deltas.iter().enumerate().map(|(d, &v)| (d, v)),
                DELTA.stroke_width(1),
            ))
            .map_err(plot_err)?
            .label("call delta Φ(d1)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], DELTA));
        chart
            .draw_series(LineSeries::new(
                keel.weights.iter().enumerate().map(|(d, &v)| (d, v)),
                KEEL.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label("keel weight (EMA target, ramped over a day; frozen after conversion)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], KEEL));
        chart
            .draw_series(LineSeries::new(
                alex.weights.iter().enumerate().map(|(d, &v)| (d, v)),
                ALEX.stroke_width(1),
            ))
            .map_err(plot_err)?
            .label("ALEX weight (S/K − 1, Φ(d2) below K)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], ALEX));
        if let Some((day, _)) = keel.ftq {
            chart
                .draw_series(LineSeries::new(
                    vec![(day, 0.0), (day, 1.0)],
                    RED.stroke_width(1),
                ))
                .map_err(plot_err)?
                .label("flight to quality")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 11))
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(path.display().to_string())
}

/// Pool value at expiry against the BTC price ratio over the simulated paths, beside
/// single-asset collateral (the diagonal) and the debt.
fn value_figure(path: &Path, study: &CrpStudy) -> anyhow::Result<String> {
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let max_x = study
        .outcomes
        .iter()
        .map(|o| o.0)
        .fold(1.0f64, f64::max)
        .min(4.0);
    // paths that more than quadrupled are left out of the picture (and counted in the caption)
    let shown: Vec<_> = study
        .outcomes
        .iter()
        .filter(|o| o.0 <= max_x && o.1 <= max_x && o.2 <= max_x)
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Collateral value at expiry, {} paths at σ {:.0} % ({} beyond 4× not shown)",
                study.paths,
                100.0 * study.sim_sigma,
                study.outcomes.len() - shown.len()
            ),
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_x, 0.0..max_x)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("BTC price at expiry / at the start")
        .y_desc("collateral value / initial")
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, 0.0), (max_x, max_x)],
            BLACK.mix(0.6),
        ))
        .map_err(plot_err)?
        .label("single asset (BTC)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, study.debt), (max_x, study.debt)],
            RED,
        ))
        .map_err(plot_err)?
        .label("debt at expiry")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart
        .draw_series(
            shown
                .iter()
                .map(|o| Circle::new((o.0, o.2), 2, ALEX.mix(0.5).filled())),
        )
        .map_err(plot_err)?
        .label("ALEX pool")
        .legend(|(x, y)| Circle::new((x + 8, y), 3, ALEX.filled()));
    chart
        .draw_series(
            shown
                .iter()
                .map(|o| Circle::new((o.0, o.1), 2, KEEL.mix(0.6).filled())),
        )
        .map_err(plot_err)?
        .label("keel pool")
        .legend(|(x, y)| Circle::new((x + 8, y), 3, KEEL.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Cfg {
        Cfg {
            sigma: fix(0.8),
            alpha: fix(0.5),
            fee: fix(0.003),
            ltv: 0.5,
            conversion: 0.8,
            rate: 0.05,
            discount: 0.01,
            days: 90,
            arbitrage_steps: 24,
        }
    }

    #[test]
    fn alex_weight_jumps_at_the_strike_and_ours_does_not() -> anyhow::Result<()> {
        let (k, sigma, t) = (100.0, 0.8, 0.25);
        let jump = alex_delta(100.0001, k, sigma, t)? - alex_delta(100.0, k, sigma, t)?;
        // Φ(d1) − Φ(d2) at the money with σ√T = 0.4: Φ(0.2) − Φ(−0.2) = 0.159
        assert!((jump - 0.1585).abs() < 1e-3, "{jump}");
        let ours = |s: f64| -> anyhow::Result<f64> {
            Ok(keel_math::call_delta(fix(s), fix(k), fix(sigma), fix(t))?.to_num::<f64>())
        };
        assert!((ours(100.0001)? - ours(100.0)?).abs() < 1e-5);
        Ok(())
    }

    #[test]
    fn the_keel_weight_is_the_target_set_one_interval_earlier() -> anyhow::Result<()> {
        // a 1 %/day rally: the delta climbs every day, so a weight without the lag would differ
        let prices: Vec<f64> = (0..=90).map(|d| 100.0 * 1.01f64.powi(d)).collect();
        let c = cfg();
        let run = run_path(&prices, &c, Variant::Keel)?;
        assert!(run.ftq.is_none());
        let strike = fix(prices[0] * PRICE_SCALE);
        let t = |day: usize| years(((90 - day) * 86_400) as u64);
        let mut target = rebalance(strike, strike, c.sigma, t(0), MIN_WEIGHT, Fix::ONE)?.weight;
        assert_eq!(run.weights[0], target.to_num::<f64>());
        for (day, &price) in prices.iter().enumerate().skip(1) {
            // arbitraged at the instant of day d's rebalance, the pool still has the weight the
            // ramp starts from: the target that day d − 1 set
            assert_eq!(run.weights[day], target.to_num::<f64>(), "day {day}");
            let now = fix(price * PRICE_SCALE);
            target = rebalance(now, strike, c.sigma, t(day), target, c.alpha)?.weight;
            assert!(
                run.weights[day] < run.deltas[day],
                "day {day}: the weight trails the rising delta"
            );
        }
        Ok(())
    }

    #[test]
    fn arbitrage_along_the_ramp_costs_the_pool_less_than_one_trade_a_day() -> anyhow::Result<()> {
        // ±8 % every other day: each day's weight step is large. No fee, so that what the pool
        // keeps is what arbitrage did not take (not fees paid on trades along the ramp)
        let prices: Vec<f64> = (0..=90)
            .map(|d| if d % 2 == 0 { 100.0 } else { 108.0 })
            .collect();
        let hourly = Cfg {
            fee: Fix::ZERO,
            ..cfg()
        };
        let hourly = run_path(&prices, &hourly, Variant::Keel)?;
        let once = Cfg {
            arbitrage_steps: 1,
            fee: Fix::ZERO,
            ..cfg()
        };
        let once = run_path(&prices, &once, Variant::Keel)?;
        // each day's whole step taken at once bleeds the pool into its flight to quality; along
        // the ramp it never gets there
        assert!(hourly.ftq.is_none());
        let (day, _) = once.ftq.expect("the one-trade pool converts");
        // until then the same targets, so the same weights at the readings
        assert_eq!(hourly.weights[..day], once.weights[..day]);
        assert!(
            hourly.value > once.value + 0.01,
            "{} vs {}",
            hourly.value,
            once.value
        );
        Ok(())
    }

    #[test]
    fn a_flat_price_keeps_lenders_whole_and_never_converts() -> anyhow::Result<()> {
        let prices = vec![100.0; 91];
        let run = run_path(&prices, &cfg(), Variant::Keel)?;
        assert!(run.ftq.is_none());
        assert_eq!(run.shortfall, 0.0);
        // at the strike the delta drifts toward ½ as expiry nears, and the weight follows it
        let last = run.weights[89];
        assert!(
            (last - run.deltas[89]).abs() < 0.01,
            "{last} vs {}",
            run.deltas[89]
        );
        // with the fee the arbitrageurs pay, the pool about breaks even (it keeps the fee of
        // every trade, and trades along the ramp are small) ...
        assert!((run.value - 1.0).abs() < 0.005, "{}", run.value);
        // ... without it, re-weighting through arbitrage costs it something, never more than 1 %
        let no_fee = Cfg {
            fee: Fix::ZERO,
            ..cfg()
        };
        let run = run_path(&prices, &no_fee, Variant::Keel)?;
        assert!(run.value < 1.0 && run.value > 0.99, "{}", run.value);
        Ok(())
    }
}
