//! The plugin manifest (contract v1): TOML embedded in the module's `gantry-plugin`
//! custom section, or in `NAME.toml` beside `NAME.wasm`. Parsing validates everything a
//! later step relies on: the name pattern, a semver version, `api = 1`, command and
//! hook names, env grant names (`[A-Za-z_][A-Za-z0-9_]*`), a description that is one
//! short line of plain text, and sizes. A manifest is written by the plugin's author, so
//! everything in it is a request: what a plugin actually gets is decided by the user
//! (see `docs/plugins.md`, "Security model").

use serde::{Deserialize, Serialize};

use crate::text::{self, Untrusted};

/// The plugin API version this gantry implements.
pub const API_VERSION: i64 = 1;

/// The custom section that carries an embedded manifest.
pub const SECTION: &str = "gantry-plugin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: semver::Version,
    pub api: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provides: Provides,
    #[serde(default)]
    pub limits: LimitRequests,
    #[serde(default)]
    pub grants: GrantRequests,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provides {
    /// `gantry COMMAND ARGS...` runs this plugin.
    #[serde(default)]
    pub command: Option<String>,
    /// Hooks the host may call, e.g. `scale.forecast`.
    #[serde(default)]
    pub hooks: Vec<String>,
}

/// What the plugin asks for; the user's configuration caps it (see
/// [`crate::Limits::effective`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitRequests {
    #[serde(default)]
    pub memory_mib: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// Grants shown to the user at install time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequests {
    /// Names of host environment variables the plugin may read.
    #[serde(default)]
    pub env: Vec<String>,
}

/// The most bytes a manifest may have; real ones have a few hundred.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// The most characters a description may have: it is one line in `gantry plugin list`.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// The most entries `[grants] env` and `[provides] hooks` may each have.
pub const MAX_LIST_ENTRIES: usize = 64;

/// Why a manifest was refused. The messages quote the manifest's own text escaped
/// ([`Untrusted`]), so they can be printed as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid TOML: {}", Untrusted(.0))]
    Toml(String),
    #[error(
        "it targets plugin api {}, but this gantry supports api {API_VERSION} only; use a plugin built for api {API_VERSION} or a gantry that supports api {}", Untrusted(.found), Untrusted(.found)
    )]
    UnsupportedApi { found: String },
    #[error("{}", Untrusted(.0))]
    Invalid(String),
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::Invalid(format!(
                "the manifest has {} bytes; at most {MAX_MANIFEST_BYTES} are allowed",
                text.len()
            )));
        }
        // TOML forbids these too; checking here keeps `--sha256` of a module and the
        // manifest beside it unambiguous whatever the TOML parser accepts.
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ManifestError::Invalid(format!(
                "the manifest contains the control character U+{:04X}",
                u32::from(c)
            )));
        }
        // The api version is checked before the schema: a manifest for another api may
        // have other keys, and "unsupported api" is the useful message then.
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ManifestError::Toml(e.message().to_string()))?;
        match table.get("api") {
            Some(toml::Value::Integer(API_VERSION)) => {}
            Some(other) => {
                return Err(ManifestError::UnsupportedApi {
                    found: other.to_string(),
                });
            }
            None => {
                return Err(ManifestError::Invalid(format!(
                    "`api` is missing; add `api = {API_VERSION}`"
                )));
            }
        }
        let manifest: Manifest = toml::from_str(text)
            .map_err(|e| ManifestError::Invalid(e.message().trim().to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |message: String| Err(ManifestError::Invalid(message));
        if !valid_name(&self.name) {
            return invalid(format!(
                "name `{}` must match [a-z][a-z0-9-]{{0,31}}",
                Untrusted(&self.name)
            ));
        }
        if let Some(command) = &self.provides.command
            && !valid_name(command)
        {
            return invalid(format!(
                "provides.command `{}` must match [a-z][a-z0-9-]{{0,31}}",
                Untrusted(command)
            ));
        }
        if let Some(description) = &self.description {
            if description.chars().count() > MAX_DESCRIPTION_CHARS {
                return invalid(format!(
                    "description has {} characters; at most {MAX_DESCRIPTION_CHARS} are allowed",
                    description.chars().count()
                ));
            }
            if let Some(c) = description.chars().find(|&c| text::needs_escape(c)) {
                return invalid(format!(
                    "description contains the control character U+{:04X}; it must be one line of plain text",
                    u32::from(c)
                ));
            }
        }
        if self.provides.hooks.len() > MAX_LIST_ENTRIES {
            return invalid(format!(
                "provides.hooks has {} entries; at most {MAX_LIST_ENTRIES} are allowed",
                self.provides.hooks.len()
            ));
        }
        for hook in &self.provides.hooks {
            let ok = !hook.is_empty()
                && hook.len() <= 64
                && hook
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !ok {
                return invalid(format!(
                    "hook `{}` must be 1 to 64 of a-z, 0-9, `.`, `_` and `-`",
                    Untrusted(hook)
                ));
            }
        }
        if self.grants.env.len() > MAX_LIST_ENTRIES {
            return invalid(format!(
                "grants.env has {} entries; at most {MAX_LIST_ENTRIES} are allowed",
                self.grants.env.len()
            ));
        }
        for (i, name) in self.grants.env.iter().enumerate() {
            if !valid_env_name(name) {
                return invalid(format!(
                    "grants.env entry `{}` is not an environment variable name: it must match [A-Za-z_][A-Za-z0-9_]{{0,127}}",
                    Untrusted(name)
                ));
            }
            if self.grants.env[..i].contains(name) {
                return invalid(format!("grants.env lists `{name}` twice"));
            }
        }
        if self.limits.memory_mib == Some(0) || self.limits.timeout_ms == Some(0) {
            return invalid("limits.memory_mib and limits.timeout_ms must be positive".to_string());
        }
        Ok(())
    }

    /// The manifest embedded in a module, if it has one, parsed and validated.
    pub fn embedded_in(wasm: &[u8]) -> Result<Option<Manifest>, ManifestError> {
        match scan(wasm).map_err(ManifestError::Invalid)?.manifest {
            Some(text) => Manifest::parse(&text).map(Some),
            None => Ok(None),
        }
    }

    pub fn provides_hook(&self, hook: &str) -> bool {
        self.provides.hooks.iter().any(|h| h == hook)
    }
}

/// `[a-z][a-z0-9-]{0,31}`: plugin and command names.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.len() <= 32
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// `[A-Za-z_][A-Za-z0-9_]{0,127}`: environment variable names a plugin may be granted.
pub fn valid_env_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// What gantry reads from a module before compiling it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleScan {
    /// The text of the `gantry-plugin` custom section, if there is one.
    pub manifest: Option<String>,
    /// The bytes of all its data segments: memory the module needs to start.
    pub data_bytes: u64,
}

/// Reads a module's section headers (function bodies are skipped; the module itself is
/// validated when compiled): its embedded manifest and the size of its data segments.
/// A module with two `gantry-plugin` sections is refused, since tools could disagree on
/// which one counts.
pub fn scan(bytes: &[u8]) -> Result<ModuleScan, String> {
    let mut found = ModuleScan::default();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.message().to_string())? {
            wasmparser::Payload::CustomSection(section) if section.name() == SECTION => {
                if found.manifest.is_some() {
                    return Err(format!("the module has more than one `{SECTION}` section"));
                }
                let text = std::str::from_utf8(section.data())
                    .map_err(|_| format!("the `{SECTION}` section is not UTF-8"))?;
                found.manifest = Some(text.to_string());
            }
            wasmparser::Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(|e| e.message().to_string())?;
                    found.data_bytes = found.data_bytes.saturating_add(data.data.len() as u64);
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "forecast"
version = "0.1.0"
api = 1
description = "Load forecaster"
[provides]
command = "forecast"
hooks = ["scale.forecast"]
[limits]
memory_mib = 64
timeout_ms = 5000
[grants]
env = ["HOME"]
"#;

    #[test]
    fn parses_the_brief_example() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.name, "forecast");
        assert_eq!(m.version, semver::Version::new(0, 1, 0));
        assert!(m.provides_hook("scale.forecast"));
        assert!(!m.provides_hook("scale.other"));
        assert_eq!(m.limits.memory_mib, Some(64));
        assert_eq!(m.grants.env, ["HOME"]);
    }

    #[test]
    fn minimal_manifest() {
        let m = Manifest::parse("name = \"a\"\nversion = \"1.2.3-rc.1\"\napi = 1\n").unwrap();
        assert_eq!(m.provides, Provides::default());
    }

    #[test]
    fn names() {
        for good in ["a", "hello", "naive-forecast", "a1", &"a".repeat(32)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1a", "-a", "Hello", "a_b", "a.b", "é", &"a".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
        let err = Manifest::parse("name = \"Bad\"\nversion = \"1.0.0\"\napi = 1\n").unwrap_err();
        assert!(err.to_string().contains("[a-z][a-z0-9-]{0,31}"), "{err}");
    }

    #[test]
    fn semver_is_required() {
        let err = Manifest::parse("name = \"a\"\nversion = \"1.0\"\napi = 1\n").unwrap_err();
        assert!(matches!(err, ManifestError::Invalid(_)), "{err}");
        assert!(err.to_string().contains("version"), "{err}");
    }

    #[test]
    fn other_api_versions_are_refused_with_the_supported_one() {
        let err = Manifest::parse("name = \"a\"\nversion = \"1.0.0\"\napi = 2\nnew_key = true\n")
            .unwrap_err();
        assert_eq!(
            err,
            ManifestError::UnsupportedApi {
                found: "2".to_string()
            }
        );
        assert!(err.to_string().contains("supports api 1"), "{err}");
        let missing = Manifest::parse("name = \"a\"\nversion = \"1.0.0\"\n").unwrap_err();
        assert!(missing.to_string().contains("api = 1"), "{missing}");
    }

    #[test]
    fn unknown_keys_and_bad_hooks_are_refused() {
        let err =
            Manifest::parse("name = \"a\"\nversion = \"1.0.0\"\napi = 1\nfoo = 1\n").unwrap_err();
        assert!(err.to_string().contains("foo"), "{err}");
        let err = Manifest::parse(
            "name = \"a\"\nversion = \"1.0.0\"\napi = 1\n[provides]\nhooks = [\"Scale Forecast\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("hook"), "{err}");
        let err = Manifest::parse(
            "name = \"a\"\nversion = \"1.0.0\"\napi = 1\n[grants]\nenv = [\"A=B\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("grants.env"), "{err}");
    }

    #[test]
    fn finds_the_embedded_section() {
        let wasm = wat::parse_str(
            r#"(module (@custom "gantry-plugin" "name = \"x\"\nversion = \"0.1.0\"\napi = 1\n"))"#,
        )
        .unwrap();
        let text = scan(&wasm).unwrap().manifest.unwrap();
        assert_eq!(Manifest::parse(&text).unwrap().name, "x");
        assert_eq!(
            scan(&wat::parse_str("(module)").unwrap()).unwrap(),
            ModuleScan::default()
        );
        assert!(scan(b"\0asm garbage").is_err());
    }

    #[test]
    fn two_manifest_sections_are_refused() {
        let wasm = wat::parse_str(
            r#"(module (@custom "gantry-plugin" "name = \"x\"") (@custom "gantry-plugin" "name = \"y\""))"#,
        )
        .unwrap();
        let err = scan(&wasm).unwrap_err();
        assert!(err.contains("more than one"), "{err}");
    }

    #[test]
    fn data_segments_are_counted() {
        let wasm =
            wat::parse_str(r#"(module (memory 1) (data (i32.const 0) "abcd") (data "passive!"))"#)
                .unwrap();
        assert_eq!(scan(&wasm).unwrap().data_bytes, 12);
    }

    fn with(extra: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(&format!(
            "name = \"a\"\nversion = \"1.0.0\"\napi = 1\n{extra}"
        ))
    }

    #[test]
    fn env_grant_names_are_strict() {
        for good in ["HOME", "_x", "AWS_REGION", "a1", &"A".repeat(128)] {
            assert!(valid_env_name(good), "{good}");
            with(&format!("[grants]\nenv = [\"{good}\"]\n")).unwrap();
        }
        for bad in [
            "",
            "1A",
            "A-B",
            "A B",
            "A=B",
            "É",
            "A\x1b[2K",
            &"A".repeat(129),
        ] {
            assert!(!valid_env_name(bad), "{bad}");
            let quoted = toml::Value::String(bad.to_string());
            let err = with(&format!("[grants]\nenv = [{quoted}]\n")).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("grants.env"), "{text}");
            assert!(!text.contains('\x1b'), "{text:?}");
        }
        let err = with("[grants]\nenv = [\"A\", \"A\"]\n").unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn descriptions_are_one_short_line() {
        with(&format!(
            "description = \"{}\"\n",
            "d".repeat(MAX_DESCRIPTION_CHARS)
        ))
        .unwrap();
        let err = with(&format!(
            "description = \"{}\"\n",
            "d".repeat(MAX_DESCRIPTION_CHARS + 1)
        ))
        .unwrap_err();
        assert!(err.to_string().contains("at most 200"), "{err}");
        for control in ["\\u001b[1A\\u001b[2K", "two\\nlines", "\\u202e", "tab\\t"] {
            let err = with(&format!("description = \"x{control}\"\n")).unwrap_err();
            assert!(err.to_string().contains("control character"), "{err}");
        }
    }

    #[test]
    fn oversized_manifests_and_lists_are_refused() {
        let big = format!("# {}\n", "x".repeat(MAX_MANIFEST_BYTES));
        assert!(with(&big).unwrap_err().to_string().contains("bytes"));
        let many: Vec<String> = (0..=MAX_LIST_ENTRIES)
            .map(|i| format!("\"V{i}\""))
            .collect();
        let err = with(&format!("[grants]\nenv = [{}]\n", many.join(","))).unwrap_err();
        assert!(err.to_string().contains("at most 64"), "{err}");
    }

    #[test]
    fn errors_quote_manifest_text_escaped() {
        let err = with("\"\\u001b[2Kevil\" = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains(r"\u{1b}[2Kevil"), "{text}");
        assert!(!text.contains('\x1b'), "{text:?}");
        let err =
            Manifest::parse("name = \"a\"\nversion = \"1.0.0\"\napi = \"\\u001b]0;x\\u0007\"\n")
                .unwrap_err();
        assert!(
            !err.to_string().contains(|c: char| c.is_control()),
            "{err:?}"
        );
    }
}
