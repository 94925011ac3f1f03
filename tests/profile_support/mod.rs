//! What the profile test crates share: the Go pprof service they capture from, running
//! gantry, and comparing its `top` with `go tool pprof -top` on the same file.
// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

pub const GANTRY: &str = env!("CARGO_BIN_EXE_gantry");

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
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
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

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The body the service serves at `path`, as curl would save it.
    pub fn get(&self, path: &str) -> Vec<u8> {
        let mut conn = TcpStream::connect(&self.addr).expect("connect to pprof-server");
        write!(
            conn,
            "GET {path} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = Vec::new();
        conn.read_to_end(&mut response).unwrap();
        let end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP header");
        let head = String::from_utf8_lossy(&response[..end]);
        assert!(head.starts_with("HTTP/1.0 200"), "GET {path}: {head}");
        response[end + 4..].to_vec()
    }

    /// Saves what the service serves at `path` into `dir/name`.
    pub fn download(&self, path: &str, dir: &Path, name: &str) -> PathBuf {
        let file = dir.join(name);
        std::fs::write(&file, self.get(path)).unwrap();
        file
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn gantry(args: &[&str]) -> Output {
    Command::new(GANTRY)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run gantry")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `bytes` written to `name` in `dir`.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Saves a profile from the service with `gantry profile save`.
pub fn save(server: &Server, kind: &str, seconds: Option<u64>, dir: &Path, name: &str) -> PathBuf {
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
pub struct PprofTop {
    pub lines: Vec<String>,
    pub shown: i64,
    pub total: i64,
    pub dropped: usize,
    /// Name (with its inline mark, if any), flat and cum of each row.
    pub rows: Vec<(String, i64, i64)>,
}

fn number(token: &str) -> i64 {
    let digits = token.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not an exact number: {token:?}"))
}

/// `go tool pprof -top` on `file` with times in UTC (as gantry prints them), reading no
/// binaries, as gantry reads none: the tests' gperftools programs are on this machine,
/// where pprof would symbolize their addresses. `remote` symbolization finds nothing to
/// ask for a file, and unlike `none` it keeps pprof's demangling of names.
pub fn go_pprof(file: &Path, extra: &[&str]) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-symbolize=remote"])
        .args(extra)
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof {}: {}",
        file.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The name column of a `-top` row: everything after the five number columns.
fn row_name(line: &str) -> String {
    let mut rest = line.trim_start();
    for _ in 0..5 {
        let end = rest.find(' ').unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.to_string()
}

pub fn go_top(file: &Path, unit: &str, extra: &[&str]) -> PprofTop {
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
            (row_name(l), number(t[0]), number(t[3]))
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

pub fn gantry_top(file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["-o", "json", "profile", "top"];
    let file = file.display().to_string();
    args.push(&file);
    args.extend(extra);
    let out = gantry(&args);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).expect("top JSON")
}

/// Checks gantry's top against go tool pprof's on the same file: the table as printed,
/// line for line (headers, rows, inline marks), and every value exactly, in the
/// profile's own unit. Returns gantry's JSON report.
#[track_caller]
pub fn assert_same_top(file: &Path, gantry_args: &[&str], pprof_args: &[&str]) -> Value {
    assert_same_table(file, gantry_args, pprof_args);
    let ours = gantry_top(file, gantry_args);
    let unit = match ours["sample_unit"].as_str().unwrap() {
        "nanoseconds" => "ns",
        "bytes" => "B",
        "microseconds" => "us",
        "milliseconds" => "ms",
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
            let mark = r["inline"]
                .as_str()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            (
                format!("{}{mark}", r["name"].as_str().unwrap()),
                r["flat"].as_i64().unwrap(),
                r["cum"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        theirs.rows,
        "rows differ; go tool pprof printed:\n{}",
        theirs.lines.join("\n")
    );
    assert!(!rows.is_empty(), "no rows");
    let as_map = |rows: &[(String, i64, i64)]| -> BTreeMap<String, (i64, i64)> {
        rows.iter().map(|(n, f, c)| (n.clone(), (*f, *c))).collect()
    };
    assert_eq!(as_map(&rows).len(), rows.len(), "row names are unique");
    ours
}

/// `gantry profile top` prints what `go tool pprof -top` prints, byte for byte.
#[track_caller]
pub fn assert_same_table(file: &Path, gantry_args: &[&str], pprof_args: &[&str]) {
    let file_arg = file.display().to_string();
    let mut args = vec!["profile", "top", &file_arg];
    args.extend(gantry_args);
    let ours = gantry(&args);
    assert_exit(&ours, 0);
    let theirs = go_pprof(file, pprof_args);
    assert_eq!(
        text(&ours.stdout),
        theirs,
        "gantry profile top {} {gantry_args:?} differs from go tool pprof -top {pprof_args:?}",
        file.display()
    );
}

/// Checks that `path` is a well-formed SVG mentioning `must_mention`; returns its text.
#[track_caller]
pub fn assert_valid_svg(path: &Path, must_mention: &str) -> String {
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
    // XML 1.0 cannot hold these even escaped; a parser stricter than the one above
    // refuses the file.
    let not_xml = |c: char| matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    assert!(
        !svg.contains(not_xml),
        "{} holds a character XML forbids",
        path.display()
    );
    assert!(
        svg.contains(must_mention),
        "{} lacks {must_mention}",
        path.display()
    );
    svg
}

/// `gantry profile collapse` of `file`: its folded stacks, checked to add up to the total
/// `top` reports.
#[track_caller]
pub fn assert_collapse_adds_up(file: &Path) -> String {
    let out = gantry(&["profile", "collapse", &file.display().to_string()]);
    assert_exit(&out, 0);
    let folded = text(&out.stdout);
    let mut sum = 0i64;
    for line in folded.lines() {
        let (stack, value) = line.rsplit_once(' ').expect("STACK VALUE");
        assert!(!stack.is_empty());
        sum += value.parse::<i64>().expect("value");
    }
    let top = gantry_top(file, &[]);
    assert_eq!(
        sum,
        top["total"].as_i64().unwrap(),
        "the folded stacks of {} add up to the total",
        file.display()
    );
    folded
}

/// Draws the flame graph of `file` (a differential one against `base`) into `svg` with
/// `gantry profile flamegraph`, and checks it; returns the SVG.
#[track_caller]
pub fn draw_flamegraph(file: &Path, base: Option<&Path>, svg: &Path, must_mention: &str) -> String {
    let file = file.display().to_string();
    let svg_arg = svg.display().to_string();
    let base = base.map(|b| b.display().to_string());
    let mut args = vec!["profile", "flamegraph", &file, "-O", &svg_arg];
    if let Some(base) = &base {
        args.extend(["--base", base]);
    }
    assert_exit(&gantry(&args), 0);
    assert_valid_svg(svg, must_mention)
}
