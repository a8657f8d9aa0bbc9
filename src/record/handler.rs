//! Handling one proxied request: parsed like replay parses it, answered from
//! the lab's cassettes when they match (record modes `once`/`new_episodes`),
//! else re-signed and forwarded upstream; the answer is streamed back chunk by
//! chunk as it arrives while it is captured (record) or metered (live).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};

use super::capture::Capture;
use super::proxy::Shared;
use super::store::Saved;
use super::upstream;
use super::{ProxyProblem, ProxyRole, RecordMode, budget};
use crate::cassette::scrub::Scrubber;
use crate::cassette::{Interaction, Match, ReceivedBody, RecordedRequest};
use crate::http::{BedrockError, BedrockRequest, Slot};
use crate::ids::Operation;
use crate::replay::ServedRequest;

/// The request body scrubbed as a cassette stores it, and as matching sees it.
fn scrubbed_body(scrubber: &Scrubber, body: &[u8]) -> (Option<serde_json::Value>, Vec<u8>) {
    if body.iter().all(u8::is_ascii_whitespace) {
        return (None, Vec::new());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            scrubber.value(&mut v);
            let bytes = serde_json::to_vec(&v).unwrap_or_default();
            (Some(v), bytes)
        }
        Err(_) => {
            let text = scrubber.text(&String::from_utf8_lossy(body));
            let bytes = text.clone().into_bytes();
            (Some(serde_json::Value::String(text)), bytes)
        }
    }
}

pub(super) async fn handle(State(st): State<Arc<Shared>>, req: BedrockRequest) -> Response {
    if super::openai::is_openai(&req) {
        return super::openai::handle(st, req).await;
    }
    let Some(route) = &req.route else {
        return BedrockError::unknown_operation(
            "labcheck proxy forwards the operations of the Bedrock service models only (`labcheck operations` lists them)",
        )
        .into_response();
    };
    let (op, model_id) = (route.operation(), route.model_id());
    let params = route.params();
    let scrubbed_params: std::collections::BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.clone(), st.scrubber.text(v)))
        .collect();
    let (method, headers, body) = (&req.method, &req.headers, &req.body);
    let model = st.scrubber.text(model_id);
    let (mut stored_body, match_bytes) = scrubbed_body(&st.scrubber, body);
    // Idempotency tokens are fresh UUIDs per call: never stored, never compared.
    if let Some(serde_json::Value::Object(m)) = &mut stored_body {
        for t in op.def().idempotency_tokens {
            m.remove(*t);
        }
    }
    let slot = st.served.push(ServedRequest {
        model_id: model.clone(),
        ..ServedRequest::of(&req)
    });
    // Record modes replay what matches (as sent, or as scrubbed), unless the
    // match is stale (new_episodes); the replay server matches both ways too.
    let hit = || {
        let raw = st.existing.find(
            op,
            method.as_str(),
            model_id,
            &params,
            &ReceivedBody::parse(body).without_idempotency_tokens(op),
        );
        match raw {
            Match::Hit(at) => Some(at),
            Match::Miss(_) => match st.existing.find(
                op,
                method.as_str(),
                &model,
                &scrubbed_params,
                &ReceivedBody::parse(&match_bytes).without_idempotency_tokens(op),
            ) {
                Match::Hit(at) => Some(at),
                Match::Miss(_) => None,
            },
        }
    };
    if let (ProxyRole::Record(mode), Some(replay)) = (st.role, &st.replay)
        && let Some(at) = hit()
    {
        let file = &st.existing.files()[at.file];
        if !(mode == RecordMode::NewEpisodes && stale(&file.cassette.meta.recorded_at, st.max_age))
        {
            let path = req.path_and_query();
            let replayed = http::Request::builder()
                .method(method)
                .uri(format!("{}{path}", replay.endpoint()))
                .header(header::AUTHORIZATION, "Bearer labcheck-record")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let name = st.existing.interaction(at).name.clone();
            let fname = file.name.clone();
            st.served.update(slot, |e| {
                e.interaction = Some(name);
                e.cassette = Some(fname);
            });
            return match replayed {
                Ok(replayed) => forward(st, replayed, slot, op, None).await,
                Err(e) => BedrockError::internal(e.to_string()).into_response(),
            };
        }
    }
    let recorded = RecordedRequest {
        service: op.service(),
        operation: op,
        method: method.to_string(),
        model_id: model,
        params: scrubbed_params,
        headers: st.scrubber.headers(
            headers
                .iter()
                .filter(|(k, _)| {
                    matches!(k.as_str(), "content-type" | "accept")
                        || k.as_str().starts_with("x-amzn-bedrock-")
                })
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
        ),
        body: stored_body,
    };
    if st.role == ProxyRole::Live {
        let want = serde_json::from_slice(body).map_or(0, |v| budget::requested_tokens(&v));
        if let Err(exhausted) = st.settings.budget.admit(want) {
            st.served.update(slot, |e| e.status = 400);
            return BedrockError::validation(exhausted.to_string()).into_response();
        }
    }
    let target = upstream::Target {
        method: method.as_str(),
        service: op.service(),
        path_and_query: req.path_and_query(),
    };
    let signed = upstream::signed_request_for(
        &st.upstream,
        target,
        headers,
        body.clone(),
        &st.creds,
        &st.region,
    );
    match signed {
        Ok(signed) => forward(Arc::clone(&st), signed, slot, op, Some(recorded)).await,
        Err(e) => {
            let message = format!("labcheck proxy cannot sign the request: {e}");
            st.error(ProxyProblem::Sign(e));
            BedrockError::internal(message).into_response()
        }
    }
}

pub(super) fn stale(recorded_at: &str, max_age: Option<Duration>) -> bool {
    let Some(max) = max_age else { return false };
    crate::cassette::age(recorded_at, SystemTime::now().into()).is_some_and(|age| age > max)
}

/// Sends `req`, streams the answer back as it arrives and, at its end,
/// records (`recorded` is the scrubbed request) or meters it.
async fn forward(
    st: Arc<Shared>,
    req: http::Request<Full<Bytes>>,
    slot: Slot,
    op: Operation,
    recorded: Option<RecordedRequest>,
) -> Response {
    let resp = match st.client.request(req).await {
        Ok(r) => r,
        Err(e) => {
            let message = format!(
                "labcheck proxy: upstream `{}` failed: {e}",
                st.upstream.base
            );
            st.error(ProxyProblem::Upstream {
                upstream: st.upstream.base.clone(),
                source: e,
            });
            st.served.update(slot, |e| e.status = 502);
            return BedrockError::new(StatusCode::BAD_GATEWAY, "InternalServerException", message)
                .into_response();
        }
    };
    let started = Instant::now();
    let status = resp.status();
    st.served.update(slot, |e| e.status = status.as_u16());
    let (parts, incoming) = resp.into_parts();
    let header_pairs: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let capture = recorded.map(|r| (r, Capture::new(op, status.as_u16(), header_pairs, started)));
    let state = (incoming, capture, st, false);
    let stream =
        futures_util::stream::unfold(state, move |(mut body, mut capture, st, done)| async move {
            if done {
                return None;
            }
            loop {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        let now = Instant::now();
                        if let Some((_, c)) = capture.as_mut() {
                            c.push(&data, now);
                        }
                        st.served.update(slot, |e| e.frames_sent.push(now));
                        return Some((Ok::<Bytes, Infallible>(data), (body, capture, st, false)));
                    }
                    Some(Err(e)) => {
                        st.error(ProxyProblem::BrokeOff(e));
                        return None;
                    }
                    None => {
                        if let Some((req, c)) = capture.take() {
                            finish(&st, req, c).await;
                        }
                        return None;
                    }
                }
            }
        });
    relayed(status, &parts.headers, Body::from_stream(stream))
}

/// The client's response for an upstream answer relayed as it streams:
/// upstream's status and headers, minus the hop-by-hop and length headers
/// (the body is re-framed by our server).
pub(super) fn relayed(status: StatusCode, headers: &axum::http::HeaderMap, body: Body) -> Response {
    let mut out = Response::new(body);
    *out.status_mut() = status;
    for (k, v) in headers {
        if !matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive"
        ) {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}

/// The end of a forwarded answer: meter it (live) or scrub and write it (record).
async fn finish(st: &Arc<Shared>, request: RecordedRequest, mut c: Capture) {
    if st.role == ProxyRole::Live {
        st.settings.budget.spend(&st.lab, c.usage());
        return;
    }
    let ProxyRole::Record(mode) = st.role else {
        return;
    };
    if let Some(why) = c.broken.take() {
        st.error(ProxyProblem::Undecodable {
            operation: request.operation,
            source: why,
        });
        return;
    }
    let status = c.status();
    if matches!(status, 401 | 403 | 429)
        || status >= 500
        || (status >= 400 && !c.response_has_errortype())
    {
        st.error(ProxyProblem::NotKept {
            operation: request.operation,
            status,
        });
        return;
    }
    let mut response = c.response();
    response.headers = st.scrubber.headers(
        response
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if let Some(b) = response.body.as_mut() {
        st.scrubber.value(b);
    }
    if let Some(events) = response.stream.as_mut() {
        let mut payloads: Vec<serde_json::Value> = events
            .iter_mut()
            .map(|e| std::mem::take(&mut e.payload))
            .collect();
        st.scrubber.values(&mut payloads);
        for (e, p) in events.iter_mut().zip(payloads) {
            e.payload = p;
        }
    }
    let frames = response.stream.as_ref().map_or(0, Vec::len);
    let it = Interaction {
        name: String::new(),
        request,
        response,
        times: 1,
    };
    let summary = format!(
        "{} `{}` -> {status}",
        it.request.operation, it.request.model_id
    );
    let store = st.store.clone();
    let replace = mode != RecordMode::Once;
    // A request recorded before in this trial continues its sequence.
    let key = super::sequence::request_key(&it);
    let Some(earlier) = st.calls.earlier(key.clone()) else {
        return;
    };
    let saved =
        tokio::task::spawn_blocking(move || store.save_sequenced(it, replace, earlier)).await;
    if earlier == 0 && matches!(saved, Ok(Ok(Saved::AlreadyThere(_)))) {
        st.calls.disown(key);
    }
    match saved {
        Ok(Ok(Saved::Written(path))) => {
            if st.settings.progress {
                eprintln!(
                    "labcheck record: {}: {summary}{} -> {}",
                    st.lab,
                    if frames > 0 {
                        format!(", {frames} frames")
                    } else {
                        String::new()
                    },
                    path.display()
                );
            }
        }
        Ok(Ok(Saved::AlreadyThere(path))) => {
            if st.settings.progress {
                eprintln!(
                    "labcheck record: {}: {summary}: already in {}",
                    st.lab,
                    path.display()
                );
            }
        }
        Ok(Err(e)) => st.error(ProxyProblem::Write(e)),
        Err(e) => st.error(ProxyProblem::WriterDied(e)),
    }
}
