//! The example plugins, run as a user runs them: the built-in `hello` and the Go
//! `hello-go` through `gantry plugin run`, and the built-in `naive-forecast` through the
//! host's hook API, `Host::call_hook`.
//!
//! Needs Go 1.21 or later on PATH (`go`), for `GOOS=wasip1 GOARCH=wasm go build`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gantry_plugins::{Host, Origin, PluginError, RunOptions};
use serde_json::json;

fn gantry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-gantry-test-config")
        .output()
        .expect("running gantry")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The directory `plugins/bundled/build.rs` builds the bundled guests into: `<target>/wasm-guest`,
/// beside the profile directory that holds this test's `OUT_DIR`.
fn guest_release_dir() -> PathBuf {
    Path::new(env!("OUT_DIR"))
        .ancestors()
        .nth(4)
        .expect("OUT_DIR layout")
        .join("wasm-guest/wasm32-wasip1/release")
}

#[test]
fn builtin_hello_greets_its_arguments() {
    let out = gantry(&["plugin", "run", "hello", "--", "world"]);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "Hello, world!\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn hello_go_builds_with_go_and_runs_with_its_manifest_beside_it() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-guest/examples/hello-go");
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("hello-go.wasm");
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&wasm)
        .arg(".")
        .current_dir(&source)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap_or_else(|e| panic!("running `go build` ({e}); this test needs Go 1.21+ on PATH"));
    assert!(
        build.status.success(),
        "go build failed: {}",
        text(&build.stderr)
    );
    std::fs::copy(
        source.join("hello-go.toml"),
        dir.path().join("hello-go.toml"),
    )
    .unwrap();

    let wasm = wasm.to_str().unwrap();
    // Compiling Go's runtime counts against the deadline (10 s by default), which a
    // loaded test machine can approach; the manifest still caps the run at 2 s.
    let out = gantry(&[
        "plugin",
        "run",
        wasm,
        "--timeout",
        "120s",
        "--",
        "big",
        "world",
    ]);
    assert_eq!(
        text(&out.stdout),
        "Hello, big world!\n",
        "stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));

    // The manifest beside the module is what names it and caps it.
    let info = gantry(&["-o", "json", "plugin", "info", wasm]);
    assert_eq!(info.status.code(), Some(0), "{}", text(&info.stderr));
    assert!(
        text(&info.stdout).contains("\"hello-go\""),
        "{}",
        text(&info.stdout)
    );
}

fn naive_forecast() -> (Host, gantry_plugins::Plugin) {
    let wasm = std::fs::read(guest_release_dir().join("naive-forecast.wasm"))
        .expect("plugins/bundled/build.rs builds naive-forecast.wasm");
    let host = Host::new(None).unwrap();
    let plugin = host
        .load_bytes(&wasm, Origin::BuiltIn("naive-forecast".into()))
        .unwrap();
    (host, plugin)
}

#[test]
fn naive_forecast_answers_the_forecast_hook() {
    let (host, plugin) = naive_forecast();
    // A daily-like cycle of 12 five-minute samples, three times over, top at index 5.
    let t0 = 1_700_000_000i64;
    let cycle = [
        10.0, 12.0, 15.0, 20.0, 30.0, 50.0, 30.0, 20.0, 15.0, 12.0, 10.0, 10.0,
    ];
    let series: Vec<_> = (0..36)
        .map(|i| json!({ "t": t0 + 300 * i, "v": cycle[i as usize % 12] }))
        .collect();
    let input = json!({ "series": series, "interval_s": 300, "horizon_steps": 12 });
    let output = host
        .call_hook(&plugin, "scale.forecast", input, &RunOptions::default())
        .unwrap();

    assert_eq!(output["p50_peak"], 50.0);
    let p90 = output["p90_peak"].as_f64().unwrap();
    assert!(p90 > 50.0 && p90 < 100.0, "{output}");
    assert_eq!(output["peak_at"], t0 + 300 * (24 + 5) + 300 * 12);
    assert_eq!(output["model"], "naive-forecast@0.1.0");
}

#[test]
fn naive_forecast_refuses_bad_input_with_a_message() {
    let (host, plugin) = naive_forecast();
    let input = json!({ "series": [], "interval_s": 300, "horizon_steps": 12 });
    match host.call_hook(&plugin, "scale.forecast", input, &RunOptions::default()) {
        Err(PluginError::HookFailed { message, .. }) => {
            assert!(message.contains("the series is empty"), "{message}")
        }
        other => panic!("expected HookFailed, got {other:?}"),
    }
}
