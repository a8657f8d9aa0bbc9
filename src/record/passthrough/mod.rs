//! The setup pass-through of record and live modes: the non-Bedrock AWS
//! services a lab's setup calls (S3, IAM, STS, DynamoDB, Lambda, …) reach
//! real AWS through it, at `AWS_ENDPOINT_URL` (docs/setup-services.md,
//! "Record and live").
//!
//! A student's client signs with dummy credentials; the pass-through reads
//! the signing name and region from that signature's credential scope
//! ([`route::scope`]), discards the signature and re-signs the request with
//! the author's credentials for the service's real endpoint
//! ([`route::endpoint`]). S3 `aws-chunked` uploads are re-sent as plain bytes
//! ([`chunked`]) signed with their payload hash. Declared resource names get
//! the run's prefix on the way up and lose it on the way back ([`NameMap`]).
//! Every successful create or delete is noted in a ledger ([`Touched`]) for
//! the cleanup and the leftovers report. Nothing is recorded: replay always
//! uses moto.

mod chunked;
mod names;
mod route;

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SigningSettings, UriPathNormalizationMode,
};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use http_body_util::{BodyExt, Full, Limited};

pub use chunked::{ChunkError, Dechunked, dechunk};
pub use names::NameMap;
pub use route::{Scope, Touched};

use super::RecordError;
use super::upstream::{self, HttpClient, Upstream};
use crate::cassette::scrub;
use crate::http::{BedrockRequest, MAX_BODY_BYTES, Server, ThreadSpec};

/// A textual answer larger than this is streamed back unchanged (names not
/// restored): lists and policies are far smaller.
const REWRITE_LIMIT: usize = 8 * 1024 * 1024;

/// An error answer larger than this is not relayed (AWS's are a few KiB).
const ERROR_LIMIT: usize = 1024 * 1024;

/// What a setup pass-through needs.
#[derive(Debug, Clone)]
pub struct SetupProxySettings {
    /// The author's credentials (resolved by the caller as record mode does).
    pub credentials: Credentials,
    /// Region of a request whose scope names none.
    pub region: String,
    /// One base URL every service goes to, path as sent (tests); `None` =
    /// each service's real AWS endpoint.
    pub upstream: Option<String>,
    /// The run's prefix for declared resource names.
    pub names: NameMap,
    /// The signing names the lab may call (its `[lab] services` through
    /// [`crate::spec::services::signing_name`]); any other is refused.
    pub services: Vec<String>,
    /// The run's setup-call budget, spent by the step's calls only
    /// ([`SetupProxy::meter`]).
    pub calls: Arc<crate::record::CallBudget>,
}

struct Shared {
    settings: SetupProxySettings,
    /// The validated override, if any.
    upstream: Option<Upstream>,
    client: HttpClient,
    ledger: Mutex<Vec<Touched>>,
    /// Whether forwarded calls spend the budget (the step's, not labcheck's).
    metered: std::sync::atomic::AtomicBool,
}

/// A running setup pass-through on `127.0.0.1:0`; dropping it stops it.
pub struct SetupProxy {
    shared: Arc<Shared>,
    server: Server,
}

impl SetupProxy {
    /// Starts the pass-through on its own runtime thread; returns once bound.
    pub fn start_blocking(settings: SetupProxySettings) -> Result<SetupProxy, RecordError> {
        let upstream = settings
            .upstream
            .as_deref()
            .map(|u| Upstream::new(Some(u), &settings.region))
            .transpose()?;
        let spec = ThreadSpec {
            name: "labcheck-setup-proxy",
            port: 0,
            workers: 2,
        };
        let (server, shared) = Server::spawn_thread(spec, move || async move {
            let shared = Arc::new(Shared {
                settings,
                upstream,
                client: upstream::client()?,
                ledger: Mutex::new(Vec::new()),
                metered: std::sync::atomic::AtomicBool::new(false),
            });
            Ok::<_, RecordError>((crate::http::app(handle, Arc::clone(&shared)), shared))
        })?;
        Ok(SetupProxy { shared, server })
    }

    /// `http://127.0.0.1:PORT`, the step processes' `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The bound loopback address: where labcheck's own calls (seed, state
    /// checks, cleanup) go.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// What the ledger says is still there: every resource whose last
    /// successful call created it, except objects of a bucket deleted after
    /// them; by the name it has in the account, then the lab's
    /// (`s3 bucket lc-3fa9c1-kb-lab-documents (`kb-lab-documents` in the lab)`),
    /// so that an author deleting it by hand does not delete their own.
    pub fn outstanding(&self) -> Vec<String> {
        route::outstanding(&self.ledger())
    }

    /// A resource named as the lab names it (`S3 bucket `kb-lab-documents``)
    /// renamed as in the account, with the lab's name after it when they
    /// differ, as [`SetupProxy::outstanding`] names them.
    pub fn real_name(&self, lab_name: &str) -> String {
        route::leftover_name(&self.shared.settings.names.to_real(lab_name), lab_name)
    }

    /// Whether the calls from now on spend the run's setup-call budget: on
    /// while the step runs; off for labcheck's own seed, state checks and
    /// cleanup, which must never be refused.
    pub fn meter(&self, on: bool) {
        self.shared
            .metered
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Resources created or deleted by successful calls so far, in order.
    pub fn ledger(&self) -> Vec<Touched> {
        self.shared
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// An error answer in the service's protocol family, so the client prints
/// `An error occurred (Code) …: message`.
/// A 403 in the service's shape: what labcheck will not forward.
fn deny(service: &str, json: bool, message: &str) -> Response {
    let code = if json {
        "AccessDeniedException"
    } else {
        "AccessDenied"
    };
    refuse(StatusCode::FORBIDDEN, service, json, code, message)
}

fn refuse(status: StatusCode, service: &str, json: bool, code: &str, message: &str) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let (ctype, body) = if json {
        (
            "application/x-amz-json-1.1",
            serde_json::json!({"__type": code, "message": message}).to_string(),
        )
    } else if service == "s3" {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message></Error>",
                esc(message)
            ),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error></ErrorResponse>",
                esc(message)
            ),
        )
    };
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    out.headers_mut()
        .insert("content-type", HeaderValue::from_static(ctype));
    if json && let Ok(v) = HeaderValue::from_str(code) {
        out.headers_mut().insert("x-amzn-errortype", v);
    }
    out
}

/// Request headers never forwarded: hop-by-hop, the client's signature and
/// the SDK's bookkeeping, recomputed here or meaningless upstream.
fn dropped(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "expect"
            | "host"
            | "content-length"
            | "accept-encoding"
            | "authorization"
            | "x-amz-date"
            | "x-amz-security-token"
            | "x-amz-content-sha256"
            | "x-amz-decoded-content-length"
            | "x-amz-trailer"
            | "amz-sdk-invocation-id"
            | "amz-sdk-request"
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.contains_key("x-amz-target")
        || headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("json"))
}

fn textual(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("xml") || c.contains("json") || c.starts_with("text/"))
}

const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The query as sent, minus a presigned URL's signature, with declared names
/// in values prefixed (pairs left byte-for-byte unless a name changed).
fn real_query(query: &str, names: &NameMap) -> String {
    let sigv2 = query.split('&').any(|p| p.starts_with("AWSAccessKeyId="));
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| !route::presign_param(p.split('=').next().unwrap_or_default(), sigv2))
        .map(|p| match p.split_once('=') {
            Some((k, v)) => {
                let decoded = percent_encoding::percent_decode_str(&v.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned();
                let real = names.to_real(&decoded);
                if real == decoded {
                    p.to_string()
                } else {
                    format!(
                        "{k}={}",
                        percent_encoding::utf8_percent_encode(&real, UNRESERVED)
                    )
                }
            }
            None => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An S3 request whose body is object data (PutObject, UploadPart): never
/// rewritten, and whose answer (GetObject) is never rewritten either. The
/// query as sent: a presigned URL's signature and `response-*` overrides
/// leave it an object request.
fn s3_object_data(path: &str, query: &str) -> bool {
    let has_key = path
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(_, k)| !k.is_empty());
    let sub = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| !route::plain_s3_param(&k));
    has_key && !sub
}

/// The request body with declared names prefixed; `None` when unchanged.
fn real_body(headers: &HeaderMap, body: &[u8], names: &NameMap) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let out = if form {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let mut changed = false;
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            let real = names.to_real(v);
            changed |= &real != v;
            ser.append_pair(k, &real);
        }
        if !changed {
            return None;
        }
        ser.finish()
    } else {
        names.to_real(text)
    };
    (out != text).then(|| out.into_bytes())
}

async fn handle(State(st): State<Arc<Shared>>, req: BedrockRequest) -> Response {
    let path = req.uri.path().to_string();
    let query = req.uri.query().unwrap_or_default().to_string();
    let json = is_json(&req.headers);
    let Some(scope) = route::scope(req.header("authorization"), &query) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "",
            json,
            "MissingAuthenticationToken",
            "labcheck setup pass-through: the request has no SigV4 credential scope to tell its service (sign it, with any credentials)",
        );
    };
    if let Err(why) = route::check_scope(&scope) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "",
            json,
            "IncompleteSignature",
            &format!("labcheck setup pass-through: {why}"),
        );
    }
    let service = scope.service.as_str();
    if route::is_bedrock(service) {
        return refuse(
            StatusCode::BAD_REQUEST,
            service,
            json,
            "NotASetupService",
            &format!(
                "labcheck setup pass-through: signing name `{service}` belongs to the Bedrock proxy (set AWS_ENDPOINT_URL_BEDROCK_RUNTIME and the other Bedrock endpoint variables)"
            ),
        );
    }
    if !st.settings.services.iter().any(|s| s == service) {
        return deny(
            service,
            json,
            &format!(
                "labcheck setup pass-through: the lab does not list the service signing as `{service}`: add it to `[lab] services` (its boto3 client name) to call it in record and live modes"
            ),
        );
    }
    let names = &st.settings.names;
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let sha = req.header("x-amz-content-sha256").unwrap_or_default();
    let encodings: Vec<&str> = req
        .header("content-encoding")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let aws_chunked = sha.starts_with("STREAMING-") || encodings.contains(&"aws-chunked");
    let mut body = req.body.to_vec();
    if aws_chunked {
        match dechunk(&body, MAX_BODY_BYTES) {
            Ok(d) => {
                body = d.payload;
                for (k, v) in d.trailers {
                    if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                        headers.push((k, v));
                    }
                }
            }
            Err(e) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    service,
                    json,
                    "InvalidRequest",
                    &format!("labcheck setup pass-through: {e}"),
                );
            }
        }
    }
    let operations = route::operations(req.header("x-amz-target"), &query, &body);
    if let Some(op) = operations
        .iter()
        .find(|op| route::mints_credentials(service, op))
    {
        return deny(
            service,
            json,
            &format!(
                "labcheck setup pass-through: labcheck does not forward {service} {op} in record and live modes (it would mint or expose credentials signed by the lab author's own)"
            ),
        );
    }
    if st.metered.load(std::sync::atomic::Ordering::SeqCst)
        && let Err(spent) = st.settings.calls.take()
    {
        return deny(
            service,
            json,
            &format!("labcheck setup pass-through: {spent}"),
        );
    }
    let real_path = names.to_real(&path);
    let real_query = real_query(&query, names);
    let object_data = service == "s3" && s3_object_data(&path, &query);
    let rewritten = if names.is_empty() || object_data {
        None
    } else {
        real_body(&req.headers, &body, names)
    };
    let rewritten_some = rewritten.is_some();
    if let Some(b) = rewritten {
        body = b;
    }
    let mut had_checksum = false;
    for (k, v) in &req.headers {
        let name = k.as_str();
        if dropped(name) {
            continue;
        }
        if name == "content-encoding" {
            let rest: Vec<&str> = encodings
                .iter()
                .copied()
                .filter(|e| *e != "aws-chunked")
                .collect();
            if !rest.is_empty()
                && let Ok(v) = HeaderValue::from_str(&rest.join(","))
            {
                headers.push((k.clone(), v));
            }
            continue;
        }
        // A rewritten body's old checksums would not match it.
        if rewritten_some
            && (name == "content-md5"
                || name.starts_with("x-amz-checksum-")
                || name == "x-amz-sdk-checksum-algorithm")
        {
            had_checksum = true;
            continue;
        }
        // CopyObject and UploadPartCopy name their source bucket in a header.
        if name == "x-amz-copy-source"
            && service == "s3"
            && let Ok(text) = v.to_str()
            && let Ok(real) = HeaderValue::from_str(&names.to_real(text))
        {
            headers.push((k.clone(), real));
            continue;
        }
        headers.push((k.clone(), v.clone()));
    }
    if had_checksum {
        let crc = crc32fast::hash(&body).to_be_bytes();
        let value = aws_smithy_types::base64::encode(crc);
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.push((HeaderName::from_static("x-amz-checksum-crc32"), v));
            headers.push((
                HeaderName::from_static("x-amz-sdk-checksum-algorithm"),
                HeaderValue::from_static("CRC32"),
            ));
        }
    }
    let region = if scope.region.is_empty() {
        st.settings.region.clone()
    } else {
        scope.region.clone()
    };
    let (real_base, signing_region) = route::endpoint(service, &region);
    let base = st.upstream.as_ref().map_or(real_base, |u| u.base.clone());
    let url = if real_query.is_empty() {
        format!("{base}{real_path}")
    } else {
        format!("{base}{real_path}?{real_query}")
    };
    if st.upstream.is_none() && !route::aws_host(&url) {
        return refuse(
            StatusCode::BAD_REQUEST,
            service,
            json,
            "InvalidRequest",
            &format!(
                "labcheck setup pass-through: `{base}` is not an AWS endpoint (its host must end in `.amazonaws.com`)"
            ),
        );
    }
    let signed = signed(
        req.method.as_str(),
        &url,
        &headers,
        body.clone(),
        service,
        &signing_region,
        &st.settings.credentials,
    );
    let signed = match signed {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                service,
                json,
                "InternalFailure",
                &format!("labcheck setup pass-through cannot sign the request: {e}"),
            );
        }
    };
    let resp = match st.client.request(signed).await {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_GATEWAY,
                service,
                json,
                "ServiceUnavailable",
                &format!("labcheck setup pass-through: upstream `{base}` failed: {e}"),
            );
        }
    };
    let status = resp.status();
    if status.is_success() {
        let call = route::Call {
            service,
            method: req.method.as_str(),
            path: &real_path,
            query: &real_query,
            target: req.header("x-amz-target"),
            body: &body,
        };
        let touched = route::ledger(&call, names);
        if !touched.is_empty() {
            st.ledger
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(touched);
        }
    }
    let (mut parts, incoming) = resp.into_parts();
    let secrets = Secrets::of(&st.settings.credentials);
    for v in parts.headers.values_mut() {
        if let Ok(text) = v.to_str()
            && let Some(hidden) = secrets.hide(text)
            && let Ok(hidden) = HeaderValue::from_str(&hidden)
        {
            *v = hidden;
        }
    }
    if !names.is_empty()
        && let Some(loc) = parts.headers.get("location").and_then(|v| v.to_str().ok())
        && let Ok(v) = HeaderValue::from_str(&names.to_student(loc))
    {
        parts.headers.insert("location", v);
    }
    let length = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let error = status.as_u16() >= 400;
    // An error answer is read whole (AWS's are small), whatever its type:
    // S3's `SignatureDoesNotMatch` quotes the signing key id and canonical
    // request. A HEAD answer keeps its headers exactly (its Content-Length
    // is the object's size); object data is never rewritten.
    let limit = if error { ERROR_LIMIT } else { REWRITE_LIMIT };
    let read_whole = req.method != "HEAD"
        && (error || (textual(&parts.headers) && !object_data))
        && length.is_none_or(|n| n <= limit);
    if !read_whole {
        if error && req.method != "HEAD" {
            return refuse(
                StatusCode::BAD_GATEWAY,
                service,
                json,
                "ServiceUnavailable",
                &format!(
                    "labcheck setup pass-through: upstream error answer {status} larger than {ERROR_LIMIT} bytes, not relayed"
                ),
            );
        }
        return relay(status, &parts.headers, Body::new(incoming));
    }
    match Limited::new(incoming, limit).collect().await {
        Ok(all) => {
            let bytes = all.to_bytes();
            let body = match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    let text = secrets.hide(text).unwrap_or_else(|| text.to_string());
                    Bytes::from(names.to_student(&text))
                }
                Err(_) => bytes,
            };
            // DynamoDB's `x-amz-crc32` covers the body: botocore checks it.
            if parts.headers.contains_key("x-amz-crc32")
                && let Ok(v) = HeaderValue::from_str(&crc32fast::hash(&body).to_string())
            {
                parts.headers.insert("x-amz-crc32", v);
            }
            super::handler::relayed(status, &parts.headers, Body::from(body))
        }
        Err(e) => refuse(
            StatusCode::BAD_GATEWAY,
            service,
            json,
            "ServiceUnavailable",
            &format!(
                "labcheck setup pass-through: upstream answer broke off or exceeded {limit} bytes: {e}"
            ),
        ),
    }
}

/// The author's credentials as they may show in an answer (S3 quotes the
/// key id of a signature it rejects), and what each becomes for the client:
/// the placeholders of [`crate::cassette::scrub`].
struct Secrets(Vec<(String, &'static str)>);

impl Secrets {
    fn of(creds: &Credentials) -> Secrets {
        let mut known = vec![
            (creds.access_key_id().to_string(), scrub::ACCESS_KEY),
            (creds.secret_access_key().to_string(), scrub::REDACTED),
        ];
        known.extend(
            creds
                .session_token()
                .map(|t| (t.to_string(), scrub::REDACTED)),
        );
        // Longest first: a token could contain the key id.
        known.retain(|(k, _)| !k.is_empty());
        known.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        Secrets(known)
    }

    /// `text` with every author secret replaced; `None` when it has none.
    fn hide(&self, text: &str) -> Option<String> {
        if !self.0.iter().any(|(k, _)| text.contains(k.as_str())) {
            return None;
        }
        let mut out = text.to_string();
        for (k, with) in &self.0 {
            out = out.replace(k.as_str(), with);
        }
        Some(out)
    }
}

/// An upstream answer relayed unchanged as it streams: status and headers
/// minus hop-by-hop ones. `Content-Length` is kept (the body is the same
/// bytes): a `HEAD` answer's length is what `download_file` sizes by.
pub(in crate::record) fn relay(status: StatusCode, headers: &HeaderMap, body: Body) -> Response {
    let mut out = Response::new(body);
    *out.status_mut() = status;
    for (k, v) in headers {
        if !matches!(
            k.as_str(),
            "transfer-encoding" | "connection" | "keep-alive" | "te" | "trailer" | "upgrade"
        ) {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}

/// `method url` with `headers` and `body`, SigV4-signed for `service` in
/// `region`; S3 gets its payload hash header and its own URI rules (no
/// double encoding, no path normalisation).
fn signed(
    method: &str,
    url: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: Vec<u8>,
    service: &str,
    region: &str,
    creds: &Credentials,
) -> Result<http::Request<Full<Bytes>>, upstream::SignError> {
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    upstream::sign_request(
        method,
        url,
        headers.iter().map(|(k, v)| (k, v)),
        Bytes::from(body),
        (service, region),
        creds,
        settings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_are_prefixed_and_presigned_signatures_dropped() {
        let m = NameMap::new("lc-1-", ["kb-lab-documents"]);
        assert_eq!(
            real_query("list-type=2&prefix=kb-lab-documents%2Fa&delete", &m),
            "list-type=2&prefix=lc-1-kb-lab-documents%2Fa&delete"
        );
        assert_eq!(
            real_query(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&x-id=GetObject&X-Amz-Signature=00",
                &m
            ),
            "x-id=GetObject"
        );
        assert_eq!(
            real_query(
                "AWSAccessKeyId=AKIDEXAMPLE&Signature=x%3D&Expires=1&versionId=v",
                &m
            ),
            "versionId=v"
        );
    }

    #[test]
    fn the_authors_key_id_secret_and_token_are_hidden() {
        let creds = Credentials::new(
            "AKIDEXAMPLEAUTHOR",
            "secretEXAMPLEauthor",
            Some("tokenEXAMPLEwithAKIDEXAMPLEAUTHORinside".into()),
            None,
            "test",
        );
        let s = Secrets::of(&creds);
        assert_eq!(s.hide("<Code>NoSuchBucket</Code>"), None);
        assert_eq!(
            s.hide("<AWSAccessKeyId>AKIDEXAMPLEAUTHOR</AWSAccessKeyId> secretEXAMPLEauthor x-amz-security-token:tokenEXAMPLEwithAKIDEXAMPLEAUTHORinside").as_deref(),
            Some("<AWSAccessKeyId>AKIAXXXXXXXXXXXXXXXX</AWSAccessKeyId> REDACTED x-amz-security-token:REDACTED")
        );
    }

    #[test]
    fn bodies_are_prefixed_by_protocol_and_object_data_is_not() {
        let m = NameMap::new("lc-1-", ["KbLabBedrockRole", "kb-lab-documents"]);
        let mut form = HeaderMap::new();
        form.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let body = b"Action=PutRolePolicy&RoleName=KbLabBedrockRole&PolicyDocument=%7B%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Akb-lab-documents%2F%2A%22%7D";
        let out = String::from_utf8(real_body(&form, body, &m).expect("changed")).expect("utf8");
        assert!(out.contains("RoleName=lc-1-KbLabBedrockRole"), "{out}");
        assert!(
            out.contains("arn%3Aaws%3As3%3A%3A%3Alc-1-kb-lab-documents%2F*"),
            "{out}"
        );
        assert_eq!(real_body(&form, b"Action=GetCallerIdentity", &m), None);
        let json = HeaderMap::new();
        assert_eq!(
            real_body(&json, br#"{"TableName":"kb-lab-documents"}"#, &m).as_deref(),
            Some(br#"{"TableName":"lc-1-kb-lab-documents"}"#.as_slice())
        );
        assert!(s3_object_data("/b/docs/a.md", "x-id=PutObject"));
        assert!(s3_object_data("/b/docs/a.md", "partNumber=1&uploadId=u"));
        assert!(!s3_object_data("/b/docs/a.md", "tagging"));
        assert!(s3_object_data(
            "/b/docs/a.md",
            "AWSAccessKeyId=AKIDEXAMPLE&Signature=x%3D&Expires=1"
        ));
        assert!(s3_object_data(
            "/b/docs/a.md",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=d&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00&response-content-type=text%2Fplain"
        ));
        assert!(!s3_object_data("/b", ""));
    }
}
