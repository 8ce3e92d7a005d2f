//! mission.md's worked D8X example through the program: s = 100, σ = 0.05, M = 100, K = 10,
//! L = 1000. The premium actually charged on a fill equals q·|k|·s to the token's smallest unit,
//! rounded against the trader (up when paid, down when rebated).

use keel_math::d8x::{Exposure, trade_probability};
use keel_math::{Fix, Prob};
use keel_tests::fixture::{E6, E9, MarketParams, PerpFixture, default_params};
use keel_tests::{TestContext, User, ix};
use solana_signer::Signer;

/// Fee-free, spread-free market so the premium is the only charge on a fill.
fn params() -> MarketParams {
    MarketParams {
        open_fee_bps: 0,
        close_fee_bps: 0,
        half_spread_e9: 0,
        ..default_params()
    }
}

/// Pool with K = 10 long at 100 (L = 1000) and capital at risk M = exactly 100.
async fn worked_pool() -> (TestContext, PerpFixture) {
    let mut t = TestContext::new().await;
    let f = PerpFixture::with_params(&mut t, &[100.0], params()).await;
    let lp = t.user(1_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 200 * E6).await.unwrap();
    let whale = t.user(1_000 * E6).await;
    f.open(&mut t, &whale, 0, 10 * E6 as i64, 300 * E6)
        .await
        .unwrap();
    // choose the capital share so that M = floor(C·share/1e9) is exactly 100 quote
    let c = t.pool(&f.pool).await.lp_capital as u128;
    let share = (100 * E6 as u128 * E9 as u128).div_ceil(c) as u64;
    let admin = t.admin.insecure_clone();
    let m = &f.markets[0];
    t.send(
        &[ix::update_market(
            &admin.pubkey(),
            &f.pool,
            &m.key,
            MarketParams {
                capital_share_e9: share,
                ..params()
            },
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let pool = t.pool(&f.pool).await;
    let slot = pool.markets[0];
    assert_eq!(
        (slot.long_oi, slot.short_oi, slot.long_entry),
        (10 * E6, 0, 1_000 * E6)
    );
    assert_eq!(
        pool.lp_capital as u128 * share as u128 / E9 as u128,
        100 * E6 as u128
    );
    (t, f)
}

/// q for a trade of `k` whole units from the worked state, in the program's native units.
fn q_of(k: f64) -> Prob {
    let exposure = Exposure {
        net_position: Fix::from_num(10 * E6),
        locked_value: Fix::from_num(1_000 * E6),
        capital: Fix::from_num(100 * E6),
    };
    trade_probability(
        &exposure,
        Fix::from_num((k * 1e6) as i64),
        Fix::from_num(100),
        "0.05".parse().unwrap(),
    )
    .unwrap()
}

/// q·|k|·s in quote native units, as an exact Fix.
fn premium_exact(q: Prob, k: f64) -> Fix {
    let q = Fix::from_bits(keel_math::d8x::prob_to_q64(q, true));
    q * Fix::from_num((k.abs() * 1e6) as i64) * Fix::from_num(100)
}

async fn trade(t: &mut TestContext, f: &PerpFixture, k: f64, collateral: u64) -> (User, i64) {
    let trader = t.user(collateral).await;
    f.open(t, &trader, 0, (k * 1e6) as i64, collateral)
        .await
        .unwrap();
    let pos = t.position(&f.position(0, &trader.key())).await.unwrap();
    // no fees, no funding (same timestamp): the collateral moved only by the premium
    (trader, collateral as i64 - pos.collateral as i64)
}

#[tokio::test]
async fn buy_one_pays_the_digital_option_premium() {
    let (mut t, f) = worked_pool().await;
    let q = q_of(1.0);
    assert_eq!(format!("{:.6}", q), "0.038763");
    let exact = premium_exact(q, 1.0);
    let (_, charged) = trade(&mut t, &f, 1.0, 50 * E6).await;
    // q·|k|·s = 3.876276594… quote = 3,876,276.59 native, charged rounded up
    assert_eq!(charged, exact.ceil().to_num::<i64>());
    assert_eq!(charged, 3_876_277);
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn buy_five_pays_more_per_unit() {
    let (mut t, f) = worked_pool().await;
    let q = q_of(5.0);
    assert_eq!(format!("{:.6}", q), "0.094126");
    let (_, charged) = trade(&mut t, &f, 5.0, 200 * E6).await;
    assert_eq!(charged, premium_exact(q, 5.0).ceil().to_num::<i64>());
}

#[tokio::test]
async fn sell_one_earns_a_rebate() {
    let (mut t, f) = worked_pool().await;
    let q = q_of(-1.0);
    assert_eq!(format!("{:.6}", q), "0.016495");
    let (_, charged) = trade(&mut t, &f, -1.0, 50 * E6).await;
    // a rebate: the collateral grew by q·|k|·s rounded down
    let exact = premium_exact(keel_math::Prob::from_bits(q.to_bits()), -1.0);
    assert_eq!(
        -charged,
        Fix::from_bits(keel_math::d8x::prob_to_q64(q, false))
            .saturating_mul(Fix::from_num(100 * E6))
            .floor()
            .to_num::<i64>()
    );
    assert!(charged < 0 && (-charged as i128) <= exact.to_num::<i128>());
    assert_eq!(-charged, 1_649_478);
}

#[tokio::test]
async fn sell_ten_flattens_the_pool_at_the_index() {
    let (mut t, f) = worked_pool().await;
    assert_eq!(q_of(-10.0), Prob::ZERO);
    let (_, charged) = trade(&mut t, &f, -10.0, 100 * E6).await;
    assert_eq!(charged, 0);
}

#[tokio::test]
async fn sell_fifteen_is_split_at_k_star() {
    let (mut t, f) = worked_pool().await;
    // 10 flatten the pool (no premium), the other 5 open a short from flat: q = 4.54e-6
    let flat = Exposure {
        net_position: Fix::ZERO,
        locked_value: Fix::ZERO,
        capital: Fix::from_num(100 * E6),
    };
    let q = trade_probability(
        &flat,
        Fix::from_num(-5 * E6 as i64),
        Fix::from_num(100),
        "0.05".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(format!("{:.7}", q), "0.0000045");
    let (_, charged) = trade(&mut t, &f, -15.0, 200 * E6).await;
    assert_eq!(charged, premium_exact(q, 5.0).ceil().to_num::<i64>());
    assert_eq!(charged, 2_272);
}

#[tokio::test]
async fn a_rebate_is_capped_where_a_premium_would_be_refused() {
    let (mut t, f) = worked_pool().await;
    // the longs gain 300 at 130, three times M: the market's capital is spent, q ≈ 1
    f.set_price(&mut t, 0, 130.0, 0.0).await;
    let exposure = Exposure {
        net_position: Fix::from_num(10 * E6),
        locked_value: Fix::from_num(1_000 * E6),
        capital: Fix::from_num(100 * E6),
    };
    let uncapped = trade_probability(
        &exposure,
        Fix::from_num(-(E6 as i64)),
        Fix::from_num(130),
        "0.05".parse().unwrap(),
    )
    .unwrap();
    assert!(uncapped > Prob::from_num(0.99), "q {uncapped}");
    // selling one earns the cap (max_default_prob 20 %) on 130, not q ≈ 1 of it
    let (_, charged) = trade(&mut t, &f, -1.0, 50 * E6).await;
    let cap = Prob::from_bits((1u128 << 127) / 5);
    let capped = Fix::from_bits(keel_math::d8x::prob_to_q64(cap, false))
        .saturating_mul(Fix::from_num(130 * E6))
        .floor()
        .to_num::<i64>();
    assert_eq!(-charged, capped);
    assert!((25_999_990..=26_000_000).contains(&capped), "{capped}");
    t.assert_vault_balanced(&f.pool).await;
}
