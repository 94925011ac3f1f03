//! Whether a file or directory on disk can be trusted as the current user's own, by
//! the rule ssh applies to its key files: owned by the current user and not writable by
//! group or others. The module cache loads native code only from such places, and file
//! grants open files without following a symbolic link swapped in for them.
//!
//! On Windows there is no such check: a user's cache folder (under `%LOCALAPPDATA%`)
//! inherits an ACL that gives access to that user, administrators and SYSTEM only.

use std::path::Path;

/// Opens `path` for reading; on Unix, fails with `ELOOP` if its last component is a
/// symbolic link instead of following it.
pub(crate) fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// The current (effective) user id.
#[cfg(unix)]
pub(crate) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `Ok` when `meta` belongs to the current user and neither group nor others may write
/// it; else what is wrong, phrased to follow "the module cache FOLDER ...".
#[cfg(unix)]
pub(crate) fn owned_privately(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = current_uid();
    if meta.uid() != me {
        return Err(format!(
            "is owned by user id {}, not by you (user id {me})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "can be written by other users (mode {mode:04o}; `chmod go-w` fixes it)"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn owned_privately(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_file_of_ours_is_trusted_and_a_shared_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        owned_privately(&std::fs::metadata(&path).unwrap()).unwrap();
        for mode in [0o620, 0o602, 0o666, 0o775] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let why = owned_privately(&std::fs::metadata(&path).unwrap()).unwrap_err();
            assert!(why.contains("written by other users"), "{mode:o}: {why}");
        }
    }

    #[test]
    fn symlinks_are_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("target"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("target"), dir.path().join("link")).unwrap();
        let err = open_no_follow(&dir.path().join("link")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        open_no_follow(&dir.path().join("target")).unwrap();
    }
}
