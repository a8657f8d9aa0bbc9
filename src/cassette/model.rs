//! The serde shape of a version-1 cassette file, field by field.
//!
//! These structs mirror the JSON exactly (`deny_unknown_fields`, a field given
//! twice is an error); free-form JSON (`body`, `payload`, `headers`) goes
//! through [`super::strict`], which refuses duplicate keys and bounds
//! `delay_ms`, so those errors carry serde_json's own position. Semantic
//! checks that serde cannot express live in `load.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::strict;
use crate::ids::{Operation, Service};

/// One cassette file: provenance plus the interactions it can replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Format version; only `1` exists.
    pub version: u32,
    /// Where the data came from.
    pub meta: Meta,
    /// Request/response pairs, names unique within the file.
    pub interactions: Vec<Interaction>,
    /// OpenAI-compatible request/response pairs (`/openai/v1/...`), names
    /// unique within the list; absent in files without any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub openai: Vec<super::openai::OpenAiInteraction>,
}

/// Provenance of a cassette.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// `authored` by hand, `recorded` from real Bedrock, or `proxied` from another upstream.
    pub source: Source,
    /// The model the interactions talk to (informative).
    pub model: String,
    /// AWS region the data belongs to, e.g. `us-east-1`.
    pub region: String,
    /// RFC 3339 UTC timestamp, e.g. `2026-11-26T00:00:00Z`.
    pub recorded_at: String,
    /// The client that produced the recording, or `any`.
    pub client: String,
    /// Free text: why this exists, sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The upstream a `proxied` cassette was recorded from (required there,
    /// absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// Where a cassette's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Written by hand to the protocol.
    Authored,
    /// Captured from real Amazon Bedrock.
    Recorded,
    /// Captured through the recording proxy from an upstream that is not AWS
    /// (named in `meta.upstream`): never labelled as AWS data.
    Proxied,
}

/// One named request/response pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// Unique within the file; shown in replay diagnostics.
    pub name: String,
    /// What the client must send.
    pub request: RecordedRequest,
    /// What the server answers.
    pub response: RecordedResponse,
    /// How many consecutive identical requests this answer serves within a
    /// recorded sequence (see [`super::sequence`]); 1 when absent.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub times: u32,
}

pub(crate) fn one() -> u32 {
    1
}

pub(crate) fn is_one(n: &u32) -> bool {
    *n == 1
}

/// The request side of an interaction: what is matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The service (default `bedrock-runtime`, the only one of version-1
    /// files written before services were added).
    #[serde(default, skip_serializing_if = "Service::is_runtime")]
    pub service: Service,
    /// The operation of `service`, by its model name. Read by name alone
    /// first; the loader then resolves it in `service`.
    pub operation: Operation,
    /// HTTP method; default: the operation's, from its model.
    #[serde(default)]
    pub method: String,
    /// Decoded model id (`:` not `%3A`): the `{modelId}` label of the
    /// Bedrock Runtime invocation operations; empty for the others.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_id: String,
    /// The other URI labels and the declared query parameters the request
    /// is matched on, by their wire name (`agentId`, `knowledgeBaseId`,
    /// `byProvider`), decoded.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "strict::headers"
    )]
    pub params: BTreeMap<String, String>,
    /// Selected request headers, informative only (never matched).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "strict::headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// The request body: JSON compared as a value (key order ignored); a JSON
    /// string also matches a non-JSON body with that exact text; absent
    /// matches an empty body.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict::optional_value"
    )]
    pub body: Option<Value>,
}

/// The response side of an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers as recorded (lower-case names).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "strict::headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (exactly one of `body` and `stream`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict::optional_value"
    )]
    pub body: Option<Value>,
    /// Event-stream events (exactly one of `body` and `stream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Vec<StreamEvent>>,
}

/// One event-stream frame, sent `delay_ms` after the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamEvent {
    /// Milliseconds since the previous frame (or since the response began),
    /// at most [`strict::MAX_DELAY_MS`].
    #[serde(deserialize_with = "strict::delay_ms")]
    pub delay_ms: u64,
    /// Event type: `chunk` on the invoke stream, a Converse event name otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// In-stream exception name, lowerCamel (e.g. `modelStreamErrorException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Decoded payload: the model event (invoke stream), the Converse event
    /// object, or `{"message": …}` for an exception.
    #[serde(deserialize_with = "strict::value")]
    pub payload: Value,
}

impl StreamEvent {
    /// The frame's kind: an event or an exception (validated at load).
    pub fn kind(&self) -> FrameKind<'_> {
        match (&self.event, &self.exception) {
            (_, Some(e)) => FrameKind::Exception(e),
            (Some(e), None) => FrameKind::Event(e),
            (None, None) => FrameKind::Event(""),
        }
    }
}

/// Whether a stream frame is an event or an in-stream exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind<'a> {
    /// `:message-type: event` with this `:event-type`.
    Event(&'a str),
    /// `:message-type: exception` with this `:exception-type`.
    Exception(&'a str),
}
