//! `keel oracle push`: the pool's oracle authority writes prices to its push oracles.

use anchor_lang::AccountDeserialize;
use anyhow::{Context, ensure};
use clap::Args;
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::errors::failed;
use crate::client::fetch::{find_market, perp_pool};
use crate::client::perp as ix;
use crate::commands::perp::PoolArg;
use crate::transport::Transport;

#[derive(Args, Debug, Clone)]
pub struct OraclePushArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    /// SYMBOL=PRICE in whole quote per base, e.g. EUR-PERP=1.0842 (repeat for several markets;
    /// all go in one transaction)
    #[arg(long = "price", required = true)]
    pub prices: Vec<String>,
    /// Confidence interval, bps of the price
    #[arg(long, default_value_t = 1)]
    pub conf_bps: u64,
}

#[derive(Debug, Serialize)]
pub struct PushedPrice {
    pub market: String,
    pub oracle: String,
    /// Integer price at the oracle's exponent.
    pub price: i64,
    pub expo: i32,
    pub publish_time: i64,
}

#[derive(Debug, Serialize)]
pub struct OracleReport {
    pub pushed: Vec<PushedPrice>,
}

impl OracleReport {
    pub fn to_text(&self) -> String {
        self.pushed
            .iter()
            .map(|p| {
                format!(
                    "{} {} × 10^{} at {} ({})\n",
                    p.market, p.price, p.expo, p.publish_time, p.oracle
                )
            })
            .collect()
    }
}

/// `keel oracle push`: the pool's oracle authority writes prices to its push oracles, stamped
/// with the cluster's clock, at each oracle's own exponent (rounded to the nearest unit).
pub fn oracle_push(
    t: &mut dyn Transport,
    signer: &Keypair,
    args: &OraclePushArgs,
) -> anyhow::Result<OracleReport> {
    let pool_key = args.pool.pool;
    let pool = perp_pool(t, &pool_key)?;
    let now = t.unix_time()?;
    let mut ixs = vec![];
    let mut pushed = vec![];
    for entry in &args.prices {
        let (name, price) = entry
            .split_once('=')
            .with_context(|| format!("`{entry}`: expected SYMBOL=PRICE"))?;
        let price: f64 = price
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p > 0.0)
            .with_context(|| format!("`{entry}`: the price must be a positive number"))?;
        let market = find_market(t, &pool, name)?;
        ensure!(
            market.oracle_kind == perp_amm::state::OracleKind::Push,
            "{name} reads a Pyth feed: only push oracles are written"
        );
        let data = t.account_data(&market.oracle)?.context("oracle account")?;
        let oracle = perp_amm::state::PushOracle::try_deserialize(&mut &data[..])?;
        let scaled = (price * 10f64.powi(-oracle.expo)).round();
        ensure!(
            scaled >= 1.0 && scaled < i64::MAX as f64,
            "`{entry}`: {price} is not representable at exponent {}",
            oracle.expo
        );
        let args = perp_amm::instructions::PushPriceArgs {
            price: scaled as i64,
            conf: (scaled * args.conf_bps as f64 / 10_000.0).round() as u64,
            publish_time: now,
        };
        ixs.push(ix::update_push_oracle(
            &signer.pubkey(),
            &pool_key,
            &market.oracle,
            args,
        ));
        pushed.push(PushedPrice {
            market: name.to_string(),
            oracle: market.oracle.to_string(),
            price: scaled as i64,
            expo: oracle.expo,
            publish_time: now,
        });
    }
    t.send(&ixs, &[signer])
        .map_err(|e| failed(&perp_amm::ID, "update_push_oracle", &e))?;
    Ok(OracleReport { pushed })
}
