//! Snapshots of what a user reads: every command's `--help`, and the main error
//! messages with their exit codes. A change to any of them shows up as a snapshot diff
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test cli`).

use std::path::Path;
use std::process::{Command, Output};

const GANTRY: &str = env!("CARGO_BIN_EXE_gantry");

/// gantry in `home`, with no installed plugins, no configuration and no kubeconfig of
/// the user's.
fn gantry(home: &Path, args: &[&str]) -> Output {
    Command::new(GANTRY)
        .args(args)
        .current_dir(home)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("CI", "true")
        .output()
        .expect("running gantry")
}

/// Exit code, stdout and stderr as one text, with the temporary folder's path
/// replaced by `$HOME` so that snapshots do not depend on it.
fn transcript(home: &Path, out: &Output) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.replace(&home.display().to_string(), "$HOME")
}

/// The gantry subcommands listed in a help text's `Commands:` section.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        // A plugin's command passes `--help` to the plugin.
        .filter(|l| !l.contains("[plugin "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_help_text() {
    let home = tempfile::tempdir().unwrap();
    let mut pending = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = gantry(home.path(), &args);
        assert!(out.status.success(), "gantry {args:?} failed");
        let help = String::from_utf8(out.stdout).unwrap();
        let name = if path.is_empty() {
            "gantry".to_string()
        } else {
            format!("gantry-{}", path.join("-"))
        };
        insta::assert_snapshot!(format!("help__{name}"), help);
        seen += 1;
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
    }
    assert!(seen > 10, "expected help for every command, saw {seen}");
}

/// Runs gantry in a fresh home and snapshots its transcript under `name`.
fn snapshot_run(name: &str, setup: impl FnOnce(&Path), args: &[&str]) {
    let home = tempfile::tempdir().unwrap();
    setup(home.path());
    let out = gantry(home.path(), args);
    insta::assert_snapshot!(name, transcript(home.path(), &out));
}

/// `plugin test` on a plugin whose answer breaks the `scale.forecast` contract: one error
/// line naming every broken rule, exit 11.
#[test]
fn plugin_test_names_every_contract_violation() {
    snapshot_run(
        "error__plugin_test_contract",
        |home| {
            let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/contract/broken_forecast.wat");
            std::fs::write(home.join("broken.wasm"), wat::parse_file(fixture).unwrap()).unwrap();
        },
        &["plugin", "test", "./broken.wasm"],
    );
}

/// `plugin test` on the built-in forecaster example: its answer keeps the contract.
#[test]
fn plugin_test_passes_a_plugin_that_keeps_the_contract() {
    snapshot_run(
        "plugin_test__naive_forecast",
        |_| {},
        &["plugin", "test", "naive-forecast"],
    );
}

#[test]
fn plugin_test_refuses_a_plugin_without_hooks() {
    snapshot_run(
        "error__plugin_test_no_hooks",
        |_| {},
        &["plugin", "test", "hello"],
    );
}

#[test]
fn missing_kubeconfig_names_where_it_looked() {
    snapshot_run(
        "error__no_kubeconfig",
        |_| {},
        &["scale", "deploy/web", "--replicas", "2"],
    );
}

#[test]
fn unreadable_kubeconfig_names_the_file_once() {
    snapshot_run(
        "error__kubeconfig_missing_file",
        |_| {},
        &[
            "scale",
            "deploy/web",
            "--replicas",
            "2",
            "--kubeconfig",
            "nowhere.yaml",
        ],
    );
}

/// `gantry [GLOBAL...] scale deploy/web --replicas 2` with `kubeconfig` as its
/// kubeconfig file.
fn scale_with_kubeconfig(home: &Path, kubeconfig: &str, global: &[&str]) -> Output {
    let file = home.join("config.yaml");
    std::fs::write(&file, kubeconfig).unwrap();
    let mut args = global.to_vec();
    args.extend(["scale", "deploy/web", "--replicas", "2", "--kubeconfig"]);
    args.push(file.to_str().unwrap());
    gantry(home, &args)
}

#[test]
fn kubeconfig_yaml_error_keeps_its_caret_diagram() {
    let home = tempfile::tempdir().unwrap();
    let bad = "apiVersion: v1\nkind: Config\nclusters: [\n  - x: :\n";
    let out = scale_with_kubeconfig(home.path(), bad, &[]);
    insta::assert_snapshot!("error__kubeconfig_yaml", transcript(home.path(), &out));
}

#[test]
fn selection_with_a_name_says_what_to_give() {
    snapshot_run(
        "error__all_with_name",
        |_| {},
        &["scale", "deploy/web", "--all", "--replicas", "2"],
    );
}

#[test]
fn verbose_shows_the_cause_chain() {
    let home = tempfile::tempdir().unwrap();
    let unreachable = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: c\n";
    let quiet = scale_with_kubeconfig(home.path(), unreachable, &[]);
    let verbose = scale_with_kubeconfig(home.path(), unreachable, &["-v"]);
    assert_eq!(quiet.status.code(), Some(1));
    assert_eq!(verbose.status.code(), Some(1));
    let quiet = String::from_utf8_lossy(&quiet.stderr).to_string();
    let verbose = String::from_utf8_lossy(&verbose.stderr).to_string();
    assert!(
        quiet.starts_with("error: cannot reach the API server at https://127.0.0.1:1"),
        "{quiet}"
    );
    assert!(!quiet.contains("caused by"), "{quiet}");
    assert!(verbose.contains("  caused by: "), "{verbose}");
    assert!(verbose.contains("Connection refused"), "{verbose}");
}

#[test]
fn plugin_list_json_has_a_schema() {
    snapshot_run(
        "json__plugin_list",
        |_| {},
        &["-o", "json", "plugin", "list"],
    );
}

#[test]
fn commands_without_json_refuse_it() {
    for command in ["collapse", "flamegraph", "save"] {
        let home = tempfile::tempdir().unwrap();
        let mut args = vec!["-o", "json", "profile", command, "cpu.pb.gz"];
        if command != "collapse" {
            args.extend(["-O", "out"]);
        }
        let out = gantry(home.path(), &args);
        insta::assert_snapshot!(
            format!("error__json_refused_{command}"),
            transcript(home.path(), &out)
        );
    }
    for args in [
        &["completions", "bash"][..],
        &["plugin", "new", "demo"],
        &["plugin", "run", "hello", "--", "world"],
        &["hello", "world"],
        &["plugin", "remove", "demo"],
    ] {
        let home = tempfile::tempdir().unwrap();
        let out = gantry(home.path(), &[&["-o", "json"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("has no JSON output"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!home.path().join("demo").exists(), "{args:?}");
    }
}

#[test]
fn quiet_prints_no_results() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["-q", "plugin", "list"][..],
        &["-q", "-o", "json", "plugin", "list"],
    ] {
        let out = gantry(home.path(), args);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn output_flag_given_a_file_points_at_dash_capital_o() {
    snapshot_run(
        "error__output_flag_file",
        |_| {},
        &["profile", "flamegraph", "cpu.pb.gz", "-o", "cpu.svg"],
    );
}

/// A Go heap profile in the legacy text form, small enough to write inline.
const HEAP_TEXT: &str =
    "heap profile: 1: 1024 [2: 2048] @ heap/1048576\n1: 1024 [2: 2048] @ 0x401000 0x402000\n";

#[test]
fn a_write_into_a_missing_folder_names_the_users_path() {
    snapshot_run(
        "error__output_into_missing_folder",
        |home| std::fs::write(home.join("heap.txt"), HEAP_TEXT).unwrap(),
        &["profile", "flamegraph", "heap.txt", "-O", "nowhere/cpu.svg"],
    );
}

#[test]
fn dash_capital_o_dash_writes_to_stdout() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("heap.txt"), HEAP_TEXT).unwrap();
    let out = gantry(
        home.path(),
        &["profile", "flamegraph", "heap.txt", "-O", "-"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.starts_with(b"<?xml"),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!home.path().join("-").exists(), "wrote a file named -");
}

#[test]
fn configured_memory_raises_what_a_plugin_gets() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("gantry.toml");
    std::fs::write(&config, "[plugins]\nmemory_mib = 1024\ntimeout = \"45s\"\n").unwrap();
    let info = |extra: &[&str]| {
        let mut args = vec!["--config", config.to_str().unwrap(), "-o", "json"];
        args.extend(extra);
        args.extend(["plugin", "info", "hello"]);
        let out = gantry(home.path(), &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let json = info(&[]);
    assert_eq!(json["schema"], "gantry.plugin.info/v1");
    assert_eq!(json["effective_memory_mib"], 1024);
    assert_eq!(json["effective_timeout_ms"], 45_000);
}

#[test]
fn an_unknown_config_key_names_the_readme_section_that_exists() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("bad.toml"), "[plugins]\nmemory = 1\n").unwrap();
    let out = gantry(home.path(), &["--config", "bad.toml", "plugin", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Configuration section of the README"),
        "{stderr}"
    );
    let readme = include_str!("../README.md");
    assert!(
        readme.contains("\n## Configuration\n"),
        "the hint names a missing section"
    );
}

/// The version of `package` in a lockfile of this repository.
fn locked(lockfile: &str, package: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(lockfile);
    let lock: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let versions: Vec<&str> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some(package))
        .map(|p| p["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 1, "{package} in {lockfile}: {versions:?}");
    versions[0].to_string()
}

#[test]
fn version_reports_what_the_binary_was_built_from() {
    let home = tempfile::tempdir().unwrap();
    // A broken configuration must not stop a bug report.
    std::fs::write(home.path().join("broken.toml"), "plugins = [").unwrap();
    let out = gantry(
        home.path(),
        &["--config", "broken.toml", "-o", "json", "version"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        transcript(home.path(), &out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "build_date",
            "commit",
            "schema",
            "target",
            "tract",
            "version",
            "wasmtime"
        ]
    );
    assert_eq!(json["schema"], "gantry.version/v1");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["wasmtime"], locked("Cargo.lock", "wasmtime"));
    assert_eq!(json["tract"], locked("wasm-guest/Cargo.lock", "tract-onnx"));
    let target = json["target"].as_str().unwrap();
    assert!(
        target.starts_with(std::env::consts::ARCH),
        "target {target} on {}",
        std::env::consts::ARCH
    );
    let date = json["build_date"].as_str().unwrap();
    assert!(
        date.parse::<jiff::civil::Date>().is_ok(),
        "build date {date}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        assert_eq!(json["commit"], String::from_utf8_lossy(&head.stdout).trim());
    } else {
        assert_eq!(json["commit"], "unknown");
    }

    let text = gantry(home.path(), &["version"]);
    let text = String::from_utf8(text.stdout).unwrap();
    let short = gantry(home.path(), &["--version"]);
    assert_eq!(
        text.lines().next(),
        String::from_utf8(short.stdout).unwrap().lines().next()
    );
    assert!(text.contains(&format!("\ntarget: {target}\n")), "{text}");
}

/// A JSON document's shape: every leaf replaced by its type, every array by its first
/// element's shape. The snapshot then pins the schema and its fields, not the numbers.
fn json_shape(doc: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(s) if s.starts_with("gantry.") => Value::String(s.clone()),
        Value::String(_) => "string".into(),
        Value::Array(items) => Value::Array(items.iter().take(1).map(json_shape).collect()),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.clone(), json_shape(v)))
            .collect(),
    }
}

#[test]
fn forecast_and_infer_json_have_a_schema() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let metrics = repo.join("examples/metrics/requests.csv");
    let model = repo.join("tests/fixtures/onnx/mlp.onnx");
    let input = repo.join("tests/fixtures/onnx/mlp.input.json");
    let (metrics, model, input) = (
        metrics.to_str().unwrap(),
        model.to_str().unwrap(),
        input.to_str().unwrap(),
    );
    let home = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("json__forecast", vec!["forecast", "--metrics", metrics]),
        (
            "json__forecast_backtest",
            vec!["forecast", "--metrics", metrics, "--backtest"],
        ),
        ("json__infer", vec!["infer", model, "--input", input]),
    ] {
        let mut args = args;
        args.extend(["-o", "json"]);
        let out = gantry(home.path(), &args);
        assert!(out.status.success(), "{}", transcript(home.path(), &out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let shape = serde_json::to_string_pretty(&json_shape(&doc)).unwrap();
        insta::assert_snapshot!(name, shape);
    }
}
