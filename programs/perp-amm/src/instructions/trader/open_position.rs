use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::engine::{Pricing, fill};
use crate::errors::PerpError;
use crate::instructions::shared::transfer_in;
use crate::instructions::trader::{
    check_after_increase, emit_fill, market_context, pool_risk_model, require_covered,
    track_imbalance,
};
use crate::state::{Market, OracleUse, Pool, Position, RiskModel, limit_price, pause};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct OpenPositionArgs {
    /// Base native units: > 0 long, < 0 short.
    pub size: i64,
    /// Quote tokens posted as margin (native units).
    pub collateral: u64,
    /// Worst acceptable average price, quote per base in whole units ×1e9 (a ceiling for longs,
    /// a floor for shorts; u64::MAX or 0 for none).
    pub price_limit_e9: u64,
}

#[derive(Accounts)]
pub struct OpenPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = vault @ PerpError::WrongVault)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        init,
        payer = owner,
        space = 8 + Position::INIT_SPACE,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
    /// The pool's risk model, required when it has one (see `Trade::risk_model`).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
}

pub fn handle_open_position(ctx: Context<OpenPosition>, args: OpenPositionArgs) -> Result<()> {
    require!(args.size != 0 && args.collateral > 0, PerpError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        pause::OPEN,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, limit) = (
        mc.price,
        limit_price(args.price_limit_e9, market.base_decimals, mc.quote_decimals)?,
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    require_covered(model.as_deref(), market)?;
    transfer_in(
        &a.token_program,
        a.owner_quote.to_account_info(),
        a.vault.to_account_info(),
        a.owner.to_account_info(),
        args.collateral,
    )?;

    let position = &mut a.position;
    position.pool = pool_key;
    position.market = market.key();
    position.owner = a.owner.key();
    position.bump = ctx.bumps.position;
    position.opened_at = now;
    position.collateral = args.collateral;

    let mut pool = a.pool.load_mut()?;
    pool.total_collateral = pool
        .total_collateral
        .checked_add(args.collateral)
        .ok_or_else(|| error!(PerpError::MathOverflow))?;
    let out = fill(
        &mut pool,
        market.index,
        &market.params,
        position,
        args.size,
        &price,
        now,
        Pricing::Market {
            limit,
            fee_bps: market.params.open_fee_bps,
        },
        model.as_deref(),
    )?;
    check_after_increase(&pool, market, position, price.price)?;
    track_imbalance(
        &mut pool,
        model.as_deref(),
        market,
        args.size,
        price.price,
        now,
        true,
    )?;
    emit_fill(&pool, pool_key, market, position, args.size, &price, &out)
}
