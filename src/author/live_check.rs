//! The live check: every reference of the set checked against the live screen as it changes,
//! with a [`Watcher`] (only what an update touched is recomputed), the results published for
//! the page. When a reference is saved the set is reloaded and the new references are checked
//! against the current screen at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::display::Display;
use crate::screen::{Reference, Watcher};

/// At most this many checks a second: a busy screen (a progress bar) would otherwise keep a
/// core busy. Frames in between are not lost: the display's stream merges their damage into
/// the next frame.
const MIN_INTERVAL: Duration = Duration::from_millis(200);
const POLL: Duration = Duration::from_millis(250);

/// One reference's result against the live screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckEntry {
    pub name: String,
    pub matched: bool,
    /// The lowest region similarity, scored in full.
    pub similarity: f64,
    /// Of the lowest region: what it had to reach.
    pub threshold: f64,
}

/// The results after one frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// The frame's serial.
    pub serial: u64,
    pub results: Vec<CheckEntry>,
}

/// The references being checked; replaced (and the generation bumped) after a save.
#[derive(Default)]
pub struct References {
    refs: Mutex<Vec<Arc<Reference>>>,
    generation: AtomicU64,
}

impl References {
    pub fn new(refs: Vec<Arc<Reference>>) -> References {
        References {
            refs: Mutex::new(refs),
            generation: AtomicU64::new(0),
        }
    }

    pub fn replace(&self, refs: Vec<Arc<Reference>>) {
        if let Ok(mut r) = self.refs.lock() {
            *r = refs;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> (u64, Vec<Arc<Reference>>) {
        let generation = self.generation.load(Ordering::SeqCst);
        let refs = self.refs.lock().map(|r| r.clone()).unwrap_or_default();
        (generation, refs)
    }
}

/// Starts the live check thread; it ends when `stop` is set or the display fails.
pub fn start(
    display: Arc<dyn Display>,
    refs: Arc<References>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<watch::Receiver<Arc<CheckReport>>> {
    let (tx, rx) = watch::channel(Arc::new(CheckReport::default()));
    std::thread::Builder::new()
        .name("author-check".into())
        .spawn(move || {
            let mut source = display.subscribe();
            let mut seen = None;
            let mut watcher = Watcher::new(Vec::new());
            let mut last = Instant::now() - MIN_INTERVAL;
            while !stop.load(Ordering::Relaxed) {
                let (generation, current) = refs.current();
                let reload = seen != Some(generation);
                let frame = if reload {
                    watcher = Watcher::new(current);
                    seen = Some(generation);
                    display.latest().ok()
                } else {
                    if let Some(wait) = (last + MIN_INTERVAL).checked_duration_since(Instant::now())
                    {
                        std::thread::sleep(wait); // rate limit, see MIN_INTERVAL
                    }
                    match source.next(POLL) {
                        Ok(f) => f,
                        Err(e) => {
                            tracing::debug!("live check ends: {e}");
                            return;
                        }
                    }
                };
                let Some(frame) = frame else { continue };
                last = Instant::now();
                if reload {
                    watcher.check_image(&frame.image);
                } else {
                    watcher.update(&frame);
                }
                let results = watcher
                    .complete(&frame.image)
                    .into_iter()
                    .map(|(name, m)| {
                        let lowest = m
                            .regions
                            .iter()
                            .min_by(|a, b| a.similarity.total_cmp(&b.similarity));
                        CheckEntry {
                            name,
                            matched: m.matched,
                            similarity: m.similarity,
                            threshold: lowest.map_or(0.0, |r| r.threshold),
                        }
                    })
                    .collect();
                tx.send_replace(Arc::new(CheckReport {
                    serial: frame.serial,
                    results,
                }));
            }
        })?;
    Ok(rx)
}
