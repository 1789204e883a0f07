//! `vncpilot refs unused` and `vncpilot refs suggest` on the results of a real run against a
//! real TigerVNC Xvnc desktop: the run matches screen "a" (a fresh xterm), types, then times out
//! on screen "b", whose reference was captured when the xterm said something slightly different
//! (a near miss, as after a font or theme change). Then:
//! - `refs unused` lists the never-matched references (b, c) and not a, with a's last match,
//!   from the run's folder, the results root, or a matrix night holding the run as an attempt;
//! - `refs suggest` proposes b with its similarity and old/new/diff pictures (an earlier
//!   near-missed `check_screen` of b, which kept no frame, is pointed at), leaves screens/
//!   alone, and with `--apply` rewrites b.png (mask and .toml kept) so that `vncpilot check`
//!   of the run's frame matches; asked again, it says b matches already;
//! - a frame whose size is not the mask's is refused with a clear error, nothing written;
//! - a folder that is not a results folder is an error naming it.

use crate::common;
use crate::common::xvnc::{changed_box, settled_screen};

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use image::{GrayImage, Luma, RgbImage};
use serde_json::Value;

use common::xvnc::{Xvnc, XvncAuth};

fn vncpilot(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args(args)
        .output()
        .expect("run vncpilot");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A mask of `size` that compares `region` only.
fn mask(size: (u32, u32), region: (u32, u32, u32, u32)) -> GrayImage {
    let (x, y, w, h) = region;
    GrayImage::from_fn(size.0, size.1, |px, py| {
        let inside = px >= x && px < x + w && py >= y && py < y + h;
        Luma([if inside { 255 } else { 0 }])
    })
}

/// Saves screen `<root>/screens/<set>/<name>.png` with its mask and a strict .toml.
fn save_reference(root: &Path, set: &str, name: &str, picture: &RgbImage, mask: &GrayImage) {
    let screens = root.join("screens").join(set);
    let masks = root.join("masks").join(set);
    std::fs::create_dir_all(&screens).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    picture.save(screens.join(format!("{name}.png"))).unwrap();
    mask.save(masks.join(format!("{name}.png"))).unwrap();
    std::fs::write(
        screens.join(format!("{name}.toml")),
        "threshold = 0.99\nmargin = 0\n",
    )
    .unwrap();
}

/// Waits until the desktop shows nothing but (at most) the pointer that a client left behind.
fn wait_empty(desktop: &Xvnc, scratch: &Path, empty: &RgbImage) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = settled_screen(desktop, scratch);
        if now == *empty || changed_box(empty, &now).2 <= 32 {
            return;
        }
        assert!(Instant::now() < deadline, "the xterm did not go away");
    }
}

/// Copies the folder `from` to `to` (files and folders; a run's folder has no links).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn refs_unused_and_suggest_maintain_the_references_of_a_real_run() {
    let started = Instant::now();
    let mut desktop = Xvnc::start(1024, 768, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let project = tmp.path().join("project");

    // "a": a fresh xterm, compared where the xterm is.
    let empty = settled_screen(&desktop, &scratch);
    desktop.spawn_centred_xterm();
    let fresh = settled_screen(&desktop, &scratch);
    let window = changed_box(&empty, &fresh);
    let size = fresh.dimensions();
    save_reference(&project, "xterm", "a", &fresh, &mask(size, window));
    // "b": the same xterm after a command, captured as it looked when the reference was made.
    let (code, _, err) = vncpilot(&["type", "--vnc", &desktop.unix_addr(), "echo colour-one\n"]);
    assert_eq!(code, Some(0), "{err}");
    let typed = settled_screen(&desktop, &scratch);
    let (x, y, w, _) = window;
    let lines = (x, y, w, 60);
    save_reference(&project, "xterm", "b", &typed, &mask(size, lines));
    // "c": a screen no run ever shows.
    let mut never = fresh.clone();
    for p in never.pixels_mut() {
        p.0 = [255 - p.0[0], 255 - p.0[1], 255 - p.0[2]];
    }
    save_reference(&project, "xterm", "c", &never, &mask(size, window));
    desktop.stop_clients();
    wait_empty(&desktop, &scratch, &empty);
    desktop.spawn_centred_xterm();

    // The run: "a" comes, then the xterm says something slightly different from "b".
    let harness = project.join("harnesses/xterm");
    std::fs::create_dir_all(&harness).unwrap();
    std::fs::write(
        harness.join("harness.toml"),
        "screens = \"xterm\"\n[timeouts]\nrun_s = 60\n",
    )
    .unwrap();
    std::fs::write(
        harness.join("install.rhai"),
        "wait_screen(\"a\", 20);\ntype(\"echo colour-two\\n\");\nwait_still(0.5, 10);\n\
         if check_screen(\"b\", 1) != \"\" { fail(\"b came\"); }\nwait_screen(\"b\", 3);\n",
    )
    .unwrap();
    let results = tmp.path().join("results");
    let (code, _, err) = vncpilot(&[
        "run",
        s(&harness),
        "--vnc",
        &desktop.unix_addr(),
        "--results",
        s(&results),
    ]);
    assert_eq!(code, Some(1), "the run must fail on b: {err}");
    let run = std::fs::canonicalize(results.join("latest")).unwrap();
    let result = json(&std::fs::read_to_string(run.join("result.json")).unwrap());
    let set = std::fs::canonicalize(project.join("screens/xterm")).unwrap();
    assert_eq!(result["screens"], s(&set), "{result}");
    let forensics = vncpilot::report::forensics::load(&run).unwrap().unwrap();
    let awaited = forensics.awaited.expect("the awaited screen");
    assert_eq!(awaited.screen, "b");
    let best = awaited.best_similarity.unwrap();
    assert!(
        (0.80..0.99).contains(&best),
        "b must be a near miss, its best similarity is {best}"
    );
    let actual = run.join(&awaited.actual_png);

    // refs unused: b and c never matched, a did (in this run). The results root holds the run
    // and `latest` pointing at it: one run.
    let (code, out, err) = vncpilot(&["refs", "unused", s(&results), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let usage = json(&out);
    assert_eq!(usage["runs"], 1, "{usage}");
    let refs = usage["references"].as_array().unwrap();
    let unused: Vec<&str> = refs
        .iter()
        .filter(|r| r["matches"] == 0)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(unused, ["b", "c"], "{usage}");
    let a = refs.iter().find(|r| r["name"] == "a").unwrap();
    assert_eq!(a["matches"], 1, "{a}");
    assert_eq!(a["last"]["run"], s(&run), "{a}");
    assert_eq!(a["last"]["started"], result["started"], "{a}");
    let (code, out, _) = vncpilot(&["refs", "unused", s(&run)]);
    assert_eq!(code, Some(0));
    eprintln!("vncpilot refs unused:\n{out}");
    assert!(out.contains("unused (2):"), "{out}");
    assert!(out.contains(s(&run)), "a's last run is shown: {out}");
    // The same run as attempt 1 of a matrix cell (DIR/<night>/<harness>/<variant>/cell.json):
    // found through the cell's list of attempts.
    let nightly = tmp.path().join("nightly");
    let cell = nightly.join("2026-12-03/xterm/default");
    copy_dir(&run, &cell.join("attempt-1"));
    std::fs::write(
        cell.join("cell.json"),
        format!(
            r#"{{"harness":"xterm","variant":"default","night":"2026-12-03","status":"fail","started":{},"attempts":[{{"status":"fail","results":"attempt-1"}}]}}"#,
            result["started"]
        ),
    )
    .unwrap();
    let (code, out, err) = vncpilot(&["refs", "unused", s(&nightly), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let usage = json(&out);
    assert_eq!(usage["runs"], 1, "{usage}");
    let a = &usage["references"][0];
    assert_eq!(a["name"], "a", "{usage}");
    assert_eq!(a["last"]["run"], s(&cell.join("attempt-1")), "{usage}");
    // Sets given explicitly: another set nobody used is all unused.
    let other = project.join("screens/other");
    std::fs::create_dir_all(&other).unwrap();
    fresh.save(other.join("a.png")).unwrap();
    let (code, out, err) = vncpilot(&["refs", "unused", s(&run), "--screens", s(&other), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let usage = json(&out);
    assert_eq!(usage["references"].as_array().unwrap().len(), 1, "{usage}");
    assert_eq!(usage["references"][0]["matches"], 0, "{usage}");

    // refs suggest: b is proposed; nothing in screens/ changes.
    let b_png = project.join("screens/xterm/b.png");
    let b_mask = project.join("masks/xterm/b.png");
    let b_toml = project.join("screens/xterm/b.toml");
    let before = std::fs::read(&b_png).unwrap();
    let (mask_before, toml_before) = (
        std::fs::read(&b_mask).unwrap(),
        std::fs::read(&b_toml).unwrap(),
    );
    let (code, out, err) = vncpilot(&["refs", "suggest", s(&run)]);
    assert_eq!(code, Some(0), "{err}");
    eprintln!("vncpilot refs suggest:\n{out}");
    assert!(out.contains("b: near miss"), "{out}");
    assert!(
        out.contains(&format!("{best:.4}")),
        "the similarity is shown: {out}"
    );
    let folder = run.join("suggestions/b");
    for name in ["old.png", "new.png", "diff.png"] {
        let path = folder.join(name);
        assert!(out.contains(s(&path)), "{name} is shown: {out}");
        let picture = image::open(&path).unwrap().to_rgb8();
        assert_eq!(picture.dimensions(), size, "{name}");
    }
    assert_eq!(
        image::open(folder.join("old.png")).unwrap().to_rgb8(),
        typed
    );
    let frame = image::open(&actual).unwrap().to_rgb8();
    assert_eq!(
        image::open(folder.join("new.png")).unwrap().to_rgb8(),
        frame
    );
    assert_eq!(
        std::fs::read(&b_png).unwrap(),
        before,
        "screens/ untouched without --apply"
    );
    let (code, _, _) = vncpilot(&["check", s(&b_png), s(&actual)]);
    assert_eq!(code, Some(1), "the old b does not match the run's frame");

    // A set whose b has another size: applying is refused, nothing written.
    let small = project.join("screens/small");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::create_dir_all(project.join("masks/small")).unwrap();
    let crop = image::imageops::crop_imm(&typed, 0, 0, 800, 600).to_image();
    crop.save(small.join("b.png")).unwrap();
    mask((800, 600), (x, y, w.min(800 - x), 60))
        .save(project.join("masks/small/b.png"))
        .unwrap();
    let small_before = std::fs::read(small.join("b.png")).unwrap();
    let (code, _, err) = vncpilot(&[
        "refs",
        "suggest",
        s(&run),
        "--screens",
        s(&small),
        "--apply",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("1024x768") && err.contains("800x600") && err.contains("masks/small/b.png"),
        "{err}"
    );
    assert_eq!(std::fs::read(small.join("b.png")).unwrap(), small_before);

    // --apply: b.png is the run's frame, mask and .toml kept, and the frame matches now.
    let (code, out, err) = vncpilot(&["refs", "suggest", s(&run), "--apply", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let report = json(&out);
    let suggestion = &report["suggestions"][0];
    assert_eq!(suggestion["screen"], "b", "{report}");
    assert_eq!(suggestion["applied"], true, "{report}");
    // The run's other near miss, the check_screen before, kept no frame: pointed at the video.
    let others = report["not_suggested"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{report}");
    assert_eq!(others[0]["screen"], "b", "{report}");
    let why = others[0]["why"].as_str().unwrap();
    assert!(
        why.contains("check_screen") && why.contains("replay"),
        "{why}"
    );
    assert_eq!(image::open(&b_png).unwrap().to_rgb8(), frame);
    assert_eq!(std::fs::read(&b_mask).unwrap(), mask_before);
    assert_eq!(std::fs::read(&b_toml).unwrap(), toml_before);
    let (code, out, err) = vncpilot(&["check", s(&b_png), s(&actual)]);
    assert_eq!(
        code,
        Some(0),
        "the updated b matches the run's frame: {out}{err}"
    );
    let (code, out, _) = vncpilot(&["refs", "suggest", s(&run)]);
    assert_eq!(code, Some(0));
    assert!(out.contains("already matches"), "{out}");

    // Not a results folder.
    let stray = tmp.path().join("not-results");
    std::fs::create_dir_all(stray.join("inside")).unwrap();
    for sub in ["unused", "suggest"] {
        let (code, _, err) = vncpilot(&["refs", sub, s(&stray)]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(s(&stray)) && err.contains("not a results folder"),
            "{err}"
        );
    }
    eprintln!("refs test took {:.1} s", started.elapsed().as_secs_f64());
}
