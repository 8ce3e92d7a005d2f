//! Orders through keepers: what a request buys a trader, an LP or a keeper, tried as an attacker
//! would. Every fill is on a print published after its request and at most 10 s old, never
//! older than its market's latest; a deposit cannot leave in the transaction (or the delay) it
//! came in; trigger orders fill at the oracle price once crossed; the owner cannot veto his own
//! request; cancels and clears return everything.

use anchor_lang::prelude::Pubkey;
use keel_tests::fixture::{E6, E9, KEEPER_FEE, PerpFixture, order};
use keel_tests::{TestContext, TxError, User, assert_code, ix, perp};
use perp_amm::errors::PerpError::*;
use perp_amm::instructions::{PlaceLpRequestArgs, PlaceOrderArgs};
use perp_amm::state::{RequestKind, RequestParams};
use solana_signer::Signer;

/// A one-market pool at 100 with `lp_capital` from one LP and `delay` seconds of withdrawal
/// delay.
async fn pool(lp_capital: u64, delay: u32) -> (TestContext, PerpFixture, User, Pubkey) {
    let mut t = TestContext::new().await;
    let f = PerpFixture::new(&mut t, &[100.0]).await;
    let admin = t.admin.insecure_clone();
    let params = RequestParams {
        withdrawal_delay_secs: delay,
        ..keel_tests::fixture::test_request_params()
    };
    t.send(
        &[ix::set_request_params(&admin.pubkey(), &f.pool, params)],
        &[&admin],
    )
    .await
    .unwrap();
    let lp = t.user(lp_capital).await;
    let lp_acct = f.lp_account(&mut t, &lp).await;
    f.deposit(&mut t, &lp, &lp_acct, lp_capital).await.unwrap();
    (t, f, lp, lp_acct)
}

/// A push-oracle print of `price` (the fixture's 6-decimal prices) stamped `at`.
fn push(price: f64, at: i64) -> perp_amm::instructions::PushPriceArgs {
    perp_amm::instructions::PushPriceArgs {
        price: (price * 1e6).round() as i64,
        conf: 0,
        publish_time: at,
    }
}

fn ref_of(key: Pubkey, r: &perp_amm::state::Request) -> ix::RequestRef {
    ix::RequestRef::of(key, r)
}

/// Flash liquidity: a deposit, a trade and a withdrawal in one transaction. None of the three
/// requests can execute in the transaction that placed it, even with a fresh print in that
/// transaction; done in sequence, the deposit that cheapened the trade's premium is held for
/// the pool's delay, bearing the book.
#[tokio::test]
async fn a_deposit_a_trade_and_a_withdrawal_cannot_share_a_transaction() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 86_400).await;
    let attacker = t.user(100_300_000 * E6).await;
    let attacker_lp = f.lp_account(&mut t, &attacker).await;
    let keeper = f.keeper(&mut t).await;
    let oracle_auth = t.oracle_authority.insecure_clone();
    let m = &f.markets[0];
    let push = ix::update_push_oracle(
        &oracle_auth.pubkey(),
        &f.pool,
        &m.oracle,
        push(100.0, t.now),
    );
    let deposit = PlaceLpRequestArgs {
        slot: 0,
        kind: RequestKind::Deposit,
        amount: 100_000_000 * E6,
        min_out: 0,
        keeper_fee: KEEPER_FEE,
        request_bump: 0,
    };
    let place_deposit = ix::place_lp_request(
        &attacker.key(),
        &f.pool,
        &attacker.quote,
        &attacker_lp,
        deposit,
    );
    let deposit_ref = ix::RequestRef {
        request: ix::request_pda(&f.pool, &attacker.key(), 0),
        owner: attacker.key(),
        market: Pubkey::default(),
        pay_to: attacker_lp,
        refund_to: attacker.quote,
    };
    let execute_deposit =
        ix::execute_lp_request(&keeper.key(), &f.pool, &deposit_ref, &f.oracles());
    let watched = [f.pool, f.vault, attacker.quote, attacker_lp];
    let before = t.snapshot(&watched).await;
    let r = t
        .send(
            &[place_deposit.clone(), push.clone(), execute_deposit.clone()],
            &[&attacker.kp, &oracle_auth, &keeper.kp],
        )
        .await;
    assert_code(r, perp(RequestNotReady));
    assert!(before == t.snapshot(&watched).await);

    // the premium of a 30,000-unit long (3M notional) against 1M of LP capital, as quoted now
    let size = 30_000 * E6 as i64;
    let premium_alone = quote_premium(&mut t, &f, &attacker, size).await;
    // in sequence: the deposit executes on a later print, and the same long then pays less
    t.send(&[place_deposit], &[&attacker.kp]).await.unwrap();
    t.advance(1);
    f.refresh_prices(&mut t).await;
    t.send(&[execute_deposit], &[&keeper.kp]).await.unwrap();
    let premium_with_deposit = quote_premium(&mut t, &f, &attacker, size).await;
    println!(
        "premium of a 3M long: {:.2} on 1M of LP capital, {:.2} with 100M deposited",
        premium_alone as f64 / 1e6,
        premium_with_deposit as f64 / 1e6
    );
    assert!(premium_with_deposit * 10 < premium_alone);
    f.open(&mut t, &attacker, 0, size, 300_000 * E6)
        .await
        .unwrap();
    // but the 100M cannot leave before the day is out: it carries the pool's book until then
    let shares = t.balance(&attacker_lp).await;
    f.place_withdrawal(&mut t, &attacker, &attacker_lp, 1, shares, 0)
        .await
        .unwrap();
    t.advance(3_600);
    f.refresh_prices(&mut t).await;
    let r = f.execute(&mut t, &keeper, &attacker.key(), 1).await;
    assert_eq!(r, Err(TxError::Custom(perp(RequestNotReady))));
    t.advance(86_400 - 3_600 + 1);
    f.refresh_prices(&mut t).await;
    assert_eq!(
        f.execute(&mut t, &keeper, &attacker.key(), 1).await,
        Ok(None)
    );
    t.assert_vault_balanced(&f.pool).await;
}

/// The premium the program's own code quotes for an open of `size` by `user` now.
async fn quote_premium(t: &mut TestContext, f: &PerpFixture, user: &User, size: i64) -> i64 {
    use keel::client::quote::{TradeAction, TradeView, quote_trade};
    let market = t.market(&f.markets[0].key).await;
    let pool = t.pool(&f.pool).await;
    let oracle = t.account_data(&f.markets[0].oracle).await.unwrap();
    let view = TradeView {
        pool_key: f.pool,
        pool,
        market,
        position: None,
        oracle: keel::transport::RawAccount {
            owner: perp_amm::ID,
            lamports: 0,
            data: oracle,
        },
        model: None,
        calendar: None,
    };
    let action = TradeAction::Open {
        size,
        collateral: 300_000 * E6,
    };
    quote_trade(&view, &user.key(), action, u64::MAX, t.now)
        .unwrap()
        .quote
        .premium
}

/// Choose your price: an order fills only on a print published after it, at most 10 s old; the
/// print already in the account when the order was placed (however fresh) does not count.
#[tokio::test]
async fn an_order_fills_only_on_a_print_published_after_it() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let trader = t.user(10_000 * E6).await;
    let keeper = f.keeper(&mut t).await;
    f.set_price(&mut t, 0, 100.0, 0.0).await; // fresh, at the moment of the order
    f.place(
        &mut t,
        &trader,
        0,
        order(RequestKind::MarketIncrease, 10 * E6 as i64, 100 * E6),
    )
    .await
    .unwrap();
    let position = f.position(0, &trader.key());
    let before = t.snapshot(&[f.pool, f.vault, position]).await;
    assert_eq!(
        f.execute(&mut t, &keeper, &trader.key(), 0).await,
        Err(TxError::Custom(perp(PriceBeforeRequest)))
    );
    // a second later, still the old print
    t.advance(1);
    assert_eq!(
        f.execute(&mut t, &keeper, &trader.key(), 0).await,
        Err(TxError::Custom(perp(PriceBeforeRequest)))
    );
    assert!(before == t.snapshot(&[f.pool, f.vault, position]).await);
    // a new print at 101: the order fills there, not at the 100 it was placed at
    f.set_price(&mut t, 0, 101.0, 0.0).await;
    // ... but not once that print is more than 10 s old
    t.advance(11);
    assert_eq!(
        f.execute(&mut t, &keeper, &trader.key(), 0).await,
        Err(TxError::Custom(perp(ExecutionPriceTooOld)))
    );
    t.advance(-10);
    t.set_time(t.now); // back to 1 s after the print
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    let p = t.position(&position).await.unwrap();
    assert_eq!(p.size, 10 * E6 as i64);
    // entry = size · the index price of the fill: 101, not 100
    assert_eq!(p.entry_notional, 1_010 * E6 as i64);
    assert_eq!(t.pool(&f.pool).await.markets[0].last_price_ts, t.now - 1);
}

/// Move the price inside one transaction: an LP's deposit executes, the feed moves, and a
/// withdrawal placed and executed in the same transaction would cash the move: it cannot, with
/// or without a withdrawal delay.
#[tokio::test]
async fn a_deposit_an_oracle_update_and_a_withdrawal_cannot_share_a_transaction() {
    for delay in [0, 3_600] {
        let (mut t, f, _lp, _) = pool(1_000_000 * E6, delay).await;
        let trader = t.user(100_000 * E6).await;
        f.open(&mut t, &trader, 0, 1_000 * E6 as i64, 20_000 * E6)
            .await
            .unwrap();
        let lp = t.user(1_000_000 * E6).await;
        let lp_acct = f.lp_account(&mut t, &lp).await;
        f.deposit(&mut t, &lp, &lp_acct, 500_000 * E6)
            .await
            .unwrap();
        let keeper = f.keeper(&mut t).await;
        let oracle_auth = t.oracle_authority.insecure_clone();
        t.advance(1);
        // the traders' long loses 10 %: the pool is worth more
        let push = ix::update_push_oracle(
            &oracle_auth.pubkey(),
            &f.pool,
            &f.markets[0].oracle,
            push(90.0, t.now),
        );
        let shares = t.balance(&lp_acct).await;
        let args = PlaceLpRequestArgs {
            slot: 0,
            kind: RequestKind::Withdraw,
            amount: shares,
            min_out: 0,
            keeper_fee: KEEPER_FEE,
            request_bump: 0,
        };
        let place = ix::place_lp_request(&lp.key(), &f.pool, &lp.quote, &lp_acct, args);
        let r = ix::RequestRef {
            request: ix::request_pda(&f.pool, &lp.key(), 0),
            owner: lp.key(),
            market: Pubkey::default(),
            pay_to: lp.quote,
            refund_to: lp_acct,
        };
        let execute = ix::execute_lp_request(&keeper.key(), &f.pool, &r, &f.oracles());
        let watched = [f.pool, f.vault, lp.quote, lp_acct];
        let before = t.snapshot(&watched).await;
        let result = t
            .send(&[push, place, execute], &[&oracle_auth, &lp.kp, &keeper.kp])
            .await;
        assert_code(result, perp(RequestNotReady));
        assert!(before == t.snapshot(&watched).await, "delay {delay}");
    }
}

/// A keeper — or the owner executing his own order — picks the moment, and so the print, among
/// those published in the order's window (30 s) and at most 10 s before execution; outside it,
/// nothing. Over a path rising 1 bp a second, the best a long can get is the first print after
/// the order, and the worst the last in the window: the choice is worth the path's range over
/// the window and no more.
#[tokio::test]
async fn a_keepers_choice_of_print_is_bounded_by_the_window() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let keeper = f.keeper(&mut t).await;
    let mut fills = vec![];
    for wait in [1, 15, 30, 31] {
        let trader = t.user(10_000 * E6).await;
        let start = t.now;
        f.set_price(&mut t, 0, 100.0, 0.0).await;
        f.place(
            &mut t,
            &trader,
            0,
            order(RequestKind::MarketIncrease, 10 * E6 as i64, 100 * E6),
        )
        .await
        .unwrap();
        // a print every second, 1 bp higher each
        for s in 1..=wait {
            t.set_time(start + s);
            f.set_price(&mut t, 0, 100.0 * (1.0 + 1e-4 * s as f64), 0.0)
                .await;
        }
        let r = f.execute(&mut t, &keeper, &trader.key(), 0).await;
        if wait > 30 {
            assert_eq!(r, Err(TxError::Custom(perp(RequestExpired))));
            continue;
        }
        assert_eq!(r, Ok(None));
        let p = t.position(&f.position(0, &trader.key())).await.unwrap();
        fills.push(p.entry_notional);
        t.advance(60);
    }
    // 10 units: 1 bp of 100 is 0.1 quote per second of waiting
    let (first, last) = (fills[0], fills[2]);
    assert!(last > first);
    let range = 10 * 100 * 29 * E6 / 10_000; // 29 s of the path, 2.9 quote
    assert!(
        (last - first) as u64 <= range + range / 10,
        "{first} {last}"
    );
}

/// Limit, take-profit and stop-loss orders fill at the oracle price once it crosses their
/// trigger (not at the trigger), and a take-profit or stop-loss whose position closed is
/// cleared by anyone, its rent and fee back to the owner.
#[tokio::test]
async fn trigger_orders_fill_at_the_oracle_price_once_crossed() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let trader = t.user(10_000 * E6).await;
    let keeper = f.keeper(&mut t).await;
    let far = t.now + 86_400;
    // a limit long at 95
    let limit = PlaceOrderArgs {
        trigger_price_e9: 95 * E9,
        expires_ts: far,
        ..order(RequestKind::LimitIncrease, 10 * E6 as i64, 100 * E6)
    };
    f.place(&mut t, &trader, 0, limit).await.unwrap();
    t.advance(1);
    f.set_price(&mut t, 0, 96.0, 0.0).await;
    assert_eq!(
        f.execute(&mut t, &keeper, &trader.key(), 0).await,
        Err(TxError::Custom(perp(TriggerNotReached)))
    );
    t.advance(1);
    f.set_price(&mut t, 0, 94.0, 0.0).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    let pos_key = f.position(0, &trader.key());
    let p = t.position(&pos_key).await.unwrap();
    // filled at the oracle's 94 (the index price of the entry), not at the trigger's 95
    assert_eq!(p.entry_notional, 940 * E6 as i64);
    // a take-profit at 105 and a stop-loss at 90
    let tp = PlaceOrderArgs {
        slot: 1,
        trigger_price_e9: 105 * E9,
        expires_ts: far,
        ..order(RequestKind::TakeProfit, 0, 0)
    };
    let sl = PlaceOrderArgs {
        slot: 2,
        trigger_price_e9: 90 * E9,
        expires_ts: far,
        ..order(RequestKind::StopLoss, 0, 0)
    };
    f.place(&mut t, &trader, 0, tp).await.unwrap();
    f.place(&mut t, &trader, 0, sl).await.unwrap();
    t.advance(1);
    f.set_price(&mut t, 0, 104.0, 0.0).await;
    for slot in [1, 2] {
        assert_eq!(
            f.execute(&mut t, &keeper, &trader.key(), slot).await,
            Err(TxError::Custom(perp(TriggerNotReached)))
        );
    }
    t.advance(1);
    f.set_price(&mut t, 0, 107.0, 0.0).await;
    let balance = t.balance(&trader.quote).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 1).await, Ok(None));
    let paid = t.balance(&trader.quote).await - balance;
    // about 99 of margin + 10·(107 − 94) = 130 of profit, less fees and premium
    assert!(paid > 220 * E6 && paid < 232 * E6, "{paid}");
    // the stop-loss names a position that is gone: a stranger clears it, the owner is repaid
    let (key, request) = f.request(&mut t, &trader.key(), 2).await.unwrap();
    assert_eq!(
        f.execute(&mut t, &keeper, &trader.key(), 2).await,
        Err(TxError::Custom(perp(PositionChanged)))
    );
    let lamports = t.lamports(&trader.key()).await;
    let rent = t.lamports(&key).await;
    let clear = ix::cancel_request(&keeper.key(), &f.pool, &ref_of(key, &request));
    t.send(&[clear], &[&keeper.kp]).await.unwrap();
    // the request's rent and fee, and the position account's rent (nothing names it now)
    assert!(t.lamports(&trader.key()).await >= lamports + rent);
    assert!(t.position(&pos_key).await.is_none());
    t.assert_vault_balanced(&f.pool).await;
}

/// A stop-loss fills on a gap through its trigger at whatever price the market gapped to.
#[tokio::test]
async fn a_stop_loss_fills_through_a_gap() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let trader = t.user(10_000 * E6).await;
    let keeper = f.keeper(&mut t).await;
    f.open(&mut t, &trader, 0, -10 * E6 as i64, 200 * E6)
        .await
        .unwrap();
    // a short's stop above: 104
    let sl = PlaceOrderArgs {
        trigger_price_e9: 104 * E9,
        expires_ts: t.now + 86_400,
        ..order(RequestKind::StopLoss, 0, 0)
    };
    f.place(&mut t, &trader, 0, sl).await.unwrap();
    t.advance(1);
    f.set_price(&mut t, 0, 110.0, 0.0).await;
    let balance = t.balance(&trader.quote).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    let paid = t.balance(&trader.quote).await - balance;
    // 199-ish of margin less 10·(110 − 100) = 100 of loss, fees and premium
    assert!(paid > 90 * E6 && paid < 100 * E6, "{paid}");
    assert!(t.position(&f.position(0, &trader.key())).await.is_none());
}

/// The owner cancels a trigger order: escrow, rent, fee and the empty position's rent all come
/// back, to the lamport; a market order cannot be cancelled before it expires, and then anyone
/// clears it; an executing keeper earns exactly the fee.
#[tokio::test]
async fn cancels_and_clears_return_everything_and_keepers_earn_the_fee() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let trader = t.user(10_000 * E6).await;
    let keeper = f.keeper(&mut t).await;
    let (lamports, quote) = (
        t.lamports(&trader.key()).await,
        t.balance(&trader.quote).await,
    );
    let limit = PlaceOrderArgs {
        trigger_price_e9: 90 * E9,
        expires_ts: t.now + 86_400,
        keeper_fee: 1_000_000,
        request_bump: 0,
        position_bump: 0,
        ..order(RequestKind::LimitIncrease, 10 * E6 as i64, 100 * E6)
    };
    f.place(&mut t, &trader, 0, limit).await.unwrap();
    assert_eq!(t.balance(&trader.quote).await, quote - 100 * E6);
    assert_eq!(t.pool(&f.pool).await.request_escrow, 100 * E6);
    t.assert_vault_balanced(&f.pool).await;
    let (key, request) = f.request(&mut t, &trader.key(), 0).await.unwrap();
    let cancel = ix::cancel_request(&trader.key(), &f.pool, &ref_of(key, &request));
    t.send(&[cancel], &[&trader.kp]).await.unwrap();
    assert_eq!(t.lamports(&trader.key()).await, lamports);
    assert_eq!(t.balance(&trader.quote).await, quote);
    assert_eq!(t.pool(&f.pool).await.request_escrow, 0);
    assert!(t.position(&f.position(0, &trader.key())).await.is_none());

    // a market order: not the owner's to cancel before expiry
    f.place(
        &mut t,
        &trader,
        0,
        order(RequestKind::MarketIncrease, 10 * E6 as i64, 100 * E6),
    )
    .await
    .unwrap();
    let (key, request) = f.request(&mut t, &trader.key(), 0).await.unwrap();
    let cancel = ix::cancel_request(&trader.key(), &f.pool, &ref_of(key, &request));
    assert_code(t.send(&[cancel], &[&trader.kp]).await, perp(CancelTooEarly));
    let clear = ix::cancel_request(&keeper.key(), &f.pool, &ref_of(key, &request));
    assert_code(
        t.send(std::slice::from_ref(&clear), &[&keeper.kp]).await,
        perp(RequestNotExpired),
    );
    t.advance(31);
    t.send(&[clear], &[&keeper.kp]).await.unwrap();
    assert_eq!(t.lamports(&trader.key()).await, lamports);
    assert_eq!(t.balance(&trader.quote).await, quote);

    // executed: the keeper earns the fee, the owner gets the request's rent back
    f.place(
        &mut t,
        &trader,
        0,
        order(RequestKind::MarketIncrease, 10 * E6 as i64, 100 * E6),
    )
    .await
    .unwrap();
    let keeper_lamports = t.lamports(&keeper.key()).await;
    t.advance(1);
    f.republish(&mut t, 0).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    assert_eq!(
        t.lamports(&keeper.key()).await,
        keeper_lamports + KEEPER_FEE
    );
    // what the trader still pays for: the position account's rent and the fee
    let position_rent = t.lamports(&f.position(0, &trader.key())).await;
    assert_eq!(
        t.lamports(&trader.key()).await,
        lamports - position_rent - KEEPER_FEE
    );
}

/// The owner cannot veto his own order by closing the account it pays into: the execution goes
/// on, the payout waits in the position, and a margin-removal request claims it into another
/// account.
#[tokio::test]
async fn closing_the_payout_account_does_not_block_execution() {
    let (mut t, f, _lp, _) = pool(1_000_000 * E6, 0).await;
    let trader = t.user(1_000 * E6).await;
    let keeper = f.keeper(&mut t).await;
    f.open(&mut t, &trader, 0, 10 * E6 as i64, 100 * E6)
        .await
        .unwrap();
    f.place(&mut t, &trader, 0, order(RequestKind::MarketReduce, 0, 0))
        .await
        .unwrap();
    // the trader empties and closes the account the close would pay into
    let mint = t.quote_mint;
    let elsewhere = t.create_token_account(&mint, &trader.key()).await;
    let balance = t.balance(&trader.quote).await;
    t.empty_and_close(&trader, &trader.quote, &elsewhere).await;
    t.advance(1);
    f.republish(&mut t, 0).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    let pos_key = f.position(0, &trader.key());
    let parked = t.position(&pos_key).await.unwrap();
    assert_eq!(parked.size, 0);
    assert!(parked.collateral > 90 * E6, "{}", parked.collateral);
    t.assert_vault_balanced(&f.pool).await;
    // claimed into the other account
    let claimer = User {
        kp: trader.kp.insecure_clone(),
        quote: elsewhere,
    };
    let claim = order(RequestKind::RemoveCollateral, 0, parked.collateral);
    f.place(&mut t, &claimer, 0, claim).await.unwrap();
    t.advance(1);
    f.republish(&mut t, 0).await;
    assert_eq!(f.execute(&mut t, &keeper, &trader.key(), 0).await, Ok(None));
    assert_eq!(t.balance(&elsewhere).await, balance + parked.collateral);
    assert!(t.position(&pos_key).await.is_none());
    t.assert_vault_balanced(&f.pool).await;
}

/// Nor can an LP hold his withdrawal back by closing the account it pays into (to execute it
/// himself when it suits him): the keeper's execution refuses it and returns the shares, as the
/// owner's own cancel would.
#[tokio::test]
async fn closing_the_withdrawals_payout_account_cancels_it() {
    let (mut t, f, lp, lp_acct) = pool(1_000_000 * E6, 0).await;
    let keeper = f.keeper(&mut t).await;
    let shares = t.balance(&lp_acct).await;
    f.place_withdrawal(&mut t, &lp, &lp_acct, 0, shares / 10, 0)
        .await
        .unwrap();
    // the LP empties and closes its quote account
    let mint = t.quote_mint;
    let elsewhere = t.create_token_account(&mint, &lp.key()).await;
    t.empty_and_close(&lp, &lp.quote, &elsewhere).await;
    t.advance(1);
    let pool_before = t.pool(&f.pool).await;
    assert_eq!(
        f.execute(&mut t, &keeper, &lp.key(), 0).await,
        Ok(Some(perp(WrongPayoutAccount)))
    );
    assert_eq!(t.balance(&lp_acct).await, shares);
    assert!(f.request(&mut t, &lp.key(), 0).await.is_none());
    let pool_after = t.pool(&f.pool).await;
    assert_eq!(pool_after.lp_capital, pool_before.lp_capital);
    t.assert_vault_balanced(&f.pool).await;
}
