//! The estimation layer of the risk model: σ and R estimated from `date,close` price series,
//! then turned into what the program stores (1e9-scaled strict upper triangle) and the
//! certificate it checks (a Cholesky factor scaled by 2^30). Pure: no transport, no command
//! line (`commands::risk` is the CLI and the publication; the studies and the sandbox estimate
//! here too). Floating point is fine here: the program re-checks everything it is given in
//! integers.

use std::path::Path;

use anyhow::{Context, bail, ensure};
use keel_math::imbalance::{CHOL_FRAC_BITS, CORR_SCALE};

/// One instrument's daily closes, ascending by ISO date.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceSeries {
    pub name: String,
    pub dates: Vec<String>,
    pub closes: Vec<f64>,
}

impl PriceSeries {
    /// Read a `date,close` CSV (header first; ISO dates, strictly ascending; positive closes).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&name, &text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(name: &str, text: &str) -> anyhow::Result<Self> {
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        ensure!(
            header == "date,close",
            "expected the header `date,close`, found `{header}`"
        );
        let (mut dates, mut closes) = (Vec::new(), Vec::new());
        for (n, line) in lines.enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (date, close) = line
                .split_once(',')
                .with_context(|| format!("line {}: expected `date,close`", n + 2))?;
            let close: f64 = close
                .trim()
                .parse()
                .with_context(|| format!("line {}: close `{close}`", n + 2))?;
            // non-positive closes are real (WTI settled at −37.63 on 2020-04-20); an estimate
            // refuses them only inside its window, where a simple return would be meaningless
            ensure!(close.is_finite(), "line {}: close must be a number", n + 2);
            let date = date.trim().to_string();
            ensure!(
                date.len() == 10 && dates.last().is_none_or(|d: &String| *d < date),
                "line {}: dates must be ISO (YYYY-MM-DD) and strictly ascending",
                n + 2
            );
            dates.push(date);
            closes.push(close);
        }
        Ok(PriceSeries {
            name: name.to_string(),
            dates,
            closes,
        })
    }

    /// The observations with `from ≤ date ≤ to`.
    fn window(&self, from: Option<&str>, to: Option<&str>) -> Vec<(&str, f64)> {
        self.dates
            .iter()
            .zip(&self.closes)
            .filter(|(d, _)| {
                from.is_none_or(|f| d.as_str() >= f) && to.is_none_or(|t| d.as_str() <= t)
            })
            .map(|(d, c)| (d.as_str(), *c))
            .collect()
    }
}

/// How series with different calendars are put on the same returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Join {
    /// Keep the dates on which every series has a price, then take returns between them: every
    /// return covers the same interval (a Friday→Monday FX return meets a Friday→Monday crypto
    /// return). The default, and the article's choice.
    Common,
    /// Take each series' own returns, then keep the return dates all series share (a Monday
    /// crypto return is Sunday→Monday, an FX one Friday→Monday: cross-calendar correlations
    /// come out lower).
    Returns,
}

/// What the estimate is computed over.
#[derive(Clone, Debug)]
pub struct EstimateOptions {
    /// First and last date (inclusive, ISO); None: the whole file.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Observations per return: 1 gives daily returns from daily data; returns do not overlap.
    pub interval: usize,
    pub join: Join,
}

/// σ and R for a set of series.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Estimate {
    pub names: Vec<String>,
    /// Returns each σ and ρ is computed from.
    pub returns: usize,
    /// Sample standard deviation (n − 1) of simple returns, per interval.
    pub sigma: Vec<f64>,
    /// Pearson correlations, full n×n, row-major.
    pub corr: Vec<f64>,
    /// End date of the last return: the data time a publication carries.
    pub last_date: String,
}

/// The returns the estimate uses: per series, on one set of end dates (returned too).
pub fn joined_returns(
    series: &[PriceSeries],
    opts: &EstimateOptions,
) -> anyhow::Result<(Vec<Vec<f64>>, Vec<String>)> {
    ensure!(!series.is_empty(), "no price series");
    ensure!(
        opts.interval >= 1,
        "the return interval must be at least 1 observation"
    );
    let (from, to) = (opts.from.as_deref(), opts.to.as_deref());
    let windows: Vec<_> = series.iter().map(|s| s.window(from, to)).collect();
    for (s, w) in series.iter().zip(&windows) {
        if let Some((date, close)) = w.iter().find(|(_, c)| *c <= 0.0) {
            bail!(
                "{}: close {close} on {date}: returns need positive prices",
                s.name
            );
        }
    }
    // per series, (end date, return) of each return, then kept on the dates all share
    let own: Vec<Vec<(&str, f64)>> = match opts.join {
        Join::Common => {
            let common = common_dates(windows.iter().map(|w| w.iter().map(|(d, _)| *d)));
            windows
                .iter()
                .map(|w| {
                    let kept: Vec<(&str, f64)> = w
                        .iter()
                        .filter(|(d, _)| common.contains(d))
                        .copied()
                        .collect();
                    with_end_dates(&kept, opts.interval)
                })
                .collect()
        }
        Join::Returns => windows
            .iter()
            .map(|w| with_end_dates(w, opts.interval))
            .collect(),
    };
    let common = common_dates(own.iter().map(|r| r.iter().map(|(d, _)| *d)));
    let returns = own
        .iter()
        .map(|r| {
            r.iter()
                .filter(|(d, _)| common.contains(d))
                .map(|(_, v)| *v)
                .collect()
        })
        .collect();
    Ok((returns, common.into_iter().map(String::from).collect()))
}

/// Non-overlapping simple returns every `interval` observations, each with its end date.
fn with_end_dates<'a>(obs: &[(&'a str, f64)], interval: usize) -> Vec<(&'a str, f64)> {
    let closes: Vec<f64> = obs.iter().map(|(_, c)| *c).collect();
    simple_returns(&closes, interval)
        .into_iter()
        .enumerate()
        .map(|(k, v)| (obs[(k + 1) * interval].0, v))
        .collect()
}

/// Estimate σ (sample stdev of simple returns P_t/P_{t−1} − 1) and R (Pearson) of `series`.
pub fn estimate(series: &[PriceSeries], opts: &EstimateOptions) -> anyhow::Result<Estimate> {
    let (returns, dates) = joined_returns(series, opts)?;
    let n_returns = returns[0].len();
    if n_returns < 2 {
        bail!("fewer than 2 returns in the window: nothing to estimate");
    }
    let stats: Vec<(f64, f64)> = returns.iter().map(|r| mean_stdev(r)).collect();
    let n = series.len();
    let mut corr = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            corr[i * n + j] = if i == j {
                1.0
            } else {
                let (mi, si) = stats[i];
                let (mj, sj) = stats[j];
                let cov: f64 = returns[i]
                    .iter()
                    .zip(&returns[j])
                    .map(|(a, b)| (a - mi) * (b - mj))
                    .sum::<f64>()
                    / (n_returns - 1) as f64;
                if si > 0.0 && sj > 0.0 {
                    cov / (si * sj)
                } else {
                    0.0
                }
            };
        }
    }
    Ok(Estimate {
        names: series.iter().map(|s| s.name.clone()).collect(),
        returns: n_returns,
        sigma: stats.iter().map(|(_, s)| *s).collect(),
        corr,
        last_date: dates.last().cloned().unwrap_or_default(),
    })
}

/// Dates present in every list (each ascending).
fn common_dates<'a>(
    mut lists: impl Iterator<Item = impl Iterator<Item = &'a str>>,
) -> std::collections::BTreeSet<&'a str> {
    let mut common: std::collections::BTreeSet<&str> = match lists.next() {
        Some(first) => first.collect(),
        None => return Default::default(),
    };
    for list in lists {
        let these: std::collections::BTreeSet<&str> = list.collect();
        common.retain(|d| these.contains(d));
    }
    common
}

/// Non-overlapping simple returns every `interval` observations.
fn simple_returns(closes: &[f64], interval: usize) -> Vec<f64> {
    closes
        .iter()
        .step_by(interval)
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] / w[0] - 1.0)
        .collect()
}

/// Mean and sample standard deviation (n − 1).
fn mean_stdev(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// R (full, row-major, n×n) as the program stores it: the strict upper triangle, row-major,
/// rounded to 1e9.
pub fn corr_upper_e9(full: &[f64], n: usize) -> Vec<i32> {
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push((full[i * n + j] * CORR_SCALE as f64).round() as i32);
        }
    }
    out
}

/// R rebuilt from the stored triangle, so the certificate factors exactly what the program
/// holds.
pub fn corr_full_from_upper(upper: &[i32], n: usize) -> Vec<f64> {
    let mut full = vec![0.0; n * n];
    for i in 0..n {
        full[i * n + i] = 1.0;
        for j in 0..n {
            if i != j {
                full[i * n + j] =
                    keel_math::imbalance::corr_at(upper, n, i, j) as f64 / CORR_SCALE as f64;
            }
        }
    }
    full
}

/// A Cholesky factor L of R (L·Lᵀ = R), lower triangle with the diagonal, row-major, scaled by
/// 2^30: the certificate `commit_risk` checks. A pivot that is negative beyond `1e-12` means R
/// is not positive semi-definite, and there is no certificate; a pivot that is zero within that
/// (a singular R, e.g. two identical markets) gives a zero column.
pub fn cholesky_certificate(full: &[f64], n: usize) -> Option<Vec<i32>> {
    let l = cholesky(full, n)?;
    let scale = (1u64 << CHOL_FRAC_BITS) as f64;
    let mut out = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in 0..=i {
            out.push((l[i * n + j] * scale).round() as i32);
        }
    }
    Some(out)
}

/// The Cholesky factor L of a symmetric n×n matrix (row-major, L·Lᵀ = full), or None when a
/// pivot is negative beyond 1e-12 (not positive semi-definite); a zero pivot gives a zero column.
pub fn cholesky(full: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                let pivot = full[i * n + i] - dot;
                if pivot < -1e-12 {
                    return None;
                }
                l[i * n + i] = pivot.max(0.0).sqrt();
            } else {
                let d = l[j * n + j];
                l[i * n + j] = if d > 1e-12 {
                    (full[i * n + j] - dot) / d
                } else {
                    0.0
                };
            }
        }
    }
    Some(l)
}

/// The files `DIR/<NAME>.csv` of `markets`, in order; `1/NAME` reads NAME and inverts its
/// closes (USD-JPY for a market listed as JPY in USD).
pub fn read_series(dir: &Path, markets: &[String]) -> anyhow::Result<Vec<PriceSeries>> {
    markets
        .iter()
        .map(|m| {
            let (name, inverted) = match m.strip_prefix("1/") {
                Some(name) => (name, true),
                None => (m.as_str(), false),
            };
            let mut series = PriceSeries::read(&dir.join(format!("{name}.csv")))?;
            if inverted {
                series.name = m.clone();
                // a non-positive close stays non-positive so the window check still refuses it
                for c in &mut series.closes {
                    *c = if *c > 0.0 { 1.0 / *c } else { *c };
                }
            }
            Ok(series)
        })
        .collect()
}

/// Where a keeper (or a migration) reads the prices it publishes from.
#[derive(Debug, Clone)]
pub struct RiskFeed {
    pub prices: std::path::PathBuf,
    /// File names in market order (`1/NAME` inverts).
    pub markets: Vec<String>,
    /// Daily returns per estimate, the most recent.
    pub window: usize,
}

/// σ and R over the feed's last `window` daily returns (on the dates every file shares).
pub fn estimate_window(feed: &RiskFeed) -> anyhow::Result<Estimate> {
    ensure!(
        feed.window >= 2,
        "the risk window must hold at least 2 returns"
    );
    let series = read_series(&feed.prices, &feed.markets)?;
    let mut opts = EstimateOptions {
        from: None,
        to: None,
        interval: 1,
        join: Join::Common,
    };
    // each return ends on a common date and starts on the one before: the window's first
    // observation is the end date `window` returns back
    let (_, ends) = joined_returns(&series, &opts)?;
    if ends.len() > feed.window {
        opts.from = Some(ends[ends.len() - feed.window - 1].clone());
    }
    estimate(&series, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_math::imbalance::check_psd_certificate;

    /// A trades every day, B on weekdays (2024-01-06/07 is a weekend). On the common dates the
    /// returns are A = (.1, −.1, .1, .1) and B = (.05, 0, .05, −.05); A's weekend closes are
    /// wild so that the join method shows.
    fn hand_made() -> Vec<PriceSeries> {
        let a = "date,close\n2024-01-02,100\n2024-01-03,110\n2024-01-04,99\n2024-01-05,108.9\n\
                 2024-01-06,50\n2024-01-07,200\n2024-01-08,119.79\n";
        let b = "date,close\n2024-01-02,10\n2024-01-03,10.5\n2024-01-04,10.5\n2024-01-05,11.025\n\
                 2024-01-08,10.47375\n";
        vec![
            PriceSeries::parse("A", a).unwrap(),
            PriceSeries::parse("B", b).unwrap(),
        ]
    }

    fn opts(join: Join, interval: usize) -> EstimateOptions {
        EstimateOptions {
            from: None,
            to: None,
            interval,
            join,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn estimates_match_a_hand_computation() {
        // by hand: mean A = .05, Σ(dev²) = .03 → σ_A = √(.03/3) = .1; mean B = .0125,
        // Σ(dev²) = .006875 → σ_B = √(.006875/3); cov = (.001875·3 − .003125)/3 = .0025/3
        let e = estimate(&hand_made(), &opts(Join::Common, 1)).unwrap();
        assert_eq!(e.returns, 4);
        assert!(close(e.sigma[0], 0.1));
        let sigma_b = (0.006875f64 / 3.0).sqrt();
        assert!(close(e.sigma[1], sigma_b));
        let rho = (0.0025 / 3.0) / (0.1 * sigma_b);
        assert!(
            close(e.corr[1], rho) && close(e.corr[2], rho),
            "{:?}",
            e.corr
        );
        assert!(close(rho, 0.174_077_655_955_698), "{rho}");

        // joining on return dates: A's Monday return is Sunday→Monday (119.79/200 − 1)
        let e = estimate(&hand_made(), &opts(Join::Returns, 1)).unwrap();
        let a = [0.1, -0.1, 0.1, 119.79 / 200.0 - 1.0];
        let mean = a.iter().sum::<f64>() / 4.0;
        let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 3.0;
        assert_eq!(e.returns, 4);
        assert!(close(e.sigma[0], var.sqrt()));
        assert!(
            close(e.sigma[1], sigma_b),
            "B's own dates are the common ones"
        );

        // two-day returns on the common dates: A (100, 99, 119.79), B (10, 10.5, 10.47375)
        let e = estimate(&hand_made(), &opts(Join::Common, 2)).unwrap();
        assert_eq!(e.returns, 2);
        assert!(close(e.sigma[0], 0.22 / 2f64.sqrt()));
        assert!(close(e.sigma[1], 0.0525 / 2f64.sqrt()));
        assert!(close(e.corr[1], -1.0));

        // a window: from 2024-01-03 leaves three common-date returns
        let from = EstimateOptions {
            from: Some("2024-01-03".into()),
            ..opts(Join::Common, 1)
        };
        assert_eq!(estimate(&hand_made(), &from).unwrap().returns, 3);
    }

    #[test]
    fn bad_price_files_are_refused() {
        assert!(PriceSeries::parse("x", "day,price\n2024-01-01,1\n").is_err());
        assert!(PriceSeries::parse("x", "date,close\n2024-01-02,1\n2024-01-01,2\n").is_err());
        let negative = PriceSeries::parse(
            "x",
            "date,close\n2024-01-01,1\n2024-01-02,-1\n2024-01-03,1\n",
        );
        assert!(estimate(&[negative.unwrap()], &opts(Join::Common, 1)).is_err());
        assert!(PriceSeries::parse("x", "date,close\n2024-01-01,inf\n").is_err());
        assert!(PriceSeries::parse("x", "date,close\n2024-01-01,abc\n").is_err());
        let one = PriceSeries::parse("x", "date,close\n2024-01-01,1\n2024-01-02,2\n").unwrap();
        assert!(
            estimate(&[one], &opts(Join::Common, 1)).is_err(),
            "one return is not enough"
        );
        assert!(estimate(&hand_made(), &opts(Join::Common, 0)).is_err());
    }

    #[test]
    fn certificates_pass_the_programs_check() {
        // the article's crypto block is strongly correlated; mixed signs elsewhere
        let full = [
            1.0, 0.89, 0.85, -0.2, //
            0.89, 1.0, 0.8, -0.1, //
            0.85, 0.8, 1.0, 0.0, //
            -0.2, -0.1, 0.0, 1.0,
        ];
        let upper = corr_upper_e9(&full, 4);
        let lower = cholesky_certificate(&corr_full_from_upper(&upper, 4), 4).unwrap();
        assert_eq!(check_psd_certificate(&upper, &lower, 4, 100), Ok(()));
        // not PSD: no certificate
        let bad = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!(cholesky_certificate(&bad, 3).is_none());
        // singular (two identical markets): still certified
        let twins = [1.0, 1.0, 1.0, 1.0];
        let upper = corr_upper_e9(&twins, 2);
        let lower = cholesky_certificate(&twins, 2).unwrap();
        assert_eq!(check_psd_certificate(&upper, &lower, 2, 100), Ok(()));
    }
}
