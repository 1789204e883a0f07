//! The pointer on a real guest: the Debian 12 graphical installer under QEMU (TCG) with a
//! usb-tablet (absolute). On the location screen it clicks "Canada" over VNC — checked by the
//! row turning highlighted — and then "Continue" through QEMU's monitor (QMP input-send-event)
//! — checked by the keyboard screen matching its reference. The same with the default PS/2 mouse (relative, accelerated, software cursor
//! drawn into the framebuffer) is covered end to end by tests/real_guests/run_debian_gtk.rs, through a
//! macro's `click`/`click_screen` (one guest boot less for the suite); `click_canada_then_continue`
//! still takes the expected mode so either can be run by hand.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vncpilot::display::QmpPointer;
use vncpilot::display::VncPointer;
use vncpilot::guest::Qmp;
use vncpilot::pointer::device::buttons;
use vncpilot::pointer::{CursorSprite, Locator, Mode, MoveOptions, Pointer, PointerDevice};
use vncpilot::rfb::{Addr, ConnectOptions, Frame, Session};
use vncpilot::screen::Reference;

const GTK: &str = "/usr/lib/debian-installer/images/12/amd64/gtk/debian-installer/amd64";
const SCREENS: &str = "tests/data/pointer/screens/debian12-gtk";

/// "Canada" in the location list, and the "Continue" button (1280x800 screen).
const CANADA: (u32, u32) = (50, 282);
const CONTINUE: (u32, u32) = (1218, 774);

/// A QEMU guest killed and reaped on drop.
struct Guest {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Guest {
    fn boot(extra: &[&str]) -> Guest {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("vnc.sock");
        let child = Command::new("qemu-system-x86_64")
            .args([
                "-accel", "tcg", "-m", "1024", "-display", "none", "-nic", "none",
            ])
            .args([
                "-kernel",
                &format!("{GTK}/linux"),
                "-initrd",
                &format!("{GTK}/initrd.gz"),
            ])
            .args(["-append", "vga=788 --- quiet"])
            .arg("-vnc")
            .arg(format!("unix:{}", sock.display()))
            .arg("-qmp")
            .arg(format!(
                "unix:{},server=on,wait=off",
                dir.path().join("qmp.sock").display()
            ))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start qemu-system-x86_64");
        Guest { child, dir }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("vnc.sock")
    }

    async fn connect(&mut self) -> Session {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = Addr::parse(&format!("unix:{}", self.socket().display())).unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("qemu exited early: {status}");
            }
            match Session::connect(&addr, ConnectOptions::default()).await {
                Ok(s) => return s,
                Err(e) if Instant::now() > deadline => panic!("cannot connect to QEMU's VNC: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

fn reference(name: &str) -> Reference {
    Reference::load(Path::new(SCREENS).join(format!("{name}.png"))).unwrap()
}

/// Waits until `reference` matches the screen (ignoring the cursor where it is known).
async fn wait_screen(
    session: &Session,
    reference: &Reference,
    ignore: &[vncpilot::rfb::Rect],
    timeout: Duration,
) -> Arc<Frame> {
    let deadline = Instant::now() + timeout;
    let mut stream = session.subscribe();
    let mut frame = session.latest();
    loop {
        if frame.image.dimensions() == reference.size()
            && reference.check_ignoring(&frame.image, ignore).matched
        {
            return frame;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let path = std::env::temp_dir().join(format!("pointer-guest-{}.png", reference.name()));
            frame.image.save(&path).unwrap();
            panic!(
                "screen {} did not show within {timeout:?}; last screen saved in {}",
                reference.name(),
                path.display()
            );
        }
        match stream.next(left.min(Duration::from_secs(2))).await {
            Ok(f) => frame = f,
            Err(_) => frame = session.latest(),
        }
    }
}

/// Whether row `y` is drawn in the list's selection colour (teal) across the list.
fn row_selected(image: &image::RgbImage, y: u32) -> bool {
    (300..1200).step_by(100).all(|x| {
        let p = image.get_pixel(x, y);
        p[0] < 80 && p[1] > 100 && p[2] > 90 && p[1] < 160
    })
}

async fn click_canada_then_continue(extra: &[&str], expect: Mode) {
    let _lock = common::guest_lock();
    let mut guest = Guest::boot(extra);
    let session = guest.connect().await;
    wait_screen(
        &session,
        &reference("language"),
        &[],
        Duration::from_secs(300),
    )
    .await;
    session.key("ret").await.unwrap();
    wait_screen(
        &session,
        &reference("location"),
        &[],
        Duration::from_secs(60),
    )
    .await;

    let sprites = CursorSprite::load_dir(Path::new("screens/cursors")).unwrap();
    let mut pointer = Pointer::new(VncPointer::new(session.clone()), Locator::new(sprites));
    assert_eq!(
        pointer.device().mode(),
        expect,
        "pointer mode QEMU announced"
    );
    let opts = MoveOptions::default();

    let before = session.latest();
    assert!(
        row_selected(&before.image, 558) && !row_selected(&before.image, CANADA.1),
        "United States preselected"
    );
    let report = pointer
        .click(CANADA.0, CANADA.1, buttons::LEFT, 1, &opts)
        .await
        .unwrap();
    eprintln!("Canada: {}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.mode, expect);
    assert_eq!((report.at, report.error_px), (CANADA, Some(0)));
    // The row turns selected.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let f = pointer.device().settled_frame().await.unwrap();
        if row_selected(&f.image, CANADA.1) && !row_selected(&f.image, 558) {
            break;
        }
        assert!(Instant::now() < deadline, "Canada did not get selected");
    }

    // "Continue" through QEMU's monitor instead (QMP input-send-event, as a run watched with
    // --watch qmp does): the same device, the same frames.
    let qmp = Arc::new(
        Qmp::connect(&guest.dir.path().join("qmp.sock"), Duration::from_secs(30))
            .await
            .unwrap(),
    );
    let frames = session.clone();
    let device = QmpPointer::new(qmp, Box::new(move || Some(frames.latest())))
        .await
        .unwrap();
    assert_eq!(device.mode(), expect, "the current mouse per query-mice");
    let mut pointer = Pointer::new(device, pointer.locator().clone());
    let report = pointer
        .click(CONTINUE.0, CONTINUE.1, buttons::LEFT, 1, &opts)
        .await
        .unwrap();
    eprintln!(
        "Continue (QMP): {}",
        serde_json::to_string(&report).unwrap()
    );
    assert_eq!(report.mode, expect);
    assert!(report.error_px.is_some_and(|e| e <= 1), "{report:?}");
    let ignore: Vec<_> = pointer.cursor_rect().into_iter().collect();
    wait_screen(
        &session,
        &reference("keyboard"),
        &ignore,
        Duration::from_secs(120),
    )
    .await;
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usb_tablet_clicks_a_list_entry_and_continue() {
    click_canada_then_continue(&["-usb", "-device", "usb-tablet"], Mode::Absolute).await;
}
