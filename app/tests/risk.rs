//! `keel risk estimate`: σ and R from price files in text and JSON, and bad input refused with a
//! clear message and a non-zero exit.

mod common;

use common::{hand_made_prices, keel};
use serde_json::Value;

/// The hand-made pair, and a file with the wrong header.
fn prices() -> std::path::PathBuf {
    let dir = hand_made_prices("risk-cli");
    std::fs::write(dir.join("bad.csv"), "when,price\n").unwrap();
    dir
}

#[test]
fn estimate_in_text_and_json() {
    let dir = prices();
    let dir = dir.to_str().unwrap();
    let (ok, text, err) = keel(&["risk", "estimate", "--prices", dir, "--markets", "A,B"]);
    assert!(ok, "{err}");
    assert!(text.contains("4 returns (Common join"), "{text}");
    assert!(text.contains("A       0.10000"), "{text}");
    assert!(text.contains("PSD certificate: yes"), "{text}");

    let (ok, out, err) = keel(&[
        "--json",
        "risk",
        "estimate",
        "--prices",
        dir,
        "--markets",
        "A,B",
        "--join",
        "returns",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["returns"], 4);
    assert_eq!(v["join"], "Returns");
    // σ_B on its own dates = √(.006875/3), and what the program stores is ρ·1e9 and σ·1e9
    assert_eq!(v["sigma_e9"][1], 47_871_355);
    assert_eq!(v["corr_upper_e9"].as_array().unwrap().len(), 1);
}

#[test]
fn bad_input_fails_clearly() {
    let dir = prices();
    let dir = dir.to_str().unwrap();
    for (args, message) in [
        (vec!["--markets", "A,missing"], "missing.csv"),
        (
            vec!["--markets", "A,bad"],
            "expected the header `date,close`",
        ),
        (
            vec!["--markets", "A,B", "--interval", "0"],
            "at least 1 observation",
        ),
        (
            vec!["--markets", "A,B", "--from", "2024-01-08"],
            "fewer than 2 returns",
        ),
    ] {
        let mut all = vec!["risk", "estimate", "--prices", dir];
        all.extend(args);
        let (ok, _, err) = keel(&all);
        assert!(!ok, "{all:?} succeeded");
        assert!(err.contains(message), "{all:?}: {err}");
    }
}

#[test]
fn a_series_can_be_inverted_for_a_market_listed_the_other_way_round() {
    let dir = prices();
    let (ok, out, err) = keel(&[
        "--json",
        "risk",
        "estimate",
        "--prices",
        dir.to_str().unwrap(),
        "--markets",
        "B,1/B",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["names"][1], "1/B");
    // B's returns (.05, 0, .05, −.05) become −r/(1+r): the same moves, the other way
    let rho = v["corr"][1].as_f64().unwrap();
    assert!(rho < -0.999, "{rho}");
    assert_eq!(v["last_date"], "2024-01-08");
}
