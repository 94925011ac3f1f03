//! [`PluginError`], everything that can go wrong loading, running or installing a
//! plugin, and its [`ErrorClass`], which a front end maps to an exit code.

use std::path::PathBuf;

use crate::limits::LimitBreach;
use crate::manifest::ManifestError;

/// How a front end should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A sandbox limit stopped the plugin.
    Limit,
    /// The plugin could not be loaded, trapped, or broke the hook protocol.
    Fault,
    /// The run was interrupted (Ctrl-C).
    Interrupted,
    /// The user asked for something that cannot work (bad manifest, unknown plugin,
    /// undeclared hook, a grant that does not exist, a checksum mismatch).
    Usage,
    /// Anything else: I/O, or a hook that reported an error of its own.
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin `{plugin}` hit its {breach}")]
    Limit { plugin: String, breach: LimitBreach },

    #[error("plugin `{plugin}` trapped: {trap}")]
    Trap { plugin: String, trap: String },

    #[error(
        "plugin `{plugin}` imports `{module}::{name}`, which gantry does not provide; plugins may import only WASI preview 1 (`wasi_snapshot_preview1`)"
    )]
    MissingImport {
        plugin: String,
        module: String,
        name: String,
    },

    #[error("{origin} is not a valid WebAssembly module: {reason}")]
    InvalidModule { origin: String, reason: String },

    #[error(
        "{origin} does not export `_start`; a plugin must be a WASI command module (wasm32-wasip1 binary)"
    )]
    NotACommand { origin: String },

    #[error("plugin `{plugin}` could not be started: {reason}")]
    Instantiate { plugin: String, reason: String },

    #[error("plugin `{plugin}` was interrupted")]
    Interrupted { plugin: String },

    #[error("invalid plugin manifest in {origin}: {source}")]
    Manifest {
        origin: String,
        source: ManifestError,
    },

    #[error(
        "{origin} has no manifest (no `gantry-plugin` section and no .toml beside it); only `gantry plugin run FILE.wasm` can run it"
    )]
    NoManifest { origin: String },

    #[error("plugin `{plugin}` does not provide hook `{hook}` (its manifest declares: {declared})")]
    HookNotDeclared {
        plugin: String,
        hook: String,
        declared: String,
    },

    #[error("plugin `{plugin}` broke the hook protocol for `{hook}`: {problem}")]
    Protocol {
        plugin: String,
        hook: String,
        problem: String,
    },

    #[error("plugin `{plugin}` failed hook `{hook}`: {message}")]
    HookFailed {
        plugin: String,
        hook: String,
        message: String,
    },

    #[error("cannot grant {path}: {reason}")]
    Grant { path: PathBuf, reason: String },

    #[error("no installed or built-in plugin is named `{name}`")]
    NotFound { name: String },

    #[error("checksum mismatch for {origin}: expected sha256 {expected}, got {actual}")]
    ChecksumMismatch {
        origin: String,
        expected: String,
        actual: String,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl PluginError {
    pub fn class(&self) -> ErrorClass {
        match self {
            PluginError::Limit { .. } => ErrorClass::Limit,
            PluginError::Trap { .. }
            | PluginError::MissingImport { .. }
            | PluginError::InvalidModule { .. }
            | PluginError::NotACommand { .. }
            | PluginError::Instantiate { .. }
            | PluginError::Protocol { .. } => ErrorClass::Fault,
            PluginError::Interrupted { .. } => ErrorClass::Interrupted,
            PluginError::Manifest { .. }
            | PluginError::NoManifest { .. }
            | PluginError::HookNotDeclared { .. }
            | PluginError::Grant { .. }
            | PluginError::NotFound { .. }
            | PluginError::ChecksumMismatch { .. } => ErrorClass::Usage,
            PluginError::HookFailed { .. } | PluginError::Io { .. } => ErrorClass::Other,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PluginError::Io {
            context: context.into(),
            source,
        }
    }
}
