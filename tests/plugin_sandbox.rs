//! End-to-end sandbox tests: the real `gantry` binary runs hostile modules
//! (`tests/fixtures/hostile/*.wat`) and each must end with its specific one-line error
//! and exit code, within its deadline plus one second, without the host's memory
//! growing past a bound. Well-behaved controls show each refusal is the sandbox's doing.

mod plugin_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use plugin_support::{big_data_module, leb128_into};

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
        plugin_support::gantry(self.dir.path())
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
    for code in [7, 42, 125] {
        let arg = code.to_string();
        let run = sb.run_fixture("hello", &["--", &arg]);
        assert_eq!(run.code, code, "{}", run.stderr);
        assert_eq!(run.stdout_text(), "hello from wat\n");
        assert_eq!(run.stderr, "");
    }
}

#[test]
fn a_plugin_exiting_with_a_code_gantry_reserves_exits_1_with_a_note() {
    let sb = Sandbox::new();
    for (code, meaning) in [
        (PLUGIN_LIMIT, "a sandbox limit"),
        (PLUGIN_FAULT, "a plugin fault"),
    ] {
        let arg = code.to_string();
        let run = sb.run_fixture("hello", &["--", &arg]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.stdout_text(), "hello from wat\n");
        assert_eq!(
            run.stderr,
            format!(
                "gantry: plugin 'hello' exited with {code}, which gantry reserves for {meaning}; exiting 1\n"
            )
        );
    }
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

/// `gantry plugin run WASM --timeout TIMEOUT` with its stdout to read as it comes.
fn spawn_with_piped_stdout(sb: &Sandbox, wasm: &Path, timeout: &str) -> std::process::Child {
    sb.command()
        .args([
            "plugin",
            "run",
            wasm.to_str().unwrap(),
            "--timeout",
            timeout,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn stdout_is_streamed_while_the_plugin_runs() {
    use std::io::Read;
    let sb = Sandbox::new();
    let wasm = sb.fixture("stdout_flood");
    let mut child = spawn_with_piped_stdout(&sb, &wasm, "30s");
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
fn output_written_before_a_block_reaches_the_user_at_once() {
    use std::io::{BufRead as _, BufReader};
    let sb = Sandbox::new();
    let wasm = sb.fixture("write_then_block");
    let mut child = spawn_with_piped_stdout(&sb, &wasm, "60s");
    let started = Instant::now();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The plugin is still blocked: what it wrote came through while it ran.
    let still_running = child.try_wait().unwrap().is_none();
    let waited = started.elapsed();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(line, "ready\n");
    assert!(still_running, "the plugin ended before its output arrived");
    assert!(waited < Duration::from_secs(30), "took {waited:?}");
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
    // A file that is not there, or not a file, is bad input (2), to run or to install.
    let missing = sb.path("missing.wasm");
    let folder = sb.path("folder.wasm");
    std::fs::create_dir(&folder).unwrap();
    for path in [&missing, &folder] {
        for command in ["run", "install"] {
            let run = sb.run(&["plugin", command, path.to_str().unwrap()]);
            assert_eq!(run.code, 2, "{command} {}: {}", path.display(), run.stderr);
            let expected = format!("error: reading {}: ", path.display());
            assert!(run.error_line().starts_with(&expected), "{}", run.stderr);
        }
    }
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

// ---------------------------------------------------------------------------------------
// A hostile plugin author's attempts to get what the user did not grant.
// ---------------------------------------------------------------------------------------

const USAGE: i32 = 2;
const INTERRUPTED: i32 = 130;

/// `wasm` with `manifest` appended as its `gantry-plugin` custom section.
fn with_manifest(mut wasm: Vec<u8>, manifest: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    leb128_into("gantry-plugin".len(), &mut payload);
    payload.extend_from_slice(b"gantry-plugin");
    payload.extend_from_slice(manifest.as_bytes());
    wasm.push(0);
    leb128_into(payload.len(), &mut wasm);
    wasm.extend_from_slice(&payload);
    wasm
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` holds a control character other than a newline, what a terminal would
/// act on, besides gantry's own colours (SGR sequences, `ESC [ ... m`). Error lines are
/// checked with `--color always`: otherwise anstream strips escape sequences from them
/// on a pipe, as it does not on a terminal.
fn has_controls(text: &str) -> bool {
    let mut rest = text;
    let mut unstyled = String::new();
    while let Some(at) = rest.find("\x1b[") {
        unstyled.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            rest = &after[end + 1..];
        } else {
            unstyled.push('\x1b');
            rest = &rest[at + 1..];
        }
    }
    unstyled.push_str(rest);
    unstyled.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn the_control_check_ignores_only_gantrys_colours() {
    assert!(!has_controls("\x1b[1m\x1b[31merror:\x1b[0m plain\n"));
    assert!(has_controls("\x1b[1merror:\x1b[0m \x1b[2K"));
    assert!(has_controls("a\x07"));
}

impl Sandbox {
    /// Writes `bytes` to `name` in the sandbox.
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("writing a sandbox file");
        path
    }

    /// Runs gantry with these variables set, as secrets in the user's environment.
    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        self.run_cmd(&mut cmd)
    }
}

const SECRETS: &[(&str, &str)] = &[
    ("GANTRY_TEST_SECRET", "hunter2"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
    ("GANTRY_TEST_OTHER", "other"),
];

const ASKS_FOR_SECRETS: &str = "name = \"env-dump\"\nversion = \"0.1.0\"\napi = 1\n\
    description = \"Prints the environment it is given\"\n\
    [provides]\ncommand = \"env-dump\"\n\
    [grants]\nenv = [\"GANTRY_TEST_SECRET\", \"AWS_SECRET_ACCESS_KEY\"]\n";

#[test]
fn a_manifest_asking_for_secrets_gets_only_what_the_user_grants() {
    let sb = Sandbox::new();
    let beside = sb.fixture("env_dump");
    sb.file("env_dump.toml", ASKS_FOR_SECRETS);
    let module = std::fs::read(&beside).unwrap();
    let embedded = sb.file("embedded.wasm", with_manifest(module, ASKS_FOR_SECRETS));
    for wasm in [&beside, &embedded] {
        let path = wasm.to_str().unwrap();
        let run = sb.run_with_env(&["plugin", "run", path], SECRETS);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout_text(), "", "a request alone granted variables");
        let run = sb.run_with_env(
            &["plugin", "run", path, "--env", "GANTRY_TEST_OTHER"],
            SECRETS,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout_text(), "GANTRY_TEST_OTHER=other\n");
        let run = sb.run_with_env(&["-o", "json", "plugin", "info", path], SECRETS);
        let info: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(info["env_grants"], serde_json::json!([]), "{info}");
        assert_eq!(
            info["env_requested"],
            serde_json::json!(["GANTRY_TEST_SECRET", "AWS_SECRET_ACCESS_KEY"])
        );
    }

    // Installed, it gets what the user accepted at install, and nothing else.
    let run = sb.run(&["plugin", "install", beside.to_str().unwrap(), "-y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sb.run_with_env(&["env-dump"], SECRETS);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout_text(),
        "GANTRY_TEST_SECRET=hunter2\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\n"
    );

    // Its manifest edited after install asks for more: it no longer runs at all.
    let installed = sb.path("plugins/env-dump/env-dump.toml");
    let more = ASKS_FOR_SECRETS.replace(
        "\"AWS_SECRET_ACCESS_KEY\"]",
        "\"AWS_SECRET_ACCESS_KEY\", \"GANTRY_TEST_OTHER\"]",
    );
    std::fs::write(&installed, more).unwrap();
    let run = sb.run_with_env(&["env-dump"], SECRETS);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.error_line().contains("is not as it was installed"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_checksum_pins_the_manifest_beside_the_module() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("hello");
    let module = std::fs::read(&wasm).unwrap();
    let reviewed = "name = \"pinned\"\nversion = \"0.1.0\"\napi = 1\n";
    sb.file("hello.toml", reviewed);
    let pin = sha256_hex(&[&module, reviewed.as_bytes()]);
    let path = wasm.to_str().unwrap();
    let run = sb.run(&["-o", "json", "plugin", "info", path]);
    let info: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(info["sha256"], pin.as_str(), "{info}");

    // The manifest is edited after the checksums were published.
    let edited = format!("{reviewed}[grants]\nenv = [\"GANTRY_TEST_SECRET\"]\n");
    sb.file("hello.toml", &edited);
    for published in [sha256_hex(&[&module]), pin] {
        let run = sb.run(&["plugin", "install", path, "--sha256", &published, "-y"]);
        assert_eq!(run.code, USAGE, "{}", run.stderr);
        assert!(
            run.error_line().contains("checksum mismatch"),
            "{}",
            run.stderr
        );
        assert!(!sb.path("plugins/pinned").exists());
    }
    let run = sb.run(&[
        "plugin",
        "install",
        path,
        "--sha256",
        &sha256_hex(&[&module, edited.as_bytes()]),
        "-y",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn text_from_a_plugin_reaches_the_terminal_escaped() {
    let sb = Sandbox::new();
    // An import named with escape sequences.
    let wasm = sb.fixture("import_escape");
    let run = sb.run(&["--color", "always", "plugin", "run", wasm.to_str().unwrap()]);
    assert_eq!(run.code, PLUGIN_FAULT, "{}", run.stderr);
    assert!(!has_controls(&run.stderr), "{:?}", run.stderr);
    assert!(
        run.stderr
            .contains(r"imports `\u{1b}[2K\u{1b}[1A::\u{1b}]0;all good\u{7}`"),
        "{}",
        run.stderr
    );

    // Manifests whose keys, description or grant names carry escape sequences: the
    // description would erase the line above it and claim there are no env grants.
    let hello = std::fs::read(sb.fixture("hello")).unwrap();
    let hostile = [
        "\"\\u001b[2K\\u001b[1A\" = 1\n",
        "description = \"\\u001b[1A\\u001b[2Kenv grants:   none\"\n",
        "description = \"fine\\r\\u009b2K\"\n",
        "[grants]\nenv = [\"HOME\\u001b[2K\"]\n",
        "[grants]\nenv = [\"HOME\", \"A-B\"]\n",
    ];
    for (i, extra) in hostile.iter().enumerate() {
        let manifest = format!("name = \"sly\"\nversion = \"0.1.0\"\napi = 1\n{extra}");
        let wasm = sb.file(
            &format!("sly{i}.wasm"),
            with_manifest(hello.clone(), &manifest),
        );
        let path = wasm.to_str().unwrap();
        for args in [
            vec!["--color", "always", "plugin", "info", path],
            vec!["--color", "always", "plugin", "run", path],
            vec!["--color", "always", "plugin", "install", path, "-y"],
        ] {
            let run = sb.run(&args);
            assert_eq!(run.code, USAGE, "{extra}: {args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains("invalid plugin manifest"),
                "{}",
                run.stderr
            );
            let all = format!("{}{}", run.stdout_text(), run.stderr);
            assert!(!has_controls(&all), "{extra}: {all:?}");
        }
    }
    let long = format!("description = \"{}\"\n", "d".repeat(201));
    let manifest = format!("name = \"sly\"\nversion = \"0.1.0\"\napi = 1\n{long}");
    let wasm = sb.file("long.wasm", with_manifest(hello.clone(), &manifest));
    let run = sb.run(&["plugin", "info", wasm.to_str().unwrap()]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(run.error_line().contains("at most 200"), "{}", run.stderr);
}

#[test]
fn a_hook_error_message_is_escaped() {
    let sb = Sandbox::new();
    let wasm = std::fs::read(sb.fixture("hook_error_escape")).unwrap();
    let host = gantry_plugins::Host::new(None).unwrap();
    let plugin = host
        .load_bytes(
            &wasm,
            gantry_plugins::Origin::BuiltIn("hook-error-escape".into()),
        )
        .unwrap();
    let err = host
        .call_hook(
            &plugin,
            "scale.forecast",
            serde_json::json!({}),
            &gantry_plugins::RunOptions::default(),
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(!has_controls(&text), "{text:?}");
    assert!(
        text.ends_with(r"failed hook `scale.forecast`: \u{1b}[2J\u{1b}[Hforecast ok: scale to 0"),
        "{text}"
    );
}

#[test]
fn an_onnx_operator_name_is_escaped() {
    let sb = Sandbox::new();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/onnx/unsupported-op.onnx");
    let model = std::fs::read(fixture).unwrap();
    // Same length as the operator it replaces, so the protobuf stays valid.
    let name = b"TreeEnsembleRegressor";
    let hostile = b"\x1b[2K\x1b]0;hi\x07\x1b[1Aok!!!!";
    assert_eq!(name.len(), hostile.len());
    let at = model
        .windows(name.len())
        .position(|w| w == name)
        .expect("the fixture names its operator");
    let mut patched = model.clone();
    patched[at..at + name.len()].copy_from_slice(hostile);
    let model = sb.file("hostile-op.onnx", patched);
    let input = sb.file("input.json", r#"{"x":[[1,2]]}"#);
    let run = sb.run(&[
        "--color",
        "always",
        "infer",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(!has_controls(&run.stderr), "{:?}", run.stderr);
    assert!(run.stderr.contains(r"\u{1b}[2K"), "{}", run.stderr);
}

/// `gantry infer` on the MLP fixture with `rows` input rows: a run long enough (the
/// guest parses and multiplies them) to be interrupted while it holds the model grant.
#[cfg(target_os = "linux")]
fn long_inference(sb: &Sandbox, rows: usize) -> (PathBuf, PathBuf) {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/onnx/mlp.onnx");
    let row = "[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]";
    let input = format!("{{\"x\":[{}]}}", vec![row; rows].join(","));
    (model, sb.file("rows.json", input))
}

#[cfg(target_os = "linux")]
#[test]
fn a_model_grant_is_private_and_gone_when_a_signal_stops_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let (model, input) = long_inference(&sb, 200_000);
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let tmp = sb.path(&format!("tmp-{signal}"));
        std::fs::create_dir_all(&tmp).unwrap();
        let child = sb
            .command()
            .args([
                "infer",
                model.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
            ])
            .args(["--timeout", "60s"])
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let grant = loop {
            let found = std::fs::read_dir(&tmp)
                .unwrap()
                .filter_map(Result::ok)
                .find(|e| e.file_name().to_string_lossy().starts_with("gantry-grant-"));
            if let Some(found) = found {
                break found.path();
            }
            // The first run compiles the inference guest into the module cache first:
            // tens of seconds of CPU, more on a busy machine.
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "no grant directory appeared"
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        let mode = std::fs::metadata(&grant).map(|m| m.permissions().mode() & 0o777);
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: signals the child we spawned and have not yet waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            mode.ok(),
            Some(0o700),
            "the model's directory is readable by others"
        );
        assert_eq!(
            out.status.code(),
            Some(INTERRUPTED),
            "signal {signal}: {stderr}"
        );
        assert!(stderr.contains("was interrupted"), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "signal {signal} left {left:?}");
    }
}

/// The cache entry `planted.wat` compiles to, re-headed and renamed as the entry of
/// `victim` (what anyone able to write the cache folder could do), in `sb`'s cache.
fn plant_entry(sb: &Sandbox, victim: &Path) -> PathBuf {
    let attacker = Sandbox::new();
    let planted = attacker.fixture("planted");
    let run = attacker.run(&["plugin", "run", planted.to_str().unwrap()]);
    assert_eq!(run.stdout_text(), "planted code ran\n");
    let compiled = cache_entries(&attacker).pop().expect("an entry");
    let mut entry = std::fs::read(&compiled).unwrap();
    let victim_sha = sha256_hex(&[&std::fs::read(victim).unwrap()]);
    let victim_bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&victim_sha[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // magic (16) | payload length (8) | module hash (32) | payload hash (32) | payload
    entry[24..56].copy_from_slice(&victim_bytes);
    let name = compiled.file_name().unwrap().to_str().unwrap();
    let fingerprint = name.split_once('-').unwrap().1;
    let dir = sb.path("cache/modules");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{victim_sha}-{fingerprint}"));
    std::fs::write(&path, entry).unwrap();
    path
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn machine_code_planted_in_the_cache_by_someone_else_never_runs() {
    let sb = Sandbox::new();
    let victim = sb.fixture("hello");
    let run_victim = || sb.run(&["plugin", "run", victim.to_str().unwrap()]);

    // The control: in a private folder, as the user's own file, the forged entry loads.
    // Only the owner and mode rule stands between another user and this.
    let entry = plant_entry(&sb, &victim);
    chmod(entry.parent().unwrap(), 0o700);
    chmod(&entry, 0o600);
    assert_eq!(run_victim().stdout_text(), "planted code ran\n");

    // A folder that others can write: not read, not written, one warning.
    chmod(entry.parent().unwrap(), 0o777);
    let run = run_victim();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");
    let warning = run.stderr.lines().next().unwrap_or("");
    assert!(
        warning.starts_with("warning: the module cache ")
            && warning.contains("can be written by other users")
            && warning.contains("compiles plugins in memory"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        std::fs::read(&entry)
            .unwrap()
            .windows(7)
            .any(|w| w == b"planted")
    );

    // An entry someone else owns (or may write) in a private folder: rebuilt.
    chmod(entry.parent().unwrap(), 0o700);
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    } else {
        chmod(&entry, 0o666);
    }
    let run = run_victim();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");
    assert_eq!(run.stderr, "");
    let run = run_victim();
    assert_eq!(
        run.stdout_text(),
        "hello from wat\n",
        "the rebuilt entry is the real one"
    );
}

/// A module that Cranelift takes many seconds to compile while it is small on disk:
/// `locals` locals, all live to the end, read and written across `blocks` blocks, each
/// with a branch out; register allocation's liveness work grows with their product. With
/// 100 and 50,000 (733 KiB of wasm) it compiles in 13 s on a 2-core x86_64 machine.
///
/// Compiling holds more memory as it goes, bounded by the deadline alone: with these
/// numbers about 160 MiB after 1 s and 560 MiB at the end. Few locals and many blocks
/// grow it slowest: 1000 and 5000 held 360 to 540 MiB after 1 s on a fast machine.
fn slow_to_compile(locals: usize, blocks: usize) -> String {
    let mut wat = String::from(
        ";; generated by tests/plugin_sandbox.rs\n(module\n  (memory (export \"memory\") 1)\n  (func (export \"_start\")\n    (local",
    );
    wat.push_str(&" i64".repeat(locals));
    wat.push_str(")\n");
    for i in 0..blocks {
        let (a, b, c) = (i % locals, (i * 7 + 3) % locals, (i * 13 + 5) % locals);
        wat.push_str(&format!(
            "    (block (br_if 0 (i32.wrap_i64 (local.get {a}))) (local.set {c} (i64.add (local.get {a}) (local.get {b}))))\n"
        ));
    }
    for i in 0..locals {
        wat.push_str(&format!("    (local.get {i})\n"));
    }
    wat.push_str(&"    (i64.add)\n".repeat(locals - 1));
    wat.push_str("    (drop)))\n");
    wat
}

#[test]
fn compiling_is_bounded_by_the_deadline() {
    let sb = Sandbox::new();
    let wasm = sb.file(
        "slow_compile.wasm",
        wat::parse_str(slow_to_compile(100, 50_000)).unwrap(),
    );
    let path = wasm.to_str().unwrap();
    let run = sb.run(&["plugin", "run", path, "--timeout", "1s"]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `slow_compile` hit its deadline of 1s while being compiled; raise it with --timeout or plugins.timeout in the config"
    );
    assert_within(&run, Duration::from_secs(3));

    // `plugin info` and `plugin install` compile too, under the configured deadline.
    let config = sb.file("config.toml", "[plugins]\ntimeout = \"1s\"\n");
    let manifest = "name = \"slow\"\nversion = \"0.1.0\"\napi = 1\n";
    sb.file("slow_compile.toml", manifest);
    for command in [&["info", path][..], &["install", path, "-y"][..]] {
        let mut args = vec!["--config", config.to_str().unwrap(), "plugin"];
        args.extend_from_slice(command);
        let run = sb.run(&args);
        assert_eq!(run.code, PLUGIN_LIMIT, "{command:?}: {}", run.stderr);
        assert!(
            run.error_line().contains("while being compiled"),
            "{}",
            run.stderr
        );
        assert_within(&run, Duration::from_secs(3));
    }
}

/// A small module that a compiler needs gigabytes for (3 GiB within 10 s on a 2-core
/// machine): compiling it stops at the compile memory limit, well before the deadline.
#[cfg(target_os = "linux")]
#[test]
fn compiling_is_bounded_by_the_compile_memory_limit() {
    let sb = Sandbox::new();
    let wasm = sb.file(
        "greedy_compile.wasm",
        wat::parse_str(slow_to_compile(3000, 15_000)).unwrap(),
    );
    let config = sb.file("config.toml", "[plugins]\ncompile_mib = 128\n");
    let (config, path) = (config.to_str().unwrap(), wasm.to_str().unwrap());
    let run = sb.run(&[
        "--config",
        config,
        "plugin",
        "run",
        path,
        "--timeout",
        "60s",
    ]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `greedy_compile` hit its compile memory limit of 128 MiB while being compiled; raise it with plugins.compile_mib in the config"
    );
    assert_within(&run, Duration::from_secs(10));
}

#[test]
fn huge_modules_and_data_are_refused_before_they_cost_memory() {
    let sb = Sandbox::new();
    let wasm = sb.path("big.wasm");
    big_data_module(&wasm, 80, "");
    let path = wasm.to_str().unwrap();
    let run = sb.run(&["plugin", "run", path]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("error: plugin `big` hit its module size limit of 64 MiB (the module has 80.0 MiB); raise it with plugins.module_mib"),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(2));

    // Allowed in size, its data cannot fit in the memory limit: refused before
    // compiling, which would hold the data twice more.
    let config = sb.file("config.toml", "[plugins]\nmodule_mib = 100\n");
    let run = sb.run(&[
        "--config",
        config.to_str().unwrap(),
        "plugin",
        "run",
        path,
        "--memory-mib",
        "32",
    ]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line()
            .contains("hit its memory limit of 32 MiB (it asked for 80.0 MiB)"),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(3));

    // 400 MiB of data under the default 128 MiB memory limit: refused from its section
    // headers, before the file is read (reading it would cost 400 MiB, over 2x the
    // limit; `run` checks every gantry's peak RSS).
    let huge = sb.path("huge.wasm");
    big_data_module(&huge, 400, "");
    let config = sb.file("config.toml", "[plugins]\nmodule_mib = 512\n");
    let run = sb.run(&[
        "--config",
        config.to_str().unwrap(),
        "plugin",
        "run",
        huge.to_str().unwrap(),
    ]);
    assert_eq!(run.code, PLUGIN_LIMIT, "{}", run.stderr);
    assert!(
        run.error_line()
            .contains("hit its memory limit of 128 MiB (it asked for 400.0 MiB)"),
        "{}",
        run.stderr
    );
    assert_within(&run, Duration::from_secs(2));
}

#[cfg(target_os = "linux")]
#[test]
fn a_reader_that_stops_reading_suspends_neither_the_deadline_nor_ctrl_c() {
    let sb = Sandbox::new();
    let wasm = sb.fixture("stdout_flood");
    for (signal, timeout, expected) in [
        (None, "1s", PLUGIN_LIMIT),
        (Some(libc::SIGINT), "60s", INTERRUPTED),
    ] {
        let mut child = spawn_with_piped_stdout(&sb, &wasm, timeout);
        // Read a little, then stop reading while keeping the pipe open: the plugin's
        // next writes block once the pipe's buffer is full.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 4096];
        std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        if let Some(signal) = signal {
            let pid = libc::pid_t::try_from(child.id()).unwrap();
            // SAFETY: signals the child we spawned and have not yet waited for.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        }
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdout);
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(expected),
            "a blocked write held gantry"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[test]
fn names_cannot_be_taken_over() {
    let sb = Sandbox::new();
    let hello = std::fs::read(sb.fixture("hello")).unwrap();
    let install = |file: &str, name: &str, command: &str, extra: &[&str]| {
        let manifest = format!(
            "name = \"{name}\"\nversion = \"0.1.0\"\napi = 1\n[provides]\ncommand = \"{command}\"\n"
        );
        let wasm = sb.file(file, with_manifest(hello.clone(), &manifest));
        let mut args = vec!["plugin", "install", wasm.to_str().unwrap(), "-y"];
        args.extend_from_slice(extra);
        sb.run(&args)
    };
    for (name, command, taken) in [
        ("hello", "greet", "name `hello` is a built-in plugin"),
        (
            "inference",
            "infer2",
            "name `inference` is a built-in plugin",
        ),
        ("forecast", "fc", "name `forecast` is a gantry command"),
        ("mine", "scale", "command `scale` is a gantry command"),
        ("mine", "profile", "command `profile` is a gantry command"),
        ("mine", "hello", "command `hello` is a built-in plugin"),
    ] {
        let run = install("x.wasm", name, command, &["--replace"]);
        assert_eq!(run.code, USAGE, "{name}/{command}: {}", run.stderr);
        assert!(run.error_line().contains(taken), "{}", run.stderr);
    }
    let run = sb.run(&["plugin", "run", "hello", "--", "world"]);
    assert_eq!(run.stdout_text(), "Hello, world!\n");

    let run = install("a.wasm", "first", "do-it", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = install("b.wasm", "first", "do-it", &[]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "error: plugin `first` is already installed (version 0.1.0); pass --replace to replace it"
    );
    let run = install("b.wasm", "first", "do-it", &["--replace"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = install("c.wasm", "second", "do-it", &["--replace"]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(
        run.error_line()
            .contains("command `do-it` is provided by the installed plugin `first`"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["do-it"]);
    assert_eq!(run.stdout_text(), "hello from wat\n");
}

/// A loopback HTTP server for `plugin install URL`: the first path segment picks how it
/// answers. It stops when dropped.
struct PluginServer {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl PluginServer {
    fn start(module: Vec<u8>, manifest: &'static str) -> PluginServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let module = std::sync::Arc::new(module);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let module = module.clone();
                std::thread::spawn(move || serve_plugin(conn, &module, manifest));
            }
        });
        PluginServer { addr, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for PluginServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_plugin(mut conn: std::net::TcpStream, module: &[u8], manifest: &str) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let (route, file) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    let head = |status: &str, length: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
    };
    let body: &[u8] = if file.ends_with(".toml") {
        manifest.as_bytes()
    } else {
        module
    };
    let _ = match (route, file.ends_with(".toml")) {
        ("ok" | "slow", true) => {
            conn.write_all(format!("{}{manifest}", head("200 OK", manifest.len())).as_bytes())
        }
        ("ok", false) => conn
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| conn.write_all(body)),
        ("slow", false) => {
            // The body in four parts over about a second.
            let result = conn.write_all(head("200 OK", body.len()).as_bytes());
            for part in body.chunks(body.len().div_ceil(4)) {
                std::thread::sleep(Duration::from_millis(250));
                let _ = conn.write_all(part).and_then(|()| conn.flush());
            }
            result
        }
        ("short", false) => conn
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| conn.write_all(&body[..body.len() / 2])),
        ("huge", false) => conn
            .write_all(head("200 OK", 3 << 20).as_bytes())
            .and_then(|()| conn.write_all(&vec![0u8; 3 << 20])),
        ("broken", _) => conn.write_all(head("500 Internal Server Error", 0).as_bytes()),
        _ => conn.write_all(head("404 Not Found", 0).as_bytes()),
    };
}

#[test]
fn install_from_a_url_checks_like_a_file_and_leaves_nothing_on_failure() {
    let sb = Sandbox::new();
    let module = std::fs::read(sb.fixture("hello")).unwrap();
    let manifest =
        "name = \"web-hello\"\nversion = \"0.3.0\"\napi = 1\n[provides]\ncommand = \"web-hello\"\n";
    let server = PluginServer::start(module.clone(), manifest);
    std::fs::create_dir_all(sb.path("tmp")).unwrap();
    let install = |url: &str, extra: &[&str]| {
        let mut cmd = sb.command();
        cmd.env("TMPDIR", sb.path("tmp"))
            .args(["plugin", "install", url, "-y"])
            .args(extra);
        sb.run_cmd(&mut cmd)
    };
    let nothing_left = || {
        assert!(!sb.path("plugins/web-hello").exists(), "installed anyway");
        let left: Vec<_> = std::fs::read_dir(sb.path("tmp")).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    };

    // Each failure says what went wrong, in the user's terms, and installs nothing.
    let failures: [(&str, &[&str], i32, &str); 5] = [
        (
            "/missing/hello.wasm",
            &[],
            1,
            "the server answered 404 (Not Found)",
        ),
        (
            "/broken/hello.wasm",
            &[],
            1,
            "the server answered 500 (Internal Server Error)",
        ),
        ("/short/hello.wasm", &[], 1, "the response broke off"),
        (
            "/ok/hello.wasm",
            &["--sha256", &"ab".repeat(32)],
            USAGE,
            "checksum mismatch",
        ),
        (
            "/huge/hello.wasm",
            &[],
            PLUGIN_LIMIT,
            "hit its module size limit of 1 MiB (the module has 3 MiB)",
        ),
    ];
    for (path, extra, code, message) in failures {
        let url = server.url(path);
        let mut extra = extra.to_vec();
        let config;
        if path.starts_with("/huge") {
            config = sb.file("small.toml", "[plugins]\nmodule_mib = 1\n");
            extra.extend(["--config", config.to_str().unwrap()]);
        }
        let run = install(&url, &extra);
        assert_eq!(run.code, code, "{path}: {}", run.stderr);
        assert!(run.error_line().contains(message), "{path}: {}", run.stderr);
        nothing_left();
    }

    // A slow server is waited for, and the plugin then runs as an installed command.
    let pin = sha256_hex(&[&module, manifest.as_bytes()]);
    let run = install(&server.url("/slow/hello.wasm"), &["--sha256", &pin]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sb.run(&["web-hello", "5"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(run.stdout_text(), "hello from wat\n");
    let left: Vec<_> = std::fs::read_dir(sb.path("tmp")).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
