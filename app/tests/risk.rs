//! `keel risk estimate`: σ and R from price files in text and JSON, and bad input refused with a
//! clear message and a non-zero exit.

use assert_cmd::Command;
use serde_json::Value;

fn keel(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("keel")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A directory with two small price files (the unit tests' hand-made pair).
fn prices() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keel-risk-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("A.csv"),
        "date,close\n2024-01-02,100\n2024-01-03,110\n2024-01-04,99\n2024-01-05,108.9\n\
         2024-01-06,50\n2024-01-07,200\n2024-01-08,119.79\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("B.csv"),
        "date,close\n2024-01-02,10\n2024-01-03,10.5\n2024-01-04,10.5\n2024-01-05,11.025\n\
         2024-01-08,10.47375\n",
    )
    .unwrap();
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
