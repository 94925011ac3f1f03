//! Records the wasmtime version this crate links, read from the workspace's `Cargo.lock`,
//! as `GANTRY_WASMTIME_VERSION`: compiled code is cached under it, and `gantry version`
//! reports it.

#[path = "locked_version.rs"]
mod locked_version;

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lockfile = manifest_dir.join("../../Cargo.lock");
    println!("cargo::rerun-if-changed={}", lockfile.display());
    match locked_version::locked_version(&lockfile, "wasmtime") {
        Ok(version) => println!("cargo::rustc-env=GANTRY_WASMTIME_VERSION={version}"),
        Err(why) => println!("cargo::error={why}"),
    }
}
