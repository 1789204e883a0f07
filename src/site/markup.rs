//! Writing HTML safely: every text from a run (reasons, labels, names) goes through [`text`],
//! every path through [`href`], and an outside link only when it is http(s) ([`outside_link`]).
//! The colours of the five statuses are here so every page shows them alike.

/// Escapes text for element content and quoted attribute values.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A relative URL from path segments (`["2026-12-03", "debian-12", "bios std", "index.html"]`),
/// each percent-encoded, ready for an attribute.
pub fn href<S: AsRef<str>>(segments: &[S]) -> String {
    let encoded: Vec<String> = segments.iter().map(|s| segment(s.as_ref())).collect();
    text(&encoded.join("/"))
}

/// Percent-encodes one path segment (everything but unreserved characters; `/` included, so a
/// segment cannot climb).
pub fn segment(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out == "." || out == ".." {
        out = out.replace('.', "%2E");
    }
    out
}

/// `<a href=…>` for a link from a cell or a known-issues file: only http(s) links become links
/// (a `javascript:` one would run in the reader's browser), anything else is shown as text.
pub fn outside_link(url: &str, label_html: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a class=\"outside\" href=\"{}\" rel=\"noopener noreferrer\">{label_html}</a>",
            text(url.trim())
        )
    } else {
        label_html.to_owned()
    }
}

/// `171 s`, `2 min 51 s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "—".into();
    }
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// `00:03.1`, as the run pages and report.html show times in a video.
pub fn video_time(seconds: f64) -> String {
    let t = seconds.max(0.0);
    let m = (t / 60.0).floor();
    format!("{:02}:{:04.1}", m as u64, t - m * 60.0)
}

/// The stylesheet every page of the site shares (inline: one file per page, no fetches).
pub const STYLE: &str = r#"
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; background: #f4f4f5; color: #18181b; }
  header { padding: 12px 20px; background: #18181b; color: #fafafa; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; } header a { color: #93c5fd; }
  main { padding: 12px 20px; display: grid; gap: 16px; }
  section { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 2px #0002; overflow-x: auto; }
  h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 14px; margin: 12px 0 6px; }
  table { border-collapse: collapse; } th, td { padding: 5px 8px; border: 1px solid #e4e4e7; text-align: left; vertical-align: top; }
  th { background: #fafafa; font-weight: 600; }
  td.cell a { color: inherit; text-decoration: none; display: block; }
  .pass { background: #bbf7d0; } .flaky { background: #fde68a; } .fail { background: #fecaca; }
  .error { background: #fed7aa; } .skip { background: #e4e4e7; } .absent { background: #fff; color: #a1a1aa; }
  header .dur { color: #d4d4d8; }
  .badge { color: #18181b; padding: 1px 8px; border-radius: 4px; font-weight: 600; text-transform: uppercase; font-size: 12px; }
  .label { display: inline-block; margin-top: 2px; font-size: 12px; background: #fff8; border: 1px solid #0002; border-radius: 3px; padding: 0 4px; }
  .dur { font-size: 12px; color: #3f3f46; }
  .strip { display: flex; gap: 2px; } .strip a, .strip span { width: 14px; height: 18px; border-radius: 2px; display: block; border: 1px solid #0001; }
  .muted { color: #71717a; } code, pre { font-family: ui-monospace, monospace; }
  pre { background: #18181b; color: #e4e4e7; padding: 8px; overflow: auto; max-height: 320px; font-size: 12px; white-space: pre-wrap; }
  .images { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 10px; }
  figure { margin: 0; } figure img { width: 100%; border: 1px solid #d4d4d8; }
  video { width: 100%; max-width: 720px; background: #000; border-radius: 4px; }
  ol.chapters { columns: 2; font-family: ui-monospace, monospace; font-size: 13px; }
  ol.chapters a.current { font-weight: bold; background: #dbeafe; }
  .diff li { margin: 2px 0; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_a_run_becomes_markup_or_a_script_link() {
        assert_eq!(
            text("<img src=x onerror='a()'>&\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            href(&["a b", "..", "c/d#e?.html"]),
            "a%20b/%2E%2E/c%2Fd%23e%3F.html"
        );
        assert_eq!(outside_link("javascript:alert(1)", "x"), "x");
        assert!(
            outside_link("https://bugs.example.org/1?a=1&b=\"", "x")
                .contains("href=\"https://bugs.example.org/1?a=1&amp;b=&quot;\"")
        );
        assert_eq!(duration(171.24), "2 min 51 s");
        assert_eq!(duration(3.1), "3.1 s");
        assert_eq!(video_time(63.3), "01:03.3");
    }
}
