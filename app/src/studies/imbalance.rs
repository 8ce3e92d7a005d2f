//! `keel study imbalance`: Ostium's simulation reproduced (seeds 000/001, §3.3–3.4): random
//! imbalance draws for three 5-asset portfolios, the Imbalance Score IS = √(Kᵀ R K) and ||K|| of each draw
//! computed with keel-math exactly as the program does, a histogram of IS per portfolio (their
//! Figure 7) and IS against ||K|| with the independent-assets line and R² (their Figure 8).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use keel_math::Fix;
use keel_math::imbalance::{exposure_norm, imbalance_score};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};

use crate::risk::{EstimateOptions, Join, PriceSeries, corr_upper_e9, estimate};

#[derive(clap::Args, Debug)]
pub struct ImbalanceArgs {
    /// Directory of the ten `<NAME>.csv` price files (BTC-USD … WTI)
    #[arg(long)]
    pub prices: PathBuf,
    /// Where the SVG figures and the table are written
    #[arg(long, default_value = "study-out/imbalance")]
    pub out: PathBuf,
    /// Imbalance draws per portfolio
    #[arg(long, default_value_t = 5_000)]
    pub draws: usize,
    /// Each market's imbalance B_i is drawn uniformly from [−max, max] USD
    #[arg(long, default_value_t = 1_000.0)]
    pub max_imbalance: f64,
    /// Draw imbalances of both signs (uniform on [−max, max]) or long only (uniform on [0, max])
    #[arg(long, value_enum, default_value_t = Skew::Both)]
    pub skew: Skew,
    /// Seed of the draws (the figures are reproducible)
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// First date of the σ/R estimation window (the article's window by default)
    #[arg(long, default_value = "2021-09-01")]
    pub from: String,
    /// Last date of the estimation window
    #[arg(long, default_value = "2023-09-30")]
    pub to: String,
}

/// Which imbalances a draw may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Skew {
    /// Each B_i uniform on [−max, max]: longs and shorts, so some draws hedge.
    Both,
    /// Each B_i uniform on [0, max]: every market skewed long.
    Long,
}

/// The ten instruments, and the article's portfolios as indices into them.
pub const INSTRUMENTS: [&str; 10] = [
    "BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "BNB-USD", "GC-F", "WTI", "EUR-USD", "GBP-USD",
    "USD-JPY",
];
pub const PORTFOLIOS: [(&str, [usize; 5], f64); 3] = [
    ("crypto (BTC ETH SOL XRP BNB)", [0, 1, 2, 3, 4], 0.616),
    ("RWA (XAU WTI EUR GBP JPY)", [5, 6, 7, 8, 9], 0.970),
    ("crypto+RWA (BTC SOL WTI EUR XAU)", [0, 2, 6, 7, 5], 0.956),
];

/// One portfolio's draws and their summary.
#[derive(Debug, serde::Serialize)]
pub struct PortfolioResult {
    pub name: String,
    pub mean_is: f64,
    pub stdev_is: f64,
    pub mean_norm: f64,
    /// R² of the least-squares line of IS on ||K|| (the squared correlation).
    pub r_squared: f64,
    pub article_r_squared: f64,
    /// Share of draws whose IS exceeds ||K|| (net correlation adds risk).
    pub above_independent: f64,
    #[serde(skip)]
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, serde::Serialize)]
pub struct ImbalanceStudy {
    pub draws: usize,
    pub returns: usize,
    pub compute_ms: f64,
    pub portfolios: Vec<PortfolioResult>,
    pub files: Vec<String>,
}

pub fn run_imbalance(args: &ImbalanceArgs) -> anyhow::Result<ImbalanceStudy> {
    anyhow::ensure!(args.draws >= 2, "at least 2 draws");
    anyhow::ensure!(args.max_imbalance > 0.0, "--max-imbalance must be positive");
    let series = INSTRUMENTS
        .iter()
        .map(|m| PriceSeries::read(&args.prices.join(format!("{m}.csv"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // one estimate over all ten on their common dates, so every portfolio's σ and R come from
    // the same returns (each covering the same interval)
    let est = estimate(
        &series,
        &EstimateOptions {
            from: Some(args.from.clone()),
            to: Some(args.to.clone()),
            interval: 1,
            join: Join::Common,
        },
    )?;
    let n_all = INSTRUMENTS.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let low = match args.skew {
        Skew::Both => -args.max_imbalance,
        Skew::Long => 0.0,
    };
    let started = Instant::now();
    let mut portfolios = Vec::new();
    for (name, members, article) in PORTFOLIOS {
        let sigma: Vec<Fix> = members
            .iter()
            .map(|&i| Fix::from_num(est.sigma[i]))
            .collect();
        let corr = &est.corr;
        let sub: Vec<f64> = members
            .iter()
            .flat_map(|&i| members.iter().map(move |&j| corr[i * n_all + j]))
            .collect();
        let upper = corr_upper_e9(&sub, members.len());
        let mut points = Vec::with_capacity(args.draws);
        for _ in 0..args.draws {
            let b: Vec<Fix> = (0..members.len())
                .map(|_| Fix::from_num(rng.random_range(low..=args.max_imbalance)))
                .collect();
            let is = imbalance_score(&b, &sigma, &upper).context("imbalance score")?;
            let norm = exposure_norm(&b, &sigma).context("exposure norm")?;
            points.push((norm.to_num::<f64>(), is.to_num::<f64>()));
        }
        portfolios.push(summarise(name, article, points));
    }
    let compute_ms = started.elapsed().as_secs_f64() * 1e3;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let files = vec![
        histogram(&args.out.join("is_histogram.svg"), &portfolios)?,
        scatter(&args.out.join("is_vs_norm.svg"), &portfolios)?,
    ];
    let mut study = ImbalanceStudy {
        draws: args.draws,
        returns: est.returns,
        compute_ms,
        portfolios,
        files,
    };
    let table = args.out.join("table.md");
    std::fs::write(&table, study.to_text())?;
    study.files.push(table.display().to_string());
    Ok(study)
}

fn summarise(name: &str, article: f64, points: Vec<(f64, f64)>) -> PortfolioResult {
    let n = points.len() as f64;
    let mean = |f: &dyn Fn(&(f64, f64)) -> f64| points.iter().map(f).sum::<f64>() / n;
    let (mx, my) = (mean(&|p| p.0), mean(&|p| p.1));
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    PortfolioResult {
        name: name.to_string(),
        mean_is: my,
        stdev_is: (syy / (n - 1.0)).sqrt(),
        mean_norm: mx,
        r_squared: sxy * sxy / (sxx * syy),
        article_r_squared: article,
        above_independent: points.iter().filter(|p| p.1 > p.0).count() as f64 / n,
        points,
    }
}

const COLOURS: [RGBColor; 3] = [
    RGBColor(230, 120, 20),
    RGBColor(30, 110, 200),
    RGBColor(40, 160, 80),
];

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e}")
}

/// Figure 7: the distribution of IS per portfolio, overlaid.
fn histogram(path: &Path, portfolios: &[PortfolioResult]) -> anyhow::Result<String> {
    let max = portfolios
        .iter()
        .flat_map(|p| p.points.iter().map(|q| q.1))
        .fold(0.0f64, f64::max);
    let bins = 60usize;
    let width = max / bins as f64;
    let counts: Vec<Vec<u32>> = portfolios
        .iter()
        .map(|p| {
            let mut c = vec![0u32; bins];
            for q in &p.points {
                c[((q.1 / width) as usize).min(bins - 1)] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(1);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Imbalance Score of random imbalances (USD per day)",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..max, 0u32..top + top / 10)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("IS (USD per day)")
        .y_desc("draws")
        .draw()
        .map_err(plot_err)?;
    for ((p, c), colour) in portfolios.iter().zip(&counts).zip(COLOURS) {
        chart
            .draw_series(c.iter().enumerate().map(|(k, &count)| {
                let x0 = k as f64 * width;
                Rectangle::new([(x0, 0), (x0 + width, count)], colour.mix(0.45).filled())
            }))
            .map_err(plot_err)?
            .label(format!("{} mean {:.1}", p.name, p.mean_is))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(path.display().to_string())
}

/// Figure 8: IS against ||K|| per portfolio, the independent-assets line IS = ||K||, and R².
fn scatter(path: &Path, portfolios: &[PortfolioResult]) -> anyhow::Result<String> {
    let root = SVGBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((1, portfolios.len()));
    for ((panel, p), colour) in panels.iter().zip(portfolios).zip(COLOURS) {
        let max = p.points.iter().map(|q| q.0.max(q.1)).fold(0.0f64, f64::max) * 1.05;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("{}: R² = {:.3}", p.name, p.r_squared),
                ("sans-serif", 17),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..max, 0.0..max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("||K|| (USD per day)")
            .y_desc("IS")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(
                p.points
                    .iter()
                    .map(|q| Circle::new(*q, 1, colour.mix(0.35).filled())),
            )
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (max, max)],
                BLACK.stroke_width(2),
            ))
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(path.display().to_string())
}

impl ImbalanceStudy {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} draws per portfolio, B_i uniform; σ and R from {} common-date daily returns; \
             {:.0} ms for all draws\n\n",
            self.draws, self.returns, self.compute_ms
        );
        s += "| portfolio | mean IS | stdev IS | mean ‖K‖ | IS > ‖K‖ | R² | article R² |\n";
        s += "|---|---:|---:|---:|---:|---:|---:|\n";
        for p in &self.portfolios {
            s += &format!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.0} % | {:.3} | {:.3} |\n",
                p.name,
                p.mean_is,
                p.stdev_is,
                p.mean_norm,
                100.0 * p.above_independent,
                p.r_squared,
                p.article_r_squared
            );
        }
        if !self.files.is_empty() {
            s += &format!("\nwrote {}\n", self.files.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_statistics() {
        // IS = 2·||K|| exactly: R² = 1, every draw above the independent line
        let p = summarise(
            "t",
            0.5,
            (1..=10).map(|x| (x as f64, 2.0 * x as f64)).collect(),
        );
        assert!((p.r_squared - 1.0).abs() < 1e-12);
        assert_eq!(p.above_independent, 1.0);
        assert!((p.mean_is - 11.0).abs() < 1e-12 && (p.mean_norm - 5.5).abs() < 1e-12);
        // stdev of 2, 4, …, 20 (n − 1): 2·√(55/6)
        assert!((p.stdev_is - 2.0 * (55.0f64 / 6.0).sqrt()).abs() < 1e-12);
        // uncorrelated points: R² = 0
        let p = summarise(
            "t",
            0.5,
            vec![(1.0, 1.0), (2.0, 2.0), (3.0, 1.0), (2.0, 0.0)],
        );
        assert!(p.r_squared.abs() < 1e-12, "{}", p.r_squared);
    }
}
