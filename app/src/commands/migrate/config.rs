//! A cluster's configuration file (`migrations/<cluster>.toml`): its TOML structs, and every
//! check that needs no cluster.

use std::path::Path;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail, ensure};
use perp_amm::state::premium_mode;
use serde::Deserialize;

use crate::client::dates::noon;
use crate::client::presets::{MarketPreset, default_markets, market_preset};

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
    /// Requests' execution window, withdrawal delay and smallest keeper fee (default:
    /// `client::presets::request_params`: 30 s, one day, 50,000 lamports).
    pub order_window_secs: Option<u32>,
    pub withdrawal_delay_secs: Option<u32>,
    pub min_keeper_fee_lamports: Option<u64>,
}

impl PoolConfig {
    pub fn request_params(&self) -> perp_amm::state::RequestParams {
        let d = crate::client::presets::request_params();
        perp_amm::state::RequestParams {
            order_window_secs: self.order_window_secs.unwrap_or(d.order_window_secs),
            withdrawal_delay_secs: self
                .withdrawal_delay_secs
                .unwrap_or(d.withdrawal_delay_secs),
            min_keeper_fee_lamports: self
                .min_keeper_fee_lamports
                .unwrap_or(d.min_keeper_fee_lamports),
        }
    }
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
    /// The publisher's bounds beyond one commit (`set_risk_bounds`); none when absent.
    pub bounds: Option<RiskBoundsConfig>,
    pub calibration: Calibration,
}

/// `[risk.bounds]`: an interval between commits, a rolling window and σ ranges per market.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskBoundsConfig {
    pub min_commit_interval_secs: u32,
    pub window_secs: u32,
    pub max_sigma_window_bps: u32,
    pub max_corr_window_e9: u32,
    /// `[min, max]` σ (1e9 scale) per market, in market order; markets past the list are open.
    #[serde(default)]
    pub sigma_ranges_e9: Vec<[u64; 2]>,
}

impl RiskBoundsConfig {
    /// The instruction's arguments (markets past the list keep an open range).
    pub fn args(&self) -> anyhow::Result<perp_amm::instructions::RiskBoundsArgs> {
        anyhow::ensure!(
            self.sigma_ranges_e9.len() <= 32,
            "[risk.bounds] sigma_ranges_e9: at most 32 markets"
        );
        let mut sigma_min_e9 = [0u64; 32];
        let mut sigma_max_e9 = [0u64; 32];
        for (i, [lo, hi]) in self.sigma_ranges_e9.iter().enumerate() {
            sigma_min_e9[i] = *lo;
            sigma_max_e9[i] = *hi;
        }
        Ok(perp_amm::instructions::RiskBoundsArgs {
            min_commit_interval_secs: self.min_commit_interval_secs,
            window_secs: self.window_secs,
            max_sigma_window_bps: self.max_sigma_window_bps,
            max_corr_window_e9: self.max_corr_window_e9,
            sigma_min_e9,
            sigma_max_e9,
        })
    }
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
    /// Whole tokens of a created risky test token minted to the operator's associated account.
    #[serde(default)]
    pub mint_to_operator: u64,
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

pub(super) fn key(s: &str) -> anyhow::Result<Pubkey> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not an address"))
}

/// `operator` or an address.
pub(super) fn key_or_operator(s: Option<&str>, operator: &Pubkey) -> anyhow::Result<Pubkey> {
    match s {
        None | Some("operator") => Ok(*operator),
        Some(k) => key(k),
    }
}

pub(super) fn preset(symbol: &str) -> anyhow::Result<MarketPreset> {
    market_preset(symbol).with_context(|| {
        let known: Vec<_> = default_markets().iter().map(|p| p.symbol).collect();
        format!("unknown market {symbol} (known: {})", known.join(" "))
    })
}

pub(super) fn feed_id_hex(s: &str) -> anyhow::Result<[u8; 32]> {
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

pub(super) fn premium(mode: &str) -> anyhow::Result<u8> {
    match mode {
        "per-market" => Ok(premium_mode::PER_MARKET),
        "portfolio" => Ok(premium_mode::PORTFOLIO),
        other => bail!("premium_mode `{other}`: expected per-market or portfolio"),
    }
}
