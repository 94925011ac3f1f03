//! Termination signals while gantry compiles or runs a plugin: SIGINT (Ctrl-C), SIGTERM
//! and SIGHUP (on Windows, Ctrl-C and Ctrl-Break) stop the plugin as an interruption, so
//! that the run returns [`crate::PluginError::Interrupted`] and everything it made on
//! disk (the private directories of file grants) is removed on the way out, instead of
//! the process dying with them left behind.
//!
//! The handlers are installed at the first compile or run ([`Busy::enter`]) and stay
//! installed, but they act only while one is in progress: at any other moment a signal
//! has its default effect, as if gantry had no handler, so the rest of a front end is
//! not changed by having run a plugin. A process killed outright (SIGKILL, a power
//! cut) cannot clean up; the next file grant removes what such a process left
//! (see `grants`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};

/// Set by a signal that arrived while a compile or run was in progress; never cleared,
/// so later runs in the same process are refused as interrupted too.
static RECEIVED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// True while nothing is in progress: a signal then has its default effect.
static IDLE: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(true)));

/// Compiles and runs in progress; `IDLE` follows it under this lock.
static IN_PROGRESS: Mutex<usize> = Mutex::new(0);

static INSTALL: Once = Once::new();

#[cfg(unix)]
const SIGNALS: &[std::ffi::c_int] = &[
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];
#[cfg(windows)]
const SIGNALS: &[std::ffi::c_int] = &[signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

/// Whether a termination signal arrived during a compile or run.
pub(crate) fn received() -> bool {
    RECEIVED.load(Ordering::SeqCst)
}

/// Held for the length of a compile or run: while any is held, termination signals
/// interrupt plugins instead of ending the process.
pub(crate) struct Busy(());

impl Busy {
    pub(crate) fn enter() -> Busy {
        INSTALL.call_once(|| {
            for &signal in SIGNALS {
                // The default action must be registered first: it runs only when idle,
                // and then nothing else should happen. A failed registration leaves that
                // signal with its default effect, which is where we started.
                let _ = signal_hook::flag::register_conditional_default(signal, IDLE.clone());
                let _ = signal_hook::flag::register(signal, RECEIVED.clone());
            }
        });
        let mut count = lock();
        *count += 1;
        IDLE.store(false, Ordering::SeqCst);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut count = lock();
        *count -= 1;
        if *count == 0 {
            IDLE.store(true, Ordering::SeqCst);
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, usize> {
    IN_PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
