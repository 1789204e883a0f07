//! Developer mode's seam in the macro engine: where a run may pause (a failed screen wait, or a
//! chosen step or screen) and the [`Pauser`] that decides how it goes on.
//!
//! Why a trait owned here: the engine only needs "ask someone, block until they answer"; who
//! answers (the authoring page a paused `vncpilot run` serves, a test) lives above `script`.
//! The answer is [`Resume::Retry`] — the references are reloaded from disk and the failed step
//! runs again — or [`Resume::GiveUp`], which fails the step as it would have without pausing.

use std::fmt;
use std::str::FromStr;

use tokio_util::sync::CancellationToken;

/// A place to pause before it runs: `--pause-at 7` (step 7) or `--pause-at partitioning`
/// (any wait for that screen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PausePoint {
    Step(u64),
    Screen(String),
}

impl FromStr for PausePoint {
    type Err = String;

    fn from_str(s: &str) -> Result<PausePoint, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err(
                "a pause point is a step number or a screen name, got an empty value".into(),
            );
        }
        Ok(match s.parse::<u64>() {
            Ok(step) => PausePoint::Step(step),
            Err(_) => PausePoint::Screen(s.to_string()),
        })
    }
}

impl fmt::Display for PausePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PausePoint::Step(n) => write!(f, "step {n}"),
            PausePoint::Screen(name) => write!(f, "screen {name}"),
        }
    }
}

/// When a run pauses: on every failed screen wait (`--pause-on-fail`) and/or before the
/// steps and screens in `at` (`--pause-at`). The default pauses never.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PausePolicy {
    pub on_fail: bool,
    pub at: Vec<PausePoint>,
}

impl PausePolicy {
    /// True when the policy can pause at all (then the run has no whole-run timeout: a person
    /// is at the page).
    pub fn is_active(&self) -> bool {
        self.on_fail || !self.at.is_empty()
    }

    /// True when a wait at `step` for `screens` is one of the chosen pause points.
    pub fn pauses_at(&self, step: u64, screens: &[String]) -> bool {
        self.at.iter().any(|p| match p {
            PausePoint::Step(n) => *n == step,
            PausePoint::Screen(name) => screens.iter().any(|s| s == name),
        })
    }
}

/// Why the run is paused, for whoever answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Paused {
    pub step: u64,
    /// The macro function (`wait_screen`, `click_screen`).
    pub action: String,
    /// The screens the step waits for.
    pub screens: Vec<String>,
    /// `Some(reason)`: the wait failed with this reason; `None`: a chosen pause point, before
    /// the step runs.
    pub failure: Option<String>,
}

impl Paused {
    /// One line: "step 4 wait_screen(partitioning): screen partitioning did not appear …".
    pub fn describe(&self) -> String {
        let what = format!(
            "step {} {}({})",
            self.step,
            self.action,
            self.screens.join(" | ")
        );
        match &self.failure {
            Some(reason) => format!("{what}: {reason}"),
            None => format!("{what}: paused before it runs (--pause-at)"),
        }
    }
}

/// How a paused step goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Reload the references and run the step (again).
    Retry,
    /// Fail the step as it would have failed without pausing (before a chosen point: run it).
    GiveUp,
}

/// Whoever answers a pause. `pause` blocks the macro's thread until there is an answer or
/// `cancel` fires (then it returns [`Resume::GiveUp`]; the step sees the cancellation).
pub trait Pauser: Send + Sync {
    fn pause(&self, paused: &Paused, cancel: &CancellationToken) -> Resume;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_as_steps_or_screens() {
        assert_eq!("7".parse::<PausePoint>(), Ok(PausePoint::Step(7)));
        assert_eq!(
            " partitioning ".parse::<PausePoint>(),
            Ok(PausePoint::Screen("partitioning".into()))
        );
        assert!("".parse::<PausePoint>().is_err());
    }

    #[test]
    fn policy_pauses_at_its_points_only() {
        let policy = PausePolicy {
            on_fail: false,
            at: vec![PausePoint::Step(3), PausePoint::Screen("users".into())],
        };
        assert!(policy.is_active());
        assert!(policy.pauses_at(3, &["welcome".into()]));
        assert!(policy.pauses_at(9, &["keyboard".into(), "users".into()]));
        assert!(!policy.pauses_at(4, &["welcome".into()]));
        assert!(!PausePolicy::default().is_active());
    }

    #[test]
    fn described_with_the_failure_or_the_point() {
        let mut p = Paused {
            step: 4,
            action: "wait_screen".into(),
            screens: vec!["a".into(), "b".into()],
            failure: Some("screen a | b did not appear within 5 s".into()),
        };
        assert_eq!(
            p.describe(),
            "step 4 wait_screen(a | b): screen a | b did not appear within 5 s"
        );
        p.failure = None;
        assert!(p.describe().ends_with("paused before it runs (--pause-at)"));
    }
}
