//! The migration's steps, in the order `migrate` runs them. Each checks what exists against the
//! configuration before it sends, sends what is missing as its own transaction(s), and records
//! a [`Step`](super::Step) per thing it created or found.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{Context, ensure};
use collateral_pool::instructions::InitCrpPoolArgs;
use perp_amm::instructions::{AddMarketArgs, InitPoolArgs, InitRiskModelArgs, RiskLimits};
use perp_amm::state::OracleKind;
use solana_signer::Signer;

use super::config::{
    Config, MarketConfig, OracleChoice, PoolConfig, QuoteConfig, feed_id_hex, key_or_operator,
    premium, preset,
};
use super::state::Migration;
use crate::client::crp::{self as cix, PoolKeys};
use crate::client::dates::{data_time, noon};
use crate::client::presets::{PRICE_EXPO, calibration, crp_params, default_markets, push_args};
use crate::client::token::{associated_token_address, create_ata_idempotent};
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

/// A push oracle's feed id: the symbol's bytes (as the sandbox names them).
fn push_feed_id(symbol: &str) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[..symbol.len()].copy_from_slice(symbol.as_bytes());
    id
}

/// The quote token the steps after the first build on.
pub(super) struct QuoteToken {
    pub mint: Pubkey,
    pub decimals: u8,
}

/// The perp pool the steps after the second build on.
pub(super) struct PerpPool {
    pub key: Pubkey,
    pub oracle_authority: Pubkey,
}

/// Before any step: both programs are deployed, and no crp's expiry is in the cluster's past.
/// Returns the cluster's clock.
pub(super) fn check_cluster(t: &mut dyn Transport, config: &Config) -> anyhow::Result<i64> {
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
    Ok(now)
}

/// The quote token: the given mint (checked), or a test token created from its keypair file.
pub(super) fn quote_token(m: &mut Migration, q: &QuoteConfig) -> anyhow::Result<QuoteToken> {
    let mint = m.mint(
        "quote mint",
        q.mint.as_deref(),
        q.keypair.as_deref(),
        Some(q.decimals),
    )?;
    let decimals = {
        let data = m.t.account_data(&mint)?.context("quote mint")?;
        spl_token::state::Mint::unpack(&data)?.decimals
    };
    Ok(QuoteToken { mint, decimals })
}

/// The perp pool (`init_pool`), or the existing one if the operator is its authority.
pub(super) fn pool(
    m: &mut Migration,
    p: &PoolConfig,
    quote: &QuoteToken,
) -> anyhow::Result<PerpPool> {
    let op = m.operator.pubkey();
    let pool = ix::pool_pda(&quote.mint, p.id);
    let oracle_authority = key_or_operator(p.oracle_authority.as_deref(), &op)?;
    match m.t.account_data(&pool)? {
        Some(data) => {
            let state = decode::perp_pool(&data)?;
            ensure!(
                state.authority == op,
                "pool {pool} exists with authority {}, not the operator {op}",
                state.authority
            );
            m.step(format!("pool {}", p.id), &pool, "exists");
        }
        None => {
            let min_deposit = p
                .min_deposit
                .checked_mul(10u64.pow(quote.decimals as u32))
                .context("min_deposit overflows")?;
            let args = InitPoolArgs {
                pool_id: p.id,
                lp_fee_share_bps: p.lp_fee_share_bps,
                target_default_prob_e9: p.target_default_prob_e9,
                min_deposit,
                oracle_authority,
                requests: p.request_params(),
            };
            m.send(
                &perp_amm::ID,
                "init_pool",
                &[ix::init_pool(&op, &quote.mint, args)],
                &[],
            )?;
            m.step(format!("pool {}", p.id), &pool, "created");
        }
    }
    Ok(PerpPool {
        key: pool,
        oracle_authority,
    })
}

/// The pool's market-hours calendar and the schedules the preset markets keep (FX, CME: see
/// `presets::schedules`), before the markets that name them: the calendar created and each
/// schedule set when missing, in one transaction (no market uses them yet, so they apply at
/// once). A schedule on chain is left as it is: holidays are the operator's, added each year.
pub(super) fn calendar(m: &mut Migration, pool: &PerpPool) -> anyhow::Result<()> {
    let op = m.operator.pubkey();
    let key = ix::calendar_pda(&pool.key);
    let existing = match m.t.account_data(&key)? {
        Some(data) => Some(decode::calendar(&data)?),
        None => None,
    };
    let mut ixs = vec![];
    if existing.is_none() {
        ixs.push(ix::init_calendar(&op, &pool.key));
    }
    let mut set = vec![];
    for (index, schedule) in crate::client::presets::schedules() {
        let slot = existing.as_ref().map(|c| c.schedules[index as usize - 1]);
        let defined = slot.is_some_and(|s| s.current.defined == 1 || s.next_from != 0);
        if !defined {
            ixs.push(ix::set_schedule(&op, &pool.key, index, schedule));
            set.push(index.to_string());
        }
    }
    if ixs.is_empty() {
        m.step("calendar", &key, "exists");
        return Ok(());
    }
    m.send(&perp_amm::ID, "init_calendar and set_schedule", &ixs, &[])?;
    let outcome = match existing {
        None => format!("created, schedules {}", set.join(", ")),
        Some(_) => format!("schedules {} set", set.join(", ")),
    };
    m.step("calendar", &key, outcome);
    Ok(())
}

/// A created test token's `mint_to_operator` tokens, into the operator's associated account
/// (once: an existing account is left as it is).
pub(super) fn operator_tokens(
    m: &mut Migration,
    q: &QuoteConfig,
    quote: &QuoteToken,
) -> anyhow::Result<()> {
    if q.mint.is_some() {
        return Ok(());
    }
    test_tokens_to_operator(m, &quote.mint, q.mint_to_operator, "quote")
}

/// `whole` tokens of a test token the migration created (its mint authority is the operator)
/// into the operator's associated account, when that account does not exist yet.
fn test_tokens_to_operator(
    m: &mut Migration,
    mint: &Pubkey,
    whole: u64,
    what: &str,
) -> anyhow::Result<()> {
    if whole == 0 {
        return Ok(());
    }
    let op = m.operator.pubkey();
    let ata = associated_token_address(&op, mint);
    if m.t.account(&ata)?.is_some() {
        m.step(format!("operator's {what} account"), &ata, "exists");
        return Ok(());
    }
    let data = m.t.account_data(mint)?.context("mint")?;
    let token = spl_token::state::Mint::unpack(&data)?;
    let authority = token.mint_authority;
    ensure!(
        authority == Some(op).into(),
        "the {what} mint's authority is {authority:?}, not the operator {op}: it cannot mint test tokens"
    );
    let amount = whole
        .checked_mul(10u64.pow(token.decimals as u32))
        .context("mint_to_operator overflows")?;
    let ixs = [
        create_ata_idempotent(&op, &op, mint),
        spl_token::instruction::mint_to(&spl_token::ID, mint, &ata, &op, &[], amount)?,
    ];
    m.send(&spl_token::ID, "mint to the operator", &ixs, &[])?;
    m.step(
        format!("{whole} {what} test tokens to the operator"),
        &ata,
        "created",
    );
    Ok(())
}

/// The markets, in order: the first n (those on chain) must match the file, the rest are added,
/// each with its push oracle (created and written in the same transaction) or at its Pyth feed.
pub(super) fn markets(
    m: &mut Migration,
    markets: &[MarketConfig],
    pool: &PerpPool,
) -> anyhow::Result<()> {
    let op = m.operator.pubkey();
    let now = m.now;
    let (pool, oracle_authority) = (pool.key, pool.oracle_authority);
    let on_chain = decode::perp_pool(&m.t.account_data(&pool)?.context("pool")?)?.market_count;
    ensure!(
        on_chain as usize <= markets.len(),
        "the pool has {on_chain} markets and the configuration {}: markets are never removed",
        markets.len()
    );
    for (i, mc) in markets.iter().enumerate() {
        let index = i as u8;
        let market_key = ix::market_pda(&pool, index);
        if index < on_chain {
            let market = decode::market(&m.t.account_data(&market_key)?.context("market")?)?;
            let symbol = decode::symbol(&market);
            ensure!(
                symbol == mc.symbol,
                "market {i} is {symbol} on chain and {} in the configuration: markets can only be appended",
                mc.symbol
            );
            m.step(format!("market {i} {}", mc.symbol), &market_key, "exists");
            continue;
        }
        let preset = preset(&mc.symbol)?;
        let mut symbol = [0u8; 16];
        symbol[..mc.symbol.len()].copy_from_slice(mc.symbol.as_bytes());
        let mut ixs = vec![];
        let (kind, feed_id, oracle) = match mc.oracle {
            OracleChoice::Push => {
                ensure!(
                    oracle_authority == op,
                    "{}: the operator cannot write the first price of a push oracle whose authority is {oracle_authority}",
                    mc.symbol
                );
                let feed_id = push_feed_id(&mc.symbol);
                let oracle = ix::push_oracle_pda(&pool, &feed_id);
                if m.t.account(&oracle)?.is_none() {
                    ixs.push(ix::init_push_oracle(&op, &pool, feed_id, PRICE_EXPO));
                }
                let price = mc.price.unwrap_or(preset.price);
                ixs.push(ix::update_push_oracle(
                    &op,
                    &pool,
                    &oracle,
                    push_args(price, now),
                ));
                (OracleKind::Push, feed_id, oracle)
            }
            OracleChoice::Pyth => {
                let feed_id = feed_id_hex(mc.feed_id.as_deref().context("feed_id")?)?;
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
        m.send(
            &perp_amm::ID,
            &format!("add_market {}", mc.symbol),
            &ixs,
            &[],
        )?;
        m.step(format!("market {i} {}", mc.symbol), &market_key, "created");
    }
    Ok(())
}

/// The risk model (`init_risk_model`) and its first publication, again after markets were
/// appended: from price files when the file names them, else the shipped calibration; left to
/// the risk authority when that is not the operator.
pub(super) fn risk_model(
    m: &mut Migration,
    config: &Config,
    pool: &PerpPool,
) -> anyhow::Result<()> {
    let op = m.operator.pubkey();
    let now = m.now;
    let pool = pool.key;
    let r = &config.risk;
    let risk_authority = key_or_operator(r.authority.as_deref(), &op)?;
    let model_key = ix::risk_model_pda(&pool);
    let limits = RiskLimits {
        max_imbalance_bps: r.max_imbalance_bps,
        premium_mode: premium(&r.premium_mode)?,
        premium_horizon_secs: r.premium_horizon_secs,
    };
    let model = match m.t.account_data(&model_key)? {
        Some(data) => {
            m.step("risk model", &model_key, "exists");
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
            m.send(
                &perp_amm::ID,
                "init_risk_model",
                &[ix::init_risk_model(&op, &pool, args)],
                &[],
            )?;
            m.step("risk model", &model_key, "created");
            decode::risk_model(&m.t.account_data(&model_key)?.context("risk model")?)?
        }
    };
    if let Some(bounds) = &r.bounds {
        let args = bounds.args()?;
        let b = &model.bounds;
        let current = (
            b.min_commit_interval_secs,
            b.window_secs,
            b.max_sigma_window_bps,
            b.max_corr_window_e9,
            b.sigma_min_e9,
            b.sigma_max_e9,
        );
        let wanted = (
            args.min_commit_interval_secs,
            args.window_secs,
            args.max_sigma_window_bps,
            args.max_corr_window_e9,
            args.sigma_min_e9,
            args.sigma_max_e9,
        );
        if current == wanted {
            m.step("risk bounds", &model_key, "exists");
        } else {
            m.send(
                &perp_amm::ID,
                "set_risk_bounds",
                &[ix::set_risk_bounds(&op, &pool, args)],
                &[],
            )?;
            m.step("risk bounds", &model_key, "set");
        }
    }
    let n = config.markets.len();
    if (model.market_count as usize) >= n {
        m.step("risk publication", &model_key, "up to date");
        return Ok(());
    }
    if model.authority != op {
        m.step(
            "risk publication",
            &model_key,
            format!(
                "skipped: the risk authority {} publishes (`keel risk publish`)",
                model.authority
            ),
        );
        return Ok(());
    }
    let (sigma, corr, as_of) = match &r.calibration.prices {
        Some(prices) => {
            let feed = RiskFeed {
                prices: m.dir.join(prices),
                markets: r.calibration.files.clone(),
                window: r.calibration.window,
            };
            let e = estimate_window(&feed)?;
            let as_of = data_time(&e.last_date, now)?;
            (e.sigma, e.corr, as_of)
        }
        None => {
            let (s, c) = shipped_calibration(&config.markets)?;
            (s, c, now)
        }
    };
    let p = publish(m.t, m.operator, &pool, &sigma, &corr, as_of)?;
    m.transactions += p.transactions;
    m.step(
        "risk publication",
        &model_key,
        format!("published revision {} for {n} markets", p.revision),
    );
    Ok(())
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

/// The crps (collateral rebalancing pools), each on its market's oracle with the preset
/// parameters and the file's overrides; an existing one is left as it is.
pub(super) fn crp_pools(
    m: &mut Migration,
    config: &Config,
    pool: &PerpPool,
    quote: &QuoteToken,
) -> anyhow::Result<()> {
    let op = m.operator.pubkey();
    let pool = pool.key;
    for c in &config.crp {
        let market_index = config
            .markets
            .iter()
            .position(|mc| mc.symbol == c.market)
            .context("market")?;
        let market = decode::market(
            &m.t.account_data(&ix::market_pda(&pool, market_index as u8))?
                .context("market")?,
        )?;
        let risky = m.mint(
            &format!("risky mint for {}", c.market),
            c.risky_mint.as_deref(),
            c.risky_keypair.as_deref(),
            c.risky_decimals,
        )?;
        if c.risky_mint.is_none() {
            let what = format!("{} risky", c.market);
            test_tokens_to_operator(m, &risky, c.mint_to_operator, &what)?;
        }
        let expiry = noon(&c.expiry)?;
        let keys = PoolKeys::new(
            risky,
            quote.mint,
            expiry,
            &m.operator.pubkey(),
            market.oracle,
        );
        let what = format!("collateral pool {} to {}", c.market, c.expiry);
        if m.t.account(&keys.pool)?.is_some() {
            m.step(what, &keys.pool, "exists");
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
        m.send(
            &collateral_pool::ID,
            &format!("init_pool ({what})"),
            &[cix::init_pool(&op, &keys, args)],
            &[],
        )?;
        m.step(what, &keys.pool, "created");
    }
    Ok(())
}
