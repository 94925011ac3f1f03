//! npm projects: packuments from the registry (the abbreviated
//! `application/vnd.npm.install-v1+json` form), and per installed package its `latest`
//! dist-tag, the version its declared ranges would install now (`npm outdated`'s
//! "wanted", chosen as npm-pick-manifest chooses), and the current version's deprecation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt as _;
use nodejs_semver::{Range, Version};
use serde::Deserialize;

use crate::error::AuditError;
use crate::model::{Dependency, Ecosystem, Location, Project, Report, SourceKind, UpdateKind};
use crate::net::{Net, join_url};
use crate::npm_lock::{self, LockEntry, Spec};

pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";
const ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// The registry for unscoped packages and per-scope registries, from
/// `npm_config_registry` or `.npmrc` (the project's, then the user's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registries {
    pub default: String,
    pub scoped: BTreeMap<String, String>,
}

impl Registries {
    pub fn discover(project: &Path) -> Registries {
        let mut registries = Registries {
            default: DEFAULT_REGISTRY.to_string(),
            scoped: BTreeMap::new(),
        };
        let mut files = vec![project.join(".npmrc")];
        if let Some(home) = dirs::home_dir() {
            files.push(home.join(".npmrc"));
        }
        // Earlier files win, so read them last.
        for file in files.iter().rev() {
            if let Ok(text) = std::fs::read_to_string(file) {
                registries.apply_npmrc(&text);
            }
        }
        for name in ["npm_config_registry", "NPM_CONFIG_REGISTRY"] {
            if let Ok(url) = std::env::var(name)
                && !url.is_empty()
            {
                registries.default = url;
                break;
            }
        }
        registries
    }

    pub fn apply_npmrc(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim().trim_matches('"'));
            if key == "registry" {
                self.default = value.to_string();
            } else if let Some(scope) = key.strip_suffix(":registry")
                && scope.starts_with('@')
            {
                self.scoped.insert(scope.to_string(), value.to_string());
            }
        }
    }

    pub fn for_package(&self, name: &str) -> &str {
        name.split_once('/')
            .filter(|(scope, _)| scope.starts_with('@'))
            .and_then(|(scope, _)| self.scoped.get(scope))
            .unwrap_or(&self.default)
    }

    /// The packument URL: scoped names keep their `@` and encode the `/`.
    pub fn packument_url(&self, name: &str) -> String {
        join_url(self.for_package(name), &name.replace('/', "%2f"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Packument {
    #[serde(rename = "dist-tags", default)]
    pub dist_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<String, VersionMeta>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VersionMeta {
    #[serde(default)]
    pub deprecated: Option<serde_json::Value>,
    #[serde(default)]
    pub engines: Option<serde_json::Value>,
}

impl VersionMeta {
    pub fn deprecation(&self) -> Option<String> {
        match &self.deprecated {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }
}

impl VersionMeta {
    /// Whether `engines.node` admits this Node.js version (npm-pick-manifest's
    /// `engineOk`; an unreadable range admits nothing).
    fn engine_ok(&self, node: Option<&Version>) -> bool {
        let (Some(node), Some(range)) = (node, self.engines.as_ref().and_then(|e| e.get("node")))
        else {
            return true;
        };
        match range.as_str().map(Range::parse) {
            Some(Ok(range)) => node.satisfies_with_prerelease(&range, true),
            Some(Err(_)) => false,
            None => true,
        }
    }
}

impl Packument {
    fn deprecated(&self, version: &str) -> bool {
        self.versions
            .get(version)
            .is_some_and(|m| m.deprecation().is_some())
    }

    fn engine_ok(&self, version: &str, node: Option<&Version>) -> bool {
        self.versions.get(version).is_none_or(|m| m.engine_ok(node))
    }

    /// The version npm would install for these ranges (all must hold; none means `*`),
    /// as npm-pick-manifest picks: the `latest` tag if it fits, is not deprecated and
    /// suits the Node.js version, else the highest fitting version, preferring versions
    /// that are neither deprecated nor excluded by `engines.node`.
    pub fn pick(&self, ranges: &[Range], node: Option<&Version>) -> Option<String> {
        let any = ranges.is_empty();
        if let Some(latest) = self.dist_tags.get("latest")
            && self.versions.contains_key(latest)
            && !self.deprecated(latest)
            && self.engine_ok(latest, node)
            && (any || Version::parse(latest).is_ok_and(|v| ranges.iter().all(|r| v.satisfies(r))))
        {
            return Some(latest.clone());
        }
        self.versions
            .keys()
            .filter_map(|v| Version::parse(v).ok().map(|parsed| (parsed, v)))
            .filter(|(parsed, _)| {
                if any {
                    parsed.pre_release().is_empty()
                } else {
                    ranges.iter().all(|r| parsed.satisfies(r))
                }
            })
            .max_by(|(a, va), (b, vb)| {
                let key = |v: &str| {
                    let (fresh, engine) = (!self.deprecated(v), self.engine_ok(v, node));
                    (fresh && engine, engine, fresh)
                };
                (key(va), a).cmp(&(key(vb), b))
            })
            .map(|(_, v)| v.clone())
    }
}

/// The Node.js version npm would check `engines.node` against: `npm_config_node_version`,
/// else `node --version` of the Node.js on PATH, else none (engines are then ignored).
pub fn node_version() -> Option<Version> {
    let text = match std::env::var("npm_config_node_version") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            let output = std::process::Command::new("node")
                .arg("--version")
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            String::from_utf8(output.stdout).ok()?
        }
    };
    Version::parse(text.trim().trim_start_matches('v')).ok()
}

/// Node's module resolution: the entry that `name`, required from the package at
/// `from`, loads (the nearest `node_modules/name` walking up).
pub fn resolve(from: &str, name: &str, index: &HashMap<&str, usize>) -> Option<usize> {
    let mut base = from.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{base}/node_modules/{name}")
        };
        if let Some(&i) = index.get(candidate.as_str()) {
            return Some(i);
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind("node_modules/") {
            Some(i) => base[..i].trim_end_matches('/').to_string(),
            None => String::new(),
        };
    }
}

/// Semver distance; `major` when `^current` does not allow `latest`.
pub fn update_kind(current: &Version, latest: &Version) -> UpdateKind {
    if latest <= current {
        return UpdateKind::None;
    }
    let caret = Range::parse(format!("^{current}")).ok();
    if !caret.is_some_and(|c| latest.satisfies_with_prerelease(&c, true)) {
        UpdateKind::Major
    } else if (current.major(), current.minor()) == (latest.major(), latest.minor()) {
        UpdateKind::Patch
    } else {
        UpdateKind::Minor
    }
}

fn source_kind(entry: &LockEntry) -> Option<(SourceKind, String)> {
    let resolved = entry.resolved.as_deref()?;
    if resolved.starts_with("git+")
        || resolved.starts_with("git:")
        || resolved.starts_with("github:")
    {
        Some((
            SourceKind::Git,
            format!("git dependency ({resolved}): not looked up"),
        ))
    } else if resolved.starts_with("file:") || !resolved.contains("://") {
        Some((
            SourceKind::Path,
            format!("local dependency ({resolved}): not looked up"),
        ))
    } else if !resolved.contains("/-/") {
        Some((
            SourceKind::Other,
            format!("tarball URL ({resolved}): not looked up"),
        ))
    } else {
        None
    }
}

pub(crate) async fn audit(
    net: &Net,
    registries: &Registries,
    node: Option<&Version>,
    dir: &Path,
    display_dir: &str,
    lock_name: &str,
    report: &mut Report,
) -> Result<(), AuditError> {
    let display = crate::display_join(display_dir, lock_name);
    let text = std::fs::read_to_string(dir.join(lock_name)).map_err(|source| AuditError::Io {
        path: display.clone(),
        source,
    })?;
    let lock = npm_lock::parse_package_lock(&text, &display)?;
    drop(text);
    // package.json is checked too, so that a broken one is reported rather than ignored.
    let manifest_display = crate::display_join(display_dir, "package.json");
    let manifest = match std::fs::read_to_string(dir.join("package.json")) {
        Ok(text) => Some(npm_lock::parse_package_json(&text, &manifest_display)?),
        Err(_) => None,
    };
    let index: HashMap<&str, usize> = lock
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.as_str(), i))
        .collect();
    // The specs that govern each installed entry.
    let mut governing: HashMap<usize, Vec<Spec>> = HashMap::new();
    let mut direct: HashSet<usize> = HashSet::new();
    let mut add_specs = |from: &str, specs: &[(String, String)], top: bool| {
        for (folder, spec) in specs {
            if let Some(i) = resolve(from, folder, &index) {
                governing
                    .entry(i)
                    .or_default()
                    .push(npm_lock::parse_spec(folder, spec));
                if top {
                    direct.insert(i);
                }
            }
        }
    };
    for entry in &lock.entries {
        add_specs(&entry.path, &entry.specs, !entry.installed());
    }
    if let Some(manifest) = &manifest {
        add_specs("", &manifest.dependencies, true);
    }
    let looked_up: Vec<usize> = lock
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.installed() && !e.link && e.version.is_some())
        .map(|(i, _)| i)
        .collect();
    let names: HashSet<&str> = looked_up
        .iter()
        .filter(|&&i| source_kind(&lock.entries[i]).is_none())
        .map(|&i| lock.entries[i].name.as_str())
        .collect();
    net.progress.start(Ecosystem::Npm, names.len());
    let stale_names: std::sync::Mutex<HashSet<String>> = Default::default();
    let packuments: HashMap<&str, Result<Packument, String>> = futures::stream::iter(names)
        .map(|name| {
            let stale_names = &stale_names;
            async move {
                let url = registries.packument_url(name);
                let stale = AtomicBool::new(false);
                let result = match net.get(&url, Some(ACCEPT), &stale).await {
                    Ok(response) => serde_json::from_slice::<Packument>(&response.body)
                        .map_err(|e| format!("{url}: malformed packument from the registry: {e}")),
                    Err(e) => Err(e.to_string()),
                };
                if stale.load(Ordering::Relaxed) {
                    stale_names
                        .lock()
                        .expect("not poisoned")
                        .insert(name.to_string());
                }
                net.progress.advance();
                (name, result)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let stale_names = stale_names.into_inner().expect("not poisoned");
    let mut count = 0;
    for i in looked_up {
        let entry = &lock.entries[i];
        let version = entry.version.as_deref().unwrap_or_default();
        count += 1;
        let mut dep = Dependency::new(
            Ecosystem::Npm,
            &entry.name,
            version,
            Location {
                file: display.clone(),
                line: entry.line,
            },
        );
        dep.direct = direct.contains(&i);
        dep.stale = stale_names.contains(&entry.name);
        if let Some((kind, note)) = source_kind(entry) {
            dep.source = kind;
            dep.note = Some(note);
            report.dependencies.push(dep);
            continue;
        }
        match packuments.get(entry.name.as_str()) {
            Some(Ok(packument)) => classify(
                &mut dep,
                packument,
                governing.get(&i).map(Vec::as_slice).unwrap_or(&[]),
                node,
            ),
            Some(Err(e)) => dep.fail(e),
            None => dep.fail("not looked up"),
        }
        report.dependencies.push(dep);
    }
    report.projects.push(Project {
        ecosystem: Ecosystem::Npm,
        lockfile: display,
        format: Some(format!("lockfileVersion {}", lock.version)),
        dependencies: count,
    });
    Ok(())
}

/// Fills in `latest`, `latest_compatible`, `deprecated` and `update` from a packument.
/// `latest` is what `npm outdated` shows: the `latest` dist-tag, unless that version is
/// deprecated or its `engines.node` excludes `node`.
pub fn classify(
    dep: &mut Dependency,
    packument: &Packument,
    specs: &[Spec],
    node: Option<&Version>,
) {
    let Ok(current) = Version::parse(&dep.current) else {
        dep.fail(format!("invalid version {:?}", dep.current));
        return;
    };
    let Some(meta) = packument.versions.get(&dep.current) else {
        dep.fail(format!(
            "version {} is not in the registry's packument",
            dep.current
        ));
        return;
    };
    dep.deprecated = meta.deprecation();
    if !packument.dist_tags.contains_key("latest") {
        dep.fail("the registry's packument has no latest dist-tag");
        return;
    }
    let Some(latest_tag) = packument.pick(&[], node) else {
        dep.fail("the registry's packument has no release version");
        return;
    };
    let mut ranges = Vec::new();
    let mut tagged = None;
    for spec in specs {
        match spec {
            Spec::Range { name, range } if *name == dep.name => {
                if let Ok(r) = Range::parse(range) {
                    ranges.push(r);
                }
            }
            Spec::Tag { name, tag } if *name == dep.name => tagged = packument.dist_tags.get(tag),
            _ => {}
        }
    }
    if ranges.is_empty() && tagged.is_none() {
        // No declared range reaches this copy (bundled, or orphaned): ^current.
        if let Ok(r) = Range::parse(format!("^{current}")) {
            ranges.push(r);
        }
    }
    let compatible = match tagged {
        Some(v) if ranges.is_empty() => Some(v.clone()),
        _ => packument.pick(&ranges, node),
    };
    dep.latest = Some(latest_tag.clone());
    dep.latest_compatible = Some(compatible.unwrap_or_else(|| dep.current.clone()));
    dep.update = match Version::parse(&latest_tag) {
        Ok(latest) => update_kind(&current, &latest),
        Err(_) => UpdateKind::Unknown,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument() -> Packument {
        serde_json::from_str(
            r#"{"dist-tags": {"latest": "2.1.0", "next": "3.0.0-beta.1"},
                "versions": {
                  "1.0.0": {}, "1.4.0": {}, "1.5.0": {"deprecated": "use 1.4"},
                  "2.0.0": {}, "2.1.0": {"engines": {"node": ">=22"}}, "3.0.0-beta.1": {}
                }}"#,
        )
        .unwrap()
    }

    #[test]
    fn pick_prefers_latest_then_undeprecated() {
        let p = packument();
        assert_eq!(p.pick(&[], None), Some("2.1.0".into()));
        assert_eq!(
            p.pick(&[Range::parse("^2.0.0").unwrap()], None),
            Some("2.1.0".into())
        );
        assert_eq!(
            p.pick(&[Range::parse("^1.0.0").unwrap()], None),
            Some("1.4.0".into())
        );
        assert_eq!(p.pick(&[Range::parse("^4").unwrap()], None), None);
        // 2.1.0 needs Node 22: on Node 20 npm offers 2.0.0.
        let node20 = Version::parse("20.1.0").unwrap();
        assert_eq!(p.pick(&[], Some(&node20)), Some("2.0.0".into()));
        let node22 = Version::parse("22.0.0").unwrap();
        assert_eq!(p.pick(&[], Some(&node22)), Some("2.1.0".into()));
    }

    #[test]
    fn classification() {
        let mut dep = Dependency::new(
            Ecosystem::Npm,
            "x",
            "1.0.0",
            Location {
                file: "l".into(),
                line: 1,
            },
        );
        classify(
            &mut dep,
            &packument(),
            &[Spec::Range {
                name: "x".into(),
                range: "^1.0.0".into(),
            }],
            None,
        );
        assert_eq!(dep.latest.as_deref(), Some("2.1.0"));
        assert_eq!(dep.latest_compatible.as_deref(), Some("1.4.0"));
        assert_eq!(dep.update, UpdateKind::Major);
        let mut dep = Dependency::new(
            Ecosystem::Npm,
            "x",
            "1.5.0",
            Location {
                file: "l".into(),
                line: 1,
            },
        );
        classify(&mut dep, &packument(), &[], None);
        assert_eq!(dep.deprecated.as_deref(), Some("use 1.4"));
    }

    #[test]
    fn node_resolution_walks_up() {
        let paths = [
            "",
            "node_modules/a",
            "node_modules/a/node_modules/b",
            "node_modules/b",
            "node_modules/@s/c",
        ];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        assert_eq!(resolve("node_modules/a", "b", &index), Some(2));
        assert_eq!(resolve("node_modules/@s/c", "b", &index), Some(3));
        assert_eq!(resolve("", "@s/c", &index), Some(4));
        assert_eq!(
            resolve("node_modules/a/node_modules/b", "a", &index),
            Some(1)
        );
        assert_eq!(resolve("", "zzz", &index), None);
    }

    #[test]
    fn registries_from_npmrc() {
        let mut r = Registries {
            default: DEFAULT_REGISTRY.into(),
            scoped: BTreeMap::new(),
        };
        r.apply_npmrc(
            "registry=http://127.0.0.1:9/\n@corp:registry=http://corp.example/\n# note\n",
        );
        assert_eq!(r.packument_url("left-pad"), "http://127.0.0.1:9/left-pad");
        assert_eq!(r.packument_url("@corp/x"), "http://corp.example/@corp%2fx");
        assert_eq!(r.packument_url("@other/x"), "http://127.0.0.1:9/@other%2fx");
    }
}
