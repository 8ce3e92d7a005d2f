//! Randomised sequences on a collateral rebalancing pool: lending, borrowing, swaps both ways and
//! both modes, price moves with keeper rebalances and arbitrage, conversion triggers and sales,
//! then settlement and every claim redeemed. After every step the vaults equal the pool's
//! accounting and the claim mints' supplies its claim totals; every refused action names a
//! specific error and changes nothing. At the end lenders are paid at par and every token the
//! pool held has gone to a claim holder or stays in the reserve fund.
//!
//! `KEEL_CRP_SEQUENCES` (default 24, over two test threads) and `KEEL_CRP_STEPS` (default 40)
//! size the run; a failing sequence prints its seed.

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

#[derive(Default, Debug)]
struct Tally {
    ok: [u32; 6],
    refused: [u32; 6],
    conversions: u32,
    settling: u32,
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
        fee_bps: rng.below(100),
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
    // the operator's reserve covers the interest of cash left unlent
    let operator = fx.user(&mut t, 0, 100_000 * ONE).await;
    fx.fund_reserve(&mut t, &operator, 100_000 * ONE)
        .await
        .unwrap();
    let mut price = 100.0f64;
    let mut tally = Tally::default();

    for _ in 0..steps {
        let p = fx.pool(&mut t).await;
        let kind = rng.below(6) as usize;
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
                let risky_in = rng.chance(50);
                let exact_in = rng.chance(50);
                let balance = if risky_in == exact_in {
                    p.risky_balance
                } else {
                    p.riskless_balance
                };
                let amount = 1 + rng.below(balance.max(1) * 2 / 5);
                let limit = if exact_in { 0 } else { u64::MAX };
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx
                    .swap(&mut t, &arb, risky_in, exact_in, amount, limit)
                    .await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
            3 => {
                t.advance(3_600 * (1 + rng.below(72)) as i64);
                if t.now >= fx.expiry {
                    break;
                }
                // a move of up to ±20 %
                price *= 0.8 + 0.4 * rng.below(1_001) as f64 / 1_000.0;
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
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx.trigger_conversion(&mut t, &arb).await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
            _ => {
                // the conversion sale, when there is one
                let amount = 1 + rng.below(p.risky_balance.max(1));
                let before = t.snapshot(&fx.watched(&arb)).await;
                let r = fx.swap(&mut t, &arb, false, false, amount, u64::MAX).await;
                check(&mut t, &fx, &arb, before, r, seed).await
            }
        };
        if ok {
            tally.ok[kind] += 1;
        } else {
            tally.refused[kind] += 1;
        }
        fx.assert_conserved(&mut t).await;
    }
    let p = fx.pool(&mut t).await;
    if p.status != status::ACTIVE {
        tally.conversions += 1;
    }

    // expiry: settle (selling risky first if the riskless side is short), then every claim out
    t.set_time(fx.expiry);
    fx.set_price(&mut t, price).await;
    let before = fx.pool(&mut t).await;
    if before.riskless_balance < before.debt_face && before.risky_balance > 0 {
        tally.settling += 1;
    }
    let owed = before.loan_cash + before.debt_face;
    fx.settle_fully(&mut t, &arb).await;
    let s = fx.pool(&mut t).await;
    assert_eq!(
        s.lender_assets, owed,
        "seed {seed:#x}: lenders get their unlent cash and the debt"
    );
    let mut paid = 0;
    for u in &lenders {
        let claims = t.balance(&u.claims).await;
        if claims > 0 {
            let cash = t.balance(&u.riskless).await;
            fx.redeem_lender(&mut t, u, claims).await.unwrap();
            paid += t.balance(&u.riskless).await - cash;
        }
        fx.assert_conserved(&mut t).await;
    }
    assert_eq!(
        paid, s.lender_assets,
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
        (e.risky_balance, e.riskless_balance, e.lender_assets),
        (0, 0, 0),
        "seed {seed:#x}: all paid out"
    );
    assert_eq!(t.balance(&fx.keys.riskless_vault).await, e.reserve);
    tally
}

async fn run(thread: u64) {
    let sequences = env("KEEL_CRP_SEQUENCES", 24).div_ceil(2);
    let steps = env("KEEL_CRP_STEPS", 40);
    let mut total = Tally::default();
    for i in 0..sequences {
        let tally = run_one(0xc0_11a7_0000 + thread * 1_000_000 + i, steps).await;
        for k in 0..6 {
            total.ok[k] += tally.ok[k];
            total.refused[k] += tally.refused[k];
        }
        total.conversions += tally.conversions;
        total.settling += tally.settling;
    }
    println!(
        "thread {thread}: {sequences} sequences × {steps} steps (lend, borrow, swap, move+rebalance, trigger, sale): {total:?}"
    );
    assert!(
        total.ok[0] > 0 && total.ok[1] > 0 && total.ok[2] > 0,
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
