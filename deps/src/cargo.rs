//! Cargo projects: the registry's sparse index (path layout by name length, one JSON
//! document per line, `yanked`), and per locked package its newest version, its newest
//! version that the requirements on it allow (as `cargo update` would pick), whether the
//! locked version is yanked, and the update kind under Cargo's caret rules.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::StreamExt as _;
use gantry_http::Response;
use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::cargo_lock::{
    self, CRATES_IO_GIT, CRATES_IO_SPARSE, DeclaredDependency, DeclaredSource, Manifest,
};
use crate::error::AuditError;
use crate::model::{Dependency, Ecosystem, Location, Project, Report, SourceKind, UpdateKind};
use crate::net::{Net, join_url};

pub const DEFAULT_INDEX: &str = "https://index.crates.io/";

/// Where crates.io's index is read from: `--cargo-index`, else cargo's own source
/// replacement (`[source.crates-io] replace-with`) in the project's and the user's
/// cargo configuration, else the public sparse index.
pub fn crates_io_index(explicit: Option<&str>, project: &Path) -> Result<String, AuditError> {
    if let Some(url) = explicit {
        return Ok(url.trim_start_matches("sparse+").to_string());
    }
    let mut configs: Vec<PathBuf> = project
        .ancestors()
        .flat_map(|dir| [dir.join(".cargo/config.toml"), dir.join(".cargo/config")])
        .collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cargo")));
    if let Some(home) = cargo_home {
        configs.push(home.join("config.toml"));
        configs.push(home.join("config"));
    }
    let tables: Vec<toml::Table> = configs
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter_map(|text| toml::from_str(&text).ok())
        .collect();
    let lookup = |keys: &[&str]| -> Option<String> {
        tables.iter().find_map(|t| {
            let mut value = t.get(keys[0])?;
            for key in &keys[1..] {
                value = value.get(key)?;
            }
            value.as_str().map(str::to_string)
        })
    };
    let Some(replacement) = lookup(&["source", "crates-io", "replace-with"]) else {
        return Ok(DEFAULT_INDEX.to_string());
    };
    match lookup(&["source", &replacement, "registry"]) {
        Some(url) if url.starts_with("sparse+") => Ok(url["sparse+".len()..].to_string()),
        Some(url) => Err(AuditError::Usage(format!(
            "cargo's configuration replaces crates.io with {replacement} ({url}), a git index; \
             gantry reads sparse indexes only: pass --cargo-index URL"
        ))),
        None => Err(AuditError::Usage(format!(
            "cargo's configuration replaces crates.io with {replacement}, which is not a sparse registry; \
             pass --cargo-index URL"
        ))),
    }
}

/// The index file of a crate, relative to the index root.
pub fn index_path(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// One published version in a crate's index file. Its dependency list is read only when
/// asked ([`IndexVersion::deps`]): an index file lists every version's dependencies, and
/// an audit reads those of a version or two per crate.
#[derive(Debug, Clone)]
pub struct IndexVersion {
    pub vers: String,
    /// `vers` as semver, `None` when it does not parse (such a version is never offered).
    pub version: Option<Version>,
    pub yanked: bool,
    pub rust_version: Option<String>,
    /// The index file and this version's line in it.
    file: Bytes,
    line: Range<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IndexDep {
    pub name: String,
    pub req: String,
    /// The real name when the dependency is renamed.
    pub package: Option<String>,
}

impl IndexVersion {
    /// The version's dependencies, read from its line of the index file.
    pub fn deps(&self) -> Result<Vec<IndexDep>, String> {
        #[derive(Deserialize)]
        struct Deps {
            #[serde(default)]
            deps: Vec<IndexDep>,
        }
        serde_json::from_slice::<Deps>(&self.file[self.line.clone()])
            .map(|d| d.deps)
            .map_err(|e| {
                format!(
                    "version {}: malformed dependency list in the index: {e}",
                    self.vers
                )
            })
    }
}

/// Parses an index file: one JSON document per line. Each line is checked to be JSON
/// with a `vers`, but only the fields every version needs are kept (see [`IndexVersion`]).
pub fn parse_index(body: Bytes, url: &str) -> Result<Vec<IndexVersion>, String> {
    #[derive(Deserialize)]
    struct Summary<'a> {
        #[serde(borrow)]
        vers: Cow<'a, str>,
        #[serde(default)]
        yanked: bool,
        rust_version: Option<String>,
    }
    let text = std::str::from_utf8(&body).map_err(|_| format!("{url}: not UTF-8"))?;
    let mut versions = Vec::new();
    let mut start = 0;
    for (i, line) in text.split('\n').enumerate() {
        let range = start..start + line.len();
        start = range.end + 1;
        if line.trim().is_empty() {
            continue;
        }
        let summary: Summary = serde_json::from_str(line)
            .map_err(|e| format!("{url}: line {}: malformed index entry: {e}", i + 1))?;
        versions.push(IndexVersion {
            version: Version::parse(&summary.vers).ok(),
            vers: summary.vers.into_owned(),
            yanked: summary.yanked,
            rust_version: summary.rust_version,
            file: body.clone(),
            line: range,
        });
    }
    if versions.is_empty() {
        return Err(format!("{url}: the index file lists no versions"));
    }
    Ok(versions)
}

/// The HTTP cache's name (and format version) for the summary of an index file: what
/// [`parse_index`] keeps of each line, so that a warm run reads that instead of parsing
/// every version's dependency list again (most of an index file's bytes).
const SUMMARY_KIND: &str = "cargo-index-summary-v1";

/// One version in a summary: `vers`, `yanked`, `rust_version` and its line's byte range.
#[derive(Serialize, Deserialize)]
struct SummaryLine(String, bool, Option<String>, usize, usize);

/// An index file's versions: from the summary an earlier run kept beside this very body
/// in the cache, else parsed, and the summary kept for the next run.
pub fn index_versions(response: &Response, url: &str) -> Result<Vec<IndexVersion>, String> {
    if let Some(versions) = response
        .derived(SUMMARY_KIND)
        .and_then(|summary| from_summary(&summary, &response.body))
    {
        return Ok(versions);
    }
    let versions = parse_index(response.body.clone(), url)?;
    response.store_derived(SUMMARY_KIND, &to_summary(&versions));
    Ok(versions)
}

fn to_summary(versions: &[IndexVersion]) -> Vec<u8> {
    let lines: Vec<SummaryLine> = versions
        .iter()
        .map(|v| {
            SummaryLine(
                v.vers.clone(),
                v.yanked,
                v.rust_version.clone(),
                v.line.start,
                v.line.end,
            )
        })
        .collect();
    serde_json::to_vec(&lines).expect("a summary serialises")
}

/// The versions a summary lists, or `None` when it is unreadable or does not fit the
/// body (then the body is parsed again).
fn from_summary(summary: &[u8], body: &Bytes) -> Option<Vec<IndexVersion>> {
    let lines: Vec<SummaryLine> = serde_json::from_slice(summary).ok()?;
    if lines.is_empty() {
        return None;
    }
    lines
        .into_iter()
        .map(|SummaryLine(vers, yanked, rust_version, start, end)| {
            (start <= end && end <= body.len()).then(|| IndexVersion {
                version: Version::parse(&vers).ok(),
                vers,
                yanked,
                rust_version,
                file: body.clone(),
                line: start..end,
            })
        })
        .collect()
}

/// The index base for a lockfile `source`, or why the package is not looked up.
fn index_for(source: &str, crates_io: &str) -> Result<String, String> {
    if source == CRATES_IO_GIT || source == CRATES_IO_SPARSE {
        Ok(crates_io.to_string())
    } else if let Some(url) = source.strip_prefix("sparse+") {
        Ok(url.to_string())
    } else {
        Err(format!("registry {source} has a git index: not looked up"))
    }
}

/// The manifests of the workspace (the root and its members) and of path dependencies,
/// each with whether it is a workspace member. As in Cargo, a path dependency is a
/// member when a `[workspace]` root holds it in its folder, or a `members` glob names it.
fn manifests(dir: &Path, display_dir: &str) -> Result<Vec<(String, Manifest, bool)>, AuditError> {
    let root_path = dir.join("Cargo.toml");
    let Ok(root_text) = std::fs::read_to_string(&root_path) else {
        return Ok(Vec::new());
    };
    let root_display = crate::display_join(display_dir, "Cargo.toml");
    let root_table: toml::Table = toml::from_str(&root_text)
        .map_err(|e| crate::error::ParseError::toml(&root_display, &root_text, &e))?;
    let workspace_deps = cargo_lock::workspace_dependencies(&root_table, &root_display)?;
    let root = cargo_lock::parse_cargo_toml(&root_text, &root_display, None)?;
    let mut folders: Vec<PathBuf> = Vec::new();
    for pattern in &root.members {
        folders.extend(crate::paths::expand_glob(dir, pattern));
    }
    let excluded: Vec<PathBuf> = root.exclude.iter().map(|e| dir.join(e)).collect();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let member_folders: HashSet<PathBuf> = folders.iter().cloned().collect();
    let mut out = vec![(root_display, root.clone(), true)];
    let mut queue: Vec<PathBuf> = root
        .dependencies
        .iter()
        .filter_map(|d| match &d.source {
            DeclaredSource::Path(p) => Some(dir.join(p)),
            _ => None,
        })
        .chain(folders)
        .collect();
    while let Some(folder) = queue.pop() {
        if excluded.contains(&folder) || !seen.insert(folder.clone()) {
            continue;
        }
        let path = folder.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rel = folder.strip_prefix(dir).unwrap_or(&folder);
        let display = crate::display_join(display_dir, &format!("{}/Cargo.toml", rel.display()));
        let manifest = cargo_lock::parse_cargo_toml(&text, &display, workspace_deps.as_ref())?;
        for d in &manifest.dependencies {
            if let DeclaredSource::Path(p) = &d.source {
                queue.push(folder.join(p));
            }
        }
        let member = member_folders.contains(&folder)
            || (root.is_workspace && !rel.is_absolute() && !rel.starts_with(".."));
        out.push((display, manifest, member));
    }
    Ok(out)
}

/// Cargo's caret rules: `major` when `latest` is not `^current`-compatible.
pub fn update_kind(current: &Version, latest: &Version) -> UpdateKind {
    if latest <= current {
        return UpdateKind::None;
    }
    let caret =
        VersionReq::parse(&format!("^{current}")).expect("a version is a valid caret requirement");
    if !caret.matches(latest) {
        UpdateKind::Major
    } else if (current.major, current.minor) == (latest.major, latest.minor) {
        UpdateKind::Patch
    } else {
        UpdateKind::Minor
    }
}

pub(crate) async fn audit(
    net: &Net,
    crates_io: &str,
    dir: &Path,
    display_dir: &str,
    report: &mut Report,
) -> Result<(), AuditError> {
    let display = crate::display_join(display_dir, "Cargo.lock");
    let text =
        std::fs::read_to_string(dir.join("Cargo.lock")).map_err(|source| AuditError::Io {
            path: display.clone(),
            source,
        })?;
    let lock = cargo_lock::parse_cargo_lock(&text, &display)?;
    drop(text);
    let manifests = manifests(dir, display_dir)?;
    // With the rust-version-aware resolver (resolver 3), cargo prefers versions whose
    // `rust-version` the workspace's own allows.
    let msrv: Option<Version> = manifests
        .first()
        .filter(|(_, root, _)| root.msrv_resolver)
        .and_then(|(_, root, _)| root.rust_version.as_deref())
        .and_then(parse_rust_version);
    let members: HashSet<&str> = manifests
        .iter()
        .filter(|(_, _, member)| *member)
        .filter_map(|(_, m, _)| m.package_name.as_deref())
        .collect();
    // Requirements on each package name declared by the workspace's own manifests.
    let mut declared: HashMap<&str, Vec<&DeclaredDependency>> = HashMap::new();
    for (_, manifest, _) in &manifests {
        for d in &manifest.dependencies {
            declared.entry(d.package.as_str()).or_default().push(d);
        }
    }
    let local = |p: &cargo_lock::LockedPackage| p.source.is_none();
    // Without a Cargo.toml every local package is taken for a member.
    let member = |p: &cargo_lock::LockedPackage| {
        local(p) && (members.contains(p.name.as_str()) || manifests.is_empty())
    };
    // Direct: depended on by a package of the workspace.
    let mut direct: HashSet<usize> = HashSet::new();
    for p in lock.packages.iter().filter(|p| member(p)) {
        for entry in &p.dependencies {
            if let Some(i) = lock.resolve(entry) {
                direct.insert(i);
            }
        }
    }
    // Fetch each registry package's index file once.
    let mut wanted: BTreeMap<(String, String), ()> = BTreeMap::new();
    for p in &lock.packages {
        if let Some(source) = &p.source
            && let Ok(base) = index_for(source, crates_io)
        {
            wanted.insert((base, p.name.clone()), ());
        }
    }
    let stale_names: std::sync::Mutex<HashSet<String>> = Default::default();
    net.progress.start(Ecosystem::Cargo, lock.packages.len());
    let fetched: HashMap<(String, String), Result<Vec<IndexVersion>, String>> =
        futures::stream::iter(wanted.into_keys())
            .map(|(base, name)| {
                let stale_names = &stale_names;
                async move {
                    let url = join_url(&base, &index_path(&name));
                    let stale = AtomicBool::new(false);
                    let result = match net.get(&url, None, &stale).await {
                        // Parsed off this thread, so that files parse on every core.
                        Ok(response) => {
                            let url = url.clone();
                            tokio::task::spawn_blocking(move || index_versions(&response, &url))
                                .await
                                .expect("parsing an index file does not panic")
                        }
                        Err(e) if e.status() == Some(404) || e.status() == Some(410) => {
                            Err(format!("{name} is not in the registry index ({e})"))
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    if stale.load(Ordering::Relaxed) {
                        stale_names
                            .lock()
                            .expect("not poisoned")
                            .insert(name.clone());
                    }
                    net.progress.advance();
                    ((base, name), result)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
    let stale_names = stale_names.into_inner().expect("not poisoned");
    let index_of = |p: &cargo_lock::LockedPackage| -> Option<&Result<Vec<IndexVersion>, String>> {
        let base = index_for(p.source.as_deref()?, crates_io).ok()?;
        fetched.get(&(base, p.name.clone()))
    };
    let versions_of = |i: usize| match index_of(&lock.packages[i]) {
        Some(Ok(versions)) => Some(versions.as_slice()),
        _ => None,
    };
    // Requirements the workspace's own manifests put on its direct dependencies.
    let mut direct_reqs: HashMap<usize, Vec<String>> = HashMap::new();
    for &i in &direct {
        let p = &lock.packages[i];
        let Ok(current) = Version::parse(&p.version) else {
            continue;
        };
        for d in declared.get(p.name.as_str()).into_iter().flatten() {
            if let Some(req) = &d.req
                && VersionReq::parse(req).is_ok_and(|r| r.matches(&current))
            {
                direct_reqs.entry(i).or_default().push(req.clone());
            }
        }
    }
    // `cargo update` moves dependents too, and a dependent's newer version may require
    // a newer child (serde 1.0.229 pins serde_derive =1.0.229). So requirements are
    // read from each dependent at the version it would move to, until nothing moves.
    let mut chosen: HashMap<usize, String> = (0..lock.packages.len())
        .filter(|&i| versions_of(i).is_some())
        .map(|i| (i, lock.packages[i].version.clone()))
        .collect();
    let mut required_by = HashMap::new();
    for _round in 0..10 {
        required_by = requirements(&lock, &versions_of, &chosen);
        let mut moved = false;
        for (&i, version) in chosen.iter_mut() {
            let Some(versions) = versions_of(i) else {
                continue;
            };
            let mut reqs = direct_reqs.get(&i).cloned().unwrap_or_default();
            reqs.extend(required_by.get(&i).into_iter().flatten().cloned());
            if let Some(compatible) =
                newest_compatible(versions, &lock.packages[i].version, &reqs, msrv.as_ref())
                && compatible != *version
            {
                *version = compatible;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let mut count = 0;
    for (i, p) in lock.packages.iter().enumerate() {
        if member(p) {
            continue;
        }
        count += 1;
        let mut dep = Dependency::new(
            Ecosystem::Cargo,
            &p.name,
            &p.version,
            Location {
                file: display.clone(),
                line: p.line,
            },
        );
        dep.direct = direct.contains(&i);
        dep.stale = stale_names.contains(&p.name);
        match &p.source {
            None => {
                dep.source = SourceKind::Path;
                dep.note = Some("path dependency: not looked up".into());
            }
            Some(s) if s.starts_with("git+") => {
                dep.source = SourceKind::Git;
                dep.note = Some(format!(
                    "git dependency ({}): not looked up",
                    s.trim_start_matches("git+")
                ));
            }
            Some(s) => match index_of(p) {
                None => {
                    dep.source = SourceKind::Other;
                    dep.note = Some(
                        index_for(s, crates_io)
                            .err()
                            .unwrap_or_else(|| "not looked up".into()),
                    );
                }
                Some(Err(e)) => dep.fail(e),
                Some(Ok(versions)) => {
                    let mut reqs: Vec<String> = direct_reqs.remove(&i).unwrap_or_default();
                    reqs.extend(required_by.remove(&i).unwrap_or_default());
                    classify(&mut dep, versions, &reqs, msrv.as_ref());
                }
            },
        }
        report.dependencies.push(dep);
    }
    report.projects.push(Project {
        ecosystem: Ecosystem::Cargo,
        lockfile: display,
        format: Some(format!("Cargo.lock v{}", lock.version)),
        dependencies: count,
    });
    Ok(())
}

/// The requirements on each locked package from its registry dependents, each read at
/// the version `chosen` for it. A dependent may depend on two lines of one crate under
/// different names; a requirement counts for the child whose caret line it allows.
fn requirements<'a>(
    lock: &cargo_lock::CargoLock,
    versions_of: &dyn Fn(usize) -> Option<&'a [IndexVersion]>,
    chosen: &HashMap<usize, String>,
) -> HashMap<usize, Vec<String>> {
    let mut required_by: HashMap<usize, Vec<String>> = HashMap::new();
    for (p, parent) in lock.packages.iter().enumerate() {
        let (Some(versions), Some(version)) = (versions_of(p), chosen.get(&p)) else {
            continue;
        };
        // A line whose dependency list does not read puts no requirement on anything.
        let Some(Ok(deps)) = versions
            .iter()
            .find(|v| v.vers == *version)
            .map(IndexVersion::deps)
        else {
            continue;
        };
        for dep_entry in &parent.dependencies {
            let Some(child) = lock.resolve(dep_entry) else {
                continue;
            };
            let child_pkg = &lock.packages[child];
            let Ok(child_version) = Version::parse(&child_pkg.version) else {
                continue;
            };
            let caret =
                VersionReq::parse(&format!("^{child_version}")).expect("valid caret requirement");
            let line: Vec<&Version> = versions_of(child)
                .into_iter()
                .flatten()
                .filter_map(|v| v.version.as_ref())
                .filter(|v| caret.matches(v) || **v == child_version)
                .collect();
            for d in &deps {
                let real = d.package.as_deref().unwrap_or(&d.name);
                if real == child_pkg.name
                    && VersionReq::parse(&d.req).is_ok_and(|r| line.iter().any(|v| r.matches(v)))
                {
                    required_by.entry(child).or_default().push(d.req.clone());
                }
            }
        }
    }
    required_by
}

/// `1.85` → 1.85.0.
fn parse_rust_version(text: &str) -> Option<Version> {
    let parts = text.trim().split('.').count();
    let full = match parts {
        1 => format!("{text}.0.0"),
        2 => format!("{text}.0"),
        _ => text.to_string(),
    };
    Version::parse(&full).ok()
}

/// The newest non-yanked version every requirement allows, if newer than `current`;
/// `^current` stands in when nothing requires the package. With `msrv`, versions whose
/// `rust-version` exceeds it are taken only when no other version fits (cargo's
/// `incompatible-rust-versions = "fallback"`).
fn newest_compatible(
    versions: &[IndexVersion],
    current: &str,
    reqs: &[String],
    msrv: Option<&Version>,
) -> Option<String> {
    let current = Version::parse(current).ok()?;
    let mut reqs: Vec<VersionReq> = reqs
        .iter()
        .filter_map(|r| VersionReq::parse(r).ok())
        .collect();
    if reqs.is_empty() {
        reqs.push(VersionReq::parse(&format!("^{current}")).expect("valid caret requirement"));
    }
    let fitting: Vec<(Version, bool)> = versions
        .iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| {
            let parsed = v.version.clone()?;
            let rust_ok = match (msrv, v.rust_version.as_deref().and_then(parse_rust_version)) {
                (Some(msrv), Some(needs)) => needs <= *msrv,
                _ => true,
            };
            Some((parsed, rust_ok))
        })
        .filter(|(v, _)| reqs.iter().all(|r| r.matches(v)))
        .collect();
    let preferred = fitting.iter().filter(|(_, ok)| *ok).map(|(v, _)| v).max();
    let newest = preferred
        .or_else(|| fitting.iter().map(|(v, _)| v).max())
        .filter(|v| **v > current)
        .cloned()
        .unwrap_or(current);
    Some(newest.to_string())
}

/// Fills in `latest`, `latest_compatible`, `yanked` and `update` from the index.
pub fn classify(
    dep: &mut Dependency,
    versions: &[IndexVersion],
    reqs: &[String],
    msrv: Option<&Version>,
) {
    let Ok(current) = Version::parse(&dep.current) else {
        dep.fail(format!("invalid version {:?}", dep.current));
        return;
    };
    let parsed: Vec<(Version, bool)> = versions
        .iter()
        .filter_map(|v| Some((v.version.clone()?, v.yanked)))
        .collect();
    let Some((_, yanked)) = parsed.iter().find(|(v, _)| *v == current) else {
        dep.fail(format!("version {current} is not in the registry index"));
        return;
    };
    dep.yanked = *yanked;
    let newest = |filter: &dyn Fn(&Version) -> bool| -> Option<Version> {
        parsed
            .iter()
            .filter(|(v, yanked)| !yanked && filter(v))
            .map(|(v, _)| v.clone())
            .max()
    };
    let latest = newest(&|v| v.pre.is_empty())
        .or_else(|| newest(&|_| true))
        .filter(|v| *v > current)
        .unwrap_or_else(|| current.clone());
    let compatible = newest_compatible(versions, &dep.current, reqs, msrv)
        .unwrap_or_else(|| current.to_string());
    dep.update = update_kind(&current, &latest);
    dep.latest = Some(latest.to_string());
    dep.latest_compatible = Some(compatible);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_by_name_length() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }

    #[test]
    fn caret_rules() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(update_kind(&v("1.2.3"), &v("1.2.3")), UpdateKind::None);
        assert_eq!(update_kind(&v("1.2.3"), &v("1.2.9")), UpdateKind::Patch);
        assert_eq!(update_kind(&v("1.2.3"), &v("1.9.0")), UpdateKind::Minor);
        assert_eq!(update_kind(&v("1.2.3"), &v("2.0.0")), UpdateKind::Major);
        assert_eq!(update_kind(&v("0.3.1"), &v("0.3.7")), UpdateKind::Patch);
        assert_eq!(update_kind(&v("0.3.1"), &v("0.4.0")), UpdateKind::Major);
        assert_eq!(update_kind(&v("0.0.1"), &v("0.0.2")), UpdateKind::Major);
    }

    fn entry(vers: &str, yanked: bool) -> IndexVersion {
        let line = format!(r#"{{"name":"x","vers":"{vers}","deps":[],"yanked":{yanked}}}"#);
        parse_index(Bytes::from(line), "u").unwrap().remove(0)
    }

    #[test]
    fn yanked_and_prerelease_versions_are_skipped() {
        let versions = [
            entry("1.0.0", false),
            entry("1.1.0", true),
            entry("1.0.5", false),
            entry("2.0.0-rc.1", false),
            entry("1.2.0", true),
        ];
        let mut dep = Dependency::new(
            Ecosystem::Cargo,
            "x",
            "1.1.0",
            Location {
                file: "Cargo.lock".into(),
                line: 1,
            },
        );
        classify(&mut dep, &versions, &[], None);
        assert!(dep.yanked);
        assert_eq!(dep.latest.as_deref(), Some("1.1.0"));
        assert_eq!(dep.update, UpdateKind::None);
        let mut dep = Dependency::new(
            Ecosystem::Cargo,
            "x",
            "1.0.0",
            Location {
                file: "Cargo.lock".into(),
                line: 1,
            },
        );
        classify(&mut dep, &versions, &["~1.0".to_string()], None);
        assert_eq!(dep.latest.as_deref(), Some("1.0.5"));
        assert_eq!(dep.latest_compatible.as_deref(), Some("1.0.5"));
        assert_eq!(dep.update, UpdateKind::Patch);
    }

    #[test]
    fn dependencies_are_read_from_their_own_line() {
        let file = concat!(
            r#"{"name":"x","vers":"1.0.0","deps":[{"name":"a","req":"^1"}]}"#,
            "\r\n\n",
            r#"{"name":"x","vers":"1.1.0","deps":[{"name":"b","req":"^2","package":"c"}],"rust_version":"1.70"}"#,
            "\n",
            r#"{"name":"x","vers":"not semver","deps":{"broken":true}}"#,
        );
        let versions = parse_index(Bytes::from_static(file.as_bytes()), "u").unwrap();
        assert_eq!(versions.len(), 3);
        let first = versions[0].deps().unwrap();
        assert_eq!((first[0].name.as_str(), first[0].req.as_str()), ("a", "^1"));
        let second = versions[1].deps().unwrap();
        assert_eq!(second[0].package.as_deref(), Some("c"));
        assert_eq!(versions[1].rust_version.as_deref(), Some("1.70"));
        assert_eq!(versions[1].version, Some(Version::new(1, 1, 0)));
        assert_eq!(versions[2].version, None);
        assert!(versions[2].deps().unwrap_err().contains("not semver"));
    }

    #[test]
    fn summaries_give_back_the_parsed_versions_and_are_checked_against_the_body() {
        let file = Bytes::from_static(
            concat!(
                r#"{"name":"x","vers":"1.0.0","deps":[{"name":"a","req":"^1"}],"yanked":true}"#,
                "\n",
                r#"{"name":"x","vers":"1.1.0","deps":[],"rust_version":"1.70"}"#,
            )
            .as_bytes(),
        );
        let parsed = parse_index(file.clone(), "u").unwrap();
        let summary = to_summary(&parsed);
        let read = from_summary(&summary, &file).unwrap();
        let fields = |v: &IndexVersion| {
            (
                v.vers.clone(),
                v.version.clone(),
                v.yanked,
                v.rust_version.clone(),
                v.deps().unwrap().len(),
            )
        };
        assert_eq!(
            read.iter().map(fields).collect::<Vec<_>>(),
            parsed.iter().map(fields).collect::<Vec<_>>()
        );
        // A summary of a longer body, or no summary at all, is not used.
        assert!(from_summary(&summary, &file.slice(..20)).is_none());
        assert!(from_summary(b"[]", &file).is_none());
        assert!(from_summary(b"{not json", &file).is_none());
    }

    #[test]
    fn malformed_index_lines_are_errors() {
        let e = parse_index(
            Bytes::from_static(b"{\"name\":\"x\",\"vers\":\"1.0.0\"}\n{\"name\":"),
            "u",
        )
        .unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(parse_index(Bytes::new(), "u").is_err());
    }
}
