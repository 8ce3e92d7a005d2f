//! The calendar against the IANA time zone database (chrono-tz) and against itself: offsets
//! every half hour for 60 years and a second either side of every switch, FX's and CME's weeks
//! across daylight saving, and the closing countdown against a minute-by-minute scan over
//! random schedules.

use chrono::{Offset, TimeZone};
use keel_math::calendar::*;
use proptest::prelude::*;

fn tz_offset(tz: chrono_tz::Tz, ts: i64) -> i64 {
    tz.offset_from_utc_datetime(&chrono::DateTime::from_timestamp(ts, 0).unwrap().naive_utc())
        .fix()
        .local_minus_utc() as i64
}

const ZONES: [(u8, chrono_tz::Tz); 4] = [
    (zone::UTC, chrono_tz::UTC),
    (zone::NEW_YORK, chrono_tz::America::New_York),
    (zone::LONDON, chrono_tz::Europe::London),
    (zone::TOKYO, chrono_tz::Asia::Tokyo),
];

/// 2007-01-01 to 2067-01-01 (the US rule's first year on), every half hour.
#[test]
fn offsets_match_the_tz_database_for_sixty_years() {
    let (from, to) = (
        days_from_civil(2007, 1, 1) * SECS_PER_DAY,
        days_from_civil(2067, 1, 1) * SECS_PER_DAY,
    );
    for (z, tz) in ZONES {
        let mut ts = from;
        let mut last = utc_offset(z, ts).unwrap();
        let mut switches = 0;
        while ts < to {
            let ours = utc_offset(z, ts).unwrap();
            assert_eq!(ours, tz_offset(tz, ts), "zone {z} at {ts}");
            if ours != last {
                switches += 1;
                // the switch itself, to the second
                let at = (ts - 1_800..=ts)
                    .find(|&t| utc_offset(z, t).unwrap() == ours)
                    .unwrap();
                assert_eq!(tz_offset(tz, at), ours, "zone {z}: switch at {at}");
                assert_eq!(tz_offset(tz, at - 1), last, "zone {z}: before {at}");
            }
            last = ours;
            ts += 1_800;
        }
        let expected = if z == zone::NEW_YORK || z == zone::LONDON {
            120
        } else {
            0
        };
        assert_eq!(switches, expected, "zone {z}: two switches a year");
    }
}

fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3_600 + mi * 60
}

/// FX: Sunday 17:00 to Friday 17:00 New York.
fn fx() -> Vec<Session> {
    vec![Session {
        open: 17 * 60,
        close: 5 * MINUTES_PER_DAY + 17 * 60,
    }]
}

/// CME metals and energy: Sunday to Friday 18:00–17:00 New York, a break every day at 17:00.
fn cme() -> Vec<Session> {
    (0..5)
        .map(|d| Session {
            open: d * MINUTES_PER_DAY + 18 * 60,
            close: (d + 1) * MINUTES_PER_DAY + 17 * 60,
        })
        .collect()
}

#[test]
fn fx_keeps_new_york_hours_across_daylight_saving() {
    let open = |ts| is_open(zone::NEW_YORK, &fx(), &[], ts).unwrap();
    // winter (UTC−5): Friday 2026-12-04 closes at 22:00 UTC, Sunday 12-06 opens at 22:00 UTC
    assert!(open(at(2026, 12, 4, 21, 59)));
    assert!(!open(at(2026, 12, 4, 22, 0)));
    assert!(!open(at(2026, 12, 5, 12, 0)), "Saturday");
    assert!(!open(at(2026, 12, 6, 21, 59)));
    assert!(open(at(2026, 12, 6, 22, 0)));
    // summer (UTC−4): an hour earlier in UTC
    assert!(open(at(2026, 7, 10, 20, 59)));
    assert!(!open(at(2026, 7, 10, 21, 0)));
    assert!(open(at(2026, 7, 12, 21, 0)));
    // the weekend: 48 hours closed either way
    let closed = |from| next_change(zone::NEW_YORK, &fx(), &[], from, 7 * SECS_PER_DAY);
    assert_eq!(
        closed(at(2026, 12, 4, 22, 0)).unwrap(),
        Some(at(2026, 12, 6, 22, 0))
    );
    // CME: the daily hour's break, Monday 2026-12-07 17:00–18:00 New York = 22:00–23:00 UTC
    let cme_open = |ts| is_open(zone::NEW_YORK, &cme(), &[], ts).unwrap();
    assert!(cme_open(at(2026, 12, 7, 21, 59)));
    assert!(!cme_open(at(2026, 12, 7, 22, 30)));
    assert!(cme_open(at(2026, 12, 7, 23, 0)));
    assert_eq!(
        secs_until_close(zone::NEW_YORK, &cme(), &[], at(2026, 12, 7, 21, 0)).unwrap(),
        Some(3_600)
    );
    // a holiday closure: Christmas Day 2026 (a Friday), all day New York
    let christmas = [Closure {
        start: at(2026, 12, 24, 22, 0),
        end: at(2026, 12, 27, 22, 0),
    }];
    let fx_open = |ts| is_open(zone::NEW_YORK, &fx(), &christmas, ts).unwrap();
    assert!(fx_open(at(2026, 12, 24, 21, 59)));
    assert!(!fx_open(at(2026, 12, 25, 12, 0)));
    assert!(fx_open(at(2026, 12, 27, 22, 0)));
    assert_eq!(
        secs_until_close(zone::NEW_YORK, &fx(), &christmas, at(2026, 12, 24, 12, 0)).unwrap(),
        Some(10 * 3_600),
        "the holiday comes before Friday's close"
    );
    // always open: no sessions
    assert_eq!(
        secs_until_close(zone::UTC, &[], &[], at(2026, 12, 5, 0, 0)).unwrap(),
        None
    );
}

/// The closes leverage is brought down for: FX's weekend and a holiday, in the hour before
/// them; not CME's daily hour, nor anything further than the window or while closed.
#[test]
fn a_long_close_is_announced_in_the_hour_before_it() {
    const HOUR: i64 = 3_600;
    let long = |sessions: &[Session], closures: &[Closure], ts| {
        secs_until_long_close(zone::NEW_YORK, sessions, closures, ts, HOUR, 2 * HOUR).unwrap()
    };
    // FX, Friday 2026-12-04: closes 22:00 UTC for 48 hours
    assert_eq!(long(&fx(), &[], at(2026, 12, 4, 21, 15)), Some(45 * 60));
    assert_eq!(long(&fx(), &[], at(2026, 12, 4, 21, 0)), Some(HOUR));
    assert_eq!(long(&fx(), &[], at(2026, 12, 4, 20, 59)), None, "too early");
    assert_eq!(long(&fx(), &[], at(2026, 12, 4, 22, 0)), None, "closed");
    // CME, Monday 2026-12-07: the daily hour (22:00–23:00 UTC) is not a long close
    assert_eq!(long(&cme(), &[], at(2026, 12, 7, 21, 30)), None);
    // ... but Friday's is (CME closes 22:00 UTC until Sunday 23:00)
    assert_eq!(long(&cme(), &[], at(2026, 12, 4, 21, 30)), Some(30 * 60));
    // a holiday in the middle of a CME week: Thursday 2026-12-24 from 18:00 UTC for a day
    let holiday = [Closure {
        start: at(2026, 12, 24, 18, 0),
        end: at(2026, 12, 25, 18, 0),
    }];
    assert_eq!(
        long(&cme(), &holiday, at(2026, 12, 24, 17, 10)),
        Some(50 * 60)
    );
    // a one-hour holiday is no longer than the daily break
    let short = [Closure {
        start: at(2026, 12, 24, 18, 0),
        end: at(2026, 12, 24, 19, 0),
    }];
    assert_eq!(long(&cme(), &short, at(2026, 12, 24, 17, 10)), None);
    // the daily break running into a holiday: a long close after all
    let after_break = [Closure {
        start: at(2026, 12, 24, 23, 0),
        end: at(2026, 12, 25, 23, 0),
    }];
    assert_eq!(
        long(&cme(), &after_break, at(2026, 12, 24, 21, 30)),
        Some(30 * 60)
    );
    // always open: never
    assert_eq!(long(&[], &[], at(2026, 12, 4, 21, 30)), None);
}

/// Joined sessions across the week's end count on: a session after the wrap ends a week
/// later (an auditor's case, where the countdown once came out negative).
#[test]
fn the_countdown_runs_on_across_the_weeks_end() {
    let sessions = [
        Session {
            open: 0,
            close: 1_440,
        },
        Session {
            open: 1_440,
            close: 2_000,
        },
        Session {
            open: 5_000,
            close: 10_080,
        },
    ];
    // minute 6,000 of the week (Thursday 04:00 UTC), in the week of 2026-01-04 (a Sunday)
    let ts = days_from_civil(2026, 1, 4) * SECS_PER_DAY + 6_000 * 60;
    assert_eq!(
        secs_until_close(zone::UTC, &sessions, &[], ts).unwrap(),
        Some((10_080 + 2_000 - 6_000) * 60)
    );
}

/// How long a market has been closed: FX on Saturday noon, since Friday 17:00 New York; a
/// holiday that interrupts a session, since its start; one that extends the weekend, since the
/// session's end before it.
#[test]
fn closed_since_is_the_start_of_the_closed_stretch() {
    let since =
        |closures: &[Closure], ts| secs_since_close(zone::NEW_YORK, &fx(), closures, ts).unwrap();
    assert_eq!(since(&[], at(2026, 12, 5, 12, 0)), Some(14 * 3_600));
    assert_eq!(since(&[], at(2026, 12, 4, 12, 0)), None, "open");
    let midweek = [Closure {
        start: at(2026, 12, 9, 14, 0),
        end: at(2026, 12, 9, 20, 0),
    }];
    assert_eq!(since(&midweek, at(2026, 12, 9, 15, 30)), Some(5_400));
    let long_weekend = [Closure {
        start: at(2026, 12, 6, 12, 0),
        end: at(2026, 12, 7, 22, 0),
    }];
    assert_eq!(
        since(&long_weekend, at(2026, 12, 7, 12, 0)),
        Some(at(2026, 12, 7, 12, 0) - at(2026, 12, 4, 22, 0))
    );
}

/// A day of open time announced on a Friday evening: an hour of Friday, then Sunday 22:00 UTC
/// to Monday 21:00 UTC (winter); CME's daily break pushes it on by its hour.
#[test]
fn notice_counts_open_time() {
    let after = |sessions: &[Session], from| {
        after_open_secs(
            zone::NEW_YORK,
            sessions,
            &[],
            from,
            SECS_PER_DAY,
            14 * SECS_PER_DAY,
        )
        .unwrap()
    };
    assert_eq!(
        after(&fx(), at(2026, 12, 4, 21, 0)),
        Some(at(2026, 12, 7, 21, 0))
    );
    assert_eq!(
        after(&fx(), at(2026, 12, 8, 12, 0)),
        Some(at(2026, 12, 9, 12, 0))
    );
    // CME Friday 21:00 UTC: an hour, then Sunday 23:00 to Monday 22:00 (23 h): Monday 22:00
    assert_eq!(
        after(&cme(), at(2026, 12, 4, 21, 0)),
        Some(at(2026, 12, 7, 22, 0))
    );
    // from Monday 21:00: an hour, the break, Monday 23:00 to Tuesday 22:00 (23 h)
    assert_eq!(
        after(&cme(), at(2026, 12, 7, 21, 0)),
        Some(at(2026, 12, 8, 22, 0))
    );
    assert_eq!(
        after(&[], at(2026, 12, 4, 21, 0)),
        Some(at(2026, 12, 5, 21, 0))
    );
}

#[test]
fn bad_schedules_are_refused() {
    let now = at(2026, 12, 5, 0, 0);
    let s = |open, close| Session { open, close };
    let c = |start, end| Closure { start, end };
    let day = SECS_PER_DAY;
    for (sessions, closures, err) in [
        (vec![s(60, 60)], vec![], ScheduleError::Sessions),
        (vec![s(60, 10_081)], vec![], ScheduleError::Sessions),
        (
            vec![s(60, 600), s(500, 900)],
            vec![],
            ScheduleError::Sessions,
        ),
        (
            vec![s(600, 900), s(60, 300)],
            vec![],
            ScheduleError::Sessions,
        ),
        (vec![s(0, 60); 9], vec![], ScheduleError::TooMany),
        // open a minute a week: as good as shut
        (vec![s(0, 1)], vec![], ScheduleError::Sessions),
        (vec![s(0, 2_879)], vec![], ScheduleError::Sessions),
        // holidays end to end (an auditor's case: sixteen of them shut a market for 64 days)
        (
            vec![],
            vec![c(now + day, now + 2 * day), c(now + 2 * day, now + 3 * day)],
            ScheduleError::Closure,
        ),
        (
            vec![],
            vec![c(now - day, now + day)],
            ScheduleError::ClosureInPast,
        ),
        (
            vec![],
            vec![c(now + day, now + day)],
            ScheduleError::Closure,
        ),
        (
            vec![],
            vec![c(now + 60, now + 5 * day)],
            ScheduleError::Closure,
        ),
        (vec![], vec![c(now + 61, now + day)], ScheduleError::Closure),
        (
            vec![],
            vec![
                c(now + day, now + 2 * day),
                c(now + day + 60, now + 3 * day),
            ],
            ScheduleError::Closure,
        ),
    ] {
        assert_eq!(
            validate(zone::NEW_YORK, &sessions, &closures, now),
            Err(err),
            "{sessions:?} {closures:?}"
        );
    }
    assert_eq!(
        validate(zone::COUNT, &fx(), &[], now),
        Err(ScheduleError::UnknownZone)
    );
    assert_eq!(validate(zone::NEW_YORK, &fx(), &[], now), Ok(()));
    assert_eq!(validate(zone::NEW_YORK, &cme(), &[], now), Ok(()));
}

/// A random valid schedule: up to 8 ordered sessions, up to 3 closures, in a random zone.
fn schedule() -> impl Strategy<Value = (u8, Vec<Session>, Vec<Closure>)> {
    let cuts = proptest::collection::btree_set(0u16..=MINUTES_PER_WEEK, 0..=16);
    (
        0..zone::COUNT,
        cuts,
        proptest::collection::vec((1_441i64..5_000, 1i64..3_000), 0..=3),
    )
        .prop_map(|(z, cuts, gaps)| {
            let cuts: Vec<u16> = cuts.into_iter().collect();
            let sessions = cuts
                .chunks_exact(2)
                .map(|p| Session {
                    open: p[0],
                    close: p[1],
                })
                .collect();
            let base = days_from_civil(2026, 1, 1) * SECS_PER_DAY;
            let mut t = base;
            let closures = gaps
                .into_iter()
                .map(|(gap, len)| {
                    t += gap * 60;
                    let c = Closure {
                        start: t,
                        end: t + len * 60,
                    };
                    t = c.end;
                    c
                })
                .collect();
            (z, sessions, closures)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The countdown to the close is what scanning minute by minute finds (January: no
    /// daylight-saving switch inside the window).
    #[test]
    fn countdown_matches_a_scan((z, sessions, closures) in schedule(), offset in 0i64..20 * SECS_PER_DAY) {
        let base = days_from_civil(2026, 1, 1) * SECS_PER_DAY;
        // ordered, non-overlapping sessions (the countdown's precondition); the weekly
        // minimum of open time is a policy the kernels do not rely on
        prop_assert!(matches!(
            validate(z, &sessions, &closures, base - 60),
            Ok(()) | Err(ScheduleError::Sessions)
        ));
        let ts = base + offset;
        let left = secs_until_close(z, &sessions, &closures, ts).unwrap();
        let horizon = 15 * SECS_PER_DAY;
        let open = is_open(z, &sessions, &closures, ts).unwrap();
        let change = next_change(z, &sessions, &closures, ts, horizon).unwrap();
        match (open, left) {
            (false, l) => prop_assert_eq!(l, Some(0)),
            (true, None) => prop_assert_eq!(change, None),
            (true, Some(l)) if l <= horizon => prop_assert_eq!(change, Some(ts + l)),
            (true, Some(_)) => prop_assert_eq!(change, None),
        }
    }

    /// `after_open_secs` counts open time: minute by minute, the open minutes from `from` to
    /// its answer are exactly the ones asked for.
    #[test]
    fn after_open_secs_counts_open_minutes((z, sessions, closures) in schedule(), offset in 0i64..6 * SECS_PER_DAY, hours in 1i64..30) {
        let base = days_from_civil(2026, 1, 1) * SECS_PER_DAY;
        let from = (base + offset) / 60 * 60;
        let need = hours * 3_600;
        let open = |t| is_open(z, &sessions, &closures, t).unwrap();
        if let Some(end) = after_open_secs(z, &sessions, &closures, from, need, 14 * SECS_PER_DAY).unwrap() {
            let mut counted = 0;
            let mut t = from;
            while t < end {
                counted += open(t) as i64 * 60;
                t += 60;
            }
            prop_assert_eq!(counted, need);
            prop_assert!(open(end - 60));
        }
    }

    /// A closed stretch reaches back exactly `secs_since_close`: closed from its start to now
    /// (minute by minute), open the second before, unless it reaches back a week or more.
    #[test]
    fn closed_since_matches_a_scan((z, sessions, closures) in schedule(), offset in 8i64 * SECS_PER_DAY..20 * SECS_PER_DAY) {
        let base = days_from_civil(2026, 1, 1) * SECS_PER_DAY;
        let ts = base + offset;
        let since = secs_since_close(z, &sessions, &closures, ts).unwrap();
        let open = |t| is_open(z, &sessions, &closures, t).unwrap();
        match since {
            None => prop_assert!(open(ts)),
            Some(s) => {
                prop_assert!(!open(ts));
                prop_assert!(s >= 0);
                let start = ts - s;
                let mut t = ts;
                while t >= start {
                    prop_assert!(!open(t), "open at {} inside the stretch", t);
                    t -= 60;
                }
                if s < 7 * SECS_PER_DAY {
                    prop_assert!(open(start - 1), "the stretch starts at {}", start);
                }
            }
        }
    }
}
