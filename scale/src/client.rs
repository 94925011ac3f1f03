//! Connecting to the cluster the way kubectl does: `--kubeconfig FILE`, else the files
//! in `KUBECONFIG` (merged) or `~/.kube/config`, else the in-cluster service account;
//! `--context` picks a context and `-n` overrides its namespace. Authentication (tokens,
//! client certificates, exec credential plugins) and TLS are kube-rs's.

use std::path::PathBuf;

use kube::client::AuthError;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::Error;

/// Where to connect, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// A connected client and what the user's configuration chose.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    /// The namespace targets live in: `-n`, else the context's, else `default`.
    pub namespace: String,
    /// The API server's URL, for error messages.
    pub url: String,
}

/// Builds a client. This reads files and may run an exec credential plugin, but sends
/// nothing to the API server yet.
pub async fn connect(options: &ClientOptions) -> Result<Connection, Error> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(|e| config_error(&e))?
        }
        // Kubeconfig files, then in-cluster.
        None if options.context.is_none() => {
            kube::Config::infer().await.map_err(|e| config_error(&e))?
        }
        // A context only makes sense in a kubeconfig.
        None => kube::Config::from_kubeconfig(&kube_options)
            .await
            .map_err(|e| config_error(&e))?,
    };
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let url = config.cluster_url.to_string();
    let url = url.trim_end_matches('/').to_string();
    let client = kube::Client::try_from(config).map_err(|e| config_error(&e))?;
    Ok(Connection {
        client,
        namespace,
        url,
    })
}

/// A configuration error, or a credential plugin's failure told apart from it: kube-rs
/// reports the latter with the whole command line (environment included) and the
/// plugin's raw output, where the user needs its exit status and what it said.
fn config_error(error: &(dyn std::error::Error + 'static)) -> Error {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(auth) = e.downcast_ref::<AuthError>() {
            return Error::Credentials(match auth {
                AuthError::AuthExecRun { out, .. } => {
                    let ended = match out.status.code() {
                        Some(code) => format!("it exited with code {code}"),
                        None => format!("it ended with {}", out.status),
                    };
                    let said = String::from_utf8_lossy(&out.stderr);
                    match said.lines().map(str::trim).find(|l| !l.is_empty()) {
                        Some(line) => format!("{ended}: {line}"),
                        None => ended,
                    }
                }
                AuthError::AuthExecStart(e) => format!("it could not be started: {e}"),
                other => other.to_string(),
            });
        }
        source = e.source();
    }
    Error::Config(error.to_string())
}
