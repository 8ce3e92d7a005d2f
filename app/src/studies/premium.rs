//! `keel study premium`: D8X's Figure 1 reproduced (seed 002), with Keel's charge beside it.
//!
//! One trader of notional κs opens against a pool of capital M (σ = 5 % by default). D8X's
//! exact insurance value is its eq. (2), E[max(κs·(e^X − 1) − M, 0)] with X ~ N(−σ²/2, σ²): in
//! closed form a Black–Scholes call on κs struck at κs + M (keel-math's `lognormal_book_value`,
//! the program's own kernel), checked here by Monte Carlo. D8X charges the digital option
//! instead: q·κs, q = Φ(d2) the pool's default probability. Keel charges the change of the
//! book's insurance value, V(after) − V(before): from a flat book that is eq. (2) itself, and
//! the price of the book's last unit is ∂V/∂(κs) = Φ(d1) − Φ(d2), which the figure shows beside
//! D8X's q.
//!
//! Two more tables: a trade that crosses a book's flat point (D8X splits it at k* = −K; Keel's
//! charge needs no split), and in portfolio mode a hedge in a correlated market up to twice its
//! IS-minimising size (the pool's Gaussian insurance value against IS·√h).

use std::path::{Path, PathBuf};

use anyhow::Context;
use keel_math::Fix;
use keel_math::d8x::{self, Exposure};
use keel_math::insurance::{gaussian_book_value, lognormal_book_value};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};

#[derive(clap::Args, Debug)]
pub struct PremiumArgs {
    /// Where the SVG figure and the table are written
    #[arg(long, default_value = "study-out/premium")]
    pub out: PathBuf,
    /// σ of the log return over the horizon (D8X's Figure 1: 5 %)
    #[arg(long, default_value_t = 0.05)]
    pub sigma: f64,
    /// The largest κs/M on the figure (120 points from 0)
    #[arg(long, default_value_t = 60.0)]
    pub max_ratio: f64,
    /// Monte Carlo paths per point (antithetic pairs)
    #[arg(long, default_value_t = 200_000)]
    pub paths: usize,
    /// Seed of the Monte Carlo draws
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
}

/// One point of Figure 1, per unit of the trade's notional κs.
#[derive(Debug, serde::Serialize)]
pub struct FigurePoint {
    /// κs/M
    pub ratio: f64,
    /// eq. (2) / κs in closed form (keel-math)
    pub exact: f64,
    /// eq. (2) / κs by Monte Carlo, and its standard error
    pub monte_carlo: f64,
    pub monte_carlo_se: f64,
    /// D8X's digital option: q
    pub digital: f64,
    /// Keel's price of the book's last unit, Φ(d1) − Φ(d2)
    pub marginal: f64,
}

/// A trade against a book of K = 10 at s = 100 with M = 100 (mission.md's example).
#[derive(Debug, serde::Serialize)]
pub struct CrossingRow {
    pub size: f64,
    /// D8X's premium (< 0: rebate), split at k* = −K
    pub d8x: f64,
    /// V(after) − V(before)
    pub charge: f64,
    /// What a new position is charged: a rebate refunds only its own premiums, so max(charge, 0)
    pub new_position: f64,
}

/// A hedge in ETH against a BTC book in portfolio mode.
#[derive(Debug, serde::Serialize)]
pub struct HedgeRow {
    /// The hedge as a share of the IS-minimising size
    pub share_of_minimum: f64,
    pub size_usd: f64,
    /// IS after the hedge, USD
    pub imbalance_score: f64,
    /// D8X-style portfolio premium, split at the IS-minimising size as D8X splits a crossing
    /// trade: the part up to it rebated at q of the minimum's IS, the part beyond charged q
    /// after the fill
    pub digital: f64,
    /// V(after) − V(before) of the pool's Gaussian insurance value
    pub charge: f64,
}

#[derive(Debug, serde::Serialize)]
pub struct PremiumStudy {
    pub sigma: f64,
    pub paths: usize,
    pub figure: Vec<FigurePoint>,
    /// The largest |closed form − Monte Carlo| in standard errors over the figure's points
    pub worst_z: f64,
    pub crossing: Vec<CrossingRow>,
    pub hedge: Vec<HedgeRow>,
    pub hedge_setup: String,
    pub files: Vec<String>,
}

fn fx(x: f64) -> Fix {
    Fix::from_num(x)
}

fn value(notional: f64, headroom: f64, sigma: f64) -> anyhow::Result<f64> {
    Ok(lognormal_book_value(fx(notional), fx(headroom), fx(sigma))
        .map_err(|e| anyhow::anyhow!("insurance value: {e}"))?
        .value
        .to_num())
}

/// E[max(F·(e^X − 1) − H, 0)] by Monte Carlo with antithetic normal pairs.
fn monte_carlo(
    rng: &mut rand::rngs::StdRng,
    f: f64,
    h: f64,
    sigma: f64,
    paths: usize,
) -> (f64, f64) {
    let payoff = |z: f64| (f * ((sigma * z - sigma * sigma / 2.0).exp() - 1.0) - h).max(0.0);
    let pairs = (paths / 2).max(1);
    let (mut sum, mut sq) = (0.0, 0.0);
    for _ in 0..pairs {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let y = (payoff(z) + payoff(-z)) / 2.0;
        sum += y;
        sq += y * y;
    }
    let n = pairs as f64;
    let mean = sum / n;
    (mean, ((sq / n - mean * mean).max(0.0) / n).sqrt())
}

pub fn run_premium(args: &PremiumArgs) -> anyhow::Result<PremiumStudy> {
    anyhow::ensure!(
        args.sigma > 0.0 && args.sigma < 2.0,
        "--sigma must be in (0, 2)"
    );
    anyhow::ensure!(args.paths >= 2, "--paths must be at least 2");
    anyhow::ensure!(
        args.max_ratio > 0.0 && args.max_ratio <= 1_000.0,
        "--max-ratio must be in (0, 1000]"
    );
    let sigma = args.sigma;
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    // Figure 1: one trader from a flat pool, M = 1000, κs/M up to --max-ratio (the pool
    // defaults when the price rises by M/κs: at σ = 5 % that takes κs/M beyond ~5)
    let m = 1_000.0;
    let mut figure = vec![];
    let mut worst_z: f64 = 0.0;
    for i in 1..=120 {
        let ratio = i as f64 * args.max_ratio / 120.0;
        let f = ratio * m;
        let exact = value(f, m, sigma)?;
        let (mc, se) = monte_carlo(&mut rng, f, m, sigma, args.paths);
        if se > 0.0 {
            worst_z = worst_z.max((exact - mc).abs() / se);
        }
        let d1 = ((f / (f + m)).ln() + sigma * sigma / 2.0) / sigma;
        let flat = Exposure {
            net_position: Fix::ZERO,
            locked_value: Fix::ZERO,
            capital: fx(m),
        };
        let q: f64 = d8x::trade_probability(&flat, fx(f), Fix::ONE, fx(sigma))
            .map_err(|e| anyhow::anyhow!("q: {e}"))?
            .to_num();
        let phi = |x: f64| -> anyhow::Result<f64> {
            Ok(keel_math::norm_cdf(fx(x))
                .map_err(|e| anyhow::anyhow!("Φ: {e}"))?
                .to_num())
        };
        figure.push(FigurePoint {
            ratio,
            exact: exact / f,
            monte_carlo: mc / f,
            monte_carlo_se: se / f,
            digital: q,
            marginal: phi(d1)? - phi(d1 - sigma)?,
        });
    }

    // a trade crossing the flat point of mission.md's book (K 10 at 100, L 1,000, M 100)
    let book = Exposure {
        net_position: fx(10.0),
        locked_value: fx(1_000.0),
        capital: fx(100.0),
    };
    let mut crossing = vec![];
    for size in [-25.0, -20.0, -15.0, -10.0, -5.0, -1.0, 1.0, 5.0] {
        let quote = d8x::quote(&book, fx(size), fx(100.0), fx(sigma), Fix::ZERO)
            .map_err(|e| anyhow::anyhow!("D8X quote: {e}"))?;
        let d8x_premium: f64 =
            (quote.flattening.map_or(Fix::ZERO, |l| l.premium) + quote.main.premium).to_num();
        let charge = value(100.0 * (10.0 + size), 100.0, sigma)? - value(1_000.0, 100.0, sigma)?;
        crossing.push(CrossingRow {
            size,
            d8x: d8x_premium,
            charge,
            new_position: charge.max(0.0),
        });
    }

    // portfolio mode: long 300 BTC at 100 (σ 3 %), hedged in ETH at 2,000 (σ 4 %), ρ 0.89,
    // 2,000 USD of capital, one-day horizon: the IS-minimising ETH notional is −ρ·σ1·B1/σ2
    let (b1, s1, s2, rho, capital) = (30_000.0, 0.03, 0.04, 0.89, 2_000.0);
    let is = |b2: f64| {
        let (k1, k2) = (b1 * s1, b2 * s2);
        (k1 * k1 + k2 * k2 + 2.0 * rho * k1 * k2).sqrt()
    };
    let minimum = -rho * s1 * b1 / s2;
    let gaussian = |spread: f64| -> anyhow::Result<f64> {
        Ok(gaussian_book_value(fx(capital), fx(spread))
            .map_err(|e| anyhow::anyhow!("Gaussian value: {e}"))?
            .value
            .to_num())
    };
    let before = is(0.0);
    let mut hedge = vec![];
    for share in [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0] {
        let b2 = share * minimum;
        let after = is(b2);
        let q = |spread: f64| -> anyhow::Result<f64> {
            Ok(
                d8x::portfolio_probability(fx(capital), fx(spread), Fix::ONE)
                    .map_err(|e| anyhow::anyhow!("q: {e}"))?
                    .to_num(),
            )
        };
        // D8X's split, as in the crossing trade at k*: up to the IS-minimising size the hedge
        // lowers IS and is rebated q at the minimum's IS; beyond it, the rest raises IS and
        // pays q after the fill
        let digital = if share <= 1.0 {
            -q(after)? * b2.abs()
        } else {
            -q(is(minimum))? * minimum.abs() + q(after)? * (b2 - minimum).abs()
        };
        hedge.push(HedgeRow {
            share_of_minimum: share,
            size_usd: b2,
            imbalance_score: after,
            digital,
            charge: gaussian(after)? - gaussian(before)?,
        });
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut study = PremiumStudy {
        sigma,
        paths: args.paths,
        figure,
        worst_z,
        crossing,
        hedge,
        hedge_setup: format!(
            "BTC long {b1} USD (σ {s1}), ETH hedge (σ {s2}), ρ {rho}, capital {capital} USD, \
             IS before {before:.1} USD, IS-minimising hedge {minimum:.0} USD"
        ),
        files: vec![],
    };
    let figure_path = args.out.join("figure1.svg");
    draw_figure(&figure_path, &study)?;
    study.files.push(figure_path.display().to_string());
    let table = args.out.join("premium.md");
    std::fs::write(&table, study.to_text())
        .with_context(|| format!("writing {}", table.display()))?;
    study.files.push(table.display().to_string());
    Ok(study)
}

impl PremiumStudy {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "D8X's Figure 1, σ = {:.1} %: premium per unit of κs against κs/M (one trader, flat pool)\n\
             Monte Carlo: {} paths a point; closed form within {:.2} standard errors everywhere\n\n\
             | κs/M | eq. (2) exact | Monte Carlo | D8X digital q | Keel last unit Φ(d1) − Φ(d2) |\n\
             |---:|---:|---:|---:|---:|\n",
            100.0 * self.sigma,
            self.paths,
            self.worst_z
        );
        for p in self.figure.iter().skip(7).step_by(8) {
            s += &format!(
                "| {:.1} | {:.6} | {:.6} ± {:.6} | {:.6} | {:.6} |\n",
                p.ratio, p.exact, p.monte_carlo, p.monte_carlo_se, p.digital, p.marginal
            );
        }
        s += "\nA trade against mission.md's book (K 10 at 100, L 1,000, M 100): D8X splits it at \
              k* = −10; Keel charges V(after) − V(before), and a new position's rebate is \
              capped at its own premiums (0)\n\n\
              | trade | D8X premium | Keel charge V(after) − V(before) | charged to a new position |\n\
              |---:|---:|---:|---:|\n";
        for r in &self.crossing {
            s += &format!(
                "| {:+} | {:.4} | {:.4} | {:.4} |\n",
                r.size, r.d8x, r.charge, r.new_position
            );
        }
        s += &format!(
            "\nPortfolio mode, a hedge up to twice its IS-minimising size: {}\n\n\
             | hedge / minimum | ETH USD | IS after | D8X-style q × notional, split at the minimum | Keel charge |\n\
             |---:|---:|---:|---:|---:|\n",
            self.hedge_setup
        );
        for r in &self.hedge {
            s += &format!(
                "| {:.2} | {:.0} | {:.1} | {:.4} | {:.4} |\n",
                r.share_of_minimum, r.size_usd, r.imbalance_score, r.digital, r.charge
            );
        }
        s += &format!("\nfiles: {}\n", self.files.join(", "));
        s
    }
}

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

/// A curve of the figure: its label, colour and value at a point.
type Curve = (&'static str, RGBColor, fn(&FigurePoint) -> f64);

/// Figure 1: the premium per unit of κs against κs/M, four curves.
fn draw_figure(path: &Path, study: &PremiumStudy) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (760, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let top = study
        .figure
        .iter()
        .map(|p| p.digital.max(p.exact).max(p.marginal))
        .fold(0.0f64, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "premium per unit of κs, one trader from a flat pool (σ = {:.0} %)",
                100.0 * study.sigma
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(
            0.0..study.figure.last().map_or(1.0, |p| p.ratio),
            0.0..top.max(1e-9),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("κs / M")
        .y_desc("premium / κs")
        .draw()
        .map_err(plot_err)?;
    let series: [Curve; 3] = [
        ("D8X: digital option q", RGBColor(230, 120, 20), |p| {
            p.digital
        }),
        (
            "eq. (2) exact insurance value (Keel's charge from flat)",
            RGBColor(30, 110, 200),
            |p| p.exact,
        ),
        (
            "Keel: price of the last unit, Φ(d1) − Φ(d2)",
            RGBColor(60, 160, 60),
            |p| p.marginal,
        ),
    ];
    for (label, color, f) in series {
        chart
            .draw_series(LineSeries::new(
                study.figure.iter().map(|p| (p.ratio, f(p))),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
    }
    chart
        .draw_series(
            study
                .figure
                .iter()
                .step_by(3)
                .map(|p| Cross::new((p.ratio, p.monte_carlo), 4, BLACK.stroke_width(1))),
        )
        .map_err(plot_err)?
        .label("eq. (2) by Monte Carlo")
        .legend(|(x, y)| Cross::new((x + 8, y), 4, BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}
