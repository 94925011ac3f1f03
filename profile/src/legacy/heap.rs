//! Heap text profiles: Go's `debug=1` heap and allocs (`@ heap/2×RATE`), gperftools'
//! sampled (`@ heap_v2/RATE`) and full (`@ heapprofile`) heap profiles, and the growth
//! and fragmentation forms. One line per stack: `INUSE_COUNT: INUSE_BYTES [ALLOC_COUNT:
//! ALLOC_BYTES] @ ADDRESSES`. Sampled profiles are un-sampled as pprof does: a sample of
//! average size S taken at rate R stands for 1/(1-e^(-S/R)) times as much.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::builder::Builder;
use super::text::{
    Lines, captures_then_addresses, group, hex_addresses, is_memory_map_sentinel,
    is_space_or_comment, parse_i64, trim_space,
};
use super::{LegacyFormat, Outcome, maps};

const COUNTS: &str = r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\]";

static HEAP_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?-u){COUNTS} *@ *(heap[_a-z0-9]*)/?([0-9]*)")).expect("valid regex")
});
static GROWTH_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?-u){COUNTS} @ growthz?")).expect("valid regex"));
static FRAGMENTATION_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?-u){COUNTS} @ fragmentationz?")).expect("valid regex")
});
/// A sample line up to its addresses (see [`captures_then_addresses`]).
static SAMPLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)(-?[0-9]+): *(-?[0-9]+) *\[ *([0-9]+): *([0-9]+) *] @").expect("valid regex")
});

/// How a profile's values were sampled.
#[derive(Clone, Copy, PartialEq)]
enum Sampling {
    /// Every allocation was recorded, or the rate is unknown.
    None,
    /// Poisson sampling at an average rate of one sample per `rate` bytes.
    Poisson { rate: i64 },
}

struct Header {
    format: LegacyFormat,
    sampling: Sampling,
    period: i64,
    has_alloc: bool,
}

/// Reads the header line; `None` when it is no heap header pprof knows.
fn header(line: &[u8]) -> Option<Header> {
    if let Some(c) = HEAP_HEADER.captures(line) {
        let period = match group(&c, 6) {
            b"" => 0,
            digits => parse_i64(digits)?,
        };
        // Allocation totals are present when they differ from the in-use ones.
        let has_alloc = (group(&c, 3) != group(&c, 1) && group(&c, 3) != b"0")
            || (group(&c, 4) != group(&c, 2) && group(&c, 4) != b"0");
        let (format, sampling, period) = match group(&c, 5) {
            b"heapz_v2" | b"heap_v2" => (
                LegacyFormat::HeapV2,
                Sampling::Poisson { rate: period },
                period,
            ),
            b"heapprofile" => (LegacyFormat::HeapProfile, Sampling::None, 1),
            // Go writes twice its MemProfileRate.
            b"heap" => (
                LegacyFormat::GoHeap,
                Sampling::Poisson { rate: period / 2 },
                period / 2,
            ),
            _ => return None,
        };
        return Some(Header {
            format,
            sampling,
            period,
            has_alloc,
        });
    }
    let format = if GROWTH_HEADER.is_match(line) {
        LegacyFormat::Growth
    } else if FRAGMENTATION_HEADER.is_match(line) {
        LegacyFormat::Fragmentation
    } else {
        return None;
    };
    Some(Header {
        format,
        sampling: Sampling::None,
        period: 1,
        has_alloc: false,
    })
}

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    let mut lines = Lines::new(bytes);
    let Some(header) = lines.next().and_then(header) else {
        return Outcome::Unrecognized;
    };
    let types: &[(&str, &str)] = if header.has_alloc {
        // Allocations first, so that pprof's default (the last type) is inuse_space.
        &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ]
    } else {
        &[("objects", "count"), ("space", "bytes")]
    };
    let mut builder = Builder::new(types, ("space", "bytes"), header.period);
    let mut addresses = Vec::with_capacity(64);
    let mut current: &[u8] = b"";
    for (line_number, line) in (2..).zip(lines.by_ref()) {
        current = line;
        let line = trim_space(line);
        if is_space_or_comment(line) {
            continue;
        }
        if is_memory_map_sentinel(line) {
            break;
        }
        current = b"";
        let fail = |detail: String| {
            Outcome::Malformed(header.format, format!("line {line_number}: {detail}"))
        };
        let Some((c, address_text)) = captures_then_addresses(&SAMPLE, line) else {
            return fail(format!(
                "expected `COUNT: BYTES [COUNT: BYTES] @ ADDRESSES`, found {:?}",
                String::from_utf8_lossy(line)
            ));
        };
        let mut values = Vec::with_capacity(4);
        let mut block_size = 0;
        let mut add = |count: &[u8], size: &[u8], what: &str| -> Result<(), String> {
            let (Some(mut count), Some(mut size)) = (parse_i64(count), parse_i64(size)) else {
                return Err(format!("{what} count or bytes out of range"));
            };
            if count == 0 && size != 0 {
                return Err(format!("{what} count is 0 but {what} bytes is {size}"));
            }
            if count != 0 {
                block_size = size.wrapping_div(count);
                if let Sampling::Poisson { rate } = header.sampling {
                    (count, size) = unsample(count, size, rate);
                }
            }
            values.extend([count, size]);
            Ok(())
        };
        let added = if header.has_alloc {
            add(group(&c, 3), group(&c, 4), "allocation")
        } else {
            Ok(())
        }
        .and_then(|()| add(group(&c, 1), group(&c, 2), "in-use"));
        if let Err(detail) = added {
            return fail(detail);
        }
        if hex_addresses(address_text, &mut addresses).is_none() {
            return fail("an address does not fit in 64 bits".into());
        }
        // Return addresses point after the call; move them back onto it.
        builder.add_sample(
            &addresses,
            |_, a| a.wrapping_sub(1),
            &values,
            Some(block_size),
        );
    }
    builder.set_memory_map(maps::after_sentinel(current, lines));
    Outcome::decoded(header.format, builder)
}

/// Scales a sampled (count, bytes) pair to an estimate of all allocations: Poisson
/// sampling at `rate` catches an allocation of `size` bytes with probability
/// 1 - e^(-size/rate).
pub(crate) fn unsample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        // Every allocation was recorded (1), or the rate is unknown.
        return (count, size);
    }
    let average = size as f64 / count as f64;
    let scale = 1.0 / (1.0 - (-average / rate as f64).exp());
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}
