//! Compile-time support for [`crate::manifest!`]: copying the manifest into a byte array
//! for the custom section, and checking its top-level `name`, `version` and `api` keys
//! in a `const fn`, so a typo fails `cargo build` instead of `gantry plugin install`.
//!
//! The check reads the subset of TOML a manifest's top level uses (`key = "string"` and
//! `key = integer` lines, comments, blank lines) up to the first `[table]`; gantry parses
//! the whole manifest with a real TOML parser when it loads the plugin.

/// The manifest as the contents of the `gantry-plugin` custom section.
pub const fn manifest_bytes<const N: usize>(toml: &str) -> [u8; N] {
    let src = toml.as_bytes();
    assert!(src.len() == N, "gantry plugin manifest: length mismatch");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = src[i];
        i += 1;
    }
    out
}

/// Panics (a compile error, in a `const` item) unless the manifest has a valid `name`
/// (`[a-z][a-z0-9-]{0,31}`), a semver `version` and `api = 1`, each exactly once.
pub const fn check_manifest(toml: &str) {
    let b = toml.as_bytes();
    let (mut name, mut version, mut api) = (false, false, false);
    let mut i = 0;
    while i < b.len() {
        let mut end = i;
        while end < b.len() && b[end] != b'\n' {
            end += 1;
        }
        let (start, stop) = (skip_space(b, i, end), trim_end(b, i, end));
        i = end + 1;
        if start >= stop || b[start] == b'#' {
            continue;
        }
        if b[start] == b'[' {
            break;
        }
        let mut key_end = start;
        while key_end < stop && is_bare_key_byte(b[key_end]) {
            key_end += 1;
        }
        let eq = skip_space(b, key_end, stop);
        if eq >= stop || b[eq] != b'=' {
            continue;
        }
        let value = skip_space(b, eq + 1, stop);
        if same(b, start, key_end, b"name") {
            if name {
                panic!("gantry plugin manifest: `name` is set twice");
            }
            name = true;
            let (s, e) = string_value(b, value, stop);
            if !valid_name(b, s, e) {
                panic!("gantry plugin manifest: `name` must match [a-z][a-z0-9-]{{0,31}}");
            }
        } else if same(b, start, key_end, b"version") {
            if version {
                panic!("gantry plugin manifest: `version` is set twice");
            }
            version = true;
            let (s, e) = string_value(b, value, stop);
            if !valid_semver(b, s, e) {
                panic!(
                    "gantry plugin manifest: `version` must be a semver version such as \"0.1.0\""
                );
            }
        } else if same(b, start, key_end, b"api") {
            if api {
                panic!("gantry plugin manifest: `api` is set twice");
            }
            api = true;
            let after = value + 1;
            if value >= stop
                || b[value] != b'1'
                || !only_comment(b, skip_space(b, after, stop), stop)
            {
                panic!("gantry plugin manifest: `api` must be 1, the contract this SDK speaks");
            }
        }
    }
    if !name {
        panic!("gantry plugin manifest: `name` is missing");
    }
    if !version {
        panic!("gantry plugin manifest: `version` is missing");
    }
    if !api {
        panic!("gantry plugin manifest: `api = 1` is missing");
    }
}

const fn skip_space(b: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

const fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(b[end - 1], b' ' | b'\t' | b'\r') {
        end -= 1;
    }
    end
}

const fn is_bare_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

const fn same(b: &[u8], start: usize, end: usize, word: &[u8]) -> bool {
    if end - start != word.len() {
        return false;
    }
    let mut i = 0;
    while i < word.len() {
        if b[start + i] != word[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn only_comment(b: &[u8], i: usize, stop: usize) -> bool {
    i >= stop || b[i] == b'#'
}

/// The bounds of a basic string without escapes, which is all a name or version needs.
const fn string_value(b: &[u8], start: usize, stop: usize) -> (usize, usize) {
    if start >= stop || b[start] != b'"' {
        panic!("gantry plugin manifest: `name` and `version` must be \"quoted\" strings");
    }
    let mut end = start + 1;
    while end < stop && b[end] != b'"' {
        if b[end] == b'\\' {
            panic!("gantry plugin manifest: `name` and `version` cannot hold escapes");
        }
        end += 1;
    }
    if end >= stop || !only_comment(b, skip_space(b, end + 1, stop), stop) {
        panic!("gantry plugin manifest: unterminated string or text after it");
    }
    (start + 1, end)
}

const fn valid_name(b: &[u8], start: usize, end: usize) -> bool {
    if end <= start || end - start > 32 || !b[start].is_ascii_lowercase() {
        return false;
    }
    let mut i = start + 1;
    while i < end {
        if !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit() || b[i] == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// `MAJOR.MINOR.PATCH`, numbers without leading zeros, then optional `-PRE` and `+BUILD`
/// made of dot-separated non-empty `[0-9A-Za-z-]` identifiers.
const fn valid_semver(b: &[u8], start: usize, end: usize) -> bool {
    let mut i = start;
    let mut part = 0;
    while part < 3 {
        let digits = i;
        while i < end && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits || (i - digits > 1 && b[digits] == b'0') {
            return false;
        }
        part += 1;
        if part < 3 {
            if i >= end || b[i] != b'.' {
                return false;
            }
            i += 1;
        }
    }
    if i < end && b[i] == b'-' {
        i = identifiers(b, i + 1, end);
        if i == usize::MAX {
            return false;
        }
    }
    if i < end && b[i] == b'+' {
        i = identifiers(b, i + 1, end);
        if i == usize::MAX {
            return false;
        }
    }
    i == end
}

/// Reads dot-separated identifiers from `i`; returns where they stop, or `usize::MAX`
/// when one is empty.
const fn identifiers(b: &[u8], mut i: usize, end: usize) -> usize {
    loop {
        let first = i;
        while i < end && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        if i == first {
            return usize::MAX;
        }
        if i < end && b[i] == b'.' {
            i += 1;
        } else {
            return i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# a plugin\nname = \"naive-forecast\"  # comment\nversion = \"1.2.3-rc.1+build.5\"\r\napi = 1\ndescription = \"x\"\n[provides]\nname = \"ignored in tables\"\n";

    // The macro expands in this crate too: the manifest check runs at compile time here.
    crate::manifest!(GOOD);

    fn panic_message(toml: &str) -> Option<String> {
        let toml = toml.to_string();
        std::panic::catch_unwind(move || check_manifest(&toml))
            .err()
            .map(|payload| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            })
    }

    #[test]
    fn accepts_a_valid_manifest() {
        assert_eq!(panic_message(GOOD), None);
        assert_eq!(&GANTRY_PLUGIN_MANIFEST[..], GOOD.as_bytes());
    }

    #[test]
    fn refuses_invalid_top_level_keys() {
        let cases = [
            ("version = \"0.1.0\"\napi = 1", "`name` is missing"),
            ("name = \"a\"\napi = 1", "`version` is missing"),
            ("name = \"a\"\nversion = \"0.1.0\"", "`api = 1` is missing"),
            (
                "name = \"a\"\nversion = \"0.1.0\"\n[x]\napi = 1",
                "`api = 1` is missing",
            ),
            (
                "name = \"Hello\"\nversion = \"0.1.0\"\napi = 1",
                "`name` must match",
            ),
            (
                "name = \"1a\"\nversion = \"0.1.0\"\napi = 1",
                "`name` must match",
            ),
            (
                "name = \"\"\nversion = \"0.1.0\"\napi = 1",
                "`name` must match",
            ),
            (
                &format!(
                    "name = \"{}\"\nversion = \"0.1.0\"\napi = 1",
                    "a".repeat(33)
                ),
                "`name` must match",
            ),
            (
                "name = 'a'\nversion = \"0.1.0\"\napi = 1",
                "\"quoted\" strings",
            ),
            ("name = \"a\nversion = \"0.1.0\"\napi = 1", "unterminated"),
            (
                "name = \"a\"\nname = \"b\"\nversion = \"0.1.0\"\napi = 1",
                "`name` is set twice",
            ),
            ("name = \"a\"\nversion = \"0.1\"\napi = 1", "semver"),
            ("name = \"a\"\nversion = \"01.0.0\"\napi = 1", "semver"),
            ("name = \"a\"\nversion = \"1.0.0-\"\napi = 1", "semver"),
            ("name = \"a\"\nversion = \"1.0.0+a..b\"\napi = 1", "semver"),
            (
                "name = \"a\"\nversion = \"0.1.0\"\napi = 2",
                "`api` must be 1",
            ),
            (
                "name = \"a\"\nversion = \"0.1.0\"\napi = 10",
                "`api` must be 1",
            ),
        ];
        for (toml, expected) in cases {
            let message = panic_message(toml);
            assert!(
                message.as_deref().is_some_and(|m| m.contains(expected)),
                "{toml:?}: expected {expected:?}, got {message:?}"
            );
        }
    }

    #[test]
    fn accepts_semver_forms() {
        for version in [
            "0.0.0",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-0.3.7",
            "1.0.0+20130313144700",
            "1.0.0-beta+exp.sha.5114f85",
        ] {
            let toml = format!("name = \"a\"\nversion = \"{version}\"\napi = 1");
            assert_eq!(panic_message(&toml), None, "{version}");
        }
    }
}
