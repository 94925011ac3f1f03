//! Clap definitions shared by every command (global flags, the command list, examples in
//! each command's help), and the parse that adds installed plugins' commands to the help
//! and to completions without compiling any plugin.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::base::{self, ColorChoice, OutputFormat, PluginSummary};
use crate::commands;

const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    about = "Ops CLI: forecast load and scale Kubernetes workloads on it, read pprof profiles, audit dependencies, run sandboxed WebAssembly plugins",
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:
  gantry forecast --metrics requests.csv             peak load over the next hour
  gantry scale deploy/web --replicas 5 --wait        scale and watch to readiness
  gantry profile top http://127.0.0.1:6060           30 s CPU profile, as pprof -top
  gantry deps-audit . --fail-on vuln                 outdated and vulnerable dependencies
  gantry plugin run hello -- world                   a sandboxed plugin

Exit codes: 0 success, 1 failure, 2 usage, 3 refused, 4 timed out, 5 findings,
6 precondition failed, 10 plugin limit, 11 plugin fault, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to use colours (NO_COLOR in the environment means never, unless `always`)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// Output format: tables for people, JSON with a stable schema for machines, SARIF
    /// (deps-audit only) for code-scanning tools
    #[arg(short = 'o', long = "output", value_parser = base::OutputFormatParser, default_value = "table", global = true, help_heading = GLOBAL)]
    pub output: OutputFormat,

    /// More detail (repeat for more); plugin logs and error causes appear from -v on
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub verbose: u8,

    /// Print nothing but errors
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]
    #[arg(long, value_name = "FILE", global = true, env = "GANTRY_CONFIG", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Forecast the peak load of a series with the bundled model, or backtest it against baselines
    #[command(after_help = "Examples:
  gantry forecast --metrics requests.csv
  gantry forecast --metrics requests.csv --horizon 36 --backtest
  curl -s 'http://prom:9090/api/v1/query_range?...' | gantry forecast --metrics -")]
    Forecast(commands::forecast::ForecastArgs),
    /// Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness; or size them from a load forecast (--predict)
    #[command(after_help = "Examples:
  gantry scale deploy/web --replicas 5 --wait
  gantry scale deployment -l app=web --replicas 2 --dry-run server
  gantry scale sts/db --replicas 3 --current-replicas 2 -y
  gantry scale --predict --metrics requests.csv --target-per-replica 100
  gantry scale deploy/web --predict --prometheus http://prometheus:9090 \\
      --query 'sum(rate(http_requests_total{job=\"web\"}[5m]))' --target-per-replica 50 --max 20")]
    Scale(Box<commands::scale::ScaleArgs>),
    /// Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks
    #[command(after_help = "Examples:
  gantry profile top http://127.0.0.1:6060 --seconds 10
  gantry profile top heap.pb.gz --sample-index alloc_space --cum
  gantry profile flamegraph cpu.pb.gz -O cpu.svg
  gantry profile leaks http://127.0.0.1:6060 --interval 5s --samples 3")]
    Profile(commands::profile::ProfileArgs),
    /// Which dependencies of a Go, Cargo or npm project are outdated, yanked, deprecated or vulnerable
    #[command(after_help = "Examples:
  gantry deps-audit                                   every go.mod, Cargo.lock, package-lock.json here
  gantry deps-audit ./service --ecosystem go -o json
  gantry deps-audit . --osv-db all.zip --fail-on vuln,yanked
  gantry deps-audit . -o sarif > deps.sarif")]
    DepsAudit(commands::deps_audit::DepsAuditArgs),
    /// Run an ONNX model inside the sandbox (tract), on JSON input tensors
    #[command(after_help = "Examples:
  gantry infer model.onnx --input inputs.json
  echo '{\"x\":[[1,2,3,4]]}' | gantry infer model.onnx --input - -o json")]
    Infer(commands::infer::InferArgs),
    /// Run, install and manage sandboxed WebAssembly plugins
    #[command(after_help = "Examples:
  gantry plugin run hello -- world
  gantry plugin install ./my-plugin.wasm --sha256 <HEX>
  gantry plugin list")]
    Plugin(commands::plugin::PluginArgs),
    /// Print a shell completion script (it completes installed plugins' names too)
    #[command(after_help = "Examples:
  gantry completions bash > ~/.local/share/bash-completion/completions/gantry
  gantry completions zsh > \"${fpath[1]}/_gantry\"
  gantry completions fish > ~/.config/fish/completions/gantry.fish")]
    Completions(commands::completions::CompletionsArgs),
    /// Print the version and build details (commit, date, target, wasmtime, tract) for bug reports
    #[command(after_help = "Examples:
  gantry version
  gantry version -o json")]
    Version(commands::version::VersionArgs),
    /// Write the man pages into a directory
    #[command(hide = true)]
    GenerateMan(commands::generate_man::GenerateManArgs),
    /// Run the installed plugin that provides this command
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// The parsed command line. Plugin commands are looked up only when they are needed:
/// for `--help` (which lists them) and for a command gantry does not know itself.
pub fn parse(plugins: impl FnOnce() -> Vec<PluginSummary>) -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            // The same parse again, with plugin commands in the command list.
            let with_plugins = with_plugin_commands(Cli::command(), plugins())
                .try_get_matches()
                .err();
            with_plugins.unwrap_or(err).exit()
        }
        Err(err) => err.exit(),
    }
}

/// gantry's own command names and aliases, which no plugin may take.
pub fn command_names() -> Vec<String> {
    let cli = Cli::command();
    let mut names: Vec<String> = cli
        .get_subcommands()
        .flat_map(|command| std::iter::once(command.get_name()).chain(command.get_all_aliases()))
        .map(str::to_string)
        .collect();
    names.push("help".to_string());
    names
}

/// `command` with one subcommand per plugin command, taking any arguments.
pub fn with_plugin_commands(
    mut command: clap::Command,
    plugins: Vec<PluginSummary>,
) -> clap::Command {
    for plugin in plugins {
        let Some(name) = plugin.command else {
            continue;
        };
        if command.find_subcommand(&name).is_some() {
            continue;
        }
        let about = match &plugin.description {
            Some(description) => format!("{description} [plugin {}]", plugin.plugin),
            None => format!("[plugin {}]", plugin.plugin),
        };
        command = command.subcommand(
            clap::Command::new(name)
                .about(about)
                .disable_help_flag(true)
                .arg(
                    clap::Arg::new("args")
                        .num_args(0..)
                        .trailing_var_arg(true)
                        .allow_hyphen_values(true),
                ),
        );
    }
    command
}
