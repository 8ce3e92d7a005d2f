//! Fixed-point glue between token amounts (integers) and keel-math's `Fix`, with an explicit
//! rounding direction at every conversion.

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::wide::{Rounding, mul_div_u128};

use crate::errors::PerpError;

pub fn overflow() -> Error {
    error!(PerpError::MathOverflow)
}

/// An integer amount as `Fix`.
pub fn fix_int(v: i128) -> Result<Fix> {
    Fix::checked_from_num(v).ok_or_else(overflow)
}

/// ⌊x⌋ or ⌈x⌉ of a `Fix` as an integer.
pub fn to_int(x: Fix, rounding: Rounding) -> i128 {
    let bits = x.to_bits();
    let floor = bits >> 64;
    match rounding {
        Rounding::Down => floor,
        Rounding::Up => floor + ((bits & (u64::MAX as i128)) != 0) as i128,
        Rounding::Nearest => (bits + (1 << 63)) >> 64,
    }
}

/// `size · price` in quote native units (size in base native units, price in quote native per
/// base native), rounded toward −∞ (`Down`) or +∞ (`Up`).
pub fn notional(size: i128, price: Fix, rounding: Rounding) -> Result<i128> {
    let neg = size < 0;
    let price_bits =
        u128::try_from(price.to_bits()).map_err(|_| error!(PerpError::InvalidOraclePrice))?;
    // magnitude rounds up when the signed result rounds away from the requested side
    let mag_rounding = match (rounding, neg) {
        (Rounding::Up, false) | (Rounding::Down, true) => Rounding::Up,
        (Rounding::Nearest, _) => Rounding::Nearest,
        _ => Rounding::Down,
    };
    let mag = mul_div_u128(size.unsigned_abs(), price_bits, 1 << 64, mag_rounding)
        .map_err(|_| overflow())?;
    let mag = i128::try_from(mag).map_err(|_| overflow())?;
    Ok(if neg { -mag } else { mag })
}

/// `amount · bps / 10_000`, rounded up (fees are charged).
pub fn bps_up(amount: u128, bps: u64) -> Result<u128> {
    mul_div_u128(
        amount,
        bps as u128,
        crate::constants::BPS as u128,
        Rounding::Up,
    )
    .map_err(|_| overflow())
}

/// `amount · rate_e9 / 1e9`, rounded as asked.
pub fn e9(amount: u128, rate_e9: u64, rounding: Rounding) -> Result<u128> {
    mul_div_u128(
        amount,
        rate_e9 as u128,
        crate::constants::E9 as u128,
        rounding,
    )
    .map_err(|_| overflow())
}

/// A `*_e9` parameter as `Fix`.
pub fn fix_e9(v: u64) -> Fix {
    Fix::from_bits(((v as u128) << 64).div_ceil(crate::constants::E9 as u128) as i128)
}

pub fn to_u64(v: i128) -> Result<u64> {
    u64::try_from(v).map_err(|_| overflow())
}

pub fn add_u64(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b).ok_or_else(overflow)
}

pub fn sub_u64(a: u64, b: u64) -> Result<u64> {
    a.checked_sub(b).ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notional_rounds_by_sign() -> Result<()> {
        let p = Fix::from_num(1) / 3; // 0.333…
        assert_eq!(notional(10, p, Rounding::Down)?, 3);
        assert_eq!(notional(10, p, Rounding::Up)?, 4);
        assert_eq!(notional(-10, p, Rounding::Down)?, -4);
        assert_eq!(notional(-10, p, Rounding::Up)?, -3);
        assert_eq!(to_int(Fix::from_num(-2.5), Rounding::Down), -3);
        assert_eq!(to_int(Fix::from_num(-2.5), Rounding::Up), -2);
        Ok(())
    }
}
