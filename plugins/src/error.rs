//! [`PluginError`], everything that can go wrong loading, running or installing a
//! plugin, and its [`ErrorClass`], which a front end maps to an exit code.
//!
//! Every message shows text that a plugin or its files control (names, import names,
//! manifest keys, hook messages, messages about a module's contents) through
//! [`Untrusted`], so an error line can be printed on a terminal as it is.

use std::path::PathBuf;

use crate::limits::LimitBreach;
use crate::manifest::ManifestError;
use crate::text::Untrusted;

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
    #[error("plugin `{}` hit its {breach}", Untrusted(.plugin))]
    Limit { plugin: String, breach: LimitBreach },

    #[error("plugin `{}` trapped: {}", Untrusted(.plugin), Untrusted(.trap))]
    Trap { plugin: String, trap: String },

    #[error(
        "plugin `{}` imports `{}::{}`, which gantry does not provide; plugins may import only WASI preview 1 (`wasi_snapshot_preview1`)",
        Untrusted(.plugin), Untrusted(.module), Untrusted(.name)
    )]
    MissingImport {
        plugin: String,
        module: String,
        name: String,
    },

    #[error("{} is not a valid WebAssembly module: {}", Untrusted(.origin), Untrusted(.reason))]
    InvalidModule { origin: String, reason: String },

    #[error(
        "{} does not export `_start`; a plugin must be a WASI command module (wasm32-wasip1 binary)",
        Untrusted(.origin)
    )]
    NotACommand { origin: String },

    #[error("plugin `{}` could not be started: {}", Untrusted(.plugin), Untrusted(.reason))]
    Instantiate { plugin: String, reason: String },

    #[error("plugin `{}` was interrupted", Untrusted(.plugin))]
    Interrupted { plugin: String },

    #[error("invalid plugin manifest in {}: {source}", Untrusted(.origin))]
    Manifest {
        origin: String,
        source: ManifestError,
    },

    #[error(
        "{} has no manifest (no `gantry-plugin` section and no .toml beside it); only `gantry plugin run FILE.wasm` can run it",
        Untrusted(.origin)
    )]
    NoManifest { origin: String },

    #[error(
        "plugin `{}` does not provide hook `{}` (its manifest declares: {})",
        Untrusted(.plugin), Untrusted(.hook), Untrusted(.declared)
    )]
    HookNotDeclared {
        plugin: String,
        hook: String,
        declared: String,
    },

    #[error(
        "plugin `{}` broke the hook protocol for `{}`: {}",
        Untrusted(.plugin), Untrusted(.hook), Untrusted(.problem)
    )]
    Protocol {
        plugin: String,
        hook: String,
        problem: String,
    },

    #[error(
        "plugin `{}` failed hook `{}`: {}",
        Untrusted(.plugin), Untrusted(.hook), Untrusted(.message)
    )]
    HookFailed {
        plugin: String,
        hook: String,
        message: String,
    },

    #[error("cannot grant {}: {}", Untrusted(&.path.display().to_string()), Untrusted(.reason))]
    Grant { path: PathBuf, reason: String },

    #[error("no installed or built-in plugin is named `{}`", Untrusted(.name))]
    NotFound { name: String },

    #[error(
        "checksum mismatch for {}: expected sha256 {}, got {actual}",
        Untrusted(.origin), Untrusted(.expected)
    )]
    ChecksumMismatch {
        origin: String,
        expected: String,
        actual: String,
    },

    #[error(
        "cannot install plugin `{}`: its {what} `{}` is {owner}, which an installed plugin cannot replace; rename the plugin",
        Untrusted(.plugin), Untrusted(.value)
    )]
    Reserved {
        plugin: String,
        /// `name` or `command`.
        what: &'static str,
        value: String,
        /// What has that name, e.g. "a gantry command" or "a built-in plugin".
        owner: String,
    },

    #[error(
        "plugin `{}` is already installed (version {}); pass --replace to replace it",
        Untrusted(.name), Untrusted(.version)
    )]
    AlreadyInstalled { name: String, version: String },

    #[error(
        "cannot install plugin `{}`: command `{}` is provided by the installed plugin `{}`; remove that one first (`gantry plugin remove {}`)",
        Untrusted(.plugin), Untrusted(.command), Untrusted(.by), Untrusted(.by)
    )]
    CommandTaken {
        plugin: String,
        command: String,
        by: String,
    },

    #[error(
        "the installed plugin `{}` is not as it was installed ({}); install it again to review and accept it",
        Untrusted(.name), Untrusted(.reason)
    )]
    InstallChanged { name: String, reason: String },

    #[error("cannot download {}: {}", Untrusted(.url), Untrusted(.message))]
    Download { url: String, message: String },

    #[error("{}: {source}", Untrusted(.context))]
    Io {
        context: String,
        source: std::io::Error,
    },

    /// A file the user named could not be read: bad input, where [`PluginError::Io`]
    /// is gantry's own failure.
    #[error("{}: {source}", Untrusted(.context))]
    Input {
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
            | PluginError::ChecksumMismatch { .. }
            | PluginError::Reserved { .. }
            | PluginError::AlreadyInstalled { .. }
            | PluginError::CommandTaken { .. }
            | PluginError::InstallChanged { .. }
            | PluginError::Input { .. } => ErrorClass::Usage,
            PluginError::HookFailed { .. }
            | PluginError::Download { .. }
            | PluginError::Io { .. } => ErrorClass::Other,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PluginError::Io {
            context: context.into(),
            source,
        }
    }

    /// This error, with a failure to read counted as bad input: for files the user
    /// named on the command line.
    pub(crate) fn in_user_input(self) -> Self {
        match self {
            PluginError::Io { context, source } => PluginError::Input { context, source },
            other => other,
        }
    }
}
