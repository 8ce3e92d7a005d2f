//! `keel study crp`: runs end to end on a price file, writes its figures and table, converts in a
//! crash and keeps lenders whole, follows the delta up in a rally, and refuses bad input with a
//! clear message.

use assert_cmd::Command;
use serde_json::Value;

/// BTC-USD.csv with a 100-day rally (+1 %/day) then a 100-day crash (−4 %/day).
fn rally_then_crash(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = String::from("date,close\n");
    let mut price = 10_000.0f64;
    for day in 0..200 {
        text += &format!("2022-{:02}-{:02},{price:.2}\n", 1 + day / 28, 1 + day % 28);
        price *= if day < 100 { 1.01 } else { 0.96 };
    }
    std::fs::write(dir.join("BTC-USD.csv"), text).unwrap();
}

#[test]
fn crp_study_converts_in_a_crash_and_follows_a_rally() {
    let dir = std::env::temp_dir().join(format!("keel-study-crp-{}", std::process::id()));
    rally_then_crash(&dir);
    let out = dir.join("out");
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args(["--json", "study", "crp", "--days", "60", "--paths", "200"])
        .args([
            "--windows",
            "2022-01-01,2022-04-17",
            "--conversion-ltv",
            "0.6",
        ])
        .args([
            "--prices",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value = serde_json::from_slice(&run.stdout).unwrap();
    let windows = v["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    // the rally: no conversion, the weight climbs toward 1, lenders whole
    let rally = &windows[0]["keel"];
    assert!(rally["ftq"].is_null());
    let weights = rally["weights"].as_array().unwrap();
    assert_eq!(weights.len(), 61);
    assert!(weights[60].as_f64().unwrap() > 0.9, "{}", weights[60]);
    assert_eq!(rally["shortfall"].as_f64().unwrap(), 0.0);
    // the crash (from day 100): the pool converts, and lenders are paid in full
    assert_eq!(windows[1]["start"], "2022-04-17");
    let crash = &windows[1]["keel"];
    let ftq = crash["ftq"]
        .as_array()
        .expect("flight to quality in a 4 %/day crash");
    assert!(ftq[0].as_u64().unwrap() > 1);
    assert_eq!(crash["shortfall"].as_f64().unwrap(), 0.0);
    let weights = crash["weights"].as_array().unwrap();
    let day = ftq[0].as_u64().unwrap() as usize;
    assert!(
        weights[day..].iter().all(|w| w.as_f64().unwrap() == 0.0),
        "frozen after converting"
    );
    // single-asset collateral loses most of its value, the debt is not covered
    assert!(windows[1]["single_shortfall"].as_f64().unwrap() > 0.5);
    let sim = v["simulated"].as_array().unwrap();
    assert_eq!(sim.len(), 3);
    assert_eq!(v["paths"], 200);
    for s in sim {
        let rate = s["shortfall_rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate), "{s}");
    }
    for file in [
        "weight_vs_delta.svg",
        "value_vs_single_asset.svg",
        "table.md",
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(text.len() > 500, "{file} is nearly empty");
    }
    let table = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(table.contains("flight to quality"));
}

#[test]
fn crp_study_bad_input() {
    let dir = std::env::temp_dir().join(format!("keel-study-crp-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args(["study", "crp", "--prices", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("BTC-USD.csv"));
    rally_then_crash(&dir);
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args([
            "study",
            "crp",
            "--prices",
            dir.to_str().unwrap(),
            "--ltv",
            "0.9",
        ])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--conversion-ltv"));
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args([
            "study",
            "crp",
            "--prices",
            dir.to_str().unwrap(),
            "--windows",
            "2030-01-01",
        ])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("2030-01-01"));
}
