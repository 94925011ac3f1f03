//! `gantry plugin new NAME [--lang rust|go] [--sdk bundled|registry]`: writes a plugin
//! project, a command that also answers the `scale.forecast` hook, which builds for
//! `wasm32-wasip1` with no network. The projects' files are the templates under
//! `cli/templates/`, with `{{name}}` (and, for Rust, `{{sdk}}`) filled in; the Rust
//! template's manifest is `Cargo.toml.in`, so that cargo never takes the template folder
//! for a package of its own.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;
use gantry_plugins::valid_name;

use super::sdk;
use crate::base::{Context, Exit, Failure};

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with gantry's SDK: `cargo build --release`; the manifest is embedded
    Rust,
    /// Go 1.21+ with the standard library only: `GOOS=wasip1 GOARCH=wasm go build`;
    /// the manifest sits beside the module
    Go,
}

/// Where a Rust project's SDK comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SdkSource {
    /// The SDK bundled with this gantry, written under the user's data directory and
    /// used by path: builds offline
    Bundled,
    /// The SDK published to crates.io for this gantry's version
    Registry,
}

const RUST: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../templates/rust/Cargo.toml.in"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../../templates/rust/.cargo/config.toml"),
    ),
    (
        "plugin.toml",
        include_str!("../../../templates/rust/plugin.toml"),
    ),
    (
        "src/main.rs",
        include_str!("../../../templates/rust/src/main.rs"),
    ),
    (
        "README.md",
        include_str!("../../../templates/rust/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../../templates/rust/.gitignore"),
    ),
];

const GO: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../../templates/go/go.mod")),
    ("main.go", include_str!("../../../templates/go/main.go")),
    (
        "main_test.go",
        include_str!("../../../templates/go/main_test.go"),
    ),
    // Go cannot write custom sections: the manifest goes beside NAME.wasm.
    (
        "{{name}}.toml",
        include_str!("../../../templates/go/plugin.toml"),
    ),
    ("README.md", include_str!("../../../templates/go/README.md")),
    (
        ".gitignore",
        include_str!("../../../templates/go/.gitignore"),
    ),
];

/// The files of a new project, relative to its directory. `sdk_dependency` is the
/// Rust project's `gantry-plugin-sdk = ...` line.
fn files(name: &str, lang: Lang, sdk_dependency: &str) -> Vec<(PathBuf, String)> {
    let templates = match lang {
        Lang::Rust => RUST,
        Lang::Go => GO,
    };
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{sdk}}", sdk_dependency)
    };
    templates
        .iter()
        .map(|(path, text)| (PathBuf::from(fill(path)), fill(text)))
        .collect()
}

/// The `gantry-plugin-sdk = ...` line for a Rust project.
fn sdk_dependency(source: SdkSource) -> anyhow::Result<String> {
    let bundle = sdk::Bundle::new()?;
    let spec = match source {
        SdkSource::Registry => format!("{{ version = \"={}\" }}", bundle.version),
        SdkSource::Bundled => {
            let root = sdk::default_root().ok_or_else(|| {
                Failure::new(
                    Exit::Failure,
                    "cannot find the user data directory to write the plugin SDK to",
                )
                .hint("set XDG_DATA_HOME, or pass --sdk registry to use the SDK from crates.io")
            })?;
            let dir = bundle
                .install_under(&root)
                .context("writing the plugin SDK")?;
            let dir = dir.to_str().ok_or_else(|| {
                Failure::new(
                    Exit::Failure,
                    format!(
                        "the SDK's folder {} is not valid Unicode, which Cargo.toml needs",
                        dir.display()
                    ),
                )
                .hint("pass --sdk registry to use the SDK from crates.io")
            })?;
            format!("{{ path = {} }}", toml::Value::String(dir.to_string()))
        }
    };
    Ok(format!("{} = {spec}", sdk::PACKAGE))
}

pub fn new(name: &str, lang: Lang, source: SdkSource, ctx: &Context) -> anyhow::Result<u8> {
    if !valid_name(name) {
        return Err(Failure::new(
            Exit::Usage,
            format!("plugin name {name:?} must match [a-z][a-z0-9-]{{0,31}}"),
        )
        .into());
    }
    let dir = Path::new(name);
    if dir.exists() {
        return Err(
            Failure::new(Exit::Usage, format!("{} already exists", dir.display()))
                .hint("choose another name or remove it")
                .into(),
        );
    }
    let dependency = match lang {
        Lang::Rust => sdk_dependency(source)?,
        Lang::Go => String::new(),
    };
    write_project(dir, &files(name, lang, &dependency))?;
    if !ctx.quiet {
        let (build, wasm) = match lang {
            Lang::Rust => (
                "cargo build --release".to_string(),
                format!("target/wasm32-wasip1/release/{name}.wasm"),
            ),
            Lang::Go => (
                format!("GOOS=wasip1 GOARCH=wasm go build -o {name}.wasm ."),
                format!("{name}.wasm"),
            ),
        };
        eprintln!("created {name}/; then:");
        eprintln!("  cd {name} && {build}");
        eprintln!("  gantry plugin test {wasm}");
        eprintln!("  gantry plugin install {wasm}");
        eprintln!("  gantry {name}");
    }
    Ok(0)
}

/// Writes the project into a fresh folder beside `dir`, then renames it into place:
/// an interrupted `plugin new` leaves no half-written project behind.
fn write_project(dir: &Path, files: &[(PathBuf, String)]) -> anyhow::Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".gantry-plugin-new-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a folder in {}", parent.display()))?;
    for (relative, text) in files {
        let path = staging.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", dir.join(relative).display()))?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("writing {}", dir.join(relative).display()))?;
    }
    std::fs::rename(staging.path(), dir).with_context(|| format!("creating {}", dir.display()))?;
    // Renamed: there is nothing left for the guard to delete.
    let _ = staging.keep();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(files: &'a [(PathBuf, String)], name: &str) -> &'a str {
        &files.iter().find(|(p, _)| p == Path::new(name)).unwrap().1
    }

    #[test]
    fn every_template_placeholder_is_filled() {
        for lang in [Lang::Rust, Lang::Go] {
            for (path, text) in files("my-plugin", lang, "gantry-plugin-sdk = \"=1.0.0\"") {
                assert!(!text.contains("{{"), "{lang:?} {}", path.display());
                assert!(!path.to_string_lossy().contains("{{"), "{}", path.display());
            }
        }
    }

    #[test]
    fn the_manifests_are_valid_and_provide_the_command_and_the_hook() {
        let rust = files("my-plugin", Lang::Rust, "gantry-plugin-sdk = \"=1.0.0\"");
        let go = files("my-plugin", Lang::Go, "");
        for manifest in [file(&rust, "plugin.toml"), file(&go, "my-plugin.toml")] {
            let manifest = gantry_plugins::Manifest::parse(manifest).unwrap();
            assert_eq!(manifest.name, "my-plugin");
            assert_eq!(manifest.provides.command.as_deref(), Some("my-plugin"));
            assert_eq!(manifest.provides.hooks, ["scale.forecast"]);
        }
        let cargo: toml::Table = file(&rust, "Cargo.toml").parse().unwrap();
        assert_eq!(
            cargo["dependencies"]["gantry-plugin-sdk"].as_str(),
            Some("=1.0.0")
        );
    }

    #[test]
    fn the_registry_sdk_is_pinned_to_this_version() {
        assert_eq!(
            sdk_dependency(SdkSource::Registry).unwrap(),
            format!(
                "gantry-plugin-sdk = {{ version = \"={}\" }}",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn an_existing_folder_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("taken");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        assert!(write_project(&dir, &files("taken", Lang::Go, "")).is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // No staging folder is left beside it.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
