//! Errors in the user's terms: a bad input file names the file (and line), a failed
//! lookup names the registry URL.

use std::fmt;

/// A lockfile or manifest that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Malformed text at a known line (1-based).
    Syntax {
        file: String,
        line: u32,
        message: String,
    },
    /// A well-formed file in a format version this parser does not read.
    Unsupported {
        file: String,
        version: String,
        hint: String,
    },
    /// A problem with the file as a whole.
    Invalid { file: String, message: String },
}

impl ParseError {
    pub fn syntax(file: &str, line: u32, message: String) -> Self {
        ParseError::Syntax {
            file: file.to_string(),
            line,
            message,
        }
    }

    pub fn invalid(file: &str, message: String) -> Self {
        ParseError::Invalid {
            file: file.to_string(),
            message,
        }
    }

    pub fn unsupported(file: &str, version: impl fmt::Display, hint: &str) -> Self {
        ParseError::Unsupported {
            file: file.to_string(),
            version: version.to_string(),
            hint: hint.to_string(),
        }
    }

    /// A JSON syntax or shape error from serde_json, with its line.
    pub fn json(file: &str, err: &serde_json::Error) -> Self {
        let message = err.to_string();
        // serde_json appends " at line L column C"; the line goes up front instead.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        ParseError::syntax(file, err.line().max(1) as u32, message)
    }

    /// A TOML error, with the line of its span.
    pub fn toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let line = err
            .span()
            .map(|span| line_of(text, span.start))
            .unwrap_or(1);
        ParseError::syntax(file, line, err.message().trim().to_string())
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> u32 {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Syntax {
                file,
                line,
                message,
            } => write!(f, "{file}:{line}: {message}"),
            ParseError::Unsupported {
                file,
                version,
                hint,
            } => write!(f, "{file}: unsupported lockfile version {version}; {hint}"),
            ParseError::Invalid { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why an audit could not run at all (as opposed to one dependency's failed lookup,
/// which is recorded on that dependency).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Bad input: exit code `usage`.
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Usage(String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Network or server trouble that stops the whole audit.
    #[error("{0}")]
    Network(String),
}

impl AuditError {
    pub fn is_usage(&self) -> bool {
        matches!(self, AuditError::Parse(_) | AuditError::Usage(_))
    }
}
