//! `gantry forecast --metrics FILE [--horizon STEPS] [--backtest]`: the bundled load
//! forecaster on a series from a file, and how it would have done on that series' own
//! last 20% against naive baselines. The work is in `gantry_forecast`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gantry_forecast::series::{self, Series};
use gantry_forecast::{Backtest, ForecastError, Forecaster};
use serde_json::json;

use crate::base::{
    self, Context, Exit, Failure, INFERENCE_GUEST, LimitArgs, load_builtin, plugin_failure,
    run_options,
};

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// The series: CSV `timestamp,value` with a header, or JSON ([{"t","v"}], [[t,v]], a Prometheus range query)
    #[arg(long, value_name = "FILE")]
    pub metrics: PathBuf,

    /// Steps (samples) ahead to forecast the peak over, 1 to 72
    #[arg(long, value_name = "STEPS", default_value_t = 12)]
    pub horizon: usize,

    /// Evaluate rolling-origin over the last 20% of the file, against baselines
    #[arg(long)]
    pub backtest: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}

fn failure(err: ForecastError) -> anyhow::Error {
    match err {
        ForecastError::Plugin(e) => plugin_failure(e),
        ForecastError::Answer(_) => Failure::new(Exit::PluginFault, err.to_string()).into(),
        ForecastError::Series(_) | ForecastError::Horizon(_) | ForecastError::TooShort { .. } => {
            Failure::new(Exit::Usage, err.to_string()).into()
        }
    }
}

pub fn run(args: ForecastArgs, ctx: &Context) -> anyhow::Result<u8> {
    let series = series::load(&args.metrics).map_err(|e| failure(e.into()))?;
    let host = base::host(ctx)?;
    let guest = load_builtin(&host, INFERENCE_GUEST)?;
    let forecaster = Forecaster {
        host: &host,
        plugin: &guest,
        opts: run_options(ctx, &args.limits),
    };
    let path = args.metrics.display().to_string();
    let about = json!({
        "path": path,
        "samples": series.samples.len(),
        "interval_s": series.interval_s,
        "gaps": series.gaps,
        "first_t": series.samples[0].t,
        "last_t": series.samples[series.samples.len() - 1].t,
    });
    let mut out = ctx.out();
    if args.backtest {
        let result = forecaster
            .backtest(&series, &path, args.horizon)
            .map_err(failure)?;
        if ctx.json() {
            let mut doc = serde_json::to_value(&result)?;
            doc["series"] = about;
            writeln!(out, "{doc}")?;
        } else {
            print_backtest(&mut out, &path, &series, &result)?;
        }
    } else {
        let f = forecaster
            .forecast(&series, args.horizon)
            .map_err(failure)?;
        if ctx.json() {
            let mut doc = serde_json::to_value(&f)?;
            doc["horizon_steps"] = json!(args.horizon);
            doc["series"] = about;
            writeln!(out, "{doc}")?;
        } else {
            let last = series.samples[series.samples.len() - 1];
            writeln!(out, "{}", describe(&path, &series))?;
            writeln!(
                out,
                "horizon   {} steps ({}) after {}",
                args.horizon,
                span(&series, args.horizon),
                series::format_time(last.t)
            )?;
            writeln!(out, "p50 peak  {}", number(f.p50_peak))?;
            writeln!(out, "p90 peak  {}", number(f.p90_peak))?;
            writeln!(out, "peak at   {}", series::format_time(f.peak_at))?;
            writeln!(
                out,
                "model     {} (read the last {} samples)",
                f.model, f.window_used
            )?;
        }
    }
    Ok(0)
}

fn describe(path: &str, series: &Series) -> String {
    format!(
        "series    {path}: {} samples every {}{}",
        series.samples.len(),
        humantime::format_duration(Duration::from_secs(series.interval_s.unsigned_abs())),
        match series.gaps {
            0 => String::new(),
            n => format!(", {n} gaps"),
        }
    )
}

fn span(series: &Series, steps: usize) -> String {
    let secs = series
        .interval_s
        .unsigned_abs()
        .saturating_mul(steps as u64);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn number(x: f64) -> String {
    if x.abs() >= 1000.0 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn print_backtest(
    out: &mut dyn Write,
    path: &str,
    series: &Series,
    result: &Backtest,
) -> std::io::Result<()> {
    writeln!(out, "{}", describe(path, series))?;
    writeln!(
        out,
        "backtest  {} origins from {} (the last 20%), peak over the next {} steps ({})",
        result.points.len(),
        series::format_time(result.start_t),
        result.horizon_steps,
        span(series, result.horizon_steps)
    )?;
    writeln!(out)?;
    let mut table = base::table::new(
        [
            "METHOD",
            "P50 WAPE",
            "P50 MAE",
            "P90 UNDER",
            "P90 OVER (MEAN)",
        ],
        &[1, 2, 3, 4],
    );
    for m in &result.summary {
        table.add_row([
            m.method.clone(),
            format!("{:.1}%", m.wape * 100.0),
            number(m.mae),
            format!("{:.1}%", m.under_provisioning_rate * 100.0),
            format!(
                "{} ({:.0}%)",
                number(m.over_provisioning_mean),
                m.over_provisioning_ratio * 100.0
            ),
        ]);
    }
    writeln!(out, "{}", base::table::render(&table))?;
    writeln!(out)?;
    writeln!(
        out,
        "P90 UNDER: share of origins whose actual peak exceeded p90 (aim: 10%). Baselines' p90 = their forecast + the 90th percentile of their errors before the backtest."
    )
}
