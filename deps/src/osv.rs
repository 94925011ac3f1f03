//! Vulnerabilities from OSV data: an offline database in OSV's bulk layout (`all.zip`
//! or a folder of `<ID>.json`, per ecosystem), or the OSV API (`/v1/querybatch` and
//! `/v1/vulns/<ID>`). Matching follows the OSV schema: by ecosystem and package, by
//! `SEMVER`/`ECOSYSTEM` ranges with `introduced`, `fixed`, `last_affected` and `limit`
//! events, and by explicit `versions`; withdrawn advisories are ignored.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use crate::error::AuditError;
use crate::gover;
use crate::model::{Ecosystem, Severity, Vulnerability};
use crate::net::{Net, join_url};

pub const DEFAULT_API: &str = "https://api.osv.dev";

#[derive(Debug, Clone, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    pub withdrawn: Option<String>,
    pub database_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub references: Vec<Reference>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Affected {
    pub package: Option<Package>,
    #[serde(default)]
    pub ranges: Vec<AffectedRange>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AffectedRange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Event {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
    pub limit: Option<String>,
}

/// Orders two versions of an ecosystem; `None` when either does not parse.
fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
    match ecosystem {
        Ecosystem::Go => {
            let (a, b) = (go_version(a), go_version(b));
            (gover::is_valid(&a) && gover::is_valid(&b)).then(|| gover::compare(&a, &b))
        }
        Ecosystem::Cargo => Some(
            semver::Version::parse(a)
                .ok()?
                .cmp(&semver::Version::parse(b).ok()?),
        ),
        Ecosystem::Npm => Some(
            nodejs_semver::Version::parse(a)
                .ok()?
                .cmp(&nodejs_semver::Version::parse(b).ok()?),
        ),
    }
}

/// OSV writes Go versions without the `v`.
fn go_version(v: &str) -> String {
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// Whether `version` falls in one range's events (OSV schema, "Evaluation").
fn in_range(ecosystem: Ecosystem, events: &[Event], version: &str) -> bool {
    // (version, kind) with kind 0 introduced, 1 fixed, 2 last_affected; "0" sorts first.
    let mut points: Vec<(&str, u8)> = Vec::new();
    let mut limits: Vec<&str> = Vec::new();
    for e in events {
        if let Some(v) = &e.introduced {
            points.push((v, 0));
        }
        if let Some(v) = &e.fixed {
            points.push((v, 1));
        }
        if let Some(v) = &e.last_affected {
            points.push((v, 2));
        }
        if let Some(v) = &e.limit {
            limits.push(v);
        }
    }
    let order = |a: &str, b: &str| -> Ordering {
        match (a == "0", b == "0") {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(ecosystem, a, b).unwrap_or(Ordering::Equal),
        }
    };
    points.sort_by(|a, b| order(a.0, b.0).then(a.1.cmp(&b.1)));
    let mut affected = false;
    for (point, kind) in points {
        let at_or_after =
            point == "0" || compare(ecosystem, version, point).is_some_and(|o| o != Ordering::Less);
        match kind {
            0 if at_or_after => affected = true,
            1 if at_or_after => affected = false,
            2 if point != "0" && compare(ecosystem, version, point) == Some(Ordering::Greater) => {
                affected = false
            }
            _ => {}
        }
    }
    if affected && !limits.is_empty() {
        affected = limits
            .iter()
            .any(|l| *l == "*" || compare(ecosystem, version, l) == Some(Ordering::Less));
    }
    affected
}

impl Advisory {
    fn entries_for<'a>(
        &'a self,
        ecosystem: Ecosystem,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Affected> + 'a {
        self.affected.iter().filter(move |a| {
            a.package
                .as_ref()
                .is_some_and(|p| ecosystem_matches(&p.ecosystem, ecosystem) && p.name == name)
        })
    }

    /// Whether `name@version` is affected.
    pub fn affects(&self, ecosystem: Ecosystem, name: &str, version: &str) -> bool {
        if self.withdrawn.is_some() {
            return false;
        }
        let bare = if ecosystem == Ecosystem::Go {
            version.trim_start_matches('v')
        } else {
            version
        };
        self.entries_for(ecosystem, name).any(|a| {
            a.versions.iter().any(|v| v == bare || v == version)
                || a.ranges
                    .iter()
                    .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
                    .any(|r| in_range(ecosystem, &r.events, version))
        })
    }

    /// The report's view of this advisory, for one package.
    pub fn to_vulnerability(&self, ecosystem: Ecosystem, name: &str) -> Vulnerability {
        let entries: Vec<&Affected> = self.entries_for(ecosystem, name).collect();
        let mut fixed: Vec<String> = entries
            .iter()
            .flat_map(|a| a.ranges.iter())
            .flat_map(|r| r.events.iter())
            .filter_map(|e| e.fixed.clone())
            .map(|v| {
                if ecosystem == Ecosystem::Go {
                    go_version(&v)
                } else {
                    v
                }
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        fixed.sort_by(|a, b| compare(ecosystem, a, b).unwrap_or(Ordering::Equal));
        let informational = entries
            .iter()
            .filter_map(|a| a.database_specific.as_ref()?.get("informational")?.as_str())
            .map(str::to_string)
            .next();
        let severity_entries = self
            .severity
            .iter()
            .chain(entries.iter().flat_map(|a| a.severity.iter()));
        let summary = self
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                self.details
                    .as_deref()
                    .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
                    .map(|l| l.chars().take(200).collect())
            });
        let url = self
            .references
            .iter()
            .find(|r| r.kind == "ADVISORY")
            .map(|r| r.url.clone())
            .or_else(|| Some(format!("https://osv.dev/vulnerability/{}", self.id)));
        Vulnerability {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            summary,
            severity: severity(severity_entries, self.database_specific.as_ref()),
            fixed,
            informational,
            url,
        }
    }
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<std::io::BufReader<std::fs::File>>, AuditError> {
    let file = std::fs::File::open(path).map_err(|source| AuditError::Io {
        path: path.display().to_string(),
        source,
    })?;
    zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        AuditError::Usage(format!(
            "{}: not a readable zip archive: {e}",
            path.display()
        ))
    })
}

fn ecosystem_matches(osv: &str, ecosystem: Ecosystem) -> bool {
    // OSV ecosystems may carry a suffix (`Debian:11`); these three never do, but a
    // suffix must not make a match fail.
    osv.split(':').next() == Some(ecosystem.osv_name())
}

/// The most informative severity: a CVSS v3 vector (scored), else v4, else v2, else the
/// database's own rating word.
fn severity<'a>(
    entries: impl Iterator<Item = &'a SeverityEntry>,
    database_specific: Option<&serde_json::Value>,
) -> Option<Severity> {
    let entries: Vec<&SeverityEntry> = entries.collect();
    for kind in ["CVSS_V3", "CVSS_V4", "CVSS_V2"] {
        if let Some(entry) = entries.iter().find(|e| e.kind == kind) {
            let parsed = entry.score.parse::<cvss::Cvss>().ok();
            return Some(Severity {
                kind: kind.to_string(),
                vector: Some(entry.score.clone()),
                score: parsed.as_ref().map(|c| (c.score() * 10.0).round() / 10.0),
                rating: parsed.map(|c| c.severity().to_string().to_ascii_lowercase()),
            });
        }
    }
    let word = database_specific?
        .get("severity")?
        .as_str()?
        .to_ascii_lowercase();
    Some(Severity {
        kind: "rating".into(),
        vector: None,
        score: None,
        rating: Some(if word == "moderate" {
            "medium".into()
        } else {
            word
        }),
    })
}

/// An offline OSV database, indexed by (ecosystem, package).
#[derive(Debug, Default)]
pub struct OsvDb {
    advisories: Vec<Advisory>,
    by_package: HashMap<(Ecosystem, String), Vec<usize>>,
    /// Entries that could not be read, each skipped with a warning.
    pub warnings: Vec<String>,
}

impl OsvDb {
    /// Loads `all.zip`, a folder of advisories, or a folder of per-ecosystem folders.
    pub fn load(path: &Path) -> Result<OsvDb, AuditError> {
        let mut db = OsvDb::default();
        let io = |source| AuditError::Io {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_file() {
            db.add_zip(path)?;
        } else {
            db.add_dir(path, true)?;
        }
        Ok(db)
    }

    /// What [`OsvDb::load`] would refuse first, found cheaply: a path that cannot be
    /// read, or a file that is not a zip archive.
    pub fn check(path: &Path) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: path.display().to_string(),
            source,
        };
        if std::fs::metadata(path).map_err(io)?.is_file() {
            open_zip(path)?;
        }
        Ok(())
    }

    fn add_dir(&mut self, dir: &Path, descend: bool) -> Result<(), AuditError> {
        let zip = dir.join("all.zip");
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| AuditError::Io {
                path: dir.display().to_string(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        if zip.is_file() {
            self.add_zip(&zip)?;
        } else {
            for file in entries
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
            {
                match std::fs::read(file) {
                    Ok(bytes) => self.add_json(&bytes, &file.display().to_string()),
                    Err(e) => self
                        .warnings
                        .push(format!("skipping {}: {e}", file.display())),
                }
            }
        }
        if descend {
            for sub in entries.iter().filter(|p| p.is_dir()) {
                self.add_dir(sub, false)?;
            }
        }
        Ok(())
    }

    fn add_zip(&mut self, path: &Path) -> Result<(), AuditError> {
        let mut archive = open_zip(path)?;
        let mut buffer = Vec::new();
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(entry) => entry,
                Err(e) => {
                    self.warnings
                        .push(format!("{}: skipping entry {i}: {e}", path.display()));
                    continue;
                }
            };
            let entry_name = match entry.name() {
                Ok(name) => name.to_string(),
                Err(e) => {
                    self.warnings
                        .push(format!("{}: skipping entry {i}: {e}", path.display()));
                    continue;
                }
            };
            if !entry_name.ends_with(".json") {
                continue;
            }
            let name = format!("{}:{entry_name}", path.display());
            buffer.clear();
            if let Err(e) = entry.read_to_end(&mut buffer) {
                self.warnings.push(format!("skipping {name}: {e}"));
                continue;
            }
            let bytes = std::mem::take(&mut buffer);
            self.add_json(&bytes, &name);
            buffer = bytes;
        }
        Ok(())
    }

    /// Adds one advisory; a malformed one is skipped with a warning.
    pub fn add_json(&mut self, bytes: &[u8], name: &str) {
        match serde_json::from_slice::<Advisory>(bytes) {
            Ok(advisory) => self.add(advisory),
            Err(e) => self
                .warnings
                .push(format!("skipping malformed OSV advisory {name}: {e}")),
        }
    }

    pub fn add(&mut self, advisory: Advisory) {
        if advisory.withdrawn.is_some() {
            return;
        }
        let index = self.advisories.len();
        let mut keys: Vec<(Ecosystem, String)> = advisory
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .filter_map(|p| {
                Ecosystem::ALL
                    .into_iter()
                    .find(|e| ecosystem_matches(&p.ecosystem, *e))
                    .map(|e| (e, p.name.clone()))
            })
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            self.by_package.entry(key).or_default().push(index);
        }
        self.advisories.push(advisory);
    }

    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// The advisories affecting `name@version`, sorted by ID.
    pub fn matches(&self, ecosystem: Ecosystem, name: &str, version: &str) -> Vec<Vulnerability> {
        let Some(indexes) = self.by_package.get(&(ecosystem, name.to_string())) else {
            return Vec::new();
        };
        let mut found: Vec<Vulnerability> = indexes
            .iter()
            .map(|&i| &self.advisories[i])
            .filter(|a| a.affects(ecosystem, name, version))
            .map(|a| a.to_vulnerability(ecosystem, name))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }
}

/// One query to the OSV API.
#[derive(Debug, Clone)]
pub struct ApiQuery {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

#[derive(Deserialize)]
struct BatchResponse {
    results: Vec<BatchResult>,
}

#[derive(Deserialize)]
struct BatchResult {
    #[serde(default)]
    vulns: Vec<BatchVuln>,
}

#[derive(Deserialize)]
struct BatchVuln {
    id: String,
}

/// Asks the OSV API which advisories affect each query, then fetches each advisory once
/// (through the HTTP cache). Results are in query order.
pub async fn query_api(
    net: &Net,
    base: &str,
    queries: &[ApiQuery],
) -> Result<Vec<Vec<Vulnerability>>, String> {
    let mut ids: Vec<Vec<String>> = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(1000) {
        let body = serde_json::json!({
            "queries": chunk.iter().map(|q| serde_json::json!({
                "package": {"ecosystem": q.ecosystem.osv_name(), "name": q.name},
                "version": if q.ecosystem == Ecosystem::Go { q.version.trim_start_matches('v') } else { &q.version },
            })).collect::<Vec<_>>()
        });
        let url = join_url(base, "v1/querybatch");
        let response = net
            .post_json(&url, &body)
            .await
            .map_err(|e| e.to_string())?;
        let parsed: BatchResponse = serde_json::from_slice(&response.body)
            .map_err(|e| format!("{url}: malformed JSON from the OSV API: {e}"))?;
        if parsed.results.len() != chunk.len() {
            return Err(format!(
                "{url}: the OSV API answered {} results for {} queries",
                parsed.results.len(),
                chunk.len()
            ));
        }
        ids.extend(
            parsed
                .results
                .into_iter()
                .map(|r| r.vulns.into_iter().map(|v| v.id).collect()),
        );
    }
    let unique: BTreeSet<&String> = ids.iter().flatten().collect();
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut advisories: HashMap<String, Advisory> = HashMap::new();
    for id in unique {
        let url = join_url(base, &format!("v1/vulns/{id}"));
        let response = net
            .get(&url, None, &never)
            .await
            .map_err(|e| e.to_string())?;
        let advisory: Advisory = serde_json::from_slice(&response.body)
            .map_err(|e| format!("{url}: malformed advisory from the OSV API: {e}"))?;
        advisories.insert(id.clone(), advisory);
    }
    Ok(queries
        .iter()
        .zip(ids)
        .map(|(q, ids)| {
            let mut found: Vec<Vulnerability> = ids
                .iter()
                .filter_map(|id| advisories.get(id))
                .filter(|a| a.withdrawn.is_none())
                .map(|a| a.to_vulnerability(q.ecosystem, &q.name))
                .collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(introduced: Option<&str>, fixed: Option<&str>, last: Option<&str>) -> Event {
        Event {
            introduced: introduced.map(str::to_string),
            fixed: fixed.map(str::to_string),
            last_affected: last.map(str::to_string),
            limit: None,
        }
    }

    #[test]
    fn range_evaluation() {
        let events = [ev(Some("0"), None, None), ev(None, Some("1.2.0"), None)];
        assert!(in_range(Ecosystem::Cargo, &events, "1.1.9"));
        assert!(!in_range(Ecosystem::Cargo, &events, "1.2.0"));
        let events = [
            ev(Some("1.0.0"), None, None),
            ev(None, Some("1.0.5"), None),
            ev(Some("2.0.0"), None, None),
            ev(None, None, Some("2.1.0")),
        ];
        assert!(!in_range(Ecosystem::Npm, &events, "0.9.0"));
        assert!(in_range(Ecosystem::Npm, &events, "1.0.4"));
        assert!(!in_range(Ecosystem::Npm, &events, "1.5.0"));
        assert!(in_range(Ecosystem::Npm, &events, "2.1.0"));
        assert!(!in_range(Ecosystem::Npm, &events, "2.1.1"));
        // Go: OSV versions lack the v; pseudo-versions order as pre-releases.
        let events = [ev(Some("0"), None, None), ev(None, Some("0.7.0"), None)];
        assert!(in_range(
            Ecosystem::Go,
            &events,
            "v0.0.0-20220101000000-abcdefabcdef"
        ));
        assert!(!in_range(Ecosystem::Go, &events, "v0.7.0"));
        let mut limited = vec![ev(Some("0"), None, None)];
        limited.push(Event {
            limit: Some("3.0.0".into()),
            ..Event::default()
        });
        assert!(in_range(Ecosystem::Cargo, &limited, "2.9.9"));
        assert!(!in_range(Ecosystem::Cargo, &limited, "3.0.0"));
    }

    #[test]
    fn malformed_entries_are_skipped_with_a_warning() {
        let mut db = OsvDb::default();
        db.add_json(br#"{"id": "X-1", "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["1.0.0"]}]}"#, "X-1.json");
        db.add_json(b"{not json", "broken.json");
        db.add_json(br#"{"id": "X-2", "withdrawn": "2020-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["1.0.0"]}]}"#, "X-2.json");
        assert_eq!(db.len(), 1);
        assert_eq!(db.warnings.len(), 1);
        assert!(db.warnings[0].contains("broken.json"));
        assert_eq!(db.matches(Ecosystem::Npm, "a", "1.0.0").len(), 1);
        assert!(db.matches(Ecosystem::Npm, "a", "1.0.1").is_empty());
    }

    #[test]
    fn cvss_scores() {
        let entries = [SeverityEntry {
            kind: "CVSS_V3".into(),
            score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
        }];
        let s = severity(entries.iter(), None).unwrap();
        assert_eq!(s.score, Some(9.8));
        assert_eq!(s.rating.as_deref(), Some("critical"));
    }
}
