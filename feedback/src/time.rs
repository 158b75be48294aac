//! Timestamps as SQLite stores them: one fixed-width UTC text format that sorts as it compares.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::StoreError;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats a timestamp for a SQLite TEXT column.
pub(crate) fn to_text(at: DateTime<Utc>) -> String {
    at.format(FORMAT).to_string()
}

/// Parses a timestamp written by [`to_text`].
pub(crate) fn from_text(text: &str) -> Result<DateTime<Utc>, StoreError> {
    NaiveDateTime::parse_from_str(text, FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
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
}
