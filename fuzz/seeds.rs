//! The seed corpora of the fuzz targets, computed from the repository: the
//! bundled labs' and the test fixtures' cassettes, `lab.toml` files and
//! notebooks as they are, and event-stream bodies made by labcheck's own encoder
//! (`encode_event`, what `serve` sends) from the streams of the bundled
//! cassettes. `examples/fuzz_seeds.rs` writes them under `fuzz/corpus/`;
//! `tests/fuzz_corpus.rs` checks the committed files still match.

// Each includer uses only some of these items.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use labcheck::replay::stream::encode_event;

/// One seed file: `fuzz/corpus/<target>/<name>`.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
    /// The repository file it comes from (for messages).
    pub from: PathBuf,
}

/// Where cassette and `lab.toml` seeds are collected, relative to the root.
const SOURCES: [&str; 2] = ["labs", "tests/fixtures"];

/// The directories whose `*.json` files are cassettes (everything else under
/// `tests/fixtures` is not: outcome files, grade outputs).
fn is_cassette(rel: &Path) -> bool {
    rel.extension().is_some_and(|e| e == "json")
        && rel
            .parent()
            .is_some_and(|p| p.ends_with("cassettes") || p.ends_with("record/planted"))
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `labs/4.1-x/cassettes/a.json` → `labs--4.1-x--cassettes--a.json`.
fn seed_name(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("--")
}

/// The first byte of an `event_stream` input: the operation's index in
/// `Operation::MODEL_CALLS` (low 2 bits) and the chunk size (other bits, 0 = one chunk).
pub fn stream_prefix(op: labcheck::ids::Operation, chunk: u8) -> u8 {
    let index = labcheck::ids::Operation::MODEL_CALLS
        .iter()
        .position(|o| *o == op)
        .expect("an operation of MODEL_CALLS");
    (chunk << 2) | index as u8
}

/// All seeds, in a stable order.
pub fn seeds(root: &Path) -> Vec<Seed> {
    let mut out = Vec::new();
    for source in SOURCES {
        for path in files_under(&root.join(source)) {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_path_buf();
            let target = if is_cassette(&rel) {
                "cassette"
            } else if rel.file_name().is_some_and(|n| n == "lab.toml") {
                "lab_toml"
            } else if rel.extension().is_some_and(|e| e == "ipynb") {
                "notebook"
            } else {
                continue;
            };
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push(Seed {
                target,
                name: seed_name(&rel),
                bytes,
                from: rel,
            });
        }
    }
    // Event-stream bodies: each streamed answer of the bundled labs, once in
    // one chunk and once in 13-byte chunks (frames split mid-prelude).
    for path in files_under(&root.join("labs")) {
        let rel = path
            .strip_prefix(root)
            .expect("under the root")
            .to_path_buf();
        if !is_cassette(&rel) {
            continue;
        }
        let cassette = labcheck::cassette::load_file(&path)
            .unwrap_or_else(|e| panic!("a bundled cassette loads: {e}"));
        for it in &cassette.interactions {
            let Some(stream) = &it.response.stream else {
                continue;
            };
            let op = it.request.operation;
            // The `event_stream` target decodes the runtime's model streams;
            // other services' streams (InvokeAgent, …) are cassette seeds only.
            if !labcheck::ids::Operation::MODEL_CALLS.contains(&op) {
                continue;
            }
            let mut body = Vec::new();
            for (seq, ev) in stream.iter().enumerate() {
                let frame = encode_event(op, ev, seq).expect("a bundled event encodes");
                body.extend_from_slice(&frame);
            }
            for chunk in [0u8, 13] {
                let mut bytes = vec![stream_prefix(op, chunk)];
                bytes.extend_from_slice(&body);
                let stem = seed_name(&rel.with_extension(""));
                out.push(Seed {
                    target: "event_stream",
                    name: format!("{stem}--{}--chunk{chunk}.bin", it.name),
                    bytes,
                    from: rel.clone(),
                });
            }
        }
    }
    out
}
