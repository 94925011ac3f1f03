//! End-to-end tests of `gantry deps-audit` on real projects (tests/fixtures/deps/projects,
//! see the README there), against registry responses recorded from the real Go module
//! proxy, crates.io sparse index and npm registry by `tests/deps/record.py` and replayed
//! by a loopback HTTP server that each test starts. The same server injects faults (404,
//! 410, 429 with Retry-After, 5xx, slow and truncated responses, malformed JSON).
//! Vulnerabilities come from real OSV data, copied into tests/fixtures/deps/osv (see its
//! README and licences) so that the tests need nothing outside the repository.
//!
//! `GANTRY_LIVE_REGISTRIES=1 cargo test -p gantry --test deps_audit -- --ignored`
//! runs the opt-in check against the live registries.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/deps")
}

fn project(name: &str) -> PathBuf {
    fixtures().join("projects").join(name)
}

fn osv(ecosystem: &str) -> PathBuf {
    fixtures().join("osv").join(ecosystem).join("all.zip")
}

#[derive(Clone)]
struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What the server does instead of (or before) the recorded answer for one path.
#[derive(Clone)]
enum Fault {
    /// Always this status.
    Status(u16),
    /// `429` with `Retry-After: secs` for the first `times` requests.
    TooManyRequests { secs: u64, times: usize },
    /// `503` for the first `times` requests.
    Unavailable { times: usize },
    /// The recorded answer after a pause.
    Slow(Duration),
    /// Headers promise more body than is sent, then the connection closes.
    Truncated,
    /// `200` with this body.
    Body(&'static str),
}

/// What the loopback registry knows and counts, shared with its connection threads.
#[derive(Clone, Default)]
struct State {
    routes: Arc<Mutex<HashMap<String, Recorded>>>,
    faults: Arc<Mutex<HashMap<String, Fault>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    misses: Arc<Mutex<Vec<String>>>,
    /// OSV API: advisory IDs by package name, answered to `POST /osv/v1/querybatch`.
    osv_ids: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

/// The loopback registry: recorded answers by "METHOD /path", faults, and counters.
struct Replay {
    port: u16,
    state: State,
    stop: Arc<AtomicBool>,
}

impl Replay {
    fn start(recordings: &[&str]) -> Replay {
        let mut routes = HashMap::new();
        for name in recordings {
            let path = fixtures().join("replay").join(format!("{name}.jsonl.gz"));
            let file =
                std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let reader = BufReader::new(flate2::read::GzDecoder::new(file));
            for line in reader.lines() {
                let record: Value = serde_json::from_str(&line.unwrap()).unwrap();
                let body = match (record.get("body"), record.get("body_base64")) {
                    (Some(Value::String(text)), _) => text.as_bytes().to_vec(),
                    (_, Some(Value::String(b64))) => decode_base64(b64),
                    _ => Vec::new(),
                };
                let headers = record["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                routes.insert(
                    format!(
                        "{} {}",
                        record["method"].as_str().unwrap(),
                        record["path"].as_str().unwrap()
                    ),
                    Recorded {
                        status: record["status"].as_u64().unwrap() as u16,
                        headers,
                        body,
                    },
                );
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let replay = Replay {
            port: listener.local_addr().unwrap().port(),
            state: State {
                routes: Arc::new(Mutex::new(routes)),
                ..State::default()
            },
            stop: Arc::default(),
        };
        let (state, stop) = (replay.state.clone(), replay.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let state = state.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &state);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        replay
    }

    fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}/{prefix}", self.port)
    }

    fn fault(&self, path: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .insert(format!("GET {path}"), fault);
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(&format!("GET {path}"))
            .copied()
            .unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.state.hits.lock().unwrap().values().sum()
    }

    fn misses(&self) -> Vec<String> {
        self.state.misses.lock().unwrap().clone()
    }

    /// Rewrites every recorded `Cache-Control` so that cached answers go stale at once.
    fn expire_immediately(&self) {
        for recorded in self.state.routes.lock().unwrap().values_mut() {
            recorded.headers.retain(|(k, _)| k != "cache-control");
            recorded
                .headers
                .push(("cache-control".into(), "max-age=0".into()));
        }
    }

    fn add_route(&self, method: &str, path: &str, body: &str) {
        self.state.routes.lock().unwrap().insert(
            format!("{method} {path}"),
            Recorded {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
            },
        );
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|&c| c != b'=') {
        buffer = (buffer << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
    let State {
        routes,
        faults,
        hits,
        misses,
        osv_ids,
    } = state;
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut body = Vec::new();
        if let Some(length) = headers
            .get("content-length")
            .and_then(|l| l.parse::<usize>().ok())
        {
            body = vec![0; length];
            reader.read_exact(&mut body)?;
        }
        if method == "POST" && path == "/osv/v1/querybatch" {
            // One result per query, from the IDs the test put on each package.
            *hits
                .lock()
                .unwrap()
                .entry(format!("{method} {path}"))
                .or_insert(0) += 1;
            let request: Value = serde_json::from_slice(&body).unwrap();
            let ids = osv_ids.lock().unwrap();
            let results: Vec<Value> = request["queries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| {
                    let found = ids.get(q["package"]["name"].as_str().unwrap());
                    let vulns: Vec<Value> = found
                        .into_iter()
                        .flatten()
                        .map(|id| serde_json::json!({ "id": id }))
                        .collect();
                    serde_json::json!({ "vulns": vulns })
                })
                .collect();
            let answer = serde_json::json!({ "results": results }).to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            writer.write_all(head.as_bytes())?;
            writer.write_all(answer.as_bytes())?;
            continue;
        }
        let key = format!("{method} {path}");
        let count = {
            let mut hits = hits.lock().unwrap();
            let n = hits.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let fault = faults.lock().unwrap().get(&key).cloned();
        let recorded = routes.lock().unwrap().get(&key).cloned();
        let respond = |w: &mut TcpStream,
                       status: u16,
                       extra: &[(String, String)],
                       body: &[u8]|
         -> std::io::Result<()> {
            let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            w.write_all(head.as_bytes())?;
            w.write_all(body)?;
            w.flush()
        };
        match (fault, recorded) {
            (Some(Fault::Status(status)), _) => respond(&mut writer, status, &[], b"fault")?,
            (Some(Fault::TooManyRequests { secs, times }), _) if count <= times => respond(
                &mut writer,
                429,
                &[("retry-after".into(), secs.to_string())],
                b"slow down",
            )?,
            (Some(Fault::Unavailable { times }), _) if count <= times => {
                respond(&mut writer, 503, &[], b"unavailable")?
            }
            (Some(Fault::Body(body)), _) => respond(&mut writer, 200, &[], body.as_bytes())?,
            (Some(Fault::Truncated), Some(r)) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                    r.body.len() + 100
                );
                writer.write_all(head.as_bytes())?;
                writer.write_all(&r.body[..r.body.len() / 2])?;
                return Ok(());
            }
            (fault, Some(r)) => {
                if let Some(Fault::Slow(pause)) = fault {
                    std::thread::sleep(pause);
                }
                let etag = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == "etag")
                    .map(|(_, v)| v.clone());
                if etag.is_some() && headers.get("if-none-match") == etag.as_ref() {
                    respond(&mut writer, 304, &r.headers, b"")?;
                } else {
                    respond(&mut writer, r.status, &r.headers, &r.body)?;
                }
            }
            (_, None) => {
                misses.lock().unwrap().push(key);
                respond(&mut writer, 404, &[], b"not recorded")?;
            }
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs gantry with the registries pointed at `replay` and the HTTP cache in `cache`.
fn gantry(replay: &Replay, cache: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let start = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gantry"));
    command
        .args(args)
        .env("GANTRY_CACHE_DIR", cache)
        .env("GOPROXY", replay.url("go"))
        .env_remove("GOPRIVATE")
        .env_remove("GONOPROXY")
        .env("npm_config_registry", replay.url("npm/"))
        .env("GANTRY_OSV_URL", replay.url("osv"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

fn cargo_index(replay: &Replay) -> String {
    replay.url("cargo/")
}

fn deps(report: &Value) -> &Vec<Value> {
    report["dependencies"].as_array().unwrap()
}

fn dep<'a>(report: &'a Value, name: &str) -> &'a Value {
    deps(report)
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the report"))
}

fn vuln_ids(dep: &Value) -> Vec<String> {
    dep["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn validate_sarif(sarif: &str) {
    let mut child = Command::new("python3")
        .arg(repo().join("tests/deps/validate_sarif.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs tests/deps/validate_sarif.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sarif.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "SARIF does not validate against the official schema (install with `pip install -r tests/deps/requirements.txt`):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------- the three ecosystems

#[test]
fn go_project_matches_go_list_and_osv() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("Go");
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("go-gin").to_str().unwrap(),
            "-o",
            "json",
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        replay.misses().is_empty(),
        "requests not in the recording: {:?}",
        replay.misses()
    );
    let report = run.json();
    assert_eq!(report["schema"], "gantry.deps-audit/v1");
    let expected = include_str!("fixtures/deps/expected/go-gin.json");
    check_expected(&report, expected);
    every_json_field_is_documented(&report);
}

/// The README's schema table names every field the JSON output has, so the documented
/// schema cannot fall behind the output.
fn every_json_field_is_documented(report: &Value) {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## gantry deps-audit")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has a deps-audit section");
    let vulnerabilities_row = section
        .lines()
        .find(|l| l.starts_with("| `.vulnerabilities`"))
        .expect("the README documents .vulnerabilities");
    let mut missing = Vec::new();
    for key in report.as_object().unwrap().keys() {
        if !section.contains(&format!("| `{key}` |")) {
            missing.push(key.clone());
        }
    }
    let vulnerable = deps(report)
        .iter()
        .find(|d| {
            d["vulnerabilities"]
                .as_array()
                .is_some_and(|v| !v.is_empty())
        })
        .expect("go-gin has a vulnerable dependency");
    for key in vulnerable.as_object().unwrap().keys() {
        if !section.contains(&format!("`.{key}`")) {
            missing.push(format!(".{key}"));
        }
    }
    let advisory = &vulnerable["vulnerabilities"][0];
    let severity_keys = advisory["severity"]
        .as_object()
        .into_iter()
        .flat_map(|s| s.keys());
    for key in advisory.as_object().unwrap().keys().chain(severity_keys) {
        let word = |sep: char| format!("{key}{sep}");
        if ![',', '}', ':', '?']
            .iter()
            .any(|&c| vulnerabilities_row.contains(&word(c)))
        {
            missing.push(format!(".vulnerabilities[].{key}"));
        }
    }
    assert!(missing.is_empty(), "README does not document {missing:?}");
}

#[test]
fn go_project_with_case_encoded_paths_and_a_pruned_graph() {
    let replay = Replay::start(&["go-hugo"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("Go");
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("go-hugo").to_str().unwrap(),
            "-o",
            "json",
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        replay.misses().is_empty(),
        "requests not in the recording: {:?}",
        replay.misses()
    );
    // Upper-case letters travel as !lower-case.
    assert!(replay.hits("/go/github.com/!azure/azure-sdk-for-go/sdk/azcore/@v/list") > 0);
    let report = run.json();
    let azcore = dep(&report, "github.com/Azure/azure-sdk-for-go/sdk/azcore");
    assert!(azcore["error"].is_null(), "{azcore}");
    check_expected(&report, include_str!("fixtures/deps/expected/go-hugo.json"));
}

/// A retracted version (klauspost/compress retracts v1.14.1 to v1.14.3 without a
/// rationale), as `go list -m -u` reports it: `"Retracted": ["retracted by module author"]`.
#[test]
fn go_retracted_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("go.mod"),
        "module example.com/retracted\n\ngo 1.21\n\nrequire github.com/klauspost/compress v1.14.2\n",
    )
    .unwrap();
    let replay = Replay::start(&["go-retracted"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("Go");
    let path = dir.path().to_str().unwrap();
    let base = [
        "deps-audit",
        path,
        "-o",
        "json",
        "--osv-db",
        osv_db.to_str().unwrap(),
    ];
    let run = gantry(&replay, cache.path(), &base, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(replay.misses().is_empty(), "{:?}", replay.misses());
    let report = run.json();
    let compress = dep(&report, "github.com/klauspost/compress");
    assert_eq!(compress["retracted"], true);
    assert_eq!(
        compress["retraction"],
        serde_json::json!(["retracted by module author"])
    );
    assert_eq!(compress["latest"], "v1.20.4");
    assert_eq!(compress["update"], "minor");
    let run = gantry(
        &replay,
        cache.path(),
        &[&base[..], &["--fail-on", "yanked"]].concat(),
        &[],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
}

#[test]
fn cargo_project_v3_lockfile() {
    let replay = Replay::start(&["cargo-starship"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("crates.io");
    let index = cargo_index(&replay);
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("cargo-starship").to_str().unwrap(),
            "-o",
            "json",
            "--cargo-index",
            &index,
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        replay.misses().is_empty(),
        "requests not in the recording: {:?}",
        replay.misses()
    );
    let report = run.json();
    assert_eq!(report["projects"][0]["format"], "Cargo.lock v3");
    check_expected(
        &report,
        include_str!("fixtures/deps/expected/cargo-starship.json"),
    );
}

#[test]
fn npm_project() {
    let replay = Replay::start(&["npm-express"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("npm");
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("npm-express").to_str().unwrap(),
            "-o",
            "json",
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        replay.misses().is_empty(),
        "requests not in the recording: {:?}",
        replay.misses()
    );
    check_expected(
        &run.json(),
        include_str!("fixtures/deps/expected/npm-express.json"),
    );
}

/// The expected file lists, per dependency, the fields that must match exactly: values
/// recorded by hand from the peer tools and the OSV data when the fixtures were made.
fn check_expected(report: &Value, expected: &str) {
    let expected: Value = serde_json::from_str(expected).unwrap();
    assert_eq!(
        deps(report).len() as u64,
        expected["count"].as_u64().unwrap(),
        "number of dependencies"
    );
    for (name, fields) in expected["dependencies"].as_object().unwrap() {
        let actual = dep(report, name);
        for (field, value) in fields.as_object().unwrap() {
            if field == "vulnerabilities" {
                let mut ids = vuln_ids(actual);
                ids.sort();
                let want: Vec<String> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(ids, want, "{name}: vulnerability IDs");
            } else {
                assert_eq!(&actual[field], value, "{name}: {field}\n{actual:#}");
            }
        }
    }
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let replay = Replay::start(&["go-gin", "npm-express"]);
    let cache = tempfile::tempdir().unwrap();
    for (name, ecosystem) in [("go-gin", "Go"), ("npm-express", "npm")] {
        let osv_db = osv(ecosystem);
        let run = gantry(
            &replay,
            cache.path(),
            &[
                "deps-audit",
                project(name).to_str().unwrap(),
                "-o",
                "sarif",
                "--osv-db",
                osv_db.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty());
        // Every result points at a line of the lockfile or go.mod/go.sum.
        for result in results {
            let location = &result["locations"][0]["physicalLocation"];
            assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
            let uri = location["artifactLocation"]["uri"].as_str().unwrap();
            assert!(
                ["go.mod", "go.sum", "package-lock.json"]
                    .iter()
                    .any(|f| uri.ends_with(f)),
                "{uri}"
            );
        }
        validate_sarif(&run.stdout);
    }
}

#[test]
fn fail_on_policies_exit_5() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("Go");
    let path = project("go-gin");
    let base = [
        "deps-audit",
        path.to_str().unwrap(),
        "--osv-db",
        osv_db.to_str().unwrap(),
    ];
    let run = gantry(
        &replay,
        cache.path(),
        &[&base[..], &["--fail-on", "vuln"]].concat(),
        &[],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("--fail-on"), "{}", run.stderr);
    let run = gantry(
        &replay,
        cache.path(),
        &[&base[..], &["--fail-on", "yanked"]].concat(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = gantry(
        &replay,
        cache.path(),
        &[&base[..], &["--fail-on", "deprecated,major"]].concat(),
        &[],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
}

#[test]
fn table_output_groups_and_sorts_by_risk() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("Go");
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("go-gin").to_str().unwrap(),
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("go ("), "{}", run.stdout);
    assert!(
        lines[1].contains("NAME") && lines[1].contains("VULNERABILITIES"),
        "{}",
        run.stdout
    );
    // The first row is a vulnerable module.
    assert!(lines[2].contains("GO-"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour without a terminal"
    );
}

// ---------------------------------------------------------------- faults

fn gin_with(replay: &Replay, cache: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let osv_db = osv("Go");
    let path = project("go-gin");
    let mut args = vec![
        "deps-audit",
        path.to_str().unwrap(),
        "-o",
        "json",
        "--osv-db",
        osv_db.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gantry(replay, cache, &args, env)
}

const SSE_LIST: &str = "/go/github.com/gin-contrib/sse/@v/list";

#[test]
fn registry_404_and_410_are_unknown_with_an_error() {
    for status in [404, 410] {
        let replay = Replay::start(&["go-gin"]);
        replay.fault(SSE_LIST, Fault::Status(status));
        let cache = tempfile::tempdir().unwrap();
        let run = gin_with(&replay, cache.path(), &[], &[]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        let report = run.json();
        let sse = dep(&report, "github.com/gin-contrib/sse");
        assert_eq!(sse["update"], "unknown");
        assert!(sse["latest"].is_null());
        assert!(
            sse["error"].as_str().unwrap().contains(&status.to_string()),
            "{sse}"
        );
        assert!(
            run.stderr.contains("could not be checked"),
            "{}",
            run.stderr
        );
        // Not found is final: no retries.
        assert_eq!(replay.hits(SSE_LIST), 1);
    }
}

#[test]
fn too_many_requests_honours_retry_after() {
    let replay = Replay::start(&["go-gin"]);
    replay.fault(SSE_LIST, Fault::TooManyRequests { secs: 2, times: 1 });
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(replay.hits(SSE_LIST), 2);
    assert!(
        run.elapsed >= Duration::from_secs(2),
        "waited {:?}",
        run.elapsed
    );
    let report = run.json();
    assert!(dep(&report, "github.com/gin-contrib/sse")["error"].is_null());
}

#[test]
fn server_errors_are_retried_then_reported() {
    let replay = Replay::start(&["go-gin"]);
    replay.fault(SSE_LIST, Fault::Unavailable { times: 2 });
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(replay.hits(SSE_LIST), 3);

    let replay = Replay::start(&["go-gin"]);
    replay.fault(SSE_LIST, Fault::Status(500));
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(replay.hits(SSE_LIST), 4, "tried four times");
    let report = run.json();
    let sse = dep(&report, "github.com/gin-contrib/sse");
    assert_eq!(sse["update"], "unknown");
    assert!(sse["error"].as_str().unwrap().contains("500"), "{sse}");
}

#[test]
fn slow_responses_time_out() {
    let replay = Replay::start(&["go-gin"]);
    replay.fault(SSE_LIST, Fault::Slow(Duration::from_secs(30)));
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &["--timeout", "300ms"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(20),
        "took {:?}",
        run.elapsed
    );
    let report = run.json();
    let sse = dep(&report, "github.com/gin-contrib/sse");
    assert_eq!(sse["update"], "unknown");
    assert!(
        sse["error"].as_str().unwrap().contains("timed out"),
        "{sse}"
    );
}

#[test]
fn truncated_and_malformed_responses() {
    let replay = Replay::start(&["go-gin"]);
    replay.fault(SSE_LIST, Fault::Truncated);
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        dep(&report, "github.com/gin-contrib/sse")["update"],
        "unknown"
    );

    // npm: a packument that is not JSON.
    let replay = Replay::start(&["npm-express"]);
    replay.fault("/npm/qs", Fault::Body("{\"dist-tags\": {\"latest\": "));
    let cache = tempfile::tempdir().unwrap();
    let osv_db = osv("npm");
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("npm-express").to_str().unwrap(),
            "-o",
            "json",
            "--osv-db",
            osv_db.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let qs = dep(&report, "qs");
    assert_eq!(qs["update"], "unknown");
    assert!(qs["error"].as_str().unwrap().contains("malformed"), "{qs}");

    // Cargo: an index file with a broken line.
    let replay = Replay::start(&["cargo-starship"]);
    replay.fault(
        "/cargo/se/rd/serde",
        Fault::Body("{\"name\":\"serde\",\"vers\":\"1.0.0\"}\n{\"name\":"),
    );
    let cache = tempfile::tempdir().unwrap();
    let index = cargo_index(&replay);
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("cargo-starship").to_str().unwrap(),
            "-o",
            "json",
            "--cargo-index",
            &index,
            "--osv-db",
            osv("crates.io").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let serde = dep(&report, "serde");
    assert_eq!(serde["update"], "unknown");
    assert!(
        serde["error"].as_str().unwrap().contains("line 2"),
        "{serde}"
    );
}

#[test]
fn corrupt_cache_entries_are_refetched_and_offline_marks_stale_answers() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let first = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let fetched = replay.total_hits();
    // Warm and fresh: nothing is asked again.
    let warm = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(warm.code, 0);
    assert_eq!(
        replay.total_hits(),
        fetched,
        "fresh entries are not refetched"
    );
    // Damage every entry: each is refetched, not trusted.
    let mut damaged = 0;
    for entry in walk(&cache.path().join("http")) {
        let mut bytes = std::fs::read(&entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(&entry, bytes).unwrap();
        damaged += 1;
    }
    assert!(damaged > 10);
    let again = gin_with(&replay, cache.path(), &[], &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        replay.total_hits(),
        fetched * 2,
        "every damaged entry was fetched again"
    );
    assert_eq!(strip_volatile(&again.json()), strip_volatile(&first.json()));

    // Offline from a cache whose answers are past their freshness: the same report,
    // every answer marked stale.
    let replay = Replay::start(&["go-gin"]);
    replay.expire_immediately();
    let cache = tempfile::tempdir().unwrap();
    assert_eq!(gin_with(&replay, cache.path(), &[], &[]).code, 0);
    let before = replay.total_hits();
    let offline = gin_with(&replay, cache.path(), &["--offline"], &[]);
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    assert_eq!(replay.total_hits(), before, "offline never asks the server");
    let report = offline.json();
    assert!(deps(&report).iter().all(|d| d["stale"] == true));

    // Offline with an empty cache: unknown, never up to date.
    let empty = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, empty.path(), &["--offline"], &[]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert!(
        deps(&report)
            .iter()
            .all(|d| d["update"] == "unknown" && d["error"].is_string())
    );
}

fn strip_volatile(report: &Value) -> Value {
    let mut report = report.clone();
    for dep in report["dependencies"].as_array_mut().unwrap() {
        dep.as_object_mut().unwrap().remove("stale");
    }
    report
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn goproxy_lists_fall_through_and_off_and_private_modules() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    // The first proxy has nothing (404): "," falls through to the second.
    let list = format!("{},{}", replay.url("nothing"), replay.url("go"));
    let run = gin_with(&replay, cache.path(), &[], &[("GOPROXY", &list)]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A failing proxy: "|" falls through on any error, "," only on 404/410.
    let replay = Replay::start(&["go-gin"]);
    replay.fault(
        "/broken/github.com/gin-contrib/sse/@v/list",
        Fault::Status(500),
    );
    let cache = tempfile::tempdir().unwrap();
    let list = format!("{}|{}", replay.url("broken"), replay.url("go"));
    let run = gin_with(&replay, cache.path(), &[], &[("GOPROXY", &list)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cache = tempfile::tempdir().unwrap();
    let list = format!("{},{}", replay.url("broken"), replay.url("go"));
    let run = gin_with(&replay, cache.path(), &[], &[("GOPROXY", &list)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert!(
        dep(&report, "github.com/gin-contrib/sse")["error"]
            .as_str()
            .unwrap()
            .contains("500")
    );

    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(&replay, cache.path(), &[], &[("GOPROXY", "off")]);
    assert_eq!(run.code, 1);
    let report = run.json();
    let sse = dep(&report, "github.com/gin-contrib/sse");
    assert!(
        sse["error"].as_str().unwrap().contains("GOPROXY=off"),
        "{sse}"
    );

    let cache = tempfile::tempdir().unwrap();
    let direct = format!("{},direct", replay.url("nothing"));
    let run = gin_with(&replay, cache.path(), &[], &[("GOPROXY", &direct)]);
    let report = run.json();
    let sse = dep(&report, "github.com/gin-contrib/sse");
    assert!(sse["error"].as_str().unwrap().contains("direct"), "{sse}");

    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let run = gin_with(
        &replay,
        cache.path(),
        &[],
        &[("GOPRIVATE", "github.com/gin-contrib")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let sse = dep(&report, "github.com/gin-contrib/sse");
    assert_eq!(sse["source"], "private");
    assert_eq!(sse["update"], "unknown");
    assert!(sse["note"].as_str().unwrap().contains("GOPRIVATE"));
    assert_eq!(
        replay.hits(SSE_LIST),
        0,
        "private modules are not sent to the proxy"
    );
}

// ---------------------------------------------------------------- bad input

fn audit_dir(files: &[(&str, &str)], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let replay = Replay::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let mut args = vec!["deps-audit", dir.path().to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    gantry(&replay, cache.path(), &args, &[])
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let run = audit_dir(
        &[(
            "go.mod",
            "module example.com/m\n\ngo 1.21\n\nrequire (\n\tgithub.com/a/b\n)\n",
        )],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("go.mod:6:"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = audit_dir(
        &[(
            "Cargo.lock",
            "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \n",
        )],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("Cargo.lock:6:"), "{}", run.stderr);

    let run = audit_dir(
        &[(
            "package-lock.json",
            "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"x\",\n    }\n  }\n}\n",
        )],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("package-lock.json:6:"),
        "{}",
        run.stderr
    );

    let run = audit_dir(&[("package.json", "{}")], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("npm install --package-lock-only"),
        "{}",
        run.stderr
    );

    let run = audit_dir(&[], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("no go.mod, Cargo.lock or package-lock.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn unsupported_lockfile_versions() {
    let run = audit_dir(
        &[(
            "package-lock.json",
            "{\"lockfileVersion\": 1, \"dependencies\": {}}",
        )],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("unsupported lockfile version 1"),
        "{}",
        run.stderr
    );
    let run = audit_dir(&[("Cargo.lock", "version = 7\n")], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("unsupported lockfile version 7"),
        "{}",
        run.stderr
    );
}

#[test]
fn osv_zip_with_a_malformed_entry_is_read_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let good = std::fs::read(fixtures().join("osv/npm/GHSA-hrpp-h998-j3pp.json")).unwrap();
        zip.start_file("GHSA-hrpp-h998-j3pp.json", options).unwrap();
        zip.write_all(&good).unwrap();
        zip.start_file("BROKEN-1.json", options).unwrap();
        zip.write_all(b"{\"id\": \"BROKEN-1\", \"affected\": [")
            .unwrap();
        zip.finish().unwrap();
    }
    let replay = Replay::start(&["npm-express"]);
    let cache = tempfile::tempdir().unwrap();
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("npm-express").to_str().unwrap(),
            "-o",
            "json",
            "--osv-db",
            zip_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("BROKEN-1.json"),
        "{}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["osv"]["advisories"], 1);
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("BROKEN-1.json")
    );
}

#[test]
fn sarif_is_refused_by_other_commands() {
    let replay = Replay::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let run = gantry(
        &replay,
        cache.path(),
        &["plugin", "list", "-o", "sarif"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("deps-audit"), "{}", run.stderr);
}

#[test]
fn offline_without_an_osv_database_says_vulnerabilities_were_not_checked() {
    let replay = Replay::start(&["go-gin"]);
    let cache = tempfile::tempdir().unwrap();
    let path = project("go-gin");
    assert_eq!(
        gantry(
            &replay,
            cache.path(),
            &[
                "deps-audit",
                path.to_str().unwrap(),
                "--osv-db",
                osv("Go").to_str().unwrap()
            ],
            &[]
        )
        .code,
        0
    );
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            path.to_str().unwrap(),
            "--offline",
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--osv-db"), "{}", run.stderr);
    let report = run.json();
    assert!(deps(&report).iter().all(|d| d["vulnerabilities"].is_null()));
}

#[test]
fn osv_api_protocol() {
    let replay = Replay::start(&["go-gin"]);
    let id = "GO-2023-1988";
    replay
        .state
        .osv_ids
        .lock()
        .unwrap()
        .insert("golang.org/x/net".into(), vec![id.into()]);
    let advisory = std::fs::read_to_string(fixtures().join(format!("osv/Go/{id}.json"))).unwrap();
    replay.add_route("GET", &format!("/osv/v1/vulns/{id}"), &advisory);
    let cache = tempfile::tempdir().unwrap();
    let run = gantry(
        &replay,
        cache.path(),
        &[
            "deps-audit",
            project("go-gin").to_str().unwrap(),
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["osv"]["source"], "api");
    let net = dep(&report, "golang.org/x/net");
    assert_eq!(vuln_ids(net), [id]);
    assert_eq!(
        net["vulnerabilities"][0]["fixed"],
        serde_json::json!(["v0.13.0"])
    );
    assert!(
        deps(&report)
            .iter()
            .all(|d| d["vulnerabilities"].is_array())
    );
    // One batch query for every module, one advisory fetch.
    assert_eq!(
        replay.state.hits.lock().unwrap()["POST /osv/v1/querybatch"],
        1
    );
    assert_eq!(replay.hits(&format!("/osv/v1/vulns/{id}")), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_50_mb_lockfile_in_bounded_memory() {
    // A package-lock.json of about 50 MB: 4,000 packages, each nested under others.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "{\n  \"name\": \"big\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"big\", \"dependencies\": {",
    );
    let names: Vec<String> = (0..4000).map(|i| format!("pkg-{i:05}")).collect();
    text.push_str(
        &names
            .iter()
            .take(100)
            .map(|n| format!("\"{n}\": \"^1.0.0\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    text.push_str("}}");
    let mut n = 0;
    while text.len() < 50 * 1024 * 1024 {
        let outer = &names[n % names.len()];
        let inner = &names[(n * 7 + 3) % names.len()];
        text.push_str(&format!(
            ",\n    \"node_modules/{outer}/node_modules/{inner}-{n}\": {{\n      \"version\": \"1.{}.0\",\n      \"resolved\": \"https://registry.npmjs.org/{inner}/-/{inner}-1.0.0.tgz\",\n      \"integrity\": \"sha512-{}\",\n      \"dependencies\": {{\"{outer}\": \"^1.0.0\"}}\n    }}",
            n % 50,
            "A".repeat(88)
        ));
        n += 1;
    }
    text.push_str("\n  }\n}\n");
    std::fs::write(dir.path().join("package-lock.json"), &text).unwrap();
    drop(text);
    let replay = Replay::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "deps-audit",
            dir.path().to_str().unwrap(),
            "--offline",
            "-o",
            "json",
            "--osv-db",
        ])
        .arg(osv("npm"))
        .env("GANTRY_CACHE_DIR", cache.path())
        .env("npm_config_registry", replay.url("npm/"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    // Offline with an empty cache: every lookup is unknown, and that is a failure.
    assert_eq!(status.code(), Some(1), "{stderr}");
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let peak_mib = usage.ru_maxrss / 1024;
    assert!(
        peak_mib < 600,
        "peak RSS {peak_mib} MiB for a 50 MB lockfile"
    );
}

// ---------------------------------------------------------------- live registries

#[test]
#[ignore = "talks to the live registries: GANTRY_LIVE_REGISTRIES=1 cargo test -p gantry --test deps_audit -- --ignored"]
fn live_registries() {
    assert_eq!(
        std::env::var("GANTRY_LIVE_REGISTRIES").as_deref(),
        Ok("1"),
        "set GANTRY_LIVE_REGISTRIES=1 to run this check against the live registries"
    );
    let cache = tempfile::tempdir().unwrap();
    for (name, ecosystem) in [
        ("go-gin", "Go"),
        ("cargo-starship", "crates.io"),
        ("npm-express", "npm"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "deps-audit",
                project(name).to_str().unwrap(),
                "-o",
                "json",
                "--osv-db",
            ])
            .arg(osv(ecosystem))
            .env("GANTRY_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let failed: Vec<&Value> = deps(&report)
            .iter()
            .filter(|d| d["error"].is_string())
            .collect();
        assert!(failed.is_empty(), "{name}: failed lookups: {failed:#?}");
        assert!(deps(&report).iter().any(|d| d["update"] != "unknown"));
    }
}
