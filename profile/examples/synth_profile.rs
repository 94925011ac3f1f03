//! Writes large synthetic profiles for benchmarks (`docs/benchmarks.md`), deterministic
//! for given arguments:
//!
//! - `wide` (protobuf): 6000 functions, 40000 locations with inlined frames, stacks 8–47
//!   deep sharing prefixes, two sample types.
//! - `recursive` (protobuf): the shape of large real CPU profiles: about 23,000 distinct
//!   functions and locations, stacks up to hundreds of frames deep through recursive
//!   cycles, about 2.4 MB gzipped.
//! - `gperftools` (legacy binary CPU, 64-bit little-endian, with its memory map): as
//!   `CPUPROFILE=` writes it, over 20 MB.
//!
//! `cargo run --release -p gantry-profile --example synth_profile -- [--shape SHAPE] OUT [SAMPLES]`

use std::io::Write as _;

use gantry_profile::proto;
use prost::Message as _;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PACKAGES: [&str; 6] = [
    "main",
    "net/http",
    "encoding/json",
    "runtime",
    "sync",
    "github.com/acme/store",
];

/// A string table under construction.
struct Strings(Vec<String>);

impl Strings {
    fn add(&mut self, s: impl Into<String>) -> i64 {
        self.0.push(s.into());
        self.0.len() as i64 - 1
    }

    fn value_type(&mut self, kind: &str, unit: &str) -> proto::ValueType {
        proto::ValueType {
            r#type: self.add(kind),
            unit: self.add(unit),
        }
    }
}

/// Functions with realistic names and files, ids from 1.
fn functions(strings: &mut Strings, count: u64) -> Vec<proto::Function> {
    (1..=count)
        .map(|id| {
            let pkg = PACKAGES[(id % PACKAGES.len() as u64) as usize];
            let name = strings.add(format!("{pkg}.(*handler{}).serve{}", id % 97, id));
            proto::Function {
                id,
                name,
                system_name: name,
                filename: strings.add(format!("/src/{pkg}/file{}.go", id % 211)),
                start_line: (id % 500) as i64,
            }
        })
        .collect()
}

/// One location per id, every `inlined_every`-th with two inlined frames above its
/// function; with `own_function`, location N's function is function N (modulo the count),
/// else a random one.
fn locations(
    rng: &mut Rng,
    count: u64,
    functions: u64,
    inlined_every: u64,
    own_function: bool,
) -> Vec<proto::Location> {
    (1..=count)
        .map(|id| {
            let inlined = if id % inlined_every == 0 { 2 } else { 0 };
            let line = (0..=inlined)
                .map(|i| {
                    let random = 1 + rng.below(functions);
                    proto::Line {
                        function_id: if own_function && i == inlined {
                            1 + (id - 1) % functions
                        } else {
                            random
                        },
                        line: 1 + rng.below(900) as i64,
                        column: 0,
                    }
                })
                .collect();
            proto::Location {
                id,
                mapping_id: 1,
                address: 0x40_0000 + id * 16,
                line,
                is_folded: false,
            }
        })
        .collect()
}

fn cpu_profile(
    mut strings: Strings,
    function: Vec<proto::Function>,
    location: Vec<proto::Location>,
    sample: Vec<proto::Sample>,
) -> proto::Profile {
    let sample_type = vec![
        strings.value_type("samples", "count"),
        strings.value_type("cpu", "nanoseconds"),
    ];
    let binary = strings.add("/usr/local/bin/synthetic-server");
    let limit = 0x40_0000 + location.len() as u64 * 16 + 16;
    proto::Profile {
        sample_type,
        sample,
        mapping: vec![proto::Mapping {
            id: 1,
            memory_start: 0x40_0000,
            memory_limit: limit,
            filename: binary,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
            ..proto::Mapping::default()
        }],
        location,
        function,
        period_type: Some(strings.value_type("cpu", "nanoseconds")),
        period: 10_000_000,
        time_nanos: 1_700_000_000_000_000_000,
        duration_nanos: 60_000_000_000,
        string_table: strings.0,
        ..Default::default()
    }
}

fn sample(stack: Vec<u64>, count: i64) -> proto::Sample {
    proto::Sample {
        location_id: stack,
        value: vec![count, count * 10_000_000],
        label: Vec::new(),
    }
}

/// Thousands of functions, stacks sharing prefixes.
fn wide(samples: u64) -> proto::Profile {
    const FUNCTIONS: u64 = 6000;
    const LOCATIONS: u64 = 40000;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut strings = Strings(vec![String::new()]);
    let function = functions(&mut strings, FUNCTIONS);
    let location = locations(&mut rng, LOCATIONS, FUNCTIONS, 5, false);
    let mut stacks = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let depth = 8 + rng.below(40);
        let mut loc = 1 + rng.below(64);
        let mut stack = Vec::with_capacity(depth as usize);
        for _ in 0..depth {
            stack.push(loc);
            loc = 1 + (loc.wrapping_mul(2_654_435_761) + rng.below(3)) % LOCATIONS;
        }
        stack.reverse();
        stacks.push(sample(stack, 1 + rng.below(3) as i64));
    }
    cpu_profile(strings, function, location, stacks)
}

/// About 23,000 functions, one location each (a tenth with inlined frames), and stacks
/// that descend through a short prefix into cycles of mutually recursive functions
/// repeated up to 60 times, then into a few leaf frames.
fn recursive(samples: u64) -> proto::Profile {
    const FUNCTIONS: u64 = 23_000;
    const RECURSIVE: u64 = 2_000;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut strings = Strings(vec![String::new()]);
    let function = functions(&mut strings, FUNCTIONS);
    let location = locations(&mut rng, FUNCTIONS, FUNCTIONS, 10, true);
    let mut stacks = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let mut stack: Vec<u64> = (0..3 + rng.below(6)).map(|i| 1 + i * 7).collect();
        let cycle: Vec<u64> = (0..1 + rng.below(5))
            .map(|_| 1 + rng.below(RECURSIVE))
            .collect();
        for _ in 0..1 + rng.below(60) {
            stack.extend(&cycle);
        }
        stack.extend(
            (0..1 + rng.below(12)).map(|_| 1 + RECURSIVE + rng.below(FUNCTIONS - RECURSIVE)),
        );
        stack.reverse();
        stacks.push(sample(stack, 1 + rng.below(4) as i64));
    }
    cpu_profile(strings, function, location, stacks)
}

/// gperftools' binary CPU format: a header, samples (count, depth, addresses leaf
/// first), the (0, 1, 0) trailer, then `/proc/self/maps`.
fn gperftools(samples: u64) -> Vec<u8> {
    const TEXT: u64 = 0x55d0_0000_0000;
    const LIBC: u64 = 0x7f10_0000_0000;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    let word = |out: &mut Vec<u8>, w: u64| out.extend_from_slice(&w.to_le_bytes());
    for w in [0, 3, 0, 10_000, 0] {
        word(&mut out, w);
    }
    for _ in 0..samples {
        let depth = 8 + rng.below(60);
        word(&mut out, 1 + rng.below(5));
        word(&mut out, depth);
        let mut at = rng.below(50_000);
        for i in 0..depth {
            let base = if i + 2 >= depth { LIBC } else { TEXT };
            word(&mut out, base + 0x1000 + at * 24 + 5);
            at = (at.wrapping_mul(2_654_435_761) + rng.below(4)) % 50_000;
        }
    }
    for w in [0, 1, 0] {
        word(&mut out, w);
    }
    out.extend_from_slice(
        format!(
            "{:x}-{:x} r-xp 00001000 08:01 1234 /usr/local/bin/synthetic-server\n\
             {:x}-{:x} r-xp 00026000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n",
            TEXT + 0x1000,
            TEXT + 0x1000 + 50_000 * 24 + 4096,
            LIBC + 0x1000,
            LIBC + 0x1000 + 50_000 * 24 + 4096,
        )
        .as_bytes(),
    );
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: synth_profile [--shape wide|recursive|gperftools] OUT [SAMPLES]";
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut shape = "wide".to_string();
    if let Some(at) = args.iter().position(|a| a == "--shape") {
        args.remove(at);
        shape = args.get(at).cloned().ok_or(usage)?;
        args.remove(at);
    }
    let out = args.first().ok_or(usage)?;
    let samples = |default: u64| args.get(1).map_or(Ok(default), |s| s.parse());
    let (bytes, gzip) = match shape.as_str() {
        "wide" => (wide(samples(300_000)?).encode_to_vec(), true),
        "recursive" => (recursive(samples(14_000)?).encode_to_vec(), true),
        "gperftools" => (gperftools(samples(62_000)?), false),
        _ => return Err(usage.into()),
    };
    let written = if gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes)?;
        gz.finish()?
    } else {
        bytes.clone()
    };
    std::fs::write(out, &written)?;
    eprintln!(
        "wrote {out}: {} bytes ({} uncompressed)",
        written.len(),
        bytes.len()
    );
    Ok(())
}
