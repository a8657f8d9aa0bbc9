//! The HTTP surface: `POST /model/{modelId}/{operation}` for the four replayed
//! operations, auth check, cassette lookup, and the response or a
//! Bedrock-shaped error.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use super::error::BedrockError;
use super::prepared::PreparedBody;
use super::stream::frame_stream;
use super::{MissReport, ServedRequest, Shared};
use crate::cassette::{Match, ReceivedBody};
use crate::ids::Operation;

/// The router; every path goes through one handler so the model id is taken
/// from the raw path (a `%2F` inside the id must not split the segment).
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Split `/model/{id}/{suffix}` into the decoded model id and operation.
pub(crate) fn parse_path(path: &str) -> Option<(String, Operation)> {
    let rest = path.strip_prefix("/model/")?;
    let (raw_id, suffix) = rest.rsplit_once('/')?;
    let op = Operation::ALL
        .into_iter()
        .find(|o| o.path_suffix() == suffix)?;
    if raw_id.is_empty() || raw_id.contains('/') {
        return None;
    }
    let id = percent_decode_str(raw_id).decode_utf8().ok()?;
    Some((id.into_owned(), op))
}

/// `None` if the request is authorised, else the error to answer with.
fn check_auth(headers: &HeaderMap, request_id: &str) -> Option<BedrockError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth {
        Some(a) if a.starts_with("AWS4-HMAC-SHA256 ") => (!a.contains("/bedrock/aws4_request"))
            .then(|| BedrockError::wrong_scope(request_id.into())),
        Some(a)
            if a.strip_prefix("Bearer ")
                .is_some_and(|t| !t.trim().is_empty()) =>
        {
            None
        }
        _ => Some(BedrockError::missing_auth(request_id.into())),
    }
}

async fn handle(
    State(st): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let received_at = SystemTime::now();
    let request_id = st.request_id();
    let user_agent = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut entry = ServedRequest {
        operation: None,
        model_id: String::new(),
        user_agent,
        received_at,
        arrived,
        interaction: None,
        cassette: None,
        status: 0,
        frames_sent: Vec::new(),
    };
    let Some((model_id, op)) = parse_path(uri.path()) else {
        let err = BedrockError::unknown_operation(uri.path(), request_id);
        entry.status = err.status.as_u16();
        st.log(entry);
        return err.into_response();
    };
    entry.operation = Some(op);
    entry.model_id.clone_from(&model_id);
    if let Some(err) = check_auth(&headers, &request_id) {
        entry.status = err.status.as_u16();
        st.log(entry);
        return err.into_response();
    }
    let received = ReceivedBody::parse(&body);
    let mut found = st.set.find(op, method.as_str(), &model_id, &received);
    if matches!(found, Match::Miss(_)) {
        // Recordings are scrubbed (account ids, key ids): also try what they hold.
        let scrub = crate::cassette::scrub::Scrubber::builtin();
        let scrubbed = scrub.request_body(&body);
        let match_id = scrub.text(&model_id);
        if scrubbed.is_some() || match_id != model_id {
            let received = ReceivedBody::parse(scrubbed.as_deref().unwrap_or(&body));
            if let hit @ Match::Hit(_) = st.set.find(op, method.as_str(), &match_id, &received) {
                found = hit;
            }
        }
    }
    let at = match found {
        Match::Hit(at) => at,
        Match::Miss(miss) => {
            let message = format!(
                "labcheck replay: no interaction in `{}` matches {op} `{model_id}`: {} (hint: fix the request, or re-record with `labcheck record`)",
                st.label,
                miss.summary()
            );
            let err = BedrockError::validation(message.clone(), request_id);
            entry.status = err.status.as_u16();
            st.log(entry);
            let report = MissReport {
                operation: op,
                method: method.to_string(),
                model_id,
                body: String::from_utf8_lossy(&body).into_owned(),
                nearest_file: miss.nearest.as_ref().map(|n| n.file.clone()),
                nearest_interaction: miss.nearest.as_ref().map(|n| n.interaction.clone()),
                differences: miss.differences,
                diff: miss.diff,
                message,
            };
            st.misses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(report);
            return err.into_response();
        }
    };
    let prepared = st.prepared.get(at);
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
            let log = Arc::clone(&st);
            let on_sent = Box::new(move |_i: usize, when: Instant| log.frame_sent(slot, when));
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
    fn path_decodes_colon_and_arn_slash_in_one_segment() {
        let (id, op) =
            parse_path("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke").expect("parses");
        assert_eq!(id, "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(op, Operation::InvokeModel);
        let arn = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.x-v1%3A0/converse-stream";
        let (id, op) = parse_path(arn).expect("parses");
        assert_eq!(
            id,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0"
        );
        assert_eq!(op, Operation::ConverseStream);
    }

    #[test]
    fn path_rejects_unknown_operations_and_shapes() {
        assert_eq!(parse_path("/model/x/count-tokens"), None);
        assert_eq!(parse_path("/model//invoke"), None);
        assert_eq!(parse_path("/model/a/b/invoke"), None);
        assert_eq!(parse_path("/guardrail/x/version/1/apply"), None);
    }

    #[test]
    fn auth_accepts_bedrock_sigv4_and_bearer_only() {
        let mut h = HeaderMap::new();
        assert!(check_auth(&h, "r").is_some());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"));
        assert!(check_auth(&h, "r").is_none());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"));
        assert_eq!(
            check_auth(&h, "r").map(|e| e.code),
            Some("InvalidSignatureException")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(check_auth(&h, "r").is_none());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(
            check_auth(&h, "r").map(|e| e.code),
            Some("AccessDeniedException")
        );
    }
}
