//! Installed plugins: one directory per plugin under the plugin root
//! (`GANTRY_PLUGIN_DIR`, else the user data dir's `gantry/plugins`), holding
//! `NAME/NAME.wasm`, `NAME/NAME.toml` when the manifest is not embedded, and
//! `NAME/installed.toml`, the record of what the user accepted: the checksum of those
//! files ([`Plugin::sha256`]) and the environment variables granted.
//!
//! Installing is two steps so a front end can show what it is about to install and ask
//! first: [`PluginStore::stage`] reads the files once, checks the checksum (before
//! anything is compiled), the manifest, the names ([`InstallOptions`]) and that the
//! module compiles; [`PluginStore::commit`] writes exactly those bytes and the record to
//! a temporary directory beside the root and renames it into place, so a plugin
//! directory is always complete.
//!
//! An installed plugin runs with the grants in its record ([`PluginStore::load`]), and
//! only while its files still have the recorded checksum: a module or manifest changed
//! after the user accepted it is refused until it is installed again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cache;
use crate::error::PluginError;
use crate::host::{self, Host, Origin, Plugin, RunOptions};
use crate::manifest::{self, Manifest};

/// The record of an installation, beside the plugin's files.
const RECORD: &str = "installed.toml";

#[derive(Debug, Clone)]
pub struct PluginStore {
    root: PathBuf,
}

/// An installed plugin.
#[derive(Debug, Clone)]
pub struct Installed {
    pub manifest: Manifest,
    pub wasm: PathBuf,
    /// The environment variables the user accepted when installing it.
    pub env_grants: Vec<String>,
    /// [`Plugin::sha256`] of its files when it was installed.
    pub sha256: String,
}

/// What the user accepted at install, as written to `NAME/installed.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallRecord {
    /// [`Plugin::sha256`] of the installed files.
    sha256: String,
    /// The environment variables granted.
    env: Vec<String>,
}

impl InstallRecord {
    fn parse(text: &str) -> Option<InstallRecord> {
        let record: InstallRecord = toml::from_str(text).ok()?;
        let valid = record.sha256.len() == 64
            && record.sha256.bytes().all(|b| b.is_ascii_hexdigit())
            && record.env.iter().all(|name| manifest::valid_env_name(name));
        valid.then_some(record)
    }
}

/// Names an installed plugin may not take, with what has them: gantry's own commands
/// and the built-in plugins (and their commands). A plugin with such a name or command
/// would never be reached, or would hide what the user expects.
#[derive(Debug, Clone, Default)]
pub struct ReservedNames {
    owners: Vec<(String, String)>,
}

impl ReservedNames {
    pub fn new() -> Self {
        ReservedNames::default()
    }

    /// Reserves `name` for `owner`, e.g. `("scale", "a gantry command")`.
    pub fn reserve(&mut self, name: impl Into<String>, owner: impl Into<String>) -> &mut Self {
        self.owners.push((name.into(), owner.into()));
        self
    }

    /// What has `name`, if it is reserved.
    pub fn owner(&self, name: &str) -> Option<&str> {
        self.owners
            .iter()
            .find(|(reserved, _)| reserved == name)
            .map(|(_, owner)| owner.as_str())
    }
}

/// How to install.
#[derive(Debug, Clone, Copy)]
pub struct InstallOptions<'a> {
    /// Refuse unless [`Plugin::sha256`] of the files is this (hex, any case).
    pub expected_sha256: Option<&'a str>,
    /// Names and commands the plugin may not take.
    pub reserved: &'a ReservedNames,
    /// Replace an installed plugin of the same name; without it, that is refused.
    pub replace: bool,
}

/// A plugin read and checked, ready to commit.
pub struct Staged {
    bytes: Arc<Vec<u8>>,
    manifest_file: Option<String>,
    replace: bool,
    pub plugin: Plugin,
    pub manifest: Manifest,
    /// The installed plugin of the same name that committing replaces.
    pub replaces: Option<Installed>,
}

impl Staged {
    /// The environment variables that installing grants: exactly those the manifest
    /// asks for, which a front end shows before asking the user.
    pub fn env_grants(&self) -> &[String] {
        &self.manifest.grants.env
    }
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

    /// Reads `path` (and `NAME.toml` beside it), verifies the checksum if one is
    /// expected, checks the names, and compiles it under the limits of a run with
    /// `opts`. A plugin must have a manifest to be installed.
    pub fn stage(
        &self,
        host: &Host,
        path: &Path,
        options: &InstallOptions<'_>,
        opts: &RunOptions,
    ) -> Result<Staged, PluginError> {
        let limits = host::load_limits(opts);
        let (bytes, sidecar) =
            host::read_plugin_files(path, &limits).map_err(PluginError::in_user_input)?;
        let inspected = host::inspect(bytes, sidecar, Origin::File(path.to_path_buf()))?;
        if let Some(expected) = options.expected_sha256 {
            let actual = cache::hex(&inspected.pin);
            if !actual.eq_ignore_ascii_case(expected.trim()) {
                return Err(PluginError::ChecksumMismatch {
                    origin: path.display().to_string(),
                    expected: expected.trim().to_ascii_lowercase(),
                    actual,
                });
            }
        }
        let manifest = inspected
            .manifest
            .clone()
            .ok_or_else(|| PluginError::NoManifest {
                origin: path.display().to_string(),
            })?;
        let replaces = self.check_names(&manifest, options)?;
        let bytes = inspected.bytes.clone();
        let manifest_file = inspected.manifest_file.clone();
        let plugin = host.compile(inspected, Some(&limits), None, Vec::new())?;
        Ok(Staged {
            bytes,
            manifest_file,
            replace: options.replace,
            plugin,
            manifest,
            replaces,
        })
    }

    /// Refuses a reserved name or command, an installed name without `replace`, and a
    /// command another installed plugin provides. Returns the plugin being replaced.
    fn check_names(
        &self,
        manifest: &Manifest,
        options: &InstallOptions<'_>,
    ) -> Result<Option<Installed>, PluginError> {
        let reserved = |what: &'static str, value: &str| {
            options
                .reserved
                .owner(value)
                .map(|owner| PluginError::Reserved {
                    plugin: manifest.name.clone(),
                    what,
                    value: value.to_string(),
                    owner: owner.to_string(),
                })
        };
        if let Some(err) = reserved("name", &manifest.name) {
            return Err(err);
        }
        let command = manifest.provides.command.as_deref();
        if let Some(err) = command.and_then(|c| reserved("command", c)) {
            return Err(err);
        }
        let existing = self.get(&manifest.name);
        if !options.replace && self.root.join(&manifest.name).exists() {
            return Err(PluginError::AlreadyInstalled {
                name: manifest.name.clone(),
                version: existing
                    .as_ref()
                    .map_or_else(|| "unknown".to_string(), |i| i.manifest.version.to_string()),
            });
        }
        if let Some(command) = command
            && let Some(other) = self.list()?.into_iter().find(|p| {
                p.manifest.name != manifest.name
                    && p.manifest.provides.command.as_deref() == Some(command)
            })
        {
            return Err(PluginError::CommandTaken {
                plugin: manifest.name.clone(),
                command: command.to_string(),
                by: other.manifest.name,
            });
        }
        Ok(existing)
    }

    /// Installs a staged plugin with the grants its manifest asks for (which the user
    /// has seen), replacing an installed one of the same name if staged with
    /// `replace`.
    pub fn commit(&self, staged: Staged) -> Result<Installed, PluginError> {
        let name = &staged.manifest.name;
        let io = |what: &str, e| PluginError::io(format!("{what} in {}", self.root.display()), e);
        let target = self.root.join(name);
        if !staged.replace && target.exists() {
            return Err(PluginError::AlreadyInstalled {
                name: name.clone(),
                version: "unknown".to_string(),
            });
        }
        let record = InstallRecord {
            sha256: staged.plugin.sha256(),
            env: staged.manifest.grants.env.clone(),
        };
        let record_text = toml::to_string(&record).map_err(|e| PluginError::Io {
            context: "writing the install record".to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        std::fs::create_dir_all(&self.root).map_err(|e| io("creating the plugin directory", e))?;
        let temp = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.root)
            .map_err(|e| io("creating a temporary directory", e))?;
        std::fs::write(
            temp.path().join(format!("{name}.wasm")),
            staged.bytes.as_slice(),
        )
        .map_err(|e| io("writing the module", e))?;
        if let Some(text) = &staged.manifest_file {
            std::fs::write(temp.path().join(format!("{name}.toml")), text)
                .map_err(|e| io("writing the manifest", e))?;
        }
        std::fs::write(
            temp.path().join(RECORD),
            format!(
                "# What you accepted when installing {name}; written by gantry.\n{record_text}"
            ),
        )
        .map_err(|e| io("writing the install record", e))?;
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
            env_grants: record.env,
            sha256: record.sha256,
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

    /// The installed plugin called `name`: its manifest as its files say now, and the
    /// record of its installation.
    pub fn get(&self, name: &str) -> Option<Installed> {
        if !manifest::valid_name(name) {
            return None;
        }
        let dir = self.root.join(name);
        let wasm = dir.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&wasm).ok()?;
        let text = match manifest::scan(&bytes).ok()?.manifest {
            Some(text) => text,
            None => std::fs::read_to_string(dir.join(format!("{name}.toml"))).ok()?,
        };
        let manifest = Manifest::parse(&text).ok()?;
        let record = InstallRecord::parse(&std::fs::read_to_string(dir.join(RECORD)).ok()?)?;
        (manifest.name == name).then_some(Installed {
            manifest,
            wasm,
            env_grants: record.env,
            sha256: record.sha256,
        })
    }

    /// Loads an installed plugin to run with `opts`, granted what the user accepted at
    /// install; refused if its files are no longer those the user accepted.
    pub fn load(
        &self,
        host: &Host,
        installed: &Installed,
        opts: &RunOptions,
    ) -> Result<Plugin, PluginError> {
        let limits = host::load_limits(opts);
        let (bytes, sidecar) = host::read_plugin_files(&installed.wasm, &limits)?;
        let inspected = host::inspect(bytes, sidecar, Origin::File(installed.wasm.clone()))?;
        let changed = |reason: &str| PluginError::InstallChanged {
            name: installed.manifest.name.clone(),
            reason: reason.to_string(),
        };
        if !cache::hex(&inspected.pin).eq_ignore_ascii_case(&installed.sha256) {
            return Err(changed("its files have changed since it was installed"));
        }
        if inspected.manifest.as_ref().map(|m| &m.name) != Some(&installed.manifest.name) {
            return Err(changed("its manifest names another plugin"));
        }
        host.compile(inspected, Some(&limits), None, installed.env_grants.clone())
    }

    /// The installed plugin whose manifest provides `command`.
    pub fn find_command(&self, command: &str) -> Result<Option<Installed>, PluginError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|p| p.manifest.provides.command.as_deref() == Some(command)))
    }

    /// Removes the installed plugin called `name` (also one whose files are damaged).
    pub fn remove(&self, name: &str) -> Result<(), PluginError> {
        if !manifest::valid_name(name) || !self.root.join(name).is_dir() {
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
            "name = \\\"{name}\\\"\\nversion = \\\"0.1.0\\\"\\napi = 1\\n[provides]\\ncommand = \\\"{command}\\\"\\n[grants]\\nenv = [\\\"GANTRY_TEST_REGION\\\"]\\n"
        );
        wat::parse_str(format!(
            r#"(module (@custom "gantry-plugin" "{manifest}") (func (export "_start")) (memory (export "memory") 1))"#
        ))
        .unwrap()
    }

    fn bare_module() -> Vec<u8> {
        wat::parse_str(r#"(module (func (export "_start")) (memory (export "memory") 1))"#).unwrap()
    }

    struct Setup {
        dir: tempfile::TempDir,
        host: Host,
        store: PluginStore,
        reserved: ReservedNames,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = PluginStore::new(dir.path().join("plugins"));
        let mut reserved = ReservedNames::new();
        reserved
            .reserve("scale", "a gantry command")
            .reserve("hello", "a built-in plugin");
        Setup {
            dir,
            host: Host::new(None).unwrap(),
            store,
            reserved,
        }
    }

    impl Setup {
        fn write(&self, file: &str, bytes: &[u8]) -> PathBuf {
            let path = self.dir.path().join(file);
            std::fs::write(&path, bytes).unwrap();
            path
        }

        fn stage(
            &self,
            path: &Path,
            sha: Option<&str>,
            replace: bool,
        ) -> Result<Staged, PluginError> {
            let options = InstallOptions {
                expected_sha256: sha,
                reserved: &self.reserved,
                replace,
            };
            self.store
                .stage(&self.host, path, &options, &RunOptions::default())
        }

        fn install(&self, path: &Path) -> Installed {
            let staged = self.stage(path, None, false).unwrap();
            self.store.commit(staged).unwrap()
        }
    }

    #[test]
    fn install_list_find_replace_remove() {
        let t = setup();
        assert!(t.store.list().unwrap().is_empty());
        let src = t.write("thing.wasm", &module("thing", "do-thing"));
        let sha = cache::hex(&cache::sha256(&std::fs::read(&src).unwrap()));
        let staged = t.stage(&src, Some(&sha.to_uppercase()), false).unwrap();
        assert_eq!(
            staged.plugin.sha256(),
            sha,
            "an embedded manifest is pinned with the module"
        );
        assert_eq!(staged.env_grants(), ["GANTRY_TEST_REGION"]);
        let installed = t.store.commit(staged).unwrap();
        assert_eq!(installed.manifest.name, "thing");
        assert!(installed.wasm.is_file());
        assert_eq!(t.store.list().unwrap().len(), 1);
        let found = t.store.find_command("do-thing").unwrap().unwrap();
        assert_eq!(found.manifest.name, "thing");
        assert_eq!(found.env_grants, ["GANTRY_TEST_REGION"]);
        assert!(t.store.find_command("other").unwrap().is_none());

        // Reinstalling needs `replace`, then replaces it and leaves no temporary
        // directories behind.
        let err = t.stage(&src, None, false).err().unwrap();
        assert!(matches!(err, PluginError::AlreadyInstalled { .. }), "{err}");
        assert!(err.to_string().contains("--replace"), "{err}");
        let staged = t.stage(&src, None, true).unwrap();
        assert_eq!(
            staged.replaces.as_ref().map(|i| i.manifest.name.as_str()),
            Some("thing")
        );
        t.store.commit(staged).unwrap();
        let names: Vec<_> = std::fs::read_dir(t.store.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["thing"]);

        t.store.remove("thing").unwrap();
        assert!(t.store.list().unwrap().is_empty());
        assert!(matches!(
            t.store.remove("thing"),
            Err(PluginError::NotFound { .. })
        ));
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let t = setup();
        let src = t.write("thing.wasm", &module("thing", "x"));
        let err = t.stage(&src, Some(&"0".repeat(64)), false).err().unwrap();
        assert!(matches!(err, PluginError::ChecksumMismatch { .. }), "{err}");
    }

    #[test]
    fn the_checksum_covers_a_manifest_beside_the_module() {
        let t = setup();
        let wasm = bare_module();
        let src = t.write("side.wasm", &wasm);
        let reviewed = "name = \"side\"\nversion = \"0.1.0\"\napi = 1\n";
        t.write("side.toml", reviewed.as_bytes());
        // What a publisher computes: `cat side.wasm side.toml | sha256sum`.
        let pin = cache::hex(&cache::pin(&wasm, Some(reviewed)));
        assert_ne!(pin, cache::hex(&cache::sha256(&wasm)));
        let staged = t.stage(&src, Some(&pin), false).unwrap();
        assert_eq!(staged.plugin.sha256(), pin);

        // Edited after the checksum was published: it now asks for a secret.
        t.write(
            "side.toml",
            format!("{reviewed}[grants]\nenv = [\"AWS_SECRET_ACCESS_KEY\"]\n").as_bytes(),
        );
        let err = t.stage(&src, Some(&pin), false).err().unwrap();
        assert!(matches!(err, PluginError::ChecksumMismatch { .. }), "{err}");
        // The module's own hash no longer installs it either.
        let module_only = cache::hex(&cache::sha256(&wasm));
        let err = t.stage(&src, Some(&module_only), false).err().unwrap();
        assert!(matches!(err, PluginError::ChecksumMismatch { .. }), "{err}");
    }

    #[test]
    fn an_installed_plugin_runs_with_the_grants_recorded_at_install() {
        let t = setup();
        let src = t.write("thing.wasm", &module("thing", "do-thing"));
        let installed = t.install(&src);
        let plugin = t
            .store
            .load(&t.host, &installed, &RunOptions::default())
            .unwrap();
        assert_eq!(plugin.approved_env(), ["GANTRY_TEST_REGION"]);
        // The same file, not installed: its manifest's request grants nothing.
        let plugin = t.host.load_file(&src, &RunOptions::default()).unwrap();
        assert!(plugin.approved_env().is_empty());
    }

    #[test]
    fn an_installed_plugin_changed_after_install_is_refused() {
        let t = setup();
        let src = t.write("side.wasm", &bare_module());
        t.write(
            "side.toml",
            b"name = \"side\"\nversion = \"0.1.0\"\napi = 1\n",
        );
        let installed = t.install(&src);
        let sidecar = installed.wasm.with_extension("toml");
        std::fs::write(
            &sidecar,
            "name = \"side\"\nversion = \"0.1.0\"\napi = 1\n[grants]\nenv = [\"HOME\"]\n",
        )
        .unwrap();
        let installed = t.store.get("side").unwrap();
        assert!(
            installed.env_grants.is_empty(),
            "the record decides, not the manifest"
        );
        let err = t
            .store
            .load(&t.host, &installed, &RunOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, PluginError::InstallChanged { .. }), "{err}");
    }

    #[test]
    fn reserved_and_taken_names_are_refused() {
        let t = setup();
        for (name, command, what) in [
            ("hello", "greet", "name `hello` is a built-in plugin"),
            ("scale", "other", "name `scale` is a gantry command"),
            ("mine", "scale", "command `scale` is a gantry command"),
        ] {
            let src = t.write(&format!("{name}.wasm"), &module(name, command));
            let err = t.stage(&src, None, true).err().unwrap();
            assert!(matches!(err, PluginError::Reserved { .. }), "{err}");
            assert!(err.to_string().contains(what), "{err}");
        }
        t.install(&t.write("first.wasm", &module("first", "do-thing")));
        let src = t.write("second.wasm", &module("second", "do-thing"));
        let err = t.stage(&src, None, true).err().unwrap();
        assert!(matches!(err, PluginError::CommandTaken { .. }), "{err}");
        assert!(
            err.to_string().contains("gantry plugin remove first"),
            "{err}"
        );
    }

    #[test]
    fn a_module_without_manifest_is_refused() {
        let t = setup();
        let src = t.write("bare.wasm", &bare_module());
        let err = t.stage(&src, None, false).err().unwrap();
        assert!(matches!(err, PluginError::NoManifest { .. }), "{err}");
    }
}
