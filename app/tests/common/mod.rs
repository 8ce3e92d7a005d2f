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
    let dir = std::env::temp_dir().join(format!("keel-{tag}-{}", std::process::id()));
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
