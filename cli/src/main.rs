//! The `gantry` binary: parses arguments, loads configuration, dispatches to a command
//! module and turns the outcome into one line on stderr and a documented exit code.

mod allocator;
mod base;
mod cli;
mod commands;

use std::process::ExitCode;

use crate::base::Context;
use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    commands::completions::complete_if_asked();
    let cli = cli::parse(base::plugin_summaries);
    base::init_color(cli.global.color);
    let verbose = cli.global.verbose;
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(err) => base::report(&err, verbose),
    };
    ExitCode::from(code)
}

/// Runs the command and returns gantry's exit code (or a plugin's, for plugin commands).
fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    use crate::commands::*;
    let global = cli.global;
    let command = match cli.command {
        // Needs no configuration: it must work even when the config file is broken.
        Command::Completions(args) => {
            base::refuse_json(global.output, "completions", "a shell script")?;
            return completions::run(&args);
        }
        Command::GenerateMan(args) => return generate_man::run(&args),
        command => command,
    };
    // SARIF describes findings in files; only deps-audit has any.
    if global.output == base::OutputFormat::Sarif && !matches!(command, Command::DepsAudit(_)) {
        return Err(base::Failure::new(
            base::Exit::Usage,
            "-o sarif is only for `gantry deps-audit`",
        )
        .hint("use -o table or -o json")
        .into());
    }
    // Needs no configuration either, to report on a broken one.
    if let Command::Version(_) = command {
        return version::run(global.output, global.quiet);
    }
    let ctx = Context::new(
        global.output,
        global.verbose,
        global.quiet,
        global.config.as_deref(),
    )?;
    match command {
        Command::Plugin(args) => plugin::run(args, &ctx, cli::command_names),
        Command::Scale(args) => scale::run(*args, &ctx),
        Command::Infer(args) => infer::run(args, &ctx),
        Command::Forecast(args) => forecast::run(args, &ctx),
        Command::Profile(args) => profile::run(args, &ctx),
        Command::DepsAudit(args) => deps_audit::run(args, &ctx),
        Command::External(argv) => plugin::run_external(argv, &ctx),
        Command::Completions(args) => completions::run(&args),
        Command::GenerateMan(args) => generate_man::run(&args),
        Command::Version(_) => version::run(global.output, global.quiet),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn exit_code_table_matches_readme() {
        let readme = include_str!("../../README.md");
        for exit in crate::base::Exit::ALL {
            let row = format!("| {} | `{}` |", exit.code(), exit.name());
            assert!(readme.contains(&row), "README exit-code table lacks: {row}");
        }
    }
}
