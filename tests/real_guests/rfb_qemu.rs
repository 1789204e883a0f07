//! The VNC session against QEMU's own VNC server, on a unix socket, with the real Debian 12
//! installer booting in it: resolution changes on the way, the first screen recognised, and a
//! key sent as a QEMU extended key event (an XT scancode) moving the installer's selection.

use crate::common;

use std::time::{Duration, Instant};

use common::qemu::Qemu;
use vncpilot::rfb::{Addr, ConnectOptions, Session};
use vncpilot::screen::Reference;

fn connect_with_retry(addr: &Addr, rt: &tokio::runtime::Runtime) -> Session {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rt.block_on(Session::connect(addr, ConnectOptions::default())) {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "QEMU's VNC never answered: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

#[test]
fn debian_installer_first_screen_and_an_extended_key_event() {
    let _lock = common::guest_lock();
    let qemu = Qemu::boot_installer("text", &[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = Addr::parse(&qemu.vnc_addr()).unwrap();
    let session = connect_with_retry(&addr, &rt);
    let reference = Reference::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfb/debian-12-text-language.png"
    ))
    .unwrap();

    // Every frame from boot to the language screen, through the installer's mode changes.
    let mut frames = session.subscribe();
    let mut sizes = vec![session.latest().image.dimensions()];
    let deadline = Instant::now() + Duration::from_secs(300);
    let matched = loop {
        let frame = session.latest();
        if sizes.last() != Some(&frame.image.dimensions()) {
            sizes.push(frame.image.dimensions());
        }
        if frame.image.dimensions() == reference.size() && reference.check(&frame.image).matched {
            break frame;
        }
        assert!(
            Instant::now() < deadline,
            "the language screen never came; sizes seen {sizes:?}, qemu log: {}",
            std::fs::read_to_string(qemu.dir().join("qemu.log")).unwrap_or_default()
        );
        let _ = rt.block_on(frames.next(Duration::from_secs(2)));
    };
    assert!(
        sizes.len() >= 2,
        "expected the installer to change resolution on the way, saw {sizes:?}"
    );
    assert!(
        session.is_qemu(),
        "QEMU did not announce extended key events"
    );

    // "English" is selected (red bar); "down" moves the bar to "Esperanto" below it.
    let red = |img: &image::RgbImage, y: u32| {
        let p = img.get_pixel(460, y).0;
        p[0] > 150 && p[1] < 60 && p[2] < 60
    };
    assert!(red(&matched.image, 360) && !red(&matched.image, 376));
    rt.block_on(session.key("down")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let img = session.latest().image.clone();
        if !red(&img, 360) && red(&img, 376) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the key did not move the selection"
        );
        let _ = rt.block_on(frames.next(Duration::from_secs(1)));
    }
}

/// QEMU's VNC server keeps sending updates while the guest boots, so a `snap`/`send` that closes
/// its session finds the reader mid-request: that orderly close used to be logged as the warning
/// "VNC session ended … writer stopped" (about one command in six). Now stderr stays empty.
#[test]
fn snap_and_send_against_a_booting_guest_print_no_warning() {
    let _lock = common::guest_lock();
    let q = Qemu::boot_installer("text", &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = Addr::parse(&q.vnc_addr()).unwrap();
    drop(connect_with_retry(&addr, &rt)); // the server is up
    let out = q.dir().join("snap.png");
    let vnc = q.vnc_addr();
    for i in 0..12 {
        let args: Vec<&str> = if i % 2 == 0 {
            vec!["snap", "--vnc", &vnc, out.to_str().unwrap()]
        } else {
            vec!["send", "--vnc", &vnc, "ret"]
        };
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{args:?} failed: {stderr}");
        assert!(stderr.is_empty(), "{args:?} printed on stderr: {stderr}");
    }
}
