//! `keel risk publish` through the embedded transport: the first publication stores exactly what
//! `keel risk estimate` computes from the same files; a later one is held to the model's step
//! bounds and still accepted; a wrong signer, stale data, a series count that does not match
//! the pool, a flat series and a pool with no risk model are refused with a clear message and
//! leave the model as it was.

use keel::commands::perp::PoolArg;
mod common;

use common::{NAMES, dates, price_files};
use keel::client::dates::noon;
use keel::client::decode;
use keel::client::perp as ix;
use keel::client::presets::default_markets;
use keel::commands::risk::{EstimateArgs, PublishArgs, publish_from_prices, run_estimate};
use keel::risk::Join;
use keel::sandbox::limits;
use keel::sandbox::world::World;
use keel::transport::Transport;
use perp_amm::instructions::InitPoolArgs;
use perp_amm::state::RiskModel;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn estimate_args(dir: &std::path::Path, names: &[&str]) -> EstimateArgs {
    EstimateArgs {
        prices: dir.to_path_buf(),
        markets: names.iter().map(|s| s.to_string()).collect(),
        from: None,
        to: None,
        interval: 1,
        join: Join::Common,
    }
}

fn model(w: &mut World) -> Box<RiskModel> {
    let data = w.chain.account_data(&w.risk_model).unwrap().unwrap();
    decode::risk_model(&data).unwrap()
}

fn world() -> World {
    let presets = default_markets();
    let prices: Vec<f64> = presets.iter().map(|m| m.price).collect();
    World::new(noon("2024-03-01").unwrap(), &presets, &prices, limits(500)).unwrap()
}

#[test]
fn publish_stores_the_estimate_then_moves_within_the_step_bounds() {
    let mut w = world();
    let keeper = w.risk_keeper.insecure_clone();
    let pool = PoolArg { pool: w.pool };

    // the first publication: no bound yet, the estimate is stored exactly
    let jan_feb = [dates(1, 31), dates(2, 29)].concat();
    let calm = price_files("calm", &jan_feb, 1.0, 7);
    let args = PublishArgs {
        pool: pool.clone(),
        estimate: estimate_args(&calm, &NAMES),
        as_of: None,
    };
    let p = publish_from_prices(&mut w.chain, &keeper, &args).unwrap();
    let expected = run_estimate(&args.estimate).unwrap();
    assert!(p.target_reached);
    assert_eq!(p.revision, 1);
    assert_eq!(p.as_of, noon("2024-02-29").unwrap());
    assert_eq!(p.sigma_e9, expected.sigma_e9);
    assert_eq!(p.corr_upper_e9, expected.corr_upper_e9);
    let m = model(&mut w);
    assert_eq!(m.market_count, 10);
    assert_eq!(m.as_of, p.as_of);
    assert_eq!(&m.current.sigma_e9[..10], &expected.sigma_e9[..]);
    assert_eq!(&m.current.corr_upper[..45], &expected.corr_upper_e9[..]);

    // a month three times as volatile: σ may rise by 20 % a commit, so it is held at the bound
    w.set_time(noon("2024-04-01").unwrap());
    let wild = price_files("wild", &dates(3, 31), 3.0, 11);
    let args = PublishArgs {
        pool,
        estimate: estimate_args(&wild, &NAMES),
        as_of: None,
    };
    let p2 = publish_from_prices(&mut w.chain, &keeper, &args).unwrap();
    let target = run_estimate(&args.estimate).unwrap();
    assert!(!p2.target_reached);
    assert_eq!(p2.revision, 2);
    let m2 = model(&mut w);
    for i in 0..10 {
        let old = m.current.sigma_e9[i];
        let new = m2.current.sigma_e9[i];
        assert_eq!(new, p2.sigma_e9[i]);
        // clamped to the exact integer bound, or the target when that is nearer
        let bound = old * 12_000 / 10_000;
        assert_eq!(new, target.sigma_e9[i].min(bound), "market {i}");
        assert!(new > old);
    }
    let step = m2.max_corr_step_e9;
    for k in 0..45 {
        assert!(m2.current.corr_upper[k].abs_diff(m.current.corr_upper[k]) <= step);
    }

    // the sandbox's pool bounds its publisher over a week (presets: σ within 2× of the week's
    // start, which is the first publication's values here, and an hour between commits): hourly
    // publications toward the wild estimate climb 20 % a commit until the window holds them,
    // and every one is accepted (the client clamps to every bound the program checks)
    let start = m.current.sigma_e9;
    let mut last = p2;
    for hour in 1..=4 {
        w.set_time(noon("2024-04-01").unwrap() + hour * 3_600);
        let args = PublishArgs {
            as_of: Some(noon("2024-04-01").unwrap() + hour * 3_600),
            ..args.clone()
        };
        last = publish_from_prices(&mut w.chain, &keeper, &args).unwrap();
    }
    assert!(!last.target_reached);
    let m3 = model(&mut w);
    for (i, (&new, &from)) in m3.current.sigma_e9[..10].iter().zip(&start).enumerate() {
        assert!(new <= from * 2, "market {i}: {new} against {from}");
        // 1.2^5 of the start would pass 2×: the window, not the step, held the last commits
        if target.sigma_e9[i] > from * 2 {
            assert_eq!(new, from * 2, "market {i}");
        }
    }
}

#[test]
fn bad_publications_are_refused_and_leave_the_model_as_it_was() {
    let mut w = world();
    let keeper = w.risk_keeper.insecure_clone();
    let jan_feb = [dates(1, 31), dates(2, 29)].concat();
    let dir = price_files("bad", &jan_feb, 1.0, 3);
    let args = |names: &[&str], as_of: Option<i64>| PublishArgs {
        pool: PoolArg { pool: w.pool },
        estimate: estimate_args(&dir, names),
        as_of,
    };
    let good = args(&NAMES, None);
    let err =
        |r: anyhow::Result<keel::commands::risk::Publication>| format!("{:#}", r.unwrap_err());

    // not the risk authority: the program refuses the first write
    let before = w.chain.account_data(&w.risk_model).unwrap();
    let stranger = Keypair::new();
    w.chain.airdrop(&stranger.pubkey(), 1_000_000_000).unwrap();
    let e = err(publish_from_prices(&mut w.chain, &stranger, &good));
    assert!(e.contains("NotRiskAuthority"), "{e}");
    assert_eq!(w.chain.account_data(&w.risk_model).unwrap(), before);

    // one series short of the pool's ten markets: refused before anything is sent
    let sent = w.chain.transactions();
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &args(&NAMES[..9], None),
    ));
    assert!(
        e.contains("the pool has 10 markets and the estimate 9"),
        "{e}"
    );
    assert_eq!(w.chain.transactions(), sent);

    // weekly returns: the model holds daily σ
    let mut weekly = args(&NAMES, None);
    weekly.estimate.interval = 5;
    let e = err(publish_from_prices(&mut w.chain, &keeper, &weekly));
    assert!(e.contains("publish daily returns (--interval 1)"), "{e}");

    // a missing file and a flat series
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &args(
            &["A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "NONE"],
            None,
        ),
    ));
    assert!(e.contains("NONE.csv"), "{e}");
    std::fs::write(
        dir.join("FLAT.csv"),
        jan_feb
            .iter()
            .fold("date,close\n".to_string(), |s, d| s + d + ",5\n"),
    )
    .unwrap();
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &args(
            &["A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "FLAT"],
            None,
        ),
    ));
    assert!(e.contains("every σ must be positive"), "{e}");
    assert_eq!(w.chain.transactions(), sent);
    assert_eq!(w.chain.account_data(&w.risk_model).unwrap(), before);

    // data from the future, then a publication, then the same data again: RiskStale
    let future = noon("2024-03-02").unwrap();
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &args(&NAMES, Some(future)),
    ));
    assert!(e.contains("RiskStale"), "{e}");
    let current = |w: &mut World| {
        let m = model(w);
        (
            m.revision,
            m.as_of,
            m.current.sigma_e9,
            m.current.corr_upper,
        )
    };
    assert_eq!(current(&mut w), {
        let m = decode::risk_model(before.as_ref().unwrap()).unwrap();
        (
            m.revision,
            m.as_of,
            m.current.sigma_e9,
            m.current.corr_upper,
        )
    });
    publish_from_prices(&mut w.chain, &keeper, &good).unwrap();
    let published = current(&mut w);
    // within the pool's hour between commits the keeper is told when it may commit again
    let e = err(publish_from_prices(&mut w.chain, &keeper, &good));
    assert!(e.contains("allows the next commit from"), "{e}");
    assert_eq!(current(&mut w), published);
    // an hour on, the same data is refused as stale
    let later = w.now + 3_600;
    w.set_time(later);
    let e = err(publish_from_prices(&mut w.chain, &keeper, &good));
    assert!(e.contains("RiskStale"), "{e}");
    assert_eq!(current(&mut w), published);

    // a pool without a risk model, and no pool at all
    let operator = w.operator();
    let second = InitPoolArgs {
        pool_id: 1,
        lp_fee_share_bps: 8_000,
        target_default_prob_e9: 10_000_000,
        min_deposit: 10 * keel::sandbox::world::USD,
        oracle_authority: operator.pubkey(),
        requests: keel::client::presets::request_params(),
    };
    w.chain
        .send(
            &[ix::init_pool(&operator.pubkey(), &w.quote_mint, second)],
            &[],
        )
        .unwrap();
    let on = |pool| PublishArgs {
        pool: PoolArg { pool },
        ..good.clone()
    };
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &on(ix::pool_pda(&w.quote_mint, 1)),
    ));
    assert!(e.contains("has no risk model (run `keel migrate`)"), "{e}");
    let e = err(publish_from_prices(
        &mut w.chain,
        &keeper,
        &on(ix::pool_pda(&w.quote_mint, 2)),
    ));
    assert!(e.contains("no account at"), "{e}");
}

/// `keel risk bounds`: the pool authority sets them (read back from the model); a malformed or
/// impossible range is refused before anything is sent, and a signer who is not the authority
/// gets the program's error by name, the model unchanged.
#[test]
fn the_pool_authority_sets_the_publishers_bounds() {
    use keel::commands::risk::{BoundsArgs, set_bounds};
    let mut w = world();
    let operator = w.operator();
    let args = BoundsArgs {
        pool: PoolArg { pool: w.pool },
        interval_secs: 7_200,
        window_secs: 86_400,
        sigma_window_bps: 5_000,
        corr_window: 0.25,
        sigma_ranges: vec!["0:0.01:0.2".into()],
    };
    let report = set_bounds(&mut w.chain, &operator, &args).unwrap();
    assert_eq!(report.sigma_ranges_e9, [(0, 10_000_000, 200_000_000)]);
    let b = model(&mut w).bounds;
    assert_eq!(
        (
            b.min_commit_interval_secs,
            b.window_secs,
            b.max_sigma_window_bps,
            b.max_corr_window_e9
        ),
        (7_200, 86_400, 5_000, 250_000_000)
    );
    let before = w.chain.account_data(&w.risk_model).unwrap();
    let sent = w.chain.transactions();
    for (range, message) in [
        ("0:0.2:0.1", "need 0 ≤ MIN ≤ MAX ≤ 5"),
        ("40:0.01:0.1", "is not below 32"),
        ("0:0.01", "expected INDEX:MIN:MAX"),
    ] {
        let bad = BoundsArgs {
            sigma_ranges: vec![range.into()],
            ..args.clone()
        };
        let e = format!(
            "{:#}",
            set_bounds(&mut w.chain, &operator, &bad).unwrap_err()
        );
        assert!(e.contains(message), "{range}: {e}");
    }
    assert_eq!(w.chain.transactions(), sent);
    let stranger = Keypair::new();
    w.chain.airdrop(&stranger.pubkey(), 1_000_000_000).unwrap();
    let e = format!(
        "{:#}",
        set_bounds(&mut w.chain, &stranger, &args).unwrap_err()
    );
    assert!(e.contains("Unauthorized"), "{e}");
    assert_eq!(w.chain.account_data(&w.risk_model).unwrap(), before);
}
