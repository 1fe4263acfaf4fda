//! Dates on the command line and on the wire: parsing `YYYY-MM-DD` / RFC 3339 input into Unix
//! milliseconds, and formatting timestamps as RFC 3339 UTC. No time-zone database: inputs are UTC.

/// A date the user gave that is not `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS][Z]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date `{0}`: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS")]
pub struct InvalidDate(pub String);

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS][Z]` into Unix milliseconds.
pub fn parse_date(s: &str) -> Result<i64, InvalidDate> {
    let bad = || InvalidDate(s.to_owned());
    let trimmed = s.trim().trim_end_matches('Z');
    let (date, time) = trimmed
        .split_once(['T', ' '])
        .unwrap_or((trimmed, "00:00:00"));
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day))) = (d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let mut t = time
        .splitn(3, ':')
        .map(|p| p.split('.').next().unwrap_or("0").parse::<i64>());
    let hh = t.next().unwrap_or(Ok(0)).map_err(|_| bad())?;
    let mm = t.next().unwrap_or(Ok(0)).map_err(|_| bad())?;
    let ss = t.next().unwrap_or(Ok(0)).map_err(|_| bad())?;
    Ok(((days_from_civil(y, m, day) * 86_400) + hh * 3600 + mm * 60 + ss) * 1000)
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC with millisecond precision, such as
/// `2024-01-15T10:30:00.000Z`.
pub fn format_timestamp_ns(ns: i64) -> String {
    let ms = ns.div_euclid(1_000_000);
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2024-01-15").unwrap(), 1_705_276_800_000);
        assert_eq!(
            parse_date("2024-01-15T10:30:00Z").unwrap(),
            1_705_314_600_000
        );
        assert_eq!(
            parse_date("2024-13-01").unwrap_err().to_string(),
            "invalid date `2024-13-01`: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS"
        );
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(format_timestamp_ns(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp_ns(1_705_314_600_123_000_000),
            "2024-01-15T10:30:00.123Z"
        );
        assert_eq!(format_timestamp_ns(-1_000_000), "1969-12-31T23:59:59.999Z");
        for s in [
            "2000-02-29T23:59:59",
            "2100-03-01T00:00:00",
            "1999-12-31T12:00:00",
        ] {
            let ms = parse_date(s).unwrap();
            assert_eq!(format_timestamp_ns(ms * 1_000_000), format!("{s}.000Z"));
        }
    }
}
