//! Reading prices: the perp program's push oracles and Pyth pull-oracle `PriceUpdateV2` accounts,
//! into one integer form ([`Mark`]) checked for owner, type, pool, feed id, age and confidence.
//! Both programs read through here; each wraps it with its own account layout and error codes.

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::wide::{Rounding, mul_div_u128, mul_u64};

use crate::account::AccountRead;
use crate::bytes::{Aligned, bytes_eq, keys_eq, le_word, read_u32, read_u64};
use crate::error::OnchainError;
use crate::ids;

/// Where a price comes from.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum OracleKind {
    /// A push-oracle account (the perp program's `PushOracle`) written by a pool's oracle
    /// authority.
    Push,
    /// A Pyth pull-oracle `PriceUpdateV2` account (owned by the Pyth receiver program).
    Pyth,
}

impl OracleKind {
    /// The kind a stored discriminant names (0 push, anything else Pyth).
    pub fn from_u8(kind: u8) -> Self {
        if kind == 0 {
            OracleKind::Push
        } else {
            OracleKind::Pyth
        }
    }
}

/// sha256("account:PushOracle")[..8]; `perp_amm` asserts its account's discriminator equals it.
pub const PUSH_ORACLE_DISCRIMINATOR: [u8; 8] = [106, 116, 101, 194, 100, 211, 212, 75];
/// Borsh size of a `PushOracle` after its discriminator: pool, feed_id, price, conf, expo,
/// publish_time, bump.
pub const PUSH_ORACLE_SPACE: usize = 32 + 32 + 8 + 8 + 4 + 8 + 1;
/// sha256("account:PriceUpdateV2")[..8].
pub const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

// Owners and discriminators as the words they are compared with (see `crate::bytes`).
static PERP_PROGRAM: Aligned<Pubkey> = Aligned(ids::PERP_AMM);
static PYTH_RECEIVER: Aligned<Pubkey> = Aligned(ids::PYTH_RECEIVER);
const PUSH_ORACLE_DISC: u64 = le_word(&PUSH_ORACLE_DISCRIMINATOR);
const PRICE_UPDATE_V2_DISC: u64 = le_word(&PRICE_UPDATE_V2_DISCRIMINATOR);

/// A price message as both oracle kinds carry it (its feed id is checked while reading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawPrice {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// Read the raw message of `account`, checking its owner, type, pool (push oracles) and, when
/// given, its feed id.
pub fn read_raw<A: AccountRead>(
    account: &A,
    kind: OracleKind,
    pool: &Pubkey,
    feed_id: Option<&[u8; 32]>,
) -> core::result::Result<RawPrice, OnchainError> {
    let data = account.data()?;
    let feed_at = match kind {
        OracleKind::Push => 40,
        OracleKind::Pyth => 41,
    };
    if let Some(feed_id) = feed_id {
        let found = data
            .get(feed_at..feed_at + 32)
            .ok_or(OnchainError::WrongOracle)?;
        if !bytes_eq(found, feed_id) {
            return Err(OnchainError::WrongOracle);
        }
    }
    match kind {
        OracleKind::Push => {
            if !keys_eq(account.owner(), &PERP_PROGRAM.0) {
                return Err(OnchainError::WrongOracle);
            }
            parse_push_oracle(&data, pool)
        }
        OracleKind::Pyth => {
            if !keys_eq(account.owner(), &PYTH_RECEIVER.0) {
                return Err(OnchainError::WrongOracle);
            }
            parse_price_update_v2(&data)
        }
    }
}

/// Read a `PushOracle` at its fixed Borsh offsets (discriminator, pool, feed_id, price, conf,
/// expo, publish_time): what `try_deserialize` does, without copying the whole account, which
/// matters when an LP action reads 32 of them.
pub fn parse_push_oracle(
    data: &[u8],
    pool: &Pubkey,
) -> core::result::Result<RawPrice, OnchainError> {
    let bad = OnchainError::WrongOracle;
    if data.len() < 8 + PUSH_ORACLE_SPACE || read_u64(data, 0) != Some(PUSH_ORACLE_DISC) {
        return Err(bad);
    }
    if !bytes_eq(&data[8..40], pool.as_ref()) {
        return Err(bad);
    }
    let word = |at: usize| read_u64(data, at).ok_or(bad);
    Ok(RawPrice {
        price: word(72)? as i64,
        conf: word(80)?,
        expo: read_u32(data, 88).ok_or(bad)? as i32,
        publish_time: word(92)? as i64,
    })
}

/// Borsh layout of `PriceUpdateV2`: discriminator, write_authority (32), verification_level
/// (enum: 0 = Partial{u8}, 1 = Full), price message (feed_id, price, conf, exponent,
/// publish_time, prev_publish_time, ema_price, ema_conf), posted_slot. Only fully verified
/// updates are accepted.
pub fn parse_price_update_v2(data: &[u8]) -> core::result::Result<RawPrice, OnchainError> {
    let bad = OnchainError::WrongOracle;
    if data.len() < 8 + 32 + 1 || read_u64(data, 0) != Some(PRICE_UPDATE_V2_DISC) {
        return Err(bad);
    }
    // Partial verification (fewer guardian signatures) is refused.
    if data[40] != 1 {
        return Err(bad);
    }
    // the message starts at 41 (feed id), so its integers are unaligned
    let word = |at: usize| read_u64(data, 41 + at).ok_or(bad);
    Ok(RawPrice {
        price: word(32)? as i64,
        conf: word(40)?,
        expo: read_u32(data, 41 + 48).ok_or(bad)? as i32,
        publish_time: word(52)? as i64,
    })
}

/// 10^k for k = 0..=38 (every power that fits u128): a lookup instead of a multiply loop.
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut k = 1;
    while k < 39 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// 10^k when it fits a u128 (k ≤ 38).
pub fn pow10(k: u32) -> Option<u128> {
    POW10.get(k as usize).copied()
}

/// `mantissa · 10^exp10` as Fix, rounded to nearest.
pub fn scale_pow10(mantissa: u64, exp10: i32) -> core::result::Result<Fix, OnchainError> {
    let overflow = OnchainError::MathOverflow;
    let factor = *POW10.get(exp10.unsigned_abs() as usize).ok_or(overflow)?;
    if exp10 >= 0 {
        let v = (mantissa as u128).checked_mul(factor).ok_or(overflow)?;
        Fix::checked_from_num(v).ok_or(overflow)
    } else {
        let bits = mul_div_u128(mantissa as u128, 1 << 64, factor, Rounding::Nearest)
            .map_err(|_| overflow)?;
        Ok(Fix::from_bits(i128::try_from(bits).map_err(|_| overflow)?))
    }
}

/// `value · 10^exp10` rounded as asked (native amounts from oracle integers).
pub fn rescale_pow10(
    value: u128,
    exp10: i32,
    rounding: Rounding,
) -> core::result::Result<u128, OnchainError> {
    let overflow = OnchainError::MathOverflow;
    let factor = *POW10.get(exp10.unsigned_abs() as usize).ok_or(overflow)?;
    if exp10 >= 0 {
        value.checked_mul(factor).ok_or(overflow)
    } else if value >> 64 == 0 && factor >> 64 == 0 {
        // most books' values fit a word: SBF divides words natively, 128-bit values in software
        let (v, f) = (value as u64, factor as u64);
        let (q, r) = (v / f, v % f);
        let bump = r != 0
            && match rounding {
                Rounding::Down => false,
                Rounding::Up => true,
                Rounding::Nearest => r >= f - r,
            };
        Ok(q as u128 + bump as u128)
    } else {
        keel_math::wide::div_u128(value, factor, rounding).map_err(|_| overflow)
    }
}

/// A validated price kept as the oracle's integers: quote native per base native is
/// `price · 10^exp10`, and likewise for `conf`. Pool-wide valuation works on these directly, so
/// each market's value is one product and one directed decimal rescale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    /// Positive (validated).
    pub price: u64,
    pub conf: u64,
    pub exp10: i32,
    /// When the oracle published it (unix seconds).
    pub publish_time: i64,
}

impl Mark {
    /// The price in quote native per base native, rounded to nearest.
    pub fn price_fix(&self) -> core::result::Result<Fix, OnchainError> {
        scale_pow10(self.price, self.exp10)
    }
}

/// The limits a read is checked against.
#[derive(Clone, Copy, Debug)]
pub struct MarkLimits {
    pub max_age_secs: u32,
    pub max_conf_bps: u64,
    /// quote_decimals − base_decimals: quote native per base native = price · 10^(expo + this).
    pub decimals_shift: i32,
}

/// Read `account` (owner, type, pool and, when given, feed id) and check the price against
/// `limits` at time `now`. The caller has matched the account's address.
#[inline(always)]
pub fn read_mark<A: AccountRead>(
    account: &A,
    kind: OracleKind,
    pool: &Pubkey,
    feed_id: Option<&[u8; 32]>,
    limits: MarkLimits,
    now: i64,
) -> core::result::Result<Mark, OnchainError> {
    let raw = read_raw(account, kind, pool, feed_id)?;
    if raw.price <= 0 {
        return Err(OnchainError::InvalidOraclePrice);
    }
    // a push oracle is written by one key and checked against this cluster's clock: a future
    // stamp would never go stale. (A Pyth update's time is its publishers', verified by
    // Wormhole, and may run a little ahead of the cluster's clock.)
    if kind == OracleKind::Push && raw.publish_time > now {
        return Err(OnchainError::OracleInFuture);
    }
    let age = now.saturating_sub(raw.publish_time);
    if age > limits.max_age_secs as i64 {
        return Err(OnchainError::StaleOracle);
    }
    if mul_u64(raw.conf, BPS) > mul_u64(limits.max_conf_bps, raw.price as u64) {
        return Err(OnchainError::OracleConfidence);
    }
    Ok(Mark {
        price: raw.price as u64,
        conf: raw.conf,
        exp10: raw.expo + limits.decimals_shift,
        publish_time: raw.publish_time,
    })
}

const BPS: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// The word fast path rounds as the 128-bit division it stands in for, on both sides of
    /// the 2^64 boundary and at exact multiples.
    #[test]
    fn rescale_word_path_matches_the_wide_division() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = vec![0u128, 1, 999_999, 1_000_000, u64::MAX as u128, 1 << 64];
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as u128 >> (x % 60));
            values.push((x as u128) << (x % 40));
        }
        for v in values {
            for exp10 in [-1i32, -6, -12, -19, -20, -30] {
                for r in [Rounding::Down, Rounding::Up, Rounding::Nearest] {
                    let factor = pow10(exp10.unsigned_abs()).unwrap();
                    let wide = keel_math::wide::div_u128(v, factor, r).unwrap();
                    assert_eq!(rescale_pow10(v, exp10, r), Ok(wide), "{v} 1e{exp10} {r:?}");
                }
            }
        }
    }

    fn price_update(level: u8, price: i64, expo: i32) -> Vec<u8> {
        let mut d = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
        d.extend_from_slice(&[7u8; 32]); // write authority
        d.push(level);
        if level == 0 {
            d.push(5); // Partial { num_signatures }
        }
        d.extend_from_slice(&[9u8; 32]); // feed id
        d.extend_from_slice(&price.to_le_bytes());
        d.extend_from_slice(&12u64.to_le_bytes());
        d.extend_from_slice(&expo.to_le_bytes());
        d.extend_from_slice(&1_700_000_000i64.to_le_bytes());
        d.extend_from_slice(&[0u8; 8 + 8 + 8 + 8]);
        d
    }

    #[test]
    fn parses_full_updates_only() -> core::result::Result<(), OnchainError> {
        let raw = parse_price_update_v2(&price_update(1, 6_500_012_345_678, -8))?;
        assert_eq!(
            (raw.price, raw.conf, raw.expo, raw.publish_time),
            (6_500_012_345_678, 12, -8, 1_700_000_000)
        );
        assert_eq!(
            &price_update(1, 1, -8)[41..73],
            &[9u8; 32],
            "feed id offset"
        );
        assert!(parse_price_update_v2(&price_update(0, 1, -8)).is_err());
        let mut wrong = price_update(1, 1, -8);
        wrong[0] ^= 1;
        assert!(parse_price_update_v2(&wrong).is_err());
        Ok(())
    }

    #[test]
    fn reads_through_a_plain_view_with_every_check() {
        let data = price_update(1, 6_500_000_000, -8);
        let key = Pubkey::new_unique();
        let pool = Pubkey::new_unique();
        let view = |owner| crate::AccountView {
            key: &key,
            owner,
            data: &data,
        };
        let limits = MarkLimits {
            max_age_secs: 60,
            max_conf_bps: 100,
            decimals_shift: -3,
        };
        let read = |owner, feed: [u8; 32], now| {
            read_mark(
                &view(owner),
                OracleKind::Pyth,
                &pool,
                Some(&feed),
                limits,
                now,
            )
        };
        let ok = read(&ids::PYTH_RECEIVER, [9; 32], 1_700_000_060);
        assert_eq!(
            ok,
            Ok(Mark {
                price: 6_500_000_000,
                conf: 12,
                exp10: -11,
                publish_time: 1_700_000_000,
            })
        );
        let other = Pubkey::new_unique();
        assert_eq!(
            read(&other, [9; 32], 1_700_000_000),
            Err(OnchainError::WrongOracle)
        );
        assert_eq!(
            read(&ids::PYTH_RECEIVER, [8; 32], 1_700_000_000),
            Err(OnchainError::WrongOracle)
        );
        assert_eq!(
            read(&ids::PYTH_RECEIVER, [9; 32], 1_700_000_061),
            Err(OnchainError::StaleOracle)
        );
        let tight = MarkLimits {
            max_conf_bps: 0,
            ..limits
        };
        assert_eq!(
            read_mark(
                &view(&ids::PYTH_RECEIVER),
                OracleKind::Pyth,
                &pool,
                None,
                tight,
                1_700_000_000
            ),
            Err(OnchainError::OracleConfidence)
        );
        let negative = price_update(1, -1, -8);
        let v = crate::AccountView {
            key: &key,
            owner: &ids::PYTH_RECEIVER,
            data: &negative,
        };
        assert_eq!(
            read_mark(&v, OracleKind::Pyth, &pool, None, limits, 1_700_000_000),
            Err(OnchainError::InvalidOraclePrice)
        );
    }

    #[test]
    fn a_push_price_stamped_after_the_clock_is_refused() {
        let pool = Pubkey::new_unique();
        let mut data = PUSH_ORACLE_DISCRIMINATOR.to_vec();
        data.extend_from_slice(pool.as_ref());
        data.extend_from_slice(&[4u8; 32]);
        data.extend_from_slice(&100i64.to_le_bytes());
        data.extend_from_slice(&1u64.to_le_bytes());
        data.extend_from_slice(&(-2i32).to_le_bytes());
        data.extend_from_slice(&1_700_000_000i64.to_le_bytes());
        data.push(255);
        let key = Pubkey::new_unique();
        let view = crate::AccountView {
            key: &key,
            owner: &ids::PERP_AMM,
            data: &data,
        };
        let limits = MarkLimits {
            max_age_secs: 60,
            max_conf_bps: 100,
            decimals_shift: 0,
        };
        let at = |now| read_mark(&view, OracleKind::Push, &pool, Some(&[4; 32]), limits, now);
        assert_eq!(at(1_700_000_000).map(|m| m.price), Ok(100));
        assert_eq!(at(1_699_999_999), Err(OnchainError::OracleInFuture));
        assert_eq!(at(1_700_000_061), Err(OnchainError::StaleOracle));
    }

    #[test]
    fn decimal_scaling() -> core::result::Result<(), OnchainError> {
        assert_eq!(scale_pow10(12345, 2)?, Fix::from_num(1_234_500));
        let hundredth = scale_pow10(12345, -2)?;
        assert!((hundredth - Fix::from_num(12345) / 100).abs() <= Fix::DELTA);
        assert_eq!(rescale_pow10(12345, -2, Rounding::Up)?, 124);
        assert_eq!(rescale_pow10(12345, -2, Rounding::Down)?, 123);
        assert_eq!(scale_pow10(1, 39), Err(OnchainError::MathOverflow));
        Ok(())
    }
}
