//! `keel sandbox`: runs both programs on the embedded runtime over replayed prices; its report
//! and figures agree with its event log; a crash converts a collateral pool and liquidates
//! leveraged traders; bad input is refused with a clear message and a non-zero exit.

mod common;

use std::path::Path;

use serde_json::Value;

/// `BTC-USD.csv`: flat at 40,000 for 40 days from 2022-01-03, then −30 % a day for 5 days,
/// then flat again; every calendar day.
fn crash(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = String::from("date,close\n");
    let mut price = 40_000.0f64;
    let start = keel::client::dates::noon("2022-01-03").unwrap();
    for day in 0..120 {
        let date = keel::sandbox::scenario::civil_date(start + day * 86_400);
        text += &format!("{date},{price:.2}\n");
        if (56..61).contains(&day) {
            price *= 0.7;
        }
    }
    std::fs::write(dir.join("BTC-USD.csv"), text).unwrap();
}

fn events(out: &Path) -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(out.join("events.json")).unwrap()).unwrap()
}

fn sum(events: &[Value], kind: &str, field: &str) -> i128 {
    events
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e[field].as_i64().unwrap() as i128)
        .sum()
}

/// The report's summary row `name`, as printed.
fn row<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no row {name}"))
        .split('|')
        .nth(2)
        .unwrap()
        .trim()
}

#[test]
fn a_replay_reports_what_its_event_log_says() {
    let out = std::env::temp_dir().join(format!("keel-sandbox-{}", std::process::id()));
    let (ok, stdout, stderr) = common::keel(&[
        "--json",
        "sandbox",
        "--days",
        "40",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let ev = events(&out);
    // the log opens with the set-up and has one balance line per day
    assert_eq!(ev[0]["kind"], "setup");
    let days: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "day").collect();
    assert_eq!(days.len(), 40);
    for d in &days {
        // money is conserved every day: the vault holds exactly the pool's balances
        let vault = d["vault"].as_u64().unwrap() as u128;
        let parts: u128 = [
            "lp_capital",
            "default_fund",
            "total_collateral",
            "premium_balance",
        ]
        .iter()
        .map(|f| d[*f].as_u64().unwrap() as u128)
        .sum();
        assert_eq!(vault, parts, "day {}", d["date"]);
    }
    // the summary and the report are the log's totals
    let fills = ev.iter().filter(|e| e["kind"] == "fill").count() as u64;
    assert!(fills > 100, "the agents trade: {fills} fills");
    assert_eq!(summary["totals"]["fills"], fills);
    let premiums: i128 = ev
        .iter()
        .filter(|e| e["kind"] == "fill")
        .map(|e| e["premium"].as_i64().unwrap() as i128)
        .filter(|p| *p > 0)
        .sum();
    assert_eq!(
        summary["totals"]["premiums_charged"].as_i64().unwrap() as i128,
        premiums
    );
    let fees = sum(&ev, "fill", "fees");
    assert_eq!(summary["totals"]["fees"].as_i64().unwrap() as i128, fees);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(row(&report, "fills"), fills.to_string());
    assert_eq!(
        row(&report, "fees (USD)"),
        format!("{:.2}", fees as f64 / 1e6)
    );
    let liquidations = ev.iter().filter(|e| e["kind"] == "liquidation").count();
    assert_eq!(row(&report, "liquidations"), liquidations.to_string());
    // the LP return is the first and last day's share value
    let share = |d: &Value| {
        d["pool_value"].as_i64().unwrap() as f64 / d["lp_supply"].as_u64().unwrap() as f64
    };
    let lp_return = (share(days[39]) / share(days[0]) - 1.0) * 100.0;
    assert!((summary["lp_return_pct"].as_f64().unwrap() - lp_return).abs() < 1e-9);
    for f in [
        "pool_value.svg",
        "imbalance_score.svg",
        "premiums.svg",
        "liquidations.svg",
        "crp_weight_delta.svg",
    ] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("polyline"), "{f}");
        assert!(report.contains(f), "the report shows {f}");
    }
    // the LP result's attribution, recomputed from the log: every fill's and liquidation's
    // cash to and from LP capital plus the LP flows is the last day's LP capital, and with the
    // traders' unrealised PnL it is the LP value less net deposits, to the native unit
    let lp_part = |e: &Value, f: &str| e["lp"][f].as_i64().unwrap_or(0) as i128;
    let mut parts = 0i128;
    for e in &ev {
        let kind = e["kind"].as_str().unwrap();
        if ["fill", "liquidation", "deleverage", "close_reduction"].contains(&kind) {
            parts += lp_part(e, "fees")
                + lp_part(e, "funding")
                + lp_part(e, "premium_released")
                + lp_part(e, "loss_taken")
                + lp_part(e, "default_fund_cover")
                - lp_part(e, "profit_paid");
        }
    }
    let deposits = sum(&ev, "lp_deposit", "amount") - sum(&ev, "lp_withdraw", "amount");
    let last = days[39];
    assert_eq!(
        parts + deposits,
        last["lp_capital"].as_i64().unwrap() as i128
    );
    let unrealized: i128 = last["unrealized"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_i64().unwrap() as i128)
        .sum();
    let result = last["pool_value"].as_i64().unwrap() as i128 - deposits;
    assert_eq!(parts - unrealized, result);
    assert!(
        report.contains(&format!(
            "the LP result is {:.2}: equal to the native unit",
            result as f64 / 1e6
        )),
        "the report's attribution"
    );
    let svg = std::fs::read_to_string(out.join("lp_attribution.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("<rect") && report.contains("lp_attribution.svg"));
    // market hours: 40 calendar days from a Wednesday hold five weekends; the report's table
    // counts the closed days and the cuts before a close from the log
    let closed_days = |m: &str| {
        days.iter()
            .filter(|d| d["closed"].as_array().unwrap().iter().any(|c| c == m))
            .count()
    };
    assert!(closed_days("EUR-PERP") >= 10, "FX shut on weekends");
    assert_eq!(closed_days("BTC-PERP"), 0);
    for m in ["EUR-PERP", "WTI-PERP"] {
        let cuts = ev
            .iter()
            .filter(|e| e["kind"] == "close_reduction" && e["market"] == m)
            .count();
        let line = report
            .lines()
            .find(|l| l.starts_with(&format!("| {m} |")) && l.matches('|').count() == 7)
            .unwrap_or_else(|| panic!("no market-hours row for {m}"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[2], closed_days(m).to_string(), "{line}");
        assert_eq!(cells[3], cuts.to_string(), "{line}");
    }
    for cut in ev.iter().filter(|e| e["kind"] == "close_reduction") {
        let market = cut["market"].as_str().unwrap();
        let limit = if market == "WTI-PERP" {
            5.0
        } else if market == "XAU-PERP" {
            10.0
        } else {
            20.0
        };
        let after = cut["leverage_after"].as_f64().unwrap();
        assert!(after <= limit * 1.0001, "{market} cut to {after}x");
        assert!(cut["leverage_before"].as_f64().unwrap() > limit);
    }
    // the rebate hunter looked, and its section says what it got
    assert!(report.contains("## The rebate hunter"));
    // the keepers ran: funding was paid, the risk model published, a collateral pool re-weighted
    assert!(summary["totals"]["funding_paid"].as_u64().unwrap() > 0);
    assert!(summary["totals"]["risk_publications"].as_u64().unwrap() >= 1);
    assert!(summary["totals"]["crp_rebalances"].as_u64().unwrap() > 20);
    assert!(summary["transactions"].as_u64().unwrap() > 500);
}

#[test]
fn a_crash_converts_the_collateral_pool_and_liquidates() {
    let dir = std::env::temp_dir().join(format!("keel-sandbox-crash-{}", std::process::id()));
    crash(&dir);
    let out = dir.join("out");
    let (ok, stdout, stderr) = common::keel(&[
        "--json",
        "sandbox",
        "--prices",
        dir.to_str().unwrap(),
        "--from",
        "2022-01-03",
        "--days",
        "70",
        "--format",
        "html",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        summary["sources"][0]
            .as_str()
            .unwrap()
            .ends_with("BTC-USD.csv")
    );
    assert_eq!(summary["sources"][5], "shipped (public domain)");
    assert_eq!(summary["sources"][1], "generated (calibrated model)");
    let ev = events(&out);
    // day 0 replays the file's first price
    let first_day = ev.iter().find(|e| e["kind"] == "day").unwrap();
    assert_eq!(first_day["prices"][0], 40_000.0);
    let conversion = ev
        .iter()
        .find(|e| e["kind"] == "crp_conversion")
        .expect("the crash triggers the flight to quality");
    assert!(conversion["ltv_bps"].as_u64().unwrap() >= 8_000);
    assert!(
        ev.iter()
            .any(|e| e["kind"] == "liquidation" && e["market"] == "BTC-PERP"),
        "leveraged BTC longs are liquidated in the crash"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<table>") && html.contains("<img"));
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let (ok, _, stderr) = common::keel(&["sandbox", "--days", "1", "--quiet"]);
    assert!(!ok);
    assert!(stderr.contains("at least 2 days"), "{stderr}");
    let (ok, _, stderr) = common::keel(&["sandbox", "--from", "2030-01-01", "--quiet"]);
    assert!(!ok);
    assert!(stderr.contains("common dates"), "{stderr}");
    let dir = std::env::temp_dir().join(format!("keel-sandbox-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("WTI.csv"), "day,price\n2022-01-03,80\n").unwrap();
    let (ok, _, stderr) = common::keel(&["sandbox", "--prices", dir.to_str().unwrap(), "--quiet"]);
    assert!(!ok);
    assert!(stderr.contains("date,close"), "{stderr}");
}
