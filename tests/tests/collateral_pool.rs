//! The collateral rebalancing pool on the real runtime: lending, borrowing, swaps, rebalances,
//! flight to quality and settlement, with the vaults checked against the accounting after every
//! step.

use collateral_pool::errors::CrpError;
use collateral_pool::state::status;
use keel_math::Fix;
use keel_tests::TestContext;
use keel_tests::crp::{CrpFixture, CrpUser, DAY, ONE, default_crp_params};

fn weight(f: Fix) -> f64 {
    f.to_num::<f64>()
}

/// The pool's price (riskless per risky, native) from its balances and weights at `now`.
fn pool_price(p: &collateral_pool::state::CrpPool, now: i64) -> f64 {
    let w = weight(p.weight_at(now).unwrap());
    (p.riskless_balance as f64 / (1.0 - w)) / (p.risky_balance as f64 / w)
}

/// A day passes: a new price, the keeper rebalances, arbitrage follows.
async fn day(t: &mut TestContext, fx: &CrpFixture, arb: &CrpUser, price: f64) -> bool {
    t.advance(DAY);
    fx.set_price(t, price).await;
    fx.rebalance(t).await.unwrap();
    // a breach the rebalance recorded: the keeper reports the next print, five minutes on
    if fx.pool(t).await.breach_publish_ts != 0 {
        t.advance(300);
        fx.set_price(t, price).await;
        fx.trigger_conversion(t, arb).await.unwrap();
    }
    let p = fx.pool(t).await;
    eprintln!(
        "price {price:8.3}  weight {:.4}  delta {:.4}  debt/value {:.4}",
        weight(p.weight_at(t.now).unwrap()),
        weight(p.last_delta.fix()),
        p.debt_face as f64 / (p.risky_balance as f64 * price + p.riskless_balance as f64)
    );
    if p.status == status::ACTIVE {
        fx.arbitrage(t, arb, price).await;
        fx.assert_conserved(t).await;
        false
    } else {
        true
    }
}

#[tokio::test]
async fn lend_borrow_trade_rebalance_and_settle() {
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let p = fx.pool(&mut t).await;
    // the first weight is the delta at the money: Φ(σ√T/2) with σ 0.8, T 90 days
    let delta = weight(p.risky_weight.fix());
    let expected = 0.578_9; // Φ(0.8·√(90/365.25)/2) = Φ(0.19856) = 0.57870
    assert!((delta - expected).abs() < 2e-3, "initial weight {delta}");
    assert_eq!(p.risky_weight.fix(), p.last_delta.fix());

    let lender = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.lend(&mut t, &lender, 100_000 * ONE).await.unwrap();
    let p = fx.pool(&mut t).await;
    // the first lender: one claim per unit; the cash earns only when it is lent
    assert_eq!(p.lender_claims, 100_000 * ONE);
    assert_eq!(t.balance(&lender.claims).await, p.lender_claims);
    fx.assert_conserved(&mut t).await;

    let borrower = fx.user(&mut t, 1_000 * ONE, 100_000 * ONE).await;
    fx.borrow(&mut t, &borrower, 1_000 * ONE, 80_000 * ONE)
        .await
        .unwrap();
    let p = fx.pool(&mut t).await;
    let leg = p.riskless_balance;
    // the riskless leg keeps the pool at the oracle price: 100,000·(1 − w)/w
    let expected_leg = 100_000.0 * ONE as f64 * (1.0 - delta) / delta;
    assert!((leg as f64 - expected_leg).abs() < 2.0, "leg {leg}");
    assert!((pool_price(&p, t.now) - 100.0).abs() < 1e-6);
    assert_eq!(p.risky_balance, 1_000 * ONE);
    assert_eq!(p.loan_cash, 20_000 * ONE);
    assert_eq!(p.debt_face, 80_985_626_284); // 80,000 · (1 + 0.05·90/365.25), rounded up
    assert_eq!(
        t.balance(&borrower.riskless).await,
        100_000 * ONE + 80_000 * ONE - leg
    );
    // residual claims: the equity added, 100,000 + leg − 80,000
    assert_eq!(p.residual_supply, 100_000 * ONE + leg - 80_000 * ONE);
    fx.assert_conserved(&mut t).await;

    // a trade pays 0.3 % on its riskless leg, a fifth of it to the reserve fund; the pool trades
    // only inside the oracle's band (here the fee: the oracle publishes no confidence), so
    // 1,000 in, which would lift its price 2.4 %, is refused and 100 (0.24 %) goes through
    let arb = fx.user(&mut t, 10_000 * ONE, 1_000_000 * ONE).await;
    keel_tests::assert_code(
        fx.swap(&mut t, &arb, false, true, 1_000 * ONE, 0).await,
        keel_tests::crp(CrpError::PriceOffOracle),
    );
    fx.swap(&mut t, &arb, false, true, 100 * ONE, 0)
        .await
        .unwrap();
    let q = fx.pool(&mut t).await;
    assert_eq!(q.reserve, 60_000); // 0.3 · 0.2 tokens
    assert_eq!(q.riskless_balance, p.riskless_balance + 100 * ONE - 60_000);
    let bought = p.risky_balance - q.risky_balance;
    // 99.7 net at 100 is 0.997 before the price impact of a 0.14 % trade on the riskless side
    assert!(bought < 997_000 && bought > 995_000, "bought {bought}");
    assert_eq!(t.balance(&arb.risky).await, 10_000 * ONE + bought);
    fx.assert_conserved(&mut t).await;
    // and back: sell what was bought
    fx.swap(&mut t, &arb, true, true, bought, 0).await.unwrap();
    fx.assert_conserved(&mut t).await;

    // a day later the keeper rebalances at 110: the weight's target is halfway to the new delta,
    // and the weight ramps there over the next day
    t.advance(DAY);
    fx.set_price(&mut t, 110.0).await;
    let before = fx.pool(&mut t).await.weight_at(t.now).unwrap();
    fx.rebalance(&mut t).await.unwrap();
    let r = fx.pool(&mut t).await;
    let (w0, w1, d) = (
        weight(before),
        weight(r.target_weight.fix()),
        weight(r.last_delta.fix()),
    );
    assert!(d > w0, "delta {d} above the old weight {w0} after a rise");
    assert!((w1 - (w0 + d) / 2.0).abs() < 1e-12, "EMA α = 0.5");
    assert_eq!(r.last_rebalance_ts, t.now);
    assert_eq!(r.ramp_end_ts, t.now + DAY);
    assert_eq!(
        r.weight_at(t.now).unwrap(),
        before,
        "no jump at the rebalance"
    );
    let half = weight(r.weight_at(t.now + DAY / 2).unwrap());
    assert!(
        (half - (w0 + w1) / 2.0).abs() < 1e-12,
        "halfway at half the interval"
    );
    assert_eq!(r.weight_at(t.now + DAY).unwrap(), r.target_weight.fix());

    // 20,000 of the lent cash stayed unlent: it earns nothing, so the reserve fund pays no one
    // for it (the operator seeds it against defaults)
    let operator = fx.user(&mut t, 0, 1_000 * ONE).await;
    fx.fund_reserve(&mut t, &operator, 1_000 * ONE)
        .await
        .unwrap();
    let reserve_before = fx.pool(&mut t).await.reserve;

    // at expiry: lenders get their unlent cash and the debt (the 80,000 lent with its interest),
    // the borrower the rest
    t.set_time(fx.expiry);
    fx.set_price(&mut t, 110.0).await;
    fx.settle_fully(&mut t, &arb).await;
    let s = fx.pool(&mut t).await;
    assert_eq!(s.status, status::SETTLED);
    assert_eq!(s.lender_assets, 20_000 * ONE + s.debt_face);
    assert_eq!(
        s.reserve, reserve_before,
        "the reserve pays no idle interest"
    );
    fx.assert_conserved(&mut t).await;
    let claims = t.balance(&lender.claims).await;
    fx.redeem_lender(&mut t, &lender, claims).await.unwrap();
    // 100,985.626284: 20,000 back and 80,000 · (1 + 0.05·90/365.25)
    assert_eq!(t.balance(&lender.riskless).await, 100_985_626_284);
    let residual = t.balance(&borrower.residual).await;
    let (risky_before, riskless_before) = (
        t.balance(&borrower.risky).await,
        t.balance(&borrower.riskless).await,
    );
    fx.redeem_borrower(&mut t, &borrower, residual)
        .await
        .unwrap();
    let e = fx.pool(&mut t).await;
    assert_eq!(
        (e.risky_balance, e.riskless_balance),
        (0, 0),
        "one borrower takes all"
    );
    assert_eq!(
        t.balance(&borrower.risky).await - risky_before,
        s.risky_balance
    );
    assert_eq!(
        t.balance(&borrower.riskless).await - riskless_before,
        s.riskless_balance
    );
    fx.assert_conserved(&mut t).await;
    eprintln!(
        "README example: w0 {delta:.6}, leg {leg}, debt {}, residual {}, bought {bought}, \
         reserve fee {}, w {w0:.6} -> target {w1:.6} (delta {d:.6}), settled: risky {} \
         riskless {} lender {} reserve {} -> {}",
        p.debt_face,
        p.residual_supply,
        q.reserve,
        s.risky_balance,
        s.riskless_balance,
        s.lender_assets,
        reserve_before,
        s.reserve
    );
    // what is left in the riskless vault is the reserve fund
    assert_eq!(t.balance(&fx.keys.riskless_vault).await, e.reserve);
}

#[tokio::test]
async fn falling_market_flies_to_quality_and_lenders_are_paid_in_full() {
    let mut t = TestContext::new().await;
    // converting at 70 %: with 80 % the daily re-weighting sheds risky fast enough that 15 %
    // daily falls never get there (debt/value tops out at 0.79 as the price goes to 0.8)
    let params = collateral_pool::state::CrpParams {
        conversion_ltv_bps: 7_000,
        ..default_crp_params()
    };
    let fx = CrpFixture::new(&mut t, 100.0, params).await;
    let lender = fx.user(&mut t, 0, 86_000 * ONE).await;
    fx.lend(&mut t, &lender, 86_000 * ONE).await.unwrap();
    let borrower = fx.user(&mut t, 1_000 * ONE, 100_000 * ONE).await;
    fx.borrow(&mut t, &borrower, 1_000 * ONE, 86_000 * ONE)
        .await
        .unwrap();
    let arb = fx.user(&mut t, 100_000 * ONE, 10_000_000 * ONE).await;

    let mut path = vec![];
    let mut price = 100.0;
    let mut converted_at = None;
    for d in 1..=30 {
        price *= 0.85;
        path.push(price);
        if day(&mut t, &fx, &arb, price).await {
            converted_at = Some((d, price));
            break;
        }
    }
    let (d, at) = converted_at.expect("flight to quality within 30 days of 15 % falls");
    let p = fx.pool(&mut t).await;
    assert_eq!(p.status, status::CONVERTING);
    assert!(p.conversion_ts == t.now);
    eprintln!(
        "flight to quality on day {d} at {at:.2}, risky left {}",
        p.risky_balance
    );

    // the sale: everything risky at the oracle price less 1 %
    let risky = p.risky_balance;
    let before = t.balance(&arb.riskless).await;
    fx.swap(&mut t, &arb, false, false, risky, u64::MAX)
        .await
        .unwrap();
    let paid = before - t.balance(&arb.riskless).await;
    // the oracle carries six decimals
    let oracle_price = (at * 1e6).round() / 1e6;
    let expected = (risky as f64 * oracle_price * 0.99).ceil();
    assert!(
        (paid as f64 - expected).abs() <= 1.0,
        "paid {paid}, expected {expected}"
    );
    let c = fx.pool(&mut t).await;
    assert_eq!((c.status, c.risky_balance), (status::CONVERTED, 0));
    fx.assert_conserved(&mut t).await;

    // the market rebounds: the frozen pool stays in the riskless asset
    t.advance(DAY);
    fx.set_price(&mut t, 150.0).await;
    let frozen = fx.pool(&mut t).await;
    keel_tests::assert_code(
        fx.rebalance(&mut t).await,
        keel_tests::crp(CrpError::Converted),
    );
    keel_tests::assert_code(
        fx.swap(&mut t, &arb, false, true, ONE, 0).await,
        keel_tests::crp(CrpError::Converted),
    );
    let after = fx.pool(&mut t).await;
    assert_eq!(bytemuck::bytes_of(&frozen), bytemuck::bytes_of(&after));

    t.set_time(fx.expiry);
    fx.settle(&mut t, &lender).await.unwrap();
    let s = fx.pool(&mut t).await;
    assert_eq!(s.lender_assets, s.debt_face, "lenders whole");
    let claims = t.balance(&lender.claims).await;
    fx.redeem_lender(&mut t, &lender, claims).await.unwrap();
    assert_eq!(t.balance(&lender.riskless).await, s.debt_face);
    assert!(s.debt_face > 86_000 * ONE);
    let residual = t.balance(&borrower.residual).await;
    fx.redeem_borrower(&mut t, &borrower, residual)
        .await
        .unwrap();
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn rising_market_leaves_the_borrower_the_upside() {
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    // lent exactly what is borrowed, at the same moment: the debt covers the claims
    let lender = fx.user(&mut t, 0, 80_000 * ONE).await;
    fx.lend(&mut t, &lender, 80_000 * ONE).await.unwrap();
    let borrower = fx.user(&mut t, 1_000 * ONE, 100_000 * ONE).await;
    let riskless0 = t.balance(&borrower.riskless).await;
    fx.borrow(&mut t, &borrower, 1_000 * ONE, 80_000 * ONE)
        .await
        .unwrap();
    let leg = fx.pool(&mut t).await.riskless_balance;
    let arb = fx.user(&mut t, 100_000 * ONE, 10_000_000 * ONE).await;
    let mut price = 100.0;
    for _ in 0..30 {
        price *= 1.02;
        assert!(!day(&mut t, &fx, &arb, price).await);
    }
    let p = fx.pool(&mut t).await;
    assert!(
        weight(p.weight_at(t.now).unwrap()) > 0.9,
        "weight follows the delta up"
    );

    t.set_time(fx.expiry);
    fx.set_price(&mut t, price).await;
    fx.settle_fully(&mut t, &arb).await;
    let claims = t.balance(&lender.claims).await;
    fx.redeem_lender(&mut t, &lender, claims).await.unwrap();
    let debt = fx.pool(&mut t).await.debt_face;
    assert_eq!(
        t.balance(&lender.riskless).await,
        debt,
        "lender paid the debt"
    );
    let residual = t.balance(&borrower.residual).await;
    fx.redeem_borrower(&mut t, &borrower, residual)
        .await
        .unwrap();
    fx.assert_conserved(&mut t).await;

    // the borrower put in 1,000 risky and `leg` riskless, took 80,000 and owed the debt; at
    // expiry they hold the residual in kind, most of it risky
    let risky_back = t.balance(&borrower.risky).await;
    let riskless_back = t.balance(&borrower.riskless).await - (riskless0 - leg + 80_000 * ONE);
    let residual_value = risky_back as f64 * price + riskless_back as f64;
    let start_equity = 100_000.0 * ONE as f64 + leg as f64 - 80_000.0 * ONE as f64;
    eprintln!(
        "price {price:.2}: residual {:.0} ({risky_back} risky + {riskless_back} riskless) vs {:.0} put in",
        residual_value / ONE as f64,
        start_equity / ONE as f64
    );
    assert!(risky_back > 400 * ONE, "the borrower keeps risky exposure");
    assert!(
        residual_value > 1.25 * start_equity,
        "the borrower keeps most of an 81 % rise"
    );
}
