//! `keel migrate --config migrations/<cluster>.toml`: after `anchor deploy`, create what a
//! cluster needs from its configuration file: the quote token (or use a given one), the perp
//! pool, its markets and their oracles, the risk model and its first publication, and the
//! collateral pools.
//!
//! The flow is idempotent. Every address is a PDA of the quote mint and the pool id, except
//! the mints it creates, whose keys are kept in keypair files next to the configuration, so a
//! second run finds everything and sends nothing; a run after a market has been appended to the
//! file adds that market and publishes a risk model that covers it. What exists is checked
//! against the file (authorities, market order, mints) and a difference stops the run before
//! anything is sent for that step. Each step is its own transaction: a step the program refuses
//! stops the run with the program's error, the steps before it stay, and a re-run after the
//! file is fixed goes on from there.

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{Context, bail, ensure};
use collateral_pool::instructions::InitCrpPoolArgs;
use perp_amm::instructions::{AddMarketArgs, InitPoolArgs, InitRiskModelArgs, RiskLimits};
use perp_amm::state::{OracleKind, premium_mode};
use serde::{Deserialize, Serialize};
use solana_keypair::{Keypair, read_keypair_file, write_keypair_file};
use solana_signer::Signer;

use crate::client::crp::{self as cix, PoolKeys};
use crate::client::dates::noon;
use crate::client::errors::failed;
use crate::client::presets::{
    MarketPreset, PRICE_EXPO, calibration, crp_params, default_markets, push_args,
};
use crate::client::token::{
    associated_token_address, create_ata_idempotent, create_mint_ixs, mint_rent,
};
use crate::client::{decode, perp as ix};
use crate::commands::risk::publish;
use crate::risk::{RiskFeed, estimate_window};
use crate::transport::Transport;

/// The Pyth push-oracle program: sponsored `PriceUpdateV2` feeds live at its PDAs.
pub const PYTH_PUSH_ORACLE: Pubkey =
    anchor_lang::pubkey!("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");

/// The sponsored Pyth price-feed account of `feed_id` on shard 0.
pub fn pyth_feed_account(feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[&0u16.to_le_bytes(), feed_id], &PYTH_PUSH_ORACLE).0
}

#[derive(clap::Args, Debug, Clone)]
pub struct MigrateArgs {
    /// The cluster's configuration file (migrations/localnet.toml, migrations/devnet.toml);
    /// its `url` is used when --url is not given
    #[arg(long)]
    pub config: PathBuf,
}

/// A cluster's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A name for the report.
    pub cluster: String,
    /// The RPC URL the binary uses when `--url` is not given.
    pub url: Option<String>,
    pub programs: Programs,
    pub quote: QuoteConfig,
    pub pool: PoolConfig,
    pub markets: Vec<MarketConfig>,
    pub risk: RiskConfig,
    #[serde(default)]
    pub crp: Vec<CrpConfig>,
}

/// The program ids the cluster runs (Anchor.toml's); checked against the ones this binary was
/// built with and against the cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programs {
    pub perp_amm: String,
    pub collateral_pool: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteConfig {
    /// An existing stablecoin mint; without it a test token is created.
    pub mint: Option<String>,
    /// The created token's decimals.
    #[serde(default = "six")]
    pub decimals: u8,
    /// The created token's mint keypair file (relative to the configuration file); written on
    /// the first run, read on every later one.
    pub keypair: Option<String>,
    /// Whole tokens of the created token minted to the operator's associated account.
    #[serde(default)]
    pub mint_to_operator: u64,
}

fn six() -> u8 {
    6
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub id: u64,
    pub lp_fee_share_bps: u64,
    pub target_default_prob_e9: u64,
    /// Smallest LP deposit, whole quote tokens.
    pub min_deposit: u64,
    /// Signer of push-oracle updates (default: the operator).
    pub oracle_authority: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// A preset of `client::presets::default_markets` (its decimals and parameters).
    pub symbol: String,
    pub oracle: OracleChoice,
    /// Pyth: the price feed id (hex, 32 bytes).
    pub feed_id: Option<String>,
    /// Push: the first price written (default: the preset's typical price).
    pub price: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OracleChoice {
    /// A push oracle the pool's oracle authority writes.
    Push,
    /// A sponsored Pyth pull-oracle feed.
    Pyth,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Publishes σ and R (default: the operator).
    pub authority: Option<String>,
    pub max_sigma_step_bps: u32,
    pub max_corr_step_e9: u32,
    pub psd_tolerance_e9: u32,
    pub max_imbalance_bps: u32,
    /// `per-market` (D8X) or `portfolio`.
    pub premium_mode: String,
    pub premium_horizon_secs: u32,
    pub calibration: Calibration,
}

/// Where the first publication's σ and R come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// `date,close` files (relative to the configuration file), one per market in order
    /// (`1/NAME` inverts); without them, the 2021-09..2023-09 calibration the app ships
    /// (shared/data/prices/STATS.md) for the markets it knows.
    pub prices: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    /// Daily returns the estimate uses, the most recent.
    #[serde(default = "sixty")]
    pub window: usize,
}

fn sixty() -> usize {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrpConfig {
    /// The perp market whose oracle prices the risky token.
    pub market: String,
    /// The risky token's mint; without it a test token is created (`risky_keypair`).
    pub risky_mint: Option<String>,
    pub risky_decimals: Option<u8>,
    pub risky_keypair: Option<String>,
    /// Loans fall due at noon UTC of this date.
    pub expiry: String,
    /// Strike of the pool's delta, quote per risky token.
    pub strike: f64,
    /// The only key allowed to rebalance (default: the operator; `anyone` lets anyone).
    pub keeper: Option<String>,
    /// Overrides of `client::presets::crp_params`.
    pub sigma: Option<f64>,
    pub initial_ltv_bps: Option<u64>,
    pub conversion_ltv_bps: Option<u64>,
    pub rate_bps: Option<u64>,
    pub min_rebalance_interval_secs: Option<u64>,
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

impl Config {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Everything that can be checked without the cluster.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            key(&self.programs.perp_amm)? == perp_amm::ID
                && key(&self.programs.collateral_pool)? == collateral_pool::ID,
            "the configuration names programs {} and {}, this binary was built for {} and {}",
            self.programs.perp_amm,
            self.programs.collateral_pool,
            perp_amm::ID,
            collateral_pool::ID
        );
        ensure!(!self.markets.is_empty(), "no markets");
        for (i, m) in self.markets.iter().enumerate() {
            preset(&m.symbol)?;
            ensure!(
                !self.markets[..i].iter().any(|o| o.symbol == m.symbol),
                "{} is listed twice",
                m.symbol
            );
            match m.oracle {
                OracleChoice::Pyth => {
                    feed_id_hex(m.feed_id.as_deref().with_context(|| {
                        format!("{}: a Pyth market needs its feed_id", m.symbol)
                    })?)?;
                }
                OracleChoice::Push => ensure!(
                    m.price.is_none_or(|p| p.is_finite() && p > 0.0),
                    "{}: the first price must be positive",
                    m.symbol
                ),
            }
        }
        premium(&self.risk.premium_mode)?;
        let c = &self.risk.calibration;
        if c.prices.is_some() {
            ensure!(
                c.files.len() == self.markets.len(),
                "the calibration names {} files for {} markets",
                c.files.len(),
                self.markets.len()
            );
        }
        for crp in &self.crp {
            ensure!(
                self.markets.iter().any(|m| m.symbol == crp.market),
                "collateral pool on {}: no such market",
                crp.market
            );
            ensure!(
                crp.strike.is_finite() && crp.strike > 0.0,
                "collateral pool on {}: the strike must be positive",
                crp.market
            );
            noon(&crp.expiry)
                .with_context(|| format!("collateral pool on {}: expiry", crp.market))?;
            ensure!(
                crp.risky_mint.is_some() || crp.risky_keypair.is_some(),
                "collateral pool on {}: give risky_mint, or risky_keypair for a test token",
                crp.market
            );
        }
        Ok(())
    }
}

fn key(s: &str) -> anyhow::Result<Pubkey> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not an address"))
}

/// `operator` or an address.
fn key_or_operator(s: Option<&str>, operator: &Pubkey) -> anyhow::Result<Pubkey> {
    match s {
        None | Some("operator") => Ok(*operator),
        Some(k) => key(k),
    }
}

fn preset(symbol: &str) -> anyhow::Result<MarketPreset> {
    default_markets()
        .into_iter()
        .find(|p| p.symbol == symbol)
        .with_context(|| {
            let known: Vec<_> = default_markets().iter().map(|p| p.symbol).collect();
            format!("unknown market {symbol} (known: {})", known.join(" "))
        })
}

fn feed_id_hex(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    ensure!(
        s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "feed id `{s}` is not 32 bytes of hex"
    );
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

/// A push oracle's feed id: the symbol's bytes (as the sandbox names them).
fn push_feed_id(symbol: &str) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..symbol.len()].copy_from_slice(symbol.as_bytes());
    id
}

fn premium(mode: &str) -> anyhow::Result<u8> {
    match mode {
        "per-market" => Ok(premium_mode::PER_MARKET),
        "portfolio" => Ok(premium_mode::PORTFOLIO),
        other => bail!("premium_mode `{other}`: expected per-market or portfolio"),
    }
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

struct Run<'a> {
    t: &'a mut dyn Transport,
    operator: &'a Keypair,
    dir: PathBuf,
    steps: Vec<Step>,
    transactions: usize,
}

impl Run<'_> {
    fn step(&mut self, what: impl Into<String>, address: &Pubkey, outcome: impl Into<String>) {
        self.steps.push(Step {
            what: what.into(),
            address: address.to_string(),
            outcome: outcome.into(),
        });
    }

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
/// authority.
pub fn migrate(
    t: &mut dyn Transport,
    operator: &Keypair,
    config: &Config,
    dir: &Path,
) -> anyhow::Result<MigrationReport> {
    config.validate()?;
    for (name, id) in [
        ("perp_amm", perp_amm::ID),
        ("collateral_pool", collateral_pool::ID),
    ] {
        ensure!(
            t.account(&id)?.is_some(),
            "{name} is not deployed at {id} on this cluster: run `anchor deploy` first"
        );
    }
    let now = t.unix_time()?;
    for c in &config.crp {
        let expiry = noon(&c.expiry)?;
        ensure!(
            expiry > now,
            "collateral pool on {} to {}: the expiry is in the past on this cluster",
            c.market,
            c.expiry
        );
    }
    let op = operator.pubkey();
    let mut run = Run {
        t,
        operator,
        dir: dir.to_path_buf(),
        steps: vec![],
        transactions: 0,
    };

    // the quote token
    let q = &config.quote;
    let quote_mint = run.mint(
        "quote mint",
        q.mint.as_deref(),
        q.keypair.as_deref(),
        Some(q.decimals),
    )?;
    let quote_decimals = {
        let data = run.t.account_data(&quote_mint)?.context("quote mint")?;
        spl_token::state::Mint::unpack(&data)?.decimals
    };
    // the pool
    let p = &config.pool;
    let pool = ix::pool_pda(&quote_mint, p.id);
    let oracle_authority = key_or_operator(p.oracle_authority.as_deref(), &op)?;
    match run.t.account_data(&pool)? {
        Some(data) => {
            let state = decode::perp_pool(&data)?;
            ensure!(
                state.authority == op,
                "pool {pool} exists with authority {}, not the operator {op}",
                state.authority
            );
            run.step(format!("pool {}", p.id), &pool, "exists");
        }
        None => {
            let min_deposit = p
                .min_deposit
                .checked_mul(10u64.pow(quote_decimals as u32))
                .context("min_deposit overflows")?;
            let args = InitPoolArgs {
                pool_id: p.id,
                lp_fee_share_bps: p.lp_fee_share_bps,
                target_default_prob_e9: p.target_default_prob_e9,
                min_deposit,
                oracle_authority,
            };
            run.send(
                &perp_amm::ID,
                "init_pool",
                &[ix::init_pool(&op, &quote_mint, args)],
                &[],
            )?;
            run.step(format!("pool {}", p.id), &pool, "created");
        }
    }

    // the operator's test tokens
    if q.mint.is_none() && q.mint_to_operator > 0 {
        let ata = associated_token_address(&op, &quote_mint);
        if run.t.account(&ata)?.is_none() {
            let data = run.t.account_data(&quote_mint)?.context("quote mint")?;
            let authority = spl_token::state::Mint::unpack(&data)?.mint_authority;
            ensure!(
                authority == Some(op).into(),
                "the quote mint's authority is {authority:?}, not the operator {op}: it cannot mint test tokens"
            );
            let amount = q
                .mint_to_operator
                .checked_mul(10u64.pow(quote_decimals as u32))
                .context("mint_to_operator overflows")?;
            let ixs = [
                create_ata_idempotent(&op, &op, &quote_mint),
                spl_token::instruction::mint_to(
                    &spl_token::ID,
                    &quote_mint,
                    &ata,
                    &op,
                    &[],
                    amount,
                )?,
            ];
            run.send(&spl_token::ID, "mint to the operator", &ixs, &[])?;
            run.step(
                format!("{} test tokens to the operator", q.mint_to_operator),
                &ata,
                "created",
            );
        } else {
            run.step("operator's quote account", &ata, "exists");
        }
    }

    // markets, in order: the first n must match the file, the rest are added
    let on_chain = decode::perp_pool(&run.t.account_data(&pool)?.context("pool")?)?.market_count;
    ensure!(
        on_chain as usize <= config.markets.len(),
        "the pool has {on_chain} markets and the configuration {}: markets are never removed",
        config.markets.len()
    );
    for (i, m) in config.markets.iter().enumerate() {
        let index = i as u8;
        let market_key = ix::market_pda(&pool, index);
        if index < on_chain {
            let market = decode::market(&run.t.account_data(&market_key)?.context("market")?)?;
            let symbol = String::from_utf8_lossy(&market.symbol)
                .trim_end_matches('\0')
                .to_string();
            ensure!(
                symbol == m.symbol,
                "market {i} is {symbol} on chain and {} in the configuration: markets can only be appended",
                m.symbol
            );
            run.step(format!("market {i} {}", m.symbol), &market_key, "exists");
            continue;
        }
        let preset = preset(&m.symbol)?;
        let mut symbol = [0u8; 16];
        symbol[..m.symbol.len()].copy_from_slice(m.symbol.as_bytes());
        let mut ixs = vec![];
        let (kind, feed_id, oracle) = match m.oracle {
            OracleChoice::Push => {
                ensure!(
                    oracle_authority == op,
                    "{}: the operator cannot write the first price of a push oracle whose authority is {oracle_authority}",
                    m.symbol
                );
                let feed_id = push_feed_id(&m.symbol);
                let oracle = ix::push_oracle_pda(&pool, &feed_id);
                if run.t.account(&oracle)?.is_none() {
                    ixs.push(ix::init_push_oracle(&op, &pool, feed_id, PRICE_EXPO));
                }
                let price = m.price.unwrap_or(preset.price);
                ixs.push(ix::update_push_oracle(
                    &op,
                    &pool,
                    &oracle,
                    push_args(price, now),
                ));
                (OracleKind::Push, feed_id, oracle)
            }
            OracleChoice::Pyth => {
                let feed_id = feed_id_hex(m.feed_id.as_deref().context("feed_id")?)?;
                (OracleKind::Pyth, feed_id, pyth_feed_account(&feed_id))
            }
        };
        let args = AddMarketArgs {
            symbol,
            base_decimals: preset.base_decimals,
            oracle_kind: kind,
            feed_id,
            params: preset.params,
        };
        ixs.push(ix::add_market(&op, &pool, index, &oracle, args));
        run.send(
            &perp_amm::ID,
            &format!("add_market {}", m.symbol),
            &ixs,
            &[],
        )?;
        run.step(format!("market {i} {}", m.symbol), &market_key, "created");
    }

    // the risk model and its first publication (again after markets were appended)
    let r = &config.risk;
    let risk_authority = key_or_operator(r.authority.as_deref(), &op)?;
    let model_key = ix::risk_model_pda(&pool);
    let limits = RiskLimits {
        max_imbalance_bps: r.max_imbalance_bps,
        premium_mode: premium(&r.premium_mode)?,
        premium_horizon_secs: r.premium_horizon_secs,
    };
    let model = match run.t.account_data(&model_key)? {
        Some(data) => {
            run.step("risk model", &model_key, "exists");
            decode::risk_model(&data)?
        }
        None => {
            let args = InitRiskModelArgs {
                risk_authority,
                max_sigma_step_bps: r.max_sigma_step_bps,
                max_corr_step_e9: r.max_corr_step_e9,
                psd_tolerance_e9: r.psd_tolerance_e9,
                limits,
            };
            run.send(
                &perp_amm::ID,
                "init_risk_model",
                &[ix::init_risk_model(&op, &pool, args)],
                &[],
            )?;
            run.step("risk model", &model_key, "created");
            decode::risk_model(&run.t.account_data(&model_key)?.context("risk model")?)?
        }
    };
    let n = config.markets.len();
    if (model.market_count as usize) >= n {
        run.step("risk publication", &model_key, "up to date");
    } else if model.authority != op {
        run.step(
            "risk publication",
            &model_key,
            format!(
                "skipped: the risk authority {} publishes (`keel risk publish`)",
                model.authority
            ),
        );
    } else {
        let (sigma, corr, as_of) = match &r.calibration.prices {
            Some(prices) => {
                let feed = RiskFeed {
                    prices: dir.join(prices),
                    markets: r.calibration.files.clone(),
                    window: r.calibration.window,
                };
                let e = estimate_window(&feed)?;
                let as_of = crate::client::dates::data_time(&e.last_date, now)?;
                (e.sigma, e.corr, as_of)
            }
            None => {
                let (s, c) = shipped_calibration(&config.markets)?;
                (s, c, now)
            }
        };
        let p = publish(run.t, operator, &pool, &sigma, &corr, as_of)?;
        run.transactions += p.transactions;
        run.step(
            "risk publication",
            &model_key,
            format!("published revision {} for {n} markets", p.revision),
        );
    }

    // collateral pools
    for c in &config.crp {
        let market_index = config
            .markets
            .iter()
            .position(|m| m.symbol == c.market)
            .context("market")?;
        let market = decode::market(
            &run.t
                .account_data(&ix::market_pda(&pool, market_index as u8))?
                .context("market")?,
        )?;
        let risky = run.mint(
            &format!("risky mint for {}", c.market),
            c.risky_mint.as_deref(),
            c.risky_keypair.as_deref(),
            c.risky_decimals,
        )?;
        let expiry = noon(&c.expiry)?;
        let keys = PoolKeys::new(risky, quote_mint, expiry, market.oracle);
        let what = format!("collateral pool {} to {}", c.market, c.expiry);
        if run.t.account(&keys.pool)?.is_some() {
            run.step(what, &keys.pool, "exists");
            continue;
        }
        let mut params = crp_params(c.strike);
        if let Some(s) = c.sigma {
            params.sigma_e9 = (s * 1e9).round() as u64;
        }
        params.initial_ltv_bps = c.initial_ltv_bps.unwrap_or(params.initial_ltv_bps);
        params.conversion_ltv_bps = c.conversion_ltv_bps.unwrap_or(params.conversion_ltv_bps);
        params.rate_bps = c.rate_bps.unwrap_or(params.rate_bps);
        params.min_rebalance_interval_secs = c
            .min_rebalance_interval_secs
            .unwrap_or(params.min_rebalance_interval_secs);
        let keeper = match c.keeper.as_deref() {
            Some("anyone") => Pubkey::default(),
            k => key_or_operator(k, &op)?,
        };
        let args = InitCrpPoolArgs {
            expiry,
            params,
            keeper,
            oracle_kind: market.oracle_kind,
            feed_id: market.feed_id,
            oracle_pool: pool,
        };
        run.send(
            &collateral_pool::ID,
            &format!("init_pool ({what})"),
            &[cix::init_pool(&op, &keys, args)],
            &[],
        )?;
        run.step(what, &keys.pool, "created");
    }

    Ok(MigrationReport {
        cluster: config.cluster.clone(),
        operator: op.to_string(),
        quote_mint: quote_mint.to_string(),
        pool: pool.to_string(),
        steps: run.steps,
        transactions: run.transactions,
    })
}

/// The shipped calibration (σ and R of the default markets, STATS.md) for `markets`.
fn shipped_calibration(markets: &[MarketConfig]) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let presets = default_markets();
    let index: Vec<usize> = markets
        .iter()
        .map(|m| {
            presets
                .iter()
                .position(|p| p.symbol == m.symbol)
                .with_context(|| format!("{}: no shipped calibration", m.symbol))
        })
        .collect::<anyhow::Result<_>>()?;
    let (sigma, corr) = calibration(presets.len());
    let all = presets.len();
    let n = markets.len();
    Ok((
        index.iter().map(|&i| sigma[i]).collect(),
        (0..n * n)
            .map(|x| corr[index[x / n] * all + index[x % n]])
            .collect(),
    ))
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
