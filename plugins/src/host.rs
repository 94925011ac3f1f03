//! The [`Host`]: one wasmtime engine with epoch interruption and a ticker thread, the
//! WASI preview 1 linker, loading plugins ([`Plugin`]) through the module cache, and
//! running them as commands or hooks under [`Limits`] and [`Grants`].

use std::fmt;
use std::io::{IsTerminal as _, Read as _, Seek as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use wasmtime::{Engine, InstancePre, Linker, Module, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::cache::{self, CacheConfig, CacheOutcome, ModuleCache};
use crate::data_init::{self, HostData};
use crate::error::PluginError;
use crate::grants::Grants;
use crate::limits::{LimitBreach, LimitExceeded, LimitOverrides, Limiter, Limits};
use crate::manifest::{self, API_VERSION, LimitRequests, MAX_MANIFEST_BYTES, Manifest};
use crate::output::{CappedOutput, SharedBuffer, Sink, Stream};
use crate::signals::{self, Busy};

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
    manifest_file: Option<String>,
    origin: Origin,
    module_sha256: [u8; 32],
    pin: [u8; 32],
    approved_env: Vec<String>,
    cache: CacheOutcome,
    pre: InstancePre<State>,
    /// Data segments the host writes before `_start` (see [`data_init`]).
    host_data: Option<Arc<HostData>>,
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

    /// The text of the manifest file beside the module, when the manifest is not
    /// embedded in it.
    pub fn manifest_file(&self) -> Option<&str> {
        self.manifest_file.as_deref()
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// What `gantry plugin install --sha256` checks, in lower-case hex: the SHA-256 of
    /// the module's bytes followed by the bytes of the manifest file beside it (when
    /// the manifest is embedded, of the module alone, as `sha256sum NAME.wasm` prints).
    pub fn sha256(&self) -> String {
        cache::hex(&self.pin)
    }

    /// Lower-case hex SHA-256 of the module's bytes alone.
    pub fn module_sha256(&self) -> String {
        cache::hex(&self.module_sha256)
    }

    /// Environment variables this plugin gets on every run, on top of
    /// [`RunOptions::grants`]: those the user accepted when installing it. Empty for a
    /// plugin loaded from a file or built in: a manifest's `[grants] env` is only a
    /// request.
    pub fn approved_env(&self) -> &[String] {
        &self.approved_env
    }

    /// Whether the compiled code came from the cache.
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }
}

/// A module read and checked, not yet compiled: what loading and installing decide on
/// before spending time on compiling it.
pub(crate) struct Inspected {
    pub(crate) bytes: Arc<Vec<u8>>,
    pub(crate) manifest: Option<Manifest>,
    /// The manifest file's text, when that is where the manifest came from.
    pub(crate) manifest_file: Option<String>,
    pub(crate) name: String,
    pub(crate) origin: Origin,
    pub(crate) module_sha256: [u8; 32],
    /// What `--sha256` checks (see [`Plugin::sha256`]).
    pub(crate) pin: [u8; 32],
    data_bytes: u64,
}

/// Room for the segment headers in a data section: a section larger than the memory
/// limit by more than this cannot hold data that fits in it.
const DATA_SECTION_HEADERS: u64 = 1 << 20;

/// Reads a module within `limits`, and `NAME.toml` beside it if there is one. A module
/// larger than [`Limits::module_bytes`], or whose data section is larger than
/// [`Limits::memory_bytes`] (plus room for segment headers), is refused before it is
/// read, so that such a module costs no memory.
pub(crate) fn read_plugin_files(
    path: &Path,
    limits: &Limits,
) -> Result<(Vec<u8>, Option<String>), PluginError> {
    let max_bytes = limits.module_bytes;
    let read_error = |e| PluginError::io(format!("reading {}", path.display()), e);
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let too_large = |module_bytes: u64| PluginError::Limit {
        plugin: file_stem(path),
        breach: LimitBreach::ModuleSize {
            limit_bytes: max_bytes,
            module_bytes,
        },
    };
    let announced = file.metadata().map_err(read_error)?.len();
    if announced > max_bytes {
        return Err(too_large(announced));
    }
    if let Some(data_section) = data_section_len(&mut file).map_err(read_error)?
        && data_section > limits.memory_bytes.saturating_add(DATA_SECTION_HEADERS)
    {
        return Err(PluginError::Limit {
            plugin: file_stem(path),
            breach: LimitBreach::Memory {
                limit_bytes: limits.memory_bytes,
                requested_bytes: data_section,
            },
        });
    }
    file.rewind().map_err(read_error)?;
    let mut bytes = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    // One byte more than allowed tells a file that grew since its size was read.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    let sidecar_path = path.with_extension("toml");
    let sidecar = match std::fs::File::open(&sidecar_path) {
        Ok(file) => {
            // A manifest longer than allowed is refused when parsed; reading one byte
            // more is enough to tell.
            let mut text = String::new();
            file.take(MAX_MANIFEST_BYTES as u64 + 1)
                .read_to_string(&mut text)
                .map_err(|e| PluginError::io(format!("reading {}", sidecar_path.display()), e))?;
            Some(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(PluginError::io(
                format!("reading {}", sidecar_path.display()),
                e,
            ));
        }
    };
    Ok((bytes, sidecar))
}

/// The size of a module's data section, found by walking the section headers and
/// seeking over their contents; `None` when it has none, or when the file is not a
/// well-formed module (compiling it reports that precisely).
fn data_section_len(file: &mut std::fs::File) -> std::io::Result<Option<u64>> {
    const DATA_SECTION: u8 = 11;
    let mut reader = std::io::BufReader::with_capacity(64, file);
    let mut preamble = [0u8; 8];
    if reader.read_exact(&mut preamble).is_err() || &preamble[..4] != b"\0asm" {
        return Ok(None);
    }
    loop {
        let mut id = [0u8; 1];
        if reader.read(&mut id)? == 0 {
            return Ok(None);
        }
        let Some(len) = read_leb_u32(&mut reader)? else {
            return Ok(None);
        };
        if id[0] == DATA_SECTION {
            return Ok(Some(u64::from(len)));
        }
        reader.seek_relative(i64::from(len))?;
    }
}

/// An unsigned LEB128 number of at most 32 bits, or `None` if it is malformed or cut.
fn read_leb_u32(reader: &mut impl std::io::Read) -> std::io::Result<Option<u32>> {
    let mut value: u64 = 0;
    for shift in (0..35).step_by(7) {
        let mut byte = [0u8; 1];
        if reader.read(&mut byte)? == 0 {
            return Ok(None);
        }
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(u32::try_from(value).ok());
        }
    }
    Ok(None)
}

/// A file's stem, for naming a module that has no manifest.
fn file_stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "plugin".to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Reads what gantry needs from a module before compiling it: its manifest (embedded,
/// else the file beside it), name, hashes and the size of its data.
pub(crate) fn inspect(
    bytes: Vec<u8>,
    sidecar: Option<String>,
    origin: Origin,
) -> Result<Inspected, PluginError> {
    let scan = manifest::scan(&bytes).map_err(|reason| PluginError::InvalidModule {
        origin: origin.to_string(),
        reason,
    })?;
    // An embedded manifest wins; a file beside such a module is ignored (and neither
    // pinned nor installed).
    let (text, manifest_file) = match scan.manifest {
        Some(text) => (Some(text), None),
        None => (sidecar.clone(), sidecar),
    };
    let manifest = match text {
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
        (None, Origin::File(path)) => file_stem(path),
        (None, Origin::BuiltIn(name)) => name.clone(),
    };
    Ok(Inspected {
        module_sha256: cache::sha256(&bytes),
        pin: cache::pin(&bytes, manifest_file.as_deref()),
        bytes: Arc::new(bytes),
        manifest,
        manifest_file,
        name,
        origin,
        data_bytes: scan.data_bytes,
    })
}

/// The limits that bound loading a module for a run with `opts`: the user's caps and
/// overrides (a manifest may lower them for its run, not for its compile).
pub(crate) fn load_limits(opts: &RunOptions) -> Limits {
    opts.limits
        .effective(&LimitRequests::default(), &opts.overrides)
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

/// Receives the host's warnings (one line each); see [`Host::on_warning`].
type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

pub struct Host {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<ModuleCache>,
    interrupted: Arc<AtomicBool>,
    warn: Option<WarningSink>,
    /// Whether the untrusted-cache warning was given (it is given once).
    warned_cache: AtomicBool,
}

impl Host {
    /// A host whose compiled modules are cached as `cache` says (see
    /// [`CacheConfig::default_location`]), or not cached with `None`.
    pub fn new(cache: Option<CacheConfig>) -> Result<Host, PluginError> {
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
        let cache = cache.map(|config| ModuleCache::new(config, &engine));
        Ok(Host {
            engine,
            linker,
            cache,
            interrupted: Arc::new(AtomicBool::new(false)),
            warn: None,
            warned_cache: AtomicBool::new(false),
        })
    }

    /// Where the host's warnings go: today, that the module cache folder is not trusted
    /// and modules are compiled in memory instead (said once per host). Without a sink
    /// they are dropped; [`Plugin::cache_outcome`] tells too.
    pub fn on_warning(&mut self, sink: impl Fn(&str) + Send + Sync + 'static) {
        self.warn = Some(Box::new(sink));
    }

    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(self.interrupted.clone())
    }

    /// Whether runs must stop: [`InterruptHandle::interrupt`] was called, or a
    /// termination signal arrived during a compile or run (see `signals`).
    fn stopped(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) || signals::received()
    }

    /// Loads `NAME.wasm`, with its embedded manifest or else `NAME.toml` beside it,
    /// under the limits of a run with `opts`: a module larger than
    /// [`Limits::module_bytes`] is refused before it is read, one whose data segments
    /// exceed the memory limit before it is compiled, and compiling is abandoned at the
    /// deadline. The plugin gets no environment variables beyond the run's grants.
    pub fn load_file(&self, path: &Path, opts: &RunOptions) -> Result<Plugin, PluginError> {
        let limits = load_limits(opts);
        let (bytes, sidecar) =
            read_plugin_files(path, &limits).map_err(PluginError::in_user_input)?;
        let inspected = inspect(bytes, sidecar, Origin::File(path.to_path_buf()))?;
        self.compile(inspected, Some(&limits), None, Vec::new())
    }

    /// Loads a module held in memory, e.g. a built-in embedded in the binary. Its
    /// manifest must be embedded. Being part of gantry, it is compiled without the
    /// size and deadline bounds of [`Host::load_file`].
    pub fn load_bytes(&self, bytes: &[u8], origin: Origin) -> Result<Plugin, PluginError> {
        let inspected = inspect(bytes.to_vec(), None, origin)?;
        self.compile(inspected, None, None, Vec::new())
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
        let inspected = inspect(bytes.to_vec(), None, origin)?;
        self.compile(inspected, None, module, Vec::new())
    }

    /// Compiles an inspected module (or takes its precompiled code) and links it.
    /// `bound` holds the limits of [`Host::load_file`]; `None` is for gantry's own
    /// modules. `approved_env` are the variables the user accepted at install.
    pub(crate) fn compile(
        &self,
        inspected: Inspected,
        bound: Option<&Limits>,
        precompiled: Option<Module>,
        approved_env: Vec<String>,
    ) -> Result<Plugin, PluginError> {
        let Inspected {
            bytes,
            manifest,
            manifest_file,
            name,
            origin,
            module_sha256,
            pin,
            data_bytes,
        } = inspected;
        let invalid = |reason: String| PluginError::InvalidModule {
            origin: origin.to_string(),
            reason,
        };
        if let Some(limits) = bound
            && data_bytes > limits.memory_bytes
        {
            // Its data must fit in its memory, so it could never start.
            return Err(PluginError::Limit {
                plugin: name,
                breach: LimitBreach::Memory {
                    limit_bytes: limits.memory_bytes,
                    requested_bytes: data_bytes,
                },
            });
        }
        // Precompiled code was compiled from the module as it is, data included.
        let split = precompiled
            .is_none()
            .then(|| data_init::split(&bytes, data_init::HOST_INIT_MIN_BYTES))
            .flatten();
        let (bytes, host_data) = match split {
            Some((module, data)) => (Arc::new(module), Some(Arc::new(data))),
            None => (bytes, None),
        };
        let (module, cache) = match (precompiled, bound) {
            (Some(module), _) => (module, CacheOutcome::Precompiled),
            (None, Some(limits)) => {
                self.compile_bounded(&name, &origin, bytes, module_sha256, limits)?
            }
            (None, None) => {
                compile_module(&self.engine, self.cache.as_ref(), bytes, &module_sha256)
                    .map_err(|e| invalid(root_message(&e)))?
            }
        };
        if let CacheOutcome::Untrusted(why) = &cache
            && let Some(warn) = &self.warn
            && !self.warned_cache.swap(true, Ordering::SeqCst)
        {
            warn(&format!(
                "{why}; gantry compiles plugins in memory instead of loading machine code from it"
            ));
        }
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
            manifest_file,
            origin,
            module_sha256,
            pin,
            approved_env,
            cache,
            pre,
            host_data,
        })
    }

    /// Compiles on a thread of its own and waits at most the deadline, while gantry's
    /// memory grows by at most the compile memory limit (or until an interruption).
    /// Cranelift cannot be stopped, so a compile past a limit is abandoned: its thread
    /// goes on while the caller reports the breach, and ends when gantry exits.
    fn compile_bounded(
        &self,
        name: &str,
        origin: &Origin,
        bytes: Arc<Vec<u8>>,
        module_sha: [u8; 32],
        limits: &Limits,
    ) -> Result<(Module, CacheOutcome), PluginError> {
        let _busy = Busy::enter();
        let deadline = limits.deadline;
        let until = Instant::now() + deadline;
        let resident_before = resident_bytes();
        let engine = self.engine.clone();
        let cache = self.cache.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("compile-{name}"))
            .stack_size(RUN_THREAD_STACK)
            .spawn(move || {
                let _ = tx.send(compile_module(&engine, cache.as_ref(), bytes, &module_sha));
            })
            .map_err(|e| PluginError::io("starting the compiler thread", e))?;
        loop {
            let wait = until
                .saturating_duration_since(Instant::now())
                .min(EPOCH_TICK * 5);
            match rx.recv_timeout(wait) {
                Ok(compiled) => {
                    return compiled.map_err(|e| PluginError::InvalidModule {
                        origin: origin.to_string(),
                        reason: root_message(&e),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(PluginError::InvalidModule {
                        origin: origin.to_string(),
                        reason: "the compiler failed".to_string(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.stopped() {
                return Err(PluginError::Interrupted {
                    plugin: name.to_string(),
                });
            }
            let grown = match (resident_before, resident_bytes()) {
                (Some(before), Some(now)) => now.saturating_sub(before),
                _ => 0,
            };
            let breach = if Instant::now() >= until {
                LimitBreach::CompileDeadline { deadline }
            } else if grown > limits.compile_memory_bytes {
                LimitBreach::CompileMemory {
                    limit_bytes: limits.compile_memory_bytes,
                }
            } else {
                continue;
            };
            return Err(PluginError::Limit {
                plugin: name.to_string(),
                breach,
            });
        }
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
        let manifest = plugin.manifest.as_ref();
        if !manifest.is_some_and(|m| m.provides_hook(hook)) {
            let declared = manifest.map(|m| m.provides.hooks.join(", "));
            return Err(PluginError::HookNotDeclared {
                plugin: plugin.name.clone(),
                hook: hook.to_string(),
                declared: declared
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| "no hooks".to_string()),
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
                    message: shortened(message),
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
        let _busy = Busy::enter();
        if self.stopped() {
            return Err(PluginError::Interrupted {
                plugin: plugin.name.clone(),
            });
        }
        // The run's own grants, and what the user accepted when installing the plugin;
        // never what its manifest asks for.
        let mut grants = opts.grants.clone();
        grants.env.extend(plugin.approved_env.iter().cloned());
        let grants = grants.prepare()?;
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
            if interrupted.load(Ordering::SeqCst) || signals::received() {
                return Err(wasmtime::Error::new(Interrupted));
            }
            if Instant::now() >= deadline {
                return Err(wasmtime::Error::new(LimitExceeded(breach.clone())));
            }
            Ok(UpdateDeadline::Continue(1))
        });

        let pre = plugin.pre.clone();
        let host_data = plugin.host_data.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("plugin-{}", plugin.name))
            .stack_size(RUN_THREAD_STACK)
            .spawn(move || {
                let result = pre.instantiate(&mut store).and_then(|instance| {
                    if let Some(data) = &host_data {
                        data.write(&instance, &mut store)?;
                    }
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
            let interrupted = self.stopped();
            if interrupted || Instant::now() >= deadline + BLOCKED_GRACE {
                // A moment more for a plugin that its epoch check is ending anyway.
                if let Ok(result) = rx.recv_timeout(BLOCKED_GRACE.min(EPOCH_TICK * 10))
                    && !interrupted
                {
                    break result;
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

/// This process's resident memory, in bytes, where the system tells it cheaply: the
/// compile memory limit is measured with it.
#[cfg(target_os = "linux")]
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kib * 1024)
}

#[cfg(not(target_os = "linux"))]
fn resident_bytes() -> Option<u64> {
    None
}

/// Compiles through the cache when there is one.
fn compile_module(
    engine: &Engine,
    cache: Option<&ModuleCache>,
    bytes: Arc<Vec<u8>>,
    module_sha: &[u8; 32],
) -> wasmtime::Result<(Module, CacheOutcome)> {
    match cache {
        Some(cache) => cache.load_or_compile(engine, bytes, module_sha),
        None => cache::compile(engine, bytes).map(|(m, _)| (m, CacheOutcome::Disabled)),
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

/// The most characters of a hook's error message that gantry shows.
const MAX_HOOK_MESSAGE_CHARS: usize = 1000;

/// A hook's error message as shown: its first [`MAX_HOOK_MESSAGE_CHARS`] characters.
fn shortened(message: &str) -> String {
    match message.char_indices().nth(MAX_HOOK_MESSAGE_CHARS) {
        Some((end, _)) => format!(
            "{}… ({} more characters)",
            &message[..end],
            message[end..].chars().count()
        ),
        None => message.to_string(),
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

    #[cfg(target_os = "linux")]
    #[test]
    fn resident_memory_grows_with_memory_touched() {
        let before = resident_bytes().unwrap();
        let touched = vec![1u8; 64 << 20];
        let after = resident_bytes().unwrap();
        assert!(after >= before + (60 << 20), "{before} then {after}");
        assert!(touched.iter().all(|&b| b == 1));
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
