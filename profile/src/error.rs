//! The errors of this crate. Each says what went wrong and, through [`Error::hint`], what
//! to try next; [`Error::is_usage`] tells the CLI whether the user's input was at fault.

use std::fmt;
use std::path::PathBuf;

/// Where profile bytes came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Stdin,
    Url(String),
}

impl Origin {
    pub fn is_remote(&self) -> bool {
        matches!(self, Origin::Url(_))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Stdin => f.write_str("standard input"),
            Origin::Url(url) => f.write_str(url),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading standard input: {0}")]
    ReadStdin(std::io::Error),
    #[error(
        "invalid source {0:?}: expected HOST:PORT, http(s)://HOST:PORT[/PATH], a profile file, or -"
    )]
    BadSource(String),
    #[error("invalid --header {0:?}: expected NAME:VALUE")]
    BadHeader(String),
    #[error("cannot use --cacert {}: {message}", path.display())]
    BadCaCert { path: PathBuf, message: String },
    /// The connection settings (a token, a header) that the HTTP client refused.
    #[error("{0}")]
    Connection(String),
    #[error("{url}: {message}")]
    Connect { url: String, message: String },
    #[error("{url}: no answer within {seconds}s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: server answered {status}{}", detail_suffix(.detail))]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{origin}: got an HTML page, not a pprof profile")]
    Html { origin: Origin },
    #[error(
        "{origin}: not a pprof profile: {} ({source})",
        if *truncated { "a truncated gzip stream" } else { "corrupt gzip data" }
    )]
    Gzip {
        origin: Origin,
        truncated: bool,
        source: std::io::Error,
    },
    #[error("{origin}: not a pprof profile ({detail})")]
    Decode { origin: Origin, detail: String },
    #[error("{origin}: not a pprof profile: {what}")]
    NotProfile { origin: Origin, what: String },
    #[error("{origin}: {format} is not a format pprof reads, nor gantry")]
    Unsupported {
        origin: Origin,
        format: &'static str,
        hint: &'static str,
    },
    #[error("{origin}: malformed {format}: {detail}")]
    Malformed {
        origin: Origin,
        format: crate::decode::Format,
        detail: String,
    },
    /// A profile without samples is valid (`top` prints an empty table, as pprof does),
    /// but a flame graph of it would be blank.
    #[error("{origin}: nothing to draw: every sample's {sample_type} is 0")]
    NothingToDraw {
        origin: Origin,
        sample_type: String,
        /// Every sample type of the profile, for the hint.
        available: Vec<String>,
    },
    #[error("unknown sample index {given:?}: the profile has {}", available.join(", "))]
    SampleIndex {
        given: String,
        available: Vec<String>,
    },
    #[error("cannot diff against the base profile: {0}")]
    Incompatible(String),
    #[error("the profile's drop_frames/keep_frames pattern {pattern:?} is invalid: {message}")]
    FramePattern { pattern: String, message: String },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("drawing the flame graph: {0}")]
    Flamegraph(String),
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl Error {
    /// Whether the user's flags or input files are at fault (exit code `usage`), as
    /// opposed to the network, the server or the machine (`failure`).
    pub fn is_usage(&self) -> bool {
        match self {
            Error::ReadFile { .. }
            | Error::BadSource(_)
            | Error::BadHeader(_)
            | Error::BadCaCert { .. }
            | Error::Connection(_)
            | Error::SampleIndex { .. }
            | Error::Incompatible(_) => true,
            Error::Html { origin }
            | Error::Gzip { origin, .. }
            | Error::Decode { origin, .. }
            | Error::NotProfile { origin, .. }
            | Error::Unsupported { origin, .. }
            | Error::Malformed { origin, .. }
            | Error::NothingToDraw { origin, .. } => !origin.is_remote(),
            _ => false,
        }
    }

    /// What the user can do about it, where there is something to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Status {
                status: 401 | 403, ..
            } => "the endpoint is protected: pass --token TOKEN or --header NAME:VALUE".into(),
            Error::Status { status: 404, .. } => {
                "is net/http/pprof imported by the service, and are the URL and --type right?"
                    .into()
            }
            Error::Connect { .. } => {
                "check that the service is running and listening on that host and port".into()
            }
            Error::Timeout { .. } => {
                "the server stalled; raise --timeout if it is just slow to answer".into()
            }
            Error::Html { .. } => {
                "point at the service's address (http://HOST:PORT) or a /debug/pprof/TYPE URL"
                    .into()
            }
            Error::NothingToDraw { origin, .. } if origin.is_remote() => {
                "for a CPU profile, capture longer (--seconds) or while the service is busy".into()
            }
            Error::NothingToDraw { available, .. } if available.len() > 1 => format!(
                "draw another sample type with --sample-index: the profile has {}",
                available.join(", ")
            ),
            Error::SampleIndex { .. } => {
                "pass --sample-index with one of the names listed, or its position from 0".into()
            }
            Error::Unsupported { hint, .. } => (*hint).into(),
            Error::Gzip { .. } | Error::Decode { .. } | Error::Malformed { .. } => {
                "save profiles with `gantry profile save` or `curl -o`, which keep them whole"
                    .into()
            }
            _ => return None,
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
