use anchor_lang::prelude::*;

use crate::constants::CALENDAR_SEED;
use crate::errors::PerpError;
use crate::events::ScheduleEvent;
use crate::state::{
    Calendar, MARKET_CHANGE_NOTICE_SECS, MAX_SCHEDULES, Pool, Schedule, ScheduleArgs,
};

#[derive(Accounts)]
pub struct InitCalendar<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(
        init,
        payer = authority,
        space = 8 + core::mem::size_of::<Calendar>(),
        seeds = [CALENDAR_SEED, pool.key().as_ref()],
        bump,
    )]
    pub calendar: AccountLoader<'info, Calendar>,
    pub system_program: Program<'info, System>,
}

/// The pool authority creates the pool's market-hours calendar (every schedule undefined, so
/// every market still always open) and records it in the pool.
pub fn handle_init_calendar(ctx: Context<InitCalendar>) -> Result<()> {
    let mut calendar = ctx.accounts.calendar.load_init()?;
    calendar.pool = ctx.accounts.pool.key();
    calendar.bump = ctx.bumps.calendar;
    ctx.accounts.pool.load_mut()?.calendar = ctx.accounts.calendar.key();
    Ok(())
}

#[derive(Accounts)]
pub struct SetSchedule<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ PerpError::Unauthorized)]
    pub pool: AccountLoader<'info, Pool>,
    #[account(mut, has_one = pool @ PerpError::WrongCalendar)]
    pub calendar: AccountLoader<'info, Calendar>,
}

pub use crate::state::MAX_NOTICE_SECS;

/// The pool authority sets schedule `index` (1..=8). While no position is open anywhere in the
/// pool it applies at once; otherwise it is announced and takes over once a day
/// ([`MARKET_CHANGE_NOTICE_SECS`]) of the hours in force has passed (a weekend does not count:
/// traders could not act in it), replacing any announced one not yet in force. Not only the
/// schedules markets keep now: an announced market change may move a market onto any
/// schedule, which must not then be rewritten without notice (an auditor's finding). Holidays
/// must begin after the schedule takes effect: none is added to the past or without notice.
pub fn handle_set_schedule(
    ctx: Context<SetSchedule>,
    index: u8,
    schedule: ScheduleArgs,
) -> Result<()> {
    require!(
        (1..=MAX_SCHEDULES as u8).contains(&index),
        PerpError::InvalidParameter
    );
    let now = Clock::get()?.unix_timestamp;
    let in_use = ctx.accounts.pool.load()?.has_open_interest();
    let mut calendar = ctx.accounts.calendar.load_mut()?;
    let slot = &mut calendar.schedules[index as usize - 1];
    if slot.next_from != 0 && now >= slot.next_from {
        slot.current = slot.next;
    }
    // the notice counts a day of the hours now in force, not a weekend: announced on a Friday
    // evening, an FX change takes over on Monday evening (a month at most)
    let effective_from = if in_use {
        slot.current
            .after_open_secs(now, MARKET_CHANGE_NOTICE_SECS, MAX_NOTICE_SECS)?
            .unwrap_or(now + MAX_NOTICE_SECS)
            .max(now + MARKET_CHANGE_NOTICE_SECS)
    } else {
        now
    };
    let new = schedule.to_schedule(effective_from)?;
    if in_use {
        slot.next = new;
        slot.next_from = effective_from;
    } else {
        slot.current = new;
        slot.next = Schedule::default();
        slot.next_from = 0;
    }
    emit!(ScheduleEvent {
        pool: ctx.accounts.pool.key(),
        index,
        effective_from,
    });
    Ok(())
}
