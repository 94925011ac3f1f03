//! `gantry plugin run|install|list|info|remove|new|test` and plugin-provided commands
//! (`gantry NAME ARGS...`). The sandbox itself is `gantry_plugins`; this module turns
//! flags and configuration into its options and its errors into exit codes.
//!

use std::ffi::OsString;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gantry_plugins::{
    CacheOutcome, CommandIo, Downloaded, Grants, Host, InstallOptions, MIB, Manifest, Origin,
    Plugin, PluginError, ReservedNames, RunOptions, Untrusted,
};
use serde::Serialize;

use crate::base::{
    self, Builtin, Context, Exit, Failure, LimitArgs, compiling, host, plugin_failure as failure,
    plugin_store as store, resolve_plugin as resolve, run_options,
};

mod scaffold;
mod sdk;
mod test;

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Run a plugin (installed, built-in, or a .wasm file) as a command
    Run(RunArgs),
    /// Install a plugin from a .wasm file or an http(s) URL (with NAME.toml beside it if its manifest is not embedded)
    Install(InstallArgs),
    /// List installed and built-in plugins
    List,
    /// Show a plugin's manifest, checksum and effective limits
    Info {
        /// An installed or built-in plugin, or a .wasm file
        #[arg(add = base::plugin_name_candidates())]
        plugin: String,
    },
    /// Remove an installed plugin
    Remove {
        /// The installed plugin's name
        #[arg(add = base::plugin_name_candidates())]
        name: String,
    },
    /// Create a plugin project (Rust or Go) in a new directory NAME; it builds offline
    New(NewArgs),
    /// Call a plugin's hooks with a sample input and check the answers against the plugin
    /// contract
    Test(test::TestArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: [a-z][a-z0-9-]{0,31}
    pub name: String,

    /// The plugin's language
    #[arg(long, value_enum, default_value_t = scaffold::Lang::Rust)]
    pub lang: scaffold::Lang,

    /// Where a Rust plugin's SDK comes from [default: bundled]
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub sdk: Option<scaffold::SdkSource>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// An installed or built-in plugin's name, or a path to a .wasm file
    #[arg(value_name = "NAME|FILE.wasm", add = base::plugin_name_candidates())]
    pub plugin: String,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Let the plugin read this directory (read-only; seen at its absolute path)
    #[arg(long = "grant-read", value_name = "DIR")]
    pub grant_read: Vec<PathBuf>,

    /// Let the plugin read this environment variable
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,

    /// Arguments for the plugin: everything after its name that is not one of the options
    /// above, and everything after `--`
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The plugin's .wasm file, or an http(s) URL to download it from (with the .toml
    /// manifest beside it, if the server has one)
    #[arg(value_name = "PATH|URL")]
    pub source: String,

    /// Refuse to install unless the file has this SHA-256 (hex)
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Install without asking
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Replace an installed plugin of the same name
    #[arg(long)]
    pub replace: bool,
}

/// Runs a `plugin` subcommand. `gantry_commands` lists gantry's own commands (given by
/// the caller, so that this module does not import the command-line parser).
pub fn run(
    args: PluginArgs,
    ctx: &Context,
    gantry_commands: fn() -> Vec<String>,
) -> anyhow::Result<u8> {
    match args.command {
        PluginCommand::Run(args) => run_plugin(args, ctx),
        PluginCommand::Install(args) => install(args, ctx, &gantry_commands()),
        PluginCommand::List => list(ctx),
        PluginCommand::Info { plugin } => info(&plugin, ctx),
        PluginCommand::Remove { name } => remove(&name, ctx),
        PluginCommand::New(args) => new(args, ctx),
        PluginCommand::Test(args) => test::run(args, ctx),
    }
}

/// `gantry NAME ARGS...`: the installed (or else built-in) plugin whose manifest
/// provides command NAME.
pub fn run_external(argv: Vec<OsString>, ctx: &Context) -> anyhow::Result<u8> {
    let mut argv = argv.into_iter();
    let command = argv.next().unwrap_or_default();
    let command = command.to_string_lossy().into_owned();
    let args = argv
        .map(|a| {
            a.into_string().map_err(|a| {
                Failure::new(
                    Exit::Usage,
                    format!("argument {a:?} is not valid Unicode; plugins take Unicode arguments"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    ctx.refuse_json(&command, "the plugin's own output")?;
    let host = host(ctx)?;
    let opts = run_options(ctx, &LimitArgs::default());
    let store = store()?;
    let installed = store.find_command(&command).map_err(failure)?;
    let plugin = match installed {
        Some(installed) => compiling(&command, || store.load(&host, &installed, &opts))?,
        None => match builtin_providing(&command) {
            Some(builtin) => compiling(&command, || builtin.load(&host))?,
            None => {
                return Err(Failure::new(
                    Exit::Usage,
                    format!("unknown command `{command}`"),
                )
                .hint(
                    "`gantry --help` lists gantry's commands, `gantry plugin list` the plugins; `gantry plugin install FILE.wasm` adds one",
                )
                .into());
            }
        },
    };
    run_loaded(&host, &plugin, &args, opts)
}

fn new(args: NewArgs, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("plugin new", "a project folder")?;
    let sdk = match (args.lang, args.sdk) {
        (scaffold::Lang::Go, Some(_)) => {
            return Err(Failure::new(
                Exit::Usage,
                "--sdk is for Rust plugins; a Go plugin needs only Go's standard library",
            )
            .into());
        }
        (_, sdk) => sdk.unwrap_or(scaffold::SdkSource::Bundled),
    };
    scaffold::new(&args.name, args.lang, sdk, ctx)
}

fn builtin_providing(command: &str) -> Option<&'static Builtin> {
    base::builtins().iter().find(|b| {
        b.manifest()
            .is_ok_and(|m| m.provides.command.as_deref() == Some(command))
    })
}

fn run_plugin(args: RunArgs, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("plugin run", "the plugin's own output")?;
    let host = host(ctx)?;
    let mut opts = run_options(ctx, &args.limits);
    opts.grants = Grants {
        read_dirs: args.grant_read,
        read_files: Vec::new(),
        env: args.env,
    };
    let plugin = resolve(&host, &args.plugin, &opts)?;
    run_loaded(&host, &plugin, &args.args, opts)
}

/// Runs a command plugin on the terminal; Ctrl-C stops it and exits 130 (the plugin
/// host handles the signal).
fn run_loaded(
    host: &Host,
    plugin: &Plugin,
    args: &[String],
    opts: RunOptions,
) -> anyhow::Result<u8> {
    let code = host
        .run_command(plugin, args, &opts, CommandIo::inherit())
        .map_err(failure)?;
    Ok(plugin_exit_code(plugin.name(), code))
}

/// A plugin's own exit code passes through, except the two codes gantry uses when it
/// stops a plugin itself: those become 1, with a note, so that a plugin's choice never
/// reads as a sandbox limit or fault in a script.
fn plugin_exit_code(name: &str, code: i32) -> u8 {
    // WASI exit codes are below 126; anything else would be a wasmtime bug.
    let Ok(code) = u8::try_from(code) else {
        return Exit::Failure.code();
    };
    let reserved_for = match code {
        c if c == Exit::PluginLimit.code() => "a sandbox limit",
        c if c == Exit::PluginFault.code() => "a plugin fault",
        _ => return code,
    };
    eprintln!(
        "gantry: plugin '{}' exited with {code}, which gantry reserves for {reserved_for}; exiting 1",
        Untrusted(name)
    );
    Exit::Failure.code()
}

/// What `list`, `info` and `install` print about a plugin.
#[derive(Debug, Serialize)]
struct Record<'a> {
    name: &'a str,
    version: String,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    description: Option<&'a str>,
    command: Option<&'a str>,
    hooks: &'a [String],
}

impl<'a> Record<'a> {
    fn new(manifest: &'a Manifest, source: &'static str, path: Option<&Path>) -> Self {
        Record {
            name: &manifest.name,
            version: manifest.version.to_string(),
            source,
            path: path.map(|p| p.display().to_string()),
            description: manifest.description.as_deref(),
            command: manifest.provides.command.as_deref(),
            hooks: &manifest.provides.hooks,
        }
    }
}

fn list(ctx: &Context) -> anyhow::Result<u8> {
    let installed = store()?.list().map_err(failure)?;
    let builtin: Vec<Manifest> = base::builtins()
        .iter()
        .filter_map(|b| b.manifest().ok())
        .collect();
    let mut records: Vec<Record> = installed
        .iter()
        .map(|p| Record::new(&p.manifest, "installed", Some(&p.wasm)))
        .chain(builtin.iter().map(|m| Record::new(m, "built-in", None)))
        .collect();
    records.sort_by(|a, b| (a.name, a.source).cmp(&(b.name, b.source)));
    let mut out = ctx.out();
    if ctx.json() {
        base::write_json(
            &mut out,
            "gantry.plugin.list/v1",
            &serde_json::json!({ "plugins": records }),
        )?;
        return Ok(0);
    }
    let mut table = base::table::new(
        ["NAME", "VERSION", "SOURCE", "PROVIDES", "DESCRIPTION"],
        &[],
    );
    for r in &records {
        let mut provides = Vec::new();
        if let Some(command) = r.command {
            provides.push(format!("command {command}"));
        }
        provides.extend(r.hooks.iter().map(|h| format!("hook {h}")));
        table.add_row([
            r.name.to_string(),
            r.version.clone(),
            r.source.to_string(),
            provides.join(", "),
            Untrusted(r.description.unwrap_or("")).to_string(),
        ]);
    }
    writeln!(out, "{}", base::table::render(&table))?;
    Ok(0)
}

#[derive(Debug, Serialize)]
struct Details<'a> {
    #[serde(flatten)]
    record: Record<'a>,
    sha256: String,
    /// Where the module's machine code came from this time.
    machine_code: &'static str,
    /// Variables it gets on every run: those accepted when it was installed.
    env_grants: &'a [String],
    /// Variables its manifest asks for; granted only by installing it.
    env_requested: &'a [String],
    requested_memory_mib: Option<u64>,
    requested_timeout_ms: Option<u64>,
    effective_memory_mib: u64,
    effective_timeout_ms: u64,
}

fn details<'a>(
    host: &Host,
    plugin: &'a Plugin,
    manifest: &'a Manifest,
    source: &'static str,
    env_grants: &'a [String],
    ctx: &Context,
) -> Details<'a> {
    let path = match plugin.origin() {
        Origin::File(path) => Some(path.as_path()),
        Origin::BuiltIn(_) => None,
    };
    let limits = host.effective_limits(plugin, &run_options(ctx, &LimitArgs::default()));
    Details {
        record: Record::new(manifest, source, path),
        sha256: plugin.sha256(),
        machine_code: match plugin.cache_outcome() {
            CacheOutcome::Precompiled => "shipped in the binary",
            CacheOutcome::Hit => "from the module cache",
            CacheOutcome::Miss => "compiled now, then cached",
            CacheOutcome::Rebuilt(_) => "recompiled over an untrusted cache entry",
            CacheOutcome::Untrusted(_) => {
                "compiled now, in memory (the cache folder is not trusted)"
            }
            CacheOutcome::Disabled => "compiled now (no cache)",
        },
        env_grants,
        env_requested: &manifest.grants.env,
        requested_memory_mib: manifest.limits.memory_mib,
        requested_timeout_ms: manifest.limits.timeout_ms,
        effective_memory_mib: limits.memory_bytes / MIB,
        effective_timeout_ms: u64::try_from(limits.deadline.as_millis()).unwrap_or(u64::MAX),
    }
}

fn print_details(out: &mut impl std::io::Write, d: &Details) -> std::io::Result<()> {
    let r = &d.record;
    writeln!(out, "name:         {}", r.name)?;
    writeln!(out, "version:      {}", r.version)?;
    writeln!(out, "source:       {}", r.source)?;
    if let Some(path) = &r.path {
        writeln!(out, "path:         {path}")?;
    }
    if let Some(description) = r.description {
        writeln!(out, "description:  {}", Untrusted(description))?;
    }
    writeln!(out, "command:      {}", r.command.unwrap_or("-"))?;
    let hooks = if r.hooks.is_empty() {
        "-".to_string()
    } else {
        r.hooks.join(", ")
    };
    writeln!(out, "hooks:        {hooks}")?;
    writeln!(out, "env grants:   {}", name_list(d.env_grants))?;
    if d.env_requested != d.env_grants {
        writeln!(
            out,
            "env requested: {} (only a request: installing grants it, or --env NAME for one run)",
            name_list(d.env_requested)
        )?;
    }
    let requested =
        |v: Option<u64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v} {unit}"));
    writeln!(
        out,
        "memory:       {} MiB (requested {})",
        d.effective_memory_mib,
        requested(d.requested_memory_mib, "MiB")
    )?;
    writeln!(
        out,
        "timeout:      {} ms (requested {})",
        d.effective_timeout_ms,
        requested(d.requested_timeout_ms, "ms")
    )?;
    writeln!(out, "sha256:       {}", d.sha256)?;
    writeln!(out, "machine code: {}", d.machine_code)
}

/// Names from a manifest or install record, escaped, or "none".
fn name_list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let shown: Vec<String> = names.iter().map(|n| Untrusted(n).to_string()).collect();
    shown.join(", ")
}

fn info(spec: &str, ctx: &Context) -> anyhow::Result<u8> {
    let host = host(ctx)?;
    let plugin = resolve(&host, spec, &run_options(ctx, &LimitArgs::default()))?;
    let Some(manifest) = plugin.manifest() else {
        return Err(failure(PluginError::NoManifest {
            origin: plugin.origin().to_string(),
        }));
    };
    let source = match plugin.origin() {
        Origin::BuiltIn(_) => "built-in",
        Origin::File(path)
            if store()?
                .get(&manifest.name)
                .is_some_and(|i| i.wasm == *path) =>
        {
            "installed"
        }
        Origin::File(_) => "file",
    };
    let d = details(&host, &plugin, manifest, source, plugin.approved_env(), ctx);
    let mut out = ctx.out();
    if ctx.json() {
        base::write_json(&mut out, "gantry.plugin.info/v1", &d)?;
    } else {
        print_details(&mut out, &d)?;
    }
    Ok(0)
}

/// Names an installed plugin cannot take: gantry's commands, and the built-in plugins
/// and their commands.
fn reserved_names(gantry_commands: &[String]) -> ReservedNames {
    let mut reserved = ReservedNames::new();
    for name in gantry_commands {
        reserved.reserve(name, "a gantry command");
    }
    for builtin in base::builtins() {
        reserved.reserve(builtin.name, "a built-in plugin");
        if let Some(command) = builtin.manifest().ok().and_then(|m| m.provides.command) {
            reserved.reserve(
                command,
                format!("the command of the built-in plugin `{}`", builtin.name),
            );
        }
    }
    reserved
}

fn install(args: InstallArgs, ctx: &Context, gantry_commands: &[String]) -> anyhow::Result<u8> {
    let host = host(ctx)?;
    let store = store()?;
    let reserved = reserved_names(gantry_commands);
    let options = InstallOptions {
        expected_sha256: args.sha256.as_deref(),
        reserved: &reserved,
        replace: args.replace,
    };
    let run_options = run_options(ctx, &LimitArgs::default());
    // Keeps a download's folder until the plugin is committed to the store.
    let downloaded = gantry_plugins::is_url(&args.source)
        .then(|| download(&args.source, &run_options, ctx))
        .transpose()?;
    let path = match &downloaded {
        Some(downloaded) => downloaded.wasm.clone(),
        None => PathBuf::from(&args.source),
    };
    let message = format!("checking and compiling {}", args.source);
    let staged = base::while_slow(&message, || {
        store.stage(&host, &path, &options, &run_options)
    })
    .map_err(failure)?;
    let manifest = staged.manifest.clone();
    let d = details(
        &host,
        &staged.plugin,
        &manifest,
        "file",
        staged.env_grants(),
        ctx,
    );
    if !args.yes {
        if !base::interactive() {
            return Err(Failure::new(
                Exit::Refused,
                format!(
                    "installing plugin `{}` needs confirmation and there is no terminal to ask on",
                    manifest.name
                ),
            )
            .hint("review it with `gantry plugin info FILE.wasm`, then pass -y to install without a prompt")
            .into());
        }
        let mut err = std::io::stderr().lock();
        writeln!(err, "About to install this plugin:")?;
        print_details(&mut err, &d)?;
        if staged.env_grants().is_empty() {
            writeln!(
                err,
                "Installing it grants nothing: no environment variables, no files, no network."
            )?;
        } else {
            writeln!(
                err,
                "Installing it lets it read these environment variables on every run: {}.",
                name_list(staged.env_grants())
            )?;
            writeln!(
                err,
                "Nothing else: no other variables, no files, no network."
            )?;
        }
        if let Some(existing) = &staged.replaces {
            writeln!(
                err,
                "This replaces the installed version {}.",
                existing.manifest.version
            )?;
        }
        drop(err);
        if !base::confirm(&format!("Install `{}`?", manifest.name))? {
            return Err(Failure::new(Exit::Refused, "not installed: declined").into());
        }
    }
    let sha256 = staged.plugin.sha256();
    let installed = store.commit(staged).map_err(failure)?;
    if ctx.json() {
        base::write_json(
            &mut ctx.out(),
            "gantry.plugin.install/v1",
            &serde_json::json!({
                "name": manifest.name,
                "version": manifest.version.to_string(),
                "path": installed.wasm.display().to_string(),
                "sha256": sha256,
            }),
        )?;
    } else if !ctx.quiet {
        eprintln!(
            "installed {} {} to {}",
            manifest.name,
            manifest.version,
            installed.wasm.display()
        );
    }
    Ok(0)
}

/// Downloads a plugin to install, with a progress bar on a terminal.
fn download(url: &str, opts: &RunOptions, ctx: &Context) -> anyhow::Result<Downloaded> {
    let bar = (!ctx.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::no_length();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "downloading {bar:30} {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let result = gantry_plugins::download(
        url,
        gantry_http::ClientConfig::default(),
        &opts.limits,
        |done, expected| {
            if let Some(bar) = &bar {
                if let Some(expected) = expected {
                    bar.set_length(expected);
                }
                bar.set_position(done);
            }
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result.map_err(failure)
}

fn remove(name: &str, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("plugin remove", "one line on stderr")?;
    let store = store()?;
    if store.get(name).is_none() && base::find_builtin(name).is_some() {
        return Err(Failure::new(
            Exit::Usage,
            format!("`{name}` is built into gantry and cannot be removed"),
        )
        .into());
    }
    store.remove(name).map_err(failure)?;
    if !ctx.quiet {
        eprintln!("removed {name}");
    }
    Ok(0)
}
