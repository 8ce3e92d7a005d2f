//! What the sandbox and scenarios do on chain, one method per action, each logged: trades
//! (quoted with the program's own code, placed as requests, executed by the desk's keeper one
//! second later at a price published then, and checked against the chain), take-profit and
//! stop-loss orders the keeper executes when a day's price crosses them, liquidations, LP
//! requests (withdrawals after the pool's delay), the keepers' chores and the day's balance
//! line.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, bail};
use perp_amm::instructions::{PlaceLpRequestArgs, PlaceOrderArgs};
use perp_amm::state::RequestKind;

use crate::client::perp as ix;
use crate::client::quote::{
    QuotedState, Refusal, TradeAction, pool_value, quote_trade, unrealized_by_market,
};
use crate::client::requests::{self, kind_name};
use crate::sandbox::events::{Event, What};
use crate::sandbox::world::{Actor, USD, World};
use crate::transport::Transport;

/// An LP and its LP-token account.
pub struct Lp {
    pub actor: Actor,
    pub lp_account: Pubkey,
}

/// A request the desk's keeper will come back to: a withdrawal waiting for its delay, or a
/// take-profit / stop-loss waiting for its trigger.
pub struct Pending {
    pub owner: Actor,
    /// The market (trigger orders), or the LP account (withdrawals).
    pub market: Option<usize>,
    pub lp: Option<Pubkey>,
    pub slot: u8,
    pub kind: RequestKind,
    /// The program held it back once already (a withdrawal waiting for capital).
    pub held: bool,
}

pub struct Desk {
    pub world: World,
    pub events: Vec<Event>,
    pub day: u32,
    pub date: String,
    /// The keeper: executes requests and liquidates.
    pub keeper: Actor,
    /// Requests the keeper will execute on a later day.
    pub pending: Vec<Pending>,
    /// LP capital as the log accounts for it: every logged fill's parts and every LP flow. The
    /// day's balance line checks it against the chain, so the report's attribution of the LP
    /// result is complete to the native unit.
    pub lp_ledger: i128,
}

fn tx(what: &'static str) -> impl Fn(crate::transport::TxError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {e}")
}

fn action_name(action: &TradeAction) -> &'static str {
    match action {
        TradeAction::Open { .. } => "open",
        TradeAction::Increase { .. } => "increase",
        TradeAction::Decrease { .. } => "decrease",
        TradeAction::Close => "close",
        TradeAction::Liquidate => "liquidate",
        TradeAction::ReduceBeforeClose => "reduce before close",
    }
}

impl Desk {
    pub fn new(mut world: World, date: String) -> anyhow::Result<Self> {
        let keeper = world.actor("keeper", 0)?;
        Ok(Desk {
            world,
            events: vec![],
            day: 0,
            date,
            keeper,
            pending: vec![],
            lp_ledger: 0,
        })
    }

    pub fn log(&mut self, what: What) {
        self.lp_ledger += match &what {
            What::Fill { lp, .. }
            | What::Liquidation { lp, .. }
            | What::Deleverage { lp, .. }
            | What::CloseReduction { lp, .. } => lp.lp_capital_change(),
            What::LpDeposit { amount, .. } => *amount as i128,
            What::LpWithdraw { amount, .. } => -(*amount as i128),
            _ => 0,
        };
        self.events.push(Event {
            day: self.day,
            date: self.date.clone(),
            what,
        });
    }

    /// Start a day: the clock, every open market's price, funding accrued on every open market.
    pub fn begin_day(
        &mut self,
        day: u32,
        date: &str,
        now: i64,
        prices: &[f64],
    ) -> anyhow::Result<()> {
        self.day = day;
        self.date = date.to_string();
        // executions tick the clock a second each: the set-up day may already be past noon
        self.world.set_time(now.max(self.world.now));
        self.world.push_prices(prices)?;
        let pool = self.world.pool;
        // funding accrues on a closed market too, but is charged by the first update after its
        // reopen (it needs a fresh print)
        let now = self.world.now;
        let ixs: Vec<_> = self
            .world
            .markets
            .iter()
            .enumerate()
            .filter(|(i, _)| self.world.is_open(*i, now))
            .map(|(_, m)| ix::update_funding(&pool, &m.key, &m.oracle))
            .collect();
        self.world
            .chain
            .send(&ixs, &[])
            .map_err(tx("update_funding"))
    }

    /// Re-mark the Imbalance Score on fresh prints of the day's prices (the day's requests
    /// tick the clock a second each).
    pub fn refresh_imbalance(&mut self) -> anyhow::Result<()> {
        let fresh = self.world.republish(None);
        self.world
            .chain
            .send(&fresh, &[])
            .map_err(tx("republish"))?;
        let ix = ix::refresh_imbalance(&self.world.pool, &self.world.oracles());
        self.world
            .chain
            .send(&[ix], &[])
            .map_err(tx("refresh_imbalance"))
    }

    pub fn fund_default_fund(&mut self, amount: u64) -> anyhow::Result<()> {
        if amount == 0 {
            return Ok(());
        }
        let funder = self.world.actor("default-fund", amount)?;
        let pool = self.world.pool;
        self.world
            .chain
            .send(
                &[ix::fund_default_fund(
                    &funder.key(),
                    &pool,
                    &funder.quote,
                    amount,
                )],
                &[&funder.kp],
            )
            .map_err(tx("fund_default_fund"))
    }

    /// An LP with its LP-token account and `quote` native units.
    pub fn lp(&mut self, name: &str, quote: u64) -> anyhow::Result<Lp> {
        let actor = self.world.actor(name, quote)?;
        let lp_mint = self.world.lp_mint;
        let lp_account = self.world.token_account(&lp_mint, &actor.key())?;
        Ok(Lp { actor, lp_account })
    }

    /// The keeper executes `owner`'s request in `slot` one second later, posting first the
    /// price (of `market`, or of every market for an LP request) stamped then: a price published
    /// after the request. Returns the refusal's code when the program refused the fill.
    fn execute_request(
        &mut self,
        owner: &Pubkey,
        slot: u8,
        market: Option<usize>,
    ) -> anyhow::Result<Option<u32>> {
        self.try_execute_request(owner, slot, market)?
            .map_err(tx("execute request"))
    }

    /// [`Desk::execute_request`], returning the program's refusal to execute as `Err`.
    fn try_execute_request(
        &mut self,
        owner: &Pubkey,
        slot: u8,
        market: Option<usize>,
    ) -> anyhow::Result<Result<Option<u32>, crate::transport::TxError>> {
        let now = self.world.now + 1;
        self.world.set_time(now);
        let pool_key = self.world.pool;
        let key = ix::request_pda(&pool_key, owner, slot);
        let data = self.world.chain.account_data(&key)?.context("request")?;
        let request = crate::client::decode::request(&data)?;
        let pool = self.world.pool_state()?;
        let mut ixs = self.world.republish(market);
        ixs.push(requests::execute_ix(
            &self.keeper.key(),
            &pool_key,
            &pool,
            key,
            &request,
        ));
        let logs = match self.world.chain.send_logs(&ixs, &[&self.keeper.kp]) {
            Ok(logs) => logs,
            Err(e) => return Ok(Err(e)),
        };
        let (outcome, reason) =
            requests::outcome(&logs).context("the execution returned no outcome")?;
        let refused = (outcome == perp_amm::events::request_outcome::REFUSED).then_some(reason);
        self.log_request(
            owner,
            market,
            request.kind,
            if refused.is_some() {
                "refused"
            } else {
                "executed"
            },
            request.keeper_fee,
        );
        Ok(Ok(refused))
    }

    fn log_request(
        &mut self,
        owner: &Pubkey,
        market: Option<usize>,
        kind: RequestKind,
        outcome: &str,
        keeper_fee: u64,
    ) {
        let market = market.map_or("-".into(), |m| self.world.markets[m].symbol.clone());
        self.log(What::Request {
            owner: owner.to_string(),
            market,
            order: kind_name(kind).into(),
            outcome: outcome.into(),
            keeper_fee,
        });
    }

    fn keeper_fee(&mut self) -> anyhow::Result<u64> {
        Ok(self.world.pool_state()?.min_keeper_fee_lamports)
    }

    /// Place an LP request in the owner's first free slot; a refusal is logged (false).
    fn place_lp(&mut self, lp: &Lp, kind: RequestKind, amount: u64) -> anyhow::Result<Option<u8>> {
        let pool = self.world.pool;
        let slot = requests::free_slot(&mut self.world.chain, &pool, &lp.actor.key())?;
        let args = PlaceLpRequestArgs {
            slot,
            kind,
            amount,
            min_out: 0,
            keeper_fee: self.keeper_fee()?,
            request_bump: 0,
        };
        let place = ix::place_lp_request(
            &lp.actor.key(),
            &pool,
            &lp.actor.quote,
            &lp.lp_account,
            args,
        );
        if let Err(e) = self.world.chain.send(&[place], &[&lp.actor.kp]) {
            self.refused(&lp.actor.name, "-", kind_name(kind), e);
            return Ok(None);
        }
        self.log_request(&lp.actor.key(), None, kind, "placed", args.keeper_fee);
        Ok(Some(slot))
    }

    /// Deposit through a request the keeper executes a second later; a refusal is logged and
    /// returns false.
    pub fn deposit(&mut self, lp: &Lp, amount: u64) -> anyhow::Result<bool> {
        let before = self.world.balance(&lp.lp_account)?;
        let Some(slot) = self.place_lp(lp, RequestKind::Deposit, amount)? else {
            return Ok(false);
        };
        if let Some(code) = self.execute_request(&lp.actor.key(), slot, None)? {
            self.refused_code(&lp.actor.name, "-", "deposit", code);
            return Ok(false);
        }
        let shares = self.world.balance(&lp.lp_account)? - before;
        let closed_markets = self.closed_with_interest()?;
        self.log(What::LpDeposit {
            lp: lp.actor.name.clone(),
            amount,
            shares,
            closed_markets,
        });
        Ok(true)
    }

    /// Request a withdrawal of `shares`: escrowed now, executed by the keeper on the first day
    /// its delay has passed (`run_pending`), or a second later in a pool without a delay.
    /// False if the request was refused (or, without a delay, held back: then cancelled).
    pub fn withdraw(&mut self, lp: &Lp, shares: u64) -> anyhow::Result<bool> {
        let Some(slot) = self.place_lp(lp, RequestKind::Withdraw, shares)? else {
            return Ok(false);
        };
        if self.world.pool_state()?.withdrawal_delay_secs == 0 {
            return self.withdraw_now(lp, slot, shares);
        }
        self.pending.push(Pending {
            owner: lp.actor.clone(),
            market: None,
            lp: Some(lp.lp_account),
            slot,
            kind: RequestKind::Withdraw,
            held: false,
        });
        Ok(true)
    }

    /// Execute `lp`'s withdrawal in `slot` a second later; one the program holds back is logged
    /// as refused and cancelled by its owner.
    fn withdraw_now(&mut self, lp: &Lp, slot: u8, shares: u64) -> anyhow::Result<bool> {
        let owner = lp.actor.key();
        let before = self.world.balance(&lp.actor.quote)?;
        match self.try_execute_request(&owner, slot, None)? {
            Err(e) => {
                self.refused(&lp.actor.name, "-", "withdraw", e);
                let key = ix::request_pda(&self.world.pool, &owner, slot);
                let data = self.world.chain.account_data(&key)?.context("request")?;
                let request = crate::client::decode::request(&data)?;
                let cancel = ix::cancel_request(
                    &owner,
                    &self.world.pool,
                    &ix::RequestRef::of(key, &request),
                );
                self.world
                    .chain
                    .send(&[cancel], &[&lp.actor.kp])
                    .map_err(tx("cancel withdrawal"))?;
                self.log_request(&owner, None, RequestKind::Withdraw, "cancelled", 0);
                Ok(false)
            }
            Ok(Some(code)) => {
                self.refused_code(&lp.actor.name, "-", "withdraw", code);
                Ok(false)
            }
            Ok(None) => {
                let amount = self.world.balance(&lp.actor.quote)? - before;
                let closed_markets = self.closed_with_interest()?;
                self.log(What::LpWithdraw {
                    lp: lp.actor.name.clone(),
                    shares,
                    amount,
                    closed_markets,
                });
                Ok(true)
            }
        }
    }

    /// The keeper's round over pending requests at the day's prices: withdrawals whose delay
    /// has passed, trigger orders whose trigger the price crossed (quoted first, checked
    /// after), and those whose position is gone (cleared). Returns the (owner, market) of the
    /// positions a trigger order closed.
    pub fn run_pending(&mut self) -> anyhow::Result<Vec<(Pubkey, usize)>> {
        let mut closed = vec![];
        let pending = std::mem::take(&mut self.pending);
        let mut keep = vec![];
        for p in pending {
            let owner = p.owner.key();
            let key = ix::request_pda(&self.world.pool, &owner, p.slot);
            let Some(data) = self.world.chain.account_data(&key)? else {
                continue; // cancelled by its owner
            };
            let request = crate::client::decode::request(&data)?;
            if p.kind == RequestKind::Withdraw {
                if self.world.now + 1 < request.executable_ts {
                    keep.push(p);
                    continue;
                }
                let before = self.world.balance(&p.owner.quote)?;
                match self.try_execute_request(&owner, p.slot, None)? {
                    // held back (capital reserved for open positions): it stays pending, and
                    // is logged as refused the first time
                    Err(e) => {
                        if !p.held {
                            self.refused(&p.owner.name, "-", "withdraw", e);
                        }
                        keep.push(Pending { held: true, ..p });
                    }
                    Ok(Some(code)) => self.refused_code(&p.owner.name, "-", "withdraw", code),
                    Ok(None) => {
                        let amount = self.world.balance(&p.owner.quote)? - before;
                        let closed_markets = self.closed_with_interest()?;
                        self.log(What::LpWithdraw {
                            lp: p.owner.name.clone(),
                            shares: request.size as u64,
                            amount,
                            closed_markets,
                        });
                    }
                }
                continue;
            }
            let market = p.market.context("a trigger order without a market")?;
            let position = self.world.position(market, &owner)?;
            let gone = position
                .as_ref()
                .is_none_or(|pos| pos.size == 0 || pos.opened_at != request.position_opened_at);
            if gone || self.world.now > request.expires_ts {
                self.clear(&p, key, &request)?;
                continue;
            }
            let price = self.world.prices[market];
            let trigger = request.trigger_price_e9 as f64 / 1e9;
            let long = position.as_ref().is_some_and(|pos| pos.size > 0);
            let crossed = match (p.kind, long) {
                (RequestKind::TakeProfit, true) | (RequestKind::StopLoss, false) => {
                    price >= trigger
                }
                _ => price <= trigger,
            };
            if !crossed {
                keep.push(p);
                continue;
            }
            let view = self.world.trade_view(market, &owner)?;
            let limit = if long { 0 } else { u64::MAX };
            // the program holds a triggered close it would refuse now (a cap the book is at):
            // it stays pending for a later day
            let Ok(q) = quote_trade(&view, &owner, TradeAction::Close, limit, self.world.now + 1)
            else {
                keep.push(p);
                continue;
            };
            if let Some(code) = self.execute_request(&owner, p.slot, Some(market))? {
                bail!(
                    "{}: a triggered close the quote accepted was refused ({code})",
                    self.date
                );
            }
            self.check(market, &owner, &q)?;
            self.log_fill(&p.owner.name, market, kind_name(p.kind), &q);
            closed.push((owner, market));
        }
        self.pending.extend(keep);
        Ok(closed)
    }

    /// The keeper clears a request (expired, or its position gone): its owner gets it all back.
    fn clear(
        &mut self,
        p: &Pending,
        key: Pubkey,
        request: &perp_amm::state::Request,
    ) -> anyhow::Result<()> {
        let i = ix::cancel_request(
            &self.keeper.key(),
            &self.world.pool,
            &ix::RequestRef::of(key, request),
        );
        self.world
            .chain
            .send(&[i], &[&self.keeper.kp])
            .map_err(tx("clear request"))?;
        self.log_request(
            &p.owner.key(),
            p.market,
            p.kind,
            "cleared",
            request.keeper_fee,
        );
        Ok(())
    }

    /// Take-profit and stop-loss orders on `actor`'s whole position in `market`, `take` and
    /// `stop` away from `price` (fractions), for the keeper to execute when crossed.
    pub fn protect(
        &mut self,
        actor: &Actor,
        market: usize,
        take: f64,
        stop: f64,
    ) -> anyhow::Result<()> {
        let owner = actor.key();
        let Some(position) = self.world.position(market, &owner)? else {
            return Ok(());
        };
        let long = position.size > 0;
        let price = self.world.prices[market];
        let sign = if long { 1.0 } else { -1.0 };
        for (kind, at) in [
            (RequestKind::TakeProfit, price * (1.0 + sign * take)),
            (RequestKind::StopLoss, price * (1.0 - sign * stop)),
        ] {
            let pool = self.world.pool;
            let slot = requests::free_slot(&mut self.world.chain, &pool, &owner)?;
            let args = PlaceOrderArgs {
                slot,
                kind,
                size: 0,
                collateral: 0,
                // a stop-loss takes whatever price the market gaps to
                acceptable_price_e9: if long { 0 } else { u64::MAX },
                trigger_price_e9: (at * 1e9).round() as u64,
                expires_ts: self.world.now + 60 * 86_400,
                keeper_fee: self.keeper_fee()?,
                request_bump: 0,
                position_bump: 0,
            };
            let m = self.world.markets[market].key;
            let place = ix::place_order(&owner, &pool, &m, &actor.quote, args);
            self.world
                .chain
                .send(&[place], &[&actor.kp])
                .map_err(tx("place trigger order"))?;
            self.log_request(&owner, Some(market), kind, "placed", args.keeper_fee);
            self.pending.push(Pending {
                owner: actor.clone(),
                market: Some(market),
                lp: None,
                slot,
                kind,
                held: false,
            });
        }
        Ok(())
    }

    /// The owner cancels its trigger orders on `market` (its position there was closed).
    pub fn cancel_triggers(&mut self, actor: &Actor, market: usize) -> anyhow::Result<()> {
        let owner = actor.key();
        let (mine, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.owner.key() == owner && p.market == Some(market));
        self.pending = rest;
        for p in mine {
            let key = ix::request_pda(&self.world.pool, &owner, p.slot);
            let Some(data) = self.world.chain.account_data(&key)? else {
                continue;
            };
            let request = crate::client::decode::request(&data)?;
            let i =
                ix::cancel_request(&owner, &self.world.pool, &ix::RequestRef::of(key, &request));
            self.world
                .chain
                .send(&[i], &[&actor.kp])
                .map_err(tx("cancel request"))?;
            self.log_request(
                &owner,
                Some(market),
                p.kind,
                "cancelled",
                request.keeper_fee,
            );
        }
        Ok(())
    }

    fn refused_code(&mut self, who: &str, market: &str, action: &str, code: u32) {
        let error = crate::client::errors::error_name(&perp_amm::ID, code)
            .unwrap_or_else(|| format!("error {code}"));
        self.log(What::Refused {
            trader: who.to_string(),
            market: market.to_string(),
            action: action.to_string(),
            code: Some(code),
            error,
        });
    }

    /// Log a perp-amm instruction the program refused, with its error's name.
    fn refused(&mut self, who: &str, market: &str, action: &str, e: crate::transport::TxError) {
        let error = e
            .code()
            .and_then(|c| crate::client::errors::error_name(&perp_amm::ID, c))
            .unwrap_or_else(|| e.to_string());
        self.log(What::Refused {
            trader: who.to_string(),
            market: market.to_string(),
            action: action.to_string(),
            code: e.code(),
            error,
        });
    }

    /// After a trade: the chain's position and pool equal what the quote computed.
    fn check(&mut self, market: usize, owner: &Pubkey, q: &QuotedState) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let position = self.world.position(market, owner)?;
        let got = position
            .map(|p| (p.size, p.collateral, p.entry_notional))
            .unwrap_or((0, 0, 0));
        let expected = (
            q.quote.position_size,
            q.quote.position_collateral,
            q.quote.position_entry_notional,
        );
        let pool_got = (
            pool.lp_capital,
            pool.default_fund,
            pool.total_collateral,
            pool.risk.imbalance_score,
        );
        let pool_expected = (
            q.pool.lp_capital,
            q.pool.default_fund,
            q.pool.total_collateral,
            q.pool.risk.imbalance_score,
        );
        if got != expected || pool_got != pool_expected {
            bail!(
                "{}: the chain differs from the quote on market {market}: position {got:?} vs \
                 {expected:?}, pool {pool_got:?} vs {pool_expected:?}",
                self.date
            );
        }
        Ok(())
    }

    fn log_fill(&mut self, trader: &str, market: usize, action: &str, q: &QuotedState) {
        self.log(What::Fill {
            trader: trader.to_string(),
            market: self.world.markets[market].symbol.clone(),
            action: action.into(),
            size: q.quote.size,
            oracle_price: q.quote.oracle_price,
            fill_price: q.quote.fill_price,
            q: q.quote.q,
            premium: q.quote.premium,
            premium_released: q.quote.premium_released,
            fees: q.quote.fees,
            funding_paid: q.quote.funding_paid,
            realized_pnl: q.quote.realized_pnl,
            payout: q.quote.payout,
            imbalance_after: q.quote.imbalance_after,
            lp: q.quote.lp,
        });
    }

    /// Quote one trade by `actor` on `market` at the moment the keeper will execute it, place
    /// it as a market request, have the keeper execute it a second later at the day's price
    /// (re-published then), and check the chain against the quote. A trade the program would
    /// refuse is logged with its error and returned as `Err(refusal)`; one the quote accepts
    /// must land exactly as quoted, or this fails. A close cancels the position's trigger
    /// orders.
    pub fn trade(
        &mut self,
        actor: &Actor,
        market: usize,
        action: TradeAction,
    ) -> anyhow::Result<Result<QuotedState, Refusal>> {
        let owner = actor.key();
        let view = self.world.trade_view(market, &owner)?;
        let symbol = self.world.markets[market].symbol.clone();
        let label = action_name(&action);
        let limit_for = |buy: bool| if buy { u64::MAX } else { 0 };
        let long = view.position.as_ref().is_some_and(|p| p.size > 0);
        let limit = match action {
            TradeAction::Open { size, .. } | TradeAction::Increase { size, .. } => {
                limit_for(size > 0)
            }
            _ => limit_for(!long),
        };
        let executes_at = self.world.now + 1;
        let q = match quote_trade(&view, &owner, action, limit, executes_at) {
            Ok(q) => q,
            Err(r) => {
                self.log(What::Refused {
                    trader: actor.name.clone(),
                    market: symbol,
                    action: label.into(),
                    code: r.code,
                    error: r.name.clone(),
                });
                return Ok(Err(r));
            }
        };
        let (kind, size, collateral) = match action {
            TradeAction::Open { size, collateral } | TradeAction::Increase { size, collateral } => {
                (RequestKind::MarketIncrease, size, collateral)
            }
            TradeAction::Decrease { size } => (RequestKind::MarketReduce, size as i64, 0),
            TradeAction::Close => (RequestKind::MarketReduce, 0, 0),
            TradeAction::Liquidate | TradeAction::ReduceBeforeClose => {
                bail!("traders do not liquidate nor reduce others: see the keeper's methods")
            }
        };
        let pool = self.world.pool;
        let slot = requests::free_slot(&mut self.world.chain, &pool, &owner)?;
        let args = PlaceOrderArgs {
            slot,
            kind,
            size,
            collateral,
            acceptable_price_e9: limit,
            trigger_price_e9: 0,
            expires_ts: 0,
            keeper_fee: self.keeper_fee()?,
            request_bump: 0,
            position_bump: 0,
        };
        let m = self.world.markets[market].key;
        let place = ix::place_order(&owner, &pool, &m, &actor.quote, args);
        self.world.chain.send(&[place], &[&actor.kp]).map_err(|e| {
            anyhow::anyhow!(
                "{}: {} {label} {symbol}: the quote accepted it, placing it failed: {e}",
                self.date,
                actor.name
            )
        })?;
        self.log_request(&owner, Some(market), kind, "placed", args.keeper_fee);
        if let Some(code) = self.execute_request(&owner, slot, Some(market))? {
            bail!(
                "{}: {} {label} {symbol}: the quote accepted it, the keeper's execution was \
                 refused with {code}",
                self.date,
                actor.name
            );
        }
        self.check(market, &owner, &q)?;
        self.log_fill(&actor.name, market, label, &q);
        if q.quote.position_size == 0 {
            self.cancel_triggers(actor, market)?;
        }
        Ok(Ok(q))
    }

    /// Markets with open interest that their hours have closed now.
    pub fn closed_with_interest(&mut self) -> anyhow::Result<u32> {
        let pool = self.world.pool_state()?;
        let now = self.world.now;
        Ok((0..self.world.markets.len())
            .filter(|&m| {
                let slot = &pool.markets[m];
                (slot.long_oi != 0 || slot.short_oi != 0) && !self.world.is_open(m, now)
            })
            .count() as u32)
    }

    /// The liquidation keeper on `owner`'s position in `market`: liquidated if the program
    /// would (quoted first, checked after). Returns whether it was.
    pub fn liquidate(&mut self, owner: &Actor, market: usize) -> anyhow::Result<bool> {
        self.liquidate_at(owner, market, false, false)
    }

    /// [`Desk::liquidate`] by the keeper watching between two daily closes (logged as such);
    /// `at_reopen`: on the market's first price after a closed stretch.
    pub fn liquidate_intraday(
        &mut self,
        owner: &Actor,
        market: usize,
        at_reopen: bool,
    ) -> anyhow::Result<bool> {
        self.liquidate_at(owner, market, true, at_reopen)
    }

    /// The keeper in the hour before a long close: `owner`'s position in `market` cut to the
    /// leverage it may hold over the close if the program would (quoted first, checked after).
    /// Returns whether it was cut, and whether that closed it.
    pub fn reduce_before_close(
        &mut self,
        owner: &Actor,
        market: usize,
    ) -> anyhow::Result<Option<bool>> {
        let key = owner.key();
        let view = self.world.trade_view(market, &key)?;
        let Some(before) = view.position.clone() else {
            return Ok(None);
        };
        let now = self.world.now;
        let cut = TradeAction::ReduceBeforeClose;
        let Ok(q) = quote_trade(&view, &key, cut, 0, now) else {
            return Ok(None);
        };
        let m = &self.world.markets[market];
        let (symbol, base_decimals) = (m.symbol.clone(), m.base_decimals);
        let ix = ix::reduce_before_close(
            &self.keeper.key(),
            &self.world.pool,
            &m.key,
            &key,
            &m.oracle,
            &owner.quote,
            Some(self.world.risk_model),
        );
        let mut ixs = self.world.republish(Some(market));
        ixs.push(ix);
        self.world
            .chain
            .send(&ixs, &[&self.keeper.kp])
            .map_err(|e| {
                anyhow::anyhow!("a cut before the close the quote accepted failed: {e}")
            })?;
        self.check(market, &key, &q)?;
        let unit = q.quote.oracle_price / 10f64.powi(base_decimals as i32);
        let leverage = |p: &perp_amm::state::Position| {
            let value = p.size as f64 * unit;
            let equity =
                p.collateral as f64 / USD as f64 + value - p.entry_notional as f64 / USD as f64;
            if p.size == 0 || equity <= 0.0 {
                0.0
            } else {
                value.abs() / equity
            }
        };
        let size = -q.quote.size;
        self.log(What::CloseReduction {
            owner: owner.name.clone(),
            market: symbol,
            size,
            oracle_price: q.quote.oracle_price,
            notional: (size.unsigned_abs() as f64 * unit * USD as f64) as u64,
            leverage_before: leverage(&before),
            leverage_after: leverage(&q.position),
            fees: q.quote.fees,
            premium: q.quote.premium,
            lp: q.quote.lp,
        });
        Ok(Some(q.quote.position_size == 0))
    }

    fn liquidate_at(
        &mut self,
        owner: &Actor,
        market: usize,
        intraday: bool,
        at_reopen: bool,
    ) -> anyhow::Result<bool> {
        let key = owner.key();
        let view = self.world.trade_view(market, &key)?;
        if view.position.is_none() {
            return Ok(false);
        }
        let Ok(q) = quote_trade(&view, &key, TradeAction::Liquidate, 0, self.world.now) else {
            return Ok(false);
        };
        let m = &self.world.markets[market];
        let symbol = m.symbol.clone();
        let ix = ix::liquidate(
            &self.keeper.key(),
            &self.world.pool,
            &m.key,
            &key,
            &m.oracle,
            &self.keeper.quote,
            &owner.quote,
            Some(self.world.risk_model),
        );
        // with a fresh print of the day's price first, as a keeper posts one (a liquidation
        // takes a print at most 10 s old)
        let mut ixs = self.world.republish(Some(market));
        ixs.push(ix);
        self.world
            .chain
            .send(&ixs, &[&self.keeper.kp])
            .map_err(|e| anyhow::anyhow!("a liquidation the quote accepted failed: {e}"))?;
        self.check(market, &key, &q)?;
        self.log(What::Liquidation {
            owner: owner.name.clone(),
            market: symbol,
            size: -q.quote.size,
            oracle_price: q.quote.oracle_price,
            keeper_reward: q.quote.keeper_reward,
            returned_to_owner: q.quote.payout,
            bad_debt: q.quote.bad_debt,
            lp: q.quote.lp,
            intraday,
            at_reopen,
        });
        Ok(true)
    }

    /// The risk keeper: publish σ and R (full, row-major) as close to the target as the model's
    /// step bounds allow (`commands::risk::publish`), as of now.
    pub fn publish_risk(
        &mut self,
        target_sigma: Vec<f64>,
        target_corr: Vec<f64>,
    ) -> anyhow::Result<()> {
        let keeper = self.world.risk_keeper.insecure_clone();
        let p = crate::commands::risk::publish(
            &mut self.world.chain,
            &keeper,
            &self.world.pool,
            &target_sigma,
            &target_corr,
            self.world.now,
        )?;
        self.log(What::RiskPublished {
            as_of: p.as_of,
            sigma_e9: p.sigma_e9,
            max_corr_step_e9: p.max_corr_step_e9 as u64,
        });
        Ok(())
    }

    /// The day's balance line (and the vault check: it must hold exactly the pool's balances).
    pub fn snapshot(&mut self, prices: &[f64], open_positions: u32) -> anyhow::Result<()> {
        let pool = self.world.pool_state()?;
        let vault_key = self.world.vault;
        let vault = self.world.balance(&vault_key)?;
        anyhow::ensure!(
            vault as u128
                == pool.lp_capital as u128
                    + pool.default_fund as u128
                    + pool.total_collateral as u128
                    + pool.request_escrow as u128
                    + pool.premium_total(),
            "{}: vault {vault} != LP capital + default fund + collateral + request escrow + premium balances",
            self.date
        );
        anyhow::ensure!(
            self.lp_ledger == pool.lp_capital as i128,
            "{}: LP capital {} != {} that the logged fills and LP flows account for",
            self.date,
            pool.lp_capital,
            self.lp_ledger
        );
        let lp_mint = self.world.lp_mint;
        let lp_supply = self.world.supply(&lp_mint)?;
        let mut oracles = Vec::with_capacity(self.world.markets.len());
        for key in self.world.oracles() {
            let account = self.world.chain.account(&key)?.context("oracle")?;
            oracles.push((key, account));
        }
        let calendar = crate::client::fetch::calendar(&mut self.world.chain, &pool)?;
        let calendar = calendar.as_deref();
        let (value, _) = pool_value(&pool, &self.world.pool, &oracles, calendar, self.world.now)
            .map_err(|e| anyhow::anyhow!("valuing the pool: {e}"))?;
        let unrealized =
            unrealized_by_market(&pool, &self.world.pool, &oracles, calendar, self.world.now)
                .map_err(|e| anyhow::anyhow!("valuing the markets: {e}"))?;
        anyhow::ensure!(
            unrealized.iter().map(|&u| u as i128).sum::<i128>() == pool.lp_capital as i128 - value,
            "{}: the markets' unrealised PnL does not add up to the pool's",
            self.date
        );
        let now = self.world.now;
        let closed = (0..self.world.markets.len())
            .filter(|&m| !self.world.is_open(m, now))
            .map(|m| self.world.markets[m].symbol.clone())
            .collect();
        let (mut long_value, mut short_value) = (0.0, 0.0);
        for (i, m) in self.world.markets.iter().enumerate() {
            let slot = &pool.markets[i];
            let unit = prices[i] / 10f64.powi(m.base_decimals as i32);
            long_value += slot.long_oi as f64 * unit;
            short_value += slot.short_oi as f64 * unit;
        }
        self.log(What::Day {
            prices: prices.to_vec(),
            lp_capital: pool.lp_capital,
            default_fund: pool.default_fund,
            total_collateral: pool.total_collateral,
            premium_balance: pool.premium_total() as u64,
            vault,
            pool_value: value as i64,
            lp_supply: lp_supply + pool.dead_shares,
            imbalance_score: pool.risk.imbalance_score,
            exposure_norm: pool.risk.exposure_norm,
            open_positions,
            long_oi_value: (long_value * USD as f64) as u64,
            short_oi_value: (short_value * USD as f64) as u64,
            unrealized,
            closed,
        });
        Ok(())
    }
}
