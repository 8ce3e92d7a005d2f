//! The insurance charge's guarantees over random books: splitting a trade saves nothing beyond
//! one native unit per piece (each piece rounds for the pool), a round trip at one price earns
//! nothing, and the book value behaves like the option it is (convex in the book, falling with
//! the headroom, never below the shortfall that is already certain). Checked for the
//! lognormal (per-market) value and the Gaussian (portfolio) one, and the closed forms against
//! a Monte Carlo estimate of D8X's eq. (2).

use keel_math::insurance::{BookValue, gaussian_book_value, lognormal_book_value};
use keel_math::{Fix, d8x};
use proptest::prelude::*;

/// The integer charge of moving a book from `before` to `after`, rounded up (for the pool).
fn charge(before: BookValue, after: BookValue) -> i128 {
    (after.value - before.value).ceil().to_num::<i128>()
}

/// A book in native units: net position K (base native), price s, headroom H, σ.
#[derive(Debug, Clone)]
struct Book {
    net: i64,
    price: Fix,
    headroom: i64,
    sigma: Fix,
}

impl Book {
    fn value(&self, net: i64) -> BookValue {
        let notional = Fix::from_bits(net as i128 * self.price.to_bits());
        lognormal_book_value(notional, Fix::from_num(self.headroom), self.sigma).unwrap()
    }
}

fn book() -> impl Strategy<Value = Book> {
    (
        -1_000_000_000_000i64..1_000_000_000_000,
        1u32..200_000,
        -1_000_000_000_000i64..100_000_000_000_000,
        1u32..2_000,
    )
        .prop_map(|(net, price_e3, headroom, sigma_e4)| Book {
            net,
            price: Fix::from_num(price_e3) / 1_000,
            headroom,
            sigma: Fix::from_num(sigma_e4) / 10_000,
        })
}

/// A trade of `size` cut at the given fractions into at most 12 pieces.
fn pieces(size: i64, cuts: &[u16]) -> Vec<i64> {
    let mut at: Vec<i64> = cuts
        .iter()
        .map(|c| (size as i128 * *c as i128 / u16::MAX as i128) as i64)
        .collect();
    at.push(0);
    at.push(size);
    at.sort_unstable_by_key(|x| if size >= 0 { *x } else { -*x });
    at.windows(2)
        .map(|w| w[1] - w[0])
        .filter(|p| *p != 0)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn a_split_trade_pays_what_the_whole_trade_pays(
        b in book(),
        size in -1_000_000_000_000i64..1_000_000_000_000,
        cuts in prop::collection::vec(any::<u16>(), 0..11),
    ) {
        let whole = charge(b.value(b.net), b.value(b.net + size));
        let parts = pieces(size, &cuts);
        let mut net = b.net;
        let mut split = 0i128;
        for p in &parts {
            split += charge(b.value(net), b.value(net + p));
            net += p;
        }
        // the pieces telescope: the only difference is each piece's rounding, for the pool
        prop_assert!(split >= whole, "split {split} < whole {whole}");
        prop_assert!(split - whole <= parts.len() as i128, "split {split}, whole {whole}, {} pieces", parts.len());
    }

    #[test]
    fn a_round_trip_at_one_price_earns_nothing(b in book(), size in -1_000_000_000_000i64..1_000_000_000_000) {
        let there = charge(b.value(b.net), b.value(b.net + size));
        let back = charge(b.value(b.net + size), b.value(b.net));
        prop_assert!((0..=1).contains(&(there + back)), "{there} + {back}");
    }

    #[test]
    fn the_value_is_convex_in_the_book(b in book(), step in 1i64..1_000_000_000_000) {
        let (lo, mid, hi) = (b.value(b.net - step), b.value(b.net), b.value(b.net + step));
        // V(K − d) + V(K + d) ≥ 2·V(K), up to the kernels' resolution
        let slack = Fix::from_num(1) / 1_000;
        prop_assert!(lo.value + hi.value + slack >= mid.value + mid.value, "{lo:?} {mid:?} {hi:?}");
    }

    #[test]
    fn more_headroom_never_raises_the_value(b in book(), extra in 1i64..1_000_000_000_000) {
        let richer = Book { headroom: b.headroom + extra, ..b.clone() };
        // up to the kernels' resolution, far below a native unit
        let slack = Fix::from_num(1) / 1_000;
        prop_assert!(richer.value(b.net).value <= b.value(b.net).value + slack);
        prop_assert!(richer.value(b.net).default_probability <= b.value(b.net).default_probability);
    }

    #[test]
    fn the_value_is_at_least_the_certain_shortfall(b in book()) {
        // E[max(Y − H, 0)] ≥ max(E[Y] − H, 0) = max(−H, 0): the book's expected PnL is zero
        let v = b.value(b.net).value;
        let certain = Fix::from_num((-b.headroom).max(0));
        prop_assert!(v + Fix::from_num(1) / 1_000 >= certain, "{v} < {certain}");
    }

    #[test]
    fn the_gaussian_charge_telescopes_too(
        capital in -1_000_000_000_000i64..100_000_000_000_000,
        spreads in prop::collection::vec(0i64..10_000_000_000_000, 2..12),
    ) {
        let v = |s: i64| gaussian_book_value(Fix::from_num(capital), Fix::from_num(s)).unwrap();
        let whole = charge(v(spreads[0]), v(*spreads.last().unwrap()));
        let split: i128 = spreads.windows(2).map(|w| charge(v(w[0]), v(w[1]))).sum();
        prop_assert!(split >= whole && split - whole < spreads.len() as i128);
        let back = charge(v(*spreads.last().unwrap()), v(spreads[0]));
        prop_assert!((0..=1).contains(&(whole + back)));
    }

    #[test]
    fn a_larger_gaussian_spread_is_worth_more(capital in -1_000_000_000i64..1_000_000_000_000, s in 0i64..1_000_000_000_000, extra in 1i64..1_000_000_000) {
        let v = |s: i64| gaussian_book_value(Fix::from_num(capital), Fix::from_num(s)).unwrap().value;
        prop_assert!(v(s + extra) + Fix::from_num(1) / 1_000 >= v(s));
    }
}

/// A deterministic Monte Carlo estimate of E[max(F·(e^X − 1) − H, 0)], X ~ N(−σ²/2, σ²), with
/// antithetic normal pairs from a fixed-seed generator (test code: floating point is fine).
fn monte_carlo(f: f64, h: f64, sigma: f64, paths: usize) -> (f64, f64) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let payoff = |z: f64| (f * ((sigma * z - sigma * sigma / 2.0).exp() - 1.0) - h).max(0.0);
    let (mut sum, mut sq) = (0.0, 0.0);
    for _ in 0..paths / 2 {
        let (u1, u2) = (uniform().max(1e-300), uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let y = (payoff(z) + payoff(-z)) / 2.0;
        sum += y;
        sq += y * y;
    }
    let n = (paths / 2) as f64;
    let mean = sum / n;
    (mean, ((sq / n - mean * mean) / n).sqrt())
}

#[test]
fn the_closed_form_matches_monte_carlo() {
    // D8X's Figure 1 setting (σ = 5 %, one trader from a flat pool: H = M) and both signs
    for (f, h) in [
        (100.0, 100.0),
        (1_000.0, 100.0),
        (3_000.0, 100.0),
        (-1_000.0, 100.0),
        (-3_000.0, 100.0),
        (500.0, -20.0),
    ] {
        let exact = lognormal_book_value(Fix::from_num(f), Fix::from_num(h), Fix::from_num(0.05))
            .unwrap()
            .value
            .to_num::<f64>();
        let (mc, se) = monte_carlo(f, h, 0.05, 2_000_000);
        assert!(
            (exact - mc).abs() <= 4.0 * se + 1e-9,
            "F {f} H {h}: closed form {exact}, Monte Carlo {mc} ± {se}"
        );
    }
}

#[test]
fn the_digital_option_is_the_upper_approximation_from_a_flat_book() {
    // D8X (Figure 1): q·κ·s ≥ the exact insurance value for a trade from a flat book at σ = 5 %
    let (m, s, sigma) = (Fix::from_num(100), Fix::from_num(100), Fix::from_num(0.05));
    for units in [1, 2, 5, 8, 10, 20, 40] {
        let notional = Fix::from_num(units * 100);
        let exact = lognormal_book_value(notional, m, sigma).unwrap().value;
        let flat = d8x::Exposure {
            net_position: Fix::ZERO,
            locked_value: Fix::ZERO,
            capital: m,
        };
        let q = d8x::trade_probability(&flat, Fix::from_num(units), s, sigma).unwrap();
        let digital = Fix::from_num(q.to_num::<f64>()) * notional;
        assert!(
            digital >= exact,
            "{units}: digital {digital} < exact {exact}"
        );
    }
}
