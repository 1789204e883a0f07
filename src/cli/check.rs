//! `vncpilot check`: does a reference screen (or openQA needle) match an image?
//!
//! Single: `vncpilot check REFERENCE IMAGE` prints the verdict and each region's similarity and
//! position; exit 0 on match, 1 on no match, 2 on error.
//! Batch: `vncpilot check --manifest FILE [--threads N]` reads one JSON object a line
//! (`"needle"` or `"screen"`, and `"shot"`; other fields pass through) and writes one JSON line
//! per input line, in order, adding `"match"`, `"similarity"` (lowest region) and `"us"`
//! (microseconds spent matching, excluding reading and decoding files).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Map, Value};
use vncpilot::report::Status;
use vncpilot::screen::{MatchResult, Reference};

use super::exit;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Reference: a screen (.png/.ppm, mask and .toml found beside it) or an openQA needle (.json).
    #[arg(required_unless_present = "manifest")]
    reference: Option<PathBuf>,
    /// The image to check (PNG or PPM).
    #[arg(required_unless_present = "manifest")]
    image: Option<PathBuf>,
    /// Check many cases: a JSON-lines file with "needle" or "screen", and "shot".
    #[arg(long, conflicts_with_all = ["reference", "image"])]
    manifest: Option<PathBuf>,
    /// Worker threads for --manifest.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Print the result as JSON (single check), or add per-region details (manifest).
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> ExitCode {
    let outcome = match &args.manifest {
        Some(m) => run_manifest(m, args.threads as usize, args.json),
        None => run_single(
            args.reference.as_deref().unwrap_or(Path::new("")),
            args.image.as_deref().unwrap_or(Path::new("")),
            args.json,
        ),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit(Status::Error)
        }
    }
}

fn load_image(path: &Path) -> Result<image::RgbImage> {
    Ok(image::open(path)
        .with_context(|| {
            format!(
                "{}: cannot read the image (expected PNG or PPM)",
                path.display()
            )
        })?
        .into_rgb8())
}

fn run_single(reference: &Path, image: &Path, json: bool) -> Result<ExitCode> {
    let r = Reference::load(reference)?;
    let img = load_image(image)?;
    let res = r
        .try_check(&img)
        .with_context(|| format!("checking {}", image.display()))?;
    if json {
        println!("{}", serde_json::to_string(&res)?);
    } else {
        print_human(&r, &res);
    }
    Ok(if res.matched {
        exit(Status::Pass)
    } else {
        exit(Status::Fail)
    })
}

fn print_human(r: &Reference, res: &MatchResult) {
    println!(
        "{}: {} (similarity {:.4})",
        r.name(),
        if res.matched { "match" } else { "no match" },
        res.similarity
    );
    for (i, g) in res.regions.iter().enumerate() {
        println!(
            "  region {}: {}x{} expected at {},{} found at {},{} similarity {:.4} (needs {:.2}) {}",
            i + 1,
            g.expected.w,
            g.expected.h,
            g.expected.x,
            g.expected.y,
            g.found.x,
            g.found.y,
            g.similarity,
            g.threshold,
            if g.passed() { "pass" } else { "FAIL" }
        );
    }
    if let Some((x, y)) = r.click_point_in(res).filter(|_| res.matched) {
        println!("  click point: {x},{y}");
    }
}

/// One parsed manifest line.
struct Case {
    fields: Map<String, Value>,
    reference: PathBuf,
    shot: PathBuf,
}

fn parse_case(line: &str, n: usize, manifest: &Path) -> Result<Case> {
    let where_ = || format!("{} line {n}", manifest.display());
    let v: Value = serde_json::from_str(line)
        .with_context(|| format!("{}: not JSON; expected one object a line", where_()))?;
    let Value::Object(fields) = v else {
        bail!("{}: expected a JSON object", where_())
    };
    let get = |k: &str| fields.get(k).and_then(Value::as_str).map(PathBuf::from);
    let Some(reference) = get("needle").or_else(|| get("screen")) else {
        bail!("{}: expected a \"needle\" or \"screen\" path", where_())
    };
    let Some(shot) = get("shot") else {
        bail!("{}: expected a \"shot\" path", where_())
    };
    Ok(Case {
        fields,
        reference,
        shot,
    })
}

fn run_manifest(manifest: &Path, threads: usize, details: bool) -> Result<ExitCode> {
    let file = std::fs::File::open(manifest)
        .with_context(|| format!("{}: cannot open the manifest", manifest.display()))?;
    let mut cases = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: cannot read", manifest.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        cases.push(parse_case(&line, i + 1, manifest)?);
    }
    let refs: Mutex<HashMap<PathBuf, Arc<Reference>>> = Mutex::new(HashMap::new());
    let outputs: Vec<Mutex<Option<String>>> = cases.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases.len() {
                        break;
                    }
                    let out = match run_case(&cases[i], &refs, details) {
                        Ok(v) => v,
                        Err(e) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut f = cases[i].fields.clone();
                            f.insert("match".into(), false.into());
                            f.insert("similarity".into(), 0.0.into());
                            f.insert("error".into(), format!("{e:#}").into());
                            Value::Object(f).to_string()
                        }
                    };
                    *outputs[i].lock().expect("no worker panics") = Some(out);
                }
            });
        }
    });
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for o in outputs {
        writeln!(
            w,
            "{}",
            o.into_inner()
                .expect("no worker panics")
                .unwrap_or_default()
        )?;
    }
    w.flush()?;
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("error: {failed} case(s) could not be checked (see their \"error\" field)");
        return Ok(exit(Status::Error));
    }
    Ok(exit(Status::Pass))
}

fn run_case(
    case: &Case,
    refs: &Mutex<HashMap<PathBuf, Arc<Reference>>>,
    details: bool,
) -> Result<String> {
    let cached = refs
        .lock()
        .expect("no worker panics")
        .get(&case.reference)
        .cloned();
    let r = match cached {
        Some(r) => r,
        None => {
            let r = Arc::new(Reference::load(&case.reference)?);
            refs.lock()
                .expect("no worker panics")
                .insert(case.reference.clone(), r.clone());
            r
        }
    };
    let img = load_image(&case.shot)?;
    let t = Instant::now();
    let res = r
        .try_check(&img)
        .with_context(|| format!("checking {}", case.shot.display()))?;
    let us = t.elapsed().as_secs_f64() * 1e6;
    let mut f = case.fields.clone();
    f.insert("match".into(), res.matched.into());
    f.insert(
        "similarity".into(),
        ((res.similarity * 1e4).round() / 1e4).into(),
    );
    f.insert("us".into(), ((us * 10.0).round() / 10.0).into());
    if details {
        f.insert("regions".into(), serde_json::to_value(&res.regions)?);
    }
    Ok(Value::Object(f).to_string())
}
