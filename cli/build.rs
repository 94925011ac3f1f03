//! Builds the bundled plugins from `../wasm-guest` for `wasm32-wasip1` and writes the
//! table `src/builtins.rs` embeds into the binary.
//!
//! Each module is shrunk with `wasm-opt -Oz` (binaryen) when it is on the `PATH` (the
//! build works without it, with a warning), then shipped one of three ways: as it is
//! (small examples), with its machine code compiled here (the forecaster, so a forecast
//! never compiles anything), or gzip-compressed and compiled on first use into the
//! module cache (the tract-onnx runner behind `gantry infer`, whose machine code would
//! be most of the binary).
//!
//! The guests are built by a nested cargo with its own target directory beside the
//! outer build's profile directories, so it never waits on a lock the outer cargo holds,
//! and with the outer build's compiler flags, target and wrappers cleared, so the
//! guests build the same whichever way gantry is built (`cargo build`, `clippy`, `dist`).

#[path = "../plugins/engine/locked_version.rs"]
mod locked_version;

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
    /// Its directory, relative to `wasm-guest/`; its manifest is `plugin.toml` there.
    dir: &'static str,
    ship: Ship,
}

/// How a module goes into the binary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ship {
    /// The module; compiled on first use (a fraction of a second for small ones).
    Wasm,
    /// The module and its machine code for the target, compiled here, so that no run
    /// ever compiles it.
    Precompiled,
    /// The module gzip-compressed, compiled on first use into the module cache: for a
    /// large module whose machine code would weigh more than the rest of the binary.
    Compressed,
}

/// Every bundled plugin. Adding one is one line here.
#[rustfmt::skip]
const BUNDLED: &[Bundled] = &[
    Bundled { name: "hello", package: "hello", dir: "examples/hello", ship: Ship::Wasm },
    Bundled { name: "naive-forecast", package: "naive-forecast", dir: "examples/naive-forecast", ship: Ship::Wasm },
    // `gantry forecast` runs this on every call: no compile, ever.
    Bundled { name: "forecaster", package: "gantry-forecaster", dir: "forecaster", ship: Ship::Precompiled },
    // tract-onnx: megabytes of WebAssembly, several times that in machine code, and
    // 10-30 s of CPU to compile; `gantry infer` pays that once and says so.
    Bundled { name: "inference", package: "gantry-inference", dir: "inference", ship: Ship::Compressed },
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

    println!("cargo::rerun-if-env-changed=WASM_OPT");
    record_build_info(&manifest_dir, &guests)?;
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
    let wasm_opt = WasmOpt::find();
    let mut table = String::from("&[\n");
    for bundled in BUNDLED {
        let built = release.join(format!("{}.wasm", bundled.package));
        if !built.is_file() {
            return Err(format!("the build did not produce {}", built.display()));
        }
        let wasm = match &wasm_opt {
            Some(tool) => tool.shrink(&built, &target_dir.join("wasm-opt"))?,
            None => built,
        };
        let include = |path: &Path| format!("include_bytes!({:?})", path.display().to_string());
        let module = match bundled.ship {
            Ship::Wasm => format!("Module::Wasm({})", include(&wasm)),
            Ship::Precompiled => {
                match precompile(&wasm, &out_dir.join(format!("{}.cwasm", bundled.name)))? {
                    Some(code) => format!(
                        "Module::Precompiled {{ wasm: {}, code: {} }}",
                        include(&wasm),
                        include(&code)
                    ),
                    None => format!("Module::Wasm({})", include(&wasm)),
                }
            }
            Ship::Compressed => {
                let gz = gzip(&wasm, &out_dir.join(format!("{}.wasm.gz", bundled.name)))?;
                format!("Module::Gzip({})", include(&gz))
            }
        };
        let manifest = guests.join(bundled.dir).join("plugin.toml");
        let _ = writeln!(
            table,
            "    Builtin {{ name: {:?}, manifest: include_str!({:?}), module: {module} }},",
            bundled.name,
            manifest.display().to_string()
        );
    }
    if wasm_opt.is_none() {
        println!(
            "cargo::warning=wasm-opt (binaryen) is not on the PATH: the bundled plugins are not size-optimised; install binaryen for a smaller gantry"
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

/// binaryen's optimiser, when installed.
struct WasmOpt {
    program: PathBuf,
    /// Its `--version`, part of the cache key of what it wrote.
    version: String,
}

/// The WebAssembly features rustc uses for `wasm32-wasip1` with `+simd128`, which
/// wasm-opt must be told it may read and keep.
const WASM_FEATURES: &[&str] = &[
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
];

impl WasmOpt {
    fn find() -> Option<WasmOpt> {
        let program = PathBuf::from(env::var_os("WASM_OPT").unwrap_or_else(|| "wasm-opt".into()));
        let output = Command::new(&program).arg("--version").output().ok()?;
        output.status.success().then(|| WasmOpt {
            program,
            version: String::from_utf8_lossy(&output.stdout).trim().to_string(),
        })
    }

    /// `wasm-opt -Oz` of `wasm` into `dir`, reusing an earlier result for the same
    /// bytes and tool (the directory is shared by every profile's build). Falls back to
    /// `wasm` itself, with a warning, if wasm-opt fails.
    fn shrink(&self, wasm: &Path, dir: &Path) -> Result<PathBuf, String> {
        let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
        let key = fnv1a(&[bytes.as_slice(), self.version.as_bytes()].concat());
        let stem = wasm.file_stem().unwrap_or_default().to_string_lossy();
        let out = dir.join(format!("{stem}-{key:016x}.wasm"));
        if out.is_file() {
            return Ok(out);
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let partial = out.with_extension("partial");
        let status = Command::new(&self.program)
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg(wasm)
            .arg("-o")
            .arg(&partial)
            .status();
        match status {
            Ok(s) if s.success() => {
                std::fs::rename(&partial, &out)
                    .map_err(|e| format!("writing {}: {e}", out.display()))?;
                Ok(out)
            }
            other => {
                println!(
                    "cargo::warning=wasm-opt failed on {} ({other:?}); shipping it unoptimised",
                    wasm.display()
                );
                Ok(wasm.to_path_buf())
            }
        }
    }
}

/// Compresses `wasm` into `out` (gzip, best compression), unless `out` is up to date.
fn gzip(wasm: &Path, out: &Path) -> Result<PathBuf, String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let key = format!("{:016x}", fnv1a(&bytes));
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
/// `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`. The guests are the same
/// WebAssembly whatever gantry's own target, so builds for every triple share them.
fn guest_target_dir(out_dir: &Path) -> Result<PathBuf, String> {
    let mut dir = out_dir
        .ancestors()
        .nth(4)
        .ok_or_else(|| format!("unexpected OUT_DIR layout: {}", out_dir.display()))?;
    let triple = env_var("TARGET")?;
    if dir.file_name().is_some_and(|name| *name == *triple) {
        dir = dir.parent().unwrap_or(dir);
    }
    Ok(dir.join("wasm-guest"))
}
