//! The live screen inside the server: one thread follows the display's frames and publishes the
//! newest into a `watch` channel every page connection (and the live check) reads.
//!
//! Why a thread: [`FrameSource::next`](crate::display::FrameSource::next) blocks (the display
//! seam is blocking, see `display`), and a `watch` channel keeps only the newest frame, so a
//! slow page never holds back the others or the session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::display::Display;
use crate::rfb::Frame;

/// How often the thread looks whether it should stop while no frame comes.
const POLL: Duration = Duration::from_millis(250);

/// Why the live screen ended, once it has.
pub type Ended = watch::Receiver<Option<String>>;

/// Starts following `display`; the thread ends when `stop` is set or the display fails (the
/// reason is published on the returned [`Ended`]).
pub fn follow(
    display: Arc<dyn Display>,
    stop: Arc<AtomicBool>,
) -> Result<(watch::Receiver<Arc<Frame>>, Ended), crate::display::DisplayError> {
    let first = display.latest()?;
    let mut source = display.subscribe();
    let (tx, rx) = watch::channel(first);
    let (ended_tx, ended_rx) = watch::channel(None);
    std::thread::Builder::new()
        .name("author-frames".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match source.next(POLL) {
                    Ok(Some(frame)) => {
                        tx.send_replace(frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("the live screen ended: {e}");
                        ended_tx.send_replace(Some(e.to_string()));
                        return;
                    }
                }
            }
        })
        .map_err(|e| crate::display::DisplayError::Screen(format!("starting a thread: {e}")))?;
    Ok((rx, ended_rx))
}
