//! Writes a large synthetic CPU profile for benchmarks (`docs/benchmarks.md`):
//! thousands of functions, inlined frames, deep stacks sharing prefixes, two sample
//! types. Deterministic for a given sample count.
//!
//! `cargo run --release -p gantry-profile --example synth_profile -- OUT.pb.gz [SAMPLES]`

use std::io::Write as _;

use gantry_profile::proto;
use prost::Message as _;

const FUNCTIONS: u64 = 6000;
const LOCATIONS: u64 = 40000;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: synth_profile OUT.pb.gz [SAMPLES]")?;
    let samples: u64 = args.next().map_or(Ok(300_000), |s| s.parse())?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let mut strings = vec![String::new()];
    let mut intern = |s: String| {
        strings.push(s);
        strings.len() as i64 - 1
    };
    let sample_type = vec![
        proto::ValueType {
            r#type: intern("samples".into()),
            unit: intern("count".into()),
        },
        proto::ValueType {
            r#type: intern("cpu".into()),
            unit: intern("nanoseconds".into()),
        },
    ];
    let binary = intern("/usr/local/bin/synthetic-server".into());
    let packages = [
        "main",
        "net/http",
        "encoding/json",
        "runtime",
        "sync",
        "github.com/acme/store",
    ];
    let mut function = Vec::new();
    for id in 1..=FUNCTIONS {
        let pkg = packages[(id % packages.len() as u64) as usize];
        let name = intern(format!("{pkg}.(*handler{}).serve{}", id % 97, id));
        let file = intern(format!("/src/{pkg}/file{}.go", id % 211));
        function.push(proto::Function {
            id,
            name,
            system_name: name,
            filename: file,
            start_line: (id % 500) as i64,
        });
    }
    let mut location = Vec::new();
    for id in 1..=LOCATIONS {
        let inlined = if id % 5 == 0 { 2 } else { 0 };
        let line = (0..=inlined)
            .map(|_| proto::Line {
                function_id: 1 + rng.below(FUNCTIONS),
                line: 1 + rng.below(900) as i64,
                column: 0,
            })
            .collect();
        location.push(proto::Location {
            id,
            mapping_id: 1,
            address: 0x40_0000 + id * 16,
            line,
            is_folded: false,
        });
    }
    let mut sample = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let depth = 8 + rng.below(40);
        let mut loc = 1 + rng.below(64);
        let mut stack = Vec::with_capacity(depth as usize);
        for _ in 0..depth {
            stack.push(loc);
            loc = 1 + (loc.wrapping_mul(2_654_435_761) + rng.below(3)) % LOCATIONS;
        }
        stack.reverse();
        let count = 1 + rng.below(3) as i64;
        sample.push(proto::Sample {
            location_id: stack,
            value: vec![count, count * 10_000_000],
            label: Vec::new(),
        });
    }
    let profile = proto::Profile {
        sample_type,
        sample,
        mapping: vec![proto::Mapping {
            id: 1,
            memory_start: 0x40_0000,
            memory_limit: 0x40_0000 + LOCATIONS * 16 + 16,
            file_offset: 0,
            filename: binary,
            build_id: 0,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        }],
        location,
        function,
        period_type: Some(proto::ValueType {
            r#type: intern("cpu".into()),
            unit: intern("nanoseconds".into()),
        }),
        period: 10_000_000,
        time_nanos: 1_700_000_000_000_000_000,
        duration_nanos: 60_000_000_000,
        string_table: strings,
        ..Default::default()
    };
    let raw = profile.encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw)?;
    std::fs::write(&out, gz.finish()?)?;
    eprintln!("wrote {out}: {} bytes uncompressed", raw.len());
    Ok(())
}
