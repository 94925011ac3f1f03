//! What the plugin host's end-to-end tests share: a gantry command isolated in a
//! folder of its own, and modules too large to keep as fixtures.

use std::path::Path;
use std::process::{Command, Stdio};

/// `gantry` with its cache, plugins, config and data under `dir`, no colour and no stdin.
pub fn gantry(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gantry"));
    cmd.env("GANTRY_CACHE_DIR", dir.join("cache"))
        .env("GANTRY_PLUGIN_DIR", dir.join("plugins"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("NO_COLOR", "1")
        .env_remove("GANTRY_CONFIG")
        .stdin(Stdio::null());
    cmd
}

/// Writes a module of about `data_mib` MiB to `path`: a memory of that size, one data
/// segment filling it with `a`, and `_start` with `start_body` (WAT instructions). The
/// data is streamed to the file, so that the test process stays small (a child forked
/// from a large process would start with its RSS).
pub fn big_data_module(path: &Path, data_mib: usize, start_body: &str) {
    use std::io::Write as _;
    let pages = data_mib * 16;
    let data_len = data_mib << 20;
    let mut wasm = wat::parse_str(format!(
        r#"(module (memory (export "memory") {pages}) (func (export "_start") {start_body}))"#
    ))
    .unwrap();
    let mut segment = vec![1, 0, 0x41, 0, 0x0b]; // one active segment at i32.const 0
    leb128_into(data_len, &mut segment);
    wasm.push(11); // the data section
    leb128_into(segment.len() + data_len, &mut wasm);
    wasm.extend(segment);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&wasm).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..data_mib {
        file.write_all(&chunk).unwrap();
    }
    file.flush().unwrap();
}

pub fn leb128_into(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
