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
//! directory (mode 0700, in the temporary directory, named after gantry's process id)
//! holding only a hard link to the file, or a copy when a hard link is impossible
//! (across file systems, or a file the user does not own under Linux's
//! `protected_hardlinks`), and preopens it read-only at the guest path of the file's
//! parent. The plugin can open the file and nothing else beside it; no other local
//! user can reach the link. The file is opened once without following a symbolic link
//! (`O_NOFOLLOW`), and what the plugin sees is checked to be that very file (same
//! device and inode) or copied from the opened file, so a symlink swapped in for it
//! while gantry prepares the grant is never followed. The directory is removed when
//! the run ends, also when a signal interrupts it (see `signals`); one left behind by
//! a gantry process that was killed outright is removed by the next file grant.
//!
//! Every preopen is read-only (`FsPerms::ReadOnly`): creating, writing, renaming or
//! deleting anything fails inside the guest. wasmtime-wasi resolves paths beneath each
//! preopen with capability-based lookups, so `..` and symlinks cannot leave it.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::PluginError;
use crate::trust::open_no_follow;

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
    /// Resolves the grants: checks the paths, makes the private directories of file
    /// grants, and reads the granted variables.
    pub(crate) fn prepare(&self) -> Result<Prepared, PluginError> {
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
        if !self.read_files.is_empty() {
            remove_abandoned_grant_dirs();
        }
        for file in &self.read_files {
            let (dir, guest) = expose_file(file)?;
            preopens.push((dir.path().to_path_buf(), guest));
            temp.push(dir);
        }
        let mut env = Vec::new();
        for name in &self.env {
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

/// The prefix of a file grant's directory; the process id follows it.
const GRANT_DIR_PREFIX: &str = "gantry-grant-";

/// Makes the private directory that exposes `file` alone; returns it with the guest path
/// to preopen it at.
fn expose_file(file: &Path) -> Result<(TempDir, String), PluginError> {
    let refuse = |reason: String| PluginError::Grant {
        path: file.to_path_buf(),
        reason,
    };
    let canonical = canonical(file)?;
    let (Some(parent), Some(name)) = (canonical.parent(), canonical.file_name()) else {
        return Err(refuse("not a file".to_string()));
    };
    let mut source = open_no_follow(&canonical).map_err(|e| match e.raw_os_error() {
        #[cfg(unix)]
        Some(libc::ELOOP) => {
            refuse("it was replaced by a symbolic link while gantry was granting it".to_string())
        }
        _ => refuse(e.to_string()),
    })?;
    let opened = source.metadata().map_err(|e| refuse(e.to_string()))?;
    if !opened.is_file() {
        return Err(refuse("not a regular file".to_string()));
    }
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{GRANT_DIR_PREFIX}{}-", std::process::id());
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder
        .tempdir()
        .map_err(|e| PluginError::io("creating a private directory for a file grant", e))?;
    link_or_copy(&canonical, &mut source, &opened, &dir.path().join(name))
        .map_err(|e| refuse(format!("cannot link or copy it: {e}")))?;
    Ok((dir, guest_path(parent)?))
}

/// Puts the file gantry opened (`source`, found at `path`) at `link`: a hard link to
/// `path` if that is still the opened file, else a copy read from `source`, so that
/// whatever was swapped in at `path` since it was opened is never exposed.
fn link_or_copy(
    path: &Path,
    source: &mut std::fs::File,
    opened: &std::fs::Metadata,
    link: &Path,
) -> std::io::Result<()> {
    if std::fs::hard_link(path, link).is_ok() && same_file(link, opened) {
        return Ok(());
    }
    let _ = std::fs::remove_file(link);
    let mut copy = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(link)?;
    std::io::copy(source, &mut copy).map(drop)
}

/// Whether `link` is the same regular file as `opened` (not a symlink, same inode).
#[cfg(unix)]
fn same_file(link: &Path, opened: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(link)
        .is_ok_and(|m| m.is_file() && m.dev() == opened.dev() && m.ino() == opened.ino())
}

/// Without a stable way to compare file identities, the file is always copied.
#[cfg(not(unix))]
fn same_file(_link: &Path, _opened: &std::fs::Metadata) -> bool {
    false
}

/// Removes file-grant directories of this user whose gantry process no longer exists
/// (it was killed before it could clean up). Best effort.
#[cfg(unix)]
fn remove_abandoned_grant_dirs() {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let me = crate::trust::current_uid();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(GRANT_DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let gone = pid > 0
            && unsafe { libc::kill(pid, 0) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if ours && gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(not(unix))]
fn remove_abandoned_grant_dirs() {}

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
        let prepared = grants.prepare().unwrap();
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
        let prepared = grants.prepare().unwrap();
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
        assert!(matches!(missing.prepare(), Err(PluginError::Grant { .. })));
        let file_as_dir = Grants {
            read_files: vec![dir.path().to_path_buf()],
            ..Grants::default()
        };
        assert!(matches!(
            file_as_dir.prepare(),
            Err(PluginError::Grant { .. })
        ));
    }

    #[test]
    fn env_grants_pass_only_named_variables_that_exist() {
        let grants = Grants {
            env: vec![
                "PATH".to_string(),
                "GANTRY_TEST_SURELY_UNSET_VARIABLE".to_string(),
                "PATH".to_string(),
            ],
            ..Grants::default()
        };
        let prepared = grants.prepare().unwrap();
        let names: Vec<_> = prepared.env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["PATH"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_grant_directory_is_private_and_holds_that_very_file() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.onnx");
        std::fs::write(&model, b"model").unwrap();
        let grants = Grants {
            read_files: vec![model.clone()],
            ..Grants::default()
        };
        let prepared = grants.prepare().unwrap();
        let host_dir = &prepared.preopens[0].0;
        let mode = std::fs::metadata(host_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "mode {mode:o}");
        let name = host_dir.file_name().unwrap().to_str().unwrap();
        let own = format!("{GRANT_DIR_PREFIX}{}-", std::process::id());
        assert!(name.starts_with(&own), "{name}");
        let exposed = std::fs::symlink_metadata(host_dir.join("model.onnx")).unwrap();
        let original = std::fs::metadata(&model).unwrap();
        assert!(exposed.is_file());
        assert!(
            exposed.ino() == original.ino()
                || std::fs::read(host_dir.join("model.onnx")).unwrap() == b"model"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_after_it_was_opened_is_not_exposed() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.onnx");
        std::fs::write(&model, b"the model").unwrap();
        let mut source = open_no_follow(&model).unwrap();
        let opened = source.metadata().unwrap();
        // Another user swaps the path for a symlink to a secret after gantry opened it.
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"secret").unwrap();
        std::fs::remove_file(&model).unwrap();
        std::os::unix::fs::symlink(&secret, &model).unwrap();
        let link = dir.path().join("exposed");
        link_or_copy(&model, &mut source, &opened, &link).unwrap();
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&link).unwrap(), b"the model");

        // Or for another regular file.
        let mut source = open_no_follow(&secret).unwrap();
        let opened = source.metadata().unwrap();
        std::fs::remove_file(&secret).unwrap();
        std::fs::write(&secret, b"swapped").unwrap();
        let link = dir.path().join("exposed-2");
        link_or_copy(&secret, &mut source, &opened, &link).unwrap();
        assert_eq!(std::fs::read(&link).unwrap(), b"secret");
    }

    #[cfg(unix)]
    #[test]
    fn directories_left_by_killed_processes_are_removed() {
        // No process has this id: Linux's pid_max is at most 2^22.
        let dead = std::env::temp_dir().join(format!("{GRANT_DIR_PREFIX}{}-test", i32::MAX));
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join("model.onnx"), b"left behind").unwrap();
        let live = tempfile::Builder::new()
            .prefix(&format!("{GRANT_DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .unwrap();
        remove_abandoned_grant_dirs();
        assert!(!dead.exists());
        assert!(
            live.path().exists(),
            "a running process's grant was removed"
        );
    }
}
