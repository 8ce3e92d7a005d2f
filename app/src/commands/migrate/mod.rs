//! `keel migrate --config migrations/<cluster>.toml`: after `anchor deploy`, create what a
//! cluster needs from its configuration file: the quote token (or use a given one), the perp
//! pool, its market-hours calendar with the schedules the preset markets keep, its markets and
//! their oracles, the risk model and its first publication, and the
//! crps (collateral rebalancing pools). `config.rs` reads and checks the file; `steps.rs` holds
//! one function per step, run in order by [`migrate`].
//!
//! The flow is idempotent. Every address is a PDA of the quote mint and the pool id, except
//! the mints it creates, whose keys are kept in keypair files next to the configuration, so a
//! second run finds everything and sends nothing; a run after a market has been appended to the
//! file adds that market and publishes a risk model that covers it. What exists is checked
//! against the file (authorities, market order, mints) and a difference stops the run before
//! anything is sent for that step. Each step is its own transaction: a step the program refuses
//! stops the run with the program's error, the steps before it stay, and a re-run after the
//! file is fixed goes on from there.

mod config;
mod state;
mod steps;

use std::path::{Path, PathBuf};

use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::transport::Transport;
pub use config::{
    Calibration, Config, CrpConfig, MarketConfig, OracleChoice, PoolConfig, Programs, QuoteConfig,
    RiskConfig,
};
use state::Migration;
pub use state::Step;
pub use steps::{PYTH_PUSH_ORACLE, pyth_feed_account};

#[derive(clap::Args, Debug, Clone)]
pub struct MigrateArgs {
    /// The cluster's configuration file (migrations/localnet.toml, migrations/devnet.toml);
    /// its `url` is used when --url is not given
    #[arg(long)]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub cluster: String,
    pub operator: String,
    pub quote_mint: String,
    pub pool: String,
    pub steps: Vec<Step>,
    pub transactions: usize,
}

impl MigrationReport {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "migration of {} by {}: {} transactions\n",
            self.cluster, self.operator, self.transactions
        );
        let width = self.steps.iter().map(|s| s.what.len()).max().unwrap_or(0);
        for st in &self.steps {
            s += &format!("  {:width$}  {:44}  {}\n", st.what, st.address, st.outcome);
        }
        s
    }
}

/// Run the migration `config` (read from `dir`) as `operator`, who pays and becomes the pool's
/// authority: each step in turn, every one checking what exists before it sends.
pub fn migrate(
    t: &mut dyn Transport,
    operator: &Keypair,
    config: &Config,
    dir: &Path,
) -> anyhow::Result<MigrationReport> {
    config.validate()?;
    let now = steps::check_cluster(t, config)?;
    let mut m = Migration {
        t,
        operator,
        dir: dir.to_path_buf(),
        now,
        steps: vec![],
        transactions: 0,
    };
    let quote = steps::quote_token(&mut m, &config.quote)?;
    let pool = steps::pool(&mut m, &config.pool, &quote)?;
    steps::operator_tokens(&mut m, &config.quote, &quote)?;
    steps::calendar(&mut m, &pool)?;
    steps::markets(&mut m, &config.markets, &pool)?;
    steps::risk_model(&mut m, config, &pool)?;
    steps::crp_pools(&mut m, config, &pool, &quote)?;
    Ok(MigrationReport {
        cluster: config.cluster.clone(),
        operator: operator.pubkey().to_string(),
        quote_mint: quote.mint.to_string(),
        pool: pool.key.to_string(),
        steps: m.steps,
        transactions: m.transactions,
    })
}

/// `keel migrate`: read the file, run it.
pub fn run_migrate(
    t: &mut dyn Transport,
    operator: &Keypair,
    args: &MigrateArgs,
) -> anyhow::Result<MigrationReport> {
    let config = Config::read(&args.config)?;
    let dir = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    migrate(t, operator, &config, &dir)
}
