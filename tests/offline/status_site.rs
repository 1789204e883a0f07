//! `vncpilot report` over three synthetic nights whose attempt folders are real runs (a failing
//! and a passing `vncpilot run` on a real Xvnc desktop): the matrix, the history (strip, failing
//! since, last pass, flake rate, duration trend), the night-over-night diff, known-issue labels
//! (from cell.json and from `--known`), escaping of hostile reasons, every relative link of the
//! static tree resolving, `--nights`; and the merge of shards equals the unsharded report.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use common::nightly::{self, CellSpec, NIGHTS};

fn status_json(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("status.json")).unwrap()).unwrap()
}

/// The `<tr class="history" data-cell="NAME">` row of index.html.
fn history_row<'a>(index: &'a str, name: &str) -> &'a str {
    let start = index
        .find(&format!("<tr class=\"history\" data-cell=\"{name}\">"))
        .unwrap_or_else(|| panic!("no history row for {name}"));
    let rest = &index[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// The text of the first element with `class` inside `html`.
fn cell_text<'a>(html: &'a str, class: &str) -> &'a str {
    let start = html.find(&format!("class=\"{class}\">")).unwrap() + class.len() + 9;
    &html[start..start + html[start..].find('<').unwrap()]
}

/// Every relative link of every HTML file under `out` names a file that exists.
fn assert_links_resolve(out: &Path) -> usize {
    let mut checked = 0;
    for file in nightly::files_under(out) {
        if file.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let page = out.join(&file);
        let html = std::fs::read_to_string(&page).unwrap();
        for link in nightly::relative_links(&html) {
            let target = page.parent().unwrap().join(nightly::percent_decode(&link));
            assert!(
                target.is_file(),
                "{}: link {link:?} resolves to nothing",
                file.display()
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn three_nights_show_history_labels_and_every_link_resolves() {
    let real = nightly::real_attempts();
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("nightly");
    for spec in nightly::three_nights(&real) {
        nightly::write_cell(&results, &spec);
    }
    let known = tmp.path().join("known.toml");
    std::fs::write(&known, nightly::KNOWN_ISSUES).unwrap();
    let out = tmp.path().join("site");
    let (code, text) = nightly::report(&[
        results.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--known"),
        known.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("15 cell(s) over 3 night(s) (2026-12-01 … 2026-12-03)"),
        "{text}"
    );

    // status.json: every cell of every night, with the labels.
    let status = status_json(&out);
    assert_eq!(status["nights"], serde_json::json!(NIGHTS));
    let cells = status["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 15);
    let find = |night: &str, name: &str| -> &Value {
        cells
            .iter()
            .find(|c| {
                c["night"] == night
                    && format!(
                        "{}/{}",
                        c["harness"].as_str().unwrap(),
                        c["variant"].as_str().unwrap()
                    ) == name
            })
            .unwrap_or_else(|| panic!("{night} {name}"))
    };
    let bios = find(NIGHTS[2], "debian-12/bios-std");
    assert_eq!(bios["status"], "fail");
    assert_eq!(bios["results"], "2026-12-03/debian-12/bios-std");
    assert_eq!(
        bios["label"]["label"], "bug 77: language screen renamed",
        "--known labels it"
    );
    assert_eq!(
        find(NIGHTS[2], "debian-12/bios-virtio")["label"]["label"],
        "bug 123: mirror flaky"
    );
    assert!(
        find(NIGHTS[0], "debian-12/bios-std")["label"].is_null(),
        "a pass is never labelled"
    );
    assert_eq!(
        find(NIGHTS[0], "debian-12-gtk/bios-std")["label"]["label"],
        "bug 77: language screen renamed",
        "the cell's reason differs, its attempt's evidence matches"
    );
    assert_eq!(find(NIGHTS[1], "debian-12/uefi-std")["status"], "flaky");

    // The matrix of the latest night.
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        index.contains("<td class=\"cell fail\" data-cell=\"debian-12/bios-std\""),
        "{index}"
    );
    assert!(index.contains("<td class=\"cell skip\" data-cell=\"debian-12-arm64/uefi\""));
    assert!(index.contains("<td class=\"cell pass\" data-cell=\"debian-12-gtk/bios-std\""));
    assert!(index.contains("href=\"2026-12-03/debian-12/bios-virtio/index.html\"><b>fail</b><br><span class=\"dur\">30.0 s</span><br><span class=\"label\">bug 123: mirror flaky</span>"));
    // History.
    let row = history_row(&index, "debian-12/bios-std");
    assert_eq!(cell_text(row, "failing-since"), "2026-12-02");
    assert_eq!(cell_text(row, "last-pass"), "2026-12-01");
    assert_eq!(
        row.matches("<a class=\"").count(),
        4,
        "three nights and a label link: {row}"
    );
    let row = history_row(&index, "debian-12/uefi-std");
    assert_eq!(cell_text(row, "failing-since"), "—");
    assert_eq!(cell_text(row, "last-pass"), "2026-12-03");
    assert_eq!(cell_text(row, "flake-rate"), "33% (1 of 3)");
    assert!(
        row.contains("+18% (2 min 10 s vs median 1 min 50 s)"),
        "{row}"
    );
    let row = history_row(&index, "debian-12-arm64/uefi");
    assert_eq!(cell_text(row, "last-pass"), "never");
    assert_eq!(cell_text(row, "flake-rate"), "—");
    // The diff against the night before.
    let diff = &index[index.find("id=\"diff\"").unwrap()..];
    let item = |id: &str| {
        &diff[diff.find(&format!("id=\"{id}\"")).unwrap()..][..diff
            [diff.find(&format!("id=\"{id}\"")).unwrap()..]
            .find("</li>")
            .unwrap()]
    };
    assert!(
        item("newly-failing").contains(">debian-12/bios-virtio</a>")
            && !item("newly-failing").contains("bios-std"),
        "{diff}"
    );
    assert!(
        item("fixed").contains(">debian-12-gtk/bios-std</a>") && !item("fixed").contains("uefi"),
        "{diff}"
    );
    assert!(
        item("still-failing").contains(">debian-12/bios-std</a>"),
        "{diff}"
    );

    // The run page: the reason as text, the label, the macro line, both attempts, evidence.
    let page =
        std::fs::read_to_string(out.join("2026-12-03/debian-12/bios-std/index.html")).unwrap();
    assert!(
        !page.contains("<script>window.pwned") && !page.contains("<img src=x"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"));
    assert!(!index.contains("<script>window.pwned"));
    assert!(page.contains("href=\"https://bugs.example.org/77\""));
    assert!(
        page.contains(
            "wrong-installer/install.rhai:5:1</code> — step 5: <code>wait_screen language</code>"
        ),
        "{page}"
    );
    assert_eq!(page.matches("<tr class=\"attempt\">").count(), 2);
    assert_eq!(page.matches("href=\"attempt-1/report.html\"").count(), 1);
    assert_eq!(page.matches("href=\"attempt-2/report.html\"").count(), 1);
    assert!(page.contains("src=\"attempt-2/forensics/language-diff.png\""));
    assert!(page.contains(
        "<video id=\"video-2\" controls preload=\"metadata\" src=\"attempt-2/video.webm\">"
    ));
    assert!(
        page.matches("class=\"chapter\" data-video=\"video-1\"")
            .count()
            >= 4,
        "{page}"
    );
    // The copied attempt: its report.html, no lossless track, no local path.
    let attempt = out.join("2026-12-03/debian-12/bios-std/attempt-1");
    assert!(attempt.join("report.html").is_file() && attempt.join("video.webm").is_file());
    assert!(!attempt.join("video-lossless-0.mkv").exists());
    let report = std::fs::read_to_string(attempt.join("report.html")).unwrap();
    assert!(
        !report.contains(&results.display().to_string())
            && !report.contains(&out.display().to_string())
    );
    // Skipped cells have a page that says why.
    let skip =
        std::fs::read_to_string(out.join("2026-12-01/debian-12-arm64/uefi/index.html")).unwrap();
    assert!(skip.contains("media not installed: install debian-installer-12-netboot-arm64"));

    assert!(assert_links_resolve(&out) > 100);

    // --nights 2: the oldest night is left out, so bios-std never passed in the window.
    let out2 = tmp.path().join("site2");
    let (code, text) = nightly::report(&[
        results.as_os_str(),
        OsStr::new("--out"),
        out2.as_os_str(),
        OsStr::new("--nights"),
        OsStr::new("2"),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        status_json(&out2)["nights"],
        serde_json::json!(&NIGHTS[1..])
    );
    let index2 = std::fs::read_to_string(out2.join("index.html")).unwrap();
    assert_eq!(
        cell_text(history_row(&index2, "debian-12/bios-std"), "last-pass"),
        "never"
    );
    assert!(!out2.join(NIGHTS[0]).exists());
    assert!(
        status_json(&out2)["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["label"]["label"] != "bug 77: language screen renamed"),
        "no --known, no such label"
    );
}

#[test]
fn the_merge_of_shards_is_the_unsharded_report() {
    let real = nightly::real_attempts();
    let tmp = tempfile::tempdir().unwrap();
    let (all, shard1, shard2) = (
        tmp.path().join("all"),
        tmp.path().join("shard-1"),
        tmp.path().join("shard-2"),
    );
    for (i, spec) in nightly::three_nights(&real).iter().enumerate() {
        nightly::write_cell(&all, spec);
        nightly::write_cell(if i % 2 == 0 { &shard1 } else { &shard2 }, spec);
    }
    // A re-run of the latest night's uefi-std cell that started earlier than the real one: it loses.
    let stale = CellSpec {
        night: NIGHTS[2],
        harness: "debian-12",
        variant: "uefi-std",
        status: "fail",
        reason: "an older run of the same cell",
        duration_s: 5.0,
        started: format!("{}T00:00:00Z", NIGHTS[2]),
        label: None,
        attempts: vec![("fail", real.failed.as_path())],
    };
    let shard3 = tmp.path().join("shard-3");
    nightly::write_cell(&shard3, &stale);

    let (sharded, unsharded) = (tmp.path().join("sharded"), tmp.path().join("unsharded"));
    let (code, text) = nightly::report(&[
        shard1.as_os_str(),
        shard3.as_os_str(),
        shard2.as_os_str(),
        OsStr::new("--out"),
        sharded.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) =
        nightly::report(&[all.as_os_str(), OsStr::new("--out"), unsharded.as_os_str()]);
    assert_eq!(code, Some(0), "{text}");
    let files = nightly::files_under(&unsharded);
    assert_eq!(files, nightly::files_under(&sharded));
    assert!(files.len() > 100, "{}", files.len());
    for file in &files {
        assert!(
            std::fs::read(unsharded.join(file)).unwrap()
                == std::fs::read(sharded.join(file)).unwrap(),
            "{} differs between the merged shards and the unsharded report",
            file.display()
        );
    }
    assert_eq!(status_json(&sharded)["cells"].as_array().unwrap().len(), 15);
}

#[test]
fn bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cell = tmp.path().join("n/h/v");
    std::fs::create_dir_all(&cell).unwrap();
    std::fs::write(
        cell.join("cell.json"),
        "{\"harness\": \"h\",\n\"status\": 3}",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let (code, text) =
        nightly::report(&[tmp.path().as_os_str(), OsStr::new("--out"), out.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(text.contains("n/h/v/cell.json: line 2"), "{text}");
    let empty = tempfile::tempdir().unwrap();
    let (code, text) = nightly::report(&[
        empty.path().as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(text.contains("no cell.json under"), "{text}");
    let known = tmp.path().join("known.toml");
    std::fs::write(&known, "[[issue]]\nlabel = 1\n").unwrap();
    let (code, text) = nightly::report(&[
        tmp.path().as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--known"),
        known.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(text.contains("known.toml:2:"), "{text}");
}
