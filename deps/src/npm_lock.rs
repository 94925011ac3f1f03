//! package-lock.json (lockfile versions 2 and 3) and package.json parsing: every
//! installed package by its `node_modules/` path (nested paths, scopes, aliases,
//! workspace links), and the dependency ranges each package declares, so that the range
//! governing each installed copy can be found the way Node resolves modules.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    /// The key in `packages`: `""` for the root, `node_modules/a/node_modules/b`, or a
    /// workspace folder.
    pub path: String,
    /// The package's registry name (differs from the folder name for aliases).
    pub name: String,
    pub version: Option<String>,
    pub resolved: Option<String>,
    /// A symlink to a workspace folder.
    pub link: bool,
    pub dev: bool,
    pub optional: bool,
    /// Declared dependencies as (name, spec): `dependencies`, `optionalDependencies`,
    /// `peerDependencies`, and for the root and workspaces `devDependencies`.
    pub specs: Vec<(String, String)>,
    pub line: u32,
}

impl LockEntry {
    /// Whether this entry is an installed package (under some `node_modules/`).
    pub fn installed(&self) -> bool {
        self.path.contains("node_modules/")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLock {
    pub version: u32,
    pub entries: Vec<LockEntry>,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<u32>,
    #[serde(default, deserialize_with = "ordered_entries")]
    packages: Option<Vec<(String, RawEntry)>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    version: Option<String>,
    resolved: Option<String>,
    name: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    dev_optional: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
}

/// Keeps `packages` in file order (the order lines are found in).
fn ordered_entries<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(String, RawEntry)>>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Option<Vec<(String, RawEntry)>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of packages")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some((key, value)) = map.next_entry::<String, RawEntry>()? {
                out.push((key, value));
            }
            Ok(Some(out))
        }
    }
    d.deserialize_map(Ordered)
}

/// The package name an installed folder holds: what follows its last `node_modules/`.
pub fn name_from_path(path: &str) -> &str {
    match path.rfind("node_modules/") {
        Some(i) => &path[i + "node_modules/".len()..],
        None => path.rsplit('/').next().unwrap_or(path),
    }
}

/// Parses a package-lock.json (or npm-shrinkwrap.json). `file` names it in errors.
pub fn parse_package_lock(text: &str, file: &str) -> Result<PackageLock, ParseError> {
    let raw: RawLock = serde_json::from_str(text).map_err(|e| ParseError::json(file, &e))?;
    let version = raw.lockfile_version.ok_or_else(|| {
        ParseError::invalid(file, "no lockfileVersion: not a package-lock.json".into())
    })?;
    match version {
        2 | 3 => {}
        1 => {
            return Err(ParseError::unsupported(
                file,
                1,
                "gantry reads versions 2 and 3: run `npm install --package-lock-only` with npm 7 or later to upgrade it",
            ));
        }
        n => {
            return Err(ParseError::unsupported(
                file,
                n,
                "gantry reads package-lock.json versions 2 and 3",
            ));
        }
    }
    let packages = raw.packages.ok_or_else(|| {
        ParseError::invalid(
            file,
            "no \"packages\" object (lockfile versions 2 and 3 have one)".into(),
        )
    })?;
    let mut finder = KeyFinder::new(text);
    let entries = packages
        .into_iter()
        .map(|(path, e)| {
            let line = finder.line_of_key(&path);
            let name = e
                .name
                .clone()
                .unwrap_or_else(|| name_from_path(&path).to_string());
            let mut specs: Vec<(String, String)> = Vec::new();
            let top = !path.contains("node_modules/");
            specs.extend(e.dependencies);
            specs.extend(e.optional_dependencies);
            specs.extend(e.peer_dependencies);
            if top {
                specs.extend(e.dev_dependencies);
            }
            LockEntry {
                path,
                name,
                version: e.version,
                resolved: e.resolved,
                link: e.link,
                dev: e.dev || e.dev_optional,
                optional: e.optional || e.dev_optional,
                specs,
                line,
            }
        })
        .collect();
    Ok(PackageLock { version, entries })
}

/// Finds the line of each `packages` key, scanning forward once (keys come in order).
struct KeyFinder<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
}

impl<'a> KeyFinder<'a> {
    fn new(text: &'a str) -> Self {
        let pos = text.find("\"packages\"").unwrap_or(0);
        let line = text[..pos].bytes().filter(|&b| b == b'\n').count() as u32 + 1;
        KeyFinder { text, pos, line }
    }

    fn line_of_key(&mut self, key: &str) -> u32 {
        let needle = format!("\"{key}\"");
        let mut from = self.pos;
        while let Some(i) = self.text[from..].find(&needle) {
            let at = from + i;
            let after = self.text[at + needle.len()..].trim_start();
            if after.starts_with(':') {
                self.line += self.text[self.pos..at]
                    .bytes()
                    .filter(|&b| b == b'\n')
                    .count() as u32;
                self.pos = at;
                return self.line;
            }
            from = at + needle.len();
        }
        self.line
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageJson {
    pub name: Option<String>,
    /// (name, spec, kind) in `dependencies`, `devDependencies`, `optionalDependencies`,
    /// `peerDependencies`.
    pub dependencies: Vec<(String, String)>,
    pub workspaces: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPackageJson {
    name: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    workspaces: Option<serde_json::Value>,
}

pub fn parse_package_json(text: &str, file: &str) -> Result<PackageJson, ParseError> {
    let raw: RawPackageJson = serde_json::from_str(text).map_err(|e| ParseError::json(file, &e))?;
    let mut dependencies = Vec::new();
    dependencies.extend(raw.dependencies);
    dependencies.extend(raw.dev_dependencies);
    dependencies.extend(raw.optional_dependencies);
    dependencies.extend(raw.peer_dependencies);
    let workspaces = match raw.workspaces {
        Some(serde_json::Value::Array(items)) => items,
        Some(serde_json::Value::Object(map)) => match map.get("packages") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|v| v.as_str().map(str::to_string))
    .collect();
    Ok(PackageJson {
        name: raw.name,
        dependencies,
        workspaces,
    })
}

/// What a dependency spec asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A semver range (or `*`/empty) on the registry package `name`.
    Range { name: String, range: String },
    /// A dist-tag such as `latest` or `next`.
    Tag { name: String, tag: String },
    /// git, file, link, workspace, or tarball URL: no registry versions.
    Other(String),
}

/// Reads a spec from package.json, resolving `npm:` aliases.
pub fn parse_spec(name: &str, spec: &str) -> Spec {
    let spec = spec.trim();
    if let Some(alias) = spec.strip_prefix("npm:") {
        // npm:real-name@range, npm:@scope/real@range, or npm:real-name
        let (real, range) = match alias.get(1..).and_then(|rest| rest.find('@')) {
            Some(at) => (&alias[..at + 1], &alias[at + 2..]),
            None => (alias, ""),
        };
        return parse_spec(real, if range.is_empty() { "*" } else { range });
    }
    let other_prefixes = [
        "git+",
        "git:",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
        "file:",
        "link:",
        "workspace:",
        "http:",
        "https:",
        "portal:",
        "patch:",
    ];
    if other_prefixes.iter().any(|p| spec.starts_with(p))
        || (spec.contains('/')
            && !spec.starts_with('@')
            && !spec.contains(' ')
            && !spec.starts_with('<')
            && !spec.starts_with('>'))
    {
        return Spec::Other(spec.to_string());
    }
    if spec.is_empty() || spec == "*" || spec == "x" {
        return Spec::Range {
            name: name.to_string(),
            range: "*".into(),
        };
    }
    if nodejs_semver::Range::parse(spec).is_ok() {
        Spec::Range {
            name: name.to_string(),
            range: spec.to_string(),
        }
    } else if spec
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Spec::Tag {
            name: name.to_string(),
            tag: spec.to_string(),
        }
    } else {
        Spec::Other(spec.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"{
  "name": "app",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "app",
      "dependencies": { "a": "^1.0.0", "b-alias": "npm:b@^2.0.0" },
      "devDependencies": { "@s/c": "~3.1.0" }
    },
    "node_modules/a": {
      "version": "1.2.0",
      "dependencies": { "d": "^4.0.0" }
    },
    "node_modules/b-alias": {
      "name": "b",
      "version": "2.5.0"
    },
    "node_modules/@s/c": {
      "version": "3.1.4",
      "dev": true
    },
    "node_modules/a/node_modules/d": {
      "version": "4.0.1"
    }
  }
}"#;

    #[test]
    fn entries_with_names_lines_and_specs() {
        let lock = parse_package_lock(LOCK, "package-lock.json").unwrap();
        assert_eq!(lock.version, 3);
        let names: Vec<_> = lock.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["app", "a", "b", "@s/c", "d"]);
        let lines: Vec<_> = lock.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [6, 11, 15, 19, 23]);
        assert_eq!(lock.entries[0].specs.len(), 3);
        assert!(lock.entries[3].dev);
    }

    #[test]
    fn unsupported_and_malformed() {
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {}}"#;
        let e = parse_package_lock(v1, "package-lock.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported lockfile version 1"), "{e}");
        let e = parse_package_lock(
            "{\n\"lockfileVersion\": 3,\n\"packages\": {\n\"\": {\"version\": 1}\n}}",
            "p.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.json:4:"), "{e}");
        let e = parse_package_lock("{\"lockfileVersion\": 3, \"packages\": {", "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.json:1:"), "{e}");
    }

    #[test]
    fn specs() {
        assert_eq!(
            parse_spec("x", "npm:@s/real@^1.2.0"),
            Spec::Range {
                name: "@s/real".into(),
                range: "^1.2.0".into()
            }
        );
        assert_eq!(
            parse_spec("x", "npm:real"),
            Spec::Range {
                name: "real".into(),
                range: "*".into()
            }
        );
        assert_eq!(
            parse_spec("x", "next"),
            Spec::Tag {
                name: "x".into(),
                tag: "next".into()
            }
        );
        assert_eq!(
            parse_spec("x", ">=1.0.0 <2"),
            Spec::Range {
                name: "x".into(),
                range: ">=1.0.0 <2".into()
            }
        );
        assert!(matches!(
            parse_spec("x", "github:user/repo"),
            Spec::Other(_)
        ));
        assert!(matches!(parse_spec("x", "user/repo"), Spec::Other(_)));
        assert!(matches!(parse_spec("x", "file:../x"), Spec::Other(_)));
    }
}
