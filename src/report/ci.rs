//! Results in the formats CI systems read: TAP (`--tap`, on stdout) and JUnit XML (`--junit FILE`).

use super::{RunResult, Status};

/// A one-test TAP 13 stream.
pub fn tap(result: &RunResult) -> String {
    let ok = if result.status == Status::Pass {
        "ok"
    } else {
        "not ok"
    };
    let mut s = format!("TAP version 13\n1..1\n{ok} 1 - {}\n", result.harness);
    if result.status != Status::Pass {
        s.push_str("  ---\n");
        s.push_str(&format!("  status: {}\n", result.status.as_str()));
        s.push_str(&format!("  message: {:?}\n", result.reason));
        s.push_str(&format!("  duration_s: {:.1}\n", result.duration_s));
        s.push_str("  ...\n");
    }
    s
}

/// A JUnit XML document with one test case.
pub fn junit(result: &RunResult) -> String {
    let name = xml_escape(&result.harness);
    let (failures, errors, body) = match result.status {
        Status::Pass => (0, 0, String::new()),
        Status::Fail => (
            1,
            0,
            format!("<failure message=\"{}\"/>", xml_escape(&result.reason)),
        ),
        Status::Error => (
            0,
            1,
            format!("<error message=\"{}\"/>", xml_escape(&result.reason)),
        ),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"vncpilot\" tests=\"1\" failures=\"{failures}\" errors=\"{errors}\" time=\"{t:.1}\">\n  <testcase classname=\"vncpilot\" name=\"{name}\" time=\"{t:.1}\">{body}</testcase>\n</testsuite>\n",
        t = result.duration_s
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Status) -> RunResult {
        RunResult {
            status,
            reason: "screen <language> not seen".into(),
            duration_s: 3.0,
            harness: "debian-12".into(),
            variables: Default::default(),
            version: "0".into(),
            started: "x".into(),
            screens: None,
            time_scale: 1.0,
            waits: Vec::new(),
        }
    }

    #[test]
    fn tap_and_junit_say_pass_fail_error() {
        assert!(tap(&result(Status::Pass)).contains("\nok 1 - debian-12"));
        assert!(tap(&result(Status::Fail)).contains("not ok 1 - debian-12"));
        let x = junit(&result(Status::Fail));
        assert!(
            x.contains("failures=\"1\"") && x.contains("&lt;language&gt;"),
            "{x}"
        );
        assert!(junit(&result(Status::Error)).contains("errors=\"1\""));
        assert!(!junit(&result(Status::Pass)).contains("<failure"));
    }
}
