//! Reading a series as SREs have it, streamed from any reader ([`read_series`]):
//!
//! - CSV (`csv` crate) with any header or none, `,` `;` or tab delimited, quoted, with a
//!   BOM or CRLF line ends. The time and value columns are chosen by name or 1-based
//!   index, or detected (a column named like a time, else the first holding
//!   date-times, else a first column of increasing Unix times; the single numeric
//!   column besides it), and a note says which were taken. Without a time column,
//!   `--interval` numbers the rows.
//! - JSON: `[{"t":..,"v":..}]` (or `[[t,v]]`, or `{"series":[..]}`), and a Prometheus
//!   `query_range` response holding one series.
//!
//! Times are parsed by [`crate::time`] (jiff). Values that are NaN, empty or not numbers
//! are gaps. Every refusal names the input, the line and column, and what to do.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::collect::{Collector, Counts, Duplicates, Repeated};
use crate::series::{GridError, Series};
use crate::time::{self, TimeFormat};

/// Rows read before the columns are chosen.
const SNIFF_ROWS: usize = 64;
/// Header names taken for a time column, compared case-insensitively.
const TIME_NAMES: &[&str] = &[
    "timestamp",
    "time",
    "ts",
    "t",
    "date",
    "datetime",
    "@timestamp",
    "_time",
    "when",
];
/// Header names preferred for the value column when several columns are numeric.
const VALUE_NAMES: &[&str] = &["value", "v", "y"];
/// Unix seconds from 1973 to 2286, or milliseconds from 1973: a first column whose
/// increasing numbers fall in this range is taken for a Unix time column.
const UNIX_RANGE: std::ops::Range<f64> = 1e8..1e13;

/// A column named on the command line: by header name, or by 1-based index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Index(usize),
}

impl std::str::FromStr for Column {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("a column is a header name or a 1-based index".into());
        }
        match s.parse::<usize>() {
            Ok(0) => Err("column indexes start at 1".into()),
            Ok(i) => Ok(Column::Index(i)),
            Err(_) => Ok(Column::Name(s.to_string())),
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Name(n) => write!(f, "`{n}`"),
            Column::Index(i) => write!(f, "{i}"),
        }
    }
}

/// How to read a series.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub time_column: Option<Column>,
    pub value_column: Option<Column>,
    /// The sampling interval: required without a time column; with one, the grid step
    /// (steps with several samples keep their maximum).
    pub interval: Option<Duration>,
    pub duplicates: Duplicates,
    /// Keep only the newest this many samples (what a forecast reads), so that memory
    /// stays bounded however long the input is. `None` keeps everything.
    pub keep: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    At {
        path: String,
        line: u64,
        column: Option<String>,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// A series read from an input, with notes on what was done to it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub series: Series,
    /// One sentence each: the columns taken, merged duplicates, sorting, gaps.
    pub notes: Vec<String>,
    pub counts: Counts,
}

/// Reads `path`, or standard input for `-`.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<Loaded, SeriesError> {
    if path.as_os_str() == "-" {
        return read_series(std::io::stdin().lock(), "stdin", opts);
    }
    let origin = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| SeriesError::Read {
        path: origin.clone(),
        source,
    })?;
    read_series(file, &origin, opts)
}

/// Reads a CSV or JSON series (JSON when the first character is `[` or `{`) from
/// `reader`, streaming: memory grows with [`ReadOptions::keep`], not the input.
/// `origin` names the input in messages.
pub fn read_series(
    reader: impl Read,
    origin: &str,
    opts: &ReadOptions,
) -> Result<Loaded, SeriesError> {
    let file_err = |message: String| SeriesError::File {
        path: origin.to_string(),
        message,
    };
    let io_err = |source| SeriesError::Read {
        path: origin.to_string(),
        source,
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = reader.fill_buf().map_err(io_err)?;
    if head.starts_with(b"\xef\xbb\xbf") {
        reader.consume(3);
    }
    let head = reader.fill_buf().map_err(io_err)?;
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    let interval_s = match opts.interval {
        Some(d) if d.as_secs() == 0 => {
            return Err(file_err(format!(
                "--interval {} is shorter than a second; give whole seconds or more",
                humantime::format_duration(d)
            )));
        }
        Some(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        None => None,
    };
    let mut collector = Collector::new(opts.duplicates, opts.keep);
    let (mut notes, unit, timed) = match first {
        None => {
            return Err(file_err(
                "the input is empty; expected a CSV or JSON series".into(),
            ));
        }
        Some(b'[' | b'{') => {
            read_json(reader, origin, &mut collector)?;
            (Vec::new(), "sample", true)
        }
        Some(_) => {
            let csv = read_csv(reader, origin, opts, interval_s, &mut collector)?;
            (vec![csv.note], "line", csv.timed)
        }
    };
    let (samples, counts) = collector.finish().map_err(|r| repeated(origin, unit, &r))?;
    notes.extend(count_notes(&counts, opts.duplicates, unit));
    let mut series = Series::from_samples(&samples, interval_s).map_err(|e| match e {
        GridError::TooFew(n) => file_err(format!(
            "{n} samples with a value; a series needs at least 2 (and a forecast 12)"
        )),
        other => file_err(other.to_string()),
    })?;
    series.timed = timed;
    if series.gaps > 0 {
        notes.push(format!(
            "{} {} ({} {}) filled by linear interpolation",
            series.gaps,
            plural(series.gaps, "gap", "gaps"),
            series.filled,
            plural(series.filled, "step", "steps")
        ));
    }
    if series.merged > 0 {
        notes.push(format!(
            "{} {} closer together than the {} interval merged into their step by maximum",
            series.merged,
            plural(series.merged, "sample", "samples"),
            humantime::format_duration(Duration::from_secs(series.interval_s.unsigned_abs()))
        ));
    }
    Ok(Loaded {
        series,
        notes,
        counts,
    })
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn repeated(origin: &str, unit: &str, r: &Repeated) -> SeriesError {
    SeriesError::File {
        path: origin.to_string(),
        message: format!(
            "time {} appears at {unit} {} and {unit} {}; merge repeated times with --duplicates max, mean or last",
            time::format(r.t),
            r.first,
            r.second
        ),
    }
}

fn count_notes(c: &Counts, policy: Duplicates, unit: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if c.repeated_times > 0 {
        notes.push(format!(
            "{} {} appeared more than once ({} {unit}s); merged by {} (--duplicates max|mean|last|error)",
            c.repeated_times,
            plural(c.repeated_times, "time", "times"),
            c.merged_rows,
            policy.name()
        ));
    }
    if c.out_of_order > 0 {
        notes.push(format!(
            "{} {unit}{} out of time order; sorted by time",
            c.out_of_order,
            if c.out_of_order == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
    if c.gap_rows > 0 {
        notes.push(format!(
            "{} {unit}{} NaN, empty or not a number: counted as gaps",
            c.gap_rows,
            if c.gap_rows == 1 {
                "'s value is"
            } else {
                "s' values are"
            }
        ));
    }
    if c.dropped > 0 {
        notes.push(format!(
            "read {} {unit}s and kept the newest {}: all that this forecast reads",
            c.rows,
            c.rows - c.dropped
        ));
    }
    notes
}

/// A value as a number; `None` for a gap (NaN, infinite, empty or not a number). With
/// `decimal_comma`, `1,5` is 1.5 (`;`-separated files from European locales).
fn parse_value(text: &str, decimal_comma: bool) -> Option<f64> {
    let text = text.trim();
    let parsed = text.parse::<f64>().ok().or_else(|| {
        (decimal_comma && text.contains(','))
            .then(|| text.replacen(',', ".", 1).parse().ok())
            .flatten()
    });
    parsed.filter(|v| v.is_finite())
}

struct CsvRead {
    note: String,
    timed: bool,
}

fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if b == *d {
                    *n += 1;
                }
            }
        }
    }
    // The most frequent; `,` on a tie or when there is none.
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

fn field(record: &csv::ByteRecord, ix: usize) -> &str {
    record
        .get(ix)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
        .trim()
}

fn read_csv<R: BufRead>(
    mut reader: R,
    origin: &str,
    opts: &ReadOptions,
    interval_s: Option<i64>,
    collector: &mut Collector,
) -> Result<CsvRead, SeriesError> {
    let head = reader.fill_buf().map_err(|source| SeriesError::Read {
        path: origin.to_string(),
        source,
    })?;
    let delimiter = sniff_delimiter(head);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(reader);
    let csv_err = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Io(_) => SeriesError::Read {
            path: origin.to_string(),
            source: std::io::Error::other(e.to_string()),
        },
        _ => SeriesError::At {
            path: origin.to_string(),
            line: e.position().map_or(0, csv::Position::line),
            column: None,
            message: format!("not valid CSV: {e}"),
        },
    };
    let mut sniffed = Vec::new();
    let mut record = csv::ByteRecord::new();
    while sniffed.len() < SNIFF_ROWS && csv.read_byte_record(&mut record).map_err(csv_err)? {
        if record
            .iter()
            .any(|f| !f.iter().all(u8::is_ascii_whitespace))
        {
            sniffed.push(record.clone());
        }
    }
    let Some(first) = sniffed.first() else {
        return Err(SeriesError::File {
            path: origin.to_string(),
            message: "the file has no rows".into(),
        });
    };
    let is_header = {
        let fields: Vec<&str> = (0..first.len()).map(|i| field(first, i)).collect();
        !fields
            .iter()
            .any(|f| TimeFormat::detect(f) == Some(TimeFormat::Text))
            && fields
                .iter()
                .any(|f| !f.is_empty() && f.parse::<f64>().is_err())
    };
    let width = sniffed.iter().map(csv::ByteRecord::len).max().unwrap_or(0);
    let names: Vec<String> = (0..width)
        .map(|i| {
            if is_header && !field(first, i).is_empty() {
                field(first, i).to_string()
            } else {
                format!("column {}", i + 1)
            }
        })
        .collect();
    let data: &[csv::ByteRecord] = if is_header { &sniffed[1..] } else { &sniffed };
    let decimal_comma = delimiter != b',';
    let columns = Columns {
        origin,
        names: &names,
        data,
        decimal_comma,
    };
    let time_col = columns.time_column(opts)?;
    let value_col = columns.value_column(opts, time_col)?;
    let format = match time_col {
        Some(ix) => Some(columns.time_format(ix)?),
        None if interval_s.is_some() => None,
        None => {
            return Err(SeriesError::File {
                path: origin.to_string(),
                message: format!(
                    "no time column among {}; give the sampling interval with --interval (e.g. --interval 1m), or name the time column with --time-column",
                    columns.list()
                ),
            });
        }
    };
    let mut row_index = 0i64;
    let mut feed = |record: &csv::ByteRecord| -> Result<(), SeriesError> {
        let line = record.position().map_or(0, csv::Position::line);
        let at = |column: usize, message: String| SeriesError::At {
            path: origin.to_string(),
            line,
            column: Some(format!(
                "{} ({})",
                column + 1,
                names.get(column).map_or("", String::as_str)
            )),
            message,
        };
        let t = match (time_col, format) {
            (Some(ix), Some(format)) => {
                let text = field(record, ix);
                if text.is_empty() {
                    if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                        return Ok(());
                    }
                    return Err(at(
                        ix,
                        "no time; every row needs one (or remove the row)".into(),
                    ));
                }
                format
                    .parse(text)
                    .or_else(|e| time::parse_text(text).map_err(|_| e))
                    .map_err(|e| at(ix, e))?
            }
            _ => {
                let t = row_index.saturating_mul(interval_s.unwrap_or(1));
                row_index += 1;
                t
            }
        };
        let v = parse_value(field(record, value_col), decimal_comma).unwrap_or(f64::NAN);
        collector
            .push(t, v, line)
            .map_err(|r| repeated(origin, "line", &r))
    };
    for record in data {
        feed(record)?;
    }
    while csv.read_byte_record(&mut record).map_err(csv_err)? {
        feed(&record)?;
    }
    let mut note = String::new();
    if !is_header {
        note.push_str("no header; ");
    }
    if delimiter != b',' {
        note.push_str(if delimiter == b';' {
            "`;`-separated; "
        } else {
            "tab-separated; "
        });
    }
    match (time_col, format) {
        (Some(ix), Some(format)) => note.push_str(&format!(
            "time from {} ({}{}), ",
            columns.describe(ix),
            format.describe(),
            if format == TimeFormat::Text {
                ", UTC unless they carry an offset"
            } else {
                ""
            }
        )),
        _ => note.push_str("no time column: rows numbered by --interval, "),
    }
    note.push_str(&format!("values from {}", columns.describe(value_col)));
    Ok(CsvRead {
        note,
        timed: time_col.is_some(),
    })
}

/// The columns of a CSV file and its first data rows, for choosing columns.
struct Columns<'a> {
    origin: &'a str,
    names: &'a [String],
    data: &'a [csv::ByteRecord],
    decimal_comma: bool,
}

impl Columns<'_> {
    fn list(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn describe(&self, ix: usize) -> String {
        let name = &self.names[ix];
        if name.starts_with("column ") {
            name.clone()
        } else {
            format!("`{name}` (column {})", ix + 1)
        }
    }

    fn error(&self, message: String) -> SeriesError {
        SeriesError::File {
            path: self.origin.to_string(),
            message,
        }
    }

    fn resolve(&self, column: &Column, flag: &str) -> Result<usize, SeriesError> {
        let found = match column {
            Column::Index(i) => (*i <= self.names.len()).then(|| i - 1),
            Column::Name(name) => self
                .names
                .iter()
                .position(|n| n == name)
                .or_else(|| self.names.iter().position(|n| n.eq_ignore_ascii_case(name))),
        };
        found.ok_or_else(|| {
            self.error(format!(
                "{flag} {column}: no such column; the columns are {} (by name, or 1 to {})",
                self.list(),
                self.names.len()
            ))
        })
    }

    fn samples(&self, ix: usize) -> impl Iterator<Item = &str> {
        self.data
            .iter()
            .map(move |r| field(r, ix))
            .filter(|f| !f.is_empty())
    }

    fn time_column(&self, opts: &ReadOptions) -> Result<Option<usize>, SeriesError> {
        if let Some(c) = &opts.time_column {
            return self.resolve(c, "--time-column").map(Some);
        }
        let holds_times = |ix: usize| {
            self.samples(ix)
                .next()
                .is_some_and(|f| TimeFormat::detect(f).is_some())
        };
        let named = (0..self.names.len()).find(|&ix| {
            TIME_NAMES
                .iter()
                .any(|n| self.names[ix].eq_ignore_ascii_case(n))
                && holds_times(ix)
        });
        let dated = || {
            (0..self.names.len()).find(|&ix| {
                self.samples(ix).next().and_then(TimeFormat::detect) == Some(TimeFormat::Text)
            })
        };
        let unix_first = || {
            let numbers: Option<Vec<f64>> = self.samples(0).map(|f| f.parse().ok()).collect();
            numbers
                .filter(|n| {
                    n.len() >= 2
                        && n.iter().all(|x| UNIX_RANGE.contains(x))
                        && n.windows(2).all(|p| p[1] > p[0])
                })
                .map(|_| 0)
        };
        Ok(named.or_else(dated).or_else(unix_first))
    }

    fn value_column(&self, opts: &ReadOptions, time: Option<usize>) -> Result<usize, SeriesError> {
        if let Some(c) = &opts.value_column {
            let ix = self.resolve(c, "--value-column")?;
            if Some(ix) == time {
                return Err(self.error(format!(
                    "--value-column {c} is the time column; choose another with --value-column or --time-column"
                )));
            }
            return Ok(ix);
        }
        let numeric: Vec<usize> = (0..self.names.len())
            .filter(|&ix| Some(ix) != time)
            .filter(|&ix| {
                let fields: Vec<&str> = self.samples(ix).collect();
                let numbers = fields
                    .iter()
                    .filter(|f| {
                        f.parse::<f64>().is_ok() || parse_value(f, self.decimal_comma).is_some()
                    })
                    .count();
                numbers > 0 && numbers * 2 >= fields.len()
            })
            .collect();
        match numeric.as_slice() {
            [one] => Ok(*one),
            [] => Err(self.error(format!(
                "no numeric column{} among {}; name the value column with --value-column",
                if time.is_some() {
                    " besides the time"
                } else {
                    ""
                },
                self.list()
            ))),
            several => several
                .iter()
                .copied()
                .find(|&ix| {
                    VALUE_NAMES
                        .iter()
                        .any(|n| self.names[ix].eq_ignore_ascii_case(n))
                })
                .ok_or_else(|| {
                    let names: Vec<String> = several
                        .iter()
                        .map(|&ix| format!("`{}`", self.names[ix]))
                        .collect();
                    self.error(format!(
                        "{} numeric columns ({}); choose one with --value-column NAME or INDEX",
                        several.len(),
                        names.join(", ")
                    ))
                }),
        }
    }

    fn time_format(&self, ix: usize) -> Result<TimeFormat, SeriesError> {
        let first = self.samples(ix).next().ok_or_else(|| {
            self.error(format!(
                "the time column {} is empty in the first rows; name another with --time-column",
                self.describe(ix)
            ))
        })?;
        TimeFormat::detect(first).ok_or_else(|| {
            self.error(format!(
                "the time column {} holds `{first}`, which is not a time: use Unix seconds or milliseconds, RFC 3339 (2014-04-10T00:04:00Z) or YYYY-MM-DD HH:MM:SS (UTC), or name another column with --time-column",
                self.describe(ix)
            ))
        })
    }
}

// JSON --------------------------------------------------------------------------------

/// A time or a value in JSON: a number, a string, or null.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Number(f64),
    Text(String),
    Null(()),
}

#[derive(Deserialize)]
struct PointObject {
    #[serde(alias = "timestamp", alias = "time")]
    t: Option<Scalar>,
    #[serde(alias = "value")]
    v: Option<Scalar>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Point {
    Pair(Scalar, Scalar),
    Object(PointObject),
}

/// Feeds an array of points into the collector.
struct Points<'a> {
    collector: &'a mut Collector,
    index: u64,
}

impl<'de> DeserializeSeed<'de> for Points<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Points<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of samples, [{\"t\":..,\"v\":..}] or [[t, v]]")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(point) = seq.next_element::<Point>()? {
            self.index += 1;
            let i = self.index;
            let (t, v) = match point {
                Point::Pair(t, v) => (Some(t), Some(v)),
                Point::Object(o) => (o.t, o.v),
            };
            let t = match t {
                Some(Scalar::Number(x)) => time::unix_format(x)
                    .and_then(|f| {
                        let secs = if f == TimeFormat::UnixMillis {
                            x / 1000.0
                        } else {
                            x
                        };
                        time::unix_seconds(secs)
                    })
                    .ok_or_else(|| format!("sample {i}: {x} is not a Unix time")),
                Some(Scalar::Text(s)) => TimeFormat::detect(&s)
                    .ok_or_else(|| format!("sample {i}: `{s}` is not a time"))
                    .and_then(|f| f.parse(&s).map_err(|e| format!("sample {i}: {e}"))),
                _ => Err(format!("sample {i} has no time `t`")),
            }
            .map_err(de::Error::custom)?;
            let v = match v {
                Some(Scalar::Number(x)) => Some(x).filter(|x| x.is_finite()),
                Some(Scalar::Text(s)) => parse_value(&s, false),
                _ => None,
            };
            self.collector
                .push(t, v.unwrap_or(f64::NAN), i)
                .map_err(|r| {
                    de::Error::custom(format!(
                        "time {} appears at sample {} and sample {}; merge repeated times with --duplicates max, mean or last",
                        time::format(r.t),
                        r.first,
                        r.second
                    ))
                })?;
        }
        Ok(())
    }
}

/// The top-level document: an array of points, `{"series":[..]}`, or a Prometheus
/// API response.
struct Document<'a> {
    collector: &'a mut Collector,
}

/// What a Prometheus response said besides its samples.
#[derive(Default)]
struct Envelope {
    status: Option<String>,
    error: Option<String>,
    result_type: Option<String>,
    /// The label sets of the result's series, in order.
    series: Vec<BTreeMap<String, String>>,
    points: bool,
    instant: bool,
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of samples or a Prometheus query_range response")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Envelope, A::Error> {
        Points {
            collector: self.collector,
            index: 0,
        }
        .visit_seq(seq)?;
        Ok(Envelope {
            points: true,
            ..Envelope::default()
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "series" => {
                    map.next_value_seed(Points {
                        collector: self.collector,
                        index: 0,
                    })?;
                    envelope.points = true;
                }
                "status" => envelope.status = Some(map.next_value()?),
                "error" => envelope.error = Some(map.next_value()?),
                "data" => map.next_value_seed(Data {
                    collector: self.collector,
                    envelope: &mut envelope,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Envelope;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_any(self)
    }
}

/// Prometheus `data`: `{"resultType":..,"result":[..]}`.
struct Data<'a, 'b> {
    collector: &'a mut Collector,
    envelope: &'b mut Envelope,
}

impl<'de> DeserializeSeed<'de> for Data<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Prometheus `data` with `resultType` and `result`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resultType" => self.envelope.result_type = Some(map.next_value()?),
                "result" => map.next_value_seed(ResultSeq {
                    collector: &mut *self.collector,
                    envelope: &mut *self.envelope,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Prometheus `result`: the series; the first one's samples are read, the others'
/// label sets only (to list them when refusing).
struct ResultSeq<'a, 'b> {
    collector: &'a mut Collector,
    envelope: &'b mut Envelope,
}

impl<'de> DeserializeSeed<'de> for ResultSeq<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultSeq<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus `result` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(()) = seq.next_element_seed(OneSeries {
            collector: &mut *self.collector,
            envelope: &mut *self.envelope,
        })? {}
        Ok(())
    }
}

struct OneSeries<'a, 'b> {
    collector: &'a mut Collector,
    envelope: &'b mut Envelope,
}

impl<'de> DeserializeSeed<'de> for OneSeries<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneSeries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus series, {\"metric\":{..},\"values\":[..]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let first = self.envelope.series.is_empty();
        let mut labels = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metric" => labels = map.next_value()?,
                "values" if first => {
                    map.next_value_seed(Points {
                        collector: &mut *self.collector,
                        index: 0,
                    })?;
                    self.envelope.points = true;
                }
                "value" => {
                    self.envelope.instant = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.envelope.series.push(labels);
        Ok(())
    }
}

pub(crate) fn label_set(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

fn read_json<R: Read>(
    reader: R,
    origin: &str,
    collector: &mut Collector,
) -> Result<(), SeriesError> {
    let refuse = |message: String| SeriesError::File {
        path: origin.to_string(),
        message,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let envelope = Document { collector }
        .deserialize(&mut de)
        .and_then(|e| de.end().map(|()| e))
        .map_err(|e| {
            if e.is_io() {
                SeriesError::Read {
                    path: origin.to_string(),
                    source: std::io::Error::other(e.to_string()),
                }
            } else {
                refuse(format!("not a series in JSON: {e}"))
            }
        })?;
    if envelope.status.as_deref() == Some("error") {
        return Err(refuse(format!(
            "the Prometheus response is an error: {}",
            envelope.error.unwrap_or_default()
        )));
    }
    if envelope.instant
        || envelope
            .result_type
            .as_deref()
            .is_some_and(|t| t != "matrix")
    {
        return Err(refuse(format!(
            "the Prometheus response is a `{}` (an instant query); save a range query: /api/v1/query_range?query=..&start=..&end=..&step=..",
            envelope.result_type.as_deref().unwrap_or("vector")
        )));
    }
    match envelope.series.len() {
        0 if envelope.result_type.is_some() => Err(refuse(
            "the Prometheus response holds no series; check the query and its time range".into(),
        )),
        0 | 1 if envelope.points => Ok(()),
        0 | 1 => Err(refuse(
            "expected [{\"t\":..,\"v\":..}], [[t, v]], {\"series\":[..]} or a Prometheus query_range response".into(),
        )),
        n => {
            let shown: Vec<String> = envelope.series.iter().take(10).map(label_set).collect();
            Err(refuse(format!(
                "the Prometheus response holds {n} series: {}{}; narrow the query to one (a label matcher, or sum(..) / max(..))",
                shown.join(", "),
                if n > 10 { ", ..." } else { "" }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, opts: &ReadOptions) -> Result<Loaded, SeriesError> {
        read_series(text.as_bytes(), "m.csv", opts)
    }

    fn ok(text: &str) -> Loaded {
        read(text, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str, opts: &ReadOptions) -> String {
        read(text, opts).unwrap_err().to_string()
    }

    #[test]
    fn forms_of_csv_give_the_same_series() {
        let plain = ok(
            "timestamp,value\n2014-04-10 00:00:00,1\n2014-04-10 00:05:00,2\n2014-04-10 00:10:00,3\n",
        );
        assert_eq!(plain.series.values, vec![1.0, 2.0, 3.0]);
        assert_eq!(plain.series.interval_s, 300);
        assert_eq!(plain.series.start_t, 1_397_088_000);
        let forms = [
            "\u{feff}time;cpu\r\n\"2014-04-10T00:00:00Z\";1,0\r\n2014-04-10T00:05:00Z;2\r\n2014-04-10T02:10:00+02:00;3\r\n",
            "1397088000\t1\n1397088300\t2\n1397088600\t3\n",
            "1397088000000,1\n1397088300000,2\n1397088600000,3\n",
            "host,when,cpu\na,2014-04-10 00:10:00,3\na,2014-04-10 00:00:00,1\na,2014-04-10 00:05:00,2\n",
        ];
        for text in forms {
            let loaded = ok(text);
            assert_eq!(loaded.series, plain.series, "{text:?}: {:?}", loaded.notes);
        }
        assert_eq!(
            ok(forms[1]).notes[0],
            "no header; tab-separated; time from column 1 (Unix seconds), values from column 2"
        );
        let sorted = ok(forms[3]);
        assert_eq!(
            sorted.notes[0],
            "time from `when` (column 2) (date-times, UTC unless they carry an offset), values from `cpu` (column 3)"
        );
        assert!(
            sorted.notes[1].contains("2 lines were out of time order"),
            "{:?}",
            sorted.notes
        );
    }

    #[test]
    fn columns_by_name_or_index_and_interval_without_time() {
        let text = "ts,a,b\n0,1,10\n60,2,20\n120,3,30\n";
        let opts = ReadOptions {
            value_column: Some(Column::Name("B".into())),
            ..ReadOptions::default()
        };
        assert_eq!(
            read(text, &opts).unwrap().series.values,
            vec![10.0, 20.0, 30.0]
        );
        let opts = ReadOptions {
            value_column: Some(Column::Index(2)),
            ..ReadOptions::default()
        };
        assert_eq!(
            read(text, &opts).unwrap().series.values,
            vec![1.0, 2.0, 3.0]
        );
        assert!(
            err(text, &ReadOptions::default())
                .contains("2 numeric columns (`a`, `b`); choose one with --value-column")
        );

        let trace = "cpu\n5\n7\n\n6\n";
        assert!(
            err(trace, &ReadOptions::default())
                .contains("no time column among `cpu`; give the sampling interval with --interval")
        );
        let opts = ReadOptions {
            interval: Some(Duration::from_secs(60)),
            ..ReadOptions::default()
        };
        let s = read(trace, &opts).unwrap();
        assert_eq!(
            (s.series.values.clone(), s.series.interval_s, s.series.timed),
            (vec![5.0, 7.0, 6.0], 60, false)
        );
    }

    #[test]
    fn duplicates_gaps_and_refusals() {
        let text = "t,v\n0,1\n60,5\n60,3\n120,nan\n180,\n240,x\n300,4\n";
        let s = ok(text);
        assert_eq!(s.series.values, vec![1.0, 5.0, 4.75, 4.5, 4.25, 4.0]);
        assert!(
            s.notes
                .iter()
                .any(|n| n.starts_with("1 time appeared more than once (2 lines); merged by max")),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes
                .iter()
                .any(|n| n.starts_with("3 lines' values are NaN, empty or not a number")),
            "{:?}",
            s.notes
        );
        let opts = ReadOptions {
            duplicates: Duplicates::Error,
            ..ReadOptions::default()
        };
        assert_eq!(
            err(text, &opts),
            "m.csv: time 1970-01-01T00:01:00Z appears at line 3 and line 4; merge repeated times with --duplicates max, mean or last"
        );
        assert_eq!(
            err("t,v\n0,1\n60,2\n2014-13-01,3\n", &ReadOptions::default()),
            "m.csv, line 4, column 1 (t): `2014-13-01` is not a number, and the column holds Unix times"
        );
        assert!(
            err(
                "time,value\n2014-04-10 00:00:00,1\n2014-04-10 00:00:00+99:99,2\n",
                &ReadOptions::default()
            )
            .starts_with(
                "m.csv, line 3, column 1 (time): `2014-04-10 00:00:00+99:99` is not a time"
            )
        );
        assert!(err("", &ReadOptions::default()).contains("the input is empty"));
        assert!(
            err(
                "t,v\n0,1\n60,nan\n120,nan\n180,nan\n240,2\n",
                &ReadOptions::default()
            )
            .contains("3 of the 5 steps of 1m")
        );
        let opts = ReadOptions {
            time_column: Some(Column::Name("when".into())),
            ..ReadOptions::default()
        };
        assert!(
            err("t,v\n0,1\n", &opts)
                .contains("--time-column `when`: no such column; the columns are `t`, `v`")
        );
    }

    #[test]
    fn json_forms() {
        let a = read(
            r#"[{"t":0,"v":1},{"t":60,"v":2},{"t":120,"v":"3"}]"#,
            &ReadOptions::default(),
        )
        .unwrap();
        let b = read(
            r#"{"series":[[0,1],[60000,"2"],["1970-01-01T00:02:00Z",3]]}"#,
            &ReadOptions::default(),
        );
        // Milliseconds are detected per point, by magnitude: 60000 is a time in 1970.
        assert!(b.is_err() || b.unwrap().series.values.len() == 3);
        let prom = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[0,"1"],[60,"2"],[120,"3"]]}]}}"#;
        let c = read(prom, &ReadOptions::default()).unwrap();
        assert_eq!(a.series, c.series);
        let two = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[0,"1"]]},{"values":[[0,"1"]],"metric":{"__name__":"up","job":"b"}}]}}"#;
        assert_eq!(
            err(two, &ReadOptions::default()),
            "m.csv: the Prometheus response holds 2 series: up{job=\"a\"}, up{job=\"b\"}; narrow the query to one (a label matcher, or sum(..) / max(..))"
        );
        let instant = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"1"]}]}}"#;
        assert!(err(instant, &ReadOptions::default()).contains("an instant query"));
        assert!(
            err(
                r#"{"status":"error","error":"bad query"}"#,
                &ReadOptions::default()
            )
            .contains("an error: bad query")
        );
        assert!(err("[1,2", &ReadOptions::default()).contains("not a series in JSON"));
        assert!(
            err(r#"[{"t":"soon","v":1}]"#, &ReadOptions::default())
                .contains("sample 1: `soon` is not a time")
        );
    }

    #[test]
    fn keep_bounds_what_is_read() {
        let mut text = String::from("timestamp,value\n");
        for i in 0..10_000 {
            text.push_str(&format!("{},{}\n", 1_400_000_000 + 60 * i, i));
        }
        let opts = ReadOptions {
            keep: Some(100),
            ..ReadOptions::default()
        };
        let s = read(&text, &opts).unwrap();
        assert_eq!(s.series.values.len(), 100);
        assert_eq!(s.series.values[99], 9999.0);
        assert!(
            s.notes
                .iter()
                .any(|n| n
                    == "read 10000 lines and kept the newest 100: all that this forecast reads"),
            "{:?}",
            s.notes
        );
    }
}
