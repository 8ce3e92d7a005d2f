//! Randomised sequences of LP deposits and withdrawals, trades, collateral moves, price moves,
//! funding and liquidations on the real runtime. After every step:
//! - the vault holds exactly LP capital + default fund + traders' collateral + premium
//!   balances, the collateral total is the sum over positions, and each market's aggregates are
//!   the sums over positions;
//! - a rejected step changed nothing, and was rejected with one of the errors its inputs allow;
//! - every close pays exactly what the rules give: collateral + (size·s − entry, as far as LP
//!   capital and the default fund cover it) − funding − fees − premium, recomputed here from
//!   the pre-trade state with keel-math.
//!
//! At the end every position is closed and every LP leaves: positions, open interest and trader
//! collateral drain to zero; what remains is the default fund and the capital of the dead
//! shares, by design.
//!
//! Sequences take turns at the pool's pricing ([`Pricing`]): no risk model (D8X per market),
//! a risk model with its Imbalance Score limit and per-market premiums, and the portfolio
//! premium. In all three, every rebate is paid from the premium balance (each market's balance
//! is Σ of its positions' unrefunded premiums, checked after every step, and can only go
//! negative by an arithmetic panic), and every close pays what the rules give.
//!
//! `KEEL_RANDOM_SEQUENCES` (default 2,000, split over four test threads) and
//! `KEEL_RANDOM_STEPS` (default 24) size the run; the seed of a failing sequence is printed.
//! Seed 0x5eed_0000 + thread·1,000,000 + i is sequence i of that thread: replay it with
//! `KEEL_RANDOM_START=i KEEL_RANDOM_SEQUENCES=4` (one sequence per thread from i).

use anchor_lang::prelude::Pubkey;
use keel_math::insurance::lognormal_book_value;
use keel_math::{Fix, Rounding};
use keel_tests::fixture::{E6, E9, KEEPER_FEE, PerpFixture, default_params};
use keel_tests::{Rng, TestContext, TxError, User, env, ix, perp};
use perp_amm::errors::PerpError;
use perp_amm::instructions::{PlaceOrderArgs, RiskLimits};
use perp_amm::state::{
    MarketParams, Pool, Position, PushOracle, RequestKind, RiskModel, premium_mode,
};
use solana_signer::Signer;

const PRICES: [f64; 3] = [100.0, 2_000.0, 1.0];
/// The risk model's σ (daily) and correlations (1-2, 1-3, 2-3), 1e9 scale.
const RISK_SIGMA: [u64; 3] = [30_000_000, 40_000_000, 10_000_000];
const RISK_UPPER: [i32; 3] = [800_000_000, -200_000_000, 100_000_000];

/// How a sequence's pool prices fills.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pricing {
    /// No risk model: each market's own book (D8X), no IS limit.
    NoModel,
    /// A risk model with an IS limit of 5 % of LP capital; premiums per market.
    PerMarket,
    /// The same model, no IS limit; premiums from the whole pool's IS over 30 days (portfolio
    /// mode).
    Portfolio,
}

impl Pricing {
    fn of_sequence(i: u64) -> Self {
        [Pricing::NoModel, Pricing::PerMarket, Pricing::Portfolio][(i % 3) as usize]
    }
}

fn params() -> MarketParams {
    MarketParams {
        half_spread_e9: E9 / 2_000,
        sigma_e9: 30_000_000,
        ..default_params()
    }
}

/// What the sequences did, to show the run exercised every path.
#[derive(Default, Debug)]
struct Stats {
    ok: std::collections::BTreeMap<&'static str, u64>,
    rejected: std::collections::BTreeMap<&'static str, u64>,
    closes_checked: u64,
    liquidations: u64,
    /// Winners closed (in part or whole) by auto-deleveraging.
    deleveraged: u64,
    /// Executions tried on a print older than their request (each refused, nothing moved).
    old_prints_refused: u64,
    /// Opens refused by the Imbalance Score limit.
    imbalance_refusals: u64,
    /// Fills (closes checked) that were rebated, by pricing.
    rebated_closes: std::collections::BTreeMap<String, u64>,
}

struct Sequence {
    stats: Stats,
    f: PerpFixture,
    lps: Vec<(User, Pubkey)>,
    traders: Vec<User>,
    keeper: User,
    rng: Rng,
    pricing: Pricing,
}

/// Quote native per base native of a push-oracle price, as the program converts it.
fn native_price(oracle: &PushOracle) -> Fix {
    let bits =
        keel_math::wide::mul_div_u128(oracle.price as u128, 1 << 64, 1_000_000, Rounding::Nearest)
            .unwrap();
    Fix::from_bits(bits as i128)
}

fn notional(size: i64, price: Fix, rounding: Rounding) -> i128 {
    let exact = Fix::from_num(size).checked_mul(price).unwrap();
    let bits = exact.to_bits();
    match rounding {
        Rounding::Down => bits >> 64,
        _ => (bits >> 64) + ((bits & (u64::MAX as i128)) != 0) as i128,
    }
}

/// What closing `pos` pays its owner, from the pool state just before the close (funding is
/// already accrued to now, so the close accrues nothing).
///
/// In portfolio mode the charge is the change of the whole pool's Gaussian insurance value,
/// taken from the program's own `insurance_values` on the same state (its kernel is checked
/// against closed forms and Monte Carlo elsewhere); the rest is recomputed here.
fn expected_close_payout(
    pool: &Pool,
    index: usize,
    pos: &Position,
    oracle: &PushOracle,
    p: &MarketParams,
    portfolio: Option<&RiskModel>,
) -> (u64, i128) {
    // a profit is paid from LP capital, then the default fund, as far as they go
    let cover = (pool.lp_capital + pool.default_fund) as i128;
    let s = native_price(oracle);
    let slot = &pool.markets[index];
    let size = pos.size;
    let value = notional(size, s, Rounding::Down);
    let pnl = (value - pos.entry_notional as i128).min(cover);
    let index_now = if size > 0 {
        slot.long_funding_index.fix()
    } else {
        slot.short_funding_index.fix()
    };
    let funding = notional(
        size.abs(),
        index_now - pos.funding_snapshot.fix(),
        Rounding::Up,
    )
    .max(0);
    // the charge is the change of the book's insurance value at headroom w·(C − U)
    let net = slot.long_oi as i128 - slot.short_oi as i128;
    let locked = slot.long_entry as i128 - slot.short_entry as i128;
    let book = |k: i128| Fix::from_bits(k * s.to_bits());
    let unrealised = book(net) - Fix::from_num(locked);
    let share =
        Fix::from_bits((((slot.capital_share_e9 as u128) << 64).div_ceil(E9 as u128)) as i128);
    let headroom = Fix::from_bits(
        keel_math::wide::mul_q64(
            (Fix::from_num(pool.pricing_capital()) - unrealised).to_bits(),
            share.to_bits(),
            Rounding::Down,
        )
        .unwrap(),
    );
    let sigma = Fix::from_bits((((p.sigma_e9 as u128) << 64).div_ceil(E9 as u128)) as i128);
    let value = |k: i128| {
        lognormal_book_value(book(k), headroom, sigma)
            .unwrap()
            .value
    };
    let charge = match portfolio {
        None => (value(net - size as i128) - value(net))
            .ceil()
            .to_num::<i128>(),
        Some(model) => {
            let (before, after, _) =
                perp_amm::engine::insurance_values(pool, index as u8, p, -size, s, Some(model))
                    .unwrap();
            (after.value - before.value).ceil().to_num::<i128>()
        }
    };
    // a rebate refunds only the position's own premiums
    let premium = charge.max(-(pos.premium_paid as i128));
    let traded = notional(size.abs(), s, Rounding::Up) as u128;
    let spread = (traded * p.half_spread_e9 as u128).div_ceil(E9 as u128);
    let fee = (traded * p.close_fee_bps as u128).div_ceil(10_000);
    let payout = pos.collateral as i128 + pnl - funding - spread as i128 - fee as i128 - premium;
    (payout.max(0) as u64, premium)
}

impl Sequence {
    async fn new(t: &mut TestContext, id: u64, seed: u64, pricing: Pricing) -> Self {
        let mut f = PerpFixture::with_id(t, id, &PRICES, params()).await;
        if pricing != Pricing::NoModel {
            let mode = match pricing {
                Pricing::Portfolio => premium_mode::PORTFOLIO,
                _ => premium_mode::PER_MARKET,
            };
            // per market: an IS limit that binds now and then; portfolio: no limit and a 30-day
            // horizon, so that IS·√h reaches the capital and premiums are more than rounding
            let limits = match pricing {
                Pricing::Portfolio => RiskLimits {
                    max_imbalance_bps: 10_000,
                    premium_mode: mode,
                    premium_horizon_secs: 30 * 86_400,
                },
                _ => RiskLimits {
                    max_imbalance_bps: 500,
                    premium_mode: mode,
                    premium_horizon_secs: 86_400,
                },
            };
            let publisher = f.init_risk_model(t, limits).await;
            let now = t.now;
            f.publish_risk(t, &publisher, &RISK_SIGMA, &RISK_UPPER, now)
                .await
                .unwrap();
        }
        // the lowest auto-deleveraging ceiling (10 % of LP capital), so the sequences reach it
        let admin = t.admin.insecure_clone();
        t.send(
            &[ix::set_profit_ceiling(&admin.pubkey(), &f.pool, 1_000)],
            &[&admin],
        )
        .await
        .unwrap();
        let mut lps = vec![];
        for _ in 0..2 {
            let u = t.user(1_000_000 * E6).await;
            let acct = f.lp_account(t, &u).await;
            lps.push((u, acct));
        }
        let mut traders = vec![];
        for _ in 0..4 {
            traders.push(t.user(100_000 * E6).await);
        }
        let keeper = t.user(0).await;
        Sequence {
            stats: Stats::default(),
            f,
            lps,
            traders,
            keeper,
            rng: Rng(seed),
            pricing,
        }
    }

    /// The pool's risk model when it prices in portfolio mode.
    async fn portfolio_model(&self, t: &mut TestContext) -> Option<RiskModel> {
        if self.pricing != Pricing::Portfolio {
            return None;
        }
        let data = t.account_data(&self.f.risk_model?).await.unwrap();
        Some(bytemuck::pod_read_unaligned(
            &data[8..8 + core::mem::size_of::<RiskModel>()],
        ))
    }

    fn positions(&self) -> Vec<Pubkey> {
        let mut v = vec![];
        for m in 0..PRICES.len() as u8 {
            for tr in &self.traders {
                v.push(self.f.position(m, &tr.key()));
            }
        }
        v
    }

    fn watched(&self) -> Vec<Pubkey> {
        let mut v = vec![self.f.pool, self.f.vault, self.f.lp_mint, self.keeper.quote];
        v.extend(self.positions());
        v.extend(self.traders.iter().map(|t| t.quote));
        v.extend(self.lps.iter().flat_map(|(u, a)| [u.quote, *a]));
        v
    }

    /// Conservation and aggregate consistency.
    async fn check(&self, t: &mut TestContext) {
        t.assert_conservation(&self.f.pool, &self.positions()).await;
        let pool = t.pool(&self.f.pool).await;
        for m in 0..PRICES.len() {
            let (mut long, mut short, mut long_entry, mut short_entry) = (0u64, 0u64, 0u64, 0u64);
            for tr in &self.traders {
                if let Some(pos) = t.position(&self.f.position(m as u8, &tr.key())).await {
                    if pos.size > 0 {
                        long += pos.size as u64;
                        long_entry += pos.entry_notional as u64;
                    } else {
                        short += pos.size.unsigned_abs();
                        short_entry += pos.entry_notional.unsigned_abs();
                    }
                }
            }
            let slot = &pool.markets[m];
            assert_eq!(
                (slot.long_oi, slot.short_oi),
                (long, short),
                "market {m} open interest"
            );
            assert_eq!(
                (slot.long_entry, slot.short_entry),
                (long_entry, short_entry),
                "market {m} entries"
            );
        }
    }

    async fn oracle(&self, t: &mut TestContext, m: usize) -> PushOracle {
        let data = t.account_data(&self.f.markets[m].oracle).await.unwrap();
        anchor_lang::AccountDeserialize::try_deserialize(&mut &data[..]).unwrap()
    }

    /// Close `tr`'s position in market `m` and check the payout against the rules.
    async fn close_checked(
        &mut self,
        t: &mut TestContext,
        tr: usize,
        m: usize,
    ) -> Result<(), TxError> {
        let trader = &self.traders[tr];
        let pos_key = self.f.position(m as u8, &trader.key());
        let Some(pos) = t.position(&pos_key).await else {
            return Ok(());
        };
        // the close request, then a second later the keeper's print; funding is accrued to
        // that moment first so the execution itself accrues nothing
        let args = PlaceOrderArgs {
            slot: 0,
            kind: RequestKind::MarketReduce,
            size: 0,
            collateral: 0,
            acceptable_price_e9: if pos.size > 0 { 0 } else { u64::MAX },
            trigger_price_e9: 0,
            expires_ts: 0,
            keeper_fee: KEEPER_FEE,
            request_bump: 0,
            position_bump: 0,
        };
        self.f.place(t, trader, m as u8, args).await?;
        t.advance(1);
        self.f.republish(t, m as u8).await;
        self.f.update_funding(t, m as u8).await.unwrap();
        let pos = t.position(&pos_key).await.unwrap_or(pos);
        let pool = t.pool(&self.f.pool).await;
        let oracle = self.oracle(t, m).await;
        let model = self.portfolio_model(t).await;
        let (expected, premium) =
            expected_close_payout(&pool, m, &pos, &oracle, &params(), model.as_ref());
        let before = t.balance(&trader.quote).await;
        let r = match self.f.execute(t, &self.keeper, &trader.key(), 0).await {
            Ok(None) => Ok(()),
            Ok(Some(code)) => Err(TxError::Custom(code)),
            Err(e) => Err(e),
        };
        if r.is_ok() {
            let paid = t.balance(&trader.quote).await - before;
            assert_eq!(
                paid, expected,
                "close payout differs from the rules: size {} entry {} collateral {} ({:?}, premium {premium})",
                pos.size, pos.entry_notional, pos.collateral, self.pricing
            );
            self.stats.closes_checked += 1;
            if premium < 0 {
                let key = format!("{:?}", self.pricing);
                *self.stats.rebated_closes.entry(key).or_default() += 1;
            }
        }
        r
    }

    /// One random step; returns the result and the errors it was allowed to fail with.
    async fn step(
        &mut self,
        t: &mut TestContext,
    ) -> (&'static str, Result<(), TxError>, Vec<PerpError>) {
        use PerpError::*;
        let m = self.rng.below(PRICES.len() as u64) as usize;
        let tr = self.rng.below(self.traders.len() as u64) as usize;
        let lp = self.rng.below(self.lps.len() as u64) as usize;
        let scale = (1_000.0 / PRICES[m]).max(1.0) as u64; // base units per ~1,000 quote
        let kind = self.rng.below(100);
        let label = match kind {
            0..=11 => "deposit",
            12..=19 => "withdraw",
            20..=44 => "open/increase",
            45..=54 => "decrease",
            55..=64 => "close",
            65..=69 => "collateral",
            70..=84 => "price+funding",
            85..=89 => "old print",
            _ => "liquidation sweep",
        };
        let (r, allowed) = match kind {
            0..=11 => {
                // LP capital of the order of the larger books, so they price at a real q
                let amount = (1 + self.rng.below(20_000)) * E6;
                let (u, a) = &self.lps[lp];
                // amounts under the pool's 10-quote minimum are refused, and so is any deposit
                // while traders' profit exceeds what the pool holds (no share price)
                (
                    self.f.deposit(t, u, a, amount).await,
                    vec![DepositTooSmall, PoolInsolvent],
                )
            }
            12..=19 => {
                let (u, a) = &self.lps[lp];
                let shares = t.balance(a).await;
                let take = shares / (1 + self.rng.below(4)) + self.rng.below(2);
                (
                    self.f.withdraw(t, u, a, take).await,
                    vec![
                        ZeroAmount,
                        CapitalReserved,
                        InsufficientShares,
                        PoolInsolvent,
                    ],
                )
            }
            20..=44 => {
                let trader = &self.traders[tr];
                let long = self.rng.chance(50);
                // up to ~2,000 quote, or now and then ~40,000: books large enough against
                // LP capital that premiums and rebates are more than rounding
                let reach = if self.rng.chance(30) { 400 } else { 20 };
                let size = ((1 + self.rng.below(reach * scale)) * E6 / 10) as i64;
                let size = if long { size } else { -size };
                // leverage 2x–19x on the notional, so some positions do get liquidated
                let notional = (size.unsigned_abs() as f64 * PRICES[m]) as u64;
                let collateral = (notional / (2 + self.rng.below(18))).max(10 * E6);
                let pos = t.position(&self.f.position(m as u8, &trader.key())).await;
                let allowed = vec![
                    MaxLeverage,
                    DefaultProbabilityCap,
                    OpenInterestCap,
                    DustPosition,
                    InvalidSize,
                    ImbalanceLimit,
                ];
                match pos {
                    None => (
                        self.f.open(t, trader, m as u8, size, collateral).await,
                        allowed,
                    ),
                    Some(p) => {
                        let size = if p.size > 0 { size.abs() } else { -size.abs() };
                        (
                            self.f
                                .increase(t, trader, m as u8, size, collateral / 4)
                                .await,
                            allowed,
                        )
                    }
                }
            }
            45..=54 => {
                let trader = &self.traders[tr];
                match t.position(&self.f.position(m as u8, &trader.key())).await {
                    Some(p) if p.size != 0 => {
                        let cut = 1 + self.rng.below(p.size.unsigned_abs());
                        (
                            self.f.decrease(t, trader, m as u8, cut, p.size > 0).await,
                            vec![InvalidSize, DustPosition, BelowMaintenanceMargin],
                        )
                    }
                    _ => (Ok(()), vec![]),
                }
            }
            55..=64 => (self.close_checked(t, tr, m).await, vec![]),
            65..=69 => {
                let trader = &self.traders[tr];
                if t.position(&self.f.position(m as u8, &trader.key()))
                    .await
                    .is_none()
                {
                    return (label, Ok(()), vec![]);
                }
                if self.rng.chance(50) {
                    (
                        self.f
                            .add_collateral(t, trader, m as u8, (1 + self.rng.below(500)) * E6)
                            .await,
                        vec![],
                    )
                } else {
                    let amount = (1 + self.rng.below(500)) * E6;
                    (
                        self.f.remove_collateral(t, trader, m as u8, amount).await,
                        vec![InsufficientCollateral, MaxLeverage],
                    )
                }
            }
            85..=89 => {
                // a keeper executes an open with the print the oracle already held when it was
                // placed: refused, nothing changes; the request expires and is cleared, and
                // the trader gets everything back
                let trader = &self.traders[tr];
                let args = PlaceOrderArgs {
                    slot: 0,
                    kind: RequestKind::MarketIncrease,
                    size: if self.rng.chance(50) { 1 } else { -1 } * E6 as i64,
                    collateral: 100 * E6,
                    acceptable_price_e9: 0,
                    trigger_price_e9: 0,
                    expires_ts: 0,
                    keeper_fee: KEEPER_FEE,
                    request_bump: 0,
                    position_bump: 0,
                };
                let balance = t.balance(&trader.quote).await;
                // the print is fresh, but from the very moment the request is placed
                self.f.republish(t, m as u8).await;
                if self.f.place(t, trader, m as u8, args).await.is_err() {
                    return (label, Ok(()), vec![]);
                }
                let keys = self.watched();
                let before = t.snapshot(&keys).await;
                let r = self.f.execute(t, &self.keeper, &trader.key(), 0).await;
                assert_eq!(r, Err(TxError::Custom(perp(PriceBeforeRequest))));
                assert!(
                    before == t.snapshot(&keys).await,
                    "an old print moved state"
                );
                self.stats.old_prints_refused += 1;
                t.advance(31);
                let (key, request) = self.f.request(t, &trader.key(), 0).await.unwrap();
                let clear = ix::cancel_request(
                    &self.keeper.key(),
                    &self.f.pool,
                    &ix::RequestRef::of(key, &request),
                );
                t.send(&[clear], &[&self.keeper.kp]).await.unwrap();
                assert_eq!(t.balance(&trader.quote).await, balance);
                (Ok(()), vec![])
            }
            70..=84 => {
                // time passes and prices move up to ±8 % (one market now and then ±40-60 %);
                // funding accrues
                t.advance(self.rng.below(6 * 3_600) as i64);
                for (i, base) in PRICES.iter().enumerate() {
                    let o = self.oracle(t, i).await;
                    let mut factor = 0.92 + 0.16 * (self.rng.below(10_001) as f64 / 10_000.0);
                    // now and then a rally or a crash, so winners outgrow the profit ceiling
                    if i == m && self.rng.chance(15) {
                        factor = if self.rng.chance(50) { 1.6 } else { 0.6 };
                    }
                    let p = (o.price as f64 / 1e6 * factor).max(base / 4.0);
                    self.f.set_price(t, i as u8, p, 0.0).await;
                }
                (self.f.update_funding(t, m as u8).await, vec![])
            }
            _ => {
                // the keeper posts fresh prints, then tries every position of every market;
                // only liquidatable ones go
                self.f.refresh_prices(t).await;
                for (i, m) in
                    (0..self.traders.len()).flat_map(|i| (0..PRICES.len()).map(move |m| (i, m)))
                {
                    let owner = &self.traders[i];
                    if t.position(&self.f.position(m as u8, &owner.key()))
                        .await
                        .is_some()
                    {
                        let r = self.f.liquidate(t, &self.keeper, m as u8, owner).await;
                        self.stats.liquidations += r.is_ok() as u64;
                        if let Err(e) = r {
                            assert_eq!(
                                e.code(),
                                Some(perp(NotLiquidatable)),
                                "liquidation failed: {e:?}"
                            );
                            // still open: past the profit ceiling, winners are cut back
                            let size = match self.rng.chance(50) {
                                true => u64::MAX,
                                false => 1 + self.rng.below(10 * E6),
                            };
                            let r = self
                                .f
                                .deleverage(t, &self.keeper, m as u8, owner, size)
                                .await;
                            self.stats.deleveraged += r.is_ok() as u64;
                            if let Err(e) = r {
                                let allowed = [ProfitWithinCeiling, PositionNotInProfit];
                                assert!(
                                    allowed.iter().any(|&a| e.code() == Some(perp(a))),
                                    "deleveraging failed: {e:?}"
                                );
                            }
                        }
                    }
                }
                (Ok(()), vec![])
            }
        };
        (label, r, allowed)
    }

    /// Close everything and let every LP leave; check that it all drains.
    async fn drain(&mut self, t: &mut TestContext) {
        self.f.refresh_prices(t).await;
        for tr in 0..self.traders.len() {
            for m in 0..PRICES.len() {
                self.close_checked(t, tr, m).await.unwrap();
            }
        }
        for (u, a) in &self.lps {
            let shares = t.balance(a).await;
            if shares > 0 {
                self.f.withdraw(t, u, a, shares).await.unwrap();
            }
        }
        self.check(t).await;
        let pool = t.pool(&self.f.pool).await;
        assert_eq!(pool.total_collateral, 0);
        assert_eq!(
            t.lp_supply(&self.f.lp_mint).await,
            0,
            "every LP share burned"
        );
        for slot in &pool.markets[..PRICES.len()] {
            assert_eq!(
                (
                    slot.long_oi,
                    slot.short_oi,
                    slot.long_entry,
                    slot.short_entry
                ),
                (0, 0, 0, 0)
            );
        }
        // what stays: the default fund and the dead shares' capital
        let vault = t.balance(&self.f.vault).await;
        assert_eq!(
            vault as u128,
            (pool.lp_capital + pool.default_fund) as u128 + pool.premium_total()
        );
    }
}

async fn run(thread: u64, sequences: u64) {
    let steps = env("KEEL_RANDOM_STEPS", 24);
    let mut t = TestContext::new().await;
    let mut total = Stats::default();
    let first = env("KEEL_RANDOM_START", 0);
    for i in first..first + sequences {
        let seed = 0x5eed_0000 + thread * 1_000_000 + i;
        let pricing = Pricing::of_sequence(i);
        let mut s = Sequence::new(&mut t, thread * 1_000_000 + i, seed, pricing).await;
        for step in 0..steps {
            let keys = s.watched();
            let before = t.snapshot_refused(&keys).await;
            let (label, result, allowed) = s.step(&mut t).await;
            *if result.is_ok() {
                s.stats.ok.entry(label)
            } else {
                s.stats.rejected.entry(label)
            }
            .or_default() += 1;
            if let Err(e) = &result {
                s.stats.imbalance_refusals +=
                    (e.code() == Some(perp(PerpError::ImbalanceLimit))) as u64;
            }
            if let Err(e) = result {
                let ok = e
                    .code()
                    .is_some_and(|c| allowed.iter().any(|a| perp(*a) == c));
                assert!(
                    ok,
                    "seed {seed:#x} step {step}: unexpected rejection {e:?} (allowed {allowed:?})"
                );
                assert!(
                    before == t.snapshot_refused(&keys).await,
                    "seed {seed:#x} step {step}: a rejected {label} changed state"
                );
            }
            s.check(&mut t).await;
        }
        s.drain(&mut t).await;
        for (k, v) in std::mem::take(&mut s.stats.ok) {
            *total.ok.entry(k).or_default() += v;
        }
        for (k, v) in std::mem::take(&mut s.stats.rejected) {
            *total.rejected.entry(k).or_default() += v;
        }
        total.closes_checked += s.stats.closes_checked;
        total.liquidations += s.stats.liquidations;
        total.deleveraged += s.stats.deleveraged;
        total.old_prints_refused += s.stats.old_prints_refused;
        total.imbalance_refusals += s.stats.imbalance_refusals;
        for (k, v) in std::mem::take(&mut s.stats.rebated_closes) {
            *total.rebated_closes.entry(k).or_default() += v;
        }
    }
    println!("thread {thread}: {sequences} sequences × {steps} steps: {total:?}");
    assert!(total.closes_checked > 0 && total.ok.get("open/increase").copied().unwrap_or(0) > 0);
    if sequences >= 100 {
        // the larger books reach real premiums: closes are rebated in both premium modes
        assert!(
            total.rebated_closes.contains_key("Portfolio")
                && (total.rebated_closes.contains_key("NoModel")
                    || total.rebated_closes.contains_key("PerMarket")),
            "no rebated close in some premium mode: {:?}",
            total.rebated_closes
        );
    }
}

fn share() -> u64 {
    env("KEEL_RANDOM_SEQUENCES", 2_000).div_ceil(4)
}

#[tokio::test]
async fn random_sequences_conserve_money_0() {
    run(0, share()).await;
}

#[tokio::test]
async fn random_sequences_conserve_money_1() {
    run(1, share()).await;
}

#[tokio::test]
async fn random_sequences_conserve_money_2() {
    run(2, share()).await;
}

#[tokio::test]
async fn random_sequences_conserve_money_3() {
    run(3, share()).await;
}
