//! `gantry scale`: kubectl-grade scaling (targets, preconditions, dry runs) with a
//! confirmation for risky changes and `--wait` shown as one progress bar per target;
//! and `--predict` (in `predict`), which sizes the replica count from a load forecast
//! and applies it through the same steps. The work is done by the `gantry-scale` and
//! `gantry-forecast` crates; this module parses, asks, and renders.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use gantry_scale::{
    Applied, ClientOptions, DryRun, ErrorKind, Outcome, Plan, Preconditions, Progress, Update,
    Waitable, Waited,
};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::base::{self, Context, Exit, Failure};

mod predict;

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// TYPE/NAME... (deployment/web, sts/db, widgets.example.com/w), kubectl's
    /// TYPE NAME..., or a TYPE alone with -l or --all; with --predict, one TYPE/NAME or none
    #[arg(value_name = "TARGET", required_unless_present = "predict")]
    pub targets: Vec<String>,

    /// The replica count to set
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64), required_unless_present = "predict", conflicts_with = "predict")]
    pub replicas: Option<u32>,

    /// Scale every object of TYPE matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with_all = ["all", "predict"])]
    pub selector: Option<String>,

    /// Scale every object of TYPE in the namespace
    #[arg(long, conflicts_with = "predict")]
    pub all: bool,

    /// Namespace [default: the context's, else `default`]
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Kubeconfig context to use
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,

    /// Kubeconfig file [default: $KUBECONFIG (several files merge), else ~/.kube/config,
    /// else the in-cluster service account]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Only scale if the current replica count is N
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub current_replicas: Option<u32>,

    /// Only scale if the object's resourceVersion is RV (one target only)
    #[arg(long, value_name = "RV")]
    pub resource_version: Option<String>,

    /// Show the change instead of making it: `client` sends nothing, `server` has the
    /// API server validate and admit it (dryRun=All)
    #[arg(long, value_enum, value_name = "MODE", default_value_t = DryRunArg::None)]
    pub dry_run: DryRunArg,

    /// Watch the targets until their rollout is complete
    #[arg(long)]
    pub wait: bool,

    /// How long --wait may take (exit code 4 after it) [default: 5m]; with --prometheus,
    /// also how long the query may take [default: 30s]
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,

    /// Scale to 0 or by more than 50% without asking; with --predict, apply the
    /// recommendation without asking
    #[arg(short = 'y', long)]
    pub yes: bool,

    #[command(flatten)]
    pub predict: predict::PredictArgs,
}

/// `--wait`'s default deadline.
const WAIT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    None,
    Client,
    Server,
}

impl From<DryRunArg> for DryRun {
    fn from(d: DryRunArg) -> Self {
        match d {
            DryRunArg::None => DryRun::None,
            DryRunArg::Client => DryRun::Client,
            DryRunArg::Server => DryRun::Server,
        }
    }
}

/// One target's line in `-o json` (the schema is documented in the README).
#[derive(Debug, Serialize)]
struct TargetResult {
    target: String,
    kind: String,
    group: String,
    namespace: String,
    name: String,
    before: i32,
    after: i32,
    dry_run: DryRun,
    resource_version: Option<String>,
    wait: Option<Waited>,
}

fn failure(err: gantry_scale::Error) -> anyhow::Error {
    let exit = match err.kind() {
        ErrorKind::Usage => Exit::Usage,
        ErrorKind::Precondition => Exit::Precondition,
        ErrorKind::Failure => Exit::Failure,
    };
    let mut f = Failure::new(exit, err.to_string());
    if let Some(hint) = err.hint() {
        f = f.hint(hint);
    }
    f.caused_by(err).into()
}

pub fn run(args: ScaleArgs, ctx: &Context) -> anyhow::Result<u8> {
    if args.timeout.is_some() && !args.wait && args.predict.prometheus.is_none() {
        return Err(Failure::new(
            Exit::Usage,
            "--timeout bounds --wait (and, with --predict, the --prometheus query), and neither is given",
        )
        .hint("add --wait, or drop --timeout")
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = if args.predict.predict {
        runtime.block_on(predict::run(args, ctx))
    } else {
        runtime.block_on(run_async(args, ctx))
    };
    // A DNS lookup whose answer was lost holds a blocking thread until the resolver's
    // 5 s retry; its answer no longer matters, so the exit does not wait for it.
    runtime.shutdown_background();
    result
}

/// Reads the targets named on the command line, connects, and resolves them.
async fn connect_to_targets(
    args: &ScaleArgs,
    selector: Option<&str>,
    all: bool,
) -> anyhow::Result<(gantry_scale::Connection, Vec<gantry_scale::Target>)> {
    let requests = gantry_scale::target::parse(&args.targets, selector, all).map_err(failure)?;
    let conn = gantry_scale::connect(&client_options(args))
        .await
        .map_err(failure)?;
    let targets = gantry_scale::target::resolve(&conn, &requests)
        .await
        .map_err(failure)?;
    Ok((conn, targets))
}

fn client_options(args: &ScaleArgs) -> ClientOptions {
    ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
    }
}

fn preconditions(args: &ScaleArgs) -> Preconditions {
    Preconditions {
        current_replicas: args.current_replicas.map(|n| n as i32),
        resource_version: args.resource_version.clone(),
    }
}

async fn run_async(args: ScaleArgs, ctx: &Context) -> anyhow::Result<u8> {
    let Some(replicas) = args.replicas else {
        return Err(Failure::new(Exit::Usage, "--replicas N is required (or --predict)").into());
    };
    let (conn, targets) = connect_to_targets(&args, args.selector.as_deref(), args.all).await?;
    let preconditions = preconditions(&args);
    let plans = gantry_scale::scale::plan(&conn, &targets, replicas as i32, &preconditions)
        .await
        .map_err(failure)?;
    let dry_run = DryRun::from(args.dry_run);
    if dry_run == DryRun::None && !args.yes {
        confirm(&plans.iter().filter_map(Plan::risk).collect::<Vec<_>>())?;
    }

    let mut applied = Vec::with_capacity(plans.len());
    for plan in &plans {
        let done = gantry_scale::scale::apply(&conn, plan, &preconditions, dry_run)
            .await
            .map_err(failure)?;
        if !ctx.json() {
            report_applied(&mut ctx.out(), &done, dry_run)?;
        }
        applied.push(done);
    }

    let mut waited: Vec<Option<Waited>> = vec![None; applied.len()];
    let mut timed_out = None;
    if args.wait && dry_run == DryRun::None {
        let (results, late) =
            wait_for(ctx, &conn, &plans, args.timeout.unwrap_or(WAIT_TIMEOUT)).await?;
        waited = results.into_iter().map(Some).collect();
        timed_out = late;
    }
    if ctx.json() {
        print_json(ctx, &applied, dry_run, waited)?;
    }
    match timed_out {
        Some(late) => Err(late.into()),
        None => Ok(Exit::Success.code()),
    }
}

/// Watches the planned targets until their rollouts complete or `timeout` passes,
/// showing progress and, in table output, each completion. Returns every target's
/// result, and the error to end with when some did not complete in time (after the
/// caller has printed its JSON).
async fn wait_for(
    ctx: &Context,
    conn: &gantry_scale::Connection,
    plans: &[Plan],
    timeout: Duration,
) -> anyhow::Result<(Vec<Waited>, Option<Failure>)> {
    let waitables: Vec<Waitable> = plans
        .iter()
        .map(|p| Waitable {
            target: p.target.clone(),
            selector: p.selector.clone(),
        })
        .collect();
    let names: Vec<String> = plans.iter().map(|p| p.target.to_string()).collect();
    let mut view = WaitView::new(&names, !ctx.json() && !ctx.quiet);
    let results =
        gantry_scale::wait::wait_all(conn, &waitables, Some(timeout), |u| view.update(u)).await;
    view.finish();
    let results = results.map_err(failure)?;
    if !ctx.json() {
        let mut out = ctx.out();
        for (name, w) in names.iter().zip(&results) {
            if w.outcome == Outcome::Complete {
                writeln!(
                    out,
                    "{name} complete: {}/{} ready ({:.1} s)",
                    w.progress.ready, w.progress.desired, w.seconds
                )?;
            }
        }
    }
    let late: Vec<String> = names
        .iter()
        .zip(&results)
        .filter(|(_, w)| w.outcome == Outcome::TimedOut)
        .map(|(name, w)| not_ready(name, w))
        .collect();
    let timed_out = (!late.is_empty()).then(|| {
        Failure::new(
            Exit::TimedOut,
            format!(
                "timed out after {} waiting for {} of {} targets: {}",
                humantime::format_duration(timeout),
                late.len(),
                names.len(),
                late.join("; ")
            ),
        )
        .hint("raise --timeout, or look at the pods named above")
    });
    Ok((results, timed_out))
}

/// Asks before the changes described in `changes` (none: nothing to ask); refuses
/// without a terminal.
fn confirm(changes: &[String]) -> anyhow::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    if !base::interactive() {
        return Err(Failure::new(
            Exit::Refused,
            format!(
                "refusing to scale without confirmation: {} (no terminal to ask on)",
                changes.join("; ")
            ),
        )
        .hint("pass --yes to confirm")
        .into());
    }
    let prompt = format!("{}. Continue?", changes.join("; "));
    if base::confirm(&prompt)? {
        Ok(())
    } else {
        Err(Failure::new(Exit::Refused, "declined: nothing was changed").into())
    }
}

fn report_applied(out: &mut dyn Write, done: &Applied, dry_run: DryRun) -> std::io::Result<()> {
    let target = &done.plan.target;
    match dry_run {
        DryRun::None if done.plan.before == done.after => {
            writeln!(out, "{target} unchanged at {} replicas", done.after)
        }
        DryRun::None => writeln!(
            out,
            "{target} scaled from {} to {} replicas",
            done.plan.before, done.after
        ),
        DryRun::Client | DryRun::Server => {
            let mode = if dry_run == DryRun::Client {
                "client"
            } else {
                "server"
            };
            writeln!(out, "{target} (dry run: {mode})")?;
            if done.plan.before == done.after {
                writeln!(out, "   spec.replicas: {}", done.after)
            } else {
                writeln!(out, "-  spec.replicas: {}", done.plan.before)?;
                writeln!(out, "+  spec.replicas: {}", done.after)
            }
        }
    }
}

fn not_ready(name: &str, w: &Waited) -> String {
    let p = &w.progress;
    let mut s = format!(
        "{name} ({}/{} ready, {} updated, {} available: {})",
        p.ready, p.desired, p.updated, p.available, p.message
    );
    let reasons: BTreeSet<String> = w
        .problems
        .iter()
        .map(|pr| format!("pod {} {}", pr.pod, pr.reason))
        .collect();
    if !reasons.is_empty() {
        s.push_str(&format!(
            " [{}]",
            reasons.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    s
}

fn print_json(
    ctx: &Context,
    applied: &[Applied],
    dry_run: DryRun,
    waited: Vec<Option<Waited>>,
) -> anyhow::Result<()> {
    let results: Vec<TargetResult> = applied
        .iter()
        .zip(waited)
        .map(|(a, wait)| {
            let t = &a.plan.target;
            TargetResult {
                target: t.to_string(),
                kind: t.resource.api.kind.clone(),
                group: t.resource.api.group.clone(),
                namespace: t.namespace.clone(),
                name: t.name.clone(),
                before: a.plan.before,
                after: a.after,
                dry_run,
                resource_version: a.resource_version.clone(),
                wait,
            }
        })
        .collect();
    base::write_json(
        &mut ctx.out(),
        "gantry.scale/v1",
        &serde_json::json!({ "results": results }),
    )
}

/// Progress while waiting: bars on a terminal, one log line per change elsewhere.
struct WaitView {
    names: Vec<String>,
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    show: bool,
    last: Vec<Option<Progress>>,
    seen_problems: BTreeSet<(usize, String, String)>,
}

impl WaitView {
    fn new(names: &[String], show: bool) -> Self {
        let bars = (show && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {prefix:.bold} [{bar:25}] {pos}/{len} available {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bars = names
                .iter()
                .map(|n| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(style.clone());
                    bar.set_prefix(n.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                })
                .collect();
            (multi, bars)
        });
        WaitView {
            names: names.to_vec(),
            bars,
            show,
            last: vec![None; names.len()],
            seen_problems: BTreeSet::new(),
        }
    }

    fn update(&mut self, update: &Update) {
        if !self.show {
            return;
        }
        match update {
            Update::Progress { index, progress } => {
                if self.last[*index].as_ref() == Some(progress) {
                    return;
                }
                self.last[*index] = Some(progress.clone());
                let counts = format!(
                    "ready {}/{} updated {} available {}",
                    progress.ready, progress.desired, progress.updated, progress.available
                );
                match &self.bars {
                    Some((_, bars)) => {
                        let bar = &bars[*index];
                        bar.set_length(progress.desired.max(0) as u64);
                        bar.set_position(progress.available.max(0) as u64);
                        bar.set_message(format!("{counts}  {}", progress.message));
                        if progress.complete {
                            bar.finish();
                        }
                    }
                    None => eprintln!("{}: {counts} ({})", self.names[*index], progress.message),
                }
            }
            Update::Problems { index, problems } => {
                for p in problems {
                    let key = (*index, p.pod.clone(), p.reason.clone());
                    if self.seen_problems.insert(key) {
                        let line = format!(
                            "{}: pod {} {}: {}",
                            self.names[*index], p.pod, p.reason, p.message
                        );
                        match &self.bars {
                            Some((multi, _)) => {
                                let _ = multi.println(format!("warning: {line}"));
                            }
                            None => base::warn_line(&line),
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars {
                bar.abandon();
            }
        }
    }
}
