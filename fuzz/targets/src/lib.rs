//! The bodies of gantry's fuzz targets: each takes arbitrary bytes, feeds them to one
//! parser's public entry point, and checks what that parser promises about its result.
//! A panic (or an abort, or running out of memory) is a finding. The libFuzzer binaries
//! in `fuzz/fuzz_targets/` call these functions, and `tests/replay.rs` calls them on
//! every committed corpus and regression file under plain `cargo test`, so a fixed
//! crash stays fixed without a nightly toolchain. [`TARGETS`] lists them by name; the
//! name is also the libFuzzer binary's and the corpus folder's.

use gantry_deps::{ParseError, cargo_lock, gomod, gover, npm_lock};
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
    ("go_mod", go_mod),
    ("cargo_lock", cargo_lock),
    ("npm_lock", npm_lock),
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
    let for_functions = gantry_profile::Profile::decode_for_functions(data, origin.clone());
    let decoded = gantry_profile::Profile::decode(data, origin.clone());
    // A gzipped profile is read while it is unzipped: it must decode as its bytes do.
    if !gantry_profile::gzip::is_gzip(data) {
        let zipped = gantry_profile::gzip::gzipped(data.to_vec());
        let unzipped = gantry_profile::Profile::decode(&zipped, origin);
        assert_eq!(
            unzipped.map(|p| format!("{p:?}")).ok(),
            decoded.as_ref().map(|p| format!("{p:?}")).ok(),
            "decoded otherwise when gzipped"
        );
    }
    let Ok(profile) = decoded else {
        assert!(for_functions.is_err(), "decoded for functions only");
        return;
    };
    let options = gantry_profile::TopOptions::default();
    let top = gantry_profile::top::top(&profile, None, &options).map(|r| format!("{:?}", r.rows));
    // `top` reads a profile decoded for reports by function, which may keep less.
    let for_functions = for_functions.expect("decoded for functions too");
    let top_for_functions =
        gantry_profile::top::top(&for_functions, None, &options).map(|r| format!("{:?}", r.rows));
    assert_eq!(
        top.as_ref().ok(),
        top_for_functions.ok().as_ref(),
        "decoded for functions, another table"
    );
    let _ = gantry_profile::folded::collapse(&profile, None);
    // `profile save` writes what `go tool pprof` reads: it must decode again, to the
    // same table.
    let saved = profile.to_gzipped_protobuf();
    let again = gantry_profile::Profile::decode(&saved, gantry_profile::Origin::Stdin)
        .expect("a saved profile decodes");
    let top_again =
        gantry_profile::top::top(&again, None, &options).map(|r| format!("{:?}", r.rows));
    assert_eq!(
        top.ok(),
        top_again.ok(),
        "a saved profile gives another table"
    );
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

/// The go.mod parsers (the main module's, strict, and a dependency's, lenient) and the
/// go.sum parser, all on the same text.
pub fn go_mod(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let strict = gomod::parse_go_mod(text, "fuzz/go.mod");
    let lenient = gomod::parse_dependency_go_mod(text, "fuzz/go.mod");
    match &strict {
        Ok(main) => {
            assert!(main.module.is_some());
            for require in &main.require {
                assert!(gover::is_valid(&require.version), "{require:?}");
                assert!((1..=last_line(text)).contains(&require.line), "{require:?}");
            }
            // Lenient only ignores what strict refuses: a go.mod both read is read alike.
            assert_eq!(lenient.as_ref(), Ok(main));
        }
        Err(err) => check_error(err, "fuzz/go.mod", text),
    }
    if let Err(err) = &lenient {
        check_error(err, "fuzz/go.mod", text);
    }
    if let Err(err) = gomod::parse_go_sum(text, "fuzz/go.sum") {
        check_error(&err, "fuzz/go.sum", text);
    }
}

/// The Cargo.lock parser (and the lookup of its dependency entries), and the Cargo.toml
/// parser as deps-audit runs it: on the workspace root, then as a member inheriting the
/// root's `[workspace.dependencies]`.
pub fn cargo_lock(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match cargo_lock::parse_cargo_lock(text, "fuzz/Cargo.lock") {
        Ok(lock) => {
            assert!((2..=4).contains(&lock.version));
            for package in &lock.packages {
                assert!(semver::Version::parse(&package.version).is_ok());
                assert!((1..=last_line(text)).contains(&package.line));
                for entry in &package.dependencies {
                    let _ = lock.resolve(entry);
                }
            }
        }
        Err(err) => check_error(&err, "fuzz/Cargo.lock", text),
    }
    let file = "fuzz/Cargo.toml";
    if let Err(err) = cargo_lock::parse_cargo_toml(text, file, None) {
        check_error(&err, file, text);
    }
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return;
    };
    match cargo_lock::workspace_dependencies(&table, file) {
        Ok(inherited) => {
            if let Err(err) = cargo_lock::parse_cargo_toml(text, file, inherited.as_ref()) {
                check_error(&err, file, text);
            }
        }
        Err(err) => check_error(&err, file, text),
    }
}

/// The package-lock.json and package.json parsers, and the reading of each declared
/// dependency spec that deps-audit does next.
pub fn npm_lock(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match npm_lock::parse_package_lock(text, "fuzz/package-lock.json") {
        Ok(lock) => {
            assert!((2..=3).contains(&lock.version));
            for entry in &lock.entries {
                assert!((1..=last_line(text)).contains(&entry.line), "{entry:?}");
                for (name, spec) in &entry.specs {
                    let _ = npm_lock::parse_spec(name, spec);
                }
            }
        }
        Err(err) => check_error(&err, "fuzz/package-lock.json", text),
    }
    match npm_lock::parse_package_json(text, "fuzz/package.json") {
        Ok(manifest) => {
            for (name, spec) in &manifest.dependencies {
                let _ = npm_lock::parse_spec(name, spec);
            }
        }
        Err(err) => check_error(&err, "fuzz/package.json", text),
    }
}

/// The number of the last line of `text` (a final newline starts an empty last line).
fn last_line(text: &str) -> u32 {
    text.bytes().filter(|&b| b == b'\n').count() as u32 + 1
}

/// What a lockfile parser promises of its errors: they name the file, and a line that
/// is in it.
fn check_error(err: &ParseError, file: &str, text: &str) {
    let (named, line) = match err {
        ParseError::Syntax { file, line, .. } => (file, Some(*line)),
        ParseError::Unsupported { file, .. } | ParseError::Invalid { file, .. } => (file, None),
    };
    assert_eq!(named, file);
    assert!(err.to_string().starts_with(file), "{err}");
    if let Some(line) = line {
        assert!((1..=last_line(text)).contains(&line), "{err}");
    }
}
