//! A [`Display`] through QEMU's monitor: the screen by polling QMP `screendump` (the same pixels
//! VNC would send), keys by QMP `send-key` (the same scancodes as over VNC, see [`super::qmp_keys`]).
//!
//! Why it exists beside VNC: it needs nothing but the QMP socket vncpilot already holds, so it
//! works whatever the VNC side does, and it gives frames with exact damage rectangles (computed
//! by comparing successive dumps), which is all the screen Watcher needs.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use image::RgbImage;
use serde_json::Value;
use tokio::runtime::Handle;

use super::qmp_keys::{combo_arguments, text_arguments};
use super::{Display, DisplayError, FrameSource, GuestPointer, LatestFrame, QmpPointer};
use crate::guest::Qmp;
use crate::rfb::{Frame, Rect};

/// How many frames' damage a lagging subscriber can catch up on before it gets a full frame.
const HISTORY: usize = 256;

pub struct QmpDisplay {
    qmp: Arc<Qmp>,
    shared: Arc<Shared>,
    handle: Handle,
    poller: tokio::task::JoinHandle<()>,
    per_key_delay: Duration,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    latest: Option<Arc<Frame>>,
    /// (serial, damage) of recent frames.
    history: VecDeque<(u64, Vec<Rect>)>,
    error: Option<String>,
}

impl QmpDisplay {
    /// Starts polling the screen every `interval` into `dump_path` (a private file) and waits for
    /// the first frame.
    pub async fn start(
        qmp: Arc<Qmp>,
        dump_path: PathBuf,
        interval: Duration,
    ) -> Result<QmpDisplay, DisplayError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                latest: None,
                history: VecDeque::new(),
                error: None,
            }),
            changed: Condvar::new(),
        });
        let poller = tokio::spawn(poll(qmp.clone(), dump_path, interval, shared.clone()));
        let display = QmpDisplay {
            qmp,
            shared,
            handle: Handle::current(),
            poller,
            per_key_delay: Duration::from_millis(30),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let st = display
                    .shared
                    .state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if st.latest.is_some() {
                    break;
                }
                if let Some(e) = &st.error {
                    return Err(DisplayError::Screen(e.clone()));
                }
            }
            if Instant::now() > deadline {
                return Err(DisplayError::Screen(
                    "no screendump from QEMU within 20 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(display)
    }

    fn send(&self, arguments: Value) -> Result<(), DisplayError> {
        self.handle
            .block_on(self.qmp.execute("send-key", Some(arguments)))?;

        std::thread::sleep(self.per_key_delay);
        Ok(())
    }
}

impl Drop for QmpDisplay {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

async fn poll(qmp: Arc<Qmp>, path: PathBuf, interval: Duration, shared: Arc<Shared>) {
    let mut serial = 0u64;
    let mut last: Option<Arc<RgbImage>> = None;
    loop {
        let started = Instant::now();
        let dumped = match qmp.screendump(&path).await {
            Ok(()) => image::open(&path)
                .map(|i| i.to_rgb8())
                .map_err(|e| format!("reading {}: {e}", path.display())),
            Err(e) => Err(e.to_string()),
        };
        match dumped {
            Ok(image) => {
                let damage = match &last {
                    None => Some(Rect::full(image.width(), image.height())),
                    Some(prev) => changed_rect(prev, &image),
                };
                if let Some(rect) = damage {
                    serial += 1;
                    let image = Arc::new(image);
                    last = Some(image.clone());
                    let frame = Arc::new(Frame {
                        serial,
                        time: Instant::now(),
                        image,
                        damage: vec![rect],
                        cursor: None,
                        pointer: None,
                    });
                    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.history.push_back((serial, vec![rect]));
                    if st.history.len() > HISTORY {
                        st.history.pop_front();
                    }
                    st.latest = Some(frame);
                    shared.changed.notify_all();
                }
            }
            Err(e) => {
                let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                st.error = Some(e);
                shared.changed.notify_all();
                return;
            }
        }
        tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
    }
}

/// The bounding box of the pixels that differ, the whole screen on a size change, None if equal.
pub fn changed_rect(a: &RgbImage, b: &RgbImage) -> Option<Rect> {
    if a.dimensions() != b.dimensions() {
        return Some(Rect::full(b.width(), b.height()));
    }
    let (w, h) = (b.width() as usize, b.height() as usize);
    let (ra, rb) = (a.as_raw(), b.as_raw());
    let (mut x0, mut x1, mut y0, mut y1) = (w, 0, h, 0);
    for y in 0..h {
        let row = y * w * 3..(y + 1) * w * 3;
        let (pa, pb) = (&ra[row.clone()], &rb[row]);
        if pa == pb {
            continue;
        }
        let first = (0..w)
            .find(|&x| pa[x * 3..x * 3 + 3] != pb[x * 3..x * 3 + 3])
            .unwrap_or(0);
        let last = (0..w)
            .rev()
            .find(|&x| pa[x * 3..x * 3 + 3] != pb[x * 3..x * 3 + 3])
            .unwrap_or(w - 1);
        x0 = x0.min(first);
        x1 = x1.max(last);
        y0 = y0.min(y);
        y1 = y;
    }
    (y0 < h).then(|| {
        Rect::new(
            x0 as u32,
            y0 as u32,
            (x1 - x0 + 1) as u32,
            (y1 - y0 + 1) as u32,
        )
    })
}

impl Display for QmpDisplay {
    fn latest(&self) -> Result<Arc<Frame>, DisplayError> {
        let st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        match (&st.latest, &st.error) {
            (_, Some(e)) => Err(DisplayError::Screen(e.clone())),
            (Some(f), None) => Ok(f.clone()),
            (None, None) => Err(DisplayError::Screen("no frame yet".into())),
        }
    }

    fn pointer(&self) -> Result<Box<dyn GuestPointer>, DisplayError> {
        let shared = self.shared.clone();
        let latest: LatestFrame = Box::new(move || {
            let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            st.latest.clone()
        });
        let pointer = self
            .handle
            .block_on(QmpPointer::new(self.qmp.clone(), latest))?;
        Ok(Box::new(pointer))
    }

    fn subscribe(&self) -> Box<dyn FrameSource> {
        let seen = self.latest().map(|f| f.serial).unwrap_or(0);
        Box::new(Subscriber {
            shared: self.shared.clone(),
            seen,
        })
    }

    fn key(&self, combo: &str) -> Result<(), DisplayError> {
        self.send(combo_arguments(combo)?)
    }

    fn type_text(&self, text: &str) -> Result<(), DisplayError> {
        // Everything is checked first: a half-typed command is worse than none.
        text_arguments(text)?
            .into_iter()
            .try_for_each(|arguments| self.send(arguments))
    }
}

struct Subscriber {
    shared: Arc<Shared>,
    seen: u64,
}

impl FrameSource for Subscriber {
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<Frame>>, DisplayError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(e) = &st.error {
                return Err(DisplayError::Screen(e.clone()));
            }
            if let Some(latest) = st.latest.clone()
                && latest.serial > self.seen
            {
                let missed: Vec<Rect> = st
                    .history
                    .iter()
                    .filter(|(s, _)| *s > self.seen)
                    .flat_map(|(_, d)| d.iter().copied())
                    .collect();
                let complete = st.history.front().is_some_and(|(s, _)| *s <= self.seen + 1);
                self.seen = latest.serial;
                let damage = if complete {
                    missed
                } else {
                    vec![Rect::full(latest.image.width(), latest.image.height())]
                };
                return Ok(Some(Arc::new(Frame {
                    damage,
                    ..(*latest).clone()
                })));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_rect_is_the_bounding_box() {
        let a = RgbImage::new(10, 8);
        let mut b = a.clone();
        assert_eq!(changed_rect(&a, &b), None);
        b.put_pixel(2, 3, image::Rgb([1, 0, 0]));
        b.put_pixel(7, 5, image::Rgb([0, 1, 0]));
        assert_eq!(changed_rect(&a, &b), Some(Rect::new(2, 3, 6, 3)));
        assert_eq!(
            changed_rect(&a, &RgbImage::new(4, 4)),
            Some(Rect::new(0, 0, 4, 4))
        );
    }
}
