//! The bodies of gantry's fuzz targets: each takes arbitrary bytes, feeds them to one
//! parser's public entry point, and checks what that parser promises about its result.
//! A panic (or an abort, or running out of memory) is a finding. The libFuzzer binaries
//! in `fuzz/fuzz_targets/` call these functions, and `tests/replay.rs` calls them on
//! every committed corpus and regression file under plain `cargo test`, so a fixed
//! crash stays fixed without a nightly toolchain. [`TARGETS`] lists them by name; the
//! name is also the libFuzzer binary's and the corpus folder's.

use gantry_plugins::{EntryHeader, Manifest, Untrusted, needs_escape};

/// A target's body: anything goes in, and it must not crash.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("manifest", manifest),
    ("custom_section", custom_section),
    ("cache_header", cache_header),
    ("pprof", pprof),
    ("series", series),
];

/// The plugin manifest parser, on text (bytes that are not UTF-8 are not a manifest).
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Manifest::parse(text) {
        Ok(manifest) => check_manifest(&manifest),
        // An error message may quote the manifest, but only escaped.
        Err(err) => assert!(!err.to_string().contains(needs_escape), "{err:?}"),
    }
}

/// What a parsed manifest guarantees to the code that shows and grants it.
fn check_manifest(manifest: &Manifest) {
    assert!(gantry_plugins::valid_name(&manifest.name));
    if let Some(command) = &manifest.provides.command {
        assert!(gantry_plugins::valid_name(command));
    }
    if let Some(description) = &manifest.description {
        assert!(description.chars().count() <= gantry_plugins::MAX_DESCRIPTION_CHARS);
        assert_eq!(Untrusted(description).to_string(), *description);
    }
    assert!(manifest.grants.env.len() <= gantry_plugins::MAX_LIST_ENTRIES);
    for name in &manifest.grants.env {
        assert!(gantry_plugins::valid_env_name(name), "{name:?}");
    }
    assert!(manifest.provides.hooks.len() <= gantry_plugins::MAX_LIST_ENTRIES);
}

/// The reader of a module's custom sections (and data segment sizes), on the bytes as
/// a whole module, and on the bytes as the payload of a `gantry-plugin` section.
pub fn custom_section(data: &[u8]) {
    if let Ok(Some(manifest)) = Manifest::embedded_in(data) {
        check_manifest(&manifest);
    }
    let _ = gantry_plugins::scan(data);

    let mut module = b"\0asm\x01\0\0\0".to_vec();
    let name = b"gantry-plugin";
    let mut section = leb128(name.len() as u64);
    section.extend_from_slice(name);
    section.extend_from_slice(data);
    module.push(0);
    module.extend(leb128(section.len() as u64));
    module.extend(section);
    let scanned = gantry_plugins::scan(&module);
    match std::str::from_utf8(data) {
        Ok(text) => assert_eq!(scanned.map(|s| s.manifest), Ok(Some(text.to_string()))),
        Err(_) => assert!(scanned.is_err()),
    }
}

fn leb128(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The module cache's entry header: arbitrary bytes as an entry, and a well-formed
/// entry built around them, which must parse back.
pub fn cache_header(data: &[u8]) {
    if let Ok((header, payload)) = EntryHeader::parse(data) {
        assert_eq!(payload.len() + EntryHeader::LEN, data.len());
        assert_eq!(
            EntryHeader::encode(&header.module_sha256, payload)[..],
            data[..EntryHeader::LEN]
        );
    }
    let module_sha: [u8; 32] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let mut entry = EntryHeader::encode(&module_sha, data).to_vec();
    entry.extend_from_slice(data);
    let (header, payload) = EntryHeader::parse(&entry).expect("a well-formed entry parses");
    assert_eq!(header.module_sha256, module_sha);
    assert_eq!(payload, data);
}

/// The pprof decoder (gzipped or not), and on a profile it accepts, what reads it: the
/// `top` table and the folded stacks, which rely on the decoder's checks.
pub fn pprof(data: &[u8]) {
    let origin = gantry_profile::Origin::Stdin;
    let Ok(profile) = gantry_profile::Profile::decode(data, origin) else {
        return;
    };
    let _ = gantry_profile::top::top(&profile, None, &gantry_profile::TopOptions::default());
    let _ = gantry_profile::folded::collapse(&profile, None);
}

/// The metrics series reader behind `gantry forecast --metrics` (CSV or JSON, told
/// apart by content), on any bytes. `gantry_forecast::read_series` is the stable entry
/// point: a series it returns has at least two steps, a positive interval, finite
/// values, and fewer filled steps than steps.
pub fn series(data: &[u8]) {
    let options = gantry_forecast::ReadOptions::default();
    let Ok(loaded) = gantry_forecast::read_series(data, "fuzz.csv", &options) else {
        return;
    };
    let series = loaded.series;
    assert!(series.values.len() >= 2);
    assert!(series.interval_s >= 1);
    assert!(series.values.iter().all(|v| v.is_finite()));
    assert!(series.filled < series.values.len());
}
