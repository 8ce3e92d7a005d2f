//! The collateral rebalancing pool against the attacks of issue #17, each with its numbers:
//! a sandwich around the rebalance, an idle lender beside lent cash, a settlement that a pause
//! or a dead oracle tries to freeze, a squatted pool address and a future-dated price.
//!
//! The pool is the README's worked example: 100,000 lent; 1,000 risky at 100 against an 80,000
//! loan; σ 80 %, α 0.5, daily rebalances, a 0.3 % fee, 30 % trade cap.

use anchor_lang::error::ErrorCode;
use collateral_pool::errors::CrpError;
use collateral_pool::state::{pause, status};
use keel::client::crp as cix;
use keel_tests::crp::{CrpFixture, CrpUser, DAY, ONE, default_crp_params};
use keel_tests::{TestContext, anchor, assert_code, crp};
use solana_signer::Signer;

/// The worked example's pool, and a trader with deep pockets.
async fn worked_pool(t: &mut TestContext) -> (CrpFixture, CrpUser, CrpUser, CrpUser) {
    let fx = CrpFixture::new(t, 100.0, default_crp_params()).await;
    let lender = fx.user(t, 0, 100_000 * ONE).await;
    fx.lend(t, &lender, 100_000 * ONE).await.unwrap();
    let borrower = fx.user(t, 1_000 * ONE, 100_000 * ONE).await;
    fx.borrow(t, &borrower, 1_000 * ONE, 80_000 * ONE)
        .await
        .unwrap();
    let trader = fx.user(t, 100_000 * ONE, 100_000_000 * ONE).await;
    (fx, lender, borrower, trader)
}

/// What `u` holds, valued at `price` (riskless native per risky native).
async fn holdings(t: &mut TestContext, u: &CrpUser, price: f64) -> f64 {
    t.balance(&u.risky).await as f64 * price + t.balance(&u.riskless).await as f64
}

/// The pool's balances valued at `price`.
async fn pool_value(t: &mut TestContext, fx: &CrpFixture, price: f64) -> f64 {
    let p = fx.pool(t).await;
    p.risky_balance as f64 * price + p.riskless_balance as f64
}

/// A day on, the price is `price`: the keeper rebalances and an arbitrageur trades the pool to
/// the oracle. Returns the arbitrageur's profit and the pool's value change, at `price`.
async fn honest_day(price: f64) -> (f64, f64) {
    let mut t = TestContext::new().await;
    let (fx, _, _, arb) = worked_pool(&mut t).await;
    t.advance(DAY);
    fx.set_price(&mut t, price).await;
    let (h0, v0) = (
        holdings(&mut t, &arb, price).await,
        pool_value(&mut t, &fx, price).await,
    );
    fx.rebalance(&mut t).await.unwrap();
    fx.arbitrage(&mut t, &arb, price).await;
    fx.assert_conserved(&mut t).await;
    (
        holdings(&mut t, &arb, price).await - h0,
        pool_value(&mut t, &fx, price).await - v0,
    )
}

/// The same day, sandwiched in one slot (the program sees one clock and one slot, as in one
/// transaction or bundle): up to `pre` trades pushing the pool's price in the direction of the
/// coming weight change as far as the program allows, the rebalance (the attacker holds the
/// keeper's key, or `keeper` is anyone), then the unwind, ordinary arbitrage to the oracle.
/// Returns the attacker's profit, the pool's value change and how many pre-trades landed.
async fn sandwiched_day(price: f64, pre: usize) -> (f64, f64, usize) {
    let mut t = TestContext::new().await;
    let (fx, _, _, attacker) = worked_pool(&mut t).await;
    t.advance(DAY);
    fx.set_price(&mut t, price).await;
    let (h0, v0) = (
        holdings(&mut t, &attacker, price).await,
        pool_value(&mut t, &fx, price).await,
    );
    // the weight will rise after a rise (buy risky now, sell it dearer) and fall after a fall
    let landed = fx.push(&mut t, &attacker, price > 100.0, pre).await;
    fx.rebalance(&mut t).await.unwrap();
    fx.arbitrage(&mut t, &attacker, price).await;
    fx.assert_conserved(&mut t).await;
    (
        holdings(&mut t, &attacker, price).await - h0,
        pool_value(&mut t, &fx, price).await - v0,
        landed,
    )
}

#[tokio::test]
async fn a_sandwiched_rebalance_pays_no_more_than_honest_arbitrage() {
    // the measurement before the ramp and the slot cap (honest, 1, 3 and 6 pre-trades):
    // 110: 935 / 3,981 / 9,916 / 18,359; 90: 1,105 / 5,466 / 13,852 / 17,879;
    // 70: 9,934 / 21,216 / 40,989 / 49,636
    for price in [110.0, 90.0, 70.0] {
        let (honest, honest_pool) = honest_day(price).await;
        let mut row = format!(
            "price {price}: honest arbitrage {:.0} (pool {:+.0})",
            honest / ONE as f64,
            honest_pool / ONE as f64
        );
        for pre in [1, 3, 6] {
            let (profit, pool_change, landed) = sandwiched_day(price, pre).await;
            row += &format!(
                "; {pre} pre-trades ({landed} landed): {:.0} (pool {:+.0})",
                profit / ONE as f64,
                pool_change / ONE as f64
            );
            // nothing moves the weight inside the slot and no trade may push the price past the
            // oracle's band, so the pre-trades are arbitrage to the band's edge and the unwind
            // pays its fee back: the attacker makes no more than honest arbitrage, give or take
            // the last hundredth of the gap the honest arbitrageur's sizing leaves (0.03 % of
            // its profit at 90), and the pool loses no more
            assert!(
                profit <= honest * 1.001,
                "{price}, {pre} pre-trades: attacker {profit} > honest {honest}"
            );
            assert!(
                pool_change >= honest_pool * 1.001,
                "{price}, {pre}: the pool lost {pool_change}, more than to honest arbitrage"
            );
            assert!(
                landed >= 1,
                "{price}, {pre}: the first push is arbitrage and lands"
            );
        }
        println!("{row}");
    }
}

#[tokio::test]
async fn the_weight_ramps_and_swaps_stay_in_the_band_and_under_the_slot_cap() {
    let mut t = TestContext::new().await;
    let (fx, _, _, trader) = worked_pool(&mut t).await;
    // the price halves: the pool, still at 100, must sell risky... to arbitrage, who brings it
    // down in steps the slot cap allows
    t.advance(DAY);
    fx.set_price(&mut t, 50.0).await;
    let w0 = fx.pool(&mut t).await.weight_at(t.now).unwrap();
    fx.rebalance(&mut t).await.unwrap();
    let p = fx.pool(&mut t).await;
    assert_eq!(
        p.weight_at(t.now).unwrap(),
        w0,
        "a rebalance moves nothing at once"
    );
    assert!(p.target_weight.fix() < w0);
    let watched = fx.watched(&trader);
    // a quarter of the risky balance in: the price falls toward 50, within the band
    fx.swap(&mut t, &trader, true, true, p.risky_balance / 4, 0)
        .await
        .unwrap();
    // a further 5 % would take the slot's movement of the risky balance past 30 %
    let more = fx.pool(&mut t).await.risky_balance / 20;
    let before = t.snapshot(&watched).await;
    assert_code(
        fx.swap(&mut t, &trader, true, true, more, 0).await,
        crp(CrpError::SlotTradeLimit),
    );
    // a quarter more would push the price below the oracle's band (50 less the fee)
    let quarter = fx.pool(&mut t).await.risky_balance / 4;
    assert_code(
        fx.swap(&mut t, &trader, true, true, quarter, 0).await,
        crp(CrpError::PriceOffOracle),
    );
    // and buying risky back up past the band's other edge is refused too
    let p = fx.pool(&mut t).await;
    assert_code(
        fx.swap(&mut t, &trader, false, true, p.riskless_balance / 4, 0)
            .await,
        crp(CrpError::PriceOffOracle),
    );
    assert_eq!(t.snapshot(&watched).await, before);
    // in the next slot the same 5 % lands, and the weight has moved down its ramp
    t.advance(1);
    fx.swap(&mut t, &trader, true, true, more, 0).await.unwrap();
    let w1 = fx.pool(&mut t).await.weight_at(t.now).unwrap();
    assert!(w1 < w0, "a second later the weight has moved down its ramp");
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn an_idle_lender_does_not_take_the_interest_of_lent_cash() {
    // the example: 5 %, 90 days; 100,000 lent and borrowed, then 10,000,000 lent idle
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let honest = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.lend(&mut t, &honest, 100_000 * ONE).await.unwrap();
    let borrower = fx.user(&mut t, 10_000 * ONE, 1_000_000 * ONE).await;
    fx.borrow(&mut t, &borrower, 3_000 * ONE, 100_000 * ONE)
        .await
        .unwrap();
    let debt = fx.pool(&mut t).await.debt_face;
    assert_eq!(debt, 101_232_032_855, "100,000 · (1 + 0.05·90/365.25), up");
    let idle = fx.user(&mut t, 0, 10_000_000 * ONE).await;
    fx.lend(&mut t, &idle, 10_000_000 * ONE).await.unwrap();
    // the newcomer buys in at what is owed: fewer claims than units
    let idle_claims = t.balance(&idle.claims).await;
    assert!(idle_claims < 10_000_000 * ONE);
    let operator = fx.user(&mut t, 0, 1_000 * ONE).await;
    fx.fund_reserve(&mut t, &operator, 1_000 * ONE)
        .await
        .unwrap();
    let reserve = fx.pool(&mut t).await.reserve;

    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    let arb = fx.user(&mut t, 0, 1_000_000 * ONE).await;
    fx.settle_fully(&mut t, &arb).await;
    for u in [&honest, &idle] {
        let claims = t.balance(&u.claims).await;
        fx.redeem_lender(&mut t, u, claims).await.unwrap();
    }
    let honest_paid = t.balance(&honest.riskless).await;
    let idle_paid = t.balance(&idle.riskless).await;
    println!(
        "honest lender paid {} for 100,000 lent; idle lender {} for 10,000,000; reserve {} -> {}",
        honest_paid,
        idle_paid,
        reserve,
        fx.pool(&mut t).await.reserve
    );
    // the honest lender gets the face of the loan his cash funded (less a unit of rounding);
    // the idle lender gets his cash back, no interest, and the reserve pays nobody
    assert!(
        honest_paid <= debt && debt - honest_paid <= 1,
        "{honest_paid}"
    );
    assert!(idle_paid <= 10_000_000 * ONE && 10_000_000 * ONE - idle_paid <= 1);
    assert_eq!(fx.pool(&mut t).await.reserve, reserve);
    fx.assert_conserved(&mut t).await;
}

/// A pool whose price has fallen so far by expiry that its riskless side cannot pay the debt.
async fn short_at_expiry(t: &mut TestContext) -> (CrpFixture, CrpUser, CrpUser, CrpUser) {
    let (fx, lender, borrower, arb) = worked_pool(t).await;
    t.set_time(fx.expiry);
    fx.set_price(t, 30.0).await;
    fx.settle(t, &arb).await.unwrap();
    assert_eq!(fx.pool(t).await.status, status::SETTLING);
    (fx, lender, borrower, arb)
}

#[tokio::test]
async fn a_pause_cannot_freeze_the_settling_sale() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower, arb) = short_at_expiry(&mut t).await;
    let admin = t.admin.insecure_clone();
    t.send(
        &[cix::set_pause(&admin.pubkey(), &fx.keys.pool, pause::ALL)],
        &[&admin],
    )
    .await
    .unwrap();
    fx.settle_fully(&mut t, &arb).await;
    let s = fx.pool(&mut t).await;
    assert_eq!(s.lender_assets, 20_000 * ONE + s.debt_face, "lenders whole");
    let claims = t.balance(&lender.claims).await;
    fx.redeem_lender(&mut t, &lender, claims).await.unwrap();
    let residual = t.balance(&borrower.residual).await;
    fx.redeem_borrower(&mut t, &borrower, residual)
        .await
        .unwrap();
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn a_dead_oracle_settles_in_kind_after_the_grace_period() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower, arb) = short_at_expiry(&mut t).await;
    // the feed stops: the sale needs a fresh price and cannot run
    t.advance(61);
    let before = t.snapshot(&fx.watched(&arb)).await;
    assert_code(
        fx.swap(&mut t, &arb, false, true, ONE, 0).await,
        crp(CrpError::StaleOracle),
    );
    assert_eq!(t.snapshot(&fx.watched(&arb)).await, before);
    // the feed's last print, 25, comes when nobody trades: the pool never accepts it
    fx.set_price(&mut t, 25.0).await;
    t.advance(61);
    // inside the grace period settlement waits for the sale
    t.set_time(fx.expiry + 3 * DAY - 1);
    assert_code(fx.settle(&mut t, &arb).await, crp(CrpError::Settling));
    assert_eq!(
        fx.pool(&mut t).await.last_price.fix(),
        keel_math::Fix::from_num(30)
    );
    // after it, the pool settles as it stands: the riskless side pays what it can, lenders take
    // risky for the rest at the feed's latest print (25, stale but newer than the pool's 30)
    // less the 1 % discount
    t.set_time(fx.expiry + 3 * DAY);
    let p = fx.pool(&mut t).await;
    fx.settle(&mut t, &arb).await.unwrap();
    let s = fx.pool(&mut t).await;
    assert_eq!(s.status, status::SETTLED);
    let short = p.debt_face - p.riskless_balance;
    let kind_price = 25.0 * 0.99;
    let expected = (short as f64 / kind_price).ceil() as u64;
    assert!(
        s.lender_risky.abs_diff(expected) <= 1,
        "{} risky for {short} short, expected {expected}",
        s.lender_risky
    );
    assert_eq!(s.lender_assets, 20_000 * ONE + p.riskless_balance);
    assert_eq!(s.risky_balance, p.risky_balance - s.lender_risky);
    fx.assert_conserved(&mut t).await;
    let claims = t.balance(&lender.claims).await;
    fx.redeem_lender(&mut t, &lender, claims).await.unwrap();
    assert_eq!(t.balance(&lender.risky).await, s.lender_risky);
    let residual = t.balance(&borrower.residual).await;
    fx.redeem_borrower(&mut t, &borrower, residual)
        .await
        .unwrap();
    let e = fx.pool(&mut t).await;
    assert_eq!(
        (
            e.risky_balance,
            e.riskless_balance,
            e.lender_risky,
            e.lender_assets
        ),
        (0, 0, 0, 0),
        "everything paid out"
    );
    fx.assert_conserved(&mut t).await;
    println!(
        "settled in kind: debt {} short {short}, lenders took {} risky at 24.75 and {} riskless",
        p.debt_face, s.lender_risky, s.lender_assets
    );
}

#[tokio::test]
async fn a_squatter_cannot_take_the_operators_pool_address() {
    use collateral_pool::instructions::InitCrpPoolArgs;
    use collateral_pool::state::CrpParams;
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let expiry = fx.expiry + DAY;
    let args = |params: CrpParams| InitCrpPoolArgs {
        expiry,
        params,
        keeper: anchor_lang::prelude::Pubkey::default(),
        oracle_kind: perp_amm::state::OracleKind::Push,
        feed_id: fx.perp.markets[0].feed_id,
        oracle_pool: fx.perp.pool,
    };
    // the squatter creates the pair's pool for that expiry first, with his own terms
    let squatter = solana_keypair::Keypair::new();
    t.airdrop(&squatter.pubkey(), 1_000_000_000).await;
    let risky = fx.keys.risky_mint;
    let own = cix::PoolKeys::new(
        risky,
        t.quote_mint,
        expiry,
        &squatter.pubkey(),
        fx.keys.oracle,
    );
    let greedy = CrpParams {
        fee_bps: 999,
        ..default_crp_params()
    };
    t.send(
        &[cix::init_pool(&squatter.pubkey(), &own, args(greedy))],
        &[&squatter],
    )
    .await
    .unwrap();
    // the operator's pool is at another address, and is created as usual
    let admin = t.admin.insecure_clone();
    let ops = cix::PoolKeys::new(risky, t.quote_mint, expiry, &admin.pubkey(), fx.keys.oracle);
    assert_ne!(own.pool, ops.pool);
    t.send(
        &[cix::init_pool(
            &admin.pubkey(),
            &ops,
            args(default_crp_params()),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    assert_eq!(t.crp_pool(&ops.pool).await.params.fee_bps, 30);
    // and a pool whose seeds name the operator cannot be created by anyone else
    let later = cix::PoolKeys::new(
        risky,
        t.quote_mint,
        expiry + DAY,
        &admin.pubkey(),
        fx.keys.oracle,
    );
    let mut args_later = args(default_crp_params());
    args_later.expiry = expiry + DAY;
    let result = t
        .send(
            &[cix::init_pool(&squatter.pubkey(), &later, args_later)],
            &[&squatter],
        )
        .await;
    assert_code(result, anchor(ErrorCode::ConstraintSeeds));
    assert!(t.account_data(&later.pool).await.is_none());
}

/// Across slots the weight does move, a share of the step per second. With the price held at
/// `price` for the day after the rebalance: (a) arbitrage every hour, (b) arbitrage at the
/// rebalance and once at the end of the ramp, (c) an attacker who pushes the pool's price as far
/// as the program allows before the rebalance, holds that through the whole ramp with no one
/// else trading, and unwinds at its end. Returns the profit and the pool's value change, at
/// `price`.
async fn ramp_day(price: f64, hourly: bool, pre: bool, conf: f64) -> (f64, f64) {
    let mut t = TestContext::new().await;
    let (fx, _, _, trader) = worked_pool(&mut t).await;
    t.advance(DAY);
    fx.perp.set_price(&mut t, 0, price, price * conf).await;
    let (h0, v0) = (
        holdings(&mut t, &trader, price).await,
        pool_value(&mut t, &fx, price).await,
    );
    if pre {
        fx.push(&mut t, &trader, price > 100.0, 6).await;
    }
    fx.rebalance(&mut t).await.unwrap();
    if !pre {
        fx.arbitrage(&mut t, &trader, price).await;
    }
    for _ in 0..24 {
        t.advance(3_600);
        fx.perp.set_price(&mut t, 0, price, price * conf).await;
        if hourly {
            fx.arbitrage(&mut t, &trader, price).await;
        }
    }
    fx.arbitrage(&mut t, &trader, price).await;
    fx.assert_conserved(&mut t).await;
    (
        holdings(&mut t, &trader, price).await - h0,
        pool_value(&mut t, &fx, price).await - v0,
    )
}

#[tokio::test]
async fn across_the_ramp_a_held_push_earns_what_one_arbitrage_does() {
    // with no confidence interval, and with the default bound's 1 %: the band is the mid price
    // plus or minus the fee, so a wide print does not widen what a push can reach
    for (price, conf) in [(110.0, 0.0), (90.0, 0.0), (70.0, 0.0), (110.0, 0.01)] {
        let (hourly, hourly_pool) = ramp_day(price, true, false, conf).await;
        let (once, once_pool) = ramp_day(price, false, false, conf).await;
        let (held, held_pool) = ramp_day(price, false, true, conf).await;
        println!(
            "price {price} (conf {conf}), over the day's ramp: hourly arbitrage {:.0} (pool \
             {:+.0}); one arbitrage at its end {:.0} (pool {:+.0}); a push held through it {:.0} \
             (pool {:+.0})",
            hourly / ONE as f64,
            hourly_pool / ONE as f64,
            once / ONE as f64,
            once_pool / ONE as f64,
            held / ONE as f64,
            held_pool / ONE as f64,
        );
        // competing arbitrage every hour takes less from the pool than one trade at the end;
        // the held push is that one trade, plus what pushing to the band's edge before the
        // ramp adds (3 % of it at 110: 0.016 % of the pool)
        assert!(hourly_pool >= once_pool - 1.0, "{price}");
        assert!(
            held <= once * 1.05,
            "{price}: held {held} > once {once} + 5 %"
        );
    }
}

#[tokio::test]
async fn a_stale_breach_record_cannot_confirm_a_late_dip() {
    // converting at 60 %: the worked pool (debt 80,985; 1,000 risky and 72,802 riskless, no
    // arbitrage) breaches below ~62: at 55 its debt is 63 % of its value
    let params = collateral_pool::state::CrpParams {
        conversion_ltv_bps: 6_000,
        ..default_crp_params()
    };
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, params).await;
    let lender = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.lend(&mut t, &lender, 100_000 * ONE).await.unwrap();
    let borrower = fx.user(&mut t, 1_000 * ONE, 100_000 * ONE).await;
    fx.borrow(&mut t, &borrower, 1_000 * ONE, 80_000 * ONE)
        .await
        .unwrap();
    let watcher = fx.user(&mut t, 0, 0).await;
    // a brief dip is recorded, the price recovers and nobody reports it
    t.advance(60);
    fx.set_price(&mut t, 55.0).await;
    fx.trigger_conversion(&mut t, &watcher).await.unwrap();
    let first = fx.pool(&mut t).await.breach_publish_ts;
    assert_eq!(first, t.now);
    t.advance(60);
    fx.set_price(&mut t, 100.0).await;
    // hours later a second brief dip: it is a new first observation, not a confirmation
    t.advance(8 * 3_600);
    fx.set_price(&mut t, 55.0).await;
    fx.trigger_conversion(&mut t, &watcher).await.unwrap();
    let p = fx.pool(&mut t).await;
    assert_eq!((p.status, p.breach_publish_ts), (status::ACTIVE, t.now));
    // a swap (or a borrow) that reads a recovered price clears that record too
    t.advance(60);
    fx.set_price(&mut t, 100.0).await;
    let arb = fx.user(&mut t, 10 * ONE, 1_000 * ONE).await;
    fx.swap(&mut t, &arb, false, true, ONE, 0).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.breach_publish_ts, 0);
    // a real breach, confirmed inside the window, converts
    t.advance(60);
    fx.set_price(&mut t, 55.0).await;
    fx.trigger_conversion(&mut t, &watcher).await.unwrap();
    t.advance(300);
    fx.set_price(&mut t, 55.0).await;
    fx.trigger_conversion(&mut t, &watcher).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::CONVERTING);
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn lenders_of_the_same_moment_share_a_loan_s_interest_pro_rata() {
    // the known limit of pooled claims (README): 10,000,000 lent idle *before* the 100,000 is
    // lent and borrowed share the loan's interest by their cash
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let idle = fx.user(&mut t, 0, 10_000_000 * ONE).await;
    fx.lend(&mut t, &idle, 10_000_000 * ONE).await.unwrap();
    let honest = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.lend(&mut t, &honest, 100_000 * ONE).await.unwrap();
    let borrower = fx.user(&mut t, 10_000 * ONE, 1_000_000 * ONE).await;
    fx.borrow(&mut t, &borrower, 3_000 * ONE, 100_000 * ONE)
        .await
        .unwrap();
    let debt = fx.pool(&mut t).await.debt_face;
    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    let arb = fx.user(&mut t, 0, 1_000_000 * ONE).await;
    fx.settle_fully(&mut t, &arb).await;
    for u in [&honest, &idle] {
        let claims = t.balance(&u.claims).await;
        fx.redeem_lender(&mut t, u, claims).await.unwrap();
    }
    let (honest_paid, idle_paid) = (
        t.balance(&honest.riskless).await,
        t.balance(&idle.riskless).await,
    );
    println!(
        "same moment: honest lender paid {honest_paid} for 100,000, idle lender {idle_paid} for \
         10,000,000 (interest {})",
        debt - 100_000 * ONE
    );
    // pro rata by cash: the honest lender's share of the interest is 100,000 / 10,100,000
    let interest = (debt - 100_000 * ONE) as u128;
    let share = interest * 100_000 / 10_100_000;
    assert!((honest_paid as u128).abs_diff(100_000 * ONE as u128 + share) <= 1);
    assert_eq!(honest_paid + idle_paid, 10_000_000 * ONE + debt);
    fx.assert_conserved(&mut t).await;
}
