//! `keel stress`: the pool's open interest against history and against hypothetical shocks.
//!
//! The pool is the counterparty to the traders' net exposure B_i (USD, long OI − short OI per
//! market), so on returns r it gains −Σ B_i·r_i. Historical figures replay the returns of the
//! estimation window; model figures take the Gaussian PnL with standard deviation IS (the
//! Imbalance Score is that stdev for one return interval). Shocks set correlations to one
//! within a group (crypto by default) or move markets by given fractions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail, ensure};

use crate::risk::{EstimateOptions, Join, PriceSeries, estimate};

/// z and φ(z)/α of the standard normal at α = 1 % (99 % VaR and expected shortfall).
const Z99: f64 = 2.326_347_874_040_841;
const ES99_FACTOR: f64 = 2.665_214_220_345_808;

#[derive(clap::Args, Debug)]
pub struct StressArgs {
    /// Directory of `<NAME>.csv` price files
    #[arg(long)]
    pub prices: PathBuf,
    /// Traders' net exposure per market in USD, `NAME=USD` (negative: net short); repeat
    #[arg(long = "exposure", value_parser = parse_pair, required = true, allow_hyphen_values = true)]
    pub exposures: Vec<(String, f64)>,
    /// A hypothetical move per market, `NAME=FRACTION` (−0.2: down 20 %); repeat
    #[arg(long = "shock", value_parser = parse_pair, allow_hyphen_values = true)]
    pub shocks: Vec<(String, f64)>,
    /// Markets whose correlations the "correlations to one" stress sets to 1
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "BTC-USD,ETH-USD,SOL-USD,XRP-USD,BNB-USD"
    )]
    pub group: Vec<String>,
    /// LP capital, USD
    #[arg(long)]
    pub capital: f64,
    /// Default fund, USD
    #[arg(long, default_value_t = 0.0)]
    pub default_fund: f64,
    /// First date of the history and of the σ/R estimate (inclusive, YYYY-MM-DD)
    #[arg(long)]
    pub from: Option<String>,
    /// Last date (inclusive, YYYY-MM-DD)
    #[arg(long)]
    pub to: Option<String>,
    /// How series with different calendars are joined
    #[arg(long, value_enum, default_value_t = Join::Common)]
    pub join: Join,
}

fn parse_pair(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))?;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if !value.is_finite() {
        return Err(format!("`{value}` is not a finite number"));
    }
    Ok((name.to_string(), value))
}

/// One way of measuring the pool's loss (positive numbers are losses, USD).
#[derive(Debug, serde::Serialize)]
pub struct Loss {
    pub what: String,
    pub loss: f64,
    /// Loss as a share of LP capital, and whether capital plus default fund cover it.
    pub of_capital: f64,
    pub covered: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct StressReport {
    pub markets: Vec<String>,
    pub exposures: Vec<f64>,
    pub returns: usize,
    pub imbalance_score: f64,
    pub exposure_norm: f64,
    pub capital: f64,
    pub default_fund: f64,
    pub losses: Vec<Loss>,
    /// The historical day of the worst loss.
    pub worst_day: String,
}

pub fn run_stress(args: &StressArgs) -> anyhow::Result<StressReport> {
    ensure!(args.capital > 0.0, "--capital must be positive");
    ensure!(
        args.default_fund >= 0.0,
        "--default-fund cannot be negative"
    );
    let mut seen = BTreeMap::new();
    for (name, b) in &args.exposures {
        ensure!(
            seen.insert(name.clone(), *b).is_none(),
            "{name} is given twice"
        );
    }
    let names: Vec<String> = args.exposures.iter().map(|(n, _)| n.clone()).collect();
    let b: Vec<f64> = args.exposures.iter().map(|(_, v)| *v).collect();
    let series = names
        .iter()
        .map(|m| PriceSeries::read(&args.prices.join(format!("{m}.csv"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = EstimateOptions {
        from: args.from.clone(),
        to: args.to.clone(),
        interval: 1,
        join: args.join,
    };
    let est = estimate(&series, &opts)?;
    let (returns, dates) = crate::risk::joined_returns(&series, &opts)?;
    let n = names.len();

    // history: the pool's PnL on every day of the window
    let pnl: Vec<f64> = (0..dates.len())
        .map(|t| -(0..n).map(|i| b[i] * returns[i][t]).sum::<f64>())
        .collect();
    let (worst_t, worst) =
        pnl.iter().enumerate().fold(
            (0, f64::INFINITY),
            |acc, (t, p)| if *p < acc.1 { (t, *p) } else { acc },
        );
    let (var, es) = historical_var_es(&pnl, 0.01);

    // model: PnL ~ N(0, IS²)
    let k: Vec<f64> = (0..n).map(|i| b[i] * est.sigma[i]).collect();
    let quad = |corr: &dyn Fn(usize, usize) -> f64| -> f64 {
        (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| k[i] * k[j] * corr(i, j))
            .sum()
    };
    let is = quad(&|i, j| est.corr[i * n + j]).max(0.0).sqrt();
    let norm = k.iter().map(|x| x * x).sum::<f64>().sqrt();
    let in_group: Vec<bool> = names.iter().map(|m| args.group.contains(m)).collect();
    let stressed = quad(&|i, j| {
        if i != j && in_group[i] && in_group[j] {
            1.0
        } else {
            est.corr[i * n + j]
        }
    });

    let total = args.capital + args.default_fund;
    let loss = |what: String, loss: f64| Loss {
        what,
        of_capital: loss / args.capital,
        covered: loss <= total,
        loss,
    };
    let mut losses = vec![
        loss(format!("worst day ({})", dates[worst_t]), (-worst).max(0.0)),
        loss("99 % VaR, history".into(), var),
        loss("99 % expected shortfall, history".into(), es),
        loss("99 % VaR, IS model".into(), Z99 * is),
        loss("99 % expected shortfall, IS model".into(), ES99_FACTOR * is),
    ];
    if stressed < 0.0 {
        bail!("the correlations-to-one matrix is not positive semi-definite for this book");
    }
    losses.push(loss(
        format!(
            "99 % VaR, IS model, correlations to one within {}",
            args.group.join(" ")
        ),
        Z99 * stressed.sqrt(),
    ));
    if !args.shocks.is_empty() {
        let mut pnl = 0.0;
        for (name, moved) in &args.shocks {
            let i = names
                .iter()
                .position(|m| m == name)
                .with_context(|| format!("--shock {name}: no --exposure for that market"))?;
            ensure!(
                *moved > -1.0,
                "--shock {name}: a price cannot fall by 100 % or more"
            );
            pnl -= b[i] * moved;
        }
        let described: Vec<String> = args
            .shocks
            .iter()
            .map(|(m, v)| format!("{m} {:+.1} %", 100.0 * v))
            .collect();
        losses.push(loss(
            format!("shock: {}", described.join(", ")),
            (-pnl).max(0.0),
        ));
    }
    Ok(StressReport {
        markets: names,
        exposures: b,
        returns: dates.len(),
        imbalance_score: is,
        exposure_norm: norm,
        capital: args.capital,
        default_fund: args.default_fund,
        losses,
        worst_day: dates[worst_t].clone(),
    })
}

/// Empirical VaR and expected shortfall at tail probability `alpha`, as positive losses: the
/// ⌈alpha·N⌉ worst days; VaR is the best of them, ES their mean (conservative for small N).
pub fn historical_var_es(pnl: &[f64], alpha: f64) -> (f64, f64) {
    let mut sorted = pnl.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let tail = ((alpha * pnl.len() as f64).ceil() as usize).clamp(1, pnl.len());
    let worst = &sorted[..tail];
    let var = -worst[tail - 1];
    let es = -worst.iter().sum::<f64>() / tail as f64;
    (var.max(0.0), es.max(0.0))
}

impl StressReport {
    pub fn to_text(&self) -> String {
        let mut s = String::from("book (traders' net exposure, USD):");
        for (m, b) in self.markets.iter().zip(&self.exposures) {
            s += &format!(" {m} {b:+.0}");
        }
        s += &format!(
            "\n{} daily returns; IS {:.0} USD/day, ||K|| {:.0}; LP capital {:.0}, default fund {:.0}\n\n",
            self.returns, self.imbalance_score, self.exposure_norm, self.capital, self.default_fund
        );
        s += "| measure | loss (USD) | of LP capital | covered by capital + default fund |\n";
        s += "|---|---:|---:|---|\n";
        for l in &self.losses {
            s += &format!(
                "| {} | {:.0} | {:.2} % | {} |\n",
                l.what,
                l.loss,
                100.0 * l.of_capital,
                if l.covered { "yes" } else { "NO" }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_and_es_take_the_worst_days() {
        // 200 days: the 1 % tail is the two worst, −50 and −30
        let mut pnl = vec![1.0; 200];
        pnl[10] = -50.0;
        pnl[20] = -30.0;
        pnl[30] = -10.0;
        assert_eq!(historical_var_es(&pnl, 0.01), (30.0, 40.0));
        // fewer than 100 days: the single worst day
        assert_eq!(historical_var_es(&[-5.0, 2.0, -1.0], 0.01), (5.0, 5.0));
        assert_eq!(historical_var_es(&[1.0, 2.0], 0.01), (0.0, 0.0));
    }

    #[test]
    fn normal_constants() {
        // Φ(−z) = 1 %, and φ(z)/0.01 for the shortfall
        let phi = (-Z99 * Z99 / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        assert!((phi / 0.01 - ES99_FACTOR).abs() < 1e-12);
        let z = keel_math::norm_inv(keel_math::Prob::from_num(0.01)).unwrap();
        assert!((z.to_num::<f64>() + Z99).abs() < 1e-12);
    }
}
