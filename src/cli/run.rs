//! `vncpilot run HARNESS`: start the guest (or attach with `--vnc`), run the install macro,
//! write the results folder, and exit 0 (pass), 1 (fail) or 2 (error).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use vncpilot::guest::{Qemu, Qmp, SerialLog};
use vncpilot::report::{
    self, Event, EventLog, Observers, ProgressLine, ResultsDir, RunObserver, RunResult, Status,
};
use vncpilot::rfb::{Addr, ConnectOptions, Session};
use vncpilot::screen::ScreenSet;
use vncpilot::script::{
    Display, Harness, Outcome, QmpDisplay, RunContext, Stop, VncDisplay, parse_override, run_macro,
};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The harness folder (holding harness.toml and install.rhai), or its harness.toml.
    pub harness: PathBuf,
    /// Override a harness variable: --var hostname=box1 (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_override)]
    pub vars: Vec<(String, String)>,
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
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    Vnc,
    Qmp,
}

pub fn run(args: RunArgs) -> ExitCode {
    let harness = match Harness::load(&args.harness, &args.vars) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run_harness(&args, &harness)) {
        Ok((result, dir)) => {
            eprintln!(
                "{} {} in {:.1} s: {}\nresults: {}",
                result.status.as_str().to_uppercase(),
                result.harness,
                result.duration_s,
                result.reason,
                dir.display()
            );
            if args.tap {
                print!("{}", report::ci::tap(&result));
            }
            if let Some(path) = &args.junit
                && let Err(e) = std::fs::write(path, report::ci::junit(&result))
            {
                eprintln!("error: writing {}: {e}", path.display());
                return ExitCode::from(2);
            }
            ExitCode::from(result.status.exit_code())
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The one place where followers of a run attach (results files, terminal, and e.g. the video
/// recorder): add an observer here and it receives every event, every frame the macro looks
/// at, progress, and the secrets to redact.
fn attach_observers(
    results: &ResultsDir,
    observers: &mut Observers,
) -> anyhow::Result<Arc<EventLog>> {
    let log = Arc::new(EventLog::create(results.path())?);
    observers.add(log.clone());
    observers.add(Arc::new(ProgressLine::stderr()));
    Ok(log)
}

async fn run_harness(args: &RunArgs, harness: &Harness) -> anyhow::Result<(RunResult, PathBuf)> {
    let started = Instant::now();
    let results = ResultsDir::create(&args.results, &harness.name)?;
    let mut observers = Observers::new();
    let log = attach_observers(&results, &mut observers)?;
    for name in &harness.secrets {
        if let Some(v) = harness.variables.get(name) {
            observers.secret(v);
        }
    }
    let observers: Arc<Observers> = Arc::new(observers);
    observers.event(
        &Event::new(0.0, "start")
            .with("harness", harness.name.clone())
            .with("attach", args.vnc.as_ref().map(|a| a.to_string())),
    );
    let mut guest: Option<Qemu> = None;
    let outcome = match run_guest(args, harness, &results, observers.clone(), &mut guest).await {
        Ok(o) => o,
        Err(e) => Outcome {
            status: Status::Error,
            reason: format!("{e:#}"),
        },
    };
    if let Some(qemu) = guest.take() {
        let tail = qemu.stderr_tail();
        if !tail.is_empty() {
            log.note(&format!("QEMU stderr:\n{tail}"));
        }
        qemu.stop().await;
    }
    let duration_s = started.elapsed().as_secs_f64();
    observers.event(
        &Event::new(duration_s, "end")
            .with("status", outcome.status.as_str())
            .with("reason", outcome.reason.clone()),
    );
    let result = RunResult {
        status: outcome.status,
        reason: outcome.reason,
        duration_s,
        harness: harness.name.clone(),
        variables: harness.public_variables(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: results.started(),
    };
    results.write_result(&result)?;
    Ok((result, results.path().to_path_buf()))
}

async fn run_guest(
    args: &RunArgs,
    harness: &Harness,
    results: &ResultsDir,
    observers: Arc<Observers>,
    guest: &mut Option<Qemu>,
) -> anyhow::Result<Outcome> {
    let screens =
        ScreenSet::load(&harness.screens_root, &harness.screen_set).with_context(|| {
            format!(
                "loading the screen set {:?} of {}",
                harness.screen_set,
                harness.dir.display()
            )
        })?;
    let source = std::fs::read_to_string(&harness.macro_path)
        .with_context(|| format!("reading the macro {}", harness.macro_path.display()))?;
    let t0 = Instant::now();
    let setup = async {
        let mut qmp = None;
        let mut serial = None;
        let display: Arc<dyn Display> = match &args.vnc {
            Some(addr) => {
                let opts = ConnectOptions {
                    password: password(args)?,
                    connect_timeout: harness.timeouts.start,
                    ..Default::default()
                };
                let session = Session::connect(addr, opts)
                    .await
                    .with_context(|| format!("connecting to VNC server {addr}"))?;
                Arc::new(VncDisplay::new(session))
            }
            None => {
                let config = harness.guest.as_ref().with_context(|| {
                    format!(
                        "{} has no [guest] section: run it with --vnc ADDR",
                        harness.dir.display()
                    )
                })?;
                let qemu = Qemu::launch(config, &results.file("serial.log")).await?;
                let paths = qemu.paths().clone();
                *guest = Some(qemu);
                let monitor =
                    Arc::new(Qmp::connect(&paths.qmp_socket, Duration::from_secs(120)).await?);
                serial = Some(Arc::new(SerialLog::new(&paths.serial_log)));
                qmp = Some(monitor.clone());
                match args.watch {
                    Watch::Vnc => {
                        let opts = ConnectOptions {
                            connect_timeout: harness.timeouts.start,
                            ..Default::default()
                        };
                        let addr = Addr::Unix(paths.vnc_socket.clone());
                        let session = Session::connect(&addr, opts)
                            .await
                            .context("connecting to QEMU's VNC socket")?;
                        Arc::new(VncDisplay::new(session)) as Arc<dyn Display>
                    }
                    Watch::Qmp => Arc::new(
                        QmpDisplay::start(
                            monitor,
                            paths.runtime_dir.join("screen.ppm"),
                            Duration::from_millis(250),
                        )
                        .await?,
                    ),
                }
            }
        };
        anyhow::Ok((display, qmp, serial))
    };
    let (display, qmp, serial) = tokio::select! {
        r = setup => r?,
        _ = shutdown_signal() => anyhow::bail!("interrupted while starting the guest"),
    };
    observers.event(&Event::new(t0.elapsed().as_secs_f64(), "guest_ready"));
    let mut ctx = RunContext::new(
        display.clone(),
        screens,
        observers.clone(),
        results.file("screenshots"),
    );
    ctx.qmp = qmp.clone();
    ctx.serial = serial;
    ctx.variables = harness.variables.clone();
    ctx.secret_variables = harness.secrets.clone();
    let ctx = Arc::new(ctx);
    let watchdog = {
        let ctx = ctx.clone();
        let limit = harness.timeouts.run.saturating_sub(t0.elapsed());
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(limit) => ctx.stop(Stop::Timeout(limit)),
                why = shutdown_signal() => ctx.stop(Stop::Interrupted(why.into())),
            }
        })
    };
    let macro_path = harness.macro_path.clone();
    let max_ops = harness.timeouts.max_operations;
    let runner = ctx.clone();
    let outcome =
        tokio::task::spawn_blocking(move || run_macro(&source, &macro_path, &runner, max_ops))
            .await
            .unwrap_or_else(|e| Outcome {
                status: Status::Error,
                reason: format!("the macro thread failed: {e}"),
            });
    watchdog.abort();
    match display.latest() {
        Ok(frame) => {
            if let Err(e) = results.write_final(&frame.image) {
                tracing::warn!("final.png: {e}");
            }
        }
        Err(e) => tracing::warn!("no final frame: {e}"),
    }
    if outcome.status != Status::Pass
        && let Some(qmp) = &qmp
        && let Ok(Ok(regs)) =
            tokio::time::timeout(Duration::from_secs(10), qmp.info_registers()).await
    {
        let _ = std::fs::write(results.file("registers.txt"), regs);
    }
    Ok(outcome)
}

fn password(args: &RunArgs) -> anyhow::Result<Option<vncpilot::rfb::Secret>> {
    if let Some(path) = &args.password_file {
        return Ok(Some(
            vncpilot::rfb::Secret::from_file(path)
                .with_context(|| format!("reading {}", path.display()))?,
        ));
    }
    Ok(std::env::var(super::vnc_args::PASSWORD_ENV)
        .ok()
        .map(vncpilot::rfb::Secret::new))
}

/// Resolves on Ctrl-C or SIGTERM, saying which.
async fn shutdown_signal() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "Ctrl-C";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}
