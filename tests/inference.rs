//! `gantry infer` end to end, through the real binary and its bundled inference guest
//! (tract-onnx), and the forecaster guest's model against onnxruntime.
//!
//! Golden tests: the models in `tests/fixtures/onnx/` (made by `tests/onnx/make_golden.py`
//! with onnxruntime) must give onnxruntime's recorded outputs within 1e-4 relative. When
//! `python3` can import onnxruntime, the same script also runs onnxruntime live on the
//! fixtures and the outputs are compared again; `GANTRY_REQUIRE_ONNXRUNTIME=1` makes its
//! absence a failure (CI sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const GOLDEN: &[&str] = &["mlp", "cnn1d", "lstm", "gru", "forecaster"];
const RELATIVE: f64 = 1e-4;
/// Outputs near zero are compared absolutely at this level instead.
const ABSOLUTE_FLOOR: f64 = 1e-6;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/onnx")
}

fn model_path(name: &str) -> PathBuf {
    if name == "forecaster" {
        repo().join("wasm-guest/forecaster/model/forecaster.onnx")
    } else {
        fixtures().join(format!("{name}.onnx"))
    }
}

fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("inference-cache")
}

/// Runs the real binary with a shared module cache and no user configuration. The
/// first call compiles the ONNX runner into that cache while the others wait, so that
/// parallel tests do not each compile it.
fn gantry(args: &[&str]) -> Output {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    WARM.get_or_init(|| {
        let model = model_path("mlp");
        let input = fixtures().join("mlp.input.json");
        let warm = gantry_with_cache(
            &shared_cache(),
            &[
                "infer",
                model.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
            ],
        );
        assert!(
            warm.status.success(),
            "{}",
            String::from_utf8_lossy(&warm.stderr)
        );
    });
    gantry_with_cache(&shared_cache(), args)
}

fn gantry_with_cache(cache: &Path, args: &[&str]) -> Output {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let config_home = tmp.join("inference-config-home");
    std::fs::create_dir_all(&config_home).expect("creating a config home");
    Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(args)
        .current_dir(repo())
        .env("GANTRY_CACHE_DIR", cache)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("GANTRY_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("running gantry")
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "gantry failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("data is an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Every expected output is present with the same shape and values within tolerance.
fn assert_close(name: &str, got: &Value, want: &Value) {
    let want = want.as_object().expect("expected outputs are an object");
    for (output, w) in want {
        let g = &got[output];
        assert_eq!(g["shape"], w["shape"], "{name}: shape of `{output}`");
        let (g, w) = (floats(&g["data"]), floats(&w["data"]));
        assert_eq!(g.len(), w.len(), "{name}: length of `{output}`");
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            let tol = (RELATIVE * b.abs()).max(ABSOLUTE_FLOOR);
            assert!(
                (a - b).abs() <= tol,
                "{name}: `{output}`[{i}] = {a}, onnxruntime says {b} (tolerance {tol})"
            );
        }
    }
}

fn onnxruntime_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import onnxruntime, onnx, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var_os("GANTRY_REQUIRE_ONNXRUNTIME").is_some_and(|v| v == "1") {
        panic!(
            "GANTRY_REQUIRE_ONNXRUNTIME=1 but python3 cannot import onnxruntime; \
             pip install -r tests/onnx/requirements.txt"
        );
    }
    ok
}

#[test]
fn infer_matches_onnxruntime_on_golden_models() {
    let live = onnxruntime_available();
    if !live {
        eprintln!("onnxruntime is not importable: comparing with recorded outputs only");
    }
    for name in GOLDEN {
        let model = model_path(name);
        let input = fixtures().join(format!("{name}.input.json"));
        let got = stdout_json(&gantry(&[
            "infer",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "-o",
            "json",
        ]));
        assert_eq!(got["schema"], "gantry.infer/v1");
        let got = &got["outputs"];
        let recorded = read_json(&fixtures().join(format!("{name}.expected.json")));
        assert_close(name, got, &recorded);
        if live {
            let out = Command::new("python3")
                .arg(repo().join("tests/onnx/make_golden.py"))
                .args(["--run", model.to_str().unwrap(), input.to_str().unwrap()])
                .output()
                .expect("running onnxruntime");
            let fresh = stdout_json(&out);
            assert_close(name, got, &fresh);
        }
    }
}

#[test]
fn nested_arrays_are_the_same_input() {
    let input = read_json(&fixtures().join("mlp.input.json"));
    let x = &input["x"];
    let cols = x["shape"][1].as_u64().unwrap() as usize;
    let rows: Vec<Value> = floats(&x["data"])
        .chunks(cols)
        .map(|r| Value::from(r.to_vec()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("nested.json");
    std::fs::write(&nested, serde_json::json!({ "x": rows }).to_string()).unwrap();
    let model = model_path("mlp");
    let got = stdout_json(&gantry(&[
        "infer",
        model.to_str().unwrap(),
        "--input",
        nested.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_close(
        "mlp (nested)",
        &got["outputs"],
        &read_json(&fixtures().join("mlp.expected.json")),
    );
}

#[test]
fn table_output_names_every_output() {
    let model = model_path("mlp");
    let input = fixtures().join("mlp.input.json");
    let out = gantry(&[
        "infer",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("OUTPUT"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("probs ") && l.contains("[3,4]")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("y ") && l.contains("12 values")),
        "{text}"
    );
}

/// Runs `gantry infer` expecting a failure; returns (exit code, stderr).
fn infer_error(model: &Path, input: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("input.json");
    std::fs::write(&input_path, input).unwrap();
    let mut args = vec![
        "infer",
        model.to_str().unwrap(),
        "--input",
        input_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = gantry(&args);
    assert!(
        !out.status.success(),
        "gantry infer succeeded on {}",
        model.display()
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const MLP_INPUT_BAD_SHAPE: &str =
    r#"{"x":{"shape":[3,7],"data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}"#;

#[test]
fn a_file_that_is_not_onnx_is_named() {
    let (code, err) = infer_error(&fixtures().join("not-onnx.onnx"), "{}", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not an ONNX model"), "{err}");
}

#[test]
fn an_unsupported_operator_is_named() {
    let (code, err) = infer_error(
        &fixtures().join("unsupported-op.onnx"),
        r#"{"x":[[1,2]]}"#,
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`TreeEnsembleRegressor`"), "{err}");
    assert!(err.contains("tract does not support"), "{err}");
}

#[test]
fn a_missing_input_is_named() {
    let (code, err) = infer_error(&model_path("mlp"), "{}", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing input `x` [?,8]"), "{err}");
    let (code, err) = infer_error(&model_path("forecaster"), r#"{"window":[[1,2]]}"#, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing input `horizon`"), "{err}");
}

#[test]
fn a_wrong_shape_is_named() {
    let (code, err) = infer_error(&model_path("mlp"), MLP_INPUT_BAD_SHAPE, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("input `x` has shape [3,7], the model expects [?,8]"),
        "{err}"
    );
    let (code, err) = infer_error(&model_path("mlp"), r#"{"x":[[1,2],[3]]}"#, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ragged"), "{err}");
}

/// Protobuf encoding, enough to write a valid ONNX model of any size without Python.
mod pb {
    pub fn varint(mut x: u64, out: &mut Vec<u8>) {
        while x >= 0x80 {
            out.push((x as u8) | 0x80);
            x >>= 7;
        }
        out.push(x as u8);
    }
    pub fn int(field: u64, x: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(x, out);
    }
    pub fn bytes(field: u64, data: &[u8], out: &mut Vec<u8>) {
        varint((field << 3) | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }
    /// ValueInfoProto for a float tensor of shape `dims`.
    pub fn value_info(name: &str, dims: &[u64]) -> Vec<u8> {
        let mut shape = Vec::new();
        for &d in dims {
            let mut dim = Vec::new();
            int(1, d, &mut dim);
            bytes(1, &dim, &mut shape);
        }
        let mut tensor = Vec::new();
        int(1, 1, &mut tensor); // elem_type FLOAT
        bytes(2, &shape, &mut tensor);
        let mut ty = Vec::new();
        bytes(1, &tensor, &mut ty);
        let mut vi = Vec::new();
        bytes(1, name.as_bytes(), &mut vi);
        bytes(2, &ty, &mut vi);
        vi
    }
}

/// `y = x + w` with `w` a float initialiser of `n` elements.
fn big_model(n: u64) -> Vec<u8> {
    let mut weight = Vec::new();
    pb::int(1, n, &mut weight); // dims
    pb::int(2, 1, &mut weight); // data_type FLOAT
    pb::bytes(8, b"w", &mut weight); // name
    pb::bytes(9, &vec![0u8; (n * 4) as usize], &mut weight); // raw_data
    let mut node = Vec::new();
    pb::bytes(1, b"x", &mut node);
    pb::bytes(1, b"w", &mut node);
    pb::bytes(2, b"y", &mut node);
    pb::bytes(4, b"Add", &mut node);
    let mut graph = Vec::new();
    pb::bytes(1, &node, &mut graph);
    pb::bytes(2, b"big", &mut graph);
    pb::bytes(5, &weight, &mut graph);
    pb::bytes(11, &pb::value_info("x", &[n]), &mut graph);
    pb::bytes(12, &pb::value_info("y", &[n]), &mut graph);
    let mut opset = Vec::new();
    pb::int(2, 13, &mut opset);
    let mut model = Vec::new();
    pb::int(1, 8, &mut model); // ir_version
    pb::bytes(8, &opset, &mut model);
    pb::bytes(7, &graph, &mut model);
    model
}

#[test]
fn a_model_too_large_for_the_memory_cap_says_how_to_raise_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("big.onnx");
    // 24 MiB of weights against a 32 MiB cap.
    std::fs::write(&model, big_model(6 << 20)).unwrap();
    let (code, err) = infer_error(
        &model,
        r#"{"x":{"shape":[1],"data":[1]}}"#,
        &["--memory-mib", "32"],
    );
    assert_eq!(code, 10, "{err}");
    assert!(err.contains("--memory-mib"), "{err}");
    assert!(err.contains("plugins.memory_mib"), "{err}");
}

#[test]
fn a_small_model_of_the_same_form_runs() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("small.onnx");
    std::fs::write(&model, big_model(3)).unwrap();
    let input = dir.path().join("x.json");
    std::fs::write(&input, r#"{"x":[1.5,2,-3]}"#).unwrap();
    let got = stdout_json(&gantry(&[
        "infer",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(
        got,
        serde_json::json!({
            "schema": "gantry.infer/v1",
            "outputs": {"y": {"shape": [3], "data": [1.5, 2.0, -3.0]}}
        })
    );
}

/// The forecaster guest evaluates its model with its own small interpreter: on the
/// golden windows it must give onnxruntime's outputs, like tract does.
#[test]
fn the_forecaster_guest_matches_onnxruntime() {
    let live = onnxruntime_available();
    let input = fixtures().join("forecaster.input.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["plugin", "run", "forecaster", "--", "run"])
        .current_dir(repo())
        .env("GANTRY_CACHE_DIR", shared_cache())
        .env_remove("GANTRY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running gantry");
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        &std::fs::read(&input).unwrap(),
    )
    .unwrap();
    let got = stdout_json(&child.wait_with_output().unwrap());
    let recorded = read_json(&fixtures().join("forecaster.expected.json"));
    assert_close("forecaster guest", &got, &recorded);
    if live {
        let model = model_path("forecaster");
        let out = Command::new("python3")
            .arg(repo().join("tests/onnx/make_golden.py"))
            .args(["--run", model.to_str().unwrap(), input.to_str().unwrap()])
            .output()
            .expect("running onnxruntime");
        assert_close("forecaster guest", &got, &stdout_json(&out));
    }
}

/// The forecaster's machine code ships in the binary: a first forecast with an empty
/// module cache compiles nothing, so it writes no cache entry.
#[test]
fn the_first_forecast_runs_the_shipped_machine_code() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cold-forecast-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let out = gantry_with_cache(
        &cache,
        &["forecast", "--metrics", "examples/metrics/requests.csv"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<_> = std::fs::read_dir(cache.join("modules"))
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "compiled into the cache: {entries:?}");
    let info = stdout_json(&gantry_with_cache(
        &cache,
        &["plugin", "info", "forecaster", "-o", "json"],
    ));
    assert_eq!(info["machine_code"], "shipped in the binary", "{info}");
}

/// The ONNX runner ships compressed and compiles on first use: that first run says
/// what it cost, once; the next one loads it from the cache and says nothing.
#[test]
fn the_first_infer_states_its_one_time_compile_cost() {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cold-infer-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let model = model_path("mlp");
    let input = fixtures().join("mlp.input.json");
    let args = [
        "infer",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    let first = gantry_with_cache(&cache, &args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let note = String::from_utf8_lossy(&first.stderr);
    assert!(
        note.contains("note: compiled the ONNX runner") && note.contains("a one-time cost"),
        "{note}"
    );
    let second = gantry_with_cache(&cache, &args);
    assert!(second.status.success());
    assert!(
        second.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(first.stdout, second.stdout);
}
