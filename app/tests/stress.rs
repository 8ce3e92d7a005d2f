//! `keel stress`: a two-market book on hand-made prices, every figure checked by hand, and bad
//! input refused with a clear message.

mod common;

use common::{hand_made_prices, keel};
use serde_json::Value;

/// On the common dates A returns (.1, −.1, .1, .1) and B (.05, 0, .05, −.05).
fn prices() -> String {
    hand_made_prices("stress").to_str().unwrap().to_string()
}

fn close(a: &Value, b: f64) {
    let a = a.as_f64().unwrap();
    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

#[test]
fn a_book_against_history_the_model_and_shocks() {
    let dir = prices();
    let (ok, out, err) = keel(&[
        "--json",
        "stress",
        "--prices",
        &dir,
        "--exposure",
        "A=1000",
        "--exposure",
        "B=-500",
        "--capital",
        "10000",
        "--default-fund",
        "100",
        "--group",
        "A,B",
        "--shock",
        "A=0.2",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["returns"], 4);
    // the pool's PnL −(1000·r_A − 500·r_B): −75, +100, −75, −125 (on 2024-01-08)
    assert_eq!(v["worst_day"], "2024-01-08");
    let losses = v["losses"].as_array().unwrap();
    close(&losses[0]["loss"], 125.0);
    close(&losses[1]["loss"], 125.0); // 4 days: the 1 % tail is the worst day
    close(&losses[2]["loss"], 125.0);
    // K = (1000·0.1, −500·σ_B) with σ_B = √(.006875/3) and ρ = (.0025/3)/(0.1·σ_B)
    let sigma_b = (0.006875f64 / 3.0).sqrt();
    let rho = (0.0025 / 3.0) / (0.1 * sigma_b);
    let (k1, k2) = (100.0, -500.0 * sigma_b);
    let is = (k1 * k1 + k2 * k2 + 2.0 * rho * k1 * k2).sqrt();
    close(&v["imbalance_score"], is);
    close(&losses[3]["loss"], 2.326_347_874_040_841 * is);
    close(&losses[4]["loss"], 2.665_214_220_345_808 * is);
    // correlation one between A and B: the short B hedges the long A fully in σ terms
    close(&losses[5]["loss"], 2.326_347_874_040_841 * (k1 + k2).abs());
    // A up 20 %: the traders' long 1,000 gains 200, the pool loses it
    close(&losses[6]["loss"], 200.0);
    close(&losses[6]["of_capital"], 0.02);
    assert_eq!(losses[6]["covered"], true);

    // a loss beyond capital and default fund is flagged
    let (ok, text, _) = keel(&[
        "stress",
        "--prices",
        &dir,
        "--exposure",
        "A=100000",
        "--exposure",
        "B=0",
        "--capital",
        "1000",
        "--shock",
        "A=0.5",
    ]);
    assert!(ok);
    assert!(
        text.contains("| shock: A +50.0 % | 50000 | 5000.00 % | NO |"),
        "{text}"
    );
}

#[test]
fn bad_input_fails_clearly() {
    let dir = prices();
    for (args, message) in [
        (
            vec!["--exposure", "A=1", "--exposure", "A=2", "--capital", "1"],
            "A is given twice",
        ),
        (
            vec!["--exposure", "A=1", "--capital", "0"],
            "--capital must be positive",
        ),
        (
            vec!["--exposure", "A", "--capital", "1"],
            "expected NAME=VALUE",
        ),
        (
            vec!["--exposure", "A=x", "--capital", "1"],
            "is not a number",
        ),
        (
            vec![
                "--exposure",
                "A=1",
                "--exposure",
                "B=1",
                "--capital",
                "1",
                "--shock",
                "C=0.1",
            ],
            "no --exposure for that market",
        ),
        (
            vec![
                "--exposure",
                "A=1",
                "--exposure",
                "B=1",
                "--capital",
                "1",
                "--shock",
                "A=-1",
            ],
            "cannot fall by 100 %",
        ),
        (vec!["--exposure", "Z=1", "--capital", "1"], "Z.csv"),
    ] {
        let mut all = vec!["stress", "--prices", dir.as_str()];
        all.extend(args);
        let (ok, _, err) = keel(&all);
        assert!(!ok, "{all:?} succeeded");
        assert!(err.contains(message), "{all:?}: {err}");
    }
}
