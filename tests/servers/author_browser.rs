//! `vncpilot author` in a real headless Chromium against a real Xvnc (with a password) running
//! an xterm: the page shows the live screen at the server's size with the server's exact
//! pixels and follows it as the xterm changes; keys and the "type text" box reach the guest
//! (the xterm's shell writes a file); a frozen frame with a drawn match rectangle, exclude
//! rectangle and click point is saved as screens/masks/toml that `vncpilot check` accepts
//! against a fresh snap, and the live check shows it matching; a bad name is refused; the
//! password is nowhere in the page. Writes docs/images/author-page.png (docs/authoring.md).

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::devtools::{Chromium, Page};
use common::xvnc::{Xvnc, XvncAuth};

const PASSWORD: &str = "au-th0r-pw";

/// `xev` on the Xvnc display, its output line-buffered into a file; killed on drop.
struct Xev {
    child: Child,
    out: PathBuf,
}

impl Drop for Xev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xev {
    fn start(xvnc: &Xvnc) -> Xev {
        let out = xvnc.dir().join("xev.txt");
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new("stdbuf")
            .args(["-oL", "xev", "-geometry", "640x480+0+0"])
            .env("DISPLAY", format!(":{}", xvnc.display))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start xev (package x11-utils) through stdbuf (coreutils)");
        let xev = Xev { child, out };
        xev.wait_for(|t| t.contains("Expose event"), "xev's window to show");
        xev
    }

    fn wait_for(&self, done: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; xev said:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// (button, root x, root y) of every ButtonPress in xev's output.
fn presses(text: &str) -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    let mut at = None;
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("ButtonPress event") {
            inside = true;
            at = None;
        } else if line.ends_with("event,") || line.contains(" event, serial") {
            inside = false;
        } else if inside && line.contains("root:(") {
            let s = &line[line.find("root:(").unwrap() + 6..];
            let s = &s[..s.find(')').unwrap()];
            let (x, y) = s.split_once(',').unwrap();
            at = Some((x.trim().parse().unwrap(), y.trim().parse().unwrap()));
        } else if let (true, Some((x, y))) = (inside, at)
            && let Some(i) = line.find("button ")
        {
            let b = line[i + 7..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            out.push((b, x, y));
            inside = false;
        }
    }
    out
}

/// The `vncpilot author` process, killed on drop.
struct AuthorProcess {
    child: Child,
    url: String,
}

impl AuthorProcess {
    fn start(xvnc: &Xvnc, screens: &Path) -> AuthorProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .args(["author", "--vnc", &xvnc.addr(), "--screens"])
            .arg(screens)
            .args(["--set", "authored", "--listen", "127.0.0.1:0"])
            .env("VNCPILOT_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vncpilot author");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("vncpilot author printed no URL within 30 s");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
            "{url:?}"
        );
        assert!(!url.contains(PASSWORD));
        AuthorProcess { child, url }
    }
}

impl Drop for AuthorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(page: &mut Page, expr: &str, secs: u64) -> Value {
    page.wait_for(expr, secs)
}

/// FNV-1a over the RGB bytes, the same in the page (over the live canvas) and here.
const CANVAS_HASH: &str = "(() => {
  const c = document.getElementById('screen');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0x811c9dc5;
  for (let i = 0; i < d.length; i++) {
    if (i % 4 === 3) continue;
    h ^= d[i]; h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
})()";

fn fnv(image: &image::RgbImage) -> u64 {
    let mut h: u32 = 0x811c9dc5;
    for &b in image.as_raw() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    u64::from(h)
}

fn snap(xvnc: &Xvnc, out: &Path) -> image::RgbImage {
    let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args(["snap", "--vnc", &xvnc.addr()])
        .arg(out)
        .env("VNCPILOT_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .expect("vncpilot snap");
    assert!(status.success());
    image::open(out).expect("snap").into_rgb8()
}

/// Waits (≤ 20 s) until the page's canvas holds exactly the pixels of a fresh snap.
fn wait_page_equals_server(page: &mut Page, xvnc: &Xvnc, dir: &Path) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let server = fnv(&snap(xvnc, &dir.join("now.png")));
        let shown = page.eval(CANVAS_HASH).as_u64().expect("hash");
        if shown == server {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "the page does not show the server's screen (page {shown:x}, server {server:x})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn key(page: &mut Page, key: &str, text: &str, code: u32) {
    for kind in ["keyDown", "keyUp"] {
        let mut params = json!({"type": kind, "key": key, "windowsVirtualKeyCode": code});
        if kind == "keyDown" && !text.is_empty() {
            params["text"] = json!(text);
        }
        page.call("Input.dispatchKeyEvent", params);
    }
}

/// Drags on the overlay from guest pixel `a` to `b` (the canvas is shown 1:1).
fn drag(page: &mut Page, a: (u32, u32), b: (u32, u32)) {
    let at = page.eval(
        "(() => { const r = document.getElementById('overlay').getBoundingClientRect();
                  return [r.left, r.top]; })()",
    );
    let (left, top) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let point = |p: (u32, u32)| (left + f64::from(p.0) + 0.5, top + f64::from(p.1) + 0.5);
    let (x0, y0) = point(a);
    let (x1, y1) = point(b);
    for (kind, x, y, buttons) in [
        ("mousePressed", x0, y0, 1),
        ("mouseMoved", (x0 + x1) / 2.0, (y0 + y1) / 2.0, 1),
        ("mouseMoved", x1, y1, 1),
        ("mouseReleased", x1, y1, 0),
    ] {
        page.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1}),
        );
    }
}

fn wait_file(path: &Path, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} holds {text:?}, expected {expected:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_author_page_shows_drives_and_saves_references() {
    let mut xvnc = Xvnc::start(800, 600, XvncAuth::Password(PASSWORD));
    // Under the pointer (Xvnc starts it at the centre): no window manager, focus follows it.
    xvnc.spawn_xterm_at("60x15+200+200");
    let work = tempfile::tempdir().expect("work dir");
    let screens = work.path().join("screens");
    let typed = work.path().join("typed.txt");
    let author = AuthorProcess::start(&xvnc, &screens);

    let browser = Chromium::launch(&author.url);
    let token = author.url.trim_end_matches('/').rsplit('/').next().unwrap();
    let mut page = browser.page(token);

    // The live screen appears at the server's size, with its exact pixels.
    let size = wait_for(
        &mut page,
        "window.author && author.updates > 0 && [author.width, author.height]",
        30,
    );
    assert_eq!(size, json!([800, 600]));
    let before = wait_page_equals_server(&mut page, &xvnc, work.path());

    // Keys pressed on the live screen reach the guest: the xterm's shell writes a file.
    page.eval("document.getElementById('screen').focus()");
    let command = format!("echo authored > {}", typed.display());
    for c in command.chars() {
        let s = c.to_string();
        key(&mut page, &s, &s, 0);
    }
    key(&mut page, "Enter", "\r", 13);
    let typing = Instant::now();
    wait_file(&typed, "authored\n");
    let written = typing.elapsed();
    // ... and the page followed the xterm's change.
    let after = wait_page_equals_server(&mut page, &xvnc, work.path());
    assert_ne!(before, after, "the page did not change with the xterm");
    let traffic = page.eval("[author.updates, author.bytes]");
    eprintln!(
        "typing {} characters: the page got {} updates, {} bytes in all (first full frame included); \
         file written {:.2} s after the Enter was dispatched (the keys before it queue at 30 ms each)",
        command.len(),
        traffic[0],
        traffic[1],
        written.as_secs_f64()
    );

    // The "type text" box, then Enter.
    page.eval(&format!(
        "document.getElementById('type-text').value = {};
         document.getElementById('type-enter').checked = true;
         document.getElementById('type-form').requestSubmit()",
        json!(format!("echo box >> {}", typed.display()))
    ));
    wait_file(&typed, "authored\nbox\n");
    wait_page_equals_server(&mut page, &xvnc, work.path());

    // Freeze, draw a match rectangle, an exclude rectangle and a click point, name, save.
    page.eval("document.getElementById('freeze').click()");
    wait_for(&mut page, "author.mode === 'frozen'", 20);
    drag(&mut page, (205, 205), (400, 300));
    page.eval("document.querySelector('input[name=tool][value=exclude]').click()");
    drag(&mut page, (210, 210), (239, 224));
    page.eval("document.querySelector('input[name=tool][value=click]').click()");
    drag(&mut page, (250, 250), (250, 250));
    let shapes = page.eval("author.shapes");
    assert_eq!(
        shapes,
        json!([
            {"kind": "match", "x": 205, "y": 205, "w": 196, "h": 96},
            {"kind": "exclude", "x": 210, "y": 210, "w": 30, "h": 15},
            {"kind": "click", "x": 250, "y": 250},
        ])
    );

    // A name that is not a file name is refused, and nothing is written.
    page.eval(
        "document.getElementById('ref-name').value = '../evil';
         document.getElementById('save-form').requestSubmit()",
    );
    let refused = wait_for(
        &mut page,
        "author.errors.find((e) => e.startsWith('save:'))",
        20,
    );
    assert!(refused.as_str().unwrap().contains("../evil"), "{refused}");
    assert!(!work.path().join("evil.png").exists());

    page.eval(
        "document.getElementById('ref-name').value = 'xterm-prompt';
         document.getElementById('save-form').requestSubmit()",
    );
    let saved = wait_for(&mut page, "author.saved", 20);
    assert_eq!(saved["regions"], 1, "{saved}");
    let screen = screens.join("authored/xterm-prompt.png");
    let mask_path = work.path().join("masks/authored/xterm-prompt.png");
    assert_eq!(saved["screen"], json!(screen.display().to_string()));
    let mask = image::open(&mask_path).expect("mask").into_luma8();
    assert_eq!(mask.dimensions(), (800, 600));
    assert_eq!(
        mask.get_pixel(300, 280).0[0],
        255,
        "inside the match rectangle"
    );
    assert_eq!(
        mask.get_pixel(220, 215).0[0],
        0,
        "inside the exclude rectangle"
    );
    assert_eq!(mask.get_pixel(100, 100).0[0], 0, "outside every rectangle");
    let settings = std::fs::read_to_string(screens.join("authored/xterm-prompt.toml")).unwrap();
    assert!(settings.contains("click_point = [250, 250]"), "{settings}");

    // `vncpilot check` accepts the new reference against the screen as it is now.
    let now = work.path().join("check.png");
    snap(&xvnc, &now);
    let check = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("check")
        .arg(&screen)
        .arg(&now)
        .output()
        .expect("vncpilot check");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{report}");
    assert!(report.contains("click point: 250,250"), "{report}");

    // The live check loaded it and shows it matching the live screen.
    let matched = wait_for(
        &mut page,
        "author.checks.find((c) => c.name === 'xterm-prompt' && c.matched)",
        20,
    );
    assert!(matched["similarity"].as_f64().unwrap() > 0.99, "{matched}");
    wait_for(
        &mut page,
        "document.querySelector('#checks li.match[data-name=\"xterm-prompt\"]')",
        10,
    );

    // Editing it brings back its image and exactly the shapes it was drawn with.
    page.eval("document.getElementById('live').click()");
    page.eval(
        "document.querySelector('#checks li[data-name=\"xterm-prompt\"] button.edit').click()",
    );
    let edited = wait_for(
        &mut page,
        "author.editing === 'xterm-prompt' && author.shapes",
        20,
    );
    assert_eq!(edited, shapes);
    assert_eq!(
        page.eval("document.getElementById('ref-name').value"),
        "xterm-prompt"
    );

    // No password anywhere in the page.
    let html = page.eval("document.documentElement.outerHTML");
    assert!(!html.as_str().unwrap().contains(PASSWORD));

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/author-page.png");
    page.screenshot(&shot);
    let shot_image = image::open(&shot).expect("screenshot").into_rgb8();
    assert!(shot_image.width() >= 800, "{:?}", shot_image.dimensions());
    drop(page);
    drop(browser);
    drop(author);
}

/// Clicks on the live screen (left and right) reach the guest's pointer at those pixels, and a
/// combo from the "Send keys" box reaches it as its keys (seen by `xev`, a real X client).
#[test]
fn the_pages_mouse_and_key_combos_reach_the_guest() {
    let xvnc = Xvnc::start(640, 480, XvncAuth::Password(PASSWORD));
    let xev = Xev::start(&xvnc);
    let work = tempfile::tempdir().expect("work dir");
    let author = AuthorProcess::start(&xvnc, &work.path().join("screens"));
    let browser = Chromium::launch(&author.url);
    let token = author.url.trim_end_matches('/').rsplit('/').next().unwrap();
    let mut page = browser.page(token);
    wait_for(&mut page, "window.author && author.updates > 0", 30);

    let at = page.eval(
        "(() => { const r = document.getElementById('screen').getBoundingClientRect();
                  return [r.left, r.top]; })()",
    );
    let (left, top) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    for (x, y, button, bits) in [(123u32, 45u32, "left", 1), (300, 200, "right", 2)] {
        let (px, py) = (left + f64::from(x) + 0.5, top + f64::from(y) + 0.5);
        for (kind, buttons) in [
            ("mouseMoved", 0),
            ("mousePressed", bits),
            ("mouseReleased", 0),
        ] {
            page.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": px, "y": py, "button": if kind == "mouseMoved" { "none" } else { button },
                       "buttons": buttons, "clickCount": 1}),
            );
        }
    }
    let text = xev.wait_for(|t| presses(t).len() >= 2, "two button presses");
    assert_eq!(presses(&text), vec![(1, 123, 45), (3, 300, 200)], "{text}");

    page.eval(
        "document.getElementById('key-combo').value = 'ctrl-alt-f2';
         document.getElementById('key-form').requestSubmit()",
    );
    let text = xev.wait_for(|t| t.contains("F2"), "the F2 of ctrl-alt-f2");
    let pressed = |name: &str| {
        text.split("KeyPress event")
            .skip(1)
            .any(|e| e.contains(&format!(", {name})")))
    };
    for name in ["Control_L", "Alt_L", "F2"] {
        assert!(pressed(name), "no KeyPress of {name}:\n{text}");
    }
    let errors = page.eval("author.errors");
    assert_eq!(errors, json!([]));
}
