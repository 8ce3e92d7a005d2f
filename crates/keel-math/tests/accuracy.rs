//! Accuracy of every kernel against mpmath references (scripts/gen_reference.py, 50 digits).
//!
//! Inputs in tests/data are the kernels' exact binary fixed-point bits, so each reference is the
//! true value at exactly the input the kernel sees. Errors are measured in ulps of the output
//! type against the reference rounded to that type (exact integers, ±0.5 ulp), then expressed
//! as absolute or relative errors. Run with `--nocapture` to see the table.

use keel_math::d8x::{Exposure, default_probability};
use keel_math::imbalance::{exposure_norm, imbalance_score};
use keel_math::weighted::{in_given_out, out_given_in};
use keel_math::*;

const ULP64: f64 = 5.421010862427522e-20; // 2^-64
const ULP127: f64 = 5.877471754111438e-39; // 2^-127

fn rows(name: &str) -> Vec<Vec<String>> {
    // cargo sets the variable when it runs the binary too: a binary built from another
    // checkout sharing the target directory still reads this checkout's data
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = format!("{root}/tests/data/{name}.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn fix(bits: &str) -> Fix {
    Fix::from_bits(bits.parse().unwrap())
}

/// Error of `ours` against the decimal reference, in ulps of I64F64.
fn ulps_fix(ours: Fix, reference: &str) -> i128 {
    let r: Fix = reference.parse().unwrap();
    ours.to_bits() - r.to_bits()
}

fn ulps_prob(ours: Prob, reference: &str) -> i128 {
    let r: Prob = reference.parse().unwrap();
    ours.to_bits() as i128 - r.to_bits() as i128
}

fn f(reference: &str) -> f64 {
    reference.parse().unwrap()
}

#[derive(Default)]
struct Stat {
    max: f64,
    at: String,
    n: usize,
}

impl Stat {
    fn add(&mut self, err: f64, at: impl FnOnce() -> String) {
        self.n += 1;
        if err > self.max {
            self.max = err;
            self.at = at();
        }
    }
}

fn report(kernel: &str, what: &str, s: &Stat, target: f64) {
    println!(
        "| {kernel:<22} | {what:<44} | {:>6} | {:>9.2e} | {:>7.0e} | {} |",
        s.n,
        s.max,
        target,
        if s.max <= target { "met" } else { "MISSED" }
    );
    assert!(
        s.max <= target,
        "{kernel} {what}: {:.3e} > {target:e} at {}",
        s.max,
        s.at
    );
}

#[test]
fn exp_accuracy() {
    let (mut rel, mut ulp) = (Stat::default(), Stat::default());
    for r in rows("exp") {
        let x = fix(&r[0]);
        let ours = exp(x).unwrap();
        let d = ulps_fix(ours, &r[1]).unsigned_abs() as f64;
        let reference = f(&r[1]);
        if reference >= 2f64.powi(-20) {
            rel.add(d * ULP64 / reference, || r[0].clone());
        } else {
            ulp.add(d, || r[0].clone());
        }
    }
    report(
        "exp",
        "relative error, result >= 2^-20 (x >= -13.8)",
        &rel,
        1e-13,
    );
    report("exp", "ulps, result < 2^-20 (x < -13.8)", &ulp, 1.0);
}

#[test]
fn ln_accuracy() {
    let (mut rel, mut rel_far, mut ulp) = (Stat::default(), Stat::default(), Stat::default());
    for r in rows("ln") {
        let x = fix(&r[0]);
        let ours = ln(x).unwrap();
        let d = ulps_fix(ours, &r[1]).unsigned_abs() as f64;
        let reference = f(&r[1]).abs();
        ulp.add(d, || r[0].clone());
        if reference >= 2f64.powi(-20) {
            rel.add(d * ULP64 / reference, || r[0].clone());
        }
        if reference >= 2f64.powi(-7) {
            rel_far.add(d * ULP64 / reference, || r[0].clone());
        }
    }
    // Near x = 1 the output's resolution (2^-64 absolute) bounds the relative error: 1 ulp is
    // 5.7e-14 of |ln x| = 2^-20. Away from 1 the kernel's own accuracy shows.
    report("ln", "relative error, |ln x| >= 2^-20", &rel, 1e-13);
    report("ln", "relative error, |ln x| >= 2^-7", &rel_far, 1e-13);
    report("ln", "ulps, all x in [2^-60, 2^62]", &ulp, 2.0);
}

#[test]
fn pow_accuracy_and_brackets() {
    let mut rel = Stat::default();
    let mut bracket_misses = 0;
    for r in rows("pow") {
        let (x, y) = (fix(&r[0]), fix(&r[1]));
        let ours = pow(x, y).unwrap();
        let d = ulps_fix(ours, &r[2]).unsigned_abs() as f64;
        let reference = f(&r[2]);
        if reference >= 2f64.powi(-20) {
            rel.add(d * ULP64 / reference, || format!("{x}^{y}"));
        }
        // the directed variants bracket the exact value (compare at 1 ulp of the reference rounding)
        let exact: Fix = r[2].parse().unwrap();
        let (lo, hi) = (pow_down(x, y).unwrap(), pow_up(x, y).unwrap());
        if lo > exact || hi < exact {
            bracket_misses += 1;
        }
    }
    report(
        "pow",
        "relative error, base 1e-6..1e6, |y| 0.01..100",
        &rel,
        1e-12,
    );
    assert_eq!(bracket_misses, 0, "pow_down <= exact <= pow_up");
}

#[test]
fn norm_cdf_accuracy() {
    let (mut abs, mut tail) = (Stat::default(), Stat::default());
    for r in rows("norm_cdf") {
        let x = fix(&r[0]);
        let ours = norm_cdf(x).unwrap();
        let d = ulps_prob(ours, &r[1]).unsigned_abs() as f64;
        let reference = f(&r[1]);
        let xv: f64 = x.to_num();
        if (-8.0..=8.0).contains(&xv) {
            abs.add(d * ULP127, || x.to_string());
        }
        if reference >= 2f64.powi(-80) && xv <= -5.0 {
            tail.add(d * ULP127 / reference, || x.to_string());
        }
    }
    report("norm_cdf", "absolute error on [-8, 8]", &abs, 1e-12);
    report(
        "norm_cdf",
        "relative error in the tail, x <= -5 (Phi >= 2^-80)",
        &tail,
        1e-12,
    );
}

#[test]
fn norm_inv_accuracy() {
    let mut rel = Stat::default();
    for r in rows("norm_inv") {
        let p = Prob::from_bits(r[0].parse().unwrap());
        let ours = norm_inv(p).unwrap();
        let d = ulps_fix(ours, &r[1]).unsigned_abs() as f64;
        let reference = f(&r[1]).abs().max(1e-3);
        rel.add(d * ULP64 / reference, || p.to_string());
    }
    report(
        "norm_inv",
        "relative error (absolute when |x| < 1e-3), p >= 1e-37",
        &rel,
        1e-13,
    );
}

#[test]
fn bs_delta_accuracy() {
    let mut abs = Stat::default();
    for r in rows("bs_delta") {
        let (s, k, sig, t) = (fix(&r[0]), fix(&r[1]), fix(&r[2]), fix(&r[3]));
        let ours = call_delta(s, k, sig, t).unwrap();
        let d = ulps_prob(ours, &r[4]).unsigned_abs() as f64;
        abs.add(d * ULP127, || format!("S={s} K={k} sigma={sig} T={t}"));
    }
    report(
        "bs_delta",
        "absolute error, S/K 0.2..5, sigma 0.05..2, T 1d..2y",
        &abs,
        1e-11,
    );
}

#[test]
fn d8x_q_accuracy() {
    let mut abs = Stat::default();
    for r in rows("d8x_q") {
        let e = Exposure {
            net_position: fix(&r[0]),
            locked_value: fix(&r[1]),
            capital: fix(&r[2]),
        };
        let ours = default_probability(&e, fix(&r[3]), fix(&r[4])).unwrap();
        let d = ulps_prob(ours, &r[5]).unsigned_abs() as f64;
        abs.add(d * ULP127, || format!("{e:?}"));
    }
    report("d8x q", "absolute error, random pool states", &abs, 1e-12);
}

#[test]
fn imbalance_accuracy() {
    let (mut is_rel, mut norm_rel) = (Stat::default(), Stat::default());
    for r in rows("imbalance") {
        let b: Vec<Fix> = r[0].split(' ').map(fix).collect();
        let sig: Vec<Fix> = r[1].split(' ').map(fix).collect();
        let upper: Vec<i32> = if r[2].is_empty() {
            vec![]
        } else {
            r[2].split(' ').map(|v| v.parse().unwrap()).collect()
        };
        let ours = imbalance_score(&b, &sig, &upper).unwrap();
        let d = ulps_fix(ours, &r[3]).unsigned_abs() as f64;
        is_rel.add(d * ULP64 / f(&r[3]), || format!("n={}", b.len()));
        let norm = exposure_norm(&b, &sig).unwrap();
        let d = ulps_fix(norm, &r[4]).unsigned_abs() as f64;
        norm_rel.add(d * ULP64 / f(&r[4]), || format!("n={}", b.len()));
    }
    report(
        "imbalance score",
        "relative error, n = 2..32, random PSD R",
        &is_rel,
        1e-12,
    );
    report("||K||", "relative error, n = 2..32", &norm_rel, 1e-12);
}

/// floor/ceil of a positive decimal string as an integer.
fn floor_ceil(reference: &str) -> (u128, u128) {
    let (int, frac) = reference.split_once('.').unwrap_or((reference, ""));
    let fl: u128 = int.parse().unwrap();
    let exact = frac.bytes().all(|b| b == b'0');
    (fl, if exact { fl } else { fl + 1 })
}

#[test]
fn weighted_pool_rounds_for_the_pool() {
    let (mut out_gap, mut in_gap) = (Stat::default(), Stat::default());
    for r in rows("weighted") {
        let bi: u64 = r[0].parse().unwrap();
        let wi = Fix::from_num(r[1].parse::<u32>().unwrap()) / 64;
        let bo: u64 = r[2].parse().unwrap();
        let wo = Fix::from_num(r[3].parse::<u32>().unwrap()) / 64;
        let ai: u64 = r[4].parse().unwrap();
        let ao: u64 = r[6].parse().unwrap();
        let out = out_given_in(bi, wi, bo, wo, ai).unwrap() as u128;
        let (fl, _) = floor_ceil(&r[5]);
        assert!(
            out <= fl,
            "out-given-in pays more than the exact amount: {out} > {}",
            r[5]
        );
        out_gap.add((fl - out) as f64 / bo as f64, || r.join(","));
        let (_, cl) = floor_ceil(&r[7]);
        if cl > u64::MAX as u128 {
            assert_eq!(in_given_out(bi, wi, bo, wo, ao), Err(MathError::Overflow));
            continue;
        }
        let inn = in_given_out(bi, wi, bo, wo, ao).unwrap() as u128;
        assert!(
            inn >= cl,
            "in-given-out asks less than the exact amount: {inn} < {}",
            r[7]
        );
        in_gap.add((inn - cl) as f64 / f(&r[7]).max(bi as f64), || r.join(","));
    }
    report(
        "weighted out-given-in",
        "(floor(exact) - out)/B_out; never negative",
        &out_gap,
        1e-15,
    );
    report(
        "weighted in-given-out",
        "(in - ceil(exact))/max(exact, B_in); never neg.",
        &in_gap,
        1e-15,
    );
}
