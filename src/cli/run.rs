//! `vncpilot run HARNESS`: start the guest (or attach with `--vnc`), run the install macro while
//! recording the screen, write the results folder (with forensics when the run did not pass), and
//! exit 0 (pass), 1 (fail) or 2 (error).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::task::JoinHandle;
use vncpilot::guest::{GuestOverrides, Qemu, Qmp, SerialLog};
use vncpilot::record::forensics::{self, AwaitedScreen, Evidence, RegionReport};
use vncpilot::record::{FrameSink, Keep, RecorderOptions, RunRecording, ScreenWaits, StepCaptions};
use vncpilot::report::{
    self, Event, EventLog, Observers, ProgressLine, ResultsDir, RunObserver, RunResult, Status,
};
use vncpilot::rfb::{Addr, ConnectOptions, Frame, Session};
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

/// The observers `run` itself reads back at the end.
struct Followers {
    log: Arc<EventLog>,
    /// The video's captions (attached to the recording once the guest's screen is up).
    captions: Arc<StepCaptions>,
    /// The evidence of the last screen wait, for the forensics.
    waits: Arc<ScreenWaits>,
}

/// The one place where followers of a run attach (results files, terminal, video captions,
/// forensics): add an observer here and it receives every event, every frame the macro looks
/// at, progress, every screen check, and the secrets to redact.
fn attach_observers(
    results: &ResultsDir,
    observers: &mut Observers,
    started: Instant,
) -> anyhow::Result<Followers> {
    let log = Arc::new(EventLog::create(results.path())?);
    observers.add(log.clone());
    observers.add(Arc::new(ProgressLine::stderr()));
    let captions = Arc::new(StepCaptions::new());
    observers.add(captions.clone());
    let waits = Arc::new(ScreenWaits::new(started));
    observers.add(waits.clone());
    Ok(Followers {
        log,
        captions,
        waits,
    })
}

/// What the end of a run must tear down or close, whatever happened.
#[derive(Default)]
struct Live {
    guest: Option<Qemu>,
    recording: Option<RunRecording>,
}

async fn run_harness(args: &RunArgs, harness: &Harness) -> anyhow::Result<(RunResult, PathBuf)> {
    // t = 0 of the run: events.jsonl, the video and the subtitles all count from here.
    let started = Instant::now();
    let results = ResultsDir::create(&args.results, &harness.name)?;
    let mut observers = Observers::new();
    let followers = attach_observers(&results, &mut observers, started)?;
    let log = followers.log.clone();
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
    let mut live = Live::default();
    let outcome = match run_guest(
        args,
        harness,
        &results,
        observers.clone(),
        &followers,
        started,
        &mut live,
    )
    .await
    {
        Ok(o) => o,
        Err(e) => Outcome {
            status: Status::Error,
            reason: format!("{e:#}"),
        },
    };
    if let Some(qemu) = live.guest.take() {
        let tail = qemu.stderr_tail();
        if !tail.is_empty() {
            log.note(&format!("QEMU stderr:\n{tail}"));
        }
        qemu.stop().await;
    }
    let outcome = Outcome {
        reason: log.redact(&outcome.reason),
        ..outcome
    };
    let duration_s = started.elapsed().as_secs_f64();
    observers.event(
        &Event::new(duration_s, "end")
            .with("status", outcome.status.as_str())
            .with("reason", outcome.reason.clone()),
    );
    if let Some(recording) = live.recording.take() {
        let keep = Keep::for_outcome(outcome.status == Status::Pass, args.keep_video);
        match recording.finish(keep).await {
            Ok(Some(manifest)) => log.note(&format!(
                "video: {} ({} frames encoded of {} received; encoder CPU {:.2} s = {:.1} % of \
                 one core over {:.1} s)",
                manifest
                    .browser
                    .as_ref()
                    .map_or("no browser track", |b| b.file.as_str()),
                manifest.stats.frames_encoded,
                manifest.stats.frames_received,
                manifest.stats.encoder_cpu_s,
                100.0 * manifest.stats.encoder_cpu_s / manifest.duration_s.max(0.001),
                manifest.duration_s
            )),
            Ok(None) => log.note("video: deleted (the run passed; --keep-video keeps it)"),
            Err(e) => log.note(&format!("video: the recording did not finish cleanly: {e}")),
        }
    }
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
    followers: &Followers,
    started: Instant,
    live: &mut Live,
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
    let vnc_password = match &args.vnc {
        Some(_) => password(args)?,
        None => None,
    };
    if let Some(secret) = &vnc_password {
        observers.secret(secret.expose());
    }
    let guest = &mut live.guest;
    let setup = async {
        let mut qmp = None;
        let mut serial = None;
        let mut session = None;
        let display: Arc<dyn Display> = match &args.vnc {
            Some(addr) => {
                let opts = ConnectOptions {
                    password: vnc_password.clone(),
                    connect_timeout: harness.timeouts.start,
                    ..Default::default()
                };
                let vnc = Session::connect(addr, opts)
                    .await
                    .with_context(|| format!("connecting to VNC server {addr}"))?;
                session = Some(vnc.clone());
                Arc::new(VncDisplay::new(vnc))
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
                        let vnc = Session::connect(&addr, opts)
                            .await
                            .context("connecting to QEMU's VNC socket")?;
                        session = Some(vnc.clone());
                        Arc::new(VncDisplay::new(vnc)) as Arc<dyn Display>
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
        anyhow::Ok((display, qmp, serial, session))
    };
    let (display, qmp, serial, session) = tokio::select! {
        r = setup => r?,
        _ = shutdown_signal() => anyhow::bail!("interrupted while starting the guest"),
    };
    observers.event(&Event::new(started.elapsed().as_secs_f64(), "guest_ready"));
    live.recording = start_recording(results, started, session.as_ref(), &display, followers);
    let mut ctx = RunContext::new(
        display.clone(),
        screens,
        observers.clone(),
        results.file("screenshots"),
    );
    // The macro's events count from the run's start, like the video.
    ctx.started = started;
    ctx.qmp = qmp.clone();
    ctx.serial = serial;
    ctx.variables = harness.variables.clone();
    ctx.secret_variables = harness.secrets.clone();
    let ctx = Arc::new(ctx);
    let watchdog = {
        let ctx = ctx.clone();
        let limit = harness.timeouts.run.saturating_sub(started.elapsed());
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
    let final_frame = display
        .latest()
        .inspect_err(|e| tracing::warn!("no final frame: {e}"))
        .ok();
    if outcome.status == Status::Pass {
        if let Some(frame) = &final_frame
            && let Err(e) = results.write_final(&frame.image)
        {
            tracing::warn!("final.png: {e}");
        }
    } else {
        let dump = live
            .guest
            .as_ref()
            .map(|q| q.paths().runtime_dir.join("failure-screendump.ppm"));
        write_forensics(
            results,
            &ctx,
            &followers.waits,
            final_frame.as_ref(),
            qmp.as_deref(),
            dump,
        )
        .await;
    }
    Ok(outcome)
}

/// Starts recording the guest's screen into the results folder: from the VNC session when there
/// is one, else from the frames the display produces (QMP screendumps). A recording that cannot
/// start is noted in log.txt and the run goes on without it.
fn start_recording(
    results: &ResultsDir,
    started: Instant,
    session: Option<&Session>,
    display: &Arc<dyn Display>,
    followers: &Followers,
) -> Option<RunRecording> {
    let dir = results.path();
    let options = RecorderOptions::default();
    let recording = match session {
        Some(session) => RunRecording::start(dir, started, session, options),
        None => {
            let display = display.clone();
            RunRecording::start_fed(dir, started, options, |sink| follow_display(display, sink))
        }
    };
    match recording {
        Ok(recording) => {
            followers.captions.attach(recording.recorder().captions());
            let display = display.clone();
            Some(recording.with_last_frame(move || display.latest().ok()))
        }
        Err(e) => {
            tracing::warn!("not recording this run: {e}");
            followers.log.note(&format!("video: not recorded: {e}"));
            None
        }
    }
}

/// Pushes every frame of `display` into `sink` until the recorder finishes or the display ends
/// (a blocking loop: displays are read from blocking threads).
fn follow_display(display: Arc<dyn Display>, sink: FrameSink) -> JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut frames = display.subscribe();
        if let Ok(first) = display.latest()
            && !sink.push(first)
        {
            return;
        }
        loop {
            match frames.next(Duration::from_millis(500)) {
                Ok(Some(frame)) => {
                    if !sink.push(frame) {
                        return;
                    }
                }
                Ok(None) if sink.is_closed() => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("recording stops following the display: {e}");
                    return;
                }
            }
        }
    })
}

/// The evidence of a run that did not pass: final.png, the awaited screen (reference, actual,
/// diff, best match and when), the serial log's tail, and for a QEMU guest `info registers` and a
/// screendump. Best effort: a piece that cannot be had is skipped.
async fn write_forensics(
    results: &ResultsDir,
    ctx: &RunContext,
    waits: &ScreenWaits,
    final_frame: Option<&Arc<Frame>>,
    qmp: Option<&Qmp>,
    dump_path: Option<PathBuf>,
) {
    const QMP_TIMEOUT: Duration = Duration::from_secs(10);
    let mut registers = None;
    let mut dump = None;
    if let Some(qmp) = qmp {
        match tokio::time::timeout(QMP_TIMEOUT, qmp.info_registers()).await {
            Ok(Ok(text)) => registers = Some(text),
            Ok(Err(e)) => tracing::warn!("forensics: info registers: {e}"),
            Err(_) => tracing::warn!("forensics: info registers took over 10 s"),
        }
        if let Some(path) = dump_path {
            match tokio::time::timeout(QMP_TIMEOUT, qmp.screendump(&path)).await {
                Ok(Ok(())) => dump = Some(path),
                Ok(Err(e)) => tracing::warn!("forensics: screendump: {e}"),
                Err(_) => tracing::warn!("forensics: screendump took over 10 s"),
            }
        }
    }
    let unmatched = waits.unmatched();
    let reference = unmatched.as_ref().and_then(|wait| {
        let reference = ctx.screens.get(&wait.screen)?;
        forensics::reference_picture(reference)
            .inspect_err(|e| tracing::warn!("forensics: {e}"))
            .ok()
    });
    let regions: Vec<RegionReport> = unmatched
        .as_ref()
        .map(|w| w.last.regions.iter().map(RegionReport::from).collect())
        .unwrap_or_default();
    let awaited = match (&unmatched, &reference) {
        (Some(wait), Some(reference)) => Some(AwaitedScreen {
            name: &wait.screen,
            reference,
            actual: &wait.last_frame.image,
            regions: &regions,
            similarity: wait.last.similarity,
            best: wait
                .best()
                .map(|(t, result, screen)| (result.similarity, t, screen)),
        }),
        _ => None,
    };
    let serial_log = results.file("serial.log");
    let evidence = Evidence {
        final_screen: final_frame.map(|f| f.image.as_ref()),
        awaited,
        serial_log: serial_log.is_file().then_some(serial_log.as_path()),
        qemu_registers: registers.as_deref(),
        qemu_screendump: dump.as_deref(),
    };
    // Encoding a few PNGs: keep the runtime's other tasks (the session, the recorder's feed)
    // running meanwhile.
    let written = tokio::task::block_in_place(|| forensics::write(results.path(), &evidence));
    if let Err(e) = written {
        tracing::warn!("forensics: {e}");
    }
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
