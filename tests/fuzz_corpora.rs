//! Replays every committed fuzz input (`fuzz/seeds/TARGET/*`, the corpora the fuzzers start
//! from, and `fuzz/regressions/TARGET/*`, inputs that once crashed a target) through the same
//! calls as the cargo-fuzz targets (`keyslot::fuzzing`), so CI checks them on every run without
//! the fuzzer. A panic fails the test and names the file.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_committed_fuzz_input_is_handled_without_a_panic() {
    let mut total = 0;
    for (target, run) in keyslot::fuzzing::TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "fuzz/seeds/{target} has no inputs");
        for f in files {
            let data = std::fs::read(&f).expect("read corpus file");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} panicked", f.display());
            total += 1;
        }
    }
    assert!(total >= keyslot::fuzzing::TARGETS.len());
}
