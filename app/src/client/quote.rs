//! Quotes: what a trade would get, computed from the chain's current accounts by the program's
//! own code (`perp_amm::engine::apply_*` on copies of the pool and the position, the oracle read
//! by `perp_amm::state::load_price` through a plain `AccountView`), so a quote differs from the
//! fill only if the accounts change in between.

use anchor_lang::prelude::Pubkey;
use keel_math::Fix;
use keel_onchain::AccountView;
use perp_amm::engine::{
    FillOutcome, TradeInput, apply_close, apply_decrease, apply_deleverage, apply_increase,
    apply_liquidation, apply_reduce_before_close, check_increase, check_open,
};
use perp_amm::errors::PerpError;
use perp_amm::state::{
    Calendar, ClosedMarkets, Market, OracleUse, Pool, Position, RiskModel, limit_price,
    load_pool_marks, load_price, pause,
};
use serde::Serialize;

use crate::transport::RawAccount;

impl RawAccount {
    /// The account as the programs' oracle readers take it.
    pub fn view<'a>(&'a self, key: &'a Pubkey) -> AccountView<'a> {
        AccountView {
            key,
            owner: &self.owner,
            data: &self.data,
        }
    }
}

/// The accounts a trade reads, decoded.
#[derive(Clone)]
pub struct TradeView {
    pub pool_key: Pubkey,
    pub pool: Pool,
    pub market: Market,
    /// The trader's position, if open.
    pub position: Option<Position>,
    pub oracle: RawAccount,
    pub model: Option<RiskModel>,
    /// The pool's market-hours calendar, if it has one.
    pub calendar: Option<Box<Calendar>>,
}

impl TradeView {
    fn oracle_view(&self) -> AccountView<'_> {
        self.oracle.view(&self.market.oracle)
    }

    /// As the program's `market_context`: the market is open at `ts` (now, before reading
    /// the price; then the print's publish time).
    fn require_open(&self, ts: i64) -> Result<(), Refusal> {
        if let Some(calendar) = &self.calendar
            && !calendar
                .is_open(self.market.params.schedule, ts)
                .map_err(refusal)?
        {
            return Err(refusal(anchor_lang::error!(PerpError::MarketClosed)));
        }
        Ok(())
    }

    /// As the program's `leverage_cap`: the market's leverage, or in the hour before a long
    /// close the leverage it may hold over it.
    fn leverage_cap(&self, now: i64) -> Result<u32, Refusal> {
        Ok(if self.closing_soon(now)? {
            self.market.params.leverage_over_close()
        } else {
            self.market.params.max_leverage
        })
    }

    /// As the program's `closing_soon`: within the hour before a long close.
    pub fn closing_soon(&self, now: i64) -> Result<bool, Refusal> {
        match &self.calendar {
            Some(c) if self.market.params.schedule != 0 => c
                .closing_soon(self.market.params.schedule, now)
                .map_err(refusal),
            _ => Ok(false),
        }
    }

    /// Markets closed now (`Calendar::closed_markets`).
    fn closed(&self, now: i64) -> Result<ClosedMarkets, Refusal> {
        closed_markets(&self.pool, self.calendar.as_deref(), now)
    }
}

/// Bit i set when market i holds open interest and is closed now (the program's
/// `closed_markets`).
pub fn closed_markets(
    pool: &Pool,
    calendar: Option<&Calendar>,
    now: i64,
) -> Result<ClosedMarkets, Refusal> {
    match calendar {
        None => Ok(ClosedMarkets::default()),
        Some(c) => c.closed_markets(pool, now).map_err(refusal),
    }
}

/// The trade to quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeAction {
    /// Open a position (`size` signed, base native) posting `collateral` (quote native).
    Open {
        size: i64,
        collateral: u64,
    },
    /// Add `size` (with the position's sign) and `collateral`.
    Increase {
        size: i64,
        collateral: u64,
    },
    /// Remove `size` base native units.
    Decrease {
        size: u64,
    },
    Close,
    /// A keeper liquidates the position.
    Liquidate,
    /// A keeper brings the position down to the leverage it may hold over the coming close.
    ReduceBeforeClose,
}

/// What the trade gets, in native units (quote native unless noted).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TradeQuote {
    /// The fill's signed size, base native.
    pub size: i64,
    /// Oracle price and the average fill price, quote per base in whole units.
    pub oracle_price: f64,
    pub fill_price: f64,
    /// The pool's default probability after the fill (the market's in per-market mode).
    pub q: f64,
    /// Premium paid by the trader (negative: a rebate): the change of the book's insurance
    /// value, a rebate capped by the book's premium balance.
    pub premium: i64,
    /// Premium balance released to LP capital by the fill.
    pub premium_released: u64,
    /// Trading fee plus half-spread.
    pub fees: u64,
    pub funding_paid: u64,
    pub realized_pnl: i64,
    pub bad_debt: u64,
    /// Collateral paid out to the owner (close, liquidation).
    pub payout: u64,
    /// Liquidations: the keeper's reward.
    pub keeper_reward: u64,
    /// The pool's Imbalance Score before and after, 1e-3 quote tokens.
    pub imbalance_before: u64,
    pub imbalance_after: u64,
    /// The position after the trade (size 0 once closed).
    pub position_size: i64,
    pub position_collateral: u64,
    pub position_entry_notional: i64,
    /// What the fill moved in and out of LP capital.
    pub lp: LpParts,
    /// Fills the action takes: one, or for a cut before a close one more each time an
    /// insurance charge outran its margin.
    pub fills: u8,
}

/// A fill's cash to and from LP capital, part by part (native units): the sum
/// [`LpParts::lp_capital_change`] is exactly the fill's change of `lp_capital`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LpParts {
    /// The LP share of the trading fees collected.
    pub fees: u64,
    /// Funding collected from the position.
    pub funding: u64,
    /// Premiums the position paid and did not get back, released to LP capital as it closed.
    pub premium_released: u64,
    /// The trader's realised loss owed and the part its collateral paid (the rest is bad debt).
    pub loss_owed: u64,
    pub loss_taken: u64,
    /// The trader's realised profit paid from LP capital, and from the default fund once LP
    /// capital ran out (not LP money).
    pub profit_paid: u64,
    pub profit_from_default_fund: u64,
    /// Bad debt the default fund paid to LP capital.
    pub default_fund_cover: u64,
}

impl LpParts {
    pub fn of(fill: &FillOutcome) -> Self {
        LpParts {
            fees: fill.lp.fees,
            funding: fill.lp.funding,
            premium_released: fill.premium_released,
            loss_owed: fill.lp.loss_owed,
            loss_taken: fill.lp.loss_taken,
            profit_paid: fill.lp.profit_paid,
            profit_from_default_fund: fill.lp.profit_from_default_fund,
            default_fund_cover: fill.bad_debt_covered,
        }
    }

    /// The fill's change of LP capital.
    pub fn lp_capital_change(&self) -> i128 {
        self.fees as i128
            + self.funding as i128
            + self.premium_released as i128
            + self.loss_taken as i128
            + self.default_fund_cover as i128
            - self.profit_paid as i128
    }
}

/// The pool and position after a quoted trade, for comparing with the chain.
#[derive(Clone)]
pub struct QuotedState {
    pub quote: TradeQuote,
    pub pool: Pool,
    pub position: Position,
}

/// Why the program would refuse the trade: its error code and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: Option<u32>,
    pub name: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} ({c})", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl std::error::Error for Refusal {}

fn refusal(e: anchor_lang::error::Error) -> Refusal {
    match e {
        anchor_lang::error::Error::AnchorError(a) => Refusal {
            code: Some(a.error_code_number),
            name: a.error_name,
        },
        anchor_lang::error::Error::ProgramError(p) => Refusal {
            code: None,
            name: format!("{:?}", p.program_error),
        },
    }
}

fn whole_price(price: Fix, market: &Market, quote_decimals: u8) -> f64 {
    price.to_num::<f64>() * 10f64.powi(market.base_decimals as i32 - quote_decimals as i32)
}

/// Quote `action` for `owner` at `now` with the limit `price_limit_e9` (quote per base ×1e9;
/// 0 / u64::MAX: none), exactly as the instruction would execute it.
pub fn quote_trade(
    view: &TradeView,
    owner: &Pubkey,
    action: TradeAction,
    price_limit_e9: u64,
    now: i64,
) -> Result<QuotedState, Refusal> {
    let mut pool = view.pool;
    let market = &view.market;
    let (group, usage) = match action {
        TradeAction::Open { .. } | TradeAction::Increase { .. } => {
            (pause::OPEN, OracleUse::RiskIncreasing)
        }
        TradeAction::Decrease { .. } | TradeAction::Close => {
            (pause::CLOSE, OracleUse::RiskReducing)
        }
        TradeAction::Liquidate => (pause::LIQUIDATE, OracleUse::RiskIncreasing),
        TradeAction::ReduceBeforeClose => {
            (pause::LIQUIDATE | pause::CLOSE, OracleUse::RiskIncreasing)
        }
    };
    pool.require_not_paused(group).map_err(refusal)?;
    view.require_open(now)?;
    let price = load_price(
        &view.oracle_view(),
        &market.oracle_spec(),
        &view.pool_key,
        pool.quote_decimals,
        now,
        usage,
    )
    .map_err(refusal)?;
    view.require_open(price.publish_time)?;
    let limit =
        limit_price(price_limit_e9, market.base_decimals, pool.quote_decimals).map_err(refusal)?;
    let max_leverage = match action {
        TradeAction::Open { .. } | TradeAction::Increase { .. } => view.leverage_cap(now)?,
        _ => market.params.max_leverage,
    };
    let input = TradeInput {
        market,
        price,
        limit,
        now,
        model: view.model.as_ref(),
        max_leverage,
    };
    let not_open = || Refusal {
        code: None,
        name: "no open position".into(),
    };
    let imbalance_before = pool.risk.imbalance_score;
    let mut fills = 1;
    let (size, fill, payout, keeper_reward, position) = match action {
        TradeAction::Open { size, collateral } => {
            check_open(size, collateral).map_err(refusal)?;
            if view.position.is_some() {
                return Err(Refusal {
                    code: None,
                    name: "a position is already open (increase it)".into(),
                });
            }
            let mut position = Position {
                pool: view.pool_key,
                market: pool.slot(market.index).map_err(refusal)?.market,
                owner: *owner,
                size: 0,
                entry_notional: 0,
                collateral: 0,
                funding_snapshot: Default::default(),
                opened_at: now,
                bump: 0,
                pending_requests: 0,
                premium_paid: 0,
                reserved: [0; 23],
            };
            let out = apply_increase(&mut pool, &mut position, &input, size, collateral)
                .map_err(refusal)?;
            (size, out, 0, 0, position)
        }
        TradeAction::Increase { size, collateral } => {
            let mut position = view.position.clone().ok_or_else(not_open)?;
            check_increase(position.size, size).map_err(refusal)?;
            let out = apply_increase(&mut pool, &mut position, &input, size, collateral)
                .map_err(refusal)?;
            (size, out, 0, 0, position)
        }
        TradeAction::Decrease { size } => {
            let mut position = view.position.clone().ok_or_else(not_open)?;
            let (signed, out) =
                apply_decrease(&mut pool, &mut position, &input, size).map_err(refusal)?;
            (signed, out, 0, 0, position)
        }
        TradeAction::Close => {
            let mut position = view.position.clone().ok_or_else(not_open)?;
            let (size, out, payout) =
                apply_close(&mut pool, &mut position, &input).map_err(refusal)?;
            (size, out, payout, 0, position)
        }
        TradeAction::ReduceBeforeClose => {
            if !view.closing_soon(now)? {
                return Err(refusal(anchor_lang::error!(PerpError::NotClosingSoon)));
            }
            let mut position = view.position.clone().ok_or_else(not_open)?;
            let leverage = market.params.leverage_over_close();
            let cut = apply_reduce_before_close(&mut pool, &mut position, &input, leverage)
                .map_err(refusal)?;
            fills = cut.fills;
            (-cut.size, cut.fill, cut.returned_to_owner, 0, position)
        }
        TradeAction::Liquidate => {
            let mut position = view.position.clone().ok_or_else(not_open)?;
            // as a keeper other than the owner liquidates (the owner himself gets no reward
            // from the default fund)
            let liq =
                apply_liquidation(&mut pool, &mut position, &input, false).map_err(refusal)?;
            (
                -liq.size,
                liq.fill,
                liq.returned_to_owner,
                liq.keeper_reward,
                position,
            )
        }
    };
    let mut q = quoted(
        pool,
        market,
        price.price,
        (size, fill, payout, keeper_reward),
        imbalance_before,
        position,
    );
    q.quote.fills = fills;
    Ok(q)
}

/// The quote of a fill of `size` priced at the oracle's `oracle_price`, and the state after.
fn quoted(
    pool: Pool,
    market: &Market,
    oracle_price: Fix,
    (size, fill, payout, keeper_reward): (i64, FillOutcome, u64, u64),
    imbalance_before: u64,
    position: Position,
) -> QuotedState {
    let FillOutcome {
        q,
        premium,
        fees,
        funding_paid,
        realized_pnl,
        price: fill_price,
        bad_debt,
        premium_released,
        ..
    } = fill;
    let quote = TradeQuote {
        size,
        oracle_price: whole_price(oracle_price, market, pool.quote_decimals),
        fill_price: whole_price(fill_price, market, pool.quote_decimals),
        q: q.to_num::<f64>(),
        premium,
        premium_released,
        fees,
        funding_paid,
        realized_pnl,
        bad_debt,
        payout,
        keeper_reward,
        imbalance_before,
        imbalance_after: pool.risk.imbalance_score,
        position_size: position.size,
        position_collateral: position.collateral,
        position_entry_notional: position.entry_notional,
        lp: LpParts::of(&fill),
        fills: 1,
    };
    QuotedState {
        quote,
        pool,
        position,
    }
}

/// Quote auto-deleveraging `size` of `owner`'s position as a keeper would send it: `oracles`
/// holds every active market's oracle account, in market order (the program's traders' profit
/// against its ceiling), by a keeper other than the owner. Refused like the instruction: within
/// the ceiling, not in profit, below maintenance, paused, a stale price.
pub fn quote_deleverage(
    view: &TradeView,
    oracles: &[(Pubkey, RawAccount)],
    size: u64,
    now: i64,
) -> Result<QuotedState, Refusal> {
    let mut pool = view.pool;
    let market = &view.market;
    pool.require_not_paused(pause::LIQUIDATE | pause::CLOSE)
        .map_err(refusal)?;
    view.require_open(now)?;
    let price = load_price(
        &view.oracle_view(),
        &market.oracle_spec(),
        &view.pool_key,
        pool.quote_decimals,
        now,
        OracleUse::RiskIncreasing,
    )
    .map_err(refusal)?;
    view.require_open(price.publish_time)?;
    let views: Vec<AccountView> = oracles.iter().map(|(key, a)| a.view(key)).collect();
    let closed = view.closed(now)?;
    let marks = load_pool_marks(&pool, &view.pool_key, &views, now, &closed).map_err(refusal)?;
    let input = TradeInput {
        market,
        price,
        limit: Fix::ZERO,
        now,
        model: view.model.as_ref(),
        max_leverage: market.params.max_leverage,
    };
    let mut position = view.position.clone().ok_or_else(|| Refusal {
        code: None,
        name: "no open position".into(),
    })?;
    let imbalance_before = pool.risk.imbalance_score;
    let adl =
        apply_deleverage(&mut pool, &mut position, &input, &marks, size, false).map_err(refusal)?;
    Ok(quoted(
        pool,
        market,
        price.price,
        (-adl.size, adl.fill, adl.returned_to_owner, 0),
        imbalance_before,
        position,
    ))
}

/// The pool's value as a withdrawal sees it (LP capital less the traders' unrealised PnL at the
/// confidence edge that favours them) and the LP capital open positions reserve: the program's
/// `load_pool_marks` and `value_pool` on `oracles`, one account per active market in order.
pub fn pool_value(
    pool: &Pool,
    pool_key: &Pubkey,
    oracles: &[(Pubkey, RawAccount)],
    calendar: Option<&Calendar>,
    now: i64,
) -> Result<(i128, u128), Refusal> {
    let views: Vec<AccountView> = oracles.iter().map(|(key, a)| a.view(key)).collect();
    let closed = closed_markets(pool, calendar, now)?;
    let marks = load_pool_marks(pool, pool_key, &views, now, &closed).map_err(refusal)?;
    let v = perp_amm::engine::value_pool(pool, &marks, perp_amm::engine::Valuation::Low, &closed)
        .map_err(refusal)?;
    Ok((v.value, v.reserved.unwrap_or(0)))
}

/// Traders' unrealised PnL per market as a withdrawal values it (quote native, in market
/// order, 0 for markets without open interest): `lp_capital − value` of the pool with only that
/// market's book. The withdrawal valuation sums markets independently, so these add up to
/// `lp_capital − pool_value` exactly.
pub fn unrealized_by_market(
    pool: &Pool,
    pool_key: &Pubkey,
    oracles: &[(Pubkey, RawAccount)],
    calendar: Option<&Calendar>,
    now: i64,
) -> Result<Vec<i64>, Refusal> {
    let views: Vec<AccountView> = oracles.iter().map(|(key, a)| a.view(key)).collect();
    let closed = closed_markets(pool, calendar, now)?;
    let marks = load_pool_marks(pool, pool_key, &views, now, &closed).map_err(refusal)?;
    let active = pool.markets.iter().filter(|s| s.active == 1).count();
    let mut out = vec![0i64; active];
    for (i, u) in out.iter_mut().enumerate() {
        let slot = &pool.markets[i];
        if slot.long_oi == 0 && slot.short_oi == 0 {
            continue;
        }
        let mut alone = *pool;
        for (j, other) in alone.markets.iter_mut().enumerate() {
            if j != i {
                other.long_oi = 0;
                other.short_oi = 0;
            }
        }
        let v =
            perp_amm::engine::value_pool(&alone, &marks, perp_amm::engine::Valuation::Low, &closed)
                .map_err(refusal)?;
        *u = (pool.lp_capital as i128 - v.value) as i64;
    }
    Ok(out)
}

/// The market's oracle price in whole quote per base, read and validated as a closing trade
/// reads it (the looser staleness bound).
pub fn oracle_price(
    market: &Market,
    pool_key: &Pubkey,
    quote_decimals: u8,
    oracle: &RawAccount,
    now: i64,
) -> Result<f64, Refusal> {
    let price = oracle_price_fix(market, pool_key, quote_decimals, oracle, now)?;
    Ok(whole_price(price, market, quote_decimals))
}

/// The same price in quote native per base native (the program's units).
pub fn oracle_price_fix(
    market: &Market,
    pool_key: &Pubkey,
    quote_decimals: u8,
    oracle: &RawAccount,
    now: i64,
) -> Result<Fix, Refusal> {
    let price = load_price(
        &oracle.view(&market.oracle),
        &market.oracle_spec(),
        pool_key,
        quote_decimals,
        now,
        OracleUse::RiskReducing,
    )
    .map_err(refusal)?;
    Ok(price.price)
}
