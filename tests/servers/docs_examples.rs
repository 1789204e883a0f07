//! The docs stay true to the code: every macro function the engine registers has a section in
//! docs/scripting.md whose Rhai examples compile and call it, and every `vncpilot` subcommand
//! has a section in docs/cli.md whose example command lines clap accepts (flags and values
//! are checked by appending `--help`, so nothing is run; docs/authoring.md's command lines are
//! checked the same way). docs/recording.md lists every event
//! kind of `events.jsonl`, with example lines that read back as their kinds.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::xvnc::{Xvnc, XvncAuth};
use vncpilot::display::VncDisplay;
use vncpilot::report::{Event, EventKind, Observers};
use vncpilot::rfb::{Addr, ConnectOptions, Session};
use vncpilot::screen::ScreenSet;
use vncpilot::script::RunContext;

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced code blocks of `lang` in `markdown`, each with the heading it stands under.
fn code_blocks(markdown: &str, lang: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            Some(code) if line.trim_start().starts_with("```") => {
                blocks.push((heading.clone(), std::mem::take(code)));
                current = None;
            }
            Some(code) => {
                code.push_str(line);
                code.push('\n');
            }
            None if line.trim_start() == format!("```{lang}") => current = Some(String::new()),
            None if line.starts_with('#') => heading = line.to_string(),
            None => {}
        }
    }
    blocks
}

/// Calls of `name(` in Rhai source, not as part of a longer identifier.
fn calls(code: &str, name: &str) -> bool {
    code.match_indices(&format!("{name}(")).any(|(i, _)| {
        i == 0 || {
            let before = code.as_bytes()[i - 1];
            !(before.is_ascii_alphanumeric() || before == b'_')
        }
    })
}

/// The names the macro API registers (`register_fn("name", ...)` in src/script/), plus `var`,
/// which is custom syntax. Read from the source because Rhai lists registered functions only
/// with its `metadata` feature.
fn registered_functions() -> BTreeSet<String> {
    let pattern = regex::Regex::new(r#"register_fn\(\s*"([a-z_]+)""#).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/script");
    let mut names = BTreeSet::from(["var".to_string()]);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        names.extend(pattern.captures_iter(&source).map(|c| c[1].to_string()));
    }
    names
}

#[test]
fn every_macro_function_has_a_compiling_example_in_scripting_md() {
    let xvnc = Xvnc::start(640, 480, XvncAuth::None);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let session = runtime
        .block_on(Session::connect(
            &Addr::parse(&xvnc.addr()).unwrap(),
            ConnectOptions::default(),
        ))
        .expect("connect to Xvnc");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    let ctx = Arc::new(RunContext::new(
        Arc::new(VncDisplay::new(session)),
        ScreenSet::load(&root, "debian-12").unwrap(),
        Arc::new(Observers::new()),
        xvnc.dir().join("screenshots"),
    ));
    let engine = vncpilot::script::engine::engine(&ctx, 1_000_000);

    let registered = registered_functions();
    assert!(registered.contains("wait_screen"), "{registered:?}");

    let docs = doc("scripting.md");
    let blocks = code_blocks(&docs, "rhai");
    assert!(!blocks.is_empty(), "no ```rhai blocks in docs/scripting.md");
    let mut problems = Vec::new();
    for (heading, code) in &blocks {
        if let Err(e) = engine.compile(code) {
            problems.push(format!(
                "example under {heading:?} does not compile: {e}\n{code}"
            ));
        }
    }
    for name in &registered {
        let section = format!("`{name}(");
        let examples: Vec<&String> = blocks
            .iter()
            .filter(|(h, _)| h.starts_with("###") && h.contains(&section))
            .map(|(_, code)| code)
            .collect();
        if examples.is_empty() {
            problems.push(format!(
                "{name}: no \"### `{name}(...)`\" section with a ```rhai example"
            ));
        } else if !examples.iter().any(|code| calls(code, name)) {
            problems.push(format!("{name}: its examples never call it"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/scripting.md is out of date:\n{}",
        problems.join("\n")
    );
}

/// The subcommands `vncpilot --help` lists.
fn subcommands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Splits a shell line into words: whitespace-separated, with '…' and "…" quoting; stops at
/// the first pipe, redirection, `&&` or comment.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '|' | '>' | '&' | '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn every_subcommand_has_an_example_in_cli_md_that_clap_accepts() {
    let command_lines = |docs: &str| -> Vec<Vec<String>> {
        code_blocks(docs, "sh")
            .iter()
            .flat_map(|(_, code)| code.lines().map(words).collect::<Vec<_>>())
            .filter(|w| w.first().is_some_and(|w| w == "vncpilot"))
            .collect()
    };
    let lines = command_lines(&doc("cli.md"));
    let mut problems = Vec::new();
    for sub in subcommands() {
        if !lines.iter().any(|w| w.get(1) == Some(&sub)) {
            problems.push(format!(
                "{sub}: no example `vncpilot {sub} ...` in docs/cli.md"
            ));
        }
    }
    let authoring = command_lines(&doc("authoring.md"));
    assert!(
        authoring
            .iter()
            .any(|w| w.get(1).is_some_and(|s| s == "refs")),
        "docs/authoring.md has no `vncpilot refs` example"
    );
    for w in lines.iter().chain(&authoring) {
        // Shell variables would be expanded by the shell; such lines are checked by eye.
        if w.iter().any(|a| a.contains('$')) {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .args(&w[1..])
            .arg("--help")
            .output()
            .unwrap();
        if !out.status.success() {
            problems.push(format!(
                "`{}` is refused: {}",
                w.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/cli.md is out of date:\n{}",
        problems.join("\n")
    );
}

/// The public names of `vncpilot::run` (its `pub use` lines in src/run/mod.rs and `pub async
/// fn run`), read from the source like the macro functions above.
fn run_engine_names() -> BTreeSet<String> {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run/mod.rs"))
            .unwrap();
    let mut names = BTreeSet::new();
    for line in source.lines() {
        if let Some(rest) = line.strip_prefix("pub use ") {
            let list = rest.split_once("::").map_or(rest, |(_, l)| l);
            let list = list
                .trim_end_matches(';')
                .trim_matches(|c| c == '{' || c == '}');
            names.extend(list.split(',').map(|n| n.trim().to_string()));
        }
        if line.starts_with("pub async fn run(") {
            names.insert("run".to_string());
        }
    }
    names
}

#[test]
fn every_public_name_of_the_run_engine_is_in_library_md() {
    let names = run_engine_names();
    for expected in ["RunOptions", "Outcome", "RunError", "exit_code", "run"] {
        assert!(
            names.contains(expected),
            "{expected} not found in {names:?}"
        );
    }
    let docs = doc("library.md");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !docs.contains(&format!("`{n}")) && !docs.contains(&format!("{n}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/library.md does not name {missing:?}"
    );
    assert!(
        !code_blocks(&docs, "rust,no_run").is_empty(),
        "docs/library.md has no example"
    );
}

#[test]
fn every_event_kind_is_in_recording_md_with_a_line_that_reads_back() {
    let docs = doc("recording.md");
    let section = docs
        .split("## `events.jsonl`")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/recording.md has no \"## `events.jsonl`\" section");
    let table: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let blocks = code_blocks(section, "jsonl");
    assert!(
        !blocks.is_empty(),
        "the events.jsonl section has no ```jsonl example"
    );
    let mut shown = BTreeSet::new();
    for (_, code) in &blocks {
        for line in code.lines().filter(|l| !l.trim().is_empty()) {
            let event: Event = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("docs/recording.md: {line}: {e}"));
            let kind = event
                .kind()
                .unwrap_or_else(|e| panic!("docs/recording.md: {line}: {e}"));
            // The example is exactly what the code writes for that kind.
            assert_eq!(serde_json::to_string(&kind.at(event.t)).unwrap(), line);
            shown.insert(event.action);
        }
    }
    for action in EventKind::ACTIONS {
        let name = format!("`{action}`");
        assert!(
            table
                .iter()
                .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&name))),
            "docs/recording.md: the events.jsonl table has no row for {name}"
        );
        assert!(
            shown.contains(action),
            "docs/recording.md: no example line of {name}"
        );
    }
}
