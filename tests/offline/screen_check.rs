//! `vncpilot check` and `import-needles` end to end, on the committed sample with known answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/check-sample")
}

fn vncpilot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vncpilot"))
}

/// The sample manifest with absolute paths, written to `dir`.
fn absolute_manifest(dir: &Path) -> (PathBuf, Vec<Value>) {
    let text = std::fs::read_to_string(sample().join("manifest.jsonl")).unwrap();
    let mut cases = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        for k in ["needle", "shot"] {
            let p = sample().join(v[k].as_str().unwrap());
            v[k] = Value::String(p.to_string_lossy().into());
        }
        out.push_str(&v.to_string());
        out.push('\n');
        cases.push(v);
    }
    let path = dir.join("manifest.jsonl");
    std::fs::write(&path, out).unwrap();
    (path, cases)
}

#[test]
fn manifest_answers_match_the_known_answers_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, cases) = absolute_manifest(tmp.path());
    let out = vncpilot()
        .args(["check", "--manifest"])
        .arg(&manifest)
        .args(["--threads", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    let kinds: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains("n-mirror") && kinds.contains("n-chroma") && kinds.contains("p-jpeg"));
    for (got, case) in lines.iter().zip(&cases) {
        // Input fields pass through unchanged, in the same order of lines.
        for k in ["needle", "shot", "kind", "expect"] {
            assert_eq!(got[k], case[k], "field {k}");
        }
        let expect = case["expect"].as_i64().unwrap() == 1;
        assert_eq!(got["match"].as_bool(), Some(expect), "{got}");
        let sim = got["similarity"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&sim), "{got}");
        assert!(got["us"].as_f64().unwrap() > 0.0, "{got}");
    }
}

#[test]
fn single_check_exit_codes() {
    let needle = sample().join("needles/version_36.json");
    let good = sample().join("shots/version_36.p-shift-large.png");
    let bad = sample().join("shots/version_36.n-mirror.png");
    let ok = vncpilot()
        .arg("check")
        .arg(&needle)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        text.contains("match") && text.contains("found at"),
        "{text}"
    );
    let no = vncpilot()
        .arg("check")
        .arg(&needle)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(no.status.code(), Some(1));
    let missing = vncpilot()
        .arg("check")
        .arg(&needle)
        .arg("/nonexistent/shot.png")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/shot.png"));
}

#[test]
fn wrong_size_image_is_an_error_naming_both_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small.png");
    image::RgbImage::new(100, 100).save(&small).unwrap();
    let out = vncpilot()
        .arg("check")
        .arg(sample().join("needles/version_36.json"))
        .arg(&small)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("100x100") && err.contains("320x200"), "{err}");
}

#[test]
fn imported_needles_check_like_the_needles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vncpilot()
        .arg("import-needles")
        .arg(sample().join("needles"))
        .args(["--set", "sample", "--root"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set = vncpilot::screen::ScreenSet::load(&tmp.path().join("screens"), "sample").unwrap();
    assert_eq!(set.len(), 2);
    for name in ["version_36", "install_lang_french_selected-20210716"] {
        let screen = set.require(name).unwrap();
        let needle =
            vncpilot::screen::Reference::load(sample().join(format!("needles/{name}.json")))
                .unwrap();
        assert_eq!(
            screen.regions().collect::<Vec<_>>(),
            needle.regions().collect::<Vec<_>>()
        );
        assert!(tmp.path().join(format!("masks/sample/{name}.png")).exists());
        for (kind, expect) in [
            ("p-jpeg", true),
            ("p-shift-small", true),
            ("n-mirror", false),
        ] {
            let shot = image::open(sample().join(format!("shots/{name}.{kind}.png")))
                .unwrap()
                .into_rgb8();
            assert_eq!(screen.check(&shot).matched, expect, "{name} {kind}");
            assert_eq!(needle.check(&shot).matched, expect, "{name} {kind}");
        }
    }
}

#[test]
fn needle_without_match_area_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("n.json");
    std::fs::write(&json, r#"{"tags": ["x"], "area": [{"xpos": 1, "ypos": 1, "width": 5, "height": 5, "type": "exclude"}]}"#).unwrap();
    image::RgbImage::new(20, 20)
        .save(tmp.path().join("n.png"))
        .unwrap();
    let err = vncpilot::screen::Reference::load(&json)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("n.json") && err.contains("no area of type \"match\""),
        "{err}"
    );
    std::fs::write(tmp.path().join("n.png"), b"not a png").unwrap();
    std::fs::write(
        &json,
        r#"{"area": [{"xpos": 1, "ypos": 1, "width": 5, "height": 5}]}"#,
    )
    .unwrap();
    let err = vncpilot::screen::Reference::load(&json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("n.png"), "{err}");
}
