//! `keel risk estimate`: σ and R from `date,close` files (`crate::risk`, the estimation layer),
//! and the integers a `commit_risk` would carry.

use anyhow::ensure;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};
use keel_math::imbalance::CORR_SCALE;

use crate::risk::{
    Estimate, EstimateOptions, Join, PriceSeries, cholesky_certificate, corr_full_from_upper,
    corr_upper_e9, estimate,
};

#[derive(Args, Debug, Clone)]
pub struct EstimateArgs {
    /// Directory of `<NAME>.csv` price files (header `date,close`)
    #[arg(long)]
    pub prices: std::path::PathBuf,
    /// Comma-separated file names without `.csv`, in market order (`1/NAME` inverts NAME's
    /// closes)
    #[arg(long, value_delimiter = ',', required = true)]
    pub markets: Vec<String>,
    /// First date of the window (inclusive, YYYY-MM-DD)
    #[arg(long)]
    pub from: Option<String>,
    /// Last date of the window (inclusive, YYYY-MM-DD)
    #[arg(long)]
    pub to: Option<String>,
    /// Observations per return (1: daily returns from daily data); returns do not overlap
    #[arg(long, default_value_t = 1)]
    pub interval: usize,
    /// How series with different calendars are joined
    #[arg(long, value_enum, default_value_t = Join::Common)]
    pub join: Join,
}

/// What `keel risk estimate` prints: the estimate and the integers a `commit_risk` would carry.
#[derive(Debug, serde::Serialize)]
pub struct EstimateReport {
    #[serde(flatten)]
    pub estimate: Estimate,
    pub join: Join,
    pub interval: usize,
    pub sigma_e9: Vec<u64>,
    pub corr_upper_e9: Vec<i32>,
    /// Whether R (as stored) has a positive semi-definiteness certificate the program accepts
    /// at a 1e-6 tolerance.
    pub psd_certified: bool,
}

impl EstimateArgs {
    /// The named files, in market order (`crate::risk::read_series`).
    pub fn read_series(&self) -> anyhow::Result<Vec<PriceSeries>> {
        crate::risk::read_series(&self.prices, &self.markets)
    }

    pub fn options(&self) -> EstimateOptions {
        EstimateOptions {
            from: self.from.clone(),
            to: self.to.clone(),
            interval: self.interval,
            join: self.join,
        }
    }
}

pub fn run_estimate(args: &EstimateArgs) -> anyhow::Result<EstimateReport> {
    let series = args.read_series()?;
    let estimate = estimate(&series, &args.options())?;
    let n = series.len();
    ensure!(n <= keel_math::imbalance::MAX_ASSETS, "at most 32 markets");
    let sigma_e9 = estimate
        .sigma
        .iter()
        .map(|s| (s * CORR_SCALE as f64).round() as u64)
        .collect();
    let corr_upper_e9 = corr_upper_e9(&estimate.corr, n);
    let psd_certified = cholesky_certificate(&corr_full_from_upper(&corr_upper_e9, n), n)
        .is_some_and(|l| {
            keel_math::imbalance::check_psd_certificate(&corr_upper_e9, &l, n, 1_000).is_ok()
        });
    Ok(EstimateReport {
        estimate,
        join: args.join,
        interval: args.interval,
        sigma_e9,
        corr_upper_e9,
        psd_certified,
    })
}

impl EstimateReport {
    pub fn to_text(&self) -> String {
        let e = &self.estimate;
        let n = e.names.len();
        let width = e.names.iter().map(|s| s.len()).max().unwrap_or(0).max(6);
        let mut s = format!(
            "{} returns ({:?} join, {} observation{} each)\n\n{:width$}  sigma\n",
            e.returns,
            self.join,
            self.interval,
            if self.interval == 1 { "" } else { "s" },
            ""
        );
        for (name, sigma) in e.names.iter().zip(&e.sigma) {
            s += &format!("{name:width$}  {sigma:.5}\n");
        }
        s += &format!("\ncorrelation\n{:width$}", "");
        for name in &e.names {
            s += &format!(" {name:>width$}");
        }
        s += "\n";
        for i in 0..n {
            s += &format!("{:width$}", e.names[i]);
            for j in 0..n {
                s += &format!(" {:>width$.3}", e.corr[i * n + j]);
            }
            s += "\n";
        }
        s += &format!(
            "\nstored: sigma_e9 {:?}\n        corr_upper_e9 {:?}\nPSD certificate: {}\n",
            self.sigma_e9,
            self.corr_upper_e9,
            if self.psd_certified {
                "yes"
            } else {
                "none (R is not PSD)"
            }
        );
        s
    }
}

/// `--join`'s values: the help is each variant's first paragraph in `crate::risk::Join` (the
/// estimation layer stays free of the command line).
impl ValueEnum for Join {
    fn value_variants<'a>() -> &'a [Self] {
        &[Join::Common, Join::Returns]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Join::Common => PossibleValue::new("common").help(
                "Keep the dates on which every series has a price, then take returns between \
                 them: every return covers the same interval (a Friday→Monday FX return meets a \
                 Friday→Monday crypto return). The default, and the article's choice",
            ),
            Join::Returns => PossibleValue::new("returns").help(
                "Take each series' own returns, then keep the return dates all series share (a \
                 Monday crypto return is Sunday→Monday, an FX one Friday→Monday: cross-calendar \
                 correlations come out lower)",
            ),
        })
    }
}
