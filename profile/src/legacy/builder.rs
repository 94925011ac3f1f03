//! The profile a legacy decoder builds: locations made once per address, samples that
//! refer to them, functions (Java formats name theirs), and the memory map; turned into
//! the crate's protobuf model with the ids, mappings and frame filters pprof gives a
//! legacy profile.

use std::collections::HashMap;

use super::addresses::AddressIndex;
use super::frames;
use super::maps::{self, Mapping};
use crate::proto;
use crate::samples::Samples;
use crate::strings::StringTable;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Location {
    pub(crate) address: u64,
    pub(crate) mapping: Option<u32>,
    /// The function and line, when the profile names them (Java formats).
    pub(crate) line: Option<(u32, i64)>,
}

impl Location {
    /// A location at `address`, with no mapping yet and no function.
    fn at(address: u64) -> Location {
        Location {
            address,
            mapping: None,
            line: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Function {
    pub(crate) name: String,
    pub(crate) filename: String,
}

#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) sample_types: Vec<(String, String)>,
    pub(crate) period_type: Option<(String, String)>,
    pub(crate) period: i64,
    pub(crate) duration_nanos: i64,
    pub(crate) locations: Vec<Location>,
    /// The index in `locations` of each address's location.
    by_address: AddressIndex,
    /// Location indices refer to `locations`. Labels are the `bytes` numeric label heap
    /// profiles carry (the average allocation size), their key set by `into_proto`.
    pub(crate) samples: Samples,
    /// The first sample refused, which makes the profile malformed.
    pub(crate) refused: Option<String>,
    pub(crate) functions: Vec<Function>,
    pub(crate) mappings: Vec<Mapping>,
}

impl Builder {
    pub(crate) fn new(
        sample_types: &[(&str, &str)],
        period_type: (&str, &str),
        period: i64,
    ) -> Self {
        Builder {
            sample_types: owned(sample_types),
            period_type: Some((period_type.0.to_string(), period_type.1.to_string())),
            period,
            samples: Samples::new(sample_types.len()),
            ..Builder::default()
        }
    }

    /// Replaces the sample types; before any sample is added.
    pub(crate) fn set_sample_types(&mut self, types: &[(&str, &str)]) {
        self.sample_types = owned(types);
        self.samples = Samples::new(types.len());
    }

    /// The location already made for `address`, if any.
    pub(crate) fn existing_location(&self, address: u64) -> Option<usize> {
        self.by_address.get(address).map(|i| i as usize)
    }

    /// The index of the location at each of `addresses`, made on first use.
    pub(crate) fn locations_of(&mut self, addresses: &[u64]) -> Vec<u32> {
        let numbers = self.by_address.insert_all(addresses);
        let new_location = |(&address, (number, new))| {
            if new {
                self.locations.push(Location::at(address));
            }
            number
        };
        addresses.iter().zip(numbers).map(new_location).collect()
    }

    /// Makes a location for each address of `index`, in its order, on a builder that has
    /// none yet.
    pub(crate) fn set_locations(&mut self, index: AddressIndex) {
        assert!(self.locations.is_empty(), "locations are set once, first");
        let addresses = index.addresses().iter();
        self.locations = addresses.map(|&address| Location::at(address)).collect();
        self.by_address = index;
    }

    /// Adds a sample whose stack is `addresses`, leaf first, each adjusted by `adjust`,
    /// with one value per sample type.
    pub(crate) fn add_sample(
        &mut self,
        addresses: &[u64],
        adjust: impl Fn(usize, u64) -> u64,
        values: &[i64],
        bytes: Option<i64>,
    ) {
        let label = bytes.map(|num| proto::Label {
            num,
            ..proto::Label::default()
        });
        let (by_address, locations) = (&mut self.by_address, &mut self.locations);
        let indices = addresses
            .iter()
            .enumerate()
            .map(|(i, &a)| location_at(by_address, locations, adjust(i, a)));
        if let Err(refusal) = self.samples.push(indices, values, label.as_slice()) {
            self.refused.get_or_insert(refusal);
        }
    }

    /// Removes the second frame of sample `i` (the leaf stays), when it has one. Its
    /// location stays, as pprof keeps it.
    pub(crate) fn remove_second_frame(&mut self, i: usize) {
        self.samples.remove_second_frame(i);
    }

    /// Adopts the memory map and assigns each location the mapping that holds its
    /// address, with pprof's repairs of maps that legacy writers got wrong.
    pub(crate) fn set_memory_map(&mut self, mut mappings: Vec<Mapping>) {
        maps::tidy(&mut mappings);
        self.mappings = mappings;
        self.assign_mappings();
    }

    fn assign_mappings(&mut self) {
        let maps = &mut self.mappings;
        let mut fake: Option<u32> = None;
        for loc in &mut self.locations {
            let a = loc.address;
            if loc.mapping.is_some() || a == 0 {
                continue;
            }
            if let Some(i) = maps::mapping_of(maps, a) {
                loc.mapping = Some(i as u32);
                continue;
            }
            // Go's legacy writers give no map at all: one mapping covers everything.
            let index = *fake.get_or_insert_with(|| {
                maps.push(Mapping {
                    limit: u64::MAX,
                    ..Mapping::default()
                });
                (maps.len() - 1) as u32
            });
            loc.mapping = Some(index);
        }
    }

    /// Sets the memory map, with a location that stands for each mapping's binary, at
    /// the same index, and one for addresses in no mapping after them: for samples whose
    /// frames are kept by binary alone (see [`Unsymbolized::ByBinary`]). Returns the index
    /// of that last one.
    ///
    /// [`Unsymbolized::ByBinary`]: crate::unsymbolized::Unsymbolized::ByBinary
    pub(crate) fn set_binary_locations(&mut self, mut mappings: Vec<Mapping>) -> u32 {
        maps::tidy(&mut mappings);
        self.locations = (0..mappings.len())
            .map(|i| Some(i as u32))
            .chain([None])
            .map(|mapping| Location {
                address: 0,
                mapping,
                line: None,
            })
            .collect();
        self.mappings = mappings;
        (self.locations.len() - 1) as u32
    }

    /// The finished profile, and its samples.
    pub(crate) fn into_proto(mut self) -> (proto::Profile, StringTable, Samples) {
        let mut strings = Strings::default();
        let sample_type = self
            .sample_types
            .iter()
            .map(|(t, u)| strings.value_type(t, u))
            .collect::<Vec<_>>();
        let types: Vec<&str> = self.sample_types.iter().map(|(t, _)| t.as_str()).collect();
        let (drop, keep) = frame_filters(&types);
        let period_type = self
            .period_type
            .as_ref()
            .map(|(t, u)| strings.value_type(t, u));
        let bytes_key = strings.intern("bytes");

        // Functions are numbered in the order locations first refer to them.
        let mut function_id = vec![0u64; self.functions.len()];
        let mut function = Vec::new();
        for loc in &self.locations {
            if let Some((f, _)) = loc.line
                && function_id[f as usize] == 0
            {
                let src = &self.functions[f as usize];
                let name = strings.intern(&src.name);
                function.push(proto::Function {
                    id: function.len() as u64 + 1,
                    name,
                    system_name: name,
                    filename: strings.intern(&src.filename),
                    start_line: 0,
                });
                function_id[f as usize] = function.len() as u64;
            }
        }
        let location = self
            .locations
            .iter()
            .enumerate()
            .map(|(i, loc)| proto::Location {
                id: i as u64 + 1,
                mapping_id: loc.mapping.map_or(0, |m| u64::from(m) + 1),
                address: loc.address,
                line: loc
                    .line
                    .map(|(f, line)| proto::Line {
                        function_id: function_id[f as usize],
                        line,
                        column: 0,
                    })
                    .into_iter()
                    .collect(),
                is_folded: false,
            })
            .collect();
        let mapping = self
            .mappings
            .iter()
            .enumerate()
            .map(|(i, m)| proto::Mapping {
                id: i as u64 + 1,
                memory_start: m.start,
                memory_limit: m.limit,
                file_offset: m.offset,
                filename: strings.intern(&m.file),
                build_id: strings.intern(&m.build_id),
                ..proto::Mapping::default()
            })
            .collect();
        for label in self.samples.labels_mut() {
            label.key = bytes_key;
        }
        let profile = proto::Profile {
            sample_type,
            mapping,
            location,
            function,
            drop_frames: strings.intern(drop),
            keep_frames: strings.intern(keep),
            duration_nanos: self.duration_nanos,
            period_type,
            period: self.period,
            ..proto::Profile::default()
        };
        (profile, strings.table, self.samples)
    }
}

/// The index of the location at `address` in `locations`, made on first use.
#[inline]
fn location_at(by_address: &mut AddressIndex, locations: &mut Vec<Location>, address: u64) -> u32 {
    let (index, new) = by_address.insert(address);
    if new {
        locations.push(Location::at(address));
    }
    index
}

fn owned(types: &[(&str, &str)]) -> Vec<(String, String)> {
    types
        .iter()
        .map(|(t, u)| (t.to_string(), u.to_string()))
        .collect()
}

/// The frames pprof hides in a legacy profile, chosen by its sample types.
fn frame_filters(types: &[&str]) -> (&'static str, &'static str) {
    const HEAP: [&[&str]; 5] = [
        &["allocations", "size"],
        &["objects", "space"],
        &["inuse_objects", "inuse_space"],
        &["alloc_objects", "alloc_space"],
        &[
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ],
    ];
    if HEAP.contains(&types) {
        (frames::ALLOCATORS, frames::ALLOCATORS_KEEP)
    } else if types == ["contentions", "delay"] {
        (frames::LOCKS, "")
    } else {
        (frames::CPU_PROFILER, "")
    }
}

/// A string table under construction; index 0 is the empty string.
#[derive(Default)]
struct Strings {
    table: StringTable,
    index: HashMap<String, i64>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> i64 {
        if self.table.is_empty() {
            self.table.push("");
            self.index.insert(String::new(), 0);
        }
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.push(s);
        self.index.insert(s.to_string(), i);
        i
    }

    fn value_type(&mut self, kind: &str, unit: &str) -> proto::ValueType {
        proto::ValueType {
            r#type: self.intern(kind),
            unit: self.intern(unit),
        }
    }
}
