//! Cassettes: the fixture format replay serves from, loading, validation,
//! request matching and atomic writes.
//!
//! # Format (version 1)
//!
//! A lab's cassettes live in `labs/<id>/cassettes/*.json`, one file per step
//! or group of interactions. Files load in name order. Each file is:
//!
//! ```json
//! {
//!   "version": 1,
//!   "meta": {
//!     "source": "authored",
//!     "model": "us.anthropic.claude-sonnet-4-20250514-v1:0",
//!     "region": "us-east-1",
//!     "recorded_at": "2026-11-26T00:00:00Z",
//!     "client": "any",
//!     "note": "why this exists, sources"
//!   },
//!   "interactions": [
//!     {
//!       "name": "invoke-hello",
//!       "request": {
//!         "operation": "InvokeModel",
//!         "method": "POST",
//!         "model_id": "us.anthropic.claude-sonnet-4-20250514-v1:0",
//!         "headers": { "accept": "application/json" },
//!         "body": { "anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
//!                   "messages": [{ "role": "user", "content": "hi" }] }
//!       },
//!       "response": {
//!         "status": 200,
//!         "headers": { "x-amzn-bedrock-input-token-count": "8" },
//!         "body": { "type": "message", "content": [{ "type": "text", "text": "Hello" }] }
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! - `meta.source` is `authored` (written by hand to the protocol),
//!   `recorded` (captured from real Bedrock, never anything else) or
//!   `proxied` (captured through `labcheck record` from another upstream,
//!   named in `meta.upstream`, which only `proxied` has);
//!   `recorded_at` is RFC 3339 UTC; `client` is `any` or a client id.
//! - `request.service` is `bedrock-runtime` (the default, so files written
//!   before services existed load unchanged), `bedrock`, `bedrock-agent` or
//!   `bedrock-agent-runtime`; `request.operation` is an operation of that
//!   service's model, by name (`labcheck operations` lists them; e.g.
//!   `InvokeModel`, `GetInferenceProfile`, `Retrieve`, `InvokeAgent`).
//!   `method` defaults to the operation's and must equal it when given.
//!   `model_id` is the decoded `{modelId}` label (`:` not `%3A`) of the
//!   runtime's model operations, and absent for operations without one.
//!   `params` holds the other URI labels and the declared query parameters,
//!   decoded, by wire name (`{"agentId": "A1", "sessionId": "s-1"}`,
//!   `{"byProvider": "anthropic"}`); every label must be there. Request
//!   `headers` are informative and never matched.
//! - A request matches on service and operation, method, model id, params
//!   and body: JSON compares
//!   as a value (key order, spacing and `1` vs `1.0` ignored); a JSON string
//!   also matches a non-JSON body of that exact text; a missing body matches
//!   an empty one. Idempotency tokens (`clientToken`, … — botocore fills them
//!   with a fresh UUID per call) are never compared and may not be recorded.
//!   The first matching interaction (file order, then position)
//!   answers. A miss reports the nearest interaction and the differing fields.
//! - `response` has `status`, optional `headers` (lower-case names) and exactly
//!   one of `body` (any JSON) or `stream`. Error responses (status >= 400) must
//!   carry `x-amzn-errortype`; their body is `{"message": "…"}`.
//! - `stream` (streaming operations, status 200) is a list of
//!   `{ "delay_ms": N, "event": "…", "payload": {…} }`, `delay_ms` counted from
//!   the previous frame. On `InvokeModelWithResponseStream` the event is
//!   `chunk` and `payload` is the decoded model event (replay wraps it as
//!   `{"bytes": base64, "p": padding}`); on `ConverseStream` it is a Converse
//!   event name (`messageStart`, `contentBlockStart`, `contentBlockDelta`,
//!   `contentBlockStop`, `messageStop`, `metadata`) and `payload` the event
//!   object. Other services' streams (InvokeAgent, RetrieveAndGenerateStream,
//!   InvokeFlow, …) take the event names of their model (`chunk`, `trace`,
//!   `returnControl`; `output`, `citation`, `guardrail`; …) and the event
//!   object as `payload`, a top-level blob member (InvokeAgent's
//!   `chunk.bytes`) written as its text (replay base64-encodes it). An
//!   in-stream exception is `{ "delay_ms": N, "exception":
//!   "modelStreamErrorException", "payload": { "message": "…" } }`.
//! - Names of interactions are unique within a file. Unknown fields are errors,
//!   and so is a key given twice in any object (serde_json would keep the last).
//! - `delay_ms` is at most 600000 (10 minutes, [`MAX_DELAY_MS`]).
//! - Interactions with identical requests form a recorded sequence, answered
//!   in order with the last answer repeating; `"times": N` (default 1) makes
//!   one interaction answer N calls in a row ([`sequence`]).
//! - An optional `openai` list holds OpenAI-compatible interactions
//!   (`/openai/v1/...`), matched on method, path and body ([`openai`]).
//! - The file is UTF-8; every error names its line and column.

pub mod age;
mod error;
mod load;
mod locate;
pub mod matching;
mod model;
pub mod openai;
mod routed;
pub mod scrub;
pub mod sequence;
mod strict;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use age::{age, whole_days};
pub use error::CassetteError;
pub use load::{json_files, load_file, parse_cassette};
pub use matching::{Difference, InteractionRef, Match, Miss, Nearest, ReceivedBody, json_eq};
pub use model::{
    Cassette, FrameKind, Interaction, Meta, RecordedRequest, RecordedResponse, Source, StreamEvent,
};
pub use openai::{OpenAiInteraction, OpenAiRequest, OpenAiResponse, SseEvent};
pub use sequence::{SequenceState, Sequences};
pub use strict::MAX_DELAY_MS;

/// The marker `labcheck capture` puts where a model's answer goes in a
/// cassette skeleton; `labcheck lint` reports every interaction still holding
/// it (`cassette-placeholder`).
pub const PLACEHOLDER: &str = "LABCHECK_PLACEHOLDER";

use crate::ids::Operation;

/// One loaded cassette file.
#[derive(Debug, Clone)]
pub struct CassetteFile {
    /// Path it was loaded from.
    pub path: PathBuf,
    /// File name, used in diagnostics.
    pub name: String,
    /// The validated content.
    pub cassette: Cassette,
}

/// All cassettes of one directory, indexed by (operation, model id).
#[derive(Debug, Clone, Default)]
pub struct CassetteSet {
    files: Vec<CassetteFile>,
    /// Model id -> interactions for it, with their operation (lookup by `&str`, no allocation).
    index: HashMap<String, Vec<(Operation, InteractionRef)>>,
    /// Recorded sequences among `interactions`, by first member.
    sequences: Sequences<InteractionRef>,
    /// Recorded sequences among the `openai` lists, by first member.
    openai_sequences: Sequences<OpenAiRef>,
}

/// Where an OpenAI-compatible interaction lives in a [`CassetteSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenAiRef {
    /// Index into [`CassetteSet::files`].
    pub file: usize,
    /// Index into that file's `openai` list.
    pub index: usize,
}

/// Why an OpenAI-compatible request matched nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiMiss {
    /// Nearest interaction (same path preferred, then fewest differences):
    /// file name and interaction name.
    pub nearest: Option<(String, String)>,
    pub differences: Vec<Difference>,
}

impl CassetteSet {
    /// Load and validate every `*.json` of `dir`, in file-name order.
    /// The first invalid file stops the load with an error naming it.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<CassetteSet, CassetteError> {
        let mut files = Vec::new();
        for path in load::json_files(dir.as_ref())? {
            let cassette = load_file(&path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(CassetteFile {
                path,
                name,
                cassette,
            });
        }
        Ok(Self::from_files(files))
    }

    /// Build a set from already-validated files (kept in the given order).
    pub fn from_files(files: Vec<CassetteFile>) -> CassetteSet {
        let mut index: HashMap<String, Vec<(Operation, InteractionRef)>> = HashMap::new();
        for (fi, f) in files.iter().enumerate() {
            for (ii, it) in f.cassette.interactions.iter().enumerate() {
                let at = InteractionRef {
                    file: fi,
                    index: ii,
                };
                index
                    .entry(it.request.model_id.clone())
                    .or_default()
                    .push((it.request.operation, at));
            }
        }
        let sequences = Sequences::build(
            files.iter().enumerate().flat_map(|(fi, f)| {
                f.cassette
                    .interactions
                    .iter()
                    .enumerate()
                    .map(move |(ii, it)| {
                        (
                            InteractionRef {
                                file: fi,
                                index: ii,
                            },
                            it,
                        )
                    })
            }),
            |it| (it.request.operation, it.request.model_id.clone()),
            |a, b| sequence::same_request(&a.request, &b.request),
            |it| it.times,
        );
        let openai_sequences = Sequences::build(
            files.iter().enumerate().flat_map(|(fi, f)| {
                f.cassette.openai.iter().enumerate().map(move |(ii, it)| {
                    (
                        OpenAiRef {
                            file: fi,
                            index: ii,
                        },
                        it,
                    )
                })
            }),
            |it| it.request.path.clone(),
            |a, b| openai::same_request(&a.request, &b.request),
            |it| it.times,
        );
        CassetteSet {
            files,
            index,
            sequences,
            openai_sequences,
        }
    }

    /// The recorded sequences among the Bedrock interactions.
    pub fn sequences(&self) -> &Sequences<InteractionRef> {
        &self.sequences
    }

    /// The recorded sequences among the OpenAI-compatible interactions.
    pub fn openai_sequences(&self) -> &Sequences<OpenAiRef> {
        &self.openai_sequences
    }

    /// The OpenAI-compatible interaction at `at`. Panics if `at` did not come from this set.
    pub fn openai(&self, at: OpenAiRef) -> &OpenAiInteraction {
        &self.files[at.file].cassette.openai[at.index]
    }

    /// Every OpenAI-compatible interaction with its location, in load order.
    pub fn openai_interactions(
        &self,
    ) -> impl Iterator<Item = (OpenAiRef, &CassetteFile, &OpenAiInteraction)> {
        self.files.iter().enumerate().flat_map(|(fi, f)| {
            f.cassette.openai.iter().enumerate().map(move |(ii, it)| {
                (
                    OpenAiRef {
                        file: fi,
                        index: ii,
                    },
                    f,
                    it,
                )
            })
        })
    }

    /// The first OpenAI-compatible interaction answering `method` `path`
    /// (below `/openai/v1`, with query) with `body` (`None` when empty), or
    /// the nearest one and what differs.
    pub fn find_openai(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<OpenAiRef, OpenAiMiss> {
        let mut best: Option<((bool, usize), OpenAiRef, Vec<Difference>)> = None;
        for (at, _, it) in self.openai_interactions() {
            if openai::matches(&it.request, method, path, body) {
                return Ok(at);
            }
            let diffs = openai::differences(&it.request, method, path, body);
            let rank = (it.request.path != path, diffs.len());
            if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                best = Some((rank, at, diffs));
            }
        }
        Err(match best {
            Some((_, at, differences)) => OpenAiMiss {
                nearest: Some((
                    self.files[at.file].name.clone(),
                    self.openai(at).name.clone(),
                )),
                differences,
            },
            None => OpenAiMiss {
                nearest: None,
                differences: Vec::new(),
            },
        })
    }

    /// The loaded files, in load order.
    pub fn files(&self) -> &[CassetteFile] {
        &self.files
    }

    /// The interaction at `at`. Panics if `at` did not come from this set.
    pub fn interaction(&self, at: InteractionRef) -> &Interaction {
        &self.files[at.file].cassette.interactions[at.index]
    }

    fn request(&self, at: InteractionRef) -> &RecordedRequest {
        &self.interaction(at).request
    }

    /// Every interaction with its location, in load order.
    pub fn interactions(
        &self,
    ) -> impl Iterator<Item = (InteractionRef, &CassetteFile, &Interaction)> {
        self.files.iter().enumerate().flat_map(|(fi, f)| {
            f.cassette
                .interactions
                .iter()
                .enumerate()
                .map(move |(ii, it)| {
                    (
                        InteractionRef {
                            file: fi,
                            index: ii,
                        },
                        f,
                        it,
                    )
                })
        })
    }

    /// Number of interactions across all files (OpenAI-compatible ones included).
    pub fn len(&self) -> usize {
        self.files
            .iter()
            .map(|f| f.cassette.interactions.len() + f.cassette.openai.len())
            .sum()
    }

    /// Whether the set has no interactions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Cassette {
    /// Write pretty JSON to `path` atomically: a temp file in the same
    /// directory, fsynced, then renamed over `path`. Readers see the old file
    /// or the new one, never a torn write.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<(), CassetteError> {
        let path = path.as_ref();
        let err = |source| CassetteError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| err(e.into()))?;
        json.push(b'\n');
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        tmp.write_all(&json).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        // The rename is durable only once the directory entry is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_round_trips_through_load_dir_and_leaves_no_temp_files() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cassettes");
        let set = CassetteSet::load_dir(&fixtures).expect("fixtures load");
        let dir = tempfile::tempdir().expect("tempdir");
        for f in set.files() {
            f.cassette
                .write_atomic(dir.path().join(&f.name))
                .expect("write");
        }
        // Overwrite one in place: the rename replaces, never appends.
        set.files()[0]
            .cassette
            .write_atomic(dir.path().join(&set.files()[0].name))
            .expect("rewrite");
        let again = CassetteSet::load_dir(dir.path()).expect("reload");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), set.files().len(), "stray files: {names:?}");
        for (a, b) in set.files().iter().zip(again.files()) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.cassette, b.cassette);
        }
        assert_eq!(again.len(), set.len());
    }

    #[test]
    fn missing_dir_is_a_read_dir_error_naming_it() {
        let e = CassetteSet::load_dir("/nonexistent/labcheck-cassettes").expect_err("missing");
        assert!(
            e.to_string()
                .starts_with("cannot read cassette dir `/nonexistent/labcheck-cassettes`"),
            "{e}"
        );
    }
}
