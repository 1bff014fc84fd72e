//! Exploration across machines, checked on one: `deploy/explore-job.yaml` is a valid Kubernetes
//! Indexed Job (kubernetes-validate against the Kubernetes schemas) whose pods run `explore
//! --swarm --shard I/N --json`, and N shards run here as local processes and merged with
//! `keyslot-sim merge` print the very table one `explore` prints for the same seeds.
//!
//! Needs the `kubernetes_validate` Python module (`pip install kubernetes-validate`; `.ci/run` installs
//! it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest() -> PathBuf {
    repo().join("deploy/explore-job.yaml")
}

fn sim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keyslot-sim"));
    c.current_dir(repo());
    c
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The table part of explore's or merge's output: from the header row to the end, without the
/// closing wall-time line (machine-dependent) and the opening line (which says how the seeds
/// were run).
fn table(stdout: &str) -> String {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("scenario "))
        .filter(|l| !l.starts_with("wall "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The value of `key: N` on the first line that has it.
fn number(yaml: &str, key: &str) -> Option<u64> {
    yaml.lines().find_map(|l| {
        let v = l.trim().strip_prefix(key)?.trim().trim_matches('"');
        v.parse().ok()
    })
}

/// N, the manifest's shard count (its env SHARDS).
fn manifest_shards() -> u64 {
    let yaml = std::fs::read_to_string(manifest()).expect("deploy/explore-job.yaml");
    yaml.lines()
        .skip_while(|l| !l.contains("name: SHARDS"))
        .find_map(|l| l.trim().strip_prefix("value:"))
        .and_then(|v| v.trim().trim_matches('"').parse::<u64>().ok())
        .expect("env SHARDS")
}

#[test]
fn the_explore_job_manifest_is_a_valid_indexed_job_of_n_shards() {
    let path = manifest();
    // Through the interpreter: a console script pip just installed may not be on PATH yet
    // (pyenv shims appear only after a rehash).
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .arg(&path)
        .output()
        .expect("python3 not found");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "manifest invalid:\n{report}");
    assert!(
        report.contains("passed for resource job/keyslot-explore"),
        "the Job was not validated:\n{report}"
    );
    let yaml = std::fs::read_to_string(&path).expect("deploy/explore-job.yaml");
    assert!(yaml.contains("completionMode: Indexed"));
    let completions = number(&yaml, "completions:").expect("completions");
    let parallelism = number(&yaml, "parallelism:").expect("parallelism");
    let shards = manifest_shards();
    assert_eq!((completions, parallelism), (shards, shards));
    for needle in [
        "--swarm",
        "--shard \"${JOB_COMPLETION_INDEX}/${SHARDS}\"",
        "--json \"/results/shard-${JOB_COMPLETION_INDEX}.jsonl\"",
        "image: keyslot:latest",
    ] {
        assert!(yaml.contains(needle), "the manifest lacks {needle}");
    }
}

#[test]
fn n_shards_merged_print_the_table_of_one_explore() {
    let dir = std::env::temp_dir().join(format!("keyslot-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // As many shards as the Job runs pods.
    let shards = manifest_shards();
    assert!(shards >= 2);
    // Two files, so the seeds are dealt out to both; 15 seeds of small-to-large worlds.
    let args = [
        "explore",
        "scenarios/kill-master.toml",
        "scenarios/crash-fsync-everysec.toml",
        "--swarm",
        "--seeds",
        "15",
        "--first-seed",
        "100",
    ];
    let single = sim().args(args).output().expect("explore");
    assert!(
        single.status.code().is_some_and(|c| c <= 1),
        "explore broke: {}",
        String::from_utf8_lossy(&single.stderr)
    );
    let single = text(&single);

    // The shards run at the same time, as the Job's pods would.
    let children: Vec<_> = (0..shards)
        .map(|i| {
            let json = dir.join(format!("shard-{i}.jsonl"));
            sim()
                .args(args)
                .args(["--shard", &format!("{i}/{shards}"), "--json"])
                .arg(&json)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn a shard")
        })
        .collect();
    for mut c in children {
        let status = c.wait().expect("shard");
        assert!(status.code().is_some_and(|c| c <= 1), "a shard broke");
    }
    let files: Vec<PathBuf> = (0..shards)
        .map(|i| dir.join(format!("shard-{i}.jsonl")))
        .collect();
    let lines: usize = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .expect("shard file")
                .lines()
                .count()
        })
        .sum();
    assert_eq!(lines, 15, "each seed runs in exactly one shard");
    let merged = sim().arg("merge").args(&files).output().expect("merge");
    let merged = text(&merged);
    let head = format!("merge: 15 runs from {shards} files");
    assert!(merged.starts_with(&head), "{merged}");
    let (a, b) = (table(&single), table(&merged));
    assert!(
        a.contains("\n(all) ") && a.contains("  runs                15\n"),
        "{a}"
    );
    assert_eq!(a, b, "merged table differs from the single explore's");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_names_the_file_and_line_of_a_bad_record() {
    let dir = std::env::temp_dir().join(format!("keyslot-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "\n{\"scenario\": 3}\n").expect("write");
    let out = sim().arg("merge").arg(&bad).output().expect("merge");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.jsonl:2: not a run record"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
