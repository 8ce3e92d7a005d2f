//! The Imbalance Score on every fill: its value against the math crate and Ostium's scenarios,
//! the correlation-aware limit, the accounts it needs, and a new risk model taking over.

use anchor_lang::prelude::Pubkey;
use keel_math::Fix;
use keel_math::imbalance::{exposure_norm, imbalance_score};
use keel_math::imbalance_book as book;
use keel_tests::fixture::{E6, KEEPER_FEE, PerpFixture, default_params, loose_limits};
use keel_tests::{TestContext, TxError, User, assert_code, ix, perp};
use perp_amm::errors::PerpError;
use perp_amm::instructions::{PlaceOrderArgs, RiskBoundsArgs, RiskLimits};
use perp_amm::state::{Pool, RequestKind, RiskModel};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// The article's pair: BTC at 100 and ETH at 2,000 (6-decimal base and quote), σ = (0.03,
/// 0.04), ρ = 0.89, and 100,000 USD of LP capital.
const SIGMA: [u64; 2] = [30_000_000, 40_000_000];
const UPPER: [i32; 1] = [890_000_000];

struct World {
    t: TestContext,
    f: PerpFixture,
    publisher: Keypair,
}

async fn world() -> World {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
    let lp = t.user(200_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let publisher = f.init_risk_model(&mut t, loose_limits()).await;
    let now = t.now;
    f.publish_risk(&mut t, &publisher, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    World { t, f, publisher }
}

impl World {
    async fn model(&mut self) -> RiskModel {
        let data = self
            .t
            .account_data(&ix::risk_model_pda(&self.f.pool))
            .await
            .unwrap();
        bytemuck::pod_read_unaligned(&data[8..8 + core::mem::size_of::<RiskModel>()])
    }

    async fn set_limits(&mut self, limits: RiskLimits) {
        let admin = self.t.admin.insecure_clone();
        self.t
            .send(
                &[ix::set_risk_limits(&admin.pubkey(), &self.f.pool, limits)],
                &[&admin],
            )
            .await
            .unwrap();
    }

    /// Check the pool's stored score against a fresh evaluation of its own marks: K_i from
    /// each B_i under the model, T and Σ K² from the math crate. Returns the pool.
    async fn assert_score_is_fresh(&mut self) -> Pool {
        let pool = self.t.pool(&self.f.pool).await;
        let model = self.model().await;
        let (sigma, upper) = model.covered();
        let k: Vec<i64> = sigma
            .iter()
            .zip(&pool.markets)
            .map(|(s, slot)| book::exposure_units(slot.risk_notional, *s, 6).unwrap())
            .collect();
        for (slot, k) in pool.markets.iter().zip(&k) {
            assert_eq!(slot.risk_exposure, *k, "stored K = B·σ");
        }
        let t = book::quadratic_form(upper, &k).unwrap();
        assert_eq!(
            pool.risk.imbalance_sq.get(),
            t,
            "running T = a fresh Kᵀ R K"
        );
        assert_eq!(pool.risk.imbalance_score, book::score(t).unwrap());
        let sum: i128 = k.iter().map(|x| *x as i128 * *x as i128).sum();
        assert_eq!(pool.risk.exposure_sq.get(), sum);
        assert_eq!(pool.risk.exposure_norm, book::norm(sum as u128).unwrap());
        pool
    }
}

/// IS and ||K|| in USD from the pool.
fn usd(v: u64) -> f64 {
    v as f64 / 1_000.0
}

/// The Fix kernel (no rounding of K) agrees with the on-chain integers to the rounding of K.
fn assert_near_fix_kernel(pool: &Pool, b_usd: [f64; 2]) {
    let b = b_usd.map(|v| Fix::from_num(v));
    let sigma = SIGMA.map(perp_amm::math::fix_e9);
    let is = imbalance_score(&b, &sigma, &UPPER).unwrap().to_num::<f64>();
    let norm = exposure_norm(&b, &sigma).unwrap().to_num::<f64>();
    // each K rounds up by under 10^-3 USD, and IS by under 10^-3 more
    assert!((usd(pool.risk.imbalance_score) - is).abs() <= 0.003, "{is}");
    assert!(
        (usd(pool.risk.exposure_norm) - norm).abs() <= 0.003,
        "{norm}"
    );
}

/// Ostium's scenarios, scored by the fills themselves: long 5 BTC and 0.1 ETH make
/// B = (500, 200) USD, IS = 22.4187, ||K|| = 17; BTC flipped short makes IS = 8.6833. A refresh
/// re-marks every market and finds the same.
#[tokio::test]
async fn every_fill_scores_the_pool_as_the_article_does() {
    let mut w = world().await;
    let trader = w.t.user(10_000 * E6).await;
    w.f.open(&mut w.t, &trader, 0, 5 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.imbalance_score, 15_000, "BTC alone: 500 · 0.03");
    w.f.open(&mut w.t, &trader, 1, 100_000, 100 * E6)
        .await
        .unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(
        (pool.risk.imbalance_score, pool.risk.exposure_norm),
        (22_419, 17_000),
        "√502.6e6 = 22,418.7 rounded up; ||K|| = √(15,000² + 8,000²)"
    );
    assert_near_fix_kernel(&pool, [500.0, 200.0]);
    assert_eq!(pool.risk.updated_ts, w.t.now);
    assert!((usd(pool.risk.imbalance_score) - 22.4187).abs() < 1e-3);

    let refresh = ix::refresh_imbalance(&w.f.pool, &w.f.oracles());
    w.t.send(std::slice::from_ref(&refresh), &[]).await.unwrap();
    let refreshed = w.assert_score_is_fresh().await;
    assert_eq!(
        refreshed.risk.imbalance_sq.get(),
        pool.risk.imbalance_sq.get()
    );

    // scenario 2: BTC flipped to a 5-unit short
    w.f.close(&mut w.t, &trader, 0, true).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.imbalance_score, 8_000, "ETH alone: 200 · 0.04");
    w.f.open(&mut w.t, &trader, 0, -5 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(
        pool.risk.imbalance_score, 8_684,
        "√75.4e6 = 8,683.3 rounded up"
    );
    assert_near_fix_kernel(&pool, [-500.0, 200.0]);
    assert!((usd(pool.risk.imbalance_score) - 8.6833).abs() < 1e-3);

    // a price move is seen by the market's next fill, and by a refresh for all markets
    w.f.set_price(&mut w.t, 1, 2_200.0, 0.0).await;
    w.t.send(std::slice::from_ref(&refresh), &[]).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.markets[1].risk_notional, 220 * E6 as i64);
    assert_near_fix_kernel(&pool, [-500.0, 220.0]);
}

/// With IS capped at 1 bp of LP capital (10 USD): IS-raising opens and increases are refused
/// and change nothing; IS-reducing ones pass even while IS stays above the cap; exits are
/// never refused, even one that raises IS by removing a hedge.
#[tokio::test]
async fn the_limit_refuses_raising_trades_and_admits_reducing_ones() {
    let mut w = world().await;
    let (a, b, c) = (
        w.t.user(10_000 * E6).await,
        w.t.user(10_000 * E6).await,
        w.t.user(10_000 * E6).await,
    );
    // IS = 15 USD under the loose limit, then the cap drops to 10 USD
    w.f.open(&mut w.t, &a, 0, 5 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    w.set_limits(RiskLimits {
        max_imbalance_bps: 1,
        ..loose_limits()
    })
    .await;
    let watched = |w: &World, users: &[&User]| {
        let mut keys = vec![w.f.pool, w.f.vault];
        keys.extend(users.iter().map(|u| u.quote));
        keys
    };

    // long ETH adds to the correlated BTC long: 15 → 22.4 USD, refused
    let keys = watched(&w, &[&b]);
    let before = w.t.snapshot_refused(&keys).await;
    assert_code(
        w.f.open(&mut w.t, &b, 1, 100_000, 100 * E6).await,
        perp(PerpError::ImbalanceLimit),
    );
    assert!(
        before == w.t.snapshot_refused(&keys).await,
        "a refused open moved state"
    );

    // short 0.05 ETH hedges it: 15 → 11.6 USD, still above the cap, admitted
    w.f.open(&mut w.t, &b, 1, -50_000, 100 * E6).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.imbalance_score, 11_585, "√134.2e6");
    assert!(pool.risk.imbalance_score > ix_cap(&pool));

    // raising it again, by a new open or an increase, is refused
    let keys = watched(&w, &[&a, &c]);
    let before = w.t.snapshot_refused(&keys).await;
    assert_code(
        w.f.open(&mut w.t, &c, 0, 1_000, 100 * E6).await,
        perp(PerpError::ImbalanceLimit),
    );
    assert_code(
        w.f.increase(&mut w.t, &a, 0, 1_000, 0).await,
        perp(PerpError::ImbalanceLimit),
    );
    assert!(before == w.t.snapshot_refused(&keys).await);

    // more of the hedge, by an increase, lowers IS and passes: 11.6 → 8.7 USD
    w.f.increase(&mut w.t, &b, 1, -50_000, 0).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.imbalance_score, 8_684);
    // now under the cap, a small raise fits: 8.7 → 9.0 USD
    w.f.open(&mut w.t, &c, 0, 100_000, 100 * E6).await.unwrap();
    assert!(w.assert_score_is_fresh().await.risk.imbalance_score <= 10_000);

    // the hedge leaves: IS jumps back above the cap, and exits are never refused
    w.f.decrease(&mut w.t, &b, 1, 50_000, false).await.unwrap();
    w.f.close(&mut w.t, &b, 1, false).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert!(pool.risk.imbalance_score > ix_cap(&pool));
    w.t.assert_vault_balanced(&w.f.pool).await;
}

/// The cap in 10^-3 USD, as the program computes it.
fn ix_cap(pool: &Pool) -> u64 {
    (pool.lp_capital as u128 * pool.risk.max_imbalance_bps as u128 / 10_000 / 1_000) as u64
}

/// A pool with a model needs it on every fill, and only its own; markets the model does not
/// cover take no new exposure, but their positions can always be reduced and closed.
#[tokio::test]
async fn fills_need_the_pools_own_model() {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
    let lp = t.user(200_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let trader = t.user(10_000 * E6).await;
    // a position from before the pool had a risk model
    f.open(&mut t, &trader, 1, 100_000, 100 * E6).await.unwrap();
    let publisher = f.init_risk_model(&mut t, loose_limits()).await;
    let other = PerpFixture::with_id(&mut t, 2, &[100.0], default_params()).await;
    let mut other = other;
    other.init_risk_model(&mut t, loose_limits()).await;
    // a market open request, executed with each model in turn
    let args = PlaceOrderArgs {
        slot: 0,
        kind: RequestKind::MarketIncrease,
        size: E6 as i64,
        collateral: 100 * E6,
        acceptable_price_e9: u64::MAX,
        trigger_price_e9: 0,
        expires_ts: 0,
        keeper_fee: KEEPER_FEE,
        request_bump: 0,
        position_bump: 0,
    };
    let balance = t.balance(&trader.quote).await;
    f.place(&mut t, &trader, 0, args).await.unwrap();
    t.advance(1);
    f.republish(&mut t, 0).await;
    let keeper = f.keeper(&mut t).await;
    let (key, request) = f.request(&mut t, &trader.key(), 0).await.unwrap();
    let r = ix::RequestRef::of(key, &request);
    let execute = |risk_model: Option<Pubkey>| {
        ix::execute_order(&keeper.key(), &f.pool, &r, &f.markets[0].oracle, risk_model)
    };
    let keys = [
        f.pool,
        f.vault,
        trader.quote,
        ix::risk_model_pda(&f.pool),
        key,
    ];
    let before = t.snapshot(&keys).await;
    for model in [None, other.risk_model] {
        let r = t.send(&[execute(model)], &[&keeper.kp]).await;
        assert_code(r, perp(PerpError::WrongRiskModel));
    }
    assert!(before == t.snapshot(&keys).await);
    // the model exists but has never been committed: it covers no market yet, so the open is
    // refused and its collateral returned
    let refused = f.execute(&mut t, &keeper, &trader.key(), 0).await.unwrap();
    assert_eq!(refused, Some(perp(PerpError::MarketNotInRiskModel)));
    assert_eq!(t.balance(&trader.quote).await, balance);
    // exits are never blocked: the pre-model position shrinks and closes
    f.decrease(&mut t, &trader, 1, 50_000, true).await.unwrap();
    f.close(&mut t, &trader, 1, true).await.unwrap();
    assert_eq!(t.pool(&f.pool).await.risk.imbalance_score, 0);

    // after a commit covering both markets, opens pass; a third market added later does not
    let now = t.now;
    f.publish_risk(&mut t, &publisher, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    f.open(&mut t, &trader, 0, E6 as i64, 100 * E6)
        .await
        .unwrap();
    f.add_market(&mut t, 50.0, default_params()).await;
    // refused: the collateral comes back and the pool's balances do not move (the pool account
    // itself records the print the refusal used)
    let money = [f.vault, trader.quote];
    let before = (
        t.snapshot(&money).await,
        t.pool(&f.pool).await.total_collateral,
    );
    assert_code(
        f.open(&mut t, &trader, 2, E6 as i64, 100 * E6).await,
        perp(PerpError::MarketNotInRiskModel),
    );
    let after = (
        t.snapshot(&money).await,
        t.pool(&f.pool).await.total_collateral,
    );
    assert!(before == after);
    t.assert_vault_balanced(&f.pool).await;
}

/// A new commit (σ up 20 %) recomputes every K from the stored marks at once; the score then
/// equals a fresh evaluation under the new model, and stays so through the next fill.
#[tokio::test]
async fn a_new_commit_rescores_the_book() {
    let mut w = world().await;
    let trader = w.t.user(10_000 * E6).await;
    w.f.open(&mut w.t, &trader, 0, 5 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    w.f.open(&mut w.t, &trader, 1, 100_000, 100 * E6)
        .await
        .unwrap();
    let revision = w.model().await.revision;
    w.t.advance(3_600);
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    w.f.set_price(&mut w.t, 1, 2_000.0, 0.0).await;
    let publisher = w.publisher.insecure_clone();
    let now = w.t.now;
    w.f.publish_risk(&mut w.t, &publisher, &[36_000_000, 48_000_000], &UPPER, now)
        .await
        .unwrap();
    assert_eq!(w.model().await.revision, revision + 1);
    // the commit itself re-scored the pool: no fill pays for the O(n²) rebuild
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.revision, revision + 1);
    assert_eq!(pool.markets[0].risk_exposure, 18_000, "BTC: 500 · 0.036");
    w.f.increase(&mut w.t, &trader, 1, 1_000, 0).await.unwrap();
    let pool = w.assert_score_is_fresh().await;
    assert_eq!(pool.risk.revision, revision + 1);
}

#[tokio::test]
async fn set_risk_limits_bad_inputs() {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let intruder = w.t.user(0).await;
    let keys = [w.f.pool];
    let before = w.t.snapshot(&keys).await;
    let r =
        w.t.send(
            &[ix::set_risk_limits(
                &intruder.key(),
                &w.f.pool,
                loose_limits(),
            )],
            &[&intruder.kp],
        )
        .await;
    assert_code(r, perp(PerpError::Unauthorized));
    for bad in [
        RiskLimits {
            max_imbalance_bps: 0,
            ..loose_limits()
        },
        RiskLimits {
            max_imbalance_bps: 10_001,
            ..loose_limits()
        },
        RiskLimits {
            premium_mode: 2,
            ..loose_limits()
        },
        RiskLimits {
            premium_horizon_secs: 30 * 86_400 + 1,
            ..loose_limits()
        },
    ] {
        let r =
            w.t.send(
                &[ix::set_risk_limits(&admin.pubkey(), &w.f.pool, bad)],
                &[&admin],
            )
            .await;
        assert_code(r, perp(PerpError::InvalidParameter));
    }
    assert!(before == w.t.snapshot(&keys).await);
    // a pool without a risk model has no limits to set
    let bare = PerpFixture::with_id(&mut w.t, 3, &[100.0], default_params()).await;
    let r =
        w.t.send(
            &[ix::set_risk_limits(
                &admin.pubkey(),
                &bare.pool,
                loose_limits(),
            )],
            &[&admin],
        )
        .await;
    assert_code(r, perp(PerpError::WrongRiskModel));
}

#[tokio::test]
async fn refresh_imbalance_bad_inputs() {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
    let publisher = f.init_risk_model(&mut t, loose_limits()).await;
    let refresh = ix::refresh_imbalance(&f.pool, &f.oracles());
    // no committed model yet: nothing to score with
    assert_code(
        t.send(std::slice::from_ref(&refresh), &[]).await,
        perp(PerpError::RiskNotCommitted),
    );
    let now = t.now;
    f.publish_risk(&mut t, &publisher, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    // the oracle list must match the active markets
    let bad = ix::refresh_imbalance(&f.pool, &f.oracles()[..1]);
    let before = t.snapshot(&[f.pool]).await;
    assert_code(
        t.send(std::slice::from_ref(&bad), &[]).await,
        perp(PerpError::MarketAccountsMismatch),
    );
    assert!(before == t.snapshot(&[f.pool]).await);
    // another pool's risk model, for refreshing or for committing: WrongPool
    let mut other = PerpFixture::with_id(&mut t, 2, &[100.0, 2_000.0], default_params()).await;
    let other_publisher = other.init_risk_model(&mut t, loose_limits()).await;
    let watched = [
        f.pool,
        ix::risk_model_pda(&f.pool),
        ix::risk_model_pda(&other.pool),
    ];
    let before = t.snapshot(&watched).await;
    let mut refresh_other = ix::refresh_imbalance(&f.pool, &f.oracles());
    refresh_other.accounts[1].pubkey = ix::risk_model_pda(&other.pool);
    assert_code(
        t.send(&[refresh_other], &[]).await,
        perp(PerpError::WrongPool),
    );
    let mut commit_other = ix::commit_risk(&other_publisher.pubkey(), &f.pool, t.now);
    commit_other.accounts[2].pubkey = ix::risk_model_pda(&other.pool);
    assert_code(
        t.send(&[commit_other], &[&other_publisher]).await,
        perp(PerpError::WrongPool),
    );
    assert!(before == t.snapshot(&watched).await);
}

/// The same three trades on two pools, one priced per market (D8X), one by the whole book
/// (portfolio mode, one-day horizon), each with 2,000 USD of LP capital. BTC and ETH are 0.89
/// correlated, so:
/// 1. long 300 BTC: both pools charge a premium (the portfolio charge, the change of the pool's
///    Gaussian insurance value, is computed here off-chain and matches the program to the unit);
/// 2. short 15 ETH hedges it: per market it is charged (ETH's own book grows), the portfolio
///    charges nothing (IS falls from 900 to 572 USD; a new position has no premium of its own
///    to be refunded);
/// 3. long 15 ETH undoes the hedge: per market it is charged nothing (ETH's book closes), the
///    portfolio charges it (IS back to 900).
#[tokio::test]
async fn portfolio_premium_prices_correlation_where_d8x_cannot() {
    use keel_math::insurance::gaussian_book_value;
    let mut t = TestContext::new().await;
    let params = perp_amm::state::MarketParams {
        capital_share_e9: 1_000_000_000,
        ..default_params()
    };
    let mut pools = vec![];
    for (id, mode) in [(0, 0u8), (1, 1u8)] {
        let mut f = PerpFixture::with_id(&mut t, id, &[100.0, 2_000.0], params).await;
        let lp = t.user(10_000 * E6).await;
        let lp_acct = f.lp_account(&mut t, &lp).await;
        f.deposit(&mut t, &lp, &lp_acct, 2_000 * E6).await.unwrap();
        let publisher = f
            .init_risk_model(
                &mut t,
                RiskLimits {
                    premium_mode: mode,
                    ..loose_limits()
                },
            )
            .await;
        let now = t.now;
        f.publish_risk(&mut t, &publisher, &SIGMA, &UPPER, now)
            .await
            .unwrap();
        pools.push(f);
    }
    let trades: [(u8, i64); 3] = [
        (0, 300 * E6 as i64),
        (1, -15 * E6 as i64),
        (1, 15 * E6 as i64),
    ];
    let collateral = 5_000 * E6;
    let mut premia = [[0i64; 3]; 2];
    for (p, f) in pools.iter().enumerate() {
        for (n, (market, size)) in trades.iter().enumerate() {
            let trader = t.user(10_000 * E6).await;
            let capital_before = t.pool(&f.pool).await.lp_capital;
            f.open(&mut t, &trader, *market, *size, collateral)
                .await
                .unwrap();
            let position = t
                .position(&f.position(*market, &trader.key()))
                .await
                .unwrap();
            let fees = (size.unsigned_abs() * [100, 2_000][*market as usize]).div_ceil(1_000);
            premia[p][n] = collateral as i64 - position.collateral as i64 - fees as i64;
            if p == 1 && n == 0 {
                // IS' = 300·100·0.03 = 900 USD from 0; C = LP capital (the position is at par)
                let value =
                    gaussian_book_value(Fix::from_num(capital_before), Fix::from_num(900 * E6))
                        .unwrap()
                        .value;
                assert_eq!(
                    premia[p][n],
                    value.ceil().to_num::<i64>(),
                    "portfolio premium = V(C, IS') − V(C, 0)"
                );
            }
        }
    }
    println!("trade | per-market premium | portfolio premium (USD)");
    for (n, (market, size)) in trades.iter().enumerate() {
        println!(
            "{} {:+} | {:.4} | {:.4}",
            ["BTC", "ETH"][*market as usize],
            *size as f64 / E6 as f64,
            premia[0][n] as f64 / E6 as f64,
            premia[1][n] as f64 / E6 as f64
        );
    }
    let [d8x, portfolio] = premia;
    assert!(d8x[0] > 0 && portfolio[0] > 0, "both charge the first risk");
    assert!(
        d8x[1] > 0 && portfolio[1] == 0,
        "the hedge: per market charged, portfolio not"
    );
    assert!(
        d8x[2] == 0 && portfolio[2] > 0,
        "the un-hedge: per market not charged, portfolio charged"
    );
    for f in &pools {
        t.assert_vault_balanced(&f.pool).await;
    }
}

/// The portfolio overshoot (issue #19): on a book long 300 BTC (IS 900 USD), a short of 600 BTC
/// takes IS through zero and back to 900. Before, the fill was one leg priced by the sign of
/// its effect on IS: the whole short earned the pool's q as a rebate, and closing it in pieces
/// paid back only the integral (≈ +3.9 % of LP capital a loop at a 30-day horizon). Now the
/// open is charged V(IS 900) − V(IS 900) = 0 and has no premium of its own to be refunded, and
/// the ten closing pieces are charged what each adds: the loop costs the trader, it never pays
/// (here 38.75 USD of premiums, 0.39 % of the 10k of LP capital, at a 30-day horizon).
#[tokio::test]
async fn the_portfolio_overshoot_round_trip_does_not_pay() {
    let mut t = TestContext::new().await;
    // no funding: the loop's only costs are its fees and its premiums
    let params = perp_amm::state::MarketParams {
        capital_share_e9: 1_000_000_000,
        max_funding_rate_e9: 0,
        ..default_params()
    };
    let mut f = PerpFixture::with_id(&mut t, 1, &[100.0, 2_000.0], params).await;
    let lp = t.user(20_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 10_000 * E6).await.unwrap();
    let limits = RiskLimits {
        premium_mode: 1,
        premium_horizon_secs: 30 * 86_400,
        ..loose_limits()
    };
    let publisher = f.init_risk_model(&mut t, limits).await;
    let now = t.now;
    f.publish_risk(&mut t, &publisher, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    let whale = t.user(10_000 * E6).await;
    f.open(&mut t, &whale, 0, 300 * E6 as i64, 5_000 * E6)
        .await
        .unwrap();
    let trader = t.user(20_000 * E6).await;
    let start = t.balance(&trader.quote).await;
    let capital = t.pool(&f.pool).await.lp_capital;
    f.open(&mut t, &trader, 0, -600 * E6 as i64, 10_000 * E6)
        .await
        .unwrap();
    let opened = t.position(&f.position(0, &trader.key())).await.unwrap();
    assert_eq!(opened.premium_paid, 0, "the overshoot is charged nothing");
    for piece in 0..10 {
        if piece < 9 {
            f.decrease(&mut t, &trader, 0, 60 * E6, false)
                .await
                .unwrap();
        } else {
            f.close(&mut t, &trader, 0, false).await.unwrap();
        }
    }
    let end = t.balance(&trader.quote).await;
    // at one price the loop's only cash is fees (0.1 % of 60k, twice) and premiums
    let fees = 2 * (600 * 100 * E6).div_ceil(1_000);
    let paid = start as i64 - end as i64 - fees as i64;
    println!(
        "overshoot round trip: the trader paid {:.4} USD of premiums ({:.4} % of LP capital)",
        paid as f64 / 1e6,
        paid as f64 / capital as f64 * 100.0
    );
    // the closing pieces past the book's balance point take IS from 0 back to 900: together
    // V(C, 900·√30) − V(C, 0), about 38.75 USD at C = 10k; the pieces before it had nothing to
    // be refunded
    assert!(
        paid > 30 * E6 as i64 && paid < 50 * E6 as i64,
        "the loop costs premiums: {paid}"
    );
    t.assert_vault_balanced(&f.pool).await;
}

/// The pool authority replaces the risk publisher in two steps (issue #19): a stranger cannot
/// propose, only the proposed key can accept, the old publisher keeps publishing until then and
/// not after.
#[tokio::test]
async fn the_risk_publisher_is_replaced_in_two_steps() {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let next = w.t.user(0).await;
    let stranger = w.t.user(0).await;
    let pool = w.f.pool;
    let model = ix::risk_model_pda(&pool);
    let keys = [pool, model];
    let before = w.t.snapshot(&keys).await;
    let propose = |by: &Pubkey| ix::propose_risk_publisher(by, &pool, next.key());
    let r = w.t.send(&[propose(&stranger.key())], &[&stranger.kp]).await;
    assert_code(r, perp(PerpError::Unauthorized));
    // nothing proposed: nobody can accept
    let accept = |by: &Pubkey| ix::accept_risk_publisher(by, &pool);
    let r = w.t.send(&[accept(&next.key())], &[&next.kp]).await;
    assert_code(r, perp(PerpError::NotPendingAuthority));
    assert!(before == w.t.snapshot(&keys).await);
    w.t.send(&[propose(&admin.pubkey())], &[&admin])
        .await
        .unwrap();
    // the old publisher still publishes; a stranger cannot accept in the new one's place
    let r = w.t.send(&[accept(&stranger.key())], &[&stranger.kp]).await;
    assert_code(r, perp(PerpError::NotPendingAuthority));
    w.t.advance(86_400);
    let now = w.t.now;
    let old = w.publisher.insecure_clone();
    w.f.publish_risk(&mut w.t, &old, &SIGMA, &UPPER, now)
        .await
        .unwrap();
    w.t.send(&[accept(&next.key())], &[&next.kp]).await.unwrap();
    w.t.advance(86_400);
    let now = w.t.now;
    let r = w.f.publish_risk(&mut w.t, &old, &SIGMA, &UPPER, now).await;
    assert_code(r, perp(PerpError::NotRiskAuthority));
    w.f.publish_risk(&mut w.t, &next.kp, &SIGMA, &UPPER, now)
        .await
        .unwrap();
}

/// A σ large enough to overflow the Imbalance Score's rebuild must not block exits (issue #19):
/// a 1B USD long at σ 0.9 fits the score's range; the publisher then walks σ up 20 % a commit
/// until the book no longer fits. The next open is refused; a decrease, a close and a
/// liquidation still fill.
#[tokio::test]
async fn a_risk_model_the_book_overflows_blocks_opens_not_exits() {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[2_000.0]).await;
    let lp = t.user(20_000_000_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 10_000_000_000 * E6)
        .await
        .unwrap();
    let publisher = f.init_risk_model(&mut t, loose_limits()).await;
    let now = t.now;
    f.publish_risk(&mut t, &publisher, &[900_000_000], &[], now)
        .await
        .unwrap();
    let whale = t.user(100_000_000 * E6).await;
    f.open(&mut t, &whale, 0, 500_000 * E6 as i64, 100_000_000 * E6)
        .await
        .unwrap();
    // a second long, 10x, for the liquidation below
    let levered = t.user(20_000_000 * E6).await;
    f.open(&mut t, &levered, 0, 100_000 * E6 as i64, 20_000_000 * E6)
        .await
        .unwrap();
    // K = 1e9 USD · 0.9 = 9e8 USD, under the form's 2^40 milli-tokens (1.0995e9 USD)
    for sigma in [1_080_000_000u64, 1_296_000_000] {
        // an hour apart, as the model's default bounds ask
        t.advance(3_600);
        let now = t.now;
        f.publish_risk(&mut t, &publisher, &[sigma], &[], now)
            .await
            .unwrap();
    }
    // K would be 1.296e9 USD: an open is refused, with its escrow back
    let other = t.user(1_000_000 * E6).await;
    let r = f.open(&mut t, &other, 0, E6 as i64, 1_000_000 * E6).await;
    assert_code(r, perp(PerpError::MathOverflow));
    assert_eq!(t.balance(&other.quote).await, 1_000_000 * E6);
    // a decrease and the close fill
    f.decrease(&mut t, &whale, 0, 250_000 * E6, true)
        .await
        .unwrap();
    f.close(&mut t, &whale, 0, true).await.unwrap();
    assert!(
        t.position(&f.position(0, &whale.key()))
            .await
            .is_none_or(|p| p.size == 0)
    );
    // and at 1,800 the 10x long is liquidated
    f.set_price(&mut t, 0, 1_800.0, 0.0).await;
    let keeper = t.user(0).await;
    f.liquidate(&mut t, &keeper, 0, &levered).await.unwrap();
    assert!(
        t.position(&f.position(0, &levered.key()))
            .await
            .is_none_or(|p| p.size == 0)
    );
    t.assert_vault_balanced(&f.pool).await;
}

/// Bounds for the risk publisher's tests: an hour between commits, a day's window in which σ
/// stays within a factor 1.5 and ρ within 0.2 of the window's start, and BTC's σ in
/// [1 %, 10 %].
fn publisher_bounds() -> RiskBoundsArgs {
    let mut sigma_min_e9 = [0u64; 32];
    let mut sigma_max_e9 = [0u64; 32];
    sigma_min_e9[0] = 10_000_000;
    sigma_max_e9[0] = 100_000_000;
    RiskBoundsArgs {
        min_commit_interval_secs: 3_600,
        window_secs: 86_400,
        max_sigma_window_bps: 5_000,
        max_corr_window_e9: 200_000_000,
        sigma_min_e9,
        sigma_max_e9,
    }
}

/// Publish BTC's σ and ρ (ETH's σ as in the world) `advance` seconds later.
async fn publish(w: &mut World, advance: i64, btc: u64, rho: i32) -> Result<(), TxError> {
    w.t.advance(advance);
    let now = w.t.now;
    let publisher = w.publisher.insecure_clone();
    w.f.publish_risk(&mut w.t, &publisher, &[btc, SIGMA[1]], &[rho], now)
        .await
}

/// A new risk model is bounded before its authority sets anything (issue #19: bounds the
/// authority never set bound nothing): a commit a second after the last is refused, and so is
/// a walk past the default week's factor of 2 in hourly steps.
#[tokio::test]
async fn a_new_risk_model_is_bounded_by_default() {
    let mut w = world().await;
    let model = w.model().await;
    assert_eq!(
        (
            model.bounds.min_commit_interval_secs,
            model.bounds.window_secs,
            model.bounds.max_sigma_window_bps,
            model.bounds.max_corr_window_e9,
        ),
        (3_600, 7 * 86_400, 10_000, 500_000_000)
    );
    let r = publish(&mut w, 1, 36_000_000, 890_000_000).await;
    assert_code(r, perp(PerpError::RiskTooSoon));
    // σ 3 % → 3.6 → 4.32 → 5.18 → 6.22 (each +20 %, an hour apart): the fourth is 2.07×
    let mut sigma = 30_000_000u64;
    for step in 0..4 {
        sigma = sigma * 6 / 5;
        let r = publish(&mut w, 3_600, sigma, 890_000_000).await;
        if step < 3 {
            r.unwrap();
        } else {
            assert_code(r, perp(PerpError::RiskWindowExceeded));
        }
    }
}

/// Chained commits cannot walk the model (issue #19): one commit may move σ 20 % and ρ 0.1,
/// but commits come at most hourly, and over a day σ stays within 1.5× and ρ within 0.2 of
/// where the day started. Before, commits one second apart walked σ to almost nothing (the IS
/// limit off) or ρ to −1 within minutes.
#[tokio::test]
async fn chained_commits_cannot_walk_the_risk_model() {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let pool = w.f.pool;
    let set = ix::set_risk_bounds(&admin.pubkey(), &pool, publisher_bounds());
    w.t.send(&[set], &[&admin]).await.unwrap();
    // an hour has passed since the world's commit: the window starts at σ 3 %, ρ 0.89
    publish(&mut w, 3_600, 36_000_000, 790_000_000)
        .await
        .unwrap();
    // a second later: too soon, and the model did not move (staging writes only its draft)
    let revision = w.model().await.revision;
    let r = publish(&mut w, 1, 43_200_000, 690_000_000).await;
    assert_code(r, perp(PerpError::RiskTooSoon));
    let model = w.model().await;
    assert_eq!(model.revision, revision);
    assert_eq!(model.current.sigma_e9[0], 36_000_000);
    assert_eq!(model.current.corr_upper[0], 790_000_000);
    publish(&mut w, 3_600, 43_200_000, 690_000_000)
        .await
        .unwrap();
    // σ 5.18 % is 1.728× the window's 3 %, ρ 0.59 is 0.3 from its 0.89: each step is within one
    // commit's bound, the total is not
    let r = publish(&mut w, 3_600, 51_840_000, 690_000_000).await;
    assert_code(r, perp(PerpError::RiskWindowExceeded));
    let r = publish(&mut w, 3_600, 43_200_000, 590_000_000).await;
    assert_code(r, perp(PerpError::RiskWindowExceeded));
    // a day later the window starts again from 4.32 % and 0.69
    publish(&mut w, 86_400, 51_840_000, 590_000_000)
        .await
        .unwrap();
    let model = w.model().await;
    assert_eq!(model.current.sigma_e9[0], 51_840_000);
    assert_eq!(model.anchor.sigma_e9[0], 43_200_000);
    // and BTC's σ may not leave [1 %, 10 %], whatever the steps
    let r = publish(&mut w, 3_600, 500_000_000, 590_000_000).await;
    assert_code(r, perp(PerpError::RiskSigmaOutOfRange));
}

/// `set_risk_bounds`: the pool authority only, and bounds that mean something; a refusal
/// changes nothing.
#[tokio::test]
async fn risk_bounds_bad_inputs_change_nothing() {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let stranger = w.t.user(0).await;
    let pool = w.f.pool;
    let model_key = ix::risk_model_pda(&pool);
    let before = w.t.snapshot(&[pool, model_key]).await;
    let good = publisher_bounds();
    let r =
        w.t.send(
            &[ix::set_risk_bounds(&stranger.key(), &pool, good)],
            &[&stranger.kp],
        )
        .await;
    assert_code(r, perp(PerpError::Unauthorized));
    let mut inverted = good;
    inverted.sigma_min_e9[1] = 50_000_000;
    inverted.sigma_max_e9[1] = 40_000_000;
    // BTC's σ is 3 %: a range above it would freeze every commit one step cannot bring in
    let mut beside = good;
    beside.sigma_min_e9[0] = 50_000_000;
    let mut unbounded_floor = good;
    unbounded_floor.sigma_min_e9[2] = 6_000_000_000;
    let cases = [
        (
            "an interval over a day",
            RiskBoundsArgs {
                min_commit_interval_secs: 86_401,
                ..good
            },
        ),
        (
            "a window over 30 days",
            RiskBoundsArgs {
                window_secs: 31 * 86_400,
                ..good
            },
        ),
        (
            "a window that freezes σ",
            RiskBoundsArgs {
                max_sigma_window_bps: 0,
                ..good
            },
        ),
        (
            "a window that freezes ρ",
            RiskBoundsArgs {
                max_corr_window_e9: 0,
                ..good
            },
        ),
        ("a σ range upside down", inverted),
        ("a σ range the current σ is outside of", beside),
        ("a floor above the largest σ", unbounded_floor),
    ];
    for (what, args) in cases {
        let r =
            w.t.send(
                &[ix::set_risk_bounds(&admin.pubkey(), &pool, args)],
                &[&admin],
            )
            .await;
        assert_code(r, perp(PerpError::InvalidParameter));
        assert!(before == w.t.snapshot(&[pool, model_key]).await, "{what}");
    }
}

/// What a trader gets back for a 5,000 BTC long (500k USD, five times the LP capital) held a day and
/// closed at the open's price, in a pool whose premium mode is `portfolio` from the close on
/// (announced a day ahead) or stays per market.
async fn round_trip_through_a_mode_switch(switch: bool) -> (u64, World) {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let trader = w.t.user(40_000 * E6).await;
    w.f.open(&mut w.t, &trader, 0, 5_000 * E6 as i64, 30_000 * E6)
        .await
        .unwrap();
    let portfolio = perp_amm::state::premium_mode::PORTFOLIO;
    if switch {
        let propose = ix::propose_premium_change(&admin.pubkey(), &w.f.pool, portfolio, 86_400);
        w.t.send(&[propose], &[&admin]).await.unwrap();
    }
    w.t.advance(86_400);
    w.f.refresh_prices(&mut w.t).await;
    if switch {
        w.t.send(&[ix::apply_premium_change(&w.f.pool)], &[])
            .await
            .unwrap();
        assert_eq!(w.t.pool(&w.f.pool).await.risk.premium_mode, portfolio);
    }
    w.f.close(&mut w.t, &trader, 0, true).await.unwrap();
    (w.t.balance(&trader.quote).await, w)
}

/// The premium mode sets what every reduction is charged or refunded, so switching it reaches
/// into open positions: a 5,000 BTC long that paid its per-market premium gets back 285.14 USD
/// less at the same price once the pool prices its close in portfolio mode (the whole pool's
/// IS, a fraction of the market's own default probability). So the switch waits a day's notice
/// like σ (a trader who would lose by it leaves first, at the old terms), and the pool
/// authority cannot make it at once while any position is open.
#[tokio::test]
async fn a_premium_mode_switch_waits_its_notice() {
    let (stayed, _) = round_trip_through_a_mode_switch(false).await;
    let (switched, mut w) = round_trip_through_a_mode_switch(true).await;
    println!(
        "a 5,000 BTC long's round trip returns {:.6} per market, {:.6} after a switch to portfolio",
        stayed as f64 / 1e6,
        switched as f64 / 1e6
    );
    let lost = stayed - switched;
    assert!(
        (280 * E6..290 * E6).contains(&lost),
        "the close's refund shrinks with the mode: {lost}"
    );
    // with a position open, the switch back is refused at once and changes nothing
    let admin = w.t.admin.insecure_clone();
    let trader = w.t.user(10_000 * E6).await;
    w.f.open(&mut w.t, &trader, 0, 5 * E6 as i64, 1_000 * E6)
        .await
        .unwrap();
    let keys = [w.f.pool];
    let before = w.t.snapshot(&keys).await;
    let r =
        w.t.send(
            &[ix::set_risk_limits(
                &admin.pubkey(),
                &w.f.pool,
                loose_limits(),
            )],
            &[&admin],
        )
        .await;
    assert_code(r, perp(PerpError::ChangeNeedsNotice));
    assert!(before == w.t.snapshot(&keys).await);
    // the IS limit alone still applies at once: it bounds new risk only
    let portfolio = RiskLimits {
        max_imbalance_bps: 5_000,
        premium_mode: perp_amm::state::premium_mode::PORTFOLIO,
        ..loose_limits()
    };
    w.set_limits(portfolio).await;
    assert_eq!(w.t.pool(&w.f.pool).await.risk.max_imbalance_bps, 5_000);
    // once no position is open, any valid mode applies at once
    w.f.close(&mut w.t, &trader, 0, true).await.unwrap();
    w.set_limits(loose_limits()).await;
    let pool = w.t.pool(&w.f.pool).await;
    assert_eq!(
        pool.risk.premium_mode,
        perp_amm::state::premium_mode::PER_MARKET
    );
}

#[tokio::test]
async fn premium_change_bad_inputs() {
    let mut w = world().await;
    let admin = w.t.admin.insecure_clone();
    let a = admin.pubkey();
    let intruder = w.t.user(0).await;
    let trader = w.t.user(10_000 * E6).await;
    w.f.open(&mut w.t, &trader, 0, E6 as i64, 1_000 * E6)
        .await
        .unwrap();
    let pool = w.f.pool;
    let (per_market, portfolio) = (
        perp_amm::state::premium_mode::PER_MARKET,
        perp_amm::state::premium_mode::PORTFOLIO,
    );
    let propose =
        |signer: &Pubkey, mode, horizon| ix::propose_premium_change(signer, &pool, mode, horizon);
    let apply = || ix::apply_premium_change(&pool);
    let cancel = |signer: &Pubkey| ix::cancel_premium_change(signer, &pool);
    async fn refused(
        w: &mut World,
        what: &str,
        ix: anchor_lang::solana_program::instruction::Instruction,
        signers: &[&Keypair],
        code: u32,
    ) {
        let keys = [w.f.pool];
        let before = w.t.snapshot_refused(&keys).await;
        let r = w.t.send(&[ix], signers).await;
        assert!(
            matches!(&r, Err(TxError::Custom(c)) if *c == code),
            "{what}: expected {code}, got {r:?}"
        );
        assert!(before == w.t.snapshot_refused(&keys).await, "{what}");
    }
    let code = |e: PerpError| perp(e);
    // the current pricing is per market with a one-day horizon
    for (what, ix, signers, want) in [
        (
            "intruder proposes",
            propose(&intruder.key(), portfolio, 86_400),
            vec![&intruder.kp],
            code(PerpError::Unauthorized),
        ),
        (
            "no such mode",
            propose(&a, 2, 86_400),
            vec![&admin],
            code(PerpError::InvalidParameter),
        ),
        (
            "the current pricing",
            propose(&a, per_market, 86_400),
            vec![&admin],
            code(PerpError::InvalidParameter),
        ),
        (
            "a horizon under an hour",
            propose(&a, portfolio, 3_599),
            vec![&admin],
            code(PerpError::InvalidParameter),
        ),
        (
            "a horizon doubled",
            propose(&a, portfolio, 2 * 86_400),
            vec![&admin],
            code(PerpError::ChangeTooLarge),
        ),
        (
            "a horizon halved",
            propose(&a, portfolio, 43_200),
            vec![&admin],
            code(PerpError::ChangeTooLarge),
        ),
        (
            "apply nothing",
            apply(),
            vec![],
            code(PerpError::NoPendingChange),
        ),
        (
            "cancel nothing",
            cancel(&a),
            vec![&admin],
            code(PerpError::NoPendingChange),
        ),
    ] {
        refused(&mut w, what, ix, &signers, want).await;
    }
    // the largest steps pass: √h a quarter up
    w.t.send(&[propose(&a, portfolio, 135_000)], &[&admin])
        .await
        .unwrap();
    let pending = w.t.pool(&pool).await.pending_premium;
    assert_eq!(
        (pending.mode, pending.horizon_secs, pending.effective_at),
        (portfolio, 135_000, w.t.now + 86_400)
    );
    let switch_now = ix::set_risk_limits(
        &a,
        &pool,
        RiskLimits {
            premium_mode: portfolio,
            ..loose_limits()
        },
    );
    for (what, ix, signers, want) in [
        (
            "a second proposal",
            propose(&a, portfolio, 86_400),
            vec![&admin],
            code(PerpError::ChangePending),
        ),
        (
            "set_risk_limits while pending",
            switch_now,
            vec![&admin],
            code(PerpError::ChangePending),
        ),
        (
            "applied early",
            apply(),
            vec![],
            code(PerpError::ChangeNotDue),
        ),
        (
            "intruder cancels",
            cancel(&intruder.key()),
            vec![&intruder.kp],
            code(PerpError::Unauthorized),
        ),
    ] {
        refused(&mut w, what, ix, &signers, want).await;
    }
    // a change applied a week after it was due comes too late
    w.t.advance(86_400 + 7 * 86_400 + 1);
    refused(
        &mut w,
        "applied too late",
        apply(),
        &[],
        code(PerpError::ChangeExpired),
    )
    .await;
    w.t.send(&[cancel(&a)], &[&admin]).await.unwrap();
    assert!(!w.t.pool(&pool).await.pending_premium.is_pending());
    // announced again; due a day later, but closing is paused then: no change applies while
    // traders cannot act, and a full day runs again from when closing resumes
    w.t.send(&[propose(&a, portfolio, 86_400)], &[&admin])
        .await
        .unwrap();
    w.t.advance(86_400);
    let pause = |flags| ix::set_pause(&a, &pool, flags);
    w.t.send(&[pause(perp_amm::state::pause::CLOSE)], &[&admin])
        .await
        .unwrap();
    refused(
        &mut w,
        "closing paused",
        apply(),
        &[],
        code(PerpError::Paused),
    )
    .await;
    w.t.send(&[pause(0)], &[&admin]).await.unwrap();
    refused(
        &mut w,
        "just resumed",
        apply(),
        &[],
        code(PerpError::ChangeNotDue),
    )
    .await;
    w.t.advance(86_400);
    // by anyone, once
    w.t.send(&[apply()], &[]).await.unwrap();
    let pool_after = w.t.pool(&pool).await;
    assert_eq!(
        (
            pool_after.risk.premium_mode,
            pool_after.risk.premium_horizon_secs
        ),
        (portfolio, 86_400)
    );
    assert!(!pool_after.pending_premium.is_pending());
    refused(
        &mut w,
        "applied twice",
        apply(),
        &[],
        code(PerpError::NoPendingChange),
    )
    .await;
}
