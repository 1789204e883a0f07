//! The paused run's side of the authoring page: what the run is paused at, and the page's
//! answer (retry the step, or give up), handed from the server's handlers to the macro's thread.
//!
//! Why plain `std` sync and not a channel on the runtime: the asker is the macro's blocking
//! thread (a Rhai host function), the answerer an HTTP handler; a mutex + condvar lets the
//! asker wake up on an answer *or* every tick to watch the run's cancellation.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

/// What the page shows of a pause.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PauseView {
    pub step: u64,
    pub action: String,
    pub screens: Vec<String>,
    /// One line for a person: the step and why it paused.
    pub reason: String,
}

#[derive(Default)]
struct State {
    current: Option<PauseView>,
    /// The answer to `current`: true = retry.
    answer: Option<bool>,
}

/// One pause at a time: the run [`ask`](PauseSlot::ask)s, the page reads
/// [`current`](PauseSlot::current) and [`answer`](PauseSlot::answer)s.
#[derive(Default)]
pub struct PauseSlot {
    state: Mutex<State>,
    answered: Condvar,
}

impl PauseSlot {
    pub fn new() -> PauseSlot {
        PauseSlot::default()
    }

    /// Shows `view` on the page (replacing any earlier, unanswered one).
    pub fn ask(&self, view: PauseView) {
        let mut s = self.lock();
        s.current = Some(view);
        s.answer = None;
    }

    /// Waits up to `tick` for the answer to the current pause: `Some(retry)` once answered
    /// (the pause is then over), `None` if still unanswered.
    pub fn wait_answer(&self, tick: Duration) -> Option<bool> {
        let s = self.lock();
        let (mut s, _) = self
            .answered
            .wait_timeout_while(s, tick, |s| s.answer.is_none())
            .unwrap_or_else(|e| e.into_inner());
        let answer = s.answer.take()?;
        s.current = None;
        Some(answer)
    }

    /// The pause the page should show, if any.
    pub fn current(&self) -> Option<PauseView> {
        self.lock().current.clone()
    }

    /// The page's answer; false when nothing is paused (or it was answered already).
    pub fn answer(&self, retry: bool) -> bool {
        let mut s = self.lock();
        if s.current.is_none() || s.answer.is_some() {
            return false;
        }
        s.answer = Some(retry);
        self.answered.notify_all();
        true
    }

    /// Takes the pause off the page without an answer (the run was stopped).
    pub fn withdraw(&self) {
        let mut s = self.lock();
        s.current = None;
        s.answer = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn view() -> PauseView {
        PauseView {
            step: 3,
            action: "wait_screen".into(),
            screens: vec!["users".into()],
            reason: "step 3 wait_screen(users): did not appear".into(),
        }
    }

    #[test]
    fn an_answer_reaches_the_waiting_run_once() {
        let slot = Arc::new(PauseSlot::new());
        assert!(!slot.answer(true), "nothing is paused yet");
        slot.ask(view());
        assert_eq!(slot.current(), Some(view()));
        assert_eq!(slot.wait_answer(Duration::from_millis(10)), None);
        let page = slot.clone();
        let answerer = std::thread::spawn(move || page.answer(true));
        let mut got = None;
        for _ in 0..500 {
            got = slot.wait_answer(Duration::from_millis(10));
            if got.is_some() {
                break;
            }
        }
        assert!(answerer.join().unwrap());
        assert_eq!(got, Some(true));
        assert_eq!(slot.current(), None, "the pause is over once answered");
        assert!(!slot.answer(false), "a second answer finds nothing paused");
    }

    #[test]
    fn withdrawn_pauses_take_no_answer() {
        let slot = PauseSlot::new();
        slot.ask(view());
        slot.withdraw();
        assert_eq!(slot.current(), None);
        assert!(!slot.answer(true));
    }
}
