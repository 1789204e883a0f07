//! A [`Display`] over a VNC [`Session`]: the default for every run (a guest vncpilot launched,
//! on its private unix socket, or one attached with `--vnc`).

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::{Display, DisplayError, FrameSource, GuestPointer, VncPointer};
use crate::rfb::{Frame, FrameStream, RfbError, Session};

pub struct VncDisplay {
    session: Session,
    handle: Handle,
    per_key_delay: Duration,
}

impl VncDisplay {
    /// Must be created inside the tokio runtime (it keeps a handle to block on).
    pub fn new(session: Session) -> VncDisplay {
        VncDisplay {
            session,
            handle: Handle::current(),
            per_key_delay: Duration::from_millis(30),
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }
}

fn err(e: RfbError) -> DisplayError {
    DisplayError::Rfb(e)
}

impl Display for VncDisplay {
    fn latest(&self) -> Result<Arc<Frame>, DisplayError> {
        if let Some(e) = self.session.ended() {
            return Err(err(e));
        }
        Ok(self.session.latest())
    }

    fn subscribe(&self) -> Box<dyn FrameSource> {
        Box::new(VncFrames {
            stream: self.session.subscribe(),
            handle: self.handle.clone(),
        })
    }

    fn key(&self, combo: &str) -> Result<(), DisplayError> {
        self.handle.block_on(self.session.key(combo)).map_err(err)
    }

    fn pointer(&self) -> Result<Box<dyn GuestPointer>, DisplayError> {
        Ok(Box::new(VncPointer::new(self.session.clone())))
    }

    fn type_text(&self, text: &str) -> Result<(), DisplayError> {
        self.handle
            .block_on(self.session.type_text(text, self.per_key_delay))
            .map_err(err)
    }
}

struct VncFrames {
    stream: FrameStream,
    handle: Handle,
}

impl FrameSource for VncFrames {
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<Frame>>, DisplayError> {
        match self.handle.block_on(self.stream.next(timeout)) {
            Ok(f) => Ok(Some(f)),
            Err(RfbError::FrameTimeout(_)) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }
}
