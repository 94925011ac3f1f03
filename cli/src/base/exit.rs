//! Exit codes and the one-line error report. Every failure leaves gantry through
//! [`report`], so the codes documented in the README are the only ones users see
//! (besides a plugin's own exit code, which `plugin run` passes through).

use std::fmt;

/// gantry's documented exit codes. The README's table is checked against this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    Usage,
    Refused,
    TimedOut,
    Findings,
    Precondition,
    PluginLimit,
    PluginFault,
    Interrupted,
}

impl Exit {
    /// Every code, for the test that keeps the README's table current.
    #[cfg(test)]
    pub const ALL: [Exit; 10] = [
        Exit::Success,
        Exit::Failure,
        Exit::Usage,
        Exit::Refused,
        Exit::TimedOut,
        Exit::Findings,
        Exit::Precondition,
        Exit::PluginLimit,
        Exit::PluginFault,
        Exit::Interrupted,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::TimedOut => 4,
            Exit::Findings => 5,
            Exit::Precondition => 6,
            Exit::PluginLimit => 10,
            Exit::PluginFault => 11,
            Exit::Interrupted => 130,
        }
    }

    #[cfg(test)]
    pub fn name(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failure => "failure",
            Exit::Usage => "usage",
            Exit::Refused => "refused",
            Exit::TimedOut => "timed-out",
            Exit::Findings => "findings",
            Exit::Precondition => "precondition",
            Exit::PluginLimit => "plugin-limit",
            Exit::PluginFault => "plugin-fault",
            Exit::Interrupted => "interrupted",
        }
    }
}

/// An error that carries its exit code and, where it helps, what to do next.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
    /// The library error behind the message, shown from `-v` on.
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            hint: None,
            cause: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Keeps the causes of `error` (not `error` itself, which the message already
    /// words) for `-v`.
    pub fn caused_by(mut self, error: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(error));
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Prints `error: ...` (and `hint: ...`) on stderr and returns the exit code.
///
/// The message is the error's context chain, outermost first, so that
/// "reading config.toml: expected `=`" reads as one sentence; it ends at a [`Failure`],
/// whose message already words its causes. With `-v` the causes follow, one per
/// line. A message that spans lines (a parser's caret diagram) keeps its lines.
/// A closed stdout (`gantry ... | head`) ends the command quietly with success, as
/// ripgrep does: the reader has all it wanted.
pub fn report(err: &anyhow::Error, verbose: u8) -> u8 {
    if is_broken_pipe(err) {
        return Exit::Success.code();
    }
    let mut parts = Vec::new();
    let mut failure = None;
    for e in err.chain() {
        parts.push(e.to_string());
        if let Some(f) = e.downcast_ref::<Failure>() {
            failure = Some(f);
            break;
        }
    }
    let exit = failure.map_or(Exit::Failure, |f| f.exit);
    let causes = match (verbose, failure.and_then(|f| f.cause.as_deref())) {
        (0, _) | (_, None) => Vec::new(),
        (_, Some(cause)) => std::iter::successors(cause.source(), |e| e.source())
            .map(ToString::to_string)
            .collect(),
    };
    super::output::error_line(
        &parts.join(": "),
        failure.and_then(|f| f.hint.as_deref()),
        &causes,
    );
    exit.code()
}

/// Whether the error is a write to a pipe whose reader has gone.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe || is_pipe_not_connected(io);
        }
        e.downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind)
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Windows' ERROR_PIPE_NOT_CONNECTED ("no process is on the other end of the pipe"),
/// which std does not count as a broken pipe: wine returns it where Windows returns
/// ERROR_NO_DATA, so `gantry version | grep -q target` failed there.
fn is_pipe_not_connected(err: &std::io::Error) -> bool {
    const ERROR_PIPE_NOT_CONNECTED: i32 = 233;
    cfg!(windows) && err.raw_os_error() == Some(ERROR_PIPE_NOT_CONNECTED)
}
