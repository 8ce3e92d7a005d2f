//! Prices for markets: the push-oracle account this program owns, and the per-market, per-action
//! validity rules (age and confidence for opening or closing) over the shared reader
//! (`keel_onchain::oracle`: push oracles and Pyth `PriceUpdateV2`).

use anchor_lang::prelude::*;
use keel_math::Fix;
use keel_onchain::AccountRead;
use keel_onchain::bytes::{Aligned, keys_eq, le_word};
pub use keel_onchain::ids::PYTH_RECEIVER as PYTH_RECEIVER_ID;
pub use keel_onchain::oracle::{
    Mark, MarkLimits, OracleKind, PRICE_UPDATE_V2_DISCRIMINATOR, PUSH_ORACLE_DISCRIMINATOR,
    PUSH_ORACLE_SPACE, read_mark, read_raw, rescale_pow10, scale_pow10,
};

use crate::constants::MAX_MARKETS;
use crate::errors::{PerpError, onchain};
use crate::state::{ClosedMarkets, Market, Pool};

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

// The shared reader's push-oracle layout is this account's: same discriminator (checked here at
// compile time) and Borsh offsets (checked by `push_oracle_offsets_match_its_borsh_layout`).
const _: () = assert!(
    PushOracle::DISCRIMINATOR.len() == 8
        && le_word(PushOracle::DISCRIMINATOR) == le_word(&PUSH_ORACLE_DISCRIMINATOR)
        && PushOracle::INIT_SPACE == PUSH_ORACLE_SPACE
);

/// What the price is for: risk-increasing actions need a fresh, tight price; risk-reducing ones
/// accept an older price (`max_age_close_secs`) and twice the confidence interval, so traders
/// can always get out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleUse {
    RiskIncreasing,
    RiskReducing,
}

/// A validated price in quote native units per base native unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OraclePrice {
    pub price: Fix,
    pub conf: Fix,
    /// When the price was published (unix seconds).
    pub publish_time: i64,
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

/// Read and validate an oracle for `usage` at time `now`, keeping its integers.
pub fn load_mark<A: AccountRead>(
    info: &A,
    spec: &OracleSpec,
    pool: &Pubkey,
    quote_decimals: u8,
    now: i64,
    usage: OracleUse,
) -> Result<Mark> {
    require!(keys_eq(info.key(), &spec.key), PerpError::WrongOracle);
    let limits = spec.limits(quote_decimals, usage);
    read_mark(info, spec.kind, pool, spec.feed_id.as_ref(), limits, now).map_err(onchain)
}

/// Read and validate a price for `usage` at time `now`.
pub fn load_price<A: AccountRead>(
    info: &A,
    spec: &OracleSpec,
    pool: &Pubkey,
    quote_decimals: u8,
    now: i64,
    usage: OracleUse,
) -> Result<OraclePrice> {
    let mark = load_mark(info, spec, pool, quote_decimals, now, usage)?;
    let price = mark.price_fix().map_err(onchain)?;
    require!(price > Fix::ZERO, PerpError::InvalidOraclePrice);
    Ok(OraclePrice {
        price,
        conf: scale_pow10(mark.conf, mark.exp10).map_err(onchain)?,
        publish_time: mark.publish_time,
    })
}

/// A user's limit price (quote per base in whole units, ×1e9) in quote native per base native.
/// 0 and u64::MAX mean "no limit" for sells and buys.
pub fn limit_price(limit_e9: u64, base_decimals: u8, quote_decimals: u8) -> Result<Fix> {
    match limit_e9 {
        0 => Ok(Fix::ZERO),
        u64::MAX => Ok(Fix::MAX),
        v => scale_pow10(v, quote_decimals as i32 - base_decimals as i32 - 9).map_err(onchain),
    }
}

/// Marks of every active market for pool-wide valuation: `oracles` must hold one account per
/// active slot, in slot order. Markets with open interest need a fresh, tight price; markets
/// without any are not priced (their account is still checked), so an idle market whose oracle
/// has paused does not block LP actions.
///
/// A market closed by its schedule (`closed`, from `closed_markets`) is marked at its last
/// print whatever its age, its confidence widened by the market's gap allowance
/// k·σ·√(days since the print, or since the market closed if the print is younger) (`keel_math::calendar::gap_allowance`): every pool-wide use
/// takes the edge against the pool (a deposit's value high, a withdrawal's low, the reserve
/// and IS large, auto-deleveraging's profit small), so LPs act over a weekend at a price the
/// Monday gap is allowed for. An open market with a stale print still blocks: that is an
/// oracle failure, not a schedule.
pub fn load_pool_marks<A: AccountRead>(
    pool: &Pool,
    pool_key: &Pubkey,
    oracles: &[A],
    now: i64,
    closed: &ClosedMarkets,
) -> Result<Vec<Option<Mark>>> {
    // on the heap: SBF stack frames are limited to 4 KB
    let mut marks = vec![None; MAX_MARKETS];
    // every oracle read compares this key: an aligned copy keeps those compares to word loads
    let pool_key = Aligned(*pool_key);
    let mut next = oracles.iter();
    // closed markets' gap fractions: markets with one σ and allowance whose prints are within
    // an hour of age share one (a weekend's FX closes together)
    let mut fractions = FractionCache::default();
    let any_closed = closed.mask != 0;
    for (i, slot) in pool.markets.iter().enumerate() {
        if slot.active == 0 {
            continue;
        }
        let info = next
            .next()
            .ok_or_else(|| error!(PerpError::MarketAccountsMismatch))?;
        require!(
            keys_eq(info.key(), &slot.oracle),
            PerpError::MarketAccountsMismatch
        );
        if slot.long_oi == 0 && slot.short_oi == 0 {
            continue;
        }
        // the pool-wide read needs no feed id: the slot pins the oracle account itself
        marks[i] = Some(if any_closed && closed.is_closed(i) {
            closed_mark(
                info,
                slot,
                &pool_key.0,
                pool.quote_decimals,
                now,
                closed.since[slot.schedule as usize],
                &mut fractions,
            )?
        } else {
            read_mark(
                info,
                slot.oracle_kind(),
                &pool_key.0,
                None,
                slot.mark_limits(pool.quote_decimals),
                now,
            )
            .map_err(onchain)?
        });
    }
    require!(next.next().is_none(), PerpError::MarketAccountsMismatch);
    Ok(marks)
}

/// A closed market's mark: its last print whatever its age and width, the confidence widened
/// by the gap allowance. An allowance past u64 saturates (price + conf stays representable): a
/// valuation that absurd refuses the LP action by value, never by arithmetic.
#[inline(never)]
fn closed_mark<A: AccountRead>(
    info: &A,
    slot: &crate::state::MarketSlot,
    pool_key: &Pubkey,
    quote_decimals: u8,
    now: i64,
    closed_since: i64,
    fractions: &mut FractionCache,
) -> Result<Mark> {
    // read_raw, not read_mark: no age or width limit here, and one call site of read_mark keeps
    // it inlined in the open markets' loop
    let raw = read_raw(info, slot.oracle_kind(), pool_key, None).map_err(onchain)?;
    require!(raw.price > 0, PerpError::InvalidOraclePrice);
    require!(
        slot.oracle_kind() != OracleKind::Push || raw.publish_time <= now,
        PerpError::OracleInFuture
    );
    let mut mark = Mark {
        price: raw.price as u64,
        conf: raw.conf,
        exp10: raw.expo + slot.mark_limits(quote_decimals).decimals_shift,
        publish_time: raw.publish_time,
    };
    // never younger than the close: a print posted while shut (a feed that keeps printing its
    // last price) does not shrink the allowance
    let age = now - mark.publish_time.min(closed_since);
    let gap = fractions
        .get(slot.sigma_e9, slot.gap_sigmas_e2, age)
        .and_then(|f| keel_math::calendar::gap_of(mark.price, f))
        .unwrap_or(u64::MAX);
    mark.conf = mark.conf.saturating_add(gap).min(u64::MAX - mark.price);
    Ok(mark)
}

/// The last gap fraction computed, by (σ, allowance, age in hours).
#[derive(Default)]
struct FractionCache {
    last: Option<((u64, u16, u64), Option<u64>)>,
}

impl FractionCache {
    fn get(&mut self, sigma_e9: u64, sigmas_e2: u16, age_secs: i64) -> Option<u64> {
        let key = (
            sigma_e9,
            sigmas_e2,
            (age_secs.max(0) as u64).div_ceil(3_600),
        );
        match self.last {
            Some((k, f)) if k == key => f,
            _ => {
                let f = keel_math::calendar::gap_fraction_e9(sigma_e9, sigmas_e2, age_secs);
                self.last = Some((key, f));
                f
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use keel_onchain::oracle::parse_push_oracle;

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
        let raw = parse_push_oracle(&data, &pool).map_err(onchain)?;
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
}
