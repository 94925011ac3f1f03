//! Cargo.lock (format versions 2, 3 and 4) and Cargo.toml parsing: the locked packages
//! with their sources and dependency edges, and each manifest's declared dependencies
//! with their version requirements (`workspace = true` and `package = "..."` renames
//! resolved), so that direct dependencies can be told from transitive ones.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{ParseError, line_of};

pub const CRATES_IO_GIT: &str = "registry+https://github.com/rust-lang/crates.io-index";
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    /// `registry+URL`, `sparse+URL`, `git+URL#rev`; `None` for path packages
    /// (workspace members and path dependencies).
    pub source: Option<String>,
    /// Entries of `dependencies`: `name`, `name version` or `name version (source)`.
    pub dependencies: Vec<String>,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoLock {
    pub version: u32,
    pub packages: Vec<LockedPackage>,
}

impl CargoLock {
    /// Resolves an entry of a `dependencies` list to the package it names.
    pub fn resolve(&self, entry: &str) -> Option<usize> {
        let mut parts = entry.splitn(3, ' ');
        let name = parts.next()?;
        let version = parts.next();
        let source = parts
            .next()
            .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
        self.packages.iter().position(|p| {
            p.name == name
                && version.is_none_or(|v| p.version == v)
                && source.is_none_or(|s| p.source.as_deref() == Some(s))
        })
    }
}

#[derive(Deserialize)]
struct RawLock {
    version: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    package: Vec<RawPackage>,
    metadata: Option<toml::Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: toml::Spanned<String>,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// Parses a Cargo.lock. `file` names it in errors.
pub fn parse_cargo_lock(text: &str, file: &str) -> Result<CargoLock, ParseError> {
    let raw: RawLock = toml::from_str(text).map_err(|e| ParseError::toml(file, text, &e))?;
    let version = match &raw.version {
        None if raw.metadata.is_some() => {
            return Err(ParseError::unsupported(
                file,
                1,
                "it predates Cargo 1.53; let a current cargo rewrite it (`cargo update --workspace`)",
            ));
        }
        // Version 2 has no `version` key; it reads like 3.
        None => 2,
        Some(v) => match v.get_ref().as_integer() {
            Some(n @ 3..=4) => n as u32,
            Some(n) => {
                return Err(ParseError::unsupported(
                    file,
                    n,
                    "gantry reads Cargo.lock versions 2 to 4",
                ));
            }
            None => {
                return Err(ParseError::syntax(
                    file,
                    line_of(text, v.span().start),
                    "`version` must be an integer".into(),
                ));
            }
        },
    };
    let lines = LineIndex::new(text);
    let mut packages = Vec::with_capacity(raw.package.len());
    for p in raw.package {
        let line = lines.line(p.name.span().start);
        if semver::Version::parse(&p.version).is_err() {
            return Err(ParseError::syntax(
                file,
                line,
                format!(
                    "package {}: invalid version {:?}",
                    p.name.get_ref(),
                    p.version
                ),
            ));
        }
        packages.push(LockedPackage {
            name: p.name.into_inner(),
            version: p.version,
            source: p.source,
            dependencies: p.dependencies,
            line,
        });
    }
    Ok(CargoLock { version, packages })
}

/// Byte offset → line number, in O(log n).
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    pub fn line(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&start| start <= offset) as u32
    }
}

/// Where a declared dependency comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredSource {
    Registry(Option<String>),
    Path(String),
    Git(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredDependency {
    /// The package's real name (`package = "..."` when renamed).
    pub package: String,
    /// The version requirement, when one is given.
    pub req: Option<String>,
    pub source: DeclaredSource,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub package_name: Option<String>,
    pub dependencies: Vec<DeclaredDependency>,
    /// `[workspace] members` globs.
    pub members: Vec<String>,
    pub exclude: Vec<String>,
    pub is_workspace: bool,
    /// `rust-version` of the package (or the workspace's, when inherited).
    pub rust_version: Option<String>,
    /// Whether cargo resolves with the rust-version-aware resolver: `resolver = "3"`,
    /// explicitly or as edition 2024's default.
    pub msrv_resolver: bool,
}

/// Parses a Cargo.toml. `workspace_deps` supplies `[workspace.dependencies]` of the
/// workspace root for members that inherit with `workspace = true`.
pub fn parse_cargo_toml(
    text: &str,
    file: &str,
    workspace_deps: Option<&BTreeMap<String, DeclaredDependency>>,
) -> Result<Manifest, ParseError> {
    let value: toml::Table = toml::from_str(text).map_err(|e| ParseError::toml(file, text, &e))?;
    let mut manifest = Manifest {
        package_name: value
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string),
        ..Manifest::default()
    };
    let package = value.get("package").and_then(|p| p.as_table());
    let workspace_package = value
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.as_table());
    let inherited_field = |key: &str| -> Option<String> {
        let field = package.and_then(|p| p.get(key));
        match field {
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(toml::Value::Table(t))
                if t.get("workspace").and_then(|w| w.as_bool()) == Some(true) =>
            {
                workspace_package
                    .and_then(|w| w.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            }
            None => workspace_package
                .and_then(|w| w.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_string),
            _ => None,
        }
    };
    manifest.rust_version = inherited_field("rust-version");
    let resolver = package
        .and_then(|p| p.get("resolver"))
        .or_else(|| value.get("workspace").and_then(|w| w.get("resolver")))
        .and_then(|r| r.as_str());
    manifest.msrv_resolver = match resolver {
        Some(r) => r == "3",
        None => package.is_some() && inherited_field("edition").as_deref() == Some("2024"),
    };
    let own_workspace_deps = workspace_dependencies(&value, file)?;
    let inherited = workspace_deps.or(own_workspace_deps.as_ref());
    let mut tables: Vec<&toml::Table> = Vec::new();
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = value.get(kind).and_then(|t| t.as_table()) {
            tables.push(t);
        }
    }
    if let Some(targets) = value.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(t) = target.get(kind).and_then(|t| t.as_table()) {
                    tables.push(t);
                }
            }
        }
    }
    for table in tables {
        for (key, spec) in table {
            let dep = declared(key, spec, inherited, file)?;
            manifest.dependencies.push(dep);
        }
    }
    if let Some(ws) = value.get("workspace").and_then(|w| w.as_table()) {
        manifest.is_workspace = true;
        let strings = |key: &str| -> Vec<String> {
            ws.get(key)
                .and_then(|m| m.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        manifest.members = strings("members");
        manifest.exclude = strings("exclude");
        if let Some(deps) = &own_workspace_deps {
            manifest.dependencies.extend(deps.values().cloned());
        }
    }
    Ok(manifest)
}

/// `[workspace.dependencies]`, by key.
pub fn workspace_dependencies(
    value: &toml::Table,
    file: &str,
) -> Result<Option<BTreeMap<String, DeclaredDependency>>, ParseError> {
    let Some(table) = value
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
    else {
        return Ok(None);
    };
    let mut deps = BTreeMap::new();
    for (key, spec) in table {
        deps.insert(key.clone(), declared(key, spec, None, file)?);
    }
    Ok(Some(deps))
}

fn declared(
    key: &str,
    spec: &toml::Value,
    inherited: Option<&BTreeMap<String, DeclaredDependency>>,
    file: &str,
) -> Result<DeclaredDependency, ParseError> {
    let bad = || {
        ParseError::invalid(
            file,
            format!("dependency {key}: expected a version string or a table"),
        )
    };
    match spec {
        toml::Value::String(req) => Ok(DeclaredDependency {
            package: key.to_string(),
            req: Some(req.clone()),
            source: DeclaredSource::Registry(None),
        }),
        toml::Value::Table(t) => {
            if t.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
                let base = inherited.and_then(|deps| deps.get(key)).ok_or_else(|| {
                    ParseError::invalid(
                        file,
                        format!(
                            "dependency {key} has `workspace = true` but the workspace does not declare it"
                        ),
                    )
                })?;
                return Ok(base.clone());
            }
            let package = t
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(key)
                .to_string();
            let req = t
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let source = if let Some(path) = t.get("path").and_then(|p| p.as_str()) {
                DeclaredSource::Path(path.to_string())
            } else if let Some(git) = t.get("git").and_then(|g| g.as_str()) {
                DeclaredSource::Git(git.to_string())
            } else {
                DeclaredSource::Registry(
                    t.get("registry")
                        .and_then(|r| r.as_str())
                        .map(str::to_string),
                )
            };
            Ok(DeclaredDependency {
                package,
                req,
                source,
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "rand 0.8.5",
]

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "serde"
version = "1.0.100"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn reads_packages_with_lines() {
        let lock = parse_cargo_lock(LOCK, "Cargo.lock").unwrap();
        assert_eq!(lock.version, 4);
        assert_eq!(lock.packages.len(), 3);
        assert_eq!(lock.packages[1].line, 13);
        assert_eq!(lock.resolve("rand 0.8.5"), Some(1));
        assert_eq!(lock.resolve("serde"), Some(2));
        assert_eq!(lock.packages[0].source, None);
    }

    #[test]
    fn rejects_other_versions_and_bad_toml() {
        let e = parse_cargo_lock(&LOCK.replace("version = 4", "version = 9"), "Cargo.lock")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsupported lockfile version 9"), "{e}");
        let e = parse_cargo_lock("[[package]]\nname = \"x\"\nversion = \n", "x/Cargo.lock")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x/Cargo.lock:3:"), "{e}");
        let v1 =
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n[metadata]\n\"checksum a\" = \"x\"\n";
        assert!(
            parse_cargo_lock(v1, "Cargo.lock")
                .unwrap_err()
                .to_string()
                .contains("version 1")
        );
    }

    #[test]
    fn manifests_with_renames_and_workspace_inheritance() {
        let root = r#"
[workspace]
members = ["crates/*"]
[workspace.dependencies]
serde = { version = "1.0.150", features = ["derive"] }
[dependencies]
rand_old = { package = "rand", version = "0.7" }
local = { path = "local" }
[target.'cfg(unix)'.dependencies]
libc = "0.2"
"#;
        let m = parse_cargo_toml(root, "Cargo.toml", None).unwrap();
        assert!(m.is_workspace);
        assert_eq!(m.members, ["crates/*"]);
        let names: Vec<_> = m.dependencies.iter().map(|d| d.package.as_str()).collect();
        assert_eq!(names, ["local", "rand", "libc", "serde"]);
        let ws = workspace_dependencies(&toml::from_str(root).unwrap(), "Cargo.toml")
            .unwrap()
            .unwrap();
        let member = "[package]\nname = \"m\"\n[dependencies]\nserde = { workspace = true }\n";
        let m = parse_cargo_toml(member, "crates/m/Cargo.toml", Some(&ws)).unwrap();
        assert_eq!(m.dependencies[0].req.as_deref(), Some("1.0.150"));
    }
}
