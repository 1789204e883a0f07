//! The run page of one cell of one night (`OUT/<night>/<harness>/<variant>/index.html`): why it
//! ended as it did, the macro line, every attempt with its `report.html`, and for each attempt its
//! evidence — the awaited screen's reference, actual and diff, the video with the steps as
//! chapters (click one and the video jumps there; without scripts the link opens the video at that
//! time), the serial log tail and the registers.
//!
//! Static HTML: every value from a run goes through [`markup::text`]; the only script makes the
//! chapters seek and highlights the current one.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::SiteError;
use super::cell::Cell;
use super::markup::{self, href, text};
use super::publish::{PublishedAttempt, cell_dir};
use crate::report::Status;
use crate::report::html::ReportData;

pub const FILE_NAME: &str = "index.html";

/// Writes the page into the cell's folder of the site.
pub fn write(out: &Path, cell: &Cell, attempts: &[PublishedAttempt]) -> Result<(), SiteError> {
    let path = cell_dir(out, cell).join(FILE_NAME);
    std::fs::write(&path, render(cell, attempts)).map_err(SiteError::io(&path))
}

/// `install.rhai:3:1` out of a reason (the engine starts failure reasons with the macro's place).
pub fn macro_line(reason: &str) -> Option<&str> {
    static PLACE: OnceLock<Regex> = OnceLock::new();
    let place = PLACE.get_or_init(|| Regex::new(r"[^\s:]+\.rhai:\d+(:\d+)?").expect("a regex"));
    place.find(reason).map(|m| m.as_str())
}

/// What a step did, from its event, as report.html says it.
fn describe(event: &Value) -> String {
    let mut what = vec![event["action"].as_str().unwrap_or("?").to_owned()];
    for key in ["screen", "key", "message"] {
        if let Some(v) = event[key].as_str() {
            what.push(v.to_owned());
        }
    }
    if let Some(screens) = event["screens"].as_array() {
        let names: Vec<&str> = screens.iter().filter_map(Value::as_str).collect();
        what.push(names.join(" | "));
    }
    if let Some(t) = event["text"].as_str() {
        what.push(format!("{t:?}"));
    }
    what.join(" ")
}

/// The last step the macro was on (the one that failed, when it failed).
fn last_step(data: &ReportData) -> Option<&Value> {
    data.events.iter().rev().find(|e| e.get("step").is_some())
}

/// A relative path inside an attempt (`forensics/x-diff.png`) as an href from the cell's page.
fn attempt_href(attempt: &PublishedAttempt, file: &str) -> String {
    let segments: Vec<&str> = attempt
        .attempt
        .results
        .split('/')
        .chain(file.split('/'))
        .filter(|s| !s.is_empty())
        .collect();
    href(&segments)
}

pub fn render(cell: &Cell, attempts: &[PublishedAttempt]) -> String {
    let r = &cell.record;
    let status = r.status.as_str();
    let mut body = String::new();
    body.push_str(&summary_section(cell, attempts));
    body.push_str(&attempts_section(attempts));
    for (k, attempt) in attempts.iter().enumerate() {
        if let Some(data) = &attempt.data {
            body.push_str(&evidence_section(k, attempt, data));
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name} {night}: {status}</title>\n<style>{style}</style>\n</head>\n<body>\n\
         <header><h1><a href=\"../../../index.html\">vncpilot status</a></h1>\
         <span id=\"cell\">{name}</span><span id=\"night\">{night}</span>\
         <span id=\"status\" class=\"badge {status}\">{status}</span>\
         <span class=\"dur\">{duration}</span></header>\n<main>\n{body}</main>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        name = text(&cell.name()),
        night = text(&r.night),
        style = markup::STYLE,
        duration = text(&markup::duration(r.duration_s)),
    )
}

fn summary_section(cell: &Cell, attempts: &[PublishedAttempt]) -> String {
    let r = &cell.record;
    let mut s = String::from("<section id=\"summary\"><h2>Why</h2>\n");
    let reason = if r.reason.is_empty() {
        "(no reason given)"
    } else {
        &r.reason
    };
    s.push_str(&format!("<p id=\"reason\">{}</p>\n", text(reason)));
    if let Some(label) = &r.label {
        let shown = format!("known issue: {}", text(&label.label));
        let linked = match &label.link {
            Some(link) => markup::outside_link(link, &shown),
            None => shown,
        };
        s.push_str(&format!("<p id=\"label\" class=\"label\">{linked}</p>\n"));
    }
    let telling = cell.telling_attempt().and_then(|k| attempts.get(k));
    let reason_with_place = telling.map_or(r.reason.as_str(), |a| a.attempt.reason.as_str());
    if let Some(place) = macro_line(reason_with_place).or_else(|| macro_line(&r.reason)) {
        let step = telling
            .and_then(|a| a.data.as_ref())
            .and_then(last_step)
            .map(|e| {
                format!(
                    " — step {}: <code>{}</code>",
                    text(&e["step"].to_string()),
                    text(&describe(e))
                )
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "<p>Macro line: <code id=\"macro-line\">{}</code>{step}</p>\n",
            text(place)
        ));
    }
    let mut facts = vec![format!("started {}", text(&r.started))];
    if let Some(shard) = &r.shard {
        facts.push(format!("shard {}", text(shard)));
    }
    if !r.matrix.is_empty() {
        facts.push(format!("matrix <code>{}</code>", text(&r.matrix)));
    }
    s.push_str(&format!(
        "<p class=\"muted\">{}</p>\n</section>\n",
        facts.join(" · ")
    ));
    s
}

fn attempts_section(attempts: &[PublishedAttempt]) -> String {
    if attempts.is_empty() {
        return "<section id=\"attempts\"><h2>Attempts</h2><p>None: the cell did not run.</p></section>\n".into();
    }
    let mut s = String::from(
        "<section id=\"attempts\"><h2>Attempts</h2>\n<table>\n<tr><th>#</th><th>status</th><th>duration</th><th>reason</th><th>evidence</th></tr>\n",
    );
    for (k, a) in attempts.iter().enumerate() {
        let status = a.attempt.status.as_str();
        let links = match (&a.data, &a.problem) {
            (Some(_), _) => format!(
                "<a class=\"report\" href=\"{}\">report.html</a>{}",
                attempt_href(a, crate::report::html::FILE_NAME),
                if a.data.as_ref().is_some_and(|d| d.video.is_some()) {
                    format!(" · <a href=\"#attempt-{}\">evidence below</a>", k + 1)
                } else {
                    String::new()
                }
            ),
            (None, Some(problem)) => format!("<span class=\"muted\">{}</span>", text(problem)),
            (None, None) => String::new(),
        };
        s.push_str(&format!(
            "<tr class=\"attempt\"><td>{}</td><td class=\"{status}\">{status}</td><td>{}</td><td>{}</td><td>{links}</td></tr>\n",
            k + 1,
            text(&markup::duration(a.attempt.duration_s)),
            text(&a.attempt.reason),
        ));
    }
    s.push_str("</table>\n</section>\n");
    s
}

fn evidence_section(k: usize, attempt: &PublishedAttempt, data: &ReportData) -> String {
    let n = k + 1;
    let status = attempt.attempt.status.as_str();
    let mut s = format!(
        "<section class=\"evidence\" id=\"attempt-{n}\"><h2>Attempt {n}: <span class=\"badge {status}\">{status}</span></h2>\n"
    );
    let mut figures = Vec::new();
    if let Some(f) = &data.forensics {
        if let Some(a) = &f.awaited {
            s.push_str(&format!(
                "<p>Awaited screen <b>{}</b>: similarity {:.3}, {} pixels differ{}.</p>\n",
                text(&a.screen),
                a.similarity,
                a.mismatching_pixels,
                match (a.best_similarity, a.best_at_s) {
                    (Some(best), Some(at)) => format!(
                        "; best {best:.3} at <a class=\"chapter\" data-video=\"video-{n}\" data-t=\"{at:.3}\" href=\"{}#t={at:.3}\">{}</a>",
                        data.video.as_deref().map(|v| attempt_href(attempt, v)).unwrap_or_default(),
                        markup::video_time(at)
                    ),
                    _ => String::new(),
                }
            ));
            figures.push((a.reference_png.clone(), "reference"));
            figures.push((a.actual_png.clone(), "actual"));
            figures.push((a.diff_png.clone(), "diff (red: differs; outlines: regions)"));
            if let Some(best) = &a.best_png {
                figures.push((best.clone(), "best match seen"));
            }
        }
        if let Some(png) = &f.final_png {
            figures.push((png.clone(), "final screen"));
        }
        if let Some(png) = &f.qemu_screendump {
            figures.push((png.clone(), "QEMU screendump"));
        }
    }
    if !figures.is_empty() {
        s.push_str("<div class=\"images\">\n");
        for (file, caption) in figures {
            let src = attempt_href(attempt, &file);
            s.push_str(&format!(
                "<figure><a href=\"{src}\"><img src=\"{src}\" alt=\"{caption}\"></a><figcaption>{caption}</figcaption></figure>\n"
            ));
        }
        s.push_str("</div>\n");
    }
    if let Some(video) = &data.video {
        let src = attempt_href(attempt, video);
        s.push_str(&format!(
            "<h3>Video</h3>\n<video id=\"video-{n}\" controls preload=\"metadata\" src=\"{src}\"></video>\n<h3>Steps</h3>\n<ol class=\"chapters\" data-video=\"video-{n}\">\n"
        ));
        for (start, _, caption) in &data.cues {
            s.push_str(&format!(
                "<li><a class=\"chapter\" data-video=\"video-{n}\" data-t=\"{start:.3}\" href=\"{src}#t={start:.3}\">{} {}</a></li>\n",
                markup::video_time(*start),
                text(caption)
            ));
        }
        s.push_str("</ol>\n");
    } else if attempt.attempt.status != Status::Pass {
        s.push_str("<p class=\"muted\">No video in this attempt.</p>\n");
    }
    if let Some(serial) = &data.serial_tail {
        s.push_str(&format!(
            "<h3>Serial log (tail)</h3>\n<pre class=\"serial\">{}</pre>\n",
            text(serial)
        ));
    }
    if let Some(registers) = &data.registers {
        s.push_str(&format!(
            "<h3>Registers</h3>\n<pre class=\"registers\">{}</pre>\n",
            text(registers)
        ));
    }
    s.push_str("</section>\n");
    s
}

/// Chapters seek their video; the chapter being played is highlighted.
const SCRIPT: &str = r#"
"use strict";
const chapters = [...document.querySelectorAll("a.chapter")];
for (const a of chapters) {
  a.addEventListener("click", (ev) => {
    const video = document.getElementById(a.dataset.video);
    if (!video) return;
    ev.preventDefault();
    video.currentTime = Number(a.dataset.t);
    video.scrollIntoView({block: "nearest"});
  });
}
for (const video of document.querySelectorAll("video")) {
  const mine = chapters.filter((a) => a.dataset.video === video.id && a.closest("ol"));
  const mark = () => {
    let current = null;
    for (const a of mine) if (Number(a.dataset.t) <= video.currentTime + 0.05) current = a;
    for (const a of mine) a.classList.toggle("current", a === current);
  };
  video.addEventListener("timeupdate", mark);
  video.addEventListener("seeked", mark);
}
window.vncpilotSite = { ready: true, chapters: chapters.length };
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_macro_line_is_found_in_a_reason() {
        assert_eq!(
            macro_line("h1/install.rhai:3:1: screen language did not appear within 3 s"),
            Some("h1/install.rhai:3:1")
        );
        assert_eq!(macro_line("guest did not start: qemu exited"), None);
    }

    #[test]
    fn serial_tail_registers_and_steps_are_shown_as_text() {
        use crate::site::cell::{Attempt, CellRecord, CellStatus};
        let cell = Cell {
            record: CellRecord {
                harness: "h".into(),
                variant: "v w".into(),
                night: "n".into(),
                status: CellStatus::Error,
                reason: "h/install.rhai:2:3: <b>boom</b>".into(),
                duration_s: 2.0,
                started: "2026-12-03T00:00:00Z".into(),
                shard: Some("1/4".into()),
                matrix: String::new(),
                attempts: Vec::new(),
                label: None,
            },
            dir: "unused".into(),
        };
        let data = ReportData {
            run: "h/v w/attempt 1".into(),
            result: None,
            events: vec![serde_json::json!({"t": 1.0, "action": "key", "key": "<ret>", "step": 2})],
            cues: vec![(1.0, 2.0, "key <ret>".into())],
            video: Some("video.webm".into()),
            duration_s: Some(2.0),
            forensics: None,
            serial_tail: Some("login: <root>\n".into()),
            registers: Some("RAX=0 & RBX=1".into()),
        };
        let attempt = PublishedAttempt {
            attempt: Attempt {
                status: Status::Error,
                reason: cell.record.reason.clone(),
                duration_s: 2.0,
                results: "attempt 1".into(),
            },
            data: Some(data),
            problem: None,
        };
        let mut cell = cell;
        cell.record.attempts.push(attempt.attempt.clone());
        let page = render(&cell, std::slice::from_ref(&attempt));
        assert!(
            !page.contains("<b>boom") && page.contains("&lt;b&gt;boom&lt;/b&gt;"),
            "{page}"
        );
        assert!(
            page.contains("<pre class=\"serial\">login: &lt;root&gt;\n</pre>"),
            "{page}"
        );
        assert!(
            page.contains("<pre class=\"registers\">RAX=0 &amp; RBX=1</pre>"),
            "{page}"
        );
        assert!(
            page.contains("— step 2: <code>key &lt;ret&gt;</code>"),
            "{page}"
        );
        assert!(
            page.contains("href=\"attempt%201/video.webm#t=1.000\">00:01.0 key &lt;ret&gt;</a>"),
            "{page}"
        );
        assert!(page.contains("href=\"attempt%201/report.html\""), "{page}");
        assert!(page.contains("shard 1/4"), "{page}");
    }
}
