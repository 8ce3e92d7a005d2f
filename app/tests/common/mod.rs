//! What the CLI tests share: running the binary, and small hand-made price files.
#![allow(dead_code)] // each test file uses its own part

use assert_cmd::Command;

/// Run `keel` with `args`: (success, stdout, stderr).
pub fn keel(args: &[&str]) -> (bool, String, String) {
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

/// A fresh directory holding two hand-made price files: A trades every day, B on weekdays
/// (2024-01-06/07 is a weekend). On their common dates A returns (.1, −.1, .1, .1) and B
/// (.05, 0, .05, −.05); A's weekend closes are wild, so that the join method shows.
pub fn hand_made_prices(tag: &str) -> std::path::PathBuf {
    // one directory per call: tests of one binary run in parallel, and rewriting a file another
    // test is reading gave it an empty header now and then
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keel-{tag}-{}-{call}", std::process::id()));
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
    dir
}

/// Ten price files for a ten-market pool (the risk publication tests).
pub const NAMES: [&str; 10] = ["A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"];

/// Ten correlated random walks over `dates` (a shared factor and an own shock, σ·`scale` a day),
/// written as `date,close` files into a fresh directory.
pub fn price_files(tag: &str, dates: &[String], scale: f64, seed: u64) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keel-risk-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut state = seed;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut closes = [100.0f64; 10];
    let mut text: Vec<String> = vec!["date,close\n".into(); 10];
    for date in dates {
        let common = uniform();
        for (i, c) in closes.iter_mut().enumerate() {
            let sigma = 0.005 * (i + 1) as f64 * scale;
            *c *= 1.0 + sigma * (0.6 * common + 0.8 * uniform());
            text[i] += &format!("{date},{c:.6}\n");
        }
    }
    for (name, t) in NAMES.iter().zip(text) {
        std::fs::write(dir.join(format!("{name}.csv")), t).unwrap();
    }
    dir
}

pub fn dates(month: u32, days: u32) -> Vec<String> {
    (1..=days)
        .map(|d| format!("2024-{month:02}-{d:02}"))
        .collect()
}
