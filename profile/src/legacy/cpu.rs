//! The legacy binary CPU format (gperftools' `CPUPROFILE=`, and Java profilers'): words
//! of the writer's size and byte order. A header of five words (0, 3, 0 for C++ or 1 for
//! Java, the sampling period in microseconds, 0), then samples (count, depth, that many
//! addresses, leaf first) up to a (0, 1, 0) trailer, then the memory map as text (C++)
//! or the symbols of the sampled addresses (Java).

use std::ops::Range;

use super::addresses::AddressIndex;
use super::builder::Builder;
use super::maps::{self, Mapping, MappingFinder, Place};
use super::{LegacyFormat, Outcome, java};
use crate::parallel;
use crate::prefetch::prefetch;
use crate::samples::Samples;
use crate::unsymbolized::Unsymbolized;

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

    /// Appends the first `count` words of `b` to `out`; a stack cut short by the end of
    /// the file reads as zeros. One loop per layout, rather than a choice per word.
    fn read_into(self, b: &[u8], count: usize, out: &mut Vec<u64>) {
        let size = usize::from(self.bytes);
        let whole = count.min(b.len() / size);
        let b = &b[..whole * size];
        let (long, short) = (b.as_chunks::<8>().0.iter(), b.as_chunks::<4>().0.iter());
        match (self.bytes, self.big_endian) {
            (8, false) => out.extend(long.map(|&w| u64::from_le_bytes(w))),
            (8, true) => out.extend(long.map(|&w| u64::from_be_bytes(w))),
            (_, false) => out.extend(short.map(|&w| u64::from(u32::from_le_bytes(w)))),
            (_, true) => out.extend(short.map(|&w| u64::from(u32::from_be_bytes(w)))),
        }
        out.resize(out.len() + count - whole, 0);
    }
}

/// Decodes a profile in the binary CPU format. The frames of a C++ profile carry no
/// symbols: `unsymbolized` says whether each address must be kept, or only the binary
/// each falls in.
pub(super) fn decode(bytes: &[u8], unsymbolized: Unsymbolized) -> Outcome {
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
            0 => return cpp(rest, period, words, unsymbolized),
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

/// How far ahead of the record being framed its bytes are prefetched. Each record's
/// place depends on the one before, so without this each waits on memory in turn; in a
/// large profile they are a few hundred bytes apart, in order.
const READ_AHEAD: usize = 4096;
const CACHE_LINE: usize = 64;

/// Frames the samples up to the trailer, and returns them and the bytes after the
/// trailer; `None` when the bytes are not in this format.
fn records(b: &[u8], words: Words, adjust: bool) -> Option<(Vec<Record>, &[u8])> {
    let word = usize::from(words.bytes);
    let mut records = Vec::new();
    let mut rest = b;
    // Where the bytes not yet prefetched start (see [`READ_AHEAD`]).
    let mut unfetched = 0;
    while !rest.is_empty() {
        let here = b.len() - rest.len();
        while unfetched < b.len().min(here + READ_AHEAD) {
            prefetch(b.as_ptr().wrapping_add(unfetched));
            unfetched += CACHE_LINE;
        }
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
    read_in_parts(b, words, adjust, records, parts(records), builder)
}

/// `records` cut into ranges of about [`FRAMES_PER_THREAD`] kept frames or more, one per
/// thread.
fn parts(records: &[Record]) -> Vec<Range<usize>> {
    // Where each record's frames start among all samples' frames.
    let mut starts = Vec::with_capacity(records.len());
    let mut total = 0;
    for r in records {
        starts.push(total);
        total += r.kept();
    }
    parallel::split(
        &starts,
        parallel::parts(total, FRAMES_PER_THREAD),
        total,
        |&start| start,
    )
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
    lay_out(
        &mut builder,
        records,
        records.iter().map(Record::kept),
        locations,
    );
    builder
}

/// Sets the samples of `builder`, one per record: each takes the next of `lengths` of
/// `locations`, and is valued at its count and its count times the period.
fn lay_out(
    builder: &mut Builder,
    records: &[Record],
    lengths: impl ExactSizeIterator<Item = usize>,
    locations: Vec<u32>,
) {
    let period = builder.period;
    builder.samples = Samples::laid_out(
        2,
        locations,
        records.iter().zip(lengths).map(|(r, length)| {
            let count = r.count as i64;
            (length, [count, count.wrapping_mul(period)])
        }),
    );
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

/// The samples of a C++ profile's `records` with each frame kept as the binary it is
/// in, which is all that a report by function shows of a frame without symbols: a
/// location per mapping (see [`Builder::set_binary_locations`]), and each run of frames
/// in one binary kept as one frame. Finding a frame's mapping costs a comparison or two
/// where keeping its address costs a lookup in a table of every address.
///
/// `None` when which binary an address is in depends on the order in which pprof meets
/// the addresses (see [`MappingFinder`]): overlapping mappings, or addresses both in no
/// mapping and before the start of one.
fn samples_by_binary(
    b: &[u8],
    words: Words,
    records: &[Record],
    period_us: i64,
    mappings: Vec<Mapping>,
) -> Option<Builder> {
    let mut builder = new_builder(period_us);
    let in_no_mapping = builder.set_binary_locations(mappings);
    let finder = MappingFinder::new(&builder.mappings)?;
    let parts = parallel::map(parts(records), |range| {
        binaries_of(b, words, &records[range], &finder, in_no_mapping)
    });
    let seen = |place: fn(&Binaries) -> bool| parts.iter().any(place);
    if seen(|p| p.before_start) && seen(|p| p.nowhere) {
        return None;
    }
    let mut locations = Vec::with_capacity(parts.iter().map(|p| p.locations.len()).sum());
    let mut lengths = Vec::with_capacity(records.len());
    for part in parts {
        locations.extend(part.locations);
        lengths.extend(part.lengths);
    }
    lay_out(&mut builder, records, lengths.into_iter(), locations);
    Some(builder)
}

/// The binaries of some records' frames.
struct Binaries {
    /// Each record's, back to back, a run of frames in one binary once.
    locations: Vec<u32>,
    /// How many each record has.
    lengths: Vec<usize>,
    /// Whether some address was in the part of a mapping's file before its region.
    before_start: bool,
    /// Whether some address other than 0 was in no mapping.
    nowhere: bool,
}

/// The binaries of the kept frames of `records`. Like pprof, it places the duplicated
/// leaf a sample does not keep (see [`is_duplicate_leaf`]) too: only for
/// [`Binaries::before_start`] and [`Binaries::nowhere`].
fn binaries_of(
    b: &[u8],
    words: Words,
    records: &[Record],
    finder: &MappingFinder,
    in_no_mapping: u32,
) -> Binaries {
    let mut binaries = Binaries {
        locations: Vec::with_capacity(records.len() * 2),
        lengths: Vec::with_capacity(records.len()),
        before_start: false,
        nowhere: false,
    };
    let mut stack = Vec::new();
    for r in records {
        stack.clear();
        words.read_into(&b[r.at..], r.depth, &mut stack);
        let after_signal = (1 + r.signal_frames).min(stack.len());
        if r.duplicate_leaf
            && let Some(&leaf) = stack.get(after_signal)
        {
            binaries.note(finder.find(leaf.wrapping_sub(1)));
        }
        // The leaf, then the frames kept after the dropped ones, each moved back by one
        // (see [`adjusted`]).
        let after_leaf = (after_signal + usize::from(r.duplicate_leaf)).min(stack.len());
        let leaf = stack.first().copied();
        let callers = stack[after_leaf..].iter().map(|a| a.wrapping_sub(1));
        let before = binaries.locations.len();
        // The addresses known to be in the binary of the frame before.
        let mut run: Range<u64> = 0..0;
        for address in leaf.into_iter().chain(callers) {
            if run.contains(&address) {
                continue;
            }
            let place = finder.find(address);
            binaries.note(place);
            let location = match place {
                Place::In(m) | Place::BeforeStart(m) => {
                    run = finder.region(m);
                    m as u32
                }
                Place::Zero | Place::Nowhere => {
                    run = 0..0;
                    in_no_mapping
                }
            };
            if binaries.locations.len() == before || binaries.locations.last() != Some(&location) {
                binaries.locations.push(location);
            }
        }
        binaries.lengths.push(binaries.locations.len() - before);
    }
    binaries
}

impl Binaries {
    fn note(&mut self, place: Place) {
        match place {
            Place::BeforeStart(_) => self.before_start = true,
            Place::Nowhere => self.nowhere = true,
            Place::Zero | Place::In(_) => {}
        }
    }
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

fn cpp(b: &[u8], period: i64, words: Words, unsymbolized: Unsymbolized) -> Outcome {
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
    let mappings = maps::parse_bytes(rest);
    let by_address = |mappings| {
        let mut builder = samples(b, words, true, &records, period);
        builder.set_memory_map(mappings);
        builder
    };
    let builder = match unsymbolized {
        Unsymbolized::ByAddress => by_address(mappings),
        Unsymbolized::ByBinary => {
            match samples_by_binary(b, words, &records, period, mappings.clone()) {
                Some(builder) => builder,
                None => by_address(mappings),
            }
        }
    };
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

    /// A whole C++ profile in `words`' layout: the header (a period of 10ms), one sample
    /// per stack, counted `1 + i % 5` times, the trailer and the memory map.
    fn profile_bytes(words: Words, stacks: &[Vec<u64>], map: &str) -> Vec<u8> {
        let mut all = vec![0, 3, 0, 10_000, 0];
        for (i, stack) in stacks.iter().enumerate() {
            all.extend([1 + i as u64 % 5, stack.len() as u64]);
            all.extend_from_slice(stack);
        }
        all.extend([0, 1, 0]);
        let mut bytes = Vec::new();
        for w in all {
            match (words.bytes, words.big_endian) {
                (8, false) => bytes.extend(w.to_le_bytes()),
                (8, true) => bytes.extend(w.to_be_bytes()),
                (_, false) => bytes.extend((w as u32).to_le_bytes()),
                (_, true) => bytes.extend((w as u32).to_be_bytes()),
            }
        }
        bytes.extend(map.as_bytes());
        bytes
    }

    /// Checks that `top` of the profile of `stacks` and `map` is the same kept by binary
    /// as by address, in every layout and for both sample types, and that it shows
    /// `names`; returns whether it was kept by binary, or by address after all.
    fn same_top_by_binary(stacks: &[Vec<u64>], map: &str, names: &[&str]) -> bool {
        use crate::decode::Profile;
        use crate::error::Origin;
        use crate::top::{TopOptions, top};
        let mut kept_by_binary = Vec::new();
        for words in Words::ALL {
            let bytes = profile_bytes(words, stacks, map);
            let by_address = Profile::decode(&bytes, Origin::Stdin).unwrap();
            let by_binary = Profile::decode_for_functions(&bytes, Origin::Stdin).unwrap();
            kept_by_binary.push(by_binary.raw.location.len() < 10);
            for (sample_index, cum) in [(None, false), (Some("samples"), true)] {
                let options = TopOptions {
                    sample_index: sample_index.map(str::to_string),
                    cum,
                    node_count: 0,
                };
                let table = |p: &Profile| top(p, None, &options).unwrap().to_table();
                let expected = table(&by_address);
                assert_eq!(table(&by_binary), expected);
                for name in names {
                    assert!(expected.contains(name), "{name} in {expected}");
                }
            }
        }
        assert!(kept_by_binary.iter().all(|&k| k == kept_by_binary[0]));
        kept_by_binary[0]
    }

    #[test]
    fn top_of_a_profile_kept_by_binary_is_top_of_the_profile_kept_by_address() {
        // The program, a library, and a second piece of the program mapped from offset
        // 0x2000 whose first pages the writer left out. Addresses fit in 32 bits, for the
        // layouts of 4-byte words.
        let map = "\n00400000-00410000 r-xp 00000000 08:01 1 /srv/app\n\
                   30000000-30100000 r-xp 00000000 08:01 2 /lib/libc.so.6\n\
                   00600000-00610000 r-xp 00002000 08:01 3 /srv/plugin.so\n";
        let app = |i: u64| 0x40_0100 + i * 16;
        let libc = |i: u64| 0x3000_0100 + i * 16;
        let plugin = |i: u64| 0x60_0100 + i * 16;
        let stacks = |end: &[u64]| {
            let mut stacks: Vec<Vec<u64>> = (0..300u64)
                .map(|i| {
                    // The signal frame 0x9001, runs in one binary, recursion.
                    let mut stack = vec![libc(i % 7), 0x9001, app(i % 3), app(4), libc(i % 2)];
                    stack.extend((0..i % 9).map(|d| if d % 2 == 0 { app(d) } else { plugin(d) }));
                    stack.extend(end.iter().map(|a| a + i % 2));
                    stack
                })
                .collect();
            // A duplicated leaf after the signal frame.
            stacks.push(vec![app(9), 0x9001, app(9) + 1, libc(1)]);
            stacks
        };
        let both = ["[app]", "[libc.so.6]", "[plugin.so]"];
        let in_the_part_left_out = 0x5f_f010;
        let in_no_mapping = 0x1234;
        assert!(same_top_by_binary(
            &stacks(&[in_the_part_left_out]),
            map,
            &both
        ));
        let unknown = [&both[..], &["<unknown>"]].concat();
        // Address 0 is moved back to the top of the address space, in no mapping.
        assert!(same_top_by_binary(
            &stacks(&[in_no_mapping, 0]),
            map,
            &unknown
        ));
        // Once pprof has made its mapping for addresses in no mapping, an address in a
        // part left out is in that one: the order matters, and the profile is kept by
        // address. Likewise for overlapping mappings.
        let both_ends = stacks(&[in_no_mapping, app(0), in_the_part_left_out]);
        assert!(!same_top_by_binary(&both_ends, map, &unknown));
        let overlapping = format!("{map}00408000-00409000 r-xp 00000000 08:01 4 /srv/jit\n");
        assert!(!same_top_by_binary(&stacks(&[]), &overlapping, &both));
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
