//! Connecting to the cluster the way kubectl does: `--kubeconfig FILE`, else the files
//! in `KUBECONFIG` (merged) or `~/.kube/config`, else the in-cluster service account;
//! `--context` picks a context and `-n` overrides its namespace. Authentication (tokens,
//! client certificates, exec credential plugins) and TLS are kube-rs's.

use std::path::{Path, PathBuf};

use kube::client::AuthError;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

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
    let config = match load_kubeconfig(options)? {
        Some(kubeconfig) => kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
            .await
            .map_err(|e| config_error(&e))?,
        None => kube::Config::incluster().map_err(|e| config_error(&e))?,
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

/// The merged kubeconfig, or `None` to use the in-cluster service account. As kubectl
/// does, files in `KUBECONFIG` that do not exist are skipped, and the in-cluster
/// account is used only when no kubeconfig exists and no `--context` asks for one.
fn load_kubeconfig(options: &ClientOptions) -> Result<Option<Kubeconfig>, Error> {
    let (paths, looked_in) = match (&options.kubeconfig, std::env::var_os("KUBECONFIG")) {
        (Some(path), _) => (vec![path.clone()], String::new()),
        (None, Some(list)) if !list.is_empty() => {
            let listed: Vec<PathBuf> = std::env::split_paths(&list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            let looked_in = format!(
                "none of the files in KUBECONFIG exist ({})",
                list.to_string_lossy()
            );
            (
                listed.into_iter().filter(|p| p.exists()).collect(),
                looked_in,
            )
        }
        (None, _) => match dirs::home_dir().map(|home| home.join(".kube").join("config")) {
            Some(path) => {
                let looked_in =
                    format!("{} does not exist (KUBECONFIG is not set)", path.display());
                (
                    Some(path).filter(|p| p.exists()).into_iter().collect(),
                    looked_in,
                )
            }
            None => (
                Vec::new(),
                "no home folder to find ~/.kube/config in".to_string(),
            ),
        },
    };
    if paths.is_empty() {
        let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
        return if in_cluster && options.context.is_none() {
            Ok(None)
        } else {
            Err(Error::NoConfig { looked_in })
        };
    }
    let mut merged: Option<Kubeconfig> = None;
    for path in &paths {
        let next = read_kubeconfig(path)?;
        merged = Some(match merged {
            None => next,
            Some(config) => config.merge(next).map_err(|e| Error::Config {
                message: format!("{}: {e}", path.display()),
                source: Some(Box::new(e)),
            })?,
        });
    }
    Ok(merged)
}

/// Reads one kubeconfig, with errors that name the file as the user gave it and keep
/// the YAML parser's caret diagram on its own lines.
fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, Error> {
    Kubeconfig::read_from(path).map_err(|e| {
        let message = match &e {
            KubeconfigError::ReadConfig(io, _) => format!("{}: {io}", path.display()),
            KubeconfigError::Parse(parse) => format!(
                "{}: not a valid kubeconfig:\n{}",
                path.display(),
                parse
                    .to_string()
                    .trim_start_matches("error: ")
                    .replace("<input>", &path.display().to_string())
            ),
            other => format!("{}: {other}", path.display()),
        };
        Error::Config {
            message,
            source: Some(Box::new(e)),
        }
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
    Error::Config {
        message: error.to_string(),
        source: None,
    }
}
