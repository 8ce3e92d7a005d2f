//! `keel risk bounds`: the pool authority bounds its risk publisher beyond one commit's step
//! (`set_risk_bounds`): the interval between commits, a rolling window over which σ stays within
//! a factor and ρ within a distance of the window's start, and σ ranges per market.

use anyhow::{Context, ensure};
use clap::Args;
use perp_amm::instructions::RiskBoundsArgs;
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::errors::failed;
use crate::client::fetch::risk_model;
use crate::client::perp as ix;
use crate::commands::perp::PoolArg;
use crate::transport::Transport;

const E9: f64 = 1e9;

#[derive(Args, Debug, Clone)]
pub struct BoundsArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    /// Seconds between two commits (at most a day)
    #[arg(long, default_value_t = 3_600)]
    pub interval_secs: u32,
    /// The rolling window, seconds (0: none; at most 30 days)
    #[arg(long, default_value_t = 604_800)]
    pub window_secs: u32,
    /// σ stays within a factor 1 + bps/10,000 of the window's start, either way
    #[arg(long, default_value_t = 10_000)]
    pub sigma_window_bps: u32,
    /// Each ρ stays within this of the window's start (0 < x ≤ 2)
    #[arg(long, default_value_t = 0.5)]
    pub corr_window: f64,
    /// A market's σ range, INDEX:MIN:MAX as fractions of the model's horizon (e.g. 0:0.01:0.1);
    /// repeat for more markets, the others stay open
    #[arg(long = "sigma-range")]
    pub sigma_ranges: Vec<String>,
}

/// What `keel risk bounds` set.
#[derive(Debug, Clone, Serialize)]
pub struct BoundsReport {
    pub pool: String,
    pub min_commit_interval_secs: u32,
    pub window_secs: u32,
    pub max_sigma_window_bps: u32,
    pub max_corr_window_e9: u32,
    /// (market, min, max), 1e9 scale
    pub sigma_ranges_e9: Vec<(usize, u64, u64)>,
}

impl BoundsReport {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "risk bounds of pool {}: a commit at most every {} s; over {} s σ within {:.2}× and ρ \
             within {:.3} of the window's start\n",
            self.pool,
            self.min_commit_interval_secs,
            self.window_secs,
            1.0 + self.max_sigma_window_bps as f64 / 1e4,
            self.max_corr_window_e9 as f64 / E9,
        );
        for (i, lo, hi) in &self.sigma_ranges_e9 {
            s += &format!(
                "market {i}: σ in [{}, {}]\n",
                *lo as f64 / E9,
                *hi as f64 / E9
            );
        }
        s
    }
}

/// The instruction's arguments from the command's, checked with clear messages first.
pub fn bounds_args(args: &BoundsArgs) -> anyhow::Result<RiskBoundsArgs> {
    ensure!(
        args.corr_window > 0.0 && args.corr_window <= 2.0,
        "--corr-window must be in (0, 2]"
    );
    let mut sigma_min_e9 = [0u64; 32];
    let mut sigma_max_e9 = [0u64; 32];
    for range in &args.sigma_ranges {
        let parts: Vec<&str> = range.split(':').collect();
        ensure!(
            parts.len() == 3,
            "--sigma-range {range}: expected INDEX:MIN:MAX, e.g. 0:0.01:0.1"
        );
        let i: usize = parts[0]
            .parse()
            .with_context(|| format!("--sigma-range {range}: the market index"))?;
        let lo: f64 = parts[1]
            .parse()
            .with_context(|| format!("--sigma-range {range}: the minimum"))?;
        let hi: f64 = parts[2]
            .parse()
            .with_context(|| format!("--sigma-range {range}: the maximum"))?;
        ensure!(
            i < 32,
            "--sigma-range {range}: market index {i} is not below 32"
        );
        ensure!(
            lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi && hi <= 5.0,
            "--sigma-range {range}: need 0 ≤ MIN ≤ MAX ≤ 5"
        );
        sigma_min_e9[i] = (lo * E9).round() as u64;
        sigma_max_e9[i] = (hi * E9).round() as u64;
    }
    Ok(RiskBoundsArgs {
        min_commit_interval_secs: args.interval_secs,
        window_secs: args.window_secs,
        max_sigma_window_bps: args.sigma_window_bps,
        max_corr_window_e9: (args.corr_window * E9).round() as u32,
        sigma_min_e9,
        sigma_max_e9,
    })
}

/// Set the pool's risk bounds, signed by the pool authority.
pub fn set_bounds(
    t: &mut dyn Transport,
    authority: &Keypair,
    args: &BoundsArgs,
) -> anyhow::Result<BoundsReport> {
    let bounds = bounds_args(args)?;
    let pool = args.pool.pool;
    // a clear message when the pool has no risk model, before anything is sent
    risk_model(t, &pool)?;
    t.send(
        &[ix::set_risk_bounds(&authority.pubkey(), &pool, bounds)],
        &[authority],
    )
    .map_err(|e| failed(&perp_amm::ID, "set_risk_bounds", &e))?;
    let b = risk_model(t, &pool)?.bounds;
    Ok(BoundsReport {
        pool: pool.to_string(),
        min_commit_interval_secs: b.min_commit_interval_secs,
        window_secs: b.window_secs,
        max_sigma_window_bps: b.max_sigma_window_bps,
        max_corr_window_e9: b.max_corr_window_e9,
        sigma_ranges_e9: (0..32)
            .filter(|&i| b.sigma_max_e9[i] != 0)
            .map(|i| (i, b.sigma_min_e9[i], b.sigma_max_e9[i]))
            .collect(),
    })
}
