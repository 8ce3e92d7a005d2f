//! `keel study imbalance`: runs end to end on price files, writes its figures and table, and
//! refuses bad input with a clear message.

use assert_cmd::Command;
use serde_json::Value;

/// The ten instruments as synthetic daily random walks (a fixed linear congruential sequence),
/// on one calendar, so the study has every file it needs.
fn synthetic_prices(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut state = 12345u64;
    for name in [
        "BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "BNB-USD", "GC-F", "WTI", "EUR-USD", "GBP-USD",
        "USD-JPY",
    ] {
        let mut text = String::from("date,close\n");
        let mut price = 100.0f64;
        for day in 1..=60 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let step = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.04;
            price *= 1.0 + step;
            text += &format!(
                "2022-{:02}-{:02},{price:.6}\n",
                1 + (day - 1) / 28,
                1 + (day - 1) % 28
            );
        }
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
    }
}

#[test]
fn imbalance_study_writes_figures_and_table() {
    let dir = std::env::temp_dir().join(format!("keel-study-{}", std::process::id()));
    synthetic_prices(&dir);
    let out = dir.join("out");
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args([
            "--json",
            "study",
            "imbalance",
            "--draws",
            "300",
            "--from",
            "2022-01-01",
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
    assert_eq!(v["draws"], 300);
    assert_eq!(v["returns"], 59);
    let portfolios = v["portfolios"].as_array().unwrap();
    assert_eq!(portfolios.len(), 3);
    for p in portfolios {
        let r2 = p["r_squared"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&r2), "{p}");
        assert!(p["mean_is"].as_f64().unwrap() > 0.0);
    }
    for file in ["is_histogram.svg", "is_vs_norm.svg", "table.md"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(text.len() > 200, "{file} is nearly empty");
    }
    let svg = std::fs::read_to_string(out.join("is_vs_norm.svg")).unwrap();
    assert!(svg.contains("R² = "), "the scatter's captions carry R²");
}

#[test]
fn imbalance_study_bad_input() {
    let dir = std::env::temp_dir().join(format!("keel-study-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args(["study", "imbalance", "--prices", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("BTC-USD.csv"));
    let run = Command::cargo_bin("keel")
        .unwrap()
        .args(["study", "imbalance", "--prices", "x", "--draws", "1"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("at least 2 draws"));
}
