//! Output files written atomically: into a temporary file beside the target, then
//! renamed over it. The temporary file is registered while it exists so that a Ctrl-C
//! handler can remove it ([`remove_pending`]) and leave nothing half-written.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
/// The file gets the mode a plain create would (0666 less the umask), and errors name
/// `path`, never the temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let err = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source: in_user_terms(source, dir),
    };
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Applied at creation, so the process umask still trims it.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    let tmp_path = tmp.path().to_path_buf();
    lock().push(tmp_path.clone());
    let written = tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all());
    // The rename happens under the lock, so a concurrent `remove_pending` sees either
    // the temporary file (and removes it) or the finished output (and leaves it).
    let mut pending = lock();
    pending.retain(|p| p != &tmp_path);
    written.map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// The error without the temporary file's name, which tempfile adds and which means
/// nothing to the user.
fn in_user_terms(error: std::io::Error, dir: &Path) -> std::io::Error {
    use std::io::ErrorKind;
    let message = match error.kind() {
        ErrorKind::NotFound => format!("the folder {} does not exist", dir.display()),
        ErrorKind::PermissionDenied => format!("no permission to write in {}", dir.display()),
        kind => kind.to_string(),
    };
    std::io::Error::new(error.kind(), message)
}

/// Removes temporary files of writes in progress; call from a signal handler before
/// exiting. Returns the lock held, so no write can finish after it.
pub fn remove_pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    let mut pending = lock();
    for path in pending.drain(..) {
        let _ = std::fs::remove_file(path);
    }
    pending
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.svg");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_missing_folder_is_named_not_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nowhere").join("out.svg");
        let message = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(message.contains("out.svg"), "{message}");
        assert!(message.contains("does not exist"), "{message}");
        assert!(!message.contains(".out.svg."), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_mode_follows_the_umask() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.svg");
        write_atomic(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // Whatever the test's umask, the output has the mode a plain create gives.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let want = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, want, "{mode:o} vs {want:o}");
    }
}
