//! Clap definitions shared by every command: global flags and the command list.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    about = "Ops CLI: scale Kubernetes workloads, read pprof profiles, run sandboxed WebAssembly plugins",
    propagate_version = true,
    max_term_width = 100
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
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Output format: tables for people, JSON with a stable schema for machines, SARIF
    /// (deps-audit only) for code-scanning tools
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table, global = true)]
    pub output: OutputFormat,

    /// More detail (repeat for more); plugin logs appear from -v on
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]
    #[arg(long, value_name = "FILE", global = true, env = "GANTRY_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run, install and manage sandboxed WebAssembly plugins
    Plugin(commands::plugin::PluginArgs),
    /// Run an ONNX model inside the sandbox (tract), on JSON input tensors
    Infer(commands::infer::InferArgs),
    /// Forecast the peak load of a series with the bundled model, or backtest it against baselines
    Forecast(commands::forecast::ForecastArgs),
    /// Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness
    Scale(commands::scale::ScaleArgs),
    /// Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks
    Profile(commands::profile::ProfileArgs),
    /// Which dependencies of a Go, Cargo or npm project are outdated, yanked, deprecated or vulnerable
    DepsAudit(commands::deps_audit::DepsAuditArgs),
    /// Print a shell completion script
    Completions(commands::completions::CompletionsArgs),
    /// Write the man pages into a directory
    #[command(hide = true)]
    GenerateMan(commands::generate_man::GenerateManArgs),
    /// Run the installed plugin that provides this command
    #[command(external_subcommand)]
    External(Vec<OsString>),
}
