//! The `gantry` binary: parses arguments, loads configuration, dispatches to a command
//! module and turns the outcome into one line on stderr and a documented exit code.

mod builtins;
mod cli;
mod commands;
mod config;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_color(cli.global.color);
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    };
    ExitCode::from(code)
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
        for exit in crate::exit::Exit::ALL {
            let row = format!("| {} | `{}` |", exit.code(), exit.name());
            assert!(readme.contains(&row), "README exit-code table lacks: {row}");
        }
    }
}
