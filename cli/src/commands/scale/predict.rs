//! `gantry scale [TYPE/NAME] --predict`: reads the load (a file, or a Prometheus range
//! query), forecasts its peak over `--horizon` with a forecaster plugin in the sandbox,
//! sizes the replica count from the p90 (`gantry_scale::recommend`), explains it, and,
//! given a target, applies it through the same plan/confirm/apply/wait steps as
//! `gantry scale`. The replica count read from the cluster is the precondition of the
//! write, so a concurrent change fails the write (exit 6) instead of being overwritten.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gantry_forecast::{Forecast, Loaded, PluginModel, PrometheusError, RangeQuery, Settings, time};
use gantry_scale::{
    Applied, DryRun, Plan, Preconditions, Reason, Recommendation, Sizing, SizingError, Waited,
};
use serde::Serialize;

use super::{
    ScaleArgs, WAIT_TIMEOUT, confirm, connect_to_targets, failure, preconditions, report_applied,
    wait_for,
};
use crate::base::{
    self, Context, Exit, Failure, HttpArgs, LimitArgs, SeriesArgs, forecast_failure, number,
    run_options,
};

#[derive(Debug, Args)]
#[command(next_help_heading = "Predictive scaling")]
#[command(mut_arg("token", |token| token.env("GANTRY_PROMETHEUS_TOKEN").hide_env_values(true)))]
// The shared flags mean something here only with the source they serve.
#[command(mut_arg("headers", |a| a.requires("prometheus")))]
#[command(mut_arg("cacert", |a| a.requires("prometheus")))]
#[command(mut_arg("insecure", |a| a.requires("prometheus")))]
#[command(mut_arg("time_column", |a| a.requires("metrics")))]
#[command(mut_arg("value_column", |a| a.requires("metrics")))]
#[command(mut_arg("interval", |a| a.requires("metrics")))]
pub struct PredictArgs {
    /// Size the replica count from a forecast of the load's peak; without TARGET, only
    /// recommend (no cluster needed)
    #[arg(long)]
    pub predict: bool,

    /// The load series: any file `gantry forecast` reads (CSV, JSON, a saved query_range
    /// response); - for stdin
    #[arg(
        long,
        value_name = "FILE",
        requires = "predict",
        conflicts_with = "prometheus"
    )]
    pub metrics: Option<PathBuf>,

    /// Read the load from this Prometheus (its base URL), with --query
    #[arg(long, value_name = "URL", requires_all = ["predict", "query"])]
    pub prometheus: Option<String>,

    /// The load as a PromQL query; it must return one series
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub query: Option<String>,

    /// How much history to ask Prometheus for [default: 14d]
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, requires = "prometheus")]
    pub range: Option<Duration>,

    /// The query's resolution [default: 5m]
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, requires = "prometheus")]
    pub step: Option<Duration>,

    /// The load one replica is meant to carry, in the metric's unit
    #[arg(long, value_name = "X", requires = "predict")]
    pub target_per_replica: Option<f64>,

    /// The fewest replicas to recommend
    #[arg(long, value_name = "N", default_value_t = 1, requires = "predict", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub min: u32,

    /// The most replicas to recommend [default: no limit]
    #[arg(long, value_name = "N", requires = "predict", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub max: Option<u32>,

    /// No change while the forecast peak per current replica is within this fraction
    /// of the target, as HPA does
    #[arg(
        long,
        value_name = "FRACTION",
        default_value_t = 0.1,
        requires = "predict"
    )]
    pub tolerance: f64,

    /// The most one run scales down, in percent of the current replicas
    #[arg(long, value_name = "PCT", default_value_t = 50, requires = "predict", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_scale_down: u8,

    /// How far ahead to forecast the peak
    #[arg(long, value_name = "DUR", default_value = "1h", requires = "predict", value_parser = humantime::parse_duration)]
    pub horizon: Duration,

    /// The forecaster: a plugin name or .wasm file serving the scale.forecast hook
    /// [default: the bundled one]
    #[arg(long, value_name = "PLUGIN", requires = "predict", add = base::plugin_name_candidates())]
    pub forecaster: Option<String>,

    #[command(flatten)]
    pub series: SeriesArgs,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// `--range`, `--step` and the query's `--timeout` when not given.
const RANGE: Duration = Duration::from_secs(14 * 86_400);
const STEP: Duration = Duration::from_secs(300);
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `-o json` document (`gantry.scale.predict/v1`, documented in the README).
#[derive(Debug, Serialize)]
struct Report<'a> {
    target: Option<String>,
    recommended_replicas: i32,
    current_replicas: Option<i32>,
    /// The series' last value: the load now.
    current_load: f64,
    forecast: ForecastSummary<'a>,
    target_per_replica: f64,
    /// `ceil(p90 peak / target per replica)`, before the rules.
    from_forecast: i32,
    /// The p90 peak per current replica, as a fraction of the target.
    current_utilisation: Option<f64>,
    reason: Reason,
    min_replicas: i32,
    max_replicas: Option<i32>,
    tolerance: f64,
    max_scale_down_percent: u8,
    series: SeriesSummary,
    applied: bool,
    dry_run: Option<DryRun>,
    resource_version: Option<String>,
    wait: Option<Waited>,
}

#[derive(Debug, Serialize)]
struct ForecastSummary<'a> {
    p50_peak: f64,
    p90_peak: f64,
    peak_at: i64,
    model: &'a str,
    horizon_s: i64,
    horizon_steps: usize,
}

#[derive(Debug, Serialize)]
struct SeriesSummary {
    source: String,
    samples: usize,
    interval_s: i64,
    last_t: i64,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    Failure::new(Exit::Usage, message).into()
}

fn prometheus_failure(err: PrometheusError) -> anyhow::Error {
    let exit = match &err {
        PrometheusError::Timeout { .. } => Exit::TimedOut,
        e if e.is_usage() => Exit::Usage,
        _ => Exit::Failure,
    };
    let hint = match &err {
        PrometheusError::Timeout { .. } => {
            Some("raise --timeout, or ask for less: a shorter --range or a longer --step")
        }
        PrometheusError::Unreachable { .. } => {
            Some("check the URL and that Prometheus is up (`curl URL/-/ready`)")
        }
        PrometheusError::NoSeries { .. } => {
            Some("try the query in Prometheus's graph page over the same --range")
        }
        _ => None,
    };
    let failure = Failure::new(exit, err.to_string());
    match hint {
        Some(hint) => failure.hint(hint).caused_by(err).into(),
        None => failure.caused_by(err).into(),
    }
}

fn sizing_failure(err: SizingError) -> anyhow::Error {
    let exit = match err {
        SizingError::Forecast(_) => Exit::PluginFault,
        _ => Exit::Usage,
    };
    Failure::new(exit, err.to_string()).into()
}

pub(super) async fn run(args: ScaleArgs, ctx: &Context) -> anyhow::Result<u8> {
    let p = &args.predict;
    let Some(target_per_replica) = p.target_per_replica else {
        return Err(usage(
            "--predict needs --target-per-replica X: the load one replica is meant to carry",
        ));
    };
    if p.metrics.is_none() && p.prometheus.is_none() {
        return Err(usage(
            "--predict needs the load: --metrics FILE, or --prometheus URL --query PROMQL",
        ));
    }
    let dry_run = DryRun::from(args.dry_run);
    if args.targets.is_empty() {
        let needs_target = [
            (args.wait, "--wait"),
            (dry_run != DryRun::None, "--dry-run"),
            (args.current_replicas.is_some(), "--current-replicas"),
            (args.resource_version.is_some(), "--resource-version"),
        ];
        if let Some((_, flag)) = needs_target.iter().find(|(given, _)| *given) {
            return Err(usage(format!(
                "{flag} applies to a target, and --predict without TYPE/NAME only recommends"
            )));
        }
    }
    let mut sizing = Sizing {
        p90_peak: 0.0,
        target_per_replica,
        current_replicas: None,
        min_replicas: p.min as i32,
        max_replicas: p.max.map_or(i32::MAX, |m| m as i32),
        tolerance: p.tolerance,
        max_scale_down_percent: p.max_scale_down,
    };
    // The flags' own mistakes, before anything is read or run.
    gantry_scale::recommend(&sizing).map_err(sizing_failure)?;

    let mut phases = Phases::new(ctx.verbose >= 2);
    // The read that the write will be conditional on.
    let cluster = if args.targets.is_empty() {
        None
    } else {
        let (conn, targets) = connect_to_targets(&args, None, false).await?;
        if targets.len() != 1 {
            return Err(usage(format!(
                "--predict sizes one target, and {} were given",
                targets.len()
            )));
        }
        let plans = gantry_scale::scale::plan(&conn, &targets, 0, &preconditions(&args))
            .await
            .map_err(failure)?;
        let Some(plan) = plans.into_iter().next() else {
            return Err(usage("--predict needs a target to size"));
        };
        Some((conn, plan))
    };
    sizing.current_replicas = cluster.as_ref().map(|(_, plan)| plan.before);
    if cluster.is_some() {
        phases.done("read");
    }

    let (loaded, source) = load(&args).await?;
    phases.done("load");
    let series = &loaded.series;
    let horizon_steps = horizon_steps(p.horizon, series.interval_s, p.forecaster.is_none())?;
    let host = base::host(ctx)?;
    let opts = run_options(ctx, &LimitArgs::default());
    let plugin = base::forecaster(&host, p.forecaster.as_deref(), &opts)?;
    let model = PluginModel {
        host: &host,
        plugin: &plugin,
        opts,
    };
    let forecast = gantry_forecast::forecast(&model, series, horizon_steps, &Settings::default())
        .map_err(forecast_failure)?;
    phases.done("forecast");
    sizing.p90_peak = forecast.p90_peak;
    let recommendation = gantry_scale::recommend(&sizing).map_err(sizing_failure)?;
    let current_load = series.values.last().copied().unwrap_or(0.0);

    let mut report = Report {
        target: cluster.as_ref().map(|(_, plan)| plan.target.to_string()),
        recommended_replicas: recommendation.replicas,
        current_replicas: sizing.current_replicas,
        current_load,
        forecast: ForecastSummary {
            p50_peak: forecast.p50_peak,
            p90_peak: forecast.p90_peak,
            peak_at: forecast.peak_at,
            model: &forecast.model,
            horizon_s: series.interval_s * horizon_steps as i64,
            horizon_steps,
        },
        target_per_replica,
        from_forecast: recommendation.from_forecast,
        current_utilisation: recommendation.current_utilisation,
        reason: recommendation.reason,
        min_replicas: sizing.min_replicas,
        max_replicas: p.max.map(|m| m as i32),
        tolerance: sizing.tolerance,
        max_scale_down_percent: sizing.max_scale_down_percent,
        series: SeriesSummary {
            source: source.clone(),
            samples: series.len(),
            interval_s: series.interval_s,
            last_t: series.last_t(),
        },
        applied: false,
        dry_run: None,
        resource_version: None,
        wait: None,
    };
    if !ctx.json() {
        explain(
            &mut ctx.out(),
            &source,
            &loaded,
            &forecast,
            &sizing,
            &recommendation,
            cluster.as_ref().map(|(_, plan)| plan),
        )?;
    }

    let Some((conn, mut plan)) = cluster else {
        if ctx.json() {
            base::write_json(&mut ctx.out(), "gantry.scale.predict/v1", &report)?;
        }
        phases.report();
        return Ok(Exit::Success.code());
    };
    plan.after = recommendation.replicas;
    report.dry_run = Some(dry_run);
    if plan.after == plan.before {
        if ctx.json() {
            base::write_json(&mut ctx.out(), "gantry.scale.predict/v1", &report)?;
        } else {
            writeln!(
                ctx.out(),
                "{} stays at {} replicas: nothing to change",
                plan.target,
                plan.before
            )?;
        }
        phases.report();
        return Ok(Exit::Success.code());
    }
    if dry_run == DryRun::None && !args.yes {
        confirm(&[format!(
            "{} would scale from {} to {} replicas",
            plan.target, plan.before, plan.after
        )])?;
    }
    // The replica count read above is the precondition: if another writer changed it
    // since, the write fails rather than overwrite it.
    let conditions = Preconditions {
        current_replicas: Some(plan.before),
        resource_version: args.resource_version.clone(),
    };
    let done: Applied = gantry_scale::scale::apply(&conn, &plan, &conditions, dry_run)
        .await
        .map_err(failure)?;
    phases.done("apply");
    if !ctx.json() {
        report_applied(&mut ctx.out(), &done, dry_run)?;
    }
    report.applied = dry_run == DryRun::None;
    report.resource_version = done.resource_version.clone();
    let mut timed_out = None;
    if args.wait && dry_run == DryRun::None {
        let plans: [Plan; 1] = [plan];
        let (mut results, late) =
            wait_for(ctx, &conn, &plans, args.timeout.unwrap_or(WAIT_TIMEOUT)).await?;
        report.wait = results.pop();
        timed_out = late;
        phases.done("wait");
    }
    if ctx.json() {
        base::write_json(&mut ctx.out(), "gantry.scale.predict/v1", &report)?;
    }
    phases.report();
    match timed_out {
        Some(late) => Err(late.into()),
        None => Ok(Exit::Success.code()),
    }
}

/// Where the time went, on stderr with `-vv`: what the benchmarks break down by.
struct Phases {
    show: bool,
    last: std::time::Instant,
    spent: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn new(show: bool) -> Self {
        Phases {
            show,
            last: std::time::Instant::now(),
            spent: Vec::new(),
        }
    }

    /// Ends the phase `name`, which began when the previous one ended.
    fn done(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.spent.push((name, now - self.last));
        self.last = now;
    }

    fn report(&self) {
        if self.show {
            let parts: Vec<String> = self
                .spent
                .iter()
                .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1e3))
                .collect();
            eprintln!("timing: {}", parts.join(", "));
        }
    }
}

/// The series, from `--metrics` or `--prometheus`, and how to name its source.
async fn load(args: &ScaleArgs) -> anyhow::Result<(Loaded, String)> {
    let p = &args.predict;
    let read = p
        .series
        .read_options(Some(gantry_forecast::KEEP_FOR_FORECAST));
    if let Some(path) = &p.metrics {
        let loaded = gantry_forecast::load(path, &read).map_err(|e| forecast_failure(e.into()))?;
        let source = if path.as_os_str() == "-" {
            "stdin".to_string()
        } else {
            path.display().to_string()
        };
        return Ok((loaded, source));
    }
    let (Some(url), Some(query)) = (&p.prometheus, &p.query) else {
        return Err(usage("--prometheus needs --query PROMQL"));
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let range_query = RangeQuery {
        url: url.clone(),
        query: query.clone(),
        range: p.range.unwrap_or(RANGE),
        step: p.step.unwrap_or(STEP),
        end: now,
        timeout: args.timeout.unwrap_or(QUERY_TIMEOUT),
    };
    let loaded =
        gantry_forecast::prometheus::query_range(p.http.client_config(), &range_query, &read)
            .await
            .map_err(prometheus_failure)?;
    Ok((loaded, format!("{query} at {}", url.trim_end_matches('/'))))
}

/// `--horizon` in steps of the series' interval, rounded up; the bundled forecaster
/// reaches at most [`gantry_forecast::MAX_HORIZON`] steps.
fn horizon_steps(horizon: Duration, interval_s: i64, bundled: bool) -> anyhow::Result<usize> {
    let interval_s = interval_s.max(1) as u64;
    let steps = horizon.as_secs().div_ceil(interval_s).max(1) as usize;
    if bundled && steps > gantry_forecast::MAX_HORIZON {
        let most = Duration::from_secs(interval_s * gantry_forecast::MAX_HORIZON as u64);
        return Err(Failure::new(
            Exit::Usage,
            format!(
                "--horizon {} is {steps} steps of {}, and the bundled forecaster looks at most {} steps ({}) ahead",
                humantime::format_duration(horizon),
                humantime::format_duration(Duration::from_secs(interval_s)),
                gantry_forecast::MAX_HORIZON,
                humantime::format_duration(most),
            ),
        )
        .hint("shorten --horizon, or use a coarser series (a longer --step or --interval)")
        .into());
    }
    Ok(steps)
}

fn duration(seconds: i64) -> String {
    humantime::format_duration(Duration::from_secs(seconds.max(0) as u64)).to_string()
}

fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// The recommendation in words: the load now, the forecast, the capacity, the answer,
/// and which rule decided it.
fn explain(
    out: &mut dyn Write,
    source: &str,
    loaded: &Loaded,
    forecast: &Forecast,
    sizing: &Sizing,
    rec: &Recommendation,
    plan: Option<&Plan>,
) -> std::io::Result<()> {
    let series = &loaded.series;
    let current_load = series.values.last().copied().unwrap_or(0.0);
    let span = if series.timed {
        format!(" up to {}", time::format(series.last_t()))
    } else {
        String::new()
    };
    writeln!(
        out,
        "load       {source}: {} samples every {}{span}",
        series.len(),
        duration(series.interval_s)
    )?;
    for note in &loaded.notes {
        writeln!(out, "note       {note}")?;
    }
    let target = sizing.target_per_replica;
    match (plan, sizing.current_replicas) {
        (Some(plan), Some(current)) if current > 0 => writeln!(
            out,
            "now        {} has {current} replicas; the load is {} ({} per replica, {} of the target)",
            plan.target,
            number(current_load),
            number(current_load / f64::from(current)),
            percent(current_load / f64::from(current) / target)
        )?,
        (Some(plan), _) => writeln!(
            out,
            "now        {} has 0 replicas; the load is {}",
            plan.target,
            number(current_load)
        )?,
        (None, _) => writeln!(out, "now        the load is {}", number(current_load))?,
    }
    let ahead = forecast.peak_at - series.last_t();
    let when = if series.timed {
        format!(
            "{} ({} ahead)",
            time::format(forecast.peak_at),
            duration(ahead)
        )
    } else {
        format!("{} after the last sample", duration(ahead))
    };
    writeln!(
        out,
        "forecast   peak over the next {}: p50 {}, p90 {}, expected at {when} ({})",
        duration(series.interval_s * forecast.horizon_steps as i64),
        number(forecast.p50_peak),
        number(forecast.p90_peak),
        forecast.model
    )?;
    writeln!(
        out,
        "capacity   {} per replica: the p90 peak needs ceil({} / {}) = {} replicas",
        number(target),
        number(forecast.p90_peak),
        number(target),
        rec.from_forecast
    )?;
    let reason = match rec.reason {
        Reason::Forecast => "sized from the p90 peak".to_string(),
        Reason::WithinTolerance => format!(
            "on the current {} replicas the p90 peak is {} of the target, within the {} tolerance (--tolerance): no change",
            sizing.current_replicas.unwrap_or(0),
            percent(rec.current_utilisation.unwrap_or(1.0)),
            percent(sizing.tolerance)
        ),
        Reason::ClampedToMin => format!(
            "the forecast asks for {}, raised to --min {}",
            rec.from_forecast, sizing.min_replicas
        ),
        Reason::ClampedToMax => format!(
            "the forecast asks for {}, lowered to --max {}",
            rec.from_forecast, sizing.max_replicas
        ),
        Reason::ScaleDownLimited => format!(
            "the forecast asks for {}, but one run scales down by at most {}% of {} (--max-scale-down)",
            rec.from_forecast,
            sizing.max_scale_down_percent,
            sizing.current_replicas.unwrap_or(0)
        ),
    };
    writeln!(out, "recommend  {} replicas: {reason}", rec.replicas)
}
