//! The commands that act on a deployed perp pool, per role: `status` and `quote` read; `lp
//! deposit|withdraw` and `trade open|increase|decrease|close` send. Each takes any
//! [`Transport`]: the app tests drive them on the embedded runtime, the binary on a cluster
//! (`--url`). A command that pays into the signer's associated token account (the LP shares of
//! a deposit, the quote tokens of a withdrawal, a decrease or a close) creates it first if
//! missing (`client::fetch::payout_account`).
//!
//! Trades are quoted first by the program's own code (`client::quote`); the order then goes out
//! with a limit price `--slippage-bps` away from the quoted average, so the fill can be no worse
//! than the quote by more than that.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail, ensure};
use clap::{Args, Subcommand};
use perp_amm::instructions::{
    DecreasePositionArgs, DepositArgs, IncreasePositionArgs, OpenPositionArgs, WithdrawArgs,
};
use perp_amm::state::Market;
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::fetch::payout_account;
use crate::client::fetch::{
    find_market, markets, perp_pool, token_balance, token_balance_before, trade_view,
};
use crate::client::quote::{
    QuotedState, TradeAction, TradeQuote, oracle_price, pool_value, quote_trade,
};
use crate::client::token::associated_token_address;
use crate::client::{decode, perp as ix};
use crate::transport::{Transport, TxError};

/// Which pool.
#[derive(Args, Debug, Clone)]
pub struct PoolArg {
    /// The perp pool's address
    #[arg(long)]
    pub pool: Pubkey,
}

#[derive(Args, Debug, Clone)]
pub struct QuoteArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    /// Market symbol, e.g. BTC-PERP
    #[arg(long)]
    pub market: String,
    /// Signed size in whole base units (+ long / buy, − short / sell)
    #[arg(long, allow_hyphen_values = true)]
    pub size: f64,
    /// Collateral posted with the trade, whole quote tokens
    #[arg(long, default_value_t = 0.0)]
    pub collateral: f64,
    /// Whose position the trade would change (default: the signer)
    #[arg(long)]
    pub owner: Option<Pubkey>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum LpCommand {
    /// Deposit quote tokens for LP shares
    Deposit(LpAmount),
    /// Burn LP shares for quote tokens
    Withdraw(LpShares),
}

#[derive(Args, Debug, Clone)]
pub struct LpAccounts {
    #[command(flatten)]
    pub pool: PoolArg,
    /// The signer's quote-token account (default: its associated token account, created by a
    /// withdrawal if missing)
    #[arg(long)]
    pub quote_account: Option<Pubkey>,
    /// The signer's LP-token account (default: its associated token account, created by a
    /// deposit if missing)
    #[arg(long)]
    pub lp_account: Option<Pubkey>,
}

#[derive(Args, Debug, Clone)]
pub struct LpAmount {
    #[command(flatten)]
    pub accounts: LpAccounts,
    /// Whole quote tokens
    #[arg(long)]
    pub amount: f64,
    /// Fewest shares accepted (native units)
    #[arg(long, default_value_t = 0)]
    pub min_shares: u64,
}

#[derive(Args, Debug, Clone)]
pub struct LpShares {
    #[command(flatten)]
    pub accounts: LpAccounts,
    /// LP shares to burn, native units
    #[arg(long)]
    pub shares: u64,
    /// Fewest quote tokens accepted (native units)
    #[arg(long, default_value_t = 0)]
    pub min_amount: u64,
}

#[derive(Subcommand, Debug, Clone)]
pub enum TradeCommand {
    /// Open a position (signed size in whole base units)
    Open(TradeOrder),
    /// Add to a position (same sign as the position)
    Increase(TradeOrder),
    /// Reduce a position by `--size` whole base units
    Decrease(TradeOrder),
    /// Close the whole position
    Close(TradeOrder),
}

impl TradeCommand {
    /// What the order does, and the order.
    pub fn kind_and_order(&self) -> (TradeKind, &TradeOrder) {
        match self {
            TradeCommand::Open(o) => (TradeKind::Open, o),
            TradeCommand::Increase(o) => (TradeKind::Increase, o),
            TradeCommand::Decrease(o) => (TradeKind::Decrease, o),
            TradeCommand::Close(o) => (TradeKind::Close, o),
        }
    }
}

/// What a trade order does to the trader's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeKind {
    Open,
    Increase,
    Decrease,
    Close,
}

impl TradeKind {
    /// The command's name, as reports and errors print it.
    pub fn name(self) -> &'static str {
        match self {
            TradeKind::Open => "open",
            TradeKind::Increase => "increase",
            TradeKind::Decrease => "decrease",
            TradeKind::Close => "close",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct TradeOrder {
    #[command(flatten)]
    pub pool: PoolArg,
    #[arg(long)]
    pub market: String,
    /// Whole base units: signed for open/increase, positive for decrease, unused for close
    #[arg(long, allow_hyphen_values = true, default_value_t = 0.0)]
    pub size: f64,
    /// Collateral posted, whole quote tokens (open, increase)
    #[arg(long, default_value_t = 0.0)]
    pub collateral: f64,
    /// Worst average price accepted, as bps away from the quote
    #[arg(long, default_value_t = 50)]
    pub slippage_bps: u32,
    /// The signer's quote-token account (default: its associated token account, created by a
    /// decrease or a close if missing)
    #[arg(long)]
    pub quote_account: Option<Pubkey>,
}

/// One market's line of the dashboard.
#[derive(Debug, Serialize)]
pub struct MarketStatus {
    pub symbol: String,
    pub price: Option<f64>,
    pub long_oi: f64,
    pub short_oi: f64,
    /// Traders' net position × price, whole quote.
    pub net_notional: Option<f64>,
    pub capital_share_pct: f64,
}

/// The pool dashboard.
#[derive(Debug, Serialize)]
pub struct Status {
    pub pool: String,
    pub lp_capital: f64,
    pub default_fund: f64,
    pub trader_collateral: f64,
    /// LP capital less the traders' unrealised PnL (a withdrawal's valuation), if every
    /// market with open interest has a valid price.
    pub pool_value: Option<f64>,
    pub lp_supply: u64,
    pub imbalance_score: f64,
    pub exposure_norm: f64,
    pub imbalance_limit: f64,
    pub paused: u8,
    pub markets: Vec<MarketStatus>,
}

impl Status {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "pool {}\nLP capital {:.2}  default fund {:.2}  trader collateral {:.2}\n\
             pool value {}  LP shares {}\nImbalance Score {:.3} (limit {:.2})  ||K|| {:.3}  paused {:#04b}\n\
             market      price        long OI      short OI     net notional  M share\n",
            self.pool,
            self.lp_capital,
            self.default_fund,
            self.trader_collateral,
            self.pool_value
                .map_or("unpriced".to_string(), |v| format!("{v:.2}")),
            self.lp_supply,
            self.imbalance_score,
            self.imbalance_limit,
            self.exposure_norm,
            self.paused,
        );
        for m in &self.markets {
            s += &format!(
                "{:<11} {:>12} {:>12.4} {:>12.4} {:>13} {:>7.1}%\n",
                m.symbol,
                m.price.map_or("-".into(), |p| format!("{p:.4}")),
                m.long_oi,
                m.short_oi,
                m.net_notional.map_or("-".into(), |v| format!("{v:.2}")),
                m.capital_share_pct
            );
        }
        s
    }
}

/// What a quote or a trade reports.
#[derive(Debug, Serialize)]
pub struct TradeReport {
    pub market: String,
    pub action: String,
    /// Sent (a trade) or only quoted.
    pub sent: bool,
    pub quote: TradeQuote,
}

impl TradeReport {
    pub fn to_text(&self) -> String {
        let q = &self.quote;
        let premium = if q.premium >= 0 {
            format!("premium {:.6}", q.premium as f64 / 1e6)
        } else {
            format!("rebate {:.6}", -q.premium as f64 / 1e6)
        };
        format!(
            "{} {} {}: size {} at {:.6} (oracle {:.6}), q {:.3e}, {premium}, fees {:.6}, \
             funding {:.6}, realised PnL {:.6}, paid out {:.6}\n\
             Imbalance Score {:.3} → {:.3}; position now {} with {:.6} collateral\n",
            if self.sent { "filled" } else { "quote" },
            self.action,
            self.market,
            q.size,
            q.fill_price,
            q.oracle_price,
            q.q,
            q.fees as f64 / 1e6,
            q.funding_paid as f64 / 1e6,
            q.realized_pnl as f64 / 1e6,
            q.payout as f64 / 1e6,
            q.imbalance_before as f64 / 1e3,
            q.imbalance_after as f64 / 1e3,
            q.position_size,
            q.position_collateral as f64 / 1e6,
        )
    }
}

/// What an LP action reports.
#[derive(Debug, Serialize)]
pub struct LpReport {
    pub action: String,
    pub quote_moved: u64,
    pub shares_moved: u64,
}

impl LpReport {
    pub fn to_text(&self) -> String {
        format!(
            "{}: {:.6} quote tokens, {} shares\n",
            self.action,
            self.quote_moved as f64 / 1e6,
            self.shares_moved
        )
    }
}

fn failed(what: &str, e: TxError) -> anyhow::Error {
    crate::client::errors::failed(&perp_amm::ID, what, &e)
}

fn whole_to_native(v: f64, decimals: u8, what: &str) -> anyhow::Result<i64> {
    ensure!(v.is_finite(), "{what} must be a number");
    let n = (v * 10f64.powi(decimals as i32)).round();
    ensure!(n.abs() < i64::MAX as f64, "{what} {v} is too large");
    Ok(n as i64)
}

fn quote_native(v: f64, what: &str) -> anyhow::Result<u64> {
    ensure!(v >= 0.0, "{what} must not be negative");
    Ok(whole_to_native(v, 6, what)? as u64)
}

/// `keel status`: the pool's balances, risk and markets.
pub fn status(t: &mut dyn Transport, pool_key: &Pubkey) -> anyhow::Result<Status> {
    let pool = perp_pool(t, pool_key)?;
    let now = t.unix_time()?;
    let lp_supply = crate::client::fetch::mint(t, &pool.lp_mint)?.supply;
    let mut rows = vec![];
    let mut oracles = vec![];
    for m in markets(t, &pool)? {
        let oracle = t.account(&m.oracle)?.context("oracle account")?;
        let slot = pool.slot(m.index).map_err(|e| anyhow::anyhow!("{e}"))?;
        let price = oracle_price(&m, pool_key, pool.quote_decimals, &oracle, now).ok();
        let unit = 10f64.powi(m.base_decimals as i32);
        rows.push(MarketStatus {
            symbol: decode::symbol(&m),
            price,
            long_oi: slot.long_oi as f64 / unit,
            short_oi: slot.short_oi as f64 / unit,
            net_notional: price.map(|p| (slot.long_oi as f64 - slot.short_oi as f64) / unit * p),
            capital_share_pct: slot.capital_share_e9 as f64 / 1e7,
        });
        oracles.push((m.oracle, oracle));
    }
    let value = pool_value(&pool, pool_key, &oracles, now)
        .ok()
        .map(|(v, _)| v as f64 / 1e6);
    Ok(Status {
        pool: pool_key.to_string(),
        lp_capital: pool.lp_capital as f64 / 1e6,
        default_fund: pool.default_fund as f64 / 1e6,
        trader_collateral: pool.total_collateral as f64 / 1e6,
        pool_value: value,
        lp_supply: lp_supply + pool.dead_shares,
        imbalance_score: pool.risk.imbalance_score as f64 / 1e3,
        exposure_norm: pool.risk.exposure_norm as f64 / 1e3,
        imbalance_limit: pool.lp_capital as f64 / 1e6 * pool.risk.max_imbalance_bps as f64 / 1e4,
        paused: pool.paused,
        markets: rows,
    })
}

/// The trade action for an order, in native units.
fn trade_action(
    kind: TradeKind,
    market: &Market,
    size: f64,
    collateral: f64,
) -> anyhow::Result<TradeAction> {
    let size_native = whole_to_native(size, market.base_decimals, "size")?;
    let collateral = quote_native(collateral, "collateral")?;
    Ok(match kind {
        TradeKind::Open => TradeAction::Open {
            size: size_native,
            collateral,
        },
        TradeKind::Increase => TradeAction::Increase {
            size: size_native,
            collateral,
        },
        TradeKind::Decrease => TradeAction::Decrease {
            size: size_native.unsigned_abs(),
        },
        TradeKind::Close => TradeAction::Close,
    })
}

/// `keel quote`: what an open (or, with a position, an increase or decrease) would get now.
pub fn quote(
    t: &mut dyn Transport,
    signer: &Pubkey,
    args: &QuoteArgs,
) -> anyhow::Result<TradeReport> {
    let pool = perp_pool(t, &args.pool.pool)?;
    let market = find_market(t, &pool, &args.market)?;
    let owner = args.owner.unwrap_or(*signer);
    let view = trade_view(t, &args.pool.pool, market.clone(), &owner)?;
    let (kind, size) = match &view.position {
        None => (TradeKind::Open, args.size),
        Some(p) if (p.size > 0) == (args.size > 0.0) => (TradeKind::Increase, args.size),
        Some(_) => (TradeKind::Decrease, args.size.abs()),
    };
    let action = trade_action(kind, &market, size, args.collateral)?;
    let limit = if args.size > 0.0 { u64::MAX } else { 0 };
    let now = t.unix_time()?;
    let q = quote_trade(&view, &owner, action, limit, now)
        .map_err(|r| anyhow::anyhow!("the program would refuse this {}: {r}", kind.name()))?;
    Ok(TradeReport {
        market: args.market.clone(),
        action: kind.name().into(),
        sent: false,
        quote: q.quote,
    })
}

/// The limit `slippage_bps` worse than `price` for a buy or a sell, quote per base ×1e9.
fn limit_e9(price: f64, buy: bool, slippage_bps: u32) -> u64 {
    let f = slippage_bps as f64 / 1e4;
    let p = if buy {
        price * (1.0 + f)
    } else {
        price * (1.0 - f)
    };
    (p * 1e9).round().max(0.0) as u64
}

/// `keel trade open|increase|decrease|close`.
pub fn trade(
    t: &mut dyn Transport,
    signer: &Keypair,
    kind: TradeKind,
    o: &TradeOrder,
) -> anyhow::Result<TradeReport> {
    let pool_key = o.pool.pool;
    let pool = perp_pool(t, &pool_key)?;
    let market = find_market(t, &pool, &o.market)?;
    let owner = signer.pubkey();
    // a decrease or a close pays out: into the associated account, created if missing, unless
    // the trader names one (an open or an increase pays from it, so it must exist)
    let (quote_account, create_quote_account) = match kind {
        TradeKind::Decrease | TradeKind::Close => {
            payout_account(t, o.quote_account, &owner, &pool.quote_mint)?
        }
        TradeKind::Open | TradeKind::Increase => (
            o.quote_account
                .unwrap_or_else(|| associated_token_address(&owner, &pool.quote_mint)),
            None,
        ),
    };
    let view = trade_view(t, &pool_key, market.clone(), &owner)?;
    let action = trade_action(kind, &market, o.size, o.collateral)?;
    let now = t.unix_time()?;
    let buy = match action {
        TradeAction::Open { size, .. } | TradeAction::Increase { size, .. } => size > 0,
        _ => view.position.as_ref().is_some_and(|p| p.size < 0),
    };
    let none = if buy { u64::MAX } else { 0 };
    let QuotedState { quote: q, .. } = quote_trade(&view, &owner, action, none, now)
        .map_err(|r| anyhow::anyhow!("the program would refuse this {}: {r}", kind.name()))?;
    let limit = limit_e9(q.fill_price, buy, o.slippage_bps);
    let slot_market = pool
        .slot(market.index)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .market;
    let risk_model = (pool.risk.model != Pubkey::default()).then_some(pool.risk.model);
    let ix = match action {
        TradeAction::Open { size, collateral } => ix::open_position(
            &owner,
            &pool_key,
            &slot_market,
            &market.oracle,
            &quote_account,
            OpenPositionArgs {
                size,
                collateral,
                price_limit_e9: limit,
            },
            risk_model,
        ),
        TradeAction::Increase { size, collateral } => ix::increase_position(
            &owner,
            &pool_key,
            &slot_market,
            &market.oracle,
            &quote_account,
            IncreasePositionArgs {
                size,
                collateral,
                price_limit_e9: limit,
            },
            risk_model,
        ),
        TradeAction::Decrease { size } => ix::decrease_position(
            &owner,
            &pool_key,
            &slot_market,
            &market.oracle,
            &quote_account,
            DecreasePositionArgs {
                size,
                price_limit_e9: limit,
            },
            risk_model,
        ),
        TradeAction::Close => ix::close_position(
            &owner,
            &pool_key,
            &slot_market,
            &market.oracle,
            &quote_account,
            limit,
            risk_model,
        ),
        TradeAction::Liquidate => bail!("liquidations are the keeper's"),
    };
    let ixs: Vec<_> = create_quote_account.into_iter().chain([ix]).collect();
    t.send(&ixs, &[signer])
        .map_err(|e| failed(kind.name(), e))?;
    Ok(TradeReport {
        market: o.market.clone(),
        action: kind.name().into(),
        sent: true,
        quote: q,
    })
}

/// `keel lp deposit|withdraw`.
pub fn lp(t: &mut dyn Transport, signer: &Keypair, cmd: &LpCommand) -> anyhow::Result<LpReport> {
    let accounts = match cmd {
        LpCommand::Deposit(a) => &a.accounts,
        LpCommand::Withdraw(a) => &a.accounts,
    };
    let pool_key = accounts.pool.pool;
    let pool = perp_pool(t, &pool_key)?;
    let owner = signer.pubkey();
    // the account paid into (LP shares for a deposit, quote tokens for a withdrawal) is created
    // if missing, unless given; the one paid from must exist
    let paying_from = |given: Option<Pubkey>, mint: &Pubkey| {
        given.unwrap_or_else(|| associated_token_address(&owner, mint))
    };
    let (quote_account, lp_account, create) = match cmd {
        LpCommand::Deposit(_) => {
            let (lp_account, create) =
                payout_account(t, accounts.lp_account, &owner, &pool.lp_mint)?;
            let quote_account = paying_from(accounts.quote_account, &pool.quote_mint);
            (quote_account, lp_account, create)
        }
        LpCommand::Withdraw(_) => {
            let (quote_account, create) =
                payout_account(t, accounts.quote_account, &owner, &pool.quote_mint)?;
            let lp_account = paying_from(accounts.lp_account, &pool.lp_mint);
            (quote_account, lp_account, create)
        }
    };
    let creates_quote = create.is_some() && matches!(cmd, LpCommand::Withdraw(_));
    let creates_lp = create.is_some() && matches!(cmd, LpCommand::Deposit(_));
    let oracles: Vec<Pubkey> = pool
        .markets
        .iter()
        .filter(|s| s.active == 1)
        .map(|s| s.oracle)
        .collect();
    let (q0, s0) = (
        token_balance_before(t, &quote_account, creates_quote)?,
        token_balance_before(t, &lp_account, creates_lp)?,
    );
    let (what, ix) = match cmd {
        LpCommand::Deposit(a) => (
            "deposit",
            ix::deposit(
                &owner,
                &pool_key,
                &quote_account,
                &lp_account,
                &oracles,
                DepositArgs {
                    amount: quote_native(a.amount, "amount")?,
                    min_shares: a.min_shares,
                },
            ),
        ),
        LpCommand::Withdraw(a) => (
            "withdraw",
            ix::withdraw(
                &owner,
                &pool_key,
                &quote_account,
                &lp_account,
                &oracles,
                WithdrawArgs {
                    shares: a.shares,
                    min_amount: a.min_amount,
                },
            ),
        ),
    };
    let ixs: Vec<_> = create.into_iter().chain([ix]).collect();
    t.send(&ixs, &[signer]).map_err(|e| failed(what, e))?;
    let (q1, s1) = (
        token_balance(t, &quote_account)?,
        token_balance(t, &lp_account)?,
    );
    Ok(LpReport {
        action: what.into(),
        quote_moved: q0.abs_diff(q1),
        shares_moved: s0.abs_diff(s1),
    })
}
