//! Embeds the plugins that `gantry-bundled` built (`plugins/bundled`) into the binary:
//! writes the table `src/base/builtins.rs` includes, and records what `gantry version`
//! reports.
//!
//! Each module ships one of three ways, as the list from `gantry-bundled` says: as it
//! is (small examples), with its machine code compiled here for the target (the
//! forecaster, so a forecast never compiles anything), or gzip-compressed and compiled on
//! first use into the module cache (the tract-onnx runner behind `gantry infer`, whose
//! machine code would be most of the binary).

#[path = "../plugins/engine/locked_version.rs"]
mod locked_version;

use std::env;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    skip_kubernetes_tests();
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, shown by cargo as `error: ...`.
            println!("cargo::error={message}");
            ExitCode::SUCCESS
        }
    }
}

/// `GANTRY_SKIP_K8S=1` marks the tests that need a Kubernetes control plane as ignored,
/// so that `cargo test` counts them as skipped rather than passed.
fn skip_kubernetes_tests() {
    println!("cargo::rustc-check-cfg=cfg(gantry_skip_k8s)");
    println!("cargo::rerun-if-env-changed=GANTRY_SKIP_K8S");
    if std::env::var_os("GANTRY_SKIP_K8S").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=gantry_skip_k8s");
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let guests = manifest_dir.join("..").join("wasm-guest");
    rerun_if_changed(&guests.join("Cargo.lock"));
    record_build_info(&manifest_dir, &guests)?;

    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let list_file = PathBuf::from(env_var("DEP_GANTRY_BUNDLED_MODULES")?);
    // `gantry-bundled` rewrites its list each time it runs, so this runs after it.
    rerun_if_changed(&list_file);
    let list = std::fs::read_to_string(&list_file)
        .map_err(|e| format!("reading {}: {e}", list_file.display()))?;
    let mut table = String::from("&[\n");
    for line in list.lines() {
        let [name, ship, manifest, wasm] = line.split('\t').collect::<Vec<_>>()[..] else {
            return Err(format!(
                "unexpected line in {}: {line:?}",
                list_file.display()
            ));
        };
        let wasm = Path::new(wasm);
        let include = |path: &Path| format!("include_bytes!({:?})", path.display().to_string());
        let module = match ship {
            "wasm" => format!("Module::Wasm({})", include(wasm)),
            "precompiled" => match precompile(wasm, &out_dir.join(format!("{name}.cwasm")))? {
                Some(code) => format!(
                    "Module::Precompiled {{ wasm: {}, code: {} }}",
                    include(wasm),
                    include(&code)
                ),
                None => format!("Module::Wasm({})", include(wasm)),
            },
            "compressed" => {
                let gz = gzip(wasm, &out_dir.join(format!("{name}.wasm.gz")))?;
                format!("Module::Gzip({})", include(&gz))
            }
            other => {
                return Err(format!(
                    "{name}: unknown way to ship {other:?} in {}",
                    list_file.display()
                ));
            }
        };
        let _ = writeln!(
            table,
            "    Builtin {{ name: {name:?}, manifest: include_str!({manifest:?}), module: {module} }},"
        );
    }
    table.push(']');
    std::fs::write(out_dir.join("builtins.rs"), table)
        .map_err(|e| format!("writing {}: {e}", out_dir.display()))
}

/// What `gantry version` reports besides the crate version: the commit and date of the
/// build, its target, and the tract version inside the inference guest.
fn record_build_info(manifest_dir: &Path, guests: &Path) -> Result<(), String> {
    let tract = locked_version::locked_version(&guests.join("Cargo.lock"), "tract-onnx")?;
    println!("cargo::rustc-env=GANTRY_TRACT_VERSION={tract}");
    println!("cargo::rustc-env=GANTRY_TARGET={}", env_var("TARGET")?);
    println!(
        "cargo::rustc-env=GANTRY_GIT_COMMIT={}",
        git_commit(manifest_dir)
    );
    println!("cargo::rustc-env=GANTRY_BUILD_DATE={}", build_date()?);
    Ok(())
}

/// `HEAD`'s commit, or `unknown` outside a git checkout (a source archive). The build
/// script runs again when `HEAD` moves: its reflog records every move, and the branch's
/// ref file covers a repository without reflogs.
fn git_commit(dir: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(dir)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".to_string();
    };
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for name in ["HEAD", "logs/HEAD"].into_iter().chain(branch.as_deref()) {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            let path = dir.join(path);
            // A missing file would make cargo run this script on every build.
            if path.exists() {
                rerun_if_changed(&path);
            }
        }
    }
    commit
}

/// Today's date in UTC, or that of `SOURCE_DATE_EPOCH` for a reproducible build.
fn build_date() -> Result<String, String> {
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let now = match env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => epoch
            .parse::<i64>()
            .ok()
            .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
            .ok_or_else(|| format!("SOURCE_DATE_EPOCH={epoch} is not a time in seconds"))?,
        Err(_) => jiff::Timestamp::now(),
    };
    Ok(now.strftime("%Y-%m-%d").to_string())
}

/// Compiles `wasm` for the build's target into `out`, unless `out` already holds the
/// compilation of these very bytes. Returns `None`, with a warning, when wasmtime
/// cannot compile for the target because its backend is not built in (a cross build
/// without `precompile-any-target`): the binary then compiles the module on first use.
fn precompile(wasm: &Path, out: &Path) -> Result<Option<PathBuf>, String> {
    let target = env_var("TARGET")?;
    let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    // `OUT_DIR` is specific to this build script's build, and so to its wasmtime; the
    // key only has to cover what changes between runs of the same script.
    let key = format!("{target} {:016x}", content_hash(&bytes));
    let key_file = out.with_extension("cwasm.key");
    if out.is_file() && std::fs::read_to_string(&key_file).is_ok_and(|k| k == key) {
        return Ok(Some(out.to_path_buf()));
    }
    match gantry_engine::precompile_portable(&target, &bytes) {
        Ok(code) => {
            std::fs::write(out, code).map_err(|e| format!("writing {}: {e}", out.display()))?;
            std::fs::write(&key_file, key)
                .map_err(|e| format!("writing {}: {e}", key_file.display()))?;
            Ok(Some(out.to_path_buf()))
        }
        // With every backend there, a failure is a real fault, not a missing backend.
        Err(e) if env::var_os("CARGO_FEATURE_PRECOMPILE_ANY_TARGET").is_some() => {
            Err(format!("precompiling {} for {target}: {e}", wasm.display()))
        }
        Err(e) => {
            println!(
                "cargo::warning=not precompiling {} for {target} ({e}); it will be compiled on first use (build with `--features precompile-any-target` to precompile it)",
                wasm.display()
            );
            Ok(None)
        }
    }
}

/// Compresses `wasm` into `out` (gzip, best compression), unless `out` is up to date.
fn gzip(wasm: &Path, out: &Path) -> Result<PathBuf, String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let key = format!("{:016x}", content_hash(&bytes));
    let key_file = out.with_extension("gz.key");
    if out.is_file() && std::fs::read_to_string(&key_file).is_ok_and(|k| k == key) {
        return Ok(out.to_path_buf());
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &bytes)
        .and_then(|()| encoder.finish())
        .and_then(|gz| std::fs::write(out, gz))
        .and_then(|()| std::fs::write(&key_file, key))
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(out.to_path_buf())
}

/// A hash of `bytes`, enough to tell whether a module changed since the last run of
/// this build script (whose `OUT_DIR` holds what it keys).
fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name} for the build script"))
}

fn rerun_if_changed(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}
