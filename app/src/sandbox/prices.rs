//! The sandbox's price history: one close per market per replay day.
//!
//! Each of the ten instruments comes from, in order of preference, a `date,close` file in
//! `--prices DIR` named after it (`BTC-USD.csv`, …, `GC-F.csv`, `WTI.csv`), the public-domain
//! FX and WTI files shipped in `app/data/prices/`, or a generated path. The replay's calendar is
//! the dates every file-backed series shares, so each step is one common observation (Friday →
//! Monday for crypto as for FX, as in the risk estimate's `--join common`).
//!
//! Generated paths are calibrated to the 2021-09 → 2023-09 statistics of the shared data set
//! (σ of daily simple returns on common dates and the Pearson correlations, STATS.md method A:
//! derived figures, not the unlicensed series). On each step the generated standardised
//! log-returns are drawn from the normal distribution conditional on the real series' returns
//! of that day, z_G ~ N(R_GO R_OO⁻¹ z_O, R_GG − R_GO R_OO⁻¹ R_OG), so a generated BTC still
//! leans with the real EUR; the log-return is σ·z − σ²/2 (no drift in the mean).

use std::path::Path;

use anyhow::{Context, ensure};
use rand::{Rng, SeedableRng};

use crate::client::presets::{
    CALIBRATED_CORR as CORR, CALIBRATED_SIGMA as SIGMA, INVERTED_MARKET as INVERTED,
};
use crate::risk::{PriceSeries, cholesky};

/// The instruments, in market order (`client::presets::default_markets`).
pub const INSTRUMENTS: [&str; 10] = [
    "BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "BNB-USD", "EUR-USD", "GBP-USD", "USD-JPY", "GC-F",
    "WTI",
];

const SHIPPED: [(&str, &str); 4] = [
    ("EUR-USD", include_str!("../../data/prices/EUR-USD.csv")),
    ("GBP-USD", include_str!("../../data/prices/GBP-USD.csv")),
    ("USD-JPY", include_str!("../../data/prices/USD-JPY.csv")),
    ("WTI", include_str!("../../data/prices/WTI.csv")),
];

/// Where a market's prices came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Source {
    /// A file given with `--prices`.
    File(String),
    /// The public-domain file shipped with the app.
    Shipped,
    /// The calibrated conditional model.
    Generated,
}

/// The replay: dates and, per day, each market's price (quote per base, whole units).
#[derive(Clone, Debug)]
pub struct Replay {
    pub dates: Vec<String>,
    pub prices: Vec<[f64; 10]>,
    pub sources: Vec<Source>,
}

/// Load or generate `days` replay days starting at `from` (ISO), with `start_prices` as the
/// first price of every generated market.
pub fn load(
    dir: Option<&Path>,
    from: &str,
    days: usize,
    start_prices: &[f64; 10],
    seed: u64,
) -> anyhow::Result<Replay> {
    ensure!(days >= 2, "a replay needs at least 2 days");
    let mut series: Vec<Option<PriceSeries>> = vec![None; 10];
    let mut sources = vec![Source::Generated; 10];
    for (i, name) in INSTRUMENTS.iter().enumerate() {
        if let Some(dir) = dir {
            let path = dir.join(format!("{name}.csv"));
            if path.exists() {
                series[i] = Some(PriceSeries::read(&path)?);
                sources[i] = Source::File(path.display().to_string());
                continue;
            }
        }
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| n == name) {
            series[i] = Some(PriceSeries::parse(name, text)?);
            sources[i] = Source::Shipped;
        }
    }
    let observed: Vec<usize> = (0..10).filter(|&i| series[i].is_some()).collect();
    ensure!(
        !observed.is_empty(),
        "no price series: the replay's calendar comes from at least one real series"
    );
    // the calendar: dates from `from` on that every real series has
    let first = series[observed[0]].as_ref().context("a series")?;
    let dates: Vec<String> = first
        .dates
        .iter()
        .filter(|d| d.as_str() >= from)
        .filter(|d| {
            observed
                .iter()
                .all(|&i| series[i].as_ref().is_some_and(|s| s.dates.contains(d)))
        })
        .take(days)
        .cloned()
        .collect();
    ensure!(
        dates.len() == days,
        "only {} common dates from {from} in the price files, {days} asked for",
        dates.len()
    );
    let lookup = |i: usize, d: &str| -> anyhow::Result<f64> {
        let s = series[i].as_ref().context("a series")?;
        let at = s.dates.binary_search_by(|x| x.as_str().cmp(d));
        let close = s.closes[at.map_err(|_| anyhow::anyhow!("{} has no {d}", s.name))?];
        ensure!(
            close > 0.0,
            "{}: close {close} on {d} is not positive",
            s.name
        );
        Ok(close)
    };
    let generated: Vec<usize> = (0..10).filter(|&i| series[i].is_none()).collect();
    let model = Conditional::new(&observed, &generated)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut raw: Vec<[f64; 10]> = Vec::with_capacity(days);
    for (t, date) in dates.iter().enumerate() {
        let mut row = [0.0; 10];
        for &i in &observed {
            row[i] = lookup(i, date)?;
        }
        if t == 0 {
            for &g in &generated {
                row[g] = if g == INVERTED {
                    1.0 / start_prices[g]
                } else {
                    start_prices[g]
                };
            }
        } else {
            let prev = raw[t - 1];
            let z_obs: Vec<f64> = observed
                .iter()
                .map(|&i| (row[i] / prev[i]).ln() / SIGMA[i])
                .collect();
            let eps: Vec<f64> = generated
                .iter()
                .map(|_| standard_normal(&mut rng))
                .collect();
            for (k, z) in model.draw(&z_obs, &eps).into_iter().enumerate() {
                let g = generated[k];
                row[g] = prev[g] * (SIGMA[g] * z - SIGMA[g] * SIGMA[g] / 2.0).exp();
            }
        }
        raw.push(row);
    }
    let prices = raw
        .into_iter()
        .map(|mut row| {
            row[INVERTED] = 1.0 / row[INVERTED];
            row
        })
        .collect();
    Ok(Replay {
        dates,
        prices,
        sources,
    })
}

/// z_G | z_O: the regression A = R_GO R_OO⁻¹ and the Cholesky factor of the residual covariance.
struct Conditional {
    a: Vec<Vec<f64>>,
    l: Vec<f64>,
    n: usize,
}

impl Conditional {
    fn new(observed: &[usize], generated: &[usize]) -> anyhow::Result<Self> {
        let (o, n) = (observed.len(), generated.len());
        // R_OO⁻¹ by Gauss–Jordan elimination (o ≤ 10, R_OO positive definite)
        let mut m: Vec<Vec<f64>> = observed
            .iter()
            .map(|&i| {
                let mut row: Vec<f64> = observed.iter().map(|&j| CORR[i][j]).collect();
                row.extend((0..o).map(|k| if observed[k] == i { 1.0 } else { 0.0 }));
                row
            })
            .collect();
        for c in 0..o {
            let pivot = (c..o)
                .max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))
                .context("a pivot")?;
            m.swap(c, pivot);
            let p = m[c][c];
            ensure!(p.abs() > 1e-12, "singular correlation matrix");
            for v in m[c].iter_mut() {
                *v /= p;
            }
            for r in 0..o {
                if r != c {
                    let f = m[r][c];
                    let pivot_row = m[c].clone();
                    for (v, pv) in m[r].iter_mut().zip(pivot_row) {
                        *v -= f * pv;
                    }
                }
            }
        }
        let inv: Vec<Vec<f64>> = m.into_iter().map(|row| row[o..].to_vec()).collect();
        let a: Vec<Vec<f64>> = generated
            .iter()
            .map(|&g| {
                (0..o)
                    .map(|k| {
                        (0..o)
                            .map(|j| CORR[g][observed[j]] * inv[j][k])
                            .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        let mut cov = vec![0.0; n * n];
        for (x, &gx) in generated.iter().enumerate() {
            for (y, &gy) in generated.iter().enumerate() {
                let explained: f64 = (0..o).map(|k| a[x][k] * CORR[observed[k]][gy]).sum();
                cov[x * n + y] = CORR[gx][gy] - explained;
            }
        }
        let l = cholesky(&cov, n).context("the conditional covariance is not PSD")?;
        Ok(Conditional { a, l, n })
    }

    fn draw(&self, z_obs: &[f64], eps: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|x| {
                let mean: f64 = self.a[x].iter().zip(z_obs).map(|(a, z)| a * z).sum();
                let noise: f64 = (0..=x).map(|k| self.l[x * self.n + k] * eps[k]).sum();
                mean + noise
            })
            .collect()
    }
}

/// A standard normal draw (Box–Muller) from the seeded generator, so the paths do not depend on
/// another crate's sampling algorithm.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_give_two_years_and_generated_paths_match_their_calibration() {
        let start = [
            65_000.0, 3_000.0, 150.0, 0.6, 550.0, 1.08, 1.27, 0.0067, 2_300.0, 80.0,
        ];
        let r = load(None, "2021-09-01", 500, &start, 7).unwrap();
        assert_eq!(r.dates.len(), 500);
        assert_eq!(r.dates[0], "2021-09-01");
        assert_eq!(r.sources[0], Source::Generated);
        assert_eq!(r.sources[5], Source::Shipped);
        // EUR is the real series; JPY is inverted
        assert_eq!(r.prices[0][5], 1.1850);
        assert!((r.prices[0][7] - 1.0 / 110.03).abs() < 1e-12);
        assert_eq!(r.prices[0][0], 65_000.0);
        // the generated BTC path: its σ near 3.7 % and its correlation with ETH near 0.87
        let ret = |i: usize| -> Vec<f64> {
            r.prices
                .windows(2)
                .map(|w| w[1][i] / w[0][i] - 1.0)
                .collect()
        };
        let (btc, eth) = (ret(0), ret(1));
        let sd = |x: &[f64]| {
            let m = x.iter().sum::<f64>() / x.len() as f64;
            (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
        };
        let corr = {
            let (mb, me) = (
                btc.iter().sum::<f64>() / btc.len() as f64,
                eth.iter().sum::<f64>() / eth.len() as f64,
            );
            let cov: f64 = btc
                .iter()
                .zip(&eth)
                .map(|(b, e)| (b - mb) * (e - me))
                .sum::<f64>()
                / (btc.len() - 1) as f64;
            cov / sd(&btc) / sd(&eth)
        };
        assert!((sd(&btc) - 0.03663).abs() < 0.004, "σ BTC {}", sd(&btc));
        assert!((corr - 0.873).abs() < 0.04, "ρ {corr}");
    }

    #[test]
    fn too_few_dates_is_an_error() {
        let start = [1.0; 10];
        let e = load(None, "2024-06-01", 500, &start, 1).unwrap_err();
        assert!(e.to_string().contains("common dates"), "{e}");
    }
}
