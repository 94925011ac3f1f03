//! From bytes to a checked profile, whatever its format: gunzip when gzipped (reading a
//! protobuf profile's samples meanwhile, see [`crate::gzip`]), then the protobuf format,
//! then each legacy format pprof reads (see [`crate::legacy`]), then,
//! for a refusal, what the bytes look like instead (see [`crate::sniff`]). Decoded
//! profiles are checked for what the rest of the crate relies on (string indices, sample
//! widths, location ids).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use prost::Message as _;

use crate::demangle;
use crate::error::{Error, Origin, Result};
use crate::gzip::{self, gzipped, is_gzip};
use crate::ids::IdIndex;
use crate::legacy::{self, LegacyFormat, Outcome};
use crate::parallel;
use crate::proto;
use crate::samples::{Samples, Split, unknown_location};
use crate::sniff::{self, Identified};
use crate::stacks::{self, Names, Prebuilt};
use crate::strings::StringTable;
use crate::unsymbolized::Unsymbolized;

/// A decoded profile whose references have been checked.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Everything but the samples and the strings, which are in `samples` and `strings`:
    /// `raw.sample` and `raw.string_table` stay empty.
    pub(crate) raw: proto::Profile,
    pub(crate) strings: StringTable,
    pub(crate) samples: Samples,
    /// The stacks `top` makes first, made while the samples were read, for a protobuf
    /// profile decoded for `top` ([`Profile::decode_for_functions`]).
    pub(crate) prebuilt: Option<Arc<Prebuilt>>,
    pub origin: Origin,
    format: Format,
}

/// The format a profile was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Legacy(LegacyFormat),
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Protobuf => f.write_str("protobuf profile"),
            Format::Legacy(legacy) => legacy.fmt(f),
        }
    }
}

/// Whether `bytes` look like an HTML or XML page (an error page, a login form, the
/// `/debug/pprof/` index) rather than a profile.
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head: Vec<u8> = bytes[start..bytes.len().min(start + 64)]
        .iter()
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype") || head.starts_with(b"<html") || head.starts_with(b"<?xml")
}

impl Profile {
    /// Decodes a profile in any format pprof reads, gzipped or not. This and
    /// [`Profile::decode_for_functions`] are the crate's entry points from bytes: they
    /// return an error, and never panic, on any input.
    pub fn decode(bytes: &[u8], origin: Origin) -> Result<Profile> {
        Profile::decode_keeping(bytes, origin, Unsymbolized::ByAddress)
    }

    /// Decodes a profile for reports by function (`top`), which name each frame without
    /// symbols by its binary: `top` shows the same table for it as for
    /// [`Profile::decode`]'s. A legacy C++ CPU profile, whose frames all lack symbols, is
    /// then decoded with a location per binary rather than per address, at a fraction of
    /// the work. Anything that shows addresses or writes the profile out (folded stacks,
    /// flame graphs, `save`) needs [`Profile::decode`].
    pub fn decode_for_functions(bytes: &[u8], origin: Origin) -> Result<Profile> {
        Profile::decode_keeping(bytes, origin, Unsymbolized::ByBinary)
    }

    /// Decodes a profile, keeping of frames without symbols what `unsymbolized` names.
    fn decode_keeping(bytes: &[u8], origin: Origin, unsymbolized: Unsymbolized) -> Result<Profile> {
        if looks_like_html(bytes) {
            return Err(Error::Html { origin });
        }
        let (data, split, early) = if is_gzip(bytes) {
            let mut reading = Reading {
                split: Split::default(),
                early: EarlySamples::new(gzip::gzip_size_hint(bytes)),
            };
            let data = gzip::gunzip_while_reading(bytes, &origin, |data| reading.read(data))?;
            let split = reading.split.finish(&data);
            (Cow::Owned(data), split, Some(reading.early))
        } else {
            (Cow::Borrowed(bytes), Split::default().finish(bytes), None)
        };
        if looks_like_html(&data) {
            return Err(Error::Html { origin });
        }
        let not_protobuf = if data.is_empty() {
            Error::Decode {
                origin: origin.clone(),
                detail: "it is empty".into(),
            }
        } else {
            let decoded = split
                .map_err(|detail| Error::Decode {
                    origin: origin.clone(),
                    detail,
                })
                .and_then(|split| decode_protobuf(&data, split, early, &origin, unsymbolized));
            match decoded {
                Ok(profile) => return Ok(profile),
                Err(e) => e,
            }
        };
        match legacy::decode(&data, unsymbolized) {
            Outcome::Decoded(format, decoded) => {
                let (mut raw, mut strings, samples) = *decoded;
                let format = Format::Legacy(format);
                demangle::simplify_names(&mut raw.function, &mut strings);
                check(&raw, &strings, &origin, format)?;
                Ok(Profile {
                    raw,
                    strings,
                    samples,
                    prebuilt: None,
                    origin,
                    format,
                })
            }
            Outcome::Malformed(format, detail) => Err(Error::Malformed {
                origin,
                format: Format::Legacy(format),
                detail,
            }),
            Outcome::Unrecognized => Err(match sniff::identify(&data) {
                Some(Identified::NotProfile(what)) => Error::NotProfile {
                    origin,
                    what: if is_gzip(bytes) {
                        format!("gzipped, and once unzipped {what}")
                    } else {
                        what
                    },
                },
                Some(Identified::Unsupported { format, hint }) => Error::Unsupported {
                    origin,
                    format,
                    hint,
                },
                None => not_protobuf,
            }),
        }
    }

    /// The format the profile was read from.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The profile in pprof's protobuf encoding, gzipped: what Go serves and `go tool
    /// pprof` reads. A legacy profile comes out converted, with the same numbers.
    pub fn to_gzipped_protobuf(&self) -> Vec<u8> {
        let mut bytes = self.raw.encode_to_vec();
        self.strings.encode(&mut bytes);
        self.samples.encode(&self.raw.location, &mut bytes);
        gzipped(bytes)
    }

    /// The string at index `i` of the string table (checked in [`Profile::decode`]).
    pub(crate) fn str(&self, i: i64) -> &str {
        self.strings.str(i)
    }

    /// The sample types as (type, unit) pairs, in order.
    pub fn sample_types(&self) -> Vec<(String, String)> {
        self.raw
            .sample_type
            .iter()
            .map(|t| (self.str(t.r#type).to_string(), self.str(t.unit).to_string()))
            .collect()
    }

    /// Resolves `--sample-index` the way pprof does: a name (`inuse_` may be left out for
    /// legacy `space`/`objects` types), a position from 0, or, when not given, the
    /// profile's default sample type, else the last one.
    pub fn sample_index(&self, given: Option<&str>) -> Result<usize> {
        let types = self.sample_types();
        let Some(given) = given.filter(|g| !g.is_empty()) else {
            let default = self.str(self.raw.default_sample_type);
            if !default.is_empty()
                && let Some(i) = types.iter().position(|(t, _)| t == default)
            {
                return Ok(i);
            }
            return Ok(types.len() - 1);
        };
        let unknown = || Error::SampleIndex {
            given: given.to_string(),
            available: types.iter().map(|(t, _)| t.clone()).collect(),
        };
        if let Ok(i) = given.parse::<i64>() {
            return usize::try_from(i)
                .ok()
                .filter(|&i| i < types.len())
                .ok_or_else(unknown);
        }
        let no_inuse = given.strip_prefix("inuse_").unwrap_or(given);
        types
            .iter()
            .position(|(t, _)| t == given || t == no_inuse)
            .ok_or_else(unknown)
    }

    pub fn time_nanos(&self) -> i64 {
        self.raw.time_nanos
    }

    pub fn duration_nanos(&self) -> i64 {
        self.raw.duration_nanos
    }
}

/// Checks what the rest of the crate relies on. Bytes without a profile's shape are
/// no profile; a profile whose parts refer to parts it lacks is a malformed one.
fn check(p: &proto::Profile, strings: &StringTable, origin: &Origin, format: Format) -> Result<()> {
    let not_profile = |detail: &str| {
        Err(Error::Decode {
            origin: origin.clone(),
            detail: detail.into(),
        })
    };
    if strings.get(0) != Some("") {
        return not_profile("its string table does not start with the empty string");
    }
    if p.sample_type.is_empty() {
        return not_profile("it declares no sample types");
    }
    let fail = |detail: String| {
        Err(Error::Malformed {
            origin: origin.clone(),
            format,
            detail,
        })
    };
    let bad_str = |i: i64| strings.get(i).is_none();
    let types = p.sample_type.iter().chain(p.period_type.as_ref());
    if types
        .into_iter()
        .any(|t| bad_str(t.r#type) || bad_str(t.unit))
        || [
            p.drop_frames,
            p.keep_frames,
            p.default_sample_type,
            p.doc_url,
        ]
        .into_iter()
        .chain(p.comment.iter().copied())
        .any(bad_str)
    {
        return fail("a string index is out of range".into());
    }
    if p.mapping
        .iter()
        .any(|m| bad_str(m.filename) || bad_str(m.build_id))
        || p.function
            .iter()
            .any(|f| bad_str(f.name) || bad_str(f.system_name) || bad_str(f.filename))
    {
        return fail("a string index is out of range".into());
    }
    let functions = IdIndex::new(p.function.iter().map(|f| f.id));
    for loc in &p.location {
        if loc.id == 0 {
            return fail("a location has id 0".into());
        }
        if let Some(line) = loc
            .line
            .iter()
            .find(|l| functions.get(l.function_id).is_none())
        {
            return fail(format!(
                "location {} refers to unknown function {}",
                loc.id, line.function_id
            ));
        }
    }
    Ok(())
}

/// A gzipped protobuf profile read as it is unzipped: its fields split, and its samples
/// read early.
struct Reading {
    split: Split,
    early: EarlySamples,
}

impl Reading {
    /// Reads what `data`, the bytes unzipped so far, adds to those read before: all its
    /// fields, and then a step of the samples among them. Returns whether samples are
    /// left to read: they take longer than the rest, so that reading them may fall
    /// behind the unzipping, but splitting the fields keeps up with it.
    fn read(&mut self, data: &[u8]) -> bool {
        // A field cut short is read again with more bytes; one malformed is refused
        // once all the bytes are in.
        let _ = self.split.read(data);
        self.early.read(&self.split, data, SAMPLES_STEP)
    }
}

/// How many bytes of samples are read early at a time, between looks at whether all is
/// unzipped.
const SAMPLES_STEP: usize = 64 << 10;

/// The samples of a protobuf profile read as its bytes arrive, before its locations
/// are. Each location is kept as its id less one: the index it has when the locations
/// are numbered 1, 2, 3 and so on, as Go and most writers number them. Otherwise it is
/// resolved once all ids are known.
struct EarlySamples {
    /// The samples read, from the first; `None` before it, and once a sample could not
    /// be read so: the samples are then read again with the locations known, which
    /// reports any error in its place.
    samples: Option<Samples>,
    /// How many of the split's samples have been seen.
    seen: usize,
    /// How many bytes the whole profile is expected to have.
    size_hint: usize,
    /// The largest location kept, so that one comparison tells whether all are indices
    /// of locations.
    largest: u32,
}

impl EarlySamples {
    fn new(size_hint: usize) -> EarlySamples {
        EarlySamples {
            samples: None,
            seen: 0,
            size_hint,
            largest: 0,
        }
    }

    /// The samples, when every one of `split`'s before `end` was read early, with as
    /// many values as it declares sample types, and the largest location kept.
    fn finish(self, split: &Split, end: usize) -> Option<(Samples, u32)> {
        self.samples
            .filter(|s| self.seen == end && s.width() == split.sample_types)
            .map(|samples| (samples, self.largest))
    }

    /// Reads the split's samples not read yet, until about `budget` bytes of them are;
    /// returns whether any are left.
    fn read(&mut self, split: &Split, data: &[u8], budget: usize) -> bool {
        self.read_until(split, data, split.samples.len(), budget)
    }

    /// [`EarlySamples::read`] of the samples before `end` only.
    fn read_until(&mut self, split: &Split, data: &[u8], end: usize, budget: usize) -> bool {
        // Nothing, once given up.
        let new = split.samples.get(self.seen..end).unwrap_or_default();
        if self.seen == 0 && !new.is_empty() {
            // The sample types come before the samples, as Go and others write them; when
            // more come later, the widths differ and the samples are read again.
            let mut samples = Samples::new(split.sample_types);
            // Each location id takes at least a byte.
            samples.reserve_locations(self.size_hint.max(data.len()));
            self.samples = Some(samples);
        }
        let Some(samples) = &mut self.samples else {
            self.seen = split.samples.len();
            return false;
        };
        let mut read = 0;
        for range in new {
            if read >= budget {
                return true;
            }
            read += range.len();
            self.seen += 1;
            if samples
                .push_encoded(&data[range.clone()], &id_as_index)
                .is_ok()
            {
                let sample = samples.get(samples.len() - 1);
                self.largest = self.largest.max(largest(sample.locations));
            } else {
                self.samples = None;
                self.seen = split.samples.len();
                return false;
            }
        }
        false
    }
}

/// A location id as the index it has when locations are numbered 1, 2, 3 and so on.
fn id_as_index(id: u64) -> Option<u32> {
    u32::try_from(id.wrapping_sub(1)).ok()
}

/// Samples handed out in runs from both ends of a range, so that two threads read them
/// at once, each as long as it has time: the thread that reads from the back starts
/// once it has decoded the rest of the profile.
struct Claims(Mutex<Range<usize>>);

/// How many samples are claimed at a time: enough that claiming costs nothing to speak
/// of, few enough that the two ends meet at about the same moment.
const CLAIM: usize = 128;

impl Claims {
    fn front(&self) -> Option<Range<usize>> {
        let mut left = parallel::lock(&self.0);
        let end = left.end.min(left.start + CLAIM);
        let run = left.start..end;
        left.start = end;
        (!run.is_empty()).then_some(run)
    }

    fn back(&self) -> Option<Range<usize>> {
        let mut left = parallel::lock(&self.0);
        let start = left.start.max(left.end.saturating_sub(CLAIM));
        let run = start..left.end;
        left.end = start;
        (!run.is_empty()).then_some(run)
    }
}

/// Reads the runs of samples that `claims` hands out from the back, until the ends
/// meet, each into samples of its own, last first. Stops at the first sample it cannot
/// read.
fn read_from_back(
    claims: &Claims,
    split: &Split,
    data: &[u8],
    location: &impl Fn(u64) -> Option<u32>,
) -> Result<Vec<Samples>, String> {
    let mut runs = Vec::new();
    while let Some(run) = claims.back() {
        let mut samples = Samples::new(split.sample_types);
        read_run(&mut samples, split, data, run, location)?;
        runs.push(samples);
    }
    Ok(runs)
}

/// Adds the split's samples in `run` to `samples`.
fn read_run(
    samples: &mut Samples,
    split: &Split,
    data: &[u8],
    run: Range<usize>,
    location: &impl Fn(u64) -> Option<u32>,
) -> Result<(), String> {
    let messages = &split.samples[run];
    // Each location id takes at least a byte.
    samples.reserve_locations(messages.iter().map(|m| m.len()).sum());
    for message in messages {
        samples.push_encoded(&data[message.clone()], location)?;
    }
    Ok(())
}

/// The largest of `locations`, 0 for none. Kept in eight lanes of their own: one running
/// maximum waits on each comparison before it, while eight let the compiler compare
/// several ids at once in vector registers (compare and select, as x86-64's baseline has
/// no unsigned 32-bit maximum).
fn largest(locations: &[u32]) -> u32 {
    let mut lanes = [0; 8];
    let mut chunks = locations.chunks_exact(lanes.len());
    for chunk in &mut chunks {
        for (lane, &location) in lanes.iter_mut().zip(chunk) {
            *lane = (*lane).max(location);
        }
    }
    let rest = chunks.remainder().iter();
    lanes.into_iter().chain(rest.copied()).max().unwrap_or(0)
}

/// Decodes a split protobuf profile: prost for everything but the samples and the strings
/// (copied as they were split), while the samples are read straight into [`Samples`]
/// with the location ids found beside them, or, when `early` has read most of them as
/// the profile was unzipped, the last read there too, and all resolved unless the
/// locations are numbered from 1. That costs little: prost then decodes in two parts at
/// once, to keep both cores busy. On a large profile the samples take longest: the
/// thread that decoded the rest then makes `top`'s stacks, for reports by function, and
/// reads samples from the back while this one reads them from the front.
fn decode_protobuf(
    data: &[u8],
    mut split: Split,
    early: Option<EarlySamples>,
    origin: &Origin,
    unsymbolized: Unsymbolized,
) -> Result<Profile> {
    let strings = std::mem::take(&mut split.strings);
    let not_protobuf = |detail: String| Error::Decode {
        origin: origin.clone(),
        detail,
    };
    let index = IdIndex::new(split.location_ids.iter().copied());
    let by_index = |id: u64| index.get(id);
    // Read as the profile was unzipped: then prost decodes in two parts, and the samples
    // keep their ids as if numbered from 1 until all ids are known.
    let read_early = early.is_some();
    let claims = &Claims(Mutex::new(
        early.as_ref().map_or(0, |early| early.seen)..split.samples.len(),
    ));
    let read_front = || match early {
        Some(mut early) => {
            let mut end = early.seen;
            while let Some(run) = claims.front() {
                end = run.end;
                early.read_until(&split, data, end, usize::MAX);
            }
            Ok(early.finish(&split, end))
        }
        None => {
            let mut samples = Samples::new(split.sample_types);
            while let Some(run) = claims.front() {
                read_run(&mut samples, &split, data, run, &by_index)?;
            }
            Ok::<_, String>(Some((samples, 0)))
        }
    };
    let decode_rest = || {
        let places = || split.places.decode_places(data);
        // The functions' names are simplified, and numbered for `top`, beside the
        // locations: they need only the functions.
        let rest_and_names = || {
            let mut strings = strings;
            let mut rest = split.rest.decode(data).map_err(|e| e.to_string())?;
            rest.function = split.functions.decode_functions(data)?;
            demangle::simplify_names(&mut rest.function, &mut strings);
            let top_names = (unsymbolized == Unsymbolized::ByBinary).then(|| {
                let mut names = Names::default();
                let ids = stacks::function_names(&rest.function, &strings, &mut names);
                (names, ids)
            });
            Ok::<_, String>((rest, strings, top_names))
        };
        let (places, rest) = if read_early {
            parallel::join(places, rest_and_names)
        } else {
            (places(), rest_and_names())
        };
        let (mut raw, strings, top_names) = rest?;
        (raw.mapping, raw.location) = places?;
        if let Err(e) = check(&raw, &strings, origin, Format::Protobuf) {
            return Ok(Err(e));
        }
        // `top`'s stacks, made here while the other thread may still be reading samples.
        let prebuilt = top_names
            .and_then(|(names, ids)| Prebuilt::new(&raw, &strings, names, &ids))
            .map(Arc::new);
        Ok::<_, String>(Ok((raw, strings, prebuilt)))
    };
    let decode_rest_then_read = || {
        let rest = decode_rest();
        let back = if read_early {
            read_from_back(claims, &split, data, &id_as_index)
        } else {
            read_from_back(claims, &split, data, &by_index)
        };
        (rest, back)
    };
    let ((raw, back), front) = parallel::join(decode_rest_then_read, read_front);
    let read_again = || {
        let mut samples = Samples::new(split.sample_types);
        read_run(
            &mut samples,
            &split,
            data,
            0..split.samples.len(),
            &by_index,
        )?;
        Ok::<_, String>(samples)
    };
    // The front's error, if any, is the first in the profile; else the back's.
    let samples = match (front, back) {
        (Ok(Some((mut samples, largest_in_front))), Ok(back)) => {
            let front_locations = samples.location_count();
            for run in back.iter().rev() {
                samples.append(run);
            }
            match index {
                _ if !read_early => Ok(samples),
                IdIndex::Consecutive { first: 1, len }
                    if largest_in_front.max(largest(samples.locations_from(front_locations)))
                        < len =>
                {
                    Ok(samples)
                }
                _ => samples
                    .resolve_locations(|kept| {
                        let id = u64::from(kept) + 1;
                        index.get(id).ok_or_else(|| unknown_location(id))
                    })
                    .map(|()| samples),
            }
        }
        (Err(front), _) => Err(front),
        (Ok(_), Err(back)) if !read_early => Err(back),
        // Read early as if numbered from 1, and some could not be: read again.
        _ => read_again(),
    };
    // The errors in the order one pass meets them: the rest, the samples, the check.
    let raw = raw.map_err(not_protobuf)?;
    let samples = samples.map_err(not_protobuf)?;
    let (raw, strings, prebuilt) = raw?;
    Ok(Profile {
        raw,
        strings,
        samples,
        prebuilt,
        origin: origin.clone(),
        format: Format::Protobuf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_location_is_found_in_any_lane_and_in_the_rest() {
        assert_eq!(largest(&[]), 0);
        for len in 1..40u32 {
            for at in 0..len {
                let mut locations: Vec<u32> = (0..len).map(|i| i % 5).collect();
                locations[at as usize] = u32::MAX - at;
                assert_eq!(largest(&locations), u32::MAX - at, "{len} {at}");
            }
        }
    }

    /// A profile of `samples` samples over 300 locations with the ids `location_id`
    /// gives, encoded with its sample types before the samples or after them.
    fn encoded(samples: u64, location_id: impl Fn(u64) -> u64, types_first: bool) -> Vec<u8> {
        let sample_type = vec![
            proto::ValueType { r#type: 1, unit: 2 },
            proto::ValueType { r#type: 3, unit: 4 },
        ];
        let profile = proto::Profile {
            sample_type: if types_first {
                sample_type.clone()
            } else {
                Vec::new()
            },
            sample: (0..samples)
                .map(|i| proto::Sample {
                    location_id: (0..1 + i % 40)
                        .map(|d| location_id((i * 7 + d) % 300))
                        .collect(),
                    value: vec![1, i as i64 * 10_000],
                    label: Vec::new(),
                })
                .collect(),
            location: (0..300)
                .map(|l| proto::Location {
                    id: location_id(l),
                    line: vec![proto::Line {
                        function_id: l % 50 + 1,
                        ..proto::Line::default()
                    }],
                    ..proto::Location::default()
                })
                .collect(),
            function: (1..=50)
                .map(|id| proto::Function {
                    id,
                    name: 4 + id as i64,
                    ..proto::Function::default()
                })
                .collect(),
            string_table: ["", "samples", "count", "cpu", "nanoseconds"]
                .into_iter()
                .map(String::from)
                .chain((1..=50).map(|f| format!("f{f}")))
                .collect(),
            ..proto::Profile::default()
        };
        let mut bytes = profile.encode_to_vec();
        if !types_first {
            // Fields given again later add to those before, as protobuf merges them.
            let types = proto::Profile {
                sample_type,
                ..proto::Profile::default()
            };
            bytes.extend(types.encode_to_vec());
        }
        bytes
    }

    fn decoded(bytes: &[u8]) -> std::result::Result<String, String> {
        Profile::decode(bytes, Origin::Stdin)
            .map(|p| format!("{:?} {:?} {:?}", p.raw, p.strings, p.samples))
            .map_err(|e| e.to_string())
    }

    /// Reads the first `shown` of `bytes` as [`gzip::gunzip_while_reading`] shows them,
    /// `piece` at a time, then splits them all. Each piece is read once, as when reading
    /// the samples falls behind the unzipping.
    fn read_early(bytes: &[u8], piece: usize, shown: usize) -> (Split, EarlySamples) {
        let mut reading = Reading {
            split: Split::default(),
            early: EarlySamples::new(bytes.len()),
        };
        for end in (piece..shown).step_by(piece).chain([shown]) {
            reading.read(&bytes[..end]);
        }
        (reading.split.finish(bytes).unwrap(), reading.early)
    }

    #[test]
    fn a_gzipped_profile_read_as_it_is_unzipped_decodes_as_one_read_whole() {
        let small_ids = |l: u64| l + 1;
        let cases = [
            ("plain", encoded(6_000, small_ids, true), true),
            ("types last", encoded(6_000, small_ids, false), false),
            ("wide ids", encoded(6_000, |l| (l + 1) << 33, true), false),
            (
                "sparse ids",
                encoded(6_000, |l| (l + 1) * 1_000_003, true),
                true,
            ),
            ("ids from 5", encoded(6_000, |l| l + 5, true), true),
            ("ids backwards", encoded(6_000, |l| 300 - l, true), true),
        ];
        for (name, bytes, early) in cases {
            // Larger than the pieces unzipped at a time, so that it comes in several.
            assert!(bytes.len() > 200_000, "{name}: {} bytes", bytes.len());
            let whole = decoded(&bytes);
            assert!(whole.is_ok(), "{name}: {whole:?}");
            assert_eq!(decoded(&gzipped(bytes.clone())), whole, "{name}");
            // Unzipping may end before reading does, which goes on with the rest.
            for (piece, shown) in [(1_000, bytes.len()), (4_096, 100_000), (100_000, 0)] {
                let (split, mut read) = read_early(&bytes, piece, shown);
                read.read(&split, &bytes, usize::MAX);
                let case = format!("{name}, {shown} bytes shown {piece} at a time");
                // Read from the start once every sample type is known, the samples of a
                // profile whose types come last are read early too.
                let expected = early || (shown == 0 && name == "types last");
                let end = split.samples.len();
                assert_eq!(read.finish(&split, end).is_some(), expected, "{case}");
                let (split, read) = read_early(&bytes, piece, shown);
                let profile = decode_protobuf(
                    &bytes,
                    split,
                    Some(read),
                    &Origin::Stdin,
                    Unsymbolized::ByAddress,
                );
                let profile =
                    profile.map(|p| format!("{:?} {:?} {:?}", p.raw, p.strings, p.samples));
                assert_eq!(profile.map_err(|e| e.to_string()), whole, "{case}");
            }
        }
    }

    #[test]
    fn claims_from_both_ends_hand_out_every_sample_once() {
        for len in [0, 1, CLAIM - 1, CLAIM, 5 * CLAIM + 3] {
            let claims = Claims(Mutex::new(2..2 + len));
            let (mut front, mut back) = (Vec::new(), Vec::new());
            for turn in 0.. {
                let run = if turn % 3 == 0 {
                    claims.back()
                } else {
                    claims.front()
                };
                match run {
                    Some(run) if turn % 3 == 0 => back.push(run),
                    Some(run) => front.push(run),
                    None if !parallel::lock(&claims.0).is_empty() => {}
                    None => break,
                }
            }
            let order: Vec<usize> = front
                .into_iter()
                .chain(back.into_iter().rev())
                .flatten()
                .collect();
            assert_eq!(order, (2..2 + len).collect::<Vec<_>>(), "{len}");
        }
    }

    #[test]
    fn samples_read_from_both_ends_are_those_of_the_profile_in_order() {
        let bytes = encoded(6_000, |l| 300 - l, true);
        let wire = proto::Profile::decode(bytes.as_slice()).unwrap();
        for bytes in [gzipped(bytes.clone()), bytes] {
            let profile = Profile::decode_for_functions(&bytes, Origin::Stdin).unwrap();
            assert_eq!(profile.samples.len(), wire.sample.len());
            for (read, sample) in profile.samples.iter().zip(&wire.sample) {
                let ids: Vec<u64> = read
                    .locations
                    .iter()
                    .map(|&l| profile.raw.location[l as usize].id)
                    .collect();
                assert_eq!(ids, sample.location_id);
                assert_eq!(read.values, sample.value);
            }
        }
    }

    #[test]
    fn the_first_bad_sample_is_reported_wherever_it_lies() {
        let mut wire = proto::Profile::decode(encoded(6_000, |l| l + 1, true).as_slice()).unwrap();
        wire.sample[2_500].location_id.push(301);
        wire.sample[4_000].location_id.push(302);
        wire.sample[5_900].value.push(1);
        let bytes = wire.encode_to_vec();
        let whole = decoded(&bytes).unwrap_err();
        assert!(whole.contains("unknown location 301"), "{whole}");
        assert_eq!(decoded(&gzipped(bytes)).unwrap_err(), whole);
        wire.sample[2_500].location_id.pop();
        wire.sample[4_000].location_id.pop();
        let bytes = wire.encode_to_vec();
        let whole = decoded(&bytes).unwrap_err();
        assert!(whole.contains("3 values"), "{whole}");
        assert_eq!(decoded(&gzipped(bytes)).unwrap_err(), whole);
    }

    #[test]
    fn a_gzipped_profile_is_refused_as_one_read_whole() {
        let mut unknown_location = encoded(6_000, |l| l + 1, true);
        // A sample of location 301, one past the last.
        unknown_location.extend([0x12, 0x08, 0x0a, 0x02, 0xad, 0x02, 0x12, 0x02, 0x01, 0x01]);
        let mut location_0 = encoded(6_000, |l| l + 1, true);
        location_0.extend([0x12, 0x07, 0x0a, 0x01, 0x00, 0x12, 0x02, 0x01, 0x01]);
        let mut truncated = encoded(10, |l| l + 1, true);
        truncated.truncate(truncated.len() - 3);
        // A third sample type after the samples, which have two values each.
        let mut type_after = encoded(6_000, |l| l + 1, true);
        type_after.extend([0x0a, 0x04, 0x08, 0x01, 0x10, 0x02]);
        for bytes in [unknown_location, location_0, truncated, type_after] {
            let whole = decoded(&bytes);
            assert!(whole.is_err());
            assert_eq!(decoded(&gzipped(bytes)), whole);
        }
    }
}
