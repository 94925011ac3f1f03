//! `gantry plugin install URL`: fetches a plugin's module, and the sidecar manifest
//! beside it when the server has one, through gantry's one HTTP client, into a private
//! folder from which it installs like a local file (the same checks, pin and prompt).
//! The module is bounded by [`Limits::module_bytes`] while it downloads, so a server
//! cannot fill the disk, and nothing reaches the plugin store unless all of it arrived.

use std::path::{Path, PathBuf};

use gantry_http::{ClientConfig, RawRequest};
use url::Url;

use crate::error::PluginError;
use crate::limits::{LimitBreach, Limits};
use crate::manifest::MAX_MANIFEST_BYTES;

/// A downloaded plugin: its module (and sidecar manifest, if any) in a private folder
/// that is removed when this is dropped.
pub struct Downloaded {
    /// Keeps the folder alive.
    _dir: tempfile::TempDir,
    /// The module, named as the URL names it.
    pub wasm: PathBuf,
}

/// Whether an install argument is a URL rather than a file.
pub fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Downloads the module at `url` and, when the URL's path ends in `.wasm`, the `.toml`
/// manifest beside it (a 404 there means the module carries its own). `progress` hears
/// (bytes so far, expected length) as the module arrives.
pub fn download(
    url: &str,
    config: ClientConfig,
    limits: &Limits,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<Downloaded, PluginError> {
    let fail = |message: String| PluginError::Download {
        url: url.to_string(),
        message,
    };
    let parsed = Url::parse(url).map_err(|e| fail(format!("not a valid URL: {e}")))?;
    let file_name = parsed
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| name.ends_with(".wasm") && name.len() > ".wasm".len())
        .unwrap_or("plugin.wasm")
        .to_string();
    let sidecar_url = parsed.path().ends_with(".wasm").then(|| {
        let mut sidecar = parsed.clone();
        let path = parsed.path().trim_end_matches(".wasm");
        sidecar.set_path(&format!("{path}.toml"));
        sidecar
    });

    let client = gantry_http::Client::new(config).map_err(|e| fail(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PluginError::io("starting the download", e))?;
    let module_request = RawRequest {
        limit: limits.module_bytes,
        timeout: None,
    };
    let module = runtime
        .block_on(client.get_raw(url, module_request, progress))
        .map_err(|e| match e {
            gantry_http::Error::TooLarge {
                limit, announced, ..
            } => PluginError::Limit {
                plugin: file_name.trim_end_matches(".wasm").to_string(),
                // Without an announced length, the download stopped one chunk past it.
                breach: LimitBreach::ModuleSize {
                    limit_bytes: limit,
                    module_bytes: announced.unwrap_or(limit + 1),
                },
            },
            other => fail(other.to_string()),
        })?;
    if !module.is_success() {
        return Err(fail(status_message(module.status)));
    }
    let sidecar = match sidecar_url {
        Some(sidecar_url) => {
            let request = RawRequest {
                limit: MAX_MANIFEST_BYTES as u64,
                timeout: None,
            };
            let answer = runtime
                .block_on(client.get_raw(sidecar_url.as_str(), request, |_, _| {}))
                .map_err(|e| fail(format!("its manifest: {e}")))?;
            match answer.status {
                404 | 410 => None,
                _ if answer.is_success() => Some(answer.body),
                status => {
                    return Err(fail(format!(
                        "its manifest {sidecar_url}: {}",
                        status_message(status)
                    )));
                }
            }
        }
        None => None,
    };

    let dir = tempfile::Builder::new()
        .prefix("gantry-download-")
        .tempdir()
        .map_err(|e| PluginError::io("creating a folder for the download", e))?;
    let wasm = dir.path().join(&file_name);
    write(&wasm, &module.body)?;
    if let Some(manifest) = sidecar {
        write(&wasm.with_extension("toml"), &manifest)?;
    }
    Ok(Downloaded { _dir: dir, wasm })
}

fn status_message(status: u16) -> String {
    match gantry_http::reason_phrase(status) {
        Some(reason) => format!("the server answered {status} ({reason})"),
        None => format!("the server answered {status}"),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    std::fs::write(path, bytes)
        .map_err(|e| PluginError::io(format!("writing {}", path.display()), e))
}
