//! Contention text: Go's `debug=1` mutex (`--- mutex:`) and block (`--- contention:`)
//! profiles, and the C++ `--- contentionz ` form. `NAME = VALUE` attributes (cycles per
//! second, sampling period, milliseconds since reset) come first, then one line per stack:
//! `DELAY_CYCLES COUNT @ ADDRESSES`. With a sampling period, counts are multiplied by it
//! and delays become nanoseconds through the cycle rate, as pprof un-samples them.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::builder::Builder;
use super::text::{
    Lines, captures_then_addresses, hex_addresses, is_space_or_comment, parse_i64, parse_i64_auto,
    trim_space,
};
use super::{LegacyFormat, Outcome, maps};

/// A sample line up to its addresses (see [`captures_then_addresses`]).
static SAMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)([0-9]+) *([0-9]+) @").expect("valid regex"));

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    let mut lines = Lines::new(bytes);
    let Some(first) = lines.next() else {
        return Outcome::Unrecognized;
    };
    let format = if first.starts_with(b"--- contentionz ") {
        LegacyFormat::Contentionz
    } else if first.starts_with(b"--- mutex:") {
        LegacyFormat::GoMutex
    } else if first.starts_with(b"--- contention:") {
        LegacyFormat::Contention
    } else {
        return Outcome::Unrecognized;
    };
    let mut builder = Builder::new(
        &[("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    );
    let mut cycles_per_second = 0i64;
    let mut line_number = 1;
    // The line that ended the attributes: the first sample, or a section marker.
    let mut current: &[u8] = b"";
    for line in lines.by_ref() {
        line_number += 1;
        current = line;
        let line = trim_space(line);
        if is_space_or_comment(line) {
            continue;
        }
        if line.starts_with(b"---") {
            break;
        }
        let Some(eq) = memchr::memchr(b'=', line) else {
            break;
        };
        let (key, value) = (trim_space(&line[..eq]), trim_space(&line[eq + 1..]));
        let number = parse_i64_auto(value);
        match (key, number) {
            (b"cycles/second", Some(n)) => cycles_per_second = n,
            (b"sampling period", Some(n)) => builder.period = n,
            (b"ms since reset", Some(ms)) => {
                builder.duration_nanos = ms.wrapping_mul(1_000_000);
            }
            (b"discarded samples", _) => {}
            // Anything else (a bad number, `format`, `resolution`) means another format.
            _ => return Outcome::Unrecognized,
        }
        current = b"";
    }
    let mut addresses = Vec::with_capacity(64);
    let mut next = Some(current);
    while let Some(raw) = next {
        let line = trim_space(raw);
        current = raw;
        if line.starts_with(b"---") {
            break;
        }
        if !is_space_or_comment(line) {
            let Some((c, text)) = captures_then_addresses(&SAMPLE, line) else {
                return Outcome::Unrecognized;
            };
            let number = |i: usize| c.get(i).and_then(|m| parse_i64(m.as_bytes()));
            let (Some(mut delay), Some(mut count)) = (number(1), number(2)) else {
                return Outcome::Malformed(
                    format,
                    format!("line {line_number}: a value is out of range"),
                );
            };
            let period = builder.period;
            if period > 0 {
                if cycles_per_second > 0 {
                    let cpu_ghz = cycles_per_second as f64 / 1e9;
                    delay = (delay as f64 * period as f64 / cpu_ghz) as i64;
                }
                count = count.wrapping_mul(period);
            }
            if hex_addresses(text, &mut addresses).is_none() {
                return Outcome::Malformed(
                    format,
                    format!("line {line_number}: an address does not fit in 64 bits"),
                );
            }
            builder.add_sample(&addresses, |_, a| a.wrapping_sub(1), &[count, delay], None);
        }
        next = lines.next();
        line_number += 1;
        if next.is_none() {
            current = b"";
        }
    }
    builder.set_memory_map(maps::after_sentinel(current, lines));
    Outcome::decoded(format, builder)
}
