//! The legacy binary CPU format (gperftools' `CPUPROFILE=`, and Java profilers'): words
//! of the writer's size and byte order. A header of five words (0, 3, 0 for C++ or 1 for
//! Java, the sampling period in microseconds, 0), then samples (count, depth, that many
//! addresses, leaf first) up to a (0, 1, 0) trailer, then the memory map as text (C++)
//! or the symbols of the sampled addresses (Java).

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::builder::Builder;
use super::{LegacyFormat, Outcome, java, maps};

/// Reads one word in one of the four layouts.
#[derive(Clone, Copy)]
struct Words {
    bytes: u8,
    big_endian: bool,
}

impl Words {
    /// The layouts in the order they are tried.
    const ALL: [Words; 4] = [
        Words {
            bytes: 4,
            big_endian: false,
        },
        Words {
            bytes: 4,
            big_endian: true,
        },
        Words {
            bytes: 8,
            big_endian: false,
        },
        Words {
            bytes: 8,
            big_endian: true,
        },
    ];

    /// The next word and the rest, or `None` when fewer bytes than a word are left.
    #[inline]
    fn take<'a>(&self, b: &'a [u8]) -> Option<(u64, &'a [u8])> {
        if self.bytes == 8 {
            let (word, rest) = b.split_first_chunk::<8>()?;
            let value = if self.big_endian {
                u64::from_be_bytes(*word)
            } else {
                u64::from_le_bytes(*word)
            };
            return Some((value, rest));
        }
        let (word, rest) = b.split_first_chunk::<4>()?;
        let value = if self.big_endian {
            u32::from_be_bytes(*word)
        } else {
            u32::from_le_bytes(*word)
        };
        Some((u64::from(value), rest))
    }
}

pub(super) fn decode(bytes: &[u8]) -> Outcome {
    for words in Words::ALL {
        let mut rest = bytes;
        let mut header = [0u64; 5];
        let mut whole = true;
        for slot in &mut header {
            match words.take(rest) {
                Some((w, r)) => (*slot, rest) = (w, r),
                None => whole = false,
            }
        }
        if !whole || header[0] != 0 || header[1] != 3 || header[3] == 0 || header[4] != 0 {
            continue;
        }
        let period = header[3] as i64;
        match header[2] {
            0 => return cpp(rest, period, words),
            1 => return java_cpu(rest, period, words),
            _ => {}
        }
    }
    Outcome::Unrecognized
}

fn new_builder(period_us: i64) -> Builder {
    Builder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period_us.wrapping_mul(1000),
    )
}

/// Reads samples up to the trailer and returns them, and the bytes after the trailer.
/// `adjust` moves every address but the leaf back by one, from the return address onto
/// the call.
fn samples(mut b: &[u8], words: Words, adjust: bool, period_us: i64) -> Option<(Builder, &[u8])> {
    let mut builder = new_builder(period_us);
    // Each address takes a word.
    builder
        .samples
        .reserve_locations(b.len() / usize::from(words.bytes));
    let mut stack = Vec::with_capacity(64);
    while !b.is_empty() {
        let (count, rest) = words.take(b)?;
        let (depth, rest) = words.take(rest)?;
        // The bound pprof checks; it also keeps a corrupt depth from allocating much.
        if depth > (rest.len() / 4) as u64 {
            return None;
        }
        b = rest;
        stack.clear();
        for _ in 0..depth {
            // A stack cut short by the end of the file reads as zeros.
            let (address, rest) = words.take(b).unwrap_or((0, &[]));
            stack.push(address);
            b = rest;
        }
        if count == 0 && depth == 1 && stack[0] == 0 {
            break;
        }
        let count = count as i64;
        builder.add_sample(
            &stack,
            |i, a| {
                if adjust && i > 0 {
                    a.wrapping_sub(1)
                } else {
                    a
                }
            },
            &[count, count.wrapping_mul(builder.period)],
            None,
        );
    }
    Some((builder, b))
}

fn layout(words: Words) -> (u8, bool) {
    (words.bytes, words.big_endian)
}

fn cpp(b: &[u8], period: i64, words: Words) -> Outcome {
    let (word_bytes, big_endian) = layout(words);
    let format = LegacyFormat::CpuBinary {
        word_bytes,
        big_endian,
    };
    let Some((mut builder, rest)) = samples(b, words, true, period) else {
        return Outcome::Unrecognized;
    };
    strip_signal_frames(&mut builder);
    builder.set_memory_map(maps::parse_bytes(rest));
    remove_duplicate_leaves(&mut builder);
    Outcome::decoded(format, builder)
}

/// When nearly every sample has the same second frame, that frame was pushed by the
/// profiler's signal handler, not by the program: remove it (up to twice). One sample in
/// 32 may differ.
fn strip_signal_frames(builder: &mut Builder) {
    let total = builder.samples.len();
    let margin = total / 32;
    for _ in 0..2 {
        let address = |l: u32| builder.locations[l as usize].address;
        let mut counts: HashMap<u64, usize, FxBuildHasher> = HashMap::default();
        for s in builder.samples.iter() {
            if let Some(&second) = s.locations.get(1) {
                *counts.entry(address(second)).or_default() += 1;
            }
        }
        let Some(signal) = counts
            .into_iter()
            .find(|&(_, n)| n >= total - margin)
            .map(|(a, _)| a)
        else {
            continue;
        };
        let from_signal: Vec<usize> = (0..total)
            .filter(|&i| {
                let locations = builder.samples.get(i).locations;
                locations.get(1).is_some_and(|&l| address(l) == signal)
            })
            .collect();
        for i in from_signal {
            builder.remove_second_frame(i);
        }
    }
}

/// The leaf can appear twice, once from the signal context and once (moved back by one)
/// from unwinding: keep one.
pub(super) fn remove_duplicate_leaves(builder: &mut Builder) {
    let address = |l: u32| builder.locations[l as usize].address;
    let duplicated: Vec<usize> = (0..builder.samples.len())
        .filter(|&i| match builder.samples.get(i).locations {
            [leaf, second, ..] => address(*leaf) == address(*second).wrapping_add(1),
            _ => false,
        })
        .collect();
    for i in duplicated {
        builder.remove_second_frame(i);
    }
}

fn java_cpu(b: &[u8], period: i64, words: Words) -> Outcome {
    let (word_bytes, big_endian) = layout(words);
    let format = LegacyFormat::JavaCpu {
        word_bytes,
        big_endian,
    };
    let Some((mut builder, rest)) = samples(b, words, false, period) else {
        return Outcome::Unrecognized;
    };
    match java::symbols(rest, &mut builder) {
        Ok(()) => Outcome::decoded(format, builder),
        Err(detail) => Outcome::Malformed(format, detail),
    }
}
