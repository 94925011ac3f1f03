//! `gantry scale` against a real control plane: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and a kwok node, built and started by
//! `tests/k8s/cluster.sh` on 127.0.0.1. The cluster is started once per test binary and
//! goes down when the binary exits (the script's watchdog follows our PID). Each test
//! works in a namespace of its own, so they run in parallel.
//!
//! Building with GANTRY_SKIP_K8S=1 marks these tests ignored (cargo counts them as
//! such); by default they run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const GANTRY: &str = env!("CARGO_BIN_EXE_gantry");

struct Cluster {
    kubeconfig: PathBuf,
    limited: PathBuf,
    bin: PathBuf,
    run_dir: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/k8s/cluster.sh")
}

/// Starts a cluster in `run_dir` (building the binaries on first use).
fn start_cluster(run_dir: &Path) -> Cluster {
    let out = Command::new("bash")
        .arg(script())
        .arg("up")
        .env("GANTRY_K8S_RUN_DIR", run_dir)
        .env("GANTRY_K8S_OWNER_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("running tests/k8s/cluster.sh");
    assert!(out.status.success(), "tests/k8s/cluster.sh up failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let kubeconfig = stdout
        .lines()
        .find_map(|l| l.strip_prefix("export KUBECONFIG="))
        .expect("cluster.sh prints export KUBECONFIG=");
    let kubeconfig = PathBuf::from(kubeconfig);
    let bin = stdout
        .lines()
        .find_map(|l| l.strip_prefix("export PATH=\""))
        .and_then(|p| p.split(':').next())
        .expect("cluster.sh prints export PATH=");
    Cluster {
        limited: run_dir.join("kubeconfig-limited"),
        kubeconfig,
        bin: PathBuf::from(bin),
        run_dir: run_dir.to_path_buf(),
    }
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gantry-scale-tests-{}", std::process::id()));
        start_cluster(&dir)
    })
}

impl Cluster {
    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new(self.bin.join("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kubectl");
        let mut pipe = child.stdin.take().expect("kubectl stdin");
        if let Some(input) = stdin {
            pipe.write_all(input.as_bytes())
                .expect("writing to kubectl");
        }
        drop(pipe);
        let out = child.wait_with_output().expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn apply(&self, yaml: &str) {
        self.kubectl(&["apply", "-f", "-"], Some(yaml));
    }

    fn namespace(&self, ns: &str) {
        self.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
        ));
    }

    fn jsonpath(&self, ns: &str, what: &str, path: &str) -> String {
        let out = self.kubectl(
            &["-n", ns, "get", what, "-o", &format!("jsonpath={path}")],
            None,
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn replicas(&self, ns: &str, what: &str) -> String {
        self.jsonpath(ns, what, "{.spec.replicas}")
    }

    fn gantry(&self, args: &[&str]) -> Output {
        self.gantry_with(&self.kubeconfig, args)
    }

    fn gantry_with(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        Command::new(GANTRY)
            .arg("scale")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("running gantry")
    }
}

fn deployment(ns: &str, name: &str, replicas: u32, labels: &str, extra_pod_spec: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{{labels}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      {extra_pod_spec}
      containers:
      - name: app
        image: registry.invalid/web:1
"#
    )
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_code(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The error report is one `error:` line, plus a `hint:` line at most.
fn assert_one_error_line(stderr: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("hint:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn scales_by_name_in_both_target_forms() {
    let c = cluster();
    let ns = "by-name";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    let out = c.gantry(&["deploy/web", "--replicas", "3", "-n", ns]);
    assert_code(&out, 0);
    assert_eq!(
        text(&out.stdout),
        "deployment.apps/web scaled from 2 to 3 replicas\n"
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "3");
    // kubectl's `TYPE NAME` form.
    let out = c.gantry(&["deployment", "web", "--replicas", "2", "-n", ns]);
    assert_code(&out, 0);
    assert_eq!(c.replicas(ns, "deployment/web"), "2");
    // A name that does not exist.
    let out = c.gantry(&["deploy/nope", "--replicas", "2", "-n", ns]);
    assert_code(&out, 1);
    assert!(text(&out.stderr).contains("deployment.apps/nope not found in namespace by-name"));
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn scales_by_selector_and_all() {
    let c = cluster();
    let ns = "by-selector";
    c.namespace(ns);
    c.apply(&deployment(ns, "a", 2, "tier: front", ""));
    c.apply(&deployment(ns, "b", 2, "tier: front", ""));
    c.apply(&deployment(ns, "c", 2, "tier: back", ""));
    let out = c.gantry(&[
        "deploy",
        "-l",
        "tier=front",
        "--replicas",
        "3",
        "-n",
        ns,
        "-o",
        "json",
    ]);
    assert_code(&out, 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["schema"], "gantry.scale/v1");
    let results = json["results"].as_array().expect("results array");
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(results[0]["before"], 2);
    assert_eq!(results[0]["after"], 3);
    assert_eq!(results[0]["kind"], "Deployment");
    assert_eq!(results[0]["group"], "apps");
    assert_eq!(results[0]["dry_run"], "none");
    assert!(results[0]["wait"].is_null());
    assert_eq!(c.replicas(ns, "deployment/a"), "3");
    assert_eq!(c.replicas(ns, "deployment/b"), "3");
    assert_eq!(c.replicas(ns, "deployment/c"), "2");

    let out = c.gantry(&["deployments", "--all", "--replicas", "4", "-n", ns, "--yes"]);
    assert_code(&out, 0);
    for d in ["a", "b", "c"] {
        assert_eq!(c.replicas(ns, &format!("deployment/{d}")), "4");
    }
    let out = c.gantry(&["deploy", "-l", "tier=none", "--replicas", "1", "-n", ns]);
    assert_code(&out, 1);
    assert!(text(&out.stderr).contains("no deployments matched selector tier=none"));
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn scales_a_custom_resource_through_discovery() {
    let c = cluster();
    let ns = "crd";
    c.namespace(ns);
    c.apply(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {replicas: {type: integer}}}
          status: {type: object, properties: {replicas: {type: integer}}}
"#,
    );
    c.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
        ],
        None,
    );
    c.apply(&format!(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: {ns}\nspec:\n  replicas: 2\n"
    ));
    // The API server may take a moment to serve a new CRD in discovery.
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = c.gantry(&["widgets/w1", "--replicas", "3", "-n", ns]);
        if code(&out) == 0 || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_code(&out, 0);
    assert_eq!(
        text(&out.stdout),
        "widget.example.com/w1 scaled from 2 to 3 replicas\n"
    );
    assert_eq!(c.replicas(ns, "widget/w1"), "3");
    // By short name and by group-qualified singular.
    assert_code(&c.gantry(&["wg/w1", "--replicas", "4", "-n", ns]), 0);
    assert_code(
        &c.gantry(&["widget.example.com/w1", "--replicas", "5", "-n", ns]),
        0,
    );
    assert_eq!(c.replicas(ns, "widget/w1"), "5");
    // A type without /scale is refused as a usage error.
    let out = c.gantry(&["configmaps/x", "--replicas", "1", "-n", ns]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("configmap has no /scale subresource"));
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn precondition_mismatch_names_expected_and_actual() {
    let c = cluster();
    let ns = "precondition";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    let out = c.gantry(&[
        "deploy/web",
        "--replicas",
        "3",
        "--current-replicas",
        "5",
        "-n",
        ns,
    ]);
    assert_code(&out, 6);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("expected 5 current replicas, but it has 2"),
        "{stderr}"
    );
    assert_one_error_line(&stderr);
    let out = c.gantry(&[
        "deploy/web",
        "--replicas",
        "3",
        "--resource-version",
        "1",
        "-n",
        ns,
    ]);
    assert_code(&out, 6);
    assert!(text(&out.stderr).contains("expected resourceVersion 1, but it is "));
    assert_eq!(c.replicas(ns, "deployment/web"), "2");

    // The right resourceVersion goes through. The deployment controller may still be
    // writing the new Deployment's status between our read and gantry's write; a
    // precondition failure then is correct, so read again (a few times at most).
    let scale_to_3_at = |rv: &str, targets: &[&str]| {
        let mut args = targets.to_vec();
        args.extend(["--replicas", "3", "--resource-version", rv, "-n", ns]);
        c.gantry(&args)
    };
    let mut tries = 0;
    let (rv, out) = loop {
        tries += 1;
        let rv = c.jsonpath(ns, "deployment/web", "{.metadata.resourceVersion}");
        let out = scale_to_3_at(&rv, &["deploy/web"]);
        if code(&out) != 6 || tries == 5 {
            break (rv, out);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_code(&out, 0);
    assert_eq!(c.replicas(ns, "deployment/web"), "3");

    c.apply(&deployment(ns, "other", 2, "tier: front", ""));
    let out = scale_to_3_at(&rv, &["deploy/web", "deploy/other"]);
    assert_code(&out, 2);
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn concurrent_scalers_lose_no_update() {
    let c = cluster();
    let ns = "concurrent";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 4, "tier: front", ""));
    // Eight writers all expect 4 replicas; only one may win, and its value must stick.
    let kubeconfig = c.kubeconfig.clone();
    let handles: Vec<_> = (5..13)
        .map(|n| {
            let kubeconfig = kubeconfig.clone();
            std::thread::spawn(move || {
                let out = Command::new(GANTRY)
                    .args([
                        "scale",
                        "deploy/web",
                        "--current-replicas",
                        "4",
                        "--yes",
                        "-n",
                        ns,
                    ])
                    .args(["--replicas", &n.to_string(), "--kubeconfig"])
                    .arg(&kubeconfig)
                    .env("CI", "true")
                    .stdin(Stdio::null())
                    .output()
                    .expect("running gantry");
                (n, out)
            })
        })
        .collect();
    let results: Vec<(i32, Output)> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let winners: Vec<i32> = results
        .iter()
        .filter(|(_, o)| code(o) == 0)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one writer must win: {winners:?}");
    for (_, out) in results.iter().filter(|(_, o)| code(o) != 0) {
        assert_code(out, 6);
        assert!(text(&out.stderr).contains("precondition failed"));
    }
    assert_eq!(c.replicas(ns, "deployment/web"), winners[0].to_string());
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn dry_runs_show_the_diff_and_change_nothing() {
    let c = cluster();
    let ns = "dry-run";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    // The generation moves only when the spec is written (status updates from the
    // controller change the resourceVersion, not the generation).
    let generation = c.jsonpath(ns, "deployment/web", "{.metadata.generation}");
    for mode in ["server", "client"] {
        // Scaling to 0 needs no confirmation in a dry run: nothing changes.
        let out = c.gantry(&["deploy/web", "--replicas", "0", "--dry-run", mode, "-n", ns]);
        assert_code(&out, 0);
        assert_eq!(
            text(&out.stdout),
            format!(
                "deployment.apps/web (dry run: {mode})\n-  spec.replicas: 2\n+  spec.replicas: 0\n"
            )
        );
    }
    assert_eq!(c.replicas(ns, "deployment/web"), "2");
    assert_eq!(
        c.jsonpath(ns, "deployment/web", "{.metadata.generation}"),
        generation
    );
    // The server validates a server dry run: a negative count is refused by clap, an
    // unknown name by the server.
    let out = c.gantry(&[
        "deploy/nope",
        "--replicas",
        "1",
        "--dry-run",
        "server",
        "-n",
        ns,
    ]);
    assert_code(&out, 1);
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn wait_completes_when_the_rollout_does() {
    let c = cluster();
    let ns = "wait-ok";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    let out = c.gantry(&[
        "deploy/web",
        "--replicas",
        "3",
        "--wait",
        "--timeout",
        "90s",
        "-n",
        ns,
        "-o",
        "json",
    ]);
    assert_code(&out, 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let wait = &json["results"][0]["wait"];
    assert_eq!(wait["outcome"], "complete", "{json}");
    assert_eq!(wait["progress"]["ready"], 3);
    assert_eq!(wait["progress"]["available"], 3);
    assert_eq!(wait["progress"]["updated"], 3);
    assert_eq!(
        c.jsonpath(ns, "deployment/web", "{.status.availableReplicas}"),
        "3"
    );
    // Without a terminal, progress is plain log lines on stderr.
    let out = c.gantry(&[
        "deploy/web",
        "--replicas",
        "2",
        "--wait",
        "--timeout",
        "90s",
        "-n",
        ns,
    ]);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("deployment.apps/web complete: 2/2 ready"));
    assert!(text(&out.stderr).contains("deployment.apps/web: ready "));
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn wait_times_out_naming_what_is_not_ready() {
    let c = cluster();
    let ns = "wait-timeout";
    c.namespace(ns);
    c.apply(&deployment(
        ns,
        "stuck",
        1,
        "tier: front",
        "nodeSelector: {disk: none}",
    ));
    let out = c.gantry(&[
        "deploy/stuck",
        "--replicas",
        "2",
        "--wait",
        "--timeout",
        "4s",
        "-n",
        ns,
        "--yes",
    ]);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "timed out after 4s waiting for 1 of 1 targets: deployment.apps/stuck (0/2 ready"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("Unschedulable"), "{stderr}");
    // The change itself was made.
    assert_eq!(c.replicas(ns, "deployment/stuck"), "2");
}

/// `KUBECONFIG` naming two files (clusters and contexts in one, users in the other),
/// `--context`, and a user whose token comes from an exec credential plugin (a shell
/// script here, hence Unix only).
#[cfg(unix)]
#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn kubeconfig_files_merge_and_exec_plugins_supply_credentials() {
    let c = cluster();
    let ns = "exec-auth";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));

    let dir = c.run_dir.join("exec-auth");
    std::fs::create_dir_all(&dir).unwrap();
    let admin = std::fs::read_to_string(&c.kubeconfig).unwrap();
    let server = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("the admin kubeconfig names its server");
    let calls = dir.join("calls");
    let plugin = dir.join("credential-plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho called >> '{calls}'\nprintf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}' \"$(cat '{token}')\"\n",
            calls = calls.display(),
            token = c.run_dir.join("pki/admin.token").display(),
        ),
    )
    .unwrap();
    let failing = dir.join("failing-plugin.sh");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'no credentials for you' >&2\nexit 1\n",
    )
    .unwrap();
    for script in [&plugin, &failing] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let clusters = dir.join("clusters.yaml");
    std::fs::write(
        &clusters,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\ncontexts:\n- name: by-exec\n  context: {{cluster: local, user: exec-user, namespace: {ns}}}\n- name: broken\n  context: {{cluster: local, user: failing-user, namespace: {ns}}}\ncurrent-context: broken\n",
            ca = c.run_dir.join("pki/ca.crt").display(),
        ),
    )
    .unwrap();
    let users = dir.join("users.yaml");
    let exec_user = |name: &str, command: &Path| {
        format!(
            "- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
            command.display()
        )
    };
    std::fs::write(
        &users,
        format!(
            "apiVersion: v1\nkind: Config\nusers:\n{}{}",
            exec_user("exec-user", &plugin),
            exec_user("failing-user", &failing)
        ),
    )
    .unwrap();
    let merged = std::env::join_paths([&clusters, &users]).unwrap();
    let scale = |extra: &[&str]| {
        Command::new(GANTRY)
            .arg("scale")
            .args(extra)
            .args(["deploy/web", "--replicas", "3"])
            .env("KUBECONFIG", &merged)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("running gantry")
    };

    let out = scale(&["--context", "by-exec"]);
    assert_code(&out, 0);
    assert_eq!(c.replicas(ns, "deployment/web"), "3");
    assert!(
        std::fs::read_to_string(&calls).is_ok_and(|s| s.contains("called")),
        "the exec plugin was not run"
    );

    // The current context's user has a plugin that fails: one line, nothing scaled.
    c.kubectl(&["-n", ns, "scale", "deploy/web", "--replicas", "2"], None);
    let out = scale(&[]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert_one_error_line(&stderr);
    assert!(
        stderr.starts_with(
            "error: the kubeconfig's exec credential plugin failed: it exited with code 1: no credentials for you\n"
        ),
        "{stderr}"
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "2");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn limited_user_is_denied_with_one_clear_line() {
    let c = cluster();
    // The limited user may read deployments in `default`, not scale them.
    c.apply(&deployment("default", "rbac-web", 2, "tier: front", ""));
    let out = c.gantry_with(
        &c.limited,
        &["deploy/rbac-web", "--replicas", "3", "-n", "default"],
    );
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert_one_error_line(&stderr);
    assert!(stderr.starts_with("error: forbidden: "), "{stderr}");
    assert!(
        stderr.contains("User \"limited\" cannot get resource \"deployments/scale\""),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(c.replicas("default", "deployment/rbac-web"), "2");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn refuses_risky_changes_without_a_terminal_unless_yes() {
    let c = cluster();
    let ns = "refusal";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 4, "tier: front", ""));
    for replicas in ["0", "7", "1"] {
        let out = c.gantry(&["deploy/web", "--replicas", replicas, "-n", ns]);
        assert_code(&out, 3);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("refusing to scale without confirmation"),
            "{stderr}"
        );
        assert!(stderr.contains("--yes"), "{stderr}");
    }
    assert_eq!(c.replicas(ns, "deployment/web"), "4");
    let out = c.gantry(&["deploy/web", "--replicas", "0", "-n", ns, "--yes"]);
    assert_code(&out, 0);
    assert_eq!(c.replicas(ns, "deployment/web"), "0");
}

/// Stops a cluster of its own when the test ends, pass or fail.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("down")
            .env("GANTRY_K8S_RUN_DIR", &self.0)
            .stdin(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn api_server_stopped_mid_wait_gives_one_clear_line() {
    // A cluster of its own: this test kills its API server.
    let dir = std::env::temp_dir().join(format!("gantry-scale-apiserver-{}", std::process::id()));
    let _down = Down(dir.clone());
    let c = start_cluster(&dir);
    let ns = "default";
    c.apply(&deployment(
        ns,
        "stuck",
        1,
        "tier: front",
        "nodeSelector: {disk: none}",
    ));
    let child = Command::new(GANTRY)
        .args([
            "scale",
            "deploy/stuck",
            "--replicas",
            "2",
            "--wait",
            "--timeout",
            "600s",
            "-n",
            ns,
            "--yes",
        ])
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running gantry");
    let spawned = Instant::now();
    // Let it scale and start watching, then stop the API server under it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.replicas(ns, "deployment/stuck") != "2" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let pid =
        std::fs::read_to_string(c.run_dir.join("pids/kube-apiserver")).expect("apiserver pid");
    // SIGKILL: a server that dies, not one that drains its watches for a minute.
    let killed = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let out = child.wait_with_output().expect("gantry output");
    // The wait's own timeout is far away, so only noticing the dead server ends it.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "gantry took {:?} to notice (killed {:?} after it started); stderr: {}",
        started.elapsed(),
        started - spawned,
        text(&out.stderr)
    );
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot reach the API server at https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(errors[0].contains("deployment.apps/stuck"), "{stderr}");
}

// `gantry scale TYPE/NAME --predict`: the recommendation applied through the same
// steps as `gantry scale`. The load is the shipped example series; the replica counts
// come from its forecast's p90 peak, read first from a predict-only run.

fn repo_path(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

fn requests_csv() -> String {
    repo_path("examples/metrics/requests.csv")
}

/// The p90 peak that `--predict` sizes from, for the example series.
fn example_p90() -> f64 {
    static P90: OnceLock<f64> = OnceLock::new();
    *P90.get_or_init(|| {
        let out = Command::new(GANTRY)
            .args(["scale", "--predict", "--metrics", &requests_csv()])
            .args(["--target-per-replica", "1", "-o", "json"])
            .stdin(Stdio::null())
            .output()
            .expect("running gantry");
        assert_code(&out, 0);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
        json["forecast"]["p90_peak"].as_f64().expect("p90_peak")
    })
}

fn predict_json(out: &Output) -> serde_json::Value {
    assert_code(out, 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["schema"], "gantry.scale.predict/v1");
    json
}

/// `.wat` fixture `name` from tests/fixtures/forecasters, compiled to a `.wasm` file.
fn forecaster_fixture(dir: &Path, name: &str) -> String {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/forecasters")
        .join(format!("{name}.wat"));
    let wasm = wat::parse_file(&source).expect("fixture compiles");
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wasm).expect("writing the fixture");
    path.to_string_lossy().into_owned()
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn predict_applies_after_confirmation_only() {
    let c = cluster();
    let ns = "predict-apply";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 1, "tier: front", ""));
    // A target per replica that makes the p90 peak need 5 replicas.
    let target = (example_p90() / 4.5).to_string();
    let csv = requests_csv();
    let args = [
        "deploy/web",
        "--predict",
        "--metrics",
        &csv,
        "--target-per-replica",
        &target,
        "-n",
        ns,
    ];
    // No terminal and no --yes: refused, nothing changed.
    let out = c.gantry(&args);
    assert_code(&out, 3);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "refusing to scale without confirmation: deployment.apps/web would scale from 1 to 5 replicas (no terminal to ask on)"
        ),
        "{stderr}"
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "1");
    // The explanation came first, so the refusal is understood.
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("now        deployment.apps/web has 1 replicas"),
        "{stdout}"
    );
    assert!(
        stdout.contains("recommend  5 replicas: sized from the p90 peak"),
        "{stdout}"
    );

    // A server dry run changes nothing either, and needs no confirmation.
    let mut dry = args.to_vec();
    dry.extend(["--dry-run", "server"]);
    let out = c.gantry(&dry);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).ends_with(
            "deployment.apps/web (dry run: server)\n-  spec.replicas: 1\n+  spec.replicas: 5\n"
        ),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "1");

    // --yes applies it, and --wait sees the rollout through.
    let mut yes = args.to_vec();
    yes.extend(["--yes", "--wait", "--timeout", "90s", "-o", "json"]);
    let json = predict_json(&c.gantry(&yes));
    assert_eq!(json["target"], "deployment.apps/web");
    assert_eq!(json["current_replicas"], 1);
    assert_eq!(json["recommended_replicas"], 5);
    assert_eq!(json["reason"], "forecast");
    assert_eq!(json["applied"], true);
    assert_eq!(json["dry_run"], "none");
    assert_eq!(json["wait"]["outcome"], "complete");
    assert_eq!(c.replicas(ns, "deployment/web"), "5");
    assert_eq!(
        c.jsonpath(ns, "deployment/web", "{.status.readyReplicas}"),
        "5"
    );
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn predict_holds_still_inside_the_tolerance() {
    let c = cluster();
    let ns = "predict-tolerance";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 4, "tier: front", ""));
    // The p90 peak on 4 replicas at 105% of target: inside the default 10%.
    let target = (example_p90() / 4.0 / 1.05).to_string();
    let rv = c.jsonpath(ns, "deployment/web", "{.metadata.generation}");
    let csv = requests_csv();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "deploy/web",
            "--predict",
            "--metrics",
            &csv,
            "--target-per-replica",
            &target,
            "-n",
            ns,
            "--yes",
        ];
        args.extend_from_slice(extra);
        c.gantry(&args)
    };
    let json = predict_json(&run(&["-o", "json"]));
    assert_eq!(json["reason"], "within_tolerance");
    assert_eq!(json["recommended_replicas"], 4);
    assert_eq!(json["from_forecast"], 5);
    assert_eq!(json["applied"], false);
    let out = run(&[]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("recommend  4 replicas: on the current 4 replicas the p90 peak is 105% of the target, within the 10% tolerance (--tolerance): no change"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("deployment.apps/web stays at 4 replicas: nothing to change\n"),
        "{stdout}"
    );
    // Nothing was written.
    assert_eq!(
        c.jsonpath(ns, "deployment/web", "{.metadata.generation}"),
        rv
    );
    // A tighter tolerance scales.
    let json = predict_json(&run(&["--tolerance", "0.01", "-o", "json"]));
    assert_eq!(
        (
            json["recommended_replicas"].as_i64(),
            json["applied"].as_bool()
        ),
        (Some(5), Some(true))
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "5");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn predict_clamps_and_limits_scale_downs() {
    let c = cluster();
    let ns = "predict-clamp";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 10, "tier: front", ""));
    let csv = requests_csv();
    let run = |target: &str, extra: &[&str]| {
        let mut args = vec![
            "deploy/web",
            "--predict",
            "--metrics",
            &csv,
            "--target-per-replica",
            target,
            "-n",
            ns,
            "--yes",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        predict_json(&c.gantry(&args))
    };
    let reason = |json: &serde_json::Value| {
        (
            json["current_replicas"].as_i64().unwrap_or(-1),
            json["recommended_replicas"].as_i64().unwrap_or(-1),
            json["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    // The forecast needs 1 replica; one run goes down by at most half: 10 -> 5.
    let json = run("1e9", &[]);
    assert_eq!(reason(&json), (10, 5, "scale_down_limited".into()));
    assert_eq!(c.replicas(ns, "deployment/web"), "5");
    // Half of 5 is 3 (rounded up), but --min 4 wins.
    let json = run("1e9", &["--min", "4"]);
    assert_eq!(reason(&json), (5, 4, "clamped_to_min".into()));
    assert_eq!(c.replicas(ns, "deployment/web"), "4");
    // The forecast needs thousands; --max 6 caps it.
    let json = run("0.01", &["--max", "6"]);
    assert_eq!(reason(&json), (4, 6, "clamped_to_max".into()));
    assert_eq!(c.replicas(ns, "deployment/web"), "6");
    // --max-scale-down 100 lets it go straight to what the forecast asks.
    let json = run("1e9", &["--max-scale-down", "100"]);
    assert_eq!(reason(&json), (6, 1, "forecast".into()));
    assert_eq!(c.replicas(ns, "deployment/web"), "1");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn predict_fails_rather_than_overwrite_a_concurrent_change() {
    use std::io::BufRead as _;
    let c = cluster();
    let ns = "predict-concurrent";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    let dir = tempfile::tempdir().expect("temp dir");
    // The slow forecaster keeps gantry between its read and its write for seconds.
    let slow = forecaster_fixture(dir.path(), "slow");
    let mut child = Command::new(GANTRY)
        .args([
            "-v",
            "scale",
            "deploy/web",
            "--predict",
            "--metrics",
            &requests_csv(),
        ])
        .args([
            "--forecaster",
            &slow,
            "--target-per-replica",
            "1",
            "--max",
            "7",
        ])
        .args(["-n", ns, "--yes", "--kubeconfig"])
        .arg(&c.kubeconfig)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("GANTRY_CACHE_DIR", dir.path().join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running gantry");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr
            .read_line(&mut line)
            .expect("reading gantry's stderr");
        assert!(n > 0, "gantry ended before forecasting: {seen}");
        seen.push_str(&line);
        if line.contains("slow-forecaster: thinking") {
            break;
        }
    }
    // gantry has read 2 replicas and is forecasting: another writer scales to 3.
    c.kubectl(
        &["-n", ns, "scale", "deployment/web", "--replicas", "3"],
        None,
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("reading gantry's stderr");
    let status = child.wait().expect("gantry ends");
    assert_eq!(status.code(), Some(6), "{seen}{rest}");
    let errors: Vec<&str> = rest.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [
            "error: precondition failed for deployment.apps/web: its replica count changed from 2 to 3 after gantry read it (another writer got there first); nothing was changed"
        ],
        "{rest}"
    );
    assert_eq!(c.replicas(ns, "deployment/web"), "3");
}

#[test]
#[cfg_attr(
    gantry_skip_k8s,
    ignore = "GANTRY_SKIP_K8S=1: needs the Kubernetes control plane"
)]
fn predict_with_a_forecaster_plugin_and_with_broken_ones() {
    let c = cluster();
    let ns = "predict-plugins";
    c.namespace(ns);
    c.apply(&deployment(ns, "web", 2, "tier: front", ""));
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = requests_csv();
    let run = |forecaster: &str, extra: &[&str]| {
        let mut args = vec![
            "deploy/web",
            "--predict",
            "--metrics",
            &csv,
            "--forecaster",
            forecaster,
            "--target-per-replica",
            "100",
            "-n",
            ns,
            "--yes",
        ];
        args.extend_from_slice(extra);
        Command::new(GANTRY)
            .arg("scale")
            .arg("--kubeconfig")
            .arg(&c.kubeconfig)
            .args(&args)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("GANTRY_CACHE_DIR", dir.path().join("cache"))
            .stdin(Stdio::null())
            .output()
            .expect("running gantry")
    };
    // The example forecaster, built by plugins/bundled/build.rs from wasm-guest/examples/naive-forecast.
    let naive = Path::new(env!("OUT_DIR"))
        .ancestors()
        .nth(4)
        .expect("OUT_DIR layout")
        .join("wasm-guest/wasm32-wasip1/release/naive-forecast.wasm");
    let naive = naive.to_string_lossy().into_owned();
    let json = predict_json(&run(&naive, &["--dry-run", "client", "-o", "json"]));
    assert_eq!(json["forecast"]["model"], "naive-forecast@0.1.0");
    let p90 = json["forecast"]["p90_peak"].as_f64().expect("p90");
    let want = ((p90 / 100.0).ceil() as i64).max(1);
    assert_eq!(json["recommended_replicas"], want);
    assert_eq!(json["applied"], false);
    assert_eq!(c.replicas(ns, "deployment/web"), "2");

    // Broken forecasters: a clear error each, and nothing applied.
    for (fixture, code, expected) in [
        ("crash", 11, "trap"),
        ("spin", 10, "deadline"),
        ("malformed", 11, "malformed-forecaster"),
        ("inverted", 11, "(100) is above p90_peak at origin"),
    ] {
        let wasm = forecaster_fixture(dir.path(), fixture);
        let out = run(&wasm, &[]);
        assert_code(&out, code);
        let stderr = text(&out.stderr);
        assert_one_error_line(&stderr);
        assert!(stderr.contains(expected), "{fixture}: {stderr}");
        assert_eq!(
            text(&out.stdout),
            "",
            "{fixture}: nothing is explained or applied"
        );
        assert_eq!(c.replicas(ns, "deployment/web"), "2", "{fixture}");
    }
}
