//! Builds the plugins bundled into gantry from `../../wasm-guest` for `wasm32-wasip1`,
//! shrinks each with `wasm-opt -Oz` (binaryen) when it is on the `PATH` (the build works
//! without it, with a warning), and lists them for gantry's build script, which embeds
//! them: `DEP_GANTRY_BUNDLED_MODULES` names a file of one line per plugin, its name, how
//! it ships, its manifest and its module, separated by tabs.
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
    /// Its directory, relative to `wasm-guest/`; its manifest is `plugin.toml` there.
    dir: &'static str,
    ship: Ship,
}

/// How a module goes into the binary.
#[derive(Clone, Copy)]
enum Ship {
    /// The module; compiled on first use (a fraction of a second for small ones).
    Wasm,
    /// The module and its machine code for the target, compiled by gantry's build
    /// script, so that no run ever compiles it.
    Precompiled,
    /// The module gzip-compressed, compiled on first use into the module cache: for a
    /// large module whose machine code would weigh more than the rest of the binary.
    Compressed,
}

impl Ship {
    /// How `cli/build.rs` reads it in the list of modules.
    fn keyword(self) -> &'static str {
        match self {
            Ship::Wasm => "wasm",
            Ship::Precompiled => "precompiled",
            Ship::Compressed => "compressed",
        }
    }
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
    if let Err(message) = build() {
        // One line, shown by cargo as `error: ...`.
        println!("cargo::error={message}");
    }
    ExitCode::SUCCESS
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let guests = manifest_dir.join("..").join("..").join("wasm-guest");
    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        rerun_if_changed(&guests.join(file));
    }
    for dir in SHARED_DIRS.iter().chain(BUNDLED.iter().map(|b| &b.dir)) {
        rerun_if_changed(&guests.join(dir));
    }
    println!("cargo::rerun-if-env-changed=WASM_OPT");
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
    let mut list = String::new();
    for bundled in BUNDLED {
        let built = release.join(format!("{}.wasm", bundled.package));
        if !built.is_file() {
            return Err(format!("the build did not produce {}", built.display()));
        }
        let wasm = match &wasm_opt {
            Some(tool) => tool.shrink(&built, &target_dir.join("wasm-opt"))?,
            None => built,
        };
        let manifest = guests.join(bundled.dir).join("plugin.toml");
        let _ = writeln!(
            list,
            "{}\t{}\t{}\t{}",
            bundled.name,
            bundled.ship.keyword(),
            manifest.display(),
            wasm.display()
        );
    }
    if wasm_opt.is_none() {
        println!(
            "cargo::warning=wasm-opt (binaryen) is not on the PATH: the bundled plugins are not size-optimised; install binaryen for a smaller gantry"
        );
    }
    let list_file = out_dir.join("modules.tsv");
    std::fs::write(&list_file, list)
        .map_err(|e| format!("writing {}: {e}", list_file.display()))?;
    println!("cargo::metadata=modules={}", list_file.display());
    Ok(())
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

/// FNV-1a, enough to tell whether the module changed since wasm-opt last shrank it.
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
