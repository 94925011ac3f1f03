//! What every command module builds on: the context a command runs in, the plugin host
//! and its run options, the error-to-exit mapping, terminal output and the one table
//! renderer. Command modules import this module and their own library crate, and
//! nothing else of the CLI crate, so no command depends on another.

mod builtins;
mod config;
mod exit;
mod forecasting;
mod http_args;
mod output;
mod progress;
mod sandbox;
pub mod table;

pub use builtins::{Builtin, INFERENCE_GUEST};
pub use config::Config;
pub use exit::{Exit, Failure, report};
pub use forecasting::{SeriesArgs, forecast_failure, forecaster, number};
pub use http_args::HttpArgs;
pub use output::{
    ColorChoice, OutputFormat, OutputFormatParser, confirm, error_line, init_color, interactive,
    warn_line, write_json,
};
pub use progress::while_slow;
pub use sandbox::{
    LimitArgs, PluginSummary, compiling, host, plugin_failure, plugin_name_candidates,
    plugin_store, plugin_summaries, resolve_plugin, run_options,
};

/// Every built-in plugin, in a stable order.
pub fn builtins() -> &'static [Builtin] {
    builtins::all()
}

/// The built-in plugin called `name`, if there is one.
pub fn find_builtin(name: &str) -> Option<&'static Builtin> {
    builtins::find(name)
}

/// What every command may read besides its own arguments.
pub struct Context {
    pub output: OutputFormat,
    pub verbose: u8,
    pub quiet: bool,
    pub config: Config,
}

impl Context {
    /// Reads the configuration (`--config FILE`, else the default file if it exists).
    pub fn new(
        output: OutputFormat,
        verbose: u8,
        quiet: bool,
        config: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        Ok(Context {
            output,
            verbose,
            quiet,
            config: config::load(config)?,
        })
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// See [`refuse_json`].
    pub fn refuse_json(&self, command: &str, instead: &str) -> anyhow::Result<()> {
        refuse_json(self.output, command, instead)
    }

    /// Where results go: stdout, or nowhere with `-q` (errors still reach stderr).
    pub fn out(&self) -> Box<dyn std::io::Write> {
        if self.quiet {
            Box::new(std::io::sink())
        } else {
            Box::new(std::io::stdout().lock())
        }
    }
}

/// Refuses `-o json` for a command whose output has no JSON form (exit 2), rather than
/// ignoring the flag.
pub fn refuse_json(output: OutputFormat, command: &str, instead: &str) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        return Err(Failure::new(
            Exit::Usage,
            format!("`gantry {command}` has no JSON output; it writes {instead}"),
        )
        .into());
    }
    Ok(())
}
