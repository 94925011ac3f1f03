//! Waiting for scaled targets to be ready, by watching (never polling) each target and
//! its pods. A target's state is judged with `kubectl rollout status` rules:
//!
//! - Deployment: the controller observed the latest generation; not
//!   `ProgressDeadlineExceeded` (an error); every desired replica updated; no old
//!   replicas left; every updated replica available. Beyond kubectl, no replicas above
//!   the desired count left, so a scale-down is complete only when its pods are gone.
//! - StatefulSet: observed generation; every desired replica ready; a partitioned
//!   rolling update has updated its share; otherwise the update revision is current.
//!   Beyond kubectl, pods above the desired count must be gone, so a scale-down is
//!   complete only when its pods are.
//! - ReplicaSet, ReplicationController: observed generation; as many pods as desired,
//!   all ready and available.
//! - Any other resource with `/scale`: its observed generation where it has one, and
//!   the scale's status replicas equal to its spec.
//!
//! Pods matched by the scale's selector are watched for the problems that stall a
//! rollout (ImagePullBackOff, CrashLoopBackOff, Unschedulable, ...), which are
//! reported as they appear and in the summary of a timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::client::Connection;
use crate::error::{Error, is_transport, root_cause};
use crate::target::{self, Target, Workload};

/// The counts shown while waiting, and whether the rollout is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub desired: i32,
    /// Pods that exist (old and new).
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub complete: bool,
    /// What is being waited for, in `kubectl rollout status` words.
    pub message: String,
}

/// A pod problem that stalls a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodProblem {
    pub pod: String,
    /// `ImagePullBackOff`, `CrashLoopBackOff`, `Unschedulable`, ...
    pub reason: String,
    pub message: String,
}

/// What a waiter reports as it goes.
#[derive(Debug, Clone)]
pub enum Update {
    Progress {
        index: usize,
        progress: Progress,
    },
    /// The current problems of the target's pods (replacing the previous list).
    Problems {
        index: usize,
        problems: Vec<PodProblem>,
    },
}

/// How waiting for one target ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Complete,
    TimedOut,
}

/// The end state of one target.
#[derive(Debug, Clone, Serialize)]
pub struct Waited {
    pub outcome: Outcome,
    pub progress: Progress,
    pub problems: Vec<PodProblem>,
    /// Seconds from the start of the wait until complete (or until the timeout).
    pub seconds: f64,
}

/// A target to wait for, with the pod selector read from its scale.
#[derive(Debug, Clone)]
pub struct Waitable {
    pub target: Target,
    pub selector: Option<String>,
}

/// How long watch errors may go on before the wait gives up: long enough to ride out
/// a watch that the server closed, short enough to report a dead server promptly.
const ERROR_GRACE: Duration = Duration::from_secs(3);

/// Waits for every target at once, calling `on_update` from this task as their
/// states change. Returns when all are complete or `timeout` passes; an error (a
/// failed rollout, a lost server) ends the whole wait.
pub async fn wait_all(
    conn: &Connection,
    targets: &[Waitable],
    timeout: Option<Duration>,
    mut on_update: impl FnMut(&Update),
) -> Result<Vec<Waited>, Error> {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, waitable) in targets.iter().enumerate() {
        let conn = conn.clone();
        let waitable = waitable.clone();
        let tx = tx.clone();
        tasks.spawn(async move { watch_one(&conn, index, &waitable, &tx).await });
    }
    drop(tx);
    let mut states: Vec<Waited> = targets
        .iter()
        .map(|_| Waited {
            outcome: Outcome::TimedOut,
            progress: Progress::default(),
            problems: Vec::new(),
            seconds: 0.0,
        })
        .collect();
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let sleep_until = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep_until);
    let mut remaining = targets.len();
    while remaining > 0 {
        tokio::select! {
            update = rx.recv() => {
                let Some(update) = update else {
                    // Every watch has ended; one that ended in an error (a lost
                    // server, a failed rollout) is the outcome, not a timeout.
                    while let Some(joined) = tasks.join_next().await {
                        if let Ok(Err(err)) = joined {
                            return Err(err);
                        }
                    }
                    break;
                };
                match &update {
                    Update::Progress { index, progress } => {
                        let state = &mut states[*index];
                        state.progress = progress.clone();
                        if progress.complete && state.outcome != Outcome::Complete {
                            state.outcome = Outcome::Complete;
                            state.seconds = start.elapsed().as_secs_f64();
                            remaining -= 1;
                        }
                    }
                    Update::Problems { index, problems } => {
                        states[*index].problems = problems.clone();
                    }
                }
                on_update(&update);
            }
            joined = tasks.join_next(), if !tasks.is_empty() => {
                if let Some(Ok(Err(err))) = joined {
                    return Err(err);
                }
            }
            () = &mut sleep_until => break,
        }
    }
    tasks.abort_all();
    for state in &mut states {
        if state.outcome == Outcome::TimedOut {
            state.seconds = start.elapsed().as_secs_f64();
        }
    }
    Ok(states)
}

/// Watches one target and its pods until it is complete.
async fn watch_one(
    conn: &Connection,
    index: usize,
    waitable: &Waitable,
    tx: &mpsc::UnboundedSender<Update>,
) -> Result<(), Error> {
    let target = &waitable.target;
    let name = target.to_string();
    let api = target::api(conn, &target.resource, &target.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", target.name));
    // Failed watches are retried with kube-runtime's exponential backoff (with jitter),
    // not in a tight loop; errors still come through so `fatal` can judge them.
    let mut objects = watcher::watcher(api.clone(), config)
        .default_backoff()
        .boxed();
    let mut pods: BoxStream<'_, watcher::Result<Event<Pod>>> = match &waitable.selector {
        Some(selector) if !selector.is_empty() && !target.namespace.is_empty() => {
            let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);
            watcher::watcher(pods, watcher::Config::default().labels(selector))
                .default_backoff()
                .boxed()
        }
        _ => futures::stream::pending().boxed(),
    };
    let mut problems: BTreeMap<String, Vec<PodProblem>> = BTreeMap::new();
    let mut failing_since: Option<Instant> = None;
    let mut pods_done = false;
    loop {
        let event = tokio::select! {
            ev = objects.next() => Source::Object(ev),
            ev = pods.next(), if !pods_done => Source::Pod(ev),
        };
        let error = match event {
            Source::Object(None) => {
                return Err(Error::CannotWait {
                    target: name,
                    reason: "the watch ended".into(),
                });
            }
            Source::Pod(None) => {
                pods_done = true;
                None
            }
            Source::Object(Some(Ok(Event::Apply(obj) | Event::InitApply(obj)))) => {
                let progress = evaluate(conn, &api, target, obj).await?;
                let complete = progress.complete;
                let _ = tx.send(Update::Progress { index, progress });
                if complete {
                    return Ok(());
                }
                None
            }
            Source::Object(Some(Ok(Event::Delete(_)))) => {
                return Err(Error::Deleted { target: name });
            }
            Source::Object(Some(Ok(Event::Init | Event::InitDone))) => None,
            Source::Pod(Some(Ok(event))) => {
                let changed = match event {
                    Event::Apply(pod) | Event::InitApply(pod) => {
                        let pod_name = pod.metadata.name.clone().unwrap_or_default();
                        let found = pod_problems(&pod);
                        let old = if found.is_empty() {
                            problems.remove(&pod_name)
                        } else {
                            problems.insert(pod_name, found.clone())
                        };
                        old.unwrap_or_default() != found
                    }
                    Event::Delete(pod) => {
                        let pod_name = pod.metadata.name.clone().unwrap_or_default();
                        problems.remove(&pod_name).is_some()
                    }
                    Event::Init => {
                        let had = !problems.is_empty();
                        problems.clear();
                        had
                    }
                    Event::InitDone => false,
                };
                if changed {
                    let list = problems.values().flatten().cloned().collect();
                    let _ = tx.send(Update::Problems {
                        index,
                        problems: list,
                    });
                }
                None
            }
            Source::Object(Some(Err(e))) | Source::Pod(Some(Err(e))) => Some(e),
        };
        match error {
            None => failing_since = None,
            Some(err) => {
                if let Some(fatal) = fatal(conn, &name, err, &mut failing_since) {
                    return Err(fatal);
                }
            }
        }
    }
}

enum Source<O, P> {
    Object(Option<O>),
    Pod(Option<P>),
}

/// Decides whether a watch error ends the wait: refusals at once, a server that
/// cannot be reached once it has stayed so for [`ERROR_GRACE`].
fn fatal(
    conn: &Connection,
    target: &str,
    err: watcher::Error,
    failing_since: &mut Option<Instant>,
) -> Option<Error> {
    let client_err = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        watcher::Error::WatchError(status) if status.code == 403 => {
            return Some(Error::Forbidden {
                action: "watch",
                target: target.to_string(),
                user_message: status.message.clone(),
            });
        }
        // 410 Gone and the like: the watcher starts over with a fresh list.
        watcher::Error::WatchError(_) | watcher::Error::NoResourceVersion => return None,
    };
    if let kube::Error::Api(status) = &client_err
        && status.code != 410
        && status.code < 500
    {
        return Some(Error::from_kube(client_err, &conn.url, "watch", target));
    }
    let since = *failing_since.get_or_insert_with(Instant::now);
    if since.elapsed() < ERROR_GRACE {
        return None;
    }
    Some(if is_transport(&client_err) {
        Error::Unreachable {
            url: conn.url.clone(),
            action: format!("watch {target} (the connection was lost)"),
            cause: root_cause(&client_err),
            source: Box::new(client_err),
        }
    } else {
        Error::from_kube(client_err, &conn.url, "watch", target)
    })
}

/// The target's progress from its latest state.
async fn evaluate(
    conn: &Connection,
    api: &Api<DynamicObject>,
    target: &Target,
    obj: DynamicObject,
) -> Result<Progress, Error> {
    let name = target.to_string();
    let parse_error = |e: kube::core::dynamic::ParseDynamicObjectError| Error::CannotWait {
        target: name.clone(),
        reason: format!("unexpected object from the server: {e}"),
    };
    match target.resource.workload {
        Workload::Deployment => deployment(&name, &obj.try_parse().map_err(parse_error)?),
        Workload::StatefulSet => Ok(statefulset(&obj.try_parse().map_err(parse_error)?)),
        Workload::ReplicaSet => Ok(replicaset(&obj.try_parse().map_err(parse_error)?)),
        Workload::ReplicationController => Ok(replication_controller(
            &obj.try_parse().map_err(parse_error)?,
        )),
        Workload::Other => {
            // The scale subresource knows where this type keeps its replica counts.
            let scale = api
                .get_scale(&target.name)
                .await
                .map_err(|e| Error::from_kube(e, &conn.url, "read", &name))?;
            let desired = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
            let current = scale.status.map_or(0, |s| s.replicas);
            let generation = obj.metadata.generation.unwrap_or(0);
            let observed = obj.data["status"]["observedGeneration"].as_i64();
            let observed_ok = observed.is_none_or(|o| o >= generation);
            let complete = observed_ok && current == desired;
            let message = if !observed_ok {
                "waiting for the spec update to be observed".into()
            } else if complete {
                format!("{current} replicas")
            } else {
                format!("{current} of {desired} replicas")
            };
            Ok(Progress {
                desired,
                current,
                updated: current,
                ready: current,
                available: current,
                complete,
                message,
            })
        }
    }
}

/// `kubectl rollout status` for a deployment.
pub fn deployment(name: &str, d: &Deployment) -> Result<Progress, Error> {
    let spec_replicas = d.spec.replicas;
    let status = d.status.clone().unwrap_or_default();
    let mut p = Progress {
        desired: spec_replicas.unwrap_or(1),
        current: status.replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        complete: false,
        message: String::new(),
    };
    let generation = d.metadata.generation.unwrap_or(0);
    if generation > status.observed_generation.unwrap_or(0) {
        p.message = "waiting for the deployment spec update to be observed".into();
        return Ok(p);
    }
    if let Some(cond) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing"))
        && cond.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return Err(Error::ProgressDeadlineExceeded {
            target: name.to_string(),
            message: cond.message.clone().unwrap_or_default(),
        });
    }
    if let Some(want) = spec_replicas
        && p.updated < want
    {
        p.message = format!("{} out of {want} new replicas have been updated", p.updated);
    } else if p.current > p.updated {
        p.message = format!(
            "{} old replicas are pending termination",
            p.current - p.updated
        );
    } else if spec_replicas.is_some_and(|want| p.current > want) {
        // Beyond kubectl: a scale-down is complete when the extra pods are gone.
        p.message = format!(
            "{} extra replicas are pending termination",
            p.current - p.desired
        );
    } else if p.available < p.updated {
        p.message = format!(
            "{} of {} updated replicas are available",
            p.available, p.updated
        );
    } else {
        p.complete = true;
        p.message = "successfully rolled out".into();
    }
    Ok(p)
}

/// `kubectl rollout status` for a statefulset, plus: pods above the desired count gone.
pub fn statefulset(s: &StatefulSet) -> Progress {
    let spec = s.spec.clone();
    let status = s.status.clone().unwrap_or_default();
    let mut p = Progress {
        desired: spec.replicas.unwrap_or(1),
        current: status.replicas,
        updated: status.updated_replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        complete: false,
        message: String::new(),
    };
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || s.metadata.generation.unwrap_or(0) > observed {
        p.message = "waiting for the statefulset spec update to be observed".into();
        return p;
    }
    let strategy = spec.update_strategy.unwrap_or_default();
    let rolling = strategy
        .type_
        .as_deref()
        .is_none_or(|t| t == "RollingUpdate");
    if p.ready < p.desired {
        p.message = format!("waiting for {} pods to be ready", p.desired - p.ready);
    } else if p.current > p.desired {
        p.message = format!("{} pods are pending termination", p.current - p.desired);
    } else if let Some(partition) = strategy
        .rolling_update
        .and_then(|r| r.partition)
        .filter(|_| rolling)
    {
        if p.updated < p.desired - partition {
            p.message = format!(
                "partitioned roll out: {} out of {} new pods have been updated",
                p.updated,
                p.desired - partition
            );
        } else {
            p.complete = true;
            p.message = format!("partitioned roll out complete: {} new pods", p.updated);
        }
    } else if rolling && status.update_revision != status.current_revision {
        p.message = format!(
            "rolling update: {} pods at revision {}",
            p.updated,
            status.update_revision.unwrap_or_default()
        );
    } else {
        p.complete = true;
        p.message = format!("{} pods ready", p.ready);
    }
    p
}

fn counted(
    generation: i64,
    observed: i64,
    desired: i32,
    current: i32,
    ready: i32,
    available: i32,
) -> Progress {
    let mut p = Progress {
        desired,
        current,
        updated: current,
        ready,
        available,
        complete: false,
        message: String::new(),
    };
    if generation > observed {
        p.message = "waiting for the spec update to be observed".into();
    } else if current > desired {
        p.message = format!("{} old replicas are pending termination", current - desired);
    } else if ready < desired || available < desired || current < desired {
        p.message = format!("{available} of {desired} replicas are available");
    } else {
        p.complete = true;
        p.message = format!("{available} replicas available");
    }
    p
}

pub fn replicaset(r: &ReplicaSet) -> Progress {
    let status = r.status.clone().unwrap_or_default();
    counted(
        r.metadata.generation.unwrap_or(0),
        status.observed_generation.unwrap_or(0),
        r.spec.replicas.unwrap_or(1),
        status.replicas,
        status.ready_replicas.unwrap_or(0),
        status.available_replicas.unwrap_or(0),
    )
}

pub fn replication_controller(r: &ReplicationController) -> Progress {
    let status = r.status.clone().unwrap_or_default();
    counted(
        r.metadata.generation.unwrap_or(0),
        status.observed_generation.unwrap_or(0),
        r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        status.replicas,
        status.ready_replicas.unwrap_or(0),
        status.available_replicas.unwrap_or(0),
    )
}

/// Waiting reasons of a container that mean it will not become ready on its own.
const STUCK: [&str; 7] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// The problems a pod shows now.
pub fn pod_problems(pod: &Pod) -> Vec<PodProblem> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut found = Vec::new();
    let Some(status) = &pod.status else {
        return found;
    };
    for cond in status.conditions.iter().flatten() {
        if cond.type_ == "PodScheduled"
            && cond.status == "False"
            && cond.reason.as_deref() == Some("Unschedulable")
        {
            found.push(PodProblem {
                pod: name.clone(),
                reason: "Unschedulable".into(),
                message: cond.message.clone().unwrap_or_default(),
            });
        }
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for c in containers {
        if let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref())
            && let Some(reason) = waiting.reason.as_deref()
            && STUCK.contains(&reason)
        {
            found.push(PodProblem {
                pod: name.clone(),
                reason: reason.to_string(),
                message: format!(
                    "container {}: {}",
                    c.name,
                    waiting.message.clone().unwrap_or_default()
                ),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn deployment_follows_kubectl_rollout_status() {
        let base = serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
        });
        let p = deployment("d", &deploy(base.clone())).unwrap();
        assert!(!p.complete);
        assert!(p.message.contains("observed"));

        let mut v = base.clone();
        v["status"]["observedGeneration"] = 2.into();
        assert_eq!(
            deployment("d", &deploy(v.clone())).unwrap().message,
            "1 out of 3 new replicas have been updated"
        );
        v["status"] = serde_json::json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3});
        assert!(
            deployment("d", &deploy(v.clone()))
                .unwrap()
                .message
                .contains("1 old replicas")
        );
        v["status"]["replicas"] = 3.into();
        v["status"]["availableReplicas"] = 2.into();
        assert!(
            deployment("d", &deploy(v.clone()))
                .unwrap()
                .message
                .contains("2 of 3 updated")
        );
        v["status"]["availableReplicas"] = 3.into();
        assert!(deployment("d", &deploy(v.clone())).unwrap().complete);

        v["status"]["conditions"] = serde_json::json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]);
        let err = deployment("deployment.apps/web", &deploy(v)).unwrap_err();
        assert!(err.to_string().contains("ProgressDeadlineExceeded"));
    }

    #[test]
    fn statefulset_waits_for_ready_and_for_extra_pods_to_go() {
        let sts = |status: serde_json::Value| -> StatefulSet {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "db", "generation": 1},
                "spec": {"replicas": 2, "selector": {}, "template": {}, "serviceName": "db"},
                "status": status
            }))
            .unwrap()
        };
        let p = statefulset(&sts(
            serde_json::json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 1}),
        ));
        assert_eq!(p.message, "waiting for 1 pods to be ready");
        let p = statefulset(&sts(
            serde_json::json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3}),
        ));
        assert!(!p.complete);
        let p = statefulset(&sts(
            serde_json::json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentRevision": "a", "updateRevision": "a"}),
        ));
        assert!(p.complete);
    }

    #[test]
    fn pod_problems_are_named() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "status": {
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}],
                "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]
            }
        }))
        .unwrap();
        let reasons: Vec<_> = pod_problems(&pod).into_iter().map(|p| p.reason).collect();
        assert_eq!(reasons, ["Unschedulable", "CrashLoopBackOff"]);
    }
}
