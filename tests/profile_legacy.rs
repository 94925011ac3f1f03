//! End-to-end tests of `gantry profile` on the legacy formats `go tool pprof` reads, each
//! compared with `go tool pprof -top` on the same file (tables line for line, values
//! exactly):
//!
//! - Go's `debug=1` text (heap, allocs, mutex, block, goroutine, threadcreate), served by
//!   the tests' own Go service (`tests/pprof-server`);
//! - gperftools' CPU and heap profiles (heap, sampled heap_v2, growth), written by a small
//!   program (`tests/gperftools/workload.cc`) linked with Debian's libgoogle-perftools-dev,
//!   built and run here;
//! - formats no program on this machine writes (Java's heapz, contentionz and CPU
//!   profiles, C++ contentionz, fragmentation, threadz, and the CPU format in 32-bit and
//!   big-endian layouts): small files written here from the format's description.

mod profile_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use profile_support::*;

/// Builds the gperftools workload once per test run.
fn workload() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gperftools/workload.cc");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gperftools-workload");
        let status = Command::new("c++")
            .args(["-O1", "-g", "-o"])
            .arg(&out)
            .arg(&src)
            .args(["-lprofiler", "-ltcmalloc"])
            .status()
            .expect("a C++ compiler (`c++`) must be on PATH for the gperftools tests");
        assert!(
            status.success(),
            "building tests/gperftools/workload.cc failed: install libgoogle-perftools-dev"
        );
        out
    })
}

/// Runs the workload in `mode`, writing its profile into `dir`; returns the file.
fn gperftools_profile(mode: &str, dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    let out = dir.join(format!("{mode}.prof"));
    let status = Command::new(workload())
        .arg(mode)
        .arg(&out)
        .envs(env.iter().copied())
        .status()
        .expect("run the gperftools workload");
    assert!(status.success(), "workload {mode} failed");
    // The heap profiler numbers its dumps.
    let dumped = dir.join(format!("{mode}.prof.0001.heap"));
    if dumped.exists() { dumped } else { out }
}

fn head(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    text(&bytes[..bytes.len().min(200)])
}

/// `save` converts the profile to protobuf, and `go tool pprof` reads the same numbers
/// back; `collapse` adds up to the total; `flamegraph` draws it.
#[track_caller]
fn assert_every_command_reads(file: &Path, dir: &Path) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let file_arg = file.display().to_string();

    let saved = dir.join(format!("{name}.saved.pb.gz"));
    let out = gantry(&[
        "profile",
        "save",
        &file_arg,
        "-O",
        &saved.display().to_string(),
    ]);
    assert_exit(&out, 0);
    assert!(
        text(&out.stderr).contains("converted from a legacy"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(&std::fs::read(&saved).unwrap()[..2], b"\x1f\x8b", "gzipped");
    assert_eq!(
        go_pprof(&saved, &[]),
        go_pprof(file, &[]),
        "go tool pprof reads the saved {name} as it reads the original"
    );
    assert_same_top(&saved, &[], &[]);

    assert_collapse_adds_up(file);
    draw_flamegraph(file, None, &dir.join(format!("{name}.svg")), "<svg");
}

#[test]
fn go_debug1_heap_and_allocs_match_go_tool_pprof() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let heap = server.download("/debug/pprof/heap?debug=1", dir.path(), "heap.txt");
    assert!(head(&heap).starts_with("heap profile: "), "{}", head(&heap));
    let report = assert_same_top(&heap, &[], &[]);
    assert_eq!(report["sample_type"], "inuse_space");
    for index in [
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
        "1",
    ] {
        assert_same_top(
            &heap,
            &["--sample-index", index],
            &[&format!("-sample_index={index}")],
        );
    }
    // The service retains 8 MiB in 256 KiB blocks; un-sampled at Go's rate (4096 here),
    // that is what pprof reports, and more than the raw sampled bytes.
    assert!(report["total"].as_i64().unwrap() >= 8 << 20, "{report}");
    assert_every_command_reads(&heap, dir.path());

    let allocs = server.download("/debug/pprof/allocs?debug=1", dir.path(), "allocs.txt");
    assert_same_top(
        &allocs,
        &["--sample-index", "alloc_space"],
        &["-sample_index=alloc_space"],
    );
    assert_every_command_reads(&allocs, dir.path());
}

#[test]
fn go_debug1_mutex_block_goroutine_and_threadcreate_match_go_tool_pprof() {
    let server = Server::start(&["-leak"]);
    let dir = tempfile::tempdir().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for kind in ["mutex", "block", "goroutine", "threadcreate"] {
        let file = server.download(
            &format!("/debug/pprof/{kind}?debug=1"),
            dir.path(),
            &format!("{kind}.txt"),
        );
        assert_same_top(&file, &[], &[]);
        assert_same_top(&file, &["--sample-index", "0"], &["-sample_index=0"]);
        assert_every_command_reads(&file, dir.path());
    }
    // Delays are converted from cycles to nanoseconds with the profile's cycles/second.
    let mutex = gantry_top(&dir.path().join("mutex.txt"), &[]);
    assert_eq!(mutex["sample_type"], "delay");
    assert_eq!(mutex["sample_unit"], "nanoseconds");
}

/// Go records no mutex or block events unless asked to, so these profiles are often
/// empty: they are read, in both encodings, and `top` prints pprof's empty table.
#[test]
fn empty_contention_profiles_match_go_tool_pprof() {
    let server = Server::start(&["-contention=false"]);
    let dir = tempfile::tempdir().unwrap();
    for kind in ["mutex", "block"] {
        for debug in [0, 1] {
            let file = server.download(
                &format!("/debug/pprof/{kind}?debug={debug}"),
                dir.path(),
                &format!("{kind}{debug}"),
            );
            assert_same_table(&file, &[], &[]);
            let report = gantry_top(&file, &[]);
            assert_eq!(report["total"], 0, "{report}");
            let folded = gantry(&["profile", "collapse", &file.display().to_string()]);
            assert_exit(&folded, 0);
            assert_eq!(text(&folded.stdout), "");
        }
    }
}

#[test]
fn go_debug2_goroutine_dump_is_refused_with_the_level_to_capture() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let dump = server.download(
        "/debug/pprof/goroutine?debug=2",
        dir.path(),
        "goroutine2.txt",
    );
    let out = gantry(&["profile", "top", &dump.display().to_string()]);
    assert_exit(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("goroutine dump (debug=2)"), "{stderr}");
    assert!(stderr.contains("debug=1"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{stderr}"
    );
}

#[test]
fn leaks_reads_goroutine_text() {
    let server = Server::start(&["-leak"]);
    let url = format!("{}/debug/pprof/goroutine?debug=1", server.url());
    let out = gantry(&[
        "-o",
        "json",
        "profile",
        "leaks",
        &url,
        "--interval",
        "300ms",
        "--samples",
        "3",
    ]);
    assert_exit(&out, 5);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<i64> = report["leaks"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");
    // Unsymbolized frames are told apart by address.
    let function = report["leaks"][0]["function"].as_str().unwrap();
    assert!(function.ends_with(" <unknown>"), "{function}");
}

#[test]
fn gperftools_cpu_profile_matches_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = gperftools_profile("cpu", dir.path(), &[("CPUPROFILE_FREQUENCY", "500")]);
    let report = assert_same_top(&cpu, &[], &[]);
    assert_eq!(report["sample_type"], "cpu");
    assert_eq!(report["file"], "gperftools-workload");
    let names = report["rows"].to_string();
    assert!(names.contains("[gperftools-workload]"), "{names}");
    assert_same_top(
        &cpu,
        &["--sample-index", "samples"],
        &["-sample_index=samples"],
    );
    assert_same_top(&cpu, &["--cum"], &["-cum"]);
    assert_every_command_reads(&cpu, dir.path());

    // A diff between two runs, the second doing twice the work: two runs alike can
    // take the same samples, and then the diff has no rows.
    let second = dir.path().join("cpu-second.prof");
    std::fs::rename(&cpu, dir.path().join("first.prof")).unwrap();
    let first = dir.path().join("first.prof");
    let again = gperftools_profile(
        "cpu",
        dir.path(),
        &[("CPUPROFILE_FREQUENCY", "500"), ("WORKLOAD_ROUNDS", "6")],
    );
    std::fs::rename(&again, &second).unwrap();
    let base = first.display().to_string();
    assert_same_top(
        &second,
        &["--base", &base],
        &[&format!("-diff_base={base}")],
    );
}

#[test]
fn gperftools_heap_profiles_match_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let heap = gperftools_profile("heap", dir.path(), &[]);
    assert!(head(&heap).contains("@ heapprofile"), "{}", head(&heap));
    for index in [
        "inuse_space",
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
    ] {
        assert_same_top(
            &heap,
            &["--sample-index", index],
            &[&format!("-sample_index={index}")],
        );
    }
    assert_every_command_reads(&heap, dir.path());

    let sample = gperftools_profile(
        "sample",
        dir.path(),
        &[("TCMALLOC_SAMPLE_PARAMETER", "65536")],
    );
    assert!(
        head(&sample).contains("@ heap_v2/65536"),
        "{}",
        head(&sample)
    );
    assert_same_top(&sample, &[], &[]);
    assert_same_top(
        &sample,
        &["--sample-index", "objects"],
        &["-sample_index=objects"],
    );
    assert_every_command_reads(&sample, dir.path());

    let growth = gperftools_profile("growth", dir.path(), &[]);
    assert!(head(&growth).contains("@ growth"), "{}", head(&growth));
    assert_same_top(&growth, &[], &[]);
    assert_every_command_reads(&growth, dir.path());
}

/// The words of a CPU profile in one layout.
fn cpu_words(words: &[u64], bytes: usize, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &w in words {
        let all = if big_endian {
            w.to_be_bytes()
        } else {
            w.to_le_bytes()
        };
        if big_endian {
            out.extend_from_slice(&all[8 - bytes..]);
        } else {
            out.extend_from_slice(&all[..bytes]);
        }
    }
    out
}

/// Hand-written from the format's description: a CPU profile (header, samples with
/// recursive stacks, trailer) and its memory map, in 32- and 64-bit words of either byte
/// order. Only the 64-bit little-endian layout is written by a program on this machine.
#[test]
fn cpu_profiles_in_every_word_size_and_byte_order_match_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let mut words = vec![0, 3, 0, 10_000, 0];
    let stacks: [(u64, &[u64]); 5] = [
        (
            40,
            &[0x401230, 0x401562, 0x401562, 0x401562, 0x4019a1, 0x7f001005],
        ),
        (25, &[0x4012f0, 0x401562, 0x4019a1, 0x7f001005]),
        (10, &[0x7f002340, 0x4013a5, 0x4019a1, 0x7f001005]),
        (3, &[0x3000_0040, 0x4019a1, 0x7f001005]),
        (1, &[0x7f002340]),
    ];
    for (count, stack) in stacks {
        words.extend([count, stack.len() as u64]);
        words.extend(stack);
    }
    words.extend([0, 1, 0]);
    let map = "00400000-00402000 r-xp 00000000 08:01 131 /opt/app/bin/server\n\
               00402000-00403000 rw-p 00002000 08:01 131 /opt/app/bin/server\n\
               7f000000-7f003000 r-xp 00000000 08:01 77 /lib/x86_64-linux-gnu/libc.so.6\n";
    let mut base = None;
    for (bytes, big_endian) in [(4, false), (4, true), (8, false), (8, true)] {
        let mut profile = cpu_words(&words, bytes, big_endian);
        profile.extend_from_slice(map.as_bytes());
        let name = format!(
            "cpu-{}-{}.prof",
            bytes * 8,
            if big_endian { "be" } else { "le" }
        );
        let file = write(dir.path(), &name, profile);
        let report = assert_same_top(&file, &[], &[]);
        assert_eq!(report["file"], "server");
        assert_eq!(report["total"], 79 * 10_000_000);
        assert_every_command_reads(&file, dir.path());
        // Every layout is the same profile: a diff against another one is empty.
        let base = base.get_or_insert_with(|| file.display().to_string());
        let diff = gantry_top(&file, &["--base", base]);
        assert_eq!(diff["shown"], 0, "{diff}");
    }
}

/// Hand-written from the format's description: a CPU profile whose samples, all but one,
/// have the same second and third frames, in a library of their own, as a profiler's
/// signal handler pushes them, and some of whose leaves appear again as a return
/// address. pprof drops both; the library must not get a row.
#[test]
fn signal_handler_frames_are_dropped_as_go_tool_pprof_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut words = vec![0, 3, 0, 10_000, 0];
    for i in 0..64u64 {
        let leaf = 0x401000 + i * 16;
        let mut stack = vec![leaf];
        if i != 5 {
            stack.extend([0x7f20_0101, 0x7f20_0201]);
        }
        if i % 4 == 0 {
            stack.push(leaf);
        }
        stack.extend([0x401801, 0x7f00_1005]);
        words.extend([1 + i % 3, stack.len() as u64]);
        words.extend(stack);
    }
    words.extend([0, 1, 0]);
    let mut profile = cpu_words(&words, 8, false);
    profile.extend_from_slice(
        b"00400000-00402000 r-xp 00000000 08:01 131 /opt/app/bin/server\n\
          7f000000-7f003000 r-xp 00000000 08:01 77 /lib/x86_64-linux-gnu/libc.so.6\n\
          7f200000-7f201000 r-xp 00000000 08:01 78 /lib/x86_64-linux-gnu/libpthread.so.0\n",
    );
    let file = write(dir.path(), "signal.prof", profile);
    let report = assert_same_top(&file, &[], &[]);
    let rows = report["rows"].to_string();
    assert!(rows.contains("[libc.so.6]"), "{rows}");
    assert!(!rows.contains("libpthread"), "{rows}");
    assert_every_command_reads(&file, dir.path());
}

/// Hand-written from the format's description: gperftools writes no contentionz,
/// fragmentation or threadz profiles.
#[test]
fn cpp_contentionz_fragmentation_and_threadz_match_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let map = "--- Memory map: ---\n\
               00400000-00fcb000: /home/user/bin/server\n\
               7f1000000000-7f1000200000: /lib/libpthread.so.0\n";
    let contentionz = write(
        dir.path(),
        "contentionz.txt",
        "--- contentionz 1 ---\nformat = cycles\n",
    );
    // `format` is not a C++ contentionz attribute: pprof does not read this file.
    let out = gantry(&["profile", "top", &contentionz.display().to_string()]);
    assert_exit(&out, 2);
    let contentionz = write(
        dir.path(),
        "contentionz.txt",
        format!(
            "--- contentionz 1 ---\n\
             cycles/second = 3000000000\n\
             sampling period = 100\n\
             ms since reset = 16000\n\
             discarded samples = 0\n\
             \n\
             900000 12 @ 0x4d1a0f 0x4d0b11 0x402e21 0x7f1000001a3f\n\
             300000 4 @ 0x4d1a0f 0x4c9900 0x402e21 0x7f1000001a3f\n\
             12 1 @ 0x7f1000004421 0x402e21\n\
             {map}"
        ),
    );
    let report = assert_same_top(&contentionz, &[], &[]);
    assert_eq!(report["duration_nanos"], 16_000_000_000i64);
    assert_same_top(
        &contentionz,
        &["--sample-index", "contentions"],
        &["-sample_index=contentions"],
    );
    assert_every_command_reads(&contentionz, dir.path());

    let fragmentation = write(
        dir.path(),
        "fragmentation.txt",
        "heap profile:   25:  9216 [  25:  9216] @ fragmentationz\n\
         \x20 20:  8192 [  20:  8192] @ 0x4010a3 0x4012f0 0x401f00\n\
         \x20  5:  1024 [   5:  1024] @ 0x4011b7 0x4012f0 0x401f00\n\
         MAPPED_LIBRARIES:\n\
         00400000-00500000 r-xp 00000000 08:01 1 /usr/bin/server\n",
    );
    assert_same_top(&fragmentation, &[], &[]);
    assert_same_top(
        &fragmentation,
        &["--sample-index", "objects"],
        &["-sample_index=objects"],
    );
    assert_every_command_reads(&fragmentation, dir.path());

    let threadz = write(
        dir.path(),
        "threadz.txt",
        format!(
            "--- threadz 1 ---\n\
             \n\
             --- Thread 7f794ab90940 (name: main/14748) stack: ---\n\
             \x20 PC: 0x00bc8f1c: helper(arg *)\n\
             \x20   0x0040be31: main::function1(int)\n\
             \x20   0x0040be61: main\n\
             --- Thread 7f794964e700 (name: thread1/14749) stack: ---\n\
             \x20 same as previous thread\n\
             --- Thread 7f79490cd700 (name: thread2/14750) stack: ---\n\
             \x20 PC: 0x00bc8f1c 0x0040be61\n\
             {map}"
        ),
    );
    assert_same_top(&threadz, &[], &[]);
    assert_every_command_reads(&threadz, dir.path());
}

const JAVA_SYMBOLS: &str = "\
0x00000001 java.util.ArrayList.grow (ArrayList.java:237)
0x00000002 java.util.ArrayList.add (ArrayList.java:462)
0x00000003 com.example.Cache.put (Cache.java:88)
0x00000004 com.example.Server.handle (Server.java:140)
0x00000005 java.lang.Thread.run (Thread.java:829)
0x00000006 java.lang.Object.wait (Native Method)
0x00000007 com.example.Queue.take (Queue.java:31)
0x00000008 os::javaTimeNanos() (/usr/lib/jvm/lib/server/libjvm.so)
0x00000009 generated stub/JIT
0x0000000a GC
";

/// Hand-written from the format's description (no Java runtime writes these here):
/// `--- heapz 1 ---` and `--- contentionz 1 ---` text with symbols, and the binary Java
/// CPU format (header word 1) followed by symbols.
#[test]
fn java_heapz_contentionz_and_cpu_match_go_tool_pprof() {
    let dir = tempfile::tempdir().unwrap();
    let heapz = write(
        dir.path(),
        "java.heapz",
        format!(
            "--- heapz 1 ---\n\
             format = java\n\
             resolution = bytes\n\
             \x20  7340032      7 @ 0x00000001 0x00000002 0x00000003 0x00000004 0x00000005\n\
             \x20   262144   1024 @ 0x00000003 0x00000004 0x00000005\n\
             \x20     8192      1 @ 0x00000008 0x0000000a\n\
             {JAVA_SYMBOLS}"
        ),
    );
    let report = assert_same_top(&heapz, &[], &[]);
    assert_eq!(report["sample_type"], "inuse_space");
    assert!(
        report["rows"].to_string().contains("com.example.Cache.put"),
        "{report}"
    );
    assert_same_top(
        &heapz,
        &["--sample-index", "inuse_objects"],
        &["-sample_index=inuse_objects"],
    );
    assert_every_command_reads(&heapz, dir.path());

    let contentionz = write(
        dir.path(),
        "java.contentionz",
        format!(
            "--- contentionz 1 ---\n\
             format = java\n\
             resolution = microseconds\n\
             sampling period = 100\n\
             ms since reset = 6019923\n\
             \x20      1200      3 @ 0x00000006 0x00000007 0x00000004 0x00000005\n\
             \x20        40      1 @ 0x00000006 0x00000009 0x00000005\n\
             {JAVA_SYMBOLS}"
        ),
    );
    let report = assert_same_top(&contentionz, &[], &[]);
    assert_eq!(report["sample_unit"], "microseconds");
    assert_every_command_reads(&contentionz, dir.path());

    let mut cpu = cpu_words(
        &[
            0, 3, 1, 10_000, 0, //
            5, 4, 1, 2, 3, 4, //
            2, 3, 8, 4, 5, //
            1, 2, 9, 10, //
            0, 1, 0,
        ],
        8,
        false,
    );
    cpu.extend_from_slice(JAVA_SYMBOLS.as_bytes());
    let cpu = write(dir.path(), "java.cpu", cpu);
    let report = assert_same_top(&cpu, &[], &[]);
    assert!(
        report["rows"]
            .to_string()
            .contains("java.util.ArrayList.grow"),
        "{report}"
    );
    assert_every_command_reads(&cpu, dir.path());
}

#[test]
fn diffs_across_formats_match_go_tool_pprof() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let text_heap = server.download("/debug/pprof/heap?debug=1", dir.path(), "heap.txt");
    let proto_heap = save(&server, "heap", None, dir.path(), "heap.pb.gz");
    for (profile, base) in [(&text_heap, &proto_heap), (&proto_heap, &text_heap)] {
        let base = base.display().to_string();
        assert_same_top(
            profile,
            &["--base", &base],
            &[&format!("-diff_base={base}")],
        );
        assert_same_top(
            profile,
            &["--base", &base, "--sample-index", "alloc_space"],
            &[&format!("-diff_base={base}"), "-sample_index=alloc_space"],
        );
    }
    let text_mutex = server.download("/debug/pprof/mutex?debug=1", dir.path(), "mutex.txt");
    let proto_mutex = save(&server, "mutex", None, dir.path(), "mutex.pb.gz");
    let base = proto_mutex.display().to_string();
    assert_same_top(
        &text_mutex,
        &["--base", &base],
        &[&format!("-diff_base={base}")],
    );

    // A diff of profiles of different kinds is refused, as pprof refuses it.
    let goroutine = server.download("/debug/pprof/goroutine?debug=1", dir.path(), "g.txt");
    let out = gantry(&[
        "profile",
        "top",
        &text_heap.display().to_string(),
        "--base",
        &goroutine.display().to_string(),
    ]);
    assert_exit(&out, 2);

    draw_flamegraph(
        &text_heap,
        Some(&proto_heap),
        &dir.path().join("diff.svg"),
        "<svg",
    );
}

#[test]
fn files_that_are_no_profile_get_one_line_saying_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let gz = |bytes: &[u8]| {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let heap_text = b"heap profile: 1: 1024 [ 1: 1024] @ heap/1024\n1: 1024 [1: 1024] @ 0x401000\n";
    let truncated = gz(heap_text);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "it is empty"),
        (
            "page.html",
            b"<!DOCTYPE html><html><body>sign in</body></html>".to_vec(),
            "HTML",
        ),
        (
            "data.json",
            br#"{"samples": [1, 2, 3]}"#.to_vec(),
            "it is JSON",
        ),
        (
            "cut.gz",
            truncated[..truncated.len() - 9].to_vec(),
            "a truncated gzip stream",
        ),
        (
            "notes.txt",
            b"remember to profile the server\n".to_vec(),
            "text in no profile format",
        ),
        (
            "stacks.folded",
            b"main;work;spin 120\nmain;idle 3\n".to_vec(),
            "folded stacks",
        ),
        (
            "trace.out",
            b"go 1.22 trace\0\0\0\0data".to_vec(),
            "Go execution trace",
        ),
        ("perf.data", b"PERFILE2\x68\0\0\0".to_vec(), "perf.data"),
        ("server", std::fs::read(workload()).unwrap(), "ELF"),
        ("twice.gz", gz(&gz(heap_text)), "gzip data inside gzip data"),
        (
            "bad.heap",
            b"heap profile: 1: 1024 [ 1: 1024] @ heap/1024\nnot a sample\n".to_vec(),
            "malformed legacy Go heap text profile (debug=1): line 2",
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = write(dir.path(), name, bytes);
        let out = gantry(&["profile", "top", &file.display().to_string()]);
        assert_exit(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains(name),
            "{name}: the error names the file: {stderr}"
        );
    }
}
