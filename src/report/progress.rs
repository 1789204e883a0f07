//! What a person watching `vncpilot run` sees: on a terminal one live line (step, awaited
//! screens, best similarity so far, elapsed / timeout) redrawn in place; otherwise (CI logs) one
//! plain line per step, since carriage returns make log files unreadable.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::observer::{Event, Progress, RunObserver, redact};

pub struct ProgressLine {
    live: bool,
    state: Mutex<State>,
}

struct State {
    last_draw: Option<Instant>,
    drawn: bool,
    secrets: Vec<String>,
}

impl ProgressLine {
    /// Live when stderr is a terminal.
    pub fn stderr() -> ProgressLine {
        ProgressLine::new(std::io::stderr().is_terminal())
    }

    pub fn new(live: bool) -> ProgressLine {
        ProgressLine {
            live,
            state: Mutex::new(State {
                last_draw: None,
                drawn: false,
                secrets: Vec::new(),
            }),
        }
    }

    /// The live line's text (without terminal control codes).
    pub fn render(p: &Progress) -> String {
        let best = match &p.best {
            Some((name, s)) => format!(" best {name} {s:.3}"),
            None => String::new(),
        };
        format!(
            "step {} {} {}{} {:.0}/{:.0}s",
            p.step, p.action, p.awaiting, best, p.elapsed_s, p.timeout_s
        )
    }
}

impl RunObserver for ProgressLine {
    fn event(&self, event: &Event) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let line = redact(&event.human(), &st.secrets);
        let mut err = std::io::stderr().lock();
        if self.live && st.drawn {
            let _ = write!(err, "\r\x1b[2K");
            st.drawn = false;
        }
        let _ = writeln!(err, "{line}");
    }

    fn progress(&self, p: &Progress) {
        if !self.live {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st
            .last_draw
            .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        st.last_draw = Some(Instant::now());
        st.drawn = true;
        let line = redact(&ProgressLine::render(p), &st.secrets);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    fn secret(&self, secret: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !secret.is_empty() {
            st.secrets.push(secret.to_string());
        }
    }
}
