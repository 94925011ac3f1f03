//! Connecting to the cluster the way kubectl does: `--kubeconfig FILE`, else the files
//! in `KUBECONFIG` (merged) or `~/.kube/config`, else the in-cluster service account;
//! `--context` picks a context and `-n` overrides its namespace. Authentication (tokens,
//! client certificates, exec credential plugins) and TLS are kube-rs's.

use std::path::PathBuf;

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
                .map_err(|e| Error::Config(e.to_string()))?
        }
        // Kubeconfig files, then in-cluster.
        None if options.context.is_none() => kube::Config::infer()
            .await
            .map_err(|e| Error::Config(e.to_string()))?,
        // A context only makes sense in a kubeconfig.
        None => kube::Config::from_kubeconfig(&kube_options)
            .await
            .map_err(|e| Error::Config(e.to_string()))?,
    };
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let url = config.cluster_url.to_string();
    let url = url.trim_end_matches('/').to_string();
    let client = kube::Client::try_from(config).map_err(|e| Error::Config(e.to_string()))?;
    Ok(Connection {
        client,
        namespace,
        url,
    })
}
