//! The Kubernetes Indexed Job and the GitHub Actions workflow in docs/nightly.md are real: they
//! parse as YAML, and they spread a night over shards the way `vncpilot matrix --shard I/N` needs
//! (an Indexed Job passing `$JOB_COMPLETION_INDEX/N` with N = completions; a matrix strategy
//! whose shard list is 0…N−1, passing `${{ matrix.shard }}/N`), and merge them with
//! `vncpilot report`. No cluster or runner is reachable here, so parsing is the check.

use std::path::Path;

use serde_norway::Value;

/// The ```yaml blocks standing under a heading that contains `heading`.
fn yaml_blocks(markdown: &str, heading: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut under = false;
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            Some(code) if line.trim_start().starts_with("```") => {
                if under {
                    blocks.push(std::mem::take(code));
                }
                current = None;
            }
            Some(code) => {
                code.push_str(line);
                code.push('\n');
            }
            None if line.trim_start() == "```yaml" => current = Some(String::new()),
            None if line.starts_with('#') => under = line.contains(heading),
            None => {}
        }
    }
    blocks
}

fn docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/nightly.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every string anywhere in `value`.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Mapping(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_kubernetes_indexed_job_runs_one_shard_per_index() {
    let blocks = yaml_blocks(&docs(), "Kubernetes Indexed Job");
    assert_eq!(
        blocks.len(),
        1,
        "one manifest under \"Kubernetes Indexed Job\""
    );
    let job: Value = serde_norway::from_str(&blocks[0]).expect("the manifest is YAML");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "{spec:?}");
    let completions = spec["completions"].as_u64().expect("completions");
    assert!(completions >= 2);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let containers = spec["template"]["spec"]["containers"]
        .as_sequence()
        .expect("containers");
    let command = strings(&containers[0]).join(" ");
    assert!(command.contains("vncpilot matrix"), "{command}");
    let shard = format!("--shard \"$JOB_COMPLETION_INDEX/{completions}\"");
    let unquoted = format!("--shard $JOB_COMPLETION_INDEX/{completions}");
    assert!(
        command.contains(&shard) || command.contains(&unquoted),
        "the shard count must equal completions ({completions}): {command}"
    );
    assert!(command.contains("--results"), "{command}");
}

#[test]
fn the_github_actions_matrix_runs_every_shard_then_reports() {
    let blocks = yaml_blocks(&docs(), "GitHub Actions");
    assert_eq!(blocks.len(), 1, "one workflow under \"GitHub Actions\"");
    let workflow: Value = serde_norway::from_str(&blocks[0]).expect("the workflow is YAML");
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    let (sharded, strategy) = jobs
        .iter()
        .find_map(|(name, job)| job.get("strategy").map(|s| (name.clone(), s.clone())))
        .expect("a job with a matrix strategy");
    let shards = strategy["matrix"]["shard"]
        .as_sequence()
        .expect("matrix.shard: a list");
    let n = shards.len() as u64;
    let indices: Vec<u64> = shards
        .iter()
        .map(|s| s.as_u64().expect("shard numbers"))
        .collect();
    assert_eq!(
        indices,
        (0..n).collect::<Vec<_>>(),
        "shards count from 0 like --shard"
    );
    assert_eq!(
        strategy["fail-fast"],
        Value::Bool(false),
        "one failed shard must not cancel the others"
    );
    let run = strings(&jobs[&sharded]).join(" ");
    assert!(run.contains("vncpilot matrix"), "{run}");
    assert!(
        run.contains(&format!("--shard ${{{{ matrix.shard }}}}/{n}")),
        "{run}"
    );
    let report = jobs
        .iter()
        .find(|(_, job)| strings(job).iter().any(|s| s.contains("vncpilot report")))
        .expect("a job running vncpilot report");
    let needs = strings(&report.1["needs"]);
    assert!(
        needs.contains(&sharded.as_str().unwrap().to_owned()),
        "the report waits for the shards: {needs:?}"
    );
    assert!(workflow["on"].get("schedule").is_some(), "it runs nightly");
}
