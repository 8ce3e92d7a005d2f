//! `keel migrate` through the embedded transport, on the shipped configuration files: the
//! localnet file builds a pool an LP and a trader can use at once, and a second run sends
//! nothing; the devnet file's Pyth markets read price-update accounts at Pyth's addresses; an
//! appended market is added and covered by a new publication; bad files and clashes with what
//! exists are refused with a clear message before anything is sent; a step the program refuses
//! stops the run and a re-run after the fix goes on from there.

mod common;

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use keel::client::dates::noon;
use keel::client::presets::{calibration, default_markets};
use keel::client::{crp as cix, decode, perp as ix};
use keel::commands::migrate::{Config, MigrateArgs, migrate, pyth_feed_account, run_migrate};
use keel::commands::perp::{self, LpAccounts, LpAmount, LpCommand, PoolArg, TradeKind, TradeOrder};
use keel::transport::{Embedded, Transport};
use perp_amm::state::{OracleKind, PRICE_UPDATE_V2_DISCRIMINATOR, PYTH_RECEIVER_ID};
use solana_keypair::Keypair;
use solana_signer::Signer;

fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A fresh directory holding `text` as `name` (mint keys are written next to it).
fn config_file(tag: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keel-migrate-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn chain() -> Embedded {
    Embedded::start(noon("2026-12-01").unwrap()).unwrap()
}

fn run(t: &mut Embedded, path: &Path) -> anyhow::Result<keel::commands::migrate::MigrationReport> {
    let operator = t.payer().insecure_clone();
    run_migrate(
        t,
        &operator,
        &MigrateArgs {
            config: path.to_path_buf(),
        },
    )
}

fn market(t: &mut Embedded, pool: &Pubkey, index: u8) -> perp_amm::state::Market {
    decode::market(
        &t.account_data(&ix::market_pda(pool, index))
            .unwrap()
            .unwrap(),
    )
    .unwrap()
}

fn risk_model(t: &mut Embedded, pool: &Pubkey) -> Box<perp_amm::state::RiskModel> {
    decode::risk_model(&t.account_data(&ix::risk_model_pda(pool)).unwrap().unwrap()).unwrap()
}

fn quote_mint(path: &Path, file: &str) -> Pubkey {
    solana_keypair::read_keypair_file(path.parent().unwrap().join(file))
        .unwrap()
        .pubkey()
}

#[test]
fn localnet_builds_a_usable_pool_and_a_second_run_sends_nothing() {
    let mut t = chain();
    let path = config_file("localnet", "localnet.toml", &shipped("localnet.toml"));
    let report = run(&mut t, &path).unwrap();
    let operator = t.payer().pubkey();
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    let pool_key = ix::pool_pda(&quote, 0);
    assert_eq!(report.pool, pool_key.to_string());
    // mint, operator's tokens, pool, calendar with its two schedules, ten markets, risk model
    // (its bounds are the file's, the program's defaults: nothing to set), the publication
    // (five staging writes of up to 900 bytes, then the commit), risky mint, the operator's
    // test BTC, collateral pool
    assert_eq!(
        report.transactions,
        1 + 1 + 1 + 1 + 10 + 1 + 6 + 1 + 1 + 1,
        "{}",
        report.to_text()
    );

    let pool = decode::perp_pool(&t.account_data(&pool_key).unwrap().unwrap()).unwrap();
    assert_eq!(pool.authority, operator);
    assert_eq!(pool.market_count, 10);
    // the calendar, with FX's and CME's hours in force for EUR, GBP, JPY, gold and oil
    let calendar_key = ix::calendar_pda(&pool_key);
    assert_eq!(pool.calendar, calendar_key);
    let calendar = decode::calendar(&t.account_data(&calendar_key).unwrap().unwrap()).unwrap();
    for (index, args) in keel::client::presets::schedules() {
        let slot = &calendar.schedules[index as usize - 1];
        assert_eq!(slot.current.defined, 1);
        assert_eq!(slot.current.session_count as usize, args.sessions.len());
    }
    for (i, preset) in default_markets().iter().enumerate() {
        let m = market(&mut t, &pool_key, i as u8);
        assert_eq!(&m.symbol[..preset.symbol.len()], preset.symbol.as_bytes());
        assert_eq!(m.oracle_kind, OracleKind::Push);
        assert_eq!(m.params, preset.params);
    }
    // the first publication is the shipped calibration, exactly
    let model = risk_model(&mut t, &pool_key);
    assert_eq!((model.revision, model.market_count), (1, 10));
    let (sigma, _) = calibration(10);
    let expected: Vec<u64> = sigma.iter().map(|s| (s * 1e9).round() as u64).collect();
    assert_eq!(&model.current.sigma_e9[..10], &expected[..]);
    assert_eq!(pool.risk.model, ix::risk_model_pda(&pool_key));
    // the collateral pool on BTC's oracle
    let risky = quote_mint(&path, "keys/localnet-btc.json");
    let crp = cix::PoolKeys::new(
        risky,
        quote,
        noon("2027-06-30").unwrap(),
        &t.payer().pubkey(),
        pool.markets[0].oracle,
    );
    let p = decode::crp_pool(&t.account_data(&crp.pool).unwrap().unwrap()).unwrap();
    assert_eq!(p.params.strike_e9, 65_000_000_000_000);
    assert_eq!(p.keeper, operator);
    // 100 test BTC for the operator, a borrower on localnet
    let operator_btc = keel::client::token::associated_token_address(&operator, &risky);
    assert_eq!(
        keel::client::fetch::token_balance(&mut t, &operator_btc).unwrap(),
        100 * 100_000_000
    );

    // the pool works: the operator deposits its test tokens and opens a BTC long
    let ata = keel::client::token::associated_token_address(&operator, &quote);
    let lp_ata = keel::client::token::associated_token_address(&operator, &pool.lp_mint);
    t.send(
        &[keel::client::token::create_ata_idempotent(
            &operator,
            &operator,
            &pool.lp_mint,
        )],
        &[],
    )
    .unwrap();
    let op = t.payer().insecure_clone();
    let deposit = LpCommand::Deposit(LpAmount {
        accounts: LpAccounts {
            pool: PoolArg { pool: pool_key },
            quote_account: None,
            lp_account: None,
            request: Default::default(),
        },
        amount: 1_000_000.0,
        min_shares: 0,
    });
    perp::lp(&mut t, &op, &deposit).unwrap();
    // a keeper executes the deposit a second later (no open interest: no print needed)
    let now = t.unix_time().unwrap();
    t.set_time(now + 1);
    let keeper_args = keel::commands::keeper::KeeperArgs {
        pool: PoolArg { pool: pool_key },
        crp: vec![],
        quote_account: None,
        interval: 0,
        rounds: 1,
        retries: 1,
        risk_prices: None,
        risk_markets: vec![],
        risk_window: 60,
    };
    let round = keel::commands::keeper::run_round(&mut t, &op, &keeper_args).unwrap();
    assert_eq!(round.requests_executed, 1, "{}", round.to_text());
    let order = TradeOrder {
        pool: PoolArg { pool: pool_key },
        market: "BTC-PERP".into(),
        size: 1.0,
        collateral: 6_500.0,
        slippage_bps: 50,
        quote_account: Some(ata),
        limit: None,
        take_profit: None,
        stop_loss: None,
        expires_hours: 168,
        request: Default::default(),
    };
    perp::trade(&mut t, &op, TradeKind::Open, &order).unwrap();
    assert!(t.account(&lp_ata).unwrap().is_some());

    // the second run finds everything and sends nothing
    let sent = t.transactions();
    let again = run(&mut t, &path).unwrap();
    assert_eq!(again.transactions, 0);
    assert_eq!(t.transactions(), sent);
    assert!(
        again
            .steps
            .iter()
            .all(|s| s.outcome == "exists" || s.outcome == "up to date"),
        "{}",
        again.to_text()
    );
}

/// A Pyth `PriceUpdateV2` (fully verified) at `price`·10⁻⁸, stamped `now`.
fn price_update(feed_id: [u8; 32], price: i64, now: i64) -> Vec<u8> {
    let mut d = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
    d.extend_from_slice(&[3u8; 32]); // write authority
    d.push(1); // VerificationLevel::Full
    d.extend_from_slice(&feed_id);
    d.extend_from_slice(&price.to_le_bytes());
    d.extend_from_slice(&(price as u64 / 10_000).to_le_bytes());
    d.extend_from_slice(&(-8i32).to_le_bytes());
    d.extend_from_slice(&now.to_le_bytes());
    d.extend_from_slice(&now.to_le_bytes());
    d.extend_from_slice(&price.to_le_bytes());
    d.extend_from_slice(&(price as u64 / 10_000).to_le_bytes());
    d.extend_from_slice(&1u64.to_le_bytes());
    d
}

#[test]
fn devnet_markets_read_pyth_feeds_at_their_sponsored_addresses() {
    let mut t = chain();
    let path = config_file("devnet", "devnet.toml", &shipped("devnet.toml"));
    let config = Config::read(&path).unwrap();
    let now = t.unix_time().unwrap();
    let presets = default_markets();
    for m in &config.markets {
        let hex = m.feed_id.as_deref().unwrap();
        let mut feed_id = [0u8; 32];
        for (i, b) in feed_id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let price = presets.iter().find(|p| p.symbol == m.symbol).unwrap().price;
        t.set_account(
            &pyth_feed_account(&feed_id),
            &PYTH_RECEIVER_ID,
            price_update(feed_id, (price * 1e8) as i64, now),
        );
    }
    let report = run(&mut t, &path).unwrap();
    let quote = quote_mint(&path, "keys/devnet-usd.json");
    let pool_key = ix::pool_pda(&quote, 0);
    let pool = decode::perp_pool(&t.account_data(&pool_key).unwrap().unwrap()).unwrap();
    assert_eq!(pool.market_count, 5, "{}", report.to_text());
    for (i, m) in config.markets.iter().enumerate() {
        let market = market(&mut t, &pool_key, i as u8);
        assert_eq!(market.oracle_kind, OracleKind::Pyth);
        assert_eq!(
            market.oracle,
            pyth_feed_account(&market.feed_id),
            "{}",
            m.symbol
        );
    }
    // the shipped calibration of the five crypto markets: BTC-ETH's ρ is 0.873
    let model = risk_model(&mut t, &pool_key);
    assert_eq!(model.market_count, 5);
    assert_eq!(model.current.corr_upper[0], 873_000_000);
    // the collateral pool reads the same Pyth feed, and the operator re-weights it
    let risky = quote_mint(&path, "keys/devnet-btc.json");
    let crp = cix::PoolKeys::new(
        risky,
        quote,
        noon("2027-06-30").unwrap(),
        &t.payer().pubkey(),
        pool.markets[0].oracle,
    );
    let p = decode::crp_pool(&t.account_data(&crp.pool).unwrap().unwrap()).unwrap();
    assert_eq!(p.keeper, t.payer().pubkey());
    assert_eq!(p.oracle, pool.markets[0].oracle);
}

#[test]
fn an_appended_market_is_added_and_the_risk_model_republished() {
    let mut t = chain();
    let full = shipped("localnet.toml");
    // the same file without WTI (the last market)
    let cut = full.replace(
        "[[markets]]\nsymbol = \"WTI-PERP\"\noracle = \"push\"\n",
        "",
    );
    assert_ne!(cut, full);
    let path = config_file("append", "localnet.toml", &cut);
    run(&mut t, &path).unwrap();
    // an hour later (the file's [risk.bounds] allow a commit an hour; a publication's data time
    // must be newer than the last one's)
    let now = t.unix_time().unwrap();
    t.set_time(now + 3_600);
    std::fs::write(&path, &full).unwrap();
    let report = run(&mut t, &path).unwrap();
    let created: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.outcome != "exists")
        .map(|s| format!("{}: {}", s.what, s.outcome))
        .collect();
    assert_eq!(
        created,
        [
            "market 9 WTI-PERP: created",
            "risk publication: published revision 2 for 10 markets"
        ]
    );
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    let model = risk_model(&mut t, &ix::pool_pda(&quote, 0));
    assert_eq!(model.market_count, 10);
}

#[test]
fn bad_files_and_clashes_are_refused_before_anything_is_sent() {
    let full = shipped("localnet.toml");
    let mut t = chain();
    let operator = t.payer().insecure_clone();
    let refused = |t: &mut Embedded, tag: &str, text: &str, message: &str| {
        let path = config_file(tag, "c.toml", text);
        let sent = t.transactions();
        let e = format!("{:#}", run(t, &path).unwrap_err());
        assert!(e.contains(message), "{tag}: {e}");
        assert_eq!(t.transactions(), sent, "{tag} sent something");
    };
    refused(
        &mut t,
        "unknown-market",
        &full.replace("\"SOL-PERP\"", "\"DOGE-PERP\""),
        "unknown market DOGE-PERP",
    );
    refused(
        &mut t,
        "twice",
        &full.replace("\"SOL-PERP\"", "\"BTC-PERP\""),
        "BTC-PERP is listed twice",
    );
    refused(
        &mut t,
        "program",
        &full.replace(
            "Bp9uMgxgYB2v1aqAQYSMcJ7QZrvZ5upSqr8wX66SWMgB",
            "11111111111111111111111111111111",
        ),
        "this binary was built for",
    );
    refused(
        &mut t,
        "typo",
        &full.replace("lp_fee_share_bps", "lp_fee_bps"),
        "unknown field `lp_fee_bps`",
    );
    refused(
        &mut t,
        "pyth",
        &full.replacen("oracle = \"push\"", "oracle = \"pyth\"", 1),
        "a Pyth market needs its feed_id",
    );
    refused(
        &mut t,
        "mode",
        &full.replace("\"per-market\"", "\"d8x\""),
        "premium_mode `d8x`",
    );
    refused(
        &mut t,
        "expired",
        &full.replace("2027-06-30", "2026-11-30"),
        "the expiry is in the past",
    );
    let nowhere = Pubkey::new_unique().to_string();
    refused(
        &mut t,
        "no-mint",
        &full.replace(
            "keypair = \"keys/localnet-usd.json\"",
            &format!("mint = \"{nowhere}\""),
        ),
        &format!("no mint at {nowhere}"),
    );
    refused(
        &mut t,
        "calibration",
        &full.replace(
            "[risk.calibration]",
            "[risk.calibration]\nprices = \"p\"\nfiles = [\"A\"]",
        ),
        "the calibration names 1 files for 10 markets",
    );
    let e = format!(
        "{:#}",
        Config::read(Path::new("/nonexistent/x.toml")).unwrap_err()
    );
    assert!(e.contains("reading /nonexistent/x.toml"), "{e}");

    // clashes with what a first run created (in one directory, so the same mints)
    let path = config_file("clash", "localnet.toml", &full);
    run(&mut t, &path).unwrap();
    let clash = |t: &mut Embedded, text: &str, signer: Option<&Keypair>, message: &str| {
        std::fs::write(&path, text).unwrap();
        let sent = t.transactions();
        let signer = signer.unwrap_or(&operator).insecure_clone();
        let config = Config::read(&path).unwrap();
        let e = format!(
            "{:#}",
            migrate(t, &signer, &config, path.parent().unwrap()).unwrap_err()
        );
        assert!(e.contains(message), "{e}");
        assert_eq!(t.transactions(), sent);
    };
    let swapped = full
        .replacen("\"BTC-PERP\"", "\"TMP\"", 1)
        .replacen("\"ETH-PERP\"", "\"BTC-PERP\"", 1)
        .replacen("\"TMP\"", "\"ETH-PERP\"", 1);
    clash(
        &mut t,
        &swapped,
        None,
        "market 0 is BTC-PERP on chain and ETH-PERP in the configuration",
    );
    let fewer = full.replace(
        "[[markets]]\nsymbol = \"WTI-PERP\"\noracle = \"push\"\n",
        "",
    );
    clash(
        &mut t,
        &fewer,
        None,
        "the pool has 10 markets and the configuration 9",
    );
    let stranger = Keypair::new();
    t.airdrop(&stranger.pubkey(), 10_000_000_000).unwrap();
    clash(&mut t, &full, Some(&stranger), "not the operator");
}

#[test]
fn a_step_the_program_refuses_stops_the_run_and_a_rerun_goes_on() {
    let mut t = chain();
    let full = shipped("localnet.toml");
    // 120 % of fees to LPs: the program refuses the pool; the mint before it stays
    let path = config_file(
        "refused",
        "localnet.toml",
        &full.replace("lp_fee_share_bps = 8_000", "lp_fee_share_bps = 12_000"),
    );
    let e = format!("{:#}", run(&mut t, &path).unwrap_err());
    assert!(
        e.contains("init_pool refused by the program: InvalidParameter"),
        "{e}"
    );
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    assert!(t.account(&quote).unwrap().is_some());
    assert!(t.account(&ix::pool_pda(&quote, 0)).unwrap().is_none());
    // fixed, the run goes on with the same mint
    std::fs::write(&path, &full).unwrap();
    let report = run(&mut t, &path).unwrap();
    assert_eq!(report.steps[0].outcome, "exists");
    assert!(t.account(&ix::pool_pda(&quote, 0)).unwrap().is_some());
}

#[test]
fn the_binary_refuses_a_missing_or_broken_file_with_a_clear_message() {
    let (ok, _, err) = common::keel(&["migrate", "--config", "/nonexistent/cluster.toml"]);
    assert!(!ok);
    assert!(err.contains("reading /nonexistent/cluster.toml"), "{err}");
    let path = config_file("binary", "c.toml", "cluster = \"x\"\n");
    let (ok, _, err) = common::keel(&["migrate", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("missing field `programs`"), "{err}");
}

#[test]
fn the_first_publication_can_come_from_price_files() {
    let mut t = chain();
    let names: Vec<String> = common::NAMES.iter().map(|n| format!("\"{n}\"")).collect();
    let text = shipped("localnet.toml").replace(
        "[risk.calibration]",
        &format!(
            "[risk.calibration]\nprices = \"prices\"\nfiles = [{}]\nwindow = 40",
            names.join(", ")
        ),
    );
    let path = config_file("files", "localnet.toml", &text);
    let dates = [common::dates(1, 31), common::dates(2, 29)].concat();
    let generated = common::price_files("migrate-files", &dates, 1.0, 9);
    std::fs::rename(&generated, path.parent().unwrap().join("prices")).unwrap();
    run(&mut t, &path).unwrap();

    // what the keeper's estimate over the same 40 returns gives, stored as of its last date
    let e = keel::risk::estimate_window(&keel::risk::RiskFeed {
        prices: path.parent().unwrap().join("prices"),
        markets: common::NAMES.iter().map(|n| n.to_string()).collect(),
        window: 40,
    })
    .unwrap();
    assert_eq!(e.returns, 40);
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    let model = risk_model(&mut t, &ix::pool_pda(&quote, 0));
    let expected: Vec<u64> = e.sigma.iter().map(|s| (s * 1e9).round() as u64).collect();
    assert_eq!(&model.current.sigma_e9[..10], &expected[..]);
    assert_eq!(model.as_of, noon("2024-02-29").unwrap());
}

#[test]
fn after_a_migration_the_oracle_authority_keeps_push_prices_fresh() {
    use keel::commands::oracle::{OraclePushArgs, oracle_push};
    let mut t = chain();
    let path = config_file("oracle", "localnet.toml", &shipped("localnet.toml"));
    run(&mut t, &path).unwrap();
    let op = t.payer().insecure_clone();
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    let pool_key = ix::pool_pda(&quote, 0);
    let pool = decode::perp_pool(&t.account_data(&pool_key).unwrap().unwrap()).unwrap();
    let (btc, eur) = (pool.markets[0].oracle, pool.markets[5].oracle);
    let push = |prices: &[&str]| OraclePushArgs {
        pool: PoolArg { pool: pool_key },
        prices: prices.iter().map(|s| s.to_string()).collect(),
        conf_bps: 1,
    };

    // an hour on, both prices are written in one transaction, at the oracles' exponent (−8)
    let now = t.unix_time().unwrap() + 3_600;
    t.set_time(now);
    let sent = t.transactions();
    let r = oracle_push(&mut t, &op, &push(&["BTC-PERP=66000.5", "EUR-PERP=1.0842"])).unwrap();
    assert_eq!(t.transactions(), sent + 1);
    assert_eq!(r.pushed[0].price, 6_600_050_000_000);
    assert_eq!(r.pushed[1].price, 108_420_000);
    let read = |t: &mut Embedded, key| {
        use anchor_lang::AccountDeserialize;
        let data = t.account_data(&key).unwrap().unwrap();
        perp_amm::state::PushOracle::try_deserialize(&mut &data[..]).unwrap()
    };
    let o = read(&mut t, btc);
    assert_eq!(
        (o.price, o.conf, o.publish_time),
        (6_600_050_000_000, 660_005_000, now)
    );
    assert_eq!(read(&mut t, eur).price, 108_420_000);

    // refusals change nothing
    let before = (t.account_data(&btc).unwrap(), t.account_data(&eur).unwrap());
    let stranger = Keypair::new();
    t.airdrop(&stranger.pubkey(), 1_000_000_000).unwrap();
    let e = format!(
        "{:#}",
        oracle_push(&mut t, &stranger, &push(&["BTC-PERP=1"])).unwrap_err()
    );
    assert!(
        e.contains("update_push_oracle refused by the program"),
        "{e}"
    );
    let sent = t.transactions();
    for (prices, message) in [
        (vec!["DOGE-PERP=1"], "no market DOGE-PERP in this pool"),
        (vec!["BTC-PERP:1"], "expected SYMBOL=PRICE"),
        (
            vec!["EUR-PERP=1.1", "BTC-PERP=0"],
            "the price must be a positive number",
        ),
        (vec!["BTC-PERP=1e-9"], "is not representable at exponent -8"),
    ] {
        let e = format!(
            "{:#}",
            oracle_push(&mut t, &op, &push(&prices)).unwrap_err()
        );
        assert!(e.contains(message), "{prices:?}: {e}");
    }
    assert_eq!(t.transactions(), sent);
    assert_eq!(
        (t.account_data(&btc).unwrap(), t.account_data(&eur).unwrap()),
        before
    );
}

#[test]
fn a_risk_model_with_another_authority_is_left_for_it_to_publish() {
    let mut t = chain();
    let authority = Pubkey::new_unique();
    let text = shipped("localnet.toml").replace(
        "[risk]\n",
        &format!("[risk]\nauthority = \"{authority}\"\n"),
    );
    let path = config_file("authority", "localnet.toml", &text);
    let report = run(&mut t, &path).unwrap();
    let step = report
        .steps
        .iter()
        .find(|s| s.what == "risk publication")
        .unwrap();
    assert_eq!(
        step.outcome,
        format!("skipped: the risk authority {authority} publishes (`keel risk publish`)")
    );
    let quote = quote_mint(&path, "keys/localnet-usd.json");
    let model = risk_model(&mut t, &ix::pool_pda(&quote, 0));
    assert_eq!(
        (model.authority, model.market_count, model.revision),
        (authority, 0, 0)
    );
}
