//! `report.html`: one page to understand a run — the video, the event timeline (click an event
//! and the video seeks there), the failure's diff images, and the result.
//!
//! The page is a single self-contained file beside the run's files: the events, result,
//! subtitles and forensics summary are embedded as JSON (browsers refuse to fetch sibling files
//! from a `file://` page, but they do play a sibling video), and it works without a server.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::forensics::{self, ForensicsSummary};
use crate::record::manifest::Manifest;
use crate::record::{RecordError, subtitles};

pub const FILE_NAME: &str = "report.html";

/// Everything the page shows, read from a run directory.
#[derive(Debug, serde::Serialize)]
pub struct ReportData {
    pub run: String,
    pub result: Option<Value>,
    pub events: Vec<Value>,
    /// (start, end, text)
    pub cues: Vec<(f64, f64, String)>,
    pub video: Option<String>,
    pub duration_s: Option<f64>,
    pub forensics: Option<ForensicsSummary>,
    pub serial_tail: Option<String>,
    pub registers: Option<String>,
}

impl ReportData {
    /// Reads what there is; a missing piece is left out (a run killed early has no result.json),
    /// a malformed one is an error naming the file and line.
    pub fn read(run_dir: &Path) -> Result<ReportData, RecordError> {
        let result = read_json(&run_dir.join("result.json"))?;
        let events = read_events(&run_dir.join("events.jsonl"))?;
        let manifest = match Manifest::load(run_dir) {
            Ok(manifest) => Some(manifest),
            Err(RecordError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let video = manifest
            .as_ref()
            .and_then(|m| m.browser.as_ref())
            .map(|b| b.file.clone())
            .filter(|file| run_dir.join(file).is_file());
        let cues = match manifest.as_ref().and_then(|m| m.subtitles.clone()) {
            Some(file) if run_dir.join(&file).is_file() => {
                subtitles::read_cues(&run_dir.join(file))?
            }
            _ => Vec::new(),
        };
        let forensics = forensics::load(run_dir)?;
        let read_text = |name: Option<&String>| {
            name.and_then(|n| std::fs::read_to_string(run_dir.join(n)).ok())
        };
        let serial_tail = read_text(forensics.as_ref().and_then(|f| f.serial_tail.as_ref()));
        let registers = read_text(forensics.as_ref().and_then(|f| f.qemu_registers.as_ref()));
        let run = run_dir
            .canonicalize()
            .unwrap_or_else(|_| run_dir.to_owned())
            .display()
            .to_string();
        Ok(ReportData {
            run,
            result,
            events,
            cues,
            video,
            duration_s: manifest.map(|m| m.duration_s),
            forensics,
            serial_tail,
            registers,
        })
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, RecordError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RecordError::BadFile {
                path: path.to_owned(),
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RecordError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// `events.jsonl`: one JSON object per line; blank lines are allowed.
pub fn read_events(path: &Path) -> Result<Vec<Value>, RecordError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(RecordError::Io {
                path: path.to_owned(),
                source: e,
            });
        }
    };
    let mut events = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| RecordError::BadFile {
            path: path.to_owned(),
            message: format!("line {}: {message}", number + 1),
        };
        let value: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        if !value.get("t").is_some_and(Value::is_number) {
            return Err(bad(
                "expected an object with a number \"t\" (seconds since the start)".into(),
            ));
        }
        events.push(value);
    }
    Ok(events)
}

/// Writes `<run>/report.html` and returns its path.
pub fn write(run_dir: &Path) -> Result<PathBuf, RecordError> {
    let data = ReportData::read(run_dir)?;
    let path = run_dir.join(FILE_NAME);
    std::fs::write(&path, render(&data)).map_err(RecordError::io(&path))?;
    Ok(path)
}

/// The page. Data goes in as JSON inside a `<script type="application/json">`, with `<` escaped
/// so no value can close the script element; the page's script builds the DOM from it with
/// `textContent` (never `innerHTML`), so nothing from a run is ever interpreted as markup.
pub fn render(data: &ReportData) -> String {
    let json = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c");
    let status = data
        .result
        .as_ref()
        .and_then(|r| r.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let title = format!("vncpilot run — {}", escape(status));
    TEMPLATE
        .replace("{{TITLE}}", &title)
        .replace("{{DATA}}", &json)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f4f5; color: #18181b; }
  header { padding: 12px 20px; background: #18181b; color: #fafafa; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  .status { padding: 2px 10px; border-radius: 4px; font-weight: bold; text-transform: uppercase; }
  .status.pass { background: #16a34a; } .status.fail { background: #dc2626; } .status.error { background: #ea580c; } .status.unknown { background: #71717a; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  video { width: 100%; background: #000; border-radius: 4px; }
  #caption { min-height: 1.4em; font-family: monospace; margin-top: 6px; }
  #bar { position: relative; height: 22px; background: #e4e4e7; border-radius: 4px; margin: 8px 0; cursor: pointer; }
  #bar .mark { position: absolute; top: 3px; width: 3px; height: 16px; background: #2563eb; }
  #bar .mark.bad { background: #dc2626; }
  #bar #playhead { position: absolute; top: 0; width: 2px; height: 22px; background: #18181b; }
  #timeline { list-style: none; margin: 0; padding: 0; max-height: 520px; overflow: auto; }
  #timeline li { padding: 4px 6px; border-bottom: 1px solid #e4e4e7; cursor: pointer; display: grid; grid-template-columns: 70px 1fr auto; gap: 8px; }
  #timeline li:hover { background: #eff6ff; }
  #timeline li.current { background: #dbeafe; }
  #timeline li.bad .what { color: #b91c1c; }
  #timeline .t { font-family: monospace; color: #52525b; }
  #timeline .sim { font-family: monospace; color: #52525b; }
  .images { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 10px; }
  .images figure { margin: 0; } .images img { width: 100%; border: 1px solid #d4d4d8; }
  pre { background: #18181b; color: #e4e4e7; padding: 8px; overflow: auto; max-height: 320px; font-size: 12px; }
  .wide { grid-column: 1 / -1; }
  a.seek { color: #2563eb; cursor: pointer; text-decoration: underline; }
</style>
</head>
<body>
<header><h1>vncpilot</h1><span id="status" class="status unknown">unknown</span><span id="summary"></span></header>
<main>
  <section>
    <h2>Video</h2>
    <div id="player"></div>
    <div id="caption"></div>
    <div id="bar" title="click to seek"><div id="playhead"></div></div>
  </section>
  <section>
    <h2>Events</h2>
    <ol id="timeline"></ol>
  </section>
  <section class="wide" id="failure" hidden>
    <h2>Failure</h2>
    <p id="failure-text"></p>
    <div class="images" id="failure-images"></div>
  </section>
  <section class="wide">
    <h2>Result</h2>
    <pre id="result"></pre>
    <div id="logs"></div>
  </section>
</main>
<script type="application/json" id="report-data">{{DATA}}</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("report-data").textContent);
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
};
const fmt = (t) => {
  t = Math.max(0, Number(t) || 0);
  const m = Math.floor(t / 60), s = t - m * 60;
  return String(m).padStart(2, "0") + ":" + s.toFixed(1).padStart(4, "0");
};
const result = data.result || {};
const status = String(result.status || "unknown");
const statusEl = document.getElementById("status");
statusEl.textContent = status;
statusEl.className = "status " + (["pass", "fail", "error"].includes(status) ? status : "unknown");
document.getElementById("summary").textContent =
  [result.harness, result.reason, result.duration_s != null ? Number(result.duration_s).toFixed(1) + " s" : null, result.started]
    .filter((x) => x != null && x !== "").join(" · ");
document.getElementById("result").textContent = JSON.stringify(result, null, 2);

let video = null;
if (data.video) {
  video = el("video", { id: "video", controls: "", preload: "auto", src: data.video });
  // Captions are drawn from the embedded cues (#caption): a <track> would have to be fetched,
  // which browsers refuse for file:// pages.
  document.getElementById("player").append(video);
} else {
  document.getElementById("player").append(el("p", {}, "No video in this run (passed runs delete it unless --keep-video)."));
}
const duration = () => (video && isFinite(video.duration) && video.duration > 0 ? video.duration : (data.duration_s || 0)) ||
  Math.max(1, ...data.events.map((e) => Number(e.t) || 0));
const seek = (t) => {
  if (!video) return;
  video.currentTime = Math.max(0, t);
};

const describe = (e) => {
  const what = [e.action];
  if (e.screen) what.push(String(e.screen));
  if (Array.isArray(e.screens)) what.push(e.screens.join(" | "));
  if (e.key) what.push(String(e.key));
  if (e.text) what.push(JSON.stringify(String(e.text)));
  if (e.message) what.push(String(e.message));
  return what.filter((x) => x != null).join(" ");
};
const isBad = (e) => e.matched === false || e.error != null || e.status === "fail" || e.status === "error";
const timeline = document.getElementById("timeline");
const bar = document.getElementById("bar");
const items = data.events.map((e) => {
  const t = Number(e.t) || 0;
  const sim = typeof e.similarity === "number" ? e.similarity.toFixed(3) : "";
  const li = el("li", { class: isBad(e) ? "bad" : "", "data-t": String(t), onclick: () => seek(t) },
    el("span", { class: "t" }, fmt(t)), el("span", { class: "what" }, describe(e)), el("span", { class: "sim" }, sim));
  timeline.append(li);
  return { t, li, e };
});
const drawMarks = () => {
  bar.querySelectorAll(".mark").forEach((m) => m.remove());
  const d = duration();
  for (const { t, e } of items) {
    bar.append(el("div", { class: "mark" + (isBad(e) ? " bad" : ""), style: "left:" + (100 * Math.min(1, t / d)) + "%", title: fmt(t) + " " + describe(e) }));
  }
};
drawMarks();
bar.addEventListener("click", (ev) => {
  const box = bar.getBoundingClientRect();
  seek(duration() * (ev.clientX - box.left) / box.width);
});
const caption = document.getElementById("caption");
const onTime = () => {
  const t = video ? video.currentTime : 0;
  let current = null;
  for (const item of items) if (item.t <= t + 0.05) current = item;
  for (const item of items) item.li.classList.toggle("current", item === current);
  const cue = data.cues.find(([a, b]) => a <= t && t < b);
  caption.textContent = cue ? cue[2] : "";
  document.getElementById("playhead").style.left = (100 * Math.min(1, t / duration())) + "%";
};
if (video) {
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);
  video.addEventListener("loadedmetadata", drawMarks);
}

const f = data.forensics;
if (f && (f.awaited || f.final_png || f.qemu_screendump)) {
  document.getElementById("failure").hidden = false;
  const images = document.getElementById("failure-images");
  const figure = (src, label) => images.append(el("figure", {}, el("a", { href: src }, el("img", { src, alt: label })), el("figcaption", {}, label)));
  const text = document.getElementById("failure-text");
  if (f.awaited) {
    const a = f.awaited;
    text.append("Awaited screen ", el("b", {}, a.screen), ": similarity " + a.similarity.toFixed(3) + ", " + a.mismatching_pixels + " pixels differ.");
    if (a.best_similarity != null) {
      text.append(" Best similarity " + a.best_similarity.toFixed(3) + " at ",
        el("a", { class: "seek", onclick: () => seek(a.best_at_s) }, fmt(a.best_at_s)), ".");
    }
    figure(a.reference_png, "reference");
    figure(a.actual_png, "actual");
    figure(a.diff_png, "diff (red: differs; outlines: regions)");
    if (a.best_png) figure(a.best_png, "best match seen");
  }
  if (f.final_png) figure(f.final_png, "final screen");
  if (f.qemu_screendump) figure(f.qemu_screendump, "QEMU screendump");
}
const logs = document.getElementById("logs");
if (data.serial_tail) logs.append(el("h2", {}, "Serial log (tail)"), el("pre", { id: "serial" }, data.serial_tail));
if (data.registers) logs.append(el("h2", {}, "QEMU registers"), el("pre", { id: "registers" }, data.registers));
window.vncpilotReport = { ready: true, events: items.length, seek };
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_a_run_can_close_the_data_script() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("events.jsonl"),
            "{\"t\": 1.5, \"action\": \"type\", \"text\": \"</script><script>alert(1)</script>\"}\n\n{\"t\": 2, \"action\": \"key\"}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("result.json"),
            "{\"status\": \"fail\", \"reason\": \"<b>x</b>\"}",
        )
        .unwrap();
        let path = write(dir.path()).unwrap();
        let html = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            html.matches("</script>").count(),
            2,
            "only the page's own two script elements close"
        );
        assert!(html.contains("\\u003c/script>"));
        assert!(html.contains("<title>vncpilot run — fail</title>"));
    }

    #[test]
    fn a_bad_events_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("events.jsonl"),
            "{\"t\": 1}\n{\"action\": \"key\"}\n",
        )
        .unwrap();
        let err = write(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("events.jsonl") && err.contains("line 2") && err.contains("\"t\""),
            "{err}"
        );
    }
}
