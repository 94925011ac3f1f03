//! `gantry infer MODEL.onnx --input FILE.json`: runs any ONNX model inside the sandbox,
//! on the bundled inference guest (tract-onnx). The model file is the only thing the
//! guest can see, read-only.
//!
//! The guest ships compressed and is compiled for this machine on first use, into the
//! module cache: that takes seconds, once. A spinner shows it on a terminal, and a note
//! on stderr states what it cost.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use gantry_plugins::{
    CacheOutcome, CommandIo, Grants, Host, Input, LimitBreach, ModuleCache, Plugin, PluginError,
    SharedBuffer, Untrusted,
};
use serde_json::Value;

use crate::base::{
    self, Context, Exit, Failure, INFERENCE_GUEST, LimitArgs, find_builtin, plugin_failure,
    run_options,
};

/// Loads the bundled inference guest: from the module cache, or compiled for this
/// machine on first use, which is shown and then stated (unless `quiet`).
fn load_guest(host: &Host, quiet: bool) -> anyhow::Result<Plugin> {
    let builtin = find_builtin(INFERENCE_GUEST).ok_or_else(|| {
        Failure::new(
            Exit::Failure,
            "this gantry was built without its inference guest",
        )
    })?;
    let started = Instant::now();
    let load = || builtin.load(host);
    let loaded = if builtin.compiles_on_first_use() {
        base::while_slow("compiling the ONNX runner for this machine, once", load)
    } else {
        load()
    };
    let plugin = loaded.map_err(plugin_failure)?;
    let compiled = matches!(
        plugin.cache_outcome(),
        CacheOutcome::Miss | CacheOutcome::Rebuilt(_) | CacheOutcome::Disabled
    );
    if compiled && !quiet {
        let cached = ModuleCache::default_dir()
            .map(|dir| format!("; cached in {}, later runs skip it", dir.display()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "note: compiled the ONNX runner (tract, {:.1} MB of WebAssembly) for this machine in {:.1} s, a one-time cost{cached}",
            builtin.wasm().map_or(0, |w| w.len()) as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(plugin)
}

/// Values shown per output in the table; `-o json` prints them all.
const SHOWN: usize = 8;

#[derive(Debug, Args)]
pub struct InferArgs {
    /// The ONNX model; the sandbox may read this file and nothing else
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,

    /// Input tensors as JSON: {"NAME":{"shape":[..],"data":[..]}} or nested arrays; - for stdin
    #[arg(short, long, value_name = "FILE.json")]
    pub input: PathBuf,

    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: InferArgs, ctx: &Context) -> anyhow::Result<u8> {
    let inputs = if args.input.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading the inputs from stdin")?;
        buf
    } else {
        std::fs::read(&args.input).map_err(|e| {
            Failure::new(
                Exit::Usage,
                format!("reading {}: {e}", args.input.display()),
            )
        })?
    };
    let model = std::fs::canonicalize(&args.model)
        .ok()
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            Failure::new(
                Exit::Usage,
                format!("{} is not a readable file", args.model.display()),
            )
        })?;
    let guest_model = gantry_plugins::guest_path(&model).map_err(plugin_failure)?;

    let host = base::host(ctx)?;
    let guest = load_guest(&host, ctx.quiet)?;
    let mut opts = run_options(ctx, &args.limits);
    opts.grants = Grants {
        read_files: vec![model],
        ..Grants::default()
    };
    let stdout = SharedBuffer::new();
    let stderr = SharedBuffer::new();
    let io = CommandIo {
        stdin: Input::Bytes(inputs),
        stdout: Box::new(stdout.clone()),
        stderr: Box::new(stderr.clone()),
        stdout_terminal: false,
        stderr_terminal: false,
    };
    let code = host
        .run_command(
            &guest,
            &["infer".to_string(), guest_model.clone()],
            &opts,
            io,
        )
        .map_err(|e| match e {
            PluginError::Limit {
                breach: LimitBreach::Memory { .. },
                ..
            } => Failure::new(
                Exit::PluginLimit,
                format!(
                    "{}: the model is too large for the sandbox's memory cap: {e}",
                    args.model.display()
                ),
            )
            .into(),
            other => plugin_failure(other),
        })?;
    let log = String::from_utf8_lossy(&stderr.contents()).into_owned();
    if code != 0 {
        let message = log
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(log.trim())
            .to_string();
        let exit = match code {
            2 => Exit::Usage,
            10 => Exit::PluginLimit,
            _ => Exit::Failure,
        };
        // The guest names the model by its path inside the sandbox; say it as the user did.
        // What it says quotes the model (operator and tensor names), so it is escaped.
        let shown = args.model.display().to_string();
        let message = Untrusted(&message.replace(&guest_model, &shown)).to_string();
        let message = if message.contains(&shown) {
            message
        } else {
            format!("{shown}: {message}")
        };
        return Err(Failure::new(exit, message).into());
    }
    if ctx.verbose > 0 && !log.is_empty() {
        eprint!("{log}");
    }
    let out = stdout.contents();
    let outputs: serde_json::Map<String, Value> = serde_json::from_slice(&out).map_err(|e| {
        Failure::new(
            Exit::PluginFault,
            format!("the inference guest printed something that is not its outputs: {e}"),
        )
    })?;
    let mut out = ctx.out();
    if ctx.json() {
        base::write_json(
            &mut out,
            "gantry.infer/v1",
            &serde_json::json!({ "outputs": outputs }),
        )?;
    } else {
        writeln!(out, "{}", base::table::render(&outputs_table(&outputs)))?;
    }
    Ok(0)
}

fn outputs_table(outputs: &serde_json::Map<String, Value>) -> base::table::Table {
    let mut table = base::table::new(["OUTPUT", "SHAPE", "VALUES"], &[]);
    for (name, t) in outputs {
        let data = t["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        let mut values: Vec<String> = data.iter().take(SHOWN).map(short_number).collect();
        if data.len() > SHOWN {
            values.push(format!("… ({} values; -o json prints all)", data.len()));
        }
        // Output names come from the model file.
        let name = Untrusted(name).to_string();
        table.add_row([name, t["shape"].to_string(), values.join(", ")]);
    }
    table
}

/// A number as people read it: f32 outputs (widened to f64 in JSON) at f32 precision.
fn short_number(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if f64::from(x as f32) == x => (x as f32).to_string(),
        _ => v.to_string(),
    }
}
