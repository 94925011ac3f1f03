//! Walking a profile's samples as stacks of function names, the way pprof sees them at
//! its default `functions` granularity: inlined frames expanded, unsymbolized frames named
//! by their binary, and the profile's `drop_frames`/`keep_frames` pruning applied.

use std::collections::HashMap;
use std::hash::BuildHasher as _;

use hashbrown::{HashTable, hash_table};
use regex::Regex;
use rustc_hash::FxBuildHasher;

use crate::decode::Profile;
use crate::error::{Error, Result};
use crate::ids::IdIndex;
use crate::legacy::text::base_name;
use crate::proto;
use crate::strings::StringTable;
use crate::unsymbolized::Unsymbolized;

/// Function names shared by the profiles of one report, so that a profile and its base
/// agree on ids.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    /// The id of each function name: bare numbers into `names`, so that the table stays
    /// small enough for the cache over millions of lookups, and each name is held once.
    index: HashTable<u32>,
    /// The unsymbolized frames of each binary, by its full path: pprof tells binaries
    /// apart by path, though it shows only the base name.
    binaries: HashMap<String, u32, FxBuildHasher>,
    names: Texts,
}

/// Strings numbered from 0, held back to back: one allocation for the tens of
/// thousands of names of a large profile, not one each.
#[derive(Debug, Default, Clone)]
struct Texts {
    text: String,
    /// Per string: where it ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
}

impl Texts {
    fn get(&self, id: u32) -> &str {
        let id = id as usize;
        let start = id.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[id]]
    }

    fn push(&mut self, text: &str) -> u32 {
        self.text.push_str(text);
        self.ends.push(self.text.len());
        self.ends.len() as u32 - 1
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

impl Names {
    /// The id of the unsymbolized frames of the binary at `path`, shown as `[base
    /// name]`; `None` for frames of no known binary, shown as `<unknown>`.
    pub(crate) fn intern_binary(&mut self, path: Option<&str>) -> u32 {
        let key = path.unwrap_or_default();
        if let Some(&id) = self.binaries.get(key) {
            return id;
        }
        let id = match path {
            Some(path) => self.names.push(&format!("[{}]", base_name(path))),
            None => self.names.push("<unknown>"),
        };
        self.binaries.insert(key.to_string(), id);
        id
    }

    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        let names = &mut self.names;
        let entry = self.index.entry(
            FxBuildHasher.hash_one(name),
            |&id| names.get(id) == name,
            |&id| FxBuildHasher.hash_one(names.get(id)),
        );
        match entry {
            hash_table::Entry::Occupied(found) => *found.get(),
            hash_table::Entry::Vacant(slot) => {
                let id = names.push(name);
                slot.insert(id);
                id
            }
        }
    }

    /// The name numbered `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Makes room for `n` more names, so that a large profile's do not grow the table
    /// step by step.
    pub(crate) fn reserve(&mut self, n: usize) {
        let names = &self.names;
        self.index
            .reserve(n, |&id| FxBuildHasher.hash_one(names.get(id)));
        self.names.ends.reserve(n);
    }
}

/// A profile's stacks as `top` makes them first (names by binary for frames without
/// symbols, its own drop and keep patterns, names numbered from none), made by the
/// decoder while the samples are still being read: the functions' names as soon as the
/// functions are in, beside the locations, and the stacks once both are. On a large
/// profile that takes them off the path that everything waits on.
#[derive(Debug)]
pub(crate) struct Prebuilt {
    pub(crate) names: Names,
    pub(crate) stacks: Stacks,
}

impl Prebuilt {
    /// The stacks of `raw`, whose functions' names are `function_names` in `names`, made
    /// by [`function_names`] from names numbered from none. `None` when the patterns do
    /// not compile: [`Stacks::new`] then reports it where it always has.
    pub(crate) fn new(
        raw: &proto::Profile,
        strings: &StringTable,
        mut names: Names,
        function_names: &[Option<u32>],
    ) -> Option<Prebuilt> {
        let patterns = frame_patterns(raw, strings).ok()?;
        let stacks = Stacks::of_parts(
            raw,
            strings,
            patterns,
            &mut names,
            function_names,
            Unsymbolized::ByBinary,
        );
        Some(Prebuilt { names, stacks })
    }
}

/// The id of each function's name in `names`, by the function's index; `None` for a
/// function without a name, whose frames are named by their binary. It needs only the
/// functions, so that a decoder can make it while the locations are still being read.
pub(crate) fn function_names(
    functions: &[proto::Function],
    strings: &StringTable,
    names: &mut Names,
) -> Vec<Option<u32>> {
    names.reserve(functions.len());
    functions
        .iter()
        .map(|f| {
            let name = strings.str(f.name);
            (!name.is_empty()).then(|| names.intern(name))
        })
        .collect()
}

/// One frame of a stack: a name id, and whether it was inlined into its caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) name: u32,
    pub(crate) inlined: bool,
}

/// A location's frames, as walks over millions of them read them.
pub(crate) enum LocationFrames<'s> {
    None,
    One(Frame),
    /// Innermost first.
    Several(&'s [Frame]),
}

/// Precomputed frames per location, for fast walks over many samples.
#[derive(Debug, Clone)]
pub(crate) struct Stacks {
    /// Per location: start and length in `frames`, innermost frame first.
    spans: Vec<(u32, u32)>,
    frames: Vec<Frame>,
    /// Per location: its one frame packed in a number, or that it has none or several.
    /// Most locations have one or, once trimmed to the kept functions, none: a walk then
    /// reads this array alone.
    packed: Vec<u32>,
    prune: Vec<Prune>,
    any_prune: bool,
    /// Every location has exactly one frame (no inlining), the location's index in
    /// `frames`: then `frames` skips `spans`, one memory access less per frame.
    one_each: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prune {
    Keep,
    /// The location's outermost function matched: drop it and everything it called.
    Whole,
    /// An inlined frame matched: keep the location (trimmed) but drop what it called.
    Beneath,
}

impl Stacks {
    /// `frames_from` supplies the drop/keep patterns: pprof applies the first profile's
    /// patterns to a merged profile, so a base is pruned with its profile's patterns.
    pub(crate) fn new(
        profile: &Profile,
        frames_from: &Profile,
        names: &mut Names,
        unsymbolized: Unsymbolized,
    ) -> Result<Stacks> {
        let patterns = frame_patterns(&frames_from.raw, &frames_from.strings)?;
        let function_names = function_names(&profile.raw.function, &profile.strings, names);
        Ok(Stacks::of_parts(
            &profile.raw,
            &profile.strings,
            patterns,
            names,
            &function_names,
            unsymbolized,
        ))
    }

    /// [`Stacks::new`] from the parts of a profile, before it is whole, its functions'
    /// names made by [`function_names`].
    fn of_parts(
        raw: &proto::Profile,
        strings: &StringTable,
        (drop, keep): (Option<Regex>, Option<Regex>),
        names: &mut Names,
        function_names: &[Option<u32>],
        unsymbolized: Unsymbolized,
    ) -> Stacks {
        let function_index = IdIndex::new(raw.function.iter().map(|f| f.id));
        let function = |id: u64| function_index.get(id).map(|i| &raw.function[i as usize]);
        let mappings: HashMap<u64, &proto::Mapping, FxBuildHasher> =
            raw.mapping.iter().map(|m| (m.id, m)).collect();
        let mut prune_cache: HashMap<i64, bool> = HashMap::new();
        let mut binary_names: HashMap<u64, u32, FxBuildHasher> = HashMap::default();
        let mut spans = Vec::with_capacity(raw.location.len());
        let mut frames = Vec::with_capacity(raw.location.len() * 2);
        let mut prune = Vec::with_capacity(raw.location.len());
        for loc in &raw.location {
            // Only frames without a function name need their binary.
            let objfile = || {
                mappings
                    .get(&loc.mapping_id)
                    .map(|m| strings.str(m.filename))
                    .filter(|f| !f.is_empty())
            };
            // Unsymbolized frames named by binary are the same name for every location
            // of a mapping: make it once per mapping.
            let mut fallback = |names: &mut Names| {
                if unsymbolized == Unsymbolized::ByAddress && loc.address != 0 {
                    let binary = match objfile() {
                        Some(file) => format!("[{}]", base_name(file)),
                        None => "<unknown>".to_string(),
                    };
                    names.intern(&format!("{:016x} {binary}", loc.address))
                } else {
                    *binary_names
                        .entry(loc.mapping_id)
                        .or_insert_with(|| names.intern_binary(objfile()))
                }
            };
            let mut lines: &[proto::Line] = &loc.line;
            let mut how = Prune::Keep;
            if let Some(drop) = &drop {
                // Outermost first, as pprof scans: the first match prunes it and below.
                let hit = lines.iter().rposition(|line| {
                    let Some(f) = function(line.function_id) else {
                        return false;
                    };
                    let name = strings.str(f.name);
                    !name.is_empty()
                        && *prune_cache.entry(f.name).or_insert_with(|| {
                            let simple = simplify_func(name);
                            drop.is_match(simple)
                                && !keep.as_ref().is_some_and(|k| k.is_match(simple))
                        })
                });
                if let Some(i) = hit {
                    if i == lines.len() - 1 {
                        how = Prune::Whole;
                    } else {
                        how = Prune::Beneath;
                        lines = &lines[i + 1..];
                    }
                }
            }
            let start = frames.len() as u32;
            if lines.is_empty() {
                frames.push(Frame {
                    name: fallback(names),
                    inlined: false,
                });
            }
            for (i, line) in lines.iter().enumerate() {
                let named = function_index
                    .get(line.function_id)
                    .and_then(|i| function_names[i as usize]);
                let id = match named {
                    Some(id) => id,
                    None => fallback(names),
                };
                frames.push(Frame {
                    name: id,
                    inlined: i + 1 != lines.len(),
                });
            }
            spans.push((start, frames.len() as u32 - start));
            prune.push(how);
        }
        let any_prune = prune.iter().any(|p| *p != Prune::Keep);
        let one_each = frames.len() == spans.len();
        Stacks {
            packed: packed(&spans, &frames),
            spans,
            frames,
            prune,
            any_prune,
            one_each,
        }
    }

    /// The location indices of a sample (leaf first) after pruning: a suffix of them,
    /// since pruning drops a frame and everything it called.
    pub(crate) fn pruned<'s>(&self, locations: &'s [u32]) -> &'s [u32] {
        if !self.any_prune {
            return locations;
        }
        let mut found_user = false;
        for i in (0..locations.len()).rev() {
            let how = self.prune[locations[i] as usize];
            if how == Prune::Keep {
                found_user = true;
                continue;
            }
            if !found_user {
                continue;
            }
            let from = if how == Prune::Whole { i + 1 } else { i };
            return &locations[from..];
        }
        locations
    }

    /// The same stacks with only the frames whose name is `kept`.
    pub(crate) fn keeping(&self, kept: &[bool]) -> Stacks {
        let mut spans = Vec::with_capacity(self.spans.len());
        let mut frames = Vec::new();
        for location in 0..self.spans.len() as u32 {
            let start = frames.len() as u32;
            let is_kept = |f: &&Frame| kept.get(f.name as usize).copied().unwrap_or(false);
            frames.extend(self.frames(location).iter().filter(is_kept));
            spans.push((start, frames.len() as u32 - start));
        }
        Stacks {
            packed: packed(&spans, &frames),
            spans,
            frames,
            prune: self.prune.clone(),
            any_prune: self.any_prune,
            one_each: false,
        }
    }

    /// The names of the functions some location has as an inlined frame.
    pub(crate) fn inlined_names(&self) -> impl Iterator<Item = u32> {
        self.frames.iter().filter(|f| f.inlined).map(|f| f.name)
    }

    /// How many locations there are frames for.
    pub(crate) fn location_count(&self) -> usize {
        self.spans.len()
    }

    /// The frames of a location, read with one memory access when it has one or none.
    #[inline]
    pub(crate) fn location_frames(&self, location: u32) -> LocationFrames<'_> {
        match self.packed[location as usize] {
            NO_FRAME => LocationFrames::None,
            SEVERAL_FRAMES => LocationFrames::Several(self.frames(location)),
            one => LocationFrames::One(Frame {
                name: one >> 1,
                inlined: one & 1 == 1,
            }),
        }
    }

    /// The name of a location's innermost frame, if it has any.
    #[inline]
    pub(crate) fn innermost(&self, location: u32) -> Option<u32> {
        match self.location_frames(location) {
            LocationFrames::None => None,
            LocationFrames::One(frame) => Some(frame.name),
            LocationFrames::Several(frames) => frames.first().map(|frame| frame.name),
        }
    }

    /// The frames of a location, innermost first.
    pub(crate) fn frames(&self, location: u32) -> &[Frame] {
        if self.one_each {
            return std::slice::from_ref(&self.frames[location as usize]);
        }
        let (start, len) = self.spans[location as usize];
        &self.frames[start as usize..(start + len) as usize]
    }
}

/// In [`Stacks::packed`], a location without frames.
const NO_FRAME: u32 = u32::MAX;
/// In [`Stacks::packed`], a location with several frames, or one whose name is too large
/// a number to pack.
const SEVERAL_FRAMES: u32 = u32::MAX - 1;

/// Per location, its frames packed: a lone frame's name, shifted, and whether it was
/// inlined in the low bit.
fn packed(spans: &[(u32, u32)], frames: &[Frame]) -> Vec<u32> {
    spans
        .iter()
        .map(|&(start, len)| match len {
            0 => NO_FRAME,
            1 => {
                let frame = frames[start as usize];
                match frame.name.checked_mul(2) {
                    Some(shifted) if shifted < SEVERAL_FRAMES => shifted | u32::from(frame.inlined),
                    _ => SEVERAL_FRAMES,
                }
            }
            _ => SEVERAL_FRAMES,
        })
        .collect()
}

/// The profile's `drop_frames` and `keep_frames` patterns, compiled.
fn frame_patterns(
    raw: &proto::Profile,
    strings: &StringTable,
) -> Result<(Option<Regex>, Option<Regex>)> {
    let compile = |pattern: &str| {
        Regex::new(&format!("^({pattern})$")).map_err(|e| Error::FramePattern {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })
    };
    let drop = strings.str(raw.drop_frames);
    if drop.is_empty() {
        return Ok((None, None));
    }
    let keep = strings.str(raw.keep_frames);
    let keep = if keep.is_empty() {
        None
    } else {
        Some(compile(keep)?)
    };
    Ok((Some(compile(drop)?), keep))
}

/// pprof's `simplifyFunc`: drops a leading `.` and an argument list, keeping the
/// parentheses of `(anonymous namespace)` and `operator()`.
fn simplify_func(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    let mut i = 0;
    while i < name.len() {
        let rest = &name[i..];
        if let Some(skip) = ["(anonymous namespace)", "operator()"]
            .iter()
            .find(|r| rest.starts_with(**r))
        {
            i += skip.len();
        } else if rest.starts_with('(') {
            return &name[..i];
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::{Frame, LocationFrames, Names, SEVERAL_FRAMES, Stacks, packed, simplify_func};

    #[test]
    fn a_location_reads_as_its_frames_packed_or_not() {
        let frame = |name, inlined| Frame { name, inlined };
        let frames = vec![
            frame(7, false),
            frame(3, true),
            frame(4, false),
            frame(5, true),
            // Too large a name to pack.
            frame(u32::MAX >> 1, false),
        ];
        let spans = vec![(0, 1), (1, 2), (3, 0), (3, 1), (4, 1)];
        let stacks = Stacks {
            packed: packed(&spans, &frames),
            spans,
            frames,
            prune: Vec::new(),
            any_prune: false,
            one_each: false,
        };
        assert_eq!(stacks.packed[4], SEVERAL_FRAMES);
        for location in 0..5 {
            let read: Vec<(u32, bool)> = match stacks.location_frames(location) {
                LocationFrames::None => Vec::new(),
                LocationFrames::One(f) => vec![(f.name, f.inlined)],
                LocationFrames::Several(fs) => fs.iter().map(|f| (f.name, f.inlined)).collect(),
            };
            let expected: Vec<(u32, bool)> = stacks
                .frames(location)
                .iter()
                .map(|f| (f.name, f.inlined))
                .collect();
            assert_eq!(read, expected, "location {location}");
        }
    }

    #[test]
    fn names_are_numbered_in_the_order_first_interned_with_binaries() {
        let mut names = Names::default();
        assert_eq!(names.intern("main"), 0);
        assert_eq!(names.intern_binary(Some("/usr/lib/libc.so.6")), 1);
        assert_eq!(names.intern("work"), 2);
        assert_eq!(names.intern("main"), 0);
        // A function named like a binary's row is still a function of its own.
        assert_eq!(names.intern("[libc.so.6]"), 3);
        assert_eq!(names.intern_binary(Some("/usr/lib/libc.so.6")), 1);
        for i in 0..10_000 {
            assert_eq!(names.intern(&format!("f{i}")), 4 + i);
        }
        assert_eq!(names.intern("f42"), 46);
        assert_eq!(names.len(), 10_004);
    }

    #[test]
    fn simplify_keeps_reserved_parentheses() {
        assert_eq!(simplify_func("foo(int)"), "foo");
        assert_eq!(simplify_func(".bar"), "bar");
        assert_eq!(
            simplify_func("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(simplify_func("A::operator()(int)"), "A::operator()");
        assert_eq!(simplify_func("main.(*T).m"), "main.");
    }
}
