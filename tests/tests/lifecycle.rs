//! Happy paths for every role: LPs, traders, keepers, operators, with conservation after every
//! step (the vault equals LP capital + default fund + Σ position collateral).

use keel_tests::fixture::{E6, PerpFixture};
use keel_tests::{TestContext, ix};
use perp_amm::constants::DEAD_SHARES;
use perp_amm::state::pause;
use solana_signer::Signer;

#[tokio::test]
async fn lp_deposit_and_withdraw() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
    let a = t.user(2_000 * E6).await;
    let b = t.user(2_000 * E6).await;
    let (la, lb) = (
        f.lp_account(&mut t, &a).await,
        f.lp_account(&mut t, &b).await,
    );

    f.deposit(&mut t, &a, &la, 1_000 * E6).await.unwrap();
    assert_eq!(
        t.balance(&la).await,
        1_000 * E6 - DEAD_SHARES,
        "first deposit: 1:1 less the dead shares"
    );
    let pool = t.pool(&f.pool).await;
    assert_eq!(
        (pool.lp_capital, pool.dead_shares),
        (1_000 * E6, DEAD_SHARES)
    );

    f.deposit(&mut t, &b, &lb, 500 * E6).await.unwrap();
    assert_eq!(
        t.balance(&lb).await,
        500 * E6,
        "same share price for the second LP"
    );
    t.assert_conservation(&f.pool, &[]).await;

    f.withdraw(&mut t, &b, &lb, 500 * E6).await.unwrap();
    assert_eq!(
        t.balance(&b.quote).await,
        2_000 * E6,
        "no trading: the LP gets back exactly what it put in"
    );
    assert_eq!(t.balance(&lb).await, 0);
    f.withdraw(&mut t, &a, &la, 1_000 * E6 - DEAD_SHARES)
        .await
        .unwrap();
    let pool = t.pool(&f.pool).await;
    assert_eq!(
        pool.lp_capital, DEAD_SHARES,
        "only the dead shares' capital stays"
    );
    assert_eq!(t.balance(&a.quote).await, 2_000 * E6 - DEAD_SHARES);
    t.assert_conservation(&f.pool, &[]).await;
}

#[tokio::test]
async fn trader_lifecycle_open_increase_decrease_close() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let trader = t.user(1_000 * E6).await;
    let pos_key = f.position(0, &trader.key());

    // open 10 long with 100 margin (10x)
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    let pos = t.position(&pos_key).await.unwrap();
    assert_eq!(
        (pos.size, pos.entry_notional),
        (10 * E6 as i64, 1_000 * E6 as i64)
    );
    // fee 10 bps of 1,000 = 1 quote; behind M = 50,000 of capital q = Φ(−78) is exactly 0
    assert_eq!(pos.collateral, 99 * E6);
    let pool = t.pool(&f.pool).await;
    assert_eq!(
        (pool.markets[0].long_oi, pool.markets[0].long_entry),
        (10 * E6, 1_000 * E6)
    );
    assert_eq!(
        pool.default_fund, 200_000,
        "20 % of the 1-quote fee feeds the default fund"
    );
    t.assert_conservation(&f.pool, &[pos_key]).await;

    // add 5 more with 50 margin
    f.increase(&mut t, &trader, 0, 5 * E6 as i64, 50 * E6)
        .await
        .unwrap();
    let pos = t.position(&pos_key).await.unwrap();
    assert_eq!(pos.size, 15 * E6 as i64);
    t.assert_conservation(&f.pool, &[pos_key]).await;

    // price rises 10 %: decreasing 5 realises +50 (less the close fee, plus a rebate)
    f.set_price(&mut t, 0, 110.0, 0.0).await;
    let before = t.position(&pos_key).await.unwrap().collateral;
    f.decrease(&mut t, &trader, 0, 5 * E6, true).await.unwrap();
    let pos = t.position(&pos_key).await.unwrap();
    assert_eq!(pos.size, 10 * E6 as i64);
    let gained = pos.collateral as i64 - before as i64;
    // +50 PnL − 0.55 fee + a small rebate
    assert!(
        gained > 49 * E6 as i64 && gained < 51 * E6 as i64,
        "{gained}"
    );
    t.assert_conservation(&f.pool, &[pos_key]).await;

    // take 20 margin out, then close everything
    f.remove_collateral(&mut t, &trader, 0, 20 * E6)
        .await
        .unwrap();
    f.add_collateral(&mut t, &trader, 0, 5 * E6).await.unwrap();
    let before_close = t.balance(&trader.quote).await;
    let collateral = t.position(&pos_key).await.unwrap().collateral;
    f.close(&mut t, &trader, 0, true).await.unwrap();
    assert!(
        t.position(&pos_key).await.is_none(),
        "the position account is closed"
    );
    let paid = t.balance(&trader.quote).await - before_close;
    // the unrealised +100 on the remaining 10 is paid out with the collateral
    assert!(
        paid > collateral + 98 * E6 && paid < collateral + 101 * E6,
        "{paid} vs {collateral}"
    );
    let pool = t.pool(&f.pool).await;
    assert_eq!(
        (
            pool.markets[0].long_oi,
            pool.markets[0].long_entry,
            pool.total_collateral
        ),
        (0, 0, 0)
    );
    t.assert_conservation(&f.pool, &[]).await;
}

#[tokio::test]
async fn funding_accrues_to_the_pool_from_the_crowded_side() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let trader = t.user(1_000 * E6).await;
    let pos_key = f.position(0, &trader.key());
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 200 * E6)
        .await
        .unwrap();

    // one day later, all OI long: the longs pay 0.1 %/day on 1,000 notional = 1 quote
    t.advance(86_400);
    f.refresh_prices(&mut t).await;
    f.update_funding(&mut t, 0).await.unwrap();
    let pool = t.pool(&f.pool).await;
    let index = pool.markets[0].long_funding_index.fix();
    assert!(
        index > keel_math::Fix::from_num(0.0999) && index < keel_math::Fix::from_num(0.1001),
        "{index}"
    );
    assert_eq!(pool.markets[0].short_funding_index.get(), 0);

    let before = t.position(&pos_key).await.unwrap().collateral;
    let lp_before = t.pool(&f.pool).await.lp_capital;
    f.remove_collateral(&mut t, &trader, 0, 1).await.unwrap(); // settles funding
    let paid = before - 1 - t.position(&pos_key).await.unwrap().collateral;
    // a day, and the second until the keeper executed the margin request: 1·86,401/86,400
    assert!((1_000_011..=1_000_014).contains(&paid), "{paid}");
    assert_eq!(
        t.pool(&f.pool).await.lp_capital - lp_before,
        paid,
        "funding goes to LP capital"
    );
    t.assert_conservation(&f.pool, &[pos_key]).await;
}

#[tokio::test]
async fn keeper_liquidates_below_maintenance_for_a_reward() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let trader = t.user(1_000 * E6).await;
    let keeper = t.user(0).await;
    let pos_key = f.position(0, &trader.key());
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 60 * E6)
        .await
        .unwrap();

    // at 98 the equity (~37) is above 2.5 % of 980: not liquidatable
    f.set_price(&mut t, 0, 98.0, 0.0).await;
    let r = f.liquidate(&mut t, &keeper, 0, &trader).await;
    keel_tests::assert_code(
        r,
        keel_tests::perp(perp_amm::errors::PerpError::NotLiquidatable),
    );

    // at 96.5 the equity (~22) is below 2.5 % of 965 = 24.1
    f.set_price(&mut t, 0, 96.5, 0.0).await;
    let owner_before = t.balance(&trader.quote).await;
    f.liquidate(&mut t, &keeper, 0, &trader).await.unwrap();
    assert!(t.position(&pos_key).await.is_none());
    // reward: 50 bps of 965 = 4.825, rounded up
    assert_eq!(t.balance(&keeper.quote).await, 4_825_000);
    let returned = t.balance(&trader.quote).await - owner_before;
    assert!(returned > 15 * E6 && returned < 20 * E6, "{returned}");
    let pool = t.pool(&f.pool).await;
    assert_eq!((pool.markets[0].long_oi, pool.total_collateral), (0, 0));
    t.assert_conservation(&f.pool, &[]).await;
}

#[tokio::test]
async fn bad_debt_is_taken_by_the_default_fund_first() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let operator = t.user(100 * E6).await;
    t.send(
        &[ix::fund_default_fund(
            &operator.key(),
            &f.pool,
            &operator.quote,
            100 * E6,
        )],
        &[&operator.kp],
    )
    .await
    .unwrap();
    let trader = t.user(1_000 * E6).await;
    let keeper = t.user(0).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 60 * E6)
        .await
        .unwrap();
    let before = t.pool(&f.pool).await;

    // a 10 % gap down: the loss of 100 exceeds the ~58 of margin left
    f.set_price(&mut t, 0, 90.0, 0.0).await;
    f.liquidate(&mut t, &keeper, 0, &trader).await.unwrap();
    let after = t.pool(&f.pool).await;
    let collateral = before.total_collateral;
    let bad_debt = 100 * E6 - collateral;
    let reward = 4_500_000; // 50 bps of 900, paid by the default fund since the equity is gone
    assert_eq!(t.balance(&keeper.quote).await, reward);
    assert_eq!(
        before.default_fund - after.default_fund,
        bad_debt + reward,
        "the fund took the bad debt and the reward"
    );
    // LPs got the whole 100 loss of the trader: collateral from the trader, the rest from the fund
    assert_eq!(after.lp_capital - before.lp_capital, 100 * E6);
    t.assert_conservation(&f.pool, &[]).await;
}

#[tokio::test]
async fn operator_pauses_and_transfers_authority() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let admin = t.admin.insecure_clone();
    let next = t.user(0).await;
    t.send(
        &[ix::set_pause(
            &admin.pubkey(),
            &f.pool,
            pause::OPEN | pause::LP,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    assert_eq!(t.pool(&f.pool).await.paused, pause::OPEN | pause::LP);
    t.send(&[ix::set_pause(&admin.pubkey(), &f.pool, 0)], &[&admin])
        .await
        .unwrap();
    assert_eq!(t.pool(&f.pool).await.paused, 0);

    t.send(
        &[ix::propose_authority(&admin.pubkey(), &f.pool, next.key())],
        &[&admin],
    )
    .await
    .unwrap();
    assert_eq!(
        t.pool(&f.pool).await.authority,
        admin.pubkey(),
        "nothing changes until accepted"
    );
    t.send(&[ix::accept_authority(&next.key(), &f.pool)], &[&next.kp])
        .await
        .unwrap();
    let pool = t.pool(&f.pool).await;
    assert_eq!(
        (pool.authority, pool.pending_authority),
        (next.key(), Default::default())
    );
    // the old authority has lost its powers
    let r = t
        .send(
            &[ix::set_pause(&admin.pubkey(), &f.pool, pause::ALL)],
            &[&admin],
        )
        .await;
    keel_tests::assert_code(
        r,
        keel_tests::perp(perp_amm::errors::PerpError::Unauthorized),
    );
}

#[tokio::test]
async fn margin_withdrawals_ignore_unrealised_profit() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
        .await
        .unwrap();
    let trader = t.user(1_000 * E6).await;
    let pos_key = f.position(0, &trader.key());
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
        .await
        .unwrap(); // 99 left after the fee
    // +200 unrealised at 120; the initial margin at 20x is 1,200/20 = 60
    f.set_price(&mut t, 0, 120.0, 0.0).await;
    let keys = [f.pool, f.vault, pos_key, trader.quote];
    let before = t.snapshot_refused(&keys).await;
    let r = f.remove_collateral(&mut t, &trader, 0, 90 * E6).await;
    keel_tests::assert_code(
        r,
        keel_tests::perp(perp_amm::errors::PerpError::MaxLeverage),
    );
    assert_eq!(before, t.snapshot_refused(&keys).await);
    // against realised money only: 99 − 38 = 61 ≥ 60 is fine, 99 − 40 = 59 is not
    f.remove_collateral(&mut t, &trader, 0, 38 * E6)
        .await
        .unwrap();
    let r = f.remove_collateral(&mut t, &trader, 0, 2 * E6).await;
    keel_tests::assert_code(
        r,
        keel_tests::perp(perp_amm::errors::PerpError::MaxLeverage),
    );
    t.assert_conservation(&f.pool, &[pos_key]).await;
}

#[tokio::test]
async fn an_idle_market_with_a_paused_oracle_does_not_block_lps() {
    let mut t = TestContext::new().await;
    // market 1 stands for an RWA market whose oracle stops over the weekend
    let f = PerpFixture::new(&mut t, &[100.0, 1.08]).await;
    let lp = t.user(100_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 50_000 * E6).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    // a deposit the keeper executes with a fresh price for market 0 only
    let keeper = f.keeper(&mut t).await;
    let deposit_on_market_0 = async |t: &mut TestContext| {
        f.place_deposit(t, &lp, &lp_acct, 0, 1_000 * E6, 0)
            .await
            .unwrap();
        t.advance(1);
        f.set_price(t, 0, 101.0, 0.0).await; // only market 0 keeps publishing
        f.execute(t, &keeper, &lp.key(), 0).await
    };
    t.advance(3_600);
    assert_eq!(deposit_on_market_0(&mut t).await, Ok(None));
    // once market 1 has open interest its price matters again
    f.set_price(&mut t, 1, 1.08, 0.0).await;
    f.open(&mut t, &trader, 1, 1_000 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    t.advance(3_600);
    keel_tests::assert_code(
        deposit_on_market_0(&mut t).await.map(|_| ()),
        keel_tests::perp(perp_amm::errors::PerpError::StaleOracle),
    );
}

#[tokio::test]
async fn payouts_are_cut_when_the_pool_is_exhausted() {
    // a small pool behind a trader whose market moves tenfold: the pool pays what it holds
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(1_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 200 * E6).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    f.open(&mut t, &trader, 0, E6 as i64, 50 * E6)
        .await
        .unwrap();
    let pos = t.position(&f.position(0, &trader.key())).await.unwrap();
    let before = t.pool(&f.pool).await;
    f.set_price(&mut t, 0, 1_000.0, 0.0).await; // +900 of profit against ~200 of capital
    let balance = t.balance(&trader.quote).await;
    f.close(&mut t, &trader, 0, true).await.unwrap();
    let paid = t.balance(&trader.quote).await - balance;
    let after = t.pool(&f.pool).await;
    // everything the pool held for LPs and the fund went to the trader, less the close fee,
    // which the pool then kept: the vault still balances and nothing was created
    assert_eq!(
        after.lp_capital + after.default_fund + paid,
        before.lp_capital + before.default_fund + pos.collateral
    );
    assert!(paid < pos.collateral + 900 * E6, "the payout was cut");
    assert!(
        after.lp_capital + after.default_fund <= 10 * E6,
        "the pool is exhausted except the close fee"
    );
    t.assert_conservation(&f.pool, &[]).await;
}
