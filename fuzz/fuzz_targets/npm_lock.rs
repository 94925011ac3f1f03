#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gantry_fuzz_targets::npm_lock(data));
