//! The on-disk HTTP cache: one file per (URL, Accept) pair, written atomically, checked
//! on every read so that a damaged entry is refetched instead of trusted.
//!
//! File layout: one line of JSON metadata, a newline, then the body bytes. The metadata
//! holds the validators (`ETag`, `Last-Modified`), when the entry was stored, how long
//! it stays fresh, the body's length and CRC-32 (checked on every read: cheap, and
//! enough to catch a damaged file) and its SHA-256 (the body's identity). Data that a
//! caller derives from a body is kept beside its entry, one file per kind, headed by that
//! SHA-256 so that it is read only for the same body ([`read_derived`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where cached responses live and how long they stay fresh.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The folder holding the entries; created when first written.
    pub dir: PathBuf,
    /// How long an entry is used without asking the server, when the server's
    /// `Cache-Control: max-age` does not say. Past it, the entry is revalidated with a
    /// conditional request.
    pub default_fresh_for: Duration,
    /// Answer only from the cache; never touch the network. Entries past their freshness
    /// are still returned, marked [`crate::Source::Stale`].
    pub offline: bool,
}

impl CacheConfig {
    /// The user's cache folder: `$GANTRY_CACHE_DIR/http` when that is set, else
    /// `<user cache dir>/gantry/http` (`~/.cache` on Linux, `~/Library/Caches` on
    /// macOS, `%LOCALAPPDATA%` on Windows).
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os("GANTRY_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("http")),
            _ => dirs::cache_dir().map(|dir| dir.join("gantry").join("http")),
        }
    }

    pub fn new(dir: PathBuf) -> Self {
        CacheConfig {
            dir,
            default_fresh_for: Duration::from_secs(10 * 60),
            offline: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub url: String,
    /// 200, or 404/410 for a remembered "not found".
    #[serde(default = "ok_status")]
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Seconds since the Unix epoch.
    pub stored_at: u64,
    pub fresh_for_secs: u64,
    pub body_len: u64,
    /// Absent from entries written before it was added; those are checked by their
    /// SHA-256, so that an upgrade keeps the cache (and `--offline` keeps working).
    #[serde(default)]
    pub body_crc32: Option<u32>,
    pub body_sha256: String,
}

fn ok_status() -> u16 {
    200
}

/// A cache entry that passed its integrity checks.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub meta: Meta,
    pub body: Bytes,
}

impl Entry {
    pub fn age(&self, now: SystemTime) -> Duration {
        let stored = UNIX_EPOCH + Duration::from_secs(self.meta.stored_at);
        now.duration_since(stored).unwrap_or(Duration::ZERO)
    }

    pub fn is_fresh(&self, now: SystemTime) -> bool {
        self.age(now) < Duration::from_secs(self.meta.fresh_for_secs)
    }
}

/// What reading an entry found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Missing,
    /// The file exists but fails its checks (truncated, edited, not ours).
    Corrupt,
    Found(Entry),
}

pub(crate) fn entry_path(dir: &Path, url: &str, accept: Option<&str>) -> PathBuf {
    let mut hasher = Sha256::new();
    hasher.update(url.as_bytes());
    hasher.update([0]);
    hasher.update(accept.unwrap_or("").as_bytes());
    let key = hex(&hasher.finalize());
    dir.join(&key[..2]).join(&key[2..])
}

pub(crate) fn read(path: &Path, url: &str) -> Lookup {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Missing,
        Err(_) => return Lookup::Corrupt,
    };
    let Some(newline) = data.iter().position(|&b| b == b'\n') else {
        return Lookup::Corrupt;
    };
    let Ok(meta) = serde_json::from_slice::<Meta>(&data[..newline]) else {
        return Lookup::Corrupt;
    };
    let body = Bytes::from(data).slice(newline + 1..);
    let intact = match meta.body_crc32 {
        Some(crc) => crc == crc32fast::hash(&body),
        None => meta.body_sha256 == hex(&Sha256::digest(&body)),
    };
    if meta.url != url || meta.body_len != body.len() as u64 || !intact {
        return Lookup::Corrupt;
    }
    Lookup::Found(Entry { meta, body })
}

/// Writes an entry, returning the body's SHA-256 (hex).
pub(crate) fn write(path: &Path, mut meta: Meta, body: &[u8]) -> std::io::Result<String> {
    meta.body_len = body.len() as u64;
    meta.body_crc32 = Some(crc32fast::hash(body));
    meta.body_sha256 = hex(&Sha256::digest(body));
    let mut head = serde_json::to_vec(&meta)?;
    head.push(b'\n');
    write_atomic(path, &[&head, body], true)?;
    Ok(meta.body_sha256)
}

/// Writes `parts` to `path` through a temporary file in the same folder and renames it
/// into place, so readers see the old file or the new one, never half of one. `sync`
/// flushes the data to disk first, for files that a crash must not leave empty.
pub(crate) fn write_atomic(path: &Path, parts: &[&[u8]], sync: bool) -> std::io::Result<()> {
    let dir = path.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    for part in parts {
        file.write_all(part)?;
    }
    if sync {
        file.as_file().sync_data()?;
    }
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The file beside `entry` holding data of `kind` derived from its body; `None` unless
/// `kind` is a plain name.
fn derived_path(entry: &Path, kind: &str) -> Option<PathBuf> {
    let plain = !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let name = entry.file_name()?.to_str()?;
    plain.then(|| entry.with_file_name(format!("{name}.{kind}")))
}

/// Data of `kind` derived from the body of `entry` whose SHA-256 is `sha256`, if it was
/// stored for that very body.
pub(crate) fn read_derived(entry: &Path, kind: &str, sha256: &str) -> Option<Vec<u8>> {
    let data = std::fs::read(derived_path(entry, kind)?).ok()?;
    let rest = data.strip_prefix(sha256.as_bytes())?.strip_prefix(b"\n")?;
    Some(rest.to_vec())
}

/// Stores what [`read_derived`] reads, replacing what was derived from an earlier body.
/// Not flushed to disk: a crash can leave it empty, which only costs the derivation.
pub(crate) fn write_derived(
    entry: &Path,
    kind: &str,
    sha256: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let path = derived_path(entry, kind).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain kind name")
    })?;
    write_atomic(&path, &[sha256.as_bytes(), b"\n", data], false)
}

/// Refreshes an entry's stored time after a `304 Not Modified`.
pub(crate) fn touch(path: &Path, entry: &Entry, now: SystemTime, fresh_for: Duration) {
    let mut meta = entry.meta.clone();
    meta.stored_at = unix_secs(now);
    meta.fresh_for_secs = fresh_for.as_secs();
    // A failed refresh only means the next run revalidates again.
    let _ = write(path, meta, &entry.body);
}

pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(url: &str) -> Meta {
        Meta {
            url: url.into(),
            status: 200,
            etag: Some("\"abc\"".into()),
            last_modified: None,
            stored_at: 100,
            fresh_for_secs: 60,
            body_len: 0,
            body_crc32: None,
            body_sha256: String::new(),
        }
    }

    #[test]
    fn round_trip_and_integrity_checks() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://example.test/a";
        let path = entry_path(dir.path(), url, None);
        assert!(matches!(read(&path, url), Lookup::Missing));
        write(&path, meta(url), b"hello").unwrap();
        match read(&path, url) {
            Lookup::Found(entry) => assert_eq!(&entry.body[..], b"hello"),
            other => panic!("expected an entry, got {other:?}"),
        }
        // Same length, different bytes: caught by the checksum.
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] = b'X';
        std::fs::write(&path, &data).unwrap();
        assert!(matches!(read(&path, url), Lookup::Corrupt));
        // Truncated.
        std::fs::write(&path, &data[..data.len() - 2]).unwrap();
        assert!(matches!(read(&path, url), Lookup::Corrupt));
        // Garbage.
        std::fs::write(&path, b"\x00\x01garbage").unwrap();
        assert!(matches!(read(&path, url), Lookup::Corrupt));
    }

    #[test]
    fn entries_from_before_the_crc_are_checked_by_their_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://example.test/old";
        let path = entry_path(dir.path(), url, None);
        let old = |body: &[u8]| {
            let mut meta = serde_json::to_value(meta(url)).unwrap();
            let fields = meta.as_object_mut().unwrap();
            fields.remove("body_crc32");
            fields.insert("body_len".into(), 5.into());
            fields.insert("body_sha256".into(), hex(&Sha256::digest(b"hello")).into());
            let mut data = serde_json::to_vec(&meta).unwrap();
            data.push(b'\n');
            data.extend_from_slice(body);
            write_atomic(&path, &[&data], false).unwrap();
        };
        old(b"hello");
        assert!(matches!(read(&path, url), Lookup::Found(_)));
        old(b"hellO");
        assert!(matches!(read(&path, url), Lookup::Corrupt));
    }

    #[test]
    fn derived_data_is_read_for_the_same_body_only() {
        let dir = tempfile::tempdir().unwrap();
        let entry = entry_path(dir.path(), "https://example.test/a", None);
        let (one, two) = ("1".repeat(64), "2".repeat(64));
        assert_eq!(read_derived(&entry, "summary-v1", &one), None);
        write_derived(&entry, "summary-v1", &one, b"parsed").unwrap();
        assert_eq!(
            read_derived(&entry, "summary-v1", &one).as_deref(),
            Some(&b"parsed"[..])
        );
        assert_eq!(read_derived(&entry, "summary-v1", &two), None);
        assert_eq!(read_derived(&entry, "summary-v2", &one), None);
        // One file per entry and kind: a new body's data replaces the old.
        write_derived(&entry, "summary-v1", &two, b"again").unwrap();
        assert_eq!(read_derived(&entry, "summary-v1", &one), None);
        assert_eq!(
            std::fs::read_dir(entry.parent().unwrap()).unwrap().count(),
            1
        );
        for kind in ["", "../x", "a/b", "Summary"] {
            assert!(write_derived(&entry, kind, &one, b"x").is_err(), "{kind}");
        }
    }

    #[test]
    fn keys_differ_by_accept_header() {
        let dir = Path::new("/c");
        assert_ne!(
            entry_path(dir, "u", None),
            entry_path(dir, "u", Some("application/json"))
        );
    }

    #[test]
    fn freshness_is_measured_from_the_stored_time() {
        let entry = Entry {
            meta: meta("u"),
            body: Bytes::new(),
        };
        assert!(entry.is_fresh(UNIX_EPOCH + Duration::from_secs(159)));
        assert!(!entry.is_fresh(UNIX_EPOCH + Duration::from_secs(160)));
    }
}
