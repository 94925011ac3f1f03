//! The legacy binary CPU format (gperftools' `CPUPROFILE=`, and Java profilers'): words
//! of the writer's size and byte order. A header of five words (0, 3, 0 for C++ or 1 for
//! Java, the sampling period in microseconds, 0), then samples (count, depth, that many
//! addresses, leaf first) up to a (0, 1, 0) trailer, then the memory map as text (C++)
//! or the symbols of the sampled addresses (Java).

use std::ops::Range;

use super::addresses::AddressIndex;
use super::builder::Builder;
use super::{LegacyFormat, Outcome, java, maps};
use crate::parallel;
use crate::samples::Samples;

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

/// One sample as the file frames it: read first, so that the frames to drop are known
/// before any location is made, and no pass over millions of frames is needed to drop
/// them.
struct Record {
    count: u64,
    depth: usize,
    /// Where its addresses start in the bytes after the header.
    at: usize,
    /// Its first four addresses, adjusted (see [`adjusted`]): the leaf, up to two
    /// signal frames, and the frame after them, which may repeat the leaf.
    head: [u64; 4],
    /// Frames right after the leaf that the signal handler pushed: dropped, and made no
    /// location (0 to 2).
    signal_frames: usize,
    /// The frame after those repeats the leaf: dropped, though its location is made.
    duplicate_leaf: bool,
}

impl Record {
    /// How many of its frames the sample keeps.
    fn kept(&self) -> usize {
        self.depth - self.signal_frames - usize::from(self.duplicate_leaf)
    }
}

/// Address `i` of a stack as a location has it: with `adjust`, every address but the
/// leaf is moved back by one, from the return address onto the call.
fn adjusted(i: usize, address: u64, adjust: bool) -> u64 {
    if adjust && i > 0 {
        address.wrapping_sub(1)
    } else {
        address
    }
}

/// The address at `i` in `b`; a stack cut short by the end of the file reads as zeros.
fn address_at(b: &[u8], words: Words, i: usize) -> u64 {
    let from = i.saturating_mul(usize::from(words.bytes));
    b.get(from..)
        .and_then(|rest| words.take(rest))
        .map_or(0, |(a, _)| a)
}

/// Frames the samples up to the trailer, and returns them and the bytes after the
/// trailer; `None` when the bytes are not in this format.
fn records(b: &[u8], words: Words, adjust: bool) -> Option<(Vec<Record>, &[u8])> {
    let word = usize::from(words.bytes);
    let mut records = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        let (count, after) = words.take(rest)?;
        let (depth, after) = words.take(after)?;
        // The bound pprof checks; it also keeps a corrupt depth from allocating much.
        if depth > (after.len() / 4) as u64 {
            return None;
        }
        let depth = depth as usize;
        let at = b.len() - after.len();
        rest = after.get(depth * word..).unwrap_or_default();
        let head: [u64; 4] = std::array::from_fn(|i| {
            if i < depth {
                adjusted(i, address_at(after, words, i), adjust)
            } else {
                0
            }
        });
        if count == 0 && depth == 1 && head[0] == 0 {
            break;
        }
        records.push(Record {
            count,
            depth,
            at,
            head,
            signal_frames: 0,
            duplicate_leaf: false,
        });
    }
    Some((records, rest))
}

/// Frames per thread when the samples of a large profile are read on several.
const FRAMES_PER_THREAD: usize = 1 << 19;

/// The samples of `records`, their locations made in the order samples first refer to
/// them. A large profile is read in parts, one thread each: each part numbers the
/// addresses it meets, and the parts' numbers become the profile's in order, so that
/// the locations are those one pass would make.
fn samples(b: &[u8], words: Words, adjust: bool, records: &[Record], period_us: i64) -> Builder {
    let builder = new_builder(period_us);
    // Where each record's locations start among all samples' locations.
    let mut starts = Vec::with_capacity(records.len());
    let mut total = 0;
    for r in records {
        starts.push(total);
        total += r.kept();
    }
    let parts = parallel::split(
        &starts,
        parallel::parts(total, FRAMES_PER_THREAD),
        total,
        |&start| start,
    );
    read_in_parts(b, words, adjust, records, parts, builder)
}

/// The samples of `records`, read in `parts`, ranges of records that together cover
/// them in order, into `builder`.
fn read_in_parts(
    b: &[u8],
    words: Words,
    adjust: bool,
    records: &[Record],
    parts: Vec<Range<usize>>,
    mut builder: Builder,
) -> Builder {
    let lengths: Vec<usize> = parts
        .iter()
        .map(|range| records[range.clone()].iter().map(Record::kept).sum())
        .collect();
    let mut locations = vec![0u32; lengths.iter().sum()];
    let jobs = parts
        .into_iter()
        .zip(split_lengths(&mut locations, &lengths));
    let numbered = parallel::map(jobs.collect(), |(range, out)| {
        number_addresses(b, words, adjust, &records[range], out)
    });
    // The first part's numbers are the profile's; each later part's become them.
    let mut numbered = numbered.into_iter();
    if let Some(first) = numbered.next() {
        builder.set_locations(first);
    }
    let renumbered: Vec<Vec<u32>> = numbered
        .map(|index| builder.locations_of(index.addresses()))
        .collect();
    let later_parts = split_lengths(&mut locations, &lengths).skip(1);
    parallel::map(later_parts.zip(renumbered).collect(), |(out, new)| {
        for location in out {
            *location = new[*location as usize];
        }
    });
    let period = builder.period;
    builder.samples = Samples::laid_out(
        2,
        locations,
        records.iter().map(|r| {
            let count = r.count as i64;
            (r.kept(), [count, count.wrapping_mul(period)])
        }),
    );
    builder
}

/// `slice` cut into consecutive parts of `lengths`.
fn split_lengths<'a>(
    mut slice: &'a mut [u32],
    lengths: &[usize],
) -> impl Iterator<Item = &'a mut [u32]> {
    lengths.iter().map(move |&n| {
        let (part, rest) = std::mem::take(&mut slice).split_at_mut(n);
        slice = rest;
        part
    })
}

/// How many frames [`number_addresses`] reads before it numbers them together.
const BATCH: usize = 512;

/// How many distinct addresses to make room for among `frames`: one in eight, more than
/// real profiles have, which repeat a few hot stacks, up to 196,608 (a table of 4 MiB).
/// Each time the table grows it places every address again, at random in new memory.
fn expected_addresses(frames: usize) -> usize {
    (frames / 8).min(196_608)
}

/// Writes into `out` the number of each kept frame's address in an index of the
/// addresses of `records` alone, which it returns.
fn number_addresses(
    b: &[u8],
    words: Words,
    adjust: bool,
    records: &[Record],
    out: &mut [u32],
) -> AddressIndex {
    let frames: usize = records.iter().map(|r| r.depth).sum();
    let mut index = AddressIndex::with_capacity(expected_addresses(frames));
    let mut out = out.iter_mut();
    // Each frame that gets a location, and whether its sample keeps it: signal frames
    // get none; a duplicate leaf gets one but is not kept.
    let mut addresses = Vec::with_capacity(BATCH + 256);
    let mut kept = Vec::with_capacity(BATCH + 256);
    for (n, r) in records.iter().enumerate() {
        let stack = &b[r.at..];
        for i in 0..r.depth {
            if (1..=r.signal_frames).contains(&i) {
                continue;
            }
            addresses.push(adjusted(i, address_at(stack, words, i), adjust));
            kept.push(!(r.duplicate_leaf && i == r.signal_frames + 1));
        }
        if addresses.len() >= BATCH || n + 1 == records.len() {
            for ((number, _), &kept) in index.insert_all(&addresses).zip(&kept) {
                if kept && let Some(slot) = out.next() {
                    *slot = number;
                }
            }
            addresses.clear();
            kept.clear();
        }
    }
    index
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
    let Some((mut records, rest)) = records(b, words, true) else {
        return Outcome::Unrecognized;
    };
    find_signal_frames(&mut records);
    find_duplicate_leaves(&mut records);
    let mut builder = samples(b, words, true, &records, period);
    builder.set_memory_map(maps::parse_bytes(rest));
    Outcome::decoded(format, builder)
}

/// The second frame of a record once its signal frames are dropped, if it has one.
fn second_frame(r: &Record) -> Option<u64> {
    (r.depth > r.signal_frames + 1).then(|| r.head[r.signal_frames + 1])
}

/// When nearly every sample has the same second frame, that frame was pushed by the
/// profiler's signal handler, not by the program: drop it (up to twice). One sample in
/// 32 may differ.
fn find_signal_frames(records: &mut [Record]) {
    let total = records.len();
    let needed = total - total / 32;
    for _ in 0..2 {
        // Needing nearly every sample, such a frame is the second frame of most of
        // them: the one candidate a majority vote gives.
        let Some(candidate) = majority(records.iter().filter_map(second_frame)) else {
            return;
        };
        let has_it = |r: &Record| second_frame(r) == Some(candidate);
        if records.iter().filter(|r| has_it(r)).count() < needed {
            continue;
        }
        for r in records.iter_mut().filter(|r| has_it(r)) {
            r.signal_frames += 1;
        }
    }
}

/// The item that more than half of `items` are, if there is one; else any item.
fn majority(items: impl Iterator<Item = u64>) -> Option<u64> {
    let mut candidate = None;
    let mut lead = 0usize;
    for item in items {
        if lead == 0 {
            candidate = Some(item);
            lead = 1;
        } else if candidate == Some(item) {
            lead += 1;
        } else {
            lead -= 1;
        }
    }
    candidate
}

/// Marks the records whose leaf appears twice (see [`is_duplicate_leaf`]).
fn find_duplicate_leaves(records: &mut [Record]) {
    for r in records {
        r.duplicate_leaf =
            second_frame(r).is_some_and(|second| is_duplicate_leaf(r.head[0], second));
    }
}

/// Whether a second frame only repeats the leaf: the leaf can appear twice, once from
/// the signal context and once (moved back by one) from unwinding.
fn is_duplicate_leaf(leaf: u64, second: u64) -> bool {
    leaf == second.wrapping_add(1)
}

/// Removes the second frame of each sample whose leaf appears twice (see
/// [`is_duplicate_leaf`]), for decoders that make their samples directly.
pub(super) fn remove_duplicate_leaves(builder: &mut Builder) {
    let address = |l: u32| builder.locations[l as usize].address;
    let duplicated: Vec<usize> = (0..builder.samples.len())
        .filter(|&i| match builder.samples.get(i).locations {
            [leaf, second, ..] => is_duplicate_leaf(address(*leaf), address(*second)),
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
    let Some((records, rest)) = records(b, words, false) else {
        return Outcome::Unrecognized;
    };
    let mut builder = samples(b, words, false, &records, period);
    match java::symbols(rest, &mut builder) {
        Ok(()) => Outcome::decoded(format, builder),
        Err(detail) => Outcome::Malformed(format, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: Words = Words {
        bytes: 8,
        big_endian: false,
    };

    /// The samples part of a profile (after the header), and its trailer.
    fn sample_bytes(stacks: &[&[u64]]) -> Vec<u8> {
        let mut words = Vec::new();
        for stack in stacks {
            words.extend([1, stack.len() as u64]);
            words.extend_from_slice(stack);
        }
        words.extend([0, 1, 0]);
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn stacks_of(builder: &Builder) -> Vec<Vec<u64>> {
        builder
            .samples
            .iter()
            .map(|s| {
                let address = |&l: &u32| builder.locations[l as usize].address;
                s.locations.iter().map(address).collect()
            })
            .collect()
    }

    #[test]
    fn signal_frames_and_duplicate_leaves_are_dropped_as_pprof_drops_them() {
        // 0x900 and then 0x800 are the second frame of every sample: both pushed by the
        // signal handler. Addresses but the leaf are moved back by one.
        let mut stacks: Vec<Vec<u64>> = (0..40)
            .map(|i| vec![0x100 + i, 0x901, 0x801, 0x201 + i % 3, 0x301])
            .collect();
        // After the signal frames, the leaf again, as if a return address.
        stacks.push(vec![0x150, 0x901, 0x801, 0x150, 0x301]);
        let bytes = sample_bytes(&stacks.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let (mut records, _) = records(&bytes, WORDS, true).unwrap();
        find_signal_frames(&mut records);
        find_duplicate_leaves(&mut records);
        let builder = samples(&bytes, WORDS, true, &records, 1);
        let stacks = stacks_of(&builder);
        assert_eq!(stacks[0], [0x100, 0x200, 0x300]);
        assert_eq!(stacks[40], [0x150, 0x300]);
        let addresses: Vec<u64> = builder.locations.iter().map(|l| l.address).collect();
        // The signal frames make no location; the duplicate leaf's stays, as in pprof.
        assert!(!addresses.contains(&0x900) && !addresses.contains(&0x800));
        assert!(addresses.contains(&0x14f));
    }

    #[test]
    fn a_profile_read_in_parts_has_the_locations_of_one_pass() {
        let stacks: Vec<Vec<u64>> = (0..50u64)
            .map(|i| {
                (0..1 + i % 7)
                    .map(|d| 0x1000 + (i * 7 + d * 13) % 40)
                    .collect()
            })
            .collect();
        let bytes = sample_bytes(&stacks.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let (records, _) = records(&bytes, WORDS, true).unwrap();
        let read = |parts| read_in_parts(&bytes, WORDS, true, &records, parts, new_builder(1));
        let all = 0..records.len();
        let whole = read(vec![all]);
        let parted = read(vec![0..1, 1..1, 1..17, 17..40, 40..50]);
        let addresses = |b: &Builder| b.locations.iter().map(|l| l.address).collect::<Vec<_>>();
        assert_eq!(addresses(&whole), addresses(&parted));
        let indices = |b: &Builder| {
            b.samples
                .iter()
                .map(|s| s.locations.to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(indices(&whole), indices(&parted));
        assert_eq!(stacks_of(&whole)[3], [0x1015, 0x1021, 0x1006, 0x1013]);
    }
}
