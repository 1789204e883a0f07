//! `vncpilot replay RUN_DIR`: look at a recorded run offline — the frame at a time, when a
//! screen appeared (or how close it came), and a report page to watch it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use vncpilot::record::{Recording, html, timecode};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The run's results directory (e.g. results/debian-12/latest).
    pub run_dir: PathBuf,
    /// Extract the screen as it was at this time: SECONDS or [HH:]MM:SS[.mmm] (needs -o).
    #[arg(long, value_name = "TIME", requires = "output")]
    pub at: Option<String>,
    /// Where --at writes the frame (PNG).
    #[arg(short, long, value_name = "FILE.png", requires = "at")]
    pub output: Option<PathBuf>,
    /// Write report.html beside the run: video, event timeline, failure diff images, result.
    #[arg(long)]
    pub html: bool,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.at.is_none() && !args.html {
        bail!("nothing to do: give --at TIME -o FILE.png, --find SCREEN, or --html");
    }
    let dir = &args.run_dir;
    if !dir.is_dir() {
        bail!(
            "{}: not a run directory (expected results/<harness>/<timestamp>/)",
            dir.display()
        );
    }
    if let (Some(at), Some(output)) = (&args.at, &args.output) {
        let t = timecode::parse(at)?;
        let recording = Recording::open(dir)
            .with_context(|| format!("reading the recording in {}", dir.display()))?;
        let frame = recording.frame_at(t)?;
        frame
            .image
            .save(output)
            .with_context(|| format!("writing {}", output.display()))?;
        println!(
            "{}: the screen at {} (shown since {}, {}x{})",
            output.display(),
            timecode::format_short(t),
            timecode::format_short(frame.t),
            frame.image.width(),
            frame.image.height()
        );
    }
    if args.html {
        let path = html::write(dir)
            .with_context(|| format!("writing the report for {}", dir.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
