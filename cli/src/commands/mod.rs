//! One module per command. Each parses nothing itself beyond its clap struct and calls
//! into a library crate, so the logic is testable without a terminal.

pub mod completions;
pub mod deps_audit;
pub mod forecast;
pub mod generate_man;
pub mod infer;
pub mod plugin;
pub mod profile;
pub mod scale;

use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{self, Config};
use crate::exit::{Exit, Failure};

/// What every command may read besides its own arguments.
pub struct Context {
    pub output: OutputFormat,
    pub verbose: u8,
    pub quiet: bool,
    pub config: Config,
}

impl Context {
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// Runs the command and returns gantry's exit code (or a plugin's, for plugin commands).
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let command = match cli.command {
        // Needs no configuration: it must work even when the config file is broken.
        Command::Completions(args) => return completions::run(&args),
        Command::GenerateMan(args) => return generate_man::run(&args),
        command => command,
    };
    // SARIF describes findings in files; only deps-audit has any.
    if cli.global.output == OutputFormat::Sarif && !matches!(command, Command::DepsAudit(_)) {
        return Err(
            Failure::new(Exit::Usage, "-o sarif is only for `gantry deps-audit`")
                .hint("use -o table or -o json")
                .into(),
        );
    }
    let ctx = Context {
        output: cli.global.output,
        verbose: cli.global.verbose,
        quiet: cli.global.quiet,
        config: config::load(cli.global.config.as_deref())?,
    };
    match command {
        Command::Plugin(args) => plugin::run(args, &ctx),
        Command::Scale(args) => scale::run(args, &ctx),
        Command::Infer(args) => infer::run(args, &ctx),
        Command::Forecast(args) => forecast::run(args, &ctx),
        Command::Profile(args) => profile::run(args, &ctx),
        Command::DepsAudit(args) => deps_audit::run(args, &ctx),
        Command::External(argv) => plugin::run_external(argv, &ctx),
        Command::Completions(args) => completions::run(&args),
        Command::GenerateMan(args) => generate_man::run(&args),
    }
}
