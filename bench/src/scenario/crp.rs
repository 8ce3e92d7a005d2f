//! The collateral-pool scenario: one pool's whole life — creation, lending, two borrows, swaps
//! both ways and both modes, a rebalance, a crash that triggers the flight to quality, the
//! conversion sale, settlement and both redemptions. `run` lists the phases in the order their
//! transactions are sent; the measured CU depend on that order (and on the deterministic keys
//! each phase draws), so the phases must not be reordered.

use anchor_lang::prelude::Pubkey;
use collateral_pool::instructions as c;
use keel::client::crp as cix;
use keel::client::perp as ix;
use perp_amm::state::OracleKind;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::harness::{Bench, E6, Instruction};
use crate::params::crp_params;
use crate::scenario::perp::init_pool_ix;
use crate::table::Row;

/// The push oracle both programs read, on a perp pool made only for it.
struct Feed {
    perp_pool: Pubkey,
    oracle: Pubkey,
    feed_id: [u8; 32],
}

/// The collateral pool: its addresses, risky mint, expiry and keeper.
struct Crp {
    keys: cix::PoolKeys,
    risky: Pubkey,
    expiry: i64,
    keeper: Keypair,
}

/// The arbitrageur: riskless (quote) cash and a risky-token account.
struct Arb {
    kp: Keypair,
    cash: Pubkey,
    risky: Pubkey,
}

/// The borrower: a trader's accounts and the residual-claim account.
struct Borrower {
    kp: Keypair,
    cash: Pubkey,
    risky: Pubkey,
    residual: Pubkey,
}

/// The lender: cash and lender-claim accounts.
struct Lender {
    kp: Keypair,
    cash: Pubkey,
    claims: Pubkey,
}

/// The collateral pool's life on one pool. Its rows are returned (the perp-amm rows stay in
/// `b.rows`).
pub fn run(b: &mut Bench, so: &[u8]) -> Vec<Row> {
    b.svm
        .add_program(collateral_pool::ID, so)
        .expect("load collateral_pool.so");
    let perp_rows = std::mem::take(&mut b.rows);
    let feed = push_oracle(b);
    let crp = init_pool(b, &feed);
    let lender = lend(b, &crp);
    let borrower = borrow(b, &crp);
    let arb = swaps(b, &crp);
    reserve_and_pause(b, &crp);
    rebalance(b, &feed, &crp);
    conversion(b, &feed, &crp, &arb);
    settle_and_redeem(b, &crp, &arb, &lender, &borrower);
    check_accounting(b, &crp);
    std::mem::replace(&mut b.rows, perp_rows)
}

/// A perp pool only for its push oracle (the feed both programs read), the oracle at 100.
fn push_oracle(b: &mut Bench) -> Feed {
    let admin = b.admin.insecure_clone();
    let oracle_auth = b.oracle_auth.insecure_clone();
    let perp_pool_id = 100;
    let init = init_pool_ix(b, perp_pool_id);
    b.must("perp pool for the oracle", &[init], &[&admin]);
    let perp_pool = ix::pool_pda(&b.mint, perp_pool_id);
    let mut feed_id = [0u8; 32];
    feed_id[0] = 0xc0;
    let oracle = ix::push_oracle_pda(&perp_pool, &feed_id);
    let init_oracle = ix::init_push_oracle(&oracle_auth.pubkey(), &perp_pool, feed_id, -6);
    let price = b.push_price(&perp_pool, &oracle, 100.0);
    b.must("oracle", &[init_oracle, price], &[&oracle_auth]);
    Feed {
        perp_pool,
        oracle,
        feed_id,
    }
}

/// A risky mint and the pool on it, expiring in 90 days (measured).
fn init_pool(b: &mut Bench, feed: &Feed) -> Crp {
    let admin = b.admin.insecure_clone();
    let risky = b.create_mint(6);
    let expiry = b.now + 90 * 86_400;
    let keys = cix::PoolKeys::new(risky, b.mint, expiry, &admin.pubkey(), feed.oracle);
    let keeper = b.next_key();
    let args = c::InitCrpPoolArgs {
        expiry,
        params: crp_params(),
        keeper: keeper.pubkey(),
        oracle_kind: OracleKind::Push,
        feed_id: feed.feed_id,
        oracle_pool: feed.perp_pool,
    };
    b.measure(
        "init_pool",
        "vaults, claim mints, first delta",
        None,
        &[cix::init_pool(&admin.pubkey(), &keys, args)],
        &[&admin],
    );
    Crp {
        keys,
        risky,
        expiry,
        keeper,
    }
}

/// A lender's deposit for lender claims.
fn lend(b: &mut Bench, crp: &Crp) -> Lender {
    let keys = &crp.keys;
    let (kp, cash) = b.user(1_000_000 * E6);
    let claims = b.token_account(&keys.lender_mint, &kp.pubkey());
    let args = c::LendArgs {
        amount: 200_000 * E6,
        min_claims: 0,
    };
    let lend = cix::lend(&kp.pubkey(), keys, &cash, &claims, args);
    b.measure("lend", "", None, &[lend], &[&kp]);
    Lender { kp, cash, claims }
}

/// Two borrows by one borrower: the first (leg from the weight), then one joining at the
/// pool's proportions.
fn borrow(b: &mut Bench, crp: &Crp) -> Borrower {
    let keys = &crp.keys;
    let (kp, cash) = b.user(1_000_000 * E6);
    let risky = b.token_account(&crp.risky, &kp.pubkey());
    b.mint_to(&crp.risky, &risky, 10_000 * E6);
    let residual = b.token_account(&keys.residual_mint, &kp.pubkey());
    let accounts = (&risky, &cash, &residual);
    let cases = [
        (
            "first borrower (leg from the weight)",
            1_000 * E6,
            80_000 * E6,
        ),
        ("joining at the pool's proportions", 500 * E6, 40_000 * E6),
    ];
    for (label, collateral, loan) in cases {
        let args = c::BorrowArgs {
            collateral,
            loan,
            max_riskless_leg: u64::MAX,
            min_residual: 0,
        };
        let borrow = cix::borrow(&kp.pubkey(), keys, accounts, args);
        b.measure("borrow", label, None, &[borrow], &[&kp]);
    }
    Borrower {
        kp,
        cash,
        risky,
        residual,
    }
}

/// `swap` by `arb` on the pool.
fn swap_ix(
    crp: &Crp,
    arb: &Arb,
    (risky_in, exact_in): (bool, bool),
    amount: u64,
    limit: u64,
) -> Instruction {
    let args = c::SwapArgs {
        risky_in,
        exact_in,
        amount,
        limit,
    };
    cix::swap(&arb.kp.pubkey(), &crp.keys, &arb.risky, &arb.cash, args)
}

/// An arbitrageur's swaps both ways, exact in and exact out, each small enough to stay inside
/// the oracle's band (the fee: the bench's oracle publishes no confidence). Returns the
/// arbitrageur.
fn swaps(b: &mut Bench, crp: &Crp) -> Arb {
    let (kp, cash) = b.user(10_000_000 * E6);
    let risky = b.token_account(&crp.risky, &kp.pubkey());
    b.mint_to(&crp.risky, &risky, 10_000 * E6);
    let arb = Arb { kp, cash, risky };
    let cases = [
        ("riskless in, exact in", false, true, 100 * E6, 0),
        ("risky in, exact in", true, true, E6, 0),
        ("risky out, exact out", false, false, E6, u64::MAX),
        ("riskless out, exact out", true, false, 100 * E6, u64::MAX),
    ];
    for (label, risky_in, exact_in, amount, limit) in cases {
        let ix = swap_ix(crp, &arb, (risky_in, exact_in), amount, limit);
        b.measure("swap", label, Some(30_000), &[ix], &[&arb.kp]);
    }
    arb
}

/// An operator funds the reserve; the admin sets the pause flags (to none).
fn reserve_and_pause(b: &mut Bench, crp: &Crp) {
    let admin = b.admin.insecure_clone();
    let (operator, cash) = b.user(100_000 * E6);
    let fund = cix::fund_reserve(&operator.pubkey(), &crp.keys, &cash, 10_000 * E6);
    b.measure("fund_reserve", "", None, &[fund], &[&operator]);
    let pause = cix::set_pause(&admin.pubkey(), &crp.keys.pool, 0);
    b.measure("set_pause", "", None, &[pause], &[&admin]);
}

/// A day on at 90: the keeper's rebalance (EMA of Φ(d1)).
fn rebalance(b: &mut Bench, feed: &Feed, crp: &Crp) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    b.set_time(b.now + 86_400);
    let p = b.push_price(&feed.perp_pool, &feed.oracle, 90.0);
    b.must("price", &[p], &[&oracle_auth]);
    b.measure(
        "rebalance",
        "EMA of Φ(d1), one day on",
        Some(25_000),
        &[cix::rebalance(&crp.keeper.pubkey(), &crp.keys)],
        &[&crp.keeper],
    );
}

/// A crash to 10 a minute later: the breach recorded, confirmed by a print five minutes on
/// (the conversion starts), then the conversion sale in two parts, the second buying the rest
/// (the pool freezes).
fn conversion(b: &mut Bench, feed: &Feed, crp: &Crp, arb: &Arb) {
    let oracle_auth = b.oracle_auth.insecure_clone();
    let labels = [
        "debt/value past the threshold: breach recorded",
        "a print 300 s later: conversion starts",
    ];
    for (i, label) in labels.into_iter().enumerate() {
        b.set_time(b.now + if i == 0 { 60 } else { 300 });
        let p = b.push_price(&feed.perp_pool, &feed.oracle, 10.0);
        b.must("crash", &[p], &[&oracle_auth]);
        b.measure(
            "trigger_conversion",
            label,
            None,
            &[cix::trigger_conversion(&arb.kp.pubkey(), &crp.keys)],
            &[&arb.kp],
        );
    }
    let part = swap_ix(crp, arb, (false, false), 100 * E6, u64::MAX);
    let label = "conversion sale, part";
    b.measure("swap", label, Some(30_000), &[part], &[&arb.kp]);
    let left = b.crp_pool(&crp.keys.pool).risky_balance;
    let rest = swap_ix(crp, arb, (false, false), left, u64::MAX);
    let label = "conversion sale, the rest (pool freezes)";
    b.measure("swap", label, Some(30_000), &[rest], &[&arb.kp]);
}

/// At expiry: settlement, then the lender's and the borrower's redemptions of all their claims.
fn settle_and_redeem(b: &mut Bench, crp: &Crp, arb: &Arb, lender: &Lender, borrower: &Borrower) {
    let keys = &crp.keys;
    b.set_time(crp.expiry);
    let settle = cix::settle(&arb.kp.pubkey(), keys);
    b.measure("settle", "", None, &[settle], &[&arb.kp]);
    let claims = b.balance(&lender.claims);
    // a risky account for what a settlement in kind would pay (nothing here)
    let lender_risky = b.token_account(&keys.risky_mint, &lender.kp.pubkey());
    let accounts = (&lender.claims, &lender_risky, &lender.cash);
    let redeem = cix::redeem_lender(&lender.kp.pubkey(), keys, accounts, claims);
    b.measure("redeem_lender", "", None, &[redeem], &[&lender.kp]);
    let residual = b.balance(&borrower.residual);
    let accounts = (&borrower.residual, &borrower.risky, &borrower.cash);
    let redeem = cix::redeem_borrower(&borrower.kp.pubkey(), keys, accounts, residual);
    b.measure("redeem_borrower", "", None, &[redeem], &[&borrower.kp]);
}

/// The smoke check: after both redemptions the riskless vault holds only the reserve.
fn check_accounting(b: &mut Bench, crp: &Crp) {
    let pool = b.crp_pool(&crp.keys.pool);
    let vault = b.balance(&crp.keys.riskless_vault);
    if vault as u128 != pool.riskless_total()
        || pool.lender_claims != 0
        || pool.residual_supply != 0
    {
        b.failures.push(format!(
            "collateral pool: vault {vault} vs accounting {}, claims left {} / {}",
            pool.riskless_total(),
            pool.lender_claims,
            pool.residual_supply
        ));
    }
}
