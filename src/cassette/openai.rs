//! OpenAI-compatible interactions: the `openai` list of a cassette file, for
//! Bedrock's OpenAI-compatible endpoint (`{runtime}/openai/v1/...`: Chat
//! Completions, Responses, models list; docs/openai-compatible.md).
//!
//! They sit beside `interactions` in the same version-1 file, so a file
//! without the key loads as before:
//!
//! ```json
//! "openai": [
//!   { "name": "chat-hello",
//!     "request": { "method": "POST", "path": "/chat/completions",
//!                  "body": { "model": "openai.gpt-oss-20b-1:0", "messages": [...] } },
//!     "response": { "status": 200, "body": { "object": "chat.completion", ... } } },
//!   { "name": "chat-stream",
//!     "request": { "method": "POST", "path": "/chat/completions", "body": { ..., "stream": true } },
//!     "response": { "status": 200, "sse": [
//!         { "delay_ms": 0, "data": { "object": "chat.completion.chunk", ... } },
//!         { "delay_ms": 40, "data": "[DONE]" } ] } }
//! ]
//! ```
//!
//! - `request.path` is relative to `/openai/v1` and includes any query
//!   string; `method` is `GET` or `POST`. A request matches on method, path
//!   and body (JSON compared as a value, as for Bedrock interactions; absent
//!   matches an empty body). Identical requests form a sequence answered in
//!   order, the last repeating ([`super::sequence`]); `times` folds a run.
//! - `response` has `status`, optional `headers` (lower-case names) and
//!   exactly one of `body` (any JSON) or `sse` (status 200 only): events sent
//!   `delay_ms` after the previous one, each `data:` the compact JSON of
//!   `data` or, when `data` is a string, that text as is (`[DONE]`); an
//!   optional `event` gives the `event:` line (the Responses API names every
//!   event, Chat Completions none).
//! - An error (status >= 400) has OpenAI's shape: `{"error": {"message": "…",
//!   "type": "…", "param": …, "code": …}}`, `error.message` a string.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::matching::{Difference, json_eq};
use super::model::{is_one, one};
use super::strict;

/// Where the OpenAI-compatible API sits below a Bedrock Runtime endpoint.
pub const BASE_PATH: &str = "/openai/v1";

/// One named OpenAI-compatible request/response pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiInteraction {
    /// Unique within the file's `openai` list; shown in diagnostics.
    pub name: String,
    pub request: OpenAiRequest,
    pub response: OpenAiResponse,
    /// Consecutive identical requests this answer serves (1 when absent).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub times: u32,
}

/// What the client must send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Below `/openai/v1`, with its query, e.g. `/chat/completions`.
    pub path: String,
    /// Informative only (never matched).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "strict::headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// JSON compared as a value; absent matches an empty body.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict::optional_value"
    )]
    pub body: Option<Value>,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiResponse {
    pub status: u16,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "strict::headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (exactly one of `body` and `sse`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "strict::optional_value"
    )]
    pub body: Option<Value>,
    /// Server-sent events (exactly one of `body` and `sse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<Vec<SseEvent>>,
}

/// One server-sent event, sent `delay_ms` after the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SseEvent {
    /// Milliseconds since the previous event (or the response start).
    #[serde(deserialize_with = "strict::delay_ms")]
    pub delay_ms: u64,
    /// The `event:` line, if any (Responses API event types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The `data:` payload: JSON, or a string sent as is (`[DONE]`).
    #[serde(deserialize_with = "strict::value")]
    pub data: Value,
}

impl SseEvent {
    /// The event as it goes on the wire: `event: …\n` if named, `data: …\n\n`.
    pub fn wire(&self) -> Result<String, serde_json::Error> {
        let data = match &self.data {
            Value::String(s) => s.clone(),
            other => serde_json::to_string(other)?,
        };
        let mut out = String::with_capacity(data.len() + 32);
        if let Some(e) = &self.event {
            out.push_str("event: ");
            out.push_str(e);
            out.push('\n');
        }
        for line in data.split('\n') {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        Ok(out)
    }
}

/// A validation problem: JSON path below the list, what was expected, a hint.
pub(crate) type Problem = (String, String, Option<&'static str>);

/// Checks serde cannot express, for the `openai` list of one file.
pub(crate) fn validate(list: &[OpenAiInteraction]) -> Result<(), Problem> {
    let mut names = std::collections::HashSet::new();
    for (i, it) in list.iter().enumerate() {
        let at = |f: &str| format!("openai[{i}].{f}");
        if it.name.trim().is_empty() {
            return Err((
                at("name"),
                "empty name, expected a non-empty string".into(),
                None,
            ));
        }
        if !names.insert(it.name.as_str()) {
            return Err((
                at("name"),
                format!(
                    "duplicate interaction name `{}`, expected names unique within the file",
                    it.name
                ),
                None,
            ));
        }
        if it.times == 0 {
            return Err((at("times"), "`0`, expected at least 1".into(), None));
        }
        let req = &it.request;
        if !matches!(req.method.as_str(), "GET" | "POST") {
            return Err((
                at("request.method"),
                format!("method `{}`, expected `GET` or `POST`", req.method),
                None,
            ));
        }
        if !req.path.starts_with('/') || req.path.starts_with(BASE_PATH) {
            return Err((
                at("request.path"),
                format!(
                    "path `{}`, expected a path below `{BASE_PATH}` starting with `/`",
                    req.path
                ),
                Some("e.g. `/chat/completions`, `/responses`, `/models`"),
            ));
        }
        let resp = &it.response;
        if !(100..=599).contains(&resp.status) {
            return Err((
                at("response.status"),
                format!(
                    "status `{}`, expected an HTTP status 100..=599",
                    resp.status
                ),
                None,
            ));
        }
        for (name, value) in &resp.headers {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || axum::http::HeaderValue::from_str(value).is_err()
            {
                return Err((
                    at(&format!("response.headers.{name}")),
                    "expected a valid HTTP header name and visible-ASCII value".into(),
                    None,
                ));
            }
        }
        match (&resp.body, &resp.sse) {
            (Some(body), None) => {
                let message = body.pointer("/error/message");
                if resp.status >= 400 && !message.is_some_and(Value::is_string) {
                    return Err((
                        at("response.body"),
                        "an error without `error.message`, expected OpenAI's error shape".into(),
                        Some(
                            r#"{"error": {"message": "…", "type": "invalid_request_error", "param": null, "code": null}}"#,
                        ),
                    ));
                }
            }
            (None, Some(events)) => {
                if resp.status != 200 {
                    return Err((
                        at("response.sse"),
                        format!("events with status {}, expected status 200", resp.status),
                        None,
                    ));
                }
                for (j, ev) in events.iter().enumerate() {
                    if let Some(e) = &ev.event
                        && (e.is_empty() || e.contains(['\n', '\r']))
                    {
                        return Err((
                            at(&format!("response.sse[{j}].event")),
                            "expected a one-line event name".into(),
                            None,
                        ));
                    }
                    if let Value::String(s) = &ev.data
                        && s.contains('\r')
                    {
                        return Err((
                            at(&format!("response.sse[{j}].data")),
                            "a carriage return in data, expected text without `\\r`".into(),
                            None,
                        ));
                    }
                }
            }
            _ => {
                return Err((
                    at("response"),
                    "expected exactly one of `body` and `sse`".into(),
                    None,
                ));
            }
        }
    }
    Ok(())
}

/// Whether two recorded OpenAI requests are the same request.
pub(crate) fn same_request(a: &OpenAiRequest, b: &OpenAiRequest) -> bool {
    a.method == b.method && a.path == b.path && body_eq(a.body.as_ref(), b.body.as_ref())
}

fn body_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => json_eq(x, y),
        _ => false,
    }
}

/// Whether `recorded` answers a request with `method`, `path` (below
/// [`BASE_PATH`], with query) and parsed `body` (`None` when empty).
pub fn matches(recorded: &OpenAiRequest, method: &str, path: &str, body: Option<&Value>) -> bool {
    recorded.method.eq_ignore_ascii_case(method)
        && recorded.path == path
        && body_eq(recorded.body.as_ref(), body)
}

/// The fields in which `recorded` differs from a received request.
pub fn differences(
    recorded: &OpenAiRequest,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (field, r, g) in [
        ("method", recorded.method.as_str(), method),
        ("path", &recorded.path, path),
    ] {
        if !r.eq_ignore_ascii_case(g) {
            out.push(Difference {
                field: field.into(),
                recorded: r.into(),
                received: g.into(),
            });
        }
    }
    super::matching::json_diff("", recorded.body.as_ref(), body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sse_wire_names_the_event_and_sends_strings_as_is() {
        let ev = SseEvent {
            delay_ms: 0,
            event: Some("response.created".into()),
            data: json!({"type": "response.created"}),
        };
        assert_eq!(
            ev.wire().expect("wire"),
            "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
        );
        let done = SseEvent {
            delay_ms: 0,
            event: None,
            data: json!("[DONE]"),
        };
        assert_eq!(done.wire().expect("wire"), "data: [DONE]\n\n");
    }

    #[test]
    fn matching_is_on_method_path_and_body_value() {
        let req = OpenAiRequest {
            method: "POST".into(),
            path: "/chat/completions".into(),
            headers: BTreeMap::new(),
            body: Some(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})),
        };
        let same = json!({"messages": [{"content": "hi", "role": "user"}], "model": "m"});
        assert!(matches(&req, "POST", "/chat/completions", Some(&same)));
        assert!(!matches(&req, "POST", "/responses", Some(&same)));
        let other = json!({"messages": [{"content": "hello", "role": "user"}], "model": "m"});
        assert!(!matches(&req, "POST", "/chat/completions", Some(&other)));
        let d = differences(&req, "POST", "/chat/completions", Some(&other));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "/messages/0/content");
    }
}
