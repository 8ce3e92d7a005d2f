use anchor_lang::prelude::*;

use super::set_risk_limits::{MAX_PREMIUM_HORIZON_SECS, MIN_PREMIUM_HORIZON_SECS, set_premium};
use crate::errors::PerpError;
use crate::events::PremiumChangeEvent;
use crate::instructions::admin::market_change::change_kind;
use crate::instructions::shared::with_calendar;
use crate::state::{MARKET_CHANGE_NOTICE_SECS, PendingPremiumChange, Pool, premium_mode};

#[derive(Accounts)]
pub struct ProposePremiumChange<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority announces a new premium mode or horizon; anyone may apply it once
/// [`MARKET_CHANGE_NOTICE_SECS`] have passed, as a market change. The horizon h moves at most
/// as far per change as σ may (√h a quarter up or a fifth down: h × 25/16 or × 16/25), since
/// the portfolio premium scales with IS·√h as it does with σ; the mode has no step to bound,
/// and its notice is what protects open positions.
pub fn handle_propose_premium_change(
    ctx: Context<ProposePremiumChange>,
    mode: u8,
    horizon_secs: u32,
) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    require!(
        pool.risk.model != Pubkey::default(),
        PerpError::WrongRiskModel
    );
    require!(
        mode <= premium_mode::PORTFOLIO
            && (MIN_PREMIUM_HORIZON_SECS..=MAX_PREMIUM_HORIZON_SECS).contains(&horizon_secs)
            && (mode != pool.risk.premium_mode || horizon_secs != pool.risk.premium_horizon_secs),
        PerpError::InvalidParameter
    );
    require!(!pool.pending_premium.is_pending(), PerpError::ChangePending);
    let (old, new) = (pool.risk.premium_horizon_secs as u64, horizon_secs as u64);
    require!(
        new * 16 <= old * 25 && new * 25 >= old * 16,
        PerpError::ChangeTooLarge
    );
    let effective_at = Clock::get()?.unix_timestamp + MARKET_CHANGE_NOTICE_SECS;
    pool.pending_premium = PendingPremiumChange {
        effective_at,
        horizon_secs,
        mode,
        _pad: [0; 3],
    };
    drop(pool);
    emit!(PremiumChangeEvent {
        pool: ctx.accounts.pool.key(),
        kind: change_kind::PROPOSED,
        mode,
        horizon_secs,
        effective_at,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ApplyPremiumChange<'info> {
    #[account(mut)]
    pub pool: AccountLoader<'info, Pool>,
    /// CHECK: the pool's market-hours calendar (`Pool::calendar`), read when the pool has one
    /// (any account otherwise; the client passes the calendar's address either way).
    pub calendar: UncheckedAccount<'info>,
}

/// Anyone applies an announced premium change once due, within
/// [`crate::state::MARKET_CHANGE_APPLY_WINDOW_SECS`], under the same rule as market changes: not while
/// closing is paused, and a full notice again from the moment closing resumes. It prices every
/// market's fills, so its notice is also a day of open time of every market that keeps hours
/// (`Calendar::notice_due`): announced on a Friday evening, it is due on Monday evening. Nothing
/// else can change the mode or horizon while this is pending, so it always applies onto the
/// values it was proposed against.
pub fn handle_apply_premium_change(ctx: Context<ApplyPremiumChange>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut pool = ctx.accounts.pool.load_mut()?;
    let change = pool.pending_premium;
    require!(change.is_pending(), PerpError::NoPendingChange);
    let proposed_at = change.effective_at - MARKET_CHANGE_NOTICE_SECS;
    let due = with_calendar(&pool, &ctx.accounts.calendar, |calendar| match calendar {
        None => Ok(change.effective_at),
        Some(c) => c.notice_due(pool.schedules(), proposed_at),
    })?
    .max(change.effective_at);
    pool.require_change_due(due, now)?;
    set_premium(&mut pool, change.mode, change.horizon_secs);
    pool.pending_premium = PendingPremiumChange::default();
    drop(pool);
    emit!(PremiumChangeEvent {
        pool: ctx.accounts.pool.key(),
        kind: change_kind::APPLIED,
        mode: change.mode,
        horizon_secs: change.horizon_secs,
        effective_at: change.effective_at,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelPremiumChange<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
}

/// The pool authority withdraws its announced premium change.
pub fn handle_cancel_premium_change(ctx: Context<CancelPremiumChange>) -> Result<()> {
    let mut pool = ctx.accounts.pool.load_mut()?;
    let change = pool.pending_premium;
    require!(change.is_pending(), PerpError::NoPendingChange);
    pool.pending_premium = PendingPremiumChange::default();
    drop(pool);
    emit!(PremiumChangeEvent {
        pool: ctx.accounts.pool.key(),
        kind: change_kind::CANCELLED,
        mode: change.mode,
        horizon_secs: change.horizon_secs,
        effective_at: change.effective_at,
    });
    Ok(())
}
