//! `keel migrate --config migrations/<cluster>.toml`: after `anchor deploy`, create what a
//! cluster needs from its configuration file: the quote token (or use a given one), the perp
//! pool, its markets and their oracles, the risk model and its first publication, and the
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
mod steps;

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{Context, bail, ensure};
use serde::Serialize;
use solana_keypair::{Keypair, read_keypair_file, write_keypair_file};
use solana_signer::Signer;

use crate::client::errors::failed;
use crate::client::token::{create_mint_ixs, mint_rent};
use crate::transport::Transport;
use config::key;
pub use config::{
    Calibration, Config, CrpConfig, MarketConfig, OracleChoice, PoolConfig, Programs, QuoteConfig,
    RiskConfig,
};
pub use steps::{PYTH_PUSH_ORACLE, pyth_feed_account};

#[derive(clap::Args, Debug, Clone)]
pub struct MigrateArgs {
    /// The cluster's configuration file (migrations/localnet.toml, migrations/devnet.toml);
    /// its `url` is used when --url is not given
    #[arg(long)]
    pub config: PathBuf,
}

/// One step of a migration.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    pub address: String,
    /// `created`, `exists`, `published`, `up to date` or why it was skipped.
    pub outcome: String,
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

/// A migration under way: the cluster, the operator, where the configuration file lives, the
/// cluster's clock at the start, and the steps and transactions so far.
struct Migration<'a> {
    t: &'a mut dyn Transport,
    operator: &'a Keypair,
    dir: PathBuf,
    now: i64,
    steps: Vec<Step>,
    transactions: usize,
}

impl Migration<'_> {
    /// Record a step's outcome.
    fn step(&mut self, what: impl Into<String>, address: &Pubkey, outcome: impl Into<String>) {
        self.steps.push(Step {
            what: what.into(),
            address: address.to_string(),
            outcome: outcome.into(),
        });
    }

    /// Send `ixs` signed by the operator and `signers`, or fail with the program's error.
    fn send(
        &mut self,
        program: &Pubkey,
        what: &str,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> anyhow::Result<()> {
        let mut all = vec![self.operator];
        all.extend_from_slice(signers);
        self.t
            .send(ixs, &all)
            .map_err(|e| failed(program, what, &e))?;
        self.transactions += 1;
        Ok(())
    }

    /// A mint: the given one (checked), or a test token created from its keypair file.
    fn mint(
        &mut self,
        what: &str,
        given: Option<&str>,
        keypair: Option<&str>,
        decimals: Option<u8>,
    ) -> anyhow::Result<Pubkey> {
        let (address, kp) = match (given, keypair) {
            (Some(m), _) => (key(m)?, None),
            (None, Some(file)) => {
                let kp = mint_keypair(&self.dir, file)?;
                (kp.pubkey(), Some(kp))
            }
            (None, None) => bail!("{what}: give its mint, or a keypair file for a test token"),
        };
        match self.t.account(&address)? {
            Some(a) => {
                ensure!(
                    a.owner == spl_token::ID,
                    "{what}: {address} is not an SPL Token account"
                );
                let mint = spl_token::state::Mint::unpack(&a.data)
                    .with_context(|| format!("{what}: {address} is not a mint"))?;
                if let Some(d) = decimals.filter(|_| kp.is_some()) {
                    ensure!(
                        mint.decimals == d,
                        "{what}: {address} has {} decimals, the configuration {d}",
                        mint.decimals
                    );
                }
                self.step(what, &address, "exists");
            }
            None => {
                let kp = kp.with_context(|| format!("{what}: no mint at {address}"))?;
                let operator = self.operator.pubkey();
                let ixs = create_mint_ixs(
                    &operator,
                    &address,
                    &operator,
                    decimals.unwrap_or(6),
                    mint_rent(),
                );
                self.send(&spl_token::ID, what, &ixs, &[&kp])?;
                self.step(what, &address, "created (test token, the operator mints)");
            }
        }
        Ok(address)
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

/// A mint key kept in `file` (relative to `dir`): read it, or create and write it.
fn mint_keypair(dir: &Path, file: &str) -> anyhow::Result<Keypair> {
    let path = dir.join(file);
    if path.exists() {
        return read_keypair_file(&path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let kp = Keypair::new();
    write_keypair_file(&kp, &path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(kp)
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
