//! Market hours: the pool's schedules (`keel_math::calendar`), which markets refer to by index.

use anchor_lang::prelude::*;
use keel_math::calendar::{self, Closure, MAX_CLOSURES, MAX_SESSIONS, ScheduleError, Session};

use crate::constants::{CLOSE_WINDOW_SECS, LONG_CLOSE_SECS};
use crate::errors::PerpError;

/// Schedules a pool holds; a market's `schedule` is 1..=MAX_SCHEDULES, or 0 for always open.
pub const MAX_SCHEDULES: usize = 8;

/// Longest an announced change waits for its day of open time.
pub const MAX_NOTICE_SECS: i64 = 28 * 86_400;

/// The pool's market-hours schedules: PDA [CALENDAR_SEED, pool], created by the first
/// `set_schedule`. A pool without one has every market always open.
#[account(zero_copy)]
#[repr(C)]
pub struct Calendar {
    pub pool: Pubkey,
    pub bump: u8,
    pub _pad: [u8; 7],
    pub schedules: [ScheduleSlot; MAX_SCHEDULES],
    pub reserved: [u8; 128],
}

/// One schedule and its announced replacement.
#[zero_copy]
#[repr(C)]
pub struct ScheduleSlot {
    pub current: Schedule,
    /// Takes over from `next_from` on (0 when nothing is announced): a schedule that markets
    /// may already use changes only after a notice, so no position finds its market closed
    /// (or a holiday added) without a day to act.
    pub next: Schedule,
    pub next_from: i64,
}

/// Weekly sessions in local time of a zone, and closures (holidays) in UTC.
#[zero_copy]
#[repr(C)]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// A `keel_math::calendar::zone` constant.
    pub zone: u8,
    pub session_count: u8,
    pub closure_count: u8,
    /// 1 once set: an undefined schedule is always open.
    pub defined: u8,
    pub _pad: [u8; 4],
    /// `[open, close)` local minutes from Sunday 00:00.
    pub sessions: [[u16; 2]; MAX_SESSIONS],
    /// `[start, end)` Unix seconds.
    pub closures: [[i64; 2]; MAX_CLOSURES],
}

const _: () = assert!(core::mem::size_of::<Schedule>() == 296);
const _: () = assert!(core::mem::size_of::<Calendar>() == 4_968);

/// Which markets with open interest are closed now (bit i for market i), and, per schedule
/// index, when the closed stretch began (Unix seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClosedMarkets {
    pub mask: u32,
    pub since: [i64; MAX_SCHEDULES + 1],
}

impl ClosedMarkets {
    pub fn is_closed(&self, market: usize) -> bool {
        self.mask & (1 << market) != 0
    }

    /// Whether schedule `index` is closed now (for the markets on it with open interest).
    pub fn schedule_closed(&self, index: u8) -> bool {
        index != 0
            && self
                .since
                .get(index as usize)
                .is_some_and(|since| *since != 0)
    }

    /// The number of markets closed.
    pub fn count(&self) -> u32 {
        self.mask.count_ones()
    }
}

/// A schedule as `set_schedule` takes it.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScheduleArgs {
    pub zone: u8,
    /// `[open, close)` local minutes from Sunday 00:00, in order; empty: open all week.
    pub sessions: Vec<[u16; 2]>,
    /// `[start, end)` Unix seconds on whole minutes, in order, each at most four days.
    pub closures: Vec<[i64; 2]>,
}

pub fn schedule_error(e: ScheduleError) -> Error {
    match e {
        ScheduleError::Sessions => error!(PerpError::ScheduleSessions),
        ScheduleError::ClosureInPast => error!(PerpError::HolidayInPast),
        ScheduleError::Closure => error!(PerpError::HolidayInvalid),
        ScheduleError::UnknownZone | ScheduleError::TooMany => {
            error!(PerpError::InvalidParameter)
        }
    }
}

impl ScheduleArgs {
    fn sessions(&self) -> impl Iterator<Item = Session> + '_ {
        self.sessions.iter().map(|s| Session {
            open: s[0],
            close: s[1],
        })
    }

    fn closures(&self) -> impl Iterator<Item = Closure> + '_ {
        self.closures.iter().map(|c| Closure {
            start: c[0],
            end: c[1],
        })
    }

    /// Check it against `calendar::validate`, closures starting after `effective_from`, and
    /// build the stored form.
    pub fn to_schedule(&self, effective_from: i64) -> Result<Schedule> {
        if self.sessions.len() > MAX_SESSIONS || self.closures.len() > MAX_CLOSURES {
            return Err(error!(PerpError::InvalidParameter));
        }
        let sessions: [Session; MAX_SESSIONS] =
            core::array::from_fn(|i| self.sessions().nth(i).unwrap_or_default());
        let closures: [Closure; MAX_CLOSURES] =
            core::array::from_fn(|i| self.closures().nth(i).unwrap_or_default());
        let (ns, nc) = (self.sessions.len(), self.closures.len());
        // a holiday begins at least the close window after the schedule takes effect, so the
        // hour before it (held to the leverage over a close) lies under the schedule that has it
        let not_before = effective_from.saturating_add(CLOSE_WINDOW_SECS);
        calendar::validate(self.zone, &sessions[..ns], &closures[..nc], not_before)
            .map_err(schedule_error)?;
        let mut out = Schedule {
            zone: self.zone,
            session_count: ns as u8,
            closure_count: nc as u8,
            defined: 1,
            ..Default::default()
        };
        for (o, s) in out.sessions.iter_mut().zip(&self.sessions) {
            *o = *s;
        }
        for (o, c) in out.closures.iter_mut().zip(&self.closures) {
            *o = *c;
        }
        Ok(out)
    }
}

impl Schedule {
    /// Whether open at `ts` (an undefined schedule always is).
    pub fn is_open(&self, ts: i64) -> Result<bool> {
        if self.defined == 0 {
            return Ok(true);
        }
        let (sessions, closures) = self.parts();
        calendar::is_open(
            self.zone,
            &sessions[..self.session_count as usize],
            &closures[..self.closure_count as usize],
            ts,
        )
        .map_err(schedule_error)
    }

    /// How long it has been closed (`keel_math::calendar::secs_since_close`).
    pub fn secs_since_close(&self, ts: i64) -> Result<Option<i64>> {
        if self.defined == 0 {
            return Ok(None);
        }
        let (sessions, closures) = self.parts();
        calendar::secs_since_close(
            self.zone,
            &sessions[..self.session_count as usize],
            &closures[..self.closure_count as usize],
            ts,
        )
        .map_err(schedule_error)
    }

    /// When `need` seconds of its open time have passed after `from`
    /// (`keel_math::calendar::after_open_secs`); an undefined schedule is always open.
    pub fn after_open_secs(&self, from: i64, need: i64, horizon: i64) -> Result<Option<i64>> {
        if self.defined == 0 {
            return Ok(Some(from + need));
        }
        let (sessions, closures) = self.parts();
        calendar::after_open_secs(
            self.zone,
            &sessions[..self.session_count as usize],
            &closures[..self.closure_count as usize],
            from,
            need,
            horizon,
        )
        .map_err(schedule_error)
    }

    /// Seconds until it closes (`keel_math::calendar::secs_until_close`).
    pub fn secs_until_close(&self, ts: i64) -> Result<Option<i64>> {
        if self.defined == 0 {
            return Ok(None);
        }
        let (sessions, closures) = self.parts();
        calendar::secs_until_close(
            self.zone,
            &sessions[..self.session_count as usize],
            &closures[..self.closure_count as usize],
            ts,
        )
        .map_err(schedule_error)
    }

    /// Seconds until a long close within the window
    /// (`keel_math::calendar::secs_until_long_close` with [`CLOSE_WINDOW_SECS`] and
    /// [`LONG_CLOSE_SECS`]).
    pub fn secs_until_long_close(&self, ts: i64) -> Result<Option<i64>> {
        if self.defined == 0 {
            return Ok(None);
        }
        let (sessions, closures) = self.parts();
        calendar::secs_until_long_close(
            self.zone,
            &sessions[..self.session_count as usize],
            &closures[..self.closure_count as usize],
            ts,
            CLOSE_WINDOW_SECS,
            LONG_CLOSE_SECS,
        )
        .map_err(schedule_error)
    }

    pub fn parts(&self) -> ([Session; MAX_SESSIONS], [Closure; MAX_CLOSURES]) {
        (
            core::array::from_fn(|i| Session {
                open: self.sessions[i][0],
                close: self.sessions[i][1],
            }),
            core::array::from_fn(|i| Closure {
                start: self.closures[i][0],
                end: self.closures[i][1],
            }),
        )
    }
}

impl ScheduleSlot {
    /// The schedule in force at `ts`.
    pub fn at(&self, ts: i64) -> &Schedule {
        if self.next_from != 0 && ts >= self.next_from {
            &self.next
        } else {
            &self.current
        }
    }
}

impl Calendar {
    /// The schedule `index` (1-based; 0 is always open) in force at `ts`.
    pub fn schedule(&self, index: u8, ts: i64) -> Option<&Schedule> {
        match index {
            0 => None,
            i => self.schedules.get(i as usize - 1).map(|slot| slot.at(ts)),
        }
    }

    /// The markets with open interest that their schedule has closed at `now`, and since when.
    /// Each schedule is evaluated once, however many markets keep its hours.
    pub fn closed_markets(&self, pool: &crate::state::Pool, now: i64) -> Result<ClosedMarkets> {
        // per schedule index: 0 not evaluated yet, 1 open, 2 closed
        let mut state = [0u8; MAX_SCHEDULES + 1];
        let mut out = ClosedMarkets::default();
        for (i, slot) in pool.markets.iter().enumerate() {
            let idle = slot.long_oi == 0 && slot.short_oi == 0;
            if slot.active == 0 || idle || slot.schedule == 0 {
                continue;
            }
            let index = slot.schedule as usize;
            let s = state
                .get_mut(index)
                .ok_or_else(|| error!(PerpError::InvalidParameter))?;
            if *s == 0 {
                let since = match self.schedule(slot.schedule, now) {
                    Some(schedule) => schedule.secs_since_close(now)?,
                    None => None,
                };
                *s = match since {
                    None => 1,
                    Some(secs) => {
                        out.since[index] = now - secs;
                        2
                    }
                };
            }
            if *s == 2 {
                out.mask |= 1 << i;
            }
        }
        Ok(out)
    }

    /// Whether a market on schedule `index` is within [`CLOSE_WINDOW_SECS`] of a long close
    /// at `ts`.
    pub fn closing_soon(&self, index: u8, ts: i64) -> Result<bool> {
        match self.schedule(index, ts) {
            None => Ok(false),
            Some(s) => Ok(s.secs_until_long_close(ts)?.is_some()),
        }
    }

    /// When a change announced at `proposed_at` to markets on the schedules `indices` is due:
    /// once a day ([`MARKET_CHANGE_NOTICE_SECS`]) of each one's open time has passed (a
    /// weekend does not count: traders could not act in it), the latest of them; a wall-clock
    /// day for markets always open; at most [`MAX_NOTICE_SECS`].
    pub fn notice_due(&self, indices: impl Iterator<Item = u8>, proposed_at: i64) -> Result<i64> {
        use crate::state::MARKET_CHANGE_NOTICE_SECS as NOTICE;
        let mut due = proposed_at + NOTICE;
        // each schedule once, however many markets keep it
        let mut seen = 0u16;
        for index in indices {
            let bit = 1u16.checked_shl(index as u32).unwrap_or(0);
            if seen & bit != 0 {
                continue;
            }
            seen |= bit;
            if let Some(hours) = self.schedule(index, proposed_at) {
                let open = hours
                    .after_open_secs(proposed_at, NOTICE, MAX_NOTICE_SECS)?
                    .unwrap_or(proposed_at + MAX_NOTICE_SECS);
                due = due.max(open);
            }
        }
        Ok(due)
    }

    /// Whether a market on schedule `index` is open at `ts`.
    pub fn is_open(&self, index: u8, ts: i64) -> Result<bool> {
        match self.schedule(index, ts) {
            None => Ok(true),
            Some(s) => s.is_open(ts),
        }
    }
}
