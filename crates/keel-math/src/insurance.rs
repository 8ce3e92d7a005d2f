//! The value of the pool's default insurance on a whole book, and the charge that makes a fill's
//! premium independent of how the trade is split.
//!
//! D8X's eq. (2) values the insurance a trader buys as E[max(κ·s·(e^X − 1) − M, 0)]: what the
//! trader would be owed beyond the capital M the pool has for him. Applied to a market's whole
//! book (net position K, headroom H: the capital still free once the book's unrealised PnL at
//! the current price is paid), it is the value of the pool's shortfall,
//!
//!   V(K, H) = E[max(K·s·(e^X − 1) − H, 0)],   X ~ N(−σ²/2, σ²),
//!
//! a Black–Scholes call on F = K·s with strike F + H when traders are net long, and a put on
//! |F| with strike |F| − H when they are net short (zero rate; [`lognormal_book_value`]). With
//! the pool's PnL Gaussian instead (the portfolio mode, standard deviation S = IS·√h against
//! capital C) it is the Bachelier call E[max(Y − C, 0)] ([`gaussian_book_value`]).
//!
//! A fill is charged V(after) − V(before): a premium when it raises the insurance value, a
//! rebate when it lowers it. At a fixed price and headroom the charges of any sequence of fills
//! telescope, so a trade split into pieces pays exactly what it pays whole and a round trip
//! nets zero; D8X's digital-option premium q·|k|·s (q = Φ(d2), the default probability) is
//! this charge's upper approximation for a trade from a flat book.

use crate::ln::ln_bits;
use crate::normal::{cdf_and_pdf_bits, norm_cdf_bits};
use crate::wide::{Rounding, div_q64, mul_div_u128, mul_q64};
use crate::{Fix, MathError, MathResult, Prob};

const PROB_ONE: u128 = 1 << 127;

/// The insurance value of a book and the pool's default probability in that state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookValue {
    /// V ≥ 0, quote units, rounded to nearest (about 2^-60 relative to the book's notional).
    pub value: Fix,
    /// q: the probability that the pool's loss on the book exceeds its headroom at the horizon.
    pub default_probability: Prob,
}

impl BookValue {
    fn certain(value: i128, default: bool) -> Self {
        BookValue {
            value: Fix::from_bits(value.max(0)),
            default_probability: Prob::from_bits(if default { PROB_ONE } else { 0 }),
        }
    }
}

/// V(F, H) = E[max(F·(e^X − 1) − H, 0)] with X ~ N(−σ²/2, σ²): the value of the pool's shortfall
/// on a book of signed notional F = K·s (> 0: traders net long) with headroom H (signed: H < 0
/// when the book already owes more than the capital at risk).
///
/// - F > 0: a call on F struck at F + H: V = F·Φ(d1) − (F + H)·Φ(d2), q = Φ(d2), with
///   d1 = (ln(F/(F + H)) + σ²/2)/σ, d2 = d1 − σ; V = −H and q = 1 when F + H ≤ 0.
/// - F < 0: a put on |F| struck at |F| − H: V = (|F| − H)·Φ(−d2) − |F|·Φ(−d1), q = Φ(−d2), with
///   d1 = (ln(|F|/(|F| − H)) + σ²/2)/σ; V = 0 when |F| ≤ H (the book cannot owe more than |F|).
/// - F = 0: V = max(−H, 0).
///
/// Errors: Domain for σ ≤ 0; Overflow when F + H does not fit.
pub fn lognormal_book_value(notional: Fix, headroom: Fix, sigma: Fix) -> MathResult<BookValue> {
    let (f, h, sig) = (notional.to_bits(), headroom.to_bits(), sigma.to_bits());
    if sig <= 0 {
        return Err(MathError::Domain);
    }
    if f == 0 {
        return Ok(BookValue::certain(-h, h < 0));
    }
    let long = f > 0;
    let forward = f.unsigned_abs();
    // the strike: F + H for a long book, |F| − H for a short one
    let strike = if long {
        f.checked_add(h)
    } else {
        (forward as i128).checked_sub(h)
    }
    .ok_or(MathError::Overflow)?;
    if strike <= 0 {
        // the book's payoff is certain: a long book owes −H beyond its headroom for sure, a
        // short one can never owe more than |F| < H
        return Ok(if long {
            BookValue::certain(-h, true)
        } else {
            BookValue::certain(0, false)
        });
    }
    let ln_ratio = ln_bits(forward, 64)? - ln_bits(strike as u128, 64)?;
    let d1 = match div_q64(ln_ratio, sig, Rounding::Nearest) {
        Ok(x) => x.checked_add(sig >> 1).ok_or(MathError::Overflow)?,
        // |ln(F/strike)| ≫ σ: both tails are 0 or 1 to every digit, the payoff is intrinsic
        Err(MathError::Overflow) => {
            let in_the_money = ln_ratio > 0;
            return Ok(BookValue::certain(
                if in_the_money {
                    forward as i128 - strike
                } else {
                    0
                },
                in_the_money,
            ));
        }
        Err(e) => return Err(e),
    };
    let d2 = d1 - sig;
    // the call uses Φ(d1), Φ(d2); the put Φ(−d2), Φ(−d1)
    let (p_forward, p_strike) = if long {
        (norm_cdf_bits(d1)?, norm_cdf_bits(d2)?)
    } else {
        (norm_cdf_bits(-d1)?, norm_cdf_bits(-d2)?)
    };
    let forward_leg = mul_prob(forward, p_forward)?;
    let strike_leg = mul_prob(strike as u128, p_strike)?;
    let value = if long {
        forward_leg - strike_leg
    } else {
        strike_leg - forward_leg
    };
    Ok(BookValue {
        value: Fix::from_bits(value.max(0)),
        default_probability: Prob::from_bits(p_strike),
    })
}

/// V(S, C) = E[max(Y − C, 0)] with Y ~ N(0, S²): the value of the pool's shortfall when its PnL
/// over the horizon is Gaussian with standard deviation S (IS·√h) against capital C:
/// V = S·φ(C/S) − C·Φ(−C/S), q = Φ(−C/S); V = max(−C, 0) when S = 0 (q = 1 when C ≤ 0, as in
/// [`crate::d8x::portfolio_probability`]).
///
/// Errors: Domain for S < 0.
pub fn gaussian_book_value(capital: Fix, spread: Fix) -> MathResult<BookValue> {
    let (c, s) = (capital.to_bits(), spread.to_bits());
    if s < 0 {
        return Err(MathError::Domain);
    }
    if s == 0 {
        return Ok(BookValue::certain(-c, c <= 0));
    }
    let z = match div_q64(c, s, Rounding::Nearest) {
        Ok(z) => z,
        Err(MathError::Overflow) => return Ok(BookValue::certain(-c, c <= 0)),
        Err(e) => return Err(e),
    };
    // Φ(−z) and φ(z) share one exponential
    let (tail, density) = cdf_and_pdf_bits(-z)?;
    let spread_leg = mul_q64(s, density, Rounding::Nearest)?;
    let capital_leg = mul_prob(c.unsigned_abs(), tail)?;
    let capital_leg = if c < 0 { -capital_leg } else { capital_leg };
    let value = spread_leg
        .checked_sub(capital_leg)
        .ok_or(MathError::Overflow)?;
    Ok(BookValue {
        value: Fix::from_bits(value.max(0)),
        default_probability: Prob::from_bits(tail),
    })
}

/// x·p for x in Q64.64 bits (≥ 0) and a probability p (U1F127 bits), to nearest.
fn mul_prob(x: u128, p: u128) -> MathResult<i128> {
    let v = mul_div_u128(x, p, PROB_ONE, Rounding::Nearest)?;
    i128::try_from(v).map_err(|_| MathError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decimal as a Fix (exact parsing, no floating point).
    fn fx(x: &str) -> Fix {
        x.parse().unwrap()
    }

    /// |got − want| below 1e-12, `want` an mpmath reference in decimal.
    fn assert_close(got: Fix, want: &str) {
        let gap = (got - fx(want)).abs();
        assert!(gap < fx("0.000000000001"), "{got} against {want}");
    }

    #[test]
    fn a_flat_book_with_capital_is_worth_nothing() {
        let v = lognormal_book_value(Fix::ZERO, fx("100"), fx("0.05")).unwrap();
        assert_eq!(v.value, Fix::ZERO);
        assert_eq!(v.default_probability, Prob::ZERO);
        let v = lognormal_book_value(Fix::ZERO, fx("-7"), fx("0.05")).unwrap();
        assert_eq!(v.value, fx("7"));
    }

    #[test]
    fn a_short_book_smaller_than_the_headroom_cannot_default() {
        let v = lognormal_book_value(fx("-50"), fx("60"), fx("0.5")).unwrap();
        assert_eq!(v.value, Fix::ZERO);
    }

    #[test]
    fn the_call_matches_black_scholes() {
        // F = 100, strike 105, σ = 0.2: BS call (zero rate) = 5.9056...; q = Φ(d2)
        let v = lognormal_book_value(fx("100"), fx("5"), fx("0.2")).unwrap();
        assert_close(v.value, "5.905593471555493599");
        let q = Fix::from_bits(crate::d8x::prob_to_q64(v.default_probability, false));
        assert_close(q, "0.365441635665921494");
    }

    #[test]
    fn the_put_matches_black_scholes() {
        // |F| = 100, strike 95, σ = 0.2: BS put = 5.5195...
        let v = lognormal_book_value(fx("-100"), fx("5"), fx("0.2")).unwrap();
        assert_close(v.value, "5.519541063676971490");
    }

    #[test]
    fn the_bachelier_value_at_the_money() {
        // C = 0: V = S/√(2π)
        let v = gaussian_book_value(Fix::ZERO, fx("10")).unwrap();
        assert_close(v.value, "3.989422804014326779");
        assert_eq!(v.default_probability, Prob::from_bits(1 << 126));
    }

    #[test]
    fn the_shared_exponential_gives_the_kernels_values() {
        for z in [
            "-13", "-7.5", "-2", "-0.3", "0", "0.4", "1", "3.3", "9", "14",
        ] {
            let (cdf, pdf) = cdf_and_pdf_bits(fx(z).to_bits()).unwrap();
            let want_cdf = crate::normal::norm_cdf(fx(z)).unwrap().to_bits();
            let want_pdf = crate::normal::norm_pdf(fx(z)).unwrap().to_bits();
            assert!(cdf.abs_diff(want_cdf) <= want_cdf >> 56 | 1, "Φ({z})");
            assert!(
                pdf.abs_diff(want_pdf) <= (want_pdf >> 56) as u128 + 1,
                "φ({z})"
            );
        }
    }

    #[test]
    fn bad_volatility_and_spread_are_domain_errors() {
        assert_eq!(
            lognormal_book_value(fx("1"), fx("1"), Fix::ZERO),
            Err(MathError::Domain)
        );
        assert_eq!(
            gaussian_book_value(fx("1"), fx("-1")),
            Err(MathError::Domain)
        );
    }
}
