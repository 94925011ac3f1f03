//! Installed plugins: one directory per plugin under the plugin root
//! (`GANTRY_PLUGIN_DIR`, else the user data dir's `gantry/plugins`), holding
//! `NAME/NAME.wasm` and, when the manifest is not embedded, `NAME/NAME.toml`.
//!
//! Installing is two steps so a front end can show what it is about to install and ask
//! first: [`PluginStore::stage`] reads the module once, checks its checksum, manifest
//! and that it compiles; [`PluginStore::commit`] writes exactly those bytes to a
//! temporary directory beside the root and renames it into place, so a plugin
//! directory is always complete.

use std::path::{Path, PathBuf};

use crate::cache;
use crate::error::PluginError;
use crate::host::{Host, Origin, Plugin};
use crate::manifest::{self, Manifest};

#[derive(Debug, Clone)]
pub struct PluginStore {
    root: PathBuf,
}

/// An installed plugin.
#[derive(Debug, Clone)]
pub struct Installed {
    pub manifest: Manifest,
    pub wasm: PathBuf,
}

/// A plugin read and checked, ready to commit.
pub struct Staged {
    bytes: Vec<u8>,
    sidecar: Option<String>,
    pub plugin: Plugin,
    pub manifest: Manifest,
}

impl PluginStore {
    /// `GANTRY_PLUGIN_DIR` if set, else the user data dir's `gantry/plugins`.
    pub fn default_root() -> Option<PathBuf> {
        match std::env::var_os("GANTRY_PLUGIN_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => dirs::data_dir().map(|dir| dir.join("gantry").join("plugins")),
        }
    }

    pub fn new(root: PathBuf) -> Self {
        PluginStore { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads `path` (and `NAME.toml` beside it), verifies `expected_sha256` if given,
    /// and loads it. A plugin must have a manifest to be installed.
    pub fn stage(
        &self,
        host: &Host,
        path: &Path,
        expected_sha256: Option<&str>,
    ) -> Result<Staged, PluginError> {
        let bytes = std::fs::read(path)
            .map_err(|e| PluginError::io(format!("reading {}", path.display()), e))?;
        if let Some(expected) = expected_sha256 {
            let actual = cache::hex(&cache::sha256(&bytes));
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Err(PluginError::ChecksumMismatch {
                    origin: path.display().to_string(),
                    expected: expected.trim().to_ascii_lowercase(),
                    actual,
                });
            }
        }
        let sidecar = match std::fs::read_to_string(path.with_extension("toml")) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(PluginError::io(
                    format!("reading {}", path.with_extension("toml").display()),
                    e,
                ));
            }
        };
        let plugin = host.load_with(
            &bytes,
            sidecar.clone(),
            Origin::File(path.to_path_buf()),
            None,
        )?;
        let manifest = plugin
            .manifest()
            .cloned()
            .ok_or_else(|| PluginError::NoManifest {
                origin: path.display().to_string(),
            })?;
        Ok(Staged {
            bytes,
            sidecar,
            plugin,
            manifest,
        })
    }

    /// Installs a staged plugin, replacing an installed one of the same name.
    pub fn commit(&self, staged: Staged) -> Result<Installed, PluginError> {
        let name = &staged.manifest.name;
        let io = |what: &str, e| PluginError::io(format!("{what} in {}", self.root.display()), e);
        std::fs::create_dir_all(&self.root).map_err(|e| io("creating the plugin directory", e))?;
        let temp = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.root)
            .map_err(|e| io("creating a temporary directory", e))?;
        std::fs::write(temp.path().join(format!("{name}.wasm")), &staged.bytes)
            .map_err(|e| io("writing the module", e))?;
        if let Some(text) = &staged.sidecar {
            std::fs::write(temp.path().join(format!("{name}.toml")), text)
                .map_err(|e| io("writing the manifest", e))?;
        }
        let target = self.root.join(name);
        // Move an existing installation aside first, so the rename below is onto a
        // free name; remove it once the new one is in place.
        let old = if target.exists() {
            let old = tempfile::Builder::new()
                .prefix(".old-")
                .tempdir_in(&self.root)
                .map_err(|e| io("creating a temporary directory", e))?;
            let aside = old.path().join(name);
            std::fs::rename(&target, &aside).map_err(|e| io("moving the old version aside", e))?;
            Some(old)
        } else {
            None
        };
        let staged_dir = temp.keep();
        if let Err(e) = std::fs::rename(&staged_dir, &target) {
            let _ = std::fs::remove_dir_all(&staged_dir);
            if let Some(old) = &old {
                let _ = std::fs::rename(old.path().join(name), &target);
            }
            return Err(io("moving the plugin into place", e));
        }
        drop(old);
        Ok(Installed {
            wasm: target.join(format!("{name}.wasm")),
            manifest: staged.manifest,
        })
    }

    /// Installed plugins, sorted by name. Directories that do not hold a readable
    /// plugin are skipped.
    pub fn list(&self) -> Result<Vec<Installed>, PluginError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(PluginError::io(
                    format!("reading {}", self.root.display()),
                    e,
                ));
            }
        };
        let mut found: Vec<Installed> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_str()?.to_string();
                manifest::valid_name(&name).then_some(())?;
                self.get(&name)
            })
            .collect();
        found.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(found)
    }

    /// The installed plugin called `name`.
    pub fn get(&self, name: &str) -> Option<Installed> {
        if !manifest::valid_name(name) {
            return None;
        }
        let dir = self.root.join(name);
        let wasm = dir.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&wasm).ok()?;
        let text = match manifest::embedded(&bytes).ok()? {
            Some(text) => text,
            None => std::fs::read_to_string(dir.join(format!("{name}.toml"))).ok()?,
        };
        let manifest = Manifest::parse(&text).ok()?;
        (manifest.name == name).then_some(Installed { manifest, wasm })
    }

    /// The installed plugin whose manifest provides `command`.
    pub fn find_command(&self, command: &str) -> Result<Option<Installed>, PluginError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|p| p.manifest.provides.command.as_deref() == Some(command)))
    }

    /// Removes the installed plugin called `name`.
    pub fn remove(&self, name: &str) -> Result<(), PluginError> {
        if self.get(name).is_none() {
            return Err(PluginError::NotFound {
                name: name.to_string(),
            });
        }
        // Rename first so a half-removed plugin is never visible under its name.
        let gone = tempfile::Builder::new()
            .prefix(".remove-")
            .tempdir_in(&self.root)
            .map_err(|e| PluginError::io(format!("removing {name}"), e))?;
        std::fs::rename(self.root.join(name), gone.path().join(name))
            .map_err(|e| PluginError::io(format!("removing {name}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, command: &str) -> Vec<u8> {
        let manifest = format!(
            "name = \\\"{name}\\\"\\nversion = \\\"0.1.0\\\"\\napi = 1\\n[provides]\\ncommand = \\\"{command}\\\"\\n"
        );
        wat::parse_str(format!(
            r#"(module (@custom "gantry-plugin" "{manifest}") (func (export "_start")) (memory (export "memory") 1))"#
        ))
        .unwrap()
    }

    #[test]
    fn install_list_find_replace_remove() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(None).unwrap();
        let store = PluginStore::new(dir.path().join("plugins"));
        assert!(store.list().unwrap().is_empty());

        let src = dir.path().join("thing.wasm");
        std::fs::write(&src, module("thing", "do-thing")).unwrap();
        let sha = cache::hex(&cache::sha256(&std::fs::read(&src).unwrap()));
        let staged = store.stage(&host, &src, Some(&sha.to_uppercase())).unwrap();
        let installed = store.commit(staged).unwrap();
        assert_eq!(installed.manifest.name, "thing");
        assert!(installed.wasm.is_file());
        assert_eq!(store.list().unwrap().len(), 1);
        let found = store.find_command("do-thing").unwrap().unwrap();
        assert_eq!(found.manifest.name, "thing");
        assert!(store.find_command("other").unwrap().is_none());

        // Reinstalling replaces it and leaves no temporary directories behind.
        let staged = store.stage(&host, &src, None).unwrap();
        store.commit(staged).unwrap();
        let names: Vec<_> = std::fs::read_dir(store.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["thing"]);

        store.remove("thing").unwrap();
        assert!(store.list().unwrap().is_empty());
        assert!(matches!(
            store.remove("thing"),
            Err(PluginError::NotFound { .. })
        ));
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(None).unwrap();
        let store = PluginStore::new(dir.path().join("plugins"));
        let src = dir.path().join("thing.wasm");
        std::fs::write(&src, module("thing", "x")).unwrap();
        let err = store
            .stage(&host, &src, Some(&"0".repeat(64)))
            .err()
            .unwrap();
        assert!(matches!(err, PluginError::ChecksumMismatch { .. }), "{err}");
    }

    #[test]
    fn a_module_without_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(None).unwrap();
        let store = PluginStore::new(dir.path().join("plugins"));
        let src = dir.path().join("bare.wasm");
        std::fs::write(
            &src,
            wat::parse_str(r#"(module (func (export "_start")))"#).unwrap(),
        )
        .unwrap();
        let err = store.stage(&host, &src, None).err().unwrap();
        assert!(matches!(err, PluginError::NoManifest { .. }), "{err}");
    }
}
