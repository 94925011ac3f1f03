//! Go's `debug=1` count profiles: `goroutine profile: total N` (and `threadcreate`), then
//! one line per stack, `COUNT @ ADDRESSES`, each followed by `#` lines naming its frames,
//! which pprof ignores (it symbolizes from the binary when it has it).

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::builder::Builder;
use super::text::{Lines, is_space_or_comment, lossy, parse_i64_auto, parse_u64_auto};
use super::{LegacyFormat, Outcome, maps};

static START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)\A([^\t\n\f\r ]+) profile: total [0-9]+\z").expect("valid regex")
});
static SAMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)\A([0-9]+) @((?: 0x[0-9a-f]+)+)\z").expect("valid regex"));

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    let mut lines = Lines::new(bytes);
    let first = lines
        .by_ref()
        .find(|l| !is_space_or_comment(l))
        .unwrap_or(b"");
    let Some(start) = START.captures(first) else {
        return Outcome::Unrecognized;
    };
    let kind = lossy(&start[1]);
    let format = LegacyFormat::GoCount;
    let mut builder = Builder::new(&[(&kind, "count")], (&kind, "count"), 1);
    let mut addresses = Vec::with_capacity(64);
    let mut current: &[u8] = b"";
    for (i, line) in lines.by_ref().enumerate() {
        current = line;
        if is_space_or_comment(line) {
            continue;
        }
        if line.starts_with(b"---") {
            break;
        }
        let malformed = |what: &str| {
            Outcome::Malformed(
                format,
                format!("line {}: {what}: {}", i + 2, String::from_utf8_lossy(line)),
            )
        };
        let Some(c) = SAMPLE.captures(line) else {
            return malformed("not a `COUNT @ ADDRESSES` line");
        };
        let Some(count) = parse_i64_auto(&c[1]) else {
            return malformed("the count is out of range");
        };
        addresses.clear();
        for field in c[2].split(|&b| b == b' ').filter(|f| !f.is_empty()) {
            let Some(address) = parse_u64_auto(field) else {
                return malformed("an address does not fit in 64 bits");
            };
            addresses.push(address);
        }
        builder.add_sample(&addresses, |_, a| a.wrapping_sub(1), &[count], None);
        current = b"";
    }
    builder.set_memory_map(maps::after_sentinel(current, lines));
    Outcome::decoded(format, builder)
}
