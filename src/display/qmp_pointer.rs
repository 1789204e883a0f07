//! The pointer of a QEMU guest through its monitor: motion and buttons with QMP `input-send-event`,
//! the screen from whatever polls it (a run watched with `--watch qmp` takes screendumps).
//!
//! Why: a run that watches the guest through QMP has no VNC connection to send pointer events
//! on, but QEMU's monitor reaches the same input devices — relative motion goes to the PS/2
//! mouse (accelerated by the guest like any other), absolute motion to a usb-tablet. Which one
//! the guest uses is what `query-mice` calls current.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::guest::Qmp;
use crate::rfb::{Frame, Rect};

use super::DisplayError;
use super::pointer::{GuestPointer, Mode, PointerFuture, Settle, buttons};

/// The newest frame of the screen (None while there is none yet).
pub type LatestFrame = Box<dyn Fn() -> Option<Arc<Frame>> + Send + Sync>;

/// QEMU's absolute axes run from 0 to this.
const ABS_MAX: u64 = 0x7fff;

/// The pointer of a QEMU guest, driven through QMP.
pub struct QmpPointer {
    qmp: Arc<Qmp>,
    latest: LatestFrame,
    mode: Mode,
    buttons: u8,
    settle: Settle,
    /// Serial of the newest frame looked at, and the damage of frames seen since.
    serial: u64,
    damage: Vec<Rect>,
    sent: bool,
}

fn device(e: impl std::fmt::Display) -> DisplayError {
    DisplayError::QmpReply(e.to_string())
}

impl QmpPointer {
    /// Asks QEMU which mouse is current (`query-mice`): absolute (usb-tablet) or relative.
    /// Screen updates come from polling, so the settle times are longer than over VNC.
    pub async fn new(qmp: Arc<Qmp>, latest: LatestFrame) -> Result<QmpPointer, DisplayError> {
        let mice = qmp.execute("query-mice", None).await.map_err(device)?;
        let mode = mode_of(&mice)?;
        let serial = latest().map_or(0, |f| f.serial);
        Ok(QmpPointer {
            qmp,
            latest,
            mode,
            buttons: 0,
            settle: Settle {
                first_update: Duration::from_millis(2000),
                quiet: Duration::from_millis(600),
                max: Duration::from_secs(6),
            },
            serial,
            damage: Vec::new(),
            sent: true,
        })
    }

    async fn send(&self, events: Vec<Value>) -> Result<(), DisplayError> {
        self.qmp
            .execute("input-send-event", Some(json!({ "events": events })))
            .await
            .map(|_| ())
            .map_err(device)
    }

    fn size(&self) -> (u32, u32) {
        (self.latest)().map_or((1, 1), |f| (f.width(), f.height()))
    }

    /// Takes the frames published since the last look (their damage, or all of the screen
    /// when frames were skipped).
    fn take(&mut self) -> Option<Arc<Frame>> {
        let frame = (self.latest)()?;
        if frame.serial != self.serial {
            if frame.serial == self.serial + 1 {
                self.damage.extend(frame.damage.iter().copied());
            } else {
                self.damage = vec![Rect::full(frame.width(), frame.height())];
            }
            self.serial = frame.serial;
        }
        Some(frame)
    }
}

/// The current mouse of a `query-mice` reply.
fn mode_of(mice: &Value) -> Result<Mode, DisplayError> {
    let list = mice
        .as_array()
        .ok_or_else(|| device(format!("query-mice: expected a list, got {mice}")))?;
    let current = list
        .iter()
        .find(|m| m["current"] == true)
        .or(list.first())
        .ok_or_else(|| device("query-mice: the guest has no mouse"))?;
    Ok(if current["absolute"] == true {
        Mode::Absolute
    } else {
        Mode::Relative
    })
}

fn button_event(name: &str, down: bool) -> Value {
    json!({ "type": "btn", "data": { "button": name, "down": down } })
}

impl GuestPointer for QmpPointer {
    fn mode(&self) -> Mode {
        self.mode
    }
    fn move_rel(&mut self, dx: i32, dy: i32) -> PointerFuture<'_, ()> {
        Box::pin(self.send_rel(dx, dy))
    }
    fn move_abs(&mut self, x: u32, y: u32) -> PointerFuture<'_, ()> {
        Box::pin(self.send_abs(x, y))
    }
    fn set_buttons(&mut self, mask: u8) -> PointerFuture<'_, ()> {
        Box::pin(self.send_buttons(mask))
    }
    fn settled_frame(&mut self) -> PointerFuture<'_, Arc<Frame>> {
        Box::pin(self.settle_frame())
    }
}

impl QmpPointer {
    async fn send_rel(&mut self, dx: i32, dy: i32) -> Result<(), DisplayError> {
        self.sent = true;
        self.send(vec![
            json!({ "type": "rel", "data": { "axis": "x", "value": dx } }),
            json!({ "type": "rel", "data": { "axis": "y", "value": dy } }),
        ])
        .await
    }

    async fn send_abs(&mut self, x: u32, y: u32) -> Result<(), DisplayError> {
        self.sent = true;
        let (w, h) = self.size();
        let scale = |v: u32, n: u32| v.min(n - 1) as u64 * ABS_MAX / (n.max(2) - 1) as u64;
        self.send(vec![
            json!({ "type": "abs", "data": { "axis": "x", "value": scale(x, w) } }),
            json!({ "type": "abs", "data": { "axis": "y", "value": scale(y, h) } }),
        ])
        .await
    }

    async fn send_buttons(&mut self, mask: u8) -> Result<(), DisplayError> {
        let changed = self.buttons ^ mask;
        self.buttons = mask;
        self.sent = true;
        let events: Vec<Value> = [
            (buttons::LEFT, "left"),
            (buttons::MIDDLE, "middle"),
            (buttons::RIGHT, "right"),
        ]
        .iter()
        .filter(|(bit, _)| changed & bit != 0)
        .map(|(bit, name)| button_event(name, mask & bit != 0))
        .collect();
        if events.is_empty() {
            return Ok(());
        }
        self.send(events).await
    }

    async fn settle_frame(&mut self) -> Result<Arc<Frame>, DisplayError> {
        let start = Instant::now();
        let deadline = start + self.settle.max;
        let mut waited_for_first = !self.sent;
        self.sent = false;
        let mut last_change = Instant::now();
        let mut serial = self.serial;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let limit = if waited_for_first {
                self.settle.quiet
            } else {
                self.settle.first_update
            };
            if now.duration_since(last_change) >= limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
            if self.take().is_some() && self.serial != serial {
                serial = self.serial;
                waited_for_first = true;
                last_change = Instant::now();
            }
        }
        let latest = self
            .take()
            .ok_or_else(|| device("no screen from QEMU yet"))?;
        let mut frame = (*latest).clone();
        frame.damage = std::mem::take(&mut self.damage);
        Ok(Arc::new(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_mouse_decides_the_mode() {
        let ps2 =
            json!([{"name": "QEMU PS/2 Mouse", "index": 0, "current": true, "absolute": false}]);
        assert_eq!(mode_of(&ps2).unwrap(), Mode::Relative);
        let tablet = json!([
            {"name": "QEMU PS/2 Mouse", "index": 0, "current": false, "absolute": false},
            {"name": "QEMU HID Tablet", "index": 1, "current": true, "absolute": true}
        ]);
        assert_eq!(mode_of(&tablet).unwrap(), Mode::Absolute);
        assert!(mode_of(&json!([])).is_err());
        assert!(mode_of(&json!({"x": 1})).is_err());
    }
}
