//! Replays every committed fuzz input through its target, under plain `cargo test` (no
//! nightly, no libFuzzer): `fuzz/corpus/TARGET/` (the minimized corpus) and
//! `fuzz/regressions/TARGET/` (inputs that once crashed). A target without a corpus is a
//! failure, so a new target cannot be added without one.

use std::path::{Path, PathBuf};

use gantry_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("reading a corpus folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_committed_corpus() {
    for (name, _) in TARGETS {
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(
            !files(&corpus).is_empty(),
            "{} is empty or missing: run the target and `cargo fuzz cmin {name}` (fuzz/README.md)",
            corpus.display()
        );
    }
}

#[test]
fn corpora_and_regressions_replay_without_a_crash() {
    for (name, target) in TARGETS {
        for folder in ["corpus", "regressions"] {
            for file in files(&fuzz_dir().join(folder).join(name)) {
                let data = std::fs::read(&file).expect("reading a corpus file");
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name} crashed on {}", file.display());
            }
        }
    }
}
