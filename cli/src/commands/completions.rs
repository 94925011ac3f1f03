//! `gantry completions SHELL`: prints a completion script. The script asks `gantry`
//! itself for candidates (`COMPLETE=SHELL gantry -- ARGS`), so installed plugins' names
//! and commands complete too, and hidden commands never do. The scripts are also checked
//! into `completions/` for packagers; a test regenerates them and fails when they differ.

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::base;
use crate::cli::{self, Cli};

/// The environment variable the scripts set to ask for candidates.
const VAR: &str = "COMPLETE";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl CompletionShell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            CompletionShell::Bash => &Bash,
            CompletionShell::Zsh => &Zsh,
            CompletionShell::Fish => &Fish,
            CompletionShell::Powershell => &Powershell,
            CompletionShell::Elvish => &Elvish,
        }
    }

    /// The file name under `completions/`, as each shell's packagers expect it.
    #[cfg(test)]
    fn file_name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "gantry.bash",
            CompletionShell::Zsh => "_gantry",
            CompletionShell::Fish => "gantry.fish",
            CompletionShell::Powershell => "_gantry.ps1",
            CompletionShell::Elvish => "gantry.elv",
        }
    }
}

pub fn script(shell: CompletionShell) -> Vec<u8> {
    let mut out = Vec::new();
    shell
        .completer()
        .write_registration(VAR, "gantry", "gantry", "gantry", &mut out)
        .expect("writing to a Vec cannot fail");
    out
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<u8> {
    use std::io::Write;
    std::io::stdout().write_all(&script(args.shell))?;
    Ok(0)
}

/// Answers a completion script's question and exits, when `COMPLETE` is set.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(completion_command)
        .var(VAR)
        .complete();
}

/// gantry's commands and the plugins' commands.
fn completion_command() -> clap::Command {
    cli::with_plugin_commands(Cli::command(), base::plugin_summaries())
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when `completions/` is stale. `GANTRY_BLESS=1 cargo test -p gantry completions`
    /// rewrites the files.
    #[test]
    fn checked_in_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../completions");
        let bless = std::env::var_os("GANTRY_BLESS").is_some();
        let mut stale = Vec::new();
        for shell in CompletionShell::value_variants() {
            let path = dir.join(shell.file_name());
            let fresh = script(*shell);
            if bless {
                std::fs::write(&path, &fresh).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(fresh.as_slice()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale completion scripts {stale:?}; run `GANTRY_BLESS=1 cargo test -p gantry completions`"
        );
    }
}
