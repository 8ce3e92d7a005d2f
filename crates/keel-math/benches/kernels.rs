//! Kernel benchmark: host time per call and measured maximum error against mpmath references,
//! keel-math beside solmath 0.2.0 (i128, 1e12 scale) on the same inputs, in the same run.
//!
//!     cargo bench -p keel-math --bench kernels
//!
//! Inputs (benches/data, scripts/gen_reference.py) are decimals with at most 12 fraction digits,
//! exact in solmath's 1e12 scale; keel-math rounds them to I64F64, so each row carries two
//! references: at the decimal (for solmath) and at keel-math's rounded input (for keel-math).
//! keel-math's error is measured exactly in its own ulps; solmath's in f64 (resolution ~1e-16,
//! ample for its ~1e-12 errors). This prints a table; it asserts nothing.

use std::hint::black_box;
use std::time::Instant;

use keel_math::d8x::{Exposure, default_probability};
use keel_math::imbalance::{imbalance_score, upper_len};
use keel_math::weighted::out_given_in;
use keel_math::*;

const ULP64: f64 = 5.421010862427522e-20;
const ULP127: f64 = 5.877471754111438e-39;
const REPEAT: usize = 200;

fn rows(name: &str) -> Vec<Vec<String>> {
    // cargo sets the variable when it runs the binary too: a binary built from another
    // checkout sharing the target directory still reads this checkout's data
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{root}/benches/data/{name}.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// A decimal string with at most 12 fraction digits, scaled by 1e12 exactly.
fn e12(s: &str) -> i128 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 12, "{s} has more than 12 decimals");
    let v = int.parse::<i128>().unwrap() * 1_000_000_000_000
        + format!("{frac:0<12}").parse::<i128>().unwrap();
    if neg { -v } else { v }
}

fn fx(s: &str) -> Fix {
    s.parse().unwrap()
}

fn ns_per_call(calls: usize, f: impl FnMut()) -> f64 {
    let mut f = f;
    let start = Instant::now();
    for _ in 0..REPEAT {
        f();
    }
    start.elapsed().as_nanos() as f64 / (REPEAT * calls) as f64
}

struct Line {
    kernel: String,
    metric: &'static str,
    keel_ns: f64,
    keel_err: f64,
    sol: Option<(f64, f64, usize)>, // ns, max error, failures
}

fn print(lines: &[Line]) {
    println!(
        "| kernel | error metric | keel-math ns/call | keel-math max error | solmath ns/call | solmath max error |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for l in lines {
        let sol = match l.sol {
            Some((ns, err, 0)) => format!("{ns:.0} | {err:.1e}"),
            Some((ns, err, fails)) => format!("{ns:.0} | {err:.1e} ({fails} inputs rejected)"),
            None => "– | –".into(),
        };
        let keel_err = if l.keel_err.is_nan() {
            "–".to_string()
        } else {
            format!("{:.1e}", l.keel_err)
        };
        let sol = sol.replace("NaN", "–");
        println!(
            "| {} | {} | {:.0} | {keel_err} | {sol} |",
            l.kernel, l.metric, l.keel_ns
        );
    }
}

/// keel error of an I64F64 result against a decimal reference: relative or absolute.
fn err_fix(ours: Fix, reference: &str, relative: bool) -> f64 {
    let r: Fix = reference.parse().unwrap();
    let d = (ours.to_bits() - r.to_bits()).unsigned_abs() as f64 * ULP64;
    if relative {
        d / reference.parse::<f64>().unwrap().abs().max(1e-300)
    } else {
        d
    }
}

fn err_prob(ours: Prob, reference: &str) -> f64 {
    let r: Prob = reference.parse().unwrap();
    (ours.to_bits() as i128 - r.to_bits() as i128).unsigned_abs() as f64 * ULP127
}

/// solmath error of a 1e12-scaled result against a decimal reference.
fn err_e12(theirs: i128, reference: &str, relative: bool) -> f64 {
    let r: f64 = reference.parse().unwrap();
    let d = (theirs as f64 / 1e12 - r).abs();
    if relative { d / r.abs().max(1e-300) } else { d }
}

/// Measure one kernel on a data file: (parse inputs, run keel, run solmath).
fn unary(
    name: &str,
    metric: &'static str,
    relative: bool,
    keel: fn(Fix) -> MathResult<Fix>,
    sol: fn(i128) -> Result<i128, solmath::SolMathError>,
) -> Line {
    let data = rows(name);
    let xs: Vec<Fix> = data.iter().map(|r| fx(&r[0])).collect();
    let xe: Vec<i128> = data.iter().map(|r| e12(&r[0])).collect();
    let keel_ns = ns_per_call(xs.len(), || {
        for &x in &xs {
            black_box(keel(black_box(x)).ok());
        }
    });
    let sol_ns = ns_per_call(xe.len(), || {
        for &x in &xe {
            black_box(sol(black_box(x)).ok());
        }
    });
    let mut keel_err: f64 = 0.0;
    let (mut sol_err, mut fails): (f64, usize) = (0.0, 0);
    for (i, r) in data.iter().enumerate() {
        keel_err = keel_err.max(err_fix(keel(xs[i]).unwrap(), &r[2], relative));
        match sol(xe[i]) {
            Ok(v) => sol_err = sol_err.max(err_e12(v, &r[1], relative)),
            Err(_) => fails += 1,
        }
    }
    Line {
        kernel: name.into(),
        metric,
        keel_ns,
        keel_err,
        sol: Some((sol_ns, sol_err, fails)),
    }
}

fn main() {
    let mut lines = vec![
        unary(
            "exp",
            "relative, x in [-20, 40]",
            true,
            exp,
            solmath::exp_fixed_i,
        ),
        unary("ln", "relative, x in [1e-6, 1e6]", true, ln, |x| {
            solmath::ln_fixed_i(x as u128)
        }),
        unary("sqrt", "relative, x in [1e-6, 1e12]", true, sqrt, |x| {
            solmath::fp_sqrt(x as u128).map(|v| v as i128)
        }),
    ];

    // pow
    let data = rows("pow");
    let xy: Vec<(Fix, Fix)> = data.iter().map(|r| (fx(&r[0]), fx(&r[1]))).collect();
    let xye: Vec<(u128, u128)> = data
        .iter()
        .map(|r| (e12(&r[0]) as u128, e12(&r[1]) as u128))
        .collect();
    let keel_ns = ns_per_call(xy.len(), || {
        for &(x, y) in &xy {
            black_box(pow(black_box(x), black_box(y)).ok());
        }
    });
    let sol_ns = ns_per_call(xye.len(), || {
        for &(x, y) in &xye {
            black_box(solmath::pow_fixed(black_box(x), black_box(y)).ok());
        }
    });
    let (mut ke, mut se, mut fails) = (0f64, 0f64, 0);
    for (i, r) in data.iter().enumerate() {
        ke = ke.max(err_fix(pow(xy[i].0, xy[i].1).unwrap(), &r[3], true));
        match solmath::pow_fixed(xye[i].0, xye[i].1) {
            Ok(v) => se = se.max(err_e12(v as i128, &r[2], true)),
            Err(_) => fails += 1,
        }
    }
    lines.push(Line {
        kernel: "pow".into(),
        metric: "relative, base 1e-6..1e6, y 0.01..100, result 1e-6..1e12",
        keel_ns,
        keel_err: ke,
        sol: Some((sol_ns, se, fails)),
    });

    // normal CDF: absolute error
    let data = rows("norm_cdf");
    let xs: Vec<Fix> = data.iter().map(|r| fx(&r[0])).collect();
    let xe: Vec<i128> = data.iter().map(|r| e12(&r[0])).collect();
    let keel_ns = ns_per_call(xs.len(), || {
        for &x in &xs {
            black_box(norm_cdf(black_box(x)).ok());
        }
    });
    let sol_ns = ns_per_call(xe.len(), || {
        for &x in &xe {
            black_box(solmath::norm_cdf_poly(black_box(x)).ok());
        }
    });
    let (mut ke, mut se) = (0f64, 0f64);
    for (i, r) in data.iter().enumerate() {
        ke = ke.max(err_prob(norm_cdf(xs[i]).unwrap(), &r[2]));
        se = se.max(err_e12(
            solmath::norm_cdf_poly(xe[i]).unwrap(),
            &r[1],
            false,
        ));
    }
    lines.push(Line {
        kernel: "norm_cdf".into(),
        metric: "absolute, x in [-8, 8]",
        keel_ns,
        keel_err: ke,
        sol: Some((sol_ns, se, 0)),
    });

    // inverse normal: relative error of the quantile
    let data = rows("norm_inv");
    let ps: Vec<Prob> = data.iter().map(|r| r[0].parse().unwrap()).collect();
    let pe: Vec<i128> = data.iter().map(|r| e12(&r[0])).collect();
    let keel_ns = ns_per_call(ps.len(), || {
        for &p in &ps {
            black_box(norm_inv(black_box(p)).ok());
        }
    });
    let sol_ns = ns_per_call(pe.len(), || {
        for &p in &pe {
            black_box(solmath::inverse_norm_cdf(black_box(p)).ok());
        }
    });
    let (mut ke, mut se, mut fails) = (0f64, 0f64, 0);
    for (i, r) in data.iter().enumerate() {
        ke = ke.max(err_fix(norm_inv(ps[i]).unwrap(), &r[2], true));
        match solmath::inverse_norm_cdf(pe[i]) {
            Ok(v) => se = se.max(err_e12(v, &r[1], true)),
            Err(_) => fails += 1,
        }
    }
    lines.push(Line {
        kernel: "norm_inv".into(),
        metric: "relative, p in [1e-9, 1 - 1e-9]",
        keel_ns,
        keel_err: ke,
        sol: Some((sol_ns, se, fails)),
    });

    // Black-Scholes delta: absolute error
    let data = rows("bs_delta");
    let args: Vec<[Fix; 4]> = data
        .iter()
        .map(|r| [fx(&r[0]), fx(&r[1]), fx(&r[2]), fx(&r[3])])
        .collect();
    let args_e: Vec<[u128; 4]> = data
        .iter()
        .map(|r| {
            [
                e12(&r[0]) as u128,
                e12(&r[1]) as u128,
                e12(&r[2]) as u128,
                e12(&r[3]) as u128,
            ]
        })
        .collect();
    let keel_ns = ns_per_call(args.len(), || {
        for a in &args {
            black_box(call_delta(black_box(a[0]), a[1], a[2], a[3]).ok());
        }
    });
    let sol_ns = ns_per_call(args_e.len(), || {
        for a in &args_e {
            black_box(solmath::bs_delta(black_box(a[0]), a[1], 0, a[2], a[3]).ok());
        }
    });
    let (mut ke, mut se, mut fails) = (0f64, 0f64, 0);
    for (i, r) in data.iter().enumerate() {
        let a = &args[i];
        ke = ke.max(err_prob(call_delta(a[0], a[1], a[2], a[3]).unwrap(), &r[5]));
        let b = &args_e[i];
        match solmath::bs_delta(b[0], b[1], 0, b[2], b[3]) {
            Ok((call, _)) => se = se.max(err_e12(call, &r[4], false)),
            Err(_) => fails += 1,
        }
    }
    lines.push(Line {
        kernel: "bs_delta".into(),
        metric: "absolute, S/K 0.5..2, sigma 0.05..2, T 1d..2y",
        keel_ns,
        keel_err: ke,
        sol: Some((sol_ns, se, fails)),
    });

    // keel-only kernels: time per call (their accuracy is in tests/accuracy.rs)
    let exposure = Exposure {
        net_position: fx("10"),
        locked_value: fx("1000"),
        capital: fx("100"),
    };
    let (price, sigma) = (fx("100"), fx("0.05"));
    let ns = ns_per_call(1, || {
        black_box(
            default_probability(black_box(&exposure), black_box(price), black_box(sigma)).ok(),
        );
    });
    lines.push(Line {
        kernel: "d8x q".into(),
        metric: "(tests/accuracy.rs: 4e-18 absolute)",
        keel_ns: ns,
        keel_err: f64::NAN,
        sol: None,
    });

    let (w8, w2) = (fx("0.8"), fx("0.2"));
    let ns = ns_per_call(1, || {
        black_box(
            out_given_in(
                black_box(1_000_000_000_000),
                w8,
                1_000_000_000_000,
                w2,
                10_000_000_000,
            )
            .ok(),
        );
    });
    let sol_ns = ns_per_call(1, || {
        black_box(
            solmath::weighted_pool_swap(
                black_box(1_000_000_000_000_000_000_000_000),
                1_000_000_000_000_000_000_000_000,
                800_000_000_000,
                200_000_000_000,
                10_000_000_000_000_000_000_000,
                0,
            )
            .ok(),
        );
    });
    lines.push(Line {
        kernel: "weighted out_given_in".into(),
        metric: "(pool-favouring: see tests/accuracy.rs)",
        keel_ns: ns,
        keel_err: f64::NAN,
        sol: Some((sol_ns, f64::NAN, 0)),
    });

    for n in [8usize, 16, 32] {
        let b: Vec<Fix> = (0..n)
            .map(|i| Fix::from_num(1_000_000 * (i as i64 % 5 - 2) + 12345))
            .collect();
        let s: Vec<Fix> = (0..n).map(|i| Fix::from_num(i + 1) / 100).collect();
        let upper: Vec<i32> = (0..upper_len(n))
            .map(|i| 300_000_000 + (i as i32 % 7) * 10_000_000)
            .collect();
        let ns = ns_per_call(1, || {
            black_box(imbalance_score(black_box(&b), &s, &upper).ok());
        });
        lines.push(Line {
            kernel: format!("imbalance score n={n}"),
            metric: "(tests/accuracy.rs: 7e-16 relative)",
            keel_ns: ns,
            keel_err: f64::NAN,
            sol: None,
        });
    }
    let (prev, sample, alpha) = (fx("0.3"), fx("0.7"), fx("0.1"));
    let ns = ns_per_call(1, || {
        black_box(ema_update(black_box(prev), black_box(sample), black_box(alpha)).ok());
    });
    lines.push(Line {
        kernel: "ema".into(),
        metric: "–",
        keel_ns: ns,
        keel_err: f64::NAN,
        sol: None,
    });

    println!(
        "\nkeel-math kernels vs solmath 0.2.0 (host, release build, {REPEAT} passes over each input set)\n"
    );
    print(&lines);
    println!(
        "\nhost nanoseconds are a rough guide only; on-chain cost is compute units, measured on SBF (issue #4)."
    );
}
