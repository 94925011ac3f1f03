//! `gantry forecast --metrics FILE|- [--horizon STEPS] [--backtest [--last N]]`: the
//! bundled load forecaster, calibrated on the series' own history, and how it would have
//! done on that series against naive baselines. The work is in `gantry_forecast`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gantry_forecast::{Backtest, Forecast, Loaded, PluginModel, Series, Settings, time};
use serde_json::json;

use crate::base::{
    self, Context, LimitArgs, SeriesArgs, forecast_failure as failure, number, run_options,
};

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// The series: CSV (any header or none, `,` `;` or tab) or JSON ([{"t","v"}], a Prometheus query_range response); - for stdin
    #[arg(long, value_name = "FILE")]
    pub metrics: PathBuf,

    /// Steps (samples) ahead to forecast the peak over, 1 to 72
    #[arg(long, value_name = "STEPS", default_value_t = 12)]
    pub horizon: usize,

    /// Evaluate rolling-origin over the last 20% of the series, against baselines
    #[arg(long)]
    pub backtest: bool,

    /// With --backtest: evaluate only the last N origins
    #[arg(long, value_name = "N", requires = "backtest", value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,

    #[command(flatten)]
    pub series: SeriesArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: ForecastArgs, ctx: &Context) -> anyhow::Result<u8> {
    gantry_forecast::check_bundled_horizon(args.horizon).map_err(failure)?;
    let settings = Settings::default();
    // A forecast reads the end of the series; a backtest of the last N origins that
    // and N more; a whole backtest everything.
    let keep = match (args.backtest, args.last) {
        (false, _) => Some(gantry_forecast::KEEP_FOR_FORECAST),
        (true, Some(n)) => usize::try_from(n)
            .ok()
            .map(|n| n.saturating_add(gantry_forecast::KEEP_FOR_FORECAST)),
        (true, None) => None,
    };
    let options = args.series.read_options(keep);
    let loaded = gantry_forecast::load(&args.metrics, &options).map_err(|e| failure(e.into()))?;
    let host = base::host(ctx)?;
    let opts = run_options(ctx, &args.limits);
    let guest = base::forecaster(&host, None, &opts)?;
    let model = PluginModel {
        host: &host,
        plugin: &guest,
        opts,
    };
    let path = if args.metrics.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        args.metrics.display().to_string()
    };
    let series = &loaded.series;
    let about = json!({
        "path": path,
        "samples": series.len(),
        "interval_s": series.interval_s,
        "gaps": series.gaps,
        "filled_steps": series.filled,
        "first_t": series.t(0),
        "last_t": series.last_t(),
        "timed": series.timed,
        "notes": loaded.notes,
    });
    let mut out = ctx.out();
    if args.backtest {
        let last = args.last.and_then(|n| usize::try_from(n).ok());
        let result = gantry_forecast::backtest(&model, series, args.horizon, last, &settings)
            .map_err(failure)?;
        if ctx.json() {
            let mut doc = serde_json::to_value(&result)?;
            doc["series"] = about;
            base::write_json(&mut out, "gantry.forecast.backtest/v1", &doc)?;
        } else {
            print_backtest(&mut out, &path, &loaded, &result)?;
        }
    } else {
        let f =
            gantry_forecast::forecast(&model, series, args.horizon, &settings).map_err(failure)?;
        if ctx.json() {
            let mut doc = serde_json::to_value(&f)?;
            doc["series"] = about;
            base::write_json(&mut out, "gantry.forecast/v1", &doc)?;
        } else {
            print_forecast(&mut out, &path, &loaded, &f)?;
        }
    }
    Ok(0)
}

fn describe(out: &mut dyn Write, path: &str, loaded: &Loaded) -> std::io::Result<()> {
    let series = &loaded.series;
    let gaps = match series.gaps {
        0 => String::new(),
        n => format!(
            ", {} ({}) filled",
            count(n, "gap", "gaps"),
            count(series.filled, "step", "steps")
        ),
    };
    let span = if series.timed {
        format!(
            " from {} to {}",
            time::format(series.t(0)),
            time::format(series.last_t())
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "series    {path}: {} samples every {}{span}{gaps}",
        series.len(),
        duration(series.interval_s, 1)
    )?;
    for note in &loaded.notes {
        writeln!(out, "note      {note}")?;
    }
    Ok(())
}

fn duration(interval_s: i64, steps: usize) -> String {
    let secs = interval_s.unsigned_abs().saturating_mul(steps as u64);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn print_forecast(
    out: &mut dyn Write,
    path: &str,
    loaded: &Loaded,
    f: &Forecast,
) -> std::io::Result<()> {
    let series = &loaded.series;
    describe(out, path, loaded)?;
    let after = if series.timed {
        format!(" after {}", time::format(series.last_t()))
    } else {
        " after the last sample".to_string()
    };
    writeln!(
        out,
        "horizon   {} ({}){after}",
        count(f.horizon_steps, "step", "steps"),
        duration(series.interval_s, f.horizon_steps)
    )?;
    writeln!(out, "p50 peak  {}", number(f.p50_peak))?;
    writeln!(out, "p90 peak  {}", number(f.p90_peak))?;
    let steps = ((f.peak_at - series.last_t()) / series.interval_s.max(1)).max(0) as usize;
    if series.timed {
        writeln!(
            out,
            "peak at   {} (step {steps}, {} ahead)",
            time::format(f.peak_at),
            duration(series.interval_s, steps)
        )?;
    } else {
        writeln!(
            out,
            "peak at   step {steps} ({} after the last sample)",
            duration(series.interval_s, steps)
        )?;
    }
    let c = &f.calibration;
    if c.known_origins == 0 {
        writeln!(
            out,
            "model     {}, uncalibrated: the series is too short to calibrate on",
            f.model
        )?;
        return Ok(());
    }
    let blend: Vec<String> = c
        .candidates
        .iter()
        .filter(|w| w.weight >= 0.005)
        .map(|w| format!("{} {:.0}%", w.method, 100.0 * w.weight))
        .collect();
    writeln!(
        out,
        "model     {}, calibrated on the last {} known peaks ({})",
        f.model,
        c.known_origins.min(Settings::default().residual_window),
        duration(
            series.interval_s,
            c.known_origins.min(Settings::default().residual_window)
        )
    )?;
    writeln!(out, "p50 from  {}", blend.join(", "))?;
    writeln!(
        out,
        "p90 from  p50 + {} (the {} percentile of its recent misses); the model alone said p50 {}, p90 {}",
        number(c.p90_margin),
        ordinal((100.0 * c.p90_level).round() as u64),
        number(c.model_p50),
        number(c.model_p90)
    )
}

/// `1 gap`, `2 gaps`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1st`, `2nd`, `92nd`, `11th`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn print_backtest(
    out: &mut dyn Write,
    path: &str,
    loaded: &Loaded,
    result: &Backtest,
) -> std::io::Result<()> {
    let series: &Series = &loaded.series;
    describe(out, path, loaded)?;
    writeln!(
        out,
        "backtest  {} origins from {}, peak over the next {} steps ({})",
        result.points.len(),
        time::format(result.start_t),
        result.horizon_steps,
        duration(series.interval_s, result.horizon_steps)
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
        "The first row is what `gantry forecast` answers: the model's p50 blended with the baselines by their recent errors, p90 calibrated on recent misses. P90 UNDER: share of origins whose actual peak exceeded p90 (aim: 10%). Baselines' p90 = their forecast + the 90th percentile of their errors before the backtest."
    )
}
