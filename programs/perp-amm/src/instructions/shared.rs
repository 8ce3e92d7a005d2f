//! Pieces every instruction group uses: the pool's signer seeds, token moves (the shared
//! crate's), the risk model and market context every market action loads.

use anchor_lang::prelude::*;
use keel_onchain::bytes::{Aligned, key_is_unset, keys_eq};
pub use keel_onchain::token::{burn, burn_signed, mint_to, transfer_in, transfer_out};

use crate::constants::POOL_SEED;
use crate::errors::PerpError;
use crate::state::{
    Calendar, ClosedMarkets, Market, OraclePrice, OracleUse, Pool, RiskModel, load_price,
};

/// Signer seeds of the pool PDA (authority of the vault and the LP mint).
pub struct PoolSeeds {
    quote_mint: Pubkey,
    pool_id: [u8; 8],
    bump: [u8; 1],
}

impl PoolSeeds {
    pub fn of(pool: &Pool) -> Self {
        PoolSeeds {
            quote_mint: pool.quote_mint,
            pool_id: pool.pool_id.to_le_bytes(),
            bump: [pool.bump],
        }
    }
    pub fn seeds(&self) -> [&[u8]; 4] {
        [
            POOL_SEED,
            self.quote_mint.as_ref(),
            &self.pool_id,
            &self.bump,
        ]
    }
}

/// The pool's risk model, loaded: it must be passed exactly when the pool has one.
pub fn pool_risk_model<'a>(
    pool: &Pool,
    account: &'a Option<AccountLoader<'_, RiskModel>>,
) -> Result<Option<core::cell::Ref<'a, RiskModel>>> {
    // word-wise compares (a byte-wise 32-byte compare costs ~180 CU on SBF)
    match account {
        None => {
            require!(key_is_unset(&pool.risk.model), PerpError::WrongRiskModel);
            Ok(None)
        }
        Some(loader) => {
            require!(
                keys_eq(&Aligned(loader.key()).0, &pool.risk.model),
                PerpError::WrongRiskModel
            );
            Ok(Some(loader.load()?))
        }
    }
}

/// What every market action starts with: its instruction group is not paused, the market sits
/// in the slot its index names, and its price is valid for `usage`.
pub struct MarketContext {
    pub price: OraclePrice,
    pub quote_decimals: u8,
    pub seeds: PoolSeeds,
}

#[allow(clippy::too_many_arguments)]
pub fn market_context(
    pool: &AccountLoader<Pool>,
    market: &Account<Market>,
    oracle: &AccountInfo,
    calendar: &AccountInfo,
    group: u8,
    usage: OracleUse,
    now: i64,
) -> Result<MarketContext> {
    let pool_key = pool.key();
    let pool = pool.load()?;
    pool.require_not_paused(group)?;
    check_slot(&pool, market)?;
    // a market on a schedule fills (and liquidates) only while open, on a print published
    // while open: a Friday print cannot settle a Sunday-evening order, nor a weekend quote
    // a Monday one (closed now is said before the price's age is)
    let scheduled = market.params.schedule != 0 && !key_is_unset(&pool.calendar);
    let open_at = |ts: i64| {
        if !scheduled {
            return Ok(true);
        }
        with_calendar(&pool, calendar, |calendar| match calendar {
            Some(c) => c.is_open(market.params.schedule, ts),
            None => Ok(true),
        })
    };
    require!(open_at(now)?, PerpError::MarketClosed);
    let price = load_price(
        oracle,
        &market.oracle_spec(),
        &pool_key,
        pool.quote_decimals,
        now,
        usage,
    )?;
    require!(open_at(price.publish_time)?, PerpError::MarketClosed);
    Ok(MarketContext {
        price,
        quote_decimals: pool.quote_decimals,
        seeds: PoolSeeds::of(&pool),
    })
}

/// Run `f` with the pool's calendar: `None` when the pool has none (every market always open);
/// otherwise `info` must be it.
pub fn with_calendar<R>(
    pool: &Pool,
    info: &AccountInfo,
    f: impl FnOnce(Option<&Calendar>) -> Result<R>,
) -> Result<R> {
    if key_is_unset(&pool.calendar) {
        return f(None);
    }
    require!(
        keys_eq(info.key, &pool.calendar) && keys_eq(info.owner, &crate::ID),
        PerpError::WrongCalendar
    );
    let data = info.try_borrow_data()?;
    let size = core::mem::size_of::<Calendar>();
    require!(
        data.len() >= 8 + size && data[..8] == *Calendar::DISCRIMINATOR,
        PerpError::WrongCalendar
    );
    f(Some(bytemuck::from_bytes(&data[8..8 + size])))
}

/// Whether `market` is within the hour before a long close of its schedule at `now` (never
/// for a market always open or a pool without a calendar).
pub fn closing_soon(
    pool: &Pool,
    market: &Market,
    calendar: &AccountInfo,
    now: i64,
) -> Result<bool> {
    if market.params.schedule == 0 || key_is_unset(&pool.calendar) {
        return Ok(false);
    }
    with_calendar(pool, calendar, |calendar| match calendar {
        Some(c) => c.closing_soon(market.params.schedule, now),
        None => Ok(false),
    })
}

/// The leverage new risk may take on `market` at `now`: its `max_leverage`, or in the hour
/// before a long close the leverage it may hold over it, so nothing the keeper has brought
/// down can be rebuilt before the bell.
pub fn leverage_cap(pool: &Pool, market: &Market, calendar: &AccountInfo, now: i64) -> Result<u32> {
    Ok(if closing_soon(pool, market, calendar, now)? {
        market.params.leverage_over_close()
    } else {
        market.params.max_leverage
    })
}

/// The markets with open interest that their schedule has closed at `now`, and since when.
pub fn closed_markets(pool: &Pool, calendar: &AccountInfo, now: i64) -> Result<ClosedMarkets> {
    if key_is_unset(&pool.calendar) {
        return Ok(ClosedMarkets::default());
    }
    with_calendar(pool, calendar, |calendar| match calendar {
        None => Ok(ClosedMarkets::default()),
        Some(calendar) => calendar.closed_markets(pool, now),
    })
}

/// The market must occupy the slot its index names, and be active.
pub fn check_slot(pool: &Pool, market: &Account<Market>) -> Result<()> {
    let slot = pool.slot(market.index)?;
    require_keys_eq!(slot.market, market.key(), PerpError::WrongMarket);
    require!(slot.active == 1, PerpError::MarketInactive);
    Ok(())
}
