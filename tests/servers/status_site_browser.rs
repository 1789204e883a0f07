//! The status site in a real headless Chromium, over three nights whose attempts are real runs:
//! the index renders the matrix in the status colours, no hostile reason runs as script, every
//! link of every page reachable from the index resolves (index → run pages → each attempt's
//! report.html, images decoded), and clicking a step on a run page seeks its video there. Writes
//! the screenshot docs/images/status-page.png that docs/nightly.md shows.

use crate::common;

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::devtools::{Chromium, Page};
use common::nightly;

/// Navigates to `url` and waits (≤ 30 s) until it has loaded and its own script (if any) ran.
fn open(page: &mut Page, url: &str) {
    page.call("Page.navigate", json!({ "url": url }));
    let deadline = Instant::now() + Duration::from_secs(30);
    let check = format!(
        "location.href === {} && document.readyState === 'complete' &&
         (!document.querySelector('script:not([type])') || !!(window.vncpilotSite || window.vncpilotReport))",
        json!(url)
    );
    while page.eval(&check) != Value::Bool(true) {
        assert!(Instant::now() < deadline, "{url} did not load");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The file behind a file:// URL, without fragment or query.
fn file_of(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("file://")?;
    let path = path.split(['#', '?']).next().unwrap_or("");
    Some(PathBuf::from(nightly::percent_decode(path)))
}

/// Every link, image and video of the page, resolved by the browser; every image decoded.
fn page_links(page: &mut Page) -> Value {
    page.eval(
        "(async () => {
           const images = [...document.images];
           const decoded = await Promise.all(images.map((img) => img.decode().then(() => img.naturalWidth, () => 0)));
           return {
             links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
             media: [...images.map((i) => i.src), ...[...document.querySelectorAll('video')].map((v) => v.src)],
             broken: images.filter((_, i) => decoded[i] === 0).map((i) => i.src),
           };
         })()",
    )
}

#[test]
fn the_status_site_renders_links_resolve_and_steps_seek_in_chromium() {
    let real = nightly::real_attempts();
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("nightly");
    for spec in nightly::three_nights(&real) {
        nightly::write_cell(&results, &spec);
    }
    let known = tmp.path().join("known.toml");
    std::fs::write(&known, nightly::KNOWN_ISSUES).unwrap();
    let out = tmp.path().join("site");
    let (code, text) = nightly::report(&[
        results.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--known"),
        known.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let out = std::fs::canonicalize(&out).unwrap();
    let index_url = format!("file://{}/index.html", out.display());

    let browser = Chromium::launch(&index_url);
    let mut page = browser.page("index.html");
    open(&mut page, &index_url);

    // The matrix: five cells in the latest night, coloured by status.
    let matrix = page.eval(
        "({cells: [...document.querySelectorAll('#matrix td.cell')].map((td) =>
             [td.dataset.cell, td.className, getComputedStyle(td).backgroundColor]),
           rows: document.querySelectorAll('#history tr.history').length,
           pwned: window.pwned === undefined ? null : window.pwned})",
    );
    let cells = matrix["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5, "{matrix}");
    let colour = |class: &str| -> String {
        cells
            .iter()
            .find(|c| c[1] == format!("cell {class}"))
            .unwrap_or_else(|| panic!("no {class} cell: {matrix}"))[2]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let colours: BTreeSet<String> = ["pass", "fail", "skip"].iter().map(|c| colour(c)).collect();
    assert_eq!(colours.len(), 3, "each status its own colour: {matrix}");
    assert_eq!(matrix["rows"], 5);
    assert!(
        matrix["pwned"].is_null(),
        "a reason ran as script: {matrix}"
    );

    // Crawl every page reachable from the index; every link must resolve.
    let mut queue = VecDeque::from([index_url.clone()]);
    let mut seen = BTreeSet::from([index_url.clone()]);
    let (mut pages, mut checked) = (0, 0);
    while let Some(url) = queue.pop_front() {
        open(&mut page, &url);
        pages += 1;
        let found = page_links(&mut page);
        assert_eq!(
            found["broken"],
            json!([]),
            "{url}: images that do not decode"
        );
        assert_eq!(
            page.eval("window.pwned === undefined"),
            Value::Bool(true),
            "{url}"
        );
        let links = found["links"]
            .as_array()
            .unwrap()
            .iter()
            .chain(found["media"].as_array().unwrap());
        for link in links.filter_map(Value::as_str) {
            if link.starts_with("https://") {
                assert!(
                    link.starts_with("https://bugs.example.org/"),
                    "{url}: {link}"
                );
                continue;
            }
            let file = file_of(link)
                .unwrap_or_else(|| panic!("{url}: a link that is not relative: {link}"));
            assert!(file.starts_with(&out), "{url}: {link} leaves the site");
            assert!(
                file.is_file(),
                "{url}: {link} does not resolve (404 once published)"
            );
            checked += 1;
            let page_url = link.split('#').next().unwrap().to_owned();
            if page_url.ends_with(".html") && seen.insert(page_url.clone()) {
                queue.push_back(page_url);
            }
        }
    }
    // index + 15 run pages + the 15 attempts' report.html (4 + 6 + 5 over the nights)
    assert_eq!(pages, 31, "{seen:#?}");
    assert!(checked > 200, "{checked}");

    // A step of the failed attempt: clicking it seeks the video there.
    let run_url = format!(
        "file://{}/2026-12-03/debian-12/bios-std/index.html",
        out.display()
    );
    open(&mut page, &run_url);
    let seeked = page.eval(
        "(async () => {
           const video = document.getElementById('video-1');
           if (video.readyState < 1) await new Promise((r) => video.addEventListener('loadedmetadata', r, {once: true}));
           const steps = [...document.querySelectorAll('ol.chapters a.chapter[data-video=\"video-1\"]')];
           const step = steps.filter((a) => Number(a.dataset.t) > 0.5 && Number(a.dataset.t) < video.duration - 0.2).pop();
           const done = new Promise((resolve, reject) => {
             video.addEventListener('seeked', resolve, {once: true});
             setTimeout(() => reject('no seek'), 15000);
           });
           step.click();
           await done;
           return {t: video.currentTime, want: Number(step.dataset.t), steps: steps.length, duration: video.duration,
                   current: document.querySelector('ol.chapters a.current').textContent, text: step.textContent};
         })()",
    );
    let (t, want) = (
        seeked["t"].as_f64().unwrap(),
        seeked["want"].as_f64().unwrap(),
    );
    assert!(want > 0.5 && (t - want).abs() < 0.05, "{seeked}");
    assert_eq!(seeked["current"], seeked["text"], "{seeked}");
    assert!(seeked["steps"].as_u64().unwrap() >= 4, "{seeked}");

    open(&mut page, &index_url);
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/status-page.png");
    page.screenshot(&shot);
    let picture = image::open(&shot).expect("a PNG").to_rgb8();
    let first = *picture.get_pixel(0, 0);
    assert!(
        picture.width() >= 1000 && picture.pixels().any(|p| *p != first),
        "blank screenshot"
    );
}
