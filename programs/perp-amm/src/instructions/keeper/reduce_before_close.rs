use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use keel_math::Fix;

use crate::constants::{CLOSE_CUT_PRICE_MAX_AGE_SECS, POSITION_SEED};
use crate::engine::{TradeInput, apply_reduce_before_close};
use crate::errors::PerpError;
use crate::events::CloseReductionEvent;
use crate::instructions::shared::{closing_soon, market_context, pool_risk_model, transfer_out};
use crate::state::{Market, OracleUse, Pool, Position, RiskModel, pause};

#[derive(Accounts)]
pub struct ReduceBeforeClose<'info> {
    pub keeper: Signer<'info>,
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
    /// CHECK: the position's owner; receives the account's rent and its collateral when the
    /// position is closed whole.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// CHECK: must be the market's oracle account; `load_price` checks its key, owner and type.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`); a pool without one has no
    /// closes, and this instruction nothing to do.
    pub calendar: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    /// The pool's risk model, required when it has one (see `Trade::risk_model`).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
}

/// Bring a position above the leverage it may hold over a close down to it, in the hour before
/// a long close of its market (see [`apply_reduce_before_close`]); anyone may, as with a
/// liquidation, and nobody is paid for it: the owner pays the close fee his own reduction
/// would. Stopped with liquidations; the print is at most 2 s old
/// ([`CLOSE_CUT_PRICE_MAX_AGE_SECS`]), published while open, and not older than the market's.
pub fn handle_reduce_before_close(ctx: Context<ReduceBeforeClose>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let a = &mut *ctx.accounts;
    let pool_key = a.pool.key();
    let market = &a.market;
    let mc = market_context(
        &a.pool,
        market,
        &a.oracle,
        &a.calendar,
        pause::LIQUIDATE | pause::CLOSE,
        OracleUse::RiskIncreasing,
        now,
    )?;
    let (price, seeds) = (mc.price, mc.seeds);
    require!(
        closing_soon(&*a.pool.load()?, market, &a.calendar, now)?,
        PerpError::NotClosingSoon
    );
    require!(
        now - price.publish_time <= CLOSE_CUT_PRICE_MAX_AGE_SECS,
        PerpError::ExecutionPriceTooOld
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let leverage = market.params.leverage_over_close();
    let (returned, event) = {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        pool.slot_mut(market.index)?.use_price(price.publish_time)?;
        let input = TradeInput {
            market,
            price,
            limit: Fix::ZERO,
            now,
            model: model.as_deref(),
            max_leverage: leverage,
        };
        let cut = apply_reduce_before_close(&mut pool, position, &input, leverage)?;
        let event = CloseReductionEvent {
            pool: pool_key,
            market: market.key(),
            owner: position.owner,
            keeper: a.keeper.key(),
            size: cut.size,
            oracle_price: price.price.to_bits(),
            realized_pnl: cut.fill.realized_pnl,
            premium: cut.fill.premium,
            fees: cut.fill.fees,
            leverage_e2_before: cut.leverage_e2_before,
            leverage_e2_after: cut.leverage_e2_after,
            returned_to_owner: cut.returned_to_owner,
            fills: cut.fills,
        };
        (cut.returned_to_owner, event)
    };
    transfer_out(
        &a.token_program,
        a.vault.to_account_info(),
        a.owner_quote.to_account_info(),
        a.pool.to_account_info(),
        &seeds.seeds(),
        returned,
    )?;
    emit!(event);
    if a.position.size == 0 && a.position.pending_requests == 0 {
        anchor_lang::AccountsClose::close(&a.position, a.owner.to_account_info())?;
    }
    Ok(())
}
