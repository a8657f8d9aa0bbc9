//! A local upstream for tests: it VERIFIES each request's SigV4 signature
//! (service `bedrock`) for one set of known credentials with aws-sigv4, and
//! answers verified requests Bedrock-shaped by passing them to a
//! [`ReplayServer`]. A wrong key, a wrong secret, a missing session token or a
//! body changed after signing get 403, as real Bedrock answers them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::date_time::{DateTime, Format};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Full;

use super::RecordError;
use super::server_thread::ServerThread;
use super::upstream::{self, HttpClient};
use crate::cassette::CassetteSet;
use crate::replay::{ReplayOptions, ReplayServer};

struct Shared {
    creds: Credentials,
    region: String,
    replay: ReplayServer,
    client: HttpClient,
    /// (status, reason) of every rejected request.
    rejected: Mutex<Vec<(u16, String)>>,
    verified: Mutex<usize>,
}

/// A SigV4-verifying Bedrock Runtime stand-in on `127.0.0.1:0`.
pub struct VerifyingUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: ServerThread,
}

impl VerifyingUpstream {
    /// Serves `set` to requests signed with `creds` for `region`.
    pub fn start_blocking(
        set: CassetteSet,
        creds: Credentials,
        region: &str,
        speed: f64,
    ) -> Result<VerifyingUpstream, RecordError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("labcheck-upstream")
            .enable_all()
            .build()
            .map_err(RecordError::Start)?;
        let (listener, shared) = rt.block_on(async {
            let opts = ReplayOptions {
                port: 0,
                speed,
                label: "verifying upstream".into(),
                ..ReplayOptions::default()
            };
            let replay = ReplayServer::start(set, opts).await?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(RecordError::Start)?;
            let shared = Arc::new(Shared {
                creds,
                region: region.to_string(),
                replay,
                client: upstream::client()?,
                rejected: Mutex::new(Vec::new()),
                verified: Mutex::new(0),
            });
            Ok::<_, RecordError>((listener, shared))
        })?;
        let addr = listener.local_addr().map_err(RecordError::Start)?;
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = ServerThread::spawn(rt, listener, app, "labcheck-upstream-main")
            .map_err(RecordError::Start)?;
        Ok(VerifyingUpstream {
            addr,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
fn amz_date(v: &str) -> Option<SystemTime> {
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

/// `Ok(())` if the request is signed by the known credentials, else why not.
fn verify(
    st: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (&'static str, String)> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let auth = h("authorization").ok_or((
        "MissingAuthenticationTokenException",
        "Authorization header is missing".to_string(),
    ))?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or((
        "IncompleteSignatureException",
        "not a SigV4 Authorization header".into(),
    ))?;
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name))
            .unwrap_or_default()
    };
    let credential = field("Credential=");
    let signed: Vec<&str> = field("SignedHeaders=").split(';').collect();
    let signature = field("Signature=");
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[3] != "bedrock" || scope[4] != "aws4_request" {
        return Err((
            "InvalidSignatureException",
            format!("credential scope `{credential}` is not `…/bedrock/aws4_request`"),
        ));
    }
    if scope[0] != st.creds.access_key_id() {
        return Err((
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    }
    if scope[2] != st.region {
        return Err((
            "InvalidSignatureException",
            format!(
                "credential should be scoped to a valid region, not `{}`",
                scope[2]
            ),
        ));
    }
    let time = h("x-amz-date").and_then(amz_date).ok_or((
        "IncompleteSignatureException",
        "missing or invalid X-Amz-Date".into(),
    ))?;
    if st.creds.session_token() != h("x-amz-security-token") {
        return Err((
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ));
    }
    let host = h("host").unwrap_or_default();
    let url = format!(
        "http://{host}{}",
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    );
    let pairs = headers.iter().filter_map(|(k, v)| {
        let k = k.as_str();
        (signed.contains(&k) && !matches!(k, "host" | "x-amz-date" | "x-amz-security-token"))
            .then(|| v.to_str().ok().map(|v| (k, v)))
            .flatten()
    });
    let bad = |e: String| ("InvalidSignatureException", e);
    let signable = SignableRequest::new("POST", url.as_str(), pairs, SignableBody::Bytes(body))
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
    if expected.signature() != signature {
        return Err((
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.".into(),
        ));
    }
    Ok(())
}

async fn handle(
    State(st): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err((code, message)) = verify(&st, &uri, &headers, &body) {
        st.rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((403, format!("{code}: {message}")));
        let mut resp = (
            StatusCode::FORBIDDEN,
            serde_json::json!({ "message": message }).to_string(),
        )
            .into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
        return resp;
    }
    *st.verified.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("{}{path}", st.replay.endpoint()));
    for (k, v) in &headers {
        if k != header::HOST && k != header::CONTENT_LENGTH {
            req = req.header(k, v);
        }
    }
    let Ok(req) = req.body(Full::new(body)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match st.client.request(req).await {
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
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
