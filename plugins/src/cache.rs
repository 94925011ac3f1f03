//! The compiled-module cache: `Module::serialize` output on disk, so a plugin is
//! compiled once per module and engine rather than on every run.
//!
//! An entry's file name is `SHA256(module)-FINGERPRINT.cwasm`, where the fingerprint
//! hashes the wasmtime version, the target and the engine's compilation settings. Each
//! entry starts with a header:
//!
//! ```text
//! magic "GANTRY-CWASM\0\0\0\x01" (16 bytes) | payload length (u64 LE)
//! | SHA256(module) (32) | SHA256(payload) (32) | payload
//! ```
//!
//! An entry is used only if the magic, the length, the module hash and the payload hash
//! all match; anything else (truncated, corrupted, renamed from another key, written by
//! something else) is deleted and rebuilt. Writes go to a temporary file in the same
//! directory and are renamed into place, so readers see either no entry or a whole one,
//! and two processes compiling the same module at once both succeed (the last rename
//! wins; both entries are identical).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

const MAGIC: &[u8; 16] = b"GANTRY-CWASM\0\0\0\x01";
const HEADER_LEN: usize = 16 + 8 + 32 + 32;

/// What happened when a module was looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid entry was used.
    Hit,
    /// No entry existed; the module was compiled (and stored, if the directory allows).
    Miss,
    /// An entry existed but was not trusted; the module was recompiled. Says why.
    Rebuilt(String),
    /// The host runs without a cache.
    Disabled,
    /// Machine code compiled at build time and shipped in the binary was used.
    Precompiled,
}

#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
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

    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        wasmtime_version().hash(&mut hasher);
        std::env::consts::ARCH.hash(&mut hasher);
        std::env::consts::OS.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let fingerprint = hex(&hasher.0.finalize()[..12]);
        ModuleCache { dir, fingerprint }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file for a module with this SHA-256.
    pub fn entry_path(&self, module_sha: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hex(module_sha), self.fingerprint))
    }

    /// The compiled module for `bytes`, from the cache when a valid entry exists.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        module_sha: &[u8; 32],
    ) -> wasmtime::Result<(Module, CacheOutcome)> {
        let path = self.entry_path(module_sha);
        let outcome = match std::fs::read(&path) {
            Ok(entry) => match self.trusted(engine, &entry, module_sha) {
                Ok(module) => return Ok((module, CacheOutcome::Hit)),
                Err(why) => {
                    // Another process may be replacing it right now; a failed removal
                    // is harmless because the rename below replaces it anyway.
                    let _ = std::fs::remove_file(&path);
                    CacheOutcome::Rebuilt(why)
                }
            },
            Err(_) => CacheOutcome::Miss,
        };
        let module = Module::new(engine, bytes)?;
        // A cache that cannot be written (read-only home, full disk) costs speed, not
        // correctness: the run goes on with the freshly compiled module.
        if let Ok(serialized) = module.serialize() {
            let _ = self.store(&path, module_sha, &serialized);
        }
        Ok((module, outcome))
    }

    /// Checks an entry's header and deserializes it, or says why it is not trusted.
    fn trusted(
        &self,
        engine: &Engine,
        entry: &[u8],
        module_sha: &[u8; 32],
    ) -> Result<Module, String> {
        let header = entry
            .get(..HEADER_LEN)
            .ok_or_else(|| "the entry is shorter than its header".to_string())?;
        if &header[..16] != MAGIC {
            return Err("the entry is not a gantry cache entry".to_string());
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&header[16..24]);
        let payload = &entry[HEADER_LEN..];
        if u64::from_le_bytes(len) != payload.len() as u64 {
            return Err("the entry is truncated".to_string());
        }
        if &header[24..56] != module_sha {
            return Err("the entry belongs to another module".to_string());
        }
        if header[56..88] != Sha256::digest(payload)[..] {
            return Err("the entry's checksum does not match".to_string());
        }
        // SAFETY: `Module::deserialize` trusts its input to be `Module::serialize`
        // output from a compatible engine, because it maps it as executable code. The
        // header checks above establish exactly that for this entry: the payload has
        // the SHA-256 recorded when gantry wrote it from `Module::serialize`, for this
        // module, under a fingerprint of this engine's version and configuration (and
        // wasmtime checks its own version and settings again). What the checks cannot
        // exclude is someone with write access to the user's cache directory forging an
        // entry; that person can already replace the gantry binary's inputs, so the
        // cache directory is part of the user's trusted computing base, like
        // `~/.cargo/bin`.
        unsafe { Module::deserialize(engine, payload) }
            .map_err(|e| format!("wasmtime refused the entry: {e}"))
    }

    fn store(&self, path: &Path, module_sha: &[u8; 32], payload: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".cwasm")
            .tempfile_in(&self.dir)?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(module_sha);
        header.extend_from_slice(&Sha256::digest(payload));
        file.write_all(&header)?;
        file.write_all(payload)?;
        file.as_file().sync_data()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
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

/// The version of the wasmtime crate gantry links, part of the cache fingerprint.
fn wasmtime_version() -> &'static str {
    // Cargo.toml pins wasmtime exactly; keep this in step with it.
    "48.0.8"
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Engine, ModuleCache, Vec<u8>, [u8; 32]) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::new(dir.path().join("modules"), &engine);
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
        let (module, outcome) = cache.load_or_compile(&engine, &bytes, &sha).unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(call_f(&engine, &module), 7);
        assert!(cache.entry_path(&sha).is_file());
        let (module, outcome) = cache.load_or_compile(&engine, &bytes, &sha).unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert_eq!(call_f(&engine, &module), 7);
        // Only the entry is left, no temporary files.
        assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 1);
    }

    fn rebuilt_after(damage: impl Fn(&mut Vec<u8>), expected: &str) {
        let (_dir, engine, cache, bytes, sha) = setup();
        cache.load_or_compile(&engine, &bytes, &sha).unwrap();
        let path = cache.entry_path(&sha);
        let mut entry = std::fs::read(&path).unwrap();
        damage(&mut entry);
        std::fs::write(&path, &entry).unwrap();
        let (module, outcome) = cache.load_or_compile(&engine, &bytes, &sha).unwrap();
        match outcome {
            CacheOutcome::Rebuilt(why) => assert!(why.contains(expected), "{why}"),
            other => panic!("expected a rebuild, got {other:?}"),
        }
        assert_eq!(call_f(&engine, &module), 7);
        let (_, outcome) = cache.load_or_compile(&engine, &bytes, &sha).unwrap();
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
        let cache = ModuleCache::new(blocker.join("modules"), &engine);
        let (module, outcome) = cache.load_or_compile(&engine, &bytes, &sha).unwrap();
        assert_eq!(outcome, CacheOutcome::Miss);
        assert_eq!(call_f(&engine, &module), 7);
    }

    #[test]
    fn fingerprints_differ_by_engine_configuration() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let a = ModuleCache::new(PathBuf::from("x"), &Engine::default());
        let b = ModuleCache::new(PathBuf::from("x"), &Engine::new(&config).unwrap());
        assert_ne!(a.fingerprint, b.fingerprint);
        let a2 = ModuleCache::new(PathBuf::from("x"), &Engine::default());
        assert_eq!(a.fingerprint, a2.fingerprint);
    }
}
