//! Every collateral-pool instruction's bad inputs: each fails with its specific error and leaves
//! the pool, its vaults, its claim mints and the caller's accounts exactly as they were.

use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use collateral_pool::errors::CrpError;
use collateral_pool::instructions::*;
use collateral_pool::state::{CrpParams, pause, status};
use keel::client::crp::{self as cix, PoolKeys};
use keel_tests::crp::{CrpFixture, CrpUser, DAY, ONE, default_crp_params};
use keel_tests::{TestContext, anchor, assert_code, crp};
use perp_amm::state::OracleKind;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

type Snapshot = Vec<Option<(u64, Vec<u8>)>>;

/// Send `ix` signed by `signer`; it must fail with `code` and change none of `watched`.
async fn refused(
    t: &mut TestContext,
    watched: &[Pubkey],
    ix: Instruction,
    signer: &Keypair,
    code: CrpError,
) {
    let before: Snapshot = t.snapshot(watched).await;
    let result = t.send(&[ix], &[signer]).await;
    assert_code(result, crp(code));
    assert_eq!(t.snapshot(watched).await, before, "{code:?} changed state");
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

fn borrow_ix(fx: &CrpFixture, u: &CrpUser, collateral: u64, loan: u64) -> Instruction {
    let args = BorrowArgs {
        collateral,
        loan,
        max_riskless_leg: u64::MAX,
        min_residual: 0,
    };
    cix::borrow(
        &u.key(),
        &fx.keys,
        (&u.risky, &u.riskless, &u.residual),
        args,
    )
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
    let bad: Vec<(CrpParams, i64)> = vec![
        (
            CrpParams {
                initial_ltv_bps: 8_000,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                conversion_ltv_bps: 10_000,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                sigma_e9: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                strike_e9: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                ema_alpha_e9: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                fee_bps: 1_000,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                reserve_share_bps: 10_001,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                max_trade_ratio_bps: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                conversion_discount_bps: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                conversion_discount_bps: 1_001,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                max_age_secs: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (
            CrpParams {
                min_rebalance_interval_secs: 0,
                ..default_crp_params()
            },
            TERM,
        ),
        (default_crp_params(), DAY - 1),
        (default_crp_params(), 800 * DAY),
    ];
    for (params, term) in bad {
        let expiry = t.now + term;
        let keys = PoolKeys::new(fx.keys.risky_mint, t.quote_mint, expiry, fx.keys.oracle);
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
    // the same mint on both sides
    let same = PoolKeys::new(t.quote_mint, t.quote_mint, expiry, fx.keys.oracle);
    refused(
        &mut t,
        &[same.pool],
        cix::init_pool(&admin.pubkey(), &same, args(expiry, feed)),
        &admin,
        CrpError::WrongMint,
    )
    .await;
    // another feed's id, and an oracle that is not an oracle
    let keys = PoolKeys::new(fx.keys.risky_mint, t.quote_mint, expiry, fx.keys.oracle);
    refused(
        &mut t,
        &[keys.pool],
        cix::init_pool(&admin.pubkey(), &keys, args(expiry, [9u8; 32])),
        &admin,
        CrpError::WrongOracle,
    )
    .await;
    let not_oracle = PoolKeys::new(fx.keys.risky_mint, t.quote_mint, expiry, fx.keys.risky_mint);
    refused(
        &mut t,
        &[keys.pool],
        cix::init_pool(&admin.pubkey(), &not_oracle, args(expiry, feed)),
        &admin,
        CrpError::WrongOracle,
    )
    .await;
    // a stale price
    t.advance(61);
    refused(
        &mut t,
        &[keys.pool],
        cix::init_pool(&admin.pubkey(), &keys, args(expiry, feed)),
        &admin,
        CrpError::StaleOracle,
    )
    .await;
    // a wide one
    fx.perp.set_price(&mut t, 0, 100.0, 1.5).await;
    refused(
        &mut t,
        &[keys.pool],
        cix::init_pool(&admin.pubkey(), &keys, args(expiry, feed)),
        &admin,
        CrpError::OracleConfidence,
    )
    .await;
    fx.set_price(&mut t, 100.0).await;
    t.send(
        &[cix::init_pool(&admin.pubkey(), &keys, args(expiry, feed))],
        &[&admin],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn lend_rejects_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&lender);
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &lender, 0, 0),
        &lender.kp,
        CrpError::ZeroAmount,
    )
    .await;
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &lender, ONE, 2 * ONE),
        &lender.kp,
        CrpError::SlippageExceeded,
    )
    .await;
    // the risky account offered as the riskless one, the residual account as the claims one
    let mut ix = lend_ix(&fx, &lender, ONE, 0);
    ix.accounts[4].pubkey = lender.risky;
    refused(&mut t, &w, ix, &lender.kp, CrpError::WrongMint).await;
    let mut ix = lend_ix(&fx, &lender, ONE, 0);
    ix.accounts[5].pubkey = lender.residual;
    refused(&mut t, &w, ix, &lender.kp, CrpError::WrongMint).await;
    // the risky vault in place of the riskless one
    let mut ix = lend_ix(&fx, &lender, ONE, 0);
    ix.accounts[2].pubkey = fx.keys.risky_vault;
    refused(&mut t, &w, ix, &lender.kp, CrpError::WrongVault).await;
    // another user's token account
    let mut ix = lend_ix(&fx, &lender, ONE, 0);
    ix.accounts[4].pubkey = borrower.riskless;
    let before = t.snapshot(&w).await;
    assert_code(
        t.send(&[ix], &[&lender.kp]).await,
        anchor(ErrorCode::ConstraintTokenOwner),
    );
    assert_eq!(t.snapshot(&w).await, before);
    set_pause(&mut t, &fx, pause::LEND).await;
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &lender, ONE, 0),
        &lender.kp,
        CrpError::Paused,
    )
    .await;
    set_pause(&mut t, &fx, 0).await;
    fx.lend(&mut t, &lender, ONE).await.unwrap();
    t.set_time(fx.expiry);
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &lender, ONE, 0),
        &lender.kp,
        CrpError::Expired,
    )
    .await;
}

#[tokio::test]
async fn borrow_rejects_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, _lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&borrower);
    let b = &borrower;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 0, ONE),
        &b.kp,
        CrpError::ZeroAmount,
    )
    .await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, ONE, 0),
        &b.kp,
        CrpError::ZeroAmount,
    )
    .await;
    // 100 risky (10,000) + its riskless leg (~7,279): 50 % is ~8,639
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 100 * ONE, 8_700 * ONE),
        &b.kp,
        CrpError::LoanToValue,
    )
    .await;
    fx.borrow(&mut t, b, 100 * ONE, 8_600 * ONE).await.unwrap();
    // more than the 31,400 of unlent cash
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 1_000 * ONE, 31_500 * ONE),
        &b.kp,
        CrpError::InsufficientLiquidity,
    )
    .await;
    // slippage on the riskless leg and on the residual claims
    let args = BorrowArgs {
        collateral: 10 * ONE,
        loan: ONE,
        max_riskless_leg: 100,
        min_residual: 0,
    };
    let ix = cix::borrow(
        &b.key(),
        &fx.keys,
        (&b.risky, &b.riskless, &b.residual),
        args,
    );
    refused(&mut t, &w, ix, &b.kp, CrpError::SlippageExceeded).await;
    let args = BorrowArgs {
        collateral: 10 * ONE,
        loan: ONE,
        max_riskless_leg: u64::MAX,
        min_residual: u64::MAX,
    };
    let ix = cix::borrow(
        &b.key(),
        &fx.keys,
        (&b.risky, &b.riskless, &b.residual),
        args,
    );
    refused(&mut t, &w, ix, &b.kp, CrpError::SlippageExceeded).await;
    // wrong mints and vaults
    let mut ix = borrow_ix(&fx, b, 10 * ONE, ONE);
    ix.accounts[6].pubkey = b.claims; // as the risky account
    refused(&mut t, &w, ix, &b.kp, CrpError::WrongMint).await;
    let mut ix = borrow_ix(&fx, b, 10 * ONE, ONE);
    ix.accounts[8].pubkey = b.claims; // as the residual account
    refused(&mut t, &w, ix, &b.kp, CrpError::WrongMint).await;
    let other = fx.user(&mut t, ONE, ONE).await;
    let mut ix = borrow_ix(&fx, b, 10 * ONE, ONE);
    ix.accounts[3].pubkey = other.risky; // a risky account that is not the vault
    refused(&mut t, &w, ix, &b.kp, CrpError::WrongVault).await;
    let mut ix = borrow_ix(&fx, b, 10 * ONE, ONE);
    ix.accounts[5].pubkey = fx.keys.lender_mint; // as the residual mint
    refused(&mut t, &w, ix, &b.kp, CrpError::WrongMint).await;
    // oracles: another account, stale, too wide
    let mut ix = borrow_ix(&fx, b, 10 * ONE, ONE);
    ix.accounts[2].pubkey = fx.keys.risky_mint;
    refused(&mut t, &w, ix, &b.kp, CrpError::WrongOracle).await;
    t.advance(61);
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 10 * ONE, ONE),
        &b.kp,
        CrpError::StaleOracle,
    )
    .await;
    fx.perp.set_price(&mut t, 0, 100.0, 1.01).await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 10 * ONE, ONE),
        &b.kp,
        CrpError::OracleConfidence,
    )
    .await;
    fx.set_price(&mut t, 100.0).await;
    set_pause(&mut t, &fx, pause::BORROW).await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 10 * ONE, ONE),
        &b.kp,
        CrpError::Paused,
    )
    .await;
    set_pause(&mut t, &fx, 0).await;
    fx.borrow(&mut t, b, 10 * ONE, ONE).await.unwrap();
    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, b, 10 * ONE, ONE),
        &b.kp,
        CrpError::Expired,
    )
    .await;
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
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, true, true, 0, 0),
        &u.kp,
        CrpError::ZeroAmount,
    )
    .await;
    // 30 % of 1,000 risky in, 30 % of the riskless out
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, true, true, 301 * ONE, 0),
        &u.kp,
        CrpError::TradeTooLarge,
    )
    .await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, false, false, 301 * ONE, u64::MAX),
        &u.kp,
        CrpError::TradeTooLarge,
    )
    .await;
    // exact in: 10 risky bring under 1,000 riskless; exact out: 10 risky cost over 1,000
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, true, true, 10 * ONE, 1_000 * ONE),
        &u.kp,
        CrpError::SlippageExceeded,
    )
    .await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, false, false, 10 * ONE, 1_000 * ONE),
        &u.kp,
        CrpError::SlippageExceeded,
    )
    .await;
    let mut ix = swap_ix(&fx, u, true, true, ONE, 0);
    ix.accounts[5].pubkey = u.claims; // as the risky account
    refused(&mut t, &w, ix, &u.kp, CrpError::WrongMint).await;
    let other = fx.user(&mut t, ONE, ONE).await;
    let mut ix = swap_ix(&fx, u, true, true, ONE, 0);
    ix.accounts[4].pubkey = other.riskless; // a riskless account that is not the vault
    refused(&mut t, &w, ix, &u.kp, CrpError::WrongVault).await;
    set_pause(&mut t, &fx, pause::SWAP).await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, true, true, ONE, 0),
        &u.kp,
        CrpError::Paused,
    )
    .await;
    set_pause(&mut t, &fx, 0).await;
    fx.swap(&mut t, u, true, true, ONE, 0).await.unwrap();
    t.set_time(fx.expiry);
    refused(
        &mut t,
        &w,
        swap_ix(&fx, u, true, true, ONE, 0),
        &u.kp,
        CrpError::Expired,
    )
    .await;
}

#[tokio::test]
async fn rebalance_and_conversion_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, _lender, user) = funded_pool(&mut t).await;
    let w = fx.watched(&user);
    // a day has not passed since creation
    let keeper = fx.keeper.insecure_clone();
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::RebalanceTooEarly,
    )
    .await;
    t.advance(DAY);
    fx.set_price(&mut t, 100.0).await;
    refused(
        &mut t,
        &w,
        cix::rebalance(&user.key(), &fx.keys),
        &user.kp,
        CrpError::NotKeeper,
    )
    .await;
    let mut ix = cix::rebalance(&keeper.pubkey(), &fx.keys);
    ix.accounts[2].pubkey = fx.perp.pool;
    refused(&mut t, &w, ix, &keeper, CrpError::WrongOracle).await;
    set_pause(&mut t, &fx, pause::REBALANCE).await;
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::Paused,
    )
    .await;
    set_pause(&mut t, &fx, 0).await;
    t.advance(61);
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::StaleOracle,
    )
    .await;
    fx.set_price(&mut t, 100.0).await;
    // the pool is far from its conversion threshold
    refused(
        &mut t,
        &w,
        cix::trigger_conversion(&user.key(), &fx.keys),
        &user.kp,
        CrpError::BelowConversionThreshold,
    )
    .await;
    fx.rebalance(&mut t).await.unwrap();
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::RebalanceTooEarly,
    )
    .await;

    // a crash: anyone may start the flight to quality, at once
    t.advance(60);
    fx.set_price(&mut t, 2.0).await;
    fx.trigger_conversion(&mut t, &user).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::CONVERTING);
    // what a converting pool refuses: lending, borrowing, selling it risky, re-weighting, and a
    // second trigger
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &user, ONE, 0),
        &user.kp,
        CrpError::Converting,
    )
    .await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, &user, ONE, 1),
        &user.kp,
        CrpError::Converting,
    )
    .await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, &user, true, true, ONE, 0),
        &user.kp,
        CrpError::Converting,
    )
    .await;
    t.advance(DAY);
    fx.set_price(&mut t, 20.0).await;
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::Converting,
    )
    .await;
    refused(
        &mut t,
        &w,
        cix::trigger_conversion(&user.key(), &fx.keys),
        &user.kp,
        CrpError::Converting,
    )
    .await;
    // the sale: no worse than the limit, at a fresh price
    refused(
        &mut t,
        &w,
        swap_ix(&fx, &user, false, false, 10 * ONE, 10 * 198 * ONE / 100 - 1),
        &user.kp,
        CrpError::SlippageExceeded,
    )
    .await;
    t.advance(61);
    refused(
        &mut t,
        &w,
        swap_ix(&fx, &user, false, true, ONE, 0),
        &user.kp,
        CrpError::StaleOracle,
    )
    .await;
    fx.set_price(&mut t, 2.0).await;
    let risky = fx.pool(&mut t).await.risky_balance;
    fx.swap(&mut t, &user, false, false, risky, u64::MAX)
        .await
        .unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::CONVERTED);
    // and what the converted pool refuses for good
    refused(
        &mut t,
        &w,
        lend_ix(&fx, &user, ONE, 0),
        &user.kp,
        CrpError::Converted,
    )
    .await;
    refused(
        &mut t,
        &w,
        borrow_ix(&fx, &user, ONE, 1),
        &user.kp,
        CrpError::Converted,
    )
    .await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, &user, false, true, ONE, 0),
        &user.kp,
        CrpError::Converted,
    )
    .await;
    refused(
        &mut t,
        &w,
        swap_ix(&fx, &user, true, true, ONE, 0),
        &user.kp,
        CrpError::Converted,
    )
    .await;
    t.advance(DAY);
    fx.set_price(&mut t, 150.0).await;
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::Converted,
    )
    .await;
    fx.assert_conserved(&mut t).await;
}

#[tokio::test]
async fn settlement_and_redemption_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&lender);
    refused(
        &mut t,
        &w,
        cix::settle(&lender.key(), &fx.keys),
        &lender.kp,
        CrpError::NotExpired,
    )
    .await;
    let claims = t.balance(&lender.claims).await;
    let redeem = cix::redeem_lender(
        &lender.key(),
        &fx.keys,
        &lender.claims,
        &lender.riskless,
        claims,
    );
    refused(&mut t, &w, redeem.clone(), &lender.kp, CrpError::NotSettled).await;
    let wb = fx.watched(&borrower);
    let residual = t.balance(&borrower.residual).await;
    let redeem_b = cix::redeem_borrower(
        &borrower.key(),
        &fx.keys,
        (&borrower.residual, &borrower.risky, &borrower.riskless),
        residual,
    );
    refused(&mut t, &wb, redeem_b, &borrower.kp, CrpError::NotSettled).await;

    // the reserve covers the unlent cash's interest
    fx.fund_reserve(&mut t, &lender, 1_000 * ONE).await.unwrap();
    refused(
        &mut t,
        &w,
        cix::fund_reserve(&lender.key(), &fx.keys, &lender.riskless, 0),
        &lender.kp,
        CrpError::ZeroAmount,
    )
    .await;
    refused(
        &mut t,
        &w,
        cix::fund_reserve(&lender.key(), &fx.keys, &lender.risky, ONE),
        &lender.kp,
        CrpError::WrongMint,
    )
    .await;

    t.set_time(fx.expiry);
    fx.settle(&mut t, &lender).await.unwrap();
    refused(
        &mut t,
        &w,
        cix::settle(&lender.key(), &fx.keys),
        &lender.kp,
        CrpError::WrongState,
    )
    .await;
    refused(
        &mut t,
        &w,
        cix::redeem_lender(&lender.key(), &fx.keys, &lender.claims, &lender.riskless, 0),
        &lender.kp,
        CrpError::ZeroAmount,
    )
    .await;
    // the residual account in place of the claims account, the risky one for the payout
    refused(
        &mut t,
        &w,
        cix::redeem_lender(
            &lender.key(),
            &fx.keys,
            &lender.residual,
            &lender.riskless,
            1,
        ),
        &lender.kp,
        CrpError::WrongMint,
    )
    .await;
    refused(
        &mut t,
        &w,
        cix::redeem_lender(&lender.key(), &fx.keys, &lender.claims, &lender.risky, 1),
        &lender.kp,
        CrpError::WrongMint,
    )
    .await;
    // someone else's claims
    let thief = fx.user(&mut t, 0, 0).await;
    let steal = cix::redeem_lender(&thief.key(), &fx.keys, &lender.claims, &thief.riskless, 1);
    let before = t.snapshot(&w).await;
    assert_code(
        t.send(&[steal], &[&thief.kp]).await,
        anchor(ErrorCode::ConstraintTokenOwner),
    );
    assert_eq!(t.snapshot(&w).await, before);
    refused(
        &mut t,
        &w,
        cix::fund_reserve(&lender.key(), &fx.keys, &lender.riskless, ONE),
        &lender.kp,
        CrpError::WrongState,
    )
    .await;
    t.send(&[redeem], &[&lender.kp]).await.unwrap();
    assert_eq!(
        t.balance(&lender.riskless).await,
        100_000 * ONE - 1_000 * ONE + claims
    );
}

#[tokio::test]
async fn set_pause_is_the_authority_s() {
    let mut t = TestContext::new().await;
    let fx = CrpFixture::new(&mut t, 100.0, default_crp_params()).await;
    let user = fx.user(&mut t, 0, 0).await;
    let w = fx.watched(&user);
    refused(
        &mut t,
        &w,
        cix::set_pause(&user.key(), &fx.keys.pool, pause::ALL),
        &user.kp,
        CrpError::Unauthorized,
    )
    .await;
    let admin = t.admin.insecure_clone();
    refused(
        &mut t,
        &w,
        cix::set_pause(&admin.pubkey(), &fx.keys.pool, 1 << 7),
        &admin,
        CrpError::InvalidParameter,
    )
    .await;
    set_pause(&mut t, &fx, pause::ALL).await;
    assert_eq!(fx.pool(&mut t).await.paused, pause::ALL);
}

#[tokio::test]
async fn expiry_settling_and_borrower_redemption_reject_bad_inputs() {
    let mut t = TestContext::new().await;
    let (fx, lender, borrower) = funded_pool(&mut t).await;
    let w = fx.watched(&borrower);
    // another account as the oracle of the permissionless trigger
    let mut ix = cix::trigger_conversion(&borrower.key(), &fx.keys);
    ix.accounts[2].pubkey = fx.perp.pool;
    refused(&mut t, &w, ix, &borrower.kp, CrpError::WrongOracle).await;
    // an arbitrageur sells the pool 280 risky: its riskless side (~51.8k) no longer covers the
    // 60,739 of debt, so settlement must sell risky first
    let arb = fx.user(&mut t, 1_000 * ONE, 1_000_000 * ONE).await;
    fx.swap(&mut t, &arb, true, true, 280 * ONE, 0)
        .await
        .unwrap();
    fx.fund_reserve(&mut t, &lender, 1_000 * ONE).await.unwrap();
    let p = fx.pool(&mut t).await;
    assert!(p.riskless_balance < p.debt_face);

    t.set_time(fx.expiry);
    fx.set_price(&mut t, 100.0).await;
    let keeper = fx.keeper.insecure_clone();
    refused(
        &mut t,
        &w,
        cix::rebalance(&keeper.pubkey(), &fx.keys),
        &keeper,
        CrpError::Expired,
    )
    .await;
    refused(
        &mut t,
        &w,
        cix::trigger_conversion(&borrower.key(), &fx.keys),
        &borrower.kp,
        CrpError::Expired,
    )
    .await;
    fx.settle(&mut t, &lender).await.unwrap();
    assert_eq!(fx.pool(&mut t).await.status, status::SETTLING);
    // while settling: settle again, sell the pool risky, redeem
    let wa = fx.watched(&arb);
    refused(
        &mut t,
        &wa,
        cix::settle(&arb.key(), &fx.keys),
        &arb.kp,
        CrpError::Settling,
    )
    .await;
    refused(
        &mut t,
        &wa,
        swap_ix(&fx, &arb, true, true, ONE, 0),
        &arb.kp,
        CrpError::Settling,
    )
    .await;
    let residual = t.balance(&borrower.residual).await;
    let redeem = |claims| {
        cix::redeem_borrower(
            &borrower.key(),
            &fx.keys,
            (&borrower.residual, &borrower.risky, &borrower.riskless),
            claims,
        )
    };
    refused(
        &mut t,
        &w,
        redeem(residual),
        &borrower.kp,
        CrpError::NotSettled,
    )
    .await;
    fx.settle_fully(&mut t, &arb).await;
    // settled: a zero redemption, and the lender-claims account offered as the residual one
    refused(&mut t, &w, redeem(0), &borrower.kp, CrpError::ZeroAmount).await;
    let mut ix = redeem(1);
    ix.accounts[5].pubkey = borrower.claims;
    refused(&mut t, &w, ix, &borrower.kp, CrpError::WrongMint).await;
    t.send(&[redeem(residual)], &[&borrower.kp]).await.unwrap();
    fx.assert_conserved(&mut t).await;
}
