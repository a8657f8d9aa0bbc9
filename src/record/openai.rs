//! Recording (and live use of) Bedrock's OpenAI-compatible API: requests
//! under `/openai/v1/` are forwarded to the upstream with the author's Bedrock
//! API key (`Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK`, never SigV4:
//! it is what the `openai` client sends), streamed back as they arrive, and
//! captured: a JSON body, or server-sent events with the delay before each.
//! What is written is scrubbed (the key is a known secret of the scrubber,
//! and the `Authorization` header is never kept) into `openai.json`, in the
//! cassette's `openai` list ([`super::openai_store`]); repeated requests form
//! recorded sequences as for Bedrock operations ([`super::sequence`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use super::budget::{self, Tokens};
use super::proxy::Shared;
use super::sequence::canonical;
use super::store::Saved;
use super::{ProxyProblem, ProxyRole, RecordMode};
use crate::cassette::openai::BASE_PATH;
use crate::cassette::{OpenAiInteraction, OpenAiRequest, OpenAiResponse, SseEvent};
use crate::http::{BedrockRequest, Slot};
use crate::replay::ServedRequest;
use crate::replay::openai::{below_base, error_response, request_body};

/// Whether `req` is for the OpenAI-compatible API.
pub(super) fn is_openai(req: &BedrockRequest) -> bool {
    below_base(req.uri.path(), None).is_some()
}

fn parse(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    )
}

pub(super) async fn handle(st: Arc<Shared>, req: BedrockRequest) -> Response {
    let path = below_base(req.uri.path(), req.uri.query()).unwrap_or_default();
    let method = req.method.as_str().to_string();
    let body = &req.body;
    let parsed = request_body(&req.headers, body);
    // As stored: scrubbed (matching tries it too, as replay does).
    let mut stored_body = parsed.clone();
    if let Some(v) = stored_body.as_mut() {
        st.scrubber.value(v);
    }
    let mut entry = ServedRequest::of(&req);
    if let Some(model) = parsed
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
    {
        entry.model_id = st.scrubber.text(model);
    }
    let slot = st.served.push(entry);
    // Record modes answer what the lab's cassettes already hold from them.
    if let (ProxyRole::Record(mode), Some(replay)) = (st.role, &st.replay) {
        let hit = st
            .existing
            .find_openai(&method, &path, parsed.as_ref())
            .or_else(|_| {
                st.existing
                    .find_openai(&method, &path, stored_body.as_ref())
            })
            .ok();
        if let Some(at) = hit {
            let file = &st.existing.files()[at.file];
            if !(mode == RecordMode::NewEpisodes
                && super::handler::stale(&file.cassette.meta.recorded_at, st.max_age))
            {
                let replayed = http::Request::builder()
                    .method(method.as_str())
                    .uri(format!("{}{}", replay.endpoint(), req.path_and_query()))
                    .header(header::AUTHORIZATION, "Bearer labcheck-record")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Full::new(body.clone()));
                let (name, fname) = (st.existing.openai(at).name.clone(), file.name.clone());
                st.served.update(slot, |e| {
                    e.interaction = Some(name);
                    e.cassette = Some(fname);
                });
                return match replayed {
                    Ok(r) => forward(st, r, slot, None).await,
                    Err(e) => server_error(&e.to_string()),
                };
            }
        }
    }
    let Some(token) = st.settings.bearer_token.clone() else {
        st.error(ProxyProblem::NoBearerToken);
        st.served.update(slot, |e| e.status = 401);
        return error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "labcheck proxy: no Bedrock API key to forward with (hint: export AWS_BEARER_TOKEN_BEDROCK)",
        );
    };
    if st.role == ProxyRole::Live {
        let want = parsed.as_ref().map_or(0, requested_tokens);
        if let Err(exhausted) = st.settings.budget.admit(want) {
            st.served.update(slot, |e| e.status = 400);
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &exhausted.to_string(),
            );
        }
    }
    let mut upstream = http::Request::builder()
        .method(method.as_str())
        .uri(format!("{}{}", st.upstream.base, req.path_and_query()));
    for (name, value) in &req.headers {
        if matches!(name.as_str(), "content-type" | "accept" | "user-agent") {
            upstream = upstream.header(name, value);
        }
    }
    let auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()));
    let upstream = match auth {
        Ok(mut auth) => {
            auth.set_sensitive(true);
            upstream
                .header(header::AUTHORIZATION, auth)
                .body(Full::new(body.clone()))
        }
        Err(_) => {
            return server_error("the Bedrock API key is not a valid header value");
        }
    };
    let recorded = OpenAiRequest {
        method: method.clone(),
        path,
        headers: st.scrubber.headers(
            req.headers
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "content-type" | "accept"))
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
        ),
        body: stored_body,
    };
    match upstream {
        Ok(r) => forward(st, r, slot, Some(recorded)).await,
        Err(e) => server_error(&e.to_string()),
    }
}

fn server_error(message: &str) -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        None,
        &format!("labcheck proxy: {message}"),
    )
}

/// The largest output a request asks for (Chat Completions or Responses).
fn requested_tokens(body: &Value) -> u64 {
    ["/max_completion_tokens", "/max_output_tokens"]
        .iter()
        .filter_map(|p| body.pointer(p).and_then(Value::as_u64))
        .chain([budget::requested_tokens(body)])
        .max()
        .unwrap_or(0)
}

/// Usage an OpenAI-shaped body or event reports (Chat Completions'
/// `prompt_tokens`/`completion_tokens`, Responses' `input_tokens`/`output_tokens`).
fn usage(v: &Value) -> Option<Tokens> {
    let u = v
        .get("usage")
        .or_else(|| v.pointer("/response/usage"))
        .filter(|u| u.is_object())?;
    let n = |a: &str, b: &str| u.get(a).or_else(|| u.get(b)).and_then(Value::as_u64);
    Some(Tokens {
        input: n("prompt_tokens", "input_tokens").unwrap_or(0),
        output: n("completion_tokens", "output_tokens").unwrap_or(0),
    })
}

/// An answer being captured: its chunks and when each arrived.
struct Captured {
    status: u16,
    headers: Vec<(String, String)>,
    started: Instant,
    chunks: Vec<(Bytes, Instant)>,
}

/// Sends `req`, streams the answer back as it arrives and, at its end,
/// records it (`recorded` is the scrubbed request) or meters it (live).
async fn forward(
    st: Arc<Shared>,
    req: http::Request<Full<Bytes>>,
    slot: Slot,
    recorded: Option<OpenAiRequest>,
) -> Response {
    let resp = match st.client.request(req).await {
        Ok(r) => r,
        Err(e) => {
            let message = format!("upstream `{}` failed: {e}", st.upstream.base);
            st.error(ProxyProblem::Upstream {
                upstream: st.upstream.base.clone(),
                source: e,
            });
            st.served.update(slot, |e| e.status = 502);
            return error_response(StatusCode::BAD_GATEWAY, "server_error", None, &message);
        }
    };
    let status = resp.status();
    st.served.update(slot, |e| e.status = status.as_u16());
    let (parts, incoming) = resp.into_parts();
    let captured = Captured {
        status: status.as_u16(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect(),
        started: Instant::now(),
        chunks: Vec::new(),
    };
    let state = (incoming, Some((recorded, captured)), st);
    let stream = futures_util::stream::unfold(state, move |(mut body, mut cap, st)| async move {
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let now = Instant::now();
                    if let Some((_, c)) = cap.as_mut() {
                        c.chunks.push((data.clone(), now));
                    }
                    st.served.update(slot, |e| e.frames_sent.push(now));
                    return Some((Ok::<Bytes, Infallible>(data), (body, cap, st)));
                }
                Some(Err(e)) => {
                    st.error(ProxyProblem::BrokeOff(e));
                    return None;
                }
                None => {
                    if let Some((req, c)) = cap.take() {
                        finish(&st, req, c).await;
                    }
                    return None;
                }
            }
        }
    });
    super::handler::relayed(status, &parts.headers, Body::from_stream(stream))
}

/// Server-sent events in `chunks`, each with the delay since the previous
/// event (the first: since the answer began), taken when the chunk that
/// completed it arrived.
pub(crate) fn parse_sse(chunks: &[(Bytes, Instant)], started: Instant) -> Vec<SseEvent> {
    let mut events = Vec::new();
    let mut pending = String::new();
    let mut last = started;
    for (bytes, at) in chunks {
        pending.push_str(&String::from_utf8_lossy(bytes).replace("\r\n", "\n"));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            let (mut event, mut data) = (None, Vec::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim_start().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() && event.is_none() {
                // A comment or keep-alive: no event.
                continue;
            }
            let text = data.join("\n");
            let data = serde_json::from_str(&text).unwrap_or(Value::String(text));
            let delay = at.saturating_duration_since(last);
            last = *at;
            events.push(SseEvent {
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                event,
                data,
            });
        }
    }
    events
}

async fn finish(st: &Arc<Shared>, request: Option<OpenAiRequest>, c: Captured) {
    let sse = c
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("text/event-stream"));
    let (body, events) = if sse {
        (None, Some(parse_sse(&c.chunks, c.started)))
    } else {
        let bytes: Vec<u8> = c
            .chunks
            .iter()
            .flat_map(|(b, _)| b.iter().copied())
            .collect();
        (parse(&bytes), None)
    };
    if st.role == ProxyRole::Live {
        let used = body
            .iter()
            .chain(events.iter().flatten().map(|e| &e.data))
            .filter_map(usage)
            .next_back();
        if let Some(used) = used {
            st.settings.budget.spend(&st.lab, used);
        }
        return;
    }
    let (ProxyRole::Record(mode), Some(request)) = (st.role, request) else {
        return;
    };
    let has_message = body
        .as_ref()
        .and_then(|b| b.pointer("/error/message"))
        .is_some_and(Value::is_string);
    if matches!(c.status, 401 | 403 | 429) || c.status >= 500 || (c.status >= 400 && !has_message) {
        st.error(ProxyProblem::OpenAiNotKept {
            path: format!("{BASE_PATH}{}", request.path),
            status: c.status,
        });
        return;
    }
    let mut response = OpenAiResponse {
        status: c.status,
        headers: st
            .scrubber
            .headers(c.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        body,
        sse: events,
    };
    if let Some(b) = response.body.as_mut() {
        st.scrubber.value(b);
    }
    if let Some(events) = response.sse.as_mut() {
        let mut data: Vec<Value> = events
            .iter_mut()
            .map(|e| std::mem::take(&mut e.data))
            .collect();
        st.scrubber.values(&mut data);
        for (e, d) in events.iter_mut().zip(data) {
            e.data = d;
        }
    }
    let it = OpenAiInteraction {
        name: String::new(),
        request,
        response,
        times: 1,
    };
    let key = format!(
        "openai {} {} {}",
        it.request.method,
        it.request.path,
        it.request.body.as_ref().map(canonical).unwrap_or_default()
    );
    let Some(earlier) = st.calls.earlier(key.clone()) else {
        return;
    };
    let summary = format!(
        "{} {BASE_PATH}{} -> {}",
        it.request.method, it.request.path, c.status
    );
    let store = st.store.clone();
    let replace = mode != RecordMode::Once;
    let saved = tokio::task::spawn_blocking(move || {
        super::openai_store::save_openai(&store, it, replace, earlier)
    })
    .await;
    if earlier == 0 && matches!(saved, Ok(Ok(Saved::AlreadyThere(_)))) {
        st.calls.disown(key);
    }
    match saved {
        Ok(Ok(Saved::Written(path) | Saved::AlreadyThere(path))) => {
            if st.settings.progress {
                eprintln!(
                    "labcheck record: {}: {summary} -> {}",
                    st.lab,
                    path.display()
                );
            }
        }
        Ok(Err(e)) => st.error(ProxyProblem::Write(e)),
        Err(e) => st.error(ProxyProblem::WriterDied(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sse_events_are_split_across_chunks_with_their_delays() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let chunks = vec![
            (Bytes::from_static(b"data: {\"a\":1}\n\nda"), at(10)),
            (Bytes::from_static(b"ta: {\"a\":2}\n"), at(50)),
            (
                Bytes::from_static(b"\n: keep-alive\n\nevent: done\ndata: [DONE]\n\n"),
                at(80),
            ),
        ];
        let events = parse_sse(&chunks, t0);
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.delay_ms, e.event.clone(), e.data.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (10, None, serde_json::json!({"a": 1})),
                (70, None, serde_json::json!({"a": 2})),
                (0, Some("done".to_string()), serde_json::json!("[DONE]")),
            ]
        );
    }

    #[test]
    fn token_counts_follow_the_openai_shapes() {
        let chat = serde_json::json!({"usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        assert_eq!(
            usage(&chat),
            Some(Tokens {
                input: 3,
                output: 4
            })
        );
        let done = serde_json::json!({"type": "response.completed",
            "response": {"usage": {"input_tokens": 5, "output_tokens": 6}}});
        assert_eq!(
            usage(&done),
            Some(Tokens {
                input: 5,
                output: 6
            })
        );
        assert_eq!(
            requested_tokens(&serde_json::json!({"max_completion_tokens": 70})),
            70
        );
    }
}
