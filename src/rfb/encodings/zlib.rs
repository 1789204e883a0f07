//! A persistent zlib stream with bounded output (ZRLE keeps one per connection, Tight four).

use flate2::{Decompress, FlushDecompress, Status};

use crate::rfb::RfbError;

pub struct ZlibStream {
    inner: Decompress,
}

impl ZlibStream {
    pub fn new() -> ZlibStream {
        ZlibStream {
            inner: Decompress::new(true),
        }
    }

    pub fn reset(&mut self) {
        self.inner.reset(true);
    }

    /// Inflates all of `input` (one chunk of the stream) and returns the output, which must
    /// not exceed `max_out` bytes.
    pub fn inflate(
        &mut self,
        input: &[u8],
        max_out: usize,
        what: &'static str,
    ) -> Result<Vec<u8>, RfbError> {
        const STEP: usize = 256 * 1024;
        let mut out: Vec<u8> = Vec::new();
        let mut consumed = 0usize;
        loop {
            if out.len() == out.capacity() {
                let room = (max_out - out.len().min(max_out)).min(STEP);
                // One spare byte beyond the bound lets us see a server that sends too much.
                out.reserve_exact(room.max(1));
            }
            let (in_before, out_before) = (self.inner.total_in(), out.len());
            let status = self
                .inner
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|e| RfbError::Protocol(format!("{what}: corrupt zlib data: {e}")))?;
            consumed += (self.inner.total_in() - in_before) as usize;
            if out.len() > max_out {
                return Err(RfbError::TooLarge {
                    what,
                    value: out.len() as u64,
                    max: max_out as u64,
                });
            }
            if consumed >= input.len() || status == Status::StreamEnd {
                return Ok(out);
            }
            if self.inner.total_in() == in_before
                && out.len() == out_before
                && out.len() < out.capacity()
            {
                return Err(RfbError::Protocol(format!(
                    "{what}: zlib stream makes no progress"
                )));
            }
        }
    }
}

impl Default for ZlibStream {
    fn default() -> Self {
        ZlibStream::new()
    }
}
