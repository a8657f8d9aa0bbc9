//! A local upstream for the setup pass-through's tests (feature
//! `test-support`): it VERIFIES each request's SigV4 signature for one set of
//! known credentials and ANY signing name and region of its credential scope
//! (IAM only for `us-east-1`, as AWS), S3 with its signed payload hash and
//! S3's URI rules, and answers verified requests by forwarding them as they
//! are to a backend (a trial's moto server), so a test sees real S3 and IAM
//! answers. A wrong key, secret or session token, a body changed after
//! signing, or an `aws-chunked` body (the pass-through re-sends plain bytes)
//! get a 403 or 400 in the service's shape.

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use http_body_util::Full;

use super::RecordError;
use super::upstream::{self, HttpClient};
use crate::http::{Auth, BedrockRequest, Server, ThreadSpec};

struct Shared {
    creds: Credentials,
    backend: String,
    client: HttpClient,
    rejected: Mutex<Vec<(u16, String)>>,
    verified: Mutex<Vec<String>>,
}

/// A SigV4-verifying stand-in for AWS's setup services on `127.0.0.1:0`.
pub struct SetupUpstream {
    shared: Arc<Shared>,
    server: Server,
}

impl SetupUpstream {
    /// Verifies requests signed with `creds`; forwards them to `backend`
    /// (`http://127.0.0.1:PORT`, no path).
    pub fn start_blocking(
        creds: Credentials,
        backend: String,
    ) -> Result<SetupUpstream, RecordError> {
        let spec = ThreadSpec {
            name: "labcheck-setup-upstream",
            port: 0,
            workers: 2,
        };
        let (server, shared) = Server::spawn_thread(spec, move || async move {
            let shared = Arc::new(Shared {
                creds,
                backend: backend.trim_end_matches('/').to_string(),
                client: upstream::client()?,
                rejected: Mutex::new(Vec::new()),
                verified: Mutex::new(Vec::new()),
            });
            Ok::<_, RecordError>((crate::http::app(handle, Arc::clone(&shared)), shared))
        })?;
        Ok(SetupUpstream { shared, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `<service> <METHOD> <path>` of each request whose signature verified.
    pub fn verified(&self) -> Vec<String> {
        self.shared
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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

/// A refusal: status, code, message.
type Refusal = (StatusCode, &'static str, String);

/// The signing name of a verified request, else why it is refused.
fn verify(st: &Shared, req: &BedrockRequest) -> Result<String, Refusal> {
    let forbidden = |code, message: String| (StatusCode::FORBIDDEN, code, message);
    let Auth::SigV4(sig) = req.auth() else {
        return Err(forbidden(
            "MissingAuthenticationToken",
            "no SigV4 Authorization header".into(),
        ));
    };
    let scope = sig.scope().ok_or_else(|| {
        forbidden(
            "IncompleteSignature",
            format!("bad credential scope `{}`", sig.credential),
        )
    })?;
    if scope.access_key != st.creds.access_key_id() {
        return Err(forbidden(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".into(),
        ));
    }
    if scope.service == "iam" && scope.region != "us-east-1" {
        return Err(forbidden(
            "SignatureDoesNotMatch",
            format!(
                "Credential should be scoped to a valid region, not `{}`",
                scope.region
            ),
        ));
    }
    if st.creds.session_token() != req.header("x-amz-security-token") {
        return Err(forbidden(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".into(),
        ));
    }
    let time = req
        .header("x-amz-date")
        .and_then(super::verify::amz_date)
        .ok_or_else(|| {
            forbidden(
                "IncompleteSignature",
                "missing or invalid X-Amz-Date".into(),
            )
        })?;
    let s3 = scope.service == "s3";
    let sha = req.header("x-amz-content-sha256");
    let body = match sha {
        Some(s) if s.starts_with("STREAMING-") => {
            return Err((
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                format!("aws-chunked body (`{s}`): the pass-through must re-send plain bytes"),
            ));
        }
        Some("UNSIGNED-PAYLOAD") => SignableBody::UnsignedPayload,
        None if s3 => {
            return Err((
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Missing required header for this request: x-amz-content-sha256".into(),
            ));
        }
        _ => SignableBody::Bytes(&req.body),
    };
    let host = req.header("host").unwrap_or_default();
    let url = format!("http://{host}{}", req.path_and_query());
    let pairs = req.headers.iter().filter_map(|(k, v)| {
        let k = k.as_str();
        (sig.signed_headers.contains(&k)
            && !matches!(k, "host" | "x-amz-date" | "x-amz-security-token"))
        .then(|| v.to_str().ok().map(|v| (k, v)))
        .flatten()
    });
    let bad = |e: String| forbidden("SignatureDoesNotMatch", e);
    let signable = SignableRequest::new(req.method.as_str(), url.as_str(), pairs, body)
        .map_err(|e| bad(e.to_string()))?;
    let mut settings = SigningSettings::default();
    if s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let identity = st.creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| bad(e.to_string()))?
        .into();
    let expected = sign(signable, &params).map_err(|e| bad(e.to_string()))?;
    if expected.signature() != sig.signature {
        return Err(bad(
            "The request signature we calculated does not match the signature you provided.".into(),
        ));
    }
    Ok(scope.service.to_string())
}

/// The refusal in the service's shape; S3's quotes the access key id of the
/// signature, as S3's own `SignatureDoesNotMatch` does.
fn error_response(service: &str, access_key: &str, (status, code, message): Refusal) -> Response {
    let body = if service == "s3" {
        format!(
            "<Error><Code>{code}</Code><Message>{message}</Message><AWSAccessKeyId>{access_key}</AWSAccessKeyId></Error>"
        )
    } else {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>"
        )
    };
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/xml"),
    );
    out
}

async fn handle(State(st): State<Arc<Shared>>, req: BedrockRequest) -> Response {
    let service = match verify(&st, &req) {
        Ok(s) => s,
        Err(refusal) => {
            st.rejected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((refusal.0.as_u16(), format!("{}: {}", refusal.1, refusal.2)));
            let (service, access_key) = match req.auth() {
                Auth::SigV4(sig) => sig
                    .scope()
                    .map(|s| (s.service.to_string(), s.access_key.to_string()))
                    .unwrap_or_default(),
                _ => Default::default(),
            };
            return error_response(&service, &access_key, refusal);
        }
    };
    st.verified
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(format!("{service} {} {}", req.method, req.uri.path()));
    let mut forwarded = http::Request::builder()
        .method(req.method.clone())
        .uri(format!("{}{}", st.backend, req.path_and_query()));
    for (k, v) in &req.headers {
        if k != header::HOST && k != header::CONTENT_LENGTH {
            forwarded = forwarded.header(k, v);
        }
    }
    let forwarded = match forwarded.body(Full::new(req.body)) {
        Ok(r) => r,
        Err(e) => {
            return error_response(
                &service,
                "",
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    e.to_string(),
                ),
            );
        }
    };
    match st.client.request(forwarded).await {
        Ok(resp) => {
            let (parts, incoming) = resp.into_parts();
            super::passthrough::relay(parts.status, &parts.headers, Body::new(incoming))
        }
        Err(e) => error_response(
            &service,
            "",
            (StatusCode::BAD_GATEWAY, "ServiceUnavailable", e.to_string()),
        ),
    }
}
