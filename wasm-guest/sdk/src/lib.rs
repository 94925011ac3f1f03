//! The SDK for writing gantry plugins in Rust (plugin contract version 1).
//!
//! A gantry plugin is a `wasm32-wasip1` command module plus a TOML manifest. This crate
//! covers the two things a Rust plugin needs beyond `std`:
//!
//! - [`manifest!`] embeds the manifest into the module's `gantry-plugin` custom section,
//!   so one `.wasm` file carries everything, and checks its `name`, `version` and `api`
//!   at compile time;
//! - [`serve_hooks`] answers a structured hook call: it reads the request gantry writes
//!   to stdin, hands the hook's input to your function and writes exactly one
//!   `{"output":...}` or `{"error":{"message":...}}` document to stdout.
//!
//! ```no_run
//! use gantry_plugin_sdk::{forecast, HookError};
//!
//! gantry_plugin_sdk::manifest!(r#"
//! name = "flat-forecast"
//! version = "0.1.0"
//! api = 1
//! [provides]
//! hooks = ["scale.forecast"]
//! "#);
//!
//! fn main() -> std::process::ExitCode {
//!     gantry_plugin_sdk::serve_hooks(|hook, input| match hook {
//!         forecast::HOOK => input.handle(|req: forecast::ForecastInput| {
//!             req.validate()?;
//!             let last = req.series[req.series.len() - 1];
//!             Ok(forecast::ForecastOutput {
//!                 p50_peak: last.v,
//!                 p90_peak: last.v,
//!                 peak_at: last.t,
//!                 model: "flat-forecast@0.1.0".into(),
//!             })
//!         }),
//!         other => Err(HookError::unknown_hook(other)),
//!     })
//! }
//! ```
//!
//! The crate builds for the host too, so a plugin's logic can be unit-tested with a
//! plain `cargo test`.

pub mod forecast;
mod hook;
mod manifest;

pub use hook::{
    HOOK_FLAG, HookError, Input, Output, hook_call, print_json_line, serve, serve_hooks,
};

/// The plugin contract version this SDK speaks; the manifest's `api` key must equal it.
pub const API_VERSION: u32 = 1;

/// The custom section that carries an embedded manifest.
pub const MANIFEST_SECTION: &str = "gantry-plugin";

#[doc(hidden)]
pub mod __private {
    pub use crate::manifest::{check_manifest, manifest_bytes};
}

/// Embeds the plugin's TOML manifest into the module's `gantry-plugin` custom section.
///
/// Give it a string constant, usually `include_str!("../plugin.toml")`. Use it once, at
/// the top level of the binary crate. A manifest whose `name`, `version` or `api` is
/// missing or invalid fails the build; gantry validates the rest when it loads the
/// plugin.
///
/// ```
/// gantry_plugin_sdk::manifest!("name = \"hello\"\nversion = \"0.1.0\"\napi = 1\n");
/// ```
#[macro_export]
macro_rules! manifest {
    ($toml:expr $(,)?) => {
        const _: () = $crate::__private::check_manifest($toml);

        #[cfg_attr(target_family = "wasm", unsafe(link_section = "gantry-plugin"))]
        #[used]
        static GANTRY_PLUGIN_MANIFEST: [u8; $toml.len()] = $crate::__private::manifest_bytes($toml);
    };
}
