//! Terminal-facing output: colour choice, the error line, and whether we may prompt.

use std::io::{IsTerminal, Write};

use anstream::ColorChoice as StreamChoice;
use anstyle::{AnsiColor, Style};

use clap::ValueEnum;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `-o`: tables for people, JSON with a stable schema for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Applies `--color` to every anstream writer. `auto` honours `NO_COLOR`, `CLICOLOR_FORCE`
/// and whether the stream is a terminal (anstream's own rules).
pub fn init_color(choice: ColorChoice) {
    let choice = match choice {
        ColorChoice::Auto => StreamChoice::Auto,
        ColorChoice::Always => StreamChoice::Always,
        ColorChoice::Never => StreamChoice::Never,
    };
    choice.write_global();
}

/// Whether a person is there to answer a prompt: stdin and stderr are terminals and
/// we are not in CI.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
}

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();

pub fn error_line(message: &str, hint: Option<&str>) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{ERROR}error:{ERROR:#} {message}");
    if let Some(hint) = hint {
        let _ = writeln!(err, "{HINT}hint:{HINT:#} {hint}");
    }
}

pub fn warn_line(message: &str) {
    let _ = writeln!(anstream::stderr(), "{WARN}warning:{WARN:#} {message}");
}

/// Asks a yes/no question on the terminal (default no). Callers check [`interactive`]
/// first and refuse without a terminal.
pub fn confirm(prompt: &str) -> anyhow::Result<bool> {
    use anyhow::Context as _;
    dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact()
        .context("reading the confirmation")
}
