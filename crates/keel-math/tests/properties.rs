//! Property tests: the structural guarantees the programs rely on, over random inputs.

use keel_math::d8x::{Exposure, trade_probability};
use keel_math::imbalance::{exposure_norm, imbalance_score, upper_len};
use keel_math::weighted::{in_given_out, out_given_in, spot_price};
use keel_math::*;
use num_bigint::BigUint;
use proptest::prelude::*;

fn fix_from(bits: i128) -> Fix {
    Fix::from_bits(bits)
}

/// A Fix in [lo, hi) drawn uniformly over its bits.
fn fix_range(lo: f64, hi: f64) -> impl Strategy<Value = Fix> {
    let (a, b) = (Fix::from_num(lo).to_bits(), Fix::from_num(hi).to_bits());
    (a..b).prop_map(fix_from)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn norm_cdf_is_monotone_and_bounded(a in fix_range(-15.0, 15.0), b in fix_range(-15.0, 15.0)) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (pl, ph) = (norm_cdf(lo).unwrap(), norm_cdf(hi).unwrap());
        prop_assert!(pl <= ph, "Φ({lo}) = {pl} > Φ({hi}) = {ph}");
        prop_assert!(ph <= Prob::ONE);
    }

    #[test]
    fn norm_cdf_is_monotone_at_the_ulp(x in fix_range(-13.0, 13.0), step in 1i128..1 << 40) {
        let y = fix_from(x.to_bits() + step);
        prop_assert!(norm_cdf(x).unwrap() <= norm_cdf(y).unwrap());
    }

    #[test]
    fn norm_inv_inverts_norm_cdf(x in fix_range(-9.0, 9.0)) {
        let p = norm_cdf(x).unwrap();
        let back = norm_inv(p).unwrap();
        // |dx| ≈ |dp|/φ(x): allow 1e-12 relative plus the density-scaled rounding of p
        prop_assert!((back - x).abs() <= Fix::from_num(1e-12) * (Fix::ONE + x.abs()), "{x} -> {back}");
    }

    /// q ∈ [0, 1] and grows with the trader's exposure on the crowded side: for a book opened at
    /// the current price (L = K·s) and positive capital, a larger same-side trade never lowers q.
    #[test]
    fn d8x_q_bounded_and_increasing(
        k_units in 0i64..1_000_000,
        long in any::<bool>(),
        t1 in 1i64..1_000_000,
        t2 in 1i64..1_000_000,
        price in fix_range(0.01, 100_000.0),
        capital in fix_range(1.0, 1e9),
        sigma in fix_range(0.001, 0.5),
    ) {
        let sign = if long { 1 } else { -1 };
        let k = Fix::from_num(sign * k_units) / 100;
        let exposure = Exposure { net_position: k, locked_value: k * price, capital };
        let (a, b) = (t1.min(t2), t1.max(t2));
        let qa = trade_probability(&exposure, Fix::from_num(sign * a) / 100, price, sigma).unwrap();
        let qb = trade_probability(&exposure, Fix::from_num(sign * b) / 100, price, sigma).unwrap();
        prop_assert!(qb <= Prob::ONE);
        prop_assert!(qa <= qb, "q({a}) = {qa} > q({b}) = {qb}");
    }

    /// M* is the capital at which the default probability reaches the target: q(M*) ≤ q* and,
    /// a little below M*, q > q* (the book here always needs capital: L = K·s·(1 ∓ 5%)). The
    /// per-market factors give the same bits as the one-shot target.
    #[test]
    fn capital_target_meets_the_default_target(
        k_units in 1i64..1_000_000,
        long in any::<bool>(),
        price in fix_range(0.01, 100_000.0),
        sigma in fix_range(0.01, 0.5),
        target_e6 in 10u32..100_000,
    ) {
        let sign = if long { 1 } else { -1 };
        let k = Fix::from_num(sign * k_units) / 100;
        // a book 5% in the traders' favour (entered 5% better than s)
        let locked = k * price * (Fix::ONE - Fix::from_num(sign) / 20);
        let target = Prob::from_num(Fix::from_num(target_e6) / 1_000_000);
        let dd = norm_inv(target).unwrap();
        let m_star = d8x::capital_target_dd(k, locked, price, sigma, dd).unwrap();
        prop_assert!(m_star > Fix::ZERO);
        let q = |capital| {
            let e = d8x::Exposure { net_position: k, locked_value: locked, capital };
            d8x::default_probability(&e, price, sigma).unwrap()
        };
        // tolerances: Φ⁻¹ and exp are accurate to ~1e-15 relative; q* ≥ 1e-5
        let slack = target / 1_000_000u128;
        prop_assert!(q(m_star) <= target + slack, "q(M*) = {} > {target}", q(m_star));
        let below = m_star - m_star / 1_000_000;
        prop_assert!(q(below) > target, "q(0.999999·M*) = {} ≤ {target}", q(below));

        let factors = d8x::CapitalFactors::new(sigma, dd).unwrap();
        let notional = if sign > 0 {
            Fix::from_bits(keel_math::wide::mul_q64(k.to_bits(), price.to_bits(), Rounding::Up).unwrap())
        } else {
            -Fix::from_bits(keel_math::wide::mul_q64(-k.to_bits(), price.to_bits(), Rounding::Down).unwrap())
        };
        prop_assert_eq!(factors.capital_target(notional, locked).unwrap(), m_star);
    }

    /// The whole-unit reserve is ⌈M*⌉ of the Fix one, on both of its paths (inputs kept where
    /// the Fix version's intermediates fit: |K·s|·growth and |L| well inside 2^63).
    #[test]
    fn capital_target_units_is_the_ceiling(
        // word-sized notionals (the fast path), small ones, and wide ones (the Fix path, which
        // overflows there like the Fix version)
        notional in prop_oneof![
            -(1i128 << 58)..(1i128 << 58),
            -(1i128 << 40)..(1i128 << 40),
            (1i128 << 64)..(1i128 << 66),
        ],
        locked in -(1i128 << 58)..(1i128 << 58),
        sigma in fix_range(0.01, 0.5),
        target_e6 in 1u32..400_000,
    ) {
        let target = Prob::from_num(Fix::from_num(target_e6) / 1_000_000);
        let factors = d8x::CapitalFactors::new(sigma, norm_inv(target).unwrap()).unwrap();
        let expect = match notional.checked_mul(1 << 64) {
            None => Err(MathError::Overflow),
            Some(n) => factors
                .capital_target(Fix::from_bits(n), Fix::from_bits(locked << 64))
                .map(|m| (m.to_bits() as u128).div_ceil(1 << 64)),
        };
        prop_assert_eq!(factors.capital_target_units(notional, locked), expect);
    }

    /// A swap never gives more than the spot price and never lowers the invariant
    /// (checked exactly with big integers: weights are a/64 and b/64).
    #[test]
    fn weighted_swaps_favour_the_pool(
        bi in 1_000u64..1_000_000_000_000_000_000,
        bo in 1_000u64..1_000_000_000_000_000_000,
        a in 1u32..64,
        frac_in in 1u64..1_000_000,
        frac_out in 1u64..999_999,
    ) {
        let b = 64 - a;
        let (wi, wo) = (Fix::from_num(a) / 64, Fix::from_num(b) / 64);
        let amount_in = ((bi as u128 * frac_in as u128) / 2_000_000).max(1) as u64;
        let out = out_given_in(bi, wi, bo, wo, amount_in).unwrap();
        let big = |x: u64| BigUint::from(x);
        // never beats spot: amount_in/out ≥ (B_i/w_i)/(B_o/w_o) ⇔ A_i·B_o·a ≥ out·B_i·b
        prop_assert!(big(amount_in) * big(bo) * a >= big(out) * big(bi) * b);
        // invariant: (B_i + A_i)^a (B_o − out)^b ≥ B_i^a B_o^b
        let before = big(bi).pow(a) * big(bo).pow(b);
        let after = (big(bi) + big(amount_in)).pow(a) * (big(bo) - big(out)).pow(b);
        prop_assert!(after >= before, "out-given-in lowered the invariant");

        let amount_out = ((bo as u128 * frac_out as u128) / 2_000_000).max(1) as u64;
        if let Ok(cost) = in_given_out(bi, wi, bo, wo, amount_out) {
            let after = (big(bi) + big(cost)).pow(a) * (big(bo) - big(amount_out)).pow(b);
            prop_assert!(after >= before, "in-given-out lowered the invariant");
            prop_assert!(big(cost) * big(bo) * a >= big(amount_out) * big(bi) * b);
        }
        // the quoted spot is the marginal price of the out token in in-token units
        let spot = spot_price(bi, wi, bo, wo).unwrap();
        prop_assert!(spot > Fix::ZERO);
    }

    /// IS ≥ 0; IS = ||K|| for R = I (to 2^-52: each is exact to ~2^-56 once K is normalised to
    /// 55 bits); IS unchanged, bit for bit, when every B flips sign.
    #[test]
    fn imbalance_score_properties(
        n in 1usize..=32,
        seed_b in prop::collection::vec(-1_000_000_000i64..1_000_000_000, 32),
        seed_s in prop::collection::vec(1u32..100_000, 32),
        loadings in prop::collection::vec(-1000i32..1000, 32 * 3),
    ) {
        let b: Vec<Fix> = seed_b[..n].iter().map(|&x| Fix::from_num(x) / 7).collect();
        let sigma: Vec<Fix> = seed_s[..n].iter().map(|&x| Fix::from_num(x) / 1_000_000).collect();
        // R from a 3-factor model plus a diagonal: positive definite by construction
        let f = |i: usize| [loadings[3 * i] as f64, loadings[3 * i + 1] as f64, loadings[3 * i + 2] as f64];
        let cov = |i: usize, j: usize| -> f64 {
            let (x, y) = (f(i), f(j));
            x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + if i == j { 250_000.0 } else { 0.0 }
        };
        let mut upper = Vec::with_capacity(upper_len(n));
        for i in 0..n {
            for j in i + 1..n {
                upper.push((cov(i, j) / (cov(i, i) * cov(j, j)).sqrt() * 1e9).round() as i32);
            }
        }
        let is = imbalance_score(&b, &sigma, &upper).unwrap();
        prop_assert!(is >= Fix::ZERO);
        let flipped: Vec<Fix> = b.iter().map(|x| -*x).collect();
        prop_assert_eq!(imbalance_score(&flipped, &sigma, &upper).unwrap(), is);
        let identity = vec![0i32; upper_len(n)];
        let is_id = imbalance_score(&b, &sigma, &identity).unwrap();
        let norm = exposure_norm(&b, &sigma).unwrap();
        prop_assert!((is_id - norm).abs() <= Fix::from_bits(norm.to_bits() >> 52) + Fix::from_bits(4), "{is_id} vs {norm}");
    }

    /// The integer book: a running T stays equal to a fresh evaluation through any sequence of
    /// single-market moves, and its score agrees with the Fix [`imbalance_score`] of the same
    /// book to within the rounding of K to whole units (|ΔIS| ≤ √λmax·||ΔK|| ≤ n units, plus
    /// one for the upward rounding of the root).
    #[test]
    fn imbalance_book_tracks_the_score(
        n in 1usize..=32,
        notionals in prop::collection::vec(-2_000_000_000_000i64..2_000_000_000_000, 32),
        sigmas in prop::collection::vec(1_000_000u64..200_000_000, 32),
        loadings in prop::collection::vec(-1000i32..1000, 32 * 3),
        moves in prop::collection::vec((0usize..32, -2_000_000_000_000i64..2_000_000_000_000), 1..40),
    ) {
        use keel_math::imbalance_book as book;
        let f = |i: usize| [loadings[3 * i] as f64, loadings[3 * i + 1] as f64, loadings[3 * i + 2] as f64];
        let cov = |i: usize, j: usize| -> f64 {
            let (x, y) = (f(i), f(j));
            x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + if i == j { 250_000.0 } else { 0.0 }
        };
        let mut upper = Vec::with_capacity(upper_len(n));
        for i in 0..n {
            for j in i + 1..n {
                upper.push((cov(i, j) / (cov(i, i) * cov(j, j)).sqrt() * 1e9).round() as i32);
            }
        }
        // B in USDC native units (6 decimals), up to $2M per market
        let mut b: Vec<i64> = notionals[..n].to_vec();
        let units = |b: i64, i: usize| book::exposure_units(b, sigmas[i], 6).unwrap();
        let mut k: Vec<i64> = (0..n).map(|i| units(b[i], i)).collect();
        let mut t = book::quadratic_form(&upper, &k).unwrap();
        let mut sum: u128 = k.iter().map(|x| (*x as i128 * *x as i128) as u128).sum();
        for (i, new_b) in moves {
            let i = i % n;
            let new_k = units(new_b, i);
            let row = book::row_product(&upper, &k, i).unwrap();
            t = book::quadratic_form_step(t, row, new_k - k[i]).unwrap();
            sum = book::norm_squared_step(sum, k[i], new_k).unwrap();
            (b[i], k[i]) = (new_b, new_k);
            prop_assert_eq!(t, book::quadratic_form(&upper, &k).unwrap());
        }
        let score = book::score(t).unwrap() as i128;
        let fix_b: Vec<Fix> = b.iter().map(|x| Fix::from_num(*x)).collect();
        let fix_s: Vec<Fix> = sigmas[..n].iter().map(|s| Fix::from_num(*s) / 1_000_000_000).collect();
        // Fix score in native units → milli-dollars
        let reference = imbalance_score(&fix_b, &fix_s, &upper).unwrap() / 1000;
        let diff = (Fix::from_num(score) - reference).abs();
        prop_assert!(diff <= Fix::from_num(n as i64 + 1), "{score} vs {reference}");
        let norm = book::norm(sum).unwrap() as i128;
        let reference = exposure_norm(&fix_b, &fix_s).unwrap() / 1000;
        prop_assert!((Fix::from_num(norm) - reference).abs() <= Fix::from_num(n as i64 + 1));
    }

    #[test]
    fn ema_stays_between(prev in fix_range(-1e6, 1e6), sample in fix_range(-1e6, 1e6), alpha in fix_range(0.0, 1.0)) {
        let v = ema_update(prev, sample, alpha).unwrap();
        prop_assert!(v >= prev.min(sample) && v <= prev.max(sample));
    }

    /// sqrt is the exact floor: r² ≤ x < (r + ulp)², checked in big integers.
    #[test]
    fn sqrt_is_the_exact_floor(bits in 0i128..i128::MAX) {
        let r = sqrt(Fix::from_bits(bits)).unwrap().to_bits() as u128;
        let n = BigUint::from(bits as u128) << 64u32;
        prop_assert!(BigUint::from(r) * BigUint::from(r) <= n);
        prop_assert!(BigUint::from(r + 1) * BigUint::from(r + 1) > n);
    }

    #[test]
    fn exp_ln_round_trip(x in fix_range(1e-9, 1e12)) {
        let back = exp(ln(x).unwrap()).unwrap();
        prop_assert!((back - x).abs() <= x / Fix::from_num(1e15) + Fix::from_bits(4));
    }
}
