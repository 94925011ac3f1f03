//! Changing the replica count through the `/scale` subresource, as kubectl does:
//! without a precondition a merge patch (retried on conflict); with
//! `--current-replicas` or `--resource-version` a read, a check, and an update carrying
//! the resourceVersion that was read, so that a concurrent change makes it fail rather
//! than be overwritten (with the replica count as the only precondition, a change to
//! another part of the object, such as its status, is read again and retried). Dry runs report the same before/after without the change.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use serde::Serialize;

use crate::client::Connection;
use crate::error::Error;
use crate::target::{self, Target};

/// `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    /// Make the change.
    None,
    /// Show the change without sending it.
    Client,
    /// Send it with `dryRun=All`: the server validates and admits it, then drops it.
    Server,
}

/// `--current-replicas` and `--resource-version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub current_replicas: Option<i32>,
    pub resource_version: Option<String>,
}

impl Preconditions {
    pub fn any(&self) -> bool {
        self.current_replicas.is_some() || self.resource_version.is_some()
    }
}

/// A target as read before the change.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    /// `spec.replicas` of the scale subresource when read.
    pub before: i32,
    /// The requested replica count.
    pub after: i32,
    pub resource_version: String,
    /// The pods' label selector, from the scale's status (used to watch pods).
    pub selector: Option<String>,
}

impl Plan {
    /// Why this change deserves a confirmation, if it does: scaling to zero, or a
    /// change of more than half the current count (any change from zero counts).
    pub fn risk(&self) -> Option<String> {
        if self.after == self.before {
            None
        } else if self.after == 0 {
            Some(format!(
                "{} would scale to 0 (from {})",
                self.target, self.before
            ))
        } else if self.before == 0 || (self.after - self.before).abs() * 2 > self.before {
            Some(format!(
                "{} would change by more than 50% ({} -> {})",
                self.target, self.before, self.after
            ))
        } else {
            None
        }
    }
}

/// What was done to one target.
#[derive(Debug, Clone)]
pub struct Applied {
    pub plan: Plan,
    /// `spec.replicas` after the change, as the server reported it (or, for a
    /// client dry run, as it would be).
    pub after: i32,
    /// The resourceVersion after the change (none for dry runs).
    pub resource_version: Option<String>,
}

const CONFLICT_RETRIES: u32 = 5;

fn spec_replicas(scale: &Scale) -> i32 {
    scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

/// Reads every target's scale and checks the preconditions, changing nothing.
pub async fn plan(
    conn: &Connection,
    targets: &[Target],
    replicas: i32,
    preconditions: &Preconditions,
) -> Result<Vec<Plan>, Error> {
    if preconditions.resource_version.is_some() && targets.len() > 1 {
        return Err(Error::ResourceVersionWithSeveral(targets.len()));
    }
    let mut plans = Vec::with_capacity(targets.len());
    for target in targets {
        let scale = get_scale(conn, target).await?;
        let plan = Plan {
            target: target.clone(),
            before: spec_replicas(&scale),
            after: replicas,
            resource_version: scale.metadata.resource_version.clone().unwrap_or_default(),
            selector: scale.status.as_ref().and_then(|s| s.selector.clone()),
        };
        check(&plan, preconditions)?;
        plans.push(plan);
    }
    Ok(plans)
}

async fn get_scale(conn: &Connection, target: &Target) -> Result<Scale, Error> {
    let api = target::api(conn, &target.resource, &target.namespace);
    api.get_scale(&target.name).await.map_err(|e| match e {
        kube::Error::Api(s) if s.code == 404 => Error::NotFound {
            target: target.to_string(),
            namespace: target.namespace.clone(),
        },
        e => Error::from_kube(e, &conn.url, "read", &target.to_string()),
    })
}

fn check(plan: &Plan, preconditions: &Preconditions) -> Result<(), Error> {
    if let Some(expected) = preconditions.current_replicas
        && expected != plan.before
    {
        return Err(Error::ReplicasMismatch {
            target: plan.target.to_string(),
            expected,
            actual: plan.before,
        });
    }
    if let Some(expected) = &preconditions.resource_version
        && expected != &plan.resource_version
    {
        return Err(Error::ResourceVersionMismatch {
            target: plan.target.to_string(),
            expected: expected.clone(),
            actual: plan.resource_version.clone(),
        });
    }
    Ok(())
}

/// Makes (or, for dry runs, simulates) the change planned.
pub async fn apply(
    conn: &Connection,
    plan: &Plan,
    preconditions: &Preconditions,
    dry_run: DryRun,
) -> Result<Applied, Error> {
    if dry_run == DryRun::Client {
        return Ok(Applied {
            plan: plan.clone(),
            after: plan.after,
            resource_version: None,
        });
    }
    let target = &plan.target;
    let name = target.to_string();
    let api = target::api(conn, &target.resource, &target.namespace);
    let server_dry_run = dry_run == DryRun::Server;
    let scale = if preconditions.any() {
        // Update with the resourceVersion we checked: the server refuses it if the
        // object changed since, so a concurrent writer is never overwritten. When the
        // precondition is the replica count alone, a change elsewhere in the object (a
        // rollout updating its status) is not a conflict: read again, and go on only
        // if the count is still the one read.
        let params = PostParams {
            dry_run: server_dry_run,
            field_manager: Some("gantry".into()),
        };
        let mut resource_version = plan.resource_version.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let body = Scale {
                metadata: ObjectMeta {
                    name: Some(target.name.clone()),
                    namespace: (!target.namespace.is_empty()).then(|| target.namespace.clone()),
                    resource_version: Some(resource_version.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(ScaleSpec {
                    replicas: Some(plan.after),
                }),
                status: None,
            };
            match api.replace_scale(&target.name, &params, &body).await {
                Ok(scale) => break scale,
                Err(kube::Error::Api(s))
                    if s.code == 409
                        && preconditions.resource_version.is_none()
                        && attempt < CONFLICT_RETRIES =>
                {
                    let now = get_scale(conn, target).await?;
                    let replicas = spec_replicas(&now);
                    if replicas != plan.before {
                        return Err(Error::ReplicasChanged {
                            target: name,
                            read: plan.before,
                            now: replicas,
                        });
                    }
                    resource_version = now.metadata.resource_version.unwrap_or_default();
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(Error::Conflict {
                        target: name,
                        read: resource_version,
                    });
                }
                Err(e) => return Err(Error::from_kube(e, &conn.url, "scale", &name)),
            }
        }
    } else {
        let patch = serde_json::json!({ "spec": { "replicas": plan.after } });
        let params = PatchParams {
            dry_run: server_dry_run,
            field_manager: Some("gantry".into()),
            ..PatchParams::default()
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match api
                .patch_scale(&target.name, &params, &Patch::Merge(&patch))
                .await
            {
                Ok(scale) => break scale,
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < CONFLICT_RETRIES => {
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Err(Error::TooManyConflicts {
                        target: name,
                        attempts: attempt,
                    });
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    return Err(Error::NotFound {
                        target: name,
                        namespace: target.namespace.clone(),
                    });
                }
                Err(e) => return Err(Error::from_kube(e, &conn.url, "scale", &name)),
            }
        }
    };
    Ok(Applied {
        plan: plan.clone(),
        after: spec_replicas(&scale),
        resource_version: (!server_dry_run)
            .then(|| scale.metadata.resource_version.clone())
            .flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{ResourceType, Workload};
    use kube::core::ApiResource;

    fn plan(before: i32, after: i32) -> Plan {
        Plan {
            target: Target {
                resource: ResourceType {
                    api: ApiResource {
                        group: "apps".into(),
                        version: "v1".into(),
                        api_version: "apps/v1".into(),
                        kind: "Deployment".into(),
                        plural: "deployments".into(),
                    },
                    namespaced: true,
                    workload: Workload::Deployment,
                },
                namespace: "default".into(),
                name: "web".into(),
            },
            before,
            after,
            resource_version: "7".into(),
            selector: None,
        }
    }

    #[test]
    fn risky_changes_are_to_zero_or_over_half() {
        assert!(plan(3, 0).risk().unwrap().contains("to 0"));
        assert!(plan(4, 7).risk().is_some());
        assert!(plan(4, 6).risk().is_none());
        assert!(plan(4, 2).risk().is_none());
        assert!(plan(4, 1).risk().is_some());
        assert!(plan(0, 1).risk().is_some());
        assert!(plan(0, 0).risk().is_none());
    }

    #[test]
    fn preconditions_name_expected_and_actual() {
        let p = plan(2, 3);
        let err = check(
            &p,
            &Preconditions {
                current_replicas: Some(5),
                resource_version: None,
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "precondition failed for deployment.apps/web: expected 5 current replicas, but it has 2"
        );
        let err = check(
            &p,
            &Preconditions {
                current_replicas: Some(2),
                resource_version: Some("6".into()),
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected resourceVersion 6, but it is 7")
        );
        assert!(
            check(
                &p,
                &Preconditions {
                    current_replicas: Some(2),
                    resource_version: Some("7".into())
                }
            )
            .is_ok()
        );
    }
}
