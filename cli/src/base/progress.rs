//! A spinner for work that is usually quick but sometimes is not (compiling a plugin on
//! its first run): nothing appears unless the work outlasts [`SPINNER_AFTER`], and
//! nothing at all off a terminal, so fast runs and pipes stay clean.

use std::io::IsTerminal as _;
use std::sync::mpsc;
use std::time::Duration;

/// How long work may take before a spinner says why the terminal is quiet.
pub const SPINNER_AFTER: Duration = Duration::from_millis(400);

/// Runs `work`, with a spinner showing `message` (and the time so far) on stderr if it
/// takes longer than [`SPINNER_AFTER`] and stderr is a terminal.
pub fn while_slow<T>(message: &str, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let (done, waiting) = mpsc::channel::<()>();
    let message = message.to_string();
    let spinner = std::thread::spawn(move || {
        if waiting.recv_timeout(SPINNER_AFTER).is_ok() {
            return;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        let _ = waiting.recv();
        bar.finish_and_clear();
    });
    let result = work();
    drop(done);
    let _ = spinner.join();
    result
}
