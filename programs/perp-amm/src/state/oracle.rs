//! Prices: a push oracle for localnet/tests and Pyth pull-oracle `PriceUpdateV2` accounts, read
//! into one form with per-action validity checks.

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_math::wide::{Rounding, mul_div_u128, mul_u64};

use crate::bytes::{Aligned, bytes_eq, keys_eq, le_word, read_u32, read_u64};
use crate::constants::BPS;
use crate::errors::PerpError;
use crate::state::{Market, OracleKind};

/// Price account written by the pool's oracle authority: PDA [PUSH_ORACLE_SEED, pool, feed_id].
/// Same fields as a Pyth price message, so both kinds convert the same way.
#[account]
#[derive(InitSpace)]
pub struct PushOracle {
    pub pool: Pubkey,
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
    pub bump: u8,
}

/// The Pyth Solana Receiver program, owner of every `PriceUpdateV2` account.
pub const PYTH_RECEIVER_ID: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");
/// sha256("account:PriceUpdateV2")[..8].
pub const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

// Owners and discriminators as the words they are compared with (see `crate::bytes`).
static PERP_PROGRAM_ID: Aligned<Pubkey> = Aligned(crate::ID);
static PYTH_RECEIVER: Aligned<Pubkey> = Aligned(PYTH_RECEIVER_ID);
const PUSH_ORACLE_DISC: u64 = le_word(PushOracle::DISCRIMINATOR);
const PRICE_UPDATE_V2_DISC: u64 = le_word(&PRICE_UPDATE_V2_DISCRIMINATOR);

/// What the price is for: risk-increasing actions need a fresh, tight price; risk-reducing ones
/// accept an older price (`max_age_close_secs`) and twice the confidence interval, so traders
/// can always get out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleUse {
    RiskIncreasing,
    RiskReducing,
}

/// A price message as both oracle kinds carry it (its feed id is checked while reading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawPrice {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// A validated price in quote native units per base native unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OraclePrice {
    pub price: Fix,
    pub conf: Fix,
}

/// Read the raw message of `info`, checking its owner, type and, when given, its feed id.
pub fn read_raw(
    info: &AccountInfo,
    kind: OracleKind,
    pool: &Pubkey,
    feed_id: Option<&[u8; 32]>,
) -> Result<RawPrice> {
    let data = info.try_borrow_data()?;
    let feed_at = match kind {
        OracleKind::Push => 40,
        OracleKind::Pyth => 41,
    };
    if let Some(feed_id) = feed_id {
        let found = data
            .get(feed_at..feed_at + 32)
            .ok_or(PerpError::WrongOracle)?;
        require!(bytes_eq(found, feed_id), PerpError::WrongOracle);
    }
    match kind {
        OracleKind::Push => {
            require!(
                keys_eq(info.owner, &PERP_PROGRAM_ID.0),
                PerpError::WrongOracle
            );
            parse_push_oracle(&data, pool)
        }
        OracleKind::Pyth => {
            require!(
                keys_eq(info.owner, &PYTH_RECEIVER.0),
                PerpError::WrongOracle
            );
            parse_price_update_v2(&data)
        }
    }
}

/// Read a `PushOracle` at its fixed Borsh offsets (discriminator, pool, feed_id, price, conf,
/// expo, publish_time): what `try_deserialize` does, without copying the whole account, which
/// matters when an LP action reads 32 of them.
fn parse_push_oracle(data: &[u8], pool: &Pubkey) -> Result<RawPrice> {
    let bad = || error!(PerpError::WrongOracle);
    if data.len() < 8 + PushOracle::INIT_SPACE || read_u64(data, 0) != Some(PUSH_ORACLE_DISC) {
        return Err(bad());
    }
    require!(
        bytes_eq(&data[8..40], pool.as_ref()),
        PerpError::WrongOracle
    );
    let word = |at: usize| read_u64(data, at).ok_or_else(bad);
    Ok(RawPrice {
        price: word(72)? as i64,
        conf: word(80)?,
        expo: read_u32(data, 88).ok_or_else(bad)? as i32,
        publish_time: word(92)? as i64,
    })
}

/// Borsh layout of `PriceUpdateV2`: discriminator, write_authority (32), verification_level
/// (enum: 0 = Partial{u8}, 1 = Full), price message (feed_id, price, conf, exponent,
/// publish_time, prev_publish_time, ema_price, ema_conf), posted_slot. Only fully verified
/// updates are accepted.
fn parse_price_update_v2(data: &[u8]) -> Result<RawPrice> {
    let bad = || error!(PerpError::WrongOracle);
    if data.len() < 8 + 32 + 1 || read_u64(data, 0) != Some(PRICE_UPDATE_V2_DISC) {
        return Err(bad());
    }
    // Partial verification (fewer guardian signatures) is refused.
    if data[40] != 1 {
        return Err(bad());
    }
    // the message starts at 41 (feed id), so its integers are unaligned
    let word = |at: usize| read_u64(data, 41 + at).ok_or_else(bad);
    Ok(RawPrice {
        price: word(32)? as i64,
        conf: word(40)?,
        expo: read_u32(data, 41 + 48).ok_or_else(bad)? as i32,
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

/// `mantissa · 10^exp10` as Fix, rounded to nearest.
pub fn scale_pow10(mantissa: u64, exp10: i32) -> Result<Fix> {
    let overflow = || error!(PerpError::MathOverflow);
    let factor = *POW10
        .get(exp10.unsigned_abs() as usize)
        .ok_or_else(overflow)?;
    if exp10 >= 0 {
        let v = (mantissa as u128)
            .checked_mul(factor)
            .ok_or_else(overflow)?;
        Fix::checked_from_num(v).ok_or_else(overflow)
    } else {
        let bits = mul_div_u128(mantissa as u128, 1 << 64, factor, Rounding::Nearest)
            .map_err(|_| overflow())?;
        Ok(Fix::from_bits(
            i128::try_from(bits).map_err(|_| overflow())?,
        ))
    }
}

/// Which account to read and how strictly to validate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleSpec {
    pub key: Pubkey,
    pub kind: OracleKind,
    /// Checked when known (markets); pool-wide reads rely on the pinned account address.
    pub feed_id: Option<[u8; 32]>,
    pub base_decimals: u8,
    pub max_age_open_secs: u32,
    pub max_age_close_secs: u32,
    pub max_conf_bps: u32,
}

impl Market {
    pub fn oracle_spec(&self) -> OracleSpec {
        OracleSpec {
            key: self.oracle,
            kind: self.oracle_kind,
            feed_id: Some(self.feed_id),
            base_decimals: self.base_decimals,
            max_age_open_secs: self.params.max_age_open_secs,
            max_age_close_secs: self.params.max_age_close_secs,
            max_conf_bps: self.params.max_conf_bps,
        }
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
}

impl Mark {
    /// The price in quote native per base native, rounded to nearest.
    pub fn price_fix(&self) -> Result<Fix> {
        scale_pow10(self.price, self.exp10)
    }
}

/// `value · 10^exp10` rounded as asked (quote native amounts from oracle integers).
pub fn rescale_pow10(value: u128, exp10: i32, rounding: Rounding) -> Result<u128> {
    let overflow = || error!(PerpError::MathOverflow);
    let factor = *POW10
        .get(exp10.unsigned_abs() as usize)
        .ok_or_else(overflow)?;
    if exp10 >= 0 {
        value.checked_mul(factor).ok_or_else(overflow)
    } else {
        keel_math::wide::div_u128(value, factor, rounding).map_err(|_| overflow())
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

impl OracleSpec {
    pub fn limits(&self, quote_decimals: u8, usage: OracleUse) -> MarkLimits {
        let (max_age_secs, max_conf_bps) = match usage {
            OracleUse::RiskIncreasing => (self.max_age_open_secs, self.max_conf_bps as u64),
            OracleUse::RiskReducing => (self.max_age_close_secs, 2 * self.max_conf_bps as u64),
        };
        MarkLimits {
            max_age_secs,
            max_conf_bps,
            decimals_shift: quote_decimals as i32 - self.base_decimals as i32,
        }
    }
}

/// Read `info` (owner, type, pool and, when given, feed id) and check the price against
/// `limits` at time `now`. The caller has matched `info`'s address to the market.
#[inline(always)]
pub fn read_mark(
    info: &AccountInfo,
    kind: OracleKind,
    pool: &Pubkey,
    feed_id: Option<&[u8; 32]>,
    limits: MarkLimits,
    now: i64,
) -> Result<Mark> {
    let raw = read_raw(info, kind, pool, feed_id)?;
    require!(raw.price > 0, PerpError::InvalidOraclePrice);
    let age = now.saturating_sub(raw.publish_time);
    require!(age <= limits.max_age_secs as i64, PerpError::StaleOracle);
    require!(
        mul_u64(raw.conf, BPS) <= mul_u64(limits.max_conf_bps, raw.price as u64),
        PerpError::OracleConfidence
    );
    Ok(Mark {
        price: raw.price as u64,
        conf: raw.conf,
        exp10: raw.expo + limits.decimals_shift,
    })
}

/// Read and validate an oracle for `usage` at time `now`, keeping its integers.
pub fn load_mark(
    info: &AccountInfo,
    spec: &OracleSpec,
    pool: &Pubkey,
    quote_decimals: u8,
    now: i64,
    usage: OracleUse,
) -> Result<Mark> {
    require!(keys_eq(info.key, &spec.key), PerpError::WrongOracle);
    let limits = spec.limits(quote_decimals, usage);
    read_mark(info, spec.kind, pool, spec.feed_id.as_ref(), limits, now)
}

/// Read and validate a price for `usage` at time `now`.
pub fn load_price(
    info: &AccountInfo,
    spec: &OracleSpec,
    pool: &Pubkey,
    quote_decimals: u8,
    now: i64,
    usage: OracleUse,
) -> Result<OraclePrice> {
    let mark = load_mark(info, spec, pool, quote_decimals, now, usage)?;
    let price = mark.price_fix()?;
    require!(price > Fix::ZERO, PerpError::InvalidOraclePrice);
    Ok(OraclePrice {
        price,
        conf: scale_pow10(mark.conf, mark.exp10)?,
    })
}

/// A user's limit price (quote per base in whole units, ×1e9) in quote native per base native.
/// 0 and u64::MAX mean "no limit" for sells and buys.
pub fn limit_price(limit_e9: u64, base_decimals: u8, quote_decimals: u8) -> Result<Fix> {
    match limit_e9 {
        0 => Ok(Fix::ZERO),
        u64::MAX => Ok(Fix::MAX),
        v => scale_pow10(v, quote_decimals as i32 - base_decimals as i32 - 9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn push_oracle_offsets_match_its_borsh_layout() -> Result<()> {
        let pool = Pubkey::new_unique();
        let oracle = PushOracle {
            pool,
            feed_id: [3u8; 32],
            price: -5,
            conf: 77,
            expo: -8,
            publish_time: 1_700_000_123,
            bump: 254,
        };
        let mut data = Vec::new();
        oracle.try_serialize(&mut data)?;
        let raw = parse_push_oracle(&data, &pool)?;
        assert_eq!(
            (raw.price, raw.conf, raw.expo, raw.publish_time),
            (-5, 77, -8, 1_700_000_123)
        );
        assert_eq!(
            &data[40..72],
            &[3u8; 32],
            "feed id where read_raw checks it"
        );
        assert!(parse_push_oracle(&data, &Pubkey::new_unique()).is_err());
        assert!(parse_push_oracle(&data[..100], &pool).is_err());
        data[0] ^= 1;
        assert!(parse_push_oracle(&data, &pool).is_err());
        Ok(())
    }

    #[test]
    fn parses_full_updates_only() -> Result<()> {
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
    fn decimal_scaling() -> Result<()> {
        assert_eq!(scale_pow10(12345, 2)?, Fix::from_num(1_234_500));
        let hundredth = scale_pow10(12345, -2)?;
        assert!((hundredth - Fix::from_num(12345) / 100).abs() <= Fix::DELTA);
        Ok(())
    }
}
