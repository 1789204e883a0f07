//! Reading the server's byte stream with a stall timeout, and encoding client messages.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::RfbError;

/// Upper bounds on anything a server announces, so a hostile or broken server produces an
/// error, not an out-of-memory abort.
pub mod limits {
    /// Largest framebuffer side we accept (pixels).
    pub const MAX_SIDE: u32 = 8192;
    /// Largest framebuffer area (pixels): 16 Mpx, a 48 MiB RGB image.
    pub const MAX_PIXELS: u64 = 4096 * 4096;
    /// Longest text (desktop name, failure reason, clipboard) we read.
    pub const MAX_TEXT: u32 = 1 << 20;
    /// Largest cursor side.
    pub const MAX_CURSOR_SIDE: u32 = 512;
}

/// The read half of a connection, with every read bounded by `stall` (no byte for that long
/// while a message is incomplete is an error, not a hang).
pub struct WireReader<R> {
    inner: R,
    pub stall: Duration,
}

impl<R: AsyncRead + Unpin> WireReader<R> {
    pub fn new(inner: R, stall: Duration) -> Self {
        WireReader { inner, stall }
    }

    pub async fn exact(&mut self, buf: &mut [u8]) -> Result<(), RfbError> {
        match tokio::time::timeout(self.stall, self.inner.read_exact(buf)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(RfbError::Stalled(self.stall, "in the middle of a message")),
        }
    }

    /// Reads `len` bytes into a new buffer; callers check `len` against a limit first.
    pub async fn vec(&mut self, len: usize) -> Result<Vec<u8>, RfbError> {
        let mut v = vec![0u8; len];
        self.exact(&mut v).await?;
        Ok(v)
    }

    pub async fn u8(&mut self) -> Result<u8, RfbError> {
        let mut b = [0u8; 1];
        self.exact(&mut b).await?;
        Ok(b[0])
    }

    pub async fn u16(&mut self) -> Result<u16, RfbError> {
        let mut b = [0u8; 2];
        self.exact(&mut b).await?;
        Ok(u16::from_be_bytes(b))
    }

    pub async fn u32(&mut self) -> Result<u32, RfbError> {
        let mut b = [0u8; 4];
        self.exact(&mut b).await?;
        Ok(u32::from_be_bytes(b))
    }

    pub async fn i32(&mut self) -> Result<i32, RfbError> {
        Ok(self.u32().await? as i32)
    }

    pub async fn skip(&mut self, n: usize) -> Result<(), RfbError> {
        let mut buf = [0u8; 256];
        let mut left = n;
        while left > 0 {
            let k = left.min(buf.len());
            self.exact(&mut buf[..k]).await?;
            left -= k;
        }
        Ok(())
    }

    /// A length-prefixed (u32) string, bounded by [`limits::MAX_TEXT`].
    pub async fn text(&mut self, what: &'static str) -> Result<String, RfbError> {
        let len = self.u32().await?;
        check_limit(what, len.into(), limits::MAX_TEXT.into())?;
        let bytes = self.vec(len as usize).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Waits for the first byte of the next message with no timeout of its own: an idle
    /// server legitimately sends nothing. The caller bounds it (see the session's probe).
    pub async fn first_byte(&mut self) -> Result<u8, RfbError> {
        let mut b = [0u8; 1];
        match self.inner.read_exact(&mut b).await {
            Ok(_) => Ok(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(RfbError::Closed(String::new()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub fn check_limit(what: &'static str, value: u64, max: u64) -> Result<(), RfbError> {
    if value > max {
        Err(RfbError::TooLarge { what, value, max })
    } else {
        Ok(())
    }
}

/// Client-to-server messages (RFC 6143 §7.5 and QEMU's extensions).
pub mod msg {
    /// Our pixel format: 32 bits per pixel, depth 24, little endian, true colour with
    /// red/green/blue at bit 16/8/0 — so a pixel arrives as the bytes B, G, R, X.
    pub fn set_pixel_format() -> Vec<u8> {
        let mut m = vec![0u8, 0, 0, 0];
        m.extend_from_slice(&PIXEL_FORMAT);
        m
    }

    pub const PIXEL_FORMAT: [u8; 16] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0];

    pub fn set_encodings(encodings: &[i32]) -> Vec<u8> {
        let mut m = vec![2u8, 0];
        m.extend_from_slice(&(encodings.len() as u16).to_be_bytes());
        for e in encodings {
            m.extend_from_slice(&e.to_be_bytes());
        }
        m
    }

    pub fn update_request(incremental: bool, x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
        let mut m = vec![3u8, u8::from(incremental)];
        for v in [x, y, w, h] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        m
    }

    pub fn key_event(down: bool, keysym: u32) -> Vec<u8> {
        let mut m = vec![4u8, u8::from(down), 0, 0];
        m.extend_from_slice(&keysym.to_be_bytes());
        m
    }

    /// QEMU extended key event: keysym plus XT keycode.
    pub fn qemu_key_event(down: bool, keysym: u32, keycode: u32) -> Vec<u8> {
        let mut m = vec![255u8, 0];
        m.extend_from_slice(&u16::from(down).to_be_bytes());
        m.extend_from_slice(&keysym.to_be_bytes());
        m.extend_from_slice(&keycode.to_be_bytes());
        m
    }

    /// Key events as sent to a server: QEMU's extended key events (keysym and scancode) when
    /// `qemu`, else plain KeyEvents (keysym).
    pub fn key_events(events: &[crate::rfb::keys::KeyEvent], qemu: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        for e in events {
            bytes.extend(if qemu {
                qemu_key_event(e.down, e.key.keysym, e.key.qemu_keycode())
            } else {
                key_event(e.down, e.key.keysym)
            });
        }
        bytes
    }

    pub fn pointer_event(buttons: u8, x: u16, y: u16) -> Vec<u8> {
        let mut m = vec![5u8, buttons];
        m.extend_from_slice(&x.to_be_bytes());
        m.extend_from_slice(&y.to_be_bytes());
        m
    }
}
