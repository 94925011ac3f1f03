//! The errors of scaling and waiting, each worded to say what to do next. The CLI maps
//! them to gantry's exit codes with [`Error::kind`].

/// How the CLI should classify an error (which exit code it gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad arguments or configuration: fix the command line or the kubeconfig.
    Usage,
    /// `--current-replicas` or `--resource-version` did not hold.
    Precondition,
    /// Anything else: the server refused, could not be reached, or a rollout failed.
    Failure,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not load the Kubernetes client configuration: {message}")]
    Config {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    #[error(
        "no Kubernetes configuration found: {looked_in}, and gantry is not running inside a cluster"
    )]
    NoConfig { looked_in: String },

    #[error("the kubeconfig's exec credential plugin failed: {0}")]
    Credentials(String),

    #[error("no target given: name TYPE/NAME, or a TYPE with -l SELECTOR or --all")]
    NoTarget,

    #[error("`{0}` is not TYPE/NAME; use for example deployment/web, or TYPE NAME...")]
    BadTarget(String),

    #[error(
        "{flag} selects by type, so give only the TYPE (for example `{example}`), not `{given}`; to scale named targets, drop {flag}"
    )]
    SelectionWithNames {
        flag: &'static str,
        given: String,
        example: String,
    },

    #[error("--resource-version applies to one target, but {0} were given")]
    ResourceVersionWithSeveral(usize),

    #[error("the server has no resource type `{0}` (see `kubectl api-resources`)")]
    UnknownType(String),

    #[error("{0} has no /scale subresource, so it cannot be scaled")]
    NotScalable(String),

    #[error("{target} not found in namespace {namespace}")]
    NotFound { target: String, namespace: String },

    #[error("no {resource} matched {selection} in namespace {namespace}")]
    NothingMatched {
        resource: String,
        selection: String,
        namespace: String,
    },

    #[error(
        "precondition failed for {target}: expected {expected} current replicas, but it has {actual}"
    )]
    ReplicasMismatch {
        target: String,
        expected: i32,
        actual: i32,
    },

    #[error(
        "precondition failed for {target}: expected resourceVersion {expected}, but it is {actual}"
    )]
    ResourceVersionMismatch {
        target: String,
        expected: String,
        actual: String,
    },

    #[error(
        "precondition failed for {target}: it changed after it was read at resourceVersion {read} (another writer got there first); nothing was changed"
    )]
    Conflict { target: String, read: String },

    #[error(
        "precondition failed for {target}: its replica count changed from {read} to {now} after gantry read it (another writer got there first); nothing was changed"
    )]
    ReplicasChanged { target: String, read: i32, now: i32 },

    #[error("{target} kept changing under us: gave up after {attempts} conflicting updates")]
    TooManyConflicts { target: String, attempts: u32 },

    #[error("forbidden: {user_message} (while trying to {action} {target})")]
    Forbidden {
        action: &'static str,
        target: String,
        user_message: String,
    },

    #[error("cannot reach the API server at {url} while trying to {action}: {cause}")]
    Unreachable {
        url: String,
        action: String,
        cause: String,
        #[source]
        source: Box<kube::Error>,
    },

    #[error("the API server at {url} failed to {action}: {message}")]
    Api {
        url: String,
        action: String,
        message: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// The request could not be made or its answer not understood: neither the network
    /// nor the server said no.
    #[error("could not {action}: {cause}")]
    Client {
        action: String,
        cause: String,
        #[source]
        source: Box<kube::Error>,
    },

    #[error("{target} exceeded its progress deadline (ProgressDeadlineExceeded): {message}")]
    ProgressDeadlineExceeded { target: String, message: String },

    #[error("{target} was deleted while waiting for it")]
    Deleted { target: String },

    #[error("cannot wait for {target}: {reason}")]
    CannotWait { target: String, reason: String },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. }
            | Error::NoConfig { .. }
            | Error::NoTarget
            | Error::BadTarget(_)
            | Error::SelectionWithNames { .. }
            | Error::ResourceVersionWithSeveral(_)
            | Error::UnknownType(_)
            | Error::NotScalable(_) => ErrorKind::Usage,
            Error::ReplicasMismatch { .. }
            | Error::ResourceVersionMismatch { .. }
            | Error::ReplicasChanged { .. }
            | Error::Conflict { .. } => ErrorKind::Precondition,
            _ => ErrorKind::Failure,
        }
    }

    /// What the user can do about it, where there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Config { .. } | Error::NoConfig { .. } => {
                Some("pass --kubeconfig FILE or set KUBECONFIG; --context picks a context in it")
            }
            Error::Credentials(_) => Some(
                "run the user's `exec` command from the kubeconfig yourself to see why; you may need to log in again",
            ),
            Error::Forbidden { .. } => Some(
                "ask your cluster admin for RBAC access (`kubectl auth can-i patch deployments/scale`), or use another --context",
            ),
            Error::Unreachable { .. } => {
                Some("check that the API server is running and reachable (`kubectl cluster-info`)")
            }
            Error::ReplicasMismatch { .. }
            | Error::ResourceVersionMismatch { .. }
            | Error::ReplicasChanged { .. }
            | Error::Conflict { .. } => {
                Some("read the current state again and retry with updated preconditions")
            }
            Error::ProgressDeadlineExceeded { .. } => {
                Some("look at the pods (`kubectl describe`) and the rollout's events")
            }
            _ => None,
        }
    }

    /// Turns a client error into the error a user should see for `action` on `target`.
    pub(crate) fn from_kube(
        err: kube::Error,
        url: &str,
        action: &'static str,
        target: &str,
    ) -> Self {
        match err {
            kube::Error::Api(status) if status.code == 403 => Error::Forbidden {
                action,
                target: target.to_string(),
                user_message: status.message.clone(),
            },
            kube::Error::Api(ref status) => Error::Api {
                url: url.to_string(),
                action: format!("{action} {target}"),
                message: format!("{} ({} {})", status.message, status.code, status.reason),
                source: Box::new(err),
            },
            transport if is_transport(&transport) => Error::Unreachable {
                url: url.to_string(),
                action: format!("{action} {target}"),
                cause: root_cause(&transport),
                source: Box::new(transport),
            },
            other => Error::Client {
                action: format!("{action} {target}"),
                cause: other.to_string(),
                source: Box::new(other),
            },
        }
    }
}

/// The innermost error message, which for a transport failure is the useful one
/// ("Connection refused" rather than "ServiceError: client error (Connect)").
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let msg = cur.to_string();
    if msg.is_empty() { err.to_string() } else { msg }
}

/// Whether a client error means the server could not be reached (as opposed to an
/// answer from the server).
pub(crate) fn is_transport(err: &kube::Error) -> bool {
    matches!(
        err,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_)
    )
}
