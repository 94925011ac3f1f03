//! Load series from files: CSV `timestamp,value` with a header, or JSON. Timestamps are
//! ISO-8601 (`2014-04-10 00:04:00`, `2014-04-10T00:04:00Z`, `...+02:00`) or Unix
//! seconds (milliseconds when the number is too large for seconds).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// Numbers above this are Unix milliseconds (it is the year 5138 in seconds).
const MILLIS_THRESHOLD: f64 = 1e11;
/// The last second of the year 9999, the latest time an ISO-8601 date can name; later
/// Unix times are refused, which also keeps the steps between samples from overflowing.
const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Csv {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Json { path: String, message: String },
    #[error("{path}: {message}")]
    Shape { path: String, message: String },
}

/// One sample: Unix seconds and a value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

/// A series in time order with its sampling interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub samples: Vec<Sample>,
    /// The median step between samples, in seconds.
    pub interval_s: i64,
    /// Steps longer than 1.5 intervals (missing samples); forecasts read samples by
    /// position, so many gaps make horizons longer than they look.
    pub gaps: usize,
}

impl Series {
    pub fn values(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.v).collect()
    }

    /// Checks order and finiteness and detects the interval.
    pub fn new(samples: Vec<Sample>, origin: &str) -> Result<Series, SeriesError> {
        let shape = |message: String| SeriesError::Shape {
            path: origin.to_string(),
            message,
        };
        if samples.len() < 2 {
            return Err(shape(format!(
                "{} samples; a series needs at least 2",
                samples.len()
            )));
        }
        if let Some(pair) = samples.windows(2).find(|p| p[1].t <= p[0].t) {
            return Err(shape(format!(
                "timestamps must increase, but {} follows {}",
                pair[1].t, pair[0].t
            )));
        }
        let interval_s = detect_interval(&samples);
        let gaps = samples
            .windows(2)
            .filter(|p| (p[1].t - p[0].t) * 2 > interval_s * 3)
            .count();
        Ok(Series {
            samples,
            interval_s,
            gaps,
        })
    }
}

/// The median of the steps between consecutive samples (samples must be increasing).
pub fn detect_interval(samples: &[Sample]) -> i64 {
    let mut steps: Vec<i64> = samples.windows(2).map(|p| p[1].t - p[0].t).collect();
    steps.sort_unstable();
    steps.get(steps.len() / 2).copied().unwrap_or(1).max(1)
}

/// Loads a CSV or JSON series; the format is taken from the content (JSON starts with
/// `[` or `{`).
pub fn load(path: &Path) -> Result<Series, SeriesError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SeriesError::Read {
        path: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

pub fn parse(text: &str, origin: &str) -> Result<Series, SeriesError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let samples = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        parse_json(trimmed, origin)?
    } else {
        parse_csv(trimmed, origin)?
    };
    Series::new(samples, origin)
}

fn parse_csv(text: &str, origin: &str) -> Result<Vec<Sample>, SeriesError> {
    let err = |line: usize, message: String| SeriesError::Csv {
        path: origin.to_string(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(err(
            1,
            "the file is empty; expected a `timestamp,value` header".into(),
        ));
    };
    let columns: Vec<String> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
    let (Some(t_col), Some(v_col)) = (
        find(&["timestamp", "time", "t", "ts", "date"]),
        find(&["value", "v", "y"]),
    ) else {
        return Err(err(
            1,
            format!(
                "the header is `{}`; expected `timestamp,value`",
                header.trim()
            ),
        ));
    };
    let mut samples = Vec::new();
    for (ix, line) in lines {
        let fields: Vec<&str> = line
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        let (Some(t), Some(v)) = (fields.get(t_col), fields.get(v_col)) else {
            return Err(err(ix + 1, format!("expected {} columns", columns.len())));
        };
        let t = parse_time(t).map_err(|m| err(ix + 1, m))?;
        let v = parse_value(v).map_err(|m| err(ix + 1, m))?;
        samples.push(Sample { t, v });
    }
    Ok(samples)
}

fn parse_json(text: &str, origin: &str) -> Result<Vec<Sample>, SeriesError> {
    let err = |message: String| SeriesError::Json {
        path: origin.to_string(),
        message,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let points = match &doc {
        Value::Array(items) => items,
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("series") {
                items
            } else if let Some(result) = map
                .get("data")
                .and_then(|d| d.get("result"))
                .and_then(Value::as_array)
            {
                // A Prometheus range query response with one series.
                match result.as_slice() {
                    [one] => one.get("values").and_then(Value::as_array).ok_or_else(|| {
                        err("the Prometheus result has no `values` (use a range query)".into())
                    })?,
                    other => {
                        return Err(err(format!(
                            "the Prometheus result holds {} series; narrow the query to one",
                            other.len()
                        )));
                    }
                }
            } else {
                return Err(err(
                    "expected an array of samples, {\"series\":[...]}, or a Prometheus range query response".into(),
                ));
            }
        }
        _ => return Err(err("expected an array of samples".into())),
    };
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (t, v) = match p {
                Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                Value::Object(m) => (
                    m.get("t")
                        .or_else(|| m.get("timestamp"))
                        .unwrap_or(&Value::Null),
                    m.get("v")
                        .or_else(|| m.get("value"))
                        .unwrap_or(&Value::Null),
                ),
                _ => {
                    return Err(err(format!(
                        "sample {i}: expected {{\"t\":..,\"v\":..}} or [t, v]"
                    )));
                }
            };
            let t = match t {
                Value::Number(n) => n
                    .as_f64()
                    .ok_or("bad number".to_string())
                    .and_then(unix_seconds),
                Value::String(s) => parse_time(s),
                _ => Err("missing timestamp `t`".to_string()),
            }
            .map_err(|m| err(format!("sample {i}: {m}")))?;
            let v = match v {
                Value::Number(n) => n.as_f64().ok_or("bad number".to_string()),
                Value::String(s) => parse_value(s),
                _ => Err("missing value `v`".to_string()),
            }
            .map_err(|m| err(format!("sample {i}: {m}")))?;
            if !v.is_finite() {
                return Err(err(format!("sample {i}: the value is not a finite number")));
            }
            Ok(Sample { t, v })
        })
        .collect()
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}

fn unix_seconds(x: f64) -> Result<i64, String> {
    if !x.is_finite() || x < 0.0 {
        return Err(format!("{x} is not a Unix time"));
    }
    let s = if x >= MILLIS_THRESHOLD { x / 1000.0 } else { x }.floor();
    if s > MAX_UNIX_SECONDS {
        return Err("the time is after the year 9999".to_string());
    }
    Ok(s as i64)
}

/// A Unix time (seconds or milliseconds) or an ISO-8601 date-time; no offset means UTC.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(x) = text.parse::<f64>() {
        return unix_seconds(x);
    }
    iso8601(text).ok_or_else(|| {
        format!("`{text}` is neither a Unix time nor an ISO-8601 date-time (2014-04-10 00:04:00)")
    })
}

fn iso8601(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' {
        return None;
    }
    let h: i64 = rest.get(0..2)?.parse().ok()?;
    let mi: i64 = rest.get(3..5)?.parse().ok()?;
    let mut i = 5;
    let mut s = 0;
    if rb.get(5) == Some(&b':') {
        s = rest.get(6..8)?.parse().ok()?;
        i = 8;
        if rb.get(8) == Some(&b'.') {
            i = 9;
            while rb.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + s;
    match &rest[i..] {
        "" | "Z" | "z" => Some(secs),
        zone => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &zone[1..];
            let (zh, zm) = match zone.len() {
                2 => (zone.parse::<i64>().ok()?, 0),
                4 => (zone[0..2].parse().ok()?, zone[2..4].parse().ok()?),
                5 if zone.as_bytes()[2] == b':' => {
                    (zone[0..2].parse().ok()?, zone[3..5].parse().ok()?)
                }
                _ => return None,
            };
            Some(secs - sign * (zh * 3600 + zm * 60))
        }
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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

/// `2014-04-10T00:04:00Z` for a Unix time.
pub fn format_time(t: i64) -> String {
    // humantime formats only years 1970 through 9999; outside them, the raw number.
    match u64::try_from(t) {
        Ok(secs) if secs < 253_402_300_800 => {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            humantime::format_rfc3339_seconds(at).to_string()
        }
        _ => format!("@{t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_and_unix_times() {
        assert_eq!(parse_time("1970-01-01 00:00:00"), Ok(0));
        assert_eq!(parse_time("2014-04-10 00:04:00"), Ok(1_397_088_240));
        assert_eq!(parse_time("2014-04-10T00:04:00Z"), Ok(1_397_088_240));
        assert_eq!(parse_time("2014-04-10T02:04:00+02:00"), Ok(1_397_088_240));
        assert_eq!(
            parse_time("2014-04-09T19:04:00.250-0500"),
            Ok(1_397_088_240)
        );
        assert_eq!(parse_time("1397088240"), Ok(1_397_088_240));
        assert_eq!(parse_time("1397088240500"), Ok(1_397_088_240));
        assert!(parse_time("2014-02-30 00:00:00").is_err());
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_time(1_397_088_240), "2014-04-10T00:04:00Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn times_after_the_year_9999_are_refused() {
        // Found by fuzzing: 1e300 saturated to i64::MAX, and the step from 0 overflowed.
        let err = parse("timestamp,value\n0,1\n1e300,2\n", "t.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv, line 3: the time is after the year 9999"
        );
        assert_eq!(parse_time("9999-12-31T23:59:59Z"), Ok(253_402_300_799));
        assert_eq!(parse_time("253402300799999"), Ok(253_402_300_799));
        assert!(parse_time("253402300800000").is_err());
    }

    #[test]
    fn csv_with_header_and_interval() {
        let s = parse(
            "timestamp,value\n2014-04-10 00:00:00,1\n2014-04-10 00:05:00,2\n2014-04-10 00:15:00,3\n2014-04-10 00:20:00,4\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(s.interval_s, 300);
        assert_eq!(s.gaps, 1);
        assert_eq!(s.values(), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn json_forms() {
        let a = parse(r#"[{"t":0,"v":1},{"t":60,"v":2}]"#, "a").unwrap();
        let b = parse(r#"{"series":[[0,1],[60,"2"]]}"#, "b").unwrap();
        let c = parse(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[60,"2"]]}]}}"#,
            "c",
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.interval_s, 60);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("timestamp,value\n2014-04-10 00:00:00,x\n", "m.csv").unwrap_err();
        assert_eq!(e.to_string(), "m.csv, line 2: `x` is not a finite number");
        let e = parse("when,what\n1,2\n", "m.csv").unwrap_err();
        assert!(e.to_string().contains("expected `timestamp,value`"), "{e}");
        let e = parse("timestamp,value\n60,1\n0,2\n", "m.csv").unwrap_err();
        assert!(e.to_string().contains("must increase"), "{e}");
    }
}
