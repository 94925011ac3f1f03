//! The plugin manifest (contract v1): TOML embedded in the module's `gantry-plugin`
//! custom section, or in `NAME.toml` beside `NAME.wasm`. Parsing validates everything a
//! later step relies on: the name pattern, a semver version, `api = 1`, command and
//! hook names, and env grant names.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid TOML: {0}")]
    Toml(String),
    #[error(
        "it targets plugin api {found}, but this gantry supports api {API_VERSION} only; use a plugin built for api {API_VERSION} or a gantry that supports api {found}"
    )]
    UnsupportedApi { found: String },
    #[error("{0}")]
    Invalid(String),
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
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
        if !valid_name(&self.name) {
            return Err(ManifestError::Invalid(format!(
                "name {:?} must match [a-z][a-z0-9-]{{0,31}}",
                self.name
            )));
        }
        if let Some(command) = &self.provides.command
            && !valid_name(command)
        {
            return Err(ManifestError::Invalid(format!(
                "provides.command {command:?} must match [a-z][a-z0-9-]{{0,31}}"
            )));
        }
        for hook in &self.provides.hooks {
            let ok = !hook.is_empty()
                && hook.len() <= 64
                && hook
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !ok {
                return Err(ManifestError::Invalid(format!(
                    "hook {hook:?} must be 1 to 64 of a-z, 0-9, `.`, `_` and `-`"
                )));
            }
        }
        for name in &self.grants.env {
            let ok =
                !name.is_empty() && !name.contains('=') && !name.contains('\0') && name.is_ascii();
            if !ok {
                return Err(ManifestError::Invalid(format!(
                    "grants.env entry {name:?} is not an environment variable name"
                )));
            }
        }
        if self.limits.memory_mib == Some(0) || self.limits.timeout_ms == Some(0) {
            return Err(ManifestError::Invalid(
                "limits.memory_mib and limits.timeout_ms must be positive".to_string(),
            ));
        }
        Ok(())
    }

    /// The manifest embedded in a module, if it has one, parsed and validated.
    pub fn embedded_in(wasm: &[u8]) -> Result<Option<Manifest>, ManifestError> {
        match embedded(wasm).map_err(ManifestError::Invalid)? {
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

/// The manifest embedded in a module's `gantry-plugin` custom section, if there is one.
/// Only the section headers are read; the module itself is validated when compiled.
pub(crate) fn embedded(bytes: &[u8]) -> Result<Option<String>, String> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.message().to_string())? {
            wasmparser::Payload::CustomSection(section) if section.name() == SECTION => {
                let text = std::str::from_utf8(section.data())
                    .map_err(|_| format!("the `{SECTION}` section is not UTF-8"))?;
                return Ok(Some(text.to_string()));
            }
            // Function bodies are skipped by the parser; nothing else to do.
            _ => {}
        }
    }
    Ok(None)
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
        let text = embedded(&wasm).unwrap().unwrap();
        assert_eq!(Manifest::parse(&text).unwrap().name, "x");
        assert_eq!(
            embedded(&wat::parse_str("(module)").unwrap()).unwrap(),
            None
        );
        assert!(embedded(b"\0asm garbage").is_err());
    }
}
