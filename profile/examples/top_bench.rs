//! `gantry profile top FILE --nodecount 20` without the CLI around it: reads, decodes and
//! prints the table, for timing and profiling the library alone (`docs/benchmarks.md`).
//!
//! `cargo build --release -p gantry-profile --example top_bench && top_bench FILE [RUNS]`

use std::io::Write as _;

use gantry_profile::fetch::{self, FetchOptions, Source};
use gantry_profile::{Profile, TopOptions, top};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: top_bench FILE [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(1), |r| r.parse())?;
    let options = TopOptions {
        node_count: 20,
        ..TopOptions::default()
    };
    let mut out = std::io::stdout().lock();
    for _ in 0..runs {
        let source = Source::File(path.clone().into());
        let (bytes, origin) = fetch::fetch_bytes(&source, &FetchOptions::default())?;
        let profile = Profile::decode_for_functions(&bytes, origin)?;
        let report = top::top(&profile, None, &options)?;
        write!(out, "{}", report.to_table())?;
    }
    Ok(())
}
