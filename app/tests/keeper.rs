//! `keel keeper run`'s rounds through the embedded transport: funding and the Imbalance Score
//! every round; a position the program would liquidate is liquidated (and only then); a
//! collateral pool is re-weighted when due; a keeper without the right is refused and changes
//! nothing.

mod common;

use collateral_pool::instructions::InitCrpPoolArgs;
use keel::client::crp::{self as cix, PoolKeys};
use keel::client::dates::noon;
use keel::client::presets::{calibration, crp_params, default_markets};
use keel::commands::keeper::{KeeperArgs, run_round};
use keel::commands::perp::{self, PoolArg, TradeKind, TradeOrder};
use keel::sandbox::desk::Desk;
use keel::sandbox::limits;
use keel::sandbox::world::{Actor, USD};
use keel::transport::Transport;
use perp_amm::state::OracleKind;
use solana_signer::Signer;

struct Setup {
    desk: Desk,
    prices: Vec<f64>,
    trader: Actor,
    keeper: Actor,
    crp: PoolKeys,
}

fn setup() -> Setup {
    let presets = default_markets();
    let prices: Vec<f64> = presets.iter().map(|m| m.price).collect();
    let now = noon("2024-01-02").unwrap();
    let world = keel::sandbox::world::World::new(now, &presets, &prices, limits(1_000)).unwrap();
    let mut desk = Desk::new(world, "2024-01-02".into()).unwrap();
    let (sigma, corr) = calibration(presets.len());
    desk.publish_risk(sigma, corr).unwrap();
    let lp = desk.lp("lp", 1_000_000 * USD).unwrap();
    assert!(desk.deposit(&lp, 1_000_000 * USD).unwrap());
    let trader = desk.world.actor("trader", 100_000 * USD).unwrap();
    let keeper = desk.world.actor("keeper", 0).unwrap();
    // one BTC long at 20x
    let order = TradeOrder {
        pool: PoolArg {
            pool: desk.world.pool,
        },
        market: "BTC-PERP".into(),
        size: 1.0,
        collateral: 3_250.0,
        slippage_bps: 50,
        quote_account: Some(trader.quote),
        limit: None,
        take_profit: None,
        stop_loss: None,
        expires_hours: 168,
        request: Default::default(),
    };
    // placed now; the desk's keeper executes it on the next print, a second later
    perp::trade(&mut desk.world.chain, &trader.kp, TradeKind::Open, &order).unwrap();
    let later = desk.world.now + 1;
    desk.world.set_time(later);
    desk.world.push_prices(&prices).unwrap();
    let executor = desk.keeper.kp.insecure_clone();
    let first = KeeperArgs {
        pool: PoolArg {
            pool: desk.world.pool,
        },
        crp: vec![],
        quote_account: Some(desk.keeper.quote),
        interval: 0,
        rounds: 1,
        retries: 1,
        risk_prices: None,
        risk_markets: vec![],
        risk_window: 60,
    };
    let round = run_round(&mut desk.world.chain, &executor, &first).unwrap();
    assert_eq!(round.requests_executed, 1, "{}", round.to_text());
    // a collateral pool the keeper keeps
    let risky = desk.world.create_mint(8).unwrap();
    let crp = PoolKeys::new(
        risky,
        desk.world.quote_mint,
        now + 90 * 86_400,
        &desk.world.operator().pubkey(),
        desk.world.markets[0].oracle,
    );
    let mut feed_id = [0u8; 32];
    feed_id[..8].copy_from_slice(b"BTC-PERP");
    let args = InitCrpPoolArgs {
        expiry: now + 90 * 86_400,
        params: crp_params(65_000.0),
        keeper: keeper.key(),
        oracle_kind: OracleKind::Push,
        feed_id,
        oracle_pool: desk.world.pool,
    };
    let operator = desk.world.operator().pubkey();
    desk.world
        .chain
        .send(&[cix::init_pool(&operator, &crp, args)], &[])
        .unwrap();
    Setup {
        desk,
        prices,
        trader,
        keeper,
        crp,
    }
}

fn args(s: &Setup) -> KeeperArgs {
    KeeperArgs {
        pool: PoolArg {
            pool: s.desk.world.pool,
        },
        crp: vec![s.crp.pool],
        quote_account: Some(s.keeper.quote),
        interval: 0,
        rounds: 1,
        retries: 3,
        risk_prices: None,
        risk_markets: vec![],
        risk_window: 60,
    }
}

/// Move the clock by `secs` and publish `prices`.
fn tick(s: &mut Setup, secs: i64) {
    let now = s.desk.world.now + secs;
    s.desk.world.set_time(now);
    let prices = s.prices.clone();
    s.desk.world.push_prices(&prices).unwrap();
}

#[test]
fn a_round_liquidates_what_the_program_would_and_keeps_the_collateral_pool() {
    let mut s = setup();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!((r.positions, r.liquidated.len()), (1, 0));
    assert_eq!(r.funding_markets, 1);
    assert!(r.imbalance_score.unwrap() > 0);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.crp[0].contains("next in"), "{}", r.crp[0]);

    // BTC falls 4.5 % an hour later: the 20x long keeps 279.50 of equity, under its 1 %
    // maintenance margin (620.75)
    s.prices[0] = 62_075.0;
    tick(&mut s, 3_600);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.liquidated.len(), 1, "{}", r.to_text());
    assert_eq!(r.liquidated[0].owner, s.trader.key().to_string());
    assert!(s.desk.world.position(0, &s.trader.key()).unwrap().is_none());
    assert_eq!(
        s.desk.world.balance(&s.keeper.quote).unwrap(),
        r.liquidated[0].keeper_reward
    );
    // the keeper earns 20 bps of 62,075 from what is left; the rest goes to the trader's
    // associated account, which the keeper created
    assert_eq!(r.liquidated[0].keeper_reward, 124_150_000);
    let ata =
        keel::client::token::associated_token_address(&s.trader.key(), &s.desk.world.quote_mint);
    let returned = s.desk.world.balance(&ata).unwrap();
    assert!(returned > 150 * USD && returned < 160 * USD, "{returned}");
    assert_eq!(r.imbalance_score, Some(0));

    // a day on, the collateral pool is due for its rebalance
    tick(&mut s, 86_400);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.crp[0], format!("crp {}: rebalance", s.crp.pool));
    let data = s
        .desk
        .world
        .chain
        .account_data(&s.crp.pool)
        .unwrap()
        .unwrap();
    let p = keel::client::decode::crp_pool(&data).unwrap();
    assert_eq!(p.last_rebalance_ts, s.desk.world.now);
    assert!(r.to_text().contains("0 liquidated"));
}

#[test]
fn a_keeper_without_the_right_is_refused_and_changes_nothing() {
    let mut s = setup();
    tick(&mut s, 86_400);
    let stranger = s.desk.world.actor("stranger", 0).unwrap();
    let before = s.desk.world.chain.account_data(&s.crp.pool).unwrap();
    let mut a = args(&s);
    a.quote_account = Some(stranger.quote);
    let r = run_round(&mut s.desk.world.chain, &stranger.kp, &a).unwrap();
    assert!(
        r.crp[0].contains("rebalance refused: NotKeeper"),
        "{}",
        r.crp[0]
    );
    assert_eq!(
        s.desk.world.chain.account_data(&s.crp.pool).unwrap(),
        before
    );
    // not a pool at all
    a.pool.pool = s.desk.world.markets[0].key;
    let e = format!(
        "{:#}",
        run_round(&mut s.desk.world.chain, &stranger.kp, &a).unwrap_err()
    );
    assert!(e.contains("not a perp pool"), "{e}");
}

#[test]
fn a_round_publishes_the_risk_model_when_the_files_hold_newer_data() {
    let mut s = setup();
    let model = |s: &mut Setup| {
        let key = s.desk.world.risk_model;
        let data = s.desk.world.chain.account_data(&key).unwrap().unwrap();
        keel::client::decode::risk_model(&data).unwrap()
    };
    let before = model(&mut s);
    // files up to the end of February, a day after the clock reaches March
    let dir = common::price_files(
        "keeper",
        &[common::dates(1, 31), common::dates(2, 29)].concat(),
        1.0,
        5,
    );
    s.desk
        .world
        .set_time(keel::client::dates::noon("2024-03-01").unwrap());
    tick(&mut s, 0);
    let mut a = args(&s);
    a.risk_prices = Some(dir.clone());
    a.risk_markets = common::NAMES.iter().map(|n| n.to_string()).collect();
    a.risk_window = 30;

    // the keeper is not the risk authority: logged, the round goes on, the model is unchanged
    let kp = s.keeper.kp.insecure_clone();
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert!(
        r.errors.iter().any(|e| e.contains("NotRiskAuthority")),
        "{:?}",
        r.errors
    );
    assert!(r.imbalance_score.is_some());
    let unchanged = model(&mut s);
    assert_eq!(
        (unchanged.revision, unchanged.as_of),
        (before.revision, before.as_of)
    );
    assert_eq!(unchanged.current.sigma_e9, before.current.sigma_e9);

    // the risk authority's round publishes, as of noon on the files' last date
    let risk = s.desk.world.risk_keeper.insecure_clone();
    let r = run_round(&mut s.desk.world.chain, &risk, &a).unwrap();
    assert!(
        r.risk
            .as_deref()
            .unwrap()
            .starts_with(&format!("published revision {}", before.revision + 1)),
        "{}",
        r.to_text()
    );
    let after = model(&mut s);
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(
        after.as_of,
        keel::client::dates::noon("2024-02-29").unwrap()
    );
    assert_ne!(after.current.sigma_e9, before.current.sigma_e9);
    // the next round has nothing newer to publish
    tick(&mut s, 3_600);
    let r = run_round(&mut s.desk.world.chain, &risk, &a).unwrap();
    assert_eq!(r.risk.as_deref(), Some("up to date"));
    assert_eq!(model(&mut s).revision, after.revision);
}

#[test]
fn a_keeper_without_a_quote_account_is_paid_into_its_new_associated_account() {
    let mut s = setup();
    let keeper = solana_keypair::Keypair::new();
    s.desk
        .world
        .chain
        .airdrop(&keeper.pubkey(), 1_000_000_000)
        .unwrap();
    let a = KeeperArgs {
        quote_account: None,
        crp: vec![],
        ..args(&s)
    };
    s.prices[0] = 62_075.0;
    tick(&mut s, 3_600);
    let r = run_round(&mut s.desk.world.chain, &keeper, &a).unwrap();
    assert_eq!(r.liquidated.len(), 1, "{}", r.to_text());
    let ata =
        keel::client::token::associated_token_address(&keeper.pubkey(), &s.desk.world.quote_mint);
    assert_eq!(s.desk.world.balance(&ata).unwrap(), 124_150_000);
}

#[test]
fn a_round_confirms_a_conversion_breach_the_pool_recorded() {
    use collateral_pool::instructions::{BorrowArgs, LendArgs};
    use collateral_pool::state::status;
    let mut s = setup();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    let k = s.crp;
    let w = &mut s.desk.world;
    // a lender's 600,000 and a borrower's 500,000 against 10 BTC at 65,000 (LTV ~45 %)
    let lender = w.actor("lender", 600_000 * USD).unwrap();
    let claims = w.token_account(&k.lender_mint, &lender.key()).unwrap();
    let lend = LendArgs {
        amount: 600_000 * USD,
        min_claims: 0,
    };
    let ix = cix::lend(&lender.key(), &k, &lender.quote, &claims, lend);
    w.chain.send(&[ix], &[&lender.kp]).unwrap();
    let borrower = w.actor("borrower", 0).unwrap();
    let risky = w.token_account(&k.risky_mint, &borrower.key()).unwrap();
    w.mint_to(&k.risky_mint, &risky, 1_000_000_000).unwrap();
    let residual = w.token_account(&k.residual_mint, &borrower.key()).unwrap();
    let borrow = BorrowArgs {
        collateral: 1_000_000_000,
        loan: 500_000 * USD,
        max_riskless_leg: u64::MAX,
        min_residual: 0,
    };
    let ix = cix::borrow(
        &borrower.key(),
        &k,
        (&risky, &borrower.quote, &residual),
        borrow,
    );
    w.chain.send(&[ix], &[&borrower.kp]).unwrap();
    let pool = |s: &mut Setup| {
        let data = s
            .desk
            .world
            .chain
            .account_data(&s.crp.pool)
            .unwrap()
            .unwrap();
        keel::client::decode::crp_pool(&data).unwrap()
    };
    // a day on BTC is at 15,000: the rebalance records the breach (LTV ~81 % at the mid)...
    s.prices[0] = 15_000.0;
    tick(&mut s, 86_400);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.crp[0], format!("crp {}: rebalance", s.crp.pool));
    let p = pool(&mut s);
    assert_eq!(
        (p.status, p.breach_publish_ts),
        (status::ACTIVE, s.desk.world.now)
    );
    // ...and five minutes later the keeper reports the next print, which converts the pool
    tick(&mut s, 300);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(
        r.crp[0],
        format!("crp {}: confirm the conversion breach", s.crp.pool)
    );
    assert_eq!(pool(&mut s).status, status::CONVERTING);
}

/// Auto-deleveraging (issue #19): at the lowest ceiling (10 % of the 1M of LP capital) the
/// BTC long is left alone at 150,000 (about 85k up); at 170,000 (about 105k up) the round
/// closes the part that brings traders' profit back to the ceiling (a profit of about 5.5k:
/// each unit closed takes its profit off traders' profit and 10 % of it off the ceiling), and
/// the rest stays open with its margin.
#[test]
fn a_round_deleverages_winners_past_the_ceiling_and_only_then() {
    let mut s = setup();
    let operator = s.desk.world.operator().insecure_clone();
    let pool = s.desk.world.pool;
    s.desk
        .world
        .chain
        .send(
            &[keel::client::perp::set_profit_ceiling(
                &operator.pubkey(),
                &pool,
                1_000,
            )],
            &[&operator],
        )
        .unwrap();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    s.prices[0] = 150_000.0;
    tick(&mut s, 60);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert!(r.deleveraged.is_empty(), "{}", r.to_text());
    let before = s.desk.world.position(0, &s.trader.key()).unwrap().unwrap();
    s.prices[0] = 170_000.0;
    tick(&mut s, 60);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.deleveraged.len(), 1, "{}", r.to_text());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let profit = r.deleveraged[0].realized_pnl;
    assert!(
        profit > 4_000 * USD as i64 && profit < 7_000 * USD as i64,
        "{profit}"
    );
    let after = s.desk.world.position(0, &s.trader.key()).unwrap().unwrap();
    assert!(after.size > 0 && after.size < before.size, "{}", after.size);
    assert!(after.collateral > before.collateral);
    assert!(r.to_text().contains("deleveraged"), "{}", r.to_text());
    // within the ceiling now: the next round leaves it
    tick(&mut s, 60);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert!(r.deleveraged.is_empty(), "{}", r.to_text());
}

/// An announced market change (issue #19) is applied by the first round after its notice,
/// not before.
#[test]
fn a_round_applies_an_announced_market_change_once_due() {
    let mut s = setup();
    let operator = s.desk.world.operator().insecure_clone();
    let pool = s.desk.world.pool;
    let market = s.desk.world.markets[0].key;
    let read = |s: &mut Setup| {
        let data = s.desk.world.chain.account_data(&market).unwrap().unwrap();
        keel::client::decode::market(&data).unwrap().params
    };
    let mut params = read(&mut s);
    params.maintenance_margin_bps += 10;
    s.desk
        .world
        .chain
        .send(
            &[keel::client::perp::propose_market_change(
                &operator.pubkey(),
                &pool,
                &market,
                params,
            )],
            &[&operator],
        )
        .unwrap();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    tick(&mut s, 3_600);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.market_changes, 0, "{}", r.to_text());
    tick(&mut s, 86_400);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert_eq!(r.market_changes, 1, "{}", r.to_text());
    assert_eq!(read(&mut s), params);
}

/// An announced premium mode change (issue #19) is applied by the first round after its
/// notice, not before.
#[test]
fn a_round_applies_an_announced_premium_change_once_due() {
    let mut s = setup();
    let operator = s.desk.world.operator().insecure_clone();
    let pool = s.desk.world.pool;
    let read = |s: &mut Setup| {
        let data = s.desk.world.chain.account_data(&pool).unwrap().unwrap();
        keel::client::decode::perp_pool(&data).unwrap().risk
    };
    let before = read(&mut s);
    let mode = 1 - before.premium_mode;
    let propose = keel::client::perp::propose_premium_change(
        &operator.pubkey(),
        &pool,
        mode,
        before.premium_horizon_secs,
    );
    s.desk.world.chain.send(&[propose], &[&operator]).unwrap();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    tick(&mut s, 3_600);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert!(!r.premium_change, "{}", r.to_text());
    assert_eq!(read(&mut s).premium_mode, before.premium_mode);
    tick(&mut s, 86_400);
    let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
    assert!(r.premium_change, "{}", r.to_text());
    assert!(r.to_text().contains("premium change applied"));
    assert_eq!(read(&mut s).premium_mode, mode);
}

/// Market hours (issue #20): a change announced on a Friday evening waits for a day of open
/// time, so a round on Saturday sends nothing (not a transaction the program would refuse)
/// and the first round once it is due applies it: EUR's maintenance change on Monday 21:00 UTC
/// (FX's day), the premium mode change on Monday 22:00 (gold's day, CME reopening Sunday
/// 23:00), not at 21:30.
#[test]
fn a_round_waits_for_a_day_of_open_time_before_applying_a_change() {
    let mut s = setup();
    s.desk.world.keep_hours().unwrap();
    let operator = s.desk.world.operator().insecure_clone();
    let pool = s.desk.world.pool;
    let eur = s.desk.world.markets[5].key;
    let at = |date: &str, hours: i64| noon(date).unwrap() - 43_200 + hours * 3_600;
    let set = |s: &mut Setup, t: i64| {
        s.desk.world.set_time(t);
        let prices = s.prices.clone();
        s.desk.world.push_prices(&prices).unwrap();
    };
    // Friday 2024-01-05, 21:00 UTC: an hour before FX and gold close for the weekend
    set(&mut s, at("2024-01-05", 21));
    let data = s.desk.world.chain.account_data(&eur).unwrap().unwrap();
    let mut params = keel::client::decode::market(&data).unwrap().params;
    params.maintenance_margin_bps += 10;
    let read = |s: &mut Setup| {
        let data = s.desk.world.chain.account_data(&pool).unwrap().unwrap();
        keel::client::decode::perp_pool(&data).unwrap().risk
    };
    let before = read(&mut s);
    let mode = 1 - before.premium_mode;
    let ixs = [
        keel::client::perp::propose_market_change(&operator.pubkey(), &pool, &eur, params),
        keel::client::perp::propose_premium_change(
            &operator.pubkey(),
            &pool,
            mode,
            before.premium_horizon_secs,
        ),
    ];
    s.desk.world.chain.send(&ixs, &[&operator]).unwrap();
    let a = args(&s);
    let kp = s.keeper.kp.insecure_clone();
    for (t, changes, premium) in [
        (at("2024-01-06", 21) + 60, 0, false),
        (at("2024-01-08", 21) + 60, 1, false),
        (at("2024-01-08", 22) + 60, 0, true),
    ] {
        set(&mut s, t);
        let r = run_round(&mut s.desk.world.chain, &kp, &a).unwrap();
        assert!(r.errors.is_empty(), "{}", r.to_text());
        assert_eq!(r.market_changes, changes, "{}", r.to_text());
        assert_eq!(r.premium_change, premium, "{}", r.to_text());
    }
    assert_eq!(read(&mut s).premium_mode, mode);
}
