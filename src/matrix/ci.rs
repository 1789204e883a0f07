//! The whole night in the formats CI systems read: TAP 13 (`--tap`, on stdout) with one test per
//! cell, and JUnit XML (`--junit FILE`) with one testcase per cell (classname = harness, name =
//! variant). Flaky cells pass (TAP: `ok … # flaky`; JUnit: a `<system-out>` note); skipped
//! cells are TAP `# SKIP` and JUnit `<skipped>`; the exit code is [`exit_code`].

use super::record::{CellRecord, CellStatus};

/// The matrix exit code: 2 if any cell errored, else 1 if any failed, else 0 (pass, flaky and
/// skip do not fail a night; they are reported).
pub fn exit_code(records: &[CellRecord]) -> u8 {
    if records.iter().any(|r| r.status == CellStatus::Error) {
        2
    } else if records.iter().any(|r| r.status == CellStatus::Fail) {
        1
    } else {
        0
    }
}

pub fn tap(records: &[CellRecord]) -> String {
    let mut s = format!("TAP version 13\n1..{}\n", records.len());
    for (i, r) in records.iter().enumerate() {
        let n = i + 1;
        let name = r.name();
        match r.status {
            CellStatus::Pass => s.push_str(&format!("ok {n} - {name}\n")),
            CellStatus::Flaky => s.push_str(&format!("ok {n} - {name} # flaky\n")),
            CellStatus::Skip => {
                s.push_str(&format!("ok {n} - {name} # SKIP {}\n", one_line(&r.reason)))
            }
            CellStatus::Fail | CellStatus::Error => {
                s.push_str(&format!("not ok {n} - {name}\n  ---\n"));
                s.push_str(&format!("  status: {}\n", r.status.as_str()));
                s.push_str(&format!("  message: {:?}\n", r.reason));
                if let Some(label) = &r.label {
                    s.push_str(&format!("  known_issue: {:?}\n", label.label));
                }
                s.push_str(&format!("  duration_s: {:.1}\n  ...\n", r.duration_s));
            }
        }
    }
    s
}

pub fn junit(records: &[CellRecord]) -> String {
    let count = |st: CellStatus| records.iter().filter(|r| r.status == st).count();
    let total: f64 = records.iter().map(|r| r.duration_s).sum();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"vncpilot matrix\" \
         tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.1}\">\n",
        records.len(),
        count(CellStatus::Fail),
        count(CellStatus::Error),
        count(CellStatus::Skip),
    );
    for r in records {
        let message = xml_escape(&r.reason);
        let body = match r.status {
            CellStatus::Pass => String::new(),
            CellStatus::Flaky => format!("<system-out>flaky: {message}</system-out>"),
            CellStatus::Skip => format!("<skipped message=\"{message}\"/>"),
            CellStatus::Fail => format!("<failure message=\"{message}\"/>"),
            CellStatus::Error => format!("<error message=\"{message}\"/>"),
        };
        s.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.1}\">{body}</testcase>\n",
            xml_escape(&r.harness),
            xml_escape(&r.variant),
            r.duration_s
        ));
    }
    s.push_str("</testsuite>\n");
    s
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
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

    fn record(variant: &str, status: CellStatus) -> CellRecord {
        CellRecord {
            harness: "h".into(),
            variant: variant.into(),
            night: "2026-12-03".into(),
            status,
            reason: "screen <x> not seen".into(),
            duration_s: 1.0,
            started: "2026-12-03T01:02:03Z".into(),
            shard: None,
            matrix: "m.toml".into(),
            attempts: vec![],
            label: None,
        }
    }

    #[test]
    fn exit_codes_and_formats() {
        let mut rs = vec![
            record("a", CellStatus::Pass),
            record("b", CellStatus::Flaky),
            record("c", CellStatus::Skip),
        ];
        assert_eq!(exit_code(&rs), 0);
        rs.push(record("d", CellStatus::Fail));
        assert_eq!(exit_code(&rs), 1);
        rs.push(record("e", CellStatus::Error));
        assert_eq!(exit_code(&rs), 2);
        let tap = tap(&rs);
        assert!(
            tap.contains("1..5\nok 1 - h/a\nok 2 - h/b # flaky\nok 3 - h/c # SKIP"),
            "{tap}"
        );
        assert!(
            tap.contains("not ok 4 - h/d") && tap.contains("not ok 5 - h/e"),
            "{tap}"
        );
        let junit = junit(&rs);
        assert!(
            junit.contains("tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\""),
            "{junit}"
        );
        assert!(junit.contains("&lt;x&gt;"), "{junit}");
    }
}
