//! The run's steps as video captions: a [`RunObserver`] that turns what the macro does (the
//! screen it awaits, the key it presses) into `subtitles.vtt` cues.
//!
//! Why an observer that exists before the recording does: the run registers its secret
//! variables at its very start, before the guest's screen (and so the recording) exists. The
//! captions keep every secret they were told and hand them to the recording when it is attached,
//! so no caption can ever show one. Secret text never reaches a caption in the first place
//! (`type_secret` is captioned "type a secret"); the redaction is the second line of defence.

use std::sync::Mutex;

use super::{Event, EventKind, Progress, RunObserver};
use crate::record::Captions;

/// Captions a run's steps into its recording (see the module docs).
#[derive(Default)]
pub struct StepCaptions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    captions: Option<Captions>,
    secrets: Vec<String>,
    /// The step the current caption belongs to, so a step is captioned once when it starts
    /// (from its first progress report, or its event for steps that do not wait).
    step: Option<u64>,
}

impl StepCaptions {
    pub fn new() -> StepCaptions {
        StepCaptions::default()
    }

    /// From now on, captions go to `captions`; every secret seen so far is redacted there.
    pub fn attach(&self, captions: Captions) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for secret in &inner.secrets {
            captions.redact(secret);
        }
        inner.captions = Some(captions);
    }

    fn caption(inner: &mut Inner, step: Option<u64>, text: &str) {
        inner.step = step;
        if let Some(captions) = &inner.captions
            && let Err(e) = captions.step(text)
        {
            tracing::warn!("subtitles: {e}");
        }
    }
}

/// "'a' | 'b'" from the progress line's "a|b".
fn quoted_names(awaiting: &str) -> String {
    awaiting
        .split('|')
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// What a waiting step is doing, from its progress report.
pub fn progress_caption(progress: &Progress) -> String {
    match progress.action.as_str() {
        "wait_screen" | "check_screen" => {
            format!("await screen {}", quoted_names(&progress.awaiting))
        }
        action => format!("{action} {}", progress.awaiting),
    }
}

/// What a step did, from its event; `None` for events that need no caption of their own.
pub fn event_caption(event: &Event) -> Option<String> {
    let Ok(kind) = event.kind() else {
        // An action this version does not know: its name says what happened.
        return Some(event.action.clone());
    };
    // The other steps: their name and their short text detail.
    let named = |detail: &str| format!("{}: {detail}", event.action);
    Some(match kind {
        // The run's own phases: the recording starts after "start" and "guest_ready".
        EventKind::Start { .. } | EventKind::GuestReady => return None,
        EventKind::End { status, .. } => format!("run ended: {}", status.as_str()),
        EventKind::TypeSecret { .. } => "type a secret".into(),
        EventKind::Type { text, .. } => format!("type '{text}'"),
        EventKind::Key { key, .. } => format!("key {key}"),
        EventKind::WaitScreen(wait) | EventKind::CheckScreen(wait) => match wait.matched {
            Some(name) => format!("screen '{name}' appeared"),
            None => "no awaited screen appeared".into(),
        },
        EventKind::Log { message, .. }
        | EventKind::Fail { message }
        | EventKind::Print { message }
        | EventKind::Debug { message, .. } => named(&message),
        EventKind::Screenshot { label, .. } => named(&label),
        EventKind::Snapshot { name, .. } | EventKind::Revert { name, .. } => named(&name),
        EventKind::ClickScreen { screen, .. } => named(&screen),
        EventKind::WaitSerial { pattern, .. } => named(&pattern),
        EventKind::WaitStill { .. }
        | EventKind::WaitChange { .. }
        | EventKind::MouseMove(_)
        | EventKind::MouseError { .. }
        | EventKind::Click(_)
        | EventKind::DoubleClick(_)
        | EventKind::Drag { .. }
        | EventKind::MouseHide { .. } => event.action.clone(),
    })
}

impl RunObserver for StepCaptions {
    fn event(&self, event: &Event) {
        let Some(text) = event_caption(event) else {
            return;
        };
        let kind = event.kind().ok();
        let step = kind.as_ref().and_then(EventKind::step);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // A wait that was captioned when it started keeps its caption until the next step,
        // except a screen wait, whose outcome (matched or not) is worth a caption of its own;
        // an instant step (a key) is captioned by its event.
        let screen_wait = matches!(
            kind,
            Some(EventKind::WaitScreen(_) | EventKind::CheckScreen(_))
        );
        if step.is_some() && inner.step == step && !screen_wait {
            return;
        }
        StepCaptions::caption(&mut inner, step, &text);
    }

    fn progress(&self, progress: &Progress) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.step != Some(progress.step) {
            StepCaptions::caption(&mut inner, Some(progress.step), &progress_caption(progress));
        }
    }

    fn secret(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.secrets.iter().any(|s| s == secret) {
            inner.secrets.push(secret.to_owned());
        }
        if let Some(captions) = &inner.captions {
            captions.redact(secret);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_say_what_the_step_does_and_never_a_secret() {
        let progress = Progress {
            step: 3,
            action: "wait_screen".into(),
            awaiting: "language|shell".into(),
            best: None,
            elapsed_s: 0.0,
            timeout_s: 60.0,
        };
        assert_eq!(
            progress_caption(&progress),
            "await screen 'language' | 'shell'"
        );
        let key = EventKind::Key {
            step: 4,
            key: "ret".into(),
        };
        assert_eq!(event_caption(&key.at(1.0)).as_deref(), Some("key ret"));
        let secret = EventKind::TypeSecret {
            step: 5,
            text: "<secret>".into(),
            duration_s: 0.1,
        };
        assert_eq!(
            event_caption(&secret.at(1.0)).as_deref(),
            Some("type a secret")
        );
        let matched = EventKind::WaitScreen(crate::report::ScreenWait {
            step: 6,
            screens: vec!["language".into()],
            matched: Some("language".into()),
            similarity: 0.99,
            best: None,
            duration_s: 1.0,
        });
        assert_eq!(
            event_caption(&matched.at(2.0)).as_deref(),
            Some("screen 'language' appeared")
        );
        let start = EventKind::Start {
            harness: "h".into(),
            attach: None,
        };
        assert_eq!(event_caption(&start.at(0.0)), None);
    }

    #[test]
    fn secrets_told_before_the_recording_existed_are_redacted_in_it() {
        use crate::record::{Recorder, RecorderOptions};
        let dir = tempfile::tempdir().unwrap();
        let captions = StepCaptions::new();
        captions.secret("early-secret");
        let options = RecorderOptions {
            lossless: None,
            browser: None,
            ..RecorderOptions::default()
        };
        let recorder = Recorder::start(dir.path(), std::time::Instant::now(), options).unwrap();
        captions.attach(recorder.captions());
        captions.secret("late-secret");
        let log = EventKind::Log {
            step: 1,
            message: "early-secret".into(),
        };
        captions.event(&log.at(0.1));
        let typed = EventKind::Type {
            step: 2,
            text: "late-secret".into(),
            duration_s: 0.05,
        };
        captions.event(&typed.at(0.2));
        let key = EventKind::Key {
            step: 3,
            key: "ret".into(),
        };
        captions.event(&key.at(0.3));
        recorder.finish().unwrap();
        let vtt = std::fs::read_to_string(dir.path().join("subtitles.vtt")).unwrap();
        assert!(
            !vtt.contains("early-secret") && !vtt.contains("late-secret"),
            "{vtt}"
        );
        assert!(
            vtt.contains("log: [secret]") && vtt.contains("type '[secret]'"),
            "{vtt}"
        );
        assert!(vtt.contains("key ret"), "{vtt}");
    }
}
