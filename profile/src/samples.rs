//! A decoded profile's samples, stored flat: location indices back to back, values
//! `width` at a time, and labels, with one span per sample. Large CPU profiles carry
//! millions of frames, and one small vector per sample (as the wire model has them) costs
//! an allocation each and twice the memory; this form costs neither, refers to
//! locations by their index in the profile (not by id), and is read straight from the
//! protobuf bytes.

use std::ops::Range;

use prost::Message as _;

use crate::parallel;
use crate::proto;
use crate::strings::{self, StringTable};

/// The samples of one profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples {
    width: usize,
    values: Vec<i64>,
    /// Indices into the profile's `location`, leaf first, every sample's back to back.
    locations: Vec<u32>,
    /// Per sample: its locations as `locations[start..end]`.
    spans: Vec<(usize, usize)>,
    labels: Vec<proto::Label>,
    /// Per sample: its labels as `labels[start..end]`.
    label_spans: Vec<(usize, usize)>,
}

/// One sample, borrowed from [`Samples`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample<'a> {
    /// Location indices, leaf first.
    pub(crate) locations: &'a [u32],
    pub(crate) values: &'a [i64],
    pub(crate) labels: &'a [proto::Label],
}

impl Samples {
    /// No samples yet; each will have `width` values, one per sample type.
    pub(crate) fn new(width: usize) -> Samples {
        Samples {
            width,
            values: Vec::new(),
            locations: Vec::new(),
            spans: Vec::new(),
            labels: Vec::new(),
            label_spans: Vec::new(),
        }
    }

    /// Samples whose location indices are laid out already, back to back: each sample
    /// takes the next `len` of `locations`, and has `values`, one per sample type.
    pub(crate) fn laid_out<V: AsRef<[i64]>>(
        width: usize,
        locations: Vec<u32>,
        samples: impl ExactSizeIterator<Item = (usize, V)>,
    ) -> Samples {
        let mut laid = Samples::new(width);
        laid.locations = locations;
        laid.spans.reserve(samples.len());
        laid.label_spans.reserve(samples.len());
        laid.values.reserve(samples.len() * width);
        let mut start = 0;
        for (len, values) in samples {
            laid.values.extend_from_slice(values.as_ref());
            laid.spans.push((start, start + len));
            laid.label_spans.push((0, 0));
            start += len;
        }
        laid
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// How many values each sample has.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// How many location indices the samples hold.
    pub(crate) fn location_count(&self) -> usize {
        self.locations.len()
    }

    /// The location indices of every sample, back to back, from the `start`th on.
    pub(crate) fn locations_from(&self, start: usize) -> &[u32] {
        &self.locations[start..]
    }

    /// Splits the samples into `parts` ranges (at least one) of about as many
    /// locations each.
    pub(crate) fn split(&self, parts: usize) -> Vec<Range<usize>> {
        parallel::split(&self.spans, parts, self.locations.len(), |&(start, _)| {
            start
        })
    }

    pub(crate) fn get(&self, i: usize) -> Sample<'_> {
        let (start, end) = self.spans[i];
        let (label_start, label_end) = self.label_spans[i];
        Sample {
            locations: &self.locations[start..end],
            values: &self.values[i * self.width..(i + 1) * self.width],
            labels: &self.labels[label_start..label_end],
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Sample<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Makes room for `n` more location indices in one allocation, so that the indices
    /// of a large profile are not copied as they grow. Room not used costs no memory.
    pub(crate) fn reserve_locations(&mut self, n: usize) {
        self.locations.reserve(n);
    }

    /// Adds `other`'s samples after these; both have the same width.
    pub(crate) fn append(&mut self, other: &Samples) {
        debug_assert_eq!(self.width, other.width);
        let (locations, labels) = (self.locations.len(), self.labels.len());
        self.locations.extend_from_slice(&other.locations);
        self.values.extend_from_slice(&other.values);
        self.labels.extend_from_slice(&other.labels);
        let shifted = |by: usize| move |&(start, end): &(usize, usize)| (start + by, end + by);
        self.spans
            .extend(other.spans.iter().map(shifted(locations)));
        self.label_spans
            .extend(other.label_spans.iter().map(shifted(labels)));
    }

    /// Adds a sample. `values` must hold one value per sample type.
    pub(crate) fn push(
        &mut self,
        locations: impl IntoIterator<Item = u32>,
        values: &[i64],
        labels: &[proto::Label],
    ) -> Result<(), String> {
        let start = self.ends();
        self.locations.extend(locations);
        self.values.extend_from_slice(values);
        self.labels.extend_from_slice(labels);
        self.end_sample(start, Ok(()))
    }

    /// Removes the second frame of sample `i` (the leaf stays), when it has one.
    pub(crate) fn remove_second_frame(&mut self, i: usize) {
        let (start, end) = self.spans[i];
        if end - start >= 2 {
            self.locations[start + 1] = self.locations[start];
            self.spans[i].0 = start + 1;
        }
    }

    /// The values of the last sample added, to add to them.
    pub(crate) fn last_values_mut(&mut self) -> Option<&mut [i64]> {
        let from = self.values.len().checked_sub(self.width)?;
        Some(&mut self.values[from..])
    }

    /// Every label of every sample, to fill in their keys.
    pub(crate) fn labels_mut(&mut self) -> &mut [proto::Label] {
        &mut self.labels
    }

    /// Appends the samples to `out` as the `sample` field of an encoded `Profile`, with
    /// each location index turned back into the id of `locations[index]`.
    pub(crate) fn encode(&self, locations: &[proto::Location], out: &mut Vec<u8>) {
        for sample in self.iter() {
            let wire = proto::Sample {
                location_id: sample
                    .locations
                    .iter()
                    .map(|&l| locations[l as usize].id)
                    .collect(),
                value: sample.values.to_vec(),
                label: sample.labels.to_vec(),
            };
            out.push(SAMPLE_KEY);
            wire.encode_length_delimited(out)
                .expect("a Vec<u8> grows as needed");
        }
    }

    /// Turns each location, kept by [`Samples::push_encoded`] as a number from its id
    /// while the location ids were not yet known, into its index by `index`.
    pub(crate) fn resolve_locations(
        &mut self,
        index: impl Fn(u32) -> Result<u32, String>,
    ) -> Result<(), String> {
        for location in &mut self.locations {
            *location = index(*location)?;
        }
        Ok(())
    }

    /// Decodes one `Sample` message and adds it. `location` maps a location id to its
    /// index, or `None` for an id no location has.
    pub(crate) fn push_encoded(
        &mut self,
        message: &[u8],
        location: &impl Fn(u64) -> Option<u32>,
    ) -> Result<(), String> {
        let start = self.ends();
        let read = self.append_fields(message, location);
        self.end_sample(start, read)
    }

    /// Appends the locations, values and labels of a `Sample` message.
    fn append_fields(
        &mut self,
        mut message: &[u8],
        location: &impl Fn(u64) -> Option<u32>,
    ) -> Result<(), String> {
        while !message.is_empty() {
            match read_key(&mut message)? {
                (1, WIRE_VARINT) => {
                    let id = read_varint(&mut message)?;
                    self.locations
                        .push(location(id).ok_or_else(|| unknown_location(id))?);
                }
                (1, WIRE_LEN) => {
                    push_locations(&mut self.locations, read_len(&mut message)?, location)?;
                }
                (2, WIRE_VARINT) => self.values.push(read_varint(&mut message)? as i64),
                (2, WIRE_LEN) => {
                    let mut packed = read_len(&mut message)?;
                    while !packed.is_empty() {
                        self.values.push(read_varint(&mut packed)? as i64);
                    }
                }
                (3, WIRE_LEN) => {
                    let label =
                        proto::Label::decode(read_len(&mut message)?).map_err(|e| e.to_string())?;
                    self.labels.push(label);
                }
                (_, wire) => skip(&mut message, wire)?,
            }
        }
        Ok(())
    }

    /// Where the next sample's locations, values and labels start.
    fn ends(&self) -> (usize, usize, usize) {
        (self.locations.len(), self.values.len(), self.labels.len())
    }

    /// Ends the sample appended since `start`: records it when it was appended whole,
    /// with one value per sample type, else removes what was appended.
    fn end_sample(
        &mut self,
        start: (usize, usize, usize),
        appended: Result<(), String>,
    ) -> Result<(), String> {
        let (locations, values, labels) = start;
        let result = appended.and_then(|()| match self.values.len() - values {
            n if n == self.width => Ok(()),
            n => Err(width_mismatch(n, self.width)),
        });
        match result {
            Ok(()) => {
                self.spans.push((locations, self.locations.len()));
                self.label_spans.push((labels, self.labels.len()));
            }
            Err(_) => {
                self.locations.truncate(locations);
                self.values.truncate(values);
                self.labels.truncate(labels);
            }
        }
        result
    }
}

/// Appends the location of each id in `packed`, the ids of a sample one after another:
/// millions of them in a large profile.
fn push_locations(
    locations: &mut Vec<u32>,
    mut packed: &[u8],
    location: &impl Fn(u64) -> Option<u32>,
) -> Result<(), String> {
    // Each id takes at least a byte: room for as many as there are bytes, written as a
    // slice, not pushed, so that the count stays in a register. The room is not zeroed
    // first: that would touch more memory than the ids need, and a sample may be large.
    locations.reserve(packed.len());
    let room = &mut locations.spare_capacity_mut()[..packed.len()];
    let mut read = 0;
    let result = loop {
        if packed.is_empty() {
            break Ok(());
        }
        let id = match read_varint(&mut packed) {
            Ok(id) => id,
            Err(e) => break Err(e),
        };
        match location(id) {
            Some(index) => room[read].write(index),
            None => break Err(unknown_location(id)),
        };
        read += 1;
    };
    // SAFETY: the first `read` ids after the length were written just above, within
    // the capacity reserved.
    unsafe { locations.set_len(locations.len() + read) };
    result
}

pub(crate) fn unknown_location(id: u64) -> String {
    format!("a sample refers to unknown location {id}")
}

fn width_mismatch(values: usize, width: usize) -> String {
    format!("a sample has {values} values but the profile declares {width} sample types")
}

/// The key of `Profile.sample` (field 2, length-delimited).
const SAMPLE_KEY: u8 = 2 << 3 | WIRE_LEN;
const WIRE_VARINT: u8 = 0;
const WIRE_64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_32: u8 = 5;
/// `Profile.sample_type`.
const SAMPLE_TYPE: u64 = 1;
/// `Profile.sample`.
const SAMPLE: u64 = 2;
/// `Profile.mapping`.
const MAPPING: u64 = 3;
/// `Profile.location`.
const LOCATION: u64 = 4;
/// `Profile.function`.
const FUNCTION: u64 = 5;

/// An encoded `Profile` split into its `sample` messages, its strings, its mappings and
/// locations, its functions, and the rest, for the parts to be read on two threads. The
/// bytes may be read as they arrive, as far as they go each time (see [`Split::read`]).
///
/// Refuses what pprof's own decoder refuses: truncated fields, field number 0, and wire
/// types other than varint, 64-bit, length-delimited and 32-bit. A string that is not
/// UTF-8 is made so, its bad bytes replaced by U+FFFD: pprof reads strings as bytes,
/// where prost would refuse the whole profile.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// Where each `sample` message lies in the bytes.
    pub(crate) samples: Vec<Range<usize>>,
    /// How many sample types the profile declares.
    pub(crate) sample_types: usize,
    /// The id of each location, in order: the samples can be read with them before the
    /// rest is decoded.
    pub(crate) location_ids: Vec<u64>,
    /// The `mapping` and `location` fields.
    pub(crate) places: Fields,
    /// The `function` fields.
    pub(crate) functions: Fields,
    /// The string table, copied as it is read.
    pub(crate) strings: StringTable,
    /// The other fields.
    pub(crate) rest: Fields,
    /// How far the bytes have been read: whole fields only.
    read: usize,
    /// The start of the run of read fields not yet added to `rest`.
    run: usize,
}

/// Some of the fields of an encoded `Profile`, in order, decoded as one message: runs of
/// the profile's bytes, which are not copied.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    runs: Vec<Range<usize>>,
    /// How many locations or functions the fields hold, to make room for all at once.
    count: usize,
}

impl Fields {
    /// Adds the fields at `run` in the bytes, as part of the run before when they follow
    /// it.
    fn push_run(&mut self, run: Range<usize>) {
        if run.is_empty() {
            return;
        }
        if let Some(last) = self.runs.last_mut()
            && last.end == run.start
        {
            last.end = run.end;
        } else {
            self.runs.push(run);
        }
    }

    /// Decodes the fields, whose runs are in `data`. Protobuf reads a message given in
    /// parts, each of whole fields, as the parts put together.
    pub(crate) fn decode(&self, data: &[u8]) -> Result<proto::Profile, prost::DecodeError> {
        let mut profile = proto::Profile::default();
        for run in &self.runs {
            profile.merge(&data[run.clone()])?;
        }
        Ok(profile)
    }

    /// Decodes [`Split::places`]: the profile's mappings and locations, whose runs are in
    /// `data`. The locations are read here, not by prost, which takes twice as long on
    /// the tens of thousands of a large profile: it grows each location's lines one at a
    /// time, where here they are allocated once, at their size.
    pub(crate) fn decode_places(
        &self,
        data: &[u8],
    ) -> Result<(Vec<proto::Mapping>, Vec<proto::Location>), String> {
        let mut mappings = Vec::new();
        let mut locations = Vec::with_capacity(self.count);
        let mut lines = Vec::new();
        self.for_each_message(data, |field, message| {
            if field == LOCATION {
                locations.push(decode_location(message, &mut lines)?);
            } else {
                // The places hold mappings and locations only.
                mappings.push(proto::Mapping::decode(message).map_err(|e| e.to_string())?);
            }
            Ok(())
        })?;
        Ok((mappings, locations))
    }

    /// Decodes [`Split::functions`], whose runs are in `data`, read here for the same
    /// reason as the locations.
    pub(crate) fn decode_functions(&self, data: &[u8]) -> Result<Vec<proto::Function>, String> {
        let mut functions = Vec::with_capacity(self.count);
        self.for_each_message(data, |_, message| {
            functions.push(decode_function(message)?);
            Ok(())
        })?;
        Ok(functions)
    }

    /// Calls `f` with each field's number and message, in order: the fields split apart
    /// are messages, which [`Split::read`] has read whole.
    fn for_each_message(
        &self,
        data: &[u8],
        mut f: impl FnMut(u64, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        for run in &self.runs {
            let mut b = &data[run.clone()];
            while !b.is_empty() {
                let (field, _) = read_key(&mut b)?;
                f(field, read_len(&mut b)?)?;
            }
        }
        Ok(())
    }
}

impl Split {
    /// Reads the fields of `data` from where the last call stopped to the end. `data`
    /// must start with the bytes the last call had. An error names the first field that
    /// could not be read, malformed or cut short by the end of `data`; the fields before
    /// it are kept, so that a later call with more bytes goes on from it.
    pub(crate) fn read(&mut self, data: &[u8]) -> Result<(), String> {
        let mut b = &data[self.read..];
        while !b.is_empty() {
            let field_start = data.len() - b.len();
            let (field, wire) = read_key(&mut b)?;
            let is_message = wire == WIRE_LEN;
            if !is_message {
                skip(&mut b, wire)?;
            } else if field == SAMPLE {
                let message = read_len(&mut b)?.len();
                let end = data.len() - b.len();
                self.cut(field_start, end);
                self.samples.push(end - message..end);
            } else if field == MAPPING || field == LOCATION {
                let message = read_len(&mut b)?;
                if field == LOCATION {
                    self.location_ids.push(location_id(message));
                    self.places.count += 1;
                }
                let end = data.len() - b.len();
                self.cut(field_start, end);
                self.places.push_run(field_start..end);
            } else if field == FUNCTION {
                read_len(&mut b)?;
                let end = data.len() - b.len();
                self.cut(field_start, end);
                self.functions.push_run(field_start..end);
                self.functions.count += 1;
            } else if field == SAMPLE_TYPE {
                read_len(&mut b)?;
                self.sample_types += 1;
            } else if field == u64::from(strings::FIELD) {
                let text = read_len(&mut b)?;
                self.cut(field_start, data.len() - b.len());
                // Checked first as it is: the lossy copy costs more on the tens of
                // thousands of strings of a large profile, nearly all valid.
                match std::str::from_utf8(text) {
                    Ok(text) => self.strings.push(text),
                    Err(_) => self.strings.push(&String::from_utf8_lossy(text)),
                };
            } else {
                read_len(&mut b)?;
            }
            self.read = data.len() - b.len();
        }
        Ok(())
    }

    /// Adds the run of fields before `from` to `rest`, and starts the next run at `to`:
    /// the field between goes elsewhere.
    fn cut(&mut self, from: usize, to: usize) {
        self.rest.push_run(self.run..from);
        self.run = to;
    }

    /// Reads the last fields of `data`, which has all the bytes, and ends the split.
    pub(crate) fn finish(mut self, data: &[u8]) -> Result<Split, String> {
        self.read(data)?;
        self.rest.push_run(self.run..data.len());
        Ok(self)
    }
}

/// The id of an encoded `Location` (the last, as in any protobuf field read once); 0 when
/// it has none, or when it is malformed, which decoding the rest reports.
fn location_id(mut message: &[u8]) -> u64 {
    let mut id = 0;
    while !message.is_empty() {
        let Ok((field, wire)) = read_key(&mut message) else {
            return 0;
        };
        let read = if field == 1 && wire == WIRE_VARINT {
            read_varint(&mut message).map(|value| id = value)
        } else {
            skip(&mut message, wire)
        };
        if read.is_err() {
            return 0;
        }
    }
    id
}

/// An encoded `Location`, as prost and pprof read it: the last value of a field given
/// twice, unknown fields skipped, and known ones of the wrong wire type refused. Its
/// lines are read into `lines` first, to be copied out at their size.
fn decode_location(
    mut message: &[u8],
    lines: &mut Vec<proto::Line>,
) -> Result<proto::Location, String> {
    const WHAT: &str = "a location";
    let mut location = proto::Location::default();
    lines.clear();
    while !message.is_empty() {
        match read_key(&mut message)? {
            (1, wire) => location.id = read_varint_field(&mut message, wire, WHAT, 1)?,
            (2, wire) => location.mapping_id = read_varint_field(&mut message, wire, WHAT, 2)?,
            (3, wire) => location.address = read_varint_field(&mut message, wire, WHAT, 3)?,
            (4, WIRE_LEN) => lines.push(decode_line(read_len(&mut message)?)?),
            (4, _) => return Err(wrong_wire_type(WHAT, 4)),
            (5, wire) => location.is_folded = read_varint_field(&mut message, wire, WHAT, 5)? != 0,
            (_, wire) => skip(&mut message, wire)?,
        }
    }
    location.line = lines.clone();
    Ok(location)
}

/// An encoded `Function`, read as [`decode_location`] reads a location.
fn decode_function(mut message: &[u8]) -> Result<proto::Function, String> {
    const WHAT: &str = "a function";
    let mut function = proto::Function::default();
    while !message.is_empty() {
        let (field, wire) = read_key(&mut message)?;
        if field > 5 {
            skip(&mut message, wire)?;
            continue;
        }
        let value = read_varint_field(&mut message, wire, WHAT, field)?;
        match field {
            1 => function.id = value,
            2 => function.name = value as i64,
            3 => function.system_name = value as i64,
            4 => function.filename = value as i64,
            _ => function.start_line = value as i64,
        }
    }
    Ok(function)
}

/// An encoded `Line`, read as [`decode_location`] reads a location.
fn decode_line(mut message: &[u8]) -> Result<proto::Line, String> {
    const WHAT: &str = "a location's line";
    let mut line = proto::Line::default();
    while !message.is_empty() {
        match read_key(&mut message)? {
            (1, wire) => line.function_id = read_varint_field(&mut message, wire, WHAT, 1)?,
            (2, wire) => line.line = read_varint_field(&mut message, wire, WHAT, 2)? as i64,
            (3, wire) => line.column = read_varint_field(&mut message, wire, WHAT, 3)? as i64,
            (_, wire) => skip(&mut message, wire)?,
        }
    }
    Ok(line)
}

/// The value of field `field` of `what`, which must be a varint.
fn read_varint_field(b: &mut &[u8], wire: u8, what: &str, field: u64) -> Result<u64, String> {
    if wire != WIRE_VARINT {
        return Err(wrong_wire_type(what, field));
    }
    read_varint(b)
}

fn wrong_wire_type(what: &str, field: u64) -> String {
    format!("{what} has field {field} in the wrong wire type")
}

#[inline]
fn read_varint(b: &mut &[u8]) -> Result<u64, String> {
    // Location ids and most values take one to three bytes.
    let (value, len) = match **b {
        [x, ..] if x < 0x80 => (u64::from(x), 1),
        [x, y, ..] if y < 0x80 => (u64::from(x & 0x7f) | u64::from(y) << 7, 2),
        [x, y, z, ..] if z < 0x80 => (
            u64::from(x & 0x7f) | u64::from(y & 0x7f) << 7 | u64::from(z) << 14,
            3,
        ),
        // The slice is passed by value, so that callers' loops may keep theirs in
        // registers.
        _ => read_long_varint(b)?,
    };
    *b = &b[len..];
    Ok(value)
}

/// A varint of any length at the start of `b`, and how many bytes it takes.
#[cold]
fn read_long_varint(b: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0u64;
    for (i, &byte) in b.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                break;
            }
            return Ok((value, i + 1));
        }
    }
    Err(if b.len() < 10 {
        "it ends in the middle of a number".to_string()
    } else {
        "it holds a number longer than 64 bits".to_string()
    })
}

fn read_key(b: &mut &[u8]) -> Result<(u64, u8), String> {
    let key = read_varint(b)?;
    let field = key >> 3;
    if field == 0 {
        return Err("it has a field numbered 0".to_string());
    }
    Ok((field, (key & 7) as u8))
}

fn read_len<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = read_varint(b)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= b.len())
        .ok_or("it ends in the middle of a field")?;
    let (field, rest) = b.split_at(len);
    *b = rest;
    Ok(field)
}

fn skip(b: &mut &[u8], wire: u8) -> Result<(), String> {
    let fixed = |b: &mut &[u8], n: usize| match b.split_at_checked(n) {
        Some((_, rest)) => {
            *b = rest;
            Ok(())
        }
        None => Err("it ends in the middle of a field".to_string()),
    };
    match wire {
        WIRE_VARINT => read_varint(b).map(drop),
        WIRE_64 => fixed(b, 8),
        WIRE_LEN => read_len(b).map(drop),
        WIRE_32 => fixed(b, 4),
        other => Err(format!("it has a field of unknown wire type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(samples: Vec<proto::Sample>) -> Vec<u8> {
        proto::Profile {
            sample: samples,
            string_table: vec![String::new(), "x".into()],
            ..proto::Profile::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn reads_what_prost_writes_packed_or_not() {
        let sample = proto::Sample {
            location_id: vec![3, 1, 300],
            value: vec![-5, 1 << 40],
            label: vec![proto::Label {
                key: 1,
                num: 7,
                ..proto::Label::default()
            }],
        };
        let data = wire(vec![sample.clone(), sample.clone()]);
        let Split {
            samples: messages,
            strings,
            rest,
            ..
        } = Split::default().finish(&data).unwrap();
        assert_eq!(messages.len(), 2);
        let decoded = rest.decode(&data).unwrap();
        assert!(decoded.sample.is_empty());
        assert!(decoded.string_table.is_empty());
        assert_eq!(strings, ["", "x"].into_iter().collect());

        let index = |id: u64| [3, 1, 300].iter().position(|&l| l == id).map(|i| i as u32);
        let mut samples = Samples::new(2);
        for m in &messages {
            samples.push_encoded(&data[m.clone()], &index).unwrap();
        }
        // Unpacked repeated fields, as old writers sent them.
        let unpacked = [0x08, 3, 0x08, 1, 0x10, 4, 0x10, 6];
        samples.push_encoded(&unpacked, &index).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples.get(0).locations, &[0, 1, 2]);
        assert_eq!(samples.get(1).values, &[-5, 1 << 40]);
        assert_eq!(samples.get(1).labels, sample.label.as_slice());
        assert_eq!(samples.get(2).locations, &[0, 1]);
        assert_eq!(samples.get(2).values, &[4, 6]);

        let locations: Vec<proto::Location> = [3, 1, 300]
            .into_iter()
            .map(|id| proto::Location {
                id,
                ..proto::Location::default()
            })
            .collect();
        let mut out = Vec::new();
        samples.encode(&locations, &mut out);
        let back = proto::Profile::decode(out.as_slice()).unwrap();
        assert_eq!(back.sample[0], sample);
        assert_eq!(back.sample[2].location_id, vec![3, 1]);
    }

    #[test]
    fn the_fields_besides_the_samples_are_runs_of_the_bytes_with_room_for_all() {
        let line = |function_id| proto::Line {
            function_id,
            ..proto::Line::default()
        };
        let profile = proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![
                proto::Sample {
                    location_id: vec![1, 2],
                    value: vec![7],
                    label: Vec::new(),
                };
                4
            ],
            mapping: vec![proto::Mapping {
                id: 1,
                ..proto::Mapping::default()
            }],
            location: (1..=3)
                .map(|id| proto::Location {
                    id,
                    line: vec![line(id)],
                    ..proto::Location::default()
                })
                .collect(),
            function: (1..=3)
                .map(|id| proto::Function {
                    id,
                    name: 2 + id as i64,
                    ..proto::Function::default()
                })
                .collect(),
            string_table: ["", "samples", "count", "f", "g", "h"]
                .map(String::from)
                .to_vec(),
            time_nanos: 1 << 40,
            ..proto::Profile::default()
        };
        // Go's order: sample types, samples, mappings, locations, functions, strings, and
        // the rest.
        let data = profile.encode_to_vec();
        let split = Split::default().finish(&data).unwrap();
        assert_eq!(split.places.runs.len(), 1, "{:?}", split.places);
        assert_eq!(split.functions.runs.len(), 1, "{:?}", split.functions);
        // The sample types, and the time after the strings.
        assert_eq!(split.rest.runs.len(), 2, "{:?}", split.rest);
        let (mappings, locations) = split.places.decode_places(&data).unwrap();
        let functions = split.functions.decode_functions(&data).unwrap();
        let rest = split.rest.decode(&data).unwrap();
        assert_eq!(mappings, profile.mapping);
        assert_eq!(locations, profile.location);
        assert_eq!(functions, profile.function);
        assert_eq!(split.strings, profile.string_table.iter().collect());
        assert_eq!(
            rest,
            proto::Profile {
                sample: Vec::new(),
                mapping: Vec::new(),
                location: Vec::new(),
                function: Vec::new(),
                string_table: Vec::new(),
                ..profile
            }
        );
        // Each list is made at its size once, not grown.
        assert_eq!(locations.capacity(), 3);
        assert_eq!(functions.capacity(), 3);
    }

    #[test]
    fn locations_are_read_as_prost_reads_them_and_refused_where_it_refuses_them() {
        let line = |function_id, line| proto::Line {
            function_id,
            line,
            column: 3,
        };
        let locations = [
            proto::Location::default(),
            proto::Location {
                id: 1 << 40,
                mapping_id: 2,
                address: 0xffff_ffff_ffff_fff0,
                line: vec![line(1, -7), line(2, 1 << 33), line(3, 0)],
                is_folded: true,
            },
            proto::Location {
                id: 3,
                line: vec![line(4, 12)],
                ..proto::Location::default()
            },
        ];
        let mut lines = Vec::new();
        for location in &locations {
            let encoded = location.encode_to_vec();
            let read = decode_location(&encoded, &mut lines).unwrap();
            assert_eq!(&read, location);
            // Allocated at their size, not grown.
            assert_eq!(read.line.capacity(), read.line.len());
        }
        // A field given twice counts as its last value; unknown fields, of any wire
        // type, are skipped, in a location and in a line.
        let odd = [
            0x08, 5, 0x08, 6, // id 5, then 6
            0x30, 1, 0x39, 0, 0, 0, 0, 0, 0, 0, 0, // field 6 varint, field 7 fixed64
            0x22, 7, 0x08, 9, 0x2a, 1, b'x', 0x10, 4, // line: function 9, field 5, line 4
            0x45, 0, 0, 0, 0, // field 8 fixed32
        ];
        let expected = proto::Location::decode(odd.as_slice()).unwrap();
        assert_eq!(decode_location(&odd, &mut lines).unwrap(), expected);
        assert_eq!(expected.id, 6);
        assert_eq!(
            expected.line,
            vec![proto::Line {
                function_id: 9,
                line: 4,
                column: 0
            }]
        );
        for (bad, error) in [
            (
                &[0x0a, 0][..],
                "a location has field 1 in the wrong wire type",
            ),
            (&[0x20, 1], "a location has field 4 in the wrong wire type"),
            (
                &[0x2d, 0, 0, 0, 0],
                "a location has field 5 in the wrong wire type",
            ),
            (
                &[0x22, 2, 0x12, 0],
                "a location's line has field 2 in the wrong wire type",
            ),
            (&[0x22, 5, 0x08], "it ends in the middle of a field"),
            (&[0x22, 1, 0x08], "it ends in the middle of a number"),
            (&[0x08, 0x80], "it ends in the middle of a number"),
            (&[0x4b], "it has a field of unknown wire type 3"),
        ] {
            assert!(proto::Location::decode(bad).is_err(), "{bad:?}");
            assert_eq!(decode_location(bad, &mut lines).unwrap_err(), error);
        }
    }

    #[test]
    fn functions_are_read_as_prost_reads_them_and_refused_where_it_refuses_them() {
        let function = proto::Function {
            id: 1 << 50,
            name: 1,
            system_name: 2,
            filename: 3,
            start_line: -1,
        };
        let mut encoded = function.encode_to_vec();
        assert_eq!(decode_function(&encoded).unwrap(), function);
        // Unknown fields skipped, and a field given again counts as its last value.
        encoded.extend([0x30, 1, 0x3a, 1, b'x', 0x10, 9]);
        let read = decode_function(&encoded).unwrap();
        assert_eq!(read, proto::Function::decode(encoded.as_slice()).unwrap());
        assert_eq!(read.name, 9);
        for (bad, error) in [
            (
                &[0x0a, 0][..],
                "a function has field 1 in the wrong wire type",
            ),
            (
                &[0x2d, 0, 0, 0, 0],
                "a function has field 5 in the wrong wire type",
            ),
            (&[0x10], "it ends in the middle of a number"),
        ] {
            assert!(proto::Function::decode(bad).is_err(), "{bad:?}");
            assert_eq!(decode_function(bad).unwrap_err(), error);
        }
    }

    #[test]
    fn strings_that_are_not_utf8_are_repaired_in_place() {
        // string_table: "", "caf\xe9", "ok", with a sample between the strings.
        let mut data = vec![0x32, 0, 0x32, 4, b'c', b'a', b'f', 0xe9];
        data.extend([0x12, 2, 0x08, 1]);
        data.extend([0x32, 2, b'o', b'k']);
        assert!(proto::Profile::decode(data.as_slice()).is_err());
        let Split {
            samples: messages,
            strings,
            rest,
            ..
        } = Split::default().finish(&data).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0], 10..12);
        assert_eq!(data[10..12], [0x08, 1]);
        assert_eq!(strings, ["", "caf\u{fffd}", "ok"].into_iter().collect());
        assert!(rest.runs.is_empty());
    }

    #[test]
    fn reading_in_pieces_splits_as_reading_whole() {
        let profile = proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![
                proto::Sample {
                    location_id: vec![300, 1],
                    value: vec![7],
                    label: Vec::new(),
                };
                3
            ],
            mapping: vec![proto::Mapping {
                id: 1,
                filename: 3,
                ..proto::Mapping::default()
            }],
            location: [300, 1]
                .map(|id| proto::Location {
                    id,
                    mapping_id: 1,
                    ..proto::Location::default()
                })
                .to_vec(),
            string_table: ["", "samples", "count", "/bin/app"]
                .map(String::from)
                .to_vec(),
            time_nanos: 1 << 40,
            ..proto::Profile::default()
        };
        let mut data = profile.encode_to_vec();
        // A string that is not UTF-8, and another sample after it.
        data.extend([0x32, 2, 0xff, b'x', 0x12, 4, 0x08, 1, 0x10, 2]);
        let whole = format!("{:?}", Split::default().finish(&data).unwrap());
        for piece in 1..data.len() {
            let mut split = Split::default();
            for end in (piece..data.len()).step_by(piece) {
                let _ = split.read(&data[..end]);
            }
            let split = split.finish(&data).unwrap();
            assert_eq!(format!("{split:?}"), whole, "{piece} bytes at a time");
        }
    }

    #[test]
    fn refuses_broken_samples_and_keeps_nothing_of_them() {
        let index = |id: u64| (id < 10).then_some(id as u32);
        let mut samples = Samples::new(1);
        let cases: [(&[u8], &str); 5] = [
            (&[0x08, 11, 0x10, 1], "unknown location 11"),
            (&[0x08, 1], "0 values but the profile declares 1"),
            (&[0x0a, 5, 1], "middle of a field"),
            (&[0x08, 0x80], "middle of a number"),
            (&[0x0b, 0x10, 1], "unknown wire type 3"),
        ];
        for (bytes, expected) in cases {
            let error = samples.push_encoded(bytes, &index).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        assert_eq!(samples.len(), 0);
        assert!(samples.locations.is_empty() && samples.values.is_empty());
        let too_long = [0xff; 11];
        assert!(
            read_varint(&mut &too_long[..])
                .unwrap_err()
                .contains("64 bits")
        );
        assert!(
            Split::default()
                .finish(&[0x00])
                .unwrap_err()
                .contains("numbered 0")
        );
    }

    #[test]
    fn a_sample_broken_after_some_of_its_ids_leaves_the_samples_before_it_whole() {
        let index = |id: u64| (id < 200).then_some(id as u32);
        let mut samples = Samples::new(1);
        // Packed ids 1, 2 and 150 (two bytes), and one value.
        samples
            .push_encoded(&[0x0a, 4, 1, 2, 0x96, 0x01, 0x10, 7], &index)
            .unwrap();
        // Broken after two ids: by location 300, which is unknown, and by a number cut
        // short.
        let broken: [(&[u8], &str); 2] = [
            (&[0x0a, 4, 3, 4, 0xac, 0x02], "unknown location 300"),
            (&[0x0a, 3, 5, 6, 0x80], "middle of a number"),
        ];
        for (bytes, expected) in broken {
            let error = samples.push_encoded(bytes, &index).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        samples
            .push_encoded(&[0x0a, 1, 9, 0x10, 8], &index)
            .unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples.get(0).locations, [1, 2, 150]);
        assert_eq!(samples.get(1).locations, [9]);
        assert_eq!(samples.get(1).values, [8]);
    }

    #[test]
    fn reads_numbers_of_every_length() {
        let numbers = [
            0,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            1 << 35,
            i64::MAX,
            -1,
            i64::MIN,
        ];
        let message = proto::Sample {
            value: numbers.to_vec(),
            ..proto::Sample::default()
        }
        .encode_to_vec();
        let mut samples = Samples::new(numbers.len());
        samples.push_encoded(&message, &|_| None).unwrap();
        assert_eq!(samples.get(0).values, numbers.as_slice());
    }

    #[test]
    fn removes_the_second_frame_in_place() {
        let mut samples = Samples::new(1);
        samples.push([7, 8, 9], &[1], &[]).unwrap();
        samples.push([5], &[1], &[]).unwrap();
        samples.remove_second_frame(0);
        samples.remove_second_frame(1);
        assert_eq!(samples.get(0).locations, &[7, 9]);
        assert_eq!(samples.get(1).locations, &[5]);
        assert!(samples.push([1], &[1, 2], &[]).is_err());
    }

    #[test]
    fn splits_into_ranges_of_about_equal_frames() {
        let mut samples = Samples::new(1);
        for depth in [1, 9, 2, 2, 2, 2, 1, 1] {
            samples.push(0..depth, &[1], &[]).unwrap();
        }
        assert_eq!(samples.split(1), vec![0..8]);
        assert_eq!(samples.split(2), vec![0..2, 2..8]);
        assert_eq!(samples.split(3), vec![0..2, 2..3, 3..8]);
        assert_eq!(Samples::new(1).split(2), vec![0..0, 0..0]);
    }
}
