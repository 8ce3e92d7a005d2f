//! `keel keeper run`: the permissionless chores of a perp pool and the keeper's chores of its
//! crps (collateral rebalancing pools), in rounds.
//!
//! Each round: accrue funding on every market with open interest that its schedule has open;
//! apply the announced market and premium changes whose notice is over (a scheduled market's
//! counted in its open time); publish σ and R when
//! `--risk-prices` holds newer data than the risk model; re-mark the Imbalance Score; execute
//! every pending request the program will take now (market orders at once, trigger orders once
//! their trigger is crossed, withdrawals after their delay: each on a price published after it)
//! and clear the expired ones and those whose position is gone (refunding their owners);
//! find the pool's positions and liquidate every one the program would (quoted first by its own
//! code, so a round sends no liquidation that would fail), and in the hour before a long close
//! cut every position above its market's leverage over the close to it (quoted the same way);
//! while traders' unrealised profit is
//! past the pool's ceiling, close winners, the largest first (auto-deleveraging, quoted the
//! same way); for each `--crp` pool, settle it once
//! expired, report the next print to a conversion breach the pool recorded (the program
//! converts on a second tight print 300 s to 600 s after the first), and re-weight it when its
//! interval has passed (the rebalance records or confirms a breach too). A transaction
//! that fails in transport is retried up to `--retries` times; one the program refuses is logged
//! and the round goes on.

use anchor_lang::Discriminator;
use anchor_lang::prelude::Pubkey;
use anyhow::Context;
use clap::Args;
use collateral_pool::state::status as crp_status;
use perp_amm::errors::PerpError;
use perp_amm::state::Position;
use serde::Serialize;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::client::crp as cix;
use crate::client::errors::{describe_error, perp_code};
use crate::client::fetch::payout_account;
use crate::client::fetch::{crp_pool, perp_pool, trade_view};
use crate::client::quote::{TradeAction, quote_deleverage, quote_trade};
use crate::client::token::{associated_token_address, create_ata_idempotent};
use crate::client::{decode, perp as ix, requests};
use crate::commands::perp::PoolArg;
use crate::commands::risk::publish_if_newer;
use crate::risk::RiskFeed;
use crate::transport::{Transport, send_retrying};

#[derive(Args, Debug, Clone)]
pub struct KeeperArgs {
    #[command(flatten)]
    pub pool: PoolArg,
    /// A crp (collateral rebalancing pool) to keep (repeat for several)
    #[arg(long = "crp")]
    pub crp: Vec<Pubkey>,
    /// The keeper's quote-token account for liquidation rewards (default: its associated
    /// token account, created with the first liquidation if missing)
    #[arg(long)]
    pub quote_account: Option<Pubkey>,
    /// Seconds between rounds
    #[arg(long, default_value_t = 60)]
    pub interval: u64,
    /// Rounds to run, 0 for no end
    #[arg(long, default_value_t = 0)]
    pub rounds: u64,
    /// Attempts per transaction when the transport (not the program) fails
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Publish σ and R from these `date,close` files whenever they hold a newer date than the
    /// risk model (the keeper must be the model's risk authority)
    #[arg(long, requires = "risk_markets")]
    pub risk_prices: Option<std::path::PathBuf>,
    /// The --risk-prices files in market order, without `.csv` (`1/NAME` inverts NAME)
    #[arg(long, value_delimiter = ',', requires = "risk_prices")]
    pub risk_markets: Vec<String>,
    /// Daily returns each publication is estimated from (the most recent)
    #[arg(long, default_value_t = 60)]
    pub risk_window: usize,
}

#[derive(Debug, Serialize)]
pub struct Liquidated {
    pub owner: String,
    pub market: u8,
    pub size: i64,
    pub keeper_reward: u64,
    pub bad_debt: u64,
}

/// A position cut to its market's leverage over a close, in the hour before a long close.
#[derive(Debug, Serialize)]
pub struct ReducedBeforeClose {
    pub owner: String,
    pub market: u8,
    /// The part closed (signed like the position) and the position's size before.
    pub size: i64,
    pub position_size: i64,
}

#[derive(Debug, Serialize)]
pub struct Deleveraged {
    pub owner: String,
    pub market: u8,
    pub size: i64,
    pub realized_pnl: i64,
}

/// What one round did.
#[derive(Debug, Default, Serialize)]
pub struct Round {
    pub unix_time: i64,
    pub funding_markets: usize,
    /// Announced market changes applied (their notice over).
    pub market_changes: usize,
    /// Markets with open interest closed by their schedule this round (no funding, fills or
    /// liquidations until they reopen).
    pub closed_markets: usize,
    /// Whether the pool's announced premium mode or horizon change was applied.
    pub premium_change: bool,
    pub imbalance_score: Option<u64>,
    /// Requests executed (filled), refused by the program (refunded), cleared (expired or
    /// their position gone) and left waiting (no newer price, trigger not crossed, delay).
    pub requests_executed: usize,
    pub requests_refused: usize,
    pub requests_cleared: usize,
    pub requests_waiting: usize,
    pub keeper_fees: u64,
    pub positions: usize,
    pub liquidated: Vec<Liquidated>,
    /// Positions cut to their market's leverage over a close before it.
    pub reduced_before_close: Vec<ReducedBeforeClose>,
    /// Winners closed because traders' profit passed the pool's ceiling.
    pub deleveraged: Vec<Deleveraged>,
    /// The risk publication, when --risk-prices is given.
    pub risk: Option<String>,
    /// What happened to each crp.
    pub crp: Vec<String>,
    /// Transactions that failed (the round went on).
    pub errors: Vec<String>,
}

impl Round {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "[{}] funding on {} markets; IS {}; {} positions, {} liquidated\n",
            self.unix_time,
            self.funding_markets,
            self.imbalance_score
                .map_or("-".into(), |v| format!("{:.3}", v as f64 / 1e3)),
            self.positions,
            self.liquidated.len()
        );
        s += &format!(
            "  requests: {} executed, {} refused, {} cleared, {} waiting; fees {} lamports\n",
            self.requests_executed,
            self.requests_refused,
            self.requests_cleared,
            self.requests_waiting,
            self.keeper_fees
        );
        for l in &self.liquidated {
            s += &format!(
                "  liquidated {} on market {}: size {}, reward {:.6}, bad debt {:.6}\n",
                l.owner,
                l.market,
                l.size,
                l.keeper_reward as f64 / 1e6,
                l.bad_debt as f64 / 1e6
            );
        }
        for r in &self.reduced_before_close {
            s += &format!(
                "  cut before the close {} on market {}: {} of {}\n",
                r.owner, r.market, r.size, r.position_size
            );
        }
        for d in &self.deleveraged {
            s += &format!(
                "  deleveraged {} on market {}: size {}, profit {:.6}\n",
                d.owner,
                d.market,
                d.size,
                d.realized_pnl as f64 / 1e6
            );
        }
        if self.premium_change {
            s += "  premium change applied\n";
        }
        if self.closed_markets > 0 {
            s += &format!(
                "  markets closed by their schedule: {}\n",
                self.closed_markets
            );
        }
        if self.market_changes > 0 {
            s += &format!("  market changes applied: {}\n", self.market_changes);
        }
        if let Some(r) = &self.risk {
            s += &format!("  risk: {r}\n");
        }
        for c in &self.crp {
            s += &format!("  {c}\n");
        }
        for e in &self.errors {
            s += &format!("  error: {e}\n");
        }
        s
    }
}

/// One round of every chore.
pub fn run_round(
    t: &mut dyn Transport,
    keeper: &Keypair,
    args: &KeeperArgs,
) -> anyhow::Result<Round> {
    let pool_key = args.pool.pool;
    let pool = perp_pool(t, &pool_key)?;
    let now = t.unix_time()?;
    let mut round = Round {
        unix_time: now,
        ..Default::default()
    };
    let retries = args.retries;

    // funding, on the markets with open interest and open: a closed market's oracle is silent,
    // and the first accrual after the reopen covers the close (one stale print would fail the
    // whole transaction)
    let calendar = crate::client::fetch::calendar(t, &pool)?;
    let closed = crate::client::quote::closed_markets(&pool, calendar.as_deref(), now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    round.closed_markets = closed.count() as usize;
    let active: Vec<_> = pool.markets.iter().filter(|s| s.active == 1).collect();
    let funding: Vec<Instruction> = pool
        .markets
        .iter()
        .enumerate()
        .filter(|(i, s)| s.active == 1 && s.long_oi + s.short_oi > 0 && !closed.is_closed(*i))
        .map(|(_, s)| ix::update_funding(&pool_key, &s.market, &s.oracle))
        .collect();
    if !funding.is_empty() {
        match send_retrying(t, &funding, &[], retries) {
            Ok(()) => round.funding_markets = funding.len(),
            Err(e) => round.errors.push(format!(
                "update_funding: {}",
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    // announced market changes whose notice is over (a rate change accrues the old rate to
    // now itself)
    for slot in &active {
        let Some(data) = t.account_data(&ix::market_change_pda(&slot.market))? else {
            continue;
        };
        let change = decode::market_change(&data)?;
        if !change.is_pending() {
            continue;
        }
        // a market that keeps hours: due after a day of its open time (the program's rule)
        let due = match calendar.as_deref() {
            Some(c) if change.base.schedule != 0 => c
                .notice_due(core::iter::once(change.base.schedule), change.proposed_at)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .max(change.effective_at),
            _ => change.effective_at,
        };
        let window = perp_amm::state::MARKET_CHANGE_APPLY_WINDOW_SECS;
        if now < due || now > due + window {
            continue;
        }
        let apply = ix::apply_market_change(&pool_key, &slot.market, &slot.oracle);
        match send_retrying(t, &[apply], &[], retries) {
            Ok(()) => round.market_changes += 1,
            Err(e) => round.errors.push(format!(
                "apply_market_change: {}",
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    // an announced premium mode or horizon change whose notice is over
    let premium = pool.pending_premium;
    let window = perp_amm::state::MARKET_CHANGE_APPLY_WINDOW_SECS;
    // due after a day of every scheduled market's open time (the program's rule)
    let premium_due = match calendar.as_deref() {
        Some(c) if premium.is_pending() => {
            let proposed_at = premium.effective_at - perp_amm::state::MARKET_CHANGE_NOTICE_SECS;
            c.notice_due(pool.schedules(), proposed_at)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
        _ => premium.effective_at,
    }
    .max(premium.effective_at);
    if premium.is_pending() && now >= premium_due && now <= premium_due + window {
        match send_retrying(t, &[ix::apply_premium_change(&pool_key)], &[], retries) {
            Ok(()) => round.premium_change = true,
            Err(e) => round.errors.push(format!(
                "apply_premium_change: {}",
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    // a new risk model first, so that the Imbalance Score is re-marked under it
    if let Some(prices) = &args.risk_prices {
        let feed = RiskFeed {
            prices: prices.clone(),
            markets: args.risk_markets.clone(),
            window: args.risk_window,
        };
        match publish_if_newer(t, keeper, &pool_key, &feed) {
            Ok(None) => round.risk = Some("up to date".into()),
            Ok(Some(p)) => {
                round.risk = Some(format!(
                    "published revision {} as of {}{}",
                    p.revision,
                    p.as_of,
                    if p.target_reached {
                        ""
                    } else {
                        " (held back by a step bound)"
                    }
                ))
            }
            Err(e) => round.errors.push(format!("risk publication: {e:#}")),
        }
    }
    if pool.risk.model != Pubkey::default() {
        let oracles: Vec<Pubkey> = active.iter().map(|s| s.oracle).collect();
        match send_retrying(
            t,
            &[ix::refresh_imbalance(&pool_key, &oracles)],
            &[],
            retries,
        ) {
            Ok(()) => {}
            Err(e) => round.errors.push(format!(
                "refresh_imbalance: {}",
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }

    execute_requests(t, keeper, &pool_key, now, retries, &mut round)?;

    // liquidations
    // the keeper's reward goes to its associated account unless it names one: created with
    // the first liquidation if missing
    let (keeper_quote, create_keeper_quote) =
        payout_account(t, args.quote_account, &keeper.pubkey(), &pool.quote_mint)?;
    let positions: Vec<(Pubkey, Position)> = t
        .program_accounts(&perp_amm::ID, Position::DISCRIMINATOR)?
        .into_iter()
        .filter_map(|(k, a)| decode::position(&a.data).ok().map(|p| (k, p)))
        .filter(|(_, p)| p.pool == pool_key && p.size != 0)
        .collect();
    round.positions = positions.len();
    for (_, position) in positions {
        let market = decode::market(&t.account_data(&position.market)?.context("market")?)?;
        let view = trade_view(t, &pool_key, market.clone(), &position.owner)?;
        let pool = view.pool;
        let owner_quote = associated_token_address(&position.owner, &pool.quote_mint);
        let risk_model = (pool.risk.model != Pubkey::default()).then_some(pool.risk.model);
        let Ok(q) = quote_trade(&view, &position.owner, TradeAction::Liquidate, 0, now) else {
            // not liquidatable: above the leverage it may hold over a close that is an hour
            // away or less, it is cut to it
            let cut = TradeAction::ReduceBeforeClose;
            let Ok(q) = quote_trade(&view, &position.owner, cut, 0, now) else {
                continue;
            };
            let ixs = [
                create_ata_idempotent(&keeper.pubkey(), &position.owner, &pool.quote_mint),
                ix::reduce_before_close(
                    &keeper.pubkey(),
                    &pool_key,
                    &position.market,
                    &position.owner,
                    &market.oracle,
                    &owner_quote,
                    risk_model,
                ),
            ];
            match send_retrying(t, &ixs, &[keeper], retries) {
                Ok(()) => round.reduced_before_close.push(ReducedBeforeClose {
                    owner: position.owner.to_string(),
                    market: market.index,
                    size: -q.quote.size,
                    position_size: position.size,
                }),
                Err(e) => round.errors.push(format!(
                    "reduce_before_close {}: {}",
                    position.owner,
                    describe_error(&perp_amm::ID, &e)
                )),
            }
            continue;
        };
        // the owner's remaining collateral goes to their associated account: make sure it
        // exists (the keeper pays its rent)
        let mut ixs = create_keeper_quote.clone().into_iter().collect::<Vec<_>>();
        ixs.extend([
            create_ata_idempotent(&keeper.pubkey(), &position.owner, &pool.quote_mint),
            ix::liquidate(
                &keeper.pubkey(),
                &pool_key,
                &position.market,
                &position.owner,
                &market.oracle,
                &keeper_quote,
                &owner_quote,
                risk_model,
            ),
        ]);
        match send_retrying(t, &ixs, &[keeper], retries) {
            Ok(()) => round.liquidated.push(Liquidated {
                owner: position.owner.to_string(),
                market: market.index,
                size: position.size,
                keeper_reward: q.quote.keeper_reward,
                bad_debt: q.quote.bad_debt,
            }),
            Err(e) => round.errors.push(format!(
                "liquidate {}: {}",
                position.owner,
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    deleverage(t, keeper, &pool_key, now, retries, &mut round)?;
    let pool = decode::perp_pool(&t.account_data(&pool_key)?.context("pool")?)?;
    round.imbalance_score =
        (pool.risk.model != Pubkey::default()).then_some(pool.risk.imbalance_score);

    for crp in &args.crp {
        round.crp.push(keep_crp(t, keeper, crp, now, retries)?);
    }
    Ok(round)
}

/// Auto-deleveraging: while traders' profit is past the pool's ceiling, close winners, the
/// largest profit first, each quoted by the program's code first (so none is sent that would
/// fail), until the program's own check says the book is back within the ceiling.
fn deleverage(
    t: &mut dyn Transport,
    keeper: &Keypair,
    pool_key: &Pubkey,
    now: i64,
    retries: u32,
    round: &mut Round,
) -> anyhow::Result<()> {
    let pool = perp_pool(t, pool_key)?;
    let mut oracles = vec![];
    for slot in pool.markets.iter().filter(|s| s.active == 1) {
        oracles.push((
            slot.oracle,
            t.account(&slot.oracle)?.context("oracle account")?,
        ));
    }
    let positions: Vec<Position> = t
        .program_accounts(&perp_amm::ID, Position::DISCRIMINATOR)?
        .into_iter()
        .filter_map(|(_, a)| decode::position(&a.data).ok())
        .filter(|p| p.pool == *pool_key && p.size != 0)
        .collect();
    let mut winners = vec![];
    for position in positions {
        let market = decode::market(&t.account_data(&position.market)?.context("market")?)?;
        let view = trade_view(t, pool_key, market.clone(), &position.owner)?;
        match quote_deleverage(&view, &oracles, u64::MAX, now) {
            Ok(q) => winners.push((q.quote.realized_pnl, position, market)),
            // within the ceiling: nobody goes this round
            Err(r) if r.code == Some(perp_code(PerpError::ProfitWithinCeiling)) => return Ok(()),
            Err(_) => {}
        }
    }
    winners.sort_by_key(|w| std::cmp::Reverse(w.0));
    for (_, position, market) in winners {
        let view = trade_view(t, pool_key, market.clone(), &position.owner)?;
        let q = match quote_deleverage(&view, &oracles, u64::MAX, now) {
            Ok(q) => q,
            Err(r) if r.code == Some(perp_code(PerpError::ProfitWithinCeiling)) => break,
            Err(_) => continue,
        };
        let owner_quote = associated_token_address(&position.owner, &pool.quote_mint);
        let keys: Vec<Pubkey> = oracles.iter().map(|(k, _)| *k).collect();
        let ixs = [
            create_ata_idempotent(&keeper.pubkey(), &position.owner, &pool.quote_mint),
            ix::deleverage(
                &keeper.pubkey(),
                pool_key,
                &position.market,
                &position.owner,
                &market.oracle,
                &owner_quote,
                (pool.risk.model != Pubkey::default()).then_some(pool.risk.model),
                &keys,
                u64::MAX,
            ),
        ];
        match send_retrying(t, &ixs, &[keeper], retries) {
            Ok(()) => round.deleveraged.push(Deleveraged {
                owner: position.owner.to_string(),
                market: market.index,
                size: -q.quote.size,
                realized_pnl: q.quote.realized_pnl,
            }),
            Err(e) => round.errors.push(format!(
                "deleverage {}: {}",
                position.owner,
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    Ok(())
}

/// Execute or clear every pending request of the pool. A request the program will not take
/// yet (no price published after it, a trigger not crossed, a withdrawal's delay, a stale
/// price) waits for a later round.
fn execute_requests(
    t: &mut dyn Transport,
    keeper: &Keypair,
    pool_key: &Pubkey,
    now: i64,
    retries: u32,
    round: &mut Round,
) -> anyhow::Result<()> {
    use perp_amm::errors::PerpError as E;
    let code = perp_code;
    let waiting = [
        E::PriceBeforeRequest,
        E::TriggerNotReached,
        E::RequestNotReady,
        E::StaleOracle,
        E::OracleConfidence,
        E::Paused,
        // a market closed by its schedule: trigger orders wait for the reopen (a market order
        // expires and is cleared)
        E::MarketClosed,
    ]
    .map(code);
    let pool = perp_pool(t, pool_key)?;
    for (key, r) in requests::pending(t, pool_key, None)? {
        let gone = r.kind.acts_on_position()
            && t.account_data(&ix::position_pda(&r.market, &r.owner))?
                .and_then(|d| decode::position(&d).ok())
                .is_none_or(|p| p.size == 0 || p.opened_at != r.position_opened_at);
        let rr = ix::RequestRef::of(key, &r);
        if now > r.expires_ts || gone {
            let clear = ix::cancel_request(&keeper.pubkey(), pool_key, &rr);
            match send_retrying(t, &[clear], &[keeper], retries) {
                Ok(()) => round.requests_cleared += 1,
                Err(e) => round.errors.push(format!(
                    "clear {key}: {}",
                    describe_error(&perp_amm::ID, &e)
                )),
            }
            continue;
        }
        if now < r.executable_ts {
            round.requests_waiting += 1;
            continue;
        }
        let exec = requests::execute_ix(&keeper.pubkey(), pool_key, &pool, key, &r);
        match t.send_logs(&[exec], &[keeper]) {
            Ok(logs) => {
                round.keeper_fees += r.keeper_fee;
                match requests::outcome(&logs) {
                    Some((perp_amm::events::request_outcome::REFUSED, _)) => {
                        round.requests_refused += 1
                    }
                    _ => round.requests_executed += 1,
                }
            }
            Err(e) if e.code().is_some_and(|c| waiting.contains(&c)) => round.requests_waiting += 1,
            Err(e) => round.errors.push(format!(
                "execute {key}: {}",
                describe_error(&perp_amm::ID, &e)
            )),
        }
    }
    Ok(())
}

/// A crp's chores; returns what was done.
fn keep_crp(
    t: &mut dyn Transport,
    keeper: &Keypair,
    key: &Pubkey,
    now: i64,
    retries: u32,
) -> anyhow::Result<String> {
    let (p, k) = crp_pool(t, key)?;
    let mut send = |ix: Instruction, what: &str| -> String {
        match send_retrying(t, &[ix], &[keeper], retries) {
            Ok(()) => format!("crp {key}: {what}"),
            Err(e) => format!(
                "crp {key}: {what} refused: {}",
                describe_error(&collateral_pool::ID, &e)
            ),
        }
    };
    Ok(match p.status {
        crp_status::SETTLED => format!("crp {key}: settled"),
        _ if now >= p.expiry => send(cix::settle(&keeper.pubkey(), &k), "settle"),
        // a breach the pool recorded converts only on a print 300 s to 600 s later: report one
        crp_status::ACTIVE
            if p.breach_publish_ts != 0
                && now
                    >= p.breach_publish_ts
                        + collateral_pool::constants::CONVERSION_CONFIRM_SECS =>
        {
            send(
                cix::trigger_conversion(&keeper.pubkey(), &k),
                "confirm the conversion breach",
            )
        }
        crp_status::ACTIVE
            if now - p.last_rebalance_ts >= p.params.min_rebalance_interval_secs as i64 =>
        {
            // the rebalance records or confirms a conversion breach itself
            send(cix::rebalance(&keeper.pubkey(), &k), "rebalance")
        }
        crp_status::ACTIVE => format!(
            "crp {key}: rebalanced {}s ago, next in {}s",
            now - p.last_rebalance_ts,
            p.params.min_rebalance_interval_secs as i64 - (now - p.last_rebalance_ts)
        ),
        _ => format!("crp {key}: converting or converted, waiting for expiry"),
    })
}

/// Run rounds every `interval` seconds, printing each as it ends.
pub fn run(
    t: &mut dyn Transport,
    keeper: &Keypair,
    args: &KeeperArgs,
    mut log: impl FnMut(&Round),
) -> anyhow::Result<Vec<Round>> {
    let mut rounds = vec![];
    let mut n = 0;
    loop {
        let round = run_round(t, keeper, args)?;
        log(&round);
        rounds.push(round);
        n += 1;
        if args.rounds != 0 && n >= args.rounds {
            return Ok(rounds);
        }
        std::thread::sleep(std::time::Duration::from_secs(args.interval));
    }
}
