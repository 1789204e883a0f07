//! Stall detection for screen waits: a guest that hangs (a frozen installer, a stopped VM)
//! shows a screen that does not change at all, and a wait for a screen that will now never come
//! should end when that is clear, not at its timeout hours later.
//!
//! What counts as a change is the pixels, not the protocol: a VNC server answering an idle
//! probe resends the whole unchanged screen, and that must not reset the stall clock. The stall
//! time comes from the harness (`[timeouts] stall_s`), a wait may set its own or turn it off
//! (`#{stall: 30}`, `#{stall: 0}`), and waits where a still screen is expected (`wait_still`,
//! `wait_change`, `wait_serial`) have none.

use std::time::Duration;

use image::RgbImage;

use super::convert::{RhaiResult, error, seconds};
use crate::rfb::Frame;

/// The options map of a screen wait (`wait_screen(names, timeout, #{stall: 30})`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaitOptions {
    /// `Some(None)`: stall detection off for this wait; `None`: the harness's stall time.
    pub stall: Option<Option<Duration>>,
}

impl WaitOptions {
    /// `#{stall: seconds}` (0 = off); unknown keys are an error naming `call`.
    pub fn parse(map: &rhai::Map, call: &str) -> RhaiResult<WaitOptions> {
        let mut out = WaitOptions::default();
        for (key, value) in map {
            match key.as_str() {
                "stall" => {
                    let d = seconds(value, &format!("{call}: stall"))?;
                    out.stall = Some((!d.is_zero()).then_some(d));
                }
                other => {
                    return Err(error(format!(
                        "{call}: unknown option {other:?} (expected stall)"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The stall time of this wait, given the harness's.
    pub fn stall_or(&self, harness: Option<Duration>) -> Option<Duration> {
        self.stall.unwrap_or(harness)
    }
}

/// Whether `frame` changed any pixel of the screen that was `before`, looking only where it
/// says it was damaged (a new size is a change).
pub fn pixels_changed(before: &RgbImage, frame: &Frame) -> bool {
    let after = frame.image.as_ref();
    if std::ptr::eq(before, after) {
        return false;
    }
    if before.dimensions() != after.dimensions() {
        return true;
    }
    let (w, h) = (after.width(), after.height());
    let stride = w as usize * 3;
    let (a, b) = (before.as_raw(), after.as_raw());
    frame.damage.iter().any(|d| {
        let (x0, x1) = (d.x.min(w) as usize * 3, d.right().min(w) as usize * 3);
        (d.y.min(h)..d.bottom().min(h)).any(|y| {
            let row = y as usize * stride;
            a[row + x0..row + x1] != b[row + x0..row + x1]
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfb::Rect;
    use rhai::Dynamic;
    use std::sync::Arc;
    use std::time::Instant;

    fn frame(image: RgbImage, damage: Vec<Rect>) -> Frame {
        Frame {
            serial: 1,
            time: Instant::now(),
            image: Arc::new(image),
            damage,
            cursor: None,
            pointer: None,
        }
    }

    #[test]
    fn a_resent_unchanged_screen_is_no_change_but_one_pixel_is() {
        let before = RgbImage::new(64, 48);
        let full = vec![Rect::new(0, 0, 64, 48)];
        assert!(!pixels_changed(
            &before,
            &frame(before.clone(), full.clone())
        ));
        let mut after = before.clone();
        after.put_pixel(63, 47, image::Rgb([1, 0, 0]));
        assert!(pixels_changed(&before, &frame(after.clone(), full)));
        // Outside the damage it is not looked at.
        let elsewhere = vec![Rect::new(0, 0, 8, 8)];
        assert!(!pixels_changed(&before, &frame(after, elsewhere)));
        assert!(pixels_changed(
            &before,
            &frame(RgbImage::new(32, 48), vec![])
        ));
    }

    #[test]
    fn options_parse_and_reject_unknown_keys() {
        let mut m = rhai::Map::new();
        m.insert("stall".into(), Dynamic::from(30_i64));
        let o = WaitOptions::parse(&m, "wait_screen").unwrap();
        assert_eq!(o.stall_or(None), Some(Duration::from_secs(30)));
        m.insert("stall".into(), Dynamic::from(0_i64));
        let o = WaitOptions::parse(&m, "wait_screen").unwrap();
        assert_eq!(o.stall_or(Some(Duration::from_secs(300))), None);
        let none = WaitOptions::default();
        assert_eq!(
            none.stall_or(Some(Duration::from_secs(9))),
            Some(Duration::from_secs(9))
        );
        m.insert("stal".into(), Dynamic::from(1_i64));
        let err = WaitOptions::parse(&m, "wait_screen")
            .unwrap_err()
            .to_string();
        assert!(err.contains("stal") && err.contains("wait_screen"), "{err}");
    }
}
