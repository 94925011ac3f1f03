//! End-to-end sandbox tests: the real `gantry` binary runs hostile modules
//! (`tests/fixtures/hostile/*.wat`) and each must end with its specific one-line error
//! and exit code, within its deadline plus one second, without the host's memory
//! growing past a bound. Well-behaved controls show each refusal is the sandbox's doing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PLUGIN_LIMIT: i32 = 10;
const PLUGIN_FAULT: i32 = 11;

/// A private home for one test: cache, plugin and config directories, and compiled
/// fixtures.
struct Sandbox {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The `error:` line gantry printed, which must be the first line of its stderr.
    fn error_line(&self) -> &str {
        let line = self.stderr.lines().next().unwrap_or("");
        assert!(
            line.starts_with("error: "),
            "no error line in {:?}",
            self.stderr
        );
        line
    }
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Compiles `tests/fixtures/hostile/NAME.wat` to `NAME.wasm` in the sandbox.
    fn fixture(&self, name: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/hostile")
            .join(format!("{name}.wat"));
        let wasm = wat::parse_file(&source).expect("fixture compiles");
        let path = self.path(&format!("{name}.wasm"));
        std::fs::write(&path, wasm).expect("write fixture");
        path
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gantry"));
        cmd.env("GANTRY_CACHE_DIR", self.path("cache"))
            .env("GANTRY_PLUGIN_DIR", self.path("plugins"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("NO_COLOR", "1")
            .env_remove("GANTRY_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_cmd(self.command().args(args))
    }

    fn run_cmd(&self, cmd: &mut Command) -> Run {
        let started = Instant::now();
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("gantry runs");
        let elapsed = started.elapsed();
        check_host_memory();
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
        }
    }

    fn run_fixture(&self, name: &str, extra: &[&str]) -> Run {
        let wasm = self.fixture(name);
        let mut args = vec!["plugin", "run", wasm.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// The largest resident set any gantry child of this test process has had. The sandbox
/// allows 128 MiB of plugin memory; the host itself needs some tens of MiB.
#[cfg(target_os = "linux")]
fn check_host_memory() {
    const BOUND_KIB: libc::c_long = 400 * 1024;
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    assert!(
        usage.ru_maxrss < BOUND_KIB,
        "a gantry process peaked at {} KiB of RSS",
        usage.ru_maxrss
    );
}

#[cfg(not(target_os = "linux"))]
fn check_host_memory() {}

fn assert_within(run: &Run, limit: Duration) {
    assert!(
        run.elapsed < limit,
        "took {:?}, more than {limit:?}; stderr: {}",
        run.elapsed,
        run.stderr
    );
}

#[test]
fn a_well_behaved_module_runs_and_its_exit_code_passes_through() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("hello", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");
    let run = sb.run_fixture("hello", &["--", "7"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn memory_grow_loop_hits_the_memory_limit() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("memory_grow", &["--timeout", "5s"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line().starts_with(
            "error: plugin `memory_grow` hit its memory limit of 128 MiB (it asked for 128.1 MiB); raise it with --memory-mib or plugins.memory_mib"
        ),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(6));

    let run = sb.run_fixture("memory_grow", &["--memory-mib", "16"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line().contains("memory limit of 16 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_memory_cap_comes_from_the_config_file() {
    let sb = Sandbox::new();
    let config = sb.path("config.toml");
    std::fs::write(&config, "[plugins]\nmemory_mib = 8\n").unwrap();
    let wasm = sb.fixture("memory_grow");
    let run = sb.run(&[
        "--config",
        config.to_str().unwrap(),
        "plugin",
        "run",
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line().contains("memory limit of 8 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn two_gib_of_initial_memory_is_refused_before_allocation() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("initial_2gib", &[]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line().contains(
            "hit its memory limit of 128 MiB (it asked for 2048 MiB); raise it with --memory-mib"
        ),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(3));
}

#[test]
fn an_infinite_loop_ends_at_the_deadline() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("infinite_loop", &["--timeout", "2s"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `infinite_loop` hit its deadline of 2s; raise it with --timeout or plugins.timeout in the config"
    );
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);
    assert_within(&run, Duration::from_secs(3));
}

#[test]
fn a_plugin_blocked_in_a_host_call_is_abandoned_at_the_deadline() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("sleep_forever", &["--timeout", "1s"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line().contains("hit its deadline of 1s"),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(2));
}

#[test]
fn unbounded_recursion_exhausts_the_stack() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("recursion", &["--timeout", "5s"]);
    assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("error: plugin `recursion` trapped: call stack exhausted"),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(6));
}

#[test]
fn a_stdout_flood_is_cut_at_the_cap_and_streamed() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("stdout_flood", &["--timeout", "20s"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `stdout_flood` hit its stdout limit of 16 MiB; raise it with plugins.stdout_mib in the config"
    );
    assert_eq!(run.stdout.len(), 16 * 1024 * 1024);
    assert!(run.stdout.iter().all(|&b| b == b'x'));

    let config = sb.path("config.toml");
    std::fs::write(&config, "[plugins]\nstdout_mib = 1\n").unwrap();
    let wasm = sb.path("stdout_flood.wasm");
    let run = sb.run(&[
        "--config",
        config.to_str().unwrap(),
        "plugin",
        "run",
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert_eq!(run.stdout.len(), 1024 * 1024);
}

#[test]
fn stdout_is_streamed_while_the_plugin_runs() {
    use std::io::Read;
    let sb = Sandbox::new();
    let wasm = sb.fixture("stdout_flood");
    let mut child = sb
        .command()
        .args(["plugin", "run", wasm.to_str().unwrap(), "--timeout", "30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first bytes arrive long before the run could end: output is not held back.
    let mut first = [0u8; 4096];
    let started = Instant::now();
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(first.iter().all(|&b| b == b'x'));
    // With the pipe closed, the plugin's writes fail and it ends.
    let status = child.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn an_import_gantry_does_not_provide_is_named() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("missing_import", &[]);
    assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
    assert!(
        run.error_line().starts_with(
            "error: plugin `missing_import` imports `env::launch_missiles`, which gantry does not provide"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn traps_are_named() {
    let sb = Sandbox::new();
    let run = sb.run_fixture("div_by_zero", &[]);
    assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `div_by_zero` trapped: integer divide by zero"
    );
    let run = sb.run_fixture("unreachable", &[]);
    assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
    assert!(
        run.error_line().starts_with(
            "error: plugin `unreachable` trapped: wasm `unreachable` instruction executed"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn truncated_and_garbage_modules_are_refused() {
    let sb = Sandbox::new();
    let good = std::fs::read(sb.fixture("hello")).unwrap();
    let truncated = sb.path("truncated.wasm");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let garbage = sb.path("garbage.wasm");
    std::fs::write(&garbage, b"\x7fELF this is not wasm at all").unwrap();
    for path in [&truncated, &garbage] {
        let run = sb.run(&["plugin", "run", path.to_str().unwrap()]);
        assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
        let expected = format!(
            "error: {} is not a valid WebAssembly module: ",
            path.display()
        );
        assert!(run.error_line().starts_with(&expected), "{}", run.stderr);
    }
    let run = sb.run(&["plugin", "run", sb.path("missing.wasm").to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.error_line().contains("missing.wasm"), "{}", run.stderr);
}

/// WASI errno values (wasi_snapshot_preview1).
const EBADF: i32 = 8;
const ENOENT: i32 = 44;
const EPERM: i32 = 63;

#[test]
fn without_preopens_no_file_can_be_opened() {
    let sb = Sandbox::new();
    let secret = sb.path("secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    let run = sb.run_fixture("open_file", &["--", "r", secret.to_str().unwrap()]);
    assert_eq!(run.code, EBADF, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// `granted/` holds `inside.txt`, a symlink to `../secret.txt` and one to the
/// absolute path of the secret; `secret.txt` is beside it.
fn granted_dir(sb: &Sandbox) -> PathBuf {
    let granted = sb.path("granted");
    std::fs::create_dir_all(granted.join("sub")).unwrap();
    std::fs::write(granted.join("inside.txt"), "inside").unwrap();
    std::fs::write(sb.path("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../secret.txt", granted.join("up-link")).unwrap();
        std::os::unix::fs::symlink(sb.path("secret.txt"), granted.join("abs-link")).unwrap();
    }
    granted
}

#[test]
fn a_granted_directory_is_readable_but_cannot_be_escaped() {
    let sb = Sandbox::new();
    let granted = granted_dir(&sb);
    let grant = granted.to_str().unwrap();
    let read = |path: &str| sb.run_fixture("open_file", &["--grant-read", grant, "--", "r", path]);

    let run = read("inside.txt");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "inside");
    let run = read("sub/../inside.txt");
    assert_eq!(run.code, 0, "{}", run.stderr);

    for escape in [
        "../secret.txt",
        "sub/../../secret.txt",
        "../granted/../secret.txt",
    ] {
        let run = read(escape);
        assert_eq!(run.code, EPERM, "{escape}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{escape}");
    }
    #[cfg(unix)]
    for link in ["up-link", "abs-link"] {
        let run = read(link);
        assert_eq!(run.code, EPERM, "{link}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{link}");
    }
}

#[test]
fn a_read_only_grant_cannot_be_written() {
    let sb = Sandbox::new();
    let granted = granted_dir(&sb);
    let grant = granted.to_str().unwrap();
    for target in ["new.txt", "inside.txt"] {
        let run = sb.run_fixture("open_file", &["--grant-read", grant, "--", "w", target]);
        assert_eq!(run.code, EPERM, "{target}: {}", run.stderr);
    }
    assert!(!granted.join("new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(granted.join("inside.txt")).unwrap(),
        "inside"
    );
    let run = sb.run_fixture("open_file", &["--grant-read", grant, "--", "r", "nope.txt"]);
    assert_eq!(run.code, ENOENT, "{}", run.stderr);
}

#[test]
fn only_granted_environment_variables_are_visible() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("env_dump");
    let run = sb.run_cmd(
        sb.command()
            .args(["plugin", "run", wasm.to_str().unwrap()])
            .env("GANTRY_TEST_SECRET", "hunter2"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "", "the plugin saw host variables");

    let run = sb.run_cmd(
        sb.command()
            .args([
                "plugin",
                "run",
                wasm.to_str().unwrap(),
                "--env",
                "GANTRY_TEST_SECRET",
            ])
            .env("GANTRY_TEST_SECRET", "hunter2")
            .env("GANTRY_TEST_OTHER", "no"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "GANTRY_TEST_SECRET=hunter2\n");
}

#[test]
fn the_module_cache_survives_corruption() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("hello");
    let run = sb.run(&["plugin", "run", wasm.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let entries = cache_entries(&sb);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let damages: [fn(&mut Vec<u8>); 3] = [
        |e| e.truncate(e.len() / 3),
        |e| {
            let i = e.len() - 100;
            e[i] ^= 0x55;
        },
        |e| *e = b"not a cache entry".to_vec(),
    ];
    for damage in damages {
        let mut entry = std::fs::read(&entries[0]).unwrap();
        damage(&mut entry);
        std::fs::write(&entries[0], entry).unwrap();
        let run = sb.run(&["plugin", "run", wasm.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout_text(), "hello from wat\n");
        assert_eq!(
            cache_entries(&sb),
            entries,
            "the entry was rebuilt in place"
        );
    }
}

#[test]
fn concurrent_first_runs_share_the_cache_safely() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("hello");
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(sb.path("cache"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                sb.command()
                    .args(["plugin", "run", wasm.to_str().unwrap()])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, b"hello from wat\n");
        }
        assert_eq!(cache_entries(&sb).len(), 1);
    }
}

fn cache_entries(sb: &Sandbox) -> Vec<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(sb.path("cache/modules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_stops_the_plugin_with_130() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("infinite_loop");
    let child = sb
        .command()
        .args(["plugin", "run", wasm.to_str().unwrap(), "--timeout", "60s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends SIGINT to the child we spawned and have not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: plugin `infinite_loop` was interrupted"),
        "{stderr}"
    );
}

#[test]
fn install_needs_confirmation_then_runs_as_a_command() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("hello");
    std::fs::write(
        sb.path("hello.toml"),
        "name = \"wat-hello\"\nversion = \"0.2.0\"\napi = 1\n[provides]\ncommand = \"wat-hello\"\n",
    )
    .unwrap();
    let path = wasm.to_str().unwrap();
    let run = sb.run(&["plugin", "install", path]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.error_line().contains("needs confirmation"),
        "{}",
        run.stderr
    );

    let run = sb.run(&[
        "plugin",
        "install",
        path,
        "--sha256",
        &"ab".repeat(32),
        "-y",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.error_line().contains("checksum mismatch"),
        "{}",
        run.stderr
    );

    let run = sb.run(&["plugin", "install", path, "-y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sb.run(&["wat-hello", "5"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");

    let run = sb.run(&["-o", "json", "plugin", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(list["schema"], "gantry.plugin.list/v1");
    let names: Vec<_> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["source"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("wat-hello", "installed")), "{names:?}");
    assert!(names.contains(&("hello", "built-in")), "{names:?}");

    let run = sb.run(&["plugin", "remove", "wat-hello"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sb.run(&["wat-hello"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.error_line(), "error: unknown command `wat-hello`");
}

#[test]
fn the_built_in_hello_runs() {
    let sb = Sandbox::new();
    let run = sb.run(&["plugin", "run", "hello", "--", "world"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "Hello, world!\n");
    let run = sb.run(&["plugin", "run", "no-such-plugin"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: no installed or built-in plugin is named `no-such-plugin`"
    );
}
