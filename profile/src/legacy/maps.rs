//! The memory map at the end of legacy profiles: `/proc/self/maps` lines or the brief
//! `START-END FILE (@OFFSET) BUILDID` form, with glog prefixes removed and `NAME=VALUE`
//! lines defining `$NAME` for the lines after them. Non-executable regions are left out.

use std::ops::Range;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::text::{Lines, group, is_memory_map_sentinel, lossy, parse_digits};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) start: u64,
    pub(crate) limit: u64,
    pub(crate) offset: u64,
    pub(crate) file: String,
    pub(crate) build_id: String,
}

// Go's `\s` (no vertical tab) spelled out, so that the regex crate matches the same bytes.
macro_rules! sp {
    () => {
        r"[\t\n\f\r ]"
    };
}
macro_rules! hex_range {
    () => {
        concat!(
            "^",
            sp!(),
            "*(?:0x)?([[:xdigit:]]+)(?:",
            sp!(),
            "|-)?",
            sp!(),
            "*(?:0x)?([[:xdigit:]]+):?(?:",
            sp!(),
            "+([-rwxp]+))?"
        )
    };
}

/// `start-end perms offset dev inode path`, as in `/proc/PID/maps`.
static PROC_MAPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        "(?-u)",
        hex_range!(),
        "(?:",
        sp!(),
        "+([[:xdigit:]]+))?",
        sp!(),
        "+[[:xdigit:]]+:[[:xdigit:]]+",
        sp!(),
        "+[[:digit:]]+(?:",
        sp!(),
        r"+([^\t\n\f\r ]+))?"
    ))
    .expect("valid regex")
});

/// `start-end [perms] [path] [(@offset)] [build id]`.
static BRIEF_MAPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        "(?-u)",
        hex_range!(),
        "(?:",
        sp!(),
        r"+([^\t\n\f\r ]+))?(?:",
        sp!(),
        r"+\(@([[:xdigit:]]+)\))?(?:",
        sp!(),
        "+([[:xdigit:]]+))?"
    ))
    .expect("valid regex")
});

/// glog's `... file.cc:123] ` prefix.
static LOG_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(concat!(r"(?-u)^[^\[\]]+:[0-9]+\]", sp!())).expect("valid regex"));

/// The executable regions listed in `lines`.
pub(crate) fn parse<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Vec<Mapping> {
    let mut mappings = Vec::new();
    let mut substitutions: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for line in lines {
        let line = match LOG_PREFIX.find(line) {
            Some(m) => &line[m.end()..],
            None => line,
        };
        let line = substitute(line, &substitutions);
        match entry(&line) {
            Some(Some(mapping)) => mappings.push(mapping),
            Some(None) => {}
            None => {
                if let Some(eq) = memchr::memchr(b'=', &line) {
                    let mut name = b"$".to_vec();
                    name.extend_from_slice(super::text::trim_space(&line[..eq]));
                    let value = super::text::trim_space(&line[eq + 1..]).to_vec();
                    substitutions.push((name, value));
                }
            }
        }
    }
    mappings
}

/// Replaces each `$NAME` defined so far, scanning left to right; where two names match
/// at one place, the one defined first wins.
fn substitute(line: &[u8], substitutions: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    if substitutions.is_empty() || memchr::memchr(b'$', line).is_none() {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    'scan: while i < line.len() {
        for (name, value) in substitutions {
            if line[i..].starts_with(name) {
                out.extend_from_slice(value);
                i += name.len();
                continue 'scan;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// One line of the map: `None` when it is no map line, `Some(None)` for a region that is
/// not executable.
fn entry(line: &[u8]) -> Option<Option<Mapping>> {
    let (start, end, perms, offset, file, build_id);
    if let Some(c) = PROC_MAPS.captures(line) {
        (start, end, perms, offset, file) = (
            group(&c, 1),
            group(&c, 2),
            group(&c, 3),
            group(&c, 4),
            group(&c, 5),
        );
        build_id = &b""[..];
        return finish(start, end, perms, offset, file, build_id);
    }
    let c = BRIEF_MAPS.captures(line)?;
    (start, end, perms, file, offset, build_id) = (
        group(&c, 1),
        group(&c, 2),
        group(&c, 3),
        group(&c, 4),
        group(&c, 5),
        group(&c, 6),
    );
    finish(start, end, perms, offset, file, build_id)
}

fn finish(
    start: &[u8],
    end: &[u8],
    perms: &[u8],
    offset: &[u8],
    file: &[u8],
    build_id: &[u8],
) -> Option<Option<Mapping>> {
    if !perms.is_empty() && !perms.contains(&b'x') {
        return Some(None);
    }
    Some(Some(Mapping {
        start: parse_digits(start, 16)?,
        limit: parse_digits(end, 16)?,
        offset: if offset.is_empty() {
            0
        } else {
            parse_digits(offset, 16)?
        },
        file: lossy(file),
        build_id: lossy(build_id),
    }))
}

/// Merges regions of one file that a map lists in pieces, puts the main binary first,
/// drops an anonymous huge-page region in front of it and folds its offset in when it is
/// loaded at the classic address, as pprof does before assigning locations to mappings.
pub(crate) fn tidy(mappings: &mut Vec<Mapping>) {
    let mut merged: Vec<Mapping> = Vec::with_capacity(mappings.len());
    for m in mappings.drain(..) {
        match merged.last_mut() {
            Some(last) if adjacent(last, &m) => {
                last.limit = m.limit;
                if !m.file.is_empty() {
                    last.file = m.file;
                }
                if !m.build_id.is_empty() {
                    last.build_id = m.build_id;
                }
            }
            _ => merged.push(m),
        }
    }
    *mappings = merged;
    if let Some(main) = mappings.iter().position(|m| {
        let file = m.file.replace("(deleted)", "");
        let file = file.trim();
        !file.is_empty() && !is_shared_library(file) && !file.starts_with('[')
    }) {
        mappings.swap(0, main);
    }
    // A leading anonymous huge-page region in front of the binary is not the binary.
    if mappings.len() > 1
        && mappings[0].file.starts_with("/anon_hugepage")
        && mappings[0].limit == mappings[1].start
    {
        mappings.remove(0);
    }
    // The main binary loaded at the classic address, with its offset folded in.
    if let Some(first) = mappings.first_mut()
        && first.start.wrapping_sub(first.offset) == 0x40_0000
    {
        first.start = 0x40_0000;
        first.offset = 0;
    }
}

/// Whether `address` is in `mapping`'s region.
fn holds(mapping: &Mapping, address: u64) -> bool {
    mapping.start <= address && address < mapping.limit
}

/// Whether `address` is in the part of `mapping`'s file before its region: writers that
/// split a mapping in two sometimes left out its first part.
fn holds_before_start(mapping: &Mapping, address: u64) -> bool {
    mapping.offset != 0
        && mapping.start.wrapping_sub(mapping.offset) <= address
        && address < mapping.start
}

/// The mapping pprof assigns an address to, of tidied mappings: the first whose region
/// holds it, else the first whose file's start before its region does (pprof then
/// moves that mapping's start down); `None` for address 0, and for an address in no
/// mapping, which pprof puts in an unnamed mapping made for such addresses.
pub(crate) fn mapping_of(mappings: &mut [Mapping], address: u64) -> Option<usize> {
    if address == 0 {
        return None;
    }
    if let Some(i) = mappings.iter().position(|m| holds(m, address)) {
        return Some(i);
    }
    let i = mappings
        .iter()
        .position(|m| holds_before_start(m, address))?;
    let m = &mut mappings[i];
    m.start = m.start.wrapping_sub(m.offset);
    m.offset = 0;
    Some(i)
}

/// Where [`mapping_of`] puts an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Address 0: in no mapping.
    Zero,
    /// In the region of the mapping at this index.
    In(usize),
    /// In the part of this mapping's file before its region.
    BeforeStart(usize),
    /// In no mapping: pprof makes an unnamed one that covers every address.
    Nowhere,
}

/// Which mapping each of many addresses is in, for frames named by binary alone, with
/// no mapping's start moved, which a name does not depend on. For maps whose regions,
/// with the parts of their files before them, do not overlap: what programs write.
/// Then each address has one place, whatever the order of the addresses, with one
/// exception that [`MappingFinder::find`]'s caller must check: once pprof has made its
/// mapping for addresses in no mapping, that mapping also takes the addresses after
/// it that would have been [`Place::BeforeStart`].
pub(crate) struct MappingFinder<'m> {
    mappings: &'m [Mapping],
    /// Each mapping's index, by the start of the part of its file that addresses can
    /// be in: the parts do not overlap, so an address can only be in the last one to
    /// start at or before it.
    by_start: Vec<(u64, usize)>,
}

impl<'m> MappingFinder<'m> {
    /// `None` when two mappings overlap, and where pprof puts an address can depend on
    /// the order in which it meets them.
    pub(crate) fn new(mappings: &'m [Mapping]) -> Option<Self> {
        let mut spans: Vec<(Range<u64>, usize)> = mappings
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let file_start = m.start.wrapping_sub(m.offset);
                let start = if m.offset != 0 && file_start <= m.start {
                    file_start
                } else {
                    m.start
                };
                (start..m.limit, i)
            })
            .collect();
        spans.sort_unstable_by_key(|(span, _)| span.start);
        let apart = spans
            .windows(2)
            .all(|pair| pair[0].0.end <= pair[1].0.start);
        apart.then(|| MappingFinder {
            mappings,
            by_start: spans.into_iter().map(|(span, i)| (span.start, i)).collect(),
        })
    }

    /// The addresses in the region of mapping `i`: frames come in runs within one
    /// binary, and checking that the next is still in the run costs less than finding
    /// its place again.
    pub(crate) fn region(&self, i: usize) -> Range<u64> {
        let m = &self.mappings[i];
        // Address 0 is in no mapping.
        m.start.max(1)..m.limit
    }

    pub(crate) fn find(&self, address: u64) -> Place {
        if address == 0 {
            return Place::Zero;
        }
        let after = self
            .by_start
            .partition_point(|&(start, _)| start <= address);
        let Some(&(_, i)) = after
            .checked_sub(1)
            .and_then(|last| self.by_start.get(last))
        else {
            return Place::Nowhere;
        };
        let m = &self.mappings[i];
        if holds(m, address) {
            Place::In(i)
        } else if holds_before_start(m, address) {
            Place::BeforeStart(i)
        } else {
            Place::Nowhere
        }
    }
}

fn is_shared_library(file: &str) -> bool {
    file.ends_with(".so")
        || file.match_indices(".so").any(|(i, _)| {
            let rest = &file.as_bytes()[i + 3..];
            matches!(rest, [b'.' | b'_', d, ..] if d.is_ascii_digit())
        })
}

/// Whether `b` continues `a`: the same file and build id where both name one, and
/// contiguous addresses and offsets.
fn adjacent(a: &Mapping, b: &Mapping) -> bool {
    if !a.file.is_empty() && !b.file.is_empty() && a.file != b.file {
        return false;
    }
    if !a.build_id.is_empty() && !b.build_id.is_empty() && a.build_id != b.build_id {
        return false;
    }
    if a.limit != b.start {
        return false;
    }
    if a.offset != 0 && b.offset != 0 {
        return a.offset.wrapping_add(a.limit.wrapping_sub(a.start)) == b.offset;
    }
    true
}

/// The map of a text profile: the lines after the memory map sentinel, which is either
/// `current` (the line the samples ended at) or one of the lines after it.
pub(crate) fn after_sentinel(current: &[u8], mut lines: Lines<'_>) -> Vec<Mapping> {
    if !is_memory_map_sentinel(current) {
        for line in lines.by_ref() {
            if is_memory_map_sentinel(line) {
                break;
            }
        }
    }
    parse(lines)
}

/// Parses the map in `bytes` (the rest of a profile after its samples).
pub(crate) fn parse_bytes(bytes: &[u8]) -> Vec<Mapping> {
    parse(Lines::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_maps_lines() {
        let maps = parse_bytes(
            b"559b40635000-559b40636000 r--p 00000000 00:00 10002600    /tmp/gp/workload\n\
              559b40636000-559b40637000 r-xp 00001000 00:00 10002600    /tmp/gp/workload\n\
              7f86eec44000-7f86eec9a000 r-xp 00026000 fe:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
              7ffd1000-7ffd2000 r-xp 00000000 00:00 0  [vdso]\n",
        );
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[0].start, 0x559b40636000);
        assert_eq!(maps[0].offset, 0x1000);
        assert_eq!(maps[0].file, "/tmp/gp/workload");
        assert_eq!(maps[2].file, "[vdso]");
    }

    #[test]
    fn brief_lines_with_substitution_and_glog_prefix() {
        let maps = parse_bytes(
            b"ROOT=/opt/app\n\
              I0102 10:11:12.123 main.cc:42] 0x400000-0x500000 $ROOT/bin/server (@1000) abcdef12\n",
        );
        assert_eq!(
            maps,
            [Mapping {
                start: 0x400000,
                limit: 0x500000,
                offset: 0x1000,
                file: "/opt/app/bin/server".into(),
                build_id: "abcdef12".into(),
            }]
        );
    }

    #[test]
    fn the_finder_places_addresses_where_pprof_assigns_them() {
        // Many mappings in no order, some with the first part of their file left out.
        let mappings: Vec<Mapping> = (0..200u64)
            .map(|i| {
                let slot = (i * 7919) % 200;
                Mapping {
                    start: 0x10_0000 + slot * 0x1_0000 + 0x4000,
                    limit: 0x10_0000 + slot * 0x1_0000 + 0xc000,
                    offset: if i % 3 == 0 { 0x2000 } else { 0 },
                    file: format!("/lib/l{i}.so"),
                    build_id: String::new(),
                }
            })
            .collect();
        let finder = MappingFinder::new(&mappings).expect("no overlap");
        let edges = mappings.iter().flat_map(|m| {
            let file_start = m.start - m.offset;
            [
                file_start - 1,
                file_start,
                m.start - 1,
                m.start,
                m.limit - 1,
                m.limit,
            ]
        });
        for address in (0..0xe0_0000u64).step_by(0x3ff).chain(edges) {
            // pprof's assignment moves a mapping's start down once an address is found
            // before it: the first such address, on a fresh copy.
            let expected = mapping_of(&mut mappings.clone(), address);
            let place = finder.find(address);
            match place {
                Place::Zero => assert_eq!(address, 0),
                Place::In(i) => assert_eq!(expected, Some(i)),
                Place::BeforeStart(i) => {
                    assert_eq!(expected, Some(i));
                    assert!(address < mappings[i].start, "{address:#x}");
                }
                Place::Nowhere => assert_eq!(expected, None, "{address:#x}"),
            }
        }
        let mut overlapping = mappings.clone();
        overlapping[5].limit += 0x10_0000;
        assert!(MappingFinder::new(&overlapping).is_none());
    }

    #[test]
    fn tidy_merges_pieces_and_puts_the_binary_first() {
        let m = |start, limit, offset, file: &str| Mapping {
            start,
            limit,
            offset,
            file: file.into(),
            build_id: String::new(),
        };
        let mut maps = vec![
            m(0x1000, 0x2000, 0, "/lib/libc.so.6"),
            m(0x5000, 0x6000, 0x1000, "/bin/app"),
            m(0x6000, 0x7000, 0x2000, "/bin/app"),
        ];
        tidy(&mut maps);
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[0], m(0x5000, 0x7000, 0x1000, "/bin/app"));
        assert!(is_shared_library("libstdc++.so.6.0.30"));
        assert!(is_shared_library("x.so_1"));
        assert!(!is_shared_library("/bin/app.sox"));
    }
}
