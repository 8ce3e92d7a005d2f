//! Issue #20: real-world markets keep their hours. A pool with BTC (always open), EUR (FX:
//! Sunday 17:00 to Friday 17:00 New York) and gold (CME: 18:00 to 17:00 New York, Sunday to
//! Friday), in the week of Friday 2026-12-04 (New York on UTC−5: FX closes Friday 22:00 UTC and
//! reopens Sunday 22:00 UTC, gold reopens at 23:00).

use anchor_lang::prelude::Pubkey;
use keel::client::presets;
use keel_math::calendar::{SECS_PER_DAY, days_from_civil};
use keel_tests::fixture::{E6, PerpFixture, default_params, order};
use keel_tests::{TestContext, TxError, User, assert_code, ix, perp};
use perp_amm::errors::PerpError;
use perp_amm::state::{MarketParams, RequestKind, ScheduleArgs};
use solana_signer::Signer;

fn at(day: u32, h: i64, m: i64) -> i64 {
    days_from_civil(2026, 12, day) * SECS_PER_DAY + h * 3_600 + m * 60
}

const EUR: u8 = 1;
const GOLD: u8 = 2;

fn eur_params() -> MarketParams {
    MarketParams {
        sigma_e9: 5_500_000,
        max_leverage: 100,
        maintenance_margin_bps: 50,
        liquidation_fee_bps: 10,
        schedule: presets::FX_SCHEDULE,
        gap_sigmas_e2: 300,
        max_leverage_over_close: 20,
        ..default_params()
    }
}

fn gold_params() -> MarketParams {
    MarketParams {
        sigma_e9: 9_500_000,
        schedule: presets::CME_SCHEDULE,
        gap_sigmas_e2: 300,
        ..default_params()
    }
}

struct World {
    t: TestContext,
    f: PerpFixture,
    lp: User,
    lp_acct: Pubkey,
    trader: User,
    keeper: User,
}

/// Friday 15:00 UTC: the pool (2M of LP capital), its calendar and schedules, and a trader
/// long 1M EUR (36x; EUR allows 100x, 20x over a close) and short 100 oz of gold (10x; gold
/// allows 20x, and as much over a close).
async fn world(calendar: bool) -> World {
    world_with(calendar, 30_000 * E6).await
}

/// `world`, the EUR long posting `eur_collateral` (none without).
async fn world_with(calendar: bool, eur_collateral: u64) -> World {
    let mut t = TestContext::new().await;
    t.set_time(at(4, 15, 0));
    let mut f = PerpFixture::new(&mut t, &[100.0]).await;
    f.add_market(&mut t, 1.08, eur_params()).await;
    f.add_market(&mut t, 2_300.0, gold_params()).await;
    if calendar {
        let admin = t.admin.insecure_clone();
        let mut ixs = vec![ix::init_calendar(&admin.pubkey(), &f.pool)];
        for (index, schedule) in presets::schedules() {
            ixs.push(ix::set_schedule(&admin.pubkey(), &f.pool, index, schedule));
        }
        t.send(&ixs, &[&admin]).await.unwrap();
    }
    let lp = t.user(3_000_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 2_000_000 * E6)
        .await
        .unwrap();
    let trader = t.user(100_000 * E6).await;
    if eur_collateral > 0 {
        f.open(&mut t, &trader, EUR, 1_000_000 * E6 as i64, eur_collateral)
            .await
            .unwrap();
    }
    f.open(&mut t, &trader, GOLD, -100 * E6 as i64, 23_000 * E6)
        .await
        .unwrap();
    let keeper = f.keeper(&mut t).await;
    World {
        t,
        f,
        lp,
        lp_acct,
        trader,
        keeper,
    }
}

impl World {
    /// Place a withdrawal of `shares` and have the keeper execute it a second later, with
    /// fresh prints for the markets in `open` (a closed market's oracle is silent).
    async fn withdraw_now(&mut self, shares: u64, open: &[u8]) -> Result<Option<u32>, TxError> {
        let (lp, acct) = (&self.lp, self.lp_acct);
        self.f
            .place_withdrawal(&mut self.t, lp, &acct, 0, shares, 0)
            .await?;
        self.t.advance(1);
        for &m in open {
            self.f.republish(&mut self.t, m).await;
        }
        let owner = self.lp.key();
        self.f.execute(&mut self.t, &self.keeper, &owner, 0).await
    }
}

/// The lock: without a calendar, one position in a market whose oracle has stopped
/// for the weekend refuses every LP action; with it, an LP withdraws on Saturday at the
/// Friday prints moved against the pool by 3σ·√(days since the print).
#[tokio::test]
async fn an_lp_withdraws_on_a_saturday_while_eur_and_gold_hold_open_interest() {
    let saturday = at(5, 12, 0);
    // no calendar: StaleOracle, and the withdrawal stays pending
    let mut w = world(false).await;
    w.t.set_time(saturday);
    assert_code(
        w.withdraw_now(100_000 * E6, &[0]).await.map(|_| ()),
        perp(PerpError::StaleOracle),
    );

    let mut w = world(true).await;
    w.t.set_time(saturday);
    let pool = w.t.pool(&w.f.pool).await;
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    let shares = supply / 10;
    let before = w.t.balance(&w.lp.quote).await;
    assert_eq!(w.withdraw_now(shares, &[0]).await, Ok(None));
    let paid = w.t.balance(&w.lp.quote).await - before;
    // by hand: the Friday prints were published at 15:00:0x; at Saturday 12:00:01 (just under
    // 21 hours later, 21 whole hours) EUR's long counts at 1.08 + conf + 3·0.55 %·√(21/24)·1.08,
    // gold's short at 2,300 − conf − 3·0.95 %·√(21/24)·2,300
    let eur = w.t.market(&w.f.markets[EUR as usize].key).await;
    let gold = w.t.market(&w.f.markets[GOLD as usize].key).await;
    let eur_oracle = oracle(&mut w.t, &eur.oracle).await;
    let gold_oracle = oracle(&mut w.t, &gold.oracle).await;
    // the age counts in whole hours, rounded up
    let days = |o: &perp_amm::state::PushOracle| {
        (((saturday + 1 - o.publish_time) as f64 / 3_600.0).ceil() / 24.0).sqrt()
    };
    // the allowance is rounded up to the oracle's unit (1e-6 here): up to 1 USD on 1M EUR
    let gap = |price: f64, sigma: f64, o| (price * 3.0 * sigma * days(o) * 1e6).ceil() / 1e6;
    let eur_edge = 1.08 + gap(1.08, 0.0055, &eur_oracle) + eur_oracle.conf as f64 / 1e6;
    let gold_edge = 2_300.0 - gap(2_300.0, 0.0095, &gold_oracle) - gold_oracle.conf as f64 / 1e6;
    let slots = &pool.markets;
    let eur_pnl = 1_000_000.0 * eur_edge - slots[EUR as usize].long_entry as f64 / 1e6;
    let gold_pnl = slots[GOLD as usize].short_entry as f64 / 1e6 - 100.0 * gold_edge;
    let value = pool.lp_capital as f64 / 1e6 - eur_pnl - gold_pnl;
    let expected = value * shares as f64 / supply as f64;
    println!(
        "Saturday 12:00 UTC: a tenth of the shares pays {:.2} (the Friday prints would pay {:.2}; \
         EUR moved {:.4} %, gold {:.4} % against the pool)",
        paid as f64 / 1e6,
        (pool.lp_capital as f64 / 1e6
            - (1_000_000.0 * 1.08 - slots[EUR as usize].long_entry as f64 / 1e6)
            - (slots[GOLD as usize].short_entry as f64 / 1e6 - 230_000.0))
            * shares as f64
            / supply as f64,
        (eur_edge / 1.08 - 1.0) * 100.0,
        (1.0 - gold_edge / 2_300.0) * 100.0,
    );
    assert!(
        (paid as f64 / 1e6 - expected).abs() < 0.01,
        "paid {paid}, expected {expected:.6}"
    );
    // a deposit on Saturday too (valued the other way: the depositor pays for the gap)
    let lp2 = w.t.user(200_000 * E6).await;
    let acct2 = w.f.lp_account(&mut w.t, &lp2).await;
    w.f.place_deposit(&mut w.t, &lp2, &acct2, 0, 100_000 * E6, 0)
        .await
        .unwrap();
    w.t.advance(1);
    assert_eq!(
        w.f.execute(&mut w.t, &w.keeper, &lp2.key(), 0).await,
        Ok(None)
    );
    assert!(w.t.balance(&acct2).await > 0);
}

/// Hours since `from` at `now`, rounded up, in days: the age the gap allowance counts.
fn whole_hours_in_days(now: i64, from: i64) -> f64 {
    ((now - from) as f64 / 3_600.0).ceil() / 24.0
}

/// An auditor's finding: a deposit on Saturday does not count the weekend's funding, which
/// only enters the indices at the first accrual after the reopen. It is dominated by the gap
/// allowance the depositor pays for: a share bought on Saturday costs more than one bought
/// at the reopen once the weekend's funding is accrued, at the same prices.
#[tokio::test]
async fn a_saturday_deposit_does_not_gain_the_weekends_funding() {
    let mut w = world(true).await;
    w.t.set_time(at(4, 21, 59));
    for m in [EUR, GOLD] {
        w.f.republish(&mut w.t, m).await;
        w.f.update_funding(&mut w.t, m).await.unwrap();
    }
    let price_of = |paid: u64, shares: u64| paid as f64 / shares as f64;
    // Saturday noon
    w.t.set_time(at(5, 12, 0));
    let saturday = w.t.user(200_000 * E6).await;
    let acct = w.f.lp_account(&mut w.t, &saturday).await;
    w.f.place_deposit(&mut w.t, &saturday, &acct, 0, 100_000 * E6, 0)
        .await
        .unwrap();
    w.t.advance(1);
    w.f.republish(&mut w.t, 0).await;
    assert_eq!(
        w.f.execute(&mut w.t, &w.keeper, &saturday.key(), 0).await,
        Ok(None)
    );
    let p_saturday = price_of(100_000 * E6, w.t.balance(&acct).await);
    // Sunday 23:00: both reopened at Friday's prices; the weekend's funding accrued
    w.t.set_time(at(6, 23, 0) + 1);
    let before = w.t.pool(&w.f.pool).await.markets;
    for m in [EUR, GOLD] {
        w.f.republish(&mut w.t, m).await;
        w.f.update_funding(&mut w.t, m).await.unwrap();
    }
    let after = w.t.pool(&w.f.pool).await.markets;
    let accrued = |m: usize, long: bool| {
        let (b, a) = if long {
            (
                before[m].long_funding_index.get(),
                after[m].long_funding_index.get(),
            )
        } else {
            (
                before[m].short_funding_index.get(),
                after[m].short_funding_index.get(),
            )
        };
        (a - b) as f64 / 2f64.powi(64)
    };
    let funding = accrued(EUR as usize, true) * after[EUR as usize].long_oi as f64 / 1e6
        + accrued(GOLD as usize, false) * after[GOLD as usize].short_oi as f64 / 1e6;
    let monday = w.t.user(200_000 * E6).await;
    let acct = w.f.lp_account(&mut w.t, &monday).await;
    w.f.place_deposit(&mut w.t, &monday, &acct, 0, 100_000 * E6, 0)
        .await
        .unwrap();
    w.t.advance(1);
    for m in [0, EUR, GOLD] {
        w.f.republish(&mut w.t, m).await;
    }
    assert_eq!(
        w.f.execute(&mut w.t, &w.keeper, &monday.key(), 0).await,
        Ok(None)
    );
    let p_monday = price_of(100_000 * E6, w.t.balance(&acct).await);
    println!(
        "a share: {p_saturday:.6} on Saturday (the gap allowance against the depositor), \
         {p_monday:.6} at the reopen with the weekend's funding ({funding:.2} USD) accrued"
    );
    assert!(funding > 1_000.0, "the weekend's funding: {funding}");
    assert!(p_saturday > p_monday);
}

/// A print posted while the market is shut (a feed that keeps printing its last price) does
/// not shrink the allowance: the age counts from the close at the latest, Friday 22:00 UTC.
#[tokio::test]
async fn a_print_while_closed_does_not_shrink_the_allowance() {
    let mut w = world(true).await;
    let saturday = at(5, 12, 0);
    w.t.set_time(saturday - 60);
    w.f.republish(&mut w.t, EUR).await;
    w.f.republish(&mut w.t, GOLD).await;
    w.t.set_time(saturday);
    let pool = w.t.pool(&w.f.pool).await;
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    let shares = supply / 10;
    let before = w.t.balance(&w.lp.quote).await;
    assert_eq!(w.withdraw_now(shares, &[0]).await, Ok(None));
    let paid = (w.t.balance(&w.lp.quote).await - before) as f64 / 1e6;
    // 14 hours and a second since the close: 15 whole hours (the print's own age, a minute,
    // would make it one)
    let days = whole_hours_in_days(saturday + 1, at(4, 22, 0)).sqrt();
    let gap = |price: f64, sigma: f64| (price * 3.0 * sigma * days * 1e6).ceil() / 1e6;
    let slots = &pool.markets;
    let eur_pnl =
        1_000_000.0 * (1.08 + gap(1.08, 0.0055)) - slots[EUR as usize].long_entry as f64 / 1e6;
    let gold_pnl =
        slots[GOLD as usize].short_entry as f64 / 1e6 - 100.0 * (2_300.0 - gap(2_300.0, 0.0095));
    let value = pool.lp_capital as f64 / 1e6 - eur_pnl - gold_pnl;
    let expected = value * shares as f64 / supply as f64;
    assert!(
        (paid - expected).abs() < 0.01,
        "paid {paid}, expected {expected}"
    );
    let one_hour = whole_hours_in_days(saturday + 1, saturday - 60).sqrt();
    let shrunk = |price: f64, sigma: f64| price * 3.0 * sigma * one_hour;
    println!(
        "a Saturday print an hour old: the allowance counts 15 hours (EUR {:.4} %), not one ({:.4} %)",
        gap(1.08, 0.0055) / 1.08 * 100.0,
        shrunk(1.08, 0.0055) / 1.08 * 100.0
    );
}

/// Valued for a withdrawal, a closed market is taken at the worse of its band's two edges: a
/// 90x EUR long (its loss stops at its 12,000 of margin) beside a 1x short of 990,000 loses the
/// pool more on a gap down than up, although the book is net long.
#[tokio::test]
async fn a_closed_market_is_valued_at_its_worse_edge() {
    let mut w = world_with(true, 12_000 * E6).await;
    let hedger = w.t.user(1_100_000 * E6).await;
    w.f.open(&mut w.t, &hedger, EUR, -990_000 * E6 as i64, 1_070_000 * E6)
        .await
        .unwrap();
    let saturday = at(5, 12, 0);
    w.t.set_time(saturday);
    let pool = w.t.pool(&w.f.pool).await;
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    let shares = supply / 10;
    let before = w.t.balance(&w.lp.quote).await;
    assert_eq!(w.withdraw_now(shares, &[0]).await, Ok(None));
    let paid = (w.t.balance(&w.lp.quote).await - before) as f64 / 1e6;
    let eur_oracle = {
        let key = w.f.markets[EUR as usize].oracle;
        oracle(&mut w.t, &key).await
    };
    let gold_oracle = {
        let key = w.f.markets[GOLD as usize].oracle;
        oracle(&mut w.t, &key).await
    };
    let age = |o: &perp_amm::state::PushOracle| whole_hours_in_days(saturday + 1, o.publish_time);
    let gap =
        |price: f64, sigma: f64, days: f64| (price * 3.0 * sigma * days.sqrt() * 1e6).ceil() / 1e6;
    let slot = &pool.markets[EUR as usize];
    let sides = pool.side_collateral[EUR as usize];
    let eur_gap = gap(1.08, 0.0055, age(&eur_oracle));
    let eur_pnl_at = |price: f64| {
        let long = (slot.long_oi as f64 / 1e6 * price - slot.long_entry as f64 / 1e6)
            .max(-(sides[0] as f64) / 1e6);
        let short = (slot.short_entry as f64 / 1e6 - slot.short_oi as f64 / 1e6 * price)
            .max(-(sides[1] as f64) / 1e6);
        long + short
    };
    let (up, down) = (eur_pnl_at(1.08 + eur_gap), eur_pnl_at(1.08 - eur_gap));
    assert!(
        down > up + 5_000.0,
        "the gap down costs more: {down} vs {up}"
    );
    let gold_slot = &pool.markets[GOLD as usize];
    let gold_pnl = gold_slot.short_entry as f64 / 1e6
        - 100.0 * (2_300.0 - gap(2_300.0, 0.0095, age(&gold_oracle)));
    let value = pool.lp_capital as f64 / 1e6 - down - gold_pnl;
    let expected = value * shares as f64 / supply as f64;
    println!(
        "EUR's traders gain {up:.2} on a 1.54 % gap up and {down:.2} on one down (the long's \
         loss capped at its margin): the withdrawal counts {down:.2}; a tenth of the shares pays \
         {paid:.2}"
    );
    assert!(
        (paid - expected).abs() < 0.02,
        "paid {paid}, expected {expected}"
    );
}

async fn oracle(t: &mut TestContext, key: &Pubkey) -> perp_amm::state::PushOracle {
    let data = t.account_data(key).await.unwrap();
    anchor_lang::AccountDeserialize::try_deserialize(&mut &data[..]).unwrap()
}

/// While EUR is closed: an open is refused with its own error (and changes nothing), a print
/// published while closed fills nothing after the reopen, and a stop-loss set on Friday fills
/// at the first print after the reopen, Sunday 22:00 UTC, through the weekend's gap.
#[tokio::test]
async fn a_closed_market_fills_nothing_and_a_stop_waits_for_the_reopen() {
    let mut w = world(true).await;
    let other = w.t.user(100_000 * E6).await;
    // Friday 21:30 UTC: a stop-loss on the EUR long at 1.07
    w.t.set_time(at(4, 21, 30));
    let stop = perp_amm::instructions::PlaceOrderArgs {
        slot: 1,
        trigger_price_e9: 1_070_000_000,
        expires_ts: at(11, 0, 0),
        ..order(RequestKind::StopLoss, 0, 0)
    };
    w.f.place(&mut w.t, &w.trader, EUR, stop).await.unwrap();
    // Saturday: an open on EUR is refused, whatever print the keeper brings
    w.t.set_time(at(5, 10, 0));
    w.f.place(
        &mut w.t,
        &other,
        EUR,
        order(RequestKind::MarketIncrease, 1_000 * E6 as i64, 100 * E6),
    )
    .await
    .unwrap();
    w.t.advance(1);
    w.f.republish(&mut w.t, EUR).await;
    let keys = [w.f.pool, w.f.vault, other.quote];
    let before = w.t.snapshot(&keys).await;
    let r = w.f.execute(&mut w.t, &w.keeper, &other.key(), 0).await;
    assert_eq!(r, Err(TxError::Custom(perp(PerpError::MarketClosed))));
    assert!(
        before == w.t.snapshot(&keys).await,
        "a refused open moved state"
    );
    // nor does the stop fill on a weekend print
    let r = w.f.execute(&mut w.t, &w.keeper, &w.trader.key(), 1).await;
    assert_eq!(r, Err(TxError::Custom(perp(PerpError::MarketClosed))));
    // Sunday 21:59: a print while closed; at 22:00:30 the market is open but that print is
    // from the closed hours
    w.t.set_time(at(6, 21, 59));
    w.f.set_price(&mut w.t, EUR, 1.06, 0.0).await;
    w.t.set_time(at(6, 22, 0) + 30);
    let r = w.f.execute(&mut w.t, &w.keeper, &w.trader.key(), 1).await;
    assert_eq!(r, Err(TxError::Custom(perp(PerpError::MarketClosed))));
    // the first print after the reopen: 1.06, through the stop; the long closes there
    w.f.set_price(&mut w.t, EUR, 1.06, 0.0).await;
    w.t.advance(1);
    assert_eq!(
        w.f.execute(&mut w.t, &w.keeper, &w.trader.key(), 1).await,
        Ok(None)
    );
    assert!(
        w.t.position(&w.f.position(EUR, &w.trader.key()))
            .await
            .is_none()
    );
}

/// Funding accrues over the weekend (documented choice: the crowded side keeps paying for the
/// gap risk the pool carries); it cannot be accrued while closed (no fresh print) and the
/// first accrual after the reopen covers the whole time at the reopen's price.
#[tokio::test]
async fn funding_over_the_weekend_is_charged_at_the_reopen() {
    let mut w = world(true).await;
    w.f.update_funding(&mut w.t, EUR).await.unwrap();
    let friday = w.t.pool(&w.f.pool).await.markets[EUR as usize];
    w.t.set_time(at(5, 12, 0));
    assert_code(
        w.f.update_funding(&mut w.t, EUR).await,
        perp(PerpError::StaleOracle),
    );
    w.t.set_time(at(6, 22, 0) + 1);
    w.f.republish(&mut w.t, EUR).await;
    w.f.update_funding(&mut w.t, EUR).await.unwrap();
    let monday = w.t.pool(&w.f.pool).await.markets[EUR as usize];
    let elapsed = monday.last_funding_ts - friday.last_funding_ts;
    assert_eq!(elapsed, at(6, 22, 0) + 1 - friday.last_funding_ts);
    assert!(monday.long_funding_index.get() > friday.long_funding_index.get());
}

/// A gap through a position's margin: no liquidation while closed; at the reopen's first print
/// the keeper liquidates, and the bad debt is within what the weekend's LP valuation allowed
/// for (a share withdrawn on Saturday took no more than a share is worth after the gap).
#[tokio::test]
async fn a_gap_through_the_margin_is_liquidated_at_the_reopen() {
    let mut w = world(true).await;
    // Saturday: no liquidation (closed), and the valuation a leaving LP gets
    w.t.set_time(at(5, 12, 0));
    let keeper = w.f.keeper(&mut w.t).await;
    let r = w.f.liquidate(&mut w.t, &keeper, EUR, &w.trader).await;
    assert_code(r, perp(PerpError::MarketClosed));
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    let before = w.t.balance(&w.lp.quote).await;
    assert_eq!(w.withdraw_now(supply / 100, &[0]).await, Ok(None));
    let saturday_share = (w.t.balance(&w.lp.quote).await - before) as f64 / (supply / 100) as f64;
    // Sunday 22:00: EUR reopens 3 % down (a 2σ weekend beyond the 2.9 % margin)
    w.t.set_time(at(6, 22, 0) + 1);
    w.f.set_price(&mut w.t, EUR, 1.08 * 0.97, 0.0).await;
    let fund_before = w.t.pool(&w.f.pool).await.default_fund;
    w.f.liquidate(&mut w.t, &keeper, EUR, &w.trader)
        .await
        .unwrap();
    let pool = w.t.pool(&w.f.pool).await;
    println!(
        "reopen at −3 %: liquidated; default fund {} → {}",
        fund_before, pool.default_fund
    );
    // a share after the gap, bad debt and all, is worth at least what Saturday paid
    w.t.set_time(at(6, 23, 0) + 1);
    let supply = w.t.lp_supply(&w.f.lp_mint).await;
    let before = w.t.balance(&w.lp.quote).await;
    assert_eq!(
        w.withdraw_now(supply / 100, &[0, EUR, GOLD]).await,
        Ok(None)
    );
    let monday_share = (w.t.balance(&w.lp.quote).await - before) as f64 / (supply / 100) as f64;
    println!("a share: Saturday {saturday_share:.6}, after the gap {monday_share:.6}");
    assert!(monday_share >= saturday_share);
}

/// Notional / equity of `owner`'s position in `market` at `price` (funding owed left out: an
/// hour's is under a cent here).
async fn leverage(w: &mut World, market: u8, owner: &Pubkey, price: f64) -> f64 {
    let p =
        w.t.position(&w.f.position(market, owner))
            .await
            .expect("position");
    let value = p.size as f64 / 1e6 * price;
    let equity = p.collateral as f64 / 1e6 + value - p.entry_notional as f64 / 1e6;
    value.abs() / equity
}

/// Weekend leverage: EUR allows 100x but 20x over a close. In the hour before Friday's close a
/// keeper cuts the 36x long to just under 20x (at the oracle price, with the owner's close
/// fee), and new risk in that hour must meet 20x; a position within it, a market always open,
/// CME's daily hour and an early call are refused, each changing nothing.
#[tokio::test]
async fn a_position_above_the_weekend_leverage_is_reduced_before_the_close() {
    use perp_amm::errors::PerpError::*;
    let mut w = world(true).await;
    let keeper = w.f.keeper(&mut w.t).await;
    let trader = w.trader.key();
    let position = w.f.position(EUR, &trader);
    let keys = [w.f.pool, w.f.vault, position, w.trader.quote];
    let btc_trader = w.t.user(100_000 * E6).await;
    w.f.open(&mut w.t, &btc_trader, 0, 1_000 * E6 as i64, 10_000 * E6)
        .await
        .unwrap();
    // Friday 20:30 UTC, an hour and a half before the close: too early
    w.t.set_time(at(4, 20, 30));
    w.f.republish(&mut w.t, EUR).await;
    let before = w.t.snapshot(&keys).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
            .await;
    assert_code(r, perp(NotClosingSoon));
    assert!(
        before == w.t.snapshot(&keys).await,
        "an early call moved state"
    );
    // 21:15: a print 3 s old is too old for it (2 s: the cut answers to no request, so the
    // caller would pick among the last prints with hindsight)
    w.t.set_time(at(4, 21, 15) - 3);
    w.f.republish(&mut w.t, EUR).await;
    w.t.set_time(at(4, 21, 15));
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
            .await;
    assert_code(r, perp(ExecutionPriceTooOld));
    // another account than the pool's calendar
    w.f.republish(&mut w.t, EUR).await;
    let m = &w.f.markets[EUR as usize];
    let mut wrong = ix::reduce_before_close(
        &keeper.key(),
        &w.f.pool,
        &m.key,
        &trader,
        &m.oracle,
        &w.trader.quote,
        w.f.risk_model,
    );
    wrong.accounts[6].pubkey = w.f.pool;
    assert_code(w.t.send(&[wrong], &[&keeper.kp]).await, perp(WrongCalendar));
    // BTC is always open: nothing to do
    w.f.republish(&mut w.t, 0).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, 0, &btc_trader)
            .await;
    assert_code(r, perp(NotClosingSoon));
    // gold's short is at 10x, within its 20x
    w.f.republish(&mut w.t, GOLD).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, GOLD, &w.trader)
            .await;
    assert_code(r, perp(WithinCloseLeverage));
    assert!(before == w.t.snapshot(&keys).await, "a refusal moved state");

    // the cut
    let lev_before = leverage(&mut w, EUR, &trader, 1.08).await;
    let held = w.t.position(&position).await.unwrap();
    w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
        .await
        .unwrap();
    let after = w.t.position(&position).await.unwrap();
    let lev_after = leverage(&mut w, EUR, &trader, 1.08).await;
    let cut = (held.size - after.size) as f64 / 1e6;
    println!(
        "Friday 21:15 UTC: EUR long 1,000,000 at {lev_before:.2}x; the keeper cut {cut:.0} EUR \
         to {lev_after:.3}x (margin {:.2} -> {:.2} USDC: the close fee, the premium and the \
         realised PnL)",
        held.collateral as f64 / 1e6,
        after.collateral as f64 / 1e6,
    );
    assert!(lev_before > 35.0, "{lev_before}");
    assert!(lev_after <= 20.0 && lev_after > 19.5, "cut to {lev_after}x");
    // once is enough
    w.t.advance(1);
    w.f.republish(&mut w.t, EUR).await;
    let before = w.t.snapshot(&keys).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
            .await;
    assert_code(r, perp(WithinCloseLeverage));
    assert!(before == w.t.snapshot(&keys).await);

    // new risk in the hour must meet 20x: a 50x open and a margin withdrawal past 20x are
    // refused, a 10x open fills
    let other = w.t.user(100_000 * E6).await;
    let r =
        w.f.open(&mut w.t, &other, EUR, 100_000 * E6 as i64, 2_160 * E6)
            .await;
    assert_code(r, perp(MaxLeverage));
    w.f.open(&mut w.t, &other, EUR, 100_000 * E6 as i64, 10_800 * E6)
        .await
        .unwrap();
    let r =
        w.f.remove_collateral(&mut w.t, &w.trader, EUR, 2_000 * E6)
            .await;
    assert_code(r, perp(MaxLeverage));
    let positions = [
        position,
        w.f.position(EUR, &other.key()),
        w.f.position(GOLD, &trader),
        w.f.position(0, &btc_trader.key()),
    ];
    w.t.assert_conservation(&w.f.pool, &positions).await;

    // Monday 21:30 UTC: gold's daily hour (22:00–23:00) is not a long close
    w.t.set_time(at(7, 21, 30));
    w.f.republish(&mut w.t, GOLD).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, GOLD, &w.trader)
            .await;
    assert_code(r, perp(NotClosingSoon));
}

/// Over random books (the cut position long or short at 21x to 95x, a crowd on either side
/// setting the skew, so the cut is rebated or charged; half of them priced per market without
/// a risk model, half by the pool's portfolio premium): one call leaves the position within
/// 20x, or closes it, cuts no more than brings it near 19.8x (never below 18x), and money is
/// conserved. Under the portfolio premium a charged cut can outrun its 1 % margin and take a
/// second fill; some case must.
#[tokio::test]
async fn a_cut_before_the_close_lands_within_the_limit() {
    use perp_amm::state::premium_mode;
    let mut rng = keel_tests::Rng(20);
    let mut most_fills = 0;
    for case in 0..16 {
        let lev = 21 + rng.below(75) as i64;
        let size = (200_000 + rng.below(800_001) as i64) * E6 as i64;
        let size = if rng.chance(50) { size } else { -size };
        let collateral = (size.unsigned_abs() as f64 * 1.08 / lev as f64) as u64;
        let mut w = world_with(true, 0).await;
        if case % 2 == 1 {
            let limits = perp_amm::instructions::RiskLimits {
                max_imbalance_bps: 10_000,
                premium_mode: premium_mode::PORTFOLIO,
                premium_horizon_secs: 86_400,
            };
            let publisher = w.f.init_risk_model(&mut w.t, limits).await;
            let sigma = [50_000_000, 5_500_000, 9_500_000];
            let upper = [100_000_000, 100_000_000, 200_000_000];
            let now = w.t.now;
            w.f.publish_risk(&mut w.t, &publisher, &sigma, &upper, now)
                .await
                .unwrap();
        }
        let trader = w.t.user(200_000 * E6).await;
        w.f.open(&mut w.t, &trader, EUR, size, collateral)
            .await
            .unwrap();
        // the crowd: up to what the side's 1M cap leaves, on either side
        let crowd = w.t.user(1_000_000 * E6).await;
        let same = rng.chance(50);
        let room = if same {
            1_000_000 * E6 as i64 - size.abs()
        } else {
            1_000_000 * E6 as i64
        };
        let n = rng.below(room.max(0) as u64 + 1) as i64 / E6 as i64 * E6 as i64;
        if n >= 1_000 * E6 as i64 {
            let n = if same == (size > 0) { n } else { -n };
            w.f.open(
                &mut w.t,
                &crowd,
                EUR,
                n,
                (n.unsigned_abs() as f64 * 0.3) as u64,
            )
            .await
            .unwrap();
        }
        w.t.set_time(at(4, 21, 15));
        w.f.republish(&mut w.t, EUR).await;
        let keeper = w.f.keeper(&mut w.t).await;
        let before = leverage(&mut w, EUR, &trader.key(), 1.08).await;
        let m = &w.f.markets[EUR as usize];
        let cut = ix::reduce_before_close(
            &keeper.key(),
            &w.f.pool,
            &m.key,
            &trader.key(),
            &m.oracle,
            &trader.quote,
            w.f.risk_model,
        );
        // the program's own arithmetic on copies of the accounts first: it says how many
        // fills the cut takes, and the chain must agree with it
        let view = w.t.trade_view(&w.f.pool, &m.key, &trader.key()).await;
        let now = w.t.now;
        let cut_action = keel::client::quote::TradeAction::ReduceBeforeClose;
        let q = keel::client::quote::quote_trade(&view, &trader.key(), cut_action, 0, now).unwrap();
        w.t.send(&[cut], &[&keeper.kp]).await.unwrap();
        most_fills = most_fills.max(q.quote.fills);
        let key = w.f.position(EUR, &trader.key());
        let left = match w.t.position(&key).await {
            Some(_) => leverage(&mut w, EUR, &trader.key(), 1.08).await,
            None => 0.0,
        };
        println!(
            "case {case}: {size} at {before:.2}x beside {} crowd: left at {left:.3}x in {} fill(s)",
            if same { "a same-side" } else { "an opposite" },
            q.quote.fills
        );
        assert!(left <= 20.0 + 1e-9, "case {case}: left at {left}x");
        assert!(left == 0.0 || left >= 18.0, "case {case}: cut to {left}x");
        let onchain = w.t.position(&key).await.map_or(0, |p| p.size);
        assert_eq!(onchain, q.quote.position_size, "case {case}: the quote");
        let positions = [
            key,
            w.f.position(EUR, &crowd.key()),
            w.f.position(GOLD, &w.trader.key()),
        ];
        w.t.assert_conservation(&w.f.pool, &positions).await;
    }
    assert!(most_fills >= 2, "no cut needed a second fill");
}

/// A position below maintenance in the hour before the close is the liquidator's, and with
/// closing paused so is the cut.
#[tokio::test]
async fn reduce_before_close_leaves_the_bankrupt_and_the_paused_alone() {
    use perp_amm::errors::PerpError::*;
    let mut w = world_with(true, 12_000 * E6).await;
    let keeper = w.f.keeper(&mut w.t).await;
    let position = w.f.position(EUR, &w.trader.key());
    let keys = [w.f.pool, w.f.vault, position, w.trader.quote];
    w.t.set_time(at(4, 21, 30));
    // 90x, maintenance 0.5 %: 0.8 % down leaves 3,360 of equity against 5,357 needed
    w.f.set_price(&mut w.t, EUR, 1.08 * 0.992, 0.0).await;
    let before = w.t.snapshot(&keys).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
            .await;
    assert_code(r, perp(BelowMaintenanceMargin));
    assert!(before == w.t.snapshot(&keys).await);
    // back up: 90x again, but closing is paused
    w.t.advance(1);
    w.f.set_price(&mut w.t, EUR, 1.08, 0.0).await;
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(
            &admin.pubkey(),
            &w.f.pool,
            perp_amm::state::pause::CLOSE,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let before = w.t.snapshot(&keys).await;
    let r =
        w.f.reduce_before_close(&mut w.t, &keeper, EUR, &w.trader)
            .await;
    assert_code(r, perp(Paused));
    assert!(before == w.t.snapshot(&keys).await);
}

/// A premium mode change prices every market's fills, so its notice is a day of open time of
/// every market that keeps hours: announced Friday 21:00 UTC, a wall-clock day would end on
/// Saturday with FX and gold shut; FX's day of open time ends Monday 21:00 and gold's (CME,
/// reopening Sunday 23:00) Monday 22:00, when it applies.
#[tokio::test]
async fn a_premium_change_waits_a_day_of_every_markets_open_time() {
    use perp_amm::state::premium_mode;
    let mut w = world(true).await;
    let limits = perp_amm::instructions::RiskLimits {
        max_imbalance_bps: 10_000,
        premium_mode: premium_mode::PER_MARKET,
        premium_horizon_secs: 86_400,
    };
    w.f.init_risk_model(&mut w.t, limits).await;
    let admin = w.t.admin.insecure_clone();
    w.t.set_time(at(4, 21, 0));
    let propose =
        ix::propose_premium_change(&admin.pubkey(), &w.f.pool, premium_mode::PORTFOLIO, 86_400);
    w.t.send(&[propose], &[&admin]).await.unwrap();
    let apply = ix::apply_premium_change(&w.f.pool);
    for (when, what) in [
        (at(5, 21, 0) + 1, "Saturday, a wall-clock day on"),
        (
            at(7, 21, 30),
            "Monday 21:30: FX's day is over, gold's is not",
        ),
    ] {
        w.t.set_time(when);
        let before = w.t.snapshot(&[w.f.pool]).await;
        let r = w.t.send(std::slice::from_ref(&apply), &[]).await;
        assert_eq!(
            r,
            Err(TxError::Custom(perp(PerpError::ChangeNotDue))),
            "{what}"
        );
        assert!(before == w.t.snapshot(&[w.f.pool]).await, "{what}");
    }
    w.t.set_time(at(7, 22, 0));
    w.t.send(&[apply], &[]).await.unwrap();
    let pool = w.t.pool(&w.f.pool).await;
    assert_eq!(pool.risk.premium_mode, premium_mode::PORTFOLIO);
    assert!(!pool.pending_premium.is_pending());
}

/// Schedules: bad inputs, each with its error and nothing changed; a schedule a market with
/// open interest uses changes only a day after it is set.
#[tokio::test]
async fn set_schedule_bad_inputs_and_notice() {
    let mut w = world(true).await;
    let admin = w.t.admin.insecure_clone();
    let a = admin.pubkey();
    let intruder = w.t.user(0).await;
    let pool = w.f.pool;
    let now = w.t.now;
    let s = |sessions: Vec<[u16; 2]>, closures: Vec<[i64; 2]>| ScheduleArgs {
        zone: keel_math::calendar::zone::NEW_YORK,
        sessions,
        closures,
    };
    let day = SECS_PER_DAY;
    // holidays are on whole minutes
    let now = (now / 60 + 1) * 60;
    let holiday = [at(24, 22, 0), at(25, 22, 0)];
    let cases: Vec<(&str, u8, ScheduleArgs, PerpError)> = vec![
        (
            "overlapping sessions",
            3,
            s(vec![[60, 600], [500, 900]], vec![]),
            PerpError::ScheduleSessions,
        ),
        (
            "open a minute a week",
            3,
            s(vec![[0, 1]], vec![]),
            PerpError::ScheduleSessions,
        ),
        (
            "holidays end to end",
            3,
            s(
                vec![],
                vec![
                    [now + 2 * day, now + 3 * day],
                    [now + 3 * day, now + 4 * day],
                ],
            ),
            PerpError::HolidayInvalid,
        ),
        (
            "a session past the week",
            3,
            s(vec![[60, 10_081]], vec![]),
            PerpError::ScheduleSessions,
        ),
        (
            "a holiday in the past",
            3,
            s(vec![], vec![[now - day, now - day + 3_600]]),
            PerpError::HolidayInPast,
        ),
        (
            "a holiday of five days",
            3,
            s(vec![], vec![[now + 2 * day, now + 7 * day]]),
            PerpError::HolidayInvalid,
        ),
        (
            "a holiday off the minute",
            3,
            s(vec![], vec![[now + 2 * day + 1, now + 3 * day]]),
            PerpError::HolidayInvalid,
        ),
        // (an unused schedule with open interest in the pool takes effect a day on: a holiday
        // must begin an hour after that, so the hour before it is under the new schedule)
        (
            "a holiday within the hour after it takes effect",
            3,
            s(vec![], vec![[now + day + 1_800, now + 2 * day]]),
            PerpError::HolidayInPast,
        ),
        (
            "no such zone",
            3,
            ScheduleArgs {
                zone: 9,
                ..s(vec![], vec![])
            },
            PerpError::InvalidParameter,
        ),
        (
            "schedule 0",
            0,
            s(vec![], vec![]),
            PerpError::InvalidParameter,
        ),
        (
            "schedule 9",
            9,
            s(vec![], vec![]),
            PerpError::InvalidParameter,
        ),
        // FX with open interest: a holiday starting within the day's notice is too soon
        (
            "a holiday within the notice",
            presets::FX_SCHEDULE,
            s(vec![[1_020, 8_220]], vec![[now + 3_600, now + 7_200]]),
            PerpError::HolidayInPast,
        ),
    ];
    for (what, index, schedule, err) in cases {
        let keys = [pool, ix::calendar_pda(&pool)];
        let before = w.t.snapshot(&keys).await;
        let r =
            w.t.send(&[ix::set_schedule(&a, &pool, index, schedule)], &[&admin])
                .await;
        assert_eq!(r, Err(TxError::Custom(perp(err))), "{what}");
        assert!(before == w.t.snapshot(&keys).await, "{what} changed state");
    }
    let r =
        w.t.send(
            &[ix::set_schedule(
                &intruder.key(),
                &pool,
                3,
                s(vec![], vec![]),
            )],
            &[&intruder.kp],
        )
        .await;
    assert_code(r, perp(PerpError::Unauthorized));
    // the calendar: a stranger cannot create one, it is created once, and another pool's
    // calendar is not this pool's
    let other = PerpFixture::with_id(&mut w.t, 7, &[1.0], default_params()).await;
    let keys = [
        pool,
        ix::calendar_pda(&pool),
        other.pool,
        ix::calendar_pda(&other.pool),
    ];
    let before = w.t.snapshot(&keys).await;
    let stranger = w.t.user(0).await;
    w.t.airdrop(&stranger.key(), 1_000_000_000).await;
    let init = ix::init_calendar(&stranger.key(), &other.pool);
    let r = w.t.send(&[init], &[&stranger.kp]).await;
    assert_code(r, perp(PerpError::Unauthorized));
    let r = w.t.send(&[ix::init_calendar(&a, &pool)], &[&admin]).await;
    assert!(r.is_err(), "a second calendar");
    assert!(before == w.t.snapshot(&keys).await);
    w.t.send(&[ix::init_calendar(&a, &other.pool)], &[&admin])
        .await
        .unwrap();
    let keys = [pool, ix::calendar_pda(&pool)];
    let before = w.t.snapshot(&keys).await;
    let mut wrong = ix::set_schedule(&a, &pool, 3, s(vec![], vec![]));
    wrong.accounts[2].pubkey = ix::calendar_pda(&other.pool);
    assert_code(
        w.t.send(&[wrong], &[&admin]).await,
        perp(PerpError::WrongCalendar),
    );
    assert!(before == w.t.snapshot(&keys).await);
    // an unused schedule too waits its day while positions are open: an announced market
    // change could move a market onto it (an auditor's finding)
    w.t.send(
        &[ix::set_schedule(
            &a,
            &pool,
            5,
            s(vec![[17 * 60, 5 * 1_440 + 17 * 60]], vec![]),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let data = w.t.account_data(&ix::calendar_pda(&pool)).await.unwrap();
    let calendar = keel::client::decode::calendar(&data).unwrap();
    assert_eq!(calendar.schedules[4].next_from, w.t.now + day);
    assert_eq!(calendar.schedules[4].current.defined, 0);
    // a scheduled market keeps at least a σ of gap allowance, and it moves in bounded steps
    let eur = w.f.markets[EUR as usize].key;
    let eur_oracle = w.f.markets[EUR as usize].oracle;
    for (params, err) in [
        (
            MarketParams {
                gap_sigmas_e2: 50,
                ..eur_params()
            },
            PerpError::InvalidParameter,
        ),
        (
            MarketParams {
                gap_sigmas_e2: 200,
                ..eur_params()
            },
            PerpError::ChangeTooLarge,
        ),
    ] {
        let r =
            w.t.send(
                &[ix::propose_market_change(&a, &pool, &eur, params)],
                &[&admin],
            )
            .await;
        assert_code(r, perp(err));
    }
    let _ = eur_oracle;
    // Christmas on FX, announced: the current hours hold for a day, then the new ones
    let fx = presets::schedules().remove(0).1;
    let christmas = ScheduleArgs {
        closures: vec![holiday],
        ..fx
    };
    w.t.send(
        &[ix::set_schedule(&a, &pool, presets::FX_SCHEDULE, christmas)],
        &[&admin],
    )
    .await
    .unwrap();
    let data = w.t.account_data(&ix::calendar_pda(&pool)).await.unwrap();
    let calendar = keel::client::decode::calendar(&data).unwrap();
    let slot = &calendar.schedules[presets::FX_SCHEDULE as usize - 1];
    // a day of FX's hours from Friday 15:00: seven hours to the close, seventeen from Sunday
    // 22:00: Monday 15:00, three days of clock (the weekend does not count)
    assert_eq!(slot.next_from, w.t.now + 3 * day);
    assert_eq!(slot.current.closure_count, 0);
    // Friday evening: still the current hours (FX open until 22:00 UTC); Christmas Day,
    // after the notice: closed
    assert!(
        calendar
            .is_open(presets::FX_SCHEDULE, w.t.now + 3_600)
            .unwrap()
    );
    assert!(
        !calendar
            .is_open(presets::FX_SCHEDULE, at(25, 12, 0))
            .unwrap()
    );
    assert!(
        calendar
            .is_open(presets::FX_SCHEDULE, at(23, 12, 0))
            .unwrap()
    );
}

/// Dust: a position must be worth at least the market's smallest notional, opened or left by
/// a decrease; closing is always possible.
#[tokio::test]
async fn a_crumb_cannot_be_opened_or_left() {
    let mut t = TestContext::new().await;
    let params = MarketParams {
        min_position_notional: 10 * E6,
        ..default_params()
    };
    let f = PerpFixture::with_params(&mut t, &[1.08], params).await;
    let lp = t.user(1_000_000 * E6).await;
    let acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &acct, 100_000 * E6).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    // 0.001 EUR (the grief), then 9 EUR = 9.72 quote: both under 10
    for size in [1_000, 9 * E6 as i64] {
        assert_code(
            f.open(&mut t, &trader, 0, size, 10 * E6).await,
            perp(PerpError::DustPosition),
        );
    }
    f.open(&mut t, &trader, 0, 20 * E6 as i64, 10 * E6)
        .await
        .unwrap();
    assert_code(
        f.decrease(&mut t, &trader, 0, 12 * E6, true).await,
        perp(PerpError::DustPosition),
    );
    f.decrease(&mut t, &trader, 0, 10 * E6, true).await.unwrap();
    f.close(&mut t, &trader, 0, true).await.unwrap();
}

/// A market change's notice is a day of the market's open time: announced on Friday at 21:00
/// UTC, an EUR maintenance hike used to be due on Saturday at 21:00, with the market shut from
/// the hour after the announcement to Sunday evening; it is due on Monday at 21:00.
#[tokio::test]
async fn a_market_change_waits_a_day_of_open_time() {
    let mut w = world(true).await;
    let admin = w.t.admin.insecure_clone();
    let (pool, market) = (w.f.pool, w.f.markets[EUR as usize].key);
    let oracle = w.f.markets[EUR as usize].oracle;
    w.t.set_time(at(4, 21, 0));
    let hike = MarketParams {
        maintenance_margin_bps: 60,
        ..eur_params()
    };
    w.t.send(
        &[ix::propose_market_change(
            &admin.pubkey(),
            &pool,
            &market,
            hike,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let apply = || ix::apply_market_change(&pool, &market, &oracle);
    for when in [at(5, 21, 30), at(7, 20, 59)] {
        w.t.set_time(when);
        let keys = [pool, market];
        let before = w.t.snapshot(&keys).await;
        assert_code(
            w.t.send(&[apply()], &[]).await,
            perp(PerpError::ChangeNotDue),
        );
        assert!(before == w.t.snapshot(&keys).await);
    }
    w.t.set_time(at(7, 21, 0) + 1);
    w.t.send(&[apply()], &[]).await.unwrap();
    assert_eq!(w.t.market(&market).await.params.maintenance_margin_bps, 60);
}
