//! The replay handler: every request goes through the shared extractor
//! ([`crate::http::BedrockRequest`]: operation and model id from the raw path,
//! body, auth), then the auth check, the cassette lookup, and the recorded
//! response or a Bedrock-shaped error.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use super::prepared::{Prepared, PreparedBody, prepare_one};
use super::stream::frame_stream;
use super::{MissReport, ServedRequest, Shared};
use crate::cassette::{Match, ReceivedBody};
use crate::http::{BedrockError, BedrockRequest};
use crate::ids::Service;

/// The router: every request goes to [`handle`].
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    crate::http::app(handle, shared)
}

/// 404 for a request that is none of the table's operations.
fn unknown_operation(method: &str, path: &str) -> BedrockError {
    let prefixes: Vec<String> = Service::ALL
        .iter()
        .map(|s| format!("{} at `{}/`", s, s.path_prefix()))
        .collect();
    BedrockError::unknown_operation(format!(
        "labcheck replay serves the operations of the Bedrock service models ({}; `labcheck operations` lists them); not {method} `{path}`",
        prefixes.join(", ")
    ))
}

async fn handle(State(st): State<Arc<Shared>>, req: BedrockRequest) -> Response {
    let request_id = st.request_id();
    if let Some(resp) = super::openai::handle(&st, &req, &request_id) {
        return resp;
    }
    let mut entry = ServedRequest::of(&req);
    let Some(route) = &req.route else {
        let err =
            unknown_operation(req.method.as_str(), req.uri.path()).with_request_id(request_id);
        entry.status = err.status.as_u16();
        st.log(entry);
        return err.into_response();
    };
    let op = route.operation();
    let model_id = route.model_id().to_string();
    let params = route.params();
    if let Err(err) = req.require_auth() {
        let err = err.with_request_id(request_id);
        entry.status = err.status.as_u16();
        st.log(entry);
        return err.into_response();
    }
    let (method, body) = (&req.method, &req.body);
    let received = ReceivedBody::parse(body).without_idempotency_tokens(op);
    let mut found = st
        .set
        .find(op, method.as_str(), &model_id, &params, &received);
    if matches!(found, Match::Miss(_)) {
        // Recordings are scrubbed (account ids, key ids): also try what they hold.
        let scrub = crate::cassette::scrub::Scrubber::builtin();
        let scrubbed = scrub.request_body(body);
        let match_id = scrub.text(&model_id);
        if scrubbed.is_some() || match_id != model_id {
            let received = ReceivedBody::parse(scrubbed.as_deref().unwrap_or(body))
                .without_idempotency_tokens(op);
            let params = params
                .iter()
                .map(|(k, v)| (k.clone(), scrub.text(v)))
                .collect();
            if let hit @ Match::Hit(_) =
                st.set
                    .find(op, method.as_str(), &match_id, &params, &received)
            {
                found = hit;
            }
        }
    }
    let at = match found {
        // A recorded sequence answers in order; a single answer is itself.
        Match::Hit(at) => st.sequence.next(st.set.sequences(), at),
        Match::Miss(_) if st.capture.is_some() => {
            return captured(&st, op, &model_id, &params, body, entry, request_id);
        }
        Match::Miss(miss) => {
            let message = format!(
                "labcheck replay: no interaction in `{}` matches {}: {} (hint: fix the request, or re-record with `labcheck record`)",
                st.label,
                super::misses::what_arrived(op, &model_id, &params),
                miss.summary()
            );
            let err = BedrockError::validation(message.clone()).with_request_id(request_id);
            entry.status = err.status.as_u16();
            st.log(entry);
            let report = MissReport {
                operation: op,
                method: method.to_string(),
                model_id,
                params,
                body: st.misses.body_text(body),
                nearest_file: miss.nearest.as_ref().map(|n| n.file.clone()),
                nearest_interaction: miss.nearest.as_ref().map(|n| n.interaction.clone()),
                differences: miss.differences,
                diff: miss.diff,
                message,
            };
            st.misses.push(report);
            return err.into_response();
        }
    };
    respond(&st, st.prepared.get(at), entry, request_id)
}

/// Capture mode: the miss answered from the template (and kept).
fn captured(
    st: &Arc<Shared>,
    op: crate::ids::Operation,
    model_id: &str,
    params: &std::collections::BTreeMap<String, String>,
    body: &[u8],
    mut entry: ServedRequest,
    request_id: String,
) -> Response {
    let Some(capture) = &st.capture else {
        return BedrockError::validation("capture mode is off".to_string()).into_response();
    };
    let it = capture.answer(op, model_id, params, body);
    match prepare_one(&it, super::CAPTURED) {
        Ok(prepared) => respond(st, &prepared, entry, request_id),
        Err(problem) => {
            let err = BedrockError::validation(format!(
                "labcheck capture: the template answer for {op} `{model_id}` cannot be sent: {problem}"
            ))
            .with_request_id(request_id);
            entry.status = err.status.as_u16();
            st.log(entry);
            err.into_response()
        }
    }
}

/// Sends a prepared answer, logging it (streams: frame times as they go).
fn respond(
    st: &Arc<Shared>,
    prepared: &Prepared,
    mut entry: ServedRequest,
    request_id: String,
) -> Response {
    entry.interaction = Some(prepared.name.to_string());
    entry.cassette = Some(prepared.file.to_string());
    entry.status = prepared.status.as_u16();
    let body = match &prepared.body {
        PreparedBody::Full(bytes) => {
            st.log(entry);
            Body::from(bytes.clone())
        }
        PreparedBody::Stream(frames) => {
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
    if !prepared.has_request_id
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_operation_names_every_replayed_operation() {
        let e = unknown_operation("POST", "/model/x/count-tokenz");
        assert_eq!(e.status.as_u16(), 404);
        assert_eq!(
            e.message,
            "labcheck replay serves the operations of the Bedrock service models (bedrock-runtime at `/`, bedrock at `/bedrock/`, bedrock-agent at `/bedrock-agent/`, bedrock-agent-runtime at `/bedrock-agent-runtime/`; `labcheck operations` lists them); not POST `/model/x/count-tokenz`"
        );
    }
}
