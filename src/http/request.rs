//! One request extractor for every server: [`BedrockRequest`] is the
//! request's method, URI, headers and body, when it arrived, and its
//! [`Route`] through the operation table (`None` when no row matches, so the
//! handler can still log it before answering 404). [`Auth`] reads the
//! `Authorization` header: SigV4 (with its credential scope) or a Bearer
//! token (`AWS_BEARER_TOKEN_BEDROCK`, BEDROCK-WIRE §5).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use tokio::sync::SemaphorePermit;

use super::error::BedrockError;
use super::operations::Route;

/// The largest request body any labcheck server reads: 32 MiB. Bedrock's
/// own cap for the operations served is at or below it: the service model
/// (botocore `bedrock-runtime` 2023-09-30) bounds the `body` of
/// `InvokeModel` and `InvokeModelWithResponseStream` at 25 000 000 bytes, and
/// gives `Converse`/`ConverseStream` no overall cap, while their largest
/// inline content (base64 images for Anthropic models) is bounded by the
/// provider's 32 MB request limit. A longer body is refused with a 413
/// Bedrock-shaped error ([`BedrockError::payload_too_large`]) before it is
/// read when its `Content-Length` says so, else once the limit is reached.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A body above this is large: a few large requests are read and answered at
/// once, process-wide ([`LARGE_BODIES_AT_ONCE`]), so the connection cap times
/// [`MAX_BODY_BYTES`] (gigabytes) can never be held in memory together.
pub const LARGE_BODY_BYTES: u64 = 1024 * 1024;

/// Large requests read and answered at once across every server of the
/// process; others wait their turn (small requests never wait). Their bodies
/// and the copies a miss report makes stay within a few hundred MiB.
pub const LARGE_BODIES_AT_ONCE: usize = 4;

static LARGE_BODIES: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(LARGE_BODIES_AT_ONCE);

/// Time to receive a whole body once its head is in. The header-read timeout
/// stops clients that stall in the head; this stops those that stall in the
/// body, which would otherwise hold a connection (and its slot under the
/// connection cap) forever. 32 MiB over loopback takes well under a second.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A request as every labcheck server sees it.
#[derive(Debug, Clone)]
pub struct BedrockRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Its operation and labels; `None` when no table row matches.
    pub route: Option<Route>,
    /// Monotonic time the request (with its body) was read.
    pub arrived: Instant,
    /// Wall-clock time the request was read.
    pub received_at: SystemTime,
    /// A large body's turn, held while the request (and so its body) lives.
    large: Option<Arc<SemaphorePermit<'static>>>,
}

impl BedrockRequest {
    /// Builds the request from its parts, routing it.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> BedrockRequest {
        let route = Route::find(
            method.as_str(),
            uri.path_and_query().map_or(uri.path(), |p| p.as_str()),
        );
        BedrockRequest {
            method,
            uri,
            headers,
            body,
            route,
            arrived: Instant::now(),
            received_at: SystemTime::now(),
            large: None,
        }
    }

    /// The `User-Agent` header (lossy UTF-8; empty when absent).
    pub fn user_agent(&self) -> String {
        self.headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// Path and query as sent, still percent-encoded.
    pub fn path_and_query(&self) -> &str {
        self.uri
            .path_and_query()
            .map_or(self.uri.path(), |p| p.as_str())
    }

    /// A header as text (`None` if absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Authorization` header, parsed.
    pub fn auth(&self) -> Auth<'_> {
        Auth::parse(self.header("authorization"))
    }

    /// What a Bedrock endpoint accepts without checking signatures: SigV4
    /// scoped to the route's signing name (`bedrock` when unrouted), or a
    /// non-empty Bearer token; else the 403 Bedrock answers.
    pub fn require_auth(&self) -> Result<(), BedrockError> {
        let service = self
            .route
            .as_ref()
            .map_or("bedrock", |r| r.spec.service.signing_name());
        match self.auth() {
            Auth::SigV4(sig) => match sig.scope() {
                Some(scope) if scope.service == service => Ok(()),
                _ => Err(BedrockError::wrong_scope()),
            },
            Auth::Bearer(token) if !token.is_empty() => Ok(()),
            _ => Err(BedrockError::missing_auth()),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for BedrockRequest {
    type Rejection = BedrockError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (method, uri, headers) = (
            req.method().clone(),
            req.uri().clone(),
            req.headers().clone(),
        );
        // Refuse a declared over-long body without reading a byte of it.
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(BedrockError::payload_too_large(MAX_BODY_BYTES));
        }
        // A large or unannounced (chunked) body waits for its turn.
        let unannounced = declared.is_none() && headers.contains_key(header::TRANSFER_ENCODING);
        // The wait for a turn and the read share one deadline: a request
        // never holds its connection slot longer than `BODY_READ_TIMEOUT`,
        // so clients trickling large bodies cannot starve the others.
        let deadline = tokio::time::Instant::now() + BODY_READ_TIMEOUT;
        let large = if unannounced || declared.is_some_and(|n| n > LARGE_BODY_BYTES) {
            match tokio::time::timeout_at(deadline, LARGE_BODIES.acquire()).await {
                // The semaphore is never closed.
                Ok(permit) => permit.ok().map(Arc::new),
                Err(_) => {
                    return Err(BedrockError::new(
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        "ThrottlingException",
                        format!(
                            "too many large request bodies at once (at most {LARGE_BODIES_AT_ONCE}); retry later"
                        ),
                    ));
                }
            }
        } else {
            None
        };
        // `Bytes` stops at the router's `DefaultBodyLimit` (`MAX_BODY_BYTES`);
        // every refusal is Bedrock-shaped.
        let read = tokio::time::timeout_at(deadline, Bytes::from_request(req, state));
        let body = read
            .await
            .map_err(|_| BedrockError::body_timeout(BODY_READ_TIMEOUT))?
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    BedrockError::payload_too_large(MAX_BODY_BYTES)
                } else {
                    BedrockError::new(e.status(), "ValidationException", e.body_text())
                }
            })?;
        let mut req = BedrockRequest::new(method, uri, headers, body);
        req.large = large;
        Ok(req)
    }
}

/// The `Authorization` header of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth<'a> {
    Missing,
    /// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    SigV4(SigV4<'a>),
    /// `Bearer <token>`, the token trimmed.
    Bearer(&'a str),
    /// Any other scheme.
    Other(&'a str),
}

impl<'a> Auth<'a> {
    pub fn parse(header: Option<&'a str>) -> Auth<'a> {
        let Some(h) = header else {
            return Auth::Missing;
        };
        if let Some(rest) = h.strip_prefix("AWS4-HMAC-SHA256 ") {
            let field = |name: &str| {
                rest.split(',')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix(name))
                    .unwrap_or_default()
            };
            return Auth::SigV4(SigV4 {
                credential: field("Credential="),
                signed_headers: field("SignedHeaders=").split(';').collect(),
                signature: field("Signature="),
            });
        }
        match h.strip_prefix("Bearer ") {
            Some(token) => Auth::Bearer(token.trim()),
            None => Auth::Other(h),
        }
    }
}

/// The fields of a SigV4 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4<'a> {
    /// `AKID/20261126/us-east-1/bedrock/aws4_request`.
    pub credential: &'a str,
    /// Lower-case names, e.g. `["content-type", "host", "x-amz-date"]`.
    pub signed_headers: Vec<&'a str>,
    /// Hex signature.
    pub signature: &'a str,
}

/// The parts of a credential scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    pub access_key: &'a str,
    /// `YYYYMMDD`.
    pub date: &'a str,
    pub region: &'a str,
    /// The signing name, e.g. `bedrock`.
    pub service: &'a str,
}

impl<'a> SigV4<'a> {
    /// The credential scope, `None` unless it is `key/date/region/service/aws4_request`.
    pub fn scope(&self) -> Option<CredentialScope<'a>> {
        let parts: Vec<&'a str> = self.credential.split('/').collect();
        match parts[..] {
            [access_key, date, region, service, "aws4_request"] => Some(CredentialScope {
                access_key,
                date,
                region,
                service,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(auth: Option<&'static str>) -> BedrockRequest {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(a));
        }
        BedrockRequest::new(
            Method::POST,
            Uri::from_static("/model/x/invoke"),
            h,
            Bytes::new(),
        )
    }

    #[test]
    fn auth_accepts_bedrock_sigv4_and_bearer_only() {
        let code = |a| request(a).require_auth().err().map(|e| e.code);
        assert_eq!(code(None), Some("AccessDeniedException"));
        assert_eq!(
            code(Some(
                "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"
            )),
            None
        );
        assert_eq!(
            code(Some(
                "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
            )),
            Some("InvalidSignatureException")
        );
        assert_eq!(code(Some("Bearer abc")), None);
        assert_eq!(code(Some("Bearer  ")), Some("AccessDeniedException"));
        assert_eq!(code(Some("Basic abc")), Some("AccessDeniedException"));
    }

    #[test]
    fn sigv4_fields_and_scope() {
        let Auth::SigV4(sig) = Auth::parse(Some(
            "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abcd",
        )) else {
            panic!("sigv4 expected");
        };
        assert_eq!(sig.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert_eq!(sig.signature, "abcd");
        assert_eq!(
            sig.scope(),
            Some(CredentialScope {
                access_key: "AKID",
                date: "20261126",
                region: "us-east-1",
                service: "bedrock"
            })
        );
        let Auth::SigV4(short) = Auth::parse(Some("AWS4-HMAC-SHA256 Credential=AKID/bedrock"))
        else {
            panic!("sigv4 expected");
        };
        assert_eq!(short.scope(), None);
    }

    async fn extract(body: axum::body::Body, length: Option<usize>) -> BedrockError {
        let mut req = Request::post("/model/x/invoke");
        if let Some(n) = length {
            req = req.header(header::CONTENT_LENGTH, n);
        }
        let req = req.body(body).expect("request");
        BedrockRequest::from_request(req, &())
            .await
            .expect_err("refused")
    }

    // Paused time: the 60 s pass at once, and only if a timer was armed.
    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_is_refused_at_the_body_timeout() {
        let pending = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        let started = tokio::time::Instant::now();
        let e = extract(axum::body::Body::from_stream(pending), None).await;
        assert_eq!(started.elapsed(), BODY_READ_TIMEOUT);
        assert_eq!((e.status.as_u16(), e.code), (408, "ValidationException"));
        assert_eq!(e.message, "Request body not received within 60 s");
    }

    #[tokio::test(start_paused = true)]
    async fn large_bodies_take_turns_and_small_ones_do_not_wait() {
        let large = || {
            let body = Bytes::from(vec![b' '; LARGE_BODY_BYTES as usize + 1]);
            let req = Request::post("/model/x/invoke")
                .header(header::CONTENT_LENGTH, body.len())
                .body(axum::body::Body::from(body))
                .expect("request");
            BedrockRequest::from_request(req, &())
        };
        let mut held = Vec::new();
        for _ in 0..LARGE_BODIES_AT_ONCE {
            held.push(large().await.expect("a turn"));
        }
        // A request that never gets a turn is refused at the body deadline,
        // so it cannot hold its connection slot for ever.
        let refused = large().await.expect_err("no turn within the deadline");
        assert_eq!(
            (refused.status.as_u16(), refused.code),
            (429, "ThrottlingException")
        );
        let mut waiting = std::pin::pin!(large());
        let wait = BODY_READ_TIMEOUT - std::time::Duration::from_secs(1);
        assert!(
            tokio::time::timeout(wait, &mut waiting).await.is_err(),
            "a large body was read beyond its turn"
        );
        let small = Request::post("/model/x/invoke")
            .body(axum::body::Body::from("{}"))
            .expect("request");
        BedrockRequest::from_request(small, &())
            .await
            .expect("a small body never waits");
        drop(held.pop());
        let next = tokio::time::timeout(std::time::Duration::from_millis(500), waiting).await;
        assert!(matches!(next, Ok(Ok(_))), "the next large body got no turn");
    }

    #[tokio::test]
    async fn a_declared_over_long_body_is_refused_unread() {
        // The stream would fail if polled: the refusal must come from the header.
        let unread = futures_util::stream::once(async {
            Err::<Bytes, _>(std::io::Error::other("body was read"))
        });
        let e = extract(
            axum::body::Body::from_stream(unread),
            Some(MAX_BODY_BYTES + 1),
        )
        .await;
        assert_eq!(e, BedrockError::payload_too_large(MAX_BODY_BYTES));
        assert_eq!(e.status.as_u16(), 413);
    }

    #[test]
    fn the_request_is_routed_with_its_model_id() {
        let r = request(None);
        let route = r.route.as_ref().expect("routed");
        assert_eq!(route.operation(), crate::ids::Operation::InvokeModel);
        assert_eq!(route.model_id(), "x");
        assert_eq!(r.path_and_query(), "/model/x/invoke");
    }
}
