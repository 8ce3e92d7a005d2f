use anchor_lang::prelude::*;

use super::update_market::set_market_params;
use crate::constants::MARKET_CHANGE_SEED;
use crate::errors::PerpError;
use crate::events::MarketChangeEvent;
use crate::instructions::shared::with_calendar;
use crate::state::{MARKET_CHANGE_NOTICE_SECS, Market, MarketChange, MarketParams, Pool};

/// What a [`MarketChangeEvent`] reports.
pub mod change_kind {
    pub const PROPOSED: u8 = 0;
    pub const APPLIED: u8 = 1;
    pub const CANCELLED: u8 = 2;
}

#[derive(Accounts)]
pub struct ProposeMarketChange<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        init_if_needed,
        payer = authority,
        space = 8 + MarketChange::INIT_SPACE,
        seeds = [MARKET_CHANGE_SEED, market.key().as_ref()],
        bump,
    )]
    pub change: Box<Account<'info, MarketChange>>,
    pub system_program: Program<'info, System>,
}

/// The pool authority announces new parameters for a market; anyone may apply them once
/// [`MARKET_CHANGE_NOTICE_SECS`] have passed. Worsening steps are bounded per change
/// ([`MarketParams::worsens`]); one change is pending at a time.
pub fn handle_propose_market_change(
    ctx: Context<ProposeMarketChange>,
    params: MarketParams,
) -> Result<()> {
    params.validate()?;
    ctx.accounts.market.params.worsens(&params)?;
    let now = Clock::get()?.unix_timestamp;
    let change = &mut ctx.accounts.change;
    require!(!change.is_pending(), PerpError::ChangePending);
    change.pool = ctx.accounts.pool.key();
    change.market = ctx.accounts.market.key();
    change.bump = ctx.bumps.change;
    change.params = params;
    change.base = ctx.accounts.market.params;
    change.proposed_at = now;
    change.effective_at = now + MARKET_CHANGE_NOTICE_SECS;
    emit!(MarketChangeEvent {
        pool: change.pool,
        market: change.market,
        kind: change_kind::PROPOSED,
        params,
        effective_at: change.effective_at,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ApplyMarketChange<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        mut,
        seeds = [MARKET_CHANGE_SEED, market.key().as_ref()],
        bump = change.bump,
    )]
    pub change: Box<Account<'info, MarketChange>>,
    /// CHECK: the market's oracle account; `load_price` checks it when the funding rate changes.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// and the market keeps a schedule (any account otherwise).
    pub calendar: UncheckedAccount<'info>,
}

/// Anyone applies an announced change once due, within [`crate::state::MARKET_CHANGE_APPLY_WINDOW_SECS`],
/// onto the parameters it was proposed against (a change made since is refused here, not
/// silently undone: cancel and announce again). The notice runs while traders can act on it:
/// not while closing is paused, and a full notice again from the moment closing resumes.
pub fn handle_apply_market_change(ctx: Context<ApplyMarketChange>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let change = &mut ctx.accounts.change;
    require!(change.is_pending(), PerpError::NoPendingChange);
    let pool_key = ctx.accounts.pool.key();
    let mut pool = ctx.accounts.pool.load_mut()?;
    // a market that keeps hours: the notice is a day of its open time since the announcement,
    // not of clock (announced on a Friday evening, an FX change is due on Monday evening)
    let schedule = change.base.schedule;
    let due = match schedule {
        0 => change.effective_at,
        _ => with_calendar(&pool, &ctx.accounts.calendar, |calendar| match calendar {
            None => Ok(change.effective_at),
            Some(c) => c.notice_due(core::iter::once(schedule), change.proposed_at),
        })?
        .max(change.effective_at),
    };
    pool.require_change_due(due, now)?;
    require!(
        ctx.accounts.market.params == change.base,
        PerpError::ChangeOutdated
    );
    let params = change.params;
    params.validate()?;
    set_market_params(
        &mut pool,
        &pool_key,
        &mut ctx.accounts.market,
        &ctx.accounts.oracle,
        params,
        now,
    )?;
    let effective_at = change.effective_at;
    change.effective_at = 0;
    emit!(MarketChangeEvent {
        pool: pool_key,
        market: change.market,
        kind: change_kind::APPLIED,
        params,
        effective_at,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelMarketChange<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(has_one = pool @ PerpError::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    #[account(
        mut,
        seeds = [MARKET_CHANGE_SEED, market.key().as_ref()],
        bump = change.bump,
    )]
    pub change: Box<Account<'info, MarketChange>>,
}

/// The pool authority withdraws its announced change.
pub fn handle_cancel_market_change(ctx: Context<CancelMarketChange>) -> Result<()> {
    let change = &mut ctx.accounts.change;
    require!(change.is_pending(), PerpError::NoPendingChange);
    let effective_at = change.effective_at;
    change.effective_at = 0;
    emit!(MarketChangeEvent {
        pool: change.pool,
        market: change.market,
        kind: change_kind::CANCELLED,
        params: change.params,
        effective_at,
    });
    Ok(())
}
