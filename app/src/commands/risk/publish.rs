//! `keel risk publish`: the risk keeper's publication on a deployed pool. σ and R are estimated
//! from price files (`crate::risk::estimate`), moved from the model's current values only as far as its
//! step bounds allow, given a positive semi-definiteness certificate, staged in chunks and
//! committed. The sandbox, the keeper and the migrations publish through the same function.
//!
//! A publication that the program refuses leaves the current model as it was: the staging area
//! is scratch that the next publication overwrites whole.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, ensure};
use clap::Args;
use keel_math::imbalance::upper_len;
use perp_amm::state::RiskModel;
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::estimate::EstimateArgs;
use crate::client::dates::data_time;
use crate::client::errors::failed;
use crate::client::fetch::{perp_pool, risk_model};
use crate::client::perp as ix;
use crate::commands::perp::PoolArg;
use crate::risk::{
    RiskFeed, cholesky_certificate, corr_full_from_upper, corr_upper_e9, estimate, estimate_window,
};
use crate::transport::Transport;

const E9: f64 = 1e9;
const BPS: u128 = 10_000;

#[derive(Args, Debug, Clone)]
pub struct PublishArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    #[command(flatten)]
    pub estimate: EstimateArgs,
    /// The data time to publish (unix seconds); default: noon UTC of the last return's date,
    /// or now if that is later than the cluster's clock
    #[arg(long)]
    pub as_of: Option<i64>,
}

/// What a publication stored.
#[derive(Debug, Clone, Serialize)]
pub struct Publication {
    pub pool: String,
    /// The model's revision after the commit.
    pub revision: u64,
    pub as_of: i64,
    pub sigma_e9: Vec<u64>,
    pub corr_upper_e9: Vec<i32>,
    /// False when a step bound held the model back from the estimate (the next publication
    /// moves it further).
    pub target_reached: bool,
    /// The correlation step bound the model enforces, 1e9 scale.
    pub max_corr_step_e9: u32,
    pub transactions: usize,
}

impl Publication {
    pub fn to_text(&self) -> String {
        let sigma: Vec<String> = self
            .sigma_e9
            .iter()
            .map(|s| format!("{:.5}", *s as f64 / E9))
            .collect();
        format!(
            "published risk model revision {} for pool {} (as of {}, {} transactions)\n\
             sigma: {}\n{}\n",
            self.revision,
            self.pool,
            self.as_of,
            self.transactions,
            sigma.join(" "),
            if self.target_reached {
                "the estimate was reached"
            } else {
                "a step bound held the model back from the estimate; publish again to move on"
            }
        )
    }
}

/// σ (1e9 scale) and the full R to publish at `now`: `target_sigma` and `target_corr` (full
/// n×n), moved from `model`'s current values only as far as its bounds allow: one commit's step,
/// the rolling window's total (from the window's start, or from the current values when this
/// commit starts a new window) and each market's σ range. σ is clamped market by market to the
/// exact integer bounds; R moves along the straight line toward the target, which keeps it
/// positive semi-definite (a blend of two PSD matrices is one), by at most each bound less one
/// unit for rounding. The flag says whether the target was reached.
pub fn step_toward(
    model: &RiskModel,
    target_sigma: &[f64],
    target_corr: &[f64],
    now: i64,
) -> (Vec<u64>, Vec<f64>, bool) {
    let n = target_sigma.len();
    let covered = (model.market_count as usize).min(n);
    // the window's start as the commit will see it
    let restarts = model.window_restarts(now);
    let (start_sigma, start_upper, start_n) = if restarts {
        (
            &model.current.sigma_e9,
            &model.current.corr_upper,
            model.market_count as usize,
        )
    } else {
        (
            &model.anchor.sigma_e9,
            &model.anchor.corr_upper,
            model.anchor_count as usize,
        )
    };
    let windowed = if model.bounds.window_secs > 0 {
        start_n.min(n)
    } else {
        0
    };
    let mut reached = true;
    let sigma: Vec<u64> = target_sigma
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let target = (t * E9).round().max(1.0) as u64;
            let (mut lo, mut hi) = model.sigma_range(i);
            if i < covered {
                let old = model.current.sigma_e9[i] as u128;
                let step = model.max_sigma_step_bps as u128;
                lo = lo.max((old * BPS.saturating_sub(step)).div_ceil(BPS) as u64);
                hi = hi.min((old * (BPS + step) / BPS) as u64);
            }
            if i < windowed {
                let start = start_sigma[i] as u128;
                let factor = BPS + model.bounds.max_sigma_window_bps as u128;
                lo = lo.max((start * BPS).div_ceil(factor) as u64);
                hi = hi.min((start * factor / BPS) as u64);
            }
            let s = target.clamp(lo.max(1), hi.max(lo.max(1)));
            reached &= s == target;
            s
        })
        .collect();
    let old_n = model.market_count as usize;
    let old = corr_full_from_upper(&model.current.corr_upper[..upper_len(old_n)], old_n);
    let old_at = |i: usize, j: usize| {
        if i < covered && j < covered {
            old[i * old_n + j]
        } else {
            target_corr[i * n + j]
        }
    };
    let largest = (0..n * n)
        .map(|x| (target_corr[x] - old_at(x / n, x % n)).abs() * E9)
        .fold(0.0, f64::max);
    let allowed = (model.max_corr_step_e9 as f64 - 1.0).max(0.0);
    let mut w: f64 = if largest > allowed {
        allowed / largest
    } else {
        1.0
    };
    // the window: each covered ρ stays within its bound (less a unit) of the window's start
    if windowed > 1 {
        let start = corr_full_from_upper(&start_upper[..upper_len(start_n)], start_n);
        let bound = (model.bounds.max_corr_window_e9 as f64 - 1.0).max(0.0) / E9;
        for i in 0..windowed {
            for j in 0..windowed {
                let (o, a) = (old_at(i, j), start[i * start_n + j]);
                let d = target_corr[i * n + j] - o;
                let room = if d > 0.0 {
                    bound + a - o
                } else {
                    bound - a + o
                };
                if d != 0.0 {
                    w = w.min((room / d.abs()).max(0.0));
                }
            }
        }
    }
    if w < 1.0 {
        reached = false;
    }
    let corr = (0..n * n)
        .map(|x| {
            let o = old_at(x / n, x % n);
            o + w * (target_corr[x] - o)
        })
        .collect();
    (sigma, corr, reached)
}

/// Publish `target_sigma` and `target_corr` (full n×n, one row per market of the pool) as of
/// `as_of`, signed by the model's risk authority.
pub fn publish(
    t: &mut dyn Transport,
    authority: &Keypair,
    pool: &Pubkey,
    target_sigma: &[f64],
    target_corr: &[f64],
    as_of: i64,
) -> anyhow::Result<Publication> {
    let n = target_sigma.len();
    ensure!(
        target_corr.len() == n * n,
        "R must be {n}×{n} for {n} markets"
    );
    ensure!(
        target_sigma.iter().all(|s| s.is_finite() && *s > 0.0),
        "every σ must be positive: a flat price series has no volatility to publish"
    );
    let markets = perp_pool(t, pool)?.market_count as usize;
    let model = risk_model(t, pool)?;
    ensure!(
        markets == n,
        "the pool has {markets} markets and the estimate {n}: publish one series per market, in market order"
    );
    let now = t.unix_time()?;
    let next = model.committed_at + model.bounds.min_commit_interval_secs as i64;
    ensure!(
        model.committed_at == 0 || now >= next,
        "the risk model was committed at {}: the pool allows the next commit from {next} \
         (min_commit_interval_secs {})",
        model.committed_at,
        model.bounds.min_commit_interval_secs
    );
    let (sigma_e9, corr, target_reached) = step_toward(&model, target_sigma, target_corr, now);
    let upper = corr_upper_e9(&corr, n);
    let lower = cholesky_certificate(&corr_full_from_upper(&upper, n), n)
        .context("R is not positive semi-definite: there is no certificate to publish")?;
    let writes = ix::stage_risk_writes(&authority.pubkey(), pool, &sigma_e9, &upper, &lower)
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut transactions = 0;
    for w in writes {
        t.send(&[w], &[authority])
            .map_err(|e| failed(&perp_amm::ID, "stage_risk", &e))?;
        transactions += 1;
    }
    t.send(
        &[
            ix::compute_unit_limit(ix::COMMIT_RISK_CU_LIMIT),
            ix::commit_risk(&authority.pubkey(), pool, as_of),
        ],
        &[authority],
    )
    .map_err(|e| failed(&perp_amm::ID, "commit_risk", &e))?;
    Ok(Publication {
        pool: pool.to_string(),
        revision: risk_model(t, pool)?.revision,
        as_of,
        sigma_e9,
        corr_upper_e9: upper,
        target_reached,
        max_corr_step_e9: model.max_corr_step_e9,
        transactions: transactions + 1,
    })
}

/// `keel risk publish`: estimate from the files, then [`publish`].
pub fn publish_from_prices(
    t: &mut dyn Transport,
    authority: &Keypair,
    args: &PublishArgs,
) -> anyhow::Result<Publication> {
    // the model holds one horizon for every market, a day (the premium and IS limits use it)
    ensure!(
        args.estimate.interval == 1,
        "the risk model stores daily σ: publish daily returns (--interval 1)"
    );
    let series = args.estimate.read_series()?;
    let e = estimate(&series, &args.estimate.options())?;
    let as_of = match args.as_of {
        Some(a) => a,
        None => data_time(&e.last_date, t.unix_time()?)?,
    };
    publish(t, authority, &args.pool.pool, &e.sigma, &e.corr, as_of)
}

/// The keeper's publication: [`estimate_window`], published only when the files hold a date
/// newer than the model's (`None`: the model is up to date).
pub fn publish_if_newer(
    t: &mut dyn Transport,
    authority: &Keypair,
    pool: &Pubkey,
    feed: &RiskFeed,
) -> anyhow::Result<Option<Publication>> {
    let e = estimate_window(feed)?;
    let as_of = data_time(&e.last_date, t.unix_time()?)?;
    if as_of <= risk_model(t, pool)?.as_of {
        return Ok(None);
    }
    publish(t, authority, pool, &e.sigma, &e.corr, as_of).map(Some)
}
