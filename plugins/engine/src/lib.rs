//! The one wasmtime configuration of gantry: the plugin host's engine runs with it, and
//! `cli/build.rs` precompiles the bundled forecaster with it. Machine code loads
//! only into an engine whose settings match those it was compiled with, so both sides
//! take them from here.

use wasmtime::Config;

/// The version of the wasmtime crate this build links, from the workspace's `Cargo.lock`.
pub const WASMTIME_VERSION: &str = env!("GANTRY_WASMTIME_VERSION");

/// What the plugin host compiles and runs with: Cranelift for this machine's CPU, and
/// epoch interruption so a deadline can stop code that never calls the host.
pub fn host_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config
}

/// [`host_config`] for `target` (a Rust target triple), with a fixed CPU baseline
/// instead of the compiling machine's features, so that code compiled at build time
/// runs on every CPU of the architecture that has the baseline. Wasmtime checks the
/// baseline when it loads the code; on an older CPU the load fails and the module is
/// compiled for that machine instead.
///
/// On x86-64 the baseline is x86-64-v2 (SSE4.2 and POPCNT, CPUs since 2009): without
/// SSE4.1, Cranelift would turn float rounding into calls back into the host.
/// Fails for an architecture Cranelift cannot compile for.
pub fn portable_config(target: &str) -> wasmtime::Result<Config> {
    let mut config = host_config();
    config.target(target)?;
    if target.starts_with("x86_64-") {
        for feature in [
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
        ] {
            // SAFETY: an enabled CPU feature is verified against the running CPU when
            // the compiled code is loaded (`Module::deserialize`), which refuses it on
            // a CPU without the feature instead of running it.
            unsafe {
                config.cranelift_flag_enable(feature);
            }
        }
    }
    Ok(config)
}

/// Compiles `wasm` ahead of time for `target` under [`portable_config`], into the
/// form the plugin host loads with `Host::load_precompiled`.
pub fn precompile_portable(target: &str, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
    wasmtime::Engine::new(&portable_config(target)?)?.precompile_module(wasm)
}
