//! What a plugin may see beyond its own memory: read-only directories, read-only single
//! files, named environment variables and extra arguments. Nothing else is visible: no
//! preopens, no inherited environment, no sockets.
//!
//! # Guest paths
//!
//! A granted directory appears in the guest at its canonical absolute host path, so a
//! path the user types (made absolute) means the same file on both sides. On Windows the
//! guest path is the host path with `\` turned into `/` and a leading `/`
//! (`C:\data` is `/C:/data`).
//!
//! A granted *file* appears at its own canonical path, alone: gantry makes a private
//! temporary directory holding only a hard link to the file (a copy when a hard link is
//! impossible, e.g. across file systems) and preopens that directory read-only at the
//! guest path of the file's parent. The plugin can open the file and nothing else
//! beside it; the temporary directory is removed when the run ends.
//!
//! Every preopen is read-only (`FsPerms::ReadOnly`): creating, writing, renaming or
//! deleting anything fails inside the guest. wasmtime-wasi resolves paths beneath each
//! preopen with capability-based lookups, so `..` and symlinks cannot leave it.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::PluginError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Directories the plugin may read.
    pub read_dirs: Vec<PathBuf>,
    /// Single files the plugin may read (and nothing else in their directories).
    pub read_files: Vec<PathBuf>,
    /// Host environment variables the plugin may read, by name. Names the host does not
    /// have are left out; values that are not Unicode are left out.
    pub env: Vec<String>,
}

/// Grants resolved for one run: preopens to make and the env to pass.
pub(crate) struct Prepared {
    pub preopens: Vec<(PathBuf, String)>,
    pub env: Vec<(String, String)>,
    /// Keeps file-grant directories alive for the run.
    _temp: Vec<TempDir>,
}

impl Grants {
    /// Resolves the grants. `extra_env` are names the plugin's manifest asks for.
    pub(crate) fn prepare(&self, extra_env: &[String]) -> Result<Prepared, PluginError> {
        let mut preopens = Vec::new();
        for dir in &self.read_dirs {
            let canonical = canonical(dir)?;
            if !canonical.is_dir() {
                return Err(PluginError::Grant {
                    path: dir.clone(),
                    reason: "not a directory".to_string(),
                });
            }
            let guest = guest_path(&canonical)?;
            preopens.push((canonical, guest));
        }
        let mut temp = Vec::new();
        for file in &self.read_files {
            let canonical = canonical(file)?;
            let (Some(parent), Some(name)) = (canonical.parent(), canonical.file_name()) else {
                return Err(PluginError::Grant {
                    path: file.clone(),
                    reason: "not a file".to_string(),
                });
            };
            if !canonical.is_file() {
                return Err(PluginError::Grant {
                    path: file.clone(),
                    reason: "not a regular file".to_string(),
                });
            }
            let dir = tempfile::Builder::new()
                .prefix("gantry-grant-")
                .tempdir()
                .map_err(|e| PluginError::io("creating a directory for a file grant", e))?;
            let link = dir.path().join(name);
            if std::fs::hard_link(&canonical, &link).is_err() {
                std::fs::copy(&canonical, &link).map_err(|e| PluginError::Grant {
                    path: file.clone(),
                    reason: format!("cannot link or copy it: {e}"),
                })?;
            }
            preopens.push((dir.path().to_path_buf(), guest_path(parent)?));
            temp.push(dir);
        }
        let mut env = Vec::new();
        for name in self.env.iter().chain(extra_env) {
            if env.iter().any(|(n, _): &(String, String)| n == name) {
                continue;
            }
            if let Ok(value) = std::env::var(name) {
                env.push((name.clone(), value));
            }
        }
        Ok(Prepared {
            preopens,
            env,
            _temp: temp,
        })
    }
}

fn canonical(path: &Path) -> Result<PathBuf, PluginError> {
    std::fs::canonicalize(path).map_err(|e| PluginError::Grant {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The guest path for a canonical host path (see the module docs).
pub fn guest_path(canonical: &Path) -> Result<String, PluginError> {
    let text = canonical.to_str().ok_or_else(|| PluginError::Grant {
        path: canonical.to_path_buf(),
        reason: "the path is not valid Unicode".to_string(),
    })?;
    if cfg!(windows) {
        let text = text.strip_prefix(r"\\?\").unwrap_or(text);
        Ok(format!("/{}", text.replace('\\', "/")))
    } else {
        Ok(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_map_to_their_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let grants = Grants {
            read_dirs: vec![dir.path().to_path_buf()],
            ..Grants::default()
        };
        let prepared = grants.prepare(&[]).unwrap();
        let canonical = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(prepared.preopens.len(), 1);
        assert_eq!(prepared.preopens[0].0, canonical);
        assert_eq!(prepared.preopens[0].1, guest_path(&canonical).unwrap());
    }

    #[test]
    fn a_file_grant_exposes_only_that_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.onnx"), b"model").unwrap();
        std::fs::write(dir.path().join("secret"), b"secret").unwrap();
        let grants = Grants {
            read_files: vec![dir.path().join("model.onnx")],
            ..Grants::default()
        };
        let prepared = grants.prepare(&[]).unwrap();
        let (host, guest) = &prepared.preopens[0];
        let names: Vec<_> = std::fs::read_dir(host)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["model.onnx"]);
        assert_eq!(std::fs::read(host.join("model.onnx")).unwrap(), b"model");
        let parent = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(guest, &guest_path(&parent).unwrap());
        let host = host.clone();
        drop(prepared);
        assert!(!host.exists(), "the grant directory outlives the run");
    }

    #[test]
    fn missing_paths_and_wrong_kinds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Grants {
            read_dirs: vec![dir.path().join("nope")],
            ..Grants::default()
        };
        assert!(matches!(
            missing.prepare(&[]),
            Err(PluginError::Grant { .. })
        ));
        let file_as_dir = Grants {
            read_files: vec![dir.path().to_path_buf()],
            ..Grants::default()
        };
        assert!(matches!(
            file_as_dir.prepare(&[]),
            Err(PluginError::Grant { .. })
        ));
    }

    #[test]
    fn env_grants_pass_only_named_variables_that_exist() {
        let grants = Grants {
            env: vec![
                "PATH".to_string(),
                "GANTRY_TEST_SURELY_UNSET_VARIABLE".to_string(),
            ],
            ..Grants::default()
        };
        let prepared = grants.prepare(&["PATH".to_string()]).unwrap();
        let names: Vec<_> = prepared.env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["PATH"]);
    }
}
