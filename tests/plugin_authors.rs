//! A new plugin author's journey, as the README tells it, in Rust and in Go:
//! `gantry plugin new NAME`, build, `gantry plugin test`, `gantry plugin install`,
//! `gantry NAME`, and the plugin's command in `gantry --help`. A wrong `--sha256`
//! installs nothing.
//!
//! Offline, as on a machine that cannot reach git hosts: cargo runs with
//! `CARGO_NET_OFFLINE=true`, Go with `GOPROXY=off`, and nothing points gantry at a
//! checkout of its SDK. HOME and the XDG folders are temporary, so nothing reaches the
//! user's configuration or plugins; cargo's and Go's caches are the user's.
//!
//! Needs the `wasm32-wasip1` target for the toolchain that runs the test, and Go 1.21+
//! on PATH. The Rust project's SDK needs serde and serde_json from cargo's cache; they
//! are there because gantry itself is built with the same SDK.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The author's machine: a temporary home with a folder for projects.
struct Author {
    home: tempfile::TempDir,
}

/// The variables a build tool keeps from the test's environment; everything else is
/// cleared, so that nothing of the outer `cargo test` (its target, flags, wrappers)
/// reaches the author's build.
const TOOL_VARS: &[&str] = &["PATH", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"];

impl Author {
    fn new() -> Author {
        let author = Author {
            home: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(author.projects()).unwrap();
        author
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn projects(&self) -> PathBuf {
        self.home().join("projects")
    }

    /// A command in `dir` with the temporary home and only [`TOOL_VARS`] of the
    /// test's environment.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(dir)
            .env_clear()
            .envs(
                TOOL_VARS
                    .iter()
                    .filter_map(|&name| Some((name, std::env::var_os(name)?))),
            )
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join("config"))
            .env("XDG_DATA_HOME", self.home().join("data"))
            .env("XDG_CACHE_HOME", self.home().join("cache"))
            .env("NO_COLOR", "1");
        // With HOME moved, cargo and rustup would look for their own homes there.
        let real_home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        for (var, folder) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
            if std::env::var_os(var).is_none() {
                command.env(var, real_home.join(folder));
            }
        }
        command
    }

    fn gantry(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(env!("CARGO_BIN_EXE_gantry"), dir)
            .args(args)
            .output()
            .expect("running gantry")
    }

    fn installed_plugins(&self) -> Vec<String> {
        let out = self.gantry(self.home(), &["-o", "json", "plugin", "list"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["source"] == "installed")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// From `plugin new` to `gantry NAME`; `build` builds the project in its folder
    /// and returns the module's path.
    fn journey(&self, name: &str, lang: &str, build: impl FnOnce(&Path) -> PathBuf) {
        let out = self.gantry(&self.projects(), &["plugin", "new", name, "--lang", lang]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("gantry plugin install "),
            "plugin new says what comes next: {}",
            text(&out.stderr)
        );
        let project = self.projects().join(name);
        let wasm = build(&project);
        let wasm_arg = wasm.to_str().unwrap();

        // Go's runtime takes a while to compile, which counts against the deadline.
        let tested = self.gantry(&project, &["plugin", "test", wasm_arg, "--timeout", "120s"]);
        assert_eq!(tested.status.code(), Some(0), "{}", text(&tested.stderr));
        assert!(
            text(&tested.stdout).starts_with("scale.forecast: ok: {"),
            "{}",
            text(&tested.stdout)
        );

        let wrong = "0".repeat(64);
        let refused = self.gantry(
            &project,
            &["plugin", "install", wasm_arg, "--sha256", &wrong, "-y"],
        );
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
        assert!(
            text(&refused.stderr).contains("checksum mismatch"),
            "{}",
            text(&refused.stderr)
        );
        assert_eq!(self.installed_plugins(), Vec::<String>::new());
        let store = self.home().join("data/gantry/plugins");
        assert!(
            !store.join(name).exists(),
            "a refused install left {}",
            store.join(name).display()
        );

        let info = self.gantry(&project, &["-o", "json", "plugin", "info", wasm_arg]);
        assert_eq!(info.status.code(), Some(0), "{}", text(&info.stderr));
        let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        let sha256 = info["sha256"].as_str().unwrap();
        let installed = self.gantry(
            &project,
            &["plugin", "install", wasm_arg, "--sha256", sha256, "-y"],
        );
        assert_eq!(
            installed.status.code(),
            Some(0),
            "{}",
            text(&installed.stderr)
        );
        assert_eq!(self.installed_plugins(), [name]);

        let ran = self.gantry(self.home(), &[name, "world"]);
        assert_eq!(
            text(&ran.stdout),
            format!("Hello from {name}, world!\n"),
            "stderr: {}",
            text(&ran.stderr)
        );
        assert_eq!(ran.status.code(), Some(0));

        let help = self.gantry(self.home(), &["--help"]);
        let help = text(&help.stdout);
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{name} is not in gantry --help:\n{help}"
        );
    }
}

fn run(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn a_rust_plugin_from_new_to_its_command_offline() {
    let author = Author::new();
    // Kept between runs (the author's would be `target/` in the project), so that the
    // SDK's dependencies compile once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-authors-rust");
    author.journey("rusty", "rust", |project| {
        let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        let sdk = author.home().join("data/gantry/sdk");
        assert!(
            manifest.contains(&format!("path = \"{}", sdk.display())),
            "the SDK is the bundled one, by path:\n{manifest}"
        );
        run(
            author
                .command("cargo", project)
                .args(["build", "--release"])
                .env("CARGO_NET_OFFLINE", "true")
                .env("CARGO_TARGET_DIR", &target),
            "cargo build --release",
        );
        target.join("wasm32-wasip1/release/rusty.wasm")
    });
}

#[test]
fn a_go_plugin_from_new_to_its_command_offline() {
    let author = Author::new();
    // The user's Go build cache, found before HOME moves: Go's runtime compiles once.
    let gocache = Command::new("go")
        .args(["env", "GOCACHE"])
        .output()
        .unwrap_or_else(|e| panic!("running `go env` ({e}); this test needs Go 1.21+ on PATH"));
    let gocache = OsString::from(text(&gocache.stdout).trim());
    author.journey("gopher", "go", |project| {
        assert!(project.join("gopher.toml").exists());
        run(
            author
                .command("go", project)
                .args(["build", "-o", "gopher.wasm", "."])
                .env("GOOS", "wasip1")
                .env("GOARCH", "wasm")
                .env("CGO_ENABLED", "0")
                .env("GOCACHE", &gocache)
                .env("GOFLAGS", "-mod=mod")
                .env("GOPROXY", "off")
                .env("GOTOOLCHAIN", "local"),
            "GOOS=wasip1 GOARCH=wasm go build",
        );
        project.join("gopher.wasm")
    });
}
