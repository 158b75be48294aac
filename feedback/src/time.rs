//! Timestamps as SQLite stores them: one fixed-width UTC text format that sorts as it compares.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::StoreError;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats a timestamp for a SQLite TEXT column.
pub(crate) fn to_text(at: DateTime<Utc>) -> String {
    at.format(FORMAT).to_string()
}

/// Parses a timestamp written by [`to_text`].
pub(crate) fn from_text(text: &str) -> Result<DateTime<Utc>, StoreError> {
    if let Some(at) = from_fixed_width(text) {
        return Ok(at);
    }
    NaiveDateTime::parse_from_str(text, FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

/// The shape [`to_text`] writes for years 0 to 9999, read by position: chrono's parser reads
/// the format string again on every call, which showed in profiles of large exports. Anything
/// else (another shape, an impossible date, a leap second) is left to chrono.
fn from_fixed_width(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shape = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z';
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &digit| {
            digit
                .is_ascii_digit()
                .then(|| n * 10 + u32::from(digit - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?;
    let time = NaiveTime::from_hms_micro_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_timestamps_round_trip_and_sort_like_time() {
        let early = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let late = early + chrono::Duration::microseconds(1);
        assert_eq!(from_text(&to_text(early)).unwrap(), early);
        assert_eq!(from_text(&to_text(late)).unwrap(), late);
        assert!(to_text(early) < to_text(late));
        assert_eq!(to_text(early), "2026-01-02T03:04:05.000000Z");
    }

    /// What chrono's own parser makes of a text (`from_text` without its fast path).
    fn by_chrono(text: &str) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(text, FORMAT)
            .ok()
            .map(|naive| naive.and_utc())
    }

    #[test]
    fn the_fixed_width_reading_agrees_with_chrono() {
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).unwrap();
        for _ in 0..20_000 {
            // An odd step (about 18 days) lands on every part of seconds, days, months and
            // leap years over the thousand years it walks.
            at += chrono::Duration::microseconds(1_579_993_417);
            let text = to_text(at);
            assert_eq!(from_fixed_width(&text), Some(at), "{text}");
            assert_eq!(by_chrono(&text), Some(at), "{text}");
        }
        let odd = [
            "2026-02-29T00:00:00.000000Z", // no such day
            "2024-02-29T24:00:00.000000Z",
            "2026-13-01T00:00:00.000000Z",
            "2026-01-01T00:60:00.000000Z",
            "2026-01-01 00:00:00.000000Z",
            "2026-01-01T00:00:00.00000aZ",
            "2026-01-01T00:00:00.000000",
            "+2026-01-01T00:00:00.00000Z",
            "2016-12-31T23:59:60.000000Z", // a leap second: chrono decides
            "2026-01-01T00:00:00.000000Z",
            "0000-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
        ];
        for text in odd {
            let fast = from_fixed_width(text);
            if fast.is_some() {
                assert_eq!(fast, by_chrono(text), "{text}");
            }
            assert_eq!(from_text(text).ok(), by_chrono(text), "{text}");
        }
        assert!(from_fixed_width("2016-12-31T23:59:60.000000Z").is_none());
        assert!(from_fixed_width("2026-01-01T00:00:00.000000Z").is_some());
    }
}
