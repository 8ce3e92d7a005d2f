//! Market hours in integers: civil dates from Unix time, the daylight-saving rules of the zones
//! real-world markets keep their hours in, weekly sessions in local time and closures in UTC.
//!
//! A schedule is a zone, up to [`MAX_SESSIONS`] weekly sessions `[open, close)` in local
//! minutes from Sunday 00:00, and up to [`MAX_CLOSURES`] closures `[start, end)` in Unix
//! seconds (holidays, early closes). A market is open at `ts` when the local minute of the week
//! falls in a session and `ts` in no closure. Sessions are in local time so that a schedule
//! written once (FX: Sunday 17:00 to Friday 17:00 New York) stays right across daylight saving;
//! the zone's rule moves the UTC instants.
//!
//! Zones and their rules (the ones in force since 2007 in the US and 1996 in the EU; earlier
//! dates are computed under them too):
//! - [`zone::UTC`]: no offset (crypto, and any schedule written in UTC);
//! - [`zone::NEW_YORK`]: UTC−5, daylight UTC−4 from the second Sunday of March at 02:00 local
//!   (07:00 UTC) to the first Sunday of November at 02:00 local (06:00 UTC): FX, and CME's
//!   metals and energy, whose Chicago hours are New York's an hour earlier;
//! - [`zone::LONDON`]: UTC, daylight UTC+1 from the last Sunday of March to the last Sunday of
//!   October, both at 01:00 UTC;
//! - [`zone::TOKYO`]: UTC+9, no daylight saving.
//!
//! Times are Unix seconds from 1970 on (earlier ones count as 1970-01-01): the arithmetic is
//! unsigned, as SBF has no signed division.

pub const SECS_PER_DAY: i64 = 86_400;
pub const MINUTES_PER_DAY: u16 = 1_440;
pub const MINUTES_PER_WEEK: u16 = 7 * MINUTES_PER_DAY;
pub const MAX_SESSIONS: usize = 8;
pub const MAX_CLOSURES: usize = 16;
/// A closure lasts at most this long: a holiday cannot shut a market for a season.
pub const MAX_CLOSURE_SECS: i64 = 4 * SECS_PER_DAY;
/// Closures stand at least this far apart: holidays end to end cannot keep a market shut.
pub const MIN_CLOSURE_GAP_SECS: i64 = SECS_PER_DAY;
/// A schedule with sessions opens at least this long a week (two days): one that barely opens
/// would lock positions in as surely as a closure.
pub const MIN_OPEN_MINUTES_PER_WEEK: u32 = 2 * MINUTES_PER_DAY as u32;

pub mod zone {
    pub const UTC: u8 = 0;
    pub const NEW_YORK: u8 = 1;
    pub const LONDON: u8 = 2;
    pub const TOKYO: u8 = 3;
    pub const COUNT: u8 = 4;
}

/// A weekly session, local minutes from Sunday 00:00: open at `open`, closed from `close`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Session {
    pub open: u16,
    pub close: u16,
}

/// A closure in Unix seconds: closed from `start`, open again (if in session) at `end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Closure {
    pub start: i64,
    pub end: i64,
}

/// Why a schedule is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    /// No such zone.
    UnknownZone,
    /// More sessions or closures than a schedule holds.
    TooMany,
    /// A session empty, past the week's end, out of order or overlapping the next (a session
    /// across Saturday midnight is written as two), or sessions open less than
    /// [`MIN_OPEN_MINUTES_PER_WEEK`].
    Sessions,
    /// A closure empty, longer than [`MAX_CLOSURE_SECS`], not on a minute, out of order or
    /// within [`MIN_CLOSURE_GAP_SECS`] of the previous one.
    Closure,
    /// A closure that has already begun.
    ClosureInPast,
}

/// Days since 1970-01-01 of a proleptic Gregorian date from 1970 on (H. Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year.max(1970) as u64;
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y / 400, y % 400);
    let m = month as u64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe) as i64 - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01, from 1970 on (H.
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.max(0) as u64 + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((era * 400 + yoe) as i64 + (month <= 2) as i64, month, day)
}

/// The civil year of a day count since 1970-01-01.
pub fn year_of_days(days: i64) -> i64 {
    civil_from_days(days).0
}

/// Day of the week of a day count, 0 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(days: i64) -> i64 {
    ((days.max(0) as u64 + 4) % 7) as i64
}

/// Whole days and the second within the day of a Unix time (from 1970).
fn split_day(ts: i64) -> (i64, i64) {
    let t = ts.max(0) as u64;
    let day = SECS_PER_DAY as u64;
    ((t / day) as i64, (t % day) as i64)
}

/// The first Sunday on or after `day` (days since 1970-01-01).
fn sunday_from(day: i64) -> i64 {
    day + ((7 - weekday(day)) as u64 % 7) as i64
}

/// The last Sunday on or before `day`.
fn sunday_until(day: i64) -> i64 {
    day - weekday(day)
}

/// Days from March 1st to April 1st and to November 1st, any year: the daylight-saving rules'
/// dates all follow from one civil-date conversion.
const MARCH_TO_APRIL: i64 = 31;
const MARCH_TO_NOVEMBER: i64 = 245;

/// The zone's offset from UTC at `ts`, seconds (local = UTC + offset).
pub fn utc_offset(zone: u8, ts: i64) -> Result<i64, ScheduleError> {
    const HOUR: i64 = 3_600;
    let march = || days_from_civil(year_of_days(split_day(ts).0), 3, 1);
    match zone {
        zone::UTC => Ok(0),
        zone::TOKYO => Ok(9 * HOUR),
        zone::NEW_YORK => {
            // the second Sunday of March, 02:00 EST; the first of November, 02:00 EDT
            let march = march();
            let start = (sunday_from(march) + 7) * SECS_PER_DAY + 7 * HOUR;
            let end = sunday_from(march + MARCH_TO_NOVEMBER) * SECS_PER_DAY + 6 * HOUR;
            Ok(if (start..end).contains(&ts) {
                -4 * HOUR
            } else {
                -5 * HOUR
            })
        }
        zone::LONDON => {
            // the last Sundays of March and October, 01:00 UTC
            let march = march();
            let start = sunday_until(march + MARCH_TO_APRIL - 1) * SECS_PER_DAY + HOUR;
            let end = sunday_until(march + MARCH_TO_NOVEMBER - 1) * SECS_PER_DAY + HOUR;
            Ok(if (start..end).contains(&ts) { HOUR } else { 0 })
        }
        _ => Err(ScheduleError::UnknownZone),
    }
}

/// Local minute of the week at `ts` (0 = Sunday 00:00 local).
pub fn local_minute_of_week(zone: u8, ts: i64) -> Result<u16, ScheduleError> {
    Ok((local_second_of_week(zone, ts)? / 60) as u16)
}

/// Local seconds from Sunday 00:00 at `ts`.
fn local_second_of_week(zone: u8, ts: i64) -> Result<u64, ScheduleError> {
    let (days, second) = split_day(ts + utc_offset(zone, ts)?);
    Ok((weekday(days) * SECS_PER_DAY + second) as u64)
}

/// Whether a schedule is open at `ts`. An empty session list means always open (a crypto
/// market's schedule), closures aside.
pub fn is_open(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
) -> Result<bool, ScheduleError> {
    if closures.iter().any(|c| (c.start..c.end).contains(&ts)) {
        return Ok(false);
    }
    if sessions.is_empty() {
        return Ok(true);
    }
    let minute = local_minute_of_week(zone, ts)?;
    Ok(sessions.iter().any(|s| (s.open..s.close).contains(&minute)))
}

/// Check a schedule: sessions ordered, inside the week, not overlapping; closures ordered, on
/// a minute, at most [`MAX_CLOSURE_SECS`] long, not overlapping, and none begun by `now`.
pub fn validate(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    now: i64,
) -> Result<(), ScheduleError> {
    if zone >= zone::COUNT {
        return Err(ScheduleError::UnknownZone);
    }
    if sessions.len() > MAX_SESSIONS || closures.len() > MAX_CLOSURES {
        return Err(ScheduleError::TooMany);
    }
    let mut last_close = 0u16;
    let mut open_minutes = 0u32;
    for (i, s) in sessions.iter().enumerate() {
        if s.open >= s.close || s.close > MINUTES_PER_WEEK || (i > 0 && s.open < last_close) {
            return Err(ScheduleError::Sessions);
        }
        last_close = s.close;
        open_minutes += (s.close - s.open) as u32;
    }
    if !sessions.is_empty() && open_minutes < MIN_OPEN_MINUTES_PER_WEEK {
        return Err(ScheduleError::Sessions);
    }
    let mut last_end = i64::MIN / 2;
    for c in closures {
        if c.start < 0
            || c.start >= c.end
            || c.end - c.start > MAX_CLOSURE_SECS
            || !(c.start as u64).is_multiple_of(60)
            || !(c.end as u64).is_multiple_of(60)
            || c.start < last_end + MIN_CLOSURE_GAP_SECS
        {
            return Err(ScheduleError::Closure);
        }
        if c.start <= now {
            return Err(ScheduleError::ClosureInPast);
        }
        last_end = c.end;
    }
    Ok(())
}

/// When the open/closed state next changes after `ts`, looking at most `horizon` seconds
/// ahead (every minute boundary; closures are on minutes). For status displays and keepers,
/// off-chain: up to `horizon / 60` evaluations.
pub fn next_change(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
    horizon: i64,
) -> Result<Option<i64>, ScheduleError> {
    let now = is_open(zone, sessions, closures, ts)?;
    let mut t = (ts.max(0) as u64 / 60 * 60 + 60) as i64;
    while t <= ts + horizon {
        if is_open(zone, sessions, closures, t)? != now {
            return Ok(Some(t));
        }
        t += 60;
    }
    Ok(None)
}

/// Seconds from `ts` until the schedule closes (the end of the session holding `ts`, a
/// session that runs on into the next counting as one, or the next closure's start if
/// sooner); `None` when open without end (no sessions, no closure ahead) and `Some(0)` when
/// closed now. Exact in local time: a daylight-saving switch inside the remaining session
/// (never the case for the zones' weekend switches and the markets' weekday sessions) would
/// move the UTC close by its hour.
pub fn secs_until_close(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
) -> Result<Option<i64>, ScheduleError> {
    if !is_open(zone, sessions, closures, ts)? {
        return Ok(Some(0));
    }
    let by_closure = closures
        .iter()
        .filter(|c| c.start > ts)
        .map(|c| c.start - ts)
        .min();
    if sessions.is_empty() {
        return Ok(by_closure);
    }
    let second_of_week = local_second_of_week(zone, ts)? as i64;
    let minute = (second_of_week as u64 / 60) as u16;
    // the session holding `minute`, then any session starting where it ends (at most one
    // lap of the week: a schedule open all week closes only by closures)
    let mut at = sessions
        .iter()
        .position(|s| (s.open..s.close).contains(&minute))
        .ok_or(ScheduleError::Sessions)?;
    let mut end = sessions[at].close as i64 * 60;
    // weeks wrapped so far: a session after the wrap ends a week later
    let mut lap = 0;
    for _ in 0..sessions.len() {
        let next = (at + 1) % sessions.len();
        let joins = if next == 0 {
            sessions[at].close == MINUTES_PER_WEEK && sessions[0].open == 0
        } else {
            sessions[next].open == sessions[at].close
        };
        if !joins {
            let by_session = end - second_of_week;
            return Ok(Some(by_closure.map_or(by_session, |c| c.min(by_session))));
        }
        if next == 0 {
            lap += MINUTES_PER_WEEK as i64 * 60;
        }
        end = lap + sessions[next].close as i64 * 60;
        at = next;
    }
    Ok(by_closure)
}

/// Seconds from `ts` until a close that lasts at least `min_closed` seconds, when it is at
/// most `window` away (`None` otherwise, and when closed now): the closes a position's
/// leverage must be brought down for. A shorter break (a futures market's daily hour) is
/// left alone, and so is a close whose stretch runs on through a closure or another gap
/// (the stretch is measured to the next open, whatever shuts it).
pub fn secs_until_long_close(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
    window: i64,
    min_closed: i64,
) -> Result<Option<i64>, ScheduleError> {
    let until = match secs_until_close(zone, sessions, closures, ts)? {
        Some(s) if s > 0 && s <= window => s,
        _ => return Ok(None),
    };
    match secs_until_open(zone, sessions, closures, ts + until, min_closed)? {
        Some(closed) if closed < min_closed => Ok(None),
        _ => Ok(Some(until)),
    }
}

/// Seconds from `ts` until the schedule is next open (0 when open now), stepping from boundary
/// to boundary (out of a closure, into a session); `None` past `horizon` seconds.
pub fn secs_until_open(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
    horizon: i64,
) -> Result<Option<i64>, ScheduleError> {
    let week = MINUTES_PER_WEEK as u64 * 60;
    let mut t = ts;
    for _ in 0..boundary_steps(sessions, closures, horizon) {
        if t - ts > horizon {
            return Ok(None);
        }
        if is_open(zone, sessions, closures, t)? {
            return Ok(Some(t - ts));
        }
        // open needs both out of every closure and in a session: step to the later of the two
        // (before it one of them still fails), then look again
        let out_of_closure = closures
            .iter()
            .filter(|c| (c.start..c.end).contains(&t))
            .map(|c| c.end - t)
            .max();
        let second_of_week = local_second_of_week(zone, t)?;
        let minute = (second_of_week / 60) as u16;
        let in_session =
            sessions.is_empty() || sessions.iter().any(|s| (s.open..s.close).contains(&minute));
        let into_session = if in_session {
            None
        } else {
            sessions
                .iter()
                .map(|s| ((s.open as u64 * 60 + week - second_of_week) % week) as i64)
                .min()
        };
        t += out_of_closure.max(into_session).unwrap_or(0).max(1);
    }
    Ok(None)
}

/// The instant when `need` seconds of open time have passed after `from` (the notice of a
/// schedule change counts time a trader can act in, not a weekend); `None` past `horizon`.
pub fn after_open_secs(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    from: i64,
    need: i64,
    horizon: i64,
) -> Result<Option<i64>, ScheduleError> {
    let mut t = from;
    let mut remaining = need;
    for _ in 0..boundary_steps(sessions, closures, horizon) {
        if t - from > horizon {
            return Ok(None);
        }
        match secs_until_open(zone, sessions, closures, t, horizon)? {
            None => return Ok(None),
            Some(wait) => t += wait,
        }
        match secs_until_close(zone, sessions, closures, t)? {
            Some(open) if open < remaining => {
                remaining -= open;
                t += open;
            }
            _ => return Ok(Some(t + remaining)),
        }
    }
    Ok(None)
}

/// Enough boundary steps to walk `horizon` seconds of a schedule: two per session and week,
/// two per closure, and a few more.
fn boundary_steps(sessions: &[Session], closures: &[Closure], horizon: i64) -> usize {
    let weeks = (horizon.max(0) as u64 / (MINUTES_PER_WEEK as u64 * 60)) as usize + 2;
    2 * sessions.len() * weeks + 2 * closures.len() + 4
}

/// How long the schedule has been closed at `ts`: back to the start of the closed stretch
/// holding it, through session gaps and closures that follow each other (a holiday on the
/// Monday after a weekend counts from the Friday); `None` when open, at most a week back. In
/// local time: a daylight-saving switch inside the stretch moves it by its hour. A closed
/// market's last print is never taken as younger than this (a feed that keeps printing while
/// the market is shut does not make the weekend's gap smaller).
pub fn secs_since_close(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
) -> Result<Option<i64>, ScheduleError> {
    if is_open(zone, sessions, closures, ts)? {
        return Ok(None);
    }
    let week = MINUTES_PER_WEEK as i64 * 60;
    let mut start = ts;
    // each step goes back over one session gap or closure: at most one per piece and lap
    for _ in 0..(2 * (sessions.len() + closures.len()) + 2) {
        start -= closed_piece(zone, sessions, closures, start)?;
        if ts - start >= week || is_open(zone, sessions, closures, start - 1)? {
            break;
        }
        start -= 1;
    }
    Ok(Some((ts - start).min(week)))
}

/// Seconds back from `ts` (closed) to the start of the session gap or closure holding it,
/// whichever began earlier.
fn closed_piece(
    zone: u8,
    sessions: &[Session],
    closures: &[Closure],
    ts: i64,
) -> Result<i64, ScheduleError> {
    let by_closure = closures
        .iter()
        .filter(|c| (c.start..c.end).contains(&ts))
        .map(|c| ts - c.start)
        .max();
    let second_of_week = local_second_of_week(zone, ts)?;
    let minute = (second_of_week / 60) as u16;
    let in_session =
        sessions.is_empty() || sessions.iter().any(|s| (s.open..s.close).contains(&minute));
    let week = MINUTES_PER_WEEK as u64 * 60;
    let by_session = if in_session {
        None
    } else {
        sessions
            .iter()
            .map(|s| ((second_of_week + week - s.close as u64 * 60) % week) as i64)
            .min()
    };
    Ok(by_closure.max(by_session).unwrap_or(0))
}

/// The gap allowance as a share of the price, 1e9 scale: k·σ·√(age in days) with k =
/// `sigmas_e2`/100, σ = `sigma_e9`/1e9 a day's, and the age rounded up to the hour, the result
/// rounded up (it only ever widens what the pool assumes against itself). Prints less than an
/// hour apart share it, so a valuation of many closed markets computes it once. `None` when
/// it does not fit a u64.
pub fn gap_fraction_e9(sigma_e9: u64, sigmas_e2: u16, age_secs: i64) -> Option<u64> {
    if age_secs <= 0 || sigmas_e2 == 0 {
        return Some(0);
    }
    let hours = (age_secs as u64).div_ceil(3_600);
    // √(hours / 24) at 1e9, rounded up: the radicand in a word up to 442 hours (18 days)
    const PER_HOUR: u64 = 1_000_000_000_000_000_000 / 24 + 1;
    let root = match hours.checked_mul(PER_HOUR) {
        Some(radicand) => {
            let r = radicand.isqrt();
            (r + (r * r < radicand) as u64) as u128
        }
        None => {
            let radicand = hours as u128 * PER_HOUR as u128;
            let r = radicand.isqrt();
            r + (r * r < radicand) as u128
        }
    };
    let product = root
        .checked_mul(sigma_e9 as u128)?
        .checked_mul(sigmas_e2 as u128)?;
    u64::try_from(crate::wide::div_u128(product, 100_000_000_000, crate::Rounding::Up).ok()?).ok()
}

/// `price` moved by a gap fraction ([`gap_fraction_e9`]), rounded up.
pub fn gap_of(price: u64, fraction_e9: u64) -> Option<u64> {
    // in a word whenever it fits (any real price and gap): no 128-bit division
    if let Some(product) = price.checked_mul(fraction_e9) {
        return Some(product.div_ceil(1_000_000_000));
    }
    let moved = crate::wide::div_u128(
        price as u128 * fraction_e9 as u128,
        1_000_000_000,
        crate::Rounding::Up,
    )
    .ok()?;
    u64::try_from(moved).ok()
}

/// The gap allowance a closed market's last price is moved by: `price` × [`gap_fraction_e9`].
pub fn gap_allowance(price: u64, sigma_e9: u64, sigmas_e2: u16, age_secs: i64) -> Option<u64> {
    gap_of(price, gap_fraction_e9(sigma_e9, sigmas_e2, age_secs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        for days in (0..800_000).step_by(97) {
            let y = year_of_days(days);
            assert!(days_from_civil(y, 1, 1) <= days && days < days_from_civil(y + 1, 1, 1));
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn gap_allowance_is_k_sigma_root_days_rounded_up() {
        // 3σ of 0.55 % over a 2-day weekend on 1.08 (6 decimals): 1.08 · 0.0165 · √2 = 0.0252
        let a = gap_allowance(1_080_000, 5_500_000, 300, 2 * SECS_PER_DAY).unwrap();
        assert_eq!(a, 25_202, "17,820 · 1.41421356 = 25,201.8, rounded up");
        // the age counts in whole hours, rounded up: a minute is an hour, √(1/24) = 0.2041
        assert_eq!(
            gap_fraction_e9(5_500_000, 300, 60),
            gap_fraction_e9(5_500_000, 300, 3_600)
        );
        // 0.0165 · √(1/24) = 3,368,048.4e-9; rounded up, by at most a unit or two
        let hour = gap_fraction_e9(5_500_000, 300, 3_600).unwrap();
        assert!((3_368_049..=3_368_050).contains(&hour), "{hour}");
        // past 18 days the radicand leaves the word: the same formula, 0.0165 · √30
        let long = gap_fraction_e9(5_500_000, 300, 30 * SECS_PER_DAY).unwrap();
        assert!((90_374_222..=90_374_223).contains(&long), "{long}");
        assert_eq!(gap_allowance(1_080_000, 5_500_000, 300, 0), Some(0));
        assert_eq!(gap_allowance(1_080_000, 5_500_000, 0, 1_000), Some(0));
        // monotone in age
        let mut last = 0;
        for age in (1..10 * SECS_PER_DAY).step_by(3_607) {
            let a = gap_allowance(u64::MAX / 1_000, 50_000_000, 1_000, age).unwrap();
            assert!(a >= last);
            last = a;
        }
        assert_eq!(
            gap_allowance(u64::MAX, 5_000_000_000, 1_000, SECS_PER_DAY),
            None
        );
    }
}
