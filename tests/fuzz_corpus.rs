//! The fuzz targets' corpora as stable regression tests: every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through the
//! same body the libFuzzer target runs (`fuzz/harness.rs`), so a finding
//! kept under `fuzz/regressions/` fails `cargo test` until it is fixed, with
//! no nightly toolchain and no libFuzzer. The seeds must also match what
//! `fuzz/seeds.rs` computes from the repository, and the bundled labs' seeds
//! must load. Workflow: docs/fuzzing.md.

#[path = "../fuzz/harness.rs"]
mod harness;
#[path = "../fuzz/seeds.rs"]
mod seeds;

use std::path::{Path, PathBuf};

use labcheck::cassette::StreamEvent;

const TARGETS: [&str; 4] = ["cassette", "lab_toml", "event_stream", "notebook"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the directory does not exist).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = root().join("fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `body` on every corpus and regression file of `target`; a panic
/// fails the test and the line before it names the file.
fn replay(target: &str, body: impl Fn(&[u8])) -> usize {
    let corpus = inputs("corpus", target);
    assert!(!corpus.is_empty(), "fuzz/corpus/{target}/ has seeds");
    let regressions = inputs("regressions", target);
    for path in corpus.iter().chain(&regressions) {
        eprintln!("{target}: {}", path.display());
        let bytes = std::fs::read(path).expect("a corpus file reads");
        body(&bytes);
    }
    corpus.len() + regressions.len()
}

#[test]
fn cassette_corpus_and_regressions_run_without_panic() {
    let n = replay("cassette", |b| drop(harness::cassette(b)));
    assert!(n >= 10, "{n} inputs");
}

#[test]
fn lab_toml_corpus_and_regressions_run_without_panic() {
    let n = replay("lab_toml", |b| drop(harness::lab_toml(b)));
    assert!(n >= 10, "{n} inputs");
}

#[test]
fn notebook_corpus_and_regressions_run_without_panic() {
    let n = replay("notebook", |b| drop(harness::notebook(b)));
    assert!(n >= 15, "{n} inputs");
}

#[test]
fn event_stream_corpus_and_regressions_run_without_panic() {
    let n = replay("event_stream", |b| drop(harness::event_stream(b)));
    assert!(n >= 2, "{n} inputs");
}

#[test]
fn committed_seeds_match_the_repository() {
    let seeds = seeds::seeds(root());
    for target in TARGETS {
        assert!(
            seeds.iter().any(|s| s.target == target),
            "seeds for `{target}`"
        );
    }
    for seed in &seeds {
        let path = root()
            .join("fuzz/corpus")
            .join(seed.target)
            .join(&seed.name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == seed.bytes,
            "{} differs from {} (or is missing): run `cargo run --example fuzz_seeds`",
            path.display(),
            seed.from.display()
        );
    }
}

#[test]
fn bundled_cassettes_load_through_the_cassette_target() {
    let mut loaded = 0;
    for seed in seeds::seeds(root()) {
        if seed.target == "cassette" && seed.from.starts_with("labs") {
            let result = harness::cassette(&seed.bytes);
            assert!(
                result.is_ok(),
                "{}: {:?}",
                seed.from.display(),
                result.err()
            );
            loaded += 1;
        }
    }
    assert!(loaded >= 5, "{loaded} bundled cassettes");
}

#[test]
fn bundled_lab_tomls_load_against_their_own_page() {
    for (i, (page, _)) in harness::PAGES.iter().enumerate() {
        let dir = Path::new(page).parent().expect("a lab directory");
        let bytes = std::fs::read(root().join(dir).join("lab.toml")).expect("lab.toml reads");
        let results = harness::lab_toml(&bytes);
        assert_eq!(results.len(), harness::PAGES.len());
        let own = &results[i];
        assert!(own.is_ok(), "{}: {:?}", dir.display(), own.as_ref().err());
        let lab = own.as_ref().expect("checked");
        assert_eq!(lab.page, Path::new(page));
        // Same outcome as the file-reading loader.
        let from_disk = labcheck::spec::load_lab(&root().join(dir)).expect("load_lab");
        assert_eq!(lab.steps.len(), from_disk.steps.len());
        assert_eq!(lab.title, from_disk.title);
    }
}

#[test]
fn a_broken_lab_toml_fails_against_every_page() {
    let results = harness::lab_toml(b"[lab]\ntitle = 1\n");
    assert!(results.iter().all(Result::is_err));
}

#[test]
fn encoded_seed_streams_decode_to_the_bundled_events() {
    let mut checked = 0;
    for seed in seeds::seeds(root()) {
        if seed.target != "event_stream" {
            continue;
        }
        let cassette = labcheck::cassette::load_file(&root().join(&seed.from)).expect("loads");
        let decoded = harness::event_stream(&seed.bytes).expect("a seed stream decodes");
        // The seed is one interaction's stream; find which by its events.
        let without_delay = |s: &[StreamEvent]| -> Vec<StreamEvent> {
            s.iter()
                .map(|e| StreamEvent {
                    delay_ms: 0,
                    ..e.clone()
                })
                .collect()
        };
        let found = cassette.interactions.iter().any(|it| {
            it.response.stream.as_deref().map(without_delay).as_ref() == Some(&decoded)
                && seed.name.contains(&format!("--{}--", it.name))
        });
        assert!(found, "{}: decoded events match its interaction", seed.name);
        checked += 1;
    }
    assert!(checked >= 4, "{checked} event-stream seeds");
}

#[test]
fn a_truncated_stream_frame_is_an_error_in_every_chunking() {
    // A prelude announcing a 10-byte frame (shorter than the 16-byte minimum).
    for chunk in [0u8, 1, 3] {
        let prefix = seeds::stream_prefix(labcheck::ids::Operation::ConverseStream, chunk);
        let mut input = vec![prefix];
        input.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(harness::event_stream(&input).is_err(), "chunk {chunk}");
    }
}
