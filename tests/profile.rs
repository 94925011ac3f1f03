//! End-to-end tests of `gantry profile` against a real Go service (`tests/pprof-server`,
//! built with the machine's Go toolchain) and, for numbers, against `go tool pprof` run
//! on the same saved profile files.

mod profile_support;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use profile_support::*;
use serde_json::Value;

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

    // assert_same_top also compares the printed tables, inline marks included.
    assert_same_top(&cpu, &["--nodecount", "10"], &["-nodecount=10"]);
}

/// A profile where `callee` is inlined into `caller` with most of the weight, and called
/// from `other` with `called_weight`.
fn inline_and_called(called_weight: i64) -> Vec<u8> {
    use gantry_profile::proto;
    use prost::Message as _;
    let strings = ["", "samples", "count", "main", "caller", "callee", "other"];
    let function = |id: u64| proto::Function {
        id,
        name: id as i64 + 2,
        system_name: id as i64 + 2,
        ..Default::default()
    };
    let line = |function_id| proto::Line {
        function_id,
        ..Default::default()
    };
    let location = |id, lines: Vec<proto::Line>| proto::Location {
        id,
        line: lines,
        ..Default::default()
    };
    let sample = |location_id: Vec<u64>, value| proto::Sample {
        location_id,
        value: vec![value],
        label: Vec::new(),
    };
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![
            sample(vec![1, 3], 10_000),
            sample(vec![2, 4, 3], called_weight),
        ],
        location: vec![
            location(1, vec![line(3), line(2)]),
            location(2, vec![line(3)]),
            location(3, vec![line(1)]),
            location(4, vec![line(4)]),
        ],
        function: (1..=4).map(function).collect(),
        string_table: strings.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A differential flame graph shows each stack's change: the frame that ends the stack
/// `main;other;callee`, which grew from 1,000 to 3,000 of 13,000 samples, is titled with
/// its new share (23.08%) and its growth (+15.38%); the unchanged stack shows 0.00%.
#[test]
fn differential_flame_graph_shows_each_stacks_change() {
    let dir = tempfile::tempdir().unwrap();
    let before = write(dir.path(), "before.pb", inline_and_called(1_000));
    let after = write(dir.path(), "after.pb", inline_and_called(3_000));
    let svg = draw_flamegraph(
        &after,
        Some(&before),
        &dir.path().join("diff.svg"),
        "callee",
    );
    for title in [
        "callee (3,000 samples, 23.08%; +15.38%)",
        "callee (10,000 samples, 76.92%; 0.00%)",
        "all (13,000 samples, 100%)",
    ] {
        assert!(svg.contains(title), "no {title:?} in the flame graph");
    }
    // Swapped, the same stack shrank: its share of the new total, and a fall.
    let svg = draw_flamegraph(
        &before,
        Some(&after),
        &dir.path().join("back.svg"),
        "callee",
    );
    assert!(
        svg.contains("callee (1,000 samples, 9.09%; -18.18%)"),
        "no shrinking frame in the flame graph"
    );
}

/// A sample type without a name, as some writers leave it, gets no `Type:` line, as in
/// pprof's table.
#[test]
fn a_sample_type_without_a_name_gets_no_type_line() {
    use gantry_profile::proto;
    use prost::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let mut profile = proto::Profile::decode(inline_and_called(1_000).as_slice()).unwrap();
    profile.sample_type[0].r#type = 0;
    let path = write(dir.path(), "untyped.pb", profile.encode_to_vec());
    assert_same_table(&path, &[], &[]);
    let out = gantry(&["profile", "top", &path.display().to_string()]);
    assert!(
        !text(&out.stdout).contains("Type:"),
        "{}",
        text(&out.stdout)
    );
}

/// A function name with control characters, which XML cannot hold, is drawn with U+FFFD
/// in their place, so that the flame graph stays well-formed.
#[test]
fn a_flame_graph_of_names_with_control_characters_is_well_formed() {
    use gantry_profile::proto;
    use prost::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let mut profile = proto::Profile::decode(inline_and_called(1_000).as_slice()).unwrap();
    let callee = profile
        .string_table
        .iter()
        .position(|s| s == "callee")
        .unwrap();
    profile.string_table[callee] = "call\u{1}ee\u{1f}\u{ffff}".into();
    let path = write(dir.path(), "controls.pb", profile.encode_to_vec());
    draw_flamegraph(
        &path,
        None,
        &dir.path().join("controls.svg"),
        "call\u{fffd}ee\u{fffd}\u{fffd}",
    );
}

/// pprof drops edges lighter than 0.1% of the total (`-edgefraction`) from its graph
/// before it marks rows inline, so a rare plain call does not make a row partial-inline.
#[test]
fn inline_marks_ignore_edges_pprof_drops() {
    let dir = tempfile::tempdir().unwrap();
    for (called_weight, mark) in [(1, "inline"), (9, "inline"), (11, "partial-inline")] {
        let name = format!("inline{called_weight}.pb");
        let file = write(dir.path(), &name, inline_and_called(called_weight));
        let report = assert_same_top(&file, &[], &[]);
        let callee = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "callee")
            .expect("a callee row");
        assert_eq!(callee["inline"], mark, "{report}");
    }
}

/// Function names as they reach pprof from many toolchains, each as (name, system name):
/// pprof demangles and simplifies every name that is empty or equal to its system name
/// before any report, and so must gantry.
const NAMES_FROM_MANY_TOOLCHAINS: [(&str, &str); 16] = [
    // Go: generics whose type arguments have parentheses, and a method of a generic type.
    (
        "slices.SortFunc[go.shape.[]int,go.shape.func(int, int) int]",
        "=",
    ),
    ("iter.Pull[go.shape.interface { Next() bool }]", "="),
    ("main.(*Set[go.shape.string]).Add", "="),
    // Java, whose constructors have angle brackets.
    ("java.util.HashMap.<init>", "="),
    // C++ already demangled, as profilers that symbolize in process write it.
    (
        "std::vector<int, std::allocator<int> >::push_back(int const&)",
        "=",
    ),
    ("(anonymous namespace)::Worker::run()", "="),
    // Rust as pprof-rs writes it.
    (
        "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
        "=",
    ),
    // Mangled: C++, Rust legacy (with an LLVM suffix) and v0, and a macOS symbol.
    (
        "_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE4findEPKcmm",
        "=",
    ),
    (
        "_ZN7tracing10instrument1_94_$LT$impl$u20$core..ops..drop..Drop$u20$for$u20$tracing..instrument..Instrumented$LT$T$GT$$GT$4drop17h2ec47aa2e6e3e520E.llvm.77",
        "=",
    ),
    (
        "_RINvMsj_NtCslNYArtu3iFV_5alloc3vecINtB6_3VeclE14extend_trustedINtNtNtNtCsgEmfK2I1SDS_4core4iter8adapters3map3MapINtNtNtB17_3ops5range5RangelENCNvCsfq2Zq5gqAK1_2v04main0EEB2j_",
        "=",
    ),
    (
        "__ZN5boost4asio6detail9scheduler3runERNS_6system10error_codeE",
        "=",
    ),
    // Only a system name: it is the name shown.
    ("", "_ZN3net6Server6acceptEv"),
    ("", "plain_c_function"),
    // A name that differs from its system name was demangled already: kept as it is.
    ("Cache<K>::get(K)", "_ZN5CacheIiE3getEi"),
    // Nothing to change.
    ("main.main", "="),
    ("runtime.mallocgc", "="),
];

/// A profile with one sample per function of `names`, weighing 1, 2, 3…
fn profile_naming(names: &[(&str, &str)]) -> Vec<u8> {
    use gantry_profile::proto;
    use prost::Message as _;
    let mut strings = vec![String::new(), "samples".into(), "count".into()];
    let mut intern = |s: &str| {
        strings.push(s.to_string());
        strings.len() as i64 - 1
    };
    let function: Vec<proto::Function> = (1..)
        .zip(names)
        .map(|(id, (name, system))| proto::Function {
            id,
            name: intern(name),
            system_name: intern(if *system == "=" { name } else { system }),
            ..Default::default()
        })
        .collect();
    let location = function
        .iter()
        .map(|f| proto::Location {
            id: f.id,
            line: vec![proto::Line {
                function_id: f.id,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    let sample = function
        .iter()
        .map(|f| proto::Sample {
            location_id: vec![f.id],
            value: vec![f.id as i64],
            label: Vec::new(),
        })
        .collect();
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample,
        location,
        function,
        string_table: strings,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Names are demangled and simplified as pprof does it, for `top` and for `collapse`.
#[test]
fn function_names_are_shown_as_go_tool_pprof_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "names.pb",
        profile_naming(&NAMES_FROM_MANY_TOOLCHAINS),
    );
    let report = assert_same_top(&file, &[], &[]);
    let shown: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in [
        "slices.SortFunc[go.shape.[]int,go.shape.func int]",
        "std::vector::push_back",
        "::call_once",
        "tracing::instrument::::<impl core::ops::drop::Drop for tracing::instrument::Instrumented<T>>::drop",
        "<alloc::vec::Vec<>>::extend_trusted::<>",
        "boost::asio::detail::scheduler::run",
        "net::Server::accept",
        "Cache<K>::get(K)",
    ] {
        assert!(shown.contains(&name), "{name} not in {shown:?}");
    }
    let folded = gantry(&["profile", "collapse", &file.display().to_string()]);
    assert_exit(&folded, 0);
    assert!(
        text(&folded.stdout).contains("std::vector::push_back 5\n"),
        "{}",
        text(&folded.stdout)
    );
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

/// An unsymbolized profile of one sample in the binary at `path`, weighing `value`.
fn unsymbolized_in(path: &str, value: i64) -> Vec<u8> {
    use gantry_profile::proto;
    use prost::Message as _;
    proto::Profile {
        sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
        sample: vec![proto::Sample {
            location_id: vec![1],
            value: vec![value],
            label: Vec::new(),
        }],
        mapping: vec![proto::Mapping {
            id: 1,
            memory_start: 0x400000,
            memory_limit: 0x500000,
            filename: 3,
            ..Default::default()
        }],
        location: vec![proto::Location {
            id: 1,
            mapping_id: 1,
            address: 0x401234,
            ..Default::default()
        }],
        string_table: ["", "samples", "count", path].map(String::from).to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A CPU profile whose samples (location ids, leaf first, and count) are over: main.burn
/// calling main.hotFib, and main.worker, into which sync.(*Mutex).Lock and Unlock are
/// inlined, each with internal/sync's version inlined into it, calling the slow paths.
fn mutex_profile(samples: &[(&[u64], i64)]) -> Vec<u8> {
    use gantry_profile::proto;
    use prost::Message as _;
    let names = [
        "main.burn",
        "main.hotFib",
        "main.worker",
        "sync.(*Mutex).Lock",
        "internal/sync.(*Mutex).Lock",
        "internal/sync.(*Mutex).lockSlow",
        "sync.(*Mutex).Unlock",
        "internal/sync.(*Mutex).Unlock",
        "internal/sync.(*Mutex).unlockSlow",
    ];
    let mut strings: Vec<String> = ["", "samples", "count", "cpu", "nanoseconds", "server"]
        .map(String::from)
        .to_vec();
    let function = (1..)
        .zip(names)
        .map(|(id, name)| {
            strings.push(name.to_string());
            let name = strings.len() as i64 - 1;
            proto::Function {
                id,
                name,
                system_name: name,
                ..Default::default()
            }
        })
        .collect();
    // Functions by their index in `names`, innermost first.
    let lines_of: [&[u64]; 6] = [&[0], &[1], &[4, 3, 2], &[5], &[7, 6, 2], &[8]];
    let location = (1..)
        .zip(lines_of)
        .map(|(id, functions)| proto::Location {
            id,
            mapping_id: 1,
            address: 0x401000 + id * 16,
            line: functions
                .iter()
                .map(|&f| proto::Line {
                    function_id: f + 1,
                    line: 1,
                    column: 0,
                })
                .collect(),
            is_folded: false,
        })
        .collect();
    proto::Profile {
        sample_type: vec![
            proto::ValueType { r#type: 1, unit: 2 },
            proto::ValueType { r#type: 3, unit: 4 },
        ],
        sample: samples
            .iter()
            .map(|&(stack, count)| proto::Sample {
                location_id: stack.to_vec(),
                value: vec![count, count * 10_000_000],
                label: Vec::new(),
            })
            .collect(),
        mapping: vec![proto::Mapping {
            id: 1,
            memory_start: 0x400000,
            memory_limit: 0x500000,
            filename: 5,
            has_functions: true,
            ..Default::default()
        }],
        location,
        function,
        string_table: strings,
        period_type: Some(proto::ValueType { r#type: 3, unit: 4 }),
        period: 10_000_000,
        ..Default::default()
    }
    .encode_to_vec()
}

/// In a diff, main.worker's values cancel out: it locks in one profile and unlocks in the
/// other. pprof still marks the functions inlined into it, as the edges of its first
/// graph stand when no node is dropped; once the node count drops some, they go.
#[test]
fn a_caller_whose_values_cancel_in_a_diff_still_marks_what_is_inlined_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(
        dir.path(),
        "base.pb",
        mutex_profile(&[(&[2, 1], 50), (&[6, 5], 1)]),
    );
    let new = write(
        dir.path(),
        "new.pb",
        mutex_profile(&[(&[2, 1], 100), (&[4, 3], 1)]),
    );
    let base_arg = base.display().to_string();
    let diff_base = format!("-diff_base={base_arg}");
    let report = assert_same_top(&new, &["--base", &base_arg], &[&diff_base]);
    let rows = report["rows"].as_array().unwrap();
    let lock = rows.iter().find(|row| row["name"] == "sync.(*Mutex).Lock");
    assert_eq!(lock.unwrap()["inline"], "inline", "{report}");
    assert_same_top(
        &new,
        &["--base", &base_arg, "--cum", "--nodecount", "6"],
        &[&diff_base, "-cum", "-nodecount=6"],
    );
}

/// pprof tells the unsymbolized frames of two binaries apart by their full paths, though
/// it shows both by one base name: a diff between builds deployed to different
/// directories has a row for each (in an order pprof does not fix, so rows are compared
/// as a set).
#[test]
fn binaries_with_one_base_name_stay_apart_in_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(
        dir.path(),
        "base.pb",
        unsymbolized_in("/srv/release-1/server", 30),
    );
    let new = write(
        dir.path(),
        "new.pb",
        unsymbolized_in("/srv/release-2/server", 50),
    );
    let base_arg = base.display().to_string();
    let ours = gantry(&[
        "profile",
        "top",
        &new.display().to_string(),
        "--base",
        &base_arg,
    ]);
    assert_exit(&ours, 0);
    let theirs = go_pprof(&new, &[&format!("-diff_base={base_arg}")]);
    let sorted = |table: &str| {
        let mut lines: Vec<String> = table.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&text(&ours.stdout)), sorted(&theirs));
    let server_rows = text(&ours.stdout).matches("[server]").count();
    assert_eq!(server_rows, 2, "{}", text(&ours.stdout));
}

#[test]
fn collapse_flamegraph_and_stdin() {
    let server = Server::start(&["-burn"]);
    let dir = tempfile::tempdir().unwrap();
    let cpu = save(&server, "cpu", Some(1), dir.path(), "cpu.pb.gz");
    let folded = assert_collapse_adds_up(&cpu);
    assert!(folded.contains(";main.hotFib"), "{folded}");
    draw_flamegraph(&cpu, None, &dir.path().join("cpu.svg"), "main.hotFib");
    let base = save(&server, "cpu", Some(1), dir.path(), "base.pb.gz");
    draw_flamegraph(
        &cpu,
        Some(&base),
        &dir.path().join("diff.svg"),
        "main.hotFib",
    );

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
    assert_eq!(from_stdin["rows"], gantry_top(&cpu, &[])["rows"]);
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
fn a_bare_host_and_port_is_read_as_a_service_address() {
    // As `go tool pprof localhost:6060` does: not a file, so an address over HTTP.
    let server = Server::start(&[]);
    let address = server.url().trim_start_matches("http://").to_string();
    let out = gantry(&["-o", "json", "profile", "top", &address, "--type", "heap"]);
    assert_exit(&out, 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "gantry.profile.top/v1");

    // An existing file of that name is still read as the file.
    let dir = tempfile::tempdir().unwrap();
    let heap = save(&server, "heap", None, dir.path(), "heap.pb.gz");
    let named = dir.path().join(&address);
    std::fs::copy(&heap, &named).unwrap();
    let out = Command::new(GANTRY)
        .current_dir(dir.path())
        .args(["-o", "json", "profile", "top", &address])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let from_file: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_file["rows"], gantry_top(&heap, &[])["rows"]);
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

    // A profile whose location names a function it does not have: pprof refuses it too.
    let dangling = {
        use gantry_profile::proto;
        use prost::Message as _;
        proto::Profile {
            sample_type: vec![proto::ValueType { r#type: 1, unit: 2 }],
            sample: vec![proto::Sample {
                location_id: vec![1],
                value: vec![1],
                label: Vec::new(),
            }],
            location: vec![proto::Location {
                id: 1,
                line: vec![proto::Line {
                    function_id: 9,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            string_table: ["", "samples", "count"].map(String::from).to_vec(),
            ..Default::default()
        }
        .encode_to_vec()
    };
    let dangling_path = dir.path().join("dangling.pb");
    std::fs::write(&dangling_path, dangling).unwrap();
    let out = gantry(&["profile", "top", &dangling_path.display().to_string()]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr)
            .contains("malformed protobuf profile: location 1 refers to unknown function 9"),
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
    // It is a profile all the same (an idle service's CPU or mutex profile): `top`
    // prints pprof's empty table, while a flame graph has nothing to draw.
    let empty_path = dir.path().join("empty.pb");
    std::fs::write(&empty_path, empty).unwrap();
    assert_same_table(&empty_path, &[], &[]);
    let svg = dir.path().join("empty.svg");
    let out = gantry(&[
        "profile",
        "flamegraph",
        &empty_path.display().to_string(),
        "-O",
        &svg.display().to_string(),
    ]);
    assert_exit(&out, 2);
    assert!(
        text(&out.stderr).contains("nothing to draw: every sample's samples is 0"),
        "{}",
        text(&out.stderr)
    );
    assert!(!svg.exists(), "no SVG is written");

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

/// Whether the process `pid` waits in a read of its stdin, from the system call its main
/// thread is in.
#[cfg(target_os = "linux")]
fn reads_stdin(pid: u32) -> bool {
    #[cfg(target_arch = "x86_64")]
    const READ: &str = "0";
    #[cfg(not(target_arch = "x86_64"))]
    const READ: &str = "63";
    let call = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    let mut fields = call.split_whitespace();
    fields.next() == Some(READ) && fields.next() == Some("0x0")
}

/// A profile file truncated while mapped raises SIGBUS on the pages cut off; the
/// command ends with one line and `usage`. A real truncation needs luck in its timing,
/// so the signal is sent as the kernel would send it, once gantry's handler is in place.
#[cfg(target_os = "linux")]
#[test]
fn a_file_cut_short_while_read_ends_with_one_line() {
    // Reading stdin that never ends keeps the command waiting.
    let mut child = Command::new(GANTRY)
        .args(["profile", "top", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The Rust runtime handles SIGBUS from the start, for stack overflows, so gantry's
    // own handler is known to be in place only once the command reads its input: it is
    // installed before.
    let started = Instant::now();
    while !reads_stdin(child.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "stdin is never read"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGBUS) }, 0);
    // Its stdin stays open: only the signal may end it.
    let stdin = child.stdin.take();
    let signalled = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if signalled.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("gantry did not end on SIGBUS");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cut short while it was read"), "{stderr}");
}
