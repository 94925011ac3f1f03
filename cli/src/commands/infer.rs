//! `gantry infer MODEL.onnx --input FILE.json`: runs any ONNX model inside the sandbox,
//! on the bundled inference guest (tract-onnx). The model file is the only thing the
//! guest can see, read-only.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use gantry_plugins::{
    CommandIo, Grants, Host, Input, LimitBreach, LimitOverrides, Plugin, PluginError, SharedBuffer,
    Untrusted,
};
use serde_json::Value;

use crate::builtins;
use crate::commands::Context;
use crate::commands::plugin;
use crate::exit::{Exit, Failure};

/// The built-in guest that runs models.
pub const GUEST: &str = "inference";
const MIB: u64 = 1024 * 1024;
/// Loads the bundled inference guest, with the machine code shipped in the binary.
pub fn load_guest(host: &Host) -> anyhow::Result<Plugin> {
    let builtin = builtins::find(GUEST).ok_or_else(|| {
        Failure::new(
            Exit::Failure,
            "this gantry was built without its inference guest",
        )
    })?;
    builtin.load(host).map_err(plugin::failure)
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

    /// Linear memory limit in MiB [default: plugins.memory_mib, else 128]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub memory_mib: Option<u64>,

    /// Wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
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
    let guest_model = gantry_plugins::guest_path(&model).map_err(plugin::failure)?;

    let host = plugin::host(ctx)?;
    let guest = load_guest(&host)?;
    let mut opts = plugin::run_options(ctx);
    opts.overrides = LimitOverrides {
        memory_bytes: args.memory_mib.map(|mib| mib * MIB),
        deadline: args.timeout,
    };
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
            other => plugin::failure(other),
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
    if ctx.json() {
        println!("{}", Value::Object(outputs));
    } else {
        print_table(&outputs);
    }
    Ok(0)
}

fn print_table(outputs: &serde_json::Map<String, Value>) {
    let rows: Vec<(String, String, String)> = outputs
        .iter()
        .map(|(name, t)| {
            let shape = t["shape"].to_string();
            let data = t["data"].as_array().map(Vec::as_slice).unwrap_or_default();
            let mut values: Vec<String> = data.iter().take(SHOWN).map(short_number).collect();
            if data.len() > SHOWN {
                values.push(format!("… ({} values; -o json prints all)", data.len()));
            }
            // Output names come from the model file.
            (Untrusted(name).to_string(), shape, values.join(", "))
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max("OUTPUT".len());
    let w1 = rows
        .iter()
        .map(|r| r.1.len())
        .max()
        .unwrap_or(0)
        .max("SHAPE".len());
    println!("{:w0$}  {:w1$}  VALUES", "OUTPUT", "SHAPE");
    for (name, shape, values) in rows {
        println!("{name:w0$}  {shape:w1$}  {values}");
    }
}

/// A number as people read it: f32 outputs (widened to f64 in JSON) at f32 precision.
fn short_number(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if f64::from(x as f32) == x => (x as f32).to_string(),
        _ => v.to_string(),
    }
}
