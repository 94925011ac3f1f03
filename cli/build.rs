//! Builds the bundled plugins from `../wasm-guest` for `wasm32-wasip1` and writes the
//! table `src/builtins.rs` embeds into the binary.
//!
//! The guests are built by a nested cargo with its own target directory beside the
//! outer build's profile directories, so it never waits on a lock the outer cargo holds,
//! and with the outer build's compiler flags, target and wrappers cleared, so the
//! guests build the same whichever way gantry is built (`cargo build`, `clippy`, `dist`).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// A plugin embedded in the binary and listed as built-in.
struct Bundled {
    /// The name users run it by; the `name` in its manifest.
    name: &'static str,
    /// Its cargo package in `wasm-guest/`, whose binary of the same name is the module.
    package: &'static str,
    /// Its directory, relative to `wasm-guest/`.
    dir: &'static str,
    /// Whether to ship its machine code too, compiled here for the target, so that
    /// the first run does not spend seconds compiling it.
    precompile: bool,
}

/// Every bundled plugin. Adding one is one line here.
#[rustfmt::skip]
const BUNDLED: &[Bundled] = &[
    Bundled { name: "hello", package: "hello", dir: "examples/hello", precompile: false },
    Bundled { name: "naive-forecast", package: "naive-forecast", dir: "examples/naive-forecast", precompile: false },
    // tract makes this module 17 MB; compiling it takes 15-30 s of CPU, the others a
    // fraction of a second.
    Bundled { name: "inference", package: "gantry-inference", dir: "inference", precompile: true },
];

/// Crates of `wasm-guest/` the bundled plugins depend on by path.
const SHARED_DIRS: &[&str] = &["sdk"];

const TARGET: &str = "wasm32-wasip1";

/// Variables of the outer build that must not reach the nested cargo: they would
/// retarget it, pass host flags to wasm code, wrap rustc in clippy, or tell the guests'
/// own build scripts about the host's configuration.
const CLEARED_VARS: &[&str] = &[
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_LINKS",
    "CARGO_MANIFEST_PATH",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_DIR",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
    "DEBUG",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "OUT_DIR",
    "PROFILE",
    "RUSTC_LINKER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "RUSTDOCFLAGS",
    "RUSTFLAGS",
    "TARGET",
];

/// Prefixes of per-package variables cargo sets for this build script.
const CLEARED_PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_"];

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
    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        rerun_if_changed(&guests.join(file));
    }
    for dir in SHARED_DIRS.iter().chain(BUNDLED.iter().map(|b| &b.dir)) {
        rerun_if_changed(&guests.join(dir));
    }

    check_target()?;

    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let target_dir = guest_target_dir(&out_dir)?;
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(&guests)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for bundled in BUNDLED {
        command.args(["-p", bundled.package]);
    }
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy();
        if CLEARED_VARS.contains(&name.as_ref())
            || CLEARED_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            command.env_remove(name.as_ref());
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("running {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "building the bundled plugins in {} failed ({status}); the compiler's errors are above",
            guests.display()
        ));
    }

    let release = target_dir.join(TARGET).join("release");
    let mut table = String::from("&[\n");
    for bundled in BUNDLED {
        let wasm = release.join(format!("{}.wasm", bundled.package));
        if !wasm.is_file() {
            return Err(format!("the build did not produce {}", wasm.display()));
        }
        let precompiled = if bundled.precompile {
            precompile(&wasm, &out_dir.join(format!("{}.cwasm", bundled.name)))?
        } else {
            None
        };
        let precompiled = precompiled.map_or_else(
            || "None".to_string(),
            |path| format!("Some(include_bytes!({:?}))", path.display().to_string()),
        );
        let _ = writeln!(
            table,
            "    Builtin {{ name: {:?}, wasm: include_bytes!({:?}), precompiled: {precompiled} }},",
            bundled.name,
            wasm.display().to_string()
        );
    }
    table.push(']');
    std::fs::write(out_dir.join("builtins.rs"), table)
        .map_err(|e| format!("writing {}: {e}", out_dir.display()))
}

/// Compiles `wasm` for the build's target into `out`, unless `out` already holds the
/// compilation of these very bytes. Returns `None`, with a warning, when wasmtime
/// cannot compile for the target: the binary then compiles the module on first use.
fn precompile(wasm: &Path, out: &Path) -> Result<Option<PathBuf>, String> {
    let target = env_var("TARGET")?;
    let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    // `OUT_DIR` is specific to this build script's build, and so to its wasmtime; the
    // key only has to cover what changes between runs of the same script.
    let key = format!("{target} {:016x}", fnv1a(&bytes));
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
        Err(e) => {
            println!(
                "cargo::warning=not precompiling {} for {target} ({e}); it will be compiled on first use",
                wasm.display()
            );
            Ok(None)
        }
    }
}

/// FNV-1a, enough to tell whether the module changed since the last precompile.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("cargo did not set {name} for the build script"))
}

fn rerun_if_changed(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}

/// Fails with the fix when the standard library for `wasm32-wasip1` is not installed,
/// before cargo gets to fail with a page of `can't find crate for std`.
fn check_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("running {}: {e}", Path::new(&rustc).display()))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || sysroot.is_empty() {
        return Err(format!(
            "`{} --print sysroot` failed",
            Path::new(&rustc).display()
        ));
    }
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .is_dir()
    {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is missing; run: rustup target add {TARGET}"
        ))
    }
}

/// `<target>/wasm-guest`, beside the outer build's profile directories: `OUT_DIR` is
/// `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`.
fn guest_target_dir(out_dir: &Path) -> Result<PathBuf, String> {
    out_dir
        .ancestors()
        .nth(4)
        .map(|dir| dir.join("wasm-guest"))
        .ok_or_else(|| format!("unexpected OUT_DIR layout: {}", out_dir.display()))
}
