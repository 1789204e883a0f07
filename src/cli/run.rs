//! `vncpilot run HARNESS`: turns the flags into [`RunOptions`], maps Ctrl-C and SIGTERM to the
//! run's cancellation, runs it with [`vncpilot::run::run`], and prints the verdict (and TAP or
//! JUnit when asked). The exit code is the verdict's: 0 pass, 1 fail, 2 error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use vncpilot::guest::GuestOverrides;
use vncpilot::report::{self, Status};
use vncpilot::rfb::Addr;
use vncpilot::run::{
    Canceller, Outcome, PasswordSource, PauseNotice, PauseOptions, ResultsLocation, RunOptions,
};
use vncpilot::script::{Harness, PausePoint, PausePolicy, check_time_scale, parse_override};

use super::exit;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The harness folder (holding harness.toml and install.rhai), or its harness.toml.
    pub harness: PathBuf,
    /// Override a harness variable: --var hostname=box1 (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_override)]
    pub vars: Vec<(String, String)>,
    /// Override a [guest] setting for this run: --guest firmware=uefi, arch=aarch64,
    /// display=virtio, memory_mib=2048, cpus=2, extra_arg=-no-reboot (repeatable).
    #[arg(long = "guest", value_name = "NAME=VALUE")]
    pub guest: Vec<String>,
    /// Attach to a guest somebody else runs (host:display, host::port, unix:/path) instead of
    /// launching QEMU; then there is no QMP (snapshot/revert) and no serial port.
    #[arg(long, value_name = "ADDR")]
    pub vnc: Option<Addr>,
    /// File whose first line is the VNC password for --vnc (else $VNCPILOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Where results folders go: DIR/<harness>/<UTC timestamp>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
    /// Also print the result as TAP on stdout.
    #[arg(long)]
    pub tap: bool,
    /// Also write the result as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// How to watch a launched guest's screen: over VNC (default) or through QEMU's monitor
    /// (QMP screendump + send-key; same pixels, polled 4 times a second).
    #[arg(long, value_enum, default_value_t = Watch::Vnc)]
    pub watch: Watch,
    /// Keep the video of a passed run too (a failed or errored run always keeps it).
    #[arg(long)]
    pub keep_video: bool,
    /// Multiply every timeout (the run's, each wait's, the stall time) by F, for a slow or
    /// loaded host; overrides the harness's [timeouts] time_scale.
    #[arg(long, value_name = "F", value_parser = parse_time_scale)]
    pub time_scale: Option<f64>,
    /// Developer mode: when a screen wait fails, pause instead of failing; fix or add the
    /// reference on the authoring page (its URL is printed), then Retry or Give up there.
    #[arg(long)]
    pub pause_on_fail: bool,
    /// Developer mode: pause before step N or before any wait for screen NAME (repeatable).
    #[arg(long, value_name = "STEP|SCREEN")]
    pub pause_at: Vec<PausePoint>,
    /// Where a paused run's authoring page listens (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub pause_listen: SocketAddr,
}

pub(super) fn parse_time_scale(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .parse()
        .map_err(|_| format!("{s:?}: expected a number such as 2 or 1.5"))?;
    check_time_scale(f)
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    Vnc,
    Qmp,
}

pub fn run(args: RunArgs) -> ExitCode {
    let harness = match load_harness(&args) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return exit(Status::Error);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit(Status::Error);
        }
    };
    let options = options(&args, harness);
    let canceller = options.canceller();
    let outcome = runtime.block_on(async {
        let signals = tokio::spawn(cancel_on_signal(canceller));
        let outcome = vncpilot::run::run(options).await;
        signals.abort();
        outcome
    });
    match outcome {
        Ok(outcome) => print(&args, &outcome),
        Err(e) => {
            eprintln!("error: {e}");
            exit(Status::Error)
        }
    }
}

/// The flags as the run engine's options.
fn options(args: &RunArgs, harness: Harness) -> RunOptions {
    let mut options = RunOptions::new(harness, ResultsLocation::Under(args.results.clone()));
    options.watch = match args.watch {
        Watch::Vnc => vncpilot::run::Watch::Vnc,
        Watch::Qmp => vncpilot::run::Watch::Qmp,
    };
    options.keep_video = args.keep_video;
    options.time_scale = args.time_scale;
    options.attach = args.vnc.clone();
    options.password = match &args.password_file {
        Some(path) => PasswordSource::File(path.clone()),
        None => PasswordSource::Env(super::vnc_args::PASSWORD_ENV.to_string()),
    };
    let policy = PausePolicy {
        on_fail: args.pause_on_fail,
        at: args.pause_at.clone(),
    };
    if policy.is_active() {
        let mut pause = PauseOptions::new(policy);
        pause.listen = args.pause_listen;
        pause.notify = Arc::new(print_pause);
        options.pause = Some(pause);
    }
    options
}

/// A pause on stderr: where the run stopped, and the page that resumes it.
fn print_pause(notice: &PauseNotice) {
    eprintln!(
        "\npaused at {}\nfix or add the reference on the authoring page, then press Retry (or Give up): {}",
        notice.paused.describe(),
        notice.url
    );
}

/// The verdict on stderr (TAP on stdout, JUnit to a file when asked); the exit code.
fn print(args: &RunArgs, outcome: &Outcome) -> ExitCode {
    let result = &outcome.result;
    eprintln!(
        "{} {} in {:.1} s: {}\nresults: {}",
        result.status.as_str().to_uppercase(),
        result.harness,
        result.duration_s,
        result.reason,
        outcome.results.display()
    );
    if args.tap {
        print!("{}", report::ci::tap(result));
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, report::ci::junit(result))
    {
        eprintln!("error: writing {}: {e}", path.display());
        return exit(Status::Error);
    }
    exit(outcome.status)
}

/// Cancels the run on Ctrl-C or SIGTERM, saying which.
async fn cancel_on_signal(canceller: Canceller) {
    let why = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    };
    canceller.cancel(why);
}

/// The harness with `--var` and `--guest` applied.
fn load_harness(args: &RunArgs) -> anyhow::Result<Harness> {
    let mut harness = Harness::load(&args.harness, &args.vars)?;
    let mut overrides = GuestOverrides::default();
    for assignment in &args.guest {
        overrides.set(assignment).map_err(anyhow::Error::msg)?;
    }
    if !overrides.is_empty() {
        let guest = harness.guest.as_mut().with_context(|| {
            format!(
                "--guest: {} has no [guest] section to change",
                harness.dir.display()
            )
        })?;
        overrides.apply(guest);
    }
    Ok(harness)
}
