//! What to scale: parsing `TYPE/NAME`, `TYPE NAME...`, `-l SELECTOR` and `--all`, and
//! resolving a type name to a resource with a `/scale` subresource. The workload types
//! kubectl knows by heart resolve without a request; anything else (CRDs included) is
//! found through the server's discovery documents, by plural, singular, kind or short
//! name, optionally qualified by its group (`widgets.example.com`).

use std::fmt;

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;

use crate::client::Connection;
use crate::error::Error;

/// Which rollout rules apply when waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Deployment,
    StatefulSet,
    ReplicaSet,
    ReplicationController,
    /// Any other resource with a `/scale` subresource: done when the scale's status
    /// matches its spec.
    Other,
}

/// A resource type that can be scaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub api: ApiResource,
    pub namespaced: bool,
    pub workload: Workload,
}

impl ResourceType {
    /// `deployment.apps`, `replicationcontroller`, `widget.example.com`: kubectl's
    /// spelling of a type in messages.
    pub fn display_name(&self) -> String {
        let kind = self.api.kind.to_lowercase();
        if self.api.group.is_empty() {
            kind
        } else {
            format!("{kind}.{}", self.api.group)
        }
    }
}

/// One object to scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub resource: ResourceType,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.resource.display_name(), self.name)
    }
}

/// How objects of one type are picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Names(Vec<String>),
    Selector(String),
    All,
}

/// The targets as written on the command line, before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub type_name: String,
    pub pick: Pick,
}

/// Parses the positional arguments: `TYPE/NAME...`, kubectl's `TYPE NAME...`, or one
/// `TYPE` with a selector or `--all`.
pub fn parse(args: &[String], selector: Option<&str>, all: bool) -> Result<Vec<Request>, Error> {
    let Some(first) = args.first() else {
        return Err(Error::NoTarget);
    };
    if selector.is_some() || all {
        // `deploy` or `deploy,sts`: every type with the same selection.
        if args.len() != 1 || first.contains('/') {
            let flag = if all { "--all" } else { "-l" };
            let example = first.split('/').next().unwrap_or(first);
            return Err(Error::SelectionWithNames {
                flag,
                given: args.join(" "),
                example: example.to_string(),
            });
        }
        let pick = match selector {
            Some(s) => Pick::Selector(s.to_string()),
            None => Pick::All,
        };
        return first
            .split(',')
            .map(|t| {
                if t.is_empty() {
                    Err(Error::BadTarget(first.clone()))
                } else {
                    Ok(Request {
                        type_name: t.to_string(),
                        pick: pick.clone(),
                    })
                }
            })
            .collect();
    }
    if !first.contains('/') {
        // kubectl's `TYPE NAME...`.
        if args.len() < 2 || args[1..].iter().any(|a| a.contains('/') || a.is_empty()) {
            return Err(Error::BadTarget(first.clone()));
        }
        return Ok(vec![Request {
            type_name: first.clone(),
            pick: Pick::Names(args[1..].to_vec()),
        }]);
    }
    let mut requests: Vec<Request> = Vec::new();
    for arg in args {
        let (ty, name) = match arg.split_once('/') {
            Some((ty, name)) if !ty.is_empty() && !name.is_empty() && !name.contains('/') => {
                (ty, name)
            }
            _ => return Err(Error::BadTarget(arg.clone())),
        };
        // Group names of the same type, keeping the order given.
        match requests.iter_mut().find(|r| r.type_name == ty) {
            Some(Request {
                pick: Pick::Names(names),
                ..
            }) => names.push(name.to_string()),
            _ => requests.push(Request {
                type_name: ty.to_string(),
                pick: Pick::Names(vec![name.to_string()]),
            }),
        }
    }
    Ok(requests)
}

fn builtin(group: &str, kind: &str, plural: &str, workload: Workload) -> ResourceType {
    let api_version = if group.is_empty() {
        "v1".to_string()
    } else {
        format!("{group}/v1")
    };
    ResourceType {
        api: ApiResource {
            group: group.to_string(),
            version: "v1".to_string(),
            api_version,
            kind: kind.to_string(),
            plural: plural.to_string(),
        },
        namespaced: true,
        workload,
    }
}

/// The workload types every cluster serves, by the names kubectl accepts for them.
fn well_known(type_name: &str) -> Option<ResourceType> {
    let lower = type_name.to_ascii_lowercase();
    let (name, group) = match lower.split_once('.') {
        Some((name, group)) => (name, Some(group)),
        None => (lower.as_str(), None),
    };
    let resource = match name {
        "deployment" | "deployments" | "deploy" => {
            builtin("apps", "Deployment", "deployments", Workload::Deployment)
        }
        "statefulset" | "statefulsets" | "sts" => {
            builtin("apps", "StatefulSet", "statefulsets", Workload::StatefulSet)
        }
        "replicaset" | "replicasets" | "rs" => {
            builtin("apps", "ReplicaSet", "replicasets", Workload::ReplicaSet)
        }
        "replicationcontroller" | "replicationcontrollers" | "rc" => builtin(
            "",
            "ReplicationController",
            "replicationcontrollers",
            Workload::ReplicationController,
        ),
        _ => return None,
    };
    match group {
        None => Some(resource),
        Some(g) if g == resource.api.group => Some(resource),
        Some(_) => None,
    }
}

/// Resolves a type name, through discovery when it is not a well-known workload.
pub async fn resolve_type(conn: &Connection, type_name: &str) -> Result<ResourceType, Error> {
    if let Some(resource) = well_known(type_name) {
        return Ok(resource);
    }
    let lower = type_name.to_ascii_lowercase();
    let (name, group) = match lower.split_once('.') {
        Some((name, group)) => (name.to_string(), Some(group.to_string())),
        None => (lower.clone(), None),
    };
    let client = &conn.client;
    let action = "run discovery";
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| Error::from_kube(e, &conn.url, action, "(API groups)"))?;
    // The core group first, then each group's preferred version, fetched together.
    let mut versions = vec![String::from("v1")];
    versions.extend(groups.groups.iter().filter_map(|g| {
        if let Some(want) = &group
            && &g.name != want
        {
            return None;
        }
        g.preferred_version
            .as_ref()
            .map(|v| v.group_version.clone())
            .or_else(|| g.versions.first().map(|v| v.group_version.clone()))
    }));
    if group.is_some() {
        versions.remove(0);
    }
    let lists = join_all(versions.iter().map(|gv| async move {
        if gv == "v1" {
            client.list_core_api_resources("v1").await
        } else {
            client.list_api_group_resources(gv).await
        }
    }))
    .await;
    for list in lists {
        // A broken aggregated API must not stop us finding a type elsewhere.
        let Ok(list) = list else { continue };
        if let Some(found) = find_in(&list, &name)? {
            return Ok(found);
        }
    }
    Err(Error::UnknownType(type_name.to_string()))
}

fn find_in(list: &APIResourceList, name: &str) -> Result<Option<ResourceType>, Error> {
    let Some(res) = list.resources.iter().find(|r| {
        !r.name.contains('/')
            && (r.name == name
                || r.singular_name == name
                || r.kind.to_ascii_lowercase() == name
                || r.short_names.iter().flatten().any(|s| s == name))
    }) else {
        return Ok(None);
    };
    let (group, version) = match list.group_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), list.group_version.clone()),
    };
    let resource = ResourceType {
        api: ApiResource {
            group,
            version,
            api_version: list.group_version.clone(),
            kind: res.kind.clone(),
            plural: res.name.clone(),
        },
        namespaced: res.namespaced,
        workload: Workload::Other,
    };
    let scale = format!("{}/scale", res.name);
    if !list.resources.iter().any(|r| r.name == scale) {
        return Err(Error::NotScalable(resource.display_name()));
    }
    Ok(Some(
        well_known(&format!("{}.{}", res.name, resource.api.group)).unwrap_or(resource),
    ))
}

/// An `Api` for objects of this type in the connection's namespace.
pub fn api(conn: &Connection, resource: &ResourceType, namespace: &str) -> Api<DynamicObject> {
    if resource.namespaced {
        Api::namespaced_with(conn.client.clone(), namespace, &resource.api)
    } else {
        Api::all_with(conn.client.clone(), &resource.api)
    }
}

/// Resolves the requests to concrete objects: names as given (checked when they are
/// read), selectors and `--all` by listing.
pub async fn resolve(conn: &Connection, requests: &[Request]) -> Result<Vec<Target>, Error> {
    let mut targets = Vec::new();
    for request in requests {
        let resource = resolve_type(conn, &request.type_name).await?;
        let namespace = if resource.namespaced {
            conn.namespace.clone()
        } else {
            String::new()
        };
        let names = match &request.pick {
            Pick::Names(names) => names.clone(),
            pick => {
                let (params, selection) = match pick {
                    Pick::Selector(s) => (ListParams::default().labels(s), format!("selector {s}")),
                    _ => (ListParams::default(), String::from("--all")),
                };
                let list = api(conn, &resource, &namespace)
                    .list_metadata(&params)
                    .await
                    .map_err(|e| Error::from_kube(e, &conn.url, "list", &resource.api.plural))?;
                let mut names: Vec<String> = list
                    .items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .collect();
                if names.is_empty() {
                    return Err(Error::NothingMatched {
                        resource: resource.api.plural.clone(),
                        selection,
                        namespace: conn.namespace.clone(),
                    });
                }
                names.sort();
                names
            }
        };
        targets.extend(names.into_iter().map(|name| Target {
            resource: resource.clone(),
            namespace: namespace.clone(),
            name,
        }));
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_slash_form_grouping_types() {
        let got = parse(&strings(&["deploy/a", "sts/b", "deploy/c"]), None, false).unwrap();
        assert_eq!(
            got,
            vec![
                Request {
                    type_name: "deploy".into(),
                    pick: Pick::Names(strings(&["a", "c"]))
                },
                Request {
                    type_name: "sts".into(),
                    pick: Pick::Names(strings(&["b"]))
                },
            ]
        );
    }

    #[test]
    fn parses_kubectl_form_and_selectors() {
        let got = parse(&strings(&["deployment", "a", "b"]), None, false).unwrap();
        assert_eq!(got[0].pick, Pick::Names(strings(&["a", "b"])));
        let got = parse(&strings(&["deploy,rs"]), Some("app=web"), false).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].pick, Pick::Selector("app=web".into()));
        assert_eq!(
            parse(&strings(&["deploy"]), None, true).unwrap()[0].pick,
            Pick::All
        );
    }

    #[test]
    fn rejects_malformed_targets() {
        assert!(matches!(parse(&[], None, false), Err(Error::NoTarget)));
        assert!(parse(&strings(&["deploy/"]), None, false).is_err());
        assert!(parse(&strings(&["deploy"]), None, false).is_err());
        assert!(parse(&strings(&["deploy/a"]), Some("x=y"), false).is_err());
        assert!(parse(&strings(&["a/b/c"]), None, false).is_err());
    }

    #[test]
    fn knows_kubectl_short_names() {
        assert_eq!(well_known("deploy").unwrap().api.plural, "deployments");
        assert_eq!(
            well_known("deployments.apps").unwrap().workload,
            Workload::Deployment
        );
        assert_eq!(well_known("sts").unwrap().api.kind, "StatefulSet");
        assert_eq!(well_known("rc").unwrap().api.api_version, "v1");
        assert!(well_known("deployments.example.com").is_none());
        assert!(well_known("widgets").is_none());
    }
}
