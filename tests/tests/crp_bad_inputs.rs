//! Every collateral-pool instruction's bad inputs: each fails with its specific error and leaves
//! the pool, its vaults, its claim mints and the caller's accounts exactly as they were.
//!
//! Where several bad inputs are tried against the same state they stand as a table of cases,
//! `(what, instruction, signer, error)`, sent in order by [`refused_all`]; the state-changing
//! steps between tables stay where they were.

use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use collateral_pool::errors::CrpError;
use collateral_pool::instructions::*;
use collateral_pool::state::{CrpParams, pause, status};
use keel::client::crp::{self as cix, PoolKeys};
use keel::transport::TxError;
use keel_tests::crp::{CrpFixture, CrpUser, DAY, ONE, default_crp_params};
use keel_tests::{TestContext, anchor, assert_code, crp};
use perp_amm::state::OracleKind;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

type Snapshot = Vec<Option<(u64, Vec<u8>)>>;

/// One bad input: what it is, the instruction, who signs it, and the error it must fail with.
type Case<'a> = (&'a str, Instruction, &'a Keypair, CrpError);

/// Send `ix` signed by `signer`; it must fail with `code` and change none of `watched`. `what`
/// names the case in a failure.
async fn refused(
    t: &mut TestContext,
    watched: &[Pubkey],
    what: &str,
    ix: Instruction,
    signer: &Keypair,
    code: CrpError,
) {
    let before: Snapshot = t.snapshot(watched).await;
    let result = t.send(&[ix], &[signer]).await;
    assert_eq!(
        result,
        Err(TxError::Custom(crp(code))),
        "{what}: expected {code:?}"
    );
    assert_eq!(
        t.snapshot(watched).await,
        before,
        "{what}: {code:?} changed state"
    );
}

/// Each case in turn, in the order given, through [`refused`].
async fn refused_all<const N: usize>(
    t: &mut TestContext,
    watched: &[Pubkey],
    cases: [Case<'_>; N],
) {
    for (what, ix, signer, code) in cases {
        refused(t, watched, what, ix, signer, code).await;
    }
}

/// `ix` with the account at `index` replaced by `key`.
fn with_account(mut ix: Instruction, index: usize, key: Pubkey) -> Instruction {
    ix.accounts[index].pubkey = key;
    ix
}

/// The default parameters with one change.
fn params_with(f: impl FnOnce(&mut CrpParams)) -> CrpParams {
    let mut p = default_crp_params();
    f(&mut p);
    p
}

/// A pool with a lender's 100,000 lent and a borrower's 1,000 risky against 60,000.
async fn funded_pool(t: &mut TestContext) -> (CrpFixture, CrpUser, CrpUser) {
    let fx = CrpFixture::new(t, 100.0, default_crp_params()).await;
    let lender = fx.user(t, 0, 200_000 * ONE).await;
    fx.lend(t, &lender, 100_000 * ONE).await.unwrap();
    let borrower = fx.user(t, 10_000 * ONE, 500_000 * ONE).await;
    fx.borrow(t, &borrower, 1_000 * ONE, 60_000 * ONE)
        .await
        .unwrap();
    (fx, lender, borrower)
}

fn lend_ix(fx: &CrpFixture, u: &CrpUser, amount: u64, min_claims: u64) -> Instruction {
    cix::lend(
        &u.key(),
        &fx.keys,
        &u.riskless,
        &u.claims,
        LendArgs { amount, min_claims },
    )
}

/// Borrow arguments with no slippage limits.
fn borrow_args(collateral: u64, loan: u64) -> BorrowArgs {
    BorrowArgs {
        collateral,
        loan,
        max_riskless_leg: u64::MAX,
        min_residual: 0,
    }
}

fn borrow_with(fx: &CrpFixture, u: &CrpUser, args: BorrowArgs) -> Instruction {
    cix::borrow(
        &u.key(),
        &fx.keys,
        (&u.risky, &u.riskless, &u.residual),
        args,
    )
}

fn borrow_ix(fx: &CrpFixture, u: &CrpUser, collateral: u64, loan: u64) -> Instruction {
    borrow_with(fx, u, borrow_args(collateral, loan))
}

fn swap_ix(
    fx: &CrpFixture,
    u: &CrpUser,
    risky_in: bool,
    exact_in: bool,
    amount: u64,
    limit: u64,
) -> Instruction {
    let args = SwapArgs {
        risky_in,
        exact_in,
        amount,
        limit,
    };
    cix::swap(&u.key(), &fx.keys, &u.risky, &u.riskless, args)
}

async fn set_pause(t: &mut TestContext, fx: &CrpFixture, flags: u8) {
    let admin = t.admin.insecure_clone();
    t.send(
        &[cix::set_pause(&admin.pubkey(), &fx.keys.pool, flags)],
        &[&admin],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn init_pool_rejects_bad_parameters_mints_and_oracles() {
    let mut t = TestContext::new().await;
    // a valid pool, then bad variants of a second one beside it
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let admin = t.admin.insecure_clone();
    // a term beside the valid pool's 90 days (the same expiry would be the same address)
    const TERM: i64 = 90 * DAY + 3_600;
    // one bad parameter at a time, each named by its assignment
    macro_rules! bad {
        ($field:ident = $value:expr) => {
            (
                stringify!($field = $value),
                params_with(|p| p.$field = $value),
                TERM,
            )
        };
    }
    let bad = [
        bad!(initial_ltv_bps = 8_000),
        bad!(conversion_ltv_bps = 10_000),
        bad!(sigma_e9 = 0),
        bad!(strike_e9 = 0),
        bad!(ema_alpha_e9 = 0),
        bad!(fee_bps = 1_000),
        bad!(reserve_share_bps = 10_001),
        bad!(max_trade_ratio_bps = 0),
        bad!(conversion_discount_bps = 0),
        bad!(conversion_discount_bps = 1_001),
        bad!(max_age_secs = 0),
        bad!(min_rebalance_interval_secs = 0),
        bad!(min_rebalance_interval_secs = 3_599),
        ("a term under a day", default_crp_params(), DAY - 1),
        ("a term of 800 days", default_crp_params(), 800 * DAY),
    ];
    for (what, params, term) in bad {
        let expiry = t.now + term;
        let keys = PoolKeys::new(
            fx.keys.risky_mint,
            t.quote_mint,
            expiry,
            &admin.pubkey(),
            fx.keys.oracle,
        );
        let args = InitCrpPoolArgs {
            expiry,
            params,
            keeper: Pubkey::default(),
            oracle_kind: OracleKind::Push,
            feed_id: fx.perp.markets[0].feed_id,
            oracle_pool: fx.perp.pool,
        };
        let ix = cix::init_pool(&admin.pubkey(), &keys, args);
        refused(
            &mut t,
            &[keys.pool, keys.risky_vault, keys.lender_mint],
            what,
            ix,
            &admin,
            CrpError::InvalidParameter,
        )
        .await;
    }
    let keeper = Pubkey::default();
    let args = |expiry: i64, feed_id: [u8; 32]| InitCrpPoolArgs {
        expiry,
        params: default_crp_params(),
        keeper,
        oracle_kind: OracleKind::Push,
        feed_id,
        oracle_pool: fx.perp.pool,
    };
    let expiry = fx.expiry + DAY;
    let feed = fx.perp.markets[0].feed_id;
    let init =
        |keys: &PoolKeys, feed_id| cix::init_pool(&admin.pubkey(), keys, args(expiry, feed_id));
    // the same mint on both sides
    let same = PoolKeys::new(
        t.quote_mint,
        t.quote_mint,
        expiry,
        &admin.pubkey(),
        fx.keys.oracle,
    );
    refused(
        &mut t,
        &[same.pool],
        "the same mint on both sides",
        init(&same, feed),
        &admin,
        CrpError::WrongMint,
    )
    .await;
    // another feed's id, and an oracle that is not an oracle
    let op = admin.pubkey();
    let keys = PoolKeys::new(
        fx.keys.risky_mint,
        t.quote_mint,
        expiry,
        &op,
        fx.keys.oracle,
    );
    let not_oracle = PoolKeys::new(
        fx.keys.risky_mint,
        t.quote_mint,
        expiry,
        &op,
        fx.keys.risky_mint,
    );
    #[rustfmt::skip]
    refused_all(&mut t, &[keys.pool], [
        ("another feed's id", init(&keys, [9u8; 32]), &admin, CrpError::WrongOracle),
        ("the risky mint as the oracle", init(&not_oracle, feed), &admin, CrpError::WrongOracle),
    ]).await;
    // a stale price
    t.advance(61);
    refused(
        &mut t,
        &[keys.pool],
        "a stale price",
        init(&keys, feed),
        &admin,
        CrpError::StaleOracle,
    )
    .await;
    // a wide one
    fx.perp.set_price(&mut t, 0, 100.0, 1.5).await;
    refused(
        &mut t,
        &[keys.pool],
        "a 1.5 % confidence interval",
        init(&keys, feed),
        &admin,
        CrpError::OracleConfidence,
    )
    .await;
    fx.set_price(&mut t, 100.0).await;
    t.send(&[init(&keys, feed)], &[&admin]).await.unwrap();
}

#[tokio::test]
async fn lend_rejects_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&lender);
    let (l, kp) = (&lender, &lender.kp);
    let lend = |amount, min_claims| lend_ix(&fx, l, amount, min_claims);
    let risky_vault = fx.keys.risky_vault;
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("nothing", lend(0, 0), kp, CrpError::ZeroAmount),
        ("claims over the amount", lend(ONE, 2 * ONE), kp, CrpError::SlippageExceeded),
        // the risky account offered as the riskless one, the residual account as the claims one
        ("risky as riskless", with_account(lend(ONE, 0), 4, l.risky), kp, CrpError::WrongMint),
        ("residual as claims", with_account(lend(ONE, 0), 5, l.residual), kp, CrpError::WrongMint),
        // the risky vault in place of the riskless one
        ("the risky vault", with_account(lend(ONE, 0), 2, risky_vault), kp, CrpError::WrongVault),
    ]).await;
    // another user's token account
    let ix = with_account(lend(ONE, 0), 4, borrower.riskless);
    let before = t.snapshot(&w).await;
    assert_code(
        t.send(&[ix], &[&lender.kp]).await,
        anchor(ErrorCode::ConstraintTokenOwner),
    );
    assert_eq!(t.snapshot(&w).await, before);
    set_pause(&mut t, &fx, pause::LEND).await;
    refused(&mut t, &w, "paused", lend(ONE, 0), kp, CrpError::Paused).await;
    set_pause(&mut t, &fx, 0).await;
    fx.lend(&mut t, &lender, ONE).await.unwrap();
    t.set_time(fx.expiry);
    refused(&mut t, &w, "at expiry", lend(ONE, 0), kp, CrpError::Expired).await;
}

#[tokio::test]
async fn borrow_rejects_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, _lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&borrower);
    let b = &borrower;
    let kp = &b.kp;
    let borrow = |collateral, loan| borrow_ix(&fx, b, collateral, loan);
    // most cases: 10 risky for 1
    let small = || borrow(10 * ONE, ONE);
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("no collateral", borrow(0, ONE), kp, CrpError::ZeroAmount),
        ("no loan", borrow(ONE, 0), kp, CrpError::ZeroAmount),
        // 100 risky (10,000) + its riskless leg (~7,279): 50 % is ~8,639
        ("8,700 on 100", borrow(100 * ONE, 8_700 * ONE), kp, CrpError::LoanToValue),
    ]).await;
    fx.borrow(&mut t, b, 100 * ONE, 8_600 * ONE).await.unwrap();
    // slippage on the riskless leg and on the residual claims
    let capped_leg = BorrowArgs {
        max_riskless_leg: 100,
        ..borrow_args(10 * ONE, ONE)
    };
    let residual_floor = BorrowArgs {
        min_residual: u64::MAX,
        ..borrow_args(10 * ONE, ONE)
    };
    let slippage = CrpError::SlippageExceeded;
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        // more than the 31,400 of unlent cash
        ("31,500", borrow(1_000 * ONE, 31_500 * ONE), kp, CrpError::InsufficientLiquidity),
        ("a riskless leg over 100", borrow_with(&fx, b, capped_leg), kp, slippage),
        ("a residual under u64::MAX", borrow_with(&fx, b, residual_floor), kp, slippage),
        // wrong mints and vaults
        ("claims as risky", with_account(small(), 6, b.claims), kp, CrpError::WrongMint),
        ("claims as residual", with_account(small(), 8, b.claims), kp, CrpError::WrongMint),
    ]).await;
    let other = fx.user(&mut t, ONE, ONE).await;
    let (lender_mint, risky_mint) = (fx.keys.lender_mint, fx.keys.risky_mint);
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        // a risky account that is not the vault
        ("not the risky vault", with_account(small(), 3, other.risky), kp, CrpError::WrongVault),
        ("lender mint as residual", with_account(small(), 5, lender_mint), kp, CrpError::WrongMint),
        // oracles: another account, stale, too wide
        ("risky mint as oracle", with_account(small(), 2, risky_mint), kp, CrpError::WrongOracle),
    ]).await;
    t.advance(61);
    let what = "a stale price";
    refused(&mut t, &w, what, small(), kp, CrpError::StaleOracle).await;
    fx.perp.set_price(&mut t, 0, 100.0, 1.01).await;
    let what = "a 1.01 % confidence interval";
    refused(&mut t, &w, what, small(), kp, CrpError::OracleConfidence).await;
    fx.set_price(&mut t, 100.0).await;
    set_pause(&mut t, &fx, pause::BORROW).await;
    refused(&mut t, &w, "paused", small(), kp, CrpError::Paused).await;
    set_pause(&mut t, &fx, 0).await;
    fx.borrow(&mut t, b, 10 * ONE, ONE).await.unwrap();
    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    refused(&mut t, &w, "at expiry", small(), kp, CrpError::Expired).await;
}

#[tokio::test]
async fn borrow_refuses_a_pool_past_its_conversion_threshold() {
    let mut t = TestContext::new().await;
    let (fx, _lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&borrower);
    // the price crashes to 2 and nobody has triggered the conversion yet: debt/value is ~81 %,
    // and a small borrow (which can only lower it) does not bring it back under 80 %
    t.advance(60);
    fx.set_price(&mut t, 2.0).await;
    let p = fx.pool(&mut t).await;
    let value = p.risky_balance as f64 * 2.0 + p.riskless_balance as f64;
    assert!(p.debt_face as f64 / value > 0.8);
    refused(
        &mut t,
        &w,
        "a small borrow at ~81 % debt/value",
        borrow_ix(&fx, &borrower, 10 * ONE, ONE),
        &borrower.kp,
        CrpError::WouldTriggerConversion,
    )
    .await;
}

#[tokio::test]
async fn swap_rejects_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, _lender, trader) = funded_pool(&mut t).await;
    let w = fx.watched(&trader);
    let u = &trader;
    let kp = &u.kp;
    let swap =
        |risky_in, exact_in, amount, limit| swap_ix(&fx, u, risky_in, exact_in, amount, limit);
    // most cases: 1 risky in
    let sell_one = || swap(true, true, ONE, 0);
    let slippage = CrpError::SlippageExceeded;
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("nothing", swap(true, true, 0, 0), kp, CrpError::ZeroAmount),
        // 30 % of 1,000 risky in, 30 % of the riskless out
        ("301 risky in", swap(true, true, 301 * ONE, 0), kp, CrpError::TradeTooLarge),
        ("301 risky out", swap(false, false, 301 * ONE, u64::MAX), kp, CrpError::TradeTooLarge),
        // exact in: 1 risky brings under 100 riskless; exact out: 1 risky costs over 100
        ("1 risky in for 100", swap(true, true, ONE, 100 * ONE), kp, slippage),
        ("1 risky out for 100", swap(false, false, ONE, 100 * ONE), kp, slippage),
        // 10 risky either way would move the pool's price 2.4 % from the oracle's 100
        ("10 risky in", swap(true, true, 10 * ONE, 0), kp, CrpError::PriceOffOracle),
        ("10 risky out", swap(false, false, 10 * ONE, u64::MAX), kp, CrpError::PriceOffOracle),
        ("claims as risky", with_account(sell_one(), 5, u.claims), kp, CrpError::WrongMint),
    ]).await;
    let other = fx.user(&mut t, ONE, ONE).await;
    // a riskless account that is not the vault
    let ix = with_account(sell_one(), 4, other.riskless);
    let what = "not the riskless vault";
    refused(&mut t, &w, what, ix, kp, CrpError::WrongVault).await;
    set_pause(&mut t, &fx, pause::SWAP).await;
    refused(&mut t, &w, "paused", sell_one(), kp, CrpError::Paused).await;
    set_pause(&mut t, &fx, 0).await;
    fx.swap(&mut t, u, true, true, ONE, 0).await.unwrap();
    t.set_time(fx.expiry);
    refused(&mut t, &w, "at expiry", sell_one(), kp, CrpError::Expired).await;
}

#[tokio::test]
async fn rebalance_and_conversion_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, _lender, user) = funded_pool(&mut t).await;
    let w = fx.watched(&user);
    let keeper = fx.keeper.insecure_clone();
    let rebalance = || cix::rebalance(&keeper.pubkey(), &fx.keys);
    let trigger = || cix::trigger_conversion(&user.key(), &fx.keys);
    let swap =
        |risky_in, exact_in, amount, limit| swap_ix(&fx, &user, risky_in, exact_in, amount, limit);
    let (k, u) = (&keeper, &user.kp);
    // a day has not passed since creation
    refused(
        &mut t,
        &w,
        "at creation",
        rebalance(),
        k,
        CrpError::RebalanceTooEarly,
    )
    .await;
    t.advance(DAY);
    fx.set_price(&mut t, 100.0).await;
    let perp_pool = fx.perp.pool;
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("by the user", cix::rebalance(&user.key(), &fx.keys), u, CrpError::NotKeeper),
        ("perp pool as oracle", with_account(rebalance(), 2, perp_pool), k, CrpError::WrongOracle),
    ]).await;
    set_pause(&mut t, &fx, pause::REBALANCE).await;
    refused(&mut t, &w, "paused", rebalance(), k, CrpError::Paused).await;
    set_pause(&mut t, &fx, 0).await;
    t.advance(61);
    let what = "a stale price";
    refused(&mut t, &w, what, rebalance(), k, CrpError::StaleOracle).await;
    fx.set_price(&mut t, 100.0).await;
    // the pool is far from its conversion threshold
    refused(
        &mut t,
        &w,
        "a trigger at 100",
        trigger(),
        u,
        CrpError::BelowConversionThreshold,
    )
    .await;
    fx.rebalance(&mut t).await.unwrap();
    refused(
        &mut t,
        &w,
        "a second rebalance",
        rebalance(),
        k,
        CrpError::RebalanceTooEarly,
    )
    .await;

    // a crash: anyone may report it, but the irreversible switch waits for a second tight print
    // published CONVERSION_CONFIRM_SECS (300 s) after the first
    t.advance(60);
    fx.set_price(&mut t, 2.0).await;
    fx.trigger_conversion(&mut t, &user).await.unwrap();
    let p = fx.pool(&mut t).await;
    assert_eq!((p.status, p.breach_publish_ts), (status::ACTIVE, t.now));
    let what = "the same print again";
    refused(&mut t, &w, what, trigger(), u, CrpError::BreachNotConfirmed).await;
    t.advance(299);
    fx.set_price(&mut t, 2.0).await;
    let what = "a print 299 s later";
    refused(&mut t, &w, what, trigger(), u, CrpError::BreachNotConfirmed).await;
    // the price recovers: the recorded breach is cleared, and a new crash starts over
    t.advance(1);
    fx.set_price(&mut t, 100.0).await;
    fx.trigger_conversion(&mut t, &user).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.breach_publish_ts, 0);
    t.advance(1);
    fx.set_price(&mut t, 2.0).await;
    fx.trigger_conversion(&mut t, &user).await.unwrap();
    t.advance(300);
    // a wide print (0.6 %: within the oracle's 1 %, not within half of it) confirms nothing
    fx.perp.set_price(&mut t, 0, 2.0, 0.012).await;
    let what = "a wide print";
    refused(&mut t, &w, what, trigger(), u, CrpError::OracleConfidence).await;
    fx.set_price(&mut t, 2.0).await;
    fx.trigger_conversion(&mut t, &user).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::CONVERTING);
    // what a converting pool refuses: lending, borrowing, selling it risky, re-weighting, and a
    // second trigger
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("lend", lend_ix(&fx, &user, ONE, 0), u, CrpError::Converting),
        ("borrow", borrow_ix(&fx, &user, ONE, 1), u, CrpError::Converting),
        ("sell risky", swap(true, true, ONE, 0), u, CrpError::Converting),
    ]).await;
    t.advance(DAY);
    fx.set_price(&mut t, 20.0).await;
    // the sale: no worse than the limit, at a fresh price
    let under_limit = swap(false, false, 10 * ONE, 10 * 198 * ONE / 100 - 1);
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("rebalance", rebalance(), k, CrpError::Converting),
        ("trigger again", trigger(), u, CrpError::Converting),
        ("10 risky for under 19.8", under_limit, u, CrpError::SlippageExceeded),
    ]).await;
    t.advance(61);
    let (what, ix) = ("buy risky at a stale price", swap(false, true, ONE, 0));
    refused(&mut t, &w, what, ix, u, CrpError::StaleOracle).await;
    fx.set_price(&mut t, 2.0).await;
    let risky = fx.pool(&mut t).await.risky_balance;
    fx.swap(&mut t, &user, false, false, risky, u64::MAX)
        .await
        .unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::CONVERTED);
    // and what the converted pool refuses for good
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("lend", lend_ix(&fx, &user, ONE, 0), u, CrpError::Converted),
        ("borrow", borrow_ix(&fx, &user, ONE, 1), u, CrpError::Converted),
        ("buy risky", swap(false, true, ONE, 0), u, CrpError::Converted),
        ("sell risky", swap(true, true, ONE, 0), u, CrpError::Converted),
    ]).await;
    t.advance(DAY);
    fx.set_price(&mut t, 150.0).await;
    refused(&mut t, &w, "rebalance", rebalance(), k, CrpError::Converted).await;
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn settlement_and_redemption_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&lender);
    let (l, kp) = (&lender, &lender.kp);
    let settle = || cix::settle(&l.key(), &fx.keys);
    let fund = |from: &Pubkey, amount| cix::fund_reserve(&l.key(), &fx.keys, from, amount);
    let redeem_from = |claims: &Pubkey, payout: &Pubkey, amount| {
        cix::redeem_lender(&l.key(), &fx.keys, (claims, &l.risky, payout), amount)
    };
    let claims = t.balance(&lender.claims).await;
    let redeem = redeem_from(&l.claims, &l.riskless, claims);
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("settle before expiry", settle(), kp, CrpError::NotExpired),
        ("redeem before settlement", redeem.clone(), kp, CrpError::NotSettled),
    ]).await;
    let wb = fx.watched(&borrower);
    let residual = t.balance(&borrower.residual).await;
    let redeem_b = cix::redeem_borrower(
        &borrower.key(),
        &fx.keys,
        (&borrower.residual, &borrower.risky, &borrower.riskless),
        residual,
    );
    refused(
        &mut t,
        &wb,
        "the borrower redeems before settlement",
        redeem_b,
        &borrower.kp,
        CrpError::NotSettled,
    )
    .await;

    // the reserve fund, against defaults
    fx.fund_reserve(&mut t, &lender, 1_000 * ONE).await.unwrap();
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("fund nothing", fund(&l.riskless, 0), kp, CrpError::ZeroAmount),
        ("fund from the risky account", fund(&l.risky, ONE), kp, CrpError::WrongMint),
    ]).await;

    t.set_time(fx.expiry);
    // another account as the oracle settle records a price from
    let what = "settle with the perp pool as the oracle";
    let ix = with_account(settle(), 2, fx.perp.pool);
    refused(&mut t, &w, what, ix, kp, CrpError::WrongOracle).await;
    fx.settle(&mut t, &lender).await.unwrap();
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("settle again", settle(), kp, CrpError::WrongState),
        ("redeem nothing", redeem_from(&l.claims, &l.riskless, 0), kp, CrpError::ZeroAmount),
        // the residual account in place of the claims account, the risky one for the payout
        ("residual as claims", redeem_from(&l.residual, &l.riskless, 1), kp, CrpError::WrongMint),
        ("redeem into risky", redeem_from(&l.claims, &borrower.risky, 1), kp, CrpError::WrongMint),
        ("riskless as the risky payout", cix::redeem_lender(&l.key(), &fx.keys, (&l.claims, &borrower.riskless, &l.riskless), 1), kp, CrpError::WrongMint),
    ]).await;
    // the vault itself as the payout: Anchor refuses the same writable account twice
    let before = t.snapshot(&w).await;
    assert_code(
        t.send(&[redeem_from(&l.claims, &fx.keys.riskless_vault, 1)], &[kp])
            .await,
        anchor(ErrorCode::ConstraintDuplicateMutableAccount),
    );
    assert_eq!(t.snapshot(&w).await, before);
    // someone else's claims
    let thief = fx.user(&mut t, 0, 0).await;
    let steal = cix::redeem_lender(
        &thief.key(),
        &fx.keys,
        (&lender.claims, &thief.risky, &thief.riskless),
        1,
    );
    let before = t.snapshot(&w).await;
    assert_code(
        t.send(&[steal], &[&thief.kp]).await,
        anchor(ErrorCode::ConstraintTokenOwner),
    );
    assert_eq!(t.snapshot(&w).await, before);
    let (what, ix) = ("fund after settlement", fund(&l.riskless, ONE));
    refused(&mut t, &w, what, ix, kp, CrpError::WrongState).await;
    t.send(&[redeem], &[&lender.kp]).await.unwrap();
    // the 40,000 never lent back at par, the 60,000 lent with its interest
    let debt = fx.pool(&mut t).await.debt_face;
    assert_eq!(
        t.balance(&lender.riskless).await,
        100_000 * ONE - 1_000 * ONE + 40_000 * ONE + debt
    );
}

#[tokio::test]
async fn set_pause_is_the_authority_s() {
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let user = fx.user(&mut t, 0, 0).await;
    let w = fx.watched(&user);
    let admin = t.admin.insecure_clone();
    let pool = fx.keys.pool;
    let (u, a) = (user.key(), admin.pubkey());
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("by a user", cix::set_pause(&u, &pool, pause::ALL), &user.kp, CrpError::Unauthorized),
        ("an unknown flag", cix::set_pause(&a, &pool, 1 << 7), &admin, CrpError::InvalidParameter),
    ]).await;
    set_pause(&mut t, &fx, pause::ALL).await;
    assert_eq!(fx.pool(&mut t).await.paused, pause::ALL);
}

#[tokio::test]
async fn expiry_settling_and_borrower_redemption_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&borrower);
    let kp = &borrower.kp;
    let trigger = || cix::trigger_conversion(&borrower.key(), &fx.keys);
    // another account as the oracle of the permissionless trigger
    let ix = with_account(trigger(), 2, fx.perp.pool);
    let what = "the perp pool as the oracle";
    refused(&mut t, &w, what, ix, kp, CrpError::WrongOracle).await;
    // the price falls to 70 and arbitrage sells the pool risky: its riskless side (~59k) no
    // longer covers the 60,739 of debt, so settlement must sell risky first
    let arb = fx.user(&mut t, 1_000 * ONE, 1_000_000 * ONE).await;
    fx.set_price(&mut t, 70.0).await;
    fx.arbitrage(&mut t, &arb, 70.0).await;
    fx.fund_reserve(&mut t, &lender, 1_000 * ONE).await.unwrap();
    let p = fx.pool(&mut t).await;
    assert!(p.riskless_balance < p.debt_face);

    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    let keeper = fx.keeper.insecure_clone();
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("rebalance", cix::rebalance(&keeper.pubkey(), &fx.keys), &keeper, CrpError::Expired),
        ("trigger", trigger(), kp, CrpError::Expired),
    ]).await;
    fx.settle(&mut t, &lender).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::SETTLING);
    // while settling: settle again, sell the pool risky, redeem
    let wa = fx.watched(&arb);
    #[rustfmt::skip]
    refused_all(&mut t, &wa, [
        ("settle again", cix::settle(&arb.key(), &fx.keys), &arb.kp, CrpError::Settling),
        ("sell risky", swap_ix(&fx, &arb, true, true, ONE, 0), &arb.kp, CrpError::Settling),
    ]).await;
    let residual = t.balance(&borrower.residual).await;
    let redeem = |claims| {
        cix::redeem_borrower(
            &borrower.key(),
            &fx.keys,
            (&borrower.residual, &borrower.risky, &borrower.riskless),
            claims,
        )
    };
    let what = "redeem while settling";
    refused(&mut t, &w, what, redeem(residual), kp, CrpError::NotSettled).await;
    fx.settle_fully(&mut t, &arb).await;
    // settled: a zero redemption, and the lender-claims account offered as the residual one
    let lender_claims = with_account(redeem(1), 5, borrower.claims);
    #[rustfmt::skip]
    refused_all(&mut t, &w, [
        ("redeem nothing", redeem(0), kp, CrpError::ZeroAmount),
        ("lender claims as the residual account", lender_claims, kp, CrpError::WrongMint),
    ]).await;
    t.send(&[redeem(residual)], &[&borrower.kp]).await.unwrap();
    fx.assert_conserved(&mut t).await;
}
