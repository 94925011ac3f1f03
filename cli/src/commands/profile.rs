//! `gantry profile ...`: capture and read pprof profiles (top tables with the numbers of
//! `go tool pprof -top`, diffs, folded stacks, flame graphs, saved captures, goroutine
//! leak checks). The work is done by the `gantry-profile` crate; this module parses
//! flags, shows progress, renders, and maps errors to exit codes.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use gantry_profile::{FetchOptions, Format, Profile, ProfileType, Source, TopOptions};

use crate::base::{self, Context, Exit, Failure};

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Functions by flat (or cumulative) value, as `go tool pprof -top` shows them
    Top(TopArgs),
    /// Write an SVG flame graph (a differential one with --base)
    Flamegraph(FlamegraphArgs),
    /// Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools
    Collapse(CollapseArgs),
    /// Save a profile as gzipped protobuf: as served, or converted from a legacy format
    Save(SaveArgs),
    /// Take goroutine profiles over time and report the stacks whose counts keep growing
    Leaks(LeaksArgs),
}

/// SOURCE is a service address (http://host:6060), a full pprof URL, a profile file in any
/// format pprof reads (protobuf, or a legacy text or binary format), or - for standard input.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Which profile a service address resolves to
    #[arg(long = "type", value_parser = profile_type_parser(), default_value = "cpu")]
    pub profile_type: ProfileType,

    /// Capture length in seconds (CPU: default 30; other types: a delta profile)
    #[arg(long, value_name = "N")]
    pub seconds: Option<u64>,

    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Args)]
#[command(mut_arg("token", |token| token.env("GANTRY_PROFILE_TOKEN").hide_env_values(true)))]
pub struct ConnArgs {
    #[command(flatten)]
    pub http: base::HttpArgs,

    /// How long the server may take beyond the capture to connect, answer and send
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `--type`, over the library's own list of profile types.
fn profile_type_parser() -> impl clap::builder::TypedValueParser<Value = ProfileType> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(ProfileType::ALL.map(ProfileType::name)).map(|name| {
        ProfileType::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .expect("clap accepts only the possible values")
    })
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The profile: http://host:port, a pprof URL, a profile file, or -
    pub source: String,

    /// Sample type to report, by name or position (default: the profile's default, else the last)
    #[arg(long, value_name = "NAME|N")]
    pub sample_index: Option<String>,

    /// Show at most N functions (0: all above the 0.5% cutoff)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub nodecount: usize,

    /// Sort by cumulative value
    #[arg(long)]
    pub cum: bool,

    /// Subtract this base profile, as `go tool pprof -diff_base`
    #[arg(long, value_name = "SOURCE")]
    pub base: Option<String>,

    #[command(flatten)]
    pub capture: CaptureArgs,
}

#[derive(Debug, Args)]
pub struct FlamegraphArgs {
    /// The profile: http://host:port, a pprof URL, a profile file, or -
    pub source: String,

    /// The SVG file to write, or - for standard output
    #[arg(short = 'O', long = "output-file", value_name = "FILE.svg")]
    pub output_file: PathBuf,

    /// Draw a differential flame graph against this base profile
    #[arg(long, value_name = "SOURCE")]
    pub base: Option<String>,

    /// Sample type to draw, by name or position
    #[arg(long, value_name = "NAME|N")]
    pub sample_index: Option<String>,

    #[command(flatten)]
    pub capture: CaptureArgs,
}

#[derive(Debug, Args)]
pub struct CollapseArgs {
    /// The profile: http://host:port, a pprof URL, a profile file, or -
    pub source: String,

    /// Sample type to fold, by name or position
    #[arg(long, value_name = "NAME|N")]
    pub sample_index: Option<String>,

    #[command(flatten)]
    pub capture: CaptureArgs,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// http://host:port, a pprof URL, a profile file, or -
    pub source: String,

    /// The file to write (gzipped protobuf, as Go serves it and pprof reads it), or - for
    /// standard output
    #[arg(short = 'O', long = "output-file", value_name = "FILE.pb.gz")]
    pub output_file: PathBuf,

    #[command(flatten)]
    pub capture: CaptureArgs,
}

#[derive(Debug, Args)]
pub struct LeaksArgs {
    /// http://host:port or a goroutine profile URL
    pub url: String,

    /// Time between goroutine profiles
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: Duration,

    /// How many goroutine profiles to take (at least 2)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..))]
    pub samples: u16,

    #[command(flatten)]
    pub conn: ConnArgs,
}

pub fn run(args: ProfileArgs, ctx: &Context) -> anyhow::Result<u8> {
    install_interrupt_handler();
    #[cfg(unix)]
    exit_cleanly_on_a_file_cut_short();
    match args.command {
        ProfileCommand::Top(a) => top(a, ctx),
        ProfileCommand::Flamegraph(a) => flamegraph(a, ctx),
        ProfileCommand::Collapse(a) => collapse(a, ctx),
        ProfileCommand::Save(a) => save(a, ctx),
        ProfileCommand::Leaks(a) => leaks(a, ctx),
    }
}

/// Ctrl-C removes any output file being written and exits with `interrupted`.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let _held = gantry_profile::atomic::remove_pending();
        base::error_line("interrupted", None, &[]);
        std::process::exit(i32::from(Exit::Interrupted.code()));
    });
}

/// Profile files are mapped into memory, not copied (see `gantry_profile::fetch`). If
/// another process truncates one while it is read, the pages cut off raise SIGBUS: that
/// ends the command with one line and `usage`, as a file that cannot be read does,
/// rather than with a crash. No output file is pending then: `save` writes once the
/// input has been read whole.
#[cfg(unix)]
fn exit_cleanly_on_a_file_cut_short() {
    extern "C" fn cut_short(_signal: libc::c_int) {
        const MESSAGE: &[u8] = b"error: a profile file was cut short while it was read; \
            run the command again once it is written whole\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe, and MESSAGE is static.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(i32::from(Exit::Usage.code()));
        }
    }
    let handler: extern "C" fn(libc::c_int) = cut_short;
    // SAFETY: the handler only calls async-signal-safe functions; nothing else in a
    // profile command handles SIGBUS.
    unsafe { libc::signal(libc::SIGBUS, handler as libc::sighandler_t) };
}

/// Maps a library error to gantry's exit codes, keeping its hint.
fn fail(err: gantry_profile::Error) -> anyhow::Error {
    let exit = if err.is_usage() {
        Exit::Usage
    } else {
        Exit::Failure
    };
    let mut failure = Failure::new(exit, err.to_string());
    if let Some(hint) = err.hint() {
        failure = failure.hint(hint);
    }
    failure.into()
}

fn fetch_options(capture: &CaptureArgs) -> anyhow::Result<FetchOptions> {
    let mut options = conn_options(&capture.conn)?;
    options.profile_type = capture.profile_type;
    options.seconds = capture.seconds;
    Ok(options)
}

fn conn_options(conn: &ConnArgs) -> anyhow::Result<FetchOptions> {
    Ok(FetchOptions {
        headers: conn.http.headers.clone(),
        token: conn.http.token.clone(),
        cacert: conn.http.cacert.clone(),
        insecure: conn.http.insecure,
        timeout: conn.timeout,
        ..FetchOptions::default()
    })
}

fn parse_sources(source: &str, base: Option<&str>) -> anyhow::Result<(Source, Option<Source>)> {
    let source = Source::parse(source).map_err(fail)?;
    let base = base.map(Source::parse).transpose().map_err(fail)?;
    if source == Source::Stdin && base == Some(Source::Stdin) {
        return Err(Failure::new(
            Exit::Usage,
            "the profile and --base cannot both be read from standard input",
        )
        .into());
    }
    Ok((source, base))
}

/// Fetches raw bytes, with a countdown bar on a terminal while the server captures.
fn fetch_bytes(
    source: &Source,
    options: &FetchOptions,
    ctx: &Context,
) -> anyhow::Result<(gantry_profile::fetch::Bytes, gantry_profile::Origin)> {
    let capture = match source {
        Source::Url(url) => {
            let resolved = gantry_profile::fetch::resolve_url(url, options);
            gantry_profile::fetch::query_seconds(&resolved).unwrap_or(0)
        }
        _ => 0,
    };
    let bar = (capture > 0 && !ctx.quiet && std::io::stderr().is_terminal())
        .then(|| Countdown::start(capture));
    let result = gantry_profile::fetch::fetch_bytes(source, options);
    drop(bar);
    result.map_err(fail)
}

/// How a command decodes: [`Profile::decode`], or [`Profile::decode_for_functions`] for
/// a report by function.
type Decode = fn(&[u8], gantry_profile::Origin) -> gantry_profile::Result<Profile>;

fn load(
    source: &Source,
    options: &FetchOptions,
    decode: Decode,
    ctx: &Context,
) -> anyhow::Result<Profile> {
    let (bytes, origin) = fetch_bytes(source, options, ctx)?;
    decode(&bytes, origin).map_err(fail)
}

fn load_pair(
    source: &str,
    base: Option<&str>,
    capture: &CaptureArgs,
    decode: Decode,
    ctx: &Context,
) -> anyhow::Result<(Profile, Option<Profile>)> {
    let (source, base) = parse_sources(source, base)?;
    let options = fetch_options(capture)?;
    let profile = load(&source, &options, decode, ctx)?;
    let base = match &base {
        Some(base) => Some(load(base, &options, decode, ctx).context("--base")?),
        None => None,
    };
    Ok((profile, base))
}

fn top(args: TopArgs, ctx: &Context) -> anyhow::Result<u8> {
    let (profile, base) = load_pair(
        &args.source,
        args.base.as_deref(),
        &args.capture,
        Profile::decode_for_functions,
        ctx,
    )?;
    let options = TopOptions {
        sample_index: args.sample_index,
        node_count: args.nodecount,
        cum: args.cum,
    };
    let report = gantry_profile::top::top(&profile, base.as_ref(), &options).map_err(fail)?;
    let mut out = ctx.out();
    if ctx.json() {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(report.to_table().as_bytes())?;
    }
    out.flush()?;
    // The process ends next: freeing the decoded profiles one small allocation at a time
    // would cost a tenth of the run on a large profile, for nothing.
    std::mem::forget((profile, base));
    Ok(Exit::Success.code())
}

fn flamegraph(args: FlamegraphArgs, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("profile flamegraph", "an SVG file")?;
    let (profile, base) = load_pair(
        &args.source,
        args.base.as_deref(),
        &args.capture,
        Profile::decode,
        ctx,
    )?;
    let title = if base.is_some() {
        "Differential flame graph"
    } else {
        "Flame graph"
    };
    let svg = gantry_profile::folded::flamegraph(
        &profile,
        base.as_ref(),
        args.sample_index.as_deref(),
        title,
    )
    .map_err(fail)?;
    if write_output(&args.output_file, &svg, ctx)? && !ctx.quiet {
        eprintln!("wrote {}", args.output_file.display());
    }
    Ok(Exit::Success.code())
}

/// Writes `-O FILE` atomically, or to stdout for `-O -`; says whether it was a file.
fn write_output(path: &Path, bytes: &[u8], ctx: &Context) -> anyhow::Result<bool> {
    if path.as_os_str() == "-" {
        let mut out = ctx.out();
        out.write_all(bytes)?;
        out.flush()?;
        return Ok(false);
    }
    gantry_profile::atomic::write_atomic(path, bytes).map_err(fail)?;
    Ok(true)
}

fn collapse(args: CollapseArgs, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("profile collapse", "folded stacks, one per line")?;
    let (profile, _) = load_pair(&args.source, None, &args.capture, Profile::decode, ctx)?;
    let lines =
        gantry_profile::folded::collapse(&profile, args.sample_index.as_deref()).map_err(fail)?;
    gantry_profile::folded::write_folded(&lines, ctx.out())?;
    Ok(Exit::Success.code())
}

fn save(args: SaveArgs, ctx: &Context) -> anyhow::Result<u8> {
    ctx.refuse_json("profile save", "a profile file")?;
    let source = Source::parse(&args.source).map_err(fail)?;
    let options = fetch_options(&args.capture)?;
    let (bytes, origin) = fetch_bytes(&source, &options, ctx)?;
    // Check that it is a profile before keeping it; keep protobuf as it came.
    let profile = Profile::decode(&bytes, origin).map_err(fail)?;
    let format = profile.format();
    let bytes = match format {
        Format::Protobuf => gantry_profile::gzip::gzipped(bytes.into_vec()),
        Format::Legacy(_) => profile.to_gzipped_protobuf(),
    };
    if write_output(&args.output_file, &bytes, ctx)? && !ctx.quiet {
        let (kind, _) = profile.sample_types().pop().unwrap_or_default();
        let kind = if kind.is_empty() { kind } else { kind + " " };
        let converted = match format {
            Format::Protobuf => String::new(),
            Format::Legacy(legacy) => format!(" (converted from a {legacy})"),
        };
        eprintln!(
            "saved the {kind}profile to {}{converted}",
            args.output_file.display()
        );
    }
    Ok(Exit::Success.code())
}

fn leaks(args: LeaksArgs, ctx: &Context) -> anyhow::Result<u8> {
    if !matches!(Source::parse(&args.url).map_err(fail)?, Source::Url(_)) {
        return Err(Failure::new(Exit::Usage, "`profile leaks` takes a URL").into());
    }
    let options = conn_options(&args.conn)?;
    let samples = usize::from(args.samples);
    let report =
        gantry_profile::leaks::watch(&args.url, &options, args.interval, samples, |i, count| {
            if !ctx.quiet && !ctx.json() {
                eprintln!("snapshot {i}/{samples}: {count} goroutines");
            }
        })
        .map_err(fail)?;
    let mut out = ctx.out();
    if ctx.json() {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if report.leaks.is_empty() {
        writeln!(
            out,
            "no goroutine stack grew at every one of {samples} snapshots {} apart",
            humantime::format_duration(args.interval)
        )?;
    } else {
        writeln!(
            out,
            "{} goroutine stack{} grew at every one of {samples} snapshots {} apart:",
            report.leaks.len(),
            if report.leaks.len() == 1 { "" } else { "s" },
            humantime::format_duration(args.interval)
        )?;
        for leak in &report.leaks {
            let counts: Vec<String> = leak.counts.iter().map(i64::to_string).collect();
            writeln!(
                out,
                "\n  +{} {}  ({})",
                leak.growth,
                leak.function,
                counts.join(" → ")
            )?;
            for frame in leak.frames.iter().rev() {
                writeln!(out, "      {frame}")?;
            }
        }
    }
    out.flush()?;
    Ok(if report.leaks.is_empty() {
        Exit::Success.code()
    } else {
        Exit::Findings.code()
    })
}

/// A countdown bar for the capture, drawn on stderr by a thread until dropped.
struct Countdown {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Countdown {
    fn start(seconds: u64) -> Countdown {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(seconds);
            bar.set_style(
                indicatif::ProgressStyle::with_template("capturing {bar:30} {msg} left")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let elapsed = start.elapsed().as_secs().min(seconds);
                bar.set_position(elapsed);
                bar.set_message(format!("{}s", seconds - elapsed));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        Countdown {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Countdown {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
