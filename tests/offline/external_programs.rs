//! Every external program the project, its tests, benches, scripts and Makefile start must come
//! from a package `scripts/install-deps` installs, or from Debian 12's base system (Essential or
//! Priority: required packages) — so `make test` on a bare Debian 12 machine never meets a
//! missing program (issue 16: `xrandr` was started by a test and installed by nobody).
//!
//! How programs are found (a new program started anywhere is picked up without editing here):
//! - Rust (src/, tests/, benches/, examples/): `Command::new` with a string literal (std or tokio), the program
//!   behind wrappers such as `stdbuf`/`env`/`timeout`, `spawn_client` with a literal (tests/common),
//!   absolute program paths such as `"/bin/sh"`, `"-e", "x …"` (xterm's command), every
//!   `"qemu-system-…"` literal (the QEMU binaries the guest code chooses from) and every
//!   `binary = "…"` / `binary: "…"` (harness.toml files and configs built in code).
//! - A `Command::new(<not a literal>)` must be listed in [`VARIABLE_PROGRAMS`] with where its
//!   names come from (and that source must itself be scanned); an unlisted one fails the test.
//! - Shell scripts (scripts/, .ci/run), recipes in the Makefile: the first word of every simple
//!   command; Python scripts: the interpreter and the first literal of every `run([...])`.
//!
//! Each program is looked up on PATH, symlinks (merged /usr, /etc/alternatives) are followed and
//! every spelling is asked of `dpkg -S`.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `Command::new` calls whose program is not a string literal: (file, argument, where the names
/// come from). The named source is scanned by this test, so the programs are still checked.
const VARIABLE_PROGRAMS: &[(&str, &str, &str)] = &[
    (
        "src/guest/qemu.rs",
        "&config.binary",
        "QemuConfig::binary: harness.toml `binary = \"…\"` and the `\"qemu-system-…\"` literals in src/ (both scanned)",
    ),
    (
        "tests/common/xvnc.rs",
        "program",
        "Xvnc::spawn_client(program, …): every spawn_client(\"…\") call is scanned",
    ),
];

/// Programs that are not Debian packages on purpose, with the reason.
const ASSUMED: &[(&str, &str)] = &[
    (
        "cargo",
        "the Rust toolchain from rustup (README: what a fresh Debian 12 machine assumes)",
    ),
    (
        "sudo",
        "README: run as root or with sudo; scripts/install-deps uses sudo only when not root",
    ),
];

/// Programs that wrap another one; the wrapped program is checked too.
const WRAPPERS: &[&str] = &[
    "stdbuf", "env", "timeout", "nice", "nohup", "setsid", "exec", "sudo",
];

/// Shell words that are not programs: keywords and builtins of bash and dash.
const SHELL_WORDS: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "for",
    "in",
    "do",
    "done",
    "while",
    "until",
    "case",
    "esac",
    "function",
    "select",
    "time",
    "!",
    "{",
    "}",
    "[",
    "[[",
    "]]",
    "test",
    "cd",
    "echo",
    "printf",
    "read",
    "exit",
    "return",
    "shift",
    "local",
    "declare",
    "export",
    "readonly",
    "set",
    "unset",
    "source",
    ".",
    "eval",
    "trap",
    "wait",
    "true",
    "false",
    ":",
    "command",
    "type",
    "hash",
    "mapfile",
    "readarray",
    "pushd",
    "popd",
    "getopts",
    "let",
    "break",
    "continue",
    "umask",
    "builtin",
    "kill",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Each program and the places that start it (`file:line`).
#[derive(Default)]
struct Found(BTreeMap<String, Vec<String>>);

impl Found {
    fn add(&mut self, program: &str, file: &Path, text: &str, offset: usize) {
        let line = text[..offset].matches('\n').count() + 1;
        self.0
            .entry(program.to_string())
            .or_default()
            .push(format!("{}:{line}", rel(file)));
    }
}

fn string_literals(text: &str) -> Vec<String> {
    let lit = Regex::new(r#""((?:[^"\\]|\\.)*)""#).unwrap();
    lit.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// The program a wrapper runs: the first argument that is not an option, a number or `VAR=value`.
fn wrapped(args: &[String]) -> Option<String> {
    let assignment = Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*=").unwrap();
    args.iter()
        .find(|a| {
            !a.starts_with('-')
                && !assignment.is_match(a)
                && !a.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
        .cloned()
}

fn scan_rust(file: &Path, text: &str, found: &mut Found, unlisted: &mut Vec<String>) {
    // A library file's unit tests name programs that must not exist ("qemu-system-nonexistent")
    // to test the missing-program errors: they start nothing, so they are not scanned.
    let in_src = file.starts_with("src") || file.starts_with(root().join("src"));
    let text = match (in_src, text.find("#[cfg(test)]")) {
        (true, Some(at)) => &text[..at],
        _ => text,
    };
    let identifier = Regex::new(r"^&?[A-Za-z_][A-Za-z0-9_]*$").unwrap();
    let new = Regex::new(r"Command::new\(\s*").unwrap();
    for m in new.find_iter(text) {
        let rest = &text[m.end()..];
        if let Some(lit) = rest.strip_prefix('"') {
            let program = &lit[..lit.find('"').unwrap()];
            found.add(program, file, text, m.start());
            if WRAPPERS.contains(&program) {
                let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
                let args = string_literals(statement);
                if let Some(inner) = wrapped(&args[1..]) {
                    found.add(&inner, file, text, m.start());
                }
            }
            continue;
        }
        let arg = rest[..rest.find(')').unwrap_or(rest.len())].trim();
        if arg.starts_with("env!(\"CARGO_BIN_EXE_") {
            continue;
        }
        // A name bound in the same file (`const BIN: &str = env!(…)`, `let exe = "x"`).
        if identifier.is_match(arg) {
            let name = regex::escape(arg.trim_start_matches('&'));
            let binding = Regex::new(&format!(
                r#"\b(?:const|static|let)\s+{name}\s*(?::[^=]*)?=\s*(env!\("CARGO_BIN_EXE_|"([^"]+)")"#
            ))
            .unwrap();
            if let Some(c) = binding.captures(text) {
                if let Some(program) = c.get(2) {
                    found.add(program.as_str(), file, text, m.start());
                }
                continue;
            }
        }
        let listed = VARIABLE_PROGRAMS
            .iter()
            .any(|(f, a, _)| rel(file) == *f && arg == *a);
        if !listed {
            let line = text[..m.start()].matches('\n').count() + 1;
            unlisted.push(format!(
                "{}:{line}: a Command takes its program from `{arg}`, not a literal: name the \
                 program as a literal, or list the call in VARIABLE_PROGRAMS in \
                 tests/offline/external_programs.rs with where its names come from (and make sure this \
                 test scans that place)",
                rel(file)
            ));
        }
    }
    let patterns = [
        r#"spawn_client\(\s*"([^"]+)""#,
        r#""((?:/usr)?/s?bin/[A-Za-z0-9._+-]+)""#,
        r#""-e",\s*"([^"\s]+)"#,
        r#""(qemu-system-[a-z0-9_]+)""#,
        r#"\bbinary\s*[:=]\s*"([^"]+)""#,
    ];
    for p in patterns {
        for c in Regex::new(p).unwrap().captures_iter(text) {
            let m = c.get(1).unwrap();
            found.add(m.as_str(), file, text, m.start());
        }
    }
    // A QEMU binary built by formatting (`format!("qemu-system-{arch}")`) could not be checked.
    if let Some(m) = Regex::new(r#""qemu-system-\{"#).unwrap().find(text) {
        let line = text[..m.start()].matches('\n').count() + 1;
        unlisted.push(format!(
            "{}:{line}: a QEMU binary name is formatted: write each name as a whole literal \
             (\"qemu-system-aarch64\") so that tests/offline/external_programs.rs can check its package",
            rel(file)
        ));
    }
}

/// Shell text to command segments: splits on `; | & ( ) $( \``, keeps quoted words whole (and
/// scans `$( … )` inside double quotes), drops comments. Continuation lines are joined first.
fn shell_segments(text: &str) -> Vec<(usize, String)> {
    #[derive(PartialEq)]
    enum Context {
        Double,
        Subst,
    }
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut stack: Vec<Context> = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let flush = |current: &mut String, start: usize, segments: &mut Vec<(usize, String)>| {
        if !current.trim().is_empty() {
            segments.push((start, current.trim().to_string()));
        }
        current.clear();
    };
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if current.trim().is_empty() {
            start = at;
        }
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let quoted = stack.last() == Some(&Context::Double);
        match c {
            '\\' if next == Some('\n') => i += 1,
            '\\' => {
                current.push('x');
                i += 1;
            }
            '$' if next == Some('(') && chars.get(i + 2).map(|&(_, c)| c) == Some('(') => {
                // `$(( … ))` is arithmetic: a word, no command.
                current.push('x');
                while i + 1 < chars.len() && !(chars[i].1 == ')' && chars[i + 1].1 == ')') {
                    i += 1;
                }
                i += 1;
            }
            '$' if next == Some('(') => {
                // `$(` opens a command, also inside double quotes.
                flush(&mut current, start, &mut segments);
                stack.push(Context::Subst);
                i += 1;
            }
            '"' if quoted => {
                stack.pop();
                current.push('"');
            }
            _ if quoted => current.push('x'),
            '"' => {
                stack.push(Context::Double);
                current.push('"');
            }
            '\'' => {
                current.push('\'');
                i += 1;
                while i < chars.len() && chars[i].1 != '\'' {
                    i += 1;
                }
                current.push('\'');
            }
            ')' if stack.last() == Some(&Context::Subst) => {
                stack.pop();
                flush(&mut current, start, &mut segments);
                if stack.last() == Some(&Context::Double) {
                    current.push('x'); // the rest of the quoted word
                }
            }
            '#' if current.is_empty() || current.ends_with(char::is_whitespace) => {
                while i + 1 < chars.len() && chars[i + 1].1 != '\n' {
                    i += 1;
                }
            }
            ';' | '|' | '&' | '(' | ')' | '`' | '\n' => flush(&mut current, start, &mut segments),
            _ => current.push(c),
        }
        i += 1;
    }
    flush(&mut current, start, &mut segments);
    segments
}

fn scan_shell(file: &Path, text: &str, found: &mut Found) {
    // Array assignments (`packages=( … )`) hold words, not commands; keep their line breaks.
    let lines = Regex::new(r"(?s)\b[A-Za-z_][A-Za-z0-9_]*=\(\s*\n.*?\n\s*\)").unwrap();
    let one_line = Regex::new(r"\b[A-Za-z_][A-Za-z0-9_]*=\([^)\n]*\)").unwrap();
    let blank = |c: &regex::Captures| "\n".repeat(c[0].matches('\n').count());
    let text = lines.replace_all(text, blank);
    let text = &*one_line.replace_all(&text, blank);
    let assignment = Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=").unwrap();
    let functions: BTreeSet<String> = Regex::new(r"(?m)^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)")
        .unwrap()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect();
    for (offset, segment) in shell_segments(text) {
        for word in segment.split_whitespace() {
            if assignment.is_match(word)
                || word.starts_with('$')
                || word.chars().all(|c| c.is_ascii_digit())
                || word.starts_with('-')
                || (WRAPPERS.contains(&word) && word != "sudo")
            {
                continue;
            }
            if word == "sudo" {
                found.add(word, file, text, offset);
                continue;
            }
            if matches!(
                word,
                "[" | "[[" | "test" | "command" | "for" | "case" | "select"
            ) {
                break; // a condition, `command -v` query or loop header: no program to start
            }
            if SHELL_WORDS.contains(&word) {
                if matches!(
                    word,
                    "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "time" | "{"
                ) {
                    continue;
                }
                break;
            }
            let plain = word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._+-/".contains(c));
            let project_file =
                word.contains('/') && !word.starts_with('/') && root().join(word).exists();
            if plain && !project_file && !functions.contains(word) {
                found.add(word, file, text, offset);
            }
            break;
        }
    }
}

fn scan_makefile(file: &Path, text: &str, found: &mut Found) {
    let var = Regex::new(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)\s*[?:]?=\s*(.*)$").unwrap();
    let vars: BTreeMap<String, String> = var
        .captures_iter(text)
        .map(|c| (c[1].to_string(), c[2].trim().to_string()))
        .collect();
    let reference = Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)").unwrap();
    let mut recipes = String::new();
    for line in text.lines() {
        if let Some(recipe) = line.strip_prefix('\t') {
            let recipe = recipe.trim_start_matches(['@', '-', '+']);
            let expanded = reference.replace_all(recipe, |c: &regex::Captures| {
                vars.get(&c[1])
                    .cloned()
                    .unwrap_or_else(|| format!("${}", &c[1]))
            });
            recipes.push_str(&expanded);
        }
        recipes.push('\n'); // keeps line numbers
    }
    scan_shell(file, &recipes, found);
}

fn scan_python(file: &Path, text: &str, found: &mut Found) {
    for c in Regex::new(r#"\(\[\s*"([^"]+)""#)
        .unwrap()
        .captures_iter(text)
    {
        let m = c.get(1).unwrap();
        found.add(m.as_str(), file, text, m.start());
    }
}

fn scan_script(file: &Path, text: &str, found: &mut Found) {
    let shebang = text.lines().next().unwrap_or("");
    let Some(interp) = shebang.strip_prefix("#!") else {
        return;
    };
    let words: Vec<&str> = interp.split_whitespace().collect();
    let program = match words.as_slice() {
        [env, p, ..] if env.ends_with("/env") => p.to_string(),
        [p, ..] => p.to_string(),
        [] => return,
    };
    found.add(&program, file, text, 0);
    let name = Path::new(&program)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    if name.starts_with("python") {
        scan_python(file, text, found);
    } else if matches!(name.as_str(), "sh" | "bash" | "dash") {
        scan_shell(file, text, found);
    }
}

/// All programs the repository starts, or the calls that could not be checked.
fn programs() -> (Found, Vec<String>) {
    let toml_binary = Regex::new(r#"(?m)^\s*binary\s*=\s*"([^"]+)""#).unwrap();
    let mut found = Found::default();
    let mut unlisted = Vec::new();
    let mut files = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "examples",
        "harnesses",
        "scripts",
        ".ci",
    ] {
        files_under(&root().join(dir), &mut files);
    }
    files.push(root().join("Makefile"));
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let top = rel(&file);
        match file.extension().and_then(|e| e.to_str()) {
            Some("rs") => {
                // Comments name programs in examples; only code counts.
                let code: String = text
                    .split_inclusive('\n')
                    .map(|l| {
                        if l.trim_start().starts_with("//") {
                            "\n"
                        } else {
                            l
                        }
                    })
                    .collect();
                scan_rust(&file, &code, &mut found, &mut unlisted)
            }
            Some("toml") => {
                for c in toml_binary.captures_iter(&text) {
                    let m = c.get(1).unwrap();
                    found.add(m.as_str(), &file, &text, m.start());
                }
            }
            _ if top == "Makefile" => scan_makefile(&file, &text, &mut found),
            None if top.starts_with("scripts/") || top.starts_with(".ci/") => {
                scan_script(&file, &text, &mut found)
            }
            _ => {}
        }
    }
    (found, unlisted)
}

/// The packages `scripts/install-deps` installs: the words of its `packages=( … )` array.
fn install_deps_packages() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("scripts/install-deps")).unwrap();
    let start = text
        .find("packages=(")
        .expect("scripts/install-deps: no `packages=(` array")
        + 10;
    let end = start
        + text[start..]
            .find("\n)")
            .expect("scripts/install-deps: `packages=(` not closed by a `)` line");
    text[start..end]
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(|l| l.split_whitespace())
        .map(|p| p.split('/').next().unwrap().to_string())
        .collect()
}

/// The installed packages `wanted` bring: themselves and, transitively, their installed
/// Depends and Pre-Depends (install-deps installs without Recommends).
fn with_dependencies(wanted: &BTreeSet<String>) -> BTreeSet<String> {
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f=${db:Status-Abbrev}\t${Package}\t${Depends}, ${Pre-Depends}\n",
        ])
        .output()
        .expect("dpkg-query");
    let mut depends: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split('\t');
        let (Some(status), Some(package), Some(deps)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if !status.starts_with("ii") {
            continue;
        }
        let names = deps
            .split([',', '|'])
            .filter_map(|d| d.split_whitespace().next())
            .map(|d| d.split(':').next().unwrap().to_string());
        depends.insert(package.to_string(), names.collect());
    }
    let mut all = BTreeSet::new();
    let mut todo: Vec<String> = wanted.iter().cloned().collect();
    while let Some(p) = todo.pop() {
        if let Some(deps) = depends.get(&p)
            && all.insert(p)
        {
            todo.extend(deps.iter().filter(|d| depends.contains_key(*d)).cloned());
        }
    }
    all
}

/// Debian's base system: the packages marked Essential or of Priority required, and apt
/// (debootstrap's minbase, the smallest Debian 12 system, is exactly these).
fn base_packages() -> BTreeSet<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Essential} ${Priority}\n"])
        .output()
        .expect("dpkg-query (this check needs a Debian system)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                [p, "yes", ..] | [p, _, "required"] | [p, "required"] => Some(p.to_string()),
                _ => None,
            }
        })
        .chain(["apt".to_string()])
        .collect()
}

/// Where `program` is: each match on PATH, then in the system's own directories (a developer's
/// PATH may put a shim, e.g. pyenv's `python3`, before the Debian one).
fn on_path(program: &str) -> Vec<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if p.exists() { vec![p] } else { vec![] };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let system = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    let mut found: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(system.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .filter(|p| p.is_file())
        .collect();
    found.dedup();
    found
}

/// Every spelling of `path` dpkg may know: itself, its merged-/usr twin, and the same for each
/// symlink on the way to the real file (`/usr/bin/awk` → `/etc/alternatives/awk` → `mawk`).
fn spellings(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut p = path.to_path_buf();
    for _ in 0..16 {
        let s = p.to_string_lossy().to_string();
        out.push(p.clone());
        for (a, b) in [
            ("/usr/bin/", "/bin/"),
            ("/usr/sbin/", "/sbin/"),
            ("/usr/lib/", "/lib/"),
        ] {
            if let Some(r) = s.strip_prefix(a) {
                out.push(PathBuf::from(format!("{b}{r}")));
            } else if let Some(r) = s.strip_prefix(b) {
                out.push(PathBuf::from(format!("{a}{r}")));
            }
        }
        match std::fs::read_link(&p) {
            Ok(target) => p = p.parent().unwrap().join(target),
            Err(_) => break,
        }
    }
    if let Ok(real) = std::fs::canonicalize(path) {
        out.push(real);
    }
    out
}

/// The packages owning `path` by `dpkg -S`, trying each spelling in turn.
fn owners(path: &Path) -> Option<(PathBuf, Vec<String>)> {
    for spelling in spellings(path) {
        let out = Command::new("dpkg")
            .arg("-S")
            .arg(&spelling)
            .output()
            .expect("dpkg -S");
        let mut packages = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.starts_with("diversion by") {
                continue;
            }
            if let Some((pkgs, _)) = line.split_once(": ") {
                packages.extend(
                    pkgs.split(", ")
                        .map(|p| p.split(':').next().unwrap().to_string()),
                );
            }
        }
        if !packages.is_empty() {
            return Some((spelling, packages));
        }
    }
    None
}

#[test]
fn every_program_started_comes_from_an_installed_package_or_the_base_system() {
    let (found, mut problems) = programs();
    let deps = with_dependencies(&install_deps_packages());
    let base = base_packages();
    assert!(
        base.contains("coreutils") && base.contains("dash"),
        "dpkg-query found no base packages: {base:?}"
    );
    let listed = install_deps_packages();
    for (program, sites) in &found.0 {
        let site = &sites[0];
        if ASSUMED.iter().any(|(p, _)| p == program) {
            continue;
        }
        let paths = on_path(program);
        // A `"qemu-system-x86"` literal naming a listed package (for an error message) is no
        // program.
        if paths.is_empty() && listed.iter().any(|p| p == program) {
            continue;
        }
        let Some(path) = paths.first() else {
            problems.push(format!(
                "`{program}` (started at {site}) is not installed on this machine, so no package \
                 that scripts/install-deps installs provides it: find its package (`apt-file \
                 search bin/{program}`) and add it to scripts/install-deps"
            ));
            continue;
        };
        let Some((spelling, packages)) = paths.iter().find_map(|p| owners(p)) else {
            problems.push(format!(
                "`{program}` (started at {site}) is {} which no Debian package owns (dpkg -S): \
                 install it from a Debian package listed in scripts/install-deps",
                path.display()
            ));
            continue;
        };
        if !packages
            .iter()
            .any(|p| deps.contains(p) || base.contains(p))
        {
            problems.push(format!(
                "`{program}` (started at {site}) is {} from package {}, which scripts/install-deps \
                 does not install and Debian 12's base system (Essential / Priority required) \
                 lacks: add `{}` to scripts/install-deps (listed packages count with their Depends)",
                spelling.display(),
                packages.join(", "),
                packages[0]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_scanner_finds_programs_in_every_kind_of_place() {
    // Guards the scanner itself: programs known to be started must be found where they are.
    let (found, _) = programs();
    for (program, file) in [
        ("Xvnc", "tests/common/xvnc.rs"),
        ("xterm", "tests/"),        // spawn_client("xterm", …)
        ("xev", "tests/"),          // behind `stdbuf -oL`
        ("/bin/sh", "tests/"),      // xterm -e /bin/sh
        ("qemu-system-x86_64", ""), // the default QEMU binary
        ("qemu-img", "src/guest/qemu.rs"),
        ("apt-get", "scripts/install-deps"),
        ("dpkg-query", "scripts/install-deps"),
        ("cargo", "Makefile"),
        ("make", ".ci/run"),
        ("awk", ".ci/run"),
        ("mktemp", ".ci/run"),
        ("python3", "scripts/bench-matching"),
        ("perl", "scripts/bench-matching"),
    ] {
        let site = found.0.get(program);
        assert!(
            site.is_some_and(|s| s.iter().any(|s| s.starts_with(file))),
            "the scanner should find `{program}` in {file}; found it at {site:?}; all found: {:?}",
            found.0
        );
    }
    for not_a_program in [
        "echo",
        "set",
        "then",
        "id -u",
        "total",
        "vncpilot",
        "scripts/install-deps",
        "…",
    ] {
        assert!(
            !found.0.contains_key(not_a_program),
            "`{not_a_program}` is not a program started"
        );
    }
}

#[test]
fn the_shell_scanner_splits_commands_as_the_shell_does() {
    let mut found = Found::default();
    let text = "if ! dpkg-query -W 'a;b' | grep -q \"x; y\"; then\n  [ \"$(id -u)\" -eq 0 ] || sudo=\"\"\n  \
                $sudo env A=b apt-get install \\\n   -y pkg # ignored: rm\n  echo \"no (tar) here\"\nfi\n\
                for p in a b; do timeout 5 xrandr; done\nf() { tar x; }\necho $((total / 60)) \"$(date +%s)\"\n";
    scan_shell(Path::new("/x"), text, &mut found);
    let got: Vec<&str> = found.0.keys().map(String::as_str).collect();
    assert_eq!(
        got,
        [
            "apt-get",
            "date",
            "dpkg-query",
            "grep",
            "id",
            "tar",
            "xrandr"
        ]
    );
}
