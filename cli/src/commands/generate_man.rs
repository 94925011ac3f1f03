//! `gantry generate-man DIR` (hidden): writes the man pages, one per command, with
//! clap_mangen. The pages are checked into `man/` and shipped in release archives; a test
//! regenerates them and fails when they differ.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory};

use crate::cli::Cli;

#[derive(Debug, Args)]
pub struct GenerateManArgs {
    /// The directory to write `gantry.1`, `gantry-plugin.1`, ... into (created if missing)
    pub dir: PathBuf,
}

pub fn run(args: &GenerateManArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    clap_mangen::generate_to(Cli::command(), &args.dir)
        .with_context(|| format!("writing man pages to {}", args.dir.display()))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Fails when `man/` is stale. `GANTRY_BLESS=1 cargo test -p gantry man_pages`
    /// rewrites it.
    #[test]
    fn checked_in_man_pages_are_current() {
        let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../man");
        let fresh = tempfile::tempdir().unwrap();
        run(&GenerateManArgs {
            dir: fresh.path().to_path_buf(),
        })
        .unwrap();
        if std::env::var_os("GANTRY_BLESS").is_some() {
            let _ = std::fs::remove_dir_all(&checked_in);
            run(&GenerateManArgs { dir: checked_in }).unwrap();
            return;
        }
        let expected = names(fresh.path());
        assert!(expected.contains(&"gantry.1".to_string()), "{expected:?}");
        assert!(
            expected.contains(&"gantry-plugin-run.1".to_string()),
            "{expected:?}"
        );
        let stale: Vec<&String> = expected
            .iter()
            .filter(|name| {
                std::fs::read(checked_in.join(name)).ok()
                    != std::fs::read(fresh.path().join(name)).ok()
            })
            .collect();
        assert!(
            stale.is_empty() && names(&checked_in) == expected,
            "stale man pages {stale:?} in {}; run `GANTRY_BLESS=1 cargo test -p gantry man_pages`",
            checked_in.display()
        );
    }
}
