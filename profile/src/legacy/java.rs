//! Java's legacy profiles: `--- heapz 1 ---` and `--- contentionz 1 ---` text, and the
//! symbols that follow Java CPU profiles. After the first line come `NAME = VALUE`
//! attributes, then samples (`VALUE COUNT @ ADDRESSES`, the reverse of the C++ order),
//! then one line per address naming its frame: `0xADDRESS FUNCTION (FILE:LINE)`.
//! Heap samples are un-sampled at Java's fixed 512 KiB rate.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::builder::{Builder, Function};
use super::heap::unsample;
use super::text::{base_name, lossy, parse_digits, parse_i64_auto, trim_space};
use super::{LegacyFormat, Outcome};

static ATTRIBUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)([0-9A-Za-z_ ]+)=([0-9A-Za-z_ ]+)").expect("valid regex"));
static SAMPLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u) *([0-9]+) +([0-9]+) +@ +([ x0-9a-f]*)").expect("valid regex")
});
static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)^[\t\n\f\r ]*0x([[:xdigit:]]+)[\t\n\f\r ]+(.*)[\t\n\f\r ]*$")
        .expect("valid regex")
});
static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)^(.*)[\t\n\f\r ]+\((.+):(-?[[:digit:]]+)\)$").expect("valid regex")
});
static PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)^(.*)[\t\n\f\r ]+\((.*)\)$").expect("valid regex"));

/// Java's heap sampling rate: one sample per 512 KiB allocated, on average.
const HEAPZ_RATE: i64 = 524_288;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Heap,
    Contention,
}

/// Lines ended by `\n`, with the bytes after the last one left over (as pprof reads the
/// attribute and sample sections).
fn ended_lines(b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = b;
    std::iter::from_fn(move || {
        let end = memchr::memchr(b'\n', rest)?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Some((line, rest))
    })
}

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    let Some(end) = memchr::memchr(b'\n', bytes) else {
        return Outcome::Unrecognized;
    };
    let (kind, format) = match trim_space(&bytes[..end]) {
        b"--- heapz 1 ---" => (Kind::Heap, LegacyFormat::JavaHeapz),
        b"--- contentionz 1 ---" => (Kind::Contention, LegacyFormat::JavaContentionz),
        _ => return Outcome::Unrecognized,
    };
    let mut builder = Builder::default();
    builder.period_type = Some((String::new(), String::new()));
    let rest = match attributes(kind, &bytes[end + 1..], &mut builder) {
        Ok(rest) => rest,
        Err(outcome) => return outcome,
    };
    let rest = match samples(kind, rest, &mut builder) {
        Ok(rest) => rest,
        Err(detail) => return Outcome::Malformed(format, detail),
    };
    match symbols(rest, &mut builder) {
        Ok(()) => Outcome::decoded(format, builder),
        Err(detail) => Outcome::Malformed(format, detail),
    }
}

/// Reads the attributes; returns the bytes from the first line that is none.
fn attributes<'a>(kind: Kind, b: &'a [u8], builder: &mut Builder) -> Result<&'a [u8], Outcome> {
    let mut at = b;
    for (line, rest) in ended_lines(b) {
        let line = trim_space(line);
        if !line.is_empty() {
            let Some(c) = ATTRIBUTE.captures(line) else {
                return Ok(at);
            };
            let (name, value) = (trim_space(&c[1]), trim_space(&c[2]));
            let value_text = lossy(value);
            let number = || {
                parse_i64_auto(value).ok_or_else(|| {
                    Outcome::Malformed(
                        kind.format(),
                        format!("attribute {}: not a number", String::from_utf8_lossy(line)),
                    )
                })
            };
            match (kind, name) {
                (_, b"format") if value != b"java" => return Err(Outcome::Unrecognized),
                (_, b"format") => {}
                (Kind::Heap, b"resolution") => builder
                    .set_sample_types(&[("inuse_objects", "count"), ("inuse_space", &value_text)]),
                (Kind::Contention, b"resolution") => {
                    builder.set_sample_types(&[("contentions", "count"), ("delay", &value_text)])
                }
                (Kind::Contention, b"sampling period") => {
                    builder.period_type = Some(("contentions".into(), "count".into()));
                    builder.period = number()?;
                }
                (Kind::Contention, b"ms since reset") => {
                    builder.duration_nanos = number()?.wrapping_mul(1_000_000);
                }
                _ => return Err(Outcome::Unrecognized),
            }
        }
        at = rest;
    }
    Ok(at)
}

impl Kind {
    fn format(self) -> LegacyFormat {
        match self {
            Kind::Heap => LegacyFormat::JavaHeapz,
            Kind::Contention => LegacyFormat::JavaContentionz,
        }
    }
}

/// Reads the samples; returns the bytes from the first line that is none.
fn samples<'a>(kind: Kind, b: &'a [u8], builder: &mut Builder) -> Result<&'a [u8], String> {
    let mut at = b;
    let mut addresses = Vec::with_capacity(64);
    for (line, rest) in ended_lines(b) {
        let line = trim_space(line);
        if !line.is_empty() {
            let Some(c) = SAMPLE.captures(line) else {
                return Ok(at);
            };
            let text = String::from_utf8_lossy(line);
            if super::text::hex_addresses(&c[3], &mut addresses).is_none() {
                return Err(format!("sample {text}: an address does not fit in 64 bits"));
            }
            // The count comes second on the line, the value first.
            let (Some(mut count), Some(mut value)) = (parse_i64_auto(&c[2]), parse_i64_auto(&c[1]))
            else {
                return Err(format!(
                    "sample {text}: a number is malformed or out of range"
                ));
            };
            let mut bytes = None;
            match kind {
                Kind::Heap => {
                    if count == 0 {
                        return Err(format!("sample {text}: the count must not be 0"));
                    }
                    bytes = Some(value.wrapping_div(count));
                    (count, value) = unsample(count, value, HEAPZ_RATE);
                }
                Kind::Contention => {
                    if builder.period != 0 {
                        count = count.wrapping_mul(builder.period);
                        value = value.wrapping_mul(builder.period);
                    }
                }
            }
            builder.add_sample(&addresses, |_, a| a, &[count, value], bytes);
        }
        at = rest;
    }
    Ok(at)
}

/// Names the sampled addresses from the `0xADDRESS FRAME` lines in `b`, then numbers
/// locations and functions. Addresses are dropped afterwards: Java frames are told apart
/// by function and line.
pub(super) fn symbols(b: &[u8], builder: &mut Builder) -> Result<(), String> {
    let mut functions: HashMap<String, u32> = HashMap::new();
    for line in b.split(|&c| c == b'\n') {
        let line = trim_space(line);
        if line.is_empty() {
            continue;
        }
        let Some(c) = LOCATION.captures(line) else {
            continue;
        };
        let Some(address) = parse_digits(&c[1], 16) else {
            return Err(format!(
                "symbol {}: the address does not fit in 64 bits",
                String::from_utf8_lossy(line)
            ));
        };
        let Some(index) = builder.existing_location(address) else {
            continue;
        };
        let frame = &c[2];
        let (name, file, line_number) = if let Some(f) = FILE_LINE.captures(frame) {
            let number = super::text::parse_i64(&f[3])
                .filter(|&n| n > 0)
                .unwrap_or(0);
            (lossy(&f[1]), lossy(&f[2]), number)
        } else if let Some(p) = PATH.captures(frame) {
            // A shared library: its file name is enough.
            (lossy(&p[1]), base_name(&lossy(&p[2])).to_string(), 0)
        } else if super::text::contains(frame, b"generated stub/JIT") {
            ("STUB".to_string(), String::new(), 0)
        } else {
            // The agent's own states, such as GC or VM.
            (lossy(frame), String::new(), 0)
        };
        let function = *functions.entry(name.clone()).or_insert_with(|| {
            builder.functions.push(Function {
                name,
                filename: file,
            });
            (builder.functions.len() - 1) as u32
        });
        let location = &mut builder.locations[index];
        location.line = Some((function, line_number));
        location.address = 0;
    }
    builder.set_memory_map(Vec::new());
    for location in &mut builder.locations {
        location.address = 0;
    }
    Ok(())
}
