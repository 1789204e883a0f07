//! Feeding a recorder from a live screen: every frame the [`Display`] publishes, in order —
//! the one follower for a VNC session and QEMU's screendumps alike.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::FrameSink;
use crate::display::Display;

/// How long one wait for the next frame lasts before checking whether the recorder finished.
const POLL: Duration = Duration::from_millis(500);

/// Spawns a blocking task (displays are read off the async runtime; call this inside a tokio
/// runtime) that pushes every frame of `display` into `sink`, starting with the current one. It
/// ends when the recorder finishes or the display ends. A lagging subscription is fine: the
/// frame it gets is the newest, a whole snapshot.
pub fn follow(display: Arc<dyn Display>, sink: FrameSink) -> JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut frames = display.subscribe();
        if let Ok(first) = display.latest()
            && !sink.push(first)
        {
            return;
        }
        loop {
            match frames.next(POLL) {
                Ok(Some(frame)) => {
                    if !sink.push(frame) {
                        return;
                    }
                }
                Ok(None) if sink.is_closed() => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("recording stops following the display: {e}");
                    return;
                }
            }
        }
    })
}
