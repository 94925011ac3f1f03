//! The plugin host as every command uses it: one host per process, run options from the
//! user's configuration and flags, and plugin errors as documented exit codes. Commands
//! that run plugins (`plugin`, `infer`, `forecast`, `scale --predict`) share these so that
//! limits, caching and error reporting are the same everywhere.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use gantry_plugins::{
    CacheConfig, ErrorClass, Grants, Host, LimitOverrides, Limits, LogSink, MIB, Plugin,
    PluginError, PluginStore, RunOptions, Untrusted,
};

use super::Context;
use super::builtins;
use super::exit::{Exit, Failure};

/// The process's plugin host, caching compiled modules in the user cache dir (capped by
/// `plugins.cache_mib`); its warnings go to stderr.
pub fn host(ctx: &Context) -> anyhow::Result<Host> {
    let cache = CacheConfig::default_location().map(|mut cache| {
        if let Some(mib) = ctx.config.plugins.cache_mib {
            cache.max_bytes = mib.saturating_mul(MIB);
        }
        cache
    });
    let mut host = Host::new(cache).map_err(plugin_failure)?;
    host.on_warning(super::output::warn_line);
    Ok(host)
}

/// `--memory-mib` and `--timeout`, for every command that runs a plugin.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Plugin memory limit in MiB [default: plugins.memory_mib, else 128]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub memory_mib: Option<u64>,

    /// Plugin wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]
    #[arg(long, value_name = "DUR", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d < Duration::from_millis(1) {
        return Err("the timeout must be at least 1ms".to_string());
    }
    Ok(d)
}

/// Run options from the configuration and the command's limit flags (a flag wins over
/// the configuration, and either over a manifest's request); plugin logs go to stderr
/// with `-v`.
pub fn run_options(ctx: &Context, flags: &LimitArgs) -> RunOptions {
    let config = &ctx.config.plugins;
    let defaults = Limits::default();
    let limits = Limits {
        memory_bytes: config
            .memory_mib
            .map_or(defaults.memory_bytes, |mib| mib.saturating_mul(MIB)),
        deadline: config.timeout.unwrap_or(defaults.deadline),
        stdout_bytes: config
            .stdout_mib
            .map_or(defaults.stdout_bytes, |mib| mib.saturating_mul(MIB)),
        stderr_bytes: config
            .stderr_kib
            .map_or(defaults.stderr_bytes, |kib| kib.saturating_mul(1024)),
        module_bytes: config
            .module_mib
            .map_or(defaults.module_bytes, |mib| mib.saturating_mul(MIB)),
        compile_memory_bytes: config
            .compile_mib
            .map_or(defaults.compile_memory_bytes, |mib| mib.saturating_mul(MIB)),
    };
    let log: Option<LogSink> =
        (ctx.verbose > 0).then(|| Arc::new(Mutex::new(std::io::stderr())) as LogSink);
    RunOptions {
        limits,
        overrides: LimitOverrides {
            // What the user set, on the command line or in the config, is what plugins
            // get: a manifest's request only chooses below the default.
            memory_bytes: flags
                .memory_mib
                .or(config.memory_mib)
                .map(|mib| mib.saturating_mul(MIB)),
            deadline: flags.timeout.or(config.timeout),
        },
        grants: Grants::default(),
        log,
    }
}

/// The built-in plugin `name`, with the machine code shipped in the binary.
pub fn load_builtin(host: &Host, name: &str) -> anyhow::Result<Plugin> {
    let builtin = builtins::find(name).ok_or_else(|| {
        Failure::new(
            Exit::Failure,
            format!("this gantry was built without its `{name}` plugin"),
        )
    })?;
    builtin.load(host).map_err(plugin_failure)
}

/// Where installed plugins live.
pub fn plugin_store() -> anyhow::Result<PluginStore> {
    PluginStore::default_root()
        .map(PluginStore::new)
        .ok_or_else(|| {
            Failure::new(Exit::Failure, "cannot find the user data directory")
                .hint("set GANTRY_PLUGIN_DIR to the directory to keep plugins in")
                .into()
        })
}

/// A plugin named on the command line: a path if it looks like one, else an installed
/// plugin, else a built-in. Loading is bounded by the limits in `opts`.
pub fn resolve_plugin(host: &Host, spec: &str, opts: &RunOptions) -> anyhow::Result<Plugin> {
    let looks_like_path = spec.ends_with(".wasm") || spec.contains('/') || spec.contains('\\');
    if looks_like_path {
        return compiling(spec, || host.load_file(std::path::Path::new(spec), opts));
    }
    let store = plugin_store()?;
    if let Some(installed) = store.get(spec) {
        return compiling(spec, || store.load(host, &installed, opts));
    }
    if let Some(builtin) = builtins::find(spec) {
        return compiling(spec, || builtin.load(host));
    }
    Err(plugin_failure(PluginError::NotFound {
        name: spec.to_string(),
    }))
}

/// Loads a plugin, with a spinner on a terminal when that means compiling it for this
/// machine (a first run can take seconds; later runs load from the module cache).
pub fn compiling(
    name: &str,
    load: impl FnOnce() -> Result<Plugin, PluginError>,
) -> anyhow::Result<Plugin> {
    let message = format!(
        "compiling {} for this machine, once",
        gantry_plugins::Untrusted(name)
    );
    super::progress::while_slow(&message, load).map_err(plugin_failure)
}

/// A plugin error as a documented exit code, with a hint where one helps.
pub fn plugin_failure(err: PluginError) -> anyhow::Error {
    let exit = match err.class() {
        ErrorClass::Limit => Exit::PluginLimit,
        ErrorClass::Fault => Exit::PluginFault,
        ErrorClass::Interrupted => Exit::Interrupted,
        ErrorClass::Usage => Exit::Usage,
        ErrorClass::Other => Exit::Failure,
    };
    let hint = match &err {
        PluginError::NotFound { .. } => Some(
            "`gantry plugin list` shows installed and built-in plugins; pass a path to run a .wasm file",
        ),
        PluginError::Trap { .. } => Some("this is a bug in the plugin; run with -v to see its log"),
        _ => None,
    };
    let failure = Failure::new(exit, err.to_string());
    match hint {
        Some(hint) => failure.hint(hint).into(),
        None => failure.into(),
    }
}

/// A plugin as help and completions show it, read from its manifest without compiling it.
pub struct PluginSummary {
    pub plugin: String,
    pub command: Option<String>,
    /// The manifest's description, with control characters escaped.
    pub description: Option<String>,
}

/// Installed plugins, then the built-in ones that no installed plugin shadows. Plugins
/// whose manifest cannot be read are left out: help and completion must not fail.
pub fn plugin_summaries() -> Vec<PluginSummary> {
    let installed = PluginStore::default_root()
        .map(PluginStore::new)
        .and_then(|store| store.list().ok())
        .unwrap_or_default();
    let builtin = builtins::all().iter().filter_map(|b| b.manifest().ok());
    let mut summaries: Vec<PluginSummary> = Vec::new();
    for manifest in installed.into_iter().map(|i| i.manifest).chain(builtin) {
        if summaries.iter().any(|s| s.plugin == manifest.name) {
            continue;
        }
        summaries.push(PluginSummary {
            plugin: manifest.name,
            command: manifest.provides.command,
            description: manifest
                .description
                .as_deref()
                .map(|d| Untrusted(d).to_string()),
        });
    }
    summaries
}

/// Completes a plugin's name, for arguments that name one.
pub fn plugin_name_candidates() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        plugin_summaries()
            .into_iter()
            .map(|p| CompletionCandidate::new(p.plugin).help(p.description.map(Into::into)))
            .collect::<Vec<_>>()
    })
}
