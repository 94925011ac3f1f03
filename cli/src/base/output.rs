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

/// Parses `-o`, and tells someone who wrote `-o cpu.svg` that files are `-O FILE`.
#[derive(Clone)]
pub struct OutputFormatParser;

impl clap::builder::TypedValueParser for OutputFormatParser {
    type Value = OutputFormat;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<OutputFormat, clap::Error> {
        use clap::error::{ContextKind, ContextValue};
        clap::builder::EnumValueParser::<OutputFormat>::new()
            .parse_ref(cmd, arg, value)
            .map_err(|mut err| {
                let value = value.to_string_lossy();
                if value.contains('.') || value.contains('/') || value == "-" {
                    err.insert(
                        ContextKind::Suggested,
                        ContextValue::StyledStrs(vec![
                            format!(
                                "`-o` chooses the output format; to write to `{value}`, use `-O {value}` where the command takes a file"
                            )
                            .into(),
                        ]),
                    );
                }
                err
            })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            OutputFormat::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
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

/// `error: MESSAGE`, then `caused by: ...` for each cause (given with `-v`), then the
/// hint.
pub fn error_line(message: &str, hint: Option<&str>, causes: &[String]) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{ERROR}error:{ERROR:#} {message}");
    for cause in causes {
        let _ = writeln!(err, "  caused by: {cause}");
    }
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

/// Writes one `-o json` document: an object whose first field, `schema`, names its
/// documented shape (`gantry.scale/v1`), followed by `body`'s fields.
pub fn write_json(
    out: &mut dyn Write,
    schema: &str,
    body: &impl serde::Serialize,
) -> anyhow::Result<()> {
    #[derive(serde::Serialize)]
    struct Document<'a, T: serde::Serialize> {
        schema: &'a str,
        #[serde(flatten)]
        body: &'a T,
    }
    serde_json::to_writer_pretty(&mut *out, &Document { schema, body })?;
    writeln!(out)?;
    Ok(())
}
