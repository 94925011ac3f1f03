//! The Rust plugin SDK that `gantry plugin new` points a new project at.
//!
//! The SDK's sources (`wasm-guest/sdk`) are compiled into this binary, and the first
//! `plugin new` writes them to `DATA_DIR/gantry/sdk/VERSION-HASH`, which the project's
//! `Cargo.toml` names as a path dependency. Of the ways to hand a project its SDK, this
//! is the one that is at once offline (no git host or registry to reach: the SDK's own
//! dependencies, serde and serde_json, are the ones every Rust toolchain user already
//! has in cargo's cache), version-matched (the SDK is the one this gantry was built
//! with, so it speaks its plugin API) and needs no checkout of gantry. The folder name
//! carries a hash of the sources, so two builds of one version with different SDKs never
//! share a folder; it is written whole and renamed into place, and reused when it is
//! already there with the same files.
//!
//! `--sdk registry` depends on the SDK published to crates.io with each release instead,
//! pinned to this version.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// The SDK's manifest and sources, relative to its folder. `every_sdk_file_is_bundled`
/// fails when a file is added to `wasm-guest/sdk/src` and not here.
const SOURCES: &[(&str, &str)] = &[
    (
        "src/lib.rs",
        include_str!("../../../../wasm-guest/sdk/src/lib.rs"),
    ),
    (
        "src/hook.rs",
        include_str!("../../../../wasm-guest/sdk/src/hook.rs"),
    ),
    (
        "src/forecast.rs",
        include_str!("../../../../wasm-guest/sdk/src/forecast.rs"),
    ),
    (
        "src/manifest.rs",
        include_str!("../../../../wasm-guest/sdk/src/manifest.rs"),
    ),
];

/// The SDK's `Cargo.toml` takes `version`, `edition` and `license` from the guest
/// workspace; a standalone copy needs them written out.
const SDK_MANIFEST: &str = include_str!("../../../../wasm-guest/sdk/Cargo.toml");
const GUEST_WORKSPACE: &str = include_str!("../../../../wasm-guest/Cargo.toml");

/// The package name users depend on.
pub const PACKAGE: &str = "gantry-plugin-sdk";

/// The bundled SDK's files, ready to write: its sources and a standalone `Cargo.toml`.
pub struct Bundle {
    pub version: String,
    files: Vec<(&'static str, String)>,
}

impl Bundle {
    pub fn new() -> anyhow::Result<Bundle> {
        let (version, manifest) = standalone_manifest()?;
        let mut files = vec![("Cargo.toml", manifest)];
        files.extend(SOURCES.iter().map(|&(path, text)| (path, text.to_string())));
        Ok(Bundle { version, files })
    }

    /// `VERSION-HASH`: the folder name under `DATA_DIR/gantry/sdk`.
    fn folder_name(&self) -> String {
        let mut hash = Sha256::new();
        for (path, text) in &self.files {
            // Lengths first, so that no two different file lists hash alike.
            hash.update((path.len() as u64).to_le_bytes());
            hash.update(path.as_bytes());
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        }
        let digest = hash.finalize();
        let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{short}", self.version)
    }

    /// Whether `dir` holds every file of the bundle, unchanged.
    fn is_in(&self, dir: &Path) -> bool {
        self.files.iter().all(|(path, text)| {
            std::fs::read(dir.join(path)).is_ok_and(|have| have == text.as_bytes())
        })
    }

    /// Makes sure `root/VERSION-HASH` holds the SDK and returns that folder. Writes it
    /// only when it is missing or differs (someone edited it): into a fresh folder
    /// beside it, renamed into place, so a build never sees a half-written SDK and two
    /// concurrent `plugin new` runs both end up with a whole one.
    pub fn install_under(&self, root: &Path) -> anyhow::Result<PathBuf> {
        let dir = root.join(self.folder_name());
        if self.is_in(&dir) {
            return Ok(dir);
        }
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(root)
            .with_context(|| format!("creating a folder in {}", root.display()))?;
        for (path, text) in &self.files {
            let path = staging.path().join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        if dir.exists() {
            // A changed copy: move it out of the way, to be deleted with `stale`.
            let stale = tempfile::Builder::new()
                .prefix(".stale-")
                .tempdir_in(root)
                .with_context(|| format!("creating a folder in {}", root.display()))?;
            std::fs::rename(&dir, stale.path().join("sdk"))
                .with_context(|| format!("moving aside the changed {}", dir.display()))?;
        }
        let staged = staging.keep();
        match std::fs::rename(&staged, &dir) {
            Ok(()) => Ok(dir),
            // Another `plugin new` put it there first.
            Err(_) if self.is_in(&dir) => {
                std::fs::remove_dir_all(&staged).ok();
                Ok(dir)
            }
            Err(err) => {
                std::fs::remove_dir_all(&staged).ok();
                Err(err).with_context(|| format!("writing the SDK to {}", dir.display()))
            }
        }
    }
}

/// Where bundled SDKs are kept: `DATA_DIR/gantry/sdk`.
pub fn default_root() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("gantry").join("sdk"))
}

/// The SDK's version and its `Cargo.toml` with every `KEY.workspace = true` in
/// `[package]` replaced by the guest workspace's value.
fn standalone_manifest() -> anyhow::Result<(String, String)> {
    let mut manifest: toml::Table = SDK_MANIFEST.parse().context("the SDK's Cargo.toml")?;
    let workspace: toml::Table = GUEST_WORKSPACE
        .parse()
        .context("the guest workspace's Cargo.toml")?;
    let inherited = workspace
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(toml::Value::as_table)
        .context("the guest workspace has no [workspace.package]")?;
    let package = manifest
        .get_mut("package")
        .and_then(toml::Value::as_table_mut)
        .context("the SDK's Cargo.toml has no [package]")?;
    for (key, value) in package.iter_mut() {
        let from_workspace = value
            .as_table()
            .and_then(|t| t.get("workspace"))
            .and_then(toml::Value::as_bool)
            == Some(true);
        if from_workspace {
            *value = inherited
                .get(key)
                .with_context(|| format!("[workspace.package] has no `{key}` for the SDK"))?
                .clone();
        }
    }
    let version = package
        .get("version")
        .and_then(toml::Value::as_str)
        .context("the SDK has no version")?
        .to_string();
    // `[package]` first, as people write it (a table serializes its keys sorted).
    let package = manifest
        .remove("package")
        .context("the SDK has no [package]")?;
    let text = format!(
        "# The gantry plugin SDK {version}, as bundled with gantry {gantry}: written by\n\
         # `gantry plugin new`; projects depend on this folder by path.\n[package]\n{package}\n{rest}",
        gantry = env!("CARGO_PKG_VERSION"),
        package = toml::to_string(&package)?,
        rest = toml::to_string(&manifest)?
    );
    Ok((version, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sdk_file_is_bundled() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-guest/sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(src)
            .unwrap()
            .map(|e| format!("src/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        let mut bundled: Vec<String> = SOURCES.iter().map(|(p, _)| p.to_string()).collect();
        on_disk.sort();
        bundled.sort();
        assert_eq!(bundled, on_disk);
    }

    #[test]
    fn the_sdk_is_versioned_with_gantry_and_stands_alone() {
        let bundle = Bundle::new().unwrap();
        assert_eq!(bundle.version, env!("CARGO_PKG_VERSION"));
        let (_, manifest) = &bundle.files[0];
        assert!(!manifest.contains("workspace"), "{manifest}");
        let manifest: toml::Table = manifest.parse().unwrap();
        assert_eq!(manifest["package"]["name"].as_str(), Some(PACKAGE));
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
    }

    #[test]
    fn writes_once_reuses_and_repairs() {
        let root = tempfile::tempdir().unwrap();
        let bundle = Bundle::new().unwrap();
        let dir = bundle.install_under(root.path()).unwrap();
        assert!(bundle.is_in(&dir));
        let lib = dir.join("src/lib.rs");
        let written = std::fs::metadata(&lib).unwrap().modified().unwrap();
        assert_eq!(bundle.install_under(root.path()).unwrap(), dir);
        assert_eq!(
            std::fs::metadata(&lib).unwrap().modified().unwrap(),
            written
        );

        std::fs::write(&lib, "edited").unwrap();
        assert_eq!(bundle.install_under(root.path()).unwrap(), dir);
        assert!(bundle.is_in(&dir));
        // Only the SDK's folder is left: no staging or stale copies.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
