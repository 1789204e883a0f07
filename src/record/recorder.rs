//! The recorder: frames in (from any thread, never blocking), video files out.
//!
//! `push` hands a frame to a bounded [`Mailbox`]; the recorder's own thread takes frames out,
//! lets the [`Pacer`] cap the encode rate, and writes each chosen frame into the lossless
//! track (a new segment whenever the framebuffer size changes) and the browser track (cursor
//! drawn in, scaled onto a fixed canvas). Timestamps are the frames' own arrival times relative
//! to the run's start, so the video's clock is the clock of `events.jsonl`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ffmpeg_next::frame;

use super::canvas::Canvas;
use super::encoder::{Codec, VideoEncoder, rgb_frame};
use super::mailbox::Mailbox;
pub use super::manifest::RecordingStats;
use super::manifest::{self, BrowserVideo, Manifest, Segment};
use super::pacer::Pacer;
use super::subtitles::Subtitles;
use super::{RecordError, cursor};
use crate::rfb::Frame;

#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// Most frames encoded per second (default 10; `f64::INFINITY`: every frame).
    pub fps: f64,
    /// The exact-pixels track (default lossless x264rgb; `None` to skip it).
    pub lossless: Option<Codec>,
    /// The track for people (default VP9 WebM; `None` to skip it).
    pub browser: Option<Codec>,
    /// The browser track's picture size; every framebuffer is scaled to fit it (default 1024×768).
    pub canvas: (u32, u32),
    /// Frames the hand-over queue holds before newer ones replace queued ones (default 3).
    pub queue: usize,
    /// Write `subtitles.vtt` for [`Recorder::step`] (default true).
    pub subtitles: bool,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            fps: 10.0,
            lossless: Some(Codec::X264Rgb),
            browser: Some(Codec::Vp9),
            canvas: (1024, 768),
            queue: 3,
            subtitles: true,
        }
    }
}

/// Records one run into its results directory. Dropping it without [`finish`](Self::finish)
/// still stops the thread and closes the files.
pub struct Recorder {
    dir: PathBuf,
    origin: Instant,
    mailbox: Arc<Mailbox<Arc<Frame>>>,
    live: Arc<Mutex<RecordingStats>>,
    captions: Captions,
    thread: Option<JoinHandle<Result<Manifest, RecordError>>>,
}

impl Recorder {
    /// Starts recording into `dir` (which must exist). `origin` is t = 0 of the run: the same
    /// instant `events.jsonl` counts from.
    pub fn start(
        dir: &Path,
        origin: Instant,
        options: RecorderOptions,
    ) -> Result<Recorder, RecordError> {
        super::init_ffmpeg()?;
        for codec in options.lossless.iter().chain(options.browser.iter()) {
            if ffmpeg_next::encoder::find_by_name(codec.encoder_name()).is_none() {
                return Err(RecordError::MissingEncoder(codec.encoder_name()));
            }
        }
        let subtitles = if options.subtitles {
            Some(Subtitles::create(&dir.join(manifest::SUBTITLES_FILE))?)
        } else {
            None
        };
        let mut manifest = Manifest::new(if options.fps.is_finite() {
            options.fps
        } else {
            0.0
        });
        manifest.subtitles = subtitles
            .as_ref()
            .map(|_| manifest::SUBTITLES_FILE.to_owned());
        manifest.save(dir)?;
        let mailbox = Arc::new(Mailbox::new(options.queue));
        let live = Arc::new(Mutex::new(RecordingStats::default()));
        let thread = {
            let (mailbox, live, thread_dir) = (mailbox.clone(), live.clone(), dir.to_owned());
            // The ffmpeg contexts are not Send: everything is built on the recorder thread.
            std::thread::Builder::new()
                .name("vncpilot-recorder".into())
                .spawn(move || {
                    Tracks::new(&thread_dir, origin, options, manifest).run(&mailbox, &live)
                })
                .map_err(RecordError::io(dir))?
        };
        Ok(Recorder {
            dir: dir.to_owned(),
            origin,
            mailbox,
            live,
            captions: Captions {
                origin,
                subtitles: Arc::new(Mutex::new(subtitles)),
            },
            thread: Some(thread),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Seconds since the run started, on the video's clock.
    pub fn now_s(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Hands a frame to the recorder. Never blocks; when the encoder is behind, a queued frame
    /// is replaced by this newer one (counted in [`RecordingStats::merged_encoder_behind`]).
    pub fn push(&self, frame: Arc<Frame>) {
        self.mailbox.push(frame);
    }

    /// A cheap handle that only pushes frames, for a task that follows the session's frame
    /// stream (see [`follow`](super::follow::follow)) while the recorder itself stays with its owner.
    pub fn sink(&self) -> FrameSink {
        FrameSink {
            mailbox: self.mailbox.clone(),
        }
    }

    /// A cheap handle that only captions (for a run observer), like [`sink`](Self::sink) for
    /// frames. It does nothing once the recorder finished.
    pub fn captions(&self) -> Captions {
        self.captions.clone()
    }

    /// The caption from now on: what the run is doing (e.g. "await screen 'partitioning'",
    /// "key ret"). Never pass secret text: say "type a secret" instead.
    pub fn step(&self, text: &str) -> Result<(), RecordError> {
        self.captions.step(text)
    }

    /// Never show `secret` in a caption (the VNC password, each `type_secret` value): it is
    /// replaced by `[secret]` wherever a later step's text would contain it.
    pub fn redact(&self, secret: &str) {
        self.captions.redact(secret);
    }

    /// [`step`](Self::step) at an explicit time (seconds since the run started).
    pub fn step_at(&self, t: f64, text: &str) -> Result<(), RecordError> {
        self.captions.step_at(t, text)
    }

    /// The counters so far.
    pub fn stats(&self) -> RecordingStats {
        let mut stats = self.live.lock().unwrap_or_else(|p| p.into_inner()).clone();
        stats.frames_received = self.mailbox.pushed();
        stats.merged_encoder_behind = self.mailbox.merged();
        stats
    }

    /// Encodes what is still queued, closes every file and writes the final `video.json`.
    pub fn finish(mut self) -> Result<Manifest, RecordError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<Manifest, RecordError> {
        let end = self.now_s();
        self.mailbox.close();
        let Some(thread) = self.thread.take() else {
            return Err(RecordError::RecorderDied("already finished".into()));
        };
        let result = thread.join().map_err(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panicked".into());
            RecordError::RecorderDied(message)
        });
        if let Some(mut subtitles) = self
            .captions
            .subtitles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            subtitles.end(end)?;
        }
        let mut manifest = result??;
        manifest.stats.frames_received = self.mailbox.pushed();
        manifest.stats.merged_encoder_behind = self.mailbox.merged();
        manifest.duration_s = manifest.duration_s.max(end);
        manifest.complete = true;
        manifest.save(&self.dir)?;
        Ok(manifest)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.thread.is_some()
            && let Err(e) = self.stop()
        {
            tracing::warn!(
                "recording in {} did not finish cleanly: {e}",
                self.dir.display()
            );
        }
    }
}

/// Pushes frames into a [`Recorder`] from anywhere; stops accepting once it finished.
#[derive(Clone)]
pub struct FrameSink {
    mailbox: Arc<Mailbox<Arc<Frame>>>,
}

impl FrameSink {
    /// Like [`Recorder::push`]; false once the recorder has finished.
    pub fn push(&self, frame: Arc<Frame>) -> bool {
        self.mailbox.push(frame)
    }

    pub fn is_closed(&self) -> bool {
        self.mailbox.is_closed()
    }
}

/// Captions a [`Recorder`] from anywhere (see [`Recorder::captions`]); a no-op once it finished.
#[derive(Clone)]
pub struct Captions {
    origin: Instant,
    subtitles: Arc<Mutex<Option<Subtitles>>>,
}

impl Captions {
    /// The caption from now on (see [`Recorder::step`]).
    pub fn step(&self, text: &str) -> Result<(), RecordError> {
        self.step_at(self.origin.elapsed().as_secs_f64(), text)
    }

    /// The caption from `t` seconds since the run started.
    pub fn step_at(&self, t: f64, text: &str) -> Result<(), RecordError> {
        let mut subtitles = self.subtitles.lock().unwrap_or_else(|p| p.into_inner());
        match subtitles.as_mut() {
            Some(subtitles) => subtitles.step(t, text),
            None => Ok(()),
        }
    }

    /// Never show `secret` in a caption (see [`Recorder::redact`]).
    pub fn redact(&self, secret: &str) {
        if let Some(subtitles) = self
            .subtitles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            subtitles.redact(secret);
        }
    }
}

/// Deletes every file a recording made in `dir` (a passed run keeps no video by default).
pub fn discard(dir: &Path) -> Result<(), RecordError> {
    let manifest = Manifest::load(dir)?;
    for file in manifest.files(dir) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(RecordError::Io {
                    path: file,
                    source: e,
                });
            }
        }
    }
    Ok(())
}

/// The encoder thread's state: the open files and the manifest describing them.
struct Tracks {
    dir: PathBuf,
    origin: Instant,
    options: RecorderOptions,
    manifest: Manifest,
    lossless: Option<VideoEncoder>,
    browser: Option<VideoEncoder>,
    canvas: Canvas,
    /// The last browser picture, repeated at the end so the video lasts as long as the run.
    last_browser: Option<frame::Video>,
    /// Set once something failed: the error is reported at the end, frames are then ignored.
    failed: Option<RecordError>,
}

impl Tracks {
    fn new(dir: &Path, origin: Instant, options: RecorderOptions, manifest: Manifest) -> Tracks {
        let canvas = Canvas::new(options.canvas.0, options.canvas.1);
        Tracks {
            dir: dir.to_owned(),
            origin,
            options,
            manifest,
            lossless: None,
            browser: None,
            canvas,
            last_browser: None,
            failed: None,
        }
    }

    fn run(
        mut self,
        mailbox: &Mailbox<Arc<Frame>>,
        live: &Mutex<RecordingStats>,
    ) -> Result<Manifest, RecordError> {
        let cpu_start = thread_cpu_time();
        let mut pacer = Pacer::new(self.options.fps);
        let mut stats = RecordingStats::default();
        // (serial, time) of the newest frame offered: a frame pushed twice (the run's last
        // frame, see `RunRecording::with_last_frame`) or older than it is skipped.
        let mut newest: Option<(u64, Instant)> = None;
        loop {
            let taken = mailbox.take(pacer.deadline());
            let mut due = Vec::new();
            // Offer queued frames oldest first, encoding each one whose slot has come: with a
            // high cap every frame is kept, with the default the newest in each slot wins.
            for frame in taken.items {
                if newest.is_some_and(|(serial, time)| {
                    frame.time < time || (frame.serial, frame.time) == (serial, time)
                }) {
                    continue;
                }
                newest = Some((frame.serial, frame.time));
                pacer.offer(frame);
                due.extend(pacer.take_due(Instant::now()));
            }
            due.extend(if taken.closed {
                pacer.take_remaining()
            } else {
                pacer.take_due(Instant::now())
            });
            for frame in due {
                let started = Instant::now();
                self.encode(&frame);
                stats.frames_encoded = self.manifest.stats.frames_encoded;
                stats.max_encode_s = stats.max_encode_s.max(started.elapsed().as_secs_f64());
                stats.merged_by_fps_cap = pacer.merged();
                stats.encoder_cpu_s = (thread_cpu_time() - cpu_start).as_secs_f64();
                *live.lock().unwrap_or_else(|p| p.into_inner()) = stats.clone();
            }
            if taken.closed {
                break;
            }
        }
        let end_ms = self.origin.elapsed().as_millis() as i64;
        self.close_all(end_ms);
        stats.merged_by_fps_cap = pacer.merged();
        stats.frames_encoded = self.manifest.stats.frames_encoded;
        stats.encoder_cpu_s = (thread_cpu_time() - cpu_start).as_secs_f64();
        self.manifest.stats = stats;
        self.manifest.duration_s = end_ms as f64 / 1000.0;
        if let Some(error) = self.failed {
            let _ = self.manifest.save(&self.dir);
            return Err(error);
        }
        self.manifest.save(&self.dir)?;
        Ok(self.manifest)
    }

    fn encode(&mut self, frame: &Frame) {
        if self.failed.is_some() {
            return;
        }
        if let Err(error) = self.try_encode(frame) {
            tracing::warn!("recording stopped: {error}");
            self.failed = Some(error);
        }
    }

    fn try_encode(&mut self, frame: &Frame) -> Result<(), RecordError> {
        let pts_ms = frame
            .time
            .saturating_duration_since(self.origin)
            .as_millis() as i64;
        let (width, height) = (frame.width(), frame.height());
        if width == 0 || height == 0 {
            return Ok(());
        }
        let mut rgb = rgb_frame(&frame.image);
        if let Some(codec) = self.options.lossless {
            self.lossless_segment(codec, width, height, pts_ms)?;
            if let Some(encoder) = &mut self.lossless {
                encoder.push(&rgb, pts_ms)?;
                let segment = self
                    .manifest
                    .lossless
                    .last_mut()
                    .expect("segment opened above");
                segment.frames = encoder.frames();
                segment.end_s = encoder.last_pts().unwrap_or(pts_ms) as f64 / 1000.0;
            }
        }
        if let Some(codec) = self.options.browser {
            if let (Some(shape), Some(pointer)) = (&frame.cursor, frame.pointer) {
                let stride = rgb.stride(0);
                cursor::draw(rgb.data_mut(0), stride, width, height, shape, pointer);
            }
            let picture = self.canvas.place(&rgb)?;
            if self.browser.is_none() {
                let (w, h) = self.canvas.size();
                let file = format!("{}.{}", manifest::BROWSER_STEM, codec.extension());
                let encoder = VideoEncoder::create(&self.dir.join(&file), codec, w, h)?;
                let (w, h) = encoder.size();
                self.manifest.browser = Some(BrowserVideo {
                    file,
                    codec,
                    width: w,
                    height: h,
                    frames: 0,
                });
                self.browser = Some(encoder);
                self.manifest.save(&self.dir)?;
            }
            if let Some(encoder) = &mut self.browser {
                // The browser track starts at 0 whatever the first frame's time: players show
                // nothing before the first timestamp, and the first screen is the best guess.
                let pts = if encoder.frames() == 0 { 0 } else { pts_ms };
                encoder.push(&picture, pts)?;
                if let Some(browser) = &mut self.manifest.browser {
                    browser.frames = encoder.frames();
                }
            }
            self.last_browser = Some(picture);
        }
        self.manifest.stats.frames_encoded += 1;
        Ok(())
    }

    /// Makes sure the open lossless segment has this size: a size change closes it and opens
    /// the next one (exact pixels are never scaled).
    fn lossless_segment(
        &mut self,
        codec: Codec,
        width: u32,
        height: u32,
        pts_ms: i64,
    ) -> Result<(), RecordError> {
        if let Some(open) = &self.lossless {
            if open.size() == (width, height) {
                return Ok(());
            }
            if let Some(done) = self.lossless.take() {
                done.finish()?;
            }
        }
        let index = self.manifest.lossless.len();
        let file = format!(
            "{}-lossless-{index}.{}",
            manifest::BROWSER_STEM,
            codec.extension()
        );
        let encoder = VideoEncoder::create(&self.dir.join(&file), codec, width, height)?;
        let start_s = pts_ms as f64 / 1000.0;
        self.manifest.lossless.push(Segment {
            file,
            codec,
            width,
            height,
            start_s,
            end_s: start_s,
            frames: 0,
        });
        self.lossless = Some(encoder);
        self.manifest.save(&self.dir)
    }

    fn close_all(&mut self, end_ms: i64) {
        if let Some(encoder) = self.lossless.take()
            && let Err(e) = encoder.finish()
        {
            self.failed.get_or_insert(e);
        }
        if let Some(mut encoder) = self.browser.take() {
            // Repeat the last picture at the end, so the video is as long as the run and a
            // seek to any event lands inside it.
            if let (Some(last), Some(last_pts)) = (&self.last_browser, encoder.last_pts())
                && end_ms > last_pts + 1
                && let Err(e) = encoder.push(last, end_ms)
            {
                self.failed.get_or_insert(e);
            }
            if let Some(browser) = &mut self.manifest.browser {
                browser.frames = encoder.frames();
            }
            if let Err(e) = encoder.finish() {
                self.failed.get_or_insert(e);
            }
        }
    }
}

/// CPU time this thread has used (Linux: /proc/thread-self/schedstat, nanoseconds on CPU).
/// Zero where that is not available; only used for the statistics.
fn thread_cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}
