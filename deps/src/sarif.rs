//! SARIF 2.1.0 output: one run, one rule per advisory and per kind of finding (yanked,
//! retracted, deprecated, major update, update, failed lookup), results located at the
//! dependency's line in its lockfile or go.mod.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{Dependency, Report, SourceKind, UpdateKind};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

struct Rule {
    id: String,
    name: String,
    short: String,
    help_uri: Option<String>,
    level: &'static str,
    security_severity: Option<f64>,
    tags: Vec<&'static str>,
}

impl Rule {
    fn fixed(id: &str, name: &str, short: &str, level: &'static str) -> Rule {
        Rule {
            id: id.to_string(),
            name: name.to_string(),
            short: short.to_string(),
            help_uri: None,
            level,
            security_severity: None,
            tags: vec!["dependencies"],
        }
    }

    fn to_json(&self) -> Value {
        let mut properties = json!({ "tags": self.tags });
        if let Some(score) = self.security_severity {
            properties["security-severity"] = json!(format!("{score:.1}"));
        }
        let mut rule = json!({
            "id": self.id,
            "name": self.name,
            "shortDescription": { "text": self.short },
            "defaultConfiguration": { "level": self.level },
            "properties": properties,
        });
        if let Some(uri) = &self.help_uri {
            rule["helpUri"] = json!(uri);
        }
        rule
    }
}

/// A SARIF artifact URI for a report path: relative paths stay relative (to the
/// source root), absolute ones become `file://` URIs.
fn artifact(file: &str) -> Value {
    let file = file.replace('\\', "/");
    if file.starts_with('/') {
        json!({ "uri": format!("file://{file}") })
    } else if file.len() > 2 && file.as_bytes()[1] == b':' {
        json!({ "uri": format!("file:///{file}") })
    } else {
        json!({ "uri": file, "uriBaseId": "%SRCROOT%" })
    }
}

fn label(dep: &Dependency) -> String {
    format!("{} {} ({})", dep.name, dep.current, dep.ecosystem)
}

/// The findings of one dependency as (rule, message) pairs.
fn findings(
    dep: &Dependency,
    rules: &mut BTreeMap<String, Rule>,
) -> Vec<(String, String, &'static str)> {
    let mut out = Vec::new();
    for v in dep.vulnerabilities.iter().flatten() {
        let informational = v.informational.is_some();
        let level = if informational { "note" } else { "error" };
        rules.entry(v.id.clone()).or_insert_with(|| Rule {
            id: v.id.clone(),
            name: if informational {
                "InformationalAdvisory".into()
            } else {
                "Vulnerability".into()
            },
            short: v.summary.clone().unwrap_or_else(|| v.id.clone()),
            help_uri: v.url.clone(),
            level,
            security_severity: v.severity.as_ref().and_then(|s| s.score),
            tags: if informational {
                vec!["dependencies"]
            } else {
                vec!["security", "vulnerability", "dependencies"]
            },
        });
        let fix = if v.fixed.is_empty() {
            "no fixed version is known".to_string()
        } else {
            format!("fixed in {}", v.fixed.join(", "))
        };
        let aliases = if v.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.aliases.join(", "))
        };
        out.push((
            v.id.clone(),
            format!(
                "{} is affected by {}{aliases}: {}; {fix}",
                label(dep),
                v.id,
                v.summary.as_deref().unwrap_or("see the advisory")
            ),
            level,
        ));
    }
    let mut fixed = |id: &str, name: &str, short: &str, level: &'static str, message: String| {
        rules
            .entry(id.to_string())
            .or_insert_with(|| Rule::fixed(id, name, short, level));
        out.push((id.to_string(), message, level));
    };
    if dep.yanked {
        fixed(
            "deps/yanked",
            "YankedVersion",
            "The locked version was yanked from the registry",
            "error",
            format!("{} is yanked", label(dep)),
        );
    }
    if dep.retracted {
        fixed(
            "deps/retracted",
            "RetractedVersion",
            "The required version was retracted by the module author",
            "error",
            format!("{} is retracted: {}", label(dep), dep.retraction.join("; ")),
        );
    }
    if let Some(message) = &dep.deprecated {
        fixed(
            "deps/deprecated",
            "Deprecated",
            "The dependency is deprecated",
            "warning",
            format!("{} is deprecated: {message}", label(dep)),
        );
    }
    let latest = dep.latest.as_deref().unwrap_or("?");
    match dep.update {
        UpdateKind::Major => fixed(
            "deps/major-update",
            "MajorUpdate",
            "A newer version that breaks compatibility is available",
            "note",
            format!("{} can be updated to {latest} (a major update)", label(dep)),
        ),
        UpdateKind::Minor | UpdateKind::Patch => fixed(
            "deps/update",
            "Update",
            "A compatible newer version is available",
            "note",
            format!(
                "{} can be updated to {latest} ({})",
                label(dep),
                dep.update.name()
            ),
        ),
        UpdateKind::Unknown if dep.error.is_some() => fixed(
            "deps/lookup-failed",
            "LookupFailed",
            "The dependency could not be checked",
            "warning",
            format!(
                "{} could not be checked: {}",
                label(dep),
                dep.error.as_deref().unwrap_or_default()
            ),
        ),
        _ => {}
    }
    out
}

/// The report as a SARIF 2.1.0 log.
pub fn to_sarif(report: &Report, tool_version: &str) -> Value {
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    let mut pending = Vec::new();
    for dep in &report.dependencies {
        if dep.source != SourceKind::Registry && dep.error.is_none() {
            continue;
        }
        for (rule, message, level) in findings(dep, &mut rules) {
            pending.push((rule, message, level, dep));
        }
    }
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let results: Vec<Value> = pending
        .iter()
        .map(|(rule, message, level, dep)| {
            json!({
                "ruleId": rule,
                "ruleIndex": index[rule.as_str()],
                "level": level,
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact(&dep.location.file),
                        "region": { "startLine": dep.location.line.max(1) }
                    }
                }],
                "partialFingerprints": {
                    "dependency/v1": format!("{}:{}@{}:{}", dep.ecosystem, dep.name, dep.current, rule)
                },
                "properties": {
                    "ecosystem": dep.ecosystem.name(),
                    "package": dep.name,
                    "version": dep.current,
                    "direct": dep.direct,
                }
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "gantry deps-audit",
                    "version": tool_version,
                    "informationUri": "https://github.com/gantry-cli/gantry",
                    "rules": rules.values().map(Rule::to_json).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
