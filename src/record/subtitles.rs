//! The current step as a WebVTT track, aligned with the video's clock.
//!
//! Each step (the screen being awaited, the key being typed) is one cue from when it started
//! until the next step starts. Cues are appended as soon as they end, so a run that is killed
//! still leaves every finished step in the file. Callers pass a description of the step, never
//! the text of a secret (`type_secret` captions say only that a secret was typed); as a second
//! line of defence every secret registered with [`Subtitles::redact`] (the VNC password, each
//! `type_secret` value) is replaced by `[secret]` wherever it would appear in a cue.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{RecordError, timecode};

pub struct Subtitles {
    path: PathBuf,
    out: BufWriter<File>,
    open: Option<(f64, String)>,
    cues: usize,
    secrets: Vec<String>,
}

impl Subtitles {
    /// Creates (truncates) `path` and writes the WebVTT header.
    pub fn create(path: &Path) -> Result<Subtitles, RecordError> {
        let file = File::create(path).map_err(RecordError::io(path))?;
        let mut out = BufWriter::new(file);
        out.write_all(b"WEBVTT\n\n")
            .map_err(RecordError::io(path))?;
        out.flush().map_err(RecordError::io(path))?;
        Ok(Subtitles {
            path: path.to_owned(),
            out,
            open: None,
            cues: 0,
            secrets: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Never show `secret` in a cue: it is replaced by `[secret]` in every later step's text.
    pub fn redact(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// A new step starts at `t` seconds: the previous one ends there. `text` is shown on one
    /// line, with registered secrets replaced.
    pub fn step(&mut self, t: f64, text: &str) -> Result<(), RecordError> {
        self.close_open(t)?;
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "[secret]");
        }
        let text = sanitize(&text);
        if !text.is_empty() {
            self.open = Some((t.max(0.0), text));
        }
        Ok(())
    }

    /// Ends the current step at `t` (and writes it) without starting another.
    pub fn end(&mut self, t: f64) -> Result<(), RecordError> {
        self.close_open(t)
    }

    /// Number of cues written.
    pub fn cues(&self) -> usize {
        self.cues
    }

    fn close_open(&mut self, t: f64) -> Result<(), RecordError> {
        let Some((start, text)) = self.open.take() else {
            return Ok(());
        };
        // A cue must last; a step that ended at once still gets 100 ms so it can be seen.
        let end = t.max(start + 0.1);
        self.cues += 1;
        let cue = format!(
            "{}\n{} --> {}\n{}\n\n",
            self.cues,
            timecode::format_vtt(start),
            timecode::format_vtt(end),
            text
        );
        self.out
            .write_all(cue.as_bytes())
            .map_err(RecordError::io(&self.path))?;
        self.out.flush().map_err(RecordError::io(&self.path))
    }
}

/// One line of cue text: newlines would end the cue, "-->" would read as a timing line, and
/// `<`/`&` are markup in WebVTT.
fn sanitize(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Reads the cues of a WebVTT file written by [`Subtitles`]: (start, end, text).
pub fn read_cues(path: &Path) -> Result<Vec<(f64, f64, String)>, RecordError> {
    let text = std::fs::read_to_string(path).map_err(RecordError::io(path))?;
    let mut cues = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, first)) if first.starts_with("WEBVTT") => {}
        _ => {
            return Err(RecordError::BadFile {
                path: path.to_owned(),
                message: "line 1: expected \"WEBVTT\"".into(),
            });
        }
    }
    while let Some((number, line)) = lines.next() {
        let Some((start, end)) = line.split_once(" --> ") else {
            continue;
        };
        let bad = |what: &str| RecordError::BadFile {
            path: path.to_owned(),
            message: format!("line {}: {what} {line:?}", number + 1),
        };
        let start = timecode::parse(start).map_err(|_| bad("bad cue start in"))?;
        let end = timecode::parse(end.split_whitespace().next().unwrap_or(""))
            .map_err(|_| bad("bad cue end in"))?;
        let mut body = Vec::new();
        while let Some((_, text)) = lines.next_if(|(_, l)| !l.is_empty()) {
            body.push(
                text.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
        }
        cues.push((start, end, body.join("\n")));
    }
    Ok(cues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_become_consecutive_cues() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subtitles.vtt");
        let mut subs = Subtitles::create(&path).unwrap();
        subs.step(0.0, "await screen 'boot-menu'").unwrap();
        subs.step(12.5, "key ret").unwrap();
        subs.step(12.5, "type <hostname>\nnext").unwrap();
        subs.end(20.0).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "WEBVTT\n\n1\n00:00:00.000 --> 00:00:12.500\nawait screen 'boot-menu'\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("00:00:12.500 --> 00:00:12.600\nkey ret\n"),
            "{text}"
        );
        assert!(text.contains("type &lt;hostname&gt; next\n"), "{text}");
        let cues = read_cues(&path).unwrap();
        assert_eq!(cues.len(), 3);
        assert_eq!(cues[2], (12.5, 20.0, "type <hostname> next".to_owned()));
    }

    #[test]
    fn registered_secrets_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subtitles.vtt");
        let mut subs = Subtitles::create(&path).unwrap();
        subs.redact("hunter2");
        subs.redact("hunter2-root");
        subs.step(0.0, "type 'hunter2-root' into the password field")
            .unwrap();
        subs.step(1.0, "typed hunter2").unwrap();
        subs.end(2.0).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("hunter"), "{text}");
        assert!(
            text.contains("type '[secret]' into the password field"),
            "{text}"
        );
    }

    #[test]
    fn a_killed_run_keeps_every_finished_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subtitles.vtt");
        let mut subs = Subtitles::create(&path).unwrap();
        subs.step(1.0, "one").unwrap();
        subs.step(2.0, "two").unwrap();
        std::mem::forget(subs);
        let cues = read_cues(&path).unwrap();
        assert_eq!(cues, vec![(1.0, 2.0, "one".to_owned())]);
    }

    #[test]
    fn a_file_that_is_not_webvtt_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.vtt");
        std::fs::write(&path, "hello\n").unwrap();
        let err = read_cues(&path).unwrap_err().to_string();
        assert!(err.contains("x.vtt") && err.contains("WEBVTT"), "{err}");
    }
}
