//! The commands that act on a deployed perp pool, per role: `status` and `quote` read; `lp
//! deposit|withdraw`, `trade open|increase|decrease|close` and `orders list|cancel` place and
//! manage requests, which keepers execute at a price published after them. Each takes any
//! [`Transport`]: the app tests drive them on the embedded runtime, the binary on a cluster
//! (`--url`). A command whose request pays into the signer's associated token account (the LP
//! shares of a deposit, the quote tokens of a withdrawal, a decrease or a close, a refund)
//! creates it first if missing (`client::fetch::payout_account`).
//!
//! Trades are quoted first by the program's own code (`client::quote`) at the current price;
//! a market order then goes out with an acceptable price `--slippage-bps` away from the quoted
//! average, so its fill at the keeper's later price can be no worse than that. `--wait` waits
//! for a keeper to execute the request and prints the position after it.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail, ensure};
use clap::{Args, Subcommand};
use perp_amm::instructions::{PlaceLpRequestArgs, PlaceOrderArgs};
use perp_amm::state::{Market, RequestKind};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::fetch::payout_account;
use crate::client::fetch::{
    find_market, markets, perp_pool, token_balance, token_balance_before, trade_view,
};
use crate::client::quote::{
    QuotedState, TradeAction, TradeQuote, oracle_price, oracle_price_fix, pool_value, quote_trade,
};
use crate::client::requests::{free_slot, wait_gone};
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
    #[command(flatten)]
    pub request: RequestOptions,
}

/// How a request is placed and followed.
#[derive(Args, Debug, Clone, Default)]
pub struct RequestOptions {
    /// Lamports paid to the keeper that executes it (default: the pool's minimum)
    #[arg(long)]
    pub keeper_fee: Option<u64>,
    /// Wait for a keeper to execute the request and print the result
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits, seconds
    #[arg(long, default_value_t = 60)]
    pub wait_secs: u64,
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
    /// Open or increase only when the oracle is at or better than this price (a limit order:
    /// at or below for a long, at or above for a short), whole quote per base
    #[arg(long)]
    pub limit: Option<f64>,
    /// Decrease or close when the oracle reaches this price in the position's favour
    #[arg(long)]
    pub take_profit: Option<f64>,
    /// Decrease or close when the oracle reaches this price against the position (fills at
    /// whatever price the market gaps to: no slippage bound)
    #[arg(long)]
    pub stop_loss: Option<f64>,
    /// A trigger order lapses after this many hours (at most 90 days)
    #[arg(long, default_value_t = 168)]
    pub expires_hours: u64,
    #[command(flatten)]
    pub request: RequestOptions,
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
    /// Premiums the market's positions have paid and may have back as rebates, whole quote.
    pub premium_balance: f64,
    /// The book's insurance value at the current price (per-market mode), whole quote: the
    /// premium the book as it stands would be charged from flat.
    pub insurance_value: Option<f64>,
    /// Market hours now: "24/7" (no schedule), "open" or "closed".
    pub hours: String,
    /// When that next changes (UTC), if within a week.
    pub next_change: Option<String>,
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_text(ts: i64) -> String {
    use keel_math::calendar::{SECS_PER_DAY, civil_from_days};
    let (y, m, d) = civil_from_days(ts.div_euclid(SECS_PER_DAY));
    let secs = ts.rem_euclid(SECS_PER_DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3_600,
        secs % 3_600 / 60
    )
}

/// A market's hours at `now` under the pool's calendar: its state and when it next changes
/// (searched a week ahead, minute by minute, off-chain).
pub fn market_hours(
    calendar: Option<&perp_amm::state::Calendar>,
    schedule: u8,
    now: i64,
) -> (String, Option<String>) {
    let Some(s) = calendar.and_then(|c| c.schedule(schedule, now)) else {
        return ("24/7".into(), None);
    };
    if s.defined == 0 {
        return ("24/7".into(), None);
    }
    let (sessions, closures) = s.parts();
    let (sessions, closures) = (
        &sessions[..s.session_count as usize],
        &closures[..s.closure_count as usize],
    );
    let open = keel_math::calendar::is_open(s.zone, sessions, closures, now).unwrap_or(true);
    let next = keel_math::calendar::next_change(
        s.zone,
        sessions,
        closures,
        now,
        7 * keel_math::calendar::SECS_PER_DAY,
    )
    .ok()
    .flatten()
    .map(utc_text);
    (if open { "open" } else { "closed" }.into(), next)
}

/// The pool dashboard.
#[derive(Debug, Serialize)]
pub struct Status {
    pub pool: String,
    pub lp_capital: f64,
    pub default_fund: f64,
    pub trader_collateral: f64,
    /// Σ premium balances, whole quote: premiums positions have paid and may have back as
    /// rebates; part of the vault, not of LP capital.
    pub premium_balances: f64,
    /// LP capital less the traders' unrealised PnL (a withdrawal's valuation), if every
    /// market with open interest has a valid price.
    pub pool_value: Option<f64>,
    pub lp_supply: u64,
    pub imbalance_score: f64,
    pub exposure_norm: f64,
    pub imbalance_limit: f64,
    pub paused: u8,
    /// The vault's balance and what the pool accounts for in it (LP capital, default fund,
    /// trader collateral, request escrow, premium balances), native units: equal in a sound
    /// pool.
    pub vault: u64,
    pub accounted: u128,
    pub markets: Vec<MarketStatus>,
}

impl Status {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "pool {}\nLP capital {:.2}  default fund {:.2}  trader collateral {:.2}\n\
             premium balances {:.2}  vault {:.6} ({})\n\
             pool value {}  LP shares {}\nImbalance Score {:.3} (limit {:.2})  ||K|| {:.3}  paused {:#04b}\n\
             market      price        long OI      short OI     net notional  M share    premiums  insurance  hours   next change\n",
            self.pool,
            self.lp_capital,
            self.default_fund,
            self.trader_collateral,
            self.premium_balances,
            self.vault as f64 / 1e6,
            if self.vault as u128 == self.accounted {
                "equals the accounting".to_string()
            } else {
                format!("accounting {:.6}", self.accounted as f64 / 1e6)
            },
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
                "{:<11} {:>12} {:>12.4} {:>12.4} {:>13} {:>7.1}% {:>11.4} {:>10}  {:<7} {}\n",
                m.symbol,
                m.price.map_or("-".into(), |p| format!("{p:.4}")),
                m.long_oi,
                m.short_oi,
                m.net_notional.map_or("-".into(), |v| format!("{v:.2}")),
                m.capital_share_pct,
                m.premium_balance,
                m.insurance_value.map_or("-".into(), |v| format!("{v:.4}")),
                m.hours,
                m.next_change.as_deref().unwrap_or("-"),
            );
        }
        s
    }
}

/// What a quote or a trade request reports.
#[derive(Debug, Serialize)]
pub struct TradeReport {
    pub market: String,
    pub action: String,
    /// "quote" (not sent), "placed" (a request is pending), "executed" (a keeper filled it),
    /// "not filled" (its account went without a fill: a keeper refused it, or cleared it once
    /// expired; the escrow came back) or "pending" (`--wait` timed out).
    pub status: String,
    /// The request's kind and address, when one was placed.
    pub order: Option<String>,
    pub request: Option<String>,
    /// The quote at the price when the request was placed.
    pub quote: TradeQuote,
    /// After `--wait`: the position's size and collateral (native units), if any.
    pub position_after: Option<(i64, u64)>,
}

impl TradeReport {
    pub fn to_text(&self) -> String {
        let q = &self.quote;
        let premium = if q.premium >= 0 {
            format!("premium {:.6}", q.premium as f64 / 1e6)
        } else {
            format!("rebate {:.6}", -q.premium as f64 / 1e6)
        };
        let mut head = String::new();
        if let (Some(order), Some(request)) = (&self.order, &self.request) {
            head = format!("{} {order} request {request}\n", self.status);
        }
        if let Some((size, collateral)) = self.position_after {
            head += &format!(
                "position after execution: size {size}, collateral {:.6}\n",
                collateral as f64 / 1e6
            );
        }
        head + &format!(
            "{} {} {}: size {} at {:.6} (oracle {:.6}), q {:.3e}, {premium}, fees {:.6}, \
             funding {:.6}, realised PnL {:.6}, paid out {:.6}\n\
             Imbalance Score {:.3} → {:.3}; position then {} with {:.6} collateral\n",
            "quote at placement:",
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

/// What an LP request reports: the tokens it escrowed, and after `--wait` what moved.
#[derive(Debug, Serialize)]
pub struct LpReport {
    pub action: String,
    /// "placed", "executed", "not filled" or "pending" (see [`TradeReport::status`]).
    pub status: String,
    pub request: String,
    /// Earliest execution (a withdrawal's delay), unix seconds.
    pub executable_ts: i64,
    pub quote_moved: u64,
    pub shares_moved: u64,
}

impl LpReport {
    pub fn to_text(&self) -> String {
        format!(
            "{} {} request {} (executable from {}): {:.6} quote tokens, {} shares moved\n",
            self.status,
            self.action,
            self.request,
            self.executable_ts,
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
    let calendar = crate::client::fetch::calendar(t, &pool)?;
    let mut rows = vec![];
    let mut oracles = vec![];
    for m in markets(t, &pool)? {
        let oracle = t.account(&m.oracle)?.context("oracle account")?;
        let slot = pool.slot(m.index).map_err(|e| anyhow::anyhow!("{e}"))?;
        let price = oracle_price(&m, pool_key, pool.quote_decimals, &oracle, now).ok();
        let unit = 10f64.powi(m.base_decimals as i32);
        // the book's value at the current price, as the next fill would see it (per-market
        // mode; portfolio mode values the whole pool's book instead)
        let per_market = pool.risk.premium_mode == perp_amm::state::premium_mode::PER_MARKET;
        let (hours, next_change) = market_hours(calendar.as_deref(), m.params.schedule, now);
        let native_price = oracle_price_fix(&m, pool_key, pool.quote_decimals, &oracle, now).ok();
        let insurance_value = native_price.filter(|_| per_market).and_then(|s| {
            perp_amm::engine::insurance_values(&pool, m.index, &m.params, 0, s, None)
                .ok()
                .map(|(v, _, _)| v.value.to_num::<f64>() / 1e6)
        });
        rows.push(MarketStatus {
            symbol: decode::symbol(&m),
            price,
            long_oi: slot.long_oi as f64 / unit,
            short_oi: slot.short_oi as f64 / unit,
            net_notional: price.map(|p| (slot.long_oi as f64 - slot.short_oi as f64) / unit * p),
            capital_share_pct: slot.capital_share_e9 as f64 / 1e7,
            premium_balance: pool.premium_balances[m.index as usize] as f64 / 1e6,
            insurance_value,
            hours,
            next_change,
        });
        oracles.push((m.oracle, oracle));
    }
    let value = pool_value(&pool, pool_key, &oracles, calendar.as_deref(), now)
        .ok()
        .map(|(v, _)| v as f64 / 1e6);
    Ok(Status {
        pool: pool_key.to_string(),
        lp_capital: pool.lp_capital as f64 / 1e6,
        default_fund: pool.default_fund as f64 / 1e6,
        trader_collateral: pool.total_collateral as f64 / 1e6,
        premium_balances: pool.premium_total() as f64 / 1e6,
        pool_value: value,
        lp_supply: lp_supply + pool.dead_shares,
        imbalance_score: pool.risk.imbalance_score as f64 / 1e3,
        exposure_norm: pool.risk.exposure_norm as f64 / 1e3,
        imbalance_limit: pool.lp_capital as f64 / 1e6 * pool.risk.max_imbalance_bps as f64 / 1e4,
        paused: pool.paused,
        vault: crate::client::fetch::token_balance(t, &pool.vault)?,
        accounted: pool.lp_capital as u128
            + pool.default_fund as u128
            + pool.total_collateral as u128
            + pool.request_escrow as u128
            + pool.premium_total(),
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
        status: "quote".into(),
        order: None,
        request: None,
        quote: q.quote,
        position_after: None,
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

/// The whole quote per base price `p` as the program's ×1e9 integer.
fn price_e9(p: f64, what: &str) -> anyhow::Result<u64> {
    ensure!(p.is_finite() && p > 0.0, "{what} must be a positive price");
    Ok((p * 1e9).round() as u64)
}

/// The request kind, trigger and acceptable price of an order.
fn order_terms(
    kind: TradeKind,
    o: &TradeOrder,
    buy: bool,
    quoted_fill: f64,
) -> anyhow::Result<(RequestKind, u64, u64)> {
    let none = if buy { u64::MAX } else { 0 };
    let slip = |p: f64| limit_e9(p, buy, o.slippage_bps);
    Ok(match (kind, o.limit, o.take_profit, o.stop_loss) {
        (TradeKind::Open | TradeKind::Increase, None, None, None) => {
            (RequestKind::MarketIncrease, 0, slip(quoted_fill))
        }
        (TradeKind::Open | TradeKind::Increase, Some(p), None, None) => {
            (RequestKind::LimitIncrease, price_e9(p, "--limit")?, slip(p))
        }
        (TradeKind::Decrease | TradeKind::Close, None, None, None) => {
            (RequestKind::MarketReduce, 0, slip(quoted_fill))
        }
        (TradeKind::Decrease | TradeKind::Close, None, Some(p), None) => (
            RequestKind::TakeProfit,
            price_e9(p, "--take-profit")?,
            slip(p),
        ),
        (TradeKind::Decrease | TradeKind::Close, None, None, Some(p)) => {
            (RequestKind::StopLoss, price_e9(p, "--stop-loss")?, none)
        }
        _ => bail!(
            "--limit goes with open or increase; one of --take-profit or --stop-loss with \
             decrease or close"
        ),
    })
}

/// `keel trade open|increase|decrease|close`: quote at the current price, then place the
/// request (a market order, or a limit, take-profit or stop-loss order) for a keeper.
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
    // every request may pay out or refund: into the associated account, created if missing,
    // unless the trader names one
    let (quote_account, create_quote_account) =
        payout_account(t, o.quote_account, &owner, &pool.quote_mint)?;
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
    let (request_kind, trigger, acceptable) = order_terms(kind, o, buy, q.fill_price)?;
    let (size, collateral) = match action {
        TradeAction::Open { size, collateral } | TradeAction::Increase { size, collateral } => {
            (size, collateral)
        }
        TradeAction::Decrease { size } => (size as i64, 0),
        _ => (0, 0),
    };
    let slot_market = pool
        .slot(market.index)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .market;
    let slot = free_slot(t, &pool_key, &owner)?;
    let args = PlaceOrderArgs {
        slot,
        kind: request_kind,
        size,
        collateral,
        acceptable_price_e9: acceptable,
        trigger_price_e9: trigger,
        expires_ts: if request_kind.is_trigger() {
            now + (o.expires_hours.min(90 * 24) * 3600) as i64
        } else {
            0
        },
        keeper_fee: o.request.keeper_fee.unwrap_or(pool.min_keeper_fee_lamports),
        request_bump: 0,
        position_bump: 0,
    };
    let place = ix::place_order(&owner, &pool_key, &slot_market, &quote_account, args);
    let ixs: Vec<_> = create_quote_account.into_iter().chain([place]).collect();
    t.send(&ixs, &[signer])
        .map_err(|e| failed(kind.name(), e))?;
    let request = ix::request_pda(&pool_key, &owner, slot);
    // filled when the position reached the size the request was quoted to leave it at (a
    // refusal or a clearing leaves it where it was; the trader's own later requests, or a
    // liquidation before a close, could blur this: the keeper's log is the record)
    let (before, quoted) = (
        view.position.as_ref().map_or(0, |p| p.size),
        q.position_size,
    );
    let (status, position_after) = follow(t, &request, &o.request, |t| {
        let view = trade_view(t, &pool_key, market.clone(), &owner)?;
        let after = view.position.map(|p| (p.size, p.collateral));
        let size = after.map_or(0, |p| p.0);
        Ok((after, size == quoted && size != before))
    })?;
    Ok(TradeReport {
        market: o.market.clone(),
        action: kind.name().into(),
        status,
        order: Some(crate::client::requests::kind_name(request_kind).into()),
        request: Some(request.to_string()),
        quote: q,
        position_after: position_after.flatten(),
    })
}

/// After placing `request`: with `--wait`, wait until its account is gone, then read `after`,
/// which also says whether the request filled (the account goes either way: executed, refused
/// by the program at execution, or cleared by a keeper once expired).
fn follow<T>(
    t: &mut dyn Transport,
    request: &Pubkey,
    o: &RequestOptions,
    after: impl FnOnce(&mut dyn Transport) -> anyhow::Result<(T, bool)>,
) -> anyhow::Result<(String, Option<T>)> {
    if !o.wait {
        return Ok(("placed".into(), None));
    }
    let timeout = std::time::Duration::from_secs(o.wait_secs);
    let poll = std::time::Duration::from_millis(500);
    if wait_gone(t, request, timeout, poll)? {
        let (value, filled) = after(t)?;
        let status = if filled { "executed" } else { "not filled" };
        Ok((status.into(), Some(value)))
    } else {
        Ok(("pending".into(), None))
    }
}

/// `keel lp deposit|withdraw`: place the request (the deposit's tokens or the withdrawal's
/// shares are escrowed now; a withdrawal executes after the pool's delay).
pub fn lp(t: &mut dyn Transport, signer: &Keypair, cmd: &LpCommand) -> anyhow::Result<LpReport> {
    let accounts = match cmd {
        LpCommand::Deposit(a) => &a.accounts,
        LpCommand::Withdraw(a) => &a.accounts,
    };
    let pool_key = accounts.pool.pool;
    let pool = perp_pool(t, &pool_key)?;
    let owner = signer.pubkey();
    // both accounts take payouts or refunds: each is created if missing, unless given (the one
    // paid from must exist)
    let (quote_account, create_quote) =
        payout_account(t, accounts.quote_account, &owner, &pool.quote_mint)?;
    let (lp_account, create_lp) = payout_account(t, accounts.lp_account, &owner, &pool.lp_mint)?;
    let (q0, s0) = (
        token_balance_before(t, &quote_account, create_quote.is_some())?,
        token_balance_before(t, &lp_account, create_lp.is_some())?,
    );
    let slot = free_slot(t, &pool_key, &owner)?;
    let keeper_fee = accounts
        .request
        .keeper_fee
        .unwrap_or(pool.min_keeper_fee_lamports);
    let (what, args) = match cmd {
        LpCommand::Deposit(a) => (
            "deposit",
            PlaceLpRequestArgs {
                slot,
                kind: RequestKind::Deposit,
                amount: quote_native(a.amount, "amount")?,
                min_out: a.min_shares,
                keeper_fee,
                request_bump: 0,
            },
        ),
        LpCommand::Withdraw(a) => (
            "withdraw",
            PlaceLpRequestArgs {
                slot,
                kind: RequestKind::Withdraw,
                amount: a.shares,
                min_out: a.min_amount,
                keeper_fee,
                request_bump: 0,
            },
        ),
    };
    let place = ix::place_lp_request(&owner, &pool_key, &quote_account, &lp_account, args);
    let ixs: Vec<_> = create_quote
        .into_iter()
        .chain(create_lp)
        .chain([place])
        .collect();
    t.send(&ixs, &[signer]).map_err(|e| failed(what, e))?;
    let request = ix::request_pda(&pool_key, &owner, slot);
    let executable_ts = t
        .account_data(&request)?
        .map(|d| decode::request(&d))
        .transpose()?
        .map_or(0, |r| r.executable_ts);
    // a fill mints or burns shares; a refusal or a clearing gives back what was escrowed
    let (status, _) = follow(t, &request, &accounts.request, |t| {
        Ok(((), token_balance(t, &lp_account)? != s0))
    })?;
    let (q1, s1) = (
        token_balance(t, &quote_account)?,
        token_balance(t, &lp_account)?,
    );
    Ok(LpReport {
        action: what.into(),
        status,
        request: request.to_string(),
        executable_ts,
        quote_moved: q0.abs_diff(q1),
        shares_moved: s0.abs_diff(s1),
    })
}

#[derive(Subcommand, Debug, Clone)]
pub enum OrdersCommand {
    /// Pending requests: the signer's (or `--owner`'s, or `--all`)
    List(OrdersList),
    /// Cancel one of the signer's requests by slot: its escrow, rent and keeper fee come back
    Cancel(OrdersCancel),
}

#[derive(Args, Debug, Clone)]
pub struct OrdersList {
    #[command(flatten)]
    pub pool: PoolArg,
    #[arg(long)]
    pub owner: Option<Pubkey>,
    /// Every owner's
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug, Clone)]
pub struct OrdersCancel {
    #[command(flatten)]
    pub pool: PoolArg,
    /// The request slot (`keel orders list` shows it)
    #[arg(long)]
    pub slot: u8,
}

/// One pending request.
#[derive(Debug, Serialize)]
pub struct OrderLine {
    pub request: String,
    pub owner: String,
    pub slot: u8,
    pub kind: String,
    pub market: Option<String>,
    pub size: i64,
    pub collateral: u64,
    pub trigger_price: Option<f64>,
    pub created_ts: i64,
    pub executable_ts: i64,
    pub expires_ts: i64,
    pub keeper_fee: u64,
}

#[derive(Debug, Serialize)]
pub struct Orders {
    pub orders: Vec<OrderLine>,
}

impl Orders {
    pub fn to_text(&self) -> String {
        let mut s = format!("{} pending\n", self.orders.len());
        for o in &self.orders {
            s += &format!(
                "slot {:>2} {:<17} {:<10} size {:>14} collateral {:>12} trigger {:>12} \
                 executable {} expires {}  {}\n",
                o.slot,
                o.kind,
                o.market.as_deref().unwrap_or("-"),
                o.size,
                o.collateral,
                o.trigger_price.map_or("-".into(), |p| format!("{p:.4}")),
                o.executable_ts,
                o.expires_ts,
                o.request
            );
        }
        s
    }
}

/// `keel orders list`.
pub fn orders_list(
    t: &mut dyn Transport,
    signer: &Pubkey,
    args: &OrdersList,
) -> anyhow::Result<Orders> {
    let pool = perp_pool(t, &args.pool.pool)?;
    let owner = args.owner.unwrap_or(*signer);
    let owner = (!args.all).then_some(owner);
    let symbols: Vec<(Pubkey, String)> = markets(t, &pool)?
        .iter()
        .map(|m| {
            let key = pool.slot(m.index).map(|s| s.market).unwrap_or_default();
            (key, decode::symbol(m))
        })
        .collect();
    let pending = crate::client::requests::pending(t, &args.pool.pool, owner.as_ref())?;
    let orders = pending
        .into_iter()
        .map(|(key, r)| OrderLine {
            request: key.to_string(),
            owner: r.owner.to_string(),
            slot: r.slot,
            kind: crate::client::requests::kind_name(r.kind).into(),
            market: symbols
                .iter()
                .find(|(k, _)| *k == r.market)
                .map(|(_, s)| s.clone()),
            size: r.size,
            collateral: r.collateral,
            trigger_price: r
                .kind
                .is_trigger()
                .then_some(r.trigger_price_e9 as f64 / 1e9),
            created_ts: r.created_ts,
            executable_ts: r.executable_ts,
            expires_ts: r.expires_ts,
            keeper_fee: r.keeper_fee,
        })
        .collect();
    Ok(Orders { orders })
}

/// `keel orders cancel`.
pub fn orders_cancel(
    t: &mut dyn Transport,
    signer: &Keypair,
    args: &OrdersCancel,
) -> anyhow::Result<String> {
    let pool = args.pool.pool;
    let owner = signer.pubkey();
    let key = ix::request_pda(&pool, &owner, args.slot);
    let data = t
        .account_data(&key)?
        .with_context(|| format!("no request in slot {}", args.slot))?;
    let r = decode::request(&data)?;
    let i = ix::cancel_request(&owner, &pool, &ix::RequestRef::of(key, &r));
    t.send(&[i], &[signer]).map_err(|e| failed("cancel", e))?;
    Ok(format!(
        "cancelled {} request {key}\n",
        crate::client::requests::kind_name(r.kind)
    ))
}
