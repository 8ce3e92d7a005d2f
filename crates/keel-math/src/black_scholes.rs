//! Black–Scholes call delta Φ(d1), r = 0, with the exact ln(S/K).
//!
//! ALEX approximated ln(S/K) by S/K − 1 and used Φ(d2) below the strike; here d1 is computed from
//! ln S − ln K (each to ~2^-62) and Φ is the full-precision kernel, so the delta is continuous
//! through S = K and accurate to ~1e-17.

use crate::ln::ln_bits;
use crate::normal::norm_cdf_bits;
use crate::pow::sqrt_q64_bits;
use crate::wide::{Rounding, div_q64, mul_q64};
use crate::{Fix, MathError, MathResult, Prob};

/// d1 = (ln(S/K) + σ²T/2)/(σ√T), rounded to nearest.
///
/// Errors: Domain for S ≤ 0, K ≤ 0, σ < 0 or T < 0, and for σ√T = 0 (d1 is ±∞ there; use
/// [`call_delta`], which handles that limit). Overflow when |d1| ≥ 2^63.
pub fn d1(spot: Fix, strike: Fix, sigma: Fix, t_years: Fix) -> MathResult<Fix> {
    let (ln_sk, vol) = d1_parts(spot, strike, sigma, t_years)?;
    if vol == 0 {
        return Err(MathError::Domain);
    }
    d1_from_parts(ln_sk, vol).map(Fix::from_bits)
}

/// Δ = Φ(d1) of a European call with zero rate, as a [`Prob`].
///
/// At expiry or zero volatility the delta is the limit: 1 above the strike, 0 below, 1/2 at it.
/// Errors: Domain for S ≤ 0, K ≤ 0, σ < 0 or T < 0.
pub fn call_delta(spot: Fix, strike: Fix, sigma: Fix, t_years: Fix) -> MathResult<Prob> {
    let (ln_sk, vol) = d1_parts(spot, strike, sigma, t_years)?;
    if vol == 0 {
        let half = 1u128 << 126;
        return Ok(Prob::from_bits(match ln_sk.signum() {
            1 => half << 1,
            -1 => 0,
            _ => half,
        }));
    }
    match d1_from_parts(ln_sk, vol) {
        Ok(d1) => norm_cdf_bits(d1).map(Prob::from_bits),
        // |d1| beyond 2^63: the delta is 0 or 1 to every representable digit
        Err(MathError::Overflow) => Ok(Prob::from_bits(if ln_sk > 0 { 1 << 127 } else { 0 })),
        Err(e) => Err(e),
    }
}

/// (ln(S/K), σ√T) in Q64.64 bits.
fn d1_parts(spot: Fix, strike: Fix, sigma: Fix, t_years: Fix) -> MathResult<(i128, i128)> {
    let (s, k) = (spot.to_bits(), strike.to_bits());
    if s <= 0 || k <= 0 || sigma.is_negative() || t_years.is_negative() {
        return Err(MathError::Domain);
    }
    let ln_sk = if s == k {
        0
    } else {
        ln_bits(s as u128, 64)? - ln_bits(k as u128, 64)?
    };
    let sqrt_t = sqrt_q64_bits(t_years.to_bits() as u128) as i128;
    let vol = mul_q64(sigma.to_bits(), sqrt_t, Rounding::Nearest)?;
    Ok((ln_sk, vol))
}

fn d1_from_parts(ln_sk: i128, vol: i128) -> MathResult<i128> {
    let ratio = div_q64(ln_sk, vol, Rounding::Nearest)?;
    ratio.checked_add(vol >> 1).ok_or(MathError::Overflow)
}
