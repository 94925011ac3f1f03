//! `gantry scale`: kubectl-grade scaling (targets, preconditions, dry runs) with a
//! confirmation for risky changes and `--wait` shown as one progress bar per target.
//! The work is done by the `gantry-scale` crate; this module parses, asks, and renders.

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

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// TYPE/NAME... (deployment/web, sts/db, widgets.example.com/w), kubectl's
    /// TYPE NAME..., or a TYPE alone with -l or --all
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,

    /// The replica count to set
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub replicas: u32,

    /// Scale every object of TYPE matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "all")]
    pub selector: Option<String>,

    /// Scale every object of TYPE in the namespace
    #[arg(long)]
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

    /// How long --wait may take (exit code 4 after it)
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, default_value = "5m", requires = "wait")]
    pub timeout: Duration,

    /// Scale to 0 or by more than 50% without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
}

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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args, ctx))
}

async fn run_async(args: ScaleArgs, ctx: &Context) -> anyhow::Result<u8> {
    let requests = gantry_scale::target::parse(&args.targets, args.selector.as_deref(), args.all)
        .map_err(failure)?;
    let conn = gantry_scale::connect(&ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
    })
    .await
    .map_err(failure)?;
    let targets = gantry_scale::target::resolve(&conn, &requests)
        .await
        .map_err(failure)?;
    let preconditions = Preconditions {
        current_replicas: args.current_replicas.map(|n| n as i32),
        resource_version: args.resource_version.clone(),
    };
    let replicas = args.replicas as i32;
    let plans = gantry_scale::scale::plan(&conn, &targets, replicas, &preconditions)
        .await
        .map_err(failure)?;
    let dry_run = DryRun::from(args.dry_run);
    if dry_run == DryRun::None && !args.yes {
        confirm(&plans)?;
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
    if args.wait && dry_run == DryRun::None {
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
            gantry_scale::wait::wait_all(&conn, &waitables, Some(args.timeout), |u| view.update(u))
                .await;
        view.finish();
        let results = results.map_err(failure)?;
        let timed_out = results.iter().any(|w| w.outcome == Outcome::TimedOut);
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
        if timed_out {
            let summary = names
                .iter()
                .zip(&results)
                .filter(|(_, w)| w.outcome == Outcome::TimedOut)
                .map(|(name, w)| not_ready(name, w))
                .collect::<Vec<_>>();
            if ctx.json() {
                print_json(
                    ctx,
                    &applied,
                    dry_run,
                    results.into_iter().map(Some).collect(),
                )?;
            }
            return Err(Failure::new(
                Exit::TimedOut,
                format!(
                    "timed out after {} waiting for {} of {} targets: {}",
                    humantime::format_duration(args.timeout),
                    summary.len(),
                    names.len(),
                    summary.join("; ")
                ),
            )
            .hint("raise --timeout, or look at the pods named above")
            .into());
        }
        waited = results.into_iter().map(Some).collect();
    }
    if ctx.json() {
        print_json(ctx, &applied, dry_run, waited)?;
    }
    Ok(Exit::Success.code())
}

/// Asks before scaling to 0 or by more than half; refuses without a terminal.
fn confirm(plans: &[Plan]) -> anyhow::Result<()> {
    let risks: Vec<String> = plans.iter().filter_map(Plan::risk).collect();
    if risks.is_empty() {
        return Ok(());
    }
    if !base::interactive() {
        return Err(Failure::new(
            Exit::Refused,
            format!(
                "refusing to scale without confirmation: {} (no terminal to ask on)",
                risks.join("; ")
            ),
        )
        .hint("pass --yes to confirm")
        .into());
    }
    let prompt = format!("{}. Continue?", risks.join("; "));
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
