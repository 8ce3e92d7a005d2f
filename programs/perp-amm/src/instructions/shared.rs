//! Pieces every instruction group uses: the pool's signer seeds, token moves (the shared
//! crate's), the risk model and market context every market action loads.

use anchor_lang::prelude::*;
pub use keel_onchain::token::{burn, burn_signed, mint_to, transfer_in, transfer_out};

use crate::constants::POOL_SEED;
use crate::errors::PerpError;
use crate::state::{Market, OraclePrice, OracleUse, Pool, RiskModel, load_price};

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
    match account {
        None => {
            require!(
                pool.risk.model == Pubkey::default(),
                PerpError::WrongRiskModel
            );
            Ok(None)
        }
        Some(loader) => {
            require_keys_eq!(loader.key(), pool.risk.model, PerpError::WrongRiskModel);
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

pub fn market_context(
    pool: &AccountLoader<Pool>,
    market: &Account<Market>,
    oracle: &AccountInfo,
    group: u8,
    usage: OracleUse,
    now: i64,
) -> Result<MarketContext> {
    let pool_key = pool.key();
    let pool = pool.load()?;
    pool.require_not_paused(group)?;
    check_slot(&pool, market)?;
    let price = load_price(
        oracle,
        &market.oracle_spec(),
        &pool_key,
        pool.quote_decimals,
        now,
        usage,
    )?;
    Ok(MarketContext {
        price,
        quote_decimals: pool.quote_decimals,
        seeds: PoolSeeds::of(&pool),
    })
}

/// The market must occupy the slot its index names, and be active.
pub fn check_slot(pool: &Pool, market: &Account<Market>) -> Result<()> {
    let slot = pool.slot(market.index)?;
    require_keys_eq!(slot.market, market.key(), PerpError::WrongMarket);
    require!(slot.active == 1, PerpError::MarketInactive);
    Ok(())
}
