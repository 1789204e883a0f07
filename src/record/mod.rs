//! Video of a run: recording it while it happens, and decoding it again afterwards.
//!
//! The data flow: the harness pushes every [`Frame`](crate::rfb::Frame) it sees into a
//! [`Recorder`]; the recorder paces them (at most `fps` encodes a second, an idle screen costs
//! nothing) through a bounded [`mailbox`] into two encoders on its own thread — a lossless
//! track that keeps the exact pixels the matcher saw (for `replay --find`) and a
//! browser-playable track with the cursor drawn in (for people). [`Subtitles`] keep the current
//! step aligned with the video and [`Recording`] decodes a finished run again. What a run
//! leaves besides the video (forensics, `report.html`, captions of the steps, `replay --find`)
//! is in [`crate::report`]. docs/recording.md says why each choice was made.

pub mod canvas;
pub mod cursor;
pub mod encoder;
pub mod follow;
pub mod mailbox;
pub mod manifest;
pub mod pacer;
pub mod playback;
pub mod recorder;
pub mod run_recording;
pub mod subtitles;
pub mod timecode;

pub use encoder::Track;
pub use manifest::Manifest;
pub use playback::{DecodedFrame, Recording};
pub use recorder::{Captions, FrameSink, Recorder, RecorderOptions, RecordingStats};
pub use run_recording::{Keep, RunRecording};
pub use subtitles::Subtitles;

use std::path::PathBuf;

/// Everything that can go wrong while recording or reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("ffmpeg: {context}: {source}")]
    Ffmpeg {
        context: String,
        #[source]
        source: ffmpeg_next::Error,
    },
    #[error("the ffmpeg libraries have no {0} encoder (Debian 12: apt-get install libavcodec59)")]
    MissingEncoder(&'static str),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{path}: no recorded frames")]
    Empty { path: PathBuf },
    #[error("image {path}: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error(
        "invalid time {value:?}: expected SECONDS (e.g. 192.5) or [HH:]MM:SS[.mmm] (e.g. 00:03:12)"
    )]
    BadTime { value: String },
    #[error("the recorder thread stopped unexpectedly: {0}")]
    RecorderDied(String),
}

impl RecordError {
    pub(crate) fn ffmpeg(
        context: impl Into<String>,
    ) -> impl FnOnce(ffmpeg_next::Error) -> RecordError {
        let context = context.into();
        move |source| RecordError::Ffmpeg { context, source }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RecordError {
        let path = path.into();
        move |source| RecordError::Io { path, source }
    }
}

/// Initialises the ffmpeg libraries once and keeps their logging quiet (errors only): their
/// chatter would otherwise interleave with ours on stderr. `VNCPILOT_FFMPEG_LOG=1` turns their
/// own diagnostics on (they explain an `Invalid argument` from an encoder).
pub(crate) fn init_ffmpeg() -> Result<(), RecordError> {
    static INIT: std::sync::OnceLock<Result<(), ffmpeg_next::Error>> = std::sync::OnceLock::new();
    let result = INIT.get_or_init(|| {
        ffmpeg_next::init()?;
        let level = match std::env::var_os("VNCPILOT_FFMPEG_LOG") {
            Some(_) => ffmpeg_next::util::log::Level::Verbose,
            None => ffmpeg_next::util::log::Level::Error,
        };
        ffmpeg_next::util::log::set_level(level);
        Ok(())
    });
    result.map_err(|source| RecordError::Ffmpeg {
        context: "initialise".into(),
        source,
    })
}
