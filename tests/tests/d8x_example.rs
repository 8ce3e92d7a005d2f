//! mission.md's worked D8X example through the program: s = 100, σ = 0.05, M = 100, K = 10,
//! L = 1000. A fill is charged the change of the book's insurance value,
//! V(after) − V(before) with V(F, H) = E[max(F·(e^X − 1) − H, 0)] (D8X's eq. (2) on the whole
//! book, `keel_math::insurance`), to the token's smallest unit: premiums rounded up, rebates
//! down. A rebate refunds only premiums the position itself paid.
//!
//! D8X's digital-option premium q·|k|·s on the same trades, for comparison (mission.md): buy 1
//! pays 3.876, buy 5 pays 47.06, sell 1 earns 1.649. The insurance value charges 0.381 and
//! 3.025: the digital option is D8X's conservative upper approximation. Sell 1 lowers the
//! insurance value by 0.270, but a new short has paid no premium to be refunded: it is charged
//! nothing, and the whale closing his long gets his own premium back.

use keel_math::Fix;
use keel_math::insurance::lognormal_book_value;
use keel_tests::fixture::{E6, E9, MarketParams, PerpFixture, default_params};
use keel_tests::{TestContext, User, ix};
use solana_signer::Signer;

/// Fee-free, spread-free, funding-free market so the premium is the only charge on a fill.
fn params() -> MarketParams {
    MarketParams {
        open_fee_bps: 0,
        close_fee_bps: 0,
        half_spread_e9: 0,
        max_funding_rate_e9: 0,
        ..default_params()
    }
}

/// Pool with K = 10 long at 100 (L = 1000) and capital at risk M = exactly 100. Returns the
/// whale's premium (the book's insurance value V(1000, 100), rounded up).
async fn worked_pool() -> (TestContext, PerpFixture, i64) {
    let (t, f, _, premium) = worked_pool_with_whale().await;
    (t, f, premium)
}

async fn worked_pool_with_whale() -> (TestContext, PerpFixture, User, i64) {
    let mut t = TestContext::new().await;
    let f = PerpFixture::with_params(&mut t, &[100.0], params()).await;
    let lp = t.user(1_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 200 * E6).await.unwrap();
    // choose the capital share so that M = C·share/1e9 is exactly 100 quote
    let c = t.pool(&f.pool).await.lp_capital as u128;
    let share = (100 * E6 as u128 * E9 as u128).div_ceil(c) as u64;
    let admin = t.admin.insecure_clone();
    let m = &f.markets[0];
    t.send(
        &[ix::update_market(
            &admin.pubkey(),
            &f.pool,
            &m.key,
            &m.oracle,
            MarketParams {
                capital_share_e9: share,
                ..params()
            },
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let (whale, whale_premium) = trade(&mut t, &f, 10.0, 300 * E6).await;
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
    // the premium went to the market's premium balance, not to LP capital, and is the whale's
    // to be refunded
    assert_eq!(pool.premium_balances[0], whale_premium as u64);
    let held = t.position(&f.position(0, &whale.key())).await.unwrap();
    assert_eq!(held.premium_paid, whale_premium as u64);
    assert_eq!(pool.lp_capital, 200 * E6);
    (t, f, whale, whale_premium)
}

/// V(after) − V(before) for `k` whole units traded from K = 10 at `price`, in native units:
/// F = K·s, H = M − U with U = K·s − L the book's unrealised PnL (w = 1/2 of it).
fn charge_exact(k: f64, price: f64) -> Fix {
    let sigma: Fix = "0.05".parse().unwrap();
    let unrealised = 10.0 * price - 1000.0;
    let headroom = Fix::from_num(((200.0 - unrealised) / 2.0 * 1e6) as i64);
    let v = |units: f64| {
        lognormal_book_value(Fix::from_num((units * price * 1e6) as i64), headroom, sigma)
            .unwrap()
            .value
    };
    v(10.0 + k) - v(10.0)
}

/// Open `k` whole units with `collateral`; returns the trader and what the fill charged (the
/// collateral moved only by the premium: no fees, no funding).
async fn trade(t: &mut TestContext, f: &PerpFixture, k: f64, collateral: u64) -> (User, i64) {
    let trader = t.user(collateral).await;
    f.open(t, &trader, 0, (k * 1e6) as i64, collateral)
        .await
        .unwrap();
    let pos = t.position(&f.position(0, &trader.key())).await.unwrap();
    (trader, collateral as i64 - pos.collateral as i64)
}

#[tokio::test]
async fn the_book_pays_its_insurance_value() {
    let (_, _, whale) = worked_pool().await;
    // V(1000, 100) = 0.570280662… quote
    assert_eq!(whale, 570_281);
}

#[tokio::test]
async fn buy_one_pays_the_change_of_the_insurance_value() {
    let (mut t, f, _) = worked_pool().await;
    let exact = charge_exact(1.0, 100.0);
    let (_, charged) = trade(&mut t, &f, 1.0, 50 * E6).await;
    // V(1100) − V(1000) = 0.381334851… quote, rounded up
    assert_eq!(charged, exact.ceil().to_num::<i64>());
    assert_eq!(charged, 381_335);
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn buy_five_pays_more_per_unit() {
    let (mut t, f, _) = worked_pool().await;
    let (_, charged) = trade(&mut t, &f, 5.0, 200 * E6).await;
    assert_eq!(charged, charge_exact(5.0, 100.0).ceil().to_num::<i64>());
    // 3.025297247… quote: 0.605 per unit against 0.381 for one
    assert_eq!(charged, 3_025_298);
}

#[tokio::test]
async fn sell_one_lowers_the_insurance_value_but_has_nothing_to_refund() {
    let (mut t, f, whale) = worked_pool().await;
    // V(900) − V(1000) = −0.269592521… quote; D8X would rebate 1.649 from the whale's premium
    assert_eq!(charge_exact(-1.0, 100.0).ceil().to_num::<i64>(), -269_592);
    let (_, charged) = trade(&mut t, &f, -1.0, 50 * E6).await;
    assert_eq!(charged, 0);
    let pool = t.pool(&f.pool).await;
    assert_eq!(pool.premium_balances[0] as i64, whale);
    assert_eq!(pool.lp_capital, 200 * E6);
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn the_whale_closing_gets_his_own_premium_back() {
    let (mut t, f, whale, premium) = worked_pool_with_whale().await;
    let held = t.position(&f.position(0, &whale.key())).await.unwrap();
    let before = t.balance(&whale.quote).await;
    f.close(&mut t, &whale, 0, true).await.unwrap();
    let refund = (t.balance(&whale.quote).await - before) as i64 - held.collateral as i64;
    // V(0) − V(1000) rounded toward zero: one native unit short of what he paid, which goes to
    // LP capital with the emptied balance
    assert_eq!((refund, premium - refund), (570_280, 1));
    let pool = t.pool(&f.pool).await;
    assert_eq!(pool.premium_balances[0], 0);
    assert_eq!(pool.lp_capital, 200 * E6 + 1);
    t.assert_vault_balanced(&f.pool).await;
}

/// Selling 15 against the worked book in one piece or as ten then five: a fresh short has
/// nothing of its own to be refunded, so the whole is charged nothing, and the split pays at
/// least as much (the five past the balance point pay what they add).
#[tokio::test]
async fn selling_fifteen_in_two_pieces_costs_no_less_than_whole() {
    let (mut t, f, _) = worked_pool().await;
    // V(−500) − V(1000) < 0: a fresh short has nothing to refund
    assert_eq!(charge_exact(-15.0, 100.0).ceil().to_num::<i64>(), -570_262);
    let (_, whole) = trade(&mut t, &f, -15.0, 200 * E6).await;
    assert_eq!(whole, 0);

    let (mut t, f, _) = worked_pool().await;
    let (trader, first) = trade(&mut t, &f, -10.0, 200 * E6).await;
    let before = t.position(&f.position(0, &trader.key())).await.unwrap();
    f.increase(&mut t, &trader, 0, -5 * E6 as i64, 0)
        .await
        .unwrap();
    let after = t.position(&f.position(0, &trader.key())).await.unwrap();
    let second = before.collateral as i64 - after.collateral as i64;
    // nothing for the ten (nothing to refund), +19 for the five from a flat book: the split is
    // dearer, never cheaper
    assert_eq!((first, second), (0, 19));
    assert!(first + second >= whole);
}

#[tokio::test]
async fn a_round_trip_at_one_price_earns_nothing() {
    let (mut t, f, _) = worked_pool().await;
    let (trader, charged) = trade(&mut t, &f, 3.0, 100 * E6).await;
    assert_eq!(charged, charge_exact(3.0, 100.0).ceil().to_num::<i64>());
    let held = t.position(&f.position(0, &trader.key())).await.unwrap();
    f.close(&mut t, &trader, 0, true).await.unwrap();
    let payout = t.balance(&trader.quote).await;
    // the close rebates the premium rounded down: the trader is one unit short, never ahead
    let rebate = payout as i64 - held.collateral as i64;
    assert_eq!(charged - rebate, 1);
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn a_rebate_refunds_no_more_than_the_position_paid() {
    let (mut t, f, whale, premium) = worked_pool_with_whale().await;
    // the longs gain 150 at 115: the headroom falls to (200 − 150)/2 = 25 and closing the
    // whale's ten lowers the book's insurance value by more than 12, far more than he paid
    f.set_price(&mut t, 0, 115.0, 0.0).await;
    let uncapped = -charge_exact(-10.0, 115.0);
    assert!(uncapped > Fix::from_num(12 * E6), "{uncapped}");
    let held = t.position(&f.position(0, &whale.key())).await.unwrap();
    let before = t.balance(&whale.quote).await;
    f.close(&mut t, &whale, 0, true).await.unwrap();
    let paid = (t.balance(&whale.quote).await - before) as i64;
    // collateral + 150 of profit + his own premium, and not a unit more
    let refund = paid - held.collateral as i64 - 150 * E6 as i64;
    assert_eq!(refund, premium);
    let pool = t.pool(&f.pool).await;
    assert_eq!(pool.premium_balances[0], 0);
    assert_eq!(pool.lp_capital, 50 * E6);
    t.assert_vault_balanced(&f.pool).await;
}

/// Trading against a large book to take its premium (issue #19's review): the attacker shorts
/// ten against the whale's ten (the book's insurance value falls to nothing), the keeper runs
/// the whale's close next (the book goes short ten) and the attacker's close last. With rebates
/// paid from a shared balance the attacker took the whale's 0.570 and more; refunds of one's
/// own premiums only leave him nothing but his fees, in every order of execution.
#[tokio::test]
async fn trading_against_a_book_takes_none_of_its_premium() {
    let (mut t, f, whale, _) = worked_pool_with_whale().await;
    let (attacker, opened) = trade(&mut t, &f, -10.0, 100 * E6).await;
    assert_eq!(opened, 0);
    f.close(&mut t, &whale, 0, true).await.unwrap();
    let held = t.position(&f.position(0, &attacker.key())).await.unwrap();
    let before = t.balance(&attacker.quote).await;
    f.close(&mut t, &attacker, 0, false).await.unwrap();
    // no fees, no price move: he gets exactly his collateral back
    assert_eq!(t.balance(&attacker.quote).await - before, held.collateral);
    assert_eq!(held.collateral, 100 * E6);
    let pool = t.pool(&f.pool).await;
    assert_eq!(pool.premium_balances[0], 0);
    t.assert_vault_balanced(&f.pool).await;
}
