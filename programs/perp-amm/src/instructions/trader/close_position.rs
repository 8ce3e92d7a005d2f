use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::engine::{TradeInput, apply_close};
use crate::errors::PerpError;
use crate::instructions::shared::{market_context, pool_risk_model, transfer_out};
use crate::instructions::trader::emit_fill;
use crate::state::{Market, OracleUse, Pool, Position, RiskModel, limit_price, pause};

#[derive(Accounts)]
pub struct ClosePosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        mut,
        close = owner,
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
    /// The pool's risk model, required when it has one (see `Trade::risk_model`).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
}

/// Close the whole position at the D8X price and pay out its remaining collateral.
/// `price_limit_e9`: worst acceptable average price, quote per base ×1e9 (0 or u64::MAX: none).
pub fn handle_close_position(ctx: Context<ClosePosition>, price_limit_e9: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        pause::CLOSE,
        OracleUse::RiskReducing,
        now,
    )?;
    let limit = limit_price(price_limit_e9, market.base_decimals, mc.quote_decimals)?;
    let (price, seeds) = (mc.price, mc.seeds);
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let payout = {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        let input = TradeInput {
            market,
            price,
            limit,
            now,
            model: model.as_deref(),
        };
        let (size, out, payout) = apply_close(&mut pool, position, &input)?;
        emit_fill(&pool, pool_key, market, position, size, &price, &out)?;
        payout
    };
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.owner_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        payout,
    )
}
