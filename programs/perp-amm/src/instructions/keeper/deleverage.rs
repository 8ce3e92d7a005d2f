use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use keel_math::Fix;

use crate::constants::{EXECUTION_PRICE_MAX_AGE_SECS, POSITION_SEED};
use crate::engine::{TradeInput, apply_deleverage};
use crate::errors::PerpError;
use crate::events::DeleverageEvent;
use crate::instructions::shared::{closed_markets, market_context, pool_risk_model, transfer_out};
use crate::state::{Market, OracleUse, Pool, Position, RiskModel, load_pool_marks, pause};

/// Remaining accounts: the oracle of every active market, in market order (as for deposits).
#[derive(Accounts)]
pub struct Deleverage<'info> {
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
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_quote.mint == pool.load()?.quote_mint @ PerpError::WrongMint, token::authority = owner)]
    pub owner_quote: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    /// The pool's risk model, required when it has one (see `Trade::risk_model`).
    pub risk_model: Option<AccountLoader<'info, RiskModel>>,
}

/// Auto-deleveraging (GMX v2's ADL): see [`apply_deleverage`]. Stopped with liquidations (the
/// liquidate or close pause bit); the print is at most 10 s old and not older than the
/// market's; the keeper is not the owner.
pub fn handle_deleverage<'info>(ctx: Context<'info, Deleverage<'info>>, size: u64) -> Result<()> {
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
        now - price.publish_time <= EXECUTION_PRICE_MAX_AGE_SECS,
        PerpError::ExecutionPriceTooOld
    );
    let model = pool_risk_model(&*a.pool.load()?, &a.risk_model)?;
    let (returned, event) = {
        let position = &mut a.position;
        let mut pool = a.pool.load_mut()?;
        let closed = closed_markets(&pool, &a.calendar, now)?;
        let marks = load_pool_marks(&pool, &pool_key, ctx.remaining_accounts, now, &closed)?;
        pool.slot_mut(market.index)?.use_price(price.publish_time)?;
        let input = TradeInput {
            market,
            price,
            limit: Fix::ZERO,
            now,
            model: model.as_deref(),
            max_leverage: market.params.max_leverage,
        };
        let keeper_is_owner = a.keeper.key() == position.owner;
        let adl = apply_deleverage(&mut pool, position, &input, &marks, size, keeper_is_owner)?;
        let event = DeleverageEvent {
            pool: pool_key,
            market: market.key(),
            owner: position.owner,
            keeper: a.keeper.key(),
            size: adl.size,
            oracle_price: price.price.to_bits(),
            realized_pnl: adl.fill.realized_pnl,
            premium: adl.fill.premium,
            fees: adl.fill.fees,
            traders_profit: u64::try_from(adl.traders_profit).unwrap_or(u64::MAX),
            ceiling: u64::try_from(adl.ceiling).unwrap_or(u64::MAX),
            returned_to_owner: adl.returned_to_owner,
        };
        (adl.returned_to_owner, event)
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
