//! `vncpilot replay RUN_DIR`: look at a recorded run offline — the frame at a time, when a
//! screen appeared (or how close it came), and a report page to watch it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use vncpilot::record::{Recording, timecode};
use vncpilot::report::{Status, find, html};
use vncpilot::screen::{MatchResult, Reference};

use super::exit;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The run's results directory (e.g. results/latest).
    pub run_dir: PathBuf,
    /// Extract the screen as it was at this time: SECONDS or [HH:]MM:SS[.mmm] (needs -o).
    #[arg(long, value_name = "TIME", requires = "output")]
    pub at: Option<String>,
    /// Where --at writes the frame (PNG).
    #[arg(short, long, value_name = "FILE.png", requires = "at")]
    pub output: Option<PathBuf>,
    /// Scan every recorded frame for a reference screen (.png/.ppm) or openQA needle (.json):
    /// when and where it matched, or its best similarity and when.
    #[arg(long, value_name = "SCREEN")]
    pub find: Option<PathBuf>,
    /// Write report.html beside the run: video, event timeline, failure diff images, result.
    #[arg(long)]
    pub html: bool,
}

/// Exit 0 on success, 1 when --find never matched, 2 on an error.
pub fn run(args: ReplayArgs) -> ExitCode {
    match replay(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit(Status::Error)
        }
    }
}

fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    if args.at.is_none() && args.find.is_none() && !args.html {
        bail!("nothing to do: give --at TIME -o FILE.png, --find SCREEN, or --html");
    }
    let dir = &args.run_dir;
    if !dir.is_dir() {
        bail!(
            "{}: not a run directory (expected results/<harness>/<timestamp>/)",
            dir.display()
        );
    }
    let mut code = exit(Status::Pass);
    if let (Some(at), Some(output)) = (&args.at, &args.output) {
        frame_at(dir, at, output)?;
    }
    if let Some(screen) = &args.find
        && !find_screen(dir, screen)?
    {
        code = exit(Status::Fail);
    }
    if args.html {
        let path = html::write(dir)
            .with_context(|| format!("writing the report for {}", dir.display()))?;
        println!("{}", path.display());
    }
    Ok(code)
}

fn open(dir: &Path) -> Result<Recording> {
    Recording::open(dir).with_context(|| {
        format!(
            "reading the recording in {} (passed runs keep no video unless run with --keep-video)",
            dir.display()
        )
    })
}

fn frame_at(dir: &Path, at: &str, output: &Path) -> Result<()> {
    let t = timecode::parse(at)?;
    let frame = open(dir)?.frame_at(t)?;
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
    Ok(())
}

/// Prints when and where `screen` matched, or its best similarity and when. True if it matched.
fn find_screen(dir: &Path, screen: &Path) -> Result<bool> {
    let reference = Reference::load(screen)?;
    let recording = open(dir)?;
    let report = find::scan(&recording, &reference)?;
    let name = screen.display();
    let (w, h) = reference.size();
    if report.frames_checked == 0 {
        println!(
            "{name}: no recorded frame is {w}x{h} ({} frames of other sizes)",
            report.frames_other_size
        );
        return Ok(false);
    }
    if let Some((t, result)) = &report.first_match {
        println!(
            "matched {name} at {} (similarity {:.3})",
            timecode::format_short(*t),
            result.similarity
        );
        print_regions(result, "found");
        let spans: Vec<String> = report
            .matched_spans
            .iter()
            .map(|(a, b)| {
                format!(
                    "{}–{}",
                    timecode::format_short(*a),
                    timecode::format_short(*b)
                )
            })
            .collect();
        println!("  matching during {}", spans.join(", "));
        return Ok(true);
    }
    let Some((t, result, image)) = &report.best else {
        return Ok(false);
    };
    let stem = reference.name().replace(
        |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
        "_",
    );
    let best_png = dir.join(format!("find-{stem}-best.png"));
    image
        .save(&best_png)
        .with_context(|| format!("writing {}", best_png.display()))?;
    println!(
        "{name} never matched in {} frames; best similarity {:.3} at {} (saved as {})",
        report.frames_checked,
        result.similarity,
        timecode::format_short(*t),
        best_png.display()
    );
    print_regions(result, "best");
    Ok(false)
}

/// One line per region: where it was `found` (or its `best` place), against where it was
/// expected, and its similarity against its threshold.
fn print_regions(result: &MatchResult, verb: &str) {
    for (i, region) in result.regions.iter().enumerate() {
        let f = region.found;
        println!(
            "  region {}: {verb} at {},{} {}x{} (expected at {},{}), similarity {:.3} {} {:.3}",
            i + 1,
            f.x,
            f.y,
            f.w,
            f.h,
            region.expected.x,
            region.expected.y,
            region.similarity,
            if region.passed() { ">=" } else { "<" },
            region.threshold
        );
    }
}
