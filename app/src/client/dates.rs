//! Dates as the chain sees them: a data time is noon UTC of an ISO date (the risk model's
//! publications and the crp expiries carry one).

use anyhow::Context;

/// Noon UTC of an ISO date, as unix time.
pub fn noon(date: &str) -> anyhow::Result<i64> {
    let parse = |r: std::ops::Range<usize>| -> anyhow::Result<i64> {
        date.get(r)
            .context("date")?
            .parse()
            .with_context(|| format!("date {date}"))
    };
    let (y, m, d) = (parse(0..4)?, parse(5..7)?, parse(8..10)?);
    // days from civil (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400 + 43_200)
}

/// The ISO date of a unix time.
pub fn civil_date(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// `date` (ISO) moved by `days` days.
pub fn add_days(date: &str, days: i64) -> anyhow::Result<String> {
    Ok(civil_date(noon(date)? + days * 86_400))
}

/// The data time of prices that end on `date` (ISO): its noon UTC, no later than `now` (a
/// publication may not be stamped in the cluster's future).
pub fn data_time(date: &str, now: i64) -> anyhow::Result<i64> {
    Ok(noon(date)?.min(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noon_is_unix_time_of_the_date_at_12_utc() {
        assert_eq!(noon("1970-01-01").unwrap(), 43_200);
        assert_eq!(noon("2024-02-29").unwrap(), 1_709_208_000);
        assert!(noon("2024-2-29").is_err());
        assert_eq!(
            data_time("2024-02-29", 1_709_000_000).unwrap(),
            1_709_000_000
        );
    }
}
