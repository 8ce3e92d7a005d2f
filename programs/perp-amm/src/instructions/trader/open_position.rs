use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::POSITION_SEED;
use crate::engine::{TradeInput, apply_increase, check_open};
use crate::errors::PerpError;
use crate::instructions::shared::{market_context, pool_risk_model, transfer_in};
use crate::instructions::trader::emit_fill;
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
    check_open(args.size, args.collateral)?;
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

    let mut pool = a.pool.load_mut()?;
    let input = TradeInput {
        market,
        price,
        limit,
        now,
        model: model.as_deref(),
    };
    let out = apply_increase(&mut pool, position, &input, args.size, args.collateral)?;
    emit_fill(&pool, pool_key, market, position, args.size, &price, &out)
}
