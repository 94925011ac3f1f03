//! The compiled-module cache: `Module::serialize` output on disk, so a plugin is
//! compiled once per module and engine rather than on every run.
//!
//! An entry's file name is `SHA256(module)-FINGERPRINT.cwasm`, where the fingerprint
//! hashes the wasmtime version, the target and the engine's compilation settings. Each
//! entry starts with a header ([`EntryHeader`]):
//!
//! ```text
//! magic "GANTRY-CWASM\0\0\0\x01" (16 bytes) | payload length (u64 LE)
//! | SHA256(module) (32) | SHA256(payload) (32) | payload
//! ```
//!
//! # Trust
//!
//! An entry is machine code that runs in gantry's process, so the cache holds only
//! what the current user wrote. Like ssh with its key files, gantry uses the cache
//! folder only if it belongs to the current user and no one else may write to it, and
//! an entry only if it is a regular file (not a symbolic link) with the same owner and
//! mode rule. A folder that fails the rule is not read or written: the module is
//! compiled in memory and the host warns once ([`crate::Host::on_warning`]). An entry
//! that fails it is deleted and rebuilt, as is one whose magic, length, module hash or
//! payload hash does not match (truncated, corrupted, renamed from another key). The
//! checksums catch accidents; the owner and mode rule is what keeps other users out
//! (on Windows the folder's ACL, which grants only its user, does). Anyone who can
//! write as this user can also replace the gantry binary, so the cache adds no way in.
//!
//! # Size
//!
//! The folder holds at most [`CacheConfig::max_bytes`] of entries (default 1 GiB, the
//! `plugins.cache_mib` key in gantry's config): after storing an entry, the least
//! recently used ones are deleted until the rest fit. Using an entry marks it as
//! recently used (its modification time). An entry larger than the whole cap is not
//! stored.
//!
//! Writes go to a temporary file in the same directory and are renamed into place, so
//! readers see either no entry or a whole one, and two processes compiling the same
//! module at once both succeed (the last rename wins; both entries are identical).

use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::trust::{self, open_no_follow};

const MAGIC: &[u8; 16] = b"GANTRY-CWASM\0\0\0\x01";

/// Where the module cache lives and how large it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub dir: PathBuf,
    /// The most bytes all entries together may take.
    pub max_bytes: u64,
}

impl CacheConfig {
    /// 1 GiB.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// The cache in `dir`, with the default size cap.
    pub fn new(dir: PathBuf) -> Self {
        CacheConfig {
            dir,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }

    /// The cache at [`ModuleCache::default_dir`], with the default size cap.
    pub fn default_location() -> Option<Self> {
        ModuleCache::default_dir().map(CacheConfig::new)
    }
}

/// What happened when a module was looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid entry was used.
    Hit,
    /// No entry existed; the module was compiled (and stored, if the directory allows).
    Miss,
    /// An entry existed but was not trusted; the module was recompiled. Says why.
    Rebuilt(String),
    /// The cache folder is not trusted (see the module docs); the module was compiled
    /// in memory and nothing was read from or written to the folder. Says why.
    Untrusted(String),
    /// The host runs without a cache.
    Disabled,
    /// Machine code compiled at build time and shipped in the binary was used.
    Precompiled,
}

#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
    max_bytes: u64,
    fingerprint: String,
}

impl ModuleCache {
    /// `GANTRY_CACHE_DIR/modules` if that is set, else the user cache dir's
    /// `gantry/modules`.
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os("GANTRY_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir).join("modules")),
            _ => dirs::cache_dir().map(|dir| dir.join("gantry").join("modules")),
        }
    }

    pub fn new(config: CacheConfig, engine: &Engine) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        gantry_engine::WASMTIME_VERSION.hash(&mut hasher);
        std::env::consts::ARCH.hash(&mut hasher);
        std::env::consts::OS.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // Entries of modules with large data hold code compiled without it.
        ("host-data-init", crate::data_init::HOST_INIT_MIN_BYTES).hash(&mut hasher);
        let fingerprint = hex(&hasher.0.finalize()[..12]);
        ModuleCache {
            dir: config.dir,
            max_bytes: config.max_bytes,
            fingerprint,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file for a module with this SHA-256.
    pub fn entry_path(&self, module_sha: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hex(module_sha), self.fingerprint))
    }

    /// The compiled module for `bytes`, from the cache when a valid, trusted entry
    /// exists. The module's bytes are let go as soon as they are no longer needed, so
    /// that a module with large data segments is held at most twice at any time (its
    /// bytes or its cache entry, and its compiled form) rather than three times.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: Arc<Vec<u8>>,
        module_sha: &[u8; 32],
    ) -> wasmtime::Result<(Module, CacheOutcome)> {
        if let Err(why) = self.check_dir() {
            let (module, _) = compile(engine, bytes)?;
            return Ok((module, CacheOutcome::Untrusted(why)));
        }
        let path = self.entry_path(module_sha);
        let outcome = match self.read_entry(&path) {
            Ok(None) => CacheOutcome::Miss,
            Ok(Some((file, entry))) => match trusted_payload(&entry, module_sha) {
                Ok(payload) => {
                    drop(bytes);
                    let module = deserialize(engine, payload).inspect_err(|_| {
                        // Checked, yet refused by this wasmtime (a cache shared with a
                        // machine of another CPU): the next run compiles afresh.
                        let _ = std::fs::remove_file(&path);
                    })?;
                    // Marks it recently used; an entry we cannot touch is merely evicted
                    // sooner.
                    let _ = file.set_modified(SystemTime::now());
                    return Ok((module, CacheOutcome::Hit));
                }
                Err(why) => self.discard(&path, why),
            },
            Err(why) => self.discard(&path, why),
        };
        let (module, serialized) = compile(engine, bytes)?;
        // A cache that cannot be written (read-only home, full disk) costs speed, not
        // correctness: the run goes on with the freshly compiled module.
        if (serialized.len() + EntryHeader::LEN) as u64 <= self.max_bytes
            && self.store(&path, module_sha, &serialized).is_ok()
        {
            self.evict_beyond_cap(&path);
        }
        Ok((module, outcome))
    }

    /// Whether the folder may be used: it belongs to this user and only this user may
    /// write to it, or it does not exist yet (it is created private).
    fn check_dir(&self) -> Result<(), String> {
        let shown = self.dir.display();
        match std::fs::metadata(&self.dir) {
            // Missing (or under a file, so it cannot be made): nothing to load from, and
            // storing creates it private or fails harmlessly.
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(format!("the module cache {shown} cannot be checked: {e}")),
            Ok(meta) if !meta.is_dir() => {
                Err(format!("the module cache {shown} is not a directory"))
            }
            Ok(meta) => trust::owned_privately(&meta)
                .map_err(|why| format!("the module cache {shown} {why}")),
        }
    }

    /// The entry at `path` with its open file, `None` if there is none, or why it is
    /// not trusted.
    fn read_entry(&self, path: &Path) -> Result<Option<(std::fs::File, Vec<u8>)>, String> {
        let file = match open_no_follow(path) {
            Ok(file) => file,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(format!("the entry cannot be opened: {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("the entry cannot be checked: {e}"))?;
        if !meta.is_file() {
            return Err("the entry is not a regular file".to_string());
        }
        trust::owned_privately(&meta).map_err(|why| format!("the entry {why}"))?;
        if meta.len() > self.max_bytes {
            return Err("the entry is larger than the whole cache may be".to_string());
        }
        let mut entry = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        (&file)
            .take(self.max_bytes)
            .read_to_end(&mut entry)
            .map_err(|e| format!("the entry cannot be read: {e}"))?;
        Ok(Some((file, entry)))
    }

    fn discard(&self, path: &Path, why: String) -> CacheOutcome {
        // Another process may be replacing it right now; a failed removal is harmless
        // because storing the rebuilt entry replaces it anyway.
        let _ = std::fs::remove_file(path);
        CacheOutcome::Rebuilt(why)
    }

    fn store(&self, path: &Path, module_sha: &[u8; 32], payload: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".cwasm")
            .tempfile_in(&self.dir)?;
        file.write_all(&EntryHeader::encode(module_sha, payload))?;
        file.write_all(payload)?;
        file.as_file().sync_data()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Deletes the least recently used entries (and leftover temporary files) until
    /// the rest fit in the cap; never `keep`, the entry just stored.
    fn evict_beyond_cap(&self, keep: &Path) {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = listing
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".cwasm"))
            .filter_map(|e| {
                let meta = std::fs::symlink_metadata(e.path()).ok()?;
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                Some((used, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The header of a cache entry (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// The SHA-256 of the module the payload was compiled from.
    pub module_sha256: [u8; 32],
    /// The SHA-256 of the payload.
    pub payload_sha256: [u8; 32],
}

impl EntryHeader {
    /// The header's size in bytes.
    pub const LEN: usize = 16 + 8 + 32 + 32;

    /// Splits an entry into its header and payload, checking the magic, the payload
    /// length and the payload checksum; or says what is wrong.
    pub fn parse(entry: &[u8]) -> Result<(EntryHeader, &[u8]), String> {
        let header = entry
            .get(..Self::LEN)
            .ok_or_else(|| "the entry is shorter than its header".to_string())?;
        if &header[..16] != MAGIC {
            return Err("the entry is not a gantry cache entry".to_string());
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&header[16..24]);
        let payload = &entry[Self::LEN..];
        if u64::from_le_bytes(len) != payload.len() as u64 {
            return Err("the entry is truncated".to_string());
        }
        let mut parsed = EntryHeader {
            module_sha256: [0; 32],
            payload_sha256: [0; 32],
        };
        parsed.module_sha256.copy_from_slice(&header[24..56]);
        parsed.payload_sha256.copy_from_slice(&header[56..88]);
        if parsed.payload_sha256 != sha256(payload) {
            return Err("the entry's checksum does not match".to_string());
        }
        Ok((parsed, payload))
    }

    /// The header for `payload`, compiled from the module with SHA-256 `module_sha`.
    pub fn encode(module_sha: &[u8; 32], payload: &[u8]) -> [u8; Self::LEN] {
        let mut header = [0u8; Self::LEN];
        header[..16].copy_from_slice(MAGIC);
        header[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        header[24..56].copy_from_slice(module_sha);
        header[56..88].copy_from_slice(&sha256(payload));
        header
    }
}

/// Compiles a module, letting go of its bytes before its machine code is loaded;
/// returns the module and its serialized form, ready for the cache.
pub(crate) fn compile(engine: &Engine, bytes: Arc<Vec<u8>>) -> wasmtime::Result<(Module, Vec<u8>)> {
    let serialized = engine.precompile_module(&bytes)?;
    drop(bytes);
    // SAFETY: `serialized` is what this engine's `precompile_module` produced just now.
    let module = unsafe { Module::deserialize(engine, &serialized) }?;
    Ok((module, serialized))
}

/// Checks an entry's header and returns its payload, or says why it is not trusted.
fn trusted_payload<'e>(entry: &'e [u8], module_sha: &[u8; 32]) -> Result<&'e [u8], String> {
    let (header, payload) = EntryHeader::parse(entry)?;
    if &header.module_sha256 != module_sha {
        return Err("the entry belongs to another module".to_string());
    }
    Ok(payload)
}

/// Loads the machine code of a trusted entry's payload (see [`trusted_payload`]).
fn deserialize(engine: &Engine, payload: &[u8]) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` trusts its input to be `Module::serialize` output
    // from a compatible engine, because it maps it as executable code. This entry is a
    // regular file owned by the current user in a folder owned by the current user,
    // neither writable by anyone else (`read_entry`, `check_dir`), so it was written by
    // this user; its payload has the SHA-256 recorded when gantry wrote it from
    // `Engine::precompile_module`, for this module, under a fingerprint of this engine's
    // version and configuration (and wasmtime checks its own version and settings
    // again). What remains is the user's own account forging an entry, which could as
    // well replace the gantry binary.
    unsafe { Module::deserialize(engine, payload) }
}

/// Whether `e` says the path does not exist (or cannot, being under a file).
fn is_missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Feeds `Hash` output into SHA-256, so fingerprints are stable across processes and
/// Rust versions (unlike `DefaultHasher`, whose algorithm is unspecified).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// What `--sha256` pins: the module's bytes followed by the manifest file's bytes when
/// the manifest is beside the module (none when it is embedded, since it is then part
/// of the module). Unambiguous: a TOML file cannot begin with bytes that would also
/// complete a valid module (every section of a module contains bytes, such as NUL or
/// `0x0b`, that TOML forbids).
pub(crate) fn pin(module: &[u8], manifest_file: Option<&str>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(module);
    if let Some(text) = manifest_file {
        hasher.update(text.as_bytes());
    }
    hasher.finalize().into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Engine, ModuleCache, Vec<u8>, [u8; 32]) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::new(CacheConfig::new(dir.path().join("modules")), &engine);
        let bytes =
            wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
        let sha = sha256(&bytes);
        (dir, engine, cache, bytes, sha)
    }

    fn call_f(engine: &Engine, module: &Module) -> i32 {
        let mut store = wasmtime::Store::new(engine, ());
        let instance = wasmtime::Instance::new(&mut store, module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        f.call(&mut store, ()).unwrap()
    }

    #[test]
    fn miss_then_hit() {
        let (_dir, engine, cache, bytes, sha) = setup();
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(call_f(&engine, &module), 7);
        assert!(cache.entry_path(&sha).is_file());
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(call_f(&engine, &module), 7);
        // Only the entry is left, no temporary files.
        assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 1);
    }

    fn rebuilt_after(damage: impl Fn(&mut Vec<u8>), expected: &str) {
        let (_dir, engine, cache, bytes, sha) = setup();
        cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        let path = cache.entry_path(&sha);
        let mut entry = std::fs::read(&path).unwrap();
        damage(&mut entry);
        std::fs::write(&path, &entry).unwrap();
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        match outcome {
            CacheOutcome::Rebuilt(why) => assert!(why.contains(expected), "{why}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
        assert_eq!(call_f(&engine, &module), 7);
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Hit, "the rebuilt entry is valid");
    }

    #[test]
    fn a_flipped_payload_byte_is_detected() {
        rebuilt_after(
            |e| {
                let last = e.len() - 1;
                e[last] ^= 0xff;
            },
            "checksum",
        );
    }

    #[test]
    fn a_truncated_entry_is_detected() {
        rebuilt_after(|e| e.truncate(e.len() / 2), "truncated");
        rebuilt_after(|e| e.truncate(10), "shorter than its header");
    }

    #[test]
    fn a_foreign_file_is_detected() {
        rebuilt_after(
            |e| {
                e.clear();
                e.extend_from_slice(&[0x7f; 200]);
            },
            "not a gantry cache entry",
        );
    }

    #[test]
    fn an_entry_for_another_module_is_detected() {
        rebuilt_after(|e| e[30] ^= 1, "another module");
    }

    #[test]
    fn an_unwritable_cache_still_runs() {
        let (dir, engine, _cache, bytes, sha) = setup();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        let cache = ModuleCache::new(CacheConfig::new(blocker.join("modules")), &engine);
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(call_f(&engine, &module), 7);
    }

    #[test]
    fn fingerprints_differ_by_engine_configuration() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let x = || CacheConfig::new(PathBuf::from("x"));
        let a = ModuleCache::new(x(), &Engine::default());
        let b = ModuleCache::new(x(), &Engine::new(&config).unwrap());
        assert_ne!(a.fingerprint, b.fingerprint);
        let a2 = ModuleCache::new(x(), &Engine::default());
        assert_eq!(a.fingerprint, a2.fingerprint);
    }

    #[test]
    fn headers_round_trip_and_reject_damage() {
        let payload = b"machine code".as_slice();
        let mut entry = EntryHeader::encode(&[7; 32], payload).to_vec();
        entry.extend_from_slice(payload);
        let (header, parsed) = EntryHeader::parse(&entry).unwrap();
        assert_eq!(header.module_sha256, [7; 32]);
        assert_eq!(parsed, payload);
        entry.push(0);
        assert!(
            EntryHeader::parse(&entry)
                .unwrap_err()
                .contains("truncated")
        );
        assert!(EntryHeader::parse(&[]).is_err());
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_is_neither_read_nor_written() {
        let (_dir, engine, cache, bytes, sha) = setup();
        cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        let planted = std::fs::read(cache.entry_path(&sha)).unwrap();
        chmod(cache.dir(), 0o777);
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        match outcome {
            CacheOutcome::Untrusted(why) => assert!(why.contains("mode 0777"), "{why}"),
            other => panic!("expected an untrusted cache, got {other:?}"),
        }
        assert_eq!(call_f(&engine, &module), 7);
        assert_eq!(std::fs::read(cache.entry_path(&sha)).unwrap(), planted);
        chmod(cache.dir(), 0o700);
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_of_another_user_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let bytes =
            wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
        let sha = sha256(&bytes);
        let folder = if trust::current_uid() == 0 {
            let folder = dir.path().join("modules");
            std::fs::create_dir(&folder).unwrap();
            chmod(&folder, 0o755);
            std::os::unix::fs::chown(&folder, Some(65534), None).unwrap();
            folder
        } else {
            // Not root, so no chown: a system folder is owned by someone else too.
            PathBuf::from("/usr")
        };
        let cache = ModuleCache::new(CacheConfig::new(folder.clone()), &engine);
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        match outcome {
            CacheOutcome::Untrusted(why) => assert!(why.contains("not by you"), "{why}"),
            other => panic!("expected an untrusted cache, got {other:?}"),
        }
        assert!(!cache.entry_path(&sha).exists());
    }

    #[cfg(unix)]
    #[test]
    fn entries_others_can_write_or_symlinks_are_rebuilt() {
        rebuilt_after_file(|path| chmod(path, 0o666), "written by other users");
        rebuilt_after_file(
            |path| {
                let real = path.with_extension("real");
                std::fs::rename(path, &real).unwrap();
                std::os::unix::fs::symlink(&real, path).unwrap();
            },
            "cannot be opened",
        );
    }

    #[cfg(unix)]
    fn rebuilt_after_file(damage: impl Fn(&Path), expected: &str) {
        let (_dir, engine, cache, bytes, sha) = setup();
        cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        damage(&cache.entry_path(&sha));
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        match outcome {
            CacheOutcome::Rebuilt(why) => assert!(why.contains(expected), "{why}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
    }

    fn distinct_module(i: u32) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (func (export "f") (result i32) i32.const {i}))"#
        ))
        .unwrap()
    }

    #[test]
    fn the_least_recently_used_entries_go_beyond_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let folder = dir.path().join("modules");
        let unbounded = ModuleCache::new(CacheConfig::new(folder.clone()), &engine);
        let modules: Vec<Vec<u8>> = (0..4).map(distinct_module).collect();
        let shas: Vec<[u8; 32]> = modules.iter().map(|m| sha256(m)).collect();
        unbounded
            .load_or_compile(&engine, Arc::new(modules[0].clone()), &shas[0])
            .unwrap();
        let entry_len = std::fs::metadata(unbounded.entry_path(&shas[0]))
            .unwrap()
            .len();
        // Room for three entries (they are about the same size).
        let cache = ModuleCache::new(
            CacheConfig {
                dir: folder,
                max_bytes: entry_len * 3 + entry_len / 2,
            },
            &engine,
        );
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 1..3 {
            cache
                .load_or_compile(&engine, Arc::new(modules[i].clone()), &shas[i])
                .unwrap();
            let entry = std::fs::File::options()
                .write(true)
                .open(cache.entry_path(&shas[i]))
                .unwrap();
            entry
                .set_modified(old + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        let first = std::fs::File::options()
            .write(true)
            .open(cache.entry_path(&shas[0]))
            .unwrap();
        first.set_modified(old).unwrap();
        // Using module 0 makes module 1 the least recently used.
        let (_, outcome) = cache
            .load_or_compile(&engine, Arc::new(modules[0].clone()), &shas[0])
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        cache
            .load_or_compile(&engine, Arc::new(modules[3].clone()), &shas[3])
            .unwrap();
        let kept: Vec<bool> = shas.iter().map(|s| cache.entry_path(s).exists()).collect();
        assert_eq!(kept, [true, false, true, true]);
    }

    #[test]
    fn an_entry_larger_than_the_cap_is_not_stored() {
        let (dir, engine, _cache, bytes, sha) = setup();
        let cache = ModuleCache::new(
            CacheConfig {
                dir: dir.path().join("modules"),
                max_bytes: 100,
            },
            &engine,
        );
        let (module, outcome) = cache
            .load_or_compile(&engine, Arc::new(bytes.clone()), &sha)
            .unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(call_f(&engine, &module), 7);
        assert!(!cache.entry_path(&sha).exists());
    }
}
