//! The values of shared/reference/vectors.md (mpmath, 40 digits), reproduced to exactly their
//! printed digits through the public API, and the D8X worked example of mission.md.

use keel_math::d8x::{Exposure, default_probability, quote, trade_probability};
use keel_math::weighted::{in_given_out, invariant, out_given_in, spot_price};
use keel_math::*;

fn fx(s: &str) -> Fix {
    s.parse().unwrap()
}

/// The exact decimal expansion of a fixed-point value, with `digits` fraction digits (truncated).
fn decimal<T: core::fmt::Display>(v: T) -> String {
    format!("{v:.60}")
}

/// Round a non-negative decimal string to the significant digits and exponent of `printed`
/// (which may use e-notation), and compare.
fn assert_digits(actual: &str, printed: &str) {
    let (neg, actual) = match actual.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, actual),
    };
    let (pneg, printed_abs) = match printed.strip_prefix('-') {
        Some(p) => (true, p),
        None => (false, printed),
    };
    assert_eq!(neg, pneg, "sign of {actual} vs {printed}");
    let (p_mant, p_exp) = match printed_abs.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap()),
        None => (printed_abs, 0),
    };
    let p_digits: String = p_mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let p_point = p_mant.find('.').unwrap_or(p_mant.len()) as i32;
    // printed = 0.DIGITS × 10^(p_point + p_exp), with leading zeros stripped
    let lead = p_digits.len() - p_digits.trim_start_matches('0').len();
    let p_sig = p_digits.trim_start_matches('0');
    let p_scale = p_point + p_exp - lead as i32;
    // decimals of the printed value below the point decide where to round
    let round_pos = p_scale - p_sig.len() as i32; // position of the last printed digit (10^round_pos)

    let a_digits: String = actual.chars().filter(|c| c.is_ascii_digit()).collect();
    let a_point = actual.find('.').unwrap_or(actual.len()) as i32;
    // keep digits with weight ≥ 10^round_pos, round half up on the next one
    let keep = (a_point - round_pos) as usize;
    let mut kept: Vec<u8> = a_digits.bytes().take(keep).map(|b| b - b'0').collect();
    let next = a_digits.as_bytes().get(keep).map_or(0, |b| b - b'0');
    if next >= 5 {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let rounded: String = kept.iter().map(|d| (b'0' + d) as char).collect();
    let rounded = rounded.trim_start_matches('0');
    assert_eq!(
        rounded, p_sig,
        "{actual} rounds to {rounded}, printed {printed}"
    );
}

#[test]
fn normal_cdf_table() {
    for (x, printed) in [
        ("-6", "9.86587645037698e-10"),
        ("-3", "1.34989803163009e-3"),
        ("-1", "0.158655253931457"),
        ("-0.5", "0.308537538725987"),
        ("0", "0.5"),
        ("0.25", "0.598706325682924"),
        ("1", "0.841344746068543"),
        ("2.5", "0.993790334674224"),
        ("5", "0.999999713348428"),
    ] {
        assert_digits(&decimal(norm_cdf(fx(x)).unwrap()), printed);
    }
    assert_digits(&decimal(norm_sf(fx("5")).unwrap()), "2.86651571879194e-7");
}

#[test]
fn black_scholes_table() {
    for (s, k, sigma, t, d1_printed, delta_printed) in [
        ("100", "100", "0.8", "0.25", "0.2", "0.579259709439103"),
        (
            "80",
            "100",
            "0.8",
            "0.5",
            "-0.111623083306196",
            "0.455561134284896",
        ),
    ] {
        let args = (fx(s), fx(k), fx(sigma), fx(t));
        assert_digits(
            &decimal(d1(args.0, args.1, args.2, args.3).unwrap()),
            d1_printed,
        );
        assert_digits(
            &decimal(call_delta(args.0, args.1, args.2, args.3).unwrap()),
            delta_printed,
        );
    }
    // T = 30/365 years
    let t = Fix::from_num(30) / Fix::from_num(365);
    let (s, k, sigma) = (fx("130"), fx("100"), fx("0.5"));
    assert_digits(&decimal(d1(s, k, sigma, t).unwrap()), "1.90196519541092");
    assert_digits(
        &decimal(call_delta(s, k, sigma, t).unwrap()),
        "0.971412147561231",
    );
}

#[test]
fn d8x_single_position() {
    // net long K·s = 1,000,000 with L = K·s, M = 250,000, σ = 0.05 (K = 10,000 at s = 100)
    let long = Exposure {
        net_position: fx("10000"),
        locked_value: fx("1000000"),
        capital: fx("250000"),
    };
    assert_digits(
        &decimal(default_probability(&long, fx("100"), fx("0.05")).unwrap()),
        "3.59692278188393e-6",
    );
    let short = Exposure {
        net_position: fx("-10000"),
        locked_value: fx("-1000000"),
        capital: fx("250000"),
    };
    assert_digits(
        &decimal(default_probability(&short, fx("100"), fx("0.05")).unwrap()),
        "5.06190590337441e-9",
    );
}

/// mission.md's worked pool: s = 100, σ = 0.05, M = 100, K = 10, L = 1000, k* = −10.
#[test]
fn d8x_pool_table() {
    let pool = Exposure {
        net_position: fx("10"),
        locked_value: fx("1000"),
        capital: fx("100"),
    };
    let (s, sigma) = (fx("100"), fx("0.05"));
    for (k, q_printed, price_printed) in [
        ("1", "0.038763", "103.876"),
        ("5", "0.094126", "109.413"),
        // printed 101.650 is 100·(1 + 0.016495), i.e. from the rounded q; the exact price is
        // 101.649478…, which is 101.649 at the printed precision
        ("-1", "0.016495", "101.649"),
        ("-10", "0", "100"),
        // vectors.md prints q = 4.7e-6 here; its own formula at 40 digits gives 4.5427e-6
        // (ln(400/500) + σ²/2)/σ = −4.4378, Φ = 4.5427e-6; the printed price agrees with both.
        ("-15", "4.5e-6", "99.9995"),
    ] {
        let size = fx(k);
        let q = quote(&pool, size, s, sigma, Fix::ZERO).unwrap();
        assert_digits(&decimal(q.main.q), q_printed);
        // the table's price is before the rounding against the trader: compare at its digits
        let p = s * (Fix::ONE + Fix::from_num(q.main.premium_sign) * keel_math_q(q.main.q));
        assert_digits(&decimal(p), price_printed);
        if k != "-15" {
            assert_digits(&decimal(q.average_price), price_printed);
        }
    }
    // k = 0: the premium a marginal buyer would pay
    let q0 = trade_probability(&pool, Fix::ZERO, s, sigma).unwrap();
    assert_digits(&decimal(q0), "0.026729");
    assert_digits(&decimal(s * (Fix::ONE + keel_math_q(q0))), "102.673");
    // mission.md: a short of 1 sells at 101.650, above the index: a rebate
    let short = quote(&pool, fx("-1"), s, sigma, Fix::ZERO).unwrap();
    assert!(short.main.premium < Fix::ZERO && short.main.price > s);
    // k = −15 crosses k*: flatten 10 at the index, then 5 short from flat
    let cross = quote(&pool, fx("-15"), s, sigma, Fix::ZERO).unwrap();
    let flat = cross.flattening.expect("a crossing trade is split");
    assert_eq!(
        (flat.size, flat.premium_sign, flat.price),
        (fx("-10"), 0, s)
    );
    assert_eq!(cross.main.size, fx("-5"));
    assert_digits(&decimal(cross.average_price), "99.99985");
}

fn keel_math_q(q: Prob) -> Fix {
    Fix::from_bits(keel_math::d8x::prob_to_q64(q, false))
}

#[test]
fn weighted_pool_vector() {
    // x = y = 1000, weights 0.8/0.2, 10 x in: 13 decimals of native precision
    let unit = 10u64.pow(13);
    let (w_x, w_y) = (fx("0.8"), fx("0.2"));
    let out = out_given_in(1000 * unit, w_x, 1000 * unit, w_y, 10 * unit).unwrap();
    // exact 39.01965551718371717…, floored in the pool's favour
    assert_eq!(out, 390_196_555_171_837);
    assert_digits(
        &format!("{}.{:013}", out / unit, out % unit),
        "39.0196555171837",
    );
    let back = in_given_out(1000 * unit, w_x, 1000 * unit, w_y, out).unwrap();
    assert_digits(&format!("{}.{:013}", back / unit, back % unit), "10");
    assert!(
        back <= 10 * unit,
        "the floored out never costs more than the original 10"
    );
    // spot price: 4 y per x
    // (0.8 and 0.2 are not binary fractions: the ratio is 4 to within a few ulps)
    let spot = spot_price(1000, w_y, 1000, w_x).unwrap();
    assert!(
        (spot - Fix::from_num(4)).abs() <= Fix::from_bits(8),
        "{spot}"
    );
    assert_digits(&decimal(spot), "4");
    // the invariant of a balanced pool is its balance
    assert!(
        (invariant(&[1000, 1000], &[w_x, w_y]).unwrap() - Fix::from_num(1000)).abs() < fx("1e-15")
    );
}

#[test]
fn imbalance_scenarios() {
    let sigma = [fx("0.03"), fx("0.04")];
    let rho = [890_000_000];
    let is1 = imbalance::imbalance_score(&[fx("500"), fx("200")], &sigma, &rho).unwrap();
    assert_digits(&decimal(is1), "22.4187421591846");
    assert_digits(&decimal(is1 * is1), "502.6");
    let is2 = imbalance::imbalance_score(&[fx("-500"), fx("200")], &sigma, &rho).unwrap();
    assert_digits(&decimal(is2), "8.68331733843696");
    assert_digits(&decimal(is2 * is2), "75.4");
    for b in [[fx("500"), fx("200")], [fx("-500"), fx("200")]] {
        assert_digits(
            &decimal(imbalance::exposure_norm(&b, &sigma).unwrap()),
            "17",
        );
    }
}

#[test]
fn inverse_normal_dd() {
    // D8X's distance to default for a 1 % target
    assert_digits(
        &decimal(norm_inv(Prob::from_num(1) / 100).unwrap()),
        "-2.32634787404084",
    );
}
