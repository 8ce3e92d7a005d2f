//! The operator's market hours in the sandbox: the replay's holidays (the weekdays the real FX
//! and oil series have no close) put in the pool's schedules ahead of time, as `set_schedule`
//! allows: while positions are open a change takes effect after a day of the hours in force,
//! and only holidays that begin after that can be in it.

use anyhow::Context;
use keel_math::calendar::{SECS_PER_DAY, utc_offset, zone};
use perp_amm::constants::CLOSE_WINDOW_SECS;
use perp_amm::state::ScheduleArgs;

use crate::client::dates::noon;
use crate::client::presets;
use crate::sandbox::events::What;
use crate::sandbox::world::World;

/// How far ahead the operator keeps a schedule's holidays.
const AHEAD_SECS: i64 = 28 * SECS_PER_DAY;
/// A schedule holds at most this many closures.
const MAX_CLOSURES: usize = keel_math::calendar::MAX_CLOSURES;

/// A run of consecutive holidays as a closure: from 17:00 New York the evening before the first
/// (the markets' daily close) to 17:00 on the last, on whole minutes.
fn closure(first: &str, last: &str) -> anyhow::Result<[i64; 2]> {
    let at_five = |date: &str, days_before: i64| -> anyhow::Result<i64> {
        let midnight = noon(date)? - SECS_PER_DAY / 2 - days_before * SECS_PER_DAY;
        let guess = midnight + 22 * 3_600;
        let offset = utc_offset(zone::NEW_YORK, guess)
            .map_err(|e| anyhow::anyhow!("New York's offset: {e:?}"))?;
        Ok(midnight + 17 * 3_600 - offset)
    };
    Ok([at_five(first, 1)?, at_five(last, 0)?])
}

/// The closures of a list of holidays (ISO, ascending): consecutive days merged.
fn closures(holidays: &[String]) -> anyhow::Result<Vec<[i64; 2]>> {
    let mut out = vec![];
    let mut i = 0;
    while i < holidays.len() {
        let mut j = i;
        while j + 1 < holidays.len()
            && noon(&holidays[j + 1])? - noon(&holidays[j])? == SECS_PER_DAY
        {
            j += 1;
        }
        out.push(closure(&holidays[i], &holidays[j])?);
        i = j + 1;
    }
    Ok(out)
}

/// The operator's daily look at each schedule: when none is pending and a holiday within four
/// weeks is not in the schedule that will be in force, announce the schedule again (its
/// presets' sessions) with every holiday that begins after the change takes effect and within
/// four weeks of now. Returns what to log.
pub fn keep_holidays(
    world: &mut World,
    holidays: &[(u8, Vec<String>)],
) -> anyhow::Result<Vec<What>> {
    let now = world.now;
    let in_use = world.pool_state()?.has_open_interest();
    let mut out = vec![];
    for (index, days) in holidays {
        if days.is_empty() || world.schedule_pending(*index, now) {
            continue;
        }
        let current = world.schedule_at(*index, now).context("a schedule")?;
        // when a change would take effect: the program's own rule
        let effective = if in_use {
            current
                .after_open_secs(now, SECS_PER_DAY, AHEAD_SECS)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .unwrap_or(now + AHEAD_SECS)
                .max(now + SECS_PER_DAY)
        } else {
            now
        };
        let all = closures(days)?;
        let want: Vec<[i64; 2]> = all
            .iter()
            .copied()
            // a holiday begins at least the close window after the schedule takes effect
            .filter(|c| c[0] >= effective + CLOSE_WINDOW_SECS && c[0] <= now + AHEAD_SECS)
            .take(MAX_CLOSURES)
            .collect();
        let in_force = world.schedule_at(*index, effective).context("a schedule")?;
        let have = &in_force.closures[..in_force.closure_count as usize];
        if want.iter().all(|c| have.contains(c)) {
            continue;
        }
        let (_, preset) = presets::schedules()
            .into_iter()
            .find(|(i, _)| i == index)
            .context("a preset schedule")?;
        let listed: Vec<String> = days
            .iter()
            .filter(|d| {
                let t = noon(d).unwrap_or(0);
                want.iter().any(|c| (c[0]..c[1]).contains(&t))
            })
            .cloned()
            .collect();
        let from = world.set_schedule(
            *index,
            ScheduleArgs {
                closures: want,
                ..preset
            },
        )?;
        out.push(What::HolidaysAnnounced {
            schedule: schedule_name(*index).into(),
            holidays: listed,
            effective_from: from,
        });
    }
    Ok(out)
}

fn schedule_name(index: u8) -> &'static str {
    match index {
        presets::FX_SCHEDULE => "FX",
        presets::CME_SCHEDULE => "CME",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holidays_close_from_the_evening_before_at_five_new_york() {
        // Christmas 2025 (Thursday) and the day after, in winter: 22:00 UTC
        let c = closures(&[
            "2025-12-25".into(),
            "2025-12-26".into(),
            "2026-01-01".into(),
        ])
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0][0], noon("2025-12-24").unwrap() + 10 * 3_600);
        assert_eq!(c[0][1], noon("2025-12-26").unwrap() + 10 * 3_600);
        // Independence Day 2025 (Friday), in summer: 21:00 UTC
        let c = closures(&["2025-07-04".into()]).unwrap();
        assert_eq!(c[0][0], noon("2025-07-03").unwrap() + 9 * 3_600);
        assert_eq!(c[0][1], noon("2025-07-04").unwrap() + 9 * 3_600);
    }
}
