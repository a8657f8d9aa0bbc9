//! Responses precomputed at start: status, header map and body bytes or
//! encoded frames per interaction, so serving is a lookup and a clone.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use bytes::Bytes;

use super::stream::{EncodeError, Frame, encode_stream};
use crate::cassette::{CassetteSet, Interaction, InteractionRef};
use crate::ids::Operation;

/// Headers a recording may carry that the server must compute itself.
const HOP_HEADERS: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
    "keep-alive",
];

/// An interaction whose response cannot be sent as recorded.
#[derive(Debug, thiserror::Error)]
#[error("`{file}` interaction `{interaction}`: {problem}")]
pub struct PrepareError {
    pub file: String,
    pub interaction: String,
    #[source]
    pub problem: PrepareProblem,
}

/// What is wrong with a recorded response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareProblem {
    #[error("invalid status: {0}")]
    Status(#[from] axum::http::status::InvalidStatusCode),
    #[error("invalid header name: {0}")]
    HeaderName(#[from] axum::http::header::InvalidHeaderName),
    #[error("invalid header value: {0}")]
    HeaderValue(#[from] axum::http::header::InvalidHeaderValue),
    #[error("cannot encode the body: {0}")]
    Body(#[from] serde_json::Error),
    #[error("cannot encode stream: {0}")]
    Stream(#[from] EncodeError),
}

/// One interaction's ready-to-send answer.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// Whether the recording has its own `x-amzn-requestid`.
    pub(crate) has_request_id: bool,
    pub(crate) body: PreparedBody,
    pub(crate) name: Arc<str>,
    pub(crate) file: Arc<str>,
}

#[derive(Debug)]
pub(crate) enum PreparedBody {
    Full(Bytes),
    Stream(Arc<[Frame]>),
}

/// All prepared responses, addressed like the set: `[file][index]`.
#[derive(Debug)]
pub(crate) struct PreparedSet(Vec<Vec<Prepared>>);

impl PreparedSet {
    pub(crate) fn get(&self, at: InteractionRef) -> &Prepared {
        &self.0[at.file][at.index]
    }

    /// Encode every response; an error names file and interaction.
    pub(crate) fn build(set: &CassetteSet) -> Result<PreparedSet, PrepareError> {
        let mut files = Vec::with_capacity(set.files().len());
        for f in set.files() {
            let file: Arc<str> = f.name.as_str().into();
            let mut list = Vec::with_capacity(f.cassette.interactions.len());
            for it in &f.cassette.interactions {
                let at = |problem: PrepareProblem| PrepareError {
                    file: f.name.clone(),
                    interaction: it.name.clone(),
                    problem,
                };
                let (headers, body) = prepare(it).map_err(at)?;
                list.push(Prepared {
                    status: StatusCode::from_u16(it.response.status).map_err(|e| at(e.into()))?,
                    has_request_id: headers.contains_key("x-amzn-requestid"),
                    headers,
                    body,
                    name: it.name.as_str().into(),
                    file: Arc::clone(&file),
                });
            }
            files.push(list);
        }
        Ok(PreparedSet(files))
    }
}

/// One interaction prepared on its own (capture mode's made-up answers).
pub(crate) fn prepare_one(it: &Interaction, file: &str) -> Result<Prepared, PrepareProblem> {
    let (headers, body) = prepare(it)?;
    Ok(Prepared {
        status: StatusCode::from_u16(it.response.status)?,
        has_request_id: headers.contains_key("x-amzn-requestid"),
        headers,
        body,
        name: it.name.as_str().into(),
        file: file.into(),
    })
}

/// The headers and body of one interaction's response.
fn prepare(it: &Interaction) -> Result<(HeaderMap, PreparedBody), PrepareProblem> {
    let resp = &it.response;
    let mut headers = HeaderMap::with_capacity(resp.headers.len() + 3);
    for (k, v) in &resp.headers {
        let k = k.to_ascii_lowercase();
        if HOP_HEADERS.contains(&k.as_str()) {
            continue;
        }
        let name = HeaderName::from_bytes(k.as_bytes())?;
        let value = HeaderValue::from_str(v)?;
        headers.append(name, value);
    }
    let body = match (&resp.body, &resp.stream) {
        (_, Some(events)) => {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static(
                    "application/vnd.amazon.eventstream",
                ));
            if it.request.operation == Operation::InvokeModelWithResponseStream {
                headers
                    .entry("x-amzn-bedrock-content-type")
                    .or_insert(HeaderValue::from_static("application/json"));
            }
            let frames = encode_stream(it.request.operation, events)?;
            PreparedBody::Stream(frames)
        }
        (body, None) => {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
            let bytes = match body {
                Some(b) => serde_json::to_vec(b)?,
                None => Vec::new(),
            };
            PreparedBody::Full(Bytes::from(bytes))
        }
    };
    Ok((headers, body))
}
