//! What `gantry forecast` and `gantry scale --predict` share: the flags that say how to
//! read a series, the forecaster plugin (the bundled one, or `--forecaster`), forecast
//! errors as exit codes, and how numbers are shown.

use std::time::Duration;

use clap::Args;
use gantry_forecast::{Column, Duplicates, ForecastError, ReadOptions};
use gantry_plugins::{Host, Plugin, RunOptions};

use super::builtins::FORECASTER_GUEST;
use super::exit::{Exit, Failure};
use super::sandbox::{load_builtin, plugin_failure, resolve_plugin};

/// How to read a CSV series (JSON needs none of these).
#[derive(Debug, Clone, Args)]
pub struct SeriesArgs {
    /// The time column, by header name or 1-based index [default: detected]
    #[arg(long, value_name = "COLUMN")]
    pub time_column: Option<Column>,

    /// The value column, by header name or 1-based index [default: the one numeric column]
    #[arg(long, value_name = "COLUMN")]
    pub value_column: Option<Column>,

    /// The sampling interval, e.g. 1m: needed without a time column; with one, the step the series is put on
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub interval: Option<Duration>,

    /// How to merge samples with the same timestamp
    #[arg(long, value_name = "HOW", default_value = "max", value_parser = parse_duplicates)]
    pub duplicates: Duplicates,
}

fn parse_duplicates(text: &str) -> Result<Duplicates, String> {
    text.parse()
}

impl SeriesArgs {
    /// Read options keeping the newest `keep` samples (`None`: all).
    pub fn read_options(&self, keep: Option<usize>) -> ReadOptions {
        ReadOptions {
            time_column: self.time_column.clone(),
            value_column: self.value_column.clone(),
            interval: self.interval,
            duplicates: self.duplicates,
            keep,
        }
    }
}

/// The forecaster: the plugin `spec` names (a path, an installed or a built-in plugin),
/// else the bundled one.
pub fn forecaster(host: &Host, spec: Option<&str>, opts: &RunOptions) -> anyhow::Result<Plugin> {
    match spec {
        Some(spec) => resolve_plugin(host, spec, opts),
        None => load_builtin(host, FORECASTER_GUEST),
    }
}

/// A forecast error as a documented exit code: the plugin's faults are the plugin's,
/// the series' and the horizon's are the user's to fix.
pub fn forecast_failure(err: ForecastError) -> anyhow::Error {
    match err {
        ForecastError::Plugin(e) => plugin_failure(e),
        ForecastError::Answer(_) | ForecastError::NoBatch(_) => {
            Failure::new(Exit::PluginFault, err.to_string()).into()
        }
        ForecastError::Series(_) | ForecastError::Horizon(_) | ForecastError::TooShort { .. } => {
            Failure::new(Exit::Usage, err.to_string()).into()
        }
    }
}

/// A metric's value as people read it: whole numbers whole, two decimals from 1 up,
/// four below.
pub fn number(x: f64) -> String {
    // Below the last shown digit is zero, never "-0.0000".
    let x = if x.abs() < 0.00005 { 0.0 } else { x };
    if x.abs() >= 1000.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}
