//! Go modules: the module graph and its build list as `go list -m all` computes it
//! (graph pruning for go 1.17+, minimal version selection, `replace`), and for each
//! module what `go list -m -u` reports: the upgrade (`Update.Version`), whether the
//! current version is retracted, and the module's deprecation, all from a module proxy
//! (`GOPROXY` list with `,`/`|` fall-through and `off`; `GOPRIVATE`/`GONOPROXY` skipped).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt as _;
use gantry_http::Bytes;
use serde::Deserialize;

use crate::error::AuditError;
use crate::gomod::{self, GoMod};
use crate::gover;
use crate::model::{Dependency, Ecosystem, Location, Project, Report, SourceKind, UpdateKind};
use crate::net::{Net, join_url};

/// The `go` command's environment settings that decide where modules are looked up.
#[derive(Debug, Clone)]
pub struct GoSettings {
    /// `GOPROXY`; default `https://proxy.golang.org,direct`.
    pub proxy: String,
    /// `GONOPROXY` patterns, else `GOPRIVATE`'s.
    pub no_proxy: String,
}

impl Default for GoSettings {
    fn default() -> Self {
        GoSettings {
            proxy: "https://proxy.golang.org,direct".into(),
            no_proxy: String::new(),
        }
    }
}

impl GoSettings {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        GoSettings {
            proxy: var("GOPROXY").unwrap_or_else(|| GoSettings::default().proxy),
            no_proxy: var("GONOPROXY")
                .or_else(|| var("GOPRIVATE"))
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum ProxyEntry {
    Url(String),
    Direct,
    Off,
}

/// A parsed `GOPROXY` list. Each entry carries whether any error (`|`) or only
/// "not found" (`,`) falls through to the next.
#[derive(Debug, Clone)]
struct Proxy {
    entries: Vec<(ProxyEntry, bool)>,
}

impl Proxy {
    fn parse(value: &str) -> Result<Proxy, AuditError> {
        let mut entries = Vec::new();
        let mut rest = value.trim();
        while !rest.is_empty() {
            let end = rest.find([',', '|']).unwrap_or(rest.len());
            let item = rest[..end].trim();
            let any_error = rest[end..].starts_with('|');
            rest = if end < rest.len() {
                &rest[end + 1..]
            } else {
                ""
            };
            if item.is_empty() {
                continue;
            }
            let entry = match item {
                "direct" => ProxyEntry::Direct,
                "off" => ProxyEntry::Off,
                url if url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with("file://") =>
                {
                    if url.starts_with("file://") {
                        return Err(AuditError::Usage(format!(
                            "GOPROXY entry {url}: file:// proxies are not supported; serve the folder over HTTP"
                        )));
                    }
                    ProxyEntry::Url(url.to_string())
                }
                other => {
                    return Err(AuditError::Usage(format!(
                        "GOPROXY entry {other:?} is not a URL, \"direct\" or \"off\""
                    )));
                }
            };
            entries.push((entry, any_error));
        }
        if entries.is_empty() {
            return Err(AuditError::Usage("GOPROXY is empty".into()));
        }
        Ok(Proxy { entries })
    }
}

/// Why a proxy request gave no answer.
#[derive(Debug, Clone)]
enum FetchError {
    /// Every proxy said 404/410: the module or version does not exist.
    NotFound(String),
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NotFound(m) | FetchError::Failed(m) => f.write_str(m),
        }
    }
}

struct Lookup<'a> {
    net: &'a Net,
    proxy: &'a Proxy,
    stale: AtomicBool,
}

impl Lookup<'_> {
    async fn fetch(&self, suffix: &str) -> Result<Bytes, FetchError> {
        let mut last_not_found = None;
        for (entry, any_error) in &self.proxy.entries {
            let url = match entry {
                ProxyEntry::Url(base) => join_url(base, suffix),
                ProxyEntry::Off => {
                    return Err(FetchError::Failed(
                        "module lookup disabled by GOPROXY=off".into(),
                    ));
                }
                ProxyEntry::Direct => {
                    let note = "GOPROXY reached \"direct\": gantry reads module proxies only, not version control";
                    // After a "not found" the module may exist only in version control;
                    // it stays "not found" (with the note) so that @latest can fall back
                    // on the version list, as the go command's proxy client does.
                    return Err(match last_not_found {
                        Some(m) => FetchError::NotFound(format!("{m}; {note}")),
                        None => FetchError::Failed(note.to_string()),
                    });
                }
            };
            match self.net.get(&url, None, &self.stale).await {
                Ok(response) => return Ok(response.body),
                Err(e) if matches!(e.status(), Some(404 | 410)) => {
                    last_not_found = Some(e.to_string());
                }
                Err(e) if *any_error => last_not_found = Some(e.to_string()),
                Err(e) => return Err(FetchError::Failed(e.to_string())),
            }
        }
        Err(FetchError::NotFound(
            last_not_found.unwrap_or_else(|| "not found".into()),
        ))
    }

    /// The `@v/list` answer: tagged versions, sorted, without pseudo-versions or
    /// versions that cannot belong to this path's major version; and the newest version
    /// by time among the listed pseudo-versions (or timestamped lines), which stands in
    /// for `@latest` when the proxy has no `@latest` answer.
    async fn versions(&self, path: &str) -> Result<VersionList, FetchError> {
        let body = self
            .fetch(&format!("{}/@v/list", gover::escape(path)))
            .await?;
        let text = String::from_utf8_lossy(&body);
        let (_, path_major) = gover::split_path_major(path);
        let mut tagged: Vec<String> = Vec::new();
        let mut newest: Option<(String, String)> = None;
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(v) = fields.next().filter(|v| gover::is_valid(v)) else {
                continue;
            };
            let time = match fields.next() {
                Some(stamp) => Some(
                    stamp
                        .chars()
                        .filter(char::is_ascii_digit)
                        .take(14)
                        .collect(),
                ),
                None => gover::pseudo_timestamp(v).map(str::to_string),
            };
            if let Some(time) = time
                && newest.as_ref().is_none_or(|(best, _)| time > *best)
            {
                newest = Some((time, v.to_string()));
            }
            if !gover::is_pseudo(v) && gover::fits_path_major(v, path_major) {
                tagged.push(v.to_string());
            }
        }
        tagged.sort_by(|a, b| gover::compare(a, b).then_with(|| a.cmp(b)));
        tagged.dedup();
        Ok(VersionList {
            tagged,
            latest_from_list: newest.map(|(_, v)| v),
        })
    }

    /// `@latest`, or when the proxy has none, the newest listed pseudo-version.
    async fn latest(&self, path: &str, list: &VersionList) -> Result<Option<String>, FetchError> {
        match self.info(path, "@latest").await {
            Ok(info) => Ok(Some(info.version)),
            Err(FetchError::NotFound(_)) => Ok(list.latest_from_list.clone()),
            Err(e) => Err(e),
        }
    }

    async fn info(&self, path: &str, suffix: &str) -> Result<Info, FetchError> {
        let body = self
            .fetch(&format!("{}/{suffix}", gover::escape(path)))
            .await?;
        serde_json::from_slice(&body).map_err(|e| {
            FetchError::Failed(format!(
                "{path}/{suffix}: malformed JSON from the proxy: {e}"
            ))
        })
    }

    async fn go_mod(&self, path: &str, version: &str) -> Result<(GoMod, Bytes), FetchError> {
        let suffix = format!("{}/@v/{}.mod", gover::escape(path), gover::escape(version));
        let body = self.fetch(&suffix).await?;
        let text = String::from_utf8_lossy(&body);
        let parsed = gomod::parse_dependency_go_mod(&text, &format!("{path}@{version}/go.mod"))
            .map_err(|e| FetchError::Failed(e.to_string()))?;
        Ok((parsed, body))
    }

    /// Whether `path@version` has a go.mod of its own, rather than the one a proxy
    /// synthesises for pre-module code (`module PATH` and nothing else).
    async fn has_go_mod(&self, path: &str, version: &str) -> Result<bool, FetchError> {
        let (_, body) = self.go_mod(path, version).await?;
        let synthesized = format!("module {}\n", quote_path(path));
        Ok(body.as_ref() != synthesized.as_bytes())
    }
}

/// `modfile.AutoQuote`: module paths with spaces or quotes are written quoted.
fn quote_path(path: &str) -> String {
    if path
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
    {
        format!("{path:?}")
    } else {
        path.to_string()
    }
}

struct VersionList {
    tagged: Vec<String>,
    latest_from_list: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Info {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time", default)]
    time: Option<String>,
}

/// A version query as `go` runs it (`latest` or `upgrade` from `current`).
struct Query<'a> {
    path: &'a str,
    current: Option<&'a str>,
    /// Versions that may be chosen (not excluded, not retracted).
    allowed: &'a dyn Fn(&str) -> bool,
}

impl Query<'_> {
    fn passes(&self, v: &str) -> bool {
        self.current
            .is_none_or(|c| gover::compare(v, c) != std::cmp::Ordering::Less)
            && (self.allowed)(v)
    }

    fn may_use_latest(&self) -> bool {
        self.current.is_none_or(gover::is_pseudo)
    }

    /// Runs the query; `None` means no matching version (which `go` does not report).
    async fn run(
        &self,
        lookup: &Lookup<'_>,
        versions: &VersionList,
    ) -> Result<Option<String>, FetchError> {
        let list = &versions.tagged;
        let prefer_incompatible = self.current.is_some_and(|c| c.ends_with("+incompatible"));
        let mut releases = Vec::new();
        let mut prereleases = Vec::new();
        let mut need_incompatible = prefer_incompatible;
        let mut last_compatible: Option<&str> = None;
        for v in list {
            if !self.passes(v) {
                continue;
            }
            if !need_incompatible {
                if !v.ends_with("+incompatible") {
                    last_compatible = Some(v);
                } else if let Some(compatible) = last_compatible {
                    if lookup.has_go_mod(self.path, compatible).await? {
                        break;
                    }
                    need_incompatible = true;
                }
            }
            if gover::is_prerelease(v) {
                prereleases.push(v.as_str());
            } else {
                releases.push(v.as_str());
            }
        }
        let chosen = releases
            .last()
            .or(prereleases.last())
            .map(|v| v.to_string());
        if let Some(v) = chosen {
            return self.keep_chronology(lookup, v).await.map(Some);
        }
        if self.may_use_latest() {
            match lookup.latest(self.path, versions).await {
                Ok(Some(latest)) if self.passes(&latest) => {
                    return self.keep_chronology(lookup, latest).await.map(Some);
                }
                Ok(_) | Err(FetchError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        match self.current {
            Some(current) if (self.allowed)(current) => Ok(Some(current.to_string())),
            _ => Ok(None),
        }
    }

    /// From a pseudo-version, `upgrade` never moves to a version whose commit is older.
    async fn keep_chronology(&self, lookup: &Lookup<'_>, v: String) -> Result<String, FetchError> {
        let Some(current) = self.current.filter(|c| gover::is_pseudo(c)) else {
            return Ok(v);
        };
        if v == current {
            return Ok(v);
        }
        let info = lookup
            .info(self.path, &format!("@v/{}.info", gover::escape(&v)))
            .await?;
        let Some(time) = info.time.as_deref() else {
            return Ok(v);
        };
        let candidate: String = time.chars().filter(char::is_ascii_digit).take(14).collect();
        match gover::pseudo_timestamp(current) {
            Some(stamp) if candidate.len() == 14 && candidate.as_str() < stamp => {
                Ok(current.to_string())
            }
            _ => Ok(v),
        }
    }
}

/// What `go list -m -u` says about one module.
#[derive(Debug, Default)]
struct ModuleStatus {
    update: Option<String>,
    latest_compatible: Option<String>,
    retracted: Option<Vec<String>>,
    deprecated: Option<String>,
}

async fn module_status(
    lookup: &Lookup<'_>,
    main: &GoMod,
    path: &str,
    current: &str,
    whole_path_replaced: bool,
) -> Result<ModuleStatus, FetchError> {
    let list = match lookup.versions(path).await {
        Ok(list) => list,
        Err(e) => return Err(e),
    };
    // The latest version ignoring retractions: its go.mod holds the retractions and the
    // deprecation that apply to every version.
    let everything = |_: &str| true;
    let latest_any = Query {
        path,
        current: None,
        allowed: &everything,
    }
    .run(lookup, &list)
    .await?;
    let latest_mod = match (&latest_any, whole_path_replaced) {
        (Some(v), false) => Some(lookup.go_mod(path, v).await?.0),
        _ => None,
    };
    let retracted_by = |v: &str| -> Option<Vec<String>> {
        let latest_mod = latest_mod.as_ref()?;
        let mut hit = false;
        let mut why = Vec::new();
        for r in &latest_mod.retract {
            if gover::compare(&r.low, v).is_le() && gover::compare(v, &r.high).is_le() {
                hit = true;
                if !r.rationale.is_empty() {
                    why.push(r.rationale.clone());
                }
            }
        }
        hit.then(|| {
            if why.is_empty() {
                vec!["retracted by module author".to_string()]
            } else {
                why
            }
        })
    };
    let allowed = |v: &str| !main.is_excluded(path, v) && retracted_by(v).is_none();
    let upgrade = Query {
        path,
        current: Some(current),
        allowed: &allowed,
    }
    .run(lookup, &list)
    .await?;
    let update = upgrade.filter(|v| gover::newer(v, current));
    // The newest allowed version with the current major version (v2+incompatible and
    // v3+incompatible are different majors; so are v0 and v1).
    let current_major = gover::major(current);
    let same_major: Vec<String> = list
        .tagged
        .iter()
        .filter(|v| gover::major(v) == current_major && allowed(v))
        .filter(|v| gover::is_prerelease(current) || !gover::is_prerelease(v))
        .filter(|v| gover::newer(v, current))
        .cloned()
        .collect();
    let latest_compatible = match (&update, same_major.last()) {
        (Some(u), _) if gover::major(u) == current_major => Some(u.clone()),
        (_, Some(v)) => Some(v.clone()),
        _ => Some(current.to_string()),
    };
    Ok(ModuleStatus {
        update,
        latest_compatible,
        retracted: if whole_path_replaced {
            None
        } else {
            retracted_by(current)
        },
        deprecated: latest_mod
            .and_then(|m| m.deprecated)
            .filter(|d| !d.is_empty()),
    })
}

/// `module.MatchPrefixPatterns`: whether a leading run of path elements matches a glob.
pub fn matches_private(patterns: &str, path: &str) -> bool {
    patterns
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|pattern| {
            let count = pattern.split('/').count();
            let elements: Vec<&str> = path.split('/').collect();
            if elements.len() < count {
                return false;
            }
            pattern
                .split('/')
                .zip(&elements[..count])
                .all(|(p, e)| crate::paths::glob_element(p, e))
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pruning {
    Pruned,
    Unpruned,
}

/// The build list: every module in the pruned module graph at its selected (highest
/// required) version, as `go list -m all` lists it, minus the main module.
async fn build_list(
    lookup: &Lookup<'_>,
    main: &GoMod,
    dir: &Path,
    settings: &GoSettings,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut selected: BTreeMap<String, String> = BTreeMap::new();
    let select = |selected: &mut BTreeMap<String, String>, path: &str, version: &str| {
        let entry = selected
            .entry(path.to_string())
            .or_insert_with(|| version.to_string());
        if gover::newer(version, entry) {
            *entry = version.to_string();
        }
    };
    let start = if main.pruned() {
        Pruning::Pruned
    } else {
        Pruning::Unpruned
    };
    let mut queued: HashSet<(String, String, Pruning)> = HashSet::new();
    let mut queue: Vec<(String, String, Pruning)> = Vec::new();
    for r in &main.require {
        select(&mut selected, &r.path, &r.version);
        if queued.insert((r.path.clone(), r.version.clone(), start)) {
            queue.push((r.path.clone(), r.version.clone(), start));
        }
    }
    while !queue.is_empty() {
        let batch = std::mem::take(&mut queue);
        let loaded: Vec<_> = futures::stream::iter(batch)
            .map(|(path, version, pruning)| async move {
                let summary = load_requirements(lookup, main, dir, settings, &path, &version).await;
                (path, version, pruning, summary)
            })
            .buffer_unordered(64)
            .collect()
            .await;
        for (path, version, pruning, summary) in loaded {
            let summary = match summary {
                Ok(Some(summary)) => summary,
                Ok(None) => continue,
                Err(e) => {
                    warnings.push(format!(
                        "the module graph may be incomplete: loading the go.mod of {path}@{version} failed: {e}"
                    ));
                    continue;
                }
            };
            let own = if summary.pruned() {
                Pruning::Pruned
            } else {
                Pruning::Unpruned
            };
            let next = if pruning == Pruning::Unpruned {
                Pruning::Unpruned
            } else {
                own
            };
            for r in &summary.require {
                select(&mut selected, &r.path, &r.version);
                if (pruning == Pruning::Unpruned || own == Pruning::Unpruned)
                    && queued.insert((r.path.clone(), r.version.clone(), next))
                {
                    queue.push((r.path.clone(), r.version.clone(), next));
                }
            }
        }
    }
    if let Some(module) = &main.module {
        selected.remove(module);
    }
    selected
}

/// The requirements of one module version, through its replacement if it has one.
/// `None` for modules that are not looked up (private, or replaced by a missing folder).
async fn load_requirements(
    lookup: &Lookup<'_>,
    main: &GoMod,
    dir: &Path,
    settings: &GoSettings,
    path: &str,
    version: &str,
) -> Result<Option<GoMod>, FetchError> {
    let (path, version) = match main.replacement(path, version) {
        Some(r) if r.new_version.is_empty() => {
            let file = dir.join(&r.new_path).join("go.mod");
            return Ok(std::fs::read_to_string(&file).ok().and_then(|text| {
                gomod::parse_dependency_go_mod(&text, &file.display().to_string()).ok()
            }));
        }
        Some(r) => (r.new_path.as_str(), r.new_version.as_str()),
        None => (path, version),
    };
    if matches_private(&settings.no_proxy, path) {
        return Ok(None);
    }
    lookup.go_mod(path, version).await.map(|(m, _)| Some(m))
}

/// Semantic-version distance, for Go's rules: a new major version (v0→v1,
/// v2+incompatible→v3+incompatible) is `major`.
fn update_kind(current: &str, latest: &str) -> UpdateKind {
    let (Some(a), Some(b)) = (
        gover::GoVersion::parse(current),
        gover::GoVersion::parse(latest),
    ) else {
        return UpdateKind::Unknown;
    };
    if !gover::newer(latest, current) {
        UpdateKind::None
    } else if a.major != b.major {
        UpdateKind::Major
    } else if a.minor != b.minor {
        UpdateKind::Minor
    } else {
        UpdateKind::Patch
    }
}

/// Audits the Go module whose go.mod is `dir/go.mod` (`display` is how to name it).
pub(crate) async fn audit(
    net: &Net,
    settings: &GoSettings,
    dir: &Path,
    display: &str,
    report: &mut Report,
) -> Result<(), AuditError> {
    let gomod_path = dir.join("go.mod");
    let text = std::fs::read_to_string(&gomod_path).map_err(|source| AuditError::Io {
        path: display.to_string(),
        source,
    })?;
    let main = gomod::parse_go_mod(&text, display)?;
    let sum_display = sibling(display, "go.sum");
    let sum_lines: HashMap<(String, String), u32> =
        match std::fs::read_to_string(dir.join("go.sum")) {
            Ok(text) => {
                gomod::parse_go_sum(&text, &sum_display)?;
                text.lines()
                    .enumerate()
                    .filter_map(|(i, line)| {
                        let mut f = line.split_whitespace();
                        let (path, version) = (f.next()?, f.next()?);
                        let version = version.trim_end_matches("/go.mod");
                        Some(((path.to_string(), version.to_string()), i as u32 + 1))
                    })
                    .fold(HashMap::new(), |mut map, (key, line)| {
                        map.entry(key).or_insert(line);
                        map
                    })
            }
            Err(_) => HashMap::new(),
        };
    let proxy = Proxy::parse(&settings.proxy)?;
    let lookup = Lookup {
        net,
        proxy: &proxy,
        stale: AtomicBool::new(false),
    };
    let mut warnings = Vec::new();
    let list = build_list(&lookup, &main, dir, settings, &mut warnings).await;
    for w in warnings {
        report.warnings.push(format!("{display}: {w}"));
    }
    let requires: HashMap<&str, &gomod::Require> =
        main.require.iter().map(|r| (r.path.as_str(), r)).collect();
    net.progress.start(Ecosystem::Go, list.len());
    let results: Vec<Dependency> = futures::stream::iter(list.iter())
        .map(|(path, version)| {
            let lookup = Lookup {
                net,
                proxy: &proxy,
                stale: AtomicBool::new(false),
            };
            let requires = &requires;
            let sum_lines = &sum_lines;
            let main = &main;
            let sum_display = &sum_display;
            async move {
                let location = match requires.get(path.as_str()) {
                    Some(r) => Location {
                        file: display.to_string(),
                        line: r.line,
                    },
                    None => Location {
                        file: sum_display.clone(),
                        line: sum_lines
                            .get(&(path.clone(), version.clone()))
                            .copied()
                            .unwrap_or(1),
                    },
                };
                let mut dep = Dependency::new(Ecosystem::Go, path, version, location);
                dep.direct = requires.get(path.as_str()).is_some_and(|r| !r.indirect);
                let replacement = main.replacement(path, version);
                let whole_path_replaced = main.replacement(path, "").is_some();
                if let Some(r) = replacement {
                    let to = if r.new_version.is_empty() {
                        r.new_path.clone()
                    } else {
                        format!("{}@{}", r.new_path, r.new_version)
                    };
                    dep.note = Some(format!("replaced by {to}"));
                    if r.new_version.is_empty() {
                        dep.source = SourceKind::Replaced;
                    }
                }
                if matches_private(&settings.no_proxy, path) {
                    dep.source = SourceKind::Private;
                    dep.note = Some("private module (GOPRIVATE/GONOPROXY): not looked up".into());
                } else {
                    match module_status(&lookup, main, path, version, whole_path_replaced).await {
                        Ok(status) => {
                            let latest = status.update.clone().unwrap_or_else(|| version.clone());
                            dep.update = update_kind(version, &latest);
                            dep.latest = Some(latest);
                            dep.latest_compatible = status.latest_compatible;
                            dep.retracted = status.retracted.is_some();
                            dep.retraction = status.retracted.unwrap_or_default();
                            dep.deprecated = status.deprecated;
                        }
                        Err(e) => dep.fail(e),
                    }
                }
                dep.stale = lookup.stale.load(Ordering::Relaxed);
                net.progress.advance();
                dep
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    report.projects.push(Project {
        ecosystem: Ecosystem::Go,
        lockfile: display.to_string(),
        format: main.go.clone().map(|go| format!("go {go}")),
        dependencies: results.len(),
    });
    report.dependencies.extend(results);
    Ok(())
}

/// `dir/go.mod` → `dir/go.sum`, keeping the display form.
fn sibling(display: &str, name: &str) -> String {
    match display.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goproxy_lists() {
        let p = Proxy::parse("https://a.example,https://b.example|direct").unwrap();
        assert_eq!(
            p.entries,
            [
                (ProxyEntry::Url("https://a.example".into()), false),
                (ProxyEntry::Url("https://b.example".into()), true),
                (ProxyEntry::Direct, false),
            ]
        );
        assert_eq!(
            Proxy::parse("off").unwrap().entries,
            [(ProxyEntry::Off, false)]
        );
        assert!(Proxy::parse("not a url").is_err());
    }

    #[test]
    fn private_patterns_match_path_prefixes() {
        assert!(matches_private(
            "*.corp.example.com,rsc.io/private",
            "git.corp.example.com/x/y"
        ));
        assert!(matches_private("rsc.io/private", "rsc.io/private/quote"));
        assert!(!matches_private("rsc.io/private", "rsc.io/public"));
        assert!(!matches_private("", "rsc.io/private"));
    }

    #[test]
    fn update_kinds() {
        assert_eq!(update_kind("v1.2.3", "v1.2.3"), UpdateKind::None);
        assert_eq!(update_kind("v1.2.3", "v1.2.4"), UpdateKind::Patch);
        assert_eq!(update_kind("v1.2.3", "v1.3.0"), UpdateKind::Minor);
        assert_eq!(update_kind("v0.9.0", "v1.0.0"), UpdateKind::Major);
        assert_eq!(
            update_kind("v2.0.0+incompatible", "v3.1.0+incompatible"),
            UpdateKind::Major
        );
        assert_eq!(
            update_kind("v0.0.0-20200101000000-abcdefabcdef", "v0.1.0"),
            UpdateKind::Minor
        );
    }
}
