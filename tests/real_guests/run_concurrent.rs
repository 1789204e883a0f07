//! Two runs at once in one process, through the library (`vncpilot::run::run`), each with its
//! own real QEMU guest (TCG): the Debian installer's kernel booted without an initrd, so it
//! prints its command line — holding a random marker of its own — on the serial port within
//! seconds, then panics (no root fs) and its screen stands still. Both runs go under the same
//! results root with the same harness name, in the same second. Each results folder must hold
//! its own result, its own serial log (its marker, not the other's), and its own video (whose
//! last frame is its own final screen, not the other's); both guests ran at the same time.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use vncpilot::record::{Manifest, Recording};
use vncpilot::report::{Event, RunObserver, Status};
use vncpilot::run::{ResultsLocation, RunOptions, run};
use vncpilot::script::Harness;

const KERNEL: &str = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux";

/// A marker nobody else prints: the time in nanoseconds, the process and the run's index.
fn random_marker(index: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("vncpilot-{:x}-{}-{index}", nanos, std::process::id())
}

/// `<dir>/kernel-marker/`: boots the kernel with `marker` on its command line (serial and VGA
/// console, no blinking text cursor, so a panicked guest's screen stands still); the macro waits
/// for the marker, then for the panic, then for a still screen.
fn marker_harness(dir: &Path, marker: &str) -> PathBuf {
    let h = dir.join("kernel-marker");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12\"\nscreens_root = {:?}\n\
             [variables]\nmarker = {marker:?}\n\
             [guest]\nmemory_mib = 256\naccel = \"tcg\"\nnetwork = false\n\
             [guest.boot]\nkernel = {KERNEL:?}\n\
             cmdline = \"console=tty0 console=ttyS0 vt.global_cursor_default=0 marker={marker}\"\n\
             [timeouts]\nrun_s = 300\n",
            screens.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        h.join("install.rhai"),
        "wait_serial(var(\"marker\"), 200);\n\
         wait_serial(\"end Kernel panic\", 200);\n\
         wait_still(1, 60);\n",
    )
    .unwrap();
    h
}

/// When (on this process's clock) a run's guest was ready and when the run ended.
#[derive(Default)]
struct Times(Mutex<(Option<Instant>, Option<Instant>)>);

impl RunObserver for Times {
    fn event(&self, event: &Event) {
        let mut t = self.0.lock().unwrap();
        match event.action.as_str() {
            "guest_ready" => t.0 = Some(Instant::now()),
            "end" => t.1 = Some(Instant::now()),
            _ => {}
        }
    }
}

impl Times {
    fn get(&self) -> (Instant, Instant) {
        let t = self.0.lock().unwrap();
        (
            t.0.expect("a guest_ready event"),
            t.1.expect("an end event"),
        )
    }
}

#[test]
fn two_runs_in_one_process_keep_their_own_results_serial_logs_and_videos() {
    assert!(
        Path::new(KERNEL).is_file(),
        "{KERNEL} is missing: install debian-installer-12-netboot-amd64 (scripts/install-deps)"
    );
    let _lock = common::guest_lock();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("results");
    let markers = [random_marker(0), random_marker(1)];
    let times = [Arc::new(Times::default()), Arc::new(Times::default())];
    let options: Vec<RunOptions> = markers
        .iter()
        .zip(&times)
        .enumerate()
        .map(|(i, (marker, times))| {
            let dir = marker_harness(&tmp.path().join(format!("h{i}")), marker);
            let harness = Harness::load(&dir, &[]).expect("load the harness");
            let mut options = RunOptions::new(harness, ResultsLocation::Under(root.clone()));
            options.keep_video = true;
            options.progress = false;
            options.observers.push(times.clone());
            options
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let [a, b]: [RunOptions; 2] = options.try_into().ok().unwrap();
    let (a, b) = runtime.block_on(async { tokio::join!(run(a), run(b)) });
    let outcomes = [a.expect("run 0"), b.expect("run 1")];

    for outcome in &outcomes {
        assert_eq!(outcome.status, Status::Pass, "{}", outcome.reason);
        assert_eq!(
            outcome.results.parent().unwrap(),
            root.join("kernel-marker")
        );
    }
    let dirs = [&outcomes[0].results, &outcomes[1].results];
    assert_ne!(dirs[0], dirs[1], "each run has its own results folder");
    // Both guests were up at the same time: each was ready before the other run ended.
    let ((ready0, end0), (ready1, end1)) = (times[0].get(), times[1].get());
    assert!(
        ready0 < end1 && ready1 < end0,
        "the runs did not overlap: {ready0:?}..{end0:?} and {ready1:?}..{end1:?}"
    );

    let mut finals = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let result = vncpilot::report::read_result(dir).expect("result.json");
        assert_eq!(result.status, Status::Pass);
        assert_eq!(result.variables["marker"], markers[i]);
        let serial = std::fs::read_to_string(dir.join("serial.log")).expect("serial.log");
        assert!(
            serial.contains(&format!("marker={}", markers[i])),
            "run {i}'s serial.log lacks its own marker"
        );
        assert!(
            !serial.contains(&markers[1 - i]),
            "run {i}'s serial.log holds the other run's marker"
        );
        let manifest = Manifest::load(dir).expect("video.json");
        assert!(manifest.complete, "run {i}'s recording was finished");
        assert!(manifest.stats.frames_encoded > 0);
        let browser = manifest.browser.as_ref().expect("a browser track");
        assert!(
            dir.join(&browser.file).is_file(),
            "run {i}: {}",
            browser.file
        );
        let last = Recording::open(dir)
            .expect("open the recording")
            .frame_at(manifest.duration_s)
            .expect("the last frame");
        let final_png = image::open(dir.join("final.png"))
            .expect("final.png")
            .to_rgb8();
        assert!(
            last.image == final_png,
            "run {i}'s video does not end on its own final screen"
        );
        finals.push((final_png, last.image));
    }
    assert!(
        finals[0].0 != finals[1].0,
        "the two guests' final screens are identical: the test cannot tell the videos apart"
    );
    assert!(
        finals[0].1 != finals[1].0 && finals[1].1 != finals[0].0,
        "a video ends on the other run's screen"
    );
}
