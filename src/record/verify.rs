//! A local upstream for tests (feature `test-support`): it VERIFIES each request's SigV4 signature
//! (service `bedrock`) for one set of known credentials with aws-sigv4, and
//! answers verified requests Bedrock-shaped by passing them to a
//! [`ReplayServer`]. A wrong key, a wrong secret, a missing session token or a
//! body changed after signing get 403, as real Bedrock answers them. Given a
//! Bedrock API key ([`VerifyingUpstream::start_blocking_with_bearer`]), it
//! also accepts `Authorization: Bearer <that key>` (the OpenAI-compatible
//! API's authentication) and refuses any other bearer token.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::date_time::{DateTime, Format};
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Full;

use super::RecordError;
use super::upstream::{self, HttpClient};
use crate::cassette::CassetteSet;
use crate::http::{Auth, BedrockError, BedrockRequest, Server, ThreadSpec};
use crate::replay::{ReplayOptions, ReplayServer};

struct Shared {
    creds: Credentials,
    /// The one bearer token accepted, if any.
    bearer: Option<String>,
    region: String,
    replay: ReplayServer,
    client: HttpClient,
    /// (status, reason) of every rejected request.
    rejected: Mutex<Vec<(u16, String)>>,
    verified: Mutex<usize>,
}

/// A SigV4-verifying stand-in for the Bedrock services on `127.0.0.1:0`
/// (any method; paths as replay routes them, service prefixes included).
pub struct VerifyingUpstream {
    shared: Arc<Shared>,
    server: Server,
}

impl VerifyingUpstream {
    /// Serves `set` to requests signed with `creds` for `region`.
    pub fn start_blocking(
        set: CassetteSet,
        creds: Credentials,
        region: &str,
        speed: f64,
    ) -> Result<VerifyingUpstream, RecordError> {
        Self::start_blocking_with_bearer(set, creds, None, region, speed)
    }

    /// [`start_blocking`](Self::start_blocking) that also accepts requests
    /// carrying `Authorization: Bearer <bearer>`.
    pub fn start_blocking_with_bearer(
        set: CassetteSet,
        creds: Credentials,
        bearer: Option<String>,
        region: &str,
        speed: f64,
    ) -> Result<VerifyingUpstream, RecordError> {
        let spec = ThreadSpec {
            name: "labcheck-upstream",
            port: 0,
            workers: 2,
        };
        let region = region.to_string();
        let (server, shared) = Server::spawn_thread(spec, move || async move {
            let opts = ReplayOptions {
                port: 0,
                speed,
                label: "verifying upstream".into(),
                ..ReplayOptions::default()
            };
            let shared = Arc::new(Shared {
                creds,
                bearer,
                region,
                replay: ReplayServer::start(set, opts).await?,
                client: upstream::client()?,
                rejected: Mutex::new(Vec::new()),
                verified: Mutex::new(0),
            });
            Ok::<_, RecordError>((crate::http::app(handle, Arc::clone(&shared)), shared))
        })?;
        Ok(VerifyingUpstream { shared, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Requests whose signature verified.
    pub fn verified(&self) -> usize {
        *self
            .shared
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// (status, reason) of each rejected request.
    pub fn rejected(&self) -> Vec<(u16, String)> {
        self.shared
            .rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn shutdown(mut self) {
        self.server.stop();
    }
}

/// `20261126T000000Z` as a time.
pub(super) fn amz_date(v: &str) -> Option<SystemTime> {
    let b = v.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &v[0..4],
        &v[4..6],
        &v[6..8],
        &v[9..11],
        &v[11..13],
        &v[13..15]
    );
    DateTime::from_str(&rfc, Format::DateTime)
        .ok()
        .and_then(|d| SystemTime::try_from(d).ok())
}

/// `Ok(())` if the request is signed by the known credentials, else the
/// 403 real Bedrock answers.
fn verify(st: &Shared, req: &BedrockRequest) -> Result<(), BedrockError> {
    let reject = |code, message: String| BedrockError::new(StatusCode::FORBIDDEN, code, message);
    let sig = match req.auth() {
        Auth::SigV4(sig) => sig,
        Auth::Missing => {
            return Err(reject(
                "MissingAuthenticationTokenException",
                "Authorization header is missing".into(),
            ));
        }
        Auth::Bearer(token) if st.bearer.as_deref() == Some(token) => return Ok(()),
        Auth::Bearer(_) | Auth::Other(_) => {
            return Err(reject(
                "IncompleteSignatureException",
                "not a SigV4 Authorization header".into(),
            ));
        }
    };
    let Some(scope) = sig.scope().filter(|s| s.service == "bedrock") else {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "credential scope `{}` is not `…/bedrock/aws4_request`",
                sig.credential
            ),
        ));
    };
    if scope.access_key != st.creds.access_key_id() {
        return Err(reject(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    }
    if scope.region != st.region {
        return Err(reject(
            "InvalidSignatureException",
            format!(
                "credential should be scoped to a valid region, not `{}`",
                scope.region
            ),
        ));
    }
    let time = req.header("x-amz-date").and_then(amz_date).ok_or_else(|| {
        reject(
            "IncompleteSignatureException",
            "missing or invalid X-Amz-Date".into(),
        )
    })?;
    if st.creds.session_token() != req.header("x-amz-security-token") {
        return Err(reject(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    }
    let host = req.header("host").unwrap_or_default();
    let url = format!("http://{host}{}", req.path_and_query());
    let pairs = req.headers.iter().filter_map(|(k, v)| {
        let k = k.as_str();
        (sig.signed_headers.contains(&k)
            && !matches!(k, "host" | "x-amz-date" | "x-amz-security-token"))
        .then(|| v.to_str().ok().map(|v| (k, v)))
        .flatten()
    });
    let bad = |e: String| reject("InvalidSignatureException", e);
    let signable = SignableRequest::new(
        req.method.as_str(),
        url.as_str(),
        pairs,
        SignableBody::Bytes(&req.body),
    )
    .map_err(|e| bad(e.to_string()))?;
    let identity = st.creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&st.region)
        .name("bedrock")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| bad(e.to_string()))?
        .into();
    let expected = sign(signable, &params).map_err(|e| bad(e.to_string()))?;
    if expected.signature() != sig.signature {
        return Err(reject(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.".into(),
        ));
    }
    Ok(())
}

async fn handle(State(st): State<Arc<Shared>>, req: BedrockRequest) -> Response {
    if let Err(e) = verify(&st, &req) {
        st.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((e.status.as_u16(), format!("{}: {}", e.code, e.message)));
        return e.into_response();
    }
    *st.verified.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let mut forwarded = http::Request::builder()
        .method(req.method.clone())
        .uri(format!("{}{}", st.replay.endpoint(), req.path_and_query()));
    for (k, v) in &req.headers {
        if k != header::HOST && k != header::CONTENT_LENGTH {
            forwarded = forwarded.header(k, v);
        }
    }
    let forwarded = match forwarded.body(Full::new(req.body)) {
        Ok(r) => r,
        Err(e) => return BedrockError::internal(e.to_string()).into_response(),
    };
    match st.client.request(forwarded).await {
        Ok(resp) => {
            let (parts, incoming) = resp.into_parts();
            let mut out = Response::new(Body::new(incoming));
            *out.status_mut() = parts.status;
            for (k, v) in &parts.headers {
                if k != header::CONTENT_LENGTH && k != header::TRANSFER_ENCODING {
                    out.headers_mut().append(k.clone(), v.clone());
                }
            }
            out
        }
        Err(e) => BedrockError::new(
            StatusCode::BAD_GATEWAY,
            "InternalServerException",
            e.to_string(),
        )
        .into_response(),
    }
}
