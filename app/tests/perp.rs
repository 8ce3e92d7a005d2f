//! The per-role commands (`status`, `quote`, `lp`, `trade`, `orders`) through the embedded
//! transport, with `keeper run` executing their requests: what they report matches the chain, a
//! quote changes nothing and equals the fill that follows, bad input fails with a clear message
//! and leaves every account as it was, and a first-time user with only SOL and quote tokens
//! needs no other account.

mod common;

use anchor_lang::prelude::Pubkey;
use keel::client::dates::noon;
use keel::client::presets::{calibration, default_markets};
use keel::client::token::{associated_token_address, create_ata_idempotent};
use keel::commands::perp::{
    self, LpAccounts, LpAmount, LpCommand, LpShares, PoolArg, QuoteArgs, TradeKind, TradeOrder,
};
use keel::sandbox::desk::{Desk, Lp};
use keel::sandbox::limits;
use keel::sandbox::world::{USD, World};
use keel::transport::Transport;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn setup() -> (Desk, Lp, keel::sandbox::world::Actor) {
    let presets = default_markets();
    let prices: Vec<f64> = presets.iter().map(|m| m.price).collect();
    let now = noon("2024-01-02").unwrap();
    let world = World::new(now, &presets, &prices, limits(1_000)).unwrap();
    let mut desk = Desk::new(world, "2024-01-02".into()).unwrap();
    let (sigma, corr) = calibration(presets.len());
    desk.publish_risk(sigma, corr).unwrap();
    let lp = desk.lp("lp", 2_000_000 * USD).unwrap();
    let trader = desk.world.actor("trader", 100_000 * USD).unwrap();
    (desk, lp, trader)
}

fn pool(pool: Pubkey) -> PoolArg {
    PoolArg { pool }
}

/// A keeper round `secs` later, after the day's prices are published again (a price newer than
/// the requests): it executes what is pending. Returns the round.
fn settle_after(desk: &mut Desk, secs: i64) -> keel::commands::keeper::Round {
    use keel::commands::keeper::{KeeperArgs, run_round};
    let now = desk.world.now + secs;
    desk.world.set_time(now);
    let prices = desk.world.prices.clone();
    desk.world.push_prices(&prices).unwrap();
    let args = KeeperArgs {
        pool: pool(desk.world.pool),
        crp: vec![],
        quote_account: Some(desk.keeper.quote),
        interval: 0,
        rounds: 1,
        retries: 1,
        risk_prices: None,
        risk_markets: vec![],
        risk_window: 60,
    };
    let keeper = desk.keeper.kp.insecure_clone();
    let round = run_round(&mut desk.world.chain, &keeper, &args).unwrap();
    assert!(round.errors.is_empty(), "{}", round.to_text());
    round
}

fn settle(desk: &mut Desk) -> keel::commands::keeper::Round {
    settle_after(desk, 1)
}

fn order(
    pk: Pubkey,
    trader: &keel::sandbox::world::Actor,
    market: &str,
    size: f64,
    collateral: f64,
) -> TradeOrder {
    TradeOrder {
        pool: pool(pk),
        market: market.into(),
        size,
        collateral,
        slippage_bps: 50,
        quote_account: Some(trader.quote),
        limit: None,
        take_profit: None,
        stop_loss: None,
        expires_hours: 168,
        request: Default::default(),
    }
}

/// Every account a failed command must leave untouched.
fn snapshot(desk: &mut Desk, extra: &[Pubkey]) -> Vec<Option<Vec<u8>>> {
    let mut keys = vec![desk.world.pool, desk.world.vault, desk.world.lp_mint];
    keys.extend(desk.world.markets.iter().map(|m| m.key));
    keys.extend_from_slice(extra);
    keys.iter()
        .map(|k| desk.world.chain.account_data(k).unwrap())
        .collect()
}

fn deposit(desk: &mut Desk, lp: &Lp, amount: f64) -> anyhow::Result<perp::LpReport> {
    let cmd = LpCommand::Deposit(LpAmount {
        accounts: LpAccounts {
            pool: pool(desk.world.pool),
            quote_account: Some(lp.actor.quote),
            lp_account: Some(lp.lp_account),
            request: Default::default(),
        },
        amount,
        min_shares: 0,
    });
    let placed = perp::lp(&mut desk.world.chain, &lp.actor.kp, &cmd)?;
    let round = settle(desk);
    assert_eq!(round.requests_executed, 1, "{}", round.to_text());
    Ok(placed)
}

#[test]
fn an_lp_and_a_trader_go_through_their_commands() {
    let (mut desk, lp, trader) = setup();
    let pk = desk.world.pool;
    let r = deposit(&mut desk, &lp, 1_500_000.0).unwrap();
    assert_eq!(r.quote_moved, 1_500_000 * USD);
    // the shares are minted when the keeper executes the request
    assert_eq!(r.shares_moved, 0);
    assert!(desk.world.balance(&lp.lp_account).unwrap() > 0);

    let s = perp::status(&mut desk.world.chain, &desk.world.pool).unwrap();
    assert_eq!(s.lp_capital, 1_500_000.0);
    assert_eq!(s.markets.len(), 10);
    assert_eq!(s.markets[0].symbol, "BTC-PERP");
    assert_eq!(s.markets[0].price, Some(65_000.0));
    assert_eq!(s.imbalance_score, 0.0);
    assert_eq!(s.imbalance_limit, 150_000.0);
    assert!(s.to_text().contains("BTC-PERP"));

    // a quote reads the chain and changes nothing
    let before = snapshot(&mut desk, &[trader.quote]);
    let q = perp::quote(
        &mut desk.world.chain,
        &trader.key(),
        &QuoteArgs {
            pool: pool(pk),
            market: "BTC-PERP".into(),
            size: 0.5,
            collateral: 5_000.0,
            owner: None,
        },
    )
    .unwrap();
    assert_eq!(snapshot(&mut desk, &[trader.quote]), before);
    assert_eq!(q.status, "quote");
    assert_eq!(q.action, "open");
    // 5 bps fee + 2 bps half-spread on 32,500
    assert_eq!(q.quote.fees, 22_750_000);
    assert!(q.quote.imbalance_after > 0);

    // the fill is the quote
    let filled = perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "BTC-PERP", 0.5, 5_000.0),
    )
    .unwrap();
    assert_eq!(filled.status, "placed");
    assert_eq!(filled.order.as_deref(), Some("market increase"));
    // nothing fills until a keeper executes the request at a price published after it (the
    // execution creates the position account, with rent the request holds)
    assert!(desk.world.position(0, &trader.key()).unwrap().is_none());
    let round = settle(&mut desk);
    assert_eq!(round.requests_executed, 1, "{}", round.to_text());
    assert_eq!(filled.quote.fees, q.quote.fees);
    assert_eq!(filled.quote.premium, q.quote.premium);
    assert_eq!(filled.quote.imbalance_after, q.quote.imbalance_after);
    let position = desk.world.position(0, &trader.key()).unwrap().unwrap();
    assert_eq!(position.size, 50_000_000);
    assert_eq!(position.collateral, filled.quote.position_collateral);
    let s = perp::status(&mut desk.world.chain, &desk.world.pool).unwrap();
    assert_eq!(s.markets[0].long_oi, 0.5);
    assert_eq!(s.imbalance_score, q.quote.imbalance_after as f64 / 1e3);

    // a quote of the opposite side on an open position is a decrease
    let q = perp::quote(
        &mut desk.world.chain,
        &trader.key(),
        &QuoteArgs {
            pool: pool(pk),
            market: "BTC-PERP".into(),
            size: -0.2,
            collateral: 0.0,
            owner: None,
        },
    )
    .unwrap();
    assert_eq!(q.action, "decrease");
    perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Decrease,
        &order(pk, &trader, "BTC-PERP", 0.2, 0.0),
    )
    .unwrap();
    settle(&mut desk);
    assert_eq!(
        desk.world.position(0, &trader.key()).unwrap().unwrap().size,
        30_000_000
    );
    let balance = desk.world.balance(&trader.quote).unwrap();
    let closed = perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Close,
        &order(pk, &trader, "BTC-PERP", 0.0, 0.0),
    )
    .unwrap();
    settle(&mut desk);
    assert!(desk.world.position(0, &trader.key()).unwrap().is_none());
    // the quote at placement, the fill a second later: one more second of funding at most
    let paid = desk.world.balance(&trader.quote).unwrap() - balance;
    assert!(
        paid <= closed.quote.payout && closed.quote.payout - paid < 1_000,
        "{paid}"
    );

    // the LP takes a tenth of its shares back
    let shares = desk.world.balance(&lp.lp_account).unwrap() / 10;
    let cmd = LpCommand::Withdraw(LpShares {
        accounts: LpAccounts {
            pool: pool(pk),
            quote_account: Some(lp.actor.quote),
            lp_account: Some(lp.lp_account),
            request: Default::default(),
        },
        shares,
        min_amount: 0,
    });
    let before = desk.world.balance(&lp.actor.quote).unwrap();
    let r = perp::lp(&mut desk.world.chain, &lp.actor.kp, &cmd).unwrap();
    // the shares are escrowed now; the quote tokens come after the pool's delay
    assert_eq!(r.shares_moved, shares);
    assert_eq!(r.quote_moved, 0);
    assert_eq!(r.executable_ts, desk.world.now + 86_400);
    let early = settle(&mut desk);
    assert_eq!(early.requests_waiting, 1, "{}", early.to_text());
    let late = settle_after(&mut desk, 86_400);
    assert_eq!(late.requests_executed, 1, "{}", late.to_text());
    let paid = desk.world.balance(&lp.actor.quote).unwrap() - before;
    assert!(paid > 149_000 * USD, "{paid}");
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let (mut desk, lp, trader) = setup();
    let pk = desk.world.pool;
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let watched = [trader.quote, lp.actor.quote, lp.lp_account];
    let before = snapshot(&mut desk, &watched);
    let err = |r: anyhow::Result<perp::TradeReport>| format!("{:#}", r.unwrap_err());

    let e = err(perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "DOGE-PERP", 1.0, 1_000.0),
    ));
    assert!(e.contains("no market DOGE-PERP"), "{e}");
    let e = err(perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "BTC-PERP", 0.0, 1_000.0),
    ));
    assert!(e.contains("ZeroAmount"), "{e}");
    // 10 BTC on 1,000 of collateral: far past 50x
    let e = err(perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "BTC-PERP", 10.0, 1_000.0),
    ));
    assert!(e.contains("MaxLeverage"), "{e}");
    let e = err(perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Close,
        &order(pk, &trader, "ETH-PERP", 0.0, 0.0),
    ));
    assert!(e.contains("no open position"), "{e}");
    // more collateral than the trader holds: the token program refuses the transfer
    let e = err(perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "BTC-PERP", 0.1, 200_000.0),
    ));
    assert!(e.contains("open failed"), "{e}");
    // a market account is not a pool
    let not_a_pool = desk.world.markets[0].key;
    let e = format!(
        "{:#}",
        perp::status(&mut desk.world.chain, &not_a_pool).unwrap_err()
    );
    assert!(e.contains("not a perp pool"), "{e}");
    // more shares than the LP holds
    let shares = desk.world.balance(&lp.lp_account).unwrap() + 1;
    let cmd = LpCommand::Withdraw(LpShares {
        accounts: LpAccounts {
            pool: pool(pk),
            quote_account: Some(lp.actor.quote),
            lp_account: Some(lp.lp_account),
            request: Default::default(),
        },
        shares,
        min_amount: 0,
    });
    let e = format!(
        "{:#}",
        perp::lp(&mut desk.world.chain, &lp.actor.kp, &cmd).unwrap_err()
    );
    assert!(e.contains("InsufficientShares"), "{e}");
    // a deposit above the LP's balance
    let e = format!("{:#}", deposit(&mut desk, &lp, 5_000_000.0).unwrap_err());
    assert!(e.contains("deposit failed"), "{e}");
    assert_eq!(snapshot(&mut desk, &watched), before, "nothing changed");
}

#[test]
fn the_binary_needs_a_keypair_to_reach_a_cluster() {
    let (ok, _, stderr) = common::keel(&[
        "status",
        "--pool",
        "11111111111111111111111111111111",
        "--url",
        "http://127.0.0.1:1",
        "--keypair",
        "/nonexistent/id.json",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("reading the keypair /nonexistent/id.json"),
        "{stderr}"
    );
    let (ok, stdout, _) = common::keel(&["trade", "open", "--help"]);
    assert!(ok);
    assert!(stdout.contains("--slippage-bps"), "{stdout}");
}

#[test]
fn only_the_commands_that_reach_a_cluster_take_its_flags() {
    for cmd in [
        &["status"][..],
        &["quote"],
        &["oracle", "push"],
        &["lp", "deposit"],
        &["lp", "withdraw"],
        &["trade", "open"],
        &["trade", "close"],
        &["orders", "list"],
        &["orders", "cancel"],
        &["crp", "status"],
        &["crp", "lend"],
        &["crp", "borrow"],
        &["crp", "swap"],
        &["risk", "publish"],
        &["migrate"],
        &["keeper", "run"],
    ] {
        let (ok, stdout, _) = common::keel(&[cmd, &["--help"]].concat());
        assert!(ok, "{cmd:?}");
        assert!(
            stdout.contains("--url") && stdout.contains("--keypair"),
            "{cmd:?}: {stdout}"
        );
    }
    for cmd in [
        &["calc", "exp"][..],
        &["risk", "estimate"],
        &["study", "crp"],
        &["stress"],
        &["sandbox"],
    ] {
        let (ok, stdout, _) = common::keel(&[cmd, &["--help"]].concat());
        assert!(ok, "{cmd:?}");
        assert!(
            !stdout.contains("--url") && !stdout.contains("--keypair"),
            "{cmd:?}: {stdout}"
        );
    }
    // the flags follow the command now, not the binary
    let (ok, _, stderr) = common::keel(&["--url", "http://127.0.0.1:1", "calc", "exp", "1"]);
    assert!(!ok);
    assert!(stderr.contains("unexpected argument '--url'"), "{stderr}");
    // and may follow a subcommand of the command that takes them
    let (ok, _, stderr) = common::keel(&[
        "lp",
        "deposit",
        "--pool",
        "11111111111111111111111111111111",
        "--amount",
        "1",
        "--keypair",
        "/nonexistent/id.json",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("reading the keypair /nonexistent/id.json"),
        "{stderr}"
    );
}

/// A first-time user: a new key with 1 SOL and `quote` native quote tokens in its associated
/// account, and no other token account.
fn newcomer(world: &mut World, quote: u64) -> Keypair {
    let kp = Keypair::new();
    world.chain.airdrop(&kp.pubkey(), 1_000_000_000).unwrap();
    let operator = world.operator().pubkey();
    let mint = world.quote_mint;
    world
        .chain
        .send(
            &[create_ata_idempotent(&operator, &kp.pubkey(), &mint)],
            &[],
        )
        .unwrap();
    let ata = associated_token_address(&kp.pubkey(), &mint);
    world.mint_to(&mint, &ata, quote).unwrap();
    kp
}

fn default_accounts(pool: Pubkey) -> LpAccounts {
    LpAccounts {
        pool: PoolArg { pool },
        quote_account: None,
        lp_account: None,
        request: Default::default(),
    }
}

#[test]
fn a_first_time_lp_deposits_and_withdraws_without_making_token_accounts() {
    let (mut desk, lp, _) = setup();
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let pk = desk.world.pool;
    let user = newcomer(&mut desk.world, 5_000 * USD);
    let quote_ata = associated_token_address(&user.pubkey(), &desk.world.quote_mint);
    let lp_ata = associated_token_address(&user.pubkey(), &desk.world.lp_mint);
    assert!(desk.world.chain.account(&lp_ata).unwrap().is_none());

    // the first deposit creates the LP-token account in its own transaction
    let cmd = |amount| {
        LpCommand::Deposit(LpAmount {
            accounts: default_accounts(pk),
            amount,
            min_shares: 0,
        })
    };
    let first = perp::lp(&mut desk.world.chain, &user, &cmd(1_000.0)).unwrap();
    assert_eq!(first.quote_moved, 1_000 * USD);
    settle(&mut desk);
    let first_shares = desk.world.balance(&lp_ata).unwrap();
    assert!(first_shares > 0);
    assert_eq!(desk.world.balance(&quote_ata).unwrap(), 4_000 * USD);
    // again, with the account there
    let second = perp::lp(&mut desk.world.chain, &user, &cmd(4_000.0)).unwrap();
    assert_eq!(second.quote_moved, 4_000 * USD);
    settle(&mut desk);
    let shares = desk.world.balance(&lp_ata).unwrap();
    assert!(shares > first_shares);
    assert_eq!(desk.world.balance(&quote_ata).unwrap(), 0);

    // the user closes its empty quote account; a withdrawal creates it again
    let close = anchor_spl::token::spl_token::instruction::close_account(
        &anchor_spl::token::spl_token::ID,
        &quote_ata,
        &user.pubkey(),
        &user.pubkey(),
        &[],
    )
    .unwrap();
    desk.world.chain.send(&[close], &[&user]).unwrap();
    assert!(desk.world.chain.account(&quote_ata).unwrap().is_none());
    let withdraw = |shares| {
        LpCommand::Withdraw(LpShares {
            accounts: default_accounts(pk),
            shares,
            min_amount: 0,
        })
    };
    let out = perp::lp(&mut desk.world.chain, &user, &withdraw(shares / 2)).unwrap();
    assert_eq!(out.shares_moved, shares / 2);
    settle_after(&mut desk, 86_401);
    let paid = desk.world.balance(&quote_ata).unwrap();
    assert!(paid > 2_400 * USD, "{paid}");
    perp::lp(&mut desk.world.chain, &user, &withdraw(shares / 4)).unwrap();
    settle_after(&mut desk, 86_401);
    assert!(desk.world.balance(&quote_ata).unwrap() > paid);
}

#[test]
fn a_close_pays_into_the_associated_account_even_when_the_position_was_opened_from_another() {
    let (mut desk, lp, trader) = setup();
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let pk = desk.world.pool;
    // opened from the trader's own (non-associated) account
    perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "ETH-PERP", 2.0, 1_000.0),
    )
    .unwrap();
    settle(&mut desk);
    let ata = associated_token_address(&trader.key(), &desk.world.quote_mint);
    assert!(desk.world.chain.account(&ata).unwrap().is_none());
    let defaults = |size| TradeOrder {
        quote_account: None,
        ..order(pk, &trader, "ETH-PERP", size, 0.0)
    };
    let decreased = perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Decrease,
        &defaults(1.0),
    )
    .unwrap();
    settle(&mut desk);
    assert_eq!(desk.world.balance(&ata).unwrap(), decreased.quote.payout);
    let closed = perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Close,
        &defaults(0.0),
    )
    .unwrap();
    settle(&mut desk);
    assert!(closed.quote.payout > 0);
    // quoted when placed, filled a second later: one more second of funding at most
    let paid = desk.world.balance(&ata).unwrap() - decreased.quote.payout;
    assert!(
        paid <= closed.quote.payout && closed.quote.payout - paid < 100,
        "{paid}"
    );
    assert!(desk.world.position(1, &trader.key()).unwrap().is_none());
}

#[test]
fn a_quote_refuses_what_the_instruction_refuses() {
    use keel::client::quote::{TradeAction, quote_trade};
    let (mut desk, lp, trader) = setup();
    let pk = desk.world.pool;
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let now = desk.world.now;
    let owner = trader.key();
    let view = |desk: &mut Desk| desk.world.trade_view(0, &owner).unwrap();
    // an open without collateral: ZeroAmount, as `open_position` says, not MaxLeverage
    let refused = quote_trade(
        &view(&mut desk),
        &trader.key(),
        TradeAction::Open {
            size: 10_000_000,
            collateral: 0,
        },
        u64::MAX,
        now,
    )
    .err()
    .expect("refused");
    assert_eq!(refused.name, "ZeroAmount");
    perp::trade(
        &mut desk.world.chain,
        &trader.kp,
        TradeKind::Open,
        &order(pk, &trader, "BTC-PERP", 0.5, 5_000.0),
    )
    .unwrap();
    settle(&mut desk);
    let now = desk.world.now;
    // an increase against the position's sign is a decrease's job: InvalidSize
    let refused = quote_trade(
        &view(&mut desk),
        &trader.key(),
        TradeAction::Increase {
            size: -10_000_000,
            collateral: 0,
        },
        0,
        now,
    )
    .err()
    .expect("refused");
    assert_eq!(refused.name, "InvalidSize");
}

/// Limit, take-profit and stop-loss orders through `keel trade`, listed and cancelled through
/// `keel orders`; a keeper round leaves an uncrossed trigger waiting.
#[test]
fn trigger_orders_are_listed_waited_on_and_cancelled() {
    use keel::commands::perp::{OrdersCancel, OrdersList};
    let (mut desk, lp, trader) = setup();
    let pk = desk.world.pool;
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let place = |desk: &mut Desk, kind, o: TradeOrder| {
        perp::trade(&mut desk.world.chain, &trader.kp, kind, &o).unwrap()
    };
    // a limit long of 0.5 BTC at 60,000 while BTC is at 65,000: it waits
    let limit = TradeOrder {
        limit: Some(60_000.0),
        ..order(pk, &trader, "BTC-PERP", 0.5, 5_000.0)
    };
    let placed = place(&mut desk, TradeKind::Open, limit);
    assert_eq!(placed.order.as_deref(), Some("limit increase"));
    let round = settle(&mut desk);
    assert_eq!(
        (round.requests_executed, round.requests_waiting),
        (0, 1),
        "{}",
        round.to_text()
    );
    // an ETH long, then a take-profit and a stop-loss on it
    place(
        &mut desk,
        TradeKind::Open,
        order(pk, &trader, "ETH-PERP", 2.0, 1_000.0),
    );
    settle(&mut desk);
    // ETH is at 3,000: take profit at 3,500, stop at 2,500
    for (tp, sl) in [(Some(3_500.0), None), (None, Some(2_500.0))] {
        let o = TradeOrder {
            take_profit: tp,
            stop_loss: sl,
            ..order(pk, &trader, "ETH-PERP", 0.0, 0.0)
        };
        place(&mut desk, TradeKind::Close, o);
    }
    let list = |desk: &mut Desk| {
        let args = OrdersList {
            pool: pool(pk),
            owner: None,
            all: false,
        };
        perp::orders_list(&mut desk.world.chain, &trader.key(), &args).unwrap()
    };
    let orders = list(&mut desk);
    let kinds: Vec<&str> = orders.orders.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["limit increase", "take-profit", "stop-loss"]);
    assert_eq!(orders.orders[0].trigger_price, Some(60_000.0));
    assert_eq!(orders.orders[0].market.as_deref(), Some("BTC-PERP"));
    assert!(orders.to_text().contains("take-profit"));
    // neither exit is crossed at the market's price; the owner cancels the limit open and gets
    // its 5,000 back
    let round = settle(&mut desk);
    assert_eq!(round.requests_waiting, 3, "{}", round.to_text());
    let quote = desk.world.balance(&trader.quote).unwrap();
    let slot = orders.orders[0].slot;
    let cancel = OrdersCancel {
        pool: pool(pk),
        slot,
    };
    let said = perp::orders_cancel(&mut desk.world.chain, &trader.kp, &cancel).unwrap();
    assert!(said.contains("cancelled limit increase"), "{said}");
    assert_eq!(
        desk.world.balance(&trader.quote).unwrap(),
        quote + 5_000 * USD
    );
    assert_eq!(list(&mut desk).orders.len(), 2);
    // cancelling an empty slot says so and changes nothing
    let e = perp::orders_cancel(&mut desk.world.chain, &trader.kp, &cancel).unwrap_err();
    assert!(format!("{e:#}").contains("no request in slot"), "{e:#}");
}

/// A transport with a keeper behind it: the first time a command reads a pending request back
/// (what `--wait` polls), a second passes, the day's prices are published again and a keeper
/// round runs, as a keeper on a cluster would have done meanwhile.
struct KeeperBehind<'a> {
    chain: &'a mut keel::transport::Embedded,
    pool: Pubkey,
    prices: Vec<(Pubkey, f64)>,
    keeper: Keypair,
    rounds: u32,
}

impl keel::transport::Transport for KeeperBehind<'_> {
    fn payer(&self) -> &Keypair {
        self.chain.payer()
    }
    fn send(
        &mut self,
        ixs: &[solana_instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<(), keel::transport::TxError> {
        self.chain.send(ixs, signers)
    }
    fn account(&mut self, key: &Pubkey) -> anyhow::Result<Option<keel::transport::RawAccount>> {
        let found = self.chain.account(key)?;
        let pending = found.as_ref().is_some_and(|a| {
            a.data.starts_with(
                <perp_amm::state::Request as anchor_lang::Discriminator>::DISCRIMINATOR,
            )
        });
        if !pending || self.rounds > 0 {
            return Ok(found);
        }
        self.rounds += 1;
        let now = self.chain.unix_time()? + 1;
        self.chain.set_time(now);
        let operator = self.chain.payer().pubkey();
        let prints: Vec<_> = self
            .prices
            .iter()
            .map(|(oracle, p)| {
                let args = keel::client::presets::push_args(*p, now);
                keel::client::perp::update_push_oracle(&operator, &self.pool, oracle, args)
            })
            .collect();
        self.chain.send(&prints, &[]).unwrap();
        let args = keel::commands::keeper::KeeperArgs {
            pool: pool(self.pool),
            crp: vec![],
            quote_account: None,
            interval: 0,
            rounds: 1,
            retries: 1,
            risk_prices: None,
            risk_markets: vec![],
            risk_window: 60,
        };
        let keeper = self.keeper.insecure_clone();
        let round = keel::commands::keeper::run_round(&mut *self.chain, &keeper, &args)?;
        assert_eq!(
            round.requests_executed + round.requests_refused,
            1,
            "{}",
            round.to_text()
        );
        self.chain.account(key)
    }
    fn unix_time(&mut self) -> anyhow::Result<i64> {
        self.chain.unix_time()
    }
    fn program_accounts(
        &mut self,
        program: &Pubkey,
        discriminator: &[u8],
    ) -> anyhow::Result<Vec<(Pubkey, keel::transport::RawAccount)>> {
        self.chain.program_accounts(program, discriminator)
    }
}

/// `--wait`: the command polls its request until a keeper has executed it and prints the
/// position (a trade) or the tokens that moved (an LP request) after.
#[test]
fn wait_follows_a_request_to_its_execution() {
    use keel::commands::perp::RequestOptions;
    let (mut desk, lp, trader) = setup();
    let pk = desk.world.pool;
    deposit(&mut desk, &lp, 1_000_000.0).unwrap();
    let prices: Vec<(Pubkey, f64)> = desk
        .world
        .markets
        .iter()
        .map(|m| m.oracle)
        .zip(desk.world.prices.clone())
        .collect();
    let keeper = desk.keeper.kp.insecure_clone();
    let mut t = KeeperBehind {
        chain: &mut desk.world.chain,
        pool: pk,
        prices,
        keeper,
        rounds: 0,
    };
    let waiting = RequestOptions {
        keeper_fee: None,
        wait: true,
        wait_secs: 5,
    };
    let o = TradeOrder {
        request: waiting.clone(),
        ..order(pk, &trader, "BTC-PERP", 0.5, 5_000.0)
    };
    let r = perp::trade(&mut t, &trader.kp, TradeKind::Open, &o).unwrap();
    assert_eq!(r.status, "executed");
    assert_eq!(r.position_after.map(|p| p.0), Some(50_000_000));
    assert!(
        r.to_text()
            .contains("position after execution: size 50000000")
    );
    // an LP deposit, waited on: the shares it minted
    t.rounds = 0;
    let cmd = LpCommand::Deposit(LpAmount {
        accounts: LpAccounts {
            pool: pool(pk),
            quote_account: Some(lp.actor.quote),
            lp_account: Some(lp.lp_account),
            request: waiting,
        },
        amount: 1_000.0,
        min_shares: 0,
    });
    let r = perp::lp(&mut t, &lp.actor.kp, &cmd).unwrap();
    assert_eq!(r.status, "executed");
    assert_eq!(r.quote_moved, 1_000 * USD);
    assert!(r.shares_moved > 0);

    // ETH 2 % up before the keeper comes: an open bounded 50 bps from its quote is refused
    // at execution, its request goes all the same, and the command says it was not filled
    t.rounds = 0;
    t.prices[1].1 *= 1.02;
    let o = TradeOrder {
        request: o.request.clone(),
        ..order(pk, &trader, "ETH-PERP", 1.0, 1_000.0)
    };
    let r = perp::trade(&mut t, &trader.kp, TradeKind::Open, &o).unwrap();
    assert_eq!(r.status, "not filled");
    assert_eq!(r.position_after, None);
}
