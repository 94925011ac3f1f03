//! `gantry forecast` end to end, through the real binary and its forecaster guest, on
//! real series: NAB files (`tests/fixtures/forecast/`, MIT, see LICENSE-NAB.txt),
//! Prometheus responses saved from a real Prometheus (`tests/forecast/prometheus_fixture.sh`)
//! and forms of them written the ways other tools export series.
//!
//! The backtest's quality bar comes from `tests/forecast/naive_backtest.py`, an
//! independent computation of the naive baselines over the same CSV.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A held-out NAB series (EC2 CPU %, 4032 samples every 5 minutes, no gaps).
const CPU: &str = "ec2_cpu_utilization_5f5533.csv";
/// A real NAB series with 11 repeated timestamps.
const LATENCY: &str = "ec2_request_latency_system_failure.csv";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/forecast")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "gantry failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// A refusal: exit 2, one `error:` line naming the problem, no panic.
    fn refused(&self, expected: &str) {
        assert_eq!(self.code, 2, "{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        let line = self.stderr.lines().next().unwrap_or("");
        assert!(
            line.starts_with("error: ") && line.contains(expected),
            "expected an error containing {expected:?}, got {:?}",
            self.stderr
        );
    }
}

fn gantry_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("GANTRY_CACHE_DIR", dir.join("cache"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("GANTRY_CONFIG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running gantry");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(bytes).expect("writing stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("gantry runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn gantry(args: &[&str]) -> Run {
    gantry_in(Path::new(env!("CARGO_TARGET_TMPDIR")), args, None)
}

fn forecast_json(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "forecast",
        "--metrics",
        path.to_str().unwrap(),
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    gantry(&args).json()
}

/// The NAB CSV as (unix seconds, value text).
fn nab_rows(name: &str) -> Vec<(i64, String)> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
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
            (t, v.to_string())
        })
        .collect()
}

fn rfc3339(t: i64, offset_hours: i8) -> String {
    let offset = jiff::tz::Offset::constant(offset_hours);
    jiff::Timestamp::from_second(t)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(offset))
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The same real series written the ways SREs find series: every form must give the
/// same forecast as the NAB file itself.
#[test]
fn every_input_form_gives_the_same_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let rows = nab_rows(CPU);
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let lines = |f: &dyn Fn(&(i64, String)) -> String| -> String {
        rows.iter().map(|r| f(r) + "\n").collect()
    };
    let reference = forecast_json(&fixture(CPU), &[]);
    let forms: Vec<(PathBuf, &str)> = vec![
        (
            write("headerless.csv", lines(&|(t, v)| format!("{t},{v}"))),
            "no header; time from column 1 (Unix seconds), values from column 2",
        ),
        (
            write(
                "time_cpu.csv",
                format!(
                    "time,cpu\n{}",
                    lines(&|(t, v)| format!("{},{v}", rfc3339(*t, 0)))
                ),
            ),
            "time from `time` (column 1)",
        ),
        (
            write(
                "export.csv",
                format!(
                    "\u{feff}\"host\";\"Time\";\"cpu %\"\r\n{}",
                    rows.iter()
                        .rev()
                        .map(|(t, v)| format!(
                            "\"i-5f5533\";\"{}\";\"{}\"\r\n",
                            rfc3339(*t, 2),
                            v.replace('.', ",")
                        ))
                        .collect::<String>()
                ),
            ),
            "`;`-separated; time from `Time` (column 2)",
        ),
        (
            write(
                "millis.tsv",
                format!(
                    "ts\tvalue\n{}",
                    lines(&|(t, v)| format!("{}\t{v}", t * 1000))
                ),
            ),
            "tab-separated; time from `ts` (column 1) (Unix milliseconds)",
        ),
        (
            write(
                "points.json",
                serde_json::to_string(
                    &rows
                        .iter()
                        .map(|(t, v)| serde_json::json!({"t": t, "v": v.parse::<f64>().unwrap()}))
                        .collect::<Vec<_>>(),
                )
                .unwrap(),
            ),
            "",
        ),
        (fixture("prometheus_query_range.json"), ""),
    ];
    for (path, note) in &forms {
        let doc = forecast_json(path, &[]);
        let notes = doc["series"]["notes"].to_string();
        assert!(notes.contains(note), "{}: {notes}", path.display());
        for key in ["p50_peak", "p90_peak", "peak_at"] {
            assert_eq!(doc[key], reference[key], "{}: {key}", path.display());
        }
    }
    // Out of order and sorted, with a note.
    let export = forecast_json(&forms[2].0, &[]);
    assert!(
        export["series"]["notes"]
            .to_string()
            .contains("4031 lines were out of time order; sorted by time")
    );
    // Standard input.
    let text = std::fs::read(fixture(CPU)).unwrap();
    let run = gantry_in(
        dir.path(),
        &["forecast", "--metrics", "-", "-o", "json"],
        Some(&text),
    );
    assert_eq!(run.json()["p90_peak"], reference["p90_peak"]);
    // Columns by name and by index.
    let wide = write(
        "wide.csv",
        format!("time,mem,cpu\n{}", lines(&|(t, v)| format!("{t},1,{v}"))),
    );
    let run = gantry(&["forecast", "--metrics", wide.to_str().unwrap()]);
    run.refused("2 numeric columns (`mem`, `cpu`); choose one with --value-column");
    assert_eq!(
        forecast_json(&wide, &["--value-column", "cpu"])["p90_peak"],
        reference["p90_peak"]
    );
    assert_eq!(
        forecast_json(&wide, &["--value-column", "3", "--time-column", "time"])["p90_peak"],
        reference["p90_peak"]
    );
}

/// A trace export with no time column needs --interval.
#[test]
fn a_series_without_times_needs_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.csv");
    let rows = nab_rows(CPU);
    let text: String = std::iter::once("cpu\n".to_string())
        .chain(rows.iter().map(|(_, v)| format!("{v}\n")))
        .collect();
    std::fs::write(&path, text).unwrap();
    gantry(&["forecast", "--metrics", path.to_str().unwrap()])
        .refused("no time column among `cpu`; give the sampling interval with --interval");
    let doc = forecast_json(&path, &["--interval", "5m"]);
    let reference = forecast_json(&fixture(CPU), &[]);
    assert_eq!(doc["p90_peak"], reference["p90_peak"]);
    assert_eq!(doc["series"]["timed"], false);
    let run = gantry(&[
        "forecast",
        "--metrics",
        path.to_str().unwrap(),
        "--interval",
        "5m",
    ]);
    assert!(
        run.stdout.contains("after the last sample"),
        "{}",
        run.stdout
    );
}

#[test]
fn repeated_timestamps_are_merged_with_a_note_or_refused() {
    let path = fixture(LATENCY);
    let doc = forecast_json(&path, &[]);
    let notes = doc["series"]["notes"].to_string();
    assert!(
        notes.contains("1 time appeared more than once (12 lines); merged by max"),
        "{notes}"
    );
    let mean = forecast_json(&path, &["--duplicates", "mean"]);
    assert!(
        mean["series"]["notes"]
            .to_string()
            .contains("merged by mean")
    );
    gantry(&[
        "forecast",
        "--metrics",
        path.to_str().unwrap(),
        "--duplicates",
        "error",
    ])
    .refused("appears at line");
}

#[test]
fn prometheus_responses_with_several_series_list_them() {
    gantry(&[
        "forecast",
        "--metrics",
        fixture("prometheus_two_series.json").to_str().unwrap(),
    ])
    .refused(
        "holds 2 series: nab_cpu_utilization{instance=\"i-5f5533\", job=\"nab\"}, nab_cpu_utilization{instance=\"i-5f5533-half\", job=\"nab\"}; narrow the query",
    );
}

/// Every bad input gets its message and exit code 2, never a panic.
#[test]
fn bad_inputs_are_refused_with_where_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("empty.csv", "", "empty.csv: the input is empty"),
        ("blank.csv", "\n\n  \n", "blank.csv: the input is empty"),
        (
            "bad_time.csv",
            "timestamp,value\n2014-04-10 00:00:00,1\n2014-04-10 00:05:00,2\n2014-02-30 00:10:00,3\n",
            "bad_time.csv, line 4, column 1 (timestamp): `2014-02-30 00:10:00` is not a time",
        ),
        (
            "bad_offset.csv",
            "timestamp,value\n2014-04-10T00:00:00Z,1\n2014-04-10T00:05:00+99:99,2\n",
            "bad_offset.csv, line 3, column 1 (timestamp): `2014-04-10T00:05:00+99:99` is not a time",
        ),
        (
            "no_time.csv",
            "timestamp,value\n2014-04-10 00:00:00,1\n,2\n",
            "no_time.csv, line 3, column 1 (timestamp): no time",
        ),
        (
            "mostly_gaps.csv",
            "timestamp,value\n0,1\n300,NaN\n600,\n900,x\n1200,2\n",
            "3 of the 5 steps of 5m",
        ),
        (
            "text.csv",
            "name,comment\nweb,fine\napi,slow\n",
            "no numeric column among",
        ),
        ("json.json", "[{\"t\":1,\"v\":1}", "not a series in JSON"),
        (
            "object.json",
            "{\"hello\":1}",
            "expected [{\"t\":..,\"v\":..}]",
        ),
        (
            "instant.json",
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"1\"]}]}}",
            "an instant query",
        ),
        (
            "few.csv",
            "t,v\n0,1\n60,2\n120,3\n",
            "3 samples are too few for a forecast",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        gantry(&["forecast", "--metrics", path.to_str().unwrap()]).refused(expected);
    }
    gantry(&["forecast", "--metrics", "/no/such/file.csv"]).refused("reading /no/such/file.csv");
    gantry(&[
        "forecast",
        "--metrics",
        fixture(CPU).to_str().unwrap(),
        "--horizon",
        "100",
    ])
    .refused("1 to 72 steps");
    gantry(&[
        "forecast",
        "--metrics",
        fixture(CPU).to_str().unwrap(),
        "--time-column",
        "when",
    ])
    .refused("--time-column `when`: no such column; the columns are `timestamp`, `value`");
    gantry(&[
        "forecast",
        "--metrics",
        fixture(CPU).to_str().unwrap(),
        "--interval",
        "10ms",
    ])
    .refused("shorter than a second");
}

/// The bar comes from `naive_backtest.py` over the same CSV; gantry's own baseline
/// rows must agree with it, and the calibrated forecast must clear it.
#[test]
fn backtest_meets_the_quality_targets_on_a_held_out_series() {
    for horizon in ["12", "36"] {
        let out = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/forecast/naive_backtest.py"))
            .arg(fixture(CPU))
            .args(["--horizon", horizon])
            .output()
            .expect("python3 runs (CI installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let python: Value = serde_json::from_slice(&out.stdout).unwrap();
        let doc = forecast_json(&fixture(CPU), &["--backtest", "--horizon", horizon]);
        assert_eq!(
            doc["points"].as_array().unwrap().len() as u64,
            python["origins"].as_u64().unwrap()
        );
        let summary = doc["summary"].as_array().unwrap();
        let row = |method: &str| {
            summary
                .iter()
                .find(|m| m["method"] == method)
                .unwrap_or_else(|| panic!("no {method} row in {summary:?}"))
        };
        for method in ["window-max", "seasonal-day", "seasonal-week"] {
            let ours = row(method)["wape"].as_f64().unwrap();
            let theirs = python["wape"][method].as_f64().unwrap();
            assert!(
                (ours - theirs).abs() < 1e-9,
                "{method}: gantry {ours}, python {theirs}"
            );
        }
        let calibrated = &summary[0];
        assert!(
            calibrated["method"]
                .as_str()
                .unwrap()
                .ends_with("calibrated"),
            "{calibrated}"
        );
        let wape = calibrated["wape"].as_f64().unwrap();
        let bar = python["best_naive"].as_f64().unwrap();
        assert!(
            wape <= bar,
            "horizon {horizon}: p50 WAPE {wape} above the best naive {bar}"
        );
        let under = calibrated["under_provisioning_rate"].as_f64().unwrap();
        assert!(
            (0.05..=0.15).contains(&under),
            "horizon {horizon}: p90 under-provisioning {under}"
        );
        let over = calibrated["over_provisioning_ratio"].as_f64().unwrap();
        assert!(
            over > 0.0 && over < 1.0,
            "horizon {horizon}: over-provisioning {over}"
        );
    }
}

#[test]
fn backtest_last_limits_the_origins() {
    let doc = forecast_json(&fixture(CPU), &["--backtest", "--last", "50"]);
    assert_eq!(doc["points"].as_array().unwrap().len(), 50);
    let run = gantry(&[
        "forecast",
        "--metrics",
        fixture(CPU).to_str().unwrap(),
        "--last",
        "5",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn the_human_output_explains_the_calibration() {
    let run = gantry(&["forecast", "--metrics", fixture(CPU).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "4032 samples every 5m",
        "p90 peak",
        "peak at",
        "calibrated on",
        "p50 from",
        "window-max",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
}

/// The sandbox's memory cap for the forecaster comes from --memory-mib, or else from
/// `plugins.memory_mib` in the configuration; the error names both.
#[test]
fn the_forecasters_memory_cap_is_a_flag_and_a_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = fixture(CPU);
    let run = gantry_in(
        dir.path(),
        &[
            "forecast",
            "--metrics",
            cpu.to_str().unwrap(),
            "--memory-mib",
            "1",
        ],
        None,
    );
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("raise it with --memory-mib or plugins.memory_mib"),
        "{}",
        run.stderr
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[plugins]\nmemory_mib = 1\n").unwrap();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "forecast",
        "--metrics",
        cpu.to_str().unwrap(),
    ];
    assert_eq!(gantry_in(dir.path(), &args, None).code, 10);
}

/// The README's main job, on the shipped example.
#[test]
fn forecast_on_the_example_series() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/metrics/requests.csv");
    let doc = forecast_json(&example, &[]);
    let (p50, p90) = (
        doc["p50_peak"].as_f64().unwrap(),
        doc["p90_peak"].as_f64().unwrap(),
    );
    assert!(p50.is_finite() && p50 > 0.0 && p90 >= p50, "{doc}");
    assert_eq!(doc["model"], "gantry-forecaster@1.0.0");
    assert_eq!(doc["horizon_steps"], 12);
    assert_eq!(doc["series"]["interval_s"], 300);
    let last = doc["series"]["last_t"].as_i64().unwrap();
    let peak_at = doc["peak_at"].as_i64().unwrap();
    assert!(peak_at > last && peak_at <= last + 12 * 300, "{doc}");
    let weights: f64 = doc["calibration"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["weight"].as_f64().unwrap())
        .sum();
    assert!((weights - 1.0).abs() < 1e-9, "{doc}");

    let run = gantry(&[
        "forecast",
        "--metrics",
        example.to_str().unwrap(),
        "--horizon",
        "24",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("samples every 5m"), "{}", run.stdout);
    assert!(run.stdout.contains("24 steps (2h)"), "{}", run.stdout);
    let run = gantry(&[
        "forecast",
        "--metrics",
        example.to_str().unwrap(),
        "--backtest",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for method in [
        "calibrated",
        "gantry-forecaster@1.0.0",
        "window-max",
        "seasonal-day",
        "seasonal-week",
        "holt-winters",
    ] {
        assert!(run.stdout.contains(method), "{method}: {}", run.stdout);
    }
}
