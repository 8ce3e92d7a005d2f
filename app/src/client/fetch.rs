//! Reading the programs' accounts through a [`Transport`], decoded, with an error that names
//! what is missing: what every command, the keeper and the sandbox read before they act.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anyhow::{Context, ensure};
use collateral_pool::state::CrpPool;
use perp_amm::state::{Market, Pool, RiskModel};

use crate::client::crp::PoolKeys;
use crate::client::quote::TradeView;
use crate::client::{decode, perp as ix};
use crate::transport::Transport;

/// The perp pool at `key`.
pub fn perp_pool(t: &mut dyn Transport, key: &Pubkey) -> anyhow::Result<Pool> {
    let data = t
        .account_data(key)?
        .with_context(|| format!("no account at {key}"))?;
    decode::perp_pool(&data)
}

/// The pool's active markets, in slot order.
pub fn markets(t: &mut dyn Transport, pool: &Pool) -> anyhow::Result<Vec<Market>> {
    let mut out = vec![];
    for slot in pool.markets.iter().filter(|s| s.active == 1) {
        let data = t.account_data(&slot.market)?.context("market account")?;
        out.push(decode::market(&data)?);
    }
    Ok(out)
}

/// The pool's market whose symbol is `name` (the error lists the pool's markets).
pub fn find_market(t: &mut dyn Transport, pool: &Pool, name: &str) -> anyhow::Result<Market> {
    let all = markets(t, pool)?;
    let names: Vec<String> = all.iter().map(decode::symbol).collect();
    all.into_iter()
        .find(|m| decode::symbol(m) == name)
        .with_context(|| {
            format!(
                "no market {name} in this pool (markets: {})",
                names.join(", ")
            )
        })
}

/// The accounts a trade on `market` by `owner` reads, as the chain holds them now.
pub fn trade_view(
    t: &mut dyn Transport,
    pool_key: &Pubkey,
    market: Market,
    owner: &Pubkey,
) -> anyhow::Result<TradeView> {
    let pool = perp_pool(t, pool_key)?;
    let market_key = pool
        .slot(market.index)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .market;
    // an empty position account (kept open while requests name it) is no position
    let position = t
        .account_data(&ix::position_pda(&market_key, owner))?
        .map(|d| decode::position(&d))
        .transpose()?
        .filter(|p| p.size != 0);
    let oracle = t.account(&market.oracle)?.context("oracle account")?;
    let model = if pool.risk.model == Pubkey::default() {
        None
    } else {
        let data = t.account_data(&pool.risk.model)?.context("risk model")?;
        Some(*decode::risk_model(&data)?)
    };
    let calendar = calendar(t, &pool)?;
    Ok(TradeView {
        pool_key: *pool_key,
        pool,
        market,
        position,
        oracle,
        model,
        calendar,
    })
}

/// The pool's market-hours calendar, if it has one.
pub fn calendar(
    t: &mut dyn Transport,
    pool: &Pool,
) -> anyhow::Result<Option<Box<perp_amm::state::Calendar>>> {
    if pool.calendar == Pubkey::default() {
        return Ok(None);
    }
    let data = t.account_data(&pool.calendar)?.context("calendar")?;
    decode::calendar(&data).map(Some)
}

/// The risk model of the perp pool `pool`.
pub fn risk_model(t: &mut dyn Transport, pool: &Pubkey) -> anyhow::Result<Box<RiskModel>> {
    let data = t
        .account_data(&ix::risk_model_pda(pool))?
        .with_context(|| format!("pool {pool} has no risk model (run `keel migrate`)"))?;
    decode::risk_model(&data)
}

/// The crp (collateral rebalancing pool) at `key` and its addresses, checked to derive `key`.
pub fn crp_pool(t: &mut dyn Transport, key: &Pubkey) -> anyhow::Result<(CrpPool, PoolKeys)> {
    let data = t
        .account_data(key)?
        .with_context(|| format!("no account at {key}"))?;
    let pool = decode::crp_pool(&data)?;
    let keys = PoolKeys::new(
        pool.risky_mint,
        pool.riskless_mint,
        pool.expiry,
        &pool.authority,
        pool.oracle,
    );
    ensure!(keys.pool == *key, "{key} is not at its pool address");
    Ok((pool, keys))
}

/// A token account's balance, native units; an error if there is no account.
pub fn token_balance(t: &mut dyn Transport, account: &Pubkey) -> anyhow::Result<u64> {
    token_balance_if_any(t, account)?.with_context(|| format!("no token account {account}"))
}

/// A token account's balance, native units, `None` if there is no account (yet).
pub fn token_balance_if_any(
    t: &mut dyn Transport,
    account: &Pubkey,
) -> anyhow::Result<Option<u64>> {
    t.account_data(account)?
        .map(|data| Ok(spl_token::state::Account::unpack(&data)?.amount))
        .transpose()
}

/// A token account's balance before a command pays into it: 0 if the command creates it
/// (`created`) and it does not exist yet, else as [`token_balance`].
pub fn token_balance_before(
    t: &mut dyn Transport,
    account: &Pubkey,
    created: bool,
) -> anyhow::Result<u64> {
    match token_balance_if_any(t, account)? {
        None if created => Ok(0),
        _ => token_balance(t, account),
    }
}

/// A mint's decimals and supply.
pub fn mint(t: &mut dyn Transport, key: &Pubkey) -> anyhow::Result<spl_token::state::Mint> {
    let data = t
        .account_data(key)?
        .with_context(|| format!("no mint at {key}"))?;
    Ok(spl_token::state::Mint::unpack(&data)?)
}

/// [`token::payout_account`](crate::client::token::payout_account), without the create when
/// the account is already there: the idempotent create costs ~100 bytes of the transaction,
/// which an LP action on a pool with many markets needs for its oracles.
pub fn payout_account(
    t: &mut dyn Transport,
    given: Option<Pubkey>,
    owner: &Pubkey,
    mint: &Pubkey,
) -> anyhow::Result<(Pubkey, Option<solana_instruction::Instruction>)> {
    let (account, create) = crate::client::token::payout_account(given, owner, mint);
    let create = match create {
        Some(ix) if t.account(&account)?.is_none() => Some(ix),
        _ => None,
    };
    Ok((account, create))
}
