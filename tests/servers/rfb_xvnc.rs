//! The VNC session against a real TigerVNC `Xvnc` with an `xterm` in it.

use crate::common;

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

/// Xvnc at 1024×768 with an xterm that has drawn itself and has the keyboard focus.
fn xterm_desktop() -> Xvnc {
    let mut x = Xvnc::start(1024, 768, XvncAuth::None);
    x.spawn_xterm();
    let addr = Addr::parse(&x.addr()).unwrap();
    runtime().block_on(async {
        let s = Session::connect(&addr, ConnectOptions::default())
            .await
            .unwrap();
        wait_for_xterm(&s).await;
    });
    x
}

#[test]
fn snap_gives_the_servers_size_and_real_content() {
    let x = xterm_desktop();
    let snap = |name: &str| {
        let out = x.dir().join(name);
        let status = Command::new(BIN)
            .args(["snap", "--vnc", &x.addr()])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        image::open(&out).unwrap().to_rgb8()
    };
    let img = snap("snap.png");
    assert_eq!(img.dimensions(), (1024, 768));
    assert!(distinct_colours(&img) >= 2, "the snap is blank");
    assert_eq!(snap("snap.ppm"), img, "PNG and PPM snaps differ");
}

#[test]
fn every_typed_character_arrives() {
    let x = xterm_desktop();
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
        &["-geometry", "60x10+100+420", "-bg", "navy", "-fg", "yellow"],
    );
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    rt.block_on(async {
        let with = |encodings: Vec<i32>| ConnectOptions {
            encodings,
            ..ConnectOptions::default()
        };
        let mut sessions = Vec::new();
        for (name, enc) in [
            ("Raw", code::RAW),
            ("ZRLE", code::ZRLE),
            ("Tight", code::TIGHT),
        ] {
            let s = Session::connect(&addr, with(vec![enc, code::RAW]))
                .await
                .unwrap();
            sessions.push((name, s.subscribe(), s));
        }
        // The xterms may still be drawing: wait (bounded) until the screen has both xterms and
        // all three sessions show the same pixels. Wrong decoding never converges.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let raw = sessions[0].2.latest().image.clone();
            let differing: Vec<(&str, usize)> = sessions[1..]
                .iter()
                .map(|(name, _, s)| {
                    let img = s.latest().image.clone();
                    let diff = if img.dimensions() != raw.dimensions() {
                        usize::MAX
                    } else {
                        img.pixels()
                            .zip(raw.pixels())
                            .filter(|(a, b)| a != b)
                            .count()
                    };
                    (*name, diff)
                })
                .filter(|(_, diff)| *diff > 0)
                .collect();
            if differing.is_empty() && distinct_colours(&raw) >= 4 {
                break;
            }
            if Instant::now() >= deadline {
                let _ = raw.save("/tmp/rfb_xvnc_diag.png");
                panic!(
                    "decoders disagree with Raw (pixels differing): {differing:?}; {} colours",
                    distinct_colours(&raw)
                );
            }
            for (_, frames, _) in &mut sessions {
                let _ = frames.next(Duration::from_millis(200)).await;
            }
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

/// An orderly `snap`/`type`/`send` leaves stderr quiet: the client closing its own session is no
/// warning (it was "VNC session ended … writer stopped" after every command), and logs written
/// to a pipe carry no ANSI colour codes (at `-v`, so that there are log lines to look at).
#[test]
fn orderly_commands_log_no_warning_and_no_colour_codes() {
    let x = Xvnc::start(640, 480, XvncAuth::None);
    let out = x.dir().join("quiet.png");
    let out = out.to_str().unwrap();
    for (args, verbose) in [
        (vec!["snap", "--vnc", &x.addr(), out], false),
        (vec!["type", "--vnc", &x.addr(), "a"], false),
        (vec!["send", "--vnc", &x.addr(), "ret"], false),
        (vec!["-v", "snap", "--vnc", &x.addr(), out], true),
    ] {
        let run = Command::new(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{args:?} failed: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{args:?}: ANSI escapes on a pipe: {stderr:?}"
        );
        assert!(
            !stderr.to_lowercase().contains("warn") && !stderr.contains("ERROR"),
            "{args:?} warned after an orderly close: {stderr}"
        );
        if verbose {
            assert!(
                stderr.contains("INFO"),
                "-v logged nothing to check: {stderr:?}"
            );
        } else {
            assert!(stderr.is_empty(), "{args:?} printed on stderr: {stderr}");
        }
    }
}
