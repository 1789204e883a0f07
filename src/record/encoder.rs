//! One video file with one video stream, fed RGB pictures with millisecond timestamps.
//!
//! The codecs are the ones Debian 12's FFmpeg 5.1 ships. Which one serves which job, and why,
//! is in docs/recording.md; in short: the lossless track exists so a recorded frame can be
//! matched against references again bit for bit, the browser track so a person can watch the
//! run in any browser.

use std::path::{Path, PathBuf};

use ffmpeg_next::{
    Dictionary, Packet, Rational, codec, encoder, format, frame, software::scaling,
    util::format::Pixel,
};

use super::{RecordError, init_ffmpeg};

/// Timestamps are milliseconds since the start of the run: fine enough for 10 fps, and the
/// same unit Matroska and WebM store.
pub const TIME_BASE: Rational = Rational(1, 1000);

/// What a track is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    /// Exact pixels, as the matcher saw them (no cursor drawn in).
    Lossless,
    /// For people: cursor drawn in, one fixed picture size, plays in browsers.
    Browser,
}

/// The encoders vncpilot knows how to drive. Each names its container too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// FFV1 version 3 in Matroska: intra-only, lossless, every frame decodable on its own.
    Ffv1,
    /// libx264rgb at qp 0 in Matroska: lossless RGB H.264, inter-predicted (cheap when little
    /// changes), not playable by browsers.
    X264Rgb,
    /// libvpx VP9 in WebM, realtime settings: what browsers play.
    Vp9,
    /// libx264 (yuv420p) in fragmented MP4: also browser-playable.
    H264,
}

impl Codec {
    pub fn encoder_name(self) -> &'static str {
        match self {
            Codec::Ffv1 => "ffv1",
            Codec::X264Rgb => "libx264rgb",
            Codec::Vp9 => "libvpx-vp9",
            Codec::H264 => "libx264",
        }
    }

    /// The muxer name for `format::output_as`.
    pub fn container(self) -> &'static str {
        match self {
            Codec::Ffv1 | Codec::X264Rgb => "matroska",
            Codec::Vp9 => "webm",
            Codec::H264 => "mp4",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Codec::Ffv1 | Codec::X264Rgb => "mkv",
            Codec::Vp9 => "webm",
            Codec::H264 => "mp4",
        }
    }

    /// Whether decoding gives back exactly the pixels that were encoded.
    pub fn is_lossless(self) -> bool {
        matches!(self, Codec::Ffv1 | Codec::X264Rgb)
    }

    /// The pixel format the encoder is fed.
    fn pixel(self) -> Pixel {
        match self {
            // FFV1 takes no 24-bit RGB, but 32-bit BGRx: a lossless byte shuffle away.
            Codec::Ffv1 => Pixel::BGRZ,
            Codec::X264Rgb => Pixel::RGB24,
            Codec::Vp9 | Codec::H264 => Pixel::YUV420P,
        }
    }

    /// Encoder options; the reasons are in docs/recording.md.
    fn options(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Codec::Ffv1 => vec![
                ("level", "3"),
                ("coder", "1"),
                ("context", "0"),
                ("slices", "4"),
                ("slicecrc", "1"),
            ],
            Codec::X264Rgb => vec![
                ("preset", "ultrafast"),
                ("tune", "zerolatency"),
                ("qp", "0"),
            ],
            Codec::Vp9 => vec![
                ("deadline", "realtime"),
                ("cpu-used", "8"),
                ("crf", "36"),
                ("lag-in-frames", "0"),
                ("row-mt", "1"),
                ("tile-columns", "2"),
            ],
            Codec::H264 => vec![
                ("preset", "veryfast"),
                ("tune", "zerolatency"),
                ("crf", "28"),
            ],
        }
    }

    fn muxer_options(self) -> Vec<(&'static str, &'static str)> {
        match self {
            // A fragmented MP4 stays playable when the run is killed before the trailer.
            Codec::H264 => vec![("movflags", "frag_keyframe+empty_moov+default_base_moof")],
            _ => Vec::new(),
        }
    }
}

/// An open output file. Create, [`push`](VideoEncoder::push) pictures in increasing time,
/// [`finish`](VideoEncoder::finish). Not `Send` (the ffmpeg contexts are raw pointers): it lives
/// on the recorder's thread.
pub struct VideoEncoder {
    path: PathBuf,
    codec: Codec,
    output: format::context::Output,
    encoder: encoder::Video,
    stream_time_base: Rational,
    /// RGB24 → the codec's pixel format; `None` when the codec takes RGB24 itself.
    converter: Option<scaling::Context>,
    width: u32,
    height: u32,
    last_pts: Option<i64>,
    frames: u64,
}

impl VideoEncoder {
    /// Opens `path` (created or truncated) for `width` × `height` pictures.
    pub fn create(
        path: &Path,
        codec: Codec,
        width: u32,
        height: u32,
    ) -> Result<VideoEncoder, RecordError> {
        init_ffmpeg()?;
        let name = codec.encoder_name();
        let ctx = |what: &str| RecordError::ffmpeg(format!("{what} {} ({name})", path.display()));
        let found = encoder::find_by_name(name).ok_or(RecordError::MissingEncoder(name))?;
        // yuv420p needs even sizes; a framebuffer may be odd, so round down (losing at most one
        // column/row in the browser track only, which is scaled anyway).
        let (width, height) = match codec.pixel() {
            Pixel::YUV420P => ((width & !1).max(2), (height & !1).max(2)),
            _ => (width, height),
        };
        let mut output = format::output_as(path, codec.container()).map_err(ctx("create"))?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);

        let mut video = codec::context::Context::new_with_codec(found)
            .encoder()
            .video()
            .map_err(ctx("configure"))?;
        video.set_width(width);
        video.set_height(height);
        video.set_format(codec.pixel());
        video.set_time_base(TIME_BASE);
        video.set_frame_rate(Some(Rational(10, 1)));
        video.set_gop(if codec == Codec::Ffv1 { 1 } else { 100 });
        video.set_max_b_frames(0);
        if matches!(codec, Codec::Vp9 | Codec::H264) {
            // BT.601 limited range, said explicitly so browsers do not guess.
            video.set_colorspace(ffmpeg_next::color::Space::BT470BG);
            video.set_color_range(ffmpeg_next::color::Range::MPEG);
        }
        if codec == Codec::Vp9 {
            video.set_bit_rate(0); // constant quality (crf)
        }
        if global_header {
            video.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut options = Dictionary::new();
        for (key, value) in codec.options() {
            options.set(key, value);
        }
        // One thread: the machine's other core belongs to the guest. Encoding is paced to at
        // most `fps` pictures a second, so one thread keeps up (docs/performance.md).
        options.set("threads", "1");
        let encoder = video.open_with(options).map_err(ctx("open encoder for"))?;
        {
            let mut stream = output.add_stream(found).map_err(ctx("add stream to"))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(TIME_BASE);
        }
        let mut muxer_options = Dictionary::new();
        for (key, value) in codec.muxer_options() {
            muxer_options.set(key, value);
        }
        output
            .write_header_with(muxer_options)
            .map_err(ctx("write header of"))?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(TIME_BASE);
        let converter = if codec.pixel() == Pixel::RGB24 {
            None
        } else {
            Some(
                scaling::Context::get(
                    Pixel::RGB24,
                    width,
                    height,
                    codec.pixel(),
                    width,
                    height,
                    scaling::Flags::POINT,
                )
                .map_err(ctx("pixel converter for"))?,
            )
        };
        Ok(VideoEncoder {
            path: path.to_owned(),
            codec,
            output,
            encoder,
            stream_time_base,
            converter,
            width,
            height,
            last_pts: None,
            frames: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The picture size this file was opened for (even-rounded for yuv420p codecs).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The timestamp of the last picture written, in milliseconds.
    pub fn last_pts(&self) -> Option<i64> {
        self.last_pts
    }

    /// Encodes one RGB24 picture of exactly [`size`](Self::size) at `pts_ms`. A timestamp not
    /// after the previous one is moved 1 ms past it (timestamps must increase strictly).
    pub fn push(&mut self, rgb: &frame::Video, pts_ms: i64) -> Result<(), RecordError> {
        let pts = match self.last_pts {
            Some(last) if pts_ms <= last => last + 1,
            _ => pts_ms.max(0),
        };
        let path = self.path.display().to_string();
        let mut picture = match &mut self.converter {
            Some(converter) => {
                // A fresh frame each time: the encoder may still hold a reference to the last one.
                let mut converted = frame::Video::new(self.codec.pixel(), self.width, self.height);
                converter
                    .run(rgb, &mut converted)
                    .map_err(RecordError::ffmpeg(format!("convert picture for {path}")))?;
                converted
            }
            None => rgb.clone(),
        };
        if matches!(self.codec, Codec::Vp9 | Codec::H264) {
            picture.set_color_space(ffmpeg_next::color::Space::BT470BG);
            picture.set_color_range(ffmpeg_next::color::Range::MPEG);
        }
        picture.set_pts(Some(pts));
        self.encoder
            .send_frame(&picture)
            .map_err(RecordError::ffmpeg(format!("encode a picture into {path}")))?;
        self.last_pts = Some(pts);
        self.frames += 1;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), RecordError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(TIME_BASE, self.stream_time_base);
            packet
                .write_interleaved(&mut self.output)
                .map_err(RecordError::ffmpeg(format!(
                    "write {}",
                    self.path.display()
                )))?;
        }
        Ok(())
    }

    /// Flushes the encoder and writes the container's trailer (index, duration).
    pub fn finish(mut self) -> Result<u64, RecordError> {
        let path = self.path.display().to_string();
        self.encoder
            .send_eof()
            .map_err(RecordError::ffmpeg(format!("flush the encoder of {path}")))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(RecordError::ffmpeg(format!("finish {path}")))?;
        Ok(self.frames)
    }
}

/// Copies an [`image::RgbImage`] into an ffmpeg RGB24 picture (whose rows may be padded).
pub fn rgb_frame(image: &image::RgbImage) -> frame::Video {
    let (width, height) = image.dimensions();
    let mut picture = frame::Video::new(Pixel::RGB24, width, height);
    copy_into(image, &mut picture);
    picture
}

/// Copies `image` into the top-left of an RGB24 picture at least as large.
pub fn copy_into(image: &image::RgbImage, picture: &mut frame::Video) {
    let (width, height) = image.dimensions();
    let stride = picture.stride(0);
    let row_bytes = width as usize * 3;
    let data = picture.data_mut(0);
    for (y, row) in image
        .as_raw()
        .chunks_exact(row_bytes)
        .take(height as usize)
        .enumerate()
    {
        data[y * stride..y * stride + row_bytes].copy_from_slice(row);
    }
}

/// Copies an ffmpeg RGB24 picture out into an [`image::RgbImage`].
pub fn rgb_image(picture: &frame::Video) -> image::RgbImage {
    let (width, height) = (picture.width(), picture.height());
    let stride = picture.stride(0);
    let row_bytes = width as usize * 3;
    let data = picture.data(0);
    let mut raw = Vec::with_capacity(row_bytes * height as usize);
    for y in 0..height as usize {
        raw.extend_from_slice(&data[y * stride..y * stride + row_bytes]);
    }
    image::RgbImage::from_raw(width, height, raw).expect("row_bytes × height bytes")
}
