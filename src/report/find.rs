//! "When did this screen appear?" answered from a recording: every recorded frame is checked
//! against a reference, exactly as the live run would have (the lossless track holds the
//! pixels the matcher saw).

use std::ops::ControlFlow;

use image::RgbImage;

use crate::record::{RecordError, Recording};
use crate::screen::{MatchResult, Reference};

/// The outcome of scanning a whole recording for one reference.
#[derive(Debug)]
pub struct FindReport {
    /// Frames checked (of the reference's size).
    pub frames_checked: u64,
    /// Frames skipped because their size differs from the reference's (another video mode).
    pub frames_other_size: u64,
    /// Time spans (first, last frame time, seconds) during which it matched.
    pub matched_spans: Vec<(f64, f64)>,
    /// The first matching frame: its time and result.
    pub first_match: Option<(f64, MatchResult)>,
    /// The frame with the highest similarity (the first one when tied): time, result, picture.
    pub best: Option<(f64, MatchResult, RgbImage)>,
}

/// Checks every recorded frame against `reference`.
pub fn scan(recording: &Recording, reference: &Reference) -> Result<FindReport, RecordError> {
    let mut report = FindReport {
        frames_checked: 0,
        frames_other_size: 0,
        matched_spans: Vec::new(),
        first_match: None,
        best: None,
    };
    let mut open_span: Option<(f64, f64)> = None;
    recording.for_each_frame(|frame| {
        if frame.image.dimensions() != reference.size() {
            report.frames_other_size += 1;
            if let Some(span) = open_span.take() {
                report.matched_spans.push(span);
            }
            return ControlFlow::Continue(());
        }
        report.frames_checked += 1;
        let result = reference.check(&frame.image);
        if result.matched {
            open_span = Some(open_span.map_or((frame.t, frame.t), |(start, _)| (start, frame.t)));
            if report.first_match.is_none() {
                report.first_match = Some((frame.t, result.clone()));
            }
        } else if let Some(span) = open_span.take() {
            report.matched_spans.push(span);
        }
        let better = report
            .best
            .as_ref()
            .is_none_or(|(_, best, _)| result.similarity > best.similarity);
        if better {
            report.best = Some((frame.t, result, frame.image));
        }
        ControlFlow::Continue(())
    })?;
    report.matched_spans.extend(open_span);
    Ok(report)
}
