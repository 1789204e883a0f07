//! `vncpilot matrix` without guests: shards partition the cells (every cell in exactly one,
//! stable across runs and across changes to the matrix), bad files name their line, cells that
//! cannot run are `skip` naming the package, the shipped nightly.toml loads, and the examples
//! in docs/nightly.md are valid.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use vncpilot::matrix::{CellRecord, KnownIssues, Matrix};

fn vncpilot(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run vncpilot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn matrix_of(harnesses: usize, variants: usize) -> String {
    let mut s = String::new();
    for h in 0..harnesses {
        s.push_str(&format!("[harness.h{h}]\npath = \"h{h}\"\n"));
        for v in 0..variants {
            s.push_str(&format!("[harness.h{h}.variant.v{v}]\n"));
        }
    }
    s
}

fn list(file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["matrix", file.to_str().unwrap(), "--list"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = vncpilot(&args);
    assert_eq!(code, 0, "{stderr}");
    stdout.lines().map(str::to_string).collect()
}

#[test]
fn shards_partition_the_cells_and_stay_stable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(&file, matrix_of(6, 5)).unwrap();
    let all: BTreeSet<String> = list(&file, &[]).into_iter().collect();
    assert_eq!(all.len(), 30);
    let shards: Vec<Vec<String>> = (0..4)
        .map(|i| list(&file, &["--shard", &format!("{i}/4")]))
        .collect();
    let mut seen = BTreeSet::new();
    for shard in &shards {
        for cell in shard {
            assert!(seen.insert(cell.clone()), "{cell} is in two shards");
        }
    }
    assert_eq!(seen, all, "every cell is in some shard");
    assert!(
        shards.iter().filter(|s| !s.is_empty()).count() >= 3,
        "{shards:?}"
    );
    // Stable: the same again, and a cell keeps its shard when the matrix grows.
    assert_eq!(list(&file, &["--shard", "2/4"]), shards[2]);
    std::fs::write(&file, matrix_of(8, 6)).unwrap();
    for (i, shard) in shards.iter().enumerate() {
        let now: BTreeSet<String> = list(&file, &["--shard", &format!("{i}/4")])
            .into_iter()
            .collect();
        assert!(
            shard.iter().all(|c| now.contains(c)),
            "shard {i} lost cells"
        );
    }
    // --only and --shard together; a glob matching nothing is an error.
    let only = list(&file, &["--only", "h1/*", "--only", "h2/v[0-2]"]);
    assert_eq!(only.len(), 6 + 3, "{only:?}");
    let (code, _, stderr) = vncpilot(&["matrix", file.to_str().unwrap(), "--only", "nope/*"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("nope/*") && stderr.contains("matches no cell"),
        "{stderr}"
    );
    let (code, _, stderr) = vncpilot(&["matrix", file.to_str().unwrap(), "--shard", "4/4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("I/N"), "{stderr}");
}

#[test]
fn unknown_keys_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[harness.debian-12]\npath = \"x\"\n[harness.debian-12.variant.a]\n\
         guest = { firmware = \"uefi\", dispaly = \"virtio\" }\n",
    )
    .unwrap();
    let (code, _, stderr) = vncpilot(&["matrix", file.to_str().unwrap(), "--list"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{}:4:", file.display())) && stderr.contains("dispaly"),
        "{stderr}"
    );
    let known = dir.path().join("known.toml");
    std::fs::write(
        &known,
        "[[issue]]\nlabel = \"x\"\nreason = \"a\"\nlnk = \"b\"\n",
    )
    .unwrap();
    std::fs::write(&file, "[harness.h]\npath = \"x\"\n").unwrap();
    let results = dir.path().join("results");
    let (code, _, stderr) = vncpilot(&[
        "matrix",
        file.to_str().unwrap(),
        "--known",
        known.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{}:4:", known.display())) && stderr.contains("lnk"),
        "{stderr}"
    );
}

#[test]
fn cells_that_cannot_run_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("missing-media");
    std::fs::create_dir_all(&h).unwrap();
    std::fs::write(
        h.join("harness.toml"),
        "screens = \"none\"\n[guest]\nmedia_provided_by = \"the Debian package nonexistent-media\"\n\
         [guest.boot]\nkernel = \"/nonexistent/linux\"\n",
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), "").unwrap();
    let file = dir.path().join("m.toml");
    std::fs::write(
        &file,
        "[harness.missing-media]\npath = \"missing-media\"\n\
         [harness.missing-media.variant.bios]\n\
         [harness.missing-media.variant.arm-bios]\nguest = { arch = \"aarch64\", firmware = \"bios\" }\n\
         [harness.missing-media.variant.typo]\nvariables = { nosuch = \"1\" }\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let (code, stdout, stderr) = vncpilot(&[
        "matrix",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--night",
        "n",
        "--tap",
    ]);
    assert_eq!(code, 2, "{stderr}");
    let cell = |v: &str| -> Value {
        let path = results.join("n/missing-media").join(v).join("cell.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let skip = cell("bios");
    assert_eq!(skip["status"], "skip");
    assert!(
        skip["reason"]
            .as_str()
            .unwrap()
            .contains("nonexistent-media"),
        "{skip}"
    );
    assert_eq!(skip["attempts"].as_array().unwrap().len(), 0);
    assert!(stdout.contains("# SKIP"), "{stdout}");
    let arm = cell("arm-bios");
    assert_eq!(arm["status"], "error");
    assert!(arm["reason"].as_str().unwrap().contains("uefi"), "{arm}");
    let typo = cell("typo");
    assert_eq!(typo["status"], "error");
    assert!(
        typo["reason"].as_str().unwrap().contains("nosuch"),
        "{typo}"
    );
    // A second run of the same night never overwrites the first one's evidence.
    let (code, _, stderr) = vncpilot(&[
        "matrix",
        file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--night",
        "n",
        "--only",
        "*/bios",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already holds results"), "{stderr}");
    assert_eq!(cell("bios")["status"], "skip");
}

#[test]
fn the_shipped_nightly_matrix_has_every_variant_and_its_harnesses_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let m = Matrix::load(&root.join("matrix/nightly.toml")).unwrap();
    let names: Vec<String> = m.cells.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "debian-12-arm64/uefi-virtio-gpu",
            "debian-12-gtk/bios-std",
            "debian-12/bios-std",
            "debian-12/bios-virtio",
            "debian-12/uefi-std",
            "debian-12/uefi-virtio",
        ]
    );
    for cell in &m.cells {
        let mut h = vncpilot::script::Harness::load(&cell.harness_dir, &cell.variables)
            .unwrap_or_else(|e| panic!("{}: {e}", cell.name()));
        assert_eq!(h.name, cell.harness);
        let guest = h.guest.as_mut().unwrap();
        cell.guest.apply(guest);
        // Every guest is a valid machine; missing host pieces are the only acceptable problem.
        if let Err(e) = guest.check() {
            let e = e.to_string();
            assert!(e.contains("provided by"), "{}: {e}", cell.name());
        }
    }
}

fn blocks<'a>(markdown: &'a str, lang: &str) -> Vec<(String, &'a str)> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut rest = markdown;
    let fence = format!("```{lang}\n");
    while let Some(start) = rest.find(&fence) {
        for line in rest[..start].lines() {
            if line.starts_with('#') {
                heading = line.to_string();
            }
        }
        let body = &rest[start + fence.len()..];
        let end = body.find("```").unwrap();
        out.push((heading.clone(), &body[..end]));
        rest = &body[end + 3..];
    }
    out
}

#[test]
fn the_examples_in_nightly_md_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/nightly.md")).unwrap();
    let tomls = blocks(&doc, "toml");
    assert!(tomls.len() >= 2);
    for (heading, text) in &tomls {
        if text.contains("[[issue]]") {
            let k = KnownIssues::parse(text, Path::new("docs/nightly.md")).unwrap();
            assert!(!k.issues.is_empty(), "{heading}");
        } else {
            let m = Matrix::parse(text, &root.join("matrix/doc-example.toml"))
                .unwrap_or_else(|e| panic!("{heading}: {e}"));
            assert!(m.cells.iter().any(|c| c.name() == "debian-12/uefi-virtio"));
            assert!(m.cells.iter().any(|c| c.name() == "debian-12-gtk/default"));
            for c in &m.cells {
                vncpilot::script::Harness::load(&c.harness_dir, &c.variables)
                    .unwrap_or_else(|e| panic!("{heading}: {}: {e}", c.name()));
            }
        }
    }
    let jsons = blocks(&doc, "json");
    assert_eq!(jsons.len(), 1);
    let record: CellRecord = serde_json::from_str(jsons[0].1).unwrap();
    assert_eq!(record.status.as_str(), "flaky");
    let yamls: Vec<String> = blocks(&doc, "yaml").into_iter().map(|(h, _)| h).collect();
    assert_eq!(yamls, ["### Kubernetes Indexed Job", "### GitHub Actions"]);
    // The sh examples: clap accepts them (flags checked with --help, nothing runs).
    for (_, text) in blocks(&doc, "sh") {
        for line in text.lines().filter(|l| l.starts_with("vncpilot ")) {
            let words: Vec<String> = line
                .split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .map(|w| w.trim_matches('\'').to_string())
                .collect();
            let mut args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
            args.push("--help");
            let (code, _, stderr) = vncpilot(&args);
            assert_eq!(code, 0, "`{line}`: {stderr}");
        }
    }
}
