//! The default market set (BTC ETH SOL XRP BNB EUR GBP JPY XAU WTI) passes the program's
//! parameter validation, and a long and a short of $10,000 trade in each with the expected fees.

use keel_tests::TestContext;
use keel_tests::fixture::{E6, PerpFixture};
use keel_tests::markets::default_markets;

#[tokio::test]
async fn ten_default_markets_trade() {
    let mut t = TestContext::new().await;
    let mut f = PerpFixture::new(&mut t, &[]).await;
    let presets = default_markets();
    for p in &presets {
        f.add_market_with(&mut t, p.price, p.params, p.base_decimals, -8)
            .await;
    }
    assert_eq!(t.pool(&f.pool).await.market_count, 10);
    let lp = t.user(20_000_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 20_000_000 * E6)
        .await
        .unwrap();

    let mut positions = vec![];
    for (i, p) in presets.iter().enumerate() {
        let size = (10_000.0 / p.price * 10f64.powi(p.base_decimals as i32)) as i64;
        let (long, short) = (t.user(10_000 * E6).await, t.user(10_000 * E6).await);
        for (user, s) in [(&long, size), (&short, -size)] {
            f.open(&mut t, user, i as u8, s, 2_000 * E6)
                .await
                .unwrap_or_else(|e| panic!("{}: {e:?}", p.symbol));
            let pos = t.position(&f.position(i as u8, &user.key())).await.unwrap();
            let charged = 2_000 * E6 - pos.collateral;
            // fee + half-spread on ~$10,000, plus a premium (long, first) or minus a rebate
            let fees =
                10_000 * (p.params.open_fee_bps as u64 * 100 + p.params.half_spread_e9 / 1_000);
            assert!(
                charged.abs_diff(fees) < fees / 10 + 20_000,
                "{}: charged {charged}, fees {fees}",
                p.symbol
            );
            positions.push(f.position(i as u8, &user.key()));
        }
        t.assert_conservation(&f.pool, &positions).await;
        for (user, long_side) in [(&long, true), (&short, false)] {
            f.close(&mut t, user, i as u8, long_side)
                .await
                .unwrap_or_else(|e| panic!("{}: {e:?}", p.symbol));
        }
    }
    let pool = t.pool(&f.pool).await;
    assert!(
        pool.markets[..10]
            .iter()
            .all(|m| m.long_oi == 0 && m.short_oi == 0)
    );
    t.assert_conservation(&f.pool, &[]).await;
}
