//! threadz dumps: `--- threadz N ---` (or a first `--- Thread ...` line), then per
//! thread a `--- Thread HEX (name: NAME/N) stack: ---` line and its stack, one or more
//! addresses per line. `same as previous thread` counts one more thread with the stack
//! before it. Each thread is one sample of type `thread`.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::builder::Builder;
use super::text::{
    Lines, contains, hex_addresses, is_memory_map_sentinel, is_space_or_comment, trim_space,
};
use super::{LegacyFormat, Outcome, maps};

static THREADZ_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)--- threadz [0-9]+ ---").expect("valid regex"));
static THREAD_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)--- Thread [[:xdigit:]]+ \(name: .*/[0-9]+\) stack: ---")
        .expect("valid regex")
});

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    let format = LegacyFormat::Threadz;
    let mut lines = Lines::new(bytes);
    let mut line: &[u8] = lines
        .by_ref()
        .find(|l| !is_space_or_comment(l))
        .unwrap_or(b"");
    if THREADZ_START.is_match(line) {
        // Skip the preamble up to the first thread (or the map).
        line = b"";
        for next in lines.by_ref() {
            line = next;
            if is_memory_map_sentinel(next) || next.starts_with(b"-") {
                break;
            }
        }
    } else if !THREAD_START.is_match(line) {
        return Outcome::Unrecognized;
    }
    let mut builder = Builder::new(&[("thread", "count")], ("thread", "count"), 1);
    let mut addresses = Vec::with_capacity(64);
    while !is_memory_map_sentinel(line) {
        if line.starts_with(b"---- no stack trace for") {
            break;
        }
        if !THREAD_START.is_match(line) {
            return Outcome::Unrecognized;
        }
        // The thread's stack runs to the next `---` line.
        let mut same_as_previous = false;
        let mut last: &[u8] = b"";
        addresses.clear();
        let mut found = Vec::new();
        for next in lines.by_ref() {
            last = trim_space(next);
            if last.is_empty() {
                continue;
            }
            if last.starts_with(b"---") {
                break;
            }
            if contains(last, b"same as previous thread") {
                same_as_previous = true;
                continue;
            }
            if hex_addresses(last, &mut found).is_none() {
                return Outcome::Malformed(
                    format,
                    format!(
                        "an address does not fit in 64 bits: {}",
                        String::from_utf8_lossy(last)
                    ),
                );
            }
            addresses.extend_from_slice(&found);
        }
        line = last;
        if same_as_previous || addresses.is_empty() {
            if let Some(previous) = builder.samples.last_values_mut() {
                previous[0] = previous[0].wrapping_add(1);
            }
            continue;
        }
        // Every frame but the leaf is a return address: move it back onto the call.
        builder.add_sample(
            &addresses,
            |i, a| if i > 0 { a.wrapping_sub(1) } else { a },
            &[1],
            None,
        );
    }
    builder.set_memory_map(maps::after_sentinel(line, lines));
    super::cpu::remove_duplicate_leaves(&mut builder);
    Outcome::decoded(format, builder)
}
