//! `video.json`: what the recorder wrote, so replay and the report find it again.
//!
//! It is rewritten whenever a lossless segment starts or ends and once more at the end, so a
//! run that was killed still names its segments (`complete` stays false).

use std::path::{Path, PathBuf};

use super::RecordError;
use super::encoder::Codec;

pub const FILE_NAME: &str = "video.json";
pub const BROWSER_STEM: &str = "video";
pub const SUBTITLES_FILE: &str = "subtitles.vtt";

/// Counters that show what the recorder did with the frames it was given.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordingStats {
    /// Frames pushed into the recorder.
    pub frames_received: u64,
    /// Frames encoded (each into every track).
    pub frames_encoded: u64,
    /// Frames replaced by a newer one before their slot because of the fps cap.
    pub merged_by_fps_cap: u64,
    /// Frames replaced in the queue because the encoder was behind.
    pub merged_encoder_behind: u64,
    /// CPU time the encoder thread used, seconds.
    pub encoder_cpu_s: f64,
    /// Longest time one frame took to encode (all tracks), seconds.
    pub max_encode_s: f64,
}

/// One lossless file: a single picture size, frames with their real timestamps.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub file: String,
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    /// Timestamp of its first frame, seconds since the run started.
    pub start_s: f64,
    /// Timestamp of its last frame.
    pub end_s: f64,
    pub frames: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrowserVideo {
    pub file: String,
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// The frame-rate cap (0: none).
    pub fps: f64,
    /// Lossless segments in time order; a new one starts when the framebuffer size changes.
    pub lossless: Vec<Segment>,
    pub browser: Option<BrowserVideo>,
    pub subtitles: Option<String>,
    /// Seconds from the run's start to the end of the recording.
    pub duration_s: f64,
    pub stats: RecordingStats,
    /// False while recording (or when the run was killed before the recorder finished).
    pub complete: bool,
}

impl Manifest {
    pub fn new(fps: f64) -> Manifest {
        Manifest {
            version: 1,
            fps,
            lossless: Vec::new(),
            browser: None,
            subtitles: None,
            duration_s: 0.0,
            stats: RecordingStats::default(),
            complete: false,
        }
    }

    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads `dir/video.json`.
    pub fn load(dir: &Path) -> Result<Manifest, RecordError> {
        let path = Manifest::path_in(dir);
        let text = std::fs::read_to_string(&path).map_err(RecordError::io(&path))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| RecordError::BadFile {
            path: path.clone(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        if manifest.version != 1 {
            return Err(RecordError::BadFile {
                path,
                message: format!(
                    "version {} is not understood (expected 1)",
                    manifest.version
                ),
            });
        }
        for segment in &manifest.lossless {
            check_file_name(&path, &segment.file)?;
        }
        if let Some(browser) = &manifest.browser {
            check_file_name(&path, &browser.file)?;
        }
        Ok(manifest)
    }

    /// Writes `dir/video.json` atomically (a reader never sees half a file).
    pub fn save(&self, dir: &Path) -> Result<(), RecordError> {
        let path = Manifest::path_in(dir);
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        let text = serde_json::to_string_pretty(self).map_err(|e| RecordError::BadFile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text + "\n").map_err(RecordError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(RecordError::io(&path))
    }

    /// Every file the recorder made in `dir` (for deleting the video of a passed run).
    pub fn files(&self, dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.lossless.iter().map(|s| dir.join(&s.file)).collect();
        files.extend(self.browser.iter().map(|b| dir.join(&b.file)));
        files.extend(self.subtitles.iter().map(|s| dir.join(s)));
        files.push(Manifest::path_in(dir));
        files
    }
}

/// Names in the manifest are plain file names in the run directory, never paths elsewhere.
fn check_file_name(manifest: &Path, name: &str) -> Result<(), RecordError> {
    let plain = !name.is_empty()
        && !name.contains('/')
        && !name.contains('\\')
        && name != ".."
        && name != ".";
    if plain {
        Ok(())
    } else {
        Err(RecordError::BadFile {
            path: manifest.to_owned(),
            message: format!("file {name:?} is not a plain file name in the run directory"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_paths_outside_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = Manifest::new(10.0);
        manifest.lossless.push(Segment {
            file: "video-lossless-0.mkv".into(),
            codec: Codec::Ffv1,
            width: 640,
            height: 480,
            start_s: 0.0,
            end_s: 3.5,
            frames: 12,
        });
        manifest.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), manifest);
        manifest.lossless[0].file = "../../etc/passwd".into();
        manifest.save(dir.path()).unwrap();
        let err = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("video.json") && err.contains("not a plain file name"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_manifest_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "{\n \"version\": 1,\n oops }").unwrap();
        let err = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("video.json") && err.contains("line 3"),
            "{err}"
        );
    }
}
