//! Feeding a recorder from a live session: every frame the session publishes, in order.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::FrameSink;
use crate::rfb::{RfbError, Session};

/// How long one wait for the next frame lasts before checking whether the recorder finished.
const POLL: Duration = Duration::from_millis(500);

/// Spawns a task (on the current tokio runtime) that pushes every frame of `session` into
/// `sink`, starting with the current one. It ends when the recorder finishes or the session
/// ends. A lagging subscription is fine: the frame it gets is the newest, a whole snapshot.
pub fn follow(session: &Session, sink: FrameSink) -> JoinHandle<()> {
    let mut stream = session.subscribe();
    let first = session.latest();
    tokio::spawn(async move {
        if !sink.push(first) {
            return;
        }
        loop {
            match stream.next(POLL).await {
                Ok(frame) => {
                    if !sink.push(frame) {
                        return;
                    }
                }
                Err(RfbError::FrameTimeout(_)) => {
                    if sink.is_closed() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("recording stops following the session: {e}");
                    return;
                }
            }
        }
    })
}
