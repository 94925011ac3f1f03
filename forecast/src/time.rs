//! Timestamps as ops tools write them, parsed with jiff: Unix seconds or milliseconds,
//! RFC 3339 with an offset (`2014-04-10T00:04:00Z`, `...+02:00`), and civil date-times
//! without one (`2014-04-10 00:04:00`), which are read as UTC.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;

/// Numbers at or above this are Unix milliseconds (it is the year 5138 in seconds).
pub const MILLIS_THRESHOLD: f64 = 1e11;

/// The forms a time column can hold, fixed from its first value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    UnixSeconds,
    UnixMillis,
    /// RFC 3339 or another form jiff reads, with or without an offset.
    Text,
}

impl TimeFormat {
    /// The format of a column whose first value is `text`, if it is a time at all.
    pub fn detect(text: &str) -> Option<TimeFormat> {
        let text = text.trim();
        if let Ok(x) = text.parse::<f64>() {
            return unix_format(x);
        }
        parse_text(text).ok().map(|_| TimeFormat::Text)
    }

    pub fn describe(self) -> &'static str {
        match self {
            TimeFormat::UnixSeconds => "Unix seconds",
            TimeFormat::UnixMillis => "Unix milliseconds",
            TimeFormat::Text => "date-times",
        }
    }

    /// Unix seconds (rounded down) of `text` in this format.
    pub fn parse(self, text: &str) -> Result<i64, String> {
        let text = text.trim();
        match self {
            TimeFormat::UnixSeconds | TimeFormat::UnixMillis => {
                let x: f64 = text.parse().map_err(|_| {
                    format!("`{text}` is not a number, and the column holds Unix times")
                })?;
                let secs = if self == TimeFormat::UnixMillis {
                    x / 1000.0
                } else {
                    x
                };
                unix_seconds(secs).ok_or_else(|| format!("`{text}` is not a Unix time"))
            }
            TimeFormat::Text => parse_text(text),
        }
    }
}

/// A number as a Unix time, by magnitude.
pub fn unix_format(x: f64) -> Option<TimeFormat> {
    if !x.is_finite() || x < 0.0 {
        None
    } else if x >= MILLIS_THRESHOLD {
        Some(TimeFormat::UnixMillis)
    } else {
        Some(TimeFormat::UnixSeconds)
    }
}

/// Whole seconds of a Unix time in seconds, within what jiff can represent.
pub fn unix_seconds(x: f64) -> Option<i64> {
    let secs = x.floor();
    (x.is_finite() && secs.abs() <= Timestamp::MAX.as_second() as f64).then_some(secs as i64)
}

/// An RFC 3339 timestamp (its offset applied), or a date-time or date without an
/// offset, read as UTC. One parse for every form: jiff's reader of the pieces of an
/// RFC 3339 / ISO 8601 time, whose offset, when there is one, places it.
pub fn parse_text(text: &str) -> Result<i64, String> {
    let pieces = Pieces::parse(text).map_err(|e| {
        format!(
            "`{text}` is not a time ({e}); use Unix seconds or milliseconds, RFC 3339 \
             (2014-04-10T00:04:00Z) or YYYY-MM-DD HH:MM:SS (UTC)"
        )
    })?;
    let datetime = pieces
        .date()
        .to_datetime(pieces.time().unwrap_or(Time::midnight()));
    pieces
        .to_numeric_offset()
        .unwrap_or(Offset::UTC)
        .to_timestamp(datetime)
        .map(|ts| ts.as_second())
        .map_err(|e| format!("`{text}` is out of range: {e}"))
}

/// `2014-04-10T00:04:00Z` for a Unix time.
pub fn format(t: i64) -> String {
    Timestamp::from_second(t).map_or_else(|_| format!("@{t}"), |ts| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form() {
        let t = 1_397_088_240;
        assert_eq!(parse_text("2014-04-10 00:04:00"), Ok(t));
        assert_eq!(parse_text("2014-04-10T00:04:00"), Ok(t));
        assert_eq!(parse_text("2014-04-10T00:04:00Z"), Ok(t));
        assert_eq!(parse_text("2014-04-10T02:04:00+02:00"), Ok(t));
        assert_eq!(parse_text("2014-04-09T19:04:00.250-05:00"), Ok(t));
        assert_eq!(parse_text("2014-04-10"), Ok(t - 240));
        assert_eq!(
            TimeFormat::detect("1397088240"),
            Some(TimeFormat::UnixSeconds)
        );
        assert_eq!(
            TimeFormat::detect("1397088240500"),
            Some(TimeFormat::UnixMillis)
        );
        assert_eq!(TimeFormat::UnixMillis.parse("1397088240500"), Ok(t));
        assert_eq!(TimeFormat::UnixSeconds.parse("1397088240.75"), Ok(t));
        assert_eq!(
            TimeFormat::detect("2014-04-10 00:04:00"),
            Some(TimeFormat::Text)
        );
        assert_eq!(TimeFormat::detect("cpu"), None);
        assert_eq!(format(t), "2014-04-10T00:04:00Z");
    }

    #[test]
    fn malformed_times_are_errors_not_panics() {
        for bad in [
            "2014-02-30 00:00:00",
            "2014-04-10T00:04:00+99:99",
            "2014-04-10T00:04:00+",
            "2014-04-10T25:00:00Z",
            "yesterday",
            "",
            "9999999-01-01",
        ] {
            assert!(parse_text(bad).is_err(), "{bad}");
        }
        assert!(TimeFormat::UnixSeconds.parse("1e300").is_err());
        assert!(TimeFormat::UnixSeconds.parse("NaN").is_err());
        assert_eq!(format(i64::MAX), format!("@{}", i64::MAX));
    }
}
