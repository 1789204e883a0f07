//! The VNC session against a real TigerVNC `Xvnc` with an `xterm` in it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::xvnc::{Xvnc, XvncAuth};
use vncpilot::rfb::encodings::code;
use vncpilot::rfb::{Addr, ConnectOptions, RfbError, Secret, Session};

const BIN: &str = env!("CARGO_BIN_EXE_vncpilot");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn distinct_colours(img: &image::RgbImage) -> usize {
    let mut seen = std::collections::HashSet::new();
    for p in img.pixels() {
        seen.insert(p.0);
        if seen.len() > 16 {
            break;
        }
    }
    seen.len()
}

/// Waits (bounded) until the xterm has drawn something: the screen is no longer one colour.
async fn wait_for_xterm(session: &Session) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut frames = session.subscribe();
    loop {
        if distinct_colours(&session.latest().image) >= 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "xterm never appeared on the screen"
        );
        let _ = frames.next(Duration::from_millis(500)).await;
    }
}

#[test]
fn snap_gives_the_servers_size_and_real_content() {
    let mut x = Xvnc::start(1024, 768, XvncAuth::None);
    x.spawn_xterm();
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let s = Session::connect(&addr, ConnectOptions::default())
            .await
            .unwrap();
        wait_for_xterm(&s).await;
    });
    let out = x.dir().join("snap.png");
    let status = Command::new(BIN)
        .args(["snap", "--vnc", &x.addr()])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let img = image::open(&out).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1024, 768));
    assert!(distinct_colours(&img) >= 2, "the snap is blank");

    let ppm = x.dir().join("snap.ppm");
    let status = Command::new(BIN)
        .args(["snap", "--vnc", &x.addr()])
        .arg(&ppm)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(image::open(&ppm).unwrap().to_rgb8(), img);
}

#[test]
fn every_typed_character_arrives() {
    let mut x = Xvnc::start(1024, 768, XvncAuth::None);
    x.spawn_xterm();
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let s = Session::connect(&addr, ConnectOptions::default())
            .await
            .unwrap();
        wait_for_xterm(&s).await;
    });
    let marker = format!(
        "vncpilot-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ 0x5eed
    );
    let file = x.dir().join("typed.txt");
    // Every printable class: letters, digits, shifted symbols, quotes, spaces.
    let text = format!(
        "echo '{marker} ABC xyz 0189 !@#$%^&*()_+{{}}|:\"<>? -=[]\\;,./`~' > {}",
        file.display()
    );
    let status = Command::new(BIN)
        .args(["type", "--vnc", &x.addr(), &text])
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new(BIN)
        .args(["send", "--vnc", &x.addr(), "ret"])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let want = format!("{marker} ABC xyz 0189 !@#$%^&*()_+{{}}|:\"<>? -=[]\\;,./`~\n");
    loop {
        if std::fs::read_to_string(&file).is_ok_and(|got| got == want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the typed command did not produce {want:?}; file has {:?}",
            std::fs::read_to_string(&file).ok()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn raw_zrle_and_tight_decode_to_the_same_pixels() {
    let mut x = Xvnc::start(800, 600, XvncAuth::None);
    x.spawn_xterm();
    x.spawn_client(
        "xterm",
        &["-geometry", "60x20+300+250", "-bg", "navy", "-fg", "yellow"],
    );
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let with = |encodings: Vec<i32>| ConnectOptions {
            encodings,
            ..ConnectOptions::default()
        };
        let raw = Session::connect(&addr, with(vec![code::RAW]))
            .await
            .unwrap();
        // Both xterms drawn, and the screen then still for a moment.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut frames = raw.subscribe();
        loop {
            if distinct_colours(&raw.latest().image) >= 4
                && frames.next(Duration::from_millis(700)).await.is_err()
            {
                break;
            }
            assert!(Instant::now() < deadline, "the screen did not settle");
        }
        let reference = raw.latest().image.clone();
        for (name, enc) in [("ZRLE", code::ZRLE), ("Tight", code::TIGHT)] {
            let s = Session::connect(&addr, with(vec![enc, code::RAW]))
                .await
                .unwrap();
            assert_eq!(
                *s.latest().image,
                *reference,
                "{name} decoded different pixels than Raw"
            );
            s.close().await;
        }
    });
}

#[test]
fn vnc_authentication_right_wrong_and_missing_password() {
    let x = Xvnc::start(640, 480, XvncAuth::Password("s3cret-pw"));
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let ok = Session::connect(
            &addr,
            ConnectOptions {
                password: Some(Secret::new("s3cret-pw")),
                ..ConnectOptions::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(ok.latest().image.dimensions(), (640, 480));

        let wrong = Session::connect(
            &addr,
            ConnectOptions {
                password: Some(Secret::new("not-it")),
                ..ConnectOptions::default()
            },
        )
        .await;
        assert!(
            matches!(wrong, Err(RfbError::AuthFailed(_))),
            "wrong password gave {:?}",
            wrong.err()
        );
        let missing = Session::connect(&addr, ConnectOptions::default()).await;
        assert!(matches!(missing, Err(RfbError::PasswordRequired)));
    });

    // The CLI: exit code 3, a clear message, and the password nowhere in the output.
    let pwfile = x.dir().join("wrong-password");
    std::fs::write(&pwfile, "hunter2-wrong\n").unwrap();
    let out = Command::new(BIN)
        .args(["snap", "--vnc", &x.addr(), "--password-file"])
        .arg(&pwfile)
        .arg(x.dir().join("never.png"))
        .args(["-vvv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");

    let out = Command::new(BIN)
        .args(["snap", "--vnc", &x.addr()])
        .arg(x.dir().join("ok.png"))
        .env("VNCPILOT_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_server_cursor_shape_is_received() {
    let mut x = Xvnc::start(640, 480, XvncAuth::None);
    x.spawn_xterm();
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let s = Session::connect(&addr, ConnectOptions::default())
            .await
            .unwrap();
        let mut frames = s.subscribe();
        let deadline = Instant::now() + Duration::from_secs(20);
        // Move onto the xterm so the server has a cursor to tell us about.
        s.pointer_abs(50, 50, 0).await.unwrap();
        while s.latest().cursor.is_none() {
            assert!(
                Instant::now() < deadline,
                "no Cursor pseudo-encoding rectangle arrived"
            );
            let _ = frames.next(Duration::from_millis(500)).await;
        }
        let c = s.latest().cursor.clone().unwrap();
        assert!(c.image.width() > 0 && c.image.width() <= 128);
        assert!(c.hotspot.0 < c.image.width() && c.hotspot.1 < c.image.height());
        assert!(
            c.image.pixels().any(|p| p.0[3] > 0),
            "the cursor shape is fully transparent"
        );
    });
}
