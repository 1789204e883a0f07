//! Tests of the typed event vocabulary: every kind is written as the string-keyed builders
//! wrote it before the kinds existed, and read back from its line.

use super::*;
use crate::report::{EventLog, RunObserver};

fn best(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}

fn wait(matched: Option<&str>, timed_out: bool) -> ScreenWait {
    ScreenWait {
        step: 3,
        screens: vec!["language".into(), "shell".into()],
        matched: matched.map(str::to_owned),
        similarity: if timed_out { 0.5 } else { 0.996 },
        best: timed_out.then(|| best(&[("language", 0.5), ("shell", 0.25)])),
        duration_s: 10.0,
    }
}

/// Every kind (both shapes of those with two), with the event the string-keyed builders
/// made for it before the kinds existed (copied from the producers of that time).
fn every_kind() -> Vec<(f64, EventKind, Event)> {
    [
        run_kinds(),
        record_kinds(),
        screen_kinds(),
        wait_kinds(),
        mouse_kinds(),
        click_kinds(),
    ]
    .concat()
}

/// The run, keys and text.
fn run_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    vec![
        (
            0.0,
            EventKind::Start {
                harness: "debian-12".into(),
                attach: None,
            },
            old(0.0, "start")
                .with("harness", "debian-12")
                .with("attach", None::<String>),
        ),
        (
            0.0,
            EventKind::Start {
                harness: "desktop".into(),
                attach: Some("127.0.0.1:5901".into()),
            },
            old(0.0, "start")
                .with("harness", "desktop")
                .with("attach", Some("127.0.0.1:5901".to_string())),
        ),
        (1.5, EventKind::GuestReady, old(1.5, "guest_ready")),
        (
            30.0,
            EventKind::End {
                status: Status::Fail,
                reason: "screen x did not appear".into(),
            },
            old(30.0, "end")
                .with("status", "fail")
                .with("reason", "screen x did not appear"),
        ),
        (
            2.0,
            EventKind::Key {
                step: 1,
                key: "ctrl-alt-f2".into(),
            },
            old(2.0, "key").with("step", 1).with("key", "ctrl-alt-f2"),
        ),
        (
            2.25,
            EventKind::Type {
                step: 2,
                text: "root\n".into(),
                duration_s: 0.125,
            },
            old(2.25, "type")
                .with("step", 2)
                .with("text", "root\n")
                .with("duration_s", 0.125),
        ),
        (
            2.5,
            EventKind::TypeSecret {
                step: 2,
                text: "<secret>".into(),
                duration_s: 0.0625,
            },
            old(2.5, "type_secret")
                .with("step", 2)
                .with("text", "<secret>")
                .with("duration_s", 0.0625),
        ),
    ]
}

/// Screenshots, snapshots, log lines and failures.
fn record_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    vec![
        (
            3.0,
            EventKind::Screenshot {
                step: 4,
                label: "after boot".into(),
                file: "screenshots/001-after_boot.png".into(),
            },
            old(3.0, "screenshot")
                .with("step", 4)
                .with("label", "after boot")
                .with("file", "screenshots/001-after_boot.png"),
        ),
        (
            4.0,
            EventKind::Snapshot {
                step: 5,
                name: "base".into(),
                duration_s: 1.5,
            },
            old(4.0, "snapshot")
                .with("step", 5)
                .with("name", "base")
                .with("duration_s", 1.5),
        ),
        (
            4.5,
            EventKind::Revert {
                step: 6,
                name: "base".into(),
                duration_s: 0.5,
            },
            old(4.5, "revert")
                .with("step", 6)
                .with("name", "base")
                .with("duration_s", 0.5),
        ),
        (
            5.0,
            EventKind::Log {
                step: 7,
                message: "partitioning".into(),
            },
            old(5.0, "log")
                .with("step", 7)
                .with("message", "partitioning"),
        ),
        (
            5.5,
            EventKind::Fail {
                message: "no network".into(),
            },
            old(5.5, "fail").with("message", "no network"),
        ),
        (
            5.75,
            EventKind::Print {
                message: "hello".into(),
            },
            old(5.75, "print").with("message", "hello"),
        ),
        (
            6.0,
            EventKind::Debug {
                message: "x = 1".into(),
                line: 12,
            },
            old(6.0, "debug").with("message", "x = 1").with("line", 12),
        ),
    ]
}

/// Waits for screens.
fn screen_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    vec![
        (
            7.0,
            EventKind::WaitScreen(wait(Some("language"), false)),
            old(7.0, "wait_screen")
                .with("step", 3)
                .with("screens", vec!["language", "shell"])
                .with("matched", "language")
                .with("similarity", 0.996)
                .with("duration_s", 10.0),
        ),
        (
            12.5,
            EventKind::WaitScreen(wait(None, true)),
            old(12.5, "wait_screen")
                .with("step", 3)
                .with("screens", vec!["language", "shell"])
                .with("matched", Value::Null)
                .with("similarity", 0.5)
                .with("best", serde_json::json!({"language": 0.5, "shell": 0.25}))
                .with("duration_s", 10.0),
        ),
        (
            13.0,
            EventKind::CheckScreen(wait(None, true)),
            old(13.0, "check_screen")
                .with("step", 3)
                .with("screens", vec!["language", "shell"])
                .with("matched", Value::Null)
                .with("similarity", 0.5)
                .with("best", serde_json::json!({"language": 0.5, "shell": 0.25}))
                .with("duration_s", 10.0),
        ),
        (
            14.0,
            EventKind::ClickScreen {
                step: 8,
                screen: "ok".into(),
                matched: Some("ok".into()),
                similarity: 0.98,
                best: None,
                x: Some(400),
                y: Some(300),
                duration_s: 0.25,
            },
            old(14.0, "click_screen")
                .with("step", 8)
                .with("screen", "ok")
                .with("matched", "ok")
                .with("similarity", 0.98)
                .with("x", 400)
                .with("y", 300)
                .with("duration_s", 0.25),
        ),
        (
            15.0,
            EventKind::ClickScreen {
                step: 8,
                screen: "ok".into(),
                matched: None,
                similarity: 0.75,
                best: Some(best(&[("ok", 0.75)])),
                x: None,
                y: None,
                duration_s: 5.0,
            },
            old(15.0, "click_screen")
                .with("step", 8)
                .with("screen", "ok")
                .with("matched", Value::Null)
                .with("similarity", 0.75)
                .with("best", serde_json::json!({"ok": 0.75}))
                .with("duration_s", 5.0),
        ),
    ]
}

/// Waits for stillness, change and the serial console.
fn wait_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    vec![
        (
            16.0,
            EventKind::WaitStill {
                step: 4,
                outcome: Stillness::Still {
                    still_s: 2.0,
                    ignored: 1,
                    min_change: 40,
                },
                duration_s: 2.5,
            },
            old(16.0, "wait_still")
                .with("step", 4)
                .with("still_s", 2.0)
                .with("ignored", 1_usize)
                .with("min_change", 40_u64)
                .with("duration_s", 2.5),
        ),
        (
            17.0,
            EventKind::WaitStill {
                step: 4,
                outcome: Stillness::NotStill { still: false },
                duration_s: 60.0,
            },
            old(17.0, "wait_still")
                .with("step", 4)
                .with("still", false)
                .with("duration_s", 60.0),
        ),
        (
            18.0,
            EventKind::WaitChange {
                step: 5,
                changed: true,
                duration_s: 0.5,
            },
            old(18.0, "wait_change")
                .with("step", 5)
                .with("changed", true)
                .with("duration_s", 0.5),
        ),
        (
            19.0,
            EventKind::WaitSerial {
                step: 6,
                pattern: "login:".into(),
                matched: Some("debian login:".into()),
                duration_s: 3.0,
            },
            old(19.0, "wait_serial")
                .with("step", 6)
                .with("pattern", "login:")
                .with("duration_s", 3.0)
                .with("matched", "debian login:"),
        ),
        (
            20.0,
            EventKind::WaitSerial {
                step: 6,
                pattern: "login:".into(),
                matched: None,
                duration_s: 30.0,
            },
            old(20.0, "wait_serial")
                .with("step", 6)
                .with("pattern", "login:")
                .with("duration_s", 30.0)
                .with("matched", Value::Null),
        ),
    ]
}

/// Mouse moves and their errors.
fn mouse_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    let mouse_move = MouseMove {
        step: 7,
        call: "click(10, 20)".into(),
        from: (0, 0),
        target: (10, 20),
        at: (10, 20),
        distance: 22.5,
        rounds: 3,
        error_px: None,
        mode: "relative".into(),
        probe_moves: 2,
        duration_s: 0.75,
    };
    vec![
        (
            21.0,
            EventKind::MouseMove(mouse_move),
            old(21.0, "mouse_move")
                .with("step", 7)
                .with("call", "click(10, 20)")
                .with("from", vec![0, 0])
                .with("target", vec![10, 20])
                .with("at", vec![10, 20])
                .with("distance", 22.5)
                .with("rounds", 3)
                .with("error_px", None::<u32>)
                .with("mode", "relative")
                .with("probe_moves", 2)
                .with("duration_s", 0.75),
        ),
        (
            22.0,
            EventKind::MouseError {
                step: 7,
                call: "mouse_move(10, 20)".into(),
                error: "the pointer does not move".into(),
                screenshot: Some("screenshots/002-mouse-failure.png".into()),
            },
            old(22.0, "mouse_error")
                .with("step", 7)
                .with("call", "mouse_move(10, 20)")
                .with("error", "the pointer does not move")
                .with("screenshot", "screenshots/002-mouse-failure.png"),
        ),
        (
            22.5,
            EventKind::MouseError {
                step: 7,
                call: "click(-1, 0)".into(),
                error: "outside the screen".into(),
                screenshot: None,
            },
            old(22.5, "mouse_error")
                .with("step", 7)
                .with("call", "click(-1, 0)")
                .with("error", "outside the screen"),
        ),
    ]
}

/// Clicks, drags and hiding the pointer.
fn click_kinds() -> Vec<(f64, EventKind, Event)> {
    let old = Event::new;
    let click = Click {
        step: 9,
        x: 10,
        y: 20,
        button: "right".into(),
        clicks: 1,
    };
    vec![
        (
            23.0,
            EventKind::Click(click.clone()),
            old(23.0, "click")
                .with("step", 9)
                .with("x", 10)
                .with("y", 20)
                .with("button", "right")
                .with("clicks", 1),
        ),
        (
            23.5,
            EventKind::DoubleClick(Click {
                button: "left".into(),
                clicks: 2,
                ..click
            }),
            old(23.5, "double_click")
                .with("step", 9)
                .with("x", 10)
                .with("y", 20)
                .with("button", "left")
                .with("clicks", 2),
        ),
        (
            24.0,
            EventKind::Drag {
                step: 10,
                from: (1, 2),
                to: (3, 4),
            },
            old(24.0, "drag")
                .with("step", 10)
                .with("from", vec![1, 2])
                .with("to", vec![3, 4]),
        ),
        (
            25.0,
            EventKind::MouseHide { step: 11 },
            old(25.0, "mouse_hide").with("step", 11),
        ),
    ]
}

const VARIANTS: usize = EventKind::ACTIONS.len();

fn variant(kind: &EventKind) -> usize {
    use EventKind::*;
    match kind {
        Start { .. } => 0,
        GuestReady => 1,
        End { .. } => 2,
        Key { .. } => 3,
        Type { .. } => 4,
        TypeSecret { .. } => 5,
        Screenshot { .. } => 6,
        Snapshot { .. } => 7,
        Revert { .. } => 8,
        Log { .. } => 9,
        Fail { .. } => 10,
        Print { .. } => 11,
        Debug { .. } => 12,
        WaitScreen(_) => 13,
        CheckScreen(_) => 14,
        ClickScreen { .. } => 15,
        WaitStill { .. } => 16,
        WaitChange { .. } => 17,
        WaitSerial { .. } => 18,
        MouseMove(_) => 19,
        MouseError { .. } => 20,
        Click(_) => 21,
        DoubleClick(_) => 22,
        Drag { .. } => 23,
        MouseHide { .. } => 24,
    }
}

#[test]
fn every_kind_is_written_as_before_and_read_back_from_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::create(dir.path()).unwrap();
    let kinds = every_kind();
    for (t, kind, _) in &kinds {
        log.event(&kind.at(*t));
    }
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), kinds.len(), "{text}");
    let mut actions = std::collections::BTreeSet::new();
    for ((t, kind, old), line) in kinds.iter().zip(&lines) {
        assert_eq!(*line, serde_json::to_string(old).unwrap(), "{kind:?}");
        let event: Event = serde_json::from_str(line).unwrap();
        assert_eq!(event.t, *t, "{line}");
        assert_eq!(&event.kind().unwrap(), kind, "{line}");
        actions.insert(event.action);
    }
    // Every variant is covered: `variant` has no wildcard, so a new kind must be added there
    // (and so here).
    let covered: std::collections::BTreeSet<usize> =
        kinds.iter().map(|(_, k, _)| variant(k)).collect();
    assert_eq!(covered, (0..VARIANTS).collect(), "{actions:?}");
    assert_eq!(
        actions,
        EventKind::ACTIONS.iter().map(|a| a.to_string()).collect()
    );
    for (t, kind, _) in &kinds {
        assert_eq!(kind.at(*t).action, EventKind::ACTIONS[variant(kind)]);
    }
}

#[test]
fn lines_on_disk_are_unchanged() {
    let line = |kind: EventKind, t: f64| serde_json::to_string(&kind.at(t)).unwrap();
    let start = EventKind::Start {
        harness: "debian-12".into(),
        attach: None,
    };
    assert_eq!(
        line(start, 0.0),
        r#"{"t":0.0,"action":"start","attach":null,"harness":"debian-12"}"#
    );
    assert_eq!(
        line(EventKind::GuestReady, 1.5),
        r#"{"t":1.5,"action":"guest_ready"}"#
    );
    assert_eq!(
        line(EventKind::WaitScreen(wait(None, true)), 12.5),
        r#"{"t":12.5,"action":"wait_screen","best":{"language":0.5,"shell":0.25},"duration_s":10.0,"matched":null,"screens":["language","shell"],"similarity":0.5,"step":3}"#
    );
    let still = EventKind::WaitStill {
        step: 4,
        outcome: Stillness::Still {
            still_s: 2.0,
            ignored: 1,
            min_change: 40,
        },
        duration_s: 2.5,
    };
    assert_eq!(
        line(still, 16.0),
        r#"{"t":16.0,"action":"wait_still","duration_s":2.5,"ignored":1,"min_change":40,"step":4,"still_s":2.0}"#
    );
    let end = EventKind::End {
        status: Status::Pass,
        reason: String::new(),
    };
    assert_eq!(
        line(end, 30.0),
        r#"{"t":30.0,"action":"end","reason":"","status":"pass"}"#
    );
    let drag = EventKind::Drag {
        step: 10,
        from: (1, 2),
        to: (3, 4),
    };
    assert_eq!(
        line(drag, 24.0),
        r#"{"t":24.0,"action":"drag","from":[1,2],"step":10,"to":[3,4]}"#
    );
}

#[test]
fn an_event_that_does_not_fit_is_named() {
    let missing = Event::new(3.0, "wait_screen").with("step", 1);
    let err = missing.kind().unwrap_err().to_string();
    assert!(
        err.contains("\"wait_screen\"") && err.contains("screens"),
        "{err}"
    );
    let unknown = Event::new(4.0, "frobnicate");
    let err = unknown.kind().unwrap_err().to_string();
    assert!(err.contains("frobnicate") && err.contains("t = 4"), "{err}");
}
