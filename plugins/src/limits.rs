//! The sandbox's limits as one explicit value ([`Limits`]), how a manifest's requests and
//! the user's caps combine into the limits a run gets ([`Limits::effective`]), and the
//! [`wasmtime::ResourceLimiter`] that enforces the memory limit.
//!
//! Every limit has a flag or configuration key that raises it, and a breach names it
//! ([`LimitBreach`]), so the user always knows what to change.

use std::fmt;
use std::time::Duration;

use crate::manifest::LimitRequests;

/// One mebibyte, the unit of every memory limit and flag.
pub const MIB: u64 = 1024 * 1024;

/// The most table elements (function references) one table may hold. Real plugins need
/// a few thousand; this bounds host memory spent on tables.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// What a plugin run may use. Every field is enforced; none is advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, in bytes, including the module's initial memory.
    pub memory_bytes: u64,
    /// Wall-clock time from the start of instantiation to the plugin's end.
    pub deadline: Duration,
    /// Bytes the plugin may write to stdout.
    pub stdout_bytes: u64,
    /// Bytes the plugin may write to stderr.
    pub stderr_bytes: u64,
    /// The largest module (`.wasm` file) gantry reads and compiles. Built-in plugins,
    /// which are part of gantry, are not held to it.
    pub module_bytes: u64,
    /// Memory the compiler may take for a module: how far gantry's resident memory may
    /// grow while it compiles. A small module can be made to need gigabytes. Measured
    /// on Linux; elsewhere compiling is bounded by the deadline alone.
    pub compile_memory_bytes: u64,
}

impl Default for Limits {
    /// 128 MiB of memory, 10 s, 16 MiB of stdout, 1 MiB of stderr, 64 MiB modules, and
    /// 1 GiB for compiling one: compiling takes about 36 times a real module's size.
    fn default() -> Self {
        Limits {
            memory_bytes: 128 * MIB,
            deadline: Duration::from_secs(10),
            stdout_bytes: 16 * MIB,
            stderr_bytes: MIB,
            module_bytes: 64 * MIB,
            compile_memory_bytes: 1024 * MIB,
        }
    }
}

/// Values the user set explicitly for one run (`--memory-mib`, `--timeout`). They win
/// over both the manifest's request and the configured cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub memory_bytes: Option<u64>,
    pub deadline: Option<Duration>,
}

impl Limits {
    /// The limits a run gets. `self` holds the caps (the user's configuration, or the
    /// defaults); a manifest's request lowers a cap but never raises it; an override
    /// replaces both.
    pub fn effective(&self, requests: &LimitRequests, overrides: &LimitOverrides) -> Limits {
        let memory_bytes = overrides.memory_bytes.unwrap_or_else(|| {
            requests.memory_mib.map_or(self.memory_bytes, |mib| {
                mib.saturating_mul(MIB).min(self.memory_bytes)
            })
        });
        let deadline = overrides.deadline.unwrap_or_else(|| {
            requests.timeout_ms.map_or(self.deadline, |ms| {
                Duration::from_millis(ms).min(self.deadline)
            })
        });
        Limits {
            memory_bytes,
            deadline,
            stdout_bytes: self.stdout_bytes,
            stderr_bytes: self.stderr_bytes,
            module_bytes: self.module_bytes,
            compile_memory_bytes: self.compile_memory_bytes,
        }
    }
}

/// Which limit a plugin ran into, with the numbers, and how to raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitBreach {
    /// The plugin asked for more linear memory than allowed (at start or by growing).
    Memory {
        limit_bytes: u64,
        requested_bytes: u64,
    },
    /// The plugin was still running at its deadline.
    Deadline { deadline: Duration },
    /// Compiling the module took longer than the deadline; the compile was abandoned.
    CompileDeadline { deadline: Duration },
    /// Compiling the module took more than [`Limits::compile_memory_bytes`]; the compile
    /// was abandoned.
    CompileMemory { limit_bytes: u64 },
    /// The module file is larger than [`Limits::module_bytes`].
    ModuleSize { limit_bytes: u64, module_bytes: u64 },
    /// The plugin wrote more than allowed to stdout.
    Stdout { limit_bytes: u64 },
    /// The plugin wrote more than allowed to stderr.
    Stderr { limit_bytes: u64 },
    /// A table grew past [`MAX_TABLE_ELEMENTS`]; a fixed limit.
    TableElements { requested: u64 },
}

impl fmt::Display for LimitBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitBreach::Memory {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "memory limit of {} (it asked for {}); raise it with --memory-mib or plugins.memory_mib in the config",
                human_bytes(*limit_bytes),
                human_bytes(*requested_bytes)
            ),
            LimitBreach::Deadline { deadline } => write!(
                f,
                "deadline of {}; raise it with --timeout or plugins.timeout in the config",
                human_duration(*deadline)
            ),
            LimitBreach::CompileDeadline { deadline } => write!(
                f,
                "deadline of {} while being compiled; raise it with --timeout or plugins.timeout in the config",
                human_duration(*deadline)
            ),
            LimitBreach::CompileMemory { limit_bytes } => write!(
                f,
                "compile memory limit of {} while being compiled; raise it with plugins.compile_mib in the config",
                human_bytes(*limit_bytes)
            ),
            LimitBreach::ModuleSize {
                limit_bytes,
                module_bytes,
            } => write!(
                f,
                "module size limit of {} (the module has {}); raise it with plugins.module_mib in the config",
                human_bytes(*limit_bytes),
                human_bytes(*module_bytes)
            ),
            LimitBreach::Stdout { limit_bytes } => write!(
                f,
                "stdout limit of {}; raise it with plugins.stdout_mib in the config",
                human_bytes(*limit_bytes)
            ),
            LimitBreach::Stderr { limit_bytes } => write!(
                f,
                "stderr limit of {}; raise it with plugins.stderr_kib in the config",
                human_bytes(*limit_bytes)
            ),
            LimitBreach::TableElements { requested } => write!(
                f,
                "table limit of {MAX_TABLE_ELEMENTS} elements (it asked for {requested}); this limit is fixed"
            ),
        }
    }
}

/// The error a limiter or output stream raises inside wasmtime; the runner finds it in
/// the error chain and reports the breach.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitExceeded(pub LimitBreach);

/// Enforces [`Limits::memory_bytes`] on every memory of a store, including the
/// initial allocation (wasmtime asks the limiter before it allocates initial memory,
/// so a module that declares 2 GiB fails before any of it is reserved).
pub(crate) struct Limiter {
    memory_bytes: u64,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Limiter {
            memory_bytes: limits.memory_bytes,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(LimitExceeded(LimitBreach::Memory {
                limit_bytes: self.memory_bytes,
                requested_bytes: desired,
            })));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(LimitExceeded(
                LimitBreach::TableElements {
                    requested: u64::try_from(desired).unwrap_or(u64::MAX),
                },
            )));
        }
        Ok(true)
    }

    /// A command module is one instance.
    fn instances(&self) -> usize {
        1
    }

    /// Plenty for compilers' output (usually one table), small enough to bound.
    fn tables(&self) -> usize {
        4
    }

    /// One memory, so the memory limit is a limit on the whole plugin.
    fn memories(&self) -> usize {
        1
    }
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    fn requests(memory_mib: Option<u64>, timeout_ms: Option<u64>) -> LimitRequests {
        LimitRequests {
            memory_mib,
            timeout_ms,
        }
    }

    #[test]
    fn a_request_lowers_the_cap_but_never_raises_it() {
        let caps = Limits::default();
        let low = caps.effective(&requests(Some(64), Some(5000)), &LimitOverrides::default());
        assert_eq!(low.memory_bytes, 64 * MIB);
        assert_eq!(low.deadline, Duration::from_secs(5));
        let high = caps.effective(
            &requests(Some(4096), Some(60_000)),
            &LimitOverrides::default(),
        );
        assert_eq!(high.memory_bytes, 128 * MIB);
        assert_eq!(high.deadline, Duration::from_secs(10));
    }

    #[test]
    fn an_override_wins_over_request_and_cap() {
        let caps = Limits::default();
        let overrides = LimitOverrides {
            memory_bytes: Some(512 * MIB),
            deadline: Some(Duration::from_secs(1)),
        };
        let eff = caps.effective(&requests(Some(64), Some(5000)), &overrides);
        assert_eq!(eff.memory_bytes, 512 * MIB);
        assert_eq!(eff.deadline, Duration::from_secs(1));
    }

    #[test]
    fn no_request_means_the_cap() {
        let caps = Limits {
            memory_bytes: 32 * MIB,
            ..Limits::default()
        };
        let eff = caps.effective(&requests(None, None), &LimitOverrides::default());
        assert_eq!(eff, caps);
    }

    #[test]
    fn limiter_refuses_growth_past_the_limit_and_names_the_flag() {
        let mut limiter = Limiter::new(&Limits {
            memory_bytes: MIB,
            ..Limits::default()
        });
        assert!(limiter.memory_growing(0, 65536, None).unwrap());
        let err = limiter
            .memory_growing(65536, 2 * 1024 * 1024, None)
            .unwrap_err();
        let breach = &err.downcast_ref::<LimitExceeded>().unwrap().0;
        assert_eq!(
            breach,
            &LimitBreach::Memory {
                limit_bytes: MIB,
                requested_bytes: 2 * MIB
            }
        );
        let text = breach.to_string();
        assert!(text.contains("--memory-mib"), "{text}");
        assert!(text.contains("plugins.memory_mib"), "{text}");
    }

    #[test]
    fn limiter_caps_tables() {
        let mut limiter = Limiter::new(&Limits::default());
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(
            limiter
                .table_growing(0, MAX_TABLE_ELEMENTS + 1, None)
                .is_err()
        );
    }

    #[test]
    fn breaches_name_their_config_keys() {
        let out = LimitBreach::Stdout {
            limit_bytes: 16 * MIB,
        }
        .to_string();
        assert!(
            out.contains("16 MiB") && out.contains("plugins.stdout_mib"),
            "{out}"
        );
        let err = LimitBreach::Stderr { limit_bytes: MIB }.to_string();
        assert!(err.contains("plugins.stderr_kib"), "{err}");
        let deadline = LimitBreach::Deadline {
            deadline: Duration::from_secs(2),
        }
        .to_string();
        assert!(
            deadline.contains("2s") && deadline.contains("--timeout"),
            "{deadline}"
        );
    }
}
