//! `gantry plugin new NAME`: writes a Rust plugin project that builds with the guest
//! SDK for `wasm32-wasip1`, embeds its manifest, and runs with `gantry plugin run`.

use std::path::{Path, PathBuf};

use gantry_plugins::valid_name;

use crate::base::{Context, Exit, Failure};

/// Where the SDK comes from: gantry's repository, unless `GANTRY_SDK_PATH` names a local
/// checkout of `wasm-guest/sdk` (for offline work and for gantry's own tests).
fn sdk_dependency() -> String {
    match std::env::var("GANTRY_SDK_PATH") {
        Ok(path) if !path.is_empty() => format!("{{ path = {} }}", toml_string(&path)),
        _ => format!(
            "{{ git = {}, package = \"gantry-plugin-sdk\" }}",
            toml_string(env!("CARGO_PKG_REPOSITORY"))
        ),
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The files of a new project, relative to its directory.
pub fn files(name: &str) -> Vec<(PathBuf, String)> {
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
gantry-plugin-sdk = {sdk}

# A project of its own, even inside another workspace.
[workspace]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = "debuginfo"
"#,
        sdk = sdk_dependency()
    );
    let cargo_config = r#"# gantry plugins are WASI preview 1 command modules.
[build]
target = "wasm32-wasip1"
"#
    .to_string();
    let manifest = format!(
        r#"name = "{name}"
version = "0.1.0"
api = 1
description = "A gantry plugin"

[provides]
# `gantry {name} ARGS...` runs this plugin once it is installed.
command = "{name}"
# Hooks gantry may call, e.g. "scale.forecast"; serve them with
# gantry_plugin_sdk::serve_hooks.
hooks = []

# Requests; the user's configuration caps them.
[limits]
memory_mib = 32
timeout_ms = 5000

# Environment variables the plugin may read, shown to the user at install.
[grants]
env = []
"#
    );
    let main_rs = format!(
        r#"//! `{name}`: a gantry plugin.
//!
//! Build: `cargo build --release`
//! Run:   `gantry plugin run target/wasm32-wasip1/release/{name}.wasm -- ARGS`

use std::process::ExitCode;

// Embeds plugin.toml in the module's `gantry-plugin` custom section.
gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

fn main() -> ExitCode {{
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{{}}", greeting(&args));
    ExitCode::SUCCESS
}}

fn greeting(args: &[String]) -> String {{
    if args.is_empty() {{
        "Hello from {name}!".to_string()
    }} else {{
        format!("Hello from {name}, {{}}!", args.join(" "))
    }}
}}

#[cfg(test)]
mod tests {{
    #[test]
    fn greets() {{
        assert_eq!(super::greeting(&["you".to_string()]), "Hello from {name}, you!");
    }}
}}
"#
    );
    let readme = format!(
        r#"# {name}

A [gantry](https://github.com/gantry-cli/gantry) plugin.

```sh
rustup target add wasm32-wasip1
cargo build --release
gantry plugin run target/wasm32-wasip1/release/{name}.wasm -- world
gantry plugin install target/wasm32-wasip1/release/{name}.wasm
gantry {name} world
```

Unit tests run on the host: `cargo test --target "$(rustc -vV | sed -n 's/host: //p')"`.
"#
    );
    vec![
        (PathBuf::from("Cargo.toml"), cargo_toml),
        (PathBuf::from(".cargo/config.toml"), cargo_config),
        (PathBuf::from("plugin.toml"), manifest),
        (PathBuf::from("src/main.rs"), main_rs),
        (PathBuf::from("README.md"), readme),
        (PathBuf::from(".gitignore"), "/target\n".to_string()),
    ]
}

pub fn new(name: &str, ctx: &Context) -> anyhow::Result<u8> {
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
    for (path, text) in files(name) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    if !ctx.quiet {
        eprintln!(
            "created {name}/; build it with `cd {name} && cargo build --release`, then run `gantry plugin run target/wasm32-wasip1/release/{name}.wasm`"
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifest_is_valid() {
        let files = super::files("my-plugin");
        let (_, manifest) = files
            .iter()
            .find(|(p, _)| p.ends_with("plugin.toml"))
            .unwrap();
        let manifest = gantry_plugins::Manifest::parse(manifest).unwrap();
        assert_eq!(manifest.name, "my-plugin");
        assert_eq!(manifest.provides.command.as_deref(), Some("my-plugin"));
        let (_, cargo) = files
            .iter()
            .find(|(p, _)| p.ends_with("Cargo.toml"))
            .unwrap();
        let cargo: toml::Table = cargo.parse().unwrap();
        assert!(cargo["dependencies"]["gantry-plugin-sdk"].is_table());
    }
}
