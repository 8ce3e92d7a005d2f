//! D8X pricing for stablecoin collateral: the pool's default probability q, the price with
//! premium, rebate and half-spread, and the pool-capital target M* for a target q.
//!
//! Notation (mission.md, seed 002): K = traders' net position in base units (> 0: traders net
//! long, the pool short K); L = traders' locked-in value (sum of entry notionals, quote units);
//! M = pool capital at risk for this market; s = oracle price; σ = stdev of the log return over
//! the pricing horizon. The pool defaults at the horizon when M + L − K·s·e^X < 0 with
//! X ~ N(−σ²/2, σ²):
//! - K > 0: q = Φ((ln(K·s/(L + M)) − σ²/2)/σ), and q = 1 if L + M ≤ 0;
//! - K < 0: q = 0 if M ≥ −L, else q = Φ((ln((−L − M)/(|K|·s)) + σ²/2)/σ);
//! - K = 0: q = 0 if M + L ≥ 0, else 1.
//!
//! A trade of k base units moves the state to K' = K + k, L' = L + k·s and is priced
//! p = s·(1 + sgn(k − k*)·q(k) + sgn(k)·β), k* = −K. A trade that crosses k* is split into the
//! part that flattens the pool and the part that opens new risk from flat.

use crate::exp::exp_bits;
use crate::ln::ln_bits;
use crate::normal::{norm_cdf_bits, norm_inv};
use crate::wide::{Rounding, div_q64, mul_q64};
use crate::{Fix, MathError, MathResult, Prob};

/// The traders' aggregate in one market, as the pool sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// K: traders' net position in base units (> 0: traders net long).
    pub net_position: Fix,
    /// L: traders' locked-in value, quote units (Σ entry notionals, signed like K).
    pub locked_value: Fix,
    /// M: pool capital at risk for this market, quote units.
    pub capital: Fix,
}

/// One priced part of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    /// Size in base units (> 0 buys, < 0 sells).
    pub size: Fix,
    /// q evaluated at the state after this leg.
    pub q: Prob,
    /// sgn(size − k*): +1 or −1 when the leg pays a premium or earns a rebate, 0 when it exactly
    /// flattens the pool.
    pub premium_sign: i8,
    /// Execution price, rounded against the trader (up for buys, down for sells).
    pub price: Fix,
    /// Premium paid by the trader in quote units, q·s·|size|, negative for a rebate; rounded
    /// toward +∞ (against the trader) either way.
    pub premium: Fix,
}

/// The price of a whole trade: one leg, or two when it crosses k*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The leg that reduces the pool's exposure up to flat (a crossing trade), if any.
    pub flattening: Option<Leg>,
    /// The leg priced from the state it starts in (the whole trade when it does not cross k*).
    pub main: Leg,
    /// Size-weighted average price, rounded against the trader.
    pub average_price: Fix,
}

/// The pool's default probability q for a market in state (K, L, M) at price s.
///
/// Errors: Domain for s ≤ 0 or σ ≤ 0.
pub fn default_probability(exposure: &Exposure, price: Fix, sigma: Fix) -> MathResult<Prob> {
    let (k, l, m) = (
        exposure.net_position.to_bits(),
        exposure.locked_value.to_bits(),
        exposure.capital.to_bits(),
    );
    let (s, sig) = (price.to_bits(), sigma.to_bits());
    if s <= 0 || sig <= 0 {
        return Err(MathError::Domain);
    }
    const ONE: u128 = 1 << 127;
    let cover = l.checked_add(m).ok_or(MathError::Overflow)?; // L + M
    let half_var = mul_q64(sig, sig, Rounding::Nearest)? >> 1;
    let arg = match k.signum() {
        0 => return Ok(Prob::from_bits(if cover >= 0 { 0 } else { ONE })),
        1 => {
            if cover <= 0 {
                return Ok(Prob::from_bits(ONE));
            }
            // ln(K·s) − ln(L + M) − σ²/2, without forming K·s
            ln_bits(k as u128, 64)? + ln_bits(s as u128, 64)?
                - ln_bits(cover as u128, 64)?
                - half_var
        }
        _ => {
            if cover >= 0 {
                return Ok(Prob::ZERO);
            }
            // ln(−L − M) − ln(|K|·s) + σ²/2
            ln_bits(cover.unsigned_abs(), 64)?
                - ln_bits(k.unsigned_abs(), 64)?
                - ln_bits(s as u128, 64)?
                + half_var
        }
    };
    match div_q64(arg, sig, Rounding::Nearest) {
        Ok(z) => norm_cdf_bits(z).map(Prob::from_bits),
        Err(MathError::Overflow) => Ok(Prob::from_bits(if arg > 0 { ONE } else { 0 })),
        Err(e) => Err(e),
    }
}

/// The state after a trade of `size` base units at price s: K' = K + k, L' = L + k·s.
pub fn after_trade(exposure: &Exposure, size: Fix, price: Fix) -> MathResult<Exposure> {
    let notional = mul_q64(size.to_bits(), price.to_bits(), Rounding::Nearest)?;
    Ok(Exposure {
        net_position: Fix::from_bits(
            exposure
                .net_position
                .to_bits()
                .checked_add(size.to_bits())
                .ok_or(MathError::Overflow)?,
        ),
        locked_value: Fix::from_bits(
            exposure
                .locked_value
                .to_bits()
                .checked_add(notional)
                .ok_or(MathError::Overflow)?,
        ),
        capital: exposure.capital,
    })
}

/// q(k): the default probability after a trade of k base units.
pub fn trade_probability(
    exposure: &Exposure,
    size: Fix,
    price: Fix,
    sigma: Fix,
) -> MathResult<Prob> {
    default_probability(&after_trade(exposure, size, price)?, price, sigma)
}

/// Price a trade of `size` base units (≠ 0) with half-spread β ≥ 0.
///
/// Errors: Domain for size = 0, s ≤ 0, σ ≤ 0 or β < 0; Overflow on unrepresentable notionals.
pub fn quote(
    exposure: &Exposure,
    size: Fix,
    price: Fix,
    sigma: Fix,
    half_spread: Fix,
) -> MathResult<Quote> {
    if size == Fix::ZERO || half_spread.is_negative() {
        return Err(MathError::Domain);
    }
    let k_star = -exposure.net_position.to_bits();
    let k = size.to_bits();
    let crosses =
        k_star != 0 && k.signum() == k_star.signum() && k.unsigned_abs() > k_star.unsigned_abs();
    if !crosses {
        let main = leg(exposure, size, price, sigma, half_spread)?;
        return Ok(Quote {
            flattening: None,
            average_price: main.price,
            main,
        });
    }
    let flat_size = Fix::from_bits(k_star);
    let flattening = leg(exposure, flat_size, price, sigma, half_spread)?;
    let flat = after_trade(exposure, flat_size, price)?;
    let main = leg(&flat, Fix::from_bits(k - k_star), price, sigma, half_spread)?;
    // average = (k1·p1 + k2·p2)/k; all three sizes share k's sign
    let rounding = if k > 0 { Rounding::Up } else { Rounding::Down };
    let v1 = mul_q64(k_star, flattening.price.to_bits(), rounding)?;
    let v2 = mul_q64(k - k_star, main.price.to_bits(), rounding)?;
    let total = v1.checked_add(v2).ok_or(MathError::Overflow)?;
    let average_price = Fix::from_bits(div_q64(total, k, rounding)?);
    Ok(Quote {
        flattening: Some(flattening),
        main,
        average_price,
    })
}

/// One leg priced from `exposure`: p = s·(1 + sgn(k − k*)·q(k) + sgn(k)·β).
fn leg(
    exposure: &Exposure,
    size: Fix,
    price: Fix,
    sigma: Fix,
    half_spread: Fix,
) -> MathResult<Leg> {
    let k = size.to_bits();
    let k_star = -exposure.net_position.to_bits();
    let q = trade_probability(exposure, size, price, sigma)?;
    priced_leg(size, price, q, (k - k_star).signum() as i8, half_spread)
}

/// The pool's default probability from a Gaussian PnL over the horizon (the portfolio premium):
/// q = Φ(−C / (IS·√h)), with C the pool's capital, IS the one-period standard deviation of its
/// PnL (the Imbalance Score, same units as C) and √h the horizon in periods. q = 1 when C ≤ 0
/// and 0 when IS = 0 < C.
///
/// This is D8X's q for a whole book: for one market, C = M + L − K·s and IS·√h = K·s·σ give
/// q = Φ(−(M + L − K·s)/(K·s·σ)), the first-order expansion of D8X's lognormal
/// Φ((ln(K·s/(L + M)) − σ²/2)/σ) around K·s = L + M. Correlations enter through IS.
///
/// Errors: Domain for IS < 0 or √h ≤ 0.
pub fn portfolio_probability(capital: Fix, score: Fix, sqrt_horizon: Fix) -> MathResult<Prob> {
    const ONE: u128 = 1 << 127;
    if score.is_negative() || sqrt_horizon <= Fix::ZERO {
        return Err(MathError::Domain);
    }
    if capital <= Fix::ZERO {
        return Ok(Prob::from_bits(ONE));
    }
    let spread = mul_q64(score.to_bits(), sqrt_horizon.to_bits(), Rounding::Down)?;
    if spread == 0 {
        return Ok(Prob::ZERO);
    }
    // z = −C/(IS·√h), rounded toward zero (q up: against the trader)
    match div_q64(capital.to_bits(), spread, Rounding::Down) {
        Ok(z) => norm_cdf_bits(-z).map(Prob::from_bits),
        Err(MathError::Overflow) => Ok(Prob::ZERO),
        Err(e) => Err(e),
    }
}

/// A leg of `size` at oracle price s with a given q: p = s·(1 + sign·q + sgn(k)·β), where
/// `premium_sign` plays D8X's sgn(k − k*): the leg pays q when premium_sign·sgn(k) > 0 (it adds
/// to the pool's risk) and earns q when it is < 0 (it removes risk). The premium is q·s·|k|
/// with that sign; prices and premia round against the trader.
pub fn priced_leg(
    size: Fix,
    price: Fix,
    q: Prob,
    premium_sign: i8,
    half_spread: Fix,
) -> MathResult<Leg> {
    let k = size.to_bits();
    if k == 0 || half_spread.is_negative() || !(-1..=1).contains(&premium_sign) {
        return Err(MathError::Domain);
    }
    let buy = k > 0;
    let against_trader = if buy { Rounding::Up } else { Rounding::Down };
    // q in Q64.64, rounded so that the price moves against the trader
    let q_up = premium_sign as i128 * if buy { 1 } else { -1 } >= 0;
    let q64 = prob_to_q64(q, q_up);
    let factor = (1i128 << 64) + premium_sign as i128 * q64 + k.signum() * half_spread.to_bits();
    let p = mul_q64(price.to_bits(), factor, against_trader)?;
    // premium = sgn(k − k*)·q·s·k, rounded toward +∞ (against the trader)
    let paid = premium_sign as i128 * k.signum() > 0;
    let q_for_premium = prob_to_q64(q, paid);
    let qs = mul_q64(
        q_for_premium,
        price.to_bits(),
        if paid { Rounding::Up } else { Rounding::Down },
    )?;
    let premium = mul_q64(premium_sign as i128 * qs, k, Rounding::Up)?;
    Ok(Leg {
        size,
        q,
        premium_sign,
        price: Fix::from_bits(p),
        premium: Fix::from_bits(premium),
    })
}

/// A probability (127 fraction bits) as Q64.64 bits, rounded up or down.
pub fn prob_to_q64(q: Prob, up: bool) -> i128 {
    let bits = q.to_bits();
    let mut r = bits >> 63;
    if up && bits & ((1 << 63) - 1) != 0 {
        r += 1;
    }
    r as i128
}

/// M*: the smallest pool capital for which the market's default probability is at most
/// `target` (0 < target < 1/2), rounded up; 0 when no capital is needed.
///
/// K > 0: M* = K·s·e^(−σ·Φ⁻¹(q*) − σ²/2) − L; K < 0: M* = −L − |K|·s·e^(σ·Φ⁻¹(q*) − σ²/2);
/// K = 0: M* = max(0, −L). Errors: Domain for s ≤ 0, σ ≤ 0 or a target outside (0, 1/2).
pub fn capital_target(
    net_position: Fix,
    locked_value: Fix,
    price: Fix,
    sigma: Fix,
    target: Prob,
) -> MathResult<Fix> {
    if target == Prob::ZERO || target >= Prob::from_num(0.5) {
        return Err(MathError::Domain);
    }
    capital_target_dd(net_position, locked_value, price, sigma, norm_inv(target)?)
}

/// [`capital_target`] with the distance to default Φ⁻¹(q*) (< 0) given, so a program that fixes
/// q* computes Φ⁻¹ once and each target costs one exp.
pub fn capital_target_dd(
    net_position: Fix,
    locked_value: Fix,
    price: Fix,
    sigma: Fix,
    distance_to_default: Fix,
) -> MathResult<Fix> {
    if price <= Fix::ZERO {
        return Err(MathError::Domain);
    }
    let factors = CapitalFactors::new(sigma, distance_to_default)?;
    let k = net_position.to_bits();
    // K·s rounded so the target only grows: up for a net long, toward zero for a net short
    let notional = if k >= 0 {
        mul_q64(k, price.to_bits(), Rounding::Up)?
    } else {
        -mul_q64(k.abs(), price.to_bits(), Rounding::Down)?
    };
    factors.capital_target(Fix::from_bits(notional), locked_value)
}

/// The parts of M* that depend only on σ and Φ⁻¹(q*), so a program can keep them per market and
/// size a reserve with one product instead of an exp: `growth` = e^(−σ·Φ⁻¹(q*) − σ²/2) and
/// `shrink` = e^(σ·Φ⁻¹(q*) − σ²/2), Q64.64 bits, each with one ulp of slack toward a larger M*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapitalFactors {
    pub growth: i128,
    pub shrink: i128,
}

impl CapitalFactors {
    /// Errors: Domain for σ ≤ 0 or Φ⁻¹(q*) ≥ 0.
    pub fn new(sigma: Fix, distance_to_default: Fix) -> MathResult<Self> {
        if sigma <= Fix::ZERO || distance_to_default >= Fix::ZERO {
            return Err(MathError::Domain);
        }
        let (sig, dd) = (sigma.to_bits(), distance_to_default.to_bits());
        let half_var = mul_q64(sig, sig, Rounding::Up)? >> 1;
        let sig_dd = mul_q64(sig, dd, Rounding::Nearest)?;
        Ok(CapitalFactors {
            growth: exp_bits(-sig_dd - half_var)? + 1,
            shrink: (exp_bits(sig_dd - half_var)? - 1).max(0),
        })
    }

    /// M* for a net notional K·s (signed like K; round it up for a net long and toward zero
    /// for a net short, so M* is not understated) and locked value L; 0 when no capital is
    /// needed. K > 0: K·s·growth − L; K < 0: −L − |K·s|·shrink; K·s = 0: −L.
    pub fn capital_target(&self, net_notional: Fix, locked_value: Fix) -> MathResult<Fix> {
        let (n, l) = (net_notional.to_bits(), locked_value.to_bits());
        let m_star = match n.signum() {
            0 => l.checked_neg().ok_or(MathError::Overflow)?,
            1 => mul_q64(n, self.growth, Rounding::Up)?
                .checked_sub(l)
                .ok_or(MathError::Overflow)?,
            _ => (-l)
                .checked_sub(mul_q64(n.abs(), self.shrink, Rounding::Down)?)
                .ok_or(MathError::Overflow)?,
        };
        Ok(Fix::from_bits(m_star.max(0)))
    }

    /// [`Self::capital_target`] for whole quote units, rounded up: `⌈M*⌉` for an integer net
    /// notional and locked value. The same bits, from two word products instead of a 256-bit
    /// one when the notional fits a word (a program sizes 32 reserves per withdrawal).
    pub fn capital_target_units(&self, net_notional: i128, locked_value: i128) -> MathResult<u128> {
        let magnitude = net_notional.unsigned_abs();
        if magnitude >> 64 != 0 || self.growth < 0 || self.shrink < 0 {
            let to_fix = |v: i128| {
                v.checked_mul(1 << 64)
                    .map(Fix::from_bits)
                    .ok_or(MathError::Overflow)
            };
            let m = self.capital_target(to_fix(net_notional)?, to_fix(locked_value)?)?;
            return Ok((m.to_bits() as u128).div_ceil(1 << 64));
        }
        let factor = if net_notional > 0 {
            self.growth
        } else {
            self.shrink
        } as u128;
        // |N|·factor = |N|·lo + (|N|·hi)·2^64, as 2^64·whole + fraction
        let low = crate::wide::mul_u64(magnitude as u64, factor as u64);
        let high = crate::wide::mul_u64(magnitude as u64, (factor >> 64) as u64);
        let whole = high.checked_add(low >> 64).ok_or(MathError::Overflow)?;
        let fraction = low as u64;
        let whole = i128::try_from(whole).map_err(|_| MathError::Overflow)?;
        let m_star = match net_notional.signum() {
            0 => locked_value.checked_neg().ok_or(MathError::Overflow)?,
            // ⌈N·growth⌉ − L
            1 => (whole + (fraction != 0) as i128)
                .checked_sub(locked_value)
                .ok_or(MathError::Overflow)?,
            // −L − ⌊|N|·shrink⌋
            _ => locked_value
                .checked_neg()
                .and_then(|v| v.checked_sub(whole))
                .ok_or(MathError::Overflow)?,
        };
        Ok(m_star.max(0) as u128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed-point helpers: no floating point in this crate, tests included.
    fn f(v: i64) -> Fix {
        Fix::from_num(v)
    }
    fn ratio(num: i64, den: i64) -> Fix {
        Fix::from_num(num) / Fix::from_num(den)
    }
    fn q64(q: Prob) -> Fix {
        Fix::from_bits(prob_to_q64(q, false))
    }

    #[test]
    fn portfolio_probability_is_the_gaussian_default_probability() {
        assert_eq!(
            portfolio_probability(f(0), f(50), f(1)),
            Ok(Prob::from_bits(1 << 127))
        );
        assert_eq!(portfolio_probability(f(100), f(0), f(1)), Ok(Prob::ZERO));
        assert_eq!(
            portfolio_probability(f(100), f(-1), f(1)),
            Err(MathError::Domain)
        );
        // C = 100 against IS·√h = 50: Φ(−2) = 0.0227501319481792072… (its Q64.64 bits below),
        // to 1e-15
        let q = q64(portfolio_probability(f(100), f(25), f(2)).unwrap());
        let phi_minus_2 = Fix::from_bits(419_665_861_691_185_126);
        assert!((q - phi_minus_2).abs() < Fix::from_bits(18_447), "{q}");
        // one market, K·s = 1,000, L = 1,000, M = 100, σ = 5 %: D8X's lognormal q is 0.0267,
        // the first-order Gaussian (C = M + L − K·s = 100, IS = K·s·σ = 50) gives 0.0228
        let d8x = q64(default_probability(
            &Exposure {
                net_position: f(10),
                locked_value: f(1_000),
                capital: f(100),
            },
            f(100),
            ratio(5, 100),
        )
        .unwrap());
        let gauss = q64(portfolio_probability(f(100), f(50), f(1)).unwrap());
        let within = |x: Fix, target: Fix| (x - target).abs() < ratio(1, 10_000);
        assert!(within(d8x, ratio(2_674, 100_000)), "{d8x}");
        assert!(within(gauss, ratio(2_275, 100_000)), "{gauss}");
    }

    #[test]
    fn priced_leg_pays_when_adding_risk_and_earns_when_removing_it() {
        let q = Prob::from_bits((1u128 << 127) / 100); // 0.01, rounded down
        // q is 0.01 to 2^-127: prices and premia are exact to far below 1e-12
        let tiny = ratio(1, 1_000_000_000_000);
        let buy_adds = priced_leg(f(2), f(100), q, 1, Fix::ZERO).unwrap();
        assert!((buy_adds.price - f(101)).abs() < tiny);
        assert!((buy_adds.premium - f(2)).abs() < tiny && buy_adds.premium > Fix::ZERO);
        let sell_adds = priced_leg(f(-2), f(100), q, -1, Fix::ZERO).unwrap();
        assert!((sell_adds.price - f(99)).abs() < tiny);
        assert!((sell_adds.premium - f(2)).abs() < tiny && sell_adds.premium > Fix::ZERO);
        let buy_removes = priced_leg(f(2), f(100), q, -1, Fix::ZERO).unwrap();
        assert!((buy_removes.price - f(99)).abs() < tiny);
        assert!((buy_removes.premium + f(2)).abs() < tiny && buy_removes.premium < Fix::ZERO);
        assert_eq!(
            priced_leg(f(0), f(100), q, 1, Fix::ZERO),
            Err(MathError::Domain)
        );
    }
}
