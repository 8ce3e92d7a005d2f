//! Every instruction's bad inputs: each gets its specific error code and changes nothing (the
//! raw lamports and data of every account involved are compared before and after).
//!
//! Where several bad inputs are tried against the same state they stand as a table of cases,
//! `(what, instruction, signers, code)`, sent in order by [`refused_all`]; the state-changing
//! steps between tables stay where they were.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use keel::transport::TxError;
use keel_tests::fixture::{E6, E9, MarketParams, PerpFixture, default_params};
use keel_tests::{TestContext, User, anchor, assert_code, ix, perp};
use perp_amm::errors::PerpError::*;
use perp_amm::instructions::*;
use perp_amm::state::{OracleKind, pause};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
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

/// One bad input: what it is, the instruction, who signs it, and the error code it must fail with.
type Case<'a> = (&'a str, Instruction, &'a [&'a Keypair], u32);

/// Send `ix` signed by `signers`; it must fail with `code` and no watched account may change.
/// `what` names the case in a failure.
async fn refused(w: &mut World, what: &str, ix: Instruction, signers: &[&Keypair], code: u32) {
    let keys = w.watched();
    let before = w.t.snapshot(&keys).await;
    let result = w.t.send(&[ix], signers).await;
    assert_eq!(
        result,
        Err(TxError::Custom(code)),
        "{what}: expected error {code}"
    );
    let after = w.t.snapshot(&keys).await;
    assert!(
        before == after,
        "{what}: a rejected instruction changed state"
    );
}

/// Each case in turn, in the order given, through [`refused`].
async fn refused_all<const N: usize>(w: &mut World, cases: [Case<'_>; N]) {
    for (what, ix, signers, code) in cases {
        refused(w, what, ix, signers, code).await;
    }
}

/// `ix` with the account at `index` replaced by `key`.
fn with_account(mut ix: Instruction, index: usize, key: Pubkey) -> Instruction {
    ix.accounts[index].pubkey = key;
    ix
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
        requests: keel::client::presets::request_params(),
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
        assert_code(r, perp(InvalidParameter));
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
    let by_admin: &[&Keypair] = &[&admin];
    // not the authority
    let intruder = w.other.kp.insecure_clone();
    let by_intruder: &[&Keypair] = &[&intruder];
    let ix = add(&intruder.pubkey(), default_params(), feed_id, &oracle);
    refused(&mut w, "intruder adds", ix, by_intruder, perp(Unauthorized)).await;
    // invalid parameters, one at a time, each named by its assignment
    macro_rules! bad {
        ($field:ident = $value:expr) => {
            (
                stringify!($field = $value),
                params_with(|p| p.$field = $value),
            )
        };
    }
    let bad = [
        bad!(max_leverage = 0),
        bad!(maintenance_margin_bps = 600), // 600 bps × 20x ≥ 100 %: no room
        bad!(capital_share_e9 = 0),
        bad!(sigma_e9 = 0),
        bad!(max_default_prob_e9 = E9 / 2),
        bad!(max_age_close_secs = 10),   // below the open age
        bad!(liquidation_fee_bps = 300), // above maintenance
        bad!(max_long_oi = 0),
    ];
    for (what, params) in bad {
        let ix = add(&admin.pubkey(), params, feed_id, &oracle);
        refused(&mut w, what, ix, by_admin, perp(InvalidParameter)).await;
    }
    let add_default =
        |feed_id, oracle: &Pubkey| add(&admin.pubkey(), default_params(), feed_id, oracle);
    let mut other_feed = feed_id;
    other_feed[5] = 9;
    let lp_mint = w.f.lp_mint;
    let market = w.f.markets[0].key;
    let update = |signer: &Pubkey, params| ix::update_market(signer, &pool, &market, params);
    let (a, i) = (admin.pubkey(), intruder.pubkey());
    let leverage_5000 = params_with(|p| p.max_leverage = 5_000);
    #[rustfmt::skip]
    refused_all(&mut w, [
        // the oracle account must carry the stated feed id
        ("another feed id", add_default(other_feed, &oracle), by_admin, perp(WrongOracle)),
        // an account that is not a price account at all
        ("the LP mint as the oracle", add_default(feed_id, &lp_mint), by_admin, perp(WrongOracle)),
        // update_market: intruder, bad parameters
        ("intruder updates", update(&i, default_params()), by_intruder, perp(Unauthorized)),
        ("max_leverage = 5_000", update(&a, leverage_5000), by_admin, perp(InvalidParameter)),
    ]).await;
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
    assert_code(r, perp(TooManyMarkets));
    assert_eq!(before, t.snapshot(&[f.pool]).await);
    f.markets.truncate(32);
}

#[tokio::test]
async fn admin_switches_bad_inputs() {
    let mut w = World::new().await;
    let admin = w.t.admin.insecure_clone();
    let intruder = w.other.kp.insecure_clone();
    let pool = w.f.pool;
    let (a, i) = (admin.pubkey(), intruder.pubkey());
    let (by_admin, by_intruder): (&[&Keypair], &[&Keypair]) = (&[&admin], &[&intruder]);
    let accept = || ix::accept_authority(&i, &pool);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("intruder pauses", ix::set_pause(&i, &pool, pause::ALL), by_intruder, perp(Unauthorized)),
        ("an unknown pause flag", ix::set_pause(&a, &pool, 0x80), by_admin, perp(InvalidParameter)),
        ("intruder proposes", ix::propose_authority(&i, &pool, i), by_intruder, perp(Unauthorized)),
        // accepting with nothing pending, then by someone who was not proposed
        ("accepted with nothing pending", accept(), by_intruder, perp(NotPendingAuthority)),
    ]).await;
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
    let (what, ix) = ("accepted by someone not proposed", accept());
    refused(&mut w, what, ix, by_intruder, perp(NotPendingAuthority)).await;
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
    let zero = PushPriceArgs { price: 0, ..args };
    let back = PushPriceArgs {
        price: 100,
        conf: 0,
        publish_time: now - 1,
    };
    // stamped after the cluster's clock, it would never go stale and no later price could follow
    let ahead = PushPriceArgs {
        price: 100,
        conf: 0,
        publish_time: now + 1,
    };
    let (a, i) = (auth.pubkey(), intruder.pubkey());
    let (by_auth, by_intruder): (&[&Keypair], &[&Keypair]) = (&[&auth], &[&intruder]);
    let push = |signer: &Pubkey, args| ix::update_push_oracle(signer, &pool, &oracle, args);
    let init = |signer: &Pubkey, feed_id, expo| ix::init_push_oracle(signer, &pool, feed_id, expo);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an intruder's price", push(&i, args), by_intruder, perp(NotOracleAuthority)),
        ("a zero price", push(&a, zero), by_auth, perp(InvalidOraclePrice)),
        ("an older publish time", push(&a, back), by_auth, perp(OracleNotMonotonic)),
        ("a future publish time", push(&a, ahead), by_auth, perp(OracleInFuture)),
        ("an intruder's oracle", init(&i, [77; 32], -6), by_intruder, perp(NotOracleAuthority)),
        ("an exponent of 3", init(&a, [78; 32], 3), by_auth, perp(InvalidParameter)),
    ]).await;
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
    let dep_100 = || dep(100 * E6, 0, &oracles);
    let by_lp: &[&Keypair] = &[&lp];
    let (o0, o1) = (oracles[0], oracles[1]);
    let mismatch = perp(MarketAccountsMismatch);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("nothing", dep(0, 0, &oracles), by_lp, perp(ZeroAmount)),
        ("1 quote", dep(E6, 0, &oracles), by_lp, perp(DepositTooSmall)),
        ("101 shares for 100", dep(100 * E6, 101 * E6, &oracles), by_lp, perp(SlippageExceeded)),
        // every active market's oracle, in order, and nothing else
        ("one oracle of two", dep(100 * E6, 0, &oracles[..1]), by_lp, mismatch),
        ("the oracles swapped", dep(100 * E6, 0, &[o1, o0]), by_lp, mismatch),
        ("an oracle too many", dep(100 * E6, 0, &[o0, o1, o0]), by_lp, mismatch),
    ]).await;
    // a stale price cannot value the pool
    w.t.advance(61);
    refused(&mut w, "a stale price", dep_100(), by_lp, perp(StaleOracle)).await;
    w.f.refresh_prices(&mut w.t).await;
    // the LP token account must be of the LP mint, the quote account of the quote mint
    let lp_mint = w.f.lp_mint;
    let quote_mint = w.t.quote_mint;
    let second_lp = w.t.create_token_account(&lp_mint, &lp.pubkey()).await;
    let second_quote = w.t.create_token_account(&quote_mint, &lp.pubkey()).await;
    let dep_from = |quote: &Pubkey, lp_acct: &Pubkey| {
        ix::deposit(
            &lp.pubkey(),
            &pool,
            quote,
            lp_acct,
            &oracles,
            DepositArgs {
                amount: 100 * E6,
                min_shares: 0,
            },
        )
    };
    let other_quote = w.other.quote;
    let not_owner = anchor(AnchorError::ConstraintTokenOwner);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("an LP account as the quote one", dep_from(&second_lp, &lp_acct), by_lp, perp(WrongMint)),
        ("a quote account as the LP one", dep_from(&quote, &second_quote), by_lp, perp(WrongMint)),
        // someone else's token account
        ("another's quote account", dep_from(&other_quote, &lp_acct), by_lp, not_owner),
        // a vault that is not the pool's
        ("not the pool's vault", with_account(dep_100(), 2, second_quote), by_lp, perp(WrongVault)),
        // more than the LP holds: the SPL Token program refuses the transfer (InsufficientFunds)
        ("more than the LP holds", dep(u64::MAX, 0, &oracles), by_lp, 1),
    ]).await;
    // paused
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::LP)],
        &[&admin],
    )
    .await
    .unwrap();
    let lp_quote = w.lp.quote;
    let donate = ix::fund_default_fund(&lp.pubkey(), &pool, &lp_quote, E6);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a deposit", dep_100(), by_lp, perp(Paused)),
        ("a default fund donation", donate, by_lp, perp(Paused)),
    ]).await;
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
    let by_lp: &[&Keypair] = &[&lp];
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("nothing", wd(0, 0), by_lp, perp(ZeroAmount)),
        ("a share more than held", wd(shares + 1, 0), by_lp, perp(InsufficientShares)),
        ("2 quote for 1 share", wd(E6, 2 * E6), by_lp, perp(SlippageExceeded)),
    ]).await;
    w.t.advance(61);
    refused(&mut w, "a stale price", wd(E6, 0), by_lp, perp(StaleOracle)).await;
    w.f.refresh_prices(&mut w.t).await;
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::LP)],
        &[&admin],
    )
    .await
    .unwrap();
    refused(&mut w, "paused", wd(E6, 0), by_lp, perp(Paused)).await;
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
    assert_code(r, perp(CapitalReserved));
    assert_eq!(
        before,
        t.snapshot(&[f.pool, f.vault, lp_acct, lp.quote]).await
    );
    // 70 % of the shares is fine, 80 % is not
    f.withdraw(&mut t, &lp, &lp_acct, shares / 10 * 7)
        .await
        .unwrap();
    let r = f.withdraw(&mut t, &lp, &lp_acct, shares / 10).await;
    assert_code(r, perp(CapitalReserved));
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
    let by_other: &[&Keypair] = &[&other];
    let slippage = perp(SlippageExceeded);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("no size", open(0, 100 * E6, u64::MAX), by_other, perp(ZeroAmount)),
        ("no collateral", open(E6 as i64, 0, u64::MAX), by_other, perp(ZeroAmount)),
        // 21x leverage: 2,100 notional on 100 of margin
        ("21x", open(21 * E6 as i64, 100 * E6, u64::MAX), by_other, perp(MaxLeverage)),
        ("dust", open(999, 100 * E6, u64::MAX), by_other, perp(DustPosition)),
        // a buy limit below the price, a sell limit above it
        ("a buy limit of 99", open(E6 as i64, 100 * E6, 99 * E9), by_other, slippage),
        ("a sell limit of 101", open(-(E6 as i64), 100 * E6, 101 * E9), by_other, slippage),
        ("an overflowing size", open(i64::MAX, 100 * E6, u64::MAX), by_other, perp(MathOverflow)),
        ("the other market's oracle", bad, by_other, perp(WrongOracle)),
    ]).await;
    // stale and uncertain prices
    w.t.advance(61);
    let one = || open(E6 as i64, 100 * E6, u64::MAX);
    refused(&mut w, "a stale price", one(), by_other, perp(StaleOracle)).await;
    w.f.set_price(&mut w.t, 0, 100.0, 1.5).await; // 1.5 % confidence > 1 %
    let what = "a 1.5 % confidence interval";
    refused(&mut w, what, one(), by_other, perp(OracleConfidence)).await;
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // paused
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::OPEN)],
        &[&admin],
    )
    .await
    .unwrap();
    refused(&mut w, "paused", one(), by_other, perp(Paused)).await;
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
    let ix = open(6 * E6 as i64, 100 * E6, u64::MAX);
    let what = "past a cap of 15 long";
    refused(&mut w, what, ix, by_other, perp(OpenInterestCap)).await;
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
    assert_code(r, perp(DefaultProbabilityCap));
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
    let add =
        |amount: u64| ix::add_collateral(&trader.pubkey(), &pool, &market, &oracle, &quote, amount);
    let remove = |amount: u64| {
        ix::remove_collateral(&trader.pubkey(), &pool, &market, &oracle, &quote, amount)
    };
    let by_trader: &[&Keypair] = &[&trader];
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("increase by nothing", inc(0, 0), by_trader, perp(ZeroAmount)),
        ("increase a long by a short", inc(-(E6 as i64), 0), by_trader, perp(InvalidSize)),
        ("increase by 20 on no collateral", inc(20 * E6 as i64, 0), by_trader, perp(MaxLeverage)),
        ("decrease by nothing", dec(0, 0), by_trader, perp(ZeroAmount)),
        ("decrease by the whole size", dec(10 * E6, 0), by_trader, perp(InvalidSize)),
        ("decrease to dust", dec(10 * E6 - 1, 0), by_trader, perp(DustPosition)),
        ("decrease with a floor of 101", dec(E6, 101 * E9), by_trader, perp(SlippageExceeded)),
        // collateral
        ("add nothing", add(0), by_trader, perp(ZeroAmount)),
        ("remove nothing", remove(0), by_trader, perp(ZeroAmount)),
        ("remove 1,000", remove(1_000 * E6), by_trader, perp(InsufficientCollateral)),
        ("remove 60", remove(60 * E6), by_trader, perp(MaxLeverage)),
    ]).await;
    // a decrease that would leave the position below maintenance: after a fall to 92, taking
    // profit is impossible and cutting 1 leaves equity ≈ 19 < 2.5 % of 828
    w.f.set_price(&mut w.t, 0, 91.8, 0.0).await;
    let (what, ix) = ("decrease by 1 at 91.8", dec(E6, 0));
    refused(&mut w, what, ix, by_trader, perp(BelowMaintenanceMargin)).await;
    w.f.set_price(&mut w.t, 0, 100.0, 0.0).await;
    // risk-reducing actions accept a price up to max_age_close (600 s), risk-increasing ones not
    w.t.advance(120);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("increase at 120 s", inc(E6 as i64, 0), by_trader, perp(StaleOracle)),
        ("remove at 120 s", remove(E6), by_trader, perp(StaleOracle)),
    ]).await;
    w.t.send(&[dec(E6, 0)], &[&trader]).await.unwrap();
    w.t.advance(600);
    let what = "decrease at 720 s";
    refused(&mut w, what, dec(E6, 0), by_trader, perp(StaleOracle)).await;
    w.f.refresh_prices(&mut w.t).await;
    // pause groups: OPEN stops increases and margin withdrawals, CLOSE stops the rest
    let admin = w.t.admin.insecure_clone();
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::OPEN)],
        &[&admin],
    )
    .await
    .unwrap();
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("increase", inc(E6 as i64, 0), by_trader, perp(Paused)),
        ("remove", remove(E6), by_trader, perp(Paused)),
    ]).await;
    w.t.send(
        &[ix::set_pause(&admin.pubkey(), &pool, pause::CLOSE)],
        &[&admin],
    )
    .await
    .unwrap();
    let close = ix::close_position(&trader.pubkey(), &pool, &market, &oracle, &quote, 0, None);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("decrease", dec(E6, 0), by_trader, perp(Paused)),
        ("add", add(E6), by_trader, perp(Paused)),
        ("close", close, by_trader, perp(Paused)),
    ]).await;
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
    let what = "a floor of 101";
    refused(&mut w, what, close, &[&trader], perp(SlippageExceeded)).await;
    w.t.advance(601);
    let close = ix::close_position(&trader.pubkey(), &pool, &market, &oracle, &quote, 0, None);
    refused(&mut w, "at 601 s", close, &[&trader], perp(StaleOracle)).await;
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
    let by_keeper: &[&Keypair] = &[&keeper];
    let (what, ix) = ("a healthy position", liq(&trader_quote));
    refused(&mut w, what, ix, by_keeper, perp(NotLiquidatable)).await;
    // the remainder must go to the owner's own token account
    w.f.set_price(&mut w.t, 0, 91.0, 0.0).await;
    let not_owners = w.other.quote;
    refused(
        &mut w,
        "the remainder to another's account",
        liq(&not_owners),
        by_keeper,
        anchor(AnchorError::ConstraintTokenOwner),
    )
    .await;
    w.t.advance(61);
    let ix = liq(&trader_quote);
    refused(&mut w, "a stale price", ix, by_keeper, perp(StaleOracle)).await;
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
    let funding = ix::update_funding(&pool, &market, &oracle);
    #[rustfmt::skip]
    refused_all(&mut w, [
        ("a liquidation", liq(&trader_quote), by_keeper, perp(Paused)),
        ("a funding update", funding, &[], perp(Paused)),
    ]).await;
    w.t.send(&[ix::set_pause(&admin.pubkey(), &pool, 0)], &[&admin])
        .await
        .unwrap();
    let wrong_oracle = w.f.markets[1].oracle;
    let ix = ix::update_funding(&pool, &market, &wrong_oracle);
    let what = "funding with the other market's oracle";
    refused(&mut w, what, ix, &[], perp(WrongOracle)).await;
    // default fund donations: zero, paused
    let other = w.other.kp.insecure_clone();
    let other_quote = w.other.quote;
    let ix = ix::fund_default_fund(&other.pubkey(), &pool, &other_quote, 0);
    refused(&mut w, "a zero donation", ix, &[&other], perp(ZeroAmount)).await;
}
