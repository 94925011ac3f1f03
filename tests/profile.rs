//! End-to-end tests of `gantry profile` against a real Go service (`tests/pprof-server`,
//! built with the machine's Go toolchain) and, for numbers, against `go tool pprof` run
//! on the same saved profile files.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

const GANTRY: &str = env!("CARGO_BIN_EXE_gantry");

/// Builds the Go service once per test run, into the target's temporary directory.
fn server_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pprof-server");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pprof-server");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .env("GOFLAGS", "-mod=mod")
            .status()
            .expect("the Go toolchain (`go`) must be on PATH for the profile tests");
        assert!(status.success(), "go build of tests/pprof-server failed");
        out
    })
}

/// The running Go service; killed when dropped, also when a test fails.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(server_binary())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pprof-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read pprof-server's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gantry(args: &[&str]) -> Output {
    Command::new(GANTRY)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run gantry")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn save(server: &Server, kind: &str, seconds: Option<u64>, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut args = vec![
        "profile".to_string(),
        "save".into(),
        server.url(),
        "--type".into(),
        kind.into(),
        "-O".into(),
        path.display().to_string(),
    ];
    if let Some(s) = seconds {
        args.extend(["--seconds".into(), s.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_exit(&gantry(&args), 0);
    path
}

/// What `go tool pprof -top` printed, as numbers (values in `unit`, exactly).
#[derive(Debug)]
struct PprofTop {
    lines: Vec<String>,
    shown: i64,
    total: i64,
    dropped: usize,
    rows: Vec<(String, i64, i64)>,
}

fn number(token: &str) -> i64 {
    let digits = token.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not an exact number: {token:?}"))
}

fn go_pprof(file: &Path, extra: &[&str]) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-symbolize=none"])
        .args(extra)
        .arg(file)
        .output()
        .expect("run go tool pprof");
    assert!(out.status.success(), "go tool pprof: {}", text(&out.stderr));
    text(&out.stdout)
}

fn go_top(file: &Path, unit: &str, extra: &[&str]) -> PprofTop {
    let unit_flag = format!("-unit={unit}");
    let mut args = vec![unit_flag.as_str()];
    args.extend(extra);
    let stdout = go_pprof(file, &args);
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let showing = lines
        .iter()
        .find(|l| l.starts_with("Showing nodes accounting for"))
        .expect("Showing line");
    // "Showing nodes accounting for X, Y% of Z total"
    let rest = showing.trim_start_matches("Showing nodes accounting for ");
    let (shown, rest) = rest.split_once(", ").expect("comma");
    let total = rest
        .split(" of ")
        .nth(1)
        .and_then(|t| t.strip_suffix(" total"))
        .expect("total");
    let dropped = lines
        .iter()
        .find_map(|l| l.strip_prefix("Dropped "))
        .and_then(|l| l.split(' ').next())
        .map_or(0, |n| n.parse().expect("dropped count"));
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("flat  flat%"))
        .expect("column header");
    let rows = lines[header + 1..]
        .iter()
        .map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            (t[5].to_string(), number(t[0]), number(t[3]))
        })
        .collect();
    let (shown, total) = (number(shown), number(total));
    PprofTop {
        lines,
        shown,
        total,
        dropped,
        rows,
    }
}

fn gantry_top(file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["-o", "json", "profile", "top"];
    let file = file.display().to_string();
    args.push(&file);
    args.extend(extra);
    let out = gantry(&args);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).expect("top JSON")
}

/// Checks gantry's top against go tool pprof's on the same file, number for number.
#[track_caller]
fn assert_same_top(file: &Path, gantry_args: &[&str], pprof_args: &[&str]) -> Value {
    let ours = gantry_top(file, gantry_args);
    let unit = match ours["sample_unit"].as_str().unwrap() {
        "nanoseconds" => "ns",
        "bytes" => "B",
        _ => "count",
    };
    let theirs = go_top(file, unit, pprof_args);
    assert_eq!(ours["total"].as_i64().unwrap(), theirs.total, "total");
    assert_eq!(ours["shown"].as_i64().unwrap(), theirs.shown, "shown");
    assert_eq!(
        ours["dropped_nodes"].as_u64().unwrap() as usize,
        theirs.dropped,
        "dropped nodes"
    );
    let rows: Vec<(String, i64, i64)> = ours["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["flat"].as_i64().unwrap(),
                r["cum"].as_i64().unwrap(),
            )
        })
        .collect();
    let as_map = |rows: &[(String, i64, i64)]| -> BTreeMap<String, (i64, i64)> {
        rows.iter().map(|(n, f, c)| (n.clone(), (*f, *c))).collect()
    };
    assert_eq!(
        as_map(&rows),
        as_map(&theirs.rows),
        "per-function flat and cum differ; go tool pprof printed:\n{}",
        theirs.lines.join("\n")
    );
    // Same order, except among rows whose sort keys tie.
    let key = |r: &(String, i64, i64)| (r.1.abs(), r.2.abs());
    let ours_keys: Vec<_> = rows.iter().map(key).collect();
    let theirs_keys: Vec<_> = theirs.rows.iter().map(key).collect();
    assert_eq!(ours_keys, theirs_keys, "row order");
    assert!(!rows.is_empty(), "no rows");
    ours
}

#[test]
fn cpu_top_matches_go_tool_pprof() {
    let server = Server::start(&["-burn"]);
    let dir = tempfile::tempdir().unwrap();
    let cpu = save(&server, "cpu", Some(2), dir.path(), "cpu.pb.gz");
    let report = assert_same_top(&cpu, &["--nodecount", "12"], &["-nodecount=12"]);
    assert_eq!(report["schema"], "gantry.profile.top/v1");
    assert_eq!(report["sample_type"], "cpu");
    let names: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"main.hotFib"), "{names:?}");
    assert_same_top(&cpu, &[], &[]);
    assert_same_top(
        &cpu,
        &["--cum", "--nodecount", "8"],
        &["-cum", "-nodecount=8"],
    );
    assert_same_top(
        &cpu,
        &["--sample-index", "samples"],
        &["-sample_index=samples"],
    );

    // The table as pprof prints it, but for the local time and the inlining labels.
    let ours = gantry(&[
        "profile",
        "top",
        &cpu.display().to_string(),
        "--nodecount",
        "10",
    ]);
    assert_exit(&ours, 0);
    let theirs = go_pprof(&cpu, &["-nodecount=10"]);
    let keep = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("Time:"))
            .map(|l| {
                l.trim_end_matches(" (inline)")
                    .trim_end_matches(" (partial-inline)")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(keep(&text(&ours.stdout)), keep(&theirs));
}

#[test]
fn heap_top_matches_go_tool_pprof_for_every_sample_type() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let heap = save(&server, "heap", None, dir.path(), "heap.pb.gz");
    let default = assert_same_top(&heap, &[], &[]);
    assert_eq!(default["sample_type"], "inuse_space");
    for index in [
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
        "0",
        "1",
    ] {
        let report = assert_same_top(
            &heap,
            &["--sample-index", index, "--nodecount", "15"],
            &[&format!("-sample_index={index}"), "-nodecount=15"],
        );
        if index == "inuse_space" {
            let names = report["rows"].to_string();
            assert!(names.contains("main.retainLarge"), "{names}");
        }
    }
    // Allocs is the same data with alloc_space as its default sample type.
    let allocs = save(&server, "allocs", None, dir.path(), "allocs.pb.gz");
    assert_eq!(
        assert_same_top(&allocs, &[], &[])["sample_type"],
        "alloc_space"
    );
}

#[test]
fn goroutine_block_and_mutex_top_match_go_tool_pprof() {
    let server = Server::start(&["-leak"]);
    let dir = tempfile::tempdir().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let goroutine = save(&server, "goroutine", None, dir.path(), "goroutine.pb.gz");
    let report = assert_same_top(&goroutine, &[], &[]);
    assert!(report["rows"].to_string().contains("main.blockedForever"));
    for kind in ["block", "mutex"] {
        let file = save(&server, kind, None, dir.path(), &format!("{kind}.pb.gz"));
        assert_same_top(&file, &[], &[]);
    }
}

#[test]
fn diff_with_base_matches_go_tool_pprof_diff_base() {
    let server = Server::start(&["-burn"]);
    let dir = tempfile::tempdir().unwrap();
    let base = save(&server, "cpu", Some(1), dir.path(), "base.pb.gz");
    let cpu = save(&server, "cpu", Some(2), dir.path(), "cpu.pb.gz");
    let base_arg = base.display().to_string();
    let report = assert_same_top(
        &cpu,
        &["--base", &base_arg],
        &[&format!("-diff_base={base_arg}")],
    );
    assert_eq!(report["diff"], true);
    assert_same_top(
        &cpu,
        &["--base", &base_arg, "--nodecount", "5", "--cum"],
        &[&format!("-diff_base={base_arg}"), "-nodecount=5", "-cum"],
    );
}

#[test]
fn collapse_flamegraph_and_stdin() {
    let server = Server::start(&["-burn"]);
    let dir = tempfile::tempdir().unwrap();
    let cpu = save(&server, "cpu", Some(1), dir.path(), "cpu.pb.gz");
    let cpu_arg = cpu.display().to_string();

    let out = gantry(&["profile", "collapse", &cpu_arg]);
    assert_exit(&out, 0);
    let folded = text(&out.stdout);
    let mut sum = 0i64;
    for line in folded.lines() {
        let (stack, value) = line.rsplit_once(' ').expect("STACK VALUE");
        assert!(!stack.is_empty());
        sum += value.parse::<i64>().expect("value");
    }
    let top = gantry_top(&cpu, &[]);
    assert_eq!(
        sum,
        top["total"].as_i64().unwrap(),
        "folded values add up to the total"
    );
    assert!(folded.contains(";main.hotFib"), "{folded}");

    let svg = dir.path().join("cpu.svg");
    let out = gantry(&[
        "profile",
        "flamegraph",
        &cpu_arg,
        "-O",
        &svg.display().to_string(),
    ]);
    assert_exit(&out, 0);
    assert_valid_svg(&svg, "main.hotFib");

    let base = save(&server, "cpu", Some(1), dir.path(), "base.pb.gz");
    let diff_svg = dir.path().join("diff.svg");
    let out = gantry(&[
        "profile",
        "flamegraph",
        &cpu_arg,
        "--base",
        &base.display().to_string(),
        "-O",
        &diff_svg.display().to_string(),
    ]);
    assert_exit(&out, 0);
    assert_valid_svg(&diff_svg, "main.hotFib");

    // The same profile through standard input gives the same report.
    let mut child = Command::new(GANTRY)
        .args(["-o", "json", "profile", "top", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&cpu).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin["rows"], top["rows"]);
}

#[track_caller]
fn assert_valid_svg(path: &Path, must_mention: &str) {
    let svg = std::fs::read_to_string(path).expect("SVG written");
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut root = None;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) if root.is_none() => {
                root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{} is not well-formed XML: {e}", path.display()),
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    assert!(
        svg.contains(must_mention),
        "{} lacks {must_mention}",
        path.display()
    );
}

#[test]
fn leaks_found_when_leaking_and_not_otherwise() {
    let leaking = Server::start(&["-leak"]);
    let out = gantry(&[
        "profile",
        "leaks",
        &leaking.url(),
        "--interval",
        "400ms",
        "--samples",
        "3",
    ]);
    assert_exit(&out, 5);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("main.blockedForever"), "{stdout}");

    let out = gantry(&[
        "-o",
        "json",
        "profile",
        "leaks",
        &leaking.url(),
        "--interval",
        "300ms",
        "--samples",
        "3",
    ]);
    assert_exit(&out, 5);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "gantry.profile.leaks/v1");
    let leak = &report["leaks"][0];
    assert_eq!(leak["function"], "main.blockedForever");
    let counts: Vec<i64> = leak["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");

    let quiet = Server::start(&[]);
    let out = gantry(&[
        "profile",
        "leaks",
        &quiet.url(),
        "--interval",
        "300ms",
        "--samples",
        "3",
    ]);
    assert_exit(&out, 0);
}

#[test]
fn protected_endpoints_need_the_token() {
    let server = Server::start(&[]);
    let url = format!("{}/private/debug/pprof/heap", server.url());
    let out = gantry(&["profile", "top", &url]);
    assert_exit(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("--token"),
        "{stderr}"
    );
    assert_exit(&gantry(&["profile", "top", &url, "--token", "sesame"]), 0);
    assert_exit(
        &gantry(&[
            "profile",
            "top",
            &url,
            "--header",
            "Authorization: Bearer sesame",
        ]),
        0,
    );
}

#[test]
fn bad_servers_give_clear_errors() {
    let server = Server::start(&[]);

    let out = gantry(&["profile", "top", &format!("{}/html", server.url())]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("HTML page"),
        "{}",
        text(&out.stderr)
    );

    let out = gantry(&[
        "profile",
        "top",
        &format!("{}/debug/pprof/nosuch", server.url()),
    ]);
    assert_exit(&out, 1);
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));

    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = gantry(&[
        "profile",
        "top",
        &format!("http://127.0.0.1:{port}"),
        "--type",
        "heap",
    ]);
    assert_exit(&out, 1);
    assert!(
        text(&out.stderr).contains("connection refused"),
        "{}",
        text(&out.stderr)
    );

    // A server that accepts and never answers.
    let stall = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = stall.local_addr().unwrap();
    let holder = std::thread::spawn(move || {
        let (mut conn, _) = stall.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        std::thread::sleep(Duration::from_secs(4));
    });
    let started = Instant::now();
    let out = gantry(&[
        "profile",
        "top",
        &format!("http://{addr}"),
        "--type",
        "heap",
        "--timeout",
        "1s",
    ]);
    assert_exit(&out, 1);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        text(&out.stderr).contains("no answer within"),
        "{}",
        text(&out.stderr)
    );
    holder.join().unwrap();
}

#[test]
fn bad_files_give_usage_errors() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let heap = save(&server, "heap", None, dir.path(), "heap.pb.gz");
    let bytes = std::fs::read(&heap).unwrap();

    let truncated = dir.path().join("truncated.pb.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = gantry(&["profile", "top", &truncated.display().to_string()]);
    assert_exit(&out, 2);
    assert!(text(&out.stderr).contains("gzip"), "{}", text(&out.stderr));

    let garbage = dir.path().join("garbage.pb");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, noise).unwrap();
    let out = gantry(&["profile", "top", &garbage.display().to_string()]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("not a pprof profile"),
        "{}",
        text(&out.stderr)
    );

    // A well-formed profile without samples: string table ["", "samples", "count"] and
    // one sample type.
    let mut empty = Vec::new();
    for s in ["", "samples", "count"] {
        empty.extend([0x32, s.len() as u8]);
        empty.extend(s.as_bytes());
    }
    empty.extend([0x0a, 4, 0x08, 1, 0x10, 2]);
    let empty_path = dir.path().join("empty.pb");
    std::fs::write(&empty_path, empty).unwrap();
    let out = gantry(&["profile", "top", &empty_path.display().to_string()]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("no samples"),
        "{}",
        text(&out.stderr)
    );

    let out = gantry(&[
        "profile",
        "top",
        &heap.display().to_string(),
        "--sample-index",
        "nope",
    ]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown sample index") && stderr.contains("inuse_space"),
        "{stderr}"
    );

    let out = gantry(&[
        "profile",
        "top",
        &dir.path().join("missing.pb").display().to_string(),
    ]);
    assert_exit(&out, 2);
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_during_capture_leaves_nothing_behind() {
    let server = Server::start(&["-burn"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cpu.pb.gz");
    let child = Command::new(GANTRY)
        .args(["profile", "save", &server.url(), "--seconds", "5", "-O"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 130);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}
