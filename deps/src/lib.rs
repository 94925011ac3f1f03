//! Dependency audits for gantry: which dependencies of a Go, Cargo or npm project have
//! updates, which updates break compatibility, and which versions are yanked, retracted,
//! deprecated or vulnerable.
//!
//! [`detect`] finds the projects under a folder, [`audit`] looks every dependency up
//! (module proxy, sparse index, npm registry; OSV for vulnerabilities) and returns a
//! [`Report`], which serialises to the `gantry.deps-audit/v1` JSON schema and to SARIF
//! ([`sarif::to_sarif`]). Nothing here needs a terminal.
//!
//! The lockfile parsers are public functions over text that return a `Result` and never
//! panic: [`gomod::parse_go_mod`], [`gomod::parse_go_sum`],
//! [`cargo_lock::parse_cargo_lock`], [`cargo_lock::parse_cargo_toml`],
//! [`npm_lock::parse_package_lock`], [`npm_lock::parse_package_json`].

pub mod cargo;
pub mod cargo_lock;
pub mod error;
pub mod golang;
pub mod gomod;
pub mod gover;
pub mod model;
pub mod net;
pub mod npm;
pub mod npm_lock;
pub mod osv;
mod paths;
pub mod sarif;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{AuditError, ParseError};
pub use golang::GoSettings;
pub use model::*;
pub use net::{NoProgress, Progress};
pub use npm::Registries;

/// Where vulnerabilities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsvSource {
    /// The OSV API at this base URL.
    Api(String),
    /// An offline database: `all.zip`, or a folder (see [`osv::OsvDb::load`]).
    Database(PathBuf),
}

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// A project folder, or one of its lockfiles / manifests.
    pub path: PathBuf,
    /// Audit only this ecosystem.
    pub ecosystem: Option<Ecosystem>,
    pub osv: OsvSource,
    /// `--cargo-index`: the sparse index for crates.io packages.
    pub cargo_index: Option<String>,
    pub go: GoSettings,
    /// npm registries; discovered from the environment and `.npmrc` when `None`.
    pub npm_registries: Option<Registries>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The Node.js version to check `engines.node` against; found as npm finds it when
    /// `None` (see [`npm::node_version`]).
    pub node_version: Option<nodejs_semver::Version>,
}

impl AuditOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditOptions {
            path: path.into(),
            ecosystem: None,
            osv: OsvSource::Api(osv::DEFAULT_API.to_string()),
            cargo_index: None,
            go: GoSettings::from_env(),
            npm_registries: None,
            concurrency: 32,
            node_version: None,
        }
    }
}

/// A project found under the audited path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub ecosystem: Ecosystem,
    pub dir: PathBuf,
    /// `dir` as the user should read it (relative when they gave a relative path).
    pub display_dir: String,
    /// The lockfile's file name (package-lock.json or npm-shrinkwrap.json for npm).
    pub lockfile: String,
}

/// `dir` + `/` + `name`, where an empty `dir` means the current folder.
pub fn display_join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

fn display_of(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.trim_start_matches("./");
    if text == "." {
        String::new()
    } else {
        text.trim_end_matches('/').to_string()
    }
}

/// Finds the projects at `path`: a folder holding go.mod, Cargo.lock and/or
/// package-lock.json (each is audited), or one of those files (or Cargo.toml /
/// package.json beside its lockfile).
pub fn detect(path: &Path, only: Option<Ecosystem>) -> Result<Vec<Detected>, AuditError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| AuditError::Usage(format!("{}: {}", path.display(), error_text(&e))))?;
    let (dir, named) = if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let ecosystem = match name.as_str() {
            "go.mod" | "go.sum" => Ecosystem::Go,
            "Cargo.lock" | "Cargo.toml" => Ecosystem::Cargo,
            "package-lock.json" | "npm-shrinkwrap.json" | "package.json" => Ecosystem::Npm,
            _ => {
                return Err(AuditError::Usage(format!(
                    "{}: not a go.mod, Cargo.lock or package-lock.json",
                    path.display()
                )));
            }
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (dir.to_path_buf(), Some(ecosystem))
    } else {
        (path.to_path_buf(), None)
    };
    let display_dir = display_of(&dir);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for ecosystem in Ecosystem::ALL {
        if only.is_some_and(|e| e != ecosystem) || named.is_some_and(|e| e != ecosystem) {
            continue;
        }
        let has = |name: &str| dir.join(name).is_file();
        let lockfile = match ecosystem {
            Ecosystem::Go => has("go.mod").then(|| "go.mod".to_string()),
            Ecosystem::Cargo => {
                if !has("Cargo.lock") && has("Cargo.toml") {
                    missing.push(format!(
                        "{} has no Cargo.lock beside it: run `cargo generate-lockfile` first",
                        display_join(&display_dir, "Cargo.toml")
                    ));
                }
                has("Cargo.lock").then(|| "Cargo.lock".to_string())
            }
            Ecosystem::Npm => {
                if !has("package-lock.json") && !has("npm-shrinkwrap.json") && has("package.json") {
                    missing.push(format!(
                        "{} has no package-lock.json beside it: run `npm install --package-lock-only` first",
                        display_join(&display_dir, "package.json")
                    ));
                }
                ["npm-shrinkwrap.json", "package-lock.json"]
                    .into_iter()
                    .find(|name| has(name))
                    .map(str::to_string)
            }
        };
        if let Some(lockfile) = lockfile {
            found.push(Detected {
                ecosystem,
                dir: dir.clone(),
                display_dir: display_dir.clone(),
                lockfile,
            });
        }
    }
    if found.is_empty() {
        let what = match only.or(named) {
            Some(Ecosystem::Go) => "go.mod",
            Some(Ecosystem::Cargo) => "Cargo.lock",
            Some(Ecosystem::Npm) => "package-lock.json",
            None => "go.mod, Cargo.lock or package-lock.json",
        };
        let mut message = format!("no {what} in {}", dir.display());
        if !missing.is_empty() {
            message = missing.join("; ");
        }
        return Err(AuditError::Usage(message));
    }
    Ok(found)
}

fn error_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        _ => e.to_string(),
    }
}

/// Audits every project at `options.path` and returns the report, riskiest first.
pub async fn audit(
    options: &AuditOptions,
    client: gantry_http::Client,
    progress: Arc<dyn Progress>,
) -> Result<Report, AuditError> {
    let projects = detect(&options.path, options.ecosystem)?;
    let osv_db_error = |e| match e {
        AuditError::Io { path, source } => {
            AuditError::Usage(format!("--osv-db {path}: {}", error_text(&source)))
        }
        other => other,
    };
    // An unreadable offline database is bad input: say so before any network work. Then
    // it is read on another thread while the registries are asked.
    let loading = match &options.osv {
        OsvSource::Database(path) => {
            osv::OsvDb::check(path).map_err(osv_db_error)?;
            let path = path.clone();
            Some(tokio::task::spawn_blocking(move || osv::OsvDb::load(&path)))
        }
        OsvSource::Api(_) => None,
    };
    let offline = client.offline();
    let net = net::Net::new(client, options.concurrency, progress);
    let mut report = Report::new();
    for project in &projects {
        match project.ecosystem {
            Ecosystem::Go => {
                let display = display_join(&project.display_dir, "go.mod");
                golang::audit(&net, &options.go, &project.dir, &display, &mut report).await?;
            }
            Ecosystem::Cargo => {
                let index = cargo::crates_io_index(options.cargo_index.as_deref(), &project.dir)?;
                cargo::audit(
                    &net,
                    &index,
                    &project.dir,
                    &project.display_dir,
                    &mut report,
                )
                .await?;
            }
            Ecosystem::Npm => {
                let registries = options
                    .npm_registries
                    .clone()
                    .unwrap_or_else(|| Registries::discover(&project.dir));
                let node = options.node_version.clone().or_else(npm::node_version);
                npm::audit(
                    &net,
                    &registries,
                    node.as_ref(),
                    &project.dir,
                    &project.display_dir,
                    &project.lockfile,
                    &mut report,
                )
                .await?;
            }
        }
    }
    let database = match loading {
        Some(task) => Some(
            task.await
                .expect("reading the OSV database does not panic")
                .map_err(osv_db_error)?,
        ),
        None => None,
    };
    let checkable: Vec<usize> = report
        .dependencies
        .iter()
        .enumerate()
        .filter(|(_, d)| d.source == SourceKind::Registry)
        .map(|(i, _)| i)
        .collect();
    match (&options.osv, database) {
        (_, Some(db)) => {
            report.warnings.extend(db.warnings.iter().cloned());
            report.osv = OsvStatus {
                source: "database".into(),
                advisories: Some(db.len()),
                error: None,
            };
            for i in checkable {
                let dep = &mut report.dependencies[i];
                dep.vulnerabilities = Some(db.matches(dep.ecosystem, &dep.name, &dep.current));
            }
        }
        (OsvSource::Api(base), None) if offline => {
            report.osv = OsvStatus {
                source: "api".into(),
                advisories: None,
                error: Some(format!(
                    "vulnerabilities not checked: --offline cannot reach the OSV API at {base}; pass --osv-db DIR|ZIP"
                )),
            };
        }
        (OsvSource::Api(base), None) => {
            let queries: Vec<osv::ApiQuery> = checkable
                .iter()
                .map(|&i| {
                    let d = &report.dependencies[i];
                    osv::ApiQuery {
                        ecosystem: d.ecosystem,
                        name: d.name.clone(),
                        version: d.current.clone(),
                    }
                })
                .collect();
            report.osv.source = "api".into();
            match osv::query_api(&net, base, &queries).await {
                Ok(results) => {
                    for (i, found) in checkable.into_iter().zip(results) {
                        report.dependencies[i].vulnerabilities = Some(found);
                    }
                }
                Err(e) => report.osv.error = Some(format!("vulnerabilities not checked: {e}")),
            }
        }
        (OsvSource::Database(_), None) => unreachable!("the database was loaded above"),
    }
    report.sort();
    Ok(report)
}
