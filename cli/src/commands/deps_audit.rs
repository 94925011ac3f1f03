//! `gantry deps-audit [PATH]`: which dependencies of a Go, Cargo or npm project have
//! updates, which updates break compatibility, and which versions are yanked,
//! retracted, deprecated or vulnerable. The work is done by the `gantry-deps` crate;
//! this module parses flags, draws progress on a terminal, renders the report (table,
//! JSON or SARIF) and turns `--fail-on` into the exit code.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use gantry_deps::{
    AuditOptions, Dependency, Ecosystem, FailOn, OsvSource, Progress, Report, UpdateKind,
};
use gantry_http::{CacheConfig, Client, ClientConfig};

use crate::base::{Context, Exit, Failure, OutputFormat, error_line, table, warn_line};

#[derive(Debug, Args)]
pub struct DepsAuditArgs {
    /// A project folder, or its go.mod, Cargo.lock or package-lock.json
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,

    /// Audit only this ecosystem (default: every project found in PATH)
    #[arg(long, value_enum)]
    pub ecosystem: Option<EcosystemArg>,

    /// Answer from the HTTP cache only; answers past their freshness are marked stale
    #[arg(long)]
    pub offline: bool,

    /// Match vulnerabilities against an offline OSV database: all.zip, or a folder of
    /// advisories (or of per-ecosystem folders)
    #[arg(long, value_name = "DIR|ZIP")]
    pub osv_db: Option<PathBuf>,

    /// The OSV API to ask when there is no --osv-db
    #[arg(long, value_name = "URL", env = "GANTRY_OSV_URL", default_value = gantry_deps::osv::DEFAULT_API)]
    pub osv_url: String,

    /// The sparse index for crates.io packages [default: cargo's configuration, else
    /// https://index.crates.io/]
    #[arg(long, value_name = "URL")]
    pub cargo_index: Option<String>,

    /// Exit with code 5 when a dependency meets this policy (repeatable)
    #[arg(long, value_enum, value_name = "POLICY", value_delimiter = ',')]
    pub fail_on: Vec<FailOnArg>,

    /// How long one registry request may take
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EcosystemArg {
    Go,
    Cargo,
    Npm,
}

/// Which findings fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// A known vulnerability (informational advisories do not count)
    Vuln,
    /// An update that breaks compatibility
    Major,
    /// A yanked (Cargo) or retracted (Go) current version
    Yanked,
    /// A deprecated dependency
    Deprecated,
    /// Any of these, or any available update
    Any,
}

impl From<FailOnArg> for FailOn {
    fn from(arg: FailOnArg) -> FailOn {
        match arg {
            FailOnArg::Vuln => FailOn::Vuln,
            FailOnArg::Major => FailOn::Major,
            FailOnArg::Yanked => FailOn::Yanked,
            FailOnArg::Deprecated => FailOn::Deprecated,
            FailOnArg::Any => FailOn::Any,
        }
    }
}

/// A progress bar on stderr, one length per ecosystem.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, ecosystem: Ecosystem, total: usize) {
        self.0.set_position(0);
        self.0.set_length(total as u64);
        self.0.set_message(format!("{ecosystem} dependencies"));
    }

    fn advance(&self) {
        self.0.inc(1);
    }
}

pub fn run(args: DepsAuditArgs, ctx: &Context) -> anyhow::Result<u8> {
    let cache_dir = CacheConfig::default_dir().ok_or_else(|| {
        Failure::new(Exit::Usage, "no cache folder: set GANTRY_CACHE_DIR or HOME")
    })?;
    let mut cache = CacheConfig::new(cache_dir);
    cache.offline = args.offline;
    let config = ClientConfig {
        read_timeout: args.timeout,
        request_timeout: args.timeout,
        cache: Some(cache),
        ..ClientConfig::default()
    };
    let client = Client::new(config).map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
    let mut options = AuditOptions::new(&args.path);
    options.ecosystem = args.ecosystem.map(|e| match e {
        EcosystemArg::Go => Ecosystem::Go,
        EcosystemArg::Cargo => Ecosystem::Cargo,
        EcosystemArg::Npm => Ecosystem::Npm,
    });
    options.osv = match &args.osv_db {
        Some(path) => OsvSource::Database(path.clone()),
        None => OsvSource::Api(args.osv_url.clone()),
    };
    options.cargo_index = args.cargo_index.clone();

    let bar = (std::io::stderr().is_terminal() && !ctx.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => Arc::new(Bar(bar.clone())),
        None => Arc::new(gantry_deps::NoProgress),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(gantry_deps::audit(&options, client, progress));
    // A DNS lookup whose answer was lost holds a blocking thread until the resolver's
    // 5 s retry; its answer no longer matters, so the exit does not wait for it.
    runtime.shutdown_background();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result.map_err(|e| {
        let exit = if e.is_usage() {
            Exit::Usage
        } else {
            Exit::Failure
        };
        Failure::new(exit, e.to_string())
    })?;

    for warning in &report.warnings {
        if !ctx.quiet {
            warn_line(warning);
        }
    }
    let mut out = ctx.out();
    match ctx.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Sarif => {
            let sarif = gantry_deps::sarif::to_sarif(&report, env!("CARGO_PKG_VERSION"));
            serde_json::to_writer_pretty(&mut out, &sarif)?;
            writeln!(out)?;
        }
        OutputFormat::Table => render_table(&mut out, &report, ctx.verbose > 0)?,
    }
    out.flush()?;
    drop(out);

    let policies: Vec<FailOn> = args.fail_on.iter().map(|&p| p.into()).collect();
    let matched = report
        .dependencies
        .iter()
        .filter(|d| policies.iter().any(|p| p.matches(d)))
        .count();
    if matched > 0 {
        if !ctx.quiet {
            error_line(
                &format!(
                    "{matched} {} the --fail-on policy",
                    if matched == 1 {
                        "dependency meets"
                    } else {
                        "dependencies meet"
                    }
                ),
                None,
                &[],
            );
        }
        return Ok(Exit::Findings.code());
    }
    let failed = report
        .dependencies
        .iter()
        .filter(|d| d.error.is_some())
        .count();
    if let Some(error) = &report.osv.error {
        return Err(Failure::new(Exit::Failure, error.clone()).into());
    }
    if failed > 0 {
        return Err(Failure::new(
            Exit::Failure,
            format!(
                "{failed} {} could not be checked (see the error fields)",
                if failed == 1 {
                    "dependency"
                } else {
                    "dependencies"
                }
            ),
        )
        .hint(if args.offline {
            "the cache lacks these answers: run once without --offline to fill it"
        } else {
            "a registry or the network failed; --offline answers from the cache"
        })
        .into());
    }
    Ok(Exit::Success.code())
}

/// The colour of a row on a terminal: red for vulnerable, yanked, retracted or a major
/// update; yellow for minor or deprecated; green for patch; magenta when not checked.
/// Whole rendered lines are styled, so the escape codes never upset column widths.
fn row_style(dep: &Dependency) -> anstyle::Style {
    use anstyle::AnsiColor;
    let colour = if dep.vulnerable() || dep.yanked || dep.retracted {
        Some(AnsiColor::Red)
    } else if dep.error.is_some() {
        Some(AnsiColor::Magenta)
    } else {
        match dep.update {
            UpdateKind::Major => Some(AnsiColor::Red),
            UpdateKind::Minor => Some(AnsiColor::Yellow),
            _ if dep.deprecated.is_some() => Some(AnsiColor::Yellow),
            UpdateKind::Patch => Some(AnsiColor::Green),
            UpdateKind::Unknown => Some(AnsiColor::Magenta),
            UpdateKind::None => None,
        }
    };
    anstyle::Style::new().fg_color(colour.map(Into::into))
}

fn notes(dep: &Dependency) -> String {
    let mut notes = Vec::new();
    if dep.yanked {
        notes.push("yanked".to_string());
    }
    if dep.retracted {
        notes.push(format!("retracted: {}", dep.retraction.join("; ")));
    }
    if let Some(message) = &dep.deprecated {
        notes.push(format!("deprecated: {message}"));
    }
    if let Some(error) = &dep.error {
        notes.push(format!("error: {error}"));
    } else if let Some(note) = &dep.note {
        notes.push(note.clone());
    }
    if dep.stale {
        notes.push("stale (from the cache)".into());
    }
    // One line per row: a deprecation message may span lines.
    notes
        .join("; ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The advisories on one line: the worst two (by CVSS score), then how many more.
fn vulns(dep: &Dependency) -> String {
    let Some(list) = &dep.vulnerabilities else {
        return "not checked".into();
    };
    let mut sorted: Vec<_> = list.iter().collect();
    let score =
        |v: &gantry_deps::Vulnerability| v.severity.as_ref().and_then(|s| s.score).unwrap_or(0.0);
    sorted.sort_by(|a, b| score(b).total_cmp(&score(a)).then_with(|| a.id.cmp(&b.id)));
    let mut shown: Vec<String> = sorted
        .iter()
        .take(2)
        .map(
            |v| match v.severity.as_ref().map(|s| (s.score, s.rating.as_deref())) {
                Some((Some(score), _)) => format!("{} ({score:.1})", v.id),
                Some((None, Some(rating))) => format!("{} ({rating})", v.id),
                _ => v.id.clone(),
            },
        )
        .collect();
    if sorted.len() > 2 {
        shown.push(format!("+{} more", sorted.len() - 2));
    }
    shown.join(", ")
}

/// Worth a row: anything but a checked, up-to-date, unflagged dependency.
fn noteworthy(dep: &Dependency) -> bool {
    dep.update != UpdateKind::None
        || dep.yanked
        || dep.retracted
        || dep.deprecated.is_some()
        || dep.error.is_some()
        || dep.vulnerabilities.as_ref().is_some_and(|v| !v.is_empty())
}

fn render_table(out: &mut dyn std::io::Write, report: &Report, all: bool) -> std::io::Result<()> {
    let styled = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    for project in &report.projects {
        let deps: Vec<&Dependency> = report
            .dependencies
            .iter()
            .filter(|d| d.ecosystem == project.ecosystem && same_project(d, project))
            .collect();
        let shown: Vec<&&Dependency> = deps.iter().filter(|d| all || noteworthy(d)).collect();
        let count = |f: &dyn Fn(&Dependency) -> bool| deps.iter().filter(|d| f(d)).count();
        writeln!(
            out,
            "{} ({}): {} dependencies, {} up to date, {} with updates ({} major), {} vulnerable, {} not checked",
            project.ecosystem,
            project.lockfile,
            deps.len(),
            count(&|d| d.update == UpdateKind::None),
            count(&|d| matches!(
                d.update,
                UpdateKind::Major | UpdateKind::Minor | UpdateKind::Patch
            )),
            count(&|d| d.update == UpdateKind::Major),
            count(&|d| d.vulnerable()),
            count(&|d| d.error.is_some()),
        )?;
        if shown.is_empty() {
            writeln!(out)?;
            continue;
        }
        let mut table = table::new(
            [
                "NAME",
                "CURRENT",
                "COMPATIBLE",
                "LATEST",
                "UPDATE",
                "DIRECT",
                "VULNERABILITIES",
                "NOTES",
            ],
            &[],
        );
        for dep in &shown {
            table.add_row(vec![
                dep.name.clone(),
                dep.current.clone(),
                dep.latest_compatible.clone().unwrap_or_else(|| "-".into()),
                dep.latest.clone().unwrap_or_else(|| "-".into()),
                dep.update.name().to_string(),
                if dep.direct { "yes" } else { "no" }.to_string(),
                vulns(dep),
                notes(dep),
            ]);
        }
        let rendered = table::render(&table);
        let mut lines = rendered.lines();
        if let Some(header) = lines.next() {
            writeln!(out, "{header}")?;
        }
        for (line, dep) in lines.zip(&shown) {
            let style = if styled {
                row_style(dep)
            } else {
                anstyle::Style::new()
            };
            writeln!(out, "{style}{line}{style:#}")?;
        }
        writeln!(out)?;
    }
    if report.osv.error.is_none() && report.osv.source == "database" {
        writeln!(
            out,
            "vulnerabilities: {} advisories in the offline database",
            report.osv.advisories.unwrap_or(0)
        )?;
    }
    Ok(())
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether a dependency belongs to a project (Go's go.sum locations are its project's).
fn same_project(dep: &Dependency, project: &gantry_deps::Project) -> bool {
    parent_of(&dep.location.file) == parent_of(&project.lockfile)
}
