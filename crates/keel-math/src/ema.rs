//! Exponential moving average.

use crate::wide::{Rounding, mul_q64};
use crate::{Fix, MathError, MathResult};

/// One EMA step: α·sample + (1 − α)·previous = previous + α·(sample − previous), rounded to
/// nearest. With α ∈ [0, 1] the result always lies between `previous` and `sample`.
///
/// Errors: Domain for α outside [0, 1]; Overflow if sample − previous overflows.
pub fn ema_update(previous: Fix, sample: Fix, alpha: Fix) -> MathResult<Fix> {
    if alpha.is_negative() || alpha > Fix::ONE {
        return Err(MathError::Domain);
    }
    let diff = sample
        .to_bits()
        .checked_sub(previous.to_bits())
        .ok_or(MathError::Overflow)?;
    let step = mul_q64(alpha.to_bits(), diff, Rounding::Nearest)?;
    Ok(Fix::from_bits(previous.to_bits() + step))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_domain() {
        let (p, s) = (Fix::from_num(1) / 5, Fix::from_num(7) / 10);
        assert_eq!(ema_update(p, s, Fix::ZERO).unwrap(), p);
        assert_eq!(ema_update(p, s, Fix::ONE).unwrap(), s);
        let mid = ema_update(p, s, Fix::from_num(0.5)).unwrap();
        assert!((mid - Fix::from_num(9) / 20).abs() <= Fix::DELTA * 2);
        assert_eq!(ema_update(p, s, Fix::from_num(1.5)), Err(MathError::Domain));
        assert_eq!(
            ema_update(p, s, Fix::from_num(-0.1)),
            Err(MathError::Domain)
        );
        assert_eq!(
            ema_update(Fix::MIN, Fix::MAX, Fix::ONE),
            Err(MathError::Overflow)
        );
    }
}
