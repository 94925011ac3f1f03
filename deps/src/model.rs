//! The report: what `gantry deps-audit` found, in the shape of its JSON schema
//! (`gantry.deps-audit/v1`, documented in the README).

use std::fmt;

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "gantry.deps-audit/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Go,
    Cargo,
    Npm,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 3] = [Ecosystem::Go, Ecosystem::Cargo, Ecosystem::Npm];

    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Go => "go",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
        }
    }

    /// The ecosystem's name in OSV data.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Go => "Go",
            Ecosystem::Cargo => "crates.io",
            Ecosystem::Npm => "npm",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How far `latest` is from `current`, by the ecosystem's own compatibility rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    None,
    Patch,
    Minor,
    Major,
    /// Not checked (a failed lookup, or a dependency that is not looked up).
    Unknown,
}

impl UpdateKind {
    pub fn name(self) -> &'static str {
        match self {
            UpdateKind::None => "none",
            UpdateKind::Patch => "patch",
            UpdateKind::Minor => "minor",
            UpdateKind::Major => "major",
            UpdateKind::Unknown => "unknown",
        }
    }
}

/// Where a lockfile entry comes from; only `registry` dependencies are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Registry,
    Path,
    Git,
    Workspace,
    /// Replaced by a `replace` directive (Go) with a local folder.
    Replaced,
    /// Matched by GOPRIVATE/GONOPROXY (Go): not sent to a proxy.
    Private,
    /// A URL, tarball or other source that has no registry versions.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V3`, `CVSS_V4`, or `rating` when only a word is given.
    #[serde(rename = "type")]
    pub kind: String,
    /// The CVSS vector, when given.
    pub vector: Option<String>,
    /// The CVSS base score computed from the vector.
    pub score: Option<f64>,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub rating: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    /// Versions that fix it, from the advisory's ranges.
    pub fixed: Vec<String>,
    /// `unmaintained`, `unsound` or `notice` for RustSec informational advisories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
    pub url: Option<String>,
}

/// A place in a file, for SARIF locations and table notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Relative to the audited folder, with `/` separators.
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub current: String,
    pub latest: Option<String>,
    pub latest_compatible: Option<String>,
    pub update: UpdateKind,
    pub direct: bool,
    pub yanked: bool,
    pub retracted: bool,
    /// The module author's reasons, for a retracted Go version.
    pub retraction: Vec<String>,
    pub deprecated: Option<String>,
    /// `null` when vulnerabilities were not checked.
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    pub source: SourceKind,
    /// Why the entry was not looked up (path, git, private...), when it was not.
    pub note: Option<String>,
    /// What went wrong with the lookup; `update` is then `unknown`.
    pub error: Option<String>,
    /// Answered from the cache past its freshness window (`--offline`).
    pub stale: bool,
    pub location: Location,
}

impl Dependency {
    pub fn new(ecosystem: Ecosystem, name: &str, current: &str, location: Location) -> Self {
        Dependency {
            ecosystem,
            name: name.to_string(),
            current: current.to_string(),
            latest: None,
            latest_compatible: None,
            update: UpdateKind::Unknown,
            direct: false,
            yanked: false,
            retracted: false,
            retraction: Vec::new(),
            deprecated: None,
            vulnerabilities: None,
            source: SourceKind::Registry,
            note: None,
            error: None,
            stale: false,
            location,
        }
    }

    /// Records a failed lookup: never "up to date".
    pub fn fail(&mut self, error: impl fmt::Display) {
        self.update = UpdateKind::Unknown;
        self.latest = None;
        self.latest_compatible = None;
        if self.error.is_none() {
            self.error = Some(error.to_string());
        }
    }

    pub fn vulnerable(&self) -> bool {
        self.vulnerabilities
            .as_ref()
            .is_some_and(|v| v.iter().any(|v| v.informational.is_none()))
    }

    /// Sort key: riskiest first.
    pub fn risk(&self) -> u32 {
        let mut risk = 0;
        if self.vulnerable() {
            risk += 1000;
        }
        if self.yanked || self.retracted {
            risk += 500;
        }
        if self.error.is_some() {
            risk += 300;
        }
        if self.deprecated.is_some() {
            risk += 200;
        }
        risk += match self.update {
            UpdateKind::Major => 100,
            UpdateKind::Minor => 50,
            UpdateKind::Patch => 20,
            UpdateKind::Unknown => 10,
            UpdateKind::None => 0,
        };
        risk
    }
}

/// One audited project: a lockfile and its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub ecosystem: Ecosystem,
    /// The manifest or lockfile read, relative to the audited folder.
    pub lockfile: String,
    /// The lockfile's format version (Cargo.lock, package-lock.json), or the `go` line.
    pub format: Option<String>,
    pub dependencies: usize,
}

/// Where vulnerability data came from, and whether it could be used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OsvStatus {
    /// `api` or `database`.
    pub source: String,
    /// Advisories loaded from an offline database.
    pub advisories: Option<usize>,
    /// Why vulnerabilities were not checked; every `vulnerabilities` is then null.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub projects: Vec<Project>,
    pub osv: OsvStatus,
    pub dependencies: Vec<Dependency>,
    /// Things the user should know that are not about one dependency.
    pub warnings: Vec<String>,
}

impl Report {
    pub fn new() -> Self {
        Report {
            schema: SCHEMA.to_string(),
            projects: Vec::new(),
            osv: OsvStatus::default(),
            dependencies: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Riskiest first within each ecosystem; ecosystems in a fixed order.
    pub fn sort(&mut self) {
        self.dependencies.sort_by(|a, b| {
            (
                a.ecosystem,
                std::cmp::Reverse(a.risk()),
                &a.name,
                &a.location.file,
            )
                .cmp(&(
                    b.ecosystem,
                    std::cmp::Reverse(b.risk()),
                    &b.name,
                    &b.location.file,
                ))
        });
    }
}

impl Default for Report {
    fn default() -> Self {
        Report::new()
    }
}

/// `--fail-on`: which findings make the command exit with the `findings` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Vuln,
    Major,
    /// Yanked (Cargo) or retracted (Go) current versions.
    Yanked,
    Deprecated,
    /// Any of the above, or any available update.
    Any,
}

impl FailOn {
    pub fn matches(self, dep: &Dependency) -> bool {
        match self {
            FailOn::Vuln => dep.vulnerable(),
            FailOn::Major => dep.update == UpdateKind::Major,
            FailOn::Yanked => dep.yanked || dep.retracted,
            FailOn::Deprecated => dep.deprecated.is_some(),
            FailOn::Any => {
                dep.vulnerable()
                    || dep.yanked
                    || dep.retracted
                    || dep.deprecated.is_some()
                    || matches!(
                        dep.update,
                        UpdateKind::Major | UpdateKind::Minor | UpdateKind::Patch
                    )
            }
        }
    }
}
