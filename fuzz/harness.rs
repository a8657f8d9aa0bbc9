//! The bodies of labcheck's fuzz targets, shared by the libFuzzer targets
//! (`fuzz/fuzz_targets/*.rs`, via `#[path]`) and by the stable regression
//! test over the committed corpora (`tests/fuzz_corpus.rs`), so a corpus file
//! replayed under `cargo test` runs exactly what the fuzzer ran.
//!
//! A panic anywhere here is a finding: no `catch_unwind`. Besides "no panic",
//! each target checks a property the loaders promise (see each function).

// Each includer uses only some of these functions.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use labcheck::cassette::{Cassette, CassetteError, StreamEvent};
use labcheck::content::LabPage;
use labcheck::diagnostic::{Diagnostic, Severity};
use labcheck::ids::Operation;
use labcheck::record::{CaptureError, decode_event_stream};
use labcheck::replay::stream::encode_event;
use labcheck::spec::{Lab, SpecError};

/// Where a fuzzed cassette claims to come from (messages only; never read).
pub const CASSETTE_PATH: &str = "fuzz/cassettes/input.json";
/// The lab directory a fuzzed `lab.toml` claims to be in (never read).
pub const LAB_DIR: &str = "fuzz/labs/input";

/// The bundled labs' pages, the fixed pages a fuzzed `lab.toml` is checked against.
pub const PAGES: [(&str, &str); 2] = [
    (
        "labs/4.1-invoke-fm-via-bedrock/lab.md",
        include_str!("../labs/4.1-invoke-fm-via-bedrock/lab.md"),
    ),
    (
        "labs/4.2-converse-api/lab.md",
        include_str!("../labs/4.2-converse-api/lab.md"),
    ),
];

fn pages() -> &'static [LabPage] {
    static PARSED: OnceLock<Vec<LabPage>> = OnceLock::new();
    PARSED.get_or_init(|| {
        PAGES
            .iter()
            .map(|(path, text)| LabPage::parse(*path, text).expect("a bundled page parses"))
            .collect()
    })
}

/// A located error rendered the way `lint` shows it, with the snippet taken
/// from `text`: positions computed from hostile bytes must stay renderable.
fn render(code: &str, message: String, file: &Path, text: &str, at: Option<(usize, usize)>) {
    let mut d = Diagnostic::new(Severity::Error, code, message, file);
    if let Some((line, column)) = at {
        d = d.at_column(text, line, column, 1);
    }
    let shown = d.render();
    assert!(
        shown.contains(code),
        "the rendering names its code: {shown}"
    );
}

/// The cassette loader (`parse_cassette`, what `run`, `serve`, `record` and
/// `lint` load files with). An error renders; a cassette that loads has
/// streams that survive replay and re-recording: every event encodes
/// (`encode_event`, what `serve` sends) and decodes (`decode_event_stream`,
/// what `record` captures) back to the same frame kinds in the same order.
pub fn cassette(data: &[u8]) -> Result<Cassette, CassetteError> {
    let path = Path::new(CASSETTE_PATH);
    let loaded = labcheck::cassette::parse_cassette(path, data);
    match &loaded {
        Err(e) => render(
            e.kind(),
            e.to_string(),
            path,
            &String::from_utf8_lossy(data),
            e.position(),
        ),
        Ok(c) => {
            for it in &c.interactions {
                let Some(stream) = &it.response.stream else {
                    continue;
                };
                let op = it.request.operation;
                let mut wire = Vec::new();
                for (seq, ev) in stream.iter().enumerate() {
                    let frame = encode_event(op, ev, seq).expect("a loaded event encodes");
                    wire.extend_from_slice(&frame);
                }
                let back = decode_event_stream(op, [wire.as_slice()])
                    .expect("frames labcheck encodes decode");
                let kinds = |s: &[StreamEvent]| -> Vec<(Option<String>, Option<String>)> {
                    s.iter()
                        .map(|e| (e.event.clone(), e.exception.clone()))
                        .collect()
                };
                assert_eq!(kinds(&back), kinds(stream), "interaction `{}`", it.name);
            }
        }
    }
    loaded
}

/// The `lab.toml` loader (`spec::parse_lab`: parse, then check against a
/// page), run against each bundled page; one result per page of [`PAGES`].
/// An error renders at its position in the file it names.
pub fn lab_toml(data: &[u8]) -> Vec<Result<Lab, SpecError>> {
    let text = String::from_utf8_lossy(data);
    pages()
        .iter()
        .zip(PAGES)
        .map(|(page, (page_path, page_text))| {
            let loaded = labcheck::spec::parse_lab(Path::new(LAB_DIR), data, page);
            match &loaded {
                Err(e) => {
                    let source = if e.file() == Path::new(page_path) {
                        page_text
                    } else {
                        &text
                    };
                    let at = Some((e.line(), e.column()));
                    render(e.kind(), e.to_string(), e.file(), source, at);
                }
                Ok(lab) => assert!(!lab.steps.is_empty(), "a loaded lab has steps"),
            }
            loaded
        })
        .collect()
}

/// The event-stream decoder `record` captures upstream answers with. The
/// first byte picks the operation (low 2 bits) and the chunk size the body
/// arrives in (the other 6 bits; 0 = one chunk); the rest is the body.
/// Chunking must not change the outcome: the body decoded in one chunk gives
/// the same events, and fails where the chunked one fails.
pub fn event_stream(data: &[u8]) -> Result<Vec<StreamEvent>, CaptureError> {
    let Some((&first, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let op = Operation::MODEL_CALLS[usize::from(first & 3)];
    let chunk = usize::from(first >> 2);
    let whole = decode_event_stream(op, [body]);
    if chunk == 0 {
        return whole;
    }
    let chunked = decode_event_stream(op, body.chunks(chunk));
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "same events whatever the chunking"),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "chunking changed the outcome: whole {whole:?}, in chunks of {chunk} {chunked:?}"
        ),
    }
    chunked
}

/// Where a fuzzed notebook claims to be (messages only; never read).
pub const NOTEBOOK_PATH: &str = "fuzz/labs/input/lab.ipynb";

/// The notebook reader (`Notebook::parse`, what `run`, `lint` and every
/// command read a `.ipynb` page with) and the page built from it. An error
/// renders at its JSON position; a notebook that parses gives a page whose
/// every heading, code block and checklist item maps back to a line that
/// exists in its cell, and whose `lint` findings all name a cell.
pub fn notebook(data: &[u8]) -> Result<LabPage, labcheck::content::NotebookError> {
    use labcheck::content::notebook::NotebookPosition;
    let path = Path::new(NOTEBOOK_PATH);
    let nb = match labcheck::content::Notebook::parse(path, data) {
        Ok(nb) => nb,
        Err(e) => {
            let text = String::from_utf8_lossy(data);
            let at = match e.position {
                NotebookPosition::Json { line, column, .. } => Some((line, column)),
                _ => None,
            };
            render(e.kind(), e.to_string(), path, &text, at);
            return Err(e);
        }
    };
    let page = LabPage::from_notebook(nb);
    let layout = page.notebook.as_ref().expect("a notebook page");
    let lines = page
        .headings
        .iter()
        .map(|h| h.line)
        .chain(page.blocks.iter().map(|b| b.line))
        .chain(page.checklist.iter().map(|c| c.line));
    for line in lines {
        let loc = layout.locate(line).expect("every page line is in a cell");
        let cell = &layout.notebook.cells[loc.number - 1];
        assert!(
            loc.line >= 1 && loc.line <= cell.source.lines().count().max(1),
            "line {line} maps into cell {} ({} lines): {loc:?}",
            loc.number,
            cell.source.lines().count()
        );
    }
    static MODELS: OnceLock<labcheck::lint::ModelTable> = OnceLock::new();
    let models = MODELS
        .get_or_init(|| labcheck::lint::ModelTable::bundled().expect("the bundled model table"));
    for d in labcheck::lint::lint_notebook_page(&page, "us-east-1", models) {
        assert!(d.cell.is_some(), "a notebook finding names its cell: {d:?}");
        drop(d.render());
    }
    Ok(page)
}
