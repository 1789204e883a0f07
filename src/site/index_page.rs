//! `OUT/index.html`: the latest night's matrix (harness × variant, coloured by status, with the
//! duration and the known-issue label, each cell linking to its run page), what changed since the
//! night before, and every cell's history over the site's nights.

use std::collections::BTreeSet;

use super::cell::Cell;
use super::collect::{CellKey, Collection};
use super::history::{CellHistory, NightDiff};
use super::markup::{self, href, text};
use super::run_page;

/// The run page of a cell, relative to OUT.
pub fn run_page_href(night: &str, key: &CellKey) -> String {
    href(&[night, &key.0, &key.1, run_page::FILE_NAME])
}

pub fn render(
    collection: &Collection,
    histories: &[CellHistory],
    diff: Option<&NightDiff>,
) -> String {
    let latest = collection.latest_night().unwrap_or("");
    let mut counts = std::collections::BTreeMap::new();
    for key in collection.keys() {
        if let Some(cell) = collection.get(latest, &key) {
            *counts.entry(cell.record.status.as_str()).or_insert(0) += 1;
        }
    }
    let counts: Vec<String> = ["pass", "flaky", "fail", "error", "skip"]
        .iter()
        .filter_map(|s| {
            counts
                .get(s)
                .map(|n| format!("<span class=\"badge {s}\">{n} {s}</span>"))
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>vncpilot guest status — {night}</title>\n<style>{style}</style>\n</head>\n<body>\n\
         <header><h1>vncpilot guest status</h1><span id=\"latest\">{night}</span>{counts}\
         <a href=\"status.json\">status.json</a></header>\n<main>\n{matrix}{diff}{history}</main>\n</body>\n</html>\n",
        night = text(latest),
        style = markup::STYLE,
        counts = counts.join(""),
        matrix = matrix_section(collection, latest),
        diff = diff.map(diff_section).unwrap_or_default(),
        history = history_section(collection, histories),
    )
}

fn matrix_section(collection: &Collection, latest: &str) -> String {
    let keys = collection.keys();
    let harnesses: BTreeSet<&String> = keys.iter().map(|k| &k.0).collect();
    let variants: BTreeSet<&String> = keys.iter().map(|k| &k.1).collect();
    let mut s = format!(
        "<section id=\"matrix\"><h2>Matrix — {}</h2>\n<table>\n<tr><th>harness \\ variant</th>",
        text(latest)
    );
    for v in &variants {
        s.push_str(&format!("<th>{}</th>", text(v)));
    }
    s.push_str("</tr>\n");
    for h in &harnesses {
        s.push_str(&format!("<tr><th>{}</th>", text(h)));
        for v in &variants {
            let key = ((*h).clone(), (*v).clone());
            s.push_str(&match collection.get(latest, &key) {
                Some(cell) => matrix_cell(latest, &key, cell),
                None if keys.contains(&key) => {
                    "<td class=\"absent\" title=\"not in this night\">—</td>".into()
                }
                None => "<td></td>".into(),
            });
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n</section>\n");
    s
}

fn matrix_cell(night: &str, key: &CellKey, cell: &Cell) -> String {
    let status = cell.record.status.as_str();
    let label = cell
        .record
        .label
        .as_ref()
        .map(|l| format!("<br><span class=\"label\">{}</span>", text(&l.label)))
        .unwrap_or_default();
    format!(
        "<td class=\"cell {status}\" data-cell=\"{name}\" title=\"{reason}\"><a href=\"{page}\"><b>{status}</b><br>\
         <span class=\"dur\">{duration}</span>{label}</a></td>",
        name = text(&cell.name()),
        reason = text(&cell.record.reason),
        page = run_page_href(night, key),
        duration = text(&markup::duration(cell.record.duration_s)),
    )
}

fn cell_links(night: &str, keys: &[CellKey]) -> String {
    if keys.is_empty() {
        return "<span class=\"muted\">none</span>".into();
    }
    let links: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "<a href=\"{}\">{}/{}</a>",
                run_page_href(night, k),
                text(&k.0),
                text(&k.1)
            )
        })
        .collect();
    links.join(", ")
}

fn diff_section(diff: &NightDiff) -> String {
    format!(
        "<section id=\"diff\"><h2>{latest} against {previous}</h2>\n<ul class=\"diff\">\n\
         <li id=\"newly-failing\"><b>Newly failing:</b> {newly}</li>\n\
         <li id=\"fixed\"><b>Fixed:</b> {fixed}</li>\n\
         <li id=\"still-failing\"><b>Still failing:</b> {still}</li>\n</ul>\n</section>\n",
        latest = text(&diff.latest),
        previous = text(&diff.previous),
        newly = cell_links(&diff.latest, &diff.newly_failing),
        fixed = cell_links(&diff.latest, &diff.fixed),
        still = cell_links(&diff.latest, &diff.still_failing),
    )
}

fn history_section(collection: &Collection, histories: &[CellHistory]) -> String {
    let nights = collection.night_names();
    let mut s = format!(
        "<section id=\"history\"><h2>History — the last {} night(s), oldest first</h2>\n<table>\n\
         <tr><th>cell</th><th>nights</th><th>failing since</th><th>last pass</th><th>flake rate</th><th>duration trend (passed nights)</th><th>known issue</th></tr>\n",
        nights.len()
    );
    for h in histories {
        let name = format!("{}/{}", h.key.0, h.key.1);
        let mut strip = String::from("<div class=\"strip\">");
        for run in &h.strip {
            strip.push_str(&match run.status {
                Some(status) => format!(
                    "<a class=\"{st}\" href=\"{page}\" title=\"{title}\"></a>",
                    st = status.as_str(),
                    page = run_page_href(&run.night, &h.key),
                    title = text(&format!(
                        "{}: {} {}",
                        run.night,
                        status.as_str(),
                        markup::duration(run.duration_s)
                    )),
                ),
                None => format!(
                    "<span class=\"absent\" title=\"{}: not run\"></span>",
                    text(&run.night)
                ),
            });
        }
        strip.push_str("</div>");
        let latest_label = h
            .strip
            .iter()
            .rev()
            .find_map(|r| collection.get(&r.night, &h.key))
            .and_then(|c| c.record.label.as_ref())
            .map(|l| match &l.link {
                Some(link) => markup::outside_link(link, &text(&l.label)),
                None => text(&l.label),
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "<tr class=\"history\" data-cell=\"{name}\"><td>{name}</td><td>{strip}</td><td class=\"failing-since\">{since}</td>\
             <td class=\"last-pass\">{last}</td><td class=\"flake-rate\">{flake}</td><td class=\"trend\">{trend}</td><td>{latest_label}</td></tr>\n",
            name = text(&name),
            since = text(h.failing_since.as_deref().unwrap_or("—")),
            last = text(h.last_pass.as_deref().unwrap_or("never")),
            flake = h
                .flake_rate()
                .map(|r| format!("{:.0}% ({} of {})", r * 100.0, h.flaky, h.ran))
                .unwrap_or_else(|| "—".into()),
            trend = trend(h),
        ));
    }
    s.push_str("</table>\n</section>\n");
    s
}

/// A sparkline of the passed durations and the latest against the median before it.
fn trend(h: &CellHistory) -> String {
    let durations = h.passed_durations();
    let Some(t) = &h.trend else {
        return match durations.last() {
            Some(&d) => text(&markup::duration(d)),
            None => "—".into(),
        };
    };
    let (lo, hi) = durations
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    let span = (hi - lo).max(1e-9);
    let step = 80.0 / (durations.len() - 1) as f64;
    let points: Vec<String> = durations
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                16.0 - 14.0 * (d - lo) / span
            )
        })
        .collect();
    format!(
        "<svg width=\"82\" height=\"18\" viewBox=\"-1 0 82 18\" role=\"img\" aria-label=\"durations\">\
         <polyline fill=\"none\" stroke=\"#2563eb\" stroke-width=\"1.5\" points=\"{}\"/></svg> \
         <span class=\"dur\">{:+.0}% ({} vs median {})</span>",
        points.join(" "),
        t.change * 100.0,
        text(&markup::duration(t.latest_s)),
        text(&markup::duration(t.median_before_s)),
    )
}
