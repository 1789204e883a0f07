//! A differential oracle for our RFB engine: the independent VNC client crate `vnc-rs` and our
//! own [`Session`] watch the same real TigerVNC `Xvnc` screen, and the pictures they assemble
//! must agree pixel for pixel.
//!
//! Why: our decoders' unit tests check them against bytes we wrote ourselves, so a
//! misunderstanding of the protocol would be baked into both the decoder and its test. Here
//! the server's real output is decoded twice, by two implementations written independently
//! — ours with its preferred encodings (ZRLE/Tight/CopyRect), vnc-rs with plain Raw and
//! CopyRect in a different pixel format — so a bug in either shows up as a pixel difference.
//! Two rounds: the first full update, then incremental updates after typing into an xterm.
//!
//! How vnc-rs is driven (0.6): one task owns the client and alternates between
//! `recv_event()` under a short timeout and `input(Refresh)`; `input()` would block while
//! another task waited in `recv_event()` (they share a mutex). vnc-rs has no end-of-update
//! event, so the test polls events until the assembled picture stops changing and equals
//! ours, within a deadline. ExtendedDesktopSize is not offered to vnc-rs (TigerVNC then waits
//! for a fresh request after announcing the layout); the Cursor pseudo-encoding is, so that
//! the server leaves the pointer out of the pixels for both clients.

use crate::common;

use std::time::{Duration, Instant};

use common::xvnc::{Xvnc, XvncAuth};
use image::{Rgb, RgbImage};
use tokio::net::TcpStream;
use vnc::{PixelFormat, VncClient, VncConnector, VncEncoding, VncEvent, X11Event};
use vncpilot::rfb::{Addr, ConnectOptions, Session};

const NAVY: Rgb<u8> = Rgb([0, 0, 128]);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Waits (bounded) until both xterms are on our session's screen, it differs from `before` (if
/// given), and nothing has changed on it for a second.
async fn wait_until_settled(session: &Session, before: Option<&RgbImage>) -> RgbImage {
    let quiet = Duration::from_secs(1);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut frames = session.subscribe();
    let mut last = session.latest().image.clone();
    let mut unchanged_since = Instant::now();
    loop {
        let both_xterms =
            last.pixels().any(|p| *p == NAVY) && last.pixels().any(|p| *p == Rgb([255; 3]));
        let changed = before.is_none_or(|b| *last != *b);
        if both_xterms && changed && unchanged_since.elapsed() >= quiet {
            return (*last).clone();
        }
        assert!(
            Instant::now() < deadline,
            "the screen never settled with both xterms on it (and changed, if it had to)"
        );
        let _ = frames.next(Duration::from_millis(200)).await;
        let now = session.latest().image.clone();
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        }
    }
}

/// vnc-rs's view of the screen, built from its events.
struct Assembled {
    image: RgbImage,
}

impl Assembled {
    /// Applies one event; an event that does not fit the picture is an error, not a panic.
    fn apply(&mut self, event: VncEvent) -> Result<(), String> {
        match event {
            VncEvent::SetResolution(s) => {
                self.image = RgbImage::new(u32::from(s.width), u32::from(s.height));
            }
            VncEvent::RawImage(r, data) => {
                let (x0, y0, w, h) = (
                    u32::from(r.x),
                    u32::from(r.y),
                    u32::from(r.width),
                    u32::from(r.height),
                );
                if x0 + w > self.image.width() || y0 + h > self.image.height() {
                    return Err(format!("raw rectangle {r:?} outside the screen"));
                }
                if data.len() != (w * h * 4) as usize {
                    return Err(format!(
                        "raw rectangle {r:?} carries {} bytes, expected {}",
                        data.len(),
                        w * h * 4
                    ));
                }
                // PixelFormat::rgba(): little-endian 32 bit, red in the low byte → r, g, b, pad.
                for (i, px) in data.chunks_exact(4).enumerate() {
                    let i = i as u32;
                    self.image
                        .put_pixel(x0 + i % w, y0 + i / w, Rgb([px[0], px[1], px[2]]));
                }
            }
            VncEvent::Copy(dst, src) => {
                let fits = |r: vnc::Rect| {
                    u32::from(r.x) + u32::from(r.width) <= self.image.width()
                        && u32::from(r.y) + u32::from(r.height) <= self.image.height()
                };
                if !fits(dst) || !fits(src) {
                    return Err(format!("copy {src:?} → {dst:?} outside the screen"));
                }
                let block = image::imageops::crop_imm(
                    &self.image,
                    u32::from(src.x),
                    u32::from(src.y),
                    u32::from(src.width),
                    u32::from(src.height),
                )
                .to_image();
                image::imageops::replace(
                    &mut self.image,
                    &block,
                    i64::from(dst.x),
                    i64::from(dst.y),
                );
            }
            VncEvent::Error(e) => return Err(format!("vnc-rs reported: {e}")),
            // The cursor shape, bell and clipboard do not touch the framebuffer.
            VncEvent::SetCursor(..) | VncEvent::Bell | VncEvent::Text(_) => {}
            other => return Err(format!("unexpected vnc-rs event {other:?}")),
        }
        Ok(())
    }
}

async fn connect_vnc_rs(port: u16) -> Result<VncClient, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    VncConnector::new(tcp)
        .set_auth_method(async { Ok(String::new()) })
        .add_encoding(VncEncoding::CopyRect)
        .add_encoding(VncEncoding::Raw)
        .add_encoding(VncEncoding::CursorPseudo)
        .allow_shared(true)
        .set_pixel_format(PixelFormat::rgba())
        .build()
        .map_err(|e| format!("build: {e}"))?
        .try_start()
        .await
        .map_err(|e| format!("handshake: {e}"))?
        .finish()
        .map_err(|e| format!("finish: {e}"))
}

/// Describes how two pictures differ, for the failure message.
fn describe_difference(ours: &RgbImage, theirs: &RgbImage) -> String {
    if ours.dimensions() != theirs.dimensions() {
        return format!(
            "sizes differ: ours {:?}, vnc-rs {:?}",
            ours.dimensions(),
            theirs.dimensions()
        );
    }
    let mut count = 0usize;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    let mut first = Vec::new();
    for (x, y, p) in ours.enumerate_pixels() {
        let q = theirs.get_pixel(x, y);
        if p != q {
            count += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            if first.len() < 5 {
                first.push(format!("({x},{y}) ours {:?} vnc-rs {:?}", p.0, q.0));
            }
        }
    }
    format!(
        "{count} pixels differ within x {x0}..={x1}, y {y0}..={y1}; first: {}",
        first.join(", ")
    )
}

/// Feeds vnc-rs's events into `assembled` until its picture stops changing and equals our
/// session's, or `deadline` passes; then returns both pictures (equal on success).
async fn poll_until_agreed(
    vnc: &VncClient,
    assembled: &mut Assembled,
    session: &Session,
    deadline: Instant,
) -> (RgbImage, RgbImage) {
    let mut events = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_millis(300), vnc.recv_event()).await {
            Ok(Ok(event)) => {
                events += 1;
                if let Err(e) = assembled.apply(event) {
                    panic!("vnc-rs event {events}: {e}");
                }
            }
            Ok(Err(e)) => panic!("vnc-rs stopped after {events} events: {e}"),
            Err(_quiet) => {
                let ours = session.latest().image.clone();
                if (events > 0 && *ours == assembled.image) || Instant::now() >= deadline {
                    return ((*ours).clone(), assembled.image.clone());
                }
                // Only one task ever touches `vnc`, so this cannot wait behind recv_event().
                tokio::time::timeout(Duration::from_secs(5), vnc.input(X11Event::Refresh))
                    .await
                    .expect("vnc-rs accepts a refresh request within 5 s")
                    .expect("vnc-rs accepts a refresh request");
            }
        }
    }
}

/// Fails the test, keeping both pictures for inspection, unless they are equal.
fn assert_same_pixels(round: &str, ours: &RgbImage, theirs: &RgbImage) {
    if ours == theirs {
        return;
    }
    let stem = std::env::temp_dir().join(format!("vnc_rs_oracle-{}-{round}", std::process::id()));
    let _ = ours.save(stem.with_extension("ours.png"));
    let _ = theirs.save(stem.with_extension("vnc_rs.png"));
    panic!(
        "{round}: our session and vnc-rs disagree: {} (pictures in {}.*.png)",
        describe_difference(ours, theirs),
        stem.display()
    );
}

#[test]
fn vnc_rs_and_our_session_see_the_same_pixels() {
    let mut x = Xvnc::start(800, 600, XvncAuth::None);
    x.spawn_xterm();
    x.spawn_client(
        "xterm",
        // `sh`, not the login shell: root's ~/.bashrc may take long to start (pyenv on a
        // developer's machine), and keys typed before the shell is up were seen to vanish.
        &[
            "-geometry",
            "60x20+300+250",
            "-bg",
            "navy",
            "-fg",
            "yellow",
            "-e",
            "sh",
        ],
    );
    let rt = runtime();
    let addr = Addr::parse(&x.addr()).unwrap();
    let port = x.port;
    rt.block_on(async {
        let session = Session::connect(&addr, ConnectOptions::default())
            .await
            .expect("our session connects");
        let settled = wait_until_settled(&session, None).await;

        let vnc = tokio::time::timeout(Duration::from_secs(15), connect_vnc_rs(port))
            .await
            .expect("vnc-rs connects within 15 s")
            .unwrap_or_else(|e| panic!("vnc-rs could not connect: {e}"));
        let mut assembled = Assembled {
            image: RgbImage::new(0, 0),
        };

        // Round 1: vnc-rs's first, full update against everything our session has assembled.
        let deadline = Instant::now() + Duration::from_secs(20);
        let (ours, theirs) = poll_until_agreed(&vnc, &mut assembled, &session, deadline).await;
        assert_same_pixels("full update", &ours, &theirs);
        assert_eq!(ours.dimensions(), (800, 600));
        assert!(
            ours.pixels().any(|p| *p == NAVY),
            "the navy xterm is missing"
        );

        // Round 2: incremental updates. Without a window manager the keyboard focus follows
        // the pointer, so put it where only the navy xterm is (below the other one, whichever
        // is on top); filling that xterm and then scrolling it changes the screen in many small
        // rectangles (Xvnc also sends CopyRect for the scroll).
        session
            .pointer_abs(500, 480, 0)
            .await
            .expect("the pointer move reaches the server");
        session
            .type_text("seq 1000001 1000040", Duration::ZERO)
            .await
            .expect("typing reaches the server");
        session.key("ret").await.expect("return reaches the server");
        let filled = wait_until_settled(&session, Some(&settled)).await;
        // Now at the bottom, each new prompt scrolls the xterm by one line.
        for _ in 0..3 {
            session.key("ret").await.expect("return reaches the server");
        }
        wait_until_settled(&session, Some(&filled)).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let (ours, theirs) = poll_until_agreed(&vnc, &mut assembled, &session, deadline).await;
        assert_same_pixels("incremental updates", &ours, &theirs);
        assert_ne!(ours, settled, "typing into the xterm changed nothing");

        let _ = vnc.close().await;
        session.close().await;
    });
}
