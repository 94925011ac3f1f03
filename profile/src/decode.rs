//! From bytes to a checked profile, whatever its format: gunzip when gzipped, then the
//! protobuf format, then each legacy format pprof reads (see [`crate::legacy`]), then,
//! for a refusal, what the bytes look like instead (see [`crate::sniff`]). Decoded
//! profiles are checked for what the rest of the crate relies on (string indices, sample
//! widths, location ids).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;

use prost::Message as _;
use rustc_hash::FxBuildHasher;

use crate::demangle;
use crate::error::{Error, Origin, Result};
use crate::legacy::{self, LegacyFormat, Outcome};
use crate::parallel;
use crate::proto;
use crate::samples::{self, Samples};
use crate::sniff::{self, Identified};
use crate::unsymbolized::Unsymbolized;

/// A decoded profile whose references have been checked.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Everything but the samples, which are in `samples`: `raw.sample` stays empty.
    pub(crate) raw: proto::Profile,
    pub(crate) samples: Samples,
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

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
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
        let data = gunzip(bytes, &origin)?;
        if looks_like_html(&data) {
            return Err(Error::Html { origin });
        }
        let not_protobuf = if data.is_empty() {
            Error::Decode {
                origin: origin.clone(),
                detail: "it is empty".into(),
            }
        } else {
            match decode_protobuf(&data, &origin) {
                Ok(profile) => return Ok(profile),
                Err(e) => e,
            }
        };
        match legacy::decode(&data, unsymbolized) {
            Outcome::Decoded(format, decoded) => {
                let (raw, samples) = *decoded;
                let format = Format::Legacy(format);
                Ok(Profile {
                    raw: checked(raw, &origin, format)?,
                    samples,
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
        self.samples.encode(&self.raw.location, &mut bytes);
        gzipped(bytes)
    }

    /// The string at index `i` of the string table (checked in [`Profile::decode`]).
    pub(crate) fn str(&self, i: i64) -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.raw.string_table.get(i))
            .map_or("", String::as_str)
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
fn check(p: &proto::Profile, origin: &Origin, format: Format) -> Result<()> {
    let not_profile = |detail: &str| {
        Err(Error::Decode {
            origin: origin.clone(),
            detail: detail.into(),
        })
    };
    if p.string_table.first().is_none_or(|s| !s.is_empty()) {
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
    let strings = p.string_table.len() as i64;
    let bad_str = |i: i64| !(0..strings).contains(&i);
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
    let functions: HashMap<u64, ()> = p.function.iter().map(|f| (f.id, ())).collect();
    for loc in &p.location {
        if loc.id == 0 {
            return fail("a location has id 0".into());
        }
        if let Some(line) = loc
            .line
            .iter()
            .find(|l| !functions.contains_key(&l.function_id))
        {
            return fail(format!(
                "location {} refers to unknown function {}",
                loc.id, line.function_id
            ));
        }
    }
    Ok(())
}

/// `raw` when it passes [`check`], its function names rewritten as pprof's symbolizer
/// rewrites them before any report (see [`crate::demangle`]).
fn checked(mut raw: proto::Profile, origin: &Origin, format: Format) -> Result<proto::Profile> {
    check(&raw, origin, format)?;
    demangle::simplify_function_names(&mut raw);
    Ok(raw)
}

/// Decodes a protobuf profile: prost for everything but the samples, which are read
/// straight into [`Samples`] with the location ids found beside them, while prost
/// decodes and [`checked`] checks the rest on another thread.
fn decode_protobuf(data: &[u8], origin: &Origin) -> Result<Profile> {
    let not_protobuf = |detail: String| Error::Decode {
        origin: origin.clone(),
        detail,
    };
    let split = samples::split_samples(data).map_err(not_protobuf)?;
    let index = LocationIndex::new(&split.location_ids);
    let read_samples = || {
        let mut samples = Samples::new(split.sample_types);
        // Each location id takes at least a byte.
        samples.reserve_locations(split.samples.iter().map(|m| m.len()).sum());
        for message in &split.samples {
            samples.push_encoded(message, &|id| index.get(id))?;
        }
        Ok::<_, String>(samples)
    };
    let decode_rest = || {
        let raw = proto::Profile::decode(split.rest.as_slice()).map_err(|e| e.to_string())?;
        Ok::<_, String>(checked(raw, origin, Format::Protobuf))
    };
    let (raw, samples) = parallel::join(decode_rest, read_samples);
    // The errors in the order one pass meets them: the rest, the samples, the check.
    let raw = raw.map_err(not_protobuf)?;
    let samples = samples.map_err(not_protobuf)?;
    Ok(Profile {
        raw: raw?,
        samples,
        origin: origin.clone(),
        format: Format::Protobuf,
    })
}

/// Index of a location id in a profile's locations.
enum LocationIndex {
    /// When ids are small: indexed by id, `u32::MAX` for none.
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32, FxBuildHasher>),
}

impl LocationIndex {
    fn new(ids: &[u64]) -> LocationIndex {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max <= 4 * ids.len() as u64 + 1024 {
            let mut dense = vec![u32::MAX; max as usize + 1];
            for (i, &id) in ids.iter().enumerate() {
                dense[id as usize] = i as u32;
            }
            LocationIndex::Dense(dense)
        } else {
            LocationIndex::Sparse(
                ids.iter()
                    .enumerate()
                    .map(|(i, &id)| (id, i as u32))
                    .collect(),
            )
        }
    }

    fn get(&self, id: u64) -> Option<u32> {
        match self {
            LocationIndex::Dense(v) => usize::try_from(id)
                .ok()
                .and_then(|i| v.get(i))
                .copied()
                .filter(|&i| i != u32::MAX),
            LocationIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}

/// `bytes` unzipped when they are gzipped (as pprof does, one layer), else as they are.
fn gunzip<'a>(bytes: &'a [u8], origin: &Origin) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(gzip_size_hint(bytes));
    match flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out) {
        Ok(_) => Ok(Cow::Owned(out)),
        Err(source) => Err(Error::Gzip {
            origin: origin.clone(),
            truncated: source.kind() == std::io::ErrorKind::UnexpectedEof,
            source,
        }),
    }
}

/// The uncompressed size a gzip stream announces in its trailer, capped so that a
/// corrupt trailer cannot make us reserve gigabytes.
fn gzip_size_hint(bytes: &[u8]) -> usize {
    let Some(tail) = bytes.len().checked_sub(4).map(|at| &bytes[at..]) else {
        return 0;
    };
    let announced = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    announced.min(bytes.len().saturating_mul(32)).min(1 << 30)
}

/// `bytes` gzipped, unless they already are (Go serves profiles gzipped).
pub fn gzipped(bytes: Vec<u8>) -> Vec<u8> {
    if is_gzip(&bytes) {
        return bytes;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match std::io::Write::write_all(&mut encoder, &bytes).and_then(|()| encoder.finish()) {
        Ok(out) => out,
        // Writing to memory cannot fail; keep the profile as it came if it somehow did.
        Err(_) => bytes,
    }
}
