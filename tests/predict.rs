//! `gantry scale --predict` without a cluster (recommend only), through the real binary:
//! from the shipped metrics file, and from a real Prometheus (Debian's `prometheus`,
//! started here on 127.0.0.1 with the NAB series of `tests/fixtures/forecast` backfilled
//! by `promtool tsdb create-blocks-from openmetrics`, its timestamps shifted to end now
//! because Prometheus drops blocks older than its retention), and every way the
//! Prometheus source fails. Applying to a cluster is tested in `tests/scale.rs`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The NAB series backfilled into Prometheus (MIT, see tests/fixtures/forecast/LICENSE-NAB.txt).
const CPU: &str = "tests/fixtures/forecast/ec2_cpu_utilization_5f5533.csv";
/// The series the README's example uses.
const REQUESTS: &str = "examples/metrics/requests.csv";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "gantry failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// A failure with exit code `code` and one `error:` line containing `expected`.
    fn failed(&self, code: i32, expected: &str) {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{}", self.stderr);
        assert!(
            errors[0].contains(expected),
            "expected an error containing {expected:?}, got {:?}",
            self.stderr
        );
        assert_eq!(self.stdout, "", "nothing is printed on failure");
    }
}

fn gantry(args: &[&str]) -> Run {
    let started = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env(
            "GANTRY_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("predict-cache"),
        )
        .env("XDG_CONFIG_HOME", "/nonexistent-gantry-test-config")
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env_remove("GANTRY_CONFIG")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("running gantry");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn predict(extra: &[&str]) -> Run {
    let mut args = vec!["scale", "--predict"];
    args.extend_from_slice(extra);
    gantry(&args)
}

fn f64_at(doc: &Value, pointer: &str) -> f64 {
    doc.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {doc}"))
}

#[test]
fn recommends_from_a_file_and_explains_why() {
    let file = repo(REQUESTS);
    let file = file.to_str().unwrap();
    let doc = predict(&[
        "--metrics",
        file,
        "--target-per-replica",
        "100",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(doc["schema"], "gantry.scale.predict/v1");
    assert_eq!(doc["current_replicas"], Value::Null);
    assert_eq!(doc["target"], Value::Null);
    assert_eq!(doc["applied"], false);
    assert_eq!(doc["target_per_replica"], 100.0);
    assert_eq!(doc["reason"], "forecast");
    assert_eq!(doc["forecast"]["horizon_steps"], 12);
    assert!(
        doc["forecast"]["model"]
            .as_str()
            .unwrap()
            .starts_with("gantry-forecaster@")
    );

    // The forecast is `gantry forecast`'s over the same hour (12 steps of 5 minutes), and
    // the recommendation ceil(p90 / target).
    let forecast = gantry(&[
        "forecast",
        "--metrics",
        file,
        "--horizon",
        "12",
        "-o",
        "json",
    ])
    .json();
    for field in ["p50_peak", "p90_peak", "peak_at"] {
        assert_eq!(doc["forecast"][field], forecast[field], "{field}");
    }
    let p90 = f64_at(&doc, "/forecast/p90_peak");
    assert_eq!(
        doc["recommended_replicas"].as_f64().unwrap(),
        (p90 / 100.0).ceil().max(1.0)
    );

    // In words, on one line each: the load, now, the forecast, the capacity, the answer.
    let run = predict(&["--metrics", file, "--target-per-replica", "100"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("note "))
        .collect();
    let heads: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        heads,
        ["load", "now", "forecast", "capacity", "recommend"],
        "{}",
        run.stdout
    );
    assert!(lines[0].contains("4040 samples every 5m"), "{}", run.stdout);
    assert!(lines[2].contains("peak over the next 1h"), "{}", run.stdout);
    assert!(
        lines[4].contains(&format!(
            "{} replicas: sized from the p90 peak",
            doc["recommended_replicas"]
        )),
        "{}",
        run.stdout
    );

    // A clamp is the reason when it decides.
    let doc = predict(&[
        "--metrics",
        file,
        "--target-per-replica",
        "1",
        "--max",
        "3",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(
        (doc["recommended_replicas"].as_i64(), doc["reason"].as_str()),
        (Some(3), Some("clamped_to_max"))
    );
    let doc = predict(&[
        "--metrics",
        file,
        "--target-per-replica",
        "1e9",
        "--min",
        "2",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(
        (doc["recommended_replicas"].as_i64(), doc["reason"].as_str()),
        (Some(2), Some("clamped_to_min"))
    );

    // Standard input, and a 2-hour horizon (24 steps).
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "scale",
            "--predict",
            "--metrics",
            "-",
            "--target-per-replica",
            "100",
            "--horizon",
            "2h",
            "-o",
            "json",
        ])
        .env("XDG_CONFIG_HOME", "/nonexistent-gantry-test-config")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(repo(REQUESTS)).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["forecast"]["horizon_steps"], 24);
    assert_eq!(doc["series"]["source"], "stdin");
}

#[test]
fn flags_are_checked_before_anything_runs() {
    let file = repo(REQUESTS);
    let file = file.to_str().unwrap();
    predict(&["--metrics", file]).failed(2, "--predict needs --target-per-replica X");
    predict(&["--target-per-replica", "10"]).failed(
        2,
        "--predict needs the load: --metrics FILE, or --prometheus URL --query PROMQL",
    );
    predict(&["--metrics", file, "--target-per-replica", "0"])
        .failed(2, "--target-per-replica must be a positive number, not 0");
    predict(&[
        "--metrics",
        file,
        "--target-per-replica",
        "10",
        "--min",
        "5",
        "--max",
        "2",
    ])
    .failed(2, "--min (5) is above --max (2)");
    predict(&[
        "--metrics",
        file,
        "--target-per-replica",
        "10",
        "--tolerance",
        "2",
    ])
    .failed(2, "--tolerance must be between 0 and 1");
    predict(&["--metrics", file, "--target-per-replica", "10", "--horizon", "8h"]).failed(
        2,
        "--horizon 8h is 96 steps of 5m, and the bundled forecaster looks at most 72 steps (6h) ahead",
    );
    predict(&["--metrics", file, "--target-per-replica", "10", "--wait"]).failed(
        2,
        "--wait applies to a target, and --predict without TYPE/NAME only recommends",
    );
    predict(&[
        "--metrics",
        "no-such-file.csv",
        "--target-per-replica",
        "10",
    ])
    .failed(2, "no-such-file.csv");
    // clap's own checks: --replicas and --predict exclude each other; --query needs --prometheus.
    let run = gantry(&["scale", "deploy/web", "--predict", "--replicas", "3"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = predict(&["--query", "up", "--target-per-replica", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// Debian's Prometheus on a loopback port, serving the NAB CPU series (and a copy at
/// half its value, so that a query can match two series), stopped when dropped.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

/// The NAB CSV as (unix seconds, value).
fn nab_rows(path: &Path) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let (t, v) = line.split_once(',').unwrap();
            let t = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", t)
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second();
            (t, v.parse().unwrap())
        })
        .collect()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("running {what} ({e}); install Debian's `prometheus` package (.ci/run does)")
    });
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Prometheus {
    fn start() -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        // Shifted so that the last sample falls on the latest 5-minute boundary.
        let rows = nab_rows(&repo(CPU));
        let now = unix_now();
        let shift = (now - now % 300) - rows.last().unwrap().0;
        let mut om = String::from(
            "# HELP nab_cpu_utilization EC2 CPU utilisation (NAB ec2_cpu_utilization_5f5533)\n# TYPE nab_cpu_utilization gauge\n",
        );
        for (t, v) in &rows {
            let t = t + shift;
            om.push_str(&format!(
                "nab_cpu_utilization{{instance=\"i-5f5533\",job=\"nab\"}} {v} {t}\n"
            ));
            om.push_str(&format!(
                "nab_cpu_utilization{{instance=\"i-5f5533-half\",job=\"nab\"}} {} {t}\n",
                v / 2.0
            ));
        }
        om.push_str("# EOF\n");
        let data = dir.path().join("data.om");
        std::fs::write(&data, om).unwrap();
        let tsdb = dir.path().join("tsdb");
        run_ok(
            Command::new("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&data)
                .arg(&tsdb),
            "promtool",
        );
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n").unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=30d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus; install Debian's `prometheus` package (.ci/run does)");
        let prometheus = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !prometheus.ready() {
            assert!(
                Instant::now() < deadline,
                "prometheus did not become ready: {}",
                std::fs::read_to_string(prometheus._dir.path().join("prometheus.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        prometheus
    }

    /// `GET /-/ready` answers 200.
    fn ready(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(self.url.trim_start_matches("http://")) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream
            .write_all(b"GET /-/ready HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn predicts_from_a_real_prometheus_as_from_the_same_file() {
    let prometheus = Prometheus::start();
    let from_prometheus = predict(&[
        "--prometheus",
        &prometheus.url,
        "--query",
        "nab_cpu_utilization{instance=\"i-5f5533\"}",
        "--target-per-replica",
        "10",
        "-o",
        "json",
    ])
    .json();
    let file = repo(CPU);
    let from_file = predict(&[
        "--metrics",
        file.to_str().unwrap(),
        "--target-per-replica",
        "10",
        "-o",
        "json",
    ])
    .json();
    assert_eq!(from_prometheus["schema"], "gantry.scale.predict/v1");
    assert_eq!(from_prometheus["series"]["interval_s"], 300);
    // 14 days at 5 minutes, less what the grid's alignment to the clock leaves out.
    let samples = from_prometheus["series"]["samples"].as_u64().unwrap();
    assert!((4025..=4033).contains(&samples), "{samples} samples");
    assert!(
        from_prometheus["series"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("at {}", prometheus.url)),
        "{from_prometheus}"
    );
    // The same real values, so the same forecast (to within the few samples at the
    // window's edges) and the same recommendation.
    for field in ["/forecast/p50_peak", "/forecast/p90_peak"] {
        let (a, b) = (f64_at(&from_prometheus, field), f64_at(&from_file, field));
        assert!(
            (a - b).abs() <= 0.02 * b,
            "{field}: {a} from Prometheus, {b} from the file"
        );
    }
    assert_eq!(
        from_prometheus["recommended_replicas"],
        from_file["recommended_replicas"]
    );
    // The peak is ahead of now, within the hour.
    let peak_at = f64_at(&from_prometheus, "/forecast/peak_at") as i64;
    let last = f64_at(&from_prometheus, "/series/last_t") as i64;
    assert!(
        peak_at > last && peak_at <= last + 3600,
        "{from_prometheus}"
    );

    // The explanation names the query and the server.
    let run = predict(&[
        "--prometheus",
        &prometheus.url,
        "--query",
        "nab_cpu_utilization{instance=\"i-5f5533\"}",
        "--target-per-replica",
        "10",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "load       nab_cpu_utilization{{instance=\"i-5f5533\"}} at {}: ",
            prometheus.url
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn prometheus_refusals_are_explained() {
    let prometheus = Prometheus::start();
    let ask = |query: &str, extra: &[&str]| {
        let mut args = vec![
            "--prometheus",
            &prometheus.url,
            "--query",
            query,
            "--target-per-replica",
            "10",
        ];
        args.extend_from_slice(extra);
        predict(&args)
    };
    // Bad PromQL: Prometheus's own words.
    let run = ask("sum(rate(nab_cpu_utilization[5m])", &[]);
    run.failed(
        2,
        &format!("Prometheus at {} refused the query: ", prometheus.url),
    );
    assert!(
        run.stderr.contains("unclosed left parenthesis"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(bad_data)"), "{}", run.stderr);
    // Nothing matches.
    ask("nab_cpu_utilization{instance=\"nope\"}", &[]).failed(
        2,
        "the query `nab_cpu_utilization{instance=\"nope\"}` matched no series between ",
    );
    // Two series: both label sets, and what to write instead.
    ask("nab_cpu_utilization", &[]).failed(
        2,
        "the query `nab_cpu_utilization` matched 2 series: nab_cpu_utilization{instance=\"i-5f5533\", job=\"nab\"}, nab_cpu_utilization{instance=\"i-5f5533-half\", job=\"nab\"}; it must match one, for example `sum(nab_cpu_utilization)`",
    );
    // Too many points for one query, refused before asking.
    ask("up", &["--range", "60d", "--step", "1m"])
        .failed(2, "more than the 11000 Prometheus answers per series");
}

#[test]
fn an_unreachable_or_silent_prometheus_ends_in_time() {
    // A port nothing listens on.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let run = predict(&[
        "--prometheus",
        &url,
        "--query",
        "up",
        "--target-per-replica",
        "1",
        "--timeout",
        "10s",
    ]);
    run.failed(1, &format!("cannot reach Prometheus at {url}: "));
    assert!(run.stderr.contains("hint: check the URL"), "{}", run.stderr);

    // A server that accepts the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(3).flatten() {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let run = predict(&[
        "--prometheus",
        &url,
        "--query",
        "up",
        "--target-per-replica",
        "1",
        "--timeout",
        "1s",
    ]);
    run.failed(
        4,
        &format!("Prometheus at {url} did not answer within 1s (--timeout)"),
    );
    assert!(run.took < Duration::from_secs(4), "took {:?}", run.took);
    drop(held);
}

#[test]
fn prometheus_requests_carry_the_headers_token_and_path_prefix() {
    // A loopback stand-in that records the request and answers with a day of a real
    // series (the NAB file's last 288 samples) as Prometheus would.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/prom/", listener.local_addr().unwrap());
    let now = unix_now();
    let end = now - now % 300;
    let rows = nab_rows(&repo(CPU));
    let values: Vec<String> = rows[rows.len() - 288..]
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("[{},\"{v}\"]", end - 300 * (287 - i as i64)))
        .collect();
    let body = format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{{\"metric\":{{\"job\":\"web\"}},\"values\":[{}]}}]}}}}",
        values.join(",")
    );
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args([
            "scale",
            "--predict",
            "--prometheus",
            &url,
            "--query",
            "sum(load)",
        ])
        .args([
            "--header",
            "X-Scope-OrgID: team-a",
            "--range",
            "1d",
            "--target-per-replica",
            "10",
        ])
        .args(["-o", "json"])
        .env("GANTRY_PROMETHEUS_TOKEN", "s3cret")
        .env("XDG_CONFIG_HOME", "/nonexistent-gantry-test-config")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["series"]["samples"], 288);
    let request = server.join().unwrap().to_ascii_lowercase();
    // A day back from the last 5-minute boundary (which the clock may have just passed).
    let line = request.lines().next().unwrap_or_default();
    let query = line
        .strip_prefix("get /prom/api/v1/query_range?query=sum%28load%29&start=")
        .and_then(|q| q.strip_suffix("&step=300 http/1.1"))
        .unwrap_or_else(|| panic!("{request}"));
    let (start, asked_end) = query.split_once("&end=").unwrap();
    let (start, asked_end): (i64, i64) = (start.parse().unwrap(), asked_end.parse().unwrap());
    assert!(asked_end == end || asked_end == end + 300, "{request}");
    assert_eq!(asked_end - start, 86_400);
    assert!(
        request.contains("\r\nauthorization: bearer s3cret\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\nx-scope-orgid: team-a\r\n"),
        "{request}"
    );
}
