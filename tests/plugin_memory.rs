//! The host's own memory for a module with a large data segment stays under twice the
//! plugin's memory limit, on the run that compiles it and on the one that loads it from
//! the module cache. A test binary of its own: it bounds the peak RSS of every gantry
//! this process starts, which the other sandbox tests' smaller bound would not allow.

mod plugin_support;

use plugin_support::{big_data_module, gantry};

#[cfg(target_os = "linux")]
#[test]
fn a_module_with_large_data_runs_within_twice_its_memory_limit() {
    const DATA_MIB: usize = 200;
    const MEMORY_MIB: usize = 256;
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("big.wasm");
    // `_start` traps unless the segment's last byte arrived in memory.
    let last = (DATA_MIB << 20) - 1;
    big_data_module(
        &wasm,
        DATA_MIB,
        &format!(
            "(if (i32.ne (i32.load8_u (i32.const {last})) (i32.const 97)) (then unreachable))"
        ),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[plugins]\nmodule_mib = {MEMORY_MIB}\n")).unwrap();
    for run in ["compiles", "loads the cached code"] {
        let output = gantry(dir.path())
            .args(["--config", config.to_str().unwrap(), "plugin", "run"])
            .arg(&wasm)
            .args(["--memory-mib", &MEMORY_MIB.to_string()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the run that {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
        let peak_kib = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
            usage.ru_maxrss
        };
        let bound_kib = (2 * MEMORY_MIB * 1024) as libc::c_long;
        assert!(
            peak_kib < bound_kib,
            "the run that {run} peaked at {peak_kib} KiB, over twice the {MEMORY_MIB} MiB limit"
        );
    }
}
