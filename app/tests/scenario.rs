//! `keel sandbox --scenario`: the shipped scenarios run and log exactly the numbers worked out
//! by hand; expectations that do not hold, unknown markets and malformed files fail with a clear
//! message and a non-zero exit.

mod common;

use serde_json::Value;

fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(file: &str, tag: &str) -> (bool, Vec<Value>, String) {
    let out = std::env::temp_dir().join(format!("keel-scenario-{tag}-{}", std::process::id()));
    let (ok, _, stderr) = common::keel(&[
        "sandbox",
        "--scenario",
        file,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let events = if ok {
        serde_json::from_str(&std::fs::read_to_string(out.join("events.json")).unwrap()).unwrap()
    } else {
        vec![]
    };
    (ok, events, stderr)
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn the_crash_scenario_liquidates_alice_with_the_numbers_worked_by_hand() {
    let (ok, ev, stderr) = run(&scenario("crash.toml"), "crash");
    assert!(ok, "{stderr}");
    let fills = of_kind(&ev, "fill");
    // Alice: 10 BTC at 60,000 pays 5 bps fee + 2 bps half-spread on 600,000 = 420 USD; her
    // premium, the book's insurance value (default probability ≈ 3.5e-37), is below 2^-64 of
    // a native unit: nothing
    assert_eq!(fills[0]["trader"], "alice");
    assert_eq!(fills[0]["fees"], 420_000_000u64);
    assert_eq!(fills[0]["premium"], 0);
    // the next day at 54,000 she has lost 60,000 of her 59,580 and owes a day's funding,
    // 540,000 · 0.1 % · (10 − 2)/12 = 360: 780 USD of bad debt, rounded for the pool
    let liq = of_kind(&ev, "liquidation");
    assert_eq!(liq.len(), 1);
    assert_eq!(liq[0]["owner"], "alice");
    assert_eq!(liq[0]["oracle_price"], 54_000.0);
    let bad_debt = liq[0]["bad_debt"].as_u64().unwrap();
    // (the orders fill a second or two after they are placed, at noon: a day of funding less
    // those seconds, 360·2/86,400 ≈ 0.008 at most)
    assert!((779_990_000..780_000_010).contains(&bad_debt), "{bad_debt}");
    // the keeper's 20 bps of 540,000 come from the default fund: nothing is left of hers
    assert_eq!(liq[0]["keeper_reward"], 1_080_000_000u64);
    assert_eq!(liq[0]["returned_to_owner"], 0);
    // Bob's short: 20,000 − 84 fee + 12,000 gain − 75.60 fee
    let close = fills.iter().find(|f| f["action"] == "close").unwrap();
    assert_eq!(close["realized_pnl"], 12_000_000_000i64);
    // (his close fills a second after Alice's liquidation, when his short is the crowded side:
    // one second of funding on 108,000, 0.00125)
    let payout = close["payout"].as_u64().unwrap();
    assert!(
        (31_840_398_000..=31_840_400_000).contains(&payout),
        "{payout}"
    );
    // and the default fund paid both: 50,000 − 1,080 − 780 (plus the fees' 20 % share)
    let days = of_kind(&ev, "day");
    let fund = |d: &Value| d["default_fund"].as_i64().unwrap();
    let fee_share = (75_600_000f64 * 0.2) as i64;
    assert_eq!(
        fund(days[1]) - fund(days[0]),
        -1_080_000_000 - bad_debt as i64 + fee_share
    );
}

#[test]
fn the_guards_scenario_meets_every_expected_refusal() {
    let (ok, ev, stderr) = run(&scenario("limits.toml"), "limits");
    assert!(ok, "{stderr}");
    let refused: Vec<&str> = of_kind(&ev, "refused")
        .iter()
        .map(|e| e["error"].as_str().unwrap())
        .collect();
    assert_eq!(
        refused,
        ["ImbalanceLimit", "CapitalReserved", "no open position"]
    );
    // the hedge lowered IS below Alice's alone; the limit is 2 % of LP capital
    let days = of_kind(&ev, "day");
    let is = days[0]["imbalance_score"].as_u64().unwrap();
    assert!(is > 0 && is < 20_000_000, "IS {is}");
}

#[test]
fn a_wrong_expectation_or_a_bad_file_fails_clearly() {
    let dir = std::env::temp_dir().join(format!("keel-scenario-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let head = "name = \"t\"\nstart = \"2024-01-02\"\n";
    let wrong = write(
        "wrong.toml",
        &format!(
            "{head}[[step]]\nday = 0\nactions = [\n  {{ kind = \"fund\", actor = \"a\", amount = 10_000 }},\n  \
             {{ kind = \"open\", actor = \"a\", market = \"BTC-PERP\", size = 0.01, collateral = 1_000, expect = \"ImbalanceLimit\" }},\n]\n"
        ),
    );
    let (ok, _, stderr) = run(&wrong, "wrong");
    assert!(!ok);
    assert!(
        stderr.contains("expected ImbalanceLimit, but it succeeded"),
        "{stderr}"
    );

    let market = write(
        "market.toml",
        &format!(
            "{head}[[step]]\nday = 0\nactions = [{{ kind = \"close\", actor = \"a\", market = \"DOGE-PERP\" }}]\n"
        ),
    );
    let (ok, _, stderr) = run(&market, "market");
    assert!(!ok);
    assert!(stderr.contains("no market DOGE-PERP"), "{stderr}");

    let field = write(
        "field.toml",
        &format!("{head}[[step]]\nday = 0\nactions = [{{ kind = \"keeper\", when = 1 }}]\n"),
    );
    let (ok, _, stderr) = run(&field, "field");
    assert!(!ok);
    assert!(stderr.contains("unknown field"), "{stderr}");

    let order = write(
        "order.toml",
        &format!("{head}[[step]]\nday = 2\n[[step]]\nday = 1\n"),
    );
    let (ok, _, stderr) = run(&order, "order");
    assert!(!ok);
    assert!(stderr.contains("increasing day order"), "{stderr}");
}
