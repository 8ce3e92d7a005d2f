//! The sandbox's price history: one close per market per calendar day.
//!
//! Each of the ten instruments comes from, in order of preference, a `date,close` file in
//! `--prices DIR` named after it (`BTC-USD.csv`, …, `GC-F.csv`, `WTI.csv`), the public-domain
//! FX and WTI files shipped in `app/data/prices/`, or a generated path. The replay runs on
//! calendar days: crypto trades every day; a market that keeps hours (FX, gold, oil) has a
//! close on the days its series has one and keeps its last close on the others (weekends and
//! holidays). The weekdays that no real series of a schedule has are that schedule's holidays,
//! which the sandbox's operator puts in the pool's calendar.
//!
//! Generated paths are calibrated to the 2021-09 → 2023-09 statistics of the shared data set
//! (σ of daily simple returns on common dates and the Pearson correlations, STATS.md method A:
//! derived figures, not the unlicensed series), on the same calendar. They step from one common
//! date of the real series to the next (Friday → Monday, as the calibration's returns do): on
//! each step the generated standardised log-returns are drawn from the normal distribution
//! conditional on the real series' returns of that step,
//! z_G ~ N(R_GO R_OO⁻¹ z_O, R_GG − R_GO R_OO⁻¹ R_OG), so a generated BTC still leans with the
//! real EUR; the log-return is σ·z − σ²/2 (no drift in the mean). Between two common dates a
//! generated market that keeps hours holds its close (it is shut), and one that trades every
//! day (crypto) follows a Brownian bridge between them, so the weekend moves without changing
//! the calibrated Friday-to-Monday statistics.

use std::path::Path;

use anyhow::{Context, ensure};
use rand::{Rng, SeedableRng};

use crate::client::dates::{add_days, noon};
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

/// The replay: calendar days and, per day, each market's price (quote per base, whole units).
#[derive(Clone, Debug)]
pub struct Replay {
    pub dates: Vec<String>,
    pub prices: Vec<[f64; 10]>,
    pub sources: Vec<Source>,
    /// Per schedule index: its holidays, the weekdays from the first replay day to four weeks
    /// past the last (as far as the files go) on which none of its markets' real series has a
    /// close. Empty for a schedule with no real series.
    pub holidays: Vec<(u8, Vec<String>)>,
}

impl Replay {
    /// Whether a market on schedule `index` traded on `date`: always for 0, else on weekdays
    /// that are not its holidays.
    pub fn traded(&self, index: u8, date: &str) -> bool {
        if index == 0 {
            return true;
        }
        let Ok(t) = noon(date) else {
            return false;
        };
        let weekday = keel_math::calendar::weekday(t.div_euclid(86_400));
        (1..=5).contains(&weekday)
            && !self
                .holidays
                .iter()
                .any(|(i, days)| *i == index && days.iter().any(|d| d == date))
    }
}

/// Days past the replay's end the holidays are listed for (the operator announces them ahead).
const HOLIDAY_LOOKAHEAD_DAYS: i64 = 28;

/// Load or generate `days` calendar days starting at `from` (ISO), with `start_prices` as the
/// first price of every generated market; `schedules[i]` is market i's schedule index (0:
/// always open).
pub fn load(
    dir: Option<&Path>,
    from: &str,
    days: usize,
    start_prices: &[f64; 10],
    schedules: &[u8; 10],
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
    let dates: Vec<String> = (0..days as i64)
        .map(|d| add_days(from, d))
        .collect::<anyhow::Result<_>>()?;
    let last = dates.last().context("a date")?.clone();
    // every real series must cover the replay: a close on or before the first day, and data
    // up to the last
    let files_end = observed
        .iter()
        .filter_map(|&i| series[i].as_ref().and_then(|s| s.dates.last().cloned()))
        .min()
        .context("a series")?;
    let covered = dates.iter().take_while(|d| **d <= files_end).count();
    ensure!(
        covered == days,
        "the price files' common dates cover only {covered} of the {days} days asked for from \
         {from} (they end on {files_end})"
    );
    for &i in &observed {
        let s = series[i].as_ref().context("a series")?;
        ensure!(
            s.dates.first().is_some_and(|d| d.as_str() <= from),
            "{} has no close on or before {from}",
            s.name
        );
    }
    // the last close on or before `d`, and whether `d` has one
    let close = |i: usize, d: &str| -> anyhow::Result<(f64, bool)> {
        let s = series[i].as_ref().context("a series")?;
        let (at, exact) = match s.dates.binary_search_by(|x| x.as_str().cmp(d)) {
            Ok(at) => (at, true),
            Err(0) => anyhow::bail!("{} has no close on or before {d}", s.name),
            Err(at) => (at - 1, false),
        };
        let c = s.closes[at];
        ensure!(
            c > 0.0,
            "{}: close {c} on {} is not positive",
            s.name,
            s.dates[at]
        );
        Ok((c, exact))
    };
    // the generated paths' steps: the first day, then every common date of the real series up
    // to a week past the last day (the bridge's far end)
    let horizon = add_days(&last, 7)?;
    let first = series[observed[0]].as_ref().context("a series")?;
    let mut anchors: Vec<String> = vec![from.to_string()];
    anchors.extend(
        first
            .dates
            .iter()
            .filter(|d| d.as_str() > from && d.as_str() <= horizon.as_str())
            .filter(|d| {
                observed
                    .iter()
                    .all(|&i| series[i].as_ref().is_some_and(|s| s.dates.contains(d)))
            })
            .cloned(),
    );
    let generated: Vec<usize> = (0..10).filter(|&i| series[i].is_none()).collect();
    let model = Conditional::new(&observed, &generated)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // generated log prices at the anchors (JPY inverted back at the end)
    let mut at_anchor: Vec<[f64; 10]> = Vec::with_capacity(anchors.len());
    for (k, date) in anchors.iter().enumerate() {
        let mut row = [0.0; 10];
        if k == 0 {
            for &g in &generated {
                let p = if g == INVERTED {
                    1.0 / start_prices[g]
                } else {
                    start_prices[g]
                };
                row[g] = p.ln();
            }
        } else {
            let prev = at_anchor[k - 1];
            let mut z_obs = Vec::with_capacity(observed.len());
            for &i in &observed {
                let (now, _) = close(i, date)?;
                let (before, _) = close(i, &anchors[k - 1])?;
                z_obs.push((now / before).ln() / SIGMA[i]);
            }
            let eps: Vec<f64> = generated
                .iter()
                .map(|_| standard_normal(&mut rng))
                .collect();
            for (x, z) in model.draw(&z_obs, &eps).into_iter().enumerate() {
                let g = generated[x];
                row[g] = prev[g] + SIGMA[g] * z - SIGMA[g] * SIGMA[g] / 2.0;
            }
        }
        at_anchor.push(row);
    }
    let mut prices: Vec<[f64; 10]> = Vec::with_capacity(days);
    let mut anchor = 0;
    for (t, date) in dates.iter().enumerate() {
        while anchor + 1 < anchors.len() && anchors[anchor + 1] <= *date {
            anchor += 1;
        }
        let mut row = [0.0; 10];
        for &i in &observed {
            row[i] = close(i, date)?.0;
        }
        let on_anchor = anchors[anchor] == *date;
        for &g in &generated {
            let log = if on_anchor || t == 0 {
                at_anchor[anchor][g]
            } else if schedules[g] != 0 || anchor + 1 >= anchors.len() {
                // shut between common dates (or past the last one): the last close
                prices[t - 1][g].ln()
            } else {
                // a Brownian bridge from yesterday to the next common date, with the step's
                // variance spread evenly over its calendar days
                let left = (noon(&anchors[anchor + 1])? - noon(date)?) / 86_400 + 1;
                let span = (noon(&anchors[anchor + 1])? - noon(&anchors[anchor])?) / 86_400;
                let prev = prices[t - 1][g].ln();
                let target = at_anchor[anchor + 1][g];
                let variance = SIGMA[g] * SIGMA[g] / span as f64;
                let left = left as f64;
                prev + (target - prev) / left
                    + (variance * (left - 1.0) / left).sqrt() * standard_normal(&mut rng)
            };
            // the first day is the start price exactly
            row[g] = match (t, g == INVERTED) {
                (0, true) => 1.0 / start_prices[g],
                (0, false) => start_prices[g],
                _ => log.exp(),
            };
        }
        prices.push(row);
    }
    for row in prices.iter_mut() {
        row[INVERTED] = 1.0 / row[INVERTED];
    }
    // holidays: weekdays no real series of the schedule has, as far as they all go
    let mut holidays = vec![];
    let mut indices: Vec<u8> = schedules.iter().copied().filter(|&s| s != 0).collect();
    indices.sort_unstable();
    indices.dedup();
    for index in indices {
        let real: Vec<&PriceSeries> = (0..10)
            .filter(|&i| schedules[i] == index)
            .filter_map(|i| series[i].as_ref())
            .collect();
        let Some(end) = real.iter().filter_map(|s| s.dates.last()).min().cloned() else {
            holidays.push((index, vec![]));
            continue;
        };
        let mut list = vec![];
        for d in 0..days as i64 + HOLIDAY_LOOKAHEAD_DAYS {
            let date = add_days(from, d)?;
            if date > end {
                break;
            }
            let weekday = keel_math::calendar::weekday(noon(&date)?.div_euclid(86_400));
            if (1..=5).contains(&weekday)
                && real.iter().all(|s| s.dates.binary_search(&date).is_err())
            {
                list.push(date);
            }
        }
        holidays.push((index, list));
    }
    Ok(Replay {
        dates,
        prices,
        sources,
        holidays,
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

    const SCHEDULES: [u8; 10] = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2];

    #[test]
    fn shipped_files_give_two_years_and_generated_paths_match_their_calibration() {
        let start = [
            65_000.0, 3_000.0, 150.0, 0.6, 550.0, 1.08, 1.27, 0.0067, 2_300.0, 80.0,
        ];
        let r = load(None, "2021-09-01", 730, &start, &SCHEDULES, 7).unwrap();
        assert_eq!(r.dates.len(), 730);
        assert_eq!(r.dates[0], "2021-09-01");
        assert_eq!(r.dates[3], "2021-09-04", "calendar days: a Saturday");
        assert_eq!(r.sources[0], Source::Generated);
        assert_eq!(r.sources[5], Source::Shipped);
        // EUR is the real series; JPY is inverted
        assert_eq!(r.prices[0][5], 1.1850);
        assert!((r.prices[0][7] - 1.0 / 110.03).abs() < 1e-12);
        assert_eq!(r.prices[0][0], 65_000.0);
        // the weekend: FX, oil and the generated gold keep Friday's close, crypto moves
        let (fri, sat, sun) = (r.prices[2], r.prices[3], r.prices[4]);
        for m in 5..10 {
            assert_eq!((sat[m], sun[m]), (fri[m], fri[m]), "market {m}");
        }
        assert!(sat[0] != fri[0] && sun[0] != sat[0]);
        // holidays: Christmas and New Year for FX; oil's (US) holidays include Labor Day 2021
        let fx = &r.holidays.iter().find(|(i, _)| *i == 1).unwrap().1;
        assert!(fx.contains(&"2021-12-24".to_string()) || fx.contains(&"2021-12-31".to_string()));
        let cme = &r.holidays.iter().find(|(i, _)| *i == 2).unwrap().1;
        assert!(cme.contains(&"2021-09-06".to_string()), "{cme:?}");
        assert!(!r.traded(2, "2021-09-06") && r.traded(0, "2021-09-06"));
        // the generated BTC path on the common dates (the calibration's steps): its σ near
        // 3.7 % and its correlation with ETH near 0.87
        let common: Vec<usize> = (0..r.dates.len())
            .filter(|&t| (1..=2).all(|s| r.traded(s, &r.dates[t])))
            .collect();
        let ret = |i: usize| -> Vec<f64> {
            common
                .windows(2)
                .map(|w| r.prices[w[1]][i] / r.prices[w[0]][i] - 1.0)
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
        let e = load(None, "2024-06-01", 500, &start, &SCHEDULES, 1).unwrap_err();
        assert!(e.to_string().contains("common dates"), "{e}");
    }
}
