//! `gantry version`: what this binary is, for bug reports. Its version, the commit and
//! date it was built from, the target it was built for, and the versions of the
//! WebAssembly runtime and the inference engine inside it.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::base::{self, OutputFormat};

#[derive(Debug, Args)]
pub struct VersionArgs {}

/// `-o json`: `gantry.version/v1`.
#[derive(Serialize)]
struct BuildInfo {
    version: &'static str,
    /// The full git commit, or `unknown` for a build outside a git checkout.
    commit: &'static str,
    /// `YYYY-MM-DD`, UTC (`SOURCE_DATE_EPOCH` when the build set it).
    build_date: &'static str,
    /// The Rust target triple the binary was built for.
    target: &'static str,
    wasmtime: &'static str,
    /// tract, inside the sandboxed guest behind `gantry infer`.
    tract: &'static str,
}

const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("GANTRY_GIT_COMMIT"),
    build_date: env!("GANTRY_BUILD_DATE"),
    target: env!("GANTRY_TARGET"),
    wasmtime: gantry_engine::WASMTIME_VERSION,
    tract: env!("GANTRY_TRACT_VERSION"),
};

/// Needs no configuration, so that it works to report a broken one.
pub fn run(output: OutputFormat, quiet: bool) -> anyhow::Result<u8> {
    if quiet {
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    if output == OutputFormat::Json {
        base::write_json(&mut out, "gantry.version/v1", &BUILD)?;
    } else {
        // The shape of `rustc -vV`: a name line, then `key: value` lines.
        writeln!(out, "gantry {}", BUILD.version)?;
        writeln!(out, "commit: {}", BUILD.commit)?;
        writeln!(out, "build-date: {}", BUILD.build_date)?;
        writeln!(out, "target: {}", BUILD.target)?;
        writeln!(out, "wasmtime: {}", BUILD.wasmtime)?;
        writeln!(out, "tract: {}", BUILD.tract)?;
    }
    Ok(0)
}
