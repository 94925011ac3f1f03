//! gantry's plugin host: loads `wasm32-wasip1` modules and runs them in a sandbox whose
//! every limit (memory, deadline, output, filesystem and environment grants) is an
//! explicit value.
//!
//! # Running a plugin
//!
//! ```no_run
//! use gantry_plugins::{CacheConfig, CommandIo, Host, RunOptions};
//!
//! let host = Host::new(CacheConfig::default_location())?;
//! let opts = RunOptions::default();
//! let plugin = host.load_file("hello.wasm".as_ref(), &opts)?;
//! let code = host.run_command(&plugin, &["world".to_string()], &opts, CommandIo::inherit())?;
//! # Ok::<(), gantry_plugins::PluginError>(())
//! ```
//!
//! One [`Host`] holds one wasmtime engine (compiled with epoch interruption, with a
//! ticker thread that advances the epoch every 10 ms) and the WASI preview 1 linker;
//! make one per process and share it. Its settings come from the `gantry-engine` crate,
//! which a build script also uses to compile a module ahead of time; such machine code
//! loads with [`Host::load_precompiled`] and skips the compile on first use.
//!
//! Every run gets a fresh store: no preopened directories and no environment beyond its
//! [`Grants`] (plus, for an installed plugin, the variables the user accepted at install;
//! a manifest's `[grants]` is only a request), stdout and stderr capped and streamed to the caller's sinks as they are
//! written, memory capped by a resource limiter that also refuses oversized initial
//! memory, and a wall-clock deadline
//! checked inside wasm on every epoch tick. A plugin blocked in a host call (reading
//! stdin, sleeping) past its deadline is abandoned 0.5 s later: the call returns the
//! deadline error, the plugin's output is cut off, and its thread is left to end on
//! its own. Loading a file is bounded too: a module larger than [`Limits::module_bytes`]
//! is not read, one whose data cannot fit in its memory limit is not compiled, and
//! compiling (on a thread of its own) is abandoned at the deadline. SIGINT, SIGTERM and
//! SIGHUP during a compile or run interrupt it, and what the run made on disk is removed.
//!
//! # Trust
//!
//! Text from a plugin (its manifest, import names, hook messages) reaches the user only
//! escaped: errors escape it themselves, and front ends print manifest fields through
//! [`Untrusted`]. The module cache loads machine code only from a folder and entries the
//! current user owns and alone may write ([`ModuleCache`]). [`PluginStore`] installs a
//! plugin only under a name and command nothing else has ([`ReservedNames`]), pins its
//! module and manifest together ([`Plugin::sha256`]), and runs it with the grants
//! recorded at install, refusing it if its files changed since.
//!
//! # Limits
//!
//! [`Limits`] holds the caps (defaults: 128 MiB, 10 s, 16 MiB of stdout, 1 MiB of
//! stderr). A manifest's `[limits]` may lower the memory and deadline caps, never raise
//! them; [`LimitOverrides`] (the user's `--memory-mib` / `--timeout`) replace both. A
//! breach ends the run with [`PluginError::Limit`], whose message names the limit and
//! the flag or configuration key that raises it.
//!
//! # Hooks
//!
//! [`Host::call_hook`]`(plugin, hook, input, opts)` runs the plugin with argv
//! `[name, "--gantry-hook", HOOK]` and stdin `{"api":1,"hook":HOOK,"input":INPUT}`. The
//! plugin must write exactly one JSON document to stdout: `{"output":VALUE}` (the call
//! returns `VALUE`) or `{"error":{"message":"..."}}` (the call returns
//! [`PluginError::HookFailed`] with that message). Anything else is a
//! [`PluginError::Protocol`] naming what was wrong. The plugin's stderr is its log and
//! goes to [`RunOptions::log`]. A hook the manifest does not declare in
//! `[provides] hooks` is refused before the plugin runs.
//!
//! # Errors
//!
//! [`PluginError::class`] sorts errors for exit codes: limit breaches, faults (traps,
//! invalid modules, missing imports, protocol errors), interruptions, usage errors and
//! the rest.

mod cache;
mod data_init;
mod download;
mod error;
mod grants;
mod host;
mod install;
mod limits;
mod manifest;
mod output;
mod signals;
mod text;
mod trust;

pub use cache::{CacheConfig, CacheOutcome, EntryHeader, ModuleCache, hex};
pub use download::{Downloaded, download, is_url};
pub use error::{ErrorClass, PluginError};
pub use grants::{Grants, guest_path};
pub use host::{CommandIo, Host, Input, InterruptHandle, LogSink, Origin, Plugin, RunOptions};
pub use install::{InstallOptions, Installed, PluginStore, ReservedNames, Staged};
pub use limits::{LimitBreach, LimitOverrides, Limits, MAX_TABLE_ELEMENTS, MIB};
pub use manifest::{
    API_VERSION, GrantRequests, LimitRequests, MAX_DESCRIPTION_CHARS, MAX_LIST_ENTRIES,
    MAX_MANIFEST_BYTES, Manifest, ManifestError, ModuleScan, Provides, scan, valid_env_name,
    valid_name,
};
pub use output::{SharedBuffer, Sink};
pub use text::{Untrusted, escape, needs_escape};
