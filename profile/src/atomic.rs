//! Output files written atomically: into a temporary file beside the target, then
//! renamed over it. The temporary file is registered while it exists so that a Ctrl-C
//! handler can remove it ([`remove_pending`]) and leave nothing half-written.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
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
}
