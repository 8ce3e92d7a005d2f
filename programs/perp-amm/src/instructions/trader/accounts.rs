use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::errors::PerpError;
use crate::state::{Market, Pool, Position, RiskModel};

/// Accounts of every action on an existing position.
#[derive(Accounts)]
pub struct Trade<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        mut,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump = position.bump,
        has_one = owner @ PerpError::NotPositionOwner,
        has_one = market @ PerpError::WrongMarket,
        has_one = pool @ PerpError::WrongPool,
    )]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    /// The pool's risk model: required when the pool has one (every fill moves its Imbalance
    /// Score), absent otherwise. Collateral moves do not read it.
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
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

/// Opens and increases need the market in the model: exposure it cannot see, it cannot limit.
pub fn require_covered(model: Option<&RiskModel>, market: &Market) -> Result<()> {
    if let Some(model) = model {
        require!(
            market.index < model.market_count,
            PerpError::MarketNotInRiskModel
        );
    }
    Ok(())
}

/// Move the pool's Imbalance Score for a fill of `size` (after the fill has updated the OI);
/// for opens and increases (`limited`), refuse one that raises IS above the pool's cap.
pub fn track_imbalance(
    pool: &mut Pool,
    model: Option<&RiskModel>,
    market: &Market,
    size: i64,
    price: keel_math::Fix,
    now: i64,
    limited: bool,
) -> Result<()> {
    let Some(model) = model else {
        return Ok(());
    };
    let change = crate::risk::record_fill(pool, model, market.index, size, price, now)?;
    if limited {
        crate::risk::check_imbalance_limit(pool, &change)?;
    }
    Ok(())
}

/// What every market action starts with: its instruction group is not paused, the market sits
/// in the slot its index names, and its price is valid for `usage`.
pub struct MarketContext {
    pub price: crate::state::OraclePrice,
    pub quote_decimals: u8,
    pub seeds: crate::instructions::shared::PoolSeeds,
}

pub fn market_context(
    pool: &AccountLoader<Pool>,
    market: &Account<Market>,
    oracle: &AccountInfo,
    group: u8,
    usage: crate::state::OracleUse,
    now: i64,
) -> Result<MarketContext> {
    let pool_key = pool.key();
    let pool = pool.load()?;
    pool.require_not_paused(group)?;
    check_slot(&pool, market)?;
    let price = crate::state::load_price(
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
        seeds: crate::instructions::shared::PoolSeeds::of(&pool),
    })
}

/// The market must occupy the slot its index names, and be active.
pub fn check_slot(pool: &Pool, market: &Account<Market>) -> Result<()> {
    let slot = pool.slot(market.index)?;
    require_keys_eq!(slot.market, market.key(), PerpError::WrongMarket);
    require!(slot.active == 1, PerpError::MarketInactive);
    Ok(())
}

/// After an increase: size not dust, OI caps, initial margin (leverage).
pub fn check_after_increase(
    pool: &Pool,
    market: &Market,
    position: &Position,
    price: keel_math::Fix,
) -> Result<()> {
    let p = &market.params;
    require!(
        position.size.unsigned_abs() >= p.min_position_size,
        PerpError::DustPosition
    );
    let slot = pool.slot(market.index)?;
    require!(
        slot.long_oi <= p.max_long_oi && slot.short_oi <= p.max_short_oi,
        PerpError::OpenInterestCap
    );
    crate::engine::check_initial_margin(slot, position, p, price)
}

/// Emit the fill event of a trade on `position`.
pub fn emit_fill(
    pool: &Pool,
    pool_key: Pubkey,
    market: &Account<Market>,
    position: &Position,
    size: i64,
    price: &crate::state::OraclePrice,
    out: &crate::engine::FillOutcome,
) -> Result<()> {
    let slot = pool.slot(market.index)?;
    emit!(crate::events::FillEvent {
        pool: pool_key,
        market: market.key(),
        owner: position.owner,
        size,
        position_size: position.size,
        oracle_price: price.price.to_bits(),
        fill_price: out.price.to_bits(),
        q: out.q.to_bits(),
        premium: out.premium,
        fees: out.fees,
        funding_paid: out.funding_paid,
        realized_pnl: out.realized_pnl,
        bad_debt: out.bad_debt,
        long_oi: slot.long_oi,
        short_oi: slot.short_oi,
        imbalance_score: pool.risk.imbalance_score,
        exposure_norm: pool.risk.exposure_norm,
    });
    Ok(())
}
