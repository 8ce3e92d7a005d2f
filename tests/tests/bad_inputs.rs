//! Every instruction's bad inputs: each gets its specific error code and changes nothing (the
//! raw lamports and data of every account involved are compared before and after).

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use keel_tests::fixture::{E6, E9, MarketParams, PerpFixture, default_params};
use keel_tests::{TestContext, User, anchor, assert_code, ix, perp};
use perp_amm::errors::PerpError;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, pause};
use solana_signer::Signer;

struct World {
    t: TestContext,
    f: PerpFixture,
    lp: User,
    lp_acct: Pubkey,
    trader: User,
    other: User,
    keeper: User,
}

impl World {
    /// A pool with two markets (100 and 2,000), 100k of LP capital and one open long.
    async fn new() -> Self {
        let mut t = TestContext::new().await;
        let f = PerpFixture::new(&mut t, &[100.0, 2_000.0]).await;
        let lp = t.user(200_000 * E6).await;
        let lp_acct = f.lp_account(&mut t, &lp).await;
        f.deposit(&mut t, &lp, &lp_acct, 100_000 * E6)
            .await
            .unwrap();
        let trader = t.user(10_000 * E6).await;
        f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
            .await
            .unwrap();
        let other = t.user(10_000 * E6).await;
        let keeper = t.user(0).await;
        World {
            t,
            f,
            lp,
            lp_acct,
            trader,
            other,
            keeper,
        }
    }

    fn watched(&self) -> Vec<Pubkey> {
        let mut keys = vec![
            self.f.pool,
            self.f.vault,
            self.f.lp_mint,
            self.lp.quote,
            self.lp_acct,
            self.trader.quote,
        ];
        keys.extend([
            self.trader.key(),
            self.other.quote,
            self.other.key(),
            self.keeper.quote,
        ]);
        for m in &self.f.markets {
            keys.extend([
                m.key,
                m.oracle,
                self.f.position(m.index, &self.trader.key()),
                self.f.position(m.index, &self.other.key()),
            ]);
        }
        keys
    }
}

/// Run `$action`, assert it failed with `$code` and that no watched account changed.
macro_rules! rejects {
    ($w:expr, $code:expr, $action:expr) => {{
        let keys = $w.watched();
        let before = $w.t.snapshot(&keys).await;
        let result = $action;
        assert_code(result, $code);
        let after = $w.t.snapshot(&keys).await;
        assert!(before == after, "a rejected instruction changed state");
    }};
}

fn params_with(f: impl FnOnce(&mut MarketParams)) -> MarketParams {
    let mut p = default_params();
    f(&mut p);
    p
}

#[tokio::test]
async fn init_pool_bad_parameters() {
    let mut t = TestContext::new().await;
    let admin = t.admin.insecure_clone();
    let mint = t.quote_mint;
    let good = InitPoolArgs {
        pool_id: 7,
        lp_fee_share_bps: 8_000,
        target_default_prob_e9: E9 / 100,
        min_deposit: 10 * E6,
        oracle_authority: admin.pubkey(),
    };
    let pool = ix::pool_pda(&mint, 7);
    for bad in [
        InitPoolArgs {
            lp_fee_share_bps: 10_001,
            ..good
        },
        InitPoolArgs {
            target_default_prob_e9: 0,
            ..good
        },
        InitPoolArgs {
            target_default_prob_e9: E9 / 2,
            ..good
        },
        InitPoolArgs {
            min_deposit: 1_000,
            ..good
        },
    ] {
        let r = t
            .send(&[ix::init_pool(&admin.pubkey(), &mint, bad)], &[&admin])
            .await;
        assert_code(r, perp(PerpError::InvalidParameter));
        assert!(t.account_data(&pool).await.is_none(), "nothing created");
    }
    t.send(&[ix::init_pool(&admin.pubkey(), &mint, good)], &[&admin])
        .await
        .unwrap();
    // a second init of the same pool fails (the account exists) and leaves it as it was
    let before = t.snapshot(&[pool]).await;
    assert!(
        t.send(&[ix::init_pool(&admin.pubkey(), &mint, good)], &[&admin])
            .await
            .is_err()
    );
    assert_eq!(before, t.snapshot(&[pool]).await);
}

#[tokio::test]
async fn add_and_update_market_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let pool = w.f.pool;
    let oracle = w.f.markets[0].oracle;
    let feed_id = w.f.markets[0].feed_id;
    let add = |signer: &Pubkey, params: MarketParams, feed_id: [u8; 32], oracle: &Pubkey| {
        ix::add_market(
            signer,
            &pool,
            2,
            oracle,
            AddMarketArgs {
                symbol: [0; 16],
                base_decimals: 6,
                oracle_kind: OracleKind::Push,
                feed_id,
                params,
            },
        )
    };
    // not the authority
    let intruder = w.other.kp.insecure_clone();
    rejects!(
        w,
        perp(PerpError::Unauthorized),
        w.t.send(
            &[add(&intruder.pubkey(), default_params(), feed_id, &oracle)],
            &[&intruder]
        )
        .await
    );
    // invalid parameters, one at a time
    for bad in [
        params_with(|p| p.max_leverage = 0),
        params_with(|p| p.maintenance_margin_bps = 600), // 600 bps × 20x ≥ 100 %: no room
        params_with(|p| p.capital_share_e9 = 0),
        params_with(|p| p.sigma_e9 = 0),
        params_with(|p| p.max_default_prob_e9 = E9 / 2),
        params_with(|p| p.max_age_close_secs = 10), // below the open age
        params_with(|p| p.liquidation_fee_bps = 300), // above maintenance
        params_with(|p| p.max_long_oi = 0),
    ] {
        rejects!(
            w,
            perp(PerpError::InvalidParameter),
            w.t.send(&[add(&admin.pubkey(), bad, feed_id, &oracle)], &[&admin])
                .await
        );
    }
    // the oracle account must carry the stated feed id
    let mut other_feed = feed_id;
    other_feed[5] = 9;
    rejects!(
        w,
        perp(PerpError::WrongOracle),
        w.t.send(
            &[add(&admin.pubkey(), default_params(), other_feed, &oracle)],
            &[&admin]
        )
        .await
    );
    // an account that is not a price account at all
    let lp_mint = w.f.lp_mint;
    rejects!(
        w,
        perp(PerpError::WrongOracle),
        w.t.send(
            &[add(&admin.pubkey(), default_params(), feed_id, &lp_mint)],
            &[&admin]
        )
        .await
    );

    // update_market: intruder, bad parameters
    let market = w.f.markets[0].key;
    rejects!(
        w,
        perp(PerpError::Unauthorized),
        w.t.send(
            &[ix::update_market(
                &intruder.pubkey(),
                &pool,
                &market,
                default_params()
            )],
            &[&intruder]
        )
        .await
    );
    rejects!(
        w,
        perp(PerpError::InvalidParameter),
        w.t.send(
            &[ix::update_market(
                &admin.pubkey(),
                &pool,
                &market,
                params_with(|p| p.max_leverage = 5_000)
            )],
            &[&admin]
        )
        .await
    );
}

#[tokio::test]
async fn pool_holds_at_most_32_markets() {
    let mut t = TestContext::new().await;
    let prices = vec![10.0; 32];
    let mut f = PerpFixture::new(&mut t, &prices).await;
    assert_eq!(t.pool(&f.pool).await.market_count, 32);
    // the 33rd: its PDA seed index 32 exists, but the pool refuses it
    let admin = t.admin.insecure_clone();
    let oracle_auth = t.oracle_authority.insecure_clone();
    let feed_id = [33u8; 32];
    t.send(
        &[ix::init_push_oracle(
            &oracle_auth.pubkey(),
            &f.pool,
            feed_id,
            -6,
        )],
        &[&oracle_auth],
    )
    .await
    .unwrap();
    let oracle = ix::push_oracle_pda(&f.pool, &feed_id);
    let args = AddMarketArgs {
        symbol: [0; 16],
        base_decimals: 6,
        oracle_kind: OracleKind::Push,
        feed_id,
        params: default_params(),
    };
    let before = t.snapshot(&[f.pool]).await;
    let r = t
        .send(
            &[ix::add_market(&admin.pubkey(), &f.pool, 32, &oracle, args)],
            &[&admin],
        )
        .await;
    assert_code(r, perp(PerpError::TooManyMarkets));
    assert_eq!(before, t.snapshot(&[f.pool]).await);
    f.markets.truncate(32);
}

#[tokio::test]
async fn admin_switches_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let intruder = w.other.kp.insecure_clone();
    let pool = w.f.pool;
    rejects!(
        w,
        perp(PerpError::Unauthorized),
        w.t.send(
            &[ix::set_pause(&intruder.pubkey(), &pool, pause::ALL)],
            &[&intruder]
        )
        .await
    );
    rejects!(
        w,
        perp(PerpError::InvalidParameter),
        w.t.send(&[ix::set_pause(&admin.pubkey(), &pool, 0x80)], &[&admin])
            .await
    );
    rejects!(
        w,
        perp(PerpError::Unauthorized),
        w.t.send(
            &[ix::propose_authority(
                &intruder.pubkey(),
                &pool,
                intruder.pubkey()
            )],
            &[&intruder]
        )
        .await
    );
    // accepting with nothing pending, then by someone who was not proposed
    rejects!(
        w,
        perp(PerpError::NotPendingAuthority),
        w.t.send(
            &[ix::accept_authority(&intruder.pubkey(), &pool)],
            &[&intruder]
        )
        .await
    );
    w.t.send(
        &[ix::propose_authority(
            &admin.pubkey(),
            &pool,
            w.keeper.key(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::NotPendingAuthority),
        w.t.send(
            &[ix::accept_authority(&intruder.pubkey(), &pool)],
            &[&intruder]
        )
        .await
    );
}

#[tokio::test]
async fn push_oracle_bad_inputs() {
    let mut w = World::new().await;
    let pool = w.f.pool;
    let oracle = w.f.markets[0].oracle;
    let intruder = w.other.kp.insecure_clone();
    let auth = w.t.oracle_authority.insecure_clone();
    let now = w.t.now;
    let args = PushPriceArgs {
        price: 1,
        conf: 0,
        publish_time: now,
    };
    rejects!(
        w,
        perp(PerpError::NotOracleAuthority),
        w.t.send(
            &[ix::update_push_oracle(
                &intruder.pubkey(),
                &pool,
                &oracle,
                args
            )],
            &[&intruder]
        )
        .await
    );
    let zero = PushPriceArgs { price: 0, ..args };
    rejects!(
        w,
        perp(PerpError::InvalidOraclePrice),
        w.t.send(
            &[ix::update_push_oracle(&auth.pubkey(), &pool, &oracle, zero)],
            &[&auth]
        )
        .await
    );
    let back = PushPriceArgs {
        price: 100,
        conf: 0,
        publish_time: now - 1,
    };
    rejects!(
        w,
        perp(PerpError::OracleNotMonotonic),
        w.t.send(
            &[ix::update_push_oracle(&auth.pubkey(), &pool, &oracle, back)],
            &[&auth]
        )
        .await
    );
    rejects!(
        w,
        perp(PerpError::NotOracleAuthority),
        w.t.send(
            &[ix::init_push_oracle(
                &intruder.pubkey(),
                &pool,
                [77; 32],
                -6
            )],
            &[&intruder]
        )
        .await
    );
    rejects!(
        w,
        perp(PerpError::InvalidParameter),
        w.t.send(
            &[ix::init_push_oracle(&auth.pubkey(), &pool, [78; 32], 3)],
            &[&auth]
        )
        .await
    );
}

#[tokio::test]
async fn deposit_bad_inputs() {
    let mut w = World::new().await;
    let (pool, oracles) = (w.f.pool, w.f.oracles());
    let lp = w.lp.kp.insecure_clone();
    let (quote, lp_acct) = (w.lp.quote, w.lp_acct);
    let dep = |amount: u64, min_shares: u64, oracles: &[Pubkey]| {
        ix::deposit(
            &lp.pubkey(),
            &pool,
            &quote,
            &lp_acct,
            oracles,
            DepositArgs { amount, min_shares },
        )
    };
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[dep(0, 0, &oracles)], &[&lp]).await
    );
    rejects!(
        w,
        perp(PerpError::DepositTooSmall),
        w.t.send(&[dep(E6, 0, &oracles)], &[&lp]).await
    );
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[dep(100 * E6, 101 * E6, &oracles)], &[&lp]).await
    );
    // every active market's oracle, in order, and nothing else
    rejects!(
        w,
        perp(PerpError::MarketAccountsMismatch),
        w.t.send(&[dep(100 * E6, 0, &oracles[..1])], &[&lp]).await
    );
    rejects!(
        w,
        perp(PerpError::MarketAccountsMismatch),
        w.t.send(&[dep(100 * E6, 0, &[oracles[1], oracles[0]])], &[&lp])
            .await
    );
    rejects!(
        w,
        perp(PerpError::MarketAccountsMismatch),
        w.t.send(
            &[dep(100 * E6, 0, &[oracles[0], oracles[1], oracles[0]])],
            &[&lp]
        )
        .await
    );
    // a stale price cannot value the pool
    w.t.advance(61);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[dep(100 * E6, 0, &oracles)], &[&lp]).await
    );
    w.f.refresh_prices(&mut w.t).await;
    // the LP token account must be of the LP mint, the quote account of the quote mint
    let lp_mint = w.f.lp_mint;
    let quote_mint = w.t.quote_mint;
    let second_lp = w.t.create_token_account(&lp_mint, &lp.pubkey()).await;
    let second_quote = w.t.create_token_account(&quote_mint, &lp.pubkey()).await;
    let wrong = ix::deposit(
        &lp.pubkey(),
        &pool,
        &second_lp,
        &lp_acct,
        &oracles,
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    rejects!(
        w,
        perp(PerpError::WrongMint),
        w.t.send(&[wrong], &[&lp]).await
    );
    let wrong = ix::deposit(
        &lp.pubkey(),
        &pool,
        &quote,
        &second_quote,
        &oracles,
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    rejects!(
        w,
        perp(PerpError::WrongMint),
        w.t.send(&[wrong], &[&lp]).await
    );
    // someone else's token account
    let other_quote = w.other.quote;
    let wrong = ix::deposit(
        &lp.pubkey(),
        &pool,
        &other_quote,
        &lp_acct,
        &oracles,
        DepositArgs {
            amount: 100 * E6,
            min_shares: 0,
        },
    );
    rejects!(
        w,
        anchor(AnchorError::ConstraintTokenOwner),
        w.t.send(&[wrong], &[&lp]).await
    );
    // a vault that is not the pool's
    let mut wrong = dep(100 * E6, 0, &oracles);
    wrong.accounts[2].pubkey = second_quote;
    rejects!(
        w,
        perp(PerpError::WrongVault),
        w.t.send(&[wrong], &[&lp]).await
    );
    // more than the LP holds: the SPL Token program refuses the transfer (InsufficientFunds)
    rejects!(w, 1, w.t.send(&[dep(u64::MAX, 0, &oracles)], &[&lp]).await);
    // paused
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::LP)],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[dep(100 * E6, 0, &oracles)], &[&lp]).await
    );
    let lp_quote = w.lp.quote;
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(
            &[ix::fund_default_fund(&lp.pubkey(), &pool, &lp_quote, E6)],
            &[&lp]
        )
        .await
    );
}

#[tokio::test]
async fn withdraw_bad_inputs() {
    let mut w = World::new().await;
    let (pool, oracles) = (w.f.pool, w.f.oracles());
    let lp = w.lp.kp.insecure_clone();
    let (quote, lp_acct) = (w.lp.quote, w.lp_acct);
    let shares = w.t.balance(&lp_acct).await;
    let wd = |shares: u64, min_amount: u64| {
        ix::withdraw(
            &lp.pubkey(),
            &pool,
            &quote,
            &lp_acct,
            &oracles,
            WithdrawArgs { shares, min_amount },
        )
    };
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[wd(0, 0)], &[&lp]).await
    );
    rejects!(
        w,
        perp(PerpError::InsufficientShares),
        w.t.send(&[wd(shares + 1, 0)], &[&lp]).await
    );
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[wd(E6, 2 * E6)], &[&lp]).await
    );
    w.t.advance(61);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[wd(E6, 0)], &[&lp]).await
    );
    w.f.refresh_prices(&mut w.t).await;
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::LP)],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[wd(E6, 0)], &[&lp]).await
    );
}

#[tokio::test]
async fn withdrawal_cannot_take_reserved_capital() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(2_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 1_000 * E6).await.unwrap();
    let trader = t.user(1_000 * E6).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 200 * E6)
        .await
        .unwrap();
    // M* for q* = 1 % with K = 10 at 100: 1,000·e^(0.05·2.326 − 0.00125) − 1,000 ≈ 122;
    // at a capital share of 1/2 the pool must keep ≈ 244 of LP capital
    let shares = t.balance(&lp_acct).await;
    let before = t.snapshot(&[f.pool, f.vault, lp_acct, lp.quote]).await;
    let r = f.withdraw(&mut t, &lp, &lp_acct, shares).await;
    assert_code(r, perp(PerpError::CapitalReserved));
    assert_eq!(
        before,
        t.snapshot(&[f.pool, f.vault, lp_acct, lp.quote]).await
    );
    // 70 % of the shares is fine, 80 % is not
    f.withdraw(&mut t, &lp, &lp_acct, shares / 10 * 7)
        .await
        .unwrap();
    let r = f.withdraw(&mut t, &lp, &lp_acct, shares / 10).await;
    assert_code(r, perp(PerpError::CapitalReserved));
    // the reserve follows σ: at 1 % it is ≈ 2·23 and the same withdrawal goes through
    let admin = t.admin.insecure_clone();
    t.send(
        &[ix::update_market(
            &admin.pubkey(),
            &f.pool,
            &f.markets[0].key,
            params_with(|p| p.sigma_e9 = E9 / 100),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    f.withdraw(&mut t, &lp, &lp_acct, shares / 10)
        .await
        .unwrap();
    t.assert_vault_balanced(&f.pool).await;
}

#[tokio::test]
async fn open_position_bad_inputs() {
    let mut w = World::new().await;
    let other = w.other.kp.insecure_clone();
    let f = &w.f;
    let (pool, market, oracle, quote) =
        (f.pool, f.markets[0].key, f.markets[0].oracle, w.other.quote);
    let open = |size: i64, collateral: u64, limit: u64| {
        ix::open_position(
            &other.pubkey(),
            &pool,
            &market,
            &oracle,
            &quote,
            OpenPositionArgs {
                size,
                collateral,
                price_limit_e9: limit,
            },
            None,
        )
    };
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[open(0, 100 * E6, u64::MAX)], &[&other]).await
    );
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[open(E6 as i64, 0, u64::MAX)], &[&other]).await
    );
    // 21x leverage: 2,100 notional on 100 of margin
    rejects!(
        w,
        perp(PerpError::MaxLeverage),
        w.t.send(&[open(21 * E6 as i64, 100 * E6, u64::MAX)], &[&other])
            .await
    );
    // dust
    rejects!(
        w,
        perp(PerpError::DustPosition),
        w.t.send(&[open(999, 100 * E6, u64::MAX)], &[&other]).await
    );
    // a buy limit below the price, a sell limit above it
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[open(E6 as i64, 100 * E6, 99 * E9)], &[&other])
            .await
    );
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[open(-(E6 as i64), 100 * E6, 101 * E9)], &[&other])
            .await
    );
    // overflowing size
    rejects!(
        w,
        perp(PerpError::MathOverflow),
        w.t.send(&[open(i64::MAX, 100 * E6, u64::MAX)], &[&other])
            .await
    );
    // wrong oracle: the other market's
    let wrong_oracle = w.f.markets[1].oracle;
    let bad = ix::open_position(
        &other.pubkey(),
        &pool,
        &market,
        &wrong_oracle,
        &quote,
        OpenPositionArgs {
            size: E6 as i64,
            collateral: 100 * E6,
            price_limit_e9: u64::MAX,
        },
        None,
    );
    rejects!(
        w,
        perp(PerpError::WrongOracle),
        w.t.send(&[bad], &[&other]).await
    );
    // stale and uncertain prices
    w.t.advance(61);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[open(E6 as i64, 100 * E6, u64::MAX)], &[&other])
            .await
    );
    w.f.set_price(&mut w.t, 0, 100.0, 1.5).await; // 1.5 % confidence > 1 %
    rejects!(
        w,
        perp(PerpError::OracleConfidence),
        w.t.send(&[open(E6 as i64, 100 * E6, u64::MAX)], &[&other])
            .await
    );
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // paused
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::OPEN)],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[open(E6 as i64, 100 * E6, u64::MAX)], &[&other])
            .await
    );
    w.t.send(&[ix::set_pause(&admin.pubkey(), &pool, 0)], &[&admin])
        .await
        .unwrap();
    // open-interest cap
    w.t.send(
        &[ix::update_market(
            &admin.pubkey(),
            &pool,
            &market,
            params_with(|p| p.max_long_oi = 15 * E6),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::OpenInterestCap),
        w.t.send(&[open(6 * E6 as i64, 100 * E6, u64::MAX)], &[&other])
            .await
    );
}

#[tokio::test]
async fn default_probability_cap_rejects_risky_trades() {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let lp = t.user(1_000 * E6).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, 200 * E6).await.unwrap();
    let trader = t.user(10_000 * E6).await;
    // M = 100 behind a 5,000 notional long: q ≈ 1 > the 20 % cap
    let before = t.snapshot(&[f.pool, f.vault, trader.quote]).await;
    let r = f.open(&mut t, &trader, 0, 50 * E6 as i64, 1_000 * E6).await;
    assert_code(r, perp(PerpError::DefaultProbabilityCap));
    assert_eq!(before, t.snapshot(&[f.pool, f.vault, trader.quote]).await);
    // a small trade is fine
    f.open(&mut t, &trader, 0, E6 as i64, 100 * E6)
        .await
        .unwrap();
}

#[tokio::test]
async fn position_changes_bad_inputs() {
    let mut w = World::new().await;
    let trader = w.trader.kp.insecure_clone();
    let (pool, market, oracle, quote) = (
        w.f.pool,
        w.f.markets[0].key,
        w.f.markets[0].oracle,
        w.trader.quote,
    );
    let inc = |size: i64, collateral: u64| {
        ix::increase_position(
            &trader.pubkey(),
            &pool,
            &market,
            &oracle,
            &quote,
            IncreasePositionArgs {
                size,
                collateral,
                price_limit_e9: if size > 0 { u64::MAX } else { 0 },
            },
            None,
        )
    };
    let dec = |size: u64, limit: u64| {
        ix::decrease_position(
            &trader.pubkey(),
            &pool,
            &market,
            &oracle,
            &quote,
            DecreasePositionArgs {
                size,
                price_limit_e9: limit,
            },
            None,
        )
    };
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[inc(0, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::InvalidSize),
        w.t.send(&[inc(-(E6 as i64), 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::MaxLeverage),
        w.t.send(&[inc(20 * E6 as i64, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[dec(0, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::InvalidSize),
        w.t.send(&[dec(10 * E6, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::DustPosition),
        w.t.send(&[dec(10 * E6 - 1, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[dec(E6, 101 * E9)], &[&trader]).await
    );
    // collateral
    let add =
        |amount: u64| ix::add_collateral(&trader.pubkey(), &pool, &market, &oracle, &quote, amount);
    let remove = |amount: u64| {
        ix::remove_collateral(&trader.pubkey(), &pool, &market, &oracle, &quote, amount)
    };
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[add(0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(&[remove(0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::InsufficientCollateral),
        w.t.send(&[remove(1_000 * E6)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::MaxLeverage),
        w.t.send(&[remove(60 * E6)], &[&trader]).await
    );
    // a decrease that would leave the position below maintenance: after a fall to 92, taking
    // profit is impossible and cutting 1 leaves equity ≈ 19 < 2.5 % of 828
    w.f.set_price(&mut w.t, 0, 91.8, 0.0).await;
    rejects!(
        w,
        perp(PerpError::BelowMaintenanceMargin),
        w.t.send(&[dec(E6, 0)], &[&trader]).await
    );
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // risk-reducing actions accept a price up to max_age_close (600 s), risk-increasing ones not
    w.t.advance(120);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[inc(E6 as i64, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[remove(E6)], &[&trader]).await
    );
    w.t.send(&[dec(E6, 0)], &[&trader]).await.unwrap();
    w.t.advance(600);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[dec(E6, 0)], &[&trader]).await
    );
    w.f.refresh_prices(&mut w.t).await;
    // pause groups: OPEN stops increases and margin withdrawals, CLOSE stops the rest
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::OPEN)],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[inc(E6 as i64, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[remove(E6)], &[&trader]).await
    );
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::CLOSE)],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[dec(E6, 0)], &[&trader]).await
    );
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[add(E6)], &[&trader]).await
    );
    let close = ix::close_position(&trader.pubkey(), &pool, &market, &oracle, &quote, 0, None);
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[close], &[&trader]).await
    );
}

#[tokio::test]
async fn close_position_bad_inputs() {
    let mut w = World::new().await;
    let trader = w.trader.kp.insecure_clone();
    let (pool, market, oracle, quote) = (
        w.f.pool,
        w.f.markets[0].key,
        w.f.markets[0].oracle,
        w.trader.quote,
    );
    // selling out of a long: a floor above the price
    let close = ix::close_position(
        &trader.pubkey(),
        &pool,
        &market,
        &oracle,
        &quote,
        101 * E9,
        None,
    );
    rejects!(
        w,
        perp(PerpError::SlippageExceeded),
        w.t.send(&[close], &[&trader]).await
    );
    w.t.advance(601);
    let close = ix::close_position(&trader.pubkey(), &pool, &market, &oracle, &quote, 0, None);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[close], &[&trader]).await
    );
}

#[tokio::test]
async fn liquidate_and_funding_bad_inputs() {
    let mut w = World::new().await;
    let keeper = w.keeper.kp.insecure_clone();
    let (pool, market, oracle) = (w.f.pool, w.f.markets[0].key, w.f.markets[0].oracle);
    let (trader_key, trader_quote, keeper_quote) = (w.trader.key(), w.trader.quote, w.keeper.quote);
    let liq = |owner_quote: &Pubkey| {
        ix::liquidate(
            &keeper.pubkey(),
            &pool,
            &market,
            &trader_key,
            &oracle,
            &keeper_quote,
            owner_quote,
            None,
        )
    };
    rejects!(
        w,
        perp(PerpError::NotLiquidatable),
        w.t.send(&[liq(&trader_quote)], &[&keeper]).await
    );
    // the remainder must go to the owner's own token account
    w.f.set_price(&mut w.t, 0, 91.0, 0.0).await;
    let not_owners = w.other.quote;
    rejects!(
        w,
        anchor(AnchorError::ConstraintTokenOwner),
        w.t.send(&[liq(&not_owners)], &[&keeper]).await
    );
    w.t.advance(61);
    rejects!(
        w,
        perp(PerpError::StaleOracle),
        w.t.send(&[liq(&trader_quote)], &[&keeper]).await
    );
    w.f.refresh_prices(&mut w.t).await;
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(
            &admin.pubkey(),
            &pool,
            pause::LIQUIDATE | pause::FUNDING,
        )],
        &[&admin],
    )
    .await
    .unwrap();
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[liq(&trader_quote)], &[&keeper]).await
    );
    rejects!(
        w,
        perp(PerpError::Paused),
        w.t.send(&[ix::update_funding(&pool, &market, &oracle)], &[])
            .await
    );
    w.t.send(&[ix::set_pause(&admin.pubkey(), &pool, 0)], &[&admin])
        .await
        .unwrap();
    let wrong_oracle = w.f.markets[1].oracle;
    rejects!(
        w,
        perp(PerpError::WrongOracle),
        w.t.send(&[ix::update_funding(&pool, &market, &wrong_oracle)], &[])
            .await
    );
    // default fund donations: zero, paused
    let other = w.other.kp.insecure_clone();
    let other_quote = w.other.quote;
    rejects!(
        w,
        perp(PerpError::ZeroAmount),
        w.t.send(
            &[ix::fund_default_fund(
                &other.pubkey(),
                &pool,
                &other_quote,
                0
            )],
            &[&other]
        )
        .await
    );
}
