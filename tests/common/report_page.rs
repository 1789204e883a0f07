//! A run's report.html opened in a real headless Chromium, with the checks every report test
//! makes: the page's script ran, the video plays to a time, the failure images decode.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::devtools::{Chromium, Page};

pub struct ReportPage {
    pub page: Page,
    // Dropped after the page: kills the browser.
    _browser: Chromium,
}

impl ReportPage {
    /// Opens `report.html` and waits (≤ 30 s) until its script has built the page.
    pub fn open(path: &Path) -> ReportPage {
        let browser = Chromium::launch(&format!("file://{}", path.display()));
        let mut page = browser.page("report.html");
        let deadline = Instant::now() + Duration::from_secs(30);
        while page.eval("!!(window.vncpilotReport && window.vncpilotReport.ready)")
            != Value::Bool(true)
        {
            assert!(Instant::now() < deadline, "the report's script did not run");
            std::thread::sleep(Duration::from_millis(100));
        }
        ReportPage {
            page,
            _browser: browser,
        }
    }

    /// Entries in the event timeline.
    pub fn timeline_items(&mut self) -> u64 {
        self.page
            .eval("document.querySelectorAll('#timeline li').length")
            .as_u64()
            .expect("a count")
    }

    /// Plays the video (muted) until it reaches `t` seconds; returns {t, duration, width,
    /// height, caption} at that moment. Fails if it is stuck for 30 s.
    pub fn play_to(&mut self, t: f64) -> Value {
        let played = self.page.eval(&format!(
            "new Promise((resolve, reject) => {{
               const v = document.getElementById('video');
               const check = () => {{ if (v.currentTime >= {t}) {{ v.pause(); resolve({{t: v.currentTime,
                   duration: v.duration, width: v.videoWidth, height: v.videoHeight,
                   caption: document.getElementById('caption').textContent}}); }} }};
               v.addEventListener('timeupdate', check);
               v.muted = true;
               v.play().catch((e) => reject('play: ' + e));
               setTimeout(() => reject('stuck at ' + v.currentTime + ' readyState ' + v.readyState +
                   ' error ' + (v.error && v.error.message)), 30000);
             }})"
        ));
        assert!(
            played["t"].as_f64().is_some_and(|reached| reached >= t),
            "{played}"
        );
        played
    }

    /// The failure section's images, decoded by the browser: [src, naturalWidth] each.
    pub fn failure_images(&mut self) -> Vec<Value> {
        let images = self.page.eval(
            "Promise.all([...document.querySelectorAll('#failure-images img')].map((img) =>
               img.decode().then(() => [img.getAttribute('src'), img.naturalWidth])))",
        );
        images.as_array().expect("images").clone()
    }

    /// Saves a screenshot of the page and checks it is not blank.
    pub fn screenshot(&mut self, path: &Path) {
        self.page.screenshot(path);
        let picture = image::open(path).expect("screenshot is a PNG").to_rgb8();
        assert!(
            picture.width() >= 1000,
            "{}x{}",
            picture.width(),
            picture.height()
        );
        let first = *picture.get_pixel(0, 0);
        assert!(
            picture.pixels().any(|p| *p != first),
            "the screenshot is not blank"
        );
        eprintln!("screenshot: {}", path.display());
    }
}
