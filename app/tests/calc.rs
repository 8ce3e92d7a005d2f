//! `keel calc`: every kernel answers in text and in JSON, and bad input fails with a clear
//! message and a non-zero exit.

mod common;

use common::keel;
use serde_json::Value;

/// Run with --json and return `results`.
fn json(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = keel(&all);
    assert!(ok, "{args:?} failed: {stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    v["results"].clone()
}

/// The exact decimal in `v` agrees with `expected` to 14 significant digits.
fn starts(v: &Value, expected: &str) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let (a, b): (f64, f64) = (s.parse().unwrap(), expected.parse().unwrap());
    assert!(
        (a - b).abs() <= 1e-14 * b.abs().max(1e-300),
        "{s} is not {expected}"
    );
}

fn fails(args: &[&str], message: &str) {
    let (ok, stdout, stderr) = keel(args);
    assert!(!ok, "{args:?} should fail, printed {stdout}");
    assert!(
        stderr.contains(message),
        "{args:?}: stderr {stderr:?} lacks {message:?}"
    );
}

#[test]
fn every_kernel_in_json() {
    starts(
        &json(&["calc", "exp", "1"])["exp(x)"],
        "2.718281828459045235",
    );
    starts(&json(&["calc", "ln", "2"])["ln(x)"], "0.693147180559945309");
    starts(&json(&["calc", "pow", "0.01", "0.5"])["x^y"], "0.1");
    starts(
        &json(&["calc", "sqrt", "2"])["sqrt(x)"],
        "1.414213562373095048",
    );
    starts(
        &json(&["calc", "norm-cdf", "2.5"])["Phi(x)"],
        "0.993790334674224",
    );
    starts(
        &json(&["calc", "norm-cdf", "-6"])["Phi(x)"],
        "0.000000000986587645037698",
    );
    starts(
        &json(&["calc", "norm-pdf", "0"])["phi(x)"],
        "0.398942280401432677",
    );
    starts(
        &json(&["calc", "norm-inv", "0.01"])["x"],
        "-2.326347874040841",
    );
    let bs = json(&[
        "calc", "bs-delta", "--spot", "130", "--strike", "100", "--sigma", "0.5", "--days", "30",
    ]);
    starts(&bs["delta"], "0.971412147561231");
    starts(&bs["d1"], "1.90196519541092");
    let p = json(&[
        "calc",
        "premium",
        "--k",
        "1",
        "--exposure",
        "10",
        "--locked",
        "1000",
        "--capital",
        "100",
        "--price",
        "100",
        "--sigma",
        "0.05",
    ]);
    starts(&p["q"], "0.0387627659463094135");
    assert_eq!(p["kind"], "premium");
    starts(&p["price"], "103.876276594630941");
    let m = json(&[
        "calc",
        "capital-target",
        "--exposure",
        "10",
        "--locked",
        "1000",
        "--price",
        "100",
        "--sigma",
        "0.05",
        "--target",
        "0.01",
    ]);
    starts(&m["M*"], "121.949047323901");
    let sw = json(&[
        "calc",
        "swap",
        "--balance-in",
        "1000",
        "--weight-in",
        "0.8",
        "--balance-out",
        "1000",
        "--weight-out",
        "0.2",
        "--amount-in",
        "10",
        "--decimals",
        "12",
    ]);
    starts(&sw["amount_out"], "39.019655517183");
    let sw = json(&[
        "calc",
        "swap",
        "--balance-in",
        "1000",
        "--weight-in",
        "0.8",
        "--balance-out",
        "1000",
        "--weight-out",
        "0.2",
        "--amount-out",
        "39.019655517183",
        "--decimals",
        "12",
    ]);
    starts(&sw["amount_in"], "10");
    let is = json(&[
        "calc",
        "imbalance",
        "--b",
        "500,200",
        "--sigma",
        "0.03,0.04",
        "--corr",
        "0.89",
    ]);
    starts(&is["IS"], "22.4187421591846");
    starts(&is["||K||"], "17");
    let is = json(&[
        "calc",
        "imbalance",
        "--b",
        "-500,200",
        "--sigma",
        "0.03,0.04",
        "--corr",
        "1,0.89,0.89,1",
    ]);
    starts(&is["IS"], "8.68331733843696");
    starts(
        &json(&[
            "calc", "ema", "--prev", "0.2", "--sample", "0.7", "--alpha", "0.5",
        ])["ema"],
        "0.45",
    );
}

#[test]
fn text_output_is_readable() {
    let (ok, out, _) = keel(&["calc", "norm-cdf", "2.5"]);
    assert!(ok);
    assert!(
        out.contains("Phi(x)  0.993790334674224   (exact: 0.99379033467422386"),
        "{out}"
    );
    let (ok, out, _) = keel(&[
        "calc",
        "premium",
        "--k",
        "-15",
        "--exposure",
        "10",
        "--locked",
        "1000",
        "--capital",
        "100",
        "--price",
        "100",
        "--sigma",
        "0.05",
    ]);
    assert!(ok);
    assert!(
        out.contains("flatten.kind  flat") && out.contains("trade.kind  premium"),
        "{out}"
    );
    assert!(out.contains("crosses k*"), "{out}");
    let (ok, out, _) = keel(&[
        "calc",
        "premium",
        "--k",
        "-1",
        "--exposure",
        "10",
        "--locked",
        "1000",
        "--capital",
        "100",
        "--price",
        "100",
        "--sigma",
        "0.05",
    ]);
    assert!(ok && out.contains("rebate"), "{out}");
    let (ok, out, _) = keel(&["calc", "--help"]);
    assert!(ok && out.contains("imbalance") && out.contains("bs-delta"));
}

#[test]
fn bad_input_is_rejected_clearly() {
    fails(&["calc", "ln", "0"], "ln is defined for x > 0");
    fails(&["calc", "ln", "-1"], "ln is defined for x > 0");
    fails(&["calc", "ln", "abc"], "is not a decimal number");
    fails(&["calc", "exp", "50"], "result out of range");
    fails(&["calc", "sqrt", "-4"], "sqrt is defined for x ≥ 0");
    fails(&["calc", "pow", "-2", "0.5"], "pow needs x ≥ 0");
    fails(&["calc", "norm-inv", "0"], "0 < p < 1");
    fails(&["calc", "norm-inv", "1.5"], "needs 0 < p < 1");
    fails(&["calc", "norm-inv", "2.5"], "is not a probability");
    fails(
        &[
            "calc", "bs-delta", "--spot", "100", "--strike", "100", "--sigma", "-0.8", "--t",
            "0.25",
        ],
        "sigma must not be negative",
    );
    fails(
        &[
            "calc", "bs-delta", "--spot", "0", "--strike", "100", "--sigma", "0.8", "--t", "0.25",
        ],
        "spot must be positive",
    );
    fails(
        &[
            "calc", "bs-delta", "--spot", "100", "--strike", "100", "--sigma", "0.8", "--t", "-1",
        ],
        "time to expiry must not be negative",
    );
    let premium = |k: &str, sigma: &str, capital: &str| {
        vec![
            "calc".to_string(),
            "premium".into(),
            "--k".into(),
            k.into(),
            "--exposure".into(),
            "10".into(),
            "--locked".into(),
            "1000".into(),
            "--capital".into(),
            capital.into(),
            "--price".into(),
            "100".into(),
            "--sigma".into(),
            sigma.into(),
        ]
    };
    let run =
        |v: Vec<String>, msg: &str| fails(&v.iter().map(String::as_str).collect::<Vec<_>>(), msg);
    run(premium("0", "0.05", "100"), "trade size must not be zero");
    run(premium("1", "-0.05", "100"), "sigma must be positive");
    run(premium("1", "0.05", "-1"), "capital must not be negative");
    fails(
        &[
            "calc",
            "capital-target",
            "--exposure",
            "10",
            "--locked",
            "1000",
            "--price",
            "100",
            "--sigma",
            "0.05",
            "--target",
            "0.7",
        ],
        "must lie in (0, 0.5)",
    );
    fails(
        &[
            "calc",
            "swap",
            "--balance-in",
            "1000",
            "--weight-in",
            "1.5",
            "--balance-out",
            "1000",
            "--weight-out",
            "0.2",
            "--amount-in",
            "1",
        ],
        "weight-in must lie in (0, 1]",
    );
    fails(
        &[
            "calc",
            "swap",
            "--balance-in",
            "1000",
            "--weight-in",
            "0.5",
            "--balance-out",
            "1000",
            "--weight-out",
            "0.5",
            "--amount-out",
            "1000",
        ],
        "amount-out must be below the balance out",
    );
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1",
            "--sigma",
            "0.1,-0.1",
            "--corr",
            "0.5",
        ],
        "volatilities must not be negative",
    );
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1",
            "--sigma",
            "0.1,0.1",
            "--corr",
            "1,0.5,0.4,1",
        ],
        "must be symmetric",
    );
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1",
            "--sigma",
            "0.1,0.1",
            "--corr",
            "1.2",
        ],
        "|ρ| ≤ 1",
    );
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1,1",
            "--sigma",
            "0.1,0.1,0.1",
            "--corr",
            "0.5",
        ],
        "--corr needs 3 values",
    );
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1",
            "--sigma",
            "0.1",
            "--corr",
            "0.5",
        ],
        "--b has 2 values but --sigma has 1",
    );
    // a non-PSD matrix: three assets pairwise perfectly anti-correlated
    fails(
        &[
            "calc",
            "imbalance",
            "--b",
            "1,1,1",
            "--sigma",
            "1,1,1",
            "--corr",
            "-1,-1,-1",
        ],
        "not positive semi-definite",
    );
    fails(
        &[
            "calc", "ema", "--prev", "1", "--sample", "2", "--alpha", "2",
        ],
        "alpha must lie in [0, 1]",
    );
    // JSON mode reports the error as JSON too, and still exits non-zero
    let (ok, stdout, _) = keel(&["--json", "calc", "ln", "0"]);
    assert!(!ok);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(v["error"].as_str().unwrap().contains("ln is defined"));
}
