//! Every input in `fuzz/regressions/<target>/` (each a crash the fuzzer found,
//! fixed or declared) and the committed seed corpus `fuzz/corpus/<target>/`,
//! replayed through the fuzz target's own body: no panic, no hang, typed errors.

use std::path::Path;

fn replay(folder: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut replayed = 0;
    for (target, body) in polyplug_fuzz::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            eprintln!("{target}: {}", file.display());
            body(&data);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn regressions_stay_fixed() {
    replay("regressions");
}

#[test]
fn seed_corpus_runs_clean() {
    assert!(replay("corpus") > 0, "fuzz/corpus/ lost its seeds");
}
