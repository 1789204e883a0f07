//! Reading a recorded run back: the frame at a time, or every frame in order.
//!
//! Replay reads the lossless segments (exact pixels, real timestamps); the browser track can be
//! decoded too, mainly to check it ([`decode_file`]).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ffmpeg_next::{format, frame, media, software::scaling, util::format::Pixel};

use super::encoder::rgb_image;
use super::manifest::Manifest;
use super::{RecordError, init_ffmpeg};

/// One decoded picture and when it was shown.
#[derive(Clone, Debug)]
pub struct DecodedFrame {
    /// Seconds since the run started.
    pub t: f64,
    pub image: image::RgbImage,
}

/// A finished (or killed) run's recording, found through its `video.json`.
pub struct Recording {
    dir: PathBuf,
    manifest: Manifest,
}

impl Recording {
    pub fn open(dir: &Path) -> Result<Recording, RecordError> {
        let manifest = Manifest::load(dir)?;
        if manifest.lossless.is_empty() {
            return Err(RecordError::Empty {
                path: Manifest::path_in(dir),
            });
        }
        Ok(Recording {
            dir: dir.to_owned(),
            manifest,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The screen as it was at `t` seconds: the last frame shown at or before `t` (the first
    /// frame when `t` is earlier than any).
    pub fn frame_at(&self, t: f64) -> Result<DecodedFrame, RecordError> {
        let segments = &self.manifest.lossless;
        let index = segments.iter().rposition(|s| s.start_s <= t).unwrap_or(0);
        let path = self.dir.join(&segments[index].file);
        let mut best: Option<DecodedFrame> = None;
        let scan = |seek: Option<f64>, best: &mut Option<DecodedFrame>| {
            decode_file(&path, seek, |decoded| {
                if decoded.t <= t || best.is_none() {
                    *best = Some(decoded);
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            })
        };
        scan(Some(t), &mut best)?;
        // A seek that landed after `t` (or a damaged index) must not give a later screen.
        if best
            .as_ref()
            .is_none_or(|b| b.t > t && b.t > segments[index].start_s)
        {
            best = None;
            scan(None, &mut best)?;
        }
        best.ok_or_else(|| RecordError::Empty { path })
    }

    /// Every recorded frame, in time order, across segments. `visit` may stop early.
    /// Returns how many frames were visited.
    pub fn for_each_frame(
        &self,
        mut visit: impl FnMut(DecodedFrame) -> ControlFlow<()>,
    ) -> Result<u64, RecordError> {
        let mut count = 0;
        for segment in &self.manifest.lossless {
            let mut stopped = false;
            count += decode_file(&self.dir.join(&segment.file), None, |decoded| {
                let flow = visit(decoded);
                stopped = flow.is_break();
                flow
            })?;
            if stopped {
                break;
            }
        }
        Ok(count)
    }
}

/// Decodes the first video stream of `path` into RGB pictures with their timestamps (seconds),
/// optionally seeking to the keyframe at or before `seek` seconds first. Returns how many
/// pictures `visit` saw.
pub fn decode_file(
    path: &Path,
    seek: Option<f64>,
    mut visit: impl FnMut(DecodedFrame) -> ControlFlow<()>,
) -> Result<u64, RecordError> {
    init_ffmpeg()?;
    let name = path.display().to_string();
    let ctx = |what: &str| RecordError::ffmpeg(format!("{what} {name}"));
    if !path.exists() {
        return Err(RecordError::Io {
            path: path.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let mut input = format::input(path).map_err(ctx("open"))?;
    let stream = input
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| RecordError::BadFile {
            path: path.to_owned(),
            message: "no video stream".into(),
        })?;
    let stream_index = stream.index();
    let time_base = stream.time_base();
    let mut decoder = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
        .map_err(ctx("read codec parameters of"))?
        .decoder()
        .video()
        .map_err(ctx("open decoder for"))?;
    if let Some(seconds) = seek {
        let ts = (seconds.max(0.0) * 1_000_000.0) as i64;
        // Not fatal: decoding from the start gives the same answer, only slower.
        if input.seek(ts, i64::MIN..ts.saturating_add(1)).is_err() {
            tracing::debug!("{name}: seek to {seconds}s failed, decoding from the start");
        }
    }
    let mut converter: Option<scaling::Context> = None;
    let mut count = 0u64;
    let mut picture = frame::Video::empty();
    let mut done = false;
    let mut receive =
        |decoder: &mut ffmpeg_next::decoder::Video, done: &mut bool| -> Result<(), RecordError> {
            while !*done && decoder.receive_frame(&mut picture).is_ok() {
                let (w, h, fmt) = (picture.width(), picture.height(), picture.format());
                let stale = converter.as_ref().is_none_or(|c| {
                    let input = c.input();
                    (input.width, input.height, input.format) != (w, h, fmt)
                });
                if stale {
                    converter = Some(
                        scaling::Context::get(fmt, w, h, Pixel::RGB24, w, h, scaling::Flags::POINT)
                            .map_err(RecordError::ffmpeg(format!("pixel converter for {name}")))?,
                    );
                }
                let mut rgb = frame::Video::empty();
                converter
                    .as_mut()
                    .expect("set above")
                    .run(&picture, &mut rgb)
                    .map_err(RecordError::ffmpeg(format!("convert a picture of {name}")))?;
                let ts = picture.timestamp().or(picture.pts()).unwrap_or(0);
                let t = ts as f64 * f64::from(time_base.numerator())
                    / f64::from(time_base.denominator().max(1));
                count += 1;
                if visit(DecodedFrame {
                    t,
                    image: rgb_image(&rgb),
                })
                .is_break()
                {
                    *done = true;
                }
            }
            Ok(())
        };
    for (stream, packet) in input.packets() {
        if done {
            break;
        }
        if stream.index() != stream_index {
            continue;
        }
        decoder
            .send_packet(&packet)
            .map_err(ctx("decode a packet of"))?;
        receive(&mut decoder, &mut done)?;
    }
    if !done {
        decoder.send_eof().map_err(ctx("flush the decoder of"))?;
        receive(&mut decoder, &mut done)?;
    }
    Ok(count)
}
