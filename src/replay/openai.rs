//! The OpenAI-compatible endpoint of Bedrock Runtime, replayed: requests
//! under `/openai/v1/` are answered from the cassettes' `openai` lists
//! ([`crate::cassette::openai`]) — a JSON body, or server-sent events on
//! their recorded schedule (the same timing machinery as event streams,
//! [`super::stream::frame_stream`]). Clients authenticate with a bearer token
//! (a Bedrock API key; trials get a dummy `OPENAI_API_KEY`) or SigV4. Errors
//! use OpenAI's JSON shape, so the `openai` client raises its own classes.
//! Facts and sources: docs/openai-compatible.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::stream::{Frame, frame_stream};
use super::{ServedRequest, Shared};
use crate::cassette::openai::BASE_PATH;
use crate::cassette::{CassetteSet, OpenAiInteraction, OpenAiRef};
use crate::http::{Auth, BedrockRequest};

/// One documented route of the OpenAI-compatible API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAiRoute {
    pub method: &'static str,
    /// Full path on the replay listener, e.g. `/openai/v1/chat/completions`.
    pub path: &'static str,
    /// What the OpenAI API calls it.
    pub name: &'static str,
    /// Whether it can answer with server-sent events (`"stream": true`).
    pub streams: bool,
}

/// The OpenAI-compatible routes replay and record serve, for `labcheck
/// operations` and the docs. Any other path below `/openai/v1/` a cassette
/// names is served too; these are the ones Bedrock documents.
pub static OPENAI_ROUTES: &[OpenAiRoute] = &[
    OpenAiRoute {
        method: "POST",
        path: "/openai/v1/chat/completions",
        name: "CreateChatCompletion",
        streams: true,
    },
    OpenAiRoute {
        method: "POST",
        path: "/openai/v1/responses",
        name: "CreateResponse",
        streams: true,
    },
    OpenAiRoute {
        method: "GET",
        path: "/openai/v1/models",
        name: "ListModels",
        streams: false,
    },
];

/// One line per route, `openai METHOD PATH`, as `labcheck operations` prints them.
pub fn route_lines() -> Vec<String> {
    OPENAI_ROUTES
        .iter()
        .map(|r| format!("openai {} {}", r.method, r.path))
        .collect()
}

/// The part of `path` below `/openai/v1` (with the query appended), or
/// `None` when the request is not for the OpenAI-compatible API.
pub fn below_base(path: &str, query: Option<&str>) -> Option<String> {
    let rest = path.strip_prefix(BASE_PATH)?;
    if !rest.starts_with('/') {
        return None;
    }
    Some(match query {
        Some(q) if !q.is_empty() => format!("{rest}?{q}"),
        _ => rest.to_string(),
    })
}

/// What a multipart request's random boundary becomes before matching and
/// recording (the `openai` client draws a new one per request).
pub const BOUNDARY: &str = "labcheck-boundary";

/// A request body as matched and recorded: `None` when empty, JSON when it
/// parses, else its text; a `multipart/form-data` body (`files.create`) has
/// its boundary replaced by [`BOUNDARY`].
pub fn request_body(headers: &HeaderMap, body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|ct| ct.starts_with("multipart/"))
        .and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
        })
        .map(|b| b.trim_matches('"').to_string())
        .filter(|b| !b.is_empty());
    let text = String::from_utf8_lossy(body);
    if let Some(b) = boundary {
        return Some(Value::String(text.replace(&b, BOUNDARY)));
    }
    Some(serde_json::from_slice(body).unwrap_or_else(|_| Value::String(text.into_owned())))
}

/// An OpenAI-shaped error: `{"error": {"message", "type", "param", "code"}}`.
pub fn error_response(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
) -> Response {
    let body = json!({
        "error": { "message": message, "type": kind, "param": null, "code": code }
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// One interaction's ready-to-send answer.
#[derive(Debug)]
pub(crate) struct PreparedOpenAi {
    status: StatusCode,
    headers: HeaderMap,
    body: PreparedOpenAiBody,
    name: Arc<str>,
    file: Arc<str>,
}

#[derive(Debug)]
enum PreparedOpenAiBody {
    Full(Bytes),
    Events(Arc<[Frame]>),
}

/// Every OpenAI-compatible answer of a set, prepared at start.
#[derive(Debug, Default)]
pub(crate) struct PreparedOpenAiSet(std::collections::HashMap<OpenAiRef, PreparedOpenAi>);

/// Why an OpenAI-compatible answer cannot be prepared.
#[derive(Debug, thiserror::Error)]
#[error("`{file}` openai interaction `{interaction}`: {problem}")]
pub struct PrepareOpenAiError {
    pub file: String,
    pub interaction: String,
    pub problem: String,
}

impl PreparedOpenAiSet {
    pub(crate) fn build(set: &CassetteSet) -> Result<PreparedOpenAiSet, PrepareOpenAiError> {
        let mut out = std::collections::HashMap::new();
        for (at, f, it) in set.openai_interactions() {
            let prepared = prepare(it, &f.name).map_err(|problem| PrepareOpenAiError {
                file: f.name.clone(),
                interaction: it.name.clone(),
                problem,
            })?;
            out.insert(at, prepared);
        }
        Ok(PreparedOpenAiSet(out))
    }
}

fn prepare(it: &OpenAiInteraction, file: &str) -> Result<PreparedOpenAi, String> {
    let resp = &it.response;
    let status = StatusCode::from_u16(resp.status).map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    for (k, v) in &resp.headers {
        let k = k.to_ascii_lowercase();
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "date" | "keep-alive"
        ) {
            continue;
        }
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(v).map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    let body = match (&resp.body, &resp.sse) {
        (_, Some(events)) => {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("text/event-stream; charset=utf-8"));
            let mut frames = Vec::with_capacity(events.len());
            for ev in events {
                frames.push(Frame {
                    delay: Duration::from_millis(ev.delay_ms),
                    bytes: Bytes::from(ev.wire().map_err(|e| e.to_string())?),
                });
            }
            PreparedOpenAiBody::Events(frames.into())
        }
        (body, None) => {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
            let bytes = match body {
                Some(b) => serde_json::to_vec(b).map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            PreparedOpenAiBody::Full(Bytes::from(bytes))
        }
    };
    Ok(PreparedOpenAi {
        status,
        headers,
        body,
        name: it.name.as_str().into(),
        file: file.into(),
    })
}

/// Answers `req` if it is for the OpenAI-compatible API; `None` otherwise
/// (the Bedrock operations handle it).
pub(crate) fn handle(st: &Arc<Shared>, req: &BedrockRequest, request_id: &str) -> Option<Response> {
    let path = below_base(req.uri.path(), req.uri.query())?;
    let mut entry = ServedRequest::of(req);
    let parsed = request_body(&req.headers, &req.body);
    if let Some(model) = parsed
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
    {
        entry.model_id = model.to_string();
    }
    let finish = |mut resp: Response| {
        if let Ok(v) = HeaderValue::from_str(request_id) {
            resp.headers_mut().entry("x-amzn-requestid").or_insert(v);
        }
        resp
    };
    let authorized = match req.auth() {
        Auth::Bearer(token) => !token.is_empty(),
        Auth::SigV4(sig) => sig.scope().is_some_and(|s| s.service == "bedrock"),
        _ => false,
    };
    if !authorized {
        entry.status = 401;
        st.log(entry);
        let resp = error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "missing bearer token: send `Authorization: Bearer <Amazon Bedrock API key>` (labcheck replay accepts any non-empty token)",
        );
        return Some(finish(resp));
    }
    let method = req.method.as_str();
    let found = st
        .set
        .find_openai(method, &path, parsed.as_ref())
        .or_else(|miss| {
            // Recordings are scrubbed (account ids, keys): also try what they hold.
            let mut scrubbed = parsed.clone();
            if let Some(v) = scrubbed.as_mut() {
                crate::cassette::scrub::Scrubber::builtin().value(v);
            }
            if scrubbed == parsed {
                return Err(miss);
            }
            st.set
                .find_openai(method, &path, scrubbed.as_ref())
                .map_err(|_| miss)
        });
    let at = match found {
        Ok(leader) => st.openai_sequence.next(st.set.openai_sequences(), leader),
        Err(miss) => {
            let nearest = match &miss.nearest {
                Some((file, name)) => {
                    let diffs: Vec<String> = miss
                        .differences
                        .iter()
                        .map(|d| {
                            format!(
                                "`{}` (recorded {}, received {})",
                                d.field, d.recorded, d.received
                            )
                        })
                        .collect();
                    format!(
                        "nearest is `{name}` in `{file}`; differing: {}",
                        diffs.join(", ")
                    )
                }
                None => "no OpenAI-compatible interaction is recorded".to_string(),
            };
            let message = format!(
                "labcheck replay: no interaction in `{}` matches {method} `{BASE_PATH}{path}`: {nearest} (hint: fix the request, or re-record with `labcheck record`)",
                st.label
            );
            st.push_openai_miss(format!(
                "{message}\nrequest body: {}",
                String::from_utf8_lossy(&req.body)
            ));
            entry.status = 400;
            st.log(entry);
            let resp = error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &message,
            );
            return Some(finish(resp));
        }
    };
    let Some(prepared) = st.openai.0.get(&at) else {
        // Every interaction of the set is prepared at start.
        let resp = error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            "unprepared interaction",
        );
        return Some(finish(resp));
    };
    entry.interaction = Some(prepared.name.to_string());
    entry.cassette = Some(prepared.file.to_string());
    entry.status = prepared.status.as_u16();
    let body = match &prepared.body {
        PreparedOpenAiBody::Full(bytes) => {
            st.log(entry);
            Body::from(bytes.clone())
        }
        PreparedOpenAiBody::Events(frames) => {
            let slot = st.log(entry);
            let log = Arc::clone(st);
            let on_sent = Box::new(move |_i: usize, when: Instant| {
                log.served.update(slot, |e| e.frames_sent.push(when))
            });
            Body::from_stream(frame_stream(Arc::clone(frames), st.speed, on_sent))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = prepared.status;
    *resp.headers_mut() = prepared.headers.clone();
    Some(finish(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_below_the_base_are_openai() {
        assert_eq!(
            below_base("/openai/v1/chat/completions", None).as_deref(),
            Some("/chat/completions")
        );
        assert_eq!(
            below_base("/openai/v1/models", Some("limit=2")).as_deref(),
            Some("/models?limit=2")
        );
        assert_eq!(below_base("/openai/v10/models", None), None);
        assert_eq!(below_base("/model/x/invoke", None), None);
    }

    #[test]
    fn a_multipart_boundary_is_replaced_and_json_parses() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=119e3a9b"),
        );
        let body = b"--119e3a9b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--119e3a9b--\r\n";
        assert_eq!(
            request_body(&h, body),
            Some(Value::String(
                "--labcheck-boundary\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--labcheck-boundary--\r\n".into()
            ))
        );
        let json = HeaderMap::new();
        assert_eq!(request_body(&json, br#"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(request_body(&json, b"  "), None);
    }

    #[test]
    fn route_lines_name_the_three_documented_routes() {
        assert_eq!(
            route_lines(),
            [
                "openai POST /openai/v1/chat/completions",
                "openai POST /openai/v1/responses",
                "openai GET /openai/v1/models"
            ]
        );
    }
}
