//! The evidence of the last screen wait, gathered while it happens: for each awaited screen the
//! best match seen (which frame, when, per region) and the last check, so that a failed run can
//! show "what was awaited, how close it came and when" ([`super::forensics`]).
//!
//! A [`RunObserver`]: the waiting loop reports every check ([`ScreenCheck`]); frames are shared
//! snapshots (`Arc`), so keeping the best and the last costs no copy.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::forensics::BestMatch;
use super::{Event, EventKind, RunObserver, ScreenCheck};
use crate::rfb::Frame;
use crate::screen::MatchResult;

/// Follows a run's screen waits (see the module docs).
pub struct ScreenWaits {
    origin: Instant,
    state: Mutex<Option<Wait>>,
}

/// One wait (one macro step) for one or more screens.
struct Wait {
    step: u64,
    matched: bool,
    /// In the order the waiting loop checks them (the macro's order).
    screens: Vec<(String, Tracked)>,
}

struct Tracked {
    best: BestMatch,
    last: (MatchResult, Arc<Frame>),
}

/// The last screen wait, when it ended without its screen: the screen that came closest.
pub struct UnmatchedWait {
    pub step: u64,
    /// The awaited screen with the best similarity.
    pub screen: String,
    /// Every awaited screen.
    pub awaited: Vec<String>,
    /// Its last check, and the frame it was checked against (the screen when the wait ended).
    pub last: MatchResult,
    pub last_frame: Arc<Frame>,
    /// (seconds since the run started, result, screen) of its best check.
    best: BestMatch,
}

impl UnmatchedWait {
    /// (time in seconds since the run started, result, screen) of the best check.
    pub fn best(&self) -> Option<(f64, &MatchResult, &image::RgbImage)> {
        self.best.get()
    }
}

impl ScreenWaits {
    /// `origin` is the run's t = 0 (the clock of `events.jsonl` and the video).
    pub fn new(origin: Instant) -> ScreenWaits {
        ScreenWaits {
            origin,
            state: Mutex::new(None),
        }
    }

    /// The last screen wait if its screen never came (it timed out, or the run was stopped
    /// while it waited); `None` if there was none or it matched.
    pub fn unmatched(&self) -> Option<UnmatchedWait> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let wait = state.take_if(|w| !w.matched)?;
        let awaited: Vec<String> = wait.screens.iter().map(|(n, _)| n.clone()).collect();
        // The closest; on a tie the first awaited (the macro's order).
        let best = |t: &Tracked| t.best.get().map_or(0.0, |(_, r, _)| r.similarity);
        let (screen, tracked) = wait
            .screens
            .into_iter()
            .reduce(|a, b| if best(&b.1) > best(&a.1) { b } else { a })?;
        Some(UnmatchedWait {
            step: wait.step,
            screen,
            awaited,
            last: tracked.last.0,
            last_frame: tracked.last.1,
            best: tracked.best,
        })
    }
}

impl RunObserver for ScreenWaits {
    fn screen_checked(&self, check: &ScreenCheck) {
        let t = check
            .frame
            .time
            .saturating_duration_since(self.origin)
            .as_secs_f64();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.as_ref().is_none_or(|w| w.step != check.step) {
            *state = Some(Wait {
                step: check.step,
                matched: false,
                screens: Vec::new(),
            });
        }
        let Some(wait) = state.as_mut() else { return };
        let last = (check.result.clone(), check.frame.clone());
        let index = match wait.screens.iter().position(|(n, _)| n == check.screen) {
            Some(index) => index,
            None => {
                let tracked = Tracked {
                    best: BestMatch::new(),
                    last: last.clone(),
                };
                wait.screens.push((check.screen.to_owned(), tracked));
                wait.screens.len() - 1
            }
        };
        let tracked = &mut wait.screens[index].1;
        tracked.best.observe(t, check.result, &check.frame.image);
        tracked.last = last;
        if check.result.matched {
            wait.matched = true;
        }
    }

    fn event(&self, event: &Event) {
        // A wait that found its screen says so in its event too (a match on the last frame).
        if let Ok(EventKind::WaitScreen(done) | EventKind::CheckScreen(done)) = event.kind()
            && done.matched.is_some()
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(wait) = state.as_mut()
                && wait.step == done.step
            {
                wait.matched = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfb::Rect;
    use image::RgbImage;
    use std::time::Duration;

    fn frame(origin: Instant, at_ms: u64) -> Arc<Frame> {
        Arc::new(Frame {
            serial: at_ms,
            time: origin + Duration::from_millis(at_ms),
            image: Arc::new(RgbImage::new(4, 4)),
            damage: vec![Rect::full(4, 4)],
            cursor: None,
            pointer: None,
        })
    }

    fn result(similarity: f64) -> MatchResult {
        MatchResult {
            matched: similarity >= 0.95,
            similarity,
            regions: Vec::new(),
        }
    }

    #[test]
    fn keeps_the_best_check_of_the_closest_screen_of_the_last_wait() {
        let origin = Instant::now();
        let waits = ScreenWaits::new(origin);
        let check = |step, screen: &str, sim, at_ms| {
            waits.screen_checked(&ScreenCheck {
                step,
                screen,
                result: &result(sim),
                frame: &frame(origin, at_ms),
            })
        };
        check(1, "language", 0.99, 100); // matched: no evidence
        assert!(waits.unmatched().is_none());
        check(2, "shell", 0.3, 1000);
        check(2, "menu", 0.5, 1000);
        check(2, "menu", 0.7, 2500);
        check(2, "menu", 0.6, 4000);
        let wait = waits.unmatched().expect("an unmatched wait");
        assert_eq!(wait.step, 2);
        assert_eq!(wait.screen, "menu");
        assert_eq!(wait.awaited, ["shell", "menu"]);
        assert_eq!(wait.last.similarity, 0.6);
        let (t, best, _) = wait.best().unwrap();
        assert_eq!((t, best.similarity), (2.5, 0.7));
    }
}
