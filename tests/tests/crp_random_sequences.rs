//! Randomised sequences on a collateral rebalancing pool: lending, borrowing, swaps both ways and
//! both modes, price moves with keeper rebalances and arbitrage, conversion triggers and sales,
//! an attacker's sandwich around a rebalance, then settlement (with a fresh price, or with the
//! oracle dead past the grace period, in kind) and every claim redeemed. A third of the
//! sequences trend up (reaching the weight's 0.99 clamp near expiry), a third down (reaching
//! the conversion), a third drift. After every step the vaults equal the pool's accounting and
//! the claim mints' supplies its claim totals; every refused action names a specific error and
//! changes nothing; a sandwich on a pool that arbitrage left at the oracle never profits. At the
//! end lenders get their unlent cash and the debt, and every token the pool held has gone to a
//! claim holder or stays in the reserve fund.
//!
//! `KEEL_CRP_SEQUENCES` (default 48, over two test threads) and `KEEL_CRP_STEPS` (default 60)
//! size the run (the counts of each state reached are printed; a longer run, e.g. 400 × 80,
//! is the same command with larger numbers); a failing sequence prints its seed.

use collateral_pool::errors::CrpError;
use collateral_pool::state::{CrpParams, status};
use keel_tests::crp::{CrpFixture, CrpUser, ONE, default_crp_params};
use keel_tests::{Rng, TestContext, TxError, crp, env};
use solana_signer::Signer;

/// Errors a random action may legitimately meet.
const EXPECTED: &[CrpError] = &[
    CrpError::LoanToValue,
    CrpError::InsufficientLiquidity,
    CrpError::TradeTooLarge,
    CrpError::SlotTradeLimit,
    CrpError::PriceOffOracle,
    CrpError::BreachNotConfirmed,
    CrpError::OracleConfidence,
    CrpError::RebalanceTooEarly,
    CrpError::BelowConversionThreshold,
    CrpError::WouldTriggerConversion,
    CrpError::Converting,
    CrpError::Converted,
    CrpError::ZeroAmount,
    CrpError::WrongState,
];

const KINDS: usize = 7;

#[derive(Default, Debug)]
struct Tally {
    /// per action: lend, borrow, swap, move+rebalance, trigger, sale, sandwich
    ok: [u32; KINDS],
    refused: [u32; KINDS],
    /// sequences whose weight reached its 0.99 or 0.01 clamp
    clamped: u32,
    conversions: u32,
    settling: u32,
    in_kind: u32,
    /// the largest sandwich profit seen, in millionths of the pool's value
    worst_sandwich_ppm: f64,
}

async fn check(
    t: &mut TestContext,
    fx: &CrpFixture,
    u: &CrpUser,
    before: Vec<Option<(u64, Vec<u8>)>>,
    r: Result<(), TxError>,
    seed: u64,
) -> bool {
    match r {
        Ok(()) => true,
        Err(e) => {
            let known = EXPECTED.iter().any(|c| e.code() == Some(crp(*c)));
            assert!(known, "seed {seed:#x}: unexpected {e:?}");
            assert_eq!(
                t.snapshot(&fx.watched(u)).await,
                before,
                "seed {seed:#x}: refused action changed state"
            );
            false
        }
    }
}

async fn run_one(seed: u64, steps: u64) -> Tally {
    let mut rng = Rng(seed);
    let mut t = TestContext::new().await;
    let params = CrpParams {
        conversion_ltv_bps: 6_000 + 500 * rng.below(5),
        ema_alpha_e9: 200_000_000 + 200_000_000 * rng.below(5),
        fee_bps: 1 + rng.below(100),
        rate_bps: 100 * rng.below(20),
        min_rebalance_interval_secs: 3_600 * (1 + rng.below(24)),
        ..default_crp_params()
    };
    let fx = CrpFixture::new(&mut t, 100.0, params).await;
    let lenders = [
        fx.user(&mut t, 0, 1_000_000 * ONE).await,
        fx.user(&mut t, 0, 1_000_000 * ONE).await,
    ];
    let borrowers = [
        fx.user(&mut t, 100_000 * ONE, 10_000_000 * ONE).await,
        fx.user(&mut t, 100_000 * ONE, 10_000_000 * ONE).await,
    ];
    let arb = fx.user(&mut t, 1_000_000 * ONE, 100_000_000 * ONE).await;
    let attacker = fx.user(&mut t, 1_000_000 * ONE, 100_000_000 * ONE).await;
    // the operator's reserve covers what defaults leave unpaid
    let operator = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.fund_reserve(&mut t, &operator, 100_000 * ONE)
        .await
        .unwrap();
    // a third trend up, a third fall hard, a third drift
    let trend = [1.08, 0.7, 1.0][rng.below(3) as usize];
    let mut price = 100.0f64;
    let mut tally = Tally::default();
    let mut clamped = false;
    // every pool starts with a loan at half its collateral's value, so a fall has debt to test
    fx.lend(&mut t, &lenders[0], 100_000 * ONE).await.unwrap();
    let w = fx
        .pool(&mut t)
        .await
        .weight_at(t.now)
        .unwrap()
        .to_num::<f64>();
    let loan = (1_000.0 * ONE as f64 * price / w * 0.5) as u64;
    fx.borrow(&mut t, &borrowers[0], 1_000 * ONE, loan)
        .await
        .unwrap();

    for _ in 0..steps {
        let p = fx.pool(&mut t).await;
        let kind = rng.below(KINDS as u64) as usize;
        let ok = match kind {
            0 => {
                let u = &lenders[rng.below(2) as usize];
                let before = t.snapshot(&fx.watched(u)).await;
                let r = fx.lend(&mut t, u, 1 + rng.below(100_000 * ONE)).await;
                check(&mut t, &fx, u, before, r, seed).await
            }
            1 => {
                let u = &borrowers[rng.below(2) as usize];
                let collateral = 1 + rng.below(1_000 * ONE);
                // a loan up to 60 % of the collateral and its riskless leg: some above 50 %
                let w = p.weight_at(t.now).unwrap().to_num::<f64>();
                let value = collateral as f64 * price / w;
                let loan = 1 + (value * 0.6 * rng.below(1_000) as f64 / 1_000.0) as u64;
                let before = t.snapshot(&fx.watched(u)).await;
                let r = fx.borrow(&mut t, u, collateral, loan).await;
                check(&mut t, &fx, u, before, r, seed).await
            }
            2 => {
                // mostly trades the oracle's band allows, some that it does not
                let risky_in = rng.chance(50);
                let exact_in = rng.chance(50);
                let balance = if risky_in == exact_in {
                    p.risky_balance
                } else {
                    p.riskless_balance
                };
                let share = if rng.chance(80) { 200 } else { 2_000 };
                let amount = 1 + rng.below((balance / share).max(1));
                let limit = if exact_in { 0 } else { u64::MAX };
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx
                    .swap(&mut t, &arb, risky_in, exact_in, amount, limit)
                    .await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
            3 => {
                t.advance(3_600 * (1 + rng.below(240)) as i64);
                if t.now >= fx.expiry {
                    break;
                }
                // a move of up to ±15 % around the sequence's trend
                price *= trend * (0.85 + 0.3 * rng.below(1_001) as f64 / 1_000.0);
                price = price.max(0.01);
                fx.set_price(&mut t, price).await;
                let keeper = fx.keeper.insecure_clone();
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = t
                    .send(
                        &[keel::client::crp::rebalance(&keeper.pubkey(), &fx.keys)],
                        &[&keeper],
                    )
                    .await;
                let ok = check(&mut t, &fx, &arb, before, r, seed).await;
                if fx.pool(&mut t).await.status == status::ACTIVE && p.risky_balance > 0 {
                    fx.arbitrage(&mut t, &arb, price).await;
                }
                ok
            }
            4 => {
                // a new print five minutes on: it may confirm a breach a rebalance recorded
                t.advance(301);
                if t.now >= fx.expiry {
                    break;
                }
                fx.set_price(&mut t, price).await;
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx.trigger_conversion(&mut t, &arb).await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
            5 => {
                // the conversion sale, when there is one
                let amount = 1 + rng.below(p.risky_balance.max(1));
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx.swap(&mut t, &arb, false, false, amount, u64::MAX).await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
            _ => {
                sandwich(
                    &mut t, &fx, &arb, &attacker, price, &mut rng, &mut tally, seed,
                )
                .await
            }
        };
        if ok {
            tally.ok[kind] += 1;
        } else {
            tally.refused[kind] += 1;
        }
        fx.assert_conserved(&mut t).await;
        let p = fx.pool(&mut t).await;
        let w = p.target_weight.fix();
        clamped |= w == keel_math::crp::MAX_WEIGHT || w == keel_math::crp::MIN_WEIGHT;
    }
    tally.clamped += clamped as u32;
    let p = fx.pool(&mut t).await;
    if p.status != status::ACTIVE {
        tally.conversions += 1;
    }

    // expiry: settle (selling risky first if the riskless side is short), then every claim out;
    // a third of the time the oracle has stopped by then and a short pool settles in kind
    t.set_time(fx.expiry);
    let dead_oracle = rng.chance(33);
    if !dead_oracle {
        fx.set_price(&mut t, price).await;
    }
    let before = fx.pool(&mut t).await;
    let short = before.riskless_balance < before.debt_face && before.risky_balance > 0;
    let owed = before.loan_cash + before.debt_face;
    if dead_oracle && short {
        tally.in_kind += 1;
        if before.status != status::SETTLING {
            fx.settle(&mut t, &arb).await.unwrap();
        }
        t.set_time(fx.expiry + collateral_pool::constants::SETTLE_GRACE_SECS);
        fx.settle(&mut t, &arb).await.unwrap();
    } else {
        if short {
            tally.settling += 1;
        }
        if dead_oracle {
            fx.set_price(&mut t, price).await;
        }
        fx.settle_fully(&mut t, &arb).await;
    }
    let s = fx.pool(&mut t).await;
    assert_eq!(s.status, status::SETTLED, "seed {seed:#x}");
    if s.lender_risky == 0 {
        assert_eq!(
            s.lender_assets, owed,
            "seed {seed:#x}: lenders get their unlent cash and the debt"
        );
    }
    fx.assert_conserved(&mut t).await;
    let (mut paid, mut paid_risky) = (0, 0);
    for u in &lenders {
        let claims = t.balance(&u.claims).await;
        if claims > 0 {
            let (cash, risky) = (t.balance(&u.riskless).await, t.balance(&u.risky).await);
            fx.redeem_lender(&mut t, u, claims).await.unwrap();
            paid += t.balance(&u.riskless).await - cash;
            paid_risky += t.balance(&u.risky).await - risky;
        }
        fx.assert_conserved(&mut t).await;
    }
    assert_eq!(
        (paid, paid_risky),
        (s.lender_assets, s.lender_risky),
        "seed {seed:#x}: every lender unit paid"
    );
    for u in &borrowers {
        let claims = t.balance(&u.residual).await;
        if claims > 0 {
            fx.redeem_borrower(&mut t, u, claims).await.unwrap();
        }
        fx.assert_conserved(&mut t).await;
    }
    let e = fx.pool(&mut t).await;
    assert_eq!((e.lender_claims, e.residual_supply), (0, 0));
    assert_eq!(
        (
            e.risky_balance,
            e.riskless_balance,
            e.lender_assets,
            e.lender_risky
        ),
        (0, 0, 0, 0),
        "seed {seed:#x}: all paid out"
    );
    assert_eq!(t.balance(&fx.keys.riskless_vault).await, e.reserve);
    tally
}

/// The attacker waits for the next rebalance, and sandwiches it on a pool arbitrage has just
/// left at the oracle: push the price as far as the program allows (either way), rebalance (he
/// holds the keeper's key), arbitrage back to the oracle, all at one clock. It may never profit
/// by more than the hundredth of a gap the arbitrageur's sizing leaves: a millionth of the
/// pool's value. Returns whether the rebalance went through.
#[allow(clippy::too_many_arguments)]
async fn sandwich(
    t: &mut TestContext,
    fx: &CrpFixture,
    arb: &CrpUser,
    attacker: &CrpUser,
    price: f64,
    rng: &mut Rng,
    tally: &mut Tally,
    seed: u64,
) -> bool {
    let p = fx.pool(t).await;
    let due = p.last_rebalance_ts + p.params.min_rebalance_interval_secs as i64;
    if p.status != status::ACTIVE || p.risky_balance == 0 || due >= fx.expiry {
        return false;
    }
    t.set_time(due.max(t.now));
    // the price must be fresh for the swaps; arbitrage, a slot at a time, until the pool's price
    // is within a thousandth of the oracle's (a large gap takes several slots under the cap)
    fx.set_price(t, price).await;
    for _ in 0..8 {
        fx.arbitrage(t, arb, price).await;
        let p = fx.pool(t).await;
        let w = p.weight_at(t.now).unwrap().to_num::<f64>();
        let spot = (p.riskless_balance as f64 / (1.0 - w)) / (p.risky_balance as f64 / w);
        if (spot / price - 1.0).abs() < 1e-3 {
            break;
        }
        t.advance(1);
    }
    let p = fx.pool(t).await;
    let w = p.weight_at(t.now).unwrap().to_num::<f64>();
    let spot = (p.riskless_balance as f64 / (1.0 - w)) / (p.risky_balance as f64 / w);
    if (spot / price - 1.0).abs() >= 1e-3 {
        return false;
    }
    let value = |risky: u64, riskless: u64| risky as f64 * price + riskless as f64;
    let (r0, c0) = (
        t.balance(&attacker.risky).await,
        t.balance(&attacker.riskless).await,
    );
    let pool = fx.pool(t).await;
    let pool_value = value(pool.risky_balance, pool.riskless_balance);
    fx.push(t, attacker, rng.chance(50), 3).await;
    let rebalanced = fx.rebalance(t).await.is_ok();
    if fx.pool(t).await.status == status::ACTIVE {
        fx.arbitrage(t, attacker, price).await;
    }
    let (r1, c1) = (
        t.balance(&attacker.risky).await,
        t.balance(&attacker.riskless).await,
    );
    let profit = value(r1, c1) - value(r0, c0);
    let ppm = profit / pool_value * 1e6;
    tally.worst_sandwich_ppm = tally.worst_sandwich_ppm.max(ppm);
    assert!(
        ppm <= 1.0,
        "seed {seed:#x}: a sandwich made {profit} on a pool of {pool_value} ({ppm} ppm)"
    );
    rebalanced
}

async fn run(thread: u64) {
    let sequences = env("KEEL_CRP_SEQUENCES", 48).div_ceil(2);
    let steps = env("KEEL_CRP_STEPS", 60);
    let mut total = Tally::default();
    for i in 0..sequences {
        let tally = run_one(0xc0_11a7_0000 + thread * 1_000_000 + i, steps).await;
        for k in 0..KINDS {
            total.ok[k] += tally.ok[k];
            total.refused[k] += tally.refused[k];
        }
        total.clamped += tally.clamped;
        total.conversions += tally.conversions;
        total.settling += tally.settling;
        total.in_kind += tally.in_kind;
        total.worst_sandwich_ppm = total.worst_sandwich_ppm.max(tally.worst_sandwich_ppm);
    }
    println!(
        "thread {thread}: {sequences} sequences × {steps} steps (lend, borrow, swap, move+rebalance, trigger, sale, sandwich): {total:?}"
    );
    assert!(
        total.ok[0] > 0 && total.ok[1] > 0 && total.ok[2] > 0 && total.ok[6] > 0,
        "the sequences did something"
    );
}

#[tokio::test]
async fn random_crp_sequences_conserve_money_0() {
    run(0).await;
}

#[tokio::test]
async fn random_crp_sequences_conserve_money_1() {
    run(1).await;
}
