//! The [`Host`]: one wasmtime engine with epoch interruption and a ticker thread, the
//! WASI preview 1 linker, loading plugins ([`Plugin`]) through the module cache, and
//! running them as commands or hooks under [`Limits`] and [`Grants`].

use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::{Engine, InstancePre, Linker, Module, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::cache::{self, CacheOutcome, ModuleCache};
use crate::error::PluginError;
use crate::grants::Grants;
use crate::limits::{LimitBreach, LimitExceeded, LimitOverrides, Limiter, Limits};
use crate::manifest::{self, API_VERSION, Manifest};
use crate::output::{CappedOutput, SharedBuffer, Sink, Stream};

/// How often the epoch advances. The deadline is checked on every tick, so a plugin
/// overruns its deadline by at most about this much while it runs wasm code.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How long past its deadline gantry waits for a plugin blocked in a host call (a
/// read from stdin, a sleep) before it gives up on it.
const BLOCKED_GRACE: Duration = Duration::from_millis(500);

/// Native stack for the thread that runs a plugin: room for wasmtime's 512 KiB wasm
/// stack limit plus host frames.
const RUN_THREAD_STACK: usize = 8 * 1024 * 1024;

/// Where a plugin came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    BuiltIn(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::BuiltIn(name) => write!(f, "built-in plugin `{name}`"),
        }
    }
}

/// A loaded and compiled plugin, ready to run any number of times.
pub struct Plugin {
    name: String,
    manifest: Option<Manifest>,
    origin: Origin,
    sha256: [u8; 32],
    cache: CacheOutcome,
    pre: InstancePre<State>,
}

/// What a plugin's store holds: its WASI context and its memory limiter.
struct State {
    wasi: WasiP1Ctx,
    limiter: Limiter,
}

impl Plugin {
    /// The manifest's name, or for a module without one, its file stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Lower-case hex SHA-256 of the module bytes.
    pub fn sha256(&self) -> String {
        cache::hex(&self.sha256)
    }

    /// Whether the compiled code came from the cache.
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }
}

/// Per-run settings.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The caps: the user's configuration, or [`Limits::default`].
    pub limits: Limits,
    /// Limits the user set for this run; they replace caps and manifest requests.
    pub overrides: LimitOverrides,
    pub grants: Grants,
    /// Receives a hook's stderr (its log) as it is written; `None` discards it.
    pub log: Option<LogSink>,
}

/// A shared writer for plugin logs.
pub type LogSink = Arc<Mutex<dyn Write + Send>>;

/// A command's stdin.
pub enum Input {
    /// End of file at once.
    Empty,
    /// The host process's stdin.
    Inherit,
    Bytes(Vec<u8>),
}

/// A command's standard streams.
pub struct CommandIo {
    pub stdin: Input,
    pub stdout: Sink,
    pub stderr: Sink,
    /// Whether the plugin should see its stdout and stderr as terminals.
    pub stdout_terminal: bool,
    pub stderr_terminal: bool,
}

impl CommandIo {
    /// The host process's own stdin, stdout and stderr.
    pub fn inherit() -> Self {
        CommandIo {
            stdin: Input::Inherit,
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
            stdout_terminal: std::io::stdout().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
        }
    }
}

/// Stops the current and future runs of a [`Host`] (e.g. from a Ctrl-C handler).
#[derive(Clone)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
struct Interrupted;

pub struct Host {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<ModuleCache>,
    interrupted: Arc<AtomicBool>,
}

impl Host {
    /// A host whose compiled modules are cached in `cache_dir` (see
    /// [`ModuleCache::default_dir`]), or not cached with `None`.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Host, PluginError> {
        let engine = Engine::new(&gantry_engine::host_config()).map_err(|e| PluginError::Io {
            context: "starting the WebAssembly engine".to_string(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("gantry-epoch".to_string())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| PluginError::io("starting the epoch thread", e))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)
            .map_err(|e| PluginError::Io {
                context: "linking WASI".to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let cache = cache_dir.map(|dir| ModuleCache::new(dir, &engine));
        Ok(Host {
            engine,
            linker,
            cache,
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(self.interrupted.clone())
    }

    /// Loads `NAME.wasm`, with its embedded manifest or else `NAME.toml` beside it.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path)
            .map_err(|e| PluginError::io(format!("reading {}", path.display()), e))?;
        let sidecar = path.with_extension("toml");
        let sidecar = match std::fs::read_to_string(&sidecar) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(PluginError::io(format!("reading {}", sidecar.display()), e)),
        };
        self.load_with(&bytes, sidecar, Origin::File(path.to_path_buf()), None)
    }

    /// Loads a module held in memory, e.g. a built-in embedded in the binary. Its
    /// manifest must be embedded.
    pub fn load_bytes(&self, bytes: &[u8], origin: Origin) -> Result<Plugin, PluginError> {
        self.load_with(bytes, None, origin, None)
    }

    /// Like [`Host::load_bytes`], with the module's machine code compiled ahead of time
    /// by `Engine::precompile_module` under [`gantry_engine::portable_config`]. That
    /// code is used when this machine can run it (wasmtime checks the version,
    /// settings and CPU features it needs); otherwise the module is compiled here, as
    /// `load_bytes` does.
    ///
    /// # Safety
    ///
    /// `precompiled` must be wasmtime's compilation of `bytes`, from a trusted source
    /// such as the binary's own build: wasmtime checks that it is compatible, not that
    /// its machine code is what it claims to be.
    pub unsafe fn load_precompiled(
        &self,
        bytes: &[u8],
        precompiled: &[u8],
        origin: Origin,
    ) -> Result<Plugin, PluginError> {
        // SAFETY: the caller vouches that `precompiled` came from wasmtime.
        let module = unsafe { Module::deserialize(&self.engine, precompiled) }.ok();
        self.load_with(bytes, None, origin, module)
    }

    pub(crate) fn load_with(
        &self,
        bytes: &[u8],
        sidecar: Option<String>,
        origin: Origin,
        precompiled: Option<Module>,
    ) -> Result<Plugin, PluginError> {
        let invalid = |reason: String| PluginError::InvalidModule {
            origin: origin.to_string(),
            reason,
        };
        let embedded = manifest::embedded(bytes).map_err(invalid)?;
        let manifest = match embedded.or(sidecar) {
            Some(text) => Some(
                Manifest::parse(&text).map_err(|source| PluginError::Manifest {
                    origin: origin.to_string(),
                    source,
                })?,
            ),
            None => None,
        };
        let name = match (&manifest, &origin) {
            (Some(m), _) => m.name.clone(),
            (None, Origin::File(path)) => path.file_stem().map_or_else(
                || "plugin".to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
            (None, Origin::BuiltIn(name)) => name.clone(),
        };
        let sha256 = cache::sha256(bytes);
        let compiled = match (precompiled, &self.cache) {
            (Some(module), _) => Ok((module, CacheOutcome::Precompiled)),
            (None, Some(cache)) => cache.load_or_compile(&self.engine, bytes, &sha256),
            (None, None) => Module::new(&self.engine, bytes).map(|m| (m, CacheOutcome::Disabled)),
        };
        let (module, cache) = compiled.map_err(|e| invalid(root_message(&e)))?;
        if !matches!(
            module.get_export("_start"),
            Some(wasmtime::ExternType::Func(_))
        ) {
            return Err(PluginError::NotACommand {
                origin: origin.to_string(),
            });
        }
        let pre =
            self.linker.instantiate_pre(&module).map_err(|e| match e
                .downcast_ref::<wasmtime::UnknownImportError>()
            {
                Some(missing) => PluginError::MissingImport {
                    plugin: name.clone(),
                    module: missing.module().to_string(),
                    name: missing.name().to_string(),
                },
                None => PluginError::Instantiate {
                    plugin: name.clone(),
                    reason: root_message(&e),
                },
            })?;
        Ok(Plugin {
            name,
            manifest,
            origin,
            sha256,
            cache,
            pre,
        })
    }

    /// The limits a run of `plugin` with `opts` gets.
    pub fn effective_limits(&self, plugin: &Plugin, opts: &RunOptions) -> Limits {
        let requests = plugin
            .manifest
            .as_ref()
            .map(|m| m.limits)
            .unwrap_or_default();
        opts.limits.effective(&requests, &opts.overrides)
    }

    /// Runs `plugin` as a command: argv is `[name, args...]`. Returns the plugin's exit
    /// code when it runs to its end.
    pub fn run_command(
        &self,
        plugin: &Plugin,
        args: &[String],
        opts: &RunOptions,
        io: CommandIo,
    ) -> Result<i32, PluginError> {
        let limits = self.effective_limits(plugin, opts);
        let mut argv = vec![plugin.name.clone()];
        argv.extend(args.iter().cloned());
        let stdout = CappedOutput::new(
            io.stdout,
            limits.stdout_bytes,
            Stream::Stdout,
            io.stdout_terminal,
        );
        let stderr = CappedOutput::new(
            io.stderr,
            limits.stderr_bytes,
            Stream::Stderr,
            io.stderr_terminal,
        );
        self.run(plugin, argv, opts, &limits, io.stdin, stdout, stderr)
    }

    /// Calls `hook` on `plugin` (see the crate docs for the protocol) and returns the
    /// value of `output`.
    pub fn call_hook(
        &self,
        plugin: &Plugin,
        hook: &str,
        input: Value,
        opts: &RunOptions,
    ) -> Result<Value, PluginError> {
        let declared = plugin
            .manifest
            .as_ref()
            .map(|m| m.provides.hooks.clone())
            .unwrap_or_default();
        if !declared.iter().any(|h| h == hook) {
            return Err(PluginError::HookNotDeclared {
                plugin: plugin.name.clone(),
                hook: hook.to_string(),
                declared: if declared.is_empty() {
                    "no hooks".to_string()
                } else {
                    declared.join(", ")
                },
            });
        }
        let limits = self.effective_limits(plugin, opts);
        let request = serde_json::json!({"api": API_VERSION, "hook": hook, "input": input});
        let stdin = serde_json::to_vec(&request).map_err(|e| PluginError::Io {
            context: "encoding the hook input".to_string(),
            source: e.into(),
        })?;
        let buffer = SharedBuffer::new();
        let stdout = CappedOutput::new(
            Box::new(buffer.clone()),
            limits.stdout_bytes,
            Stream::Stdout,
            false,
        );
        let log: Sink = match &opts.log {
            Some(log) => Box::new(LogWriter(log.clone())),
            None => Box::new(std::io::sink()),
        };
        let stderr = CappedOutput::new(log, limits.stderr_bytes, Stream::Stderr, false);
        let argv = vec![
            plugin.name.clone(),
            "--gantry-hook".to_string(),
            hook.to_string(),
        ];
        let code = self.run(
            plugin,
            argv,
            opts,
            &limits,
            Input::Bytes(stdin),
            stdout,
            stderr,
        )?;
        let protocol = |problem: String| PluginError::Protocol {
            plugin: plugin.name.clone(),
            hook: hook.to_string(),
            problem,
        };
        let out = buffer.contents();
        let doc: Value = match serde_json::from_slice(&out) {
            Ok(doc) => doc,
            Err(_) if out.iter().all(u8::is_ascii_whitespace) => {
                return Err(protocol(format!(
                    "it exited with code {code} and wrote nothing to stdout"
                )));
            }
            Err(e) => {
                return Err(protocol(format!(
                    "stdout is not exactly one JSON document ({e}; exit code {code})"
                )));
            }
        };
        let Value::Object(mut fields) = doc else {
            return Err(protocol(
                "stdout is JSON but not an object with `output` or `error`".to_string(),
            ));
        };
        if fields.len() != 1 {
            let keys: Vec<_> = fields.keys().map(String::as_str).collect();
            return Err(protocol(format!(
                "the reply must have exactly one of `output` or `error`, it has: {}",
                keys.join(", ")
            )));
        }
        if let Some(error) = fields.remove("error") {
            return match error.get("message").and_then(Value::as_str) {
                Some(message) => Err(PluginError::HookFailed {
                    plugin: plugin.name.clone(),
                    hook: hook.to_string(),
                    message: message.to_string(),
                }),
                None => Err(protocol(
                    "`error` must be an object with a string `message`".to_string(),
                )),
            };
        }
        match fields.remove("output") {
            Some(output) if code == 0 => Ok(output),
            Some(_) => Err(protocol(format!(
                "it wrote an `output` but exited with code {code}"
            ))),
            None => {
                let key = fields.keys().next().cloned().unwrap_or_default();
                Err(protocol(format!(
                    "unexpected key `{key}`; the reply must be {{\"output\":...}} or {{\"error\":{{\"message\":...}}}}"
                )))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        plugin: &Plugin,
        argv: Vec<String>,
        opts: &RunOptions,
        limits: &Limits,
        stdin: Input,
        stdout: CappedOutput,
        stderr: CappedOutput,
    ) -> Result<i32, PluginError> {
        let requested_env = plugin
            .manifest
            .as_ref()
            .map(|m| m.grants.env.clone())
            .unwrap_or_default();
        let grants = opts.grants.prepare(&requested_env)?;
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(&argv)
            .envs(&grants.env)
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        match stdin {
            Input::Empty => {}
            Input::Inherit => {
                builder.inherit_stdin();
            }
            Input::Bytes(bytes) => {
                builder.stdin(MemoryInputPipe::new(bytes));
            }
        }
        for (host, guest) in &grants.preopens {
            builder
                .preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|e| PluginError::Grant {
                    path: host.clone(),
                    reason: root_message(&e),
                })?;
        }
        let state = State {
            wasi: builder.build_p1(),
            limiter: Limiter::new(limits),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        let started = Instant::now();
        let deadline = started + limits.deadline;
        let interrupted = self.interrupted.clone();
        let breach = LimitBreach::Deadline {
            deadline: limits.deadline,
        };
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if interrupted.load(Ordering::SeqCst) {
                return Err(wasmtime::Error::new(Interrupted));
            }
            if Instant::now() >= deadline {
                return Err(wasmtime::Error::new(LimitExceeded(breach.clone())));
            }
            Ok(UpdateDeadline::Continue(1))
        });

        let pre = plugin.pre.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("plugin-{}", plugin.name))
            .stack_size(RUN_THREAD_STACK)
            .spawn(move || {
                let result = pre.instantiate(&mut store).and_then(|instance| {
                    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                    start.call(&mut store, ())
                });
                // Drop the store (and the plugin's memory) before reporting.
                drop(store);
                let _ = tx.send(result);
            })
            .map_err(|e| PluginError::io("starting the plugin thread", e))?;

        let name = plugin.name.clone();
        let result = loop {
            match rx.recv_timeout(EPOCH_TICK * 5) {
                Ok(result) => break result,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(wasmtime::format_err!("the plugin thread panicked"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            // Still running: either in wasm (epoch interruption ends it shortly) or
            // blocked in a host call, which nothing can interrupt. Give up on the
            // latter; its output is cut off and the thread is left to finish on its own.
            let interrupted = self.interrupted.load(Ordering::SeqCst);
            if interrupted || Instant::now() >= deadline + BLOCKED_GRACE {
                if rx.recv_timeout(BLOCKED_GRACE.min(EPOCH_TICK * 10)).is_ok() && !interrupted {
                    continue;
                }
                stdout.close();
                stderr.close();
                return Err(if interrupted {
                    PluginError::Interrupted { plugin: name }
                } else {
                    PluginError::Limit {
                        plugin: name,
                        breach: LimitBreach::Deadline {
                            deadline: limits.deadline,
                        },
                    }
                });
            }
        };
        drop(grants);
        classify(&name, result)
    }
}

struct LogWriter(LogSink);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .flush()
    }
}

/// Turns the end of a run into the plugin's exit code or the error that stopped it.
fn classify(plugin: &str, result: wasmtime::Result<()>) -> Result<i32, PluginError> {
    let err = match result {
        Ok(()) => return Ok(0),
        Err(err) => err,
    };
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return Ok(exit.0);
    }
    if let Some(LimitExceeded(breach)) = err.downcast_ref::<LimitExceeded>() {
        return Err(PluginError::Limit {
            plugin: plugin.to_string(),
            breach: breach.clone(),
        });
    }
    if err.downcast_ref::<Interrupted>().is_some() {
        return Err(PluginError::Interrupted {
            plugin: plugin.to_string(),
        });
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return Err(PluginError::Trap {
            plugin: plugin.to_string(),
            trap: trap_message(*trap),
        });
    }
    Err(PluginError::Trap {
        plugin: plugin.to_string(),
        trap: root_message(&err),
    })
}

fn trap_message(trap: Trap) -> String {
    let text = trap.to_string();
    let text = text
        .strip_prefix("wasm trap: ")
        .unwrap_or(&text)
        .to_string();
    match trap {
        Trap::StackOverflow => format!("{text} (unbounded recursion?)"),
        Trap::UnreachableCodeReached => {
            format!("{text} (a Rust plugin panics or aborts this way; its stderr may say why)")
        }
        _ => text,
    }
}

/// The innermost message of an error chain, on one line.
fn root_message(err: &wasmtime::Error) -> String {
    err.chain()
        .last()
        .map(|e| e.to_string().replace('\n', " "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> Vec<u8> {
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#).unwrap()
    }

    fn origin() -> Origin {
        Origin::BuiltIn("precompiled".to_string())
    }

    #[test]
    fn precompiled_code_is_used_when_it_fits_the_engine() {
        let host = Host::new(None).unwrap();
        let wasm = module();
        let code = Engine::new(&gantry_engine::host_config())
            .unwrap()
            .precompile_module(&wasm)
            .unwrap();
        // SAFETY: `code` is wasmtime's compilation of `wasm`, made just above.
        let plugin = unsafe { host.load_precompiled(&wasm, &code, origin()) }.unwrap();
        assert_eq!(plugin.cache_outcome(), &CacheOutcome::Precompiled);
    }

    #[test]
    fn precompiled_code_the_engine_cannot_run_is_compiled_again() {
        let host = Host::new(None).unwrap();
        let wasm = module();
        // Code compiled without the deadline checks this engine relies on.
        let mut config = gantry_engine::host_config();
        config.epoch_interruption(false);
        let code = Engine::new(&config)
            .unwrap()
            .precompile_module(&wasm)
            .unwrap();
        // SAFETY: `code` is wasmtime's compilation of `wasm`, made just above.
        let plugin = unsafe { host.load_precompiled(&wasm, &code, origin()) }.unwrap();
        assert_eq!(plugin.cache_outcome(), &CacheOutcome::Disabled);
    }
}
