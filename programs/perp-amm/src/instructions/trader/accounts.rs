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
        premium_released: out.premium_released,
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
