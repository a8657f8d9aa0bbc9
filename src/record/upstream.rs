//! The upstream Bedrock services: their URL and provenance, the HTTP(S)
//! client, and SigV4 re-signing of a forwarded request with the author's
//! credentials. Real AWS has one host per service
//! (`<endpoint-prefix>.<region>.amazonaws.com`), reached with the service's
//! path prefix stripped; another upstream (a local test server, another
//! labcheck) gets the path as the client sent it, prefix included.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::RecordError;
use crate::http::Route;
use crate::ids::Service;

/// Why an upstream URL is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamUrlProblem {
    #[error("{0}")]
    Parse(#[from] http::uri::InvalidUri),
    #[error("it has no host")]
    NoHost,
    #[error("the scheme must be `http` or `https`")]
    Scheme,
    #[error("it must not have a path")]
    Path,
}

/// Why a forwarded request could not be built and signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    #[error("invalid request: {0}")]
    Request(#[from] http::Error),
    #[error(transparent)]
    Signing(#[from] aws_sigv4::http_request::SigningError),
    #[error("invalid signing parameters: {0}")]
    Params(#[from] aws_sigv4::sign::v4::signing_params::BuildError),
}

/// Request headers forwarded upstream (the rest are the client's own
/// signing and SDK bookkeeping, recomputed or dropped).
fn forwarded(name: &str) -> bool {
    matches!(name, "content-type" | "accept" | "user-agent") || name.starts_with("x-amzn-bedrock-")
}

/// Where forwarded requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Scheme and authority, no trailing slash, e.g. `https://bedrock-runtime.us-east-1.amazonaws.com`.
    pub base: String,
    /// Whether this is real AWS (only then are cassettes `recorded`).
    pub is_aws: bool,
}

impl Upstream {
    /// `url`, or real Bedrock Runtime in `region` when `None`.
    pub fn new(url: Option<&str>, region: &str) -> Result<Upstream, RecordError> {
        let base = match url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("https://bedrock-runtime.{region}.amazonaws.com"),
        };
        let bad = |problem| RecordError::Upstream {
            url: base.clone(),
            problem,
        };
        let uri: http::Uri = base
            .parse()
            .map_err(|e| bad(UpstreamUrlProblem::Parse(e)))?;
        let host = uri.host().ok_or_else(|| bad(UpstreamUrlProblem::NoHost))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(bad(UpstreamUrlProblem::Scheme));
        }
        if uri.path().len() > 1 {
            return Err(bad(UpstreamUrlProblem::Path));
        }
        let is_aws = uri.scheme_str() == Some("https")
            && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
        Ok(Upstream { base, is_aws })
    }
}

pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP/1.1 client for `http` and `https` upstreams (native roots).
pub(crate) fn client() -> Result<HttpClient, RecordError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(RecordError::Start)?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// Resolves the signing credentials once.
pub(crate) async fn credentials(
    source: &super::CredentialSource,
) -> Result<Credentials, RecordError> {
    use aws_credential_types::provider::ProvideCredentials as _;
    match source {
        super::CredentialSource::Static(c) => Ok(c.clone()),
        super::CredentialSource::DefaultChain => {
            // Resolved once per process (the chain reads process-wide state:
            // env, profile, SSO cache), reused while more than 5 min from expiry.
            static CACHE: std::sync::Mutex<Option<Credentials>> = std::sync::Mutex::new(None);
            let fresh = |c: &Credentials| {
                c.expiry()
                    .is_none_or(|t| t > SystemTime::now() + std::time::Duration::from_secs(300))
            };
            if let Some(c) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
                && fresh(c)
            {
                return Ok(c.clone());
            }
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let provider = config
                .credentials_provider()
                .ok_or(RecordError::Credentials(
                    super::CredentialsProblem::NoProvider,
                ))?;
            let creds = provider
                .provide_credentials()
                .await
                .map_err(|e| RecordError::Credentials(e.into()))?;
            *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some(creds.clone());
            Ok(creds)
        }
    }
}

impl Upstream {
    /// The URL a request for `service` with the client's `path_and_query`
    /// goes to: on real AWS the service's own host (the runtime host's
    /// `bedrock-runtime.` swapped for the service's endpoint prefix) and the
    /// path without the service prefix; elsewhere the base and the path as sent.
    pub fn url_for(&self, service: Service, path_and_query: &str) -> String {
        let runtime_host = format!("://{}.", Service::BedrockRuntime.endpoint_prefix());
        match self.base.split_once(&runtime_host) {
            Some((scheme, rest)) if self.is_aws => format!(
                "{scheme}://{}.{rest}{}",
                service.endpoint_prefix(),
                Route::strip_prefix(path_and_query)
            ),
            _ => format!("{}{path_and_query}", self.base),
        }
    }
}

/// The upstream request for a client's `POST` to Bedrock Runtime
/// (`path_and_query`, `body`): [`signed_request_for`] the runtime.
pub fn signed_request(
    upstream: &Upstream,
    path_and_query: &str,
    headers: &http::HeaderMap,
    body: Bytes,
    creds: &Credentials,
    region: &str,
) -> Result<http::Request<Full<Bytes>>, SignError> {
    let target = Target {
        method: "POST",
        service: Service::BedrockRuntime,
        path_and_query,
    };
    signed_request_for(upstream, target, headers, body, creds, region)
}

/// What a forwarded request asks for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub method: &'a str,
    pub service: Service,
    /// As the client sent it (service prefix included).
    pub path_and_query: &'a str,
}

/// The upstream request for `target` and `body`: client headers filtered,
/// then SigV4-signed for the service's signing name (`bedrock`) in `region`.
pub fn signed_request_for(
    upstream: &Upstream,
    target: Target<'_>,
    headers: &http::HeaderMap,
    body: Bytes,
    creds: &Credentials,
    region: &str,
) -> Result<http::Request<Full<Bytes>>, SignError> {
    let url = upstream.url_for(target.service, target.path_and_query);
    sign_request(
        target.method,
        &url,
        headers.iter().filter(|(name, _)| forwarded(name.as_str())),
        body,
        (target.service.signing_name(), region),
        creds,
        SigningSettings::default(),
    )
}

/// `method url` with `headers` and `body`, SigV4-signed with `creds` for
/// `(signing name, region)` under `settings`: the Bedrock proxy and the
/// setup pass-through build every forwarded request with it.
pub(crate) fn sign_request<'h>(
    method: &str,
    url: &str,
    headers: impl IntoIterator<Item = (&'h http::HeaderName, &'h http::HeaderValue)>,
    body: Bytes,
    (service, region): (&str, &str),
    creds: &Credentials,
    settings: SigningSettings,
) -> Result<http::Request<Full<Bytes>>, SignError> {
    let mut req = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let mut req = req.body(Full::new(body.clone()))?;
    let pairs: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let signable =
        SignableRequest::new(method, url, pairs.into_iter(), SignableBody::Bytes(&body))?;
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()?
        .into();
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(&mut req);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_aws_only_for_https_amazonaws_hosts() {
        let aws = Upstream::new(None, "us-west-2").expect("default");
        assert_eq!(aws.base, "https://bedrock-runtime.us-west-2.amazonaws.com");
        assert!(aws.is_aws);
        let local = Upstream::new(Some("http://127.0.0.1:9/"), "us-east-1").expect("local");
        assert_eq!(local.base, "http://127.0.0.1:9");
        assert!(!local.is_aws);
        assert!(
            !Upstream::new(Some("http://bedrock-runtime.us-east-1.amazonaws.com"), "x")
                .expect("plain http")
                .is_aws
        );
        let problem = |url| match Upstream::new(Some(url), "x") {
            Err(RecordError::Upstream { problem, .. }) => problem.to_string(),
            other => panic!("{url}: {other:?}"),
        };
        assert_eq!(problem("ftp://x"), "the scheme must be `http` or `https`");
        assert_eq!(problem("http://x/some/path"), "it must not have a path");
        assert_eq!(problem("/just/a/path"), "it has no host");
        let url = |u: &Upstream, s, p| u.url_for(s, p);
        assert_eq!(
            url(
                &aws,
                Service::BedrockAgentRuntime,
                "/bedrock-agent-runtime/knowledgebases/K/retrieve"
            ),
            "https://bedrock-agent-runtime.us-west-2.amazonaws.com/knowledgebases/K/retrieve"
        );
        assert_eq!(
            url(
                &aws,
                Service::Bedrock,
                "/bedrock/foundation-models?byProvider=x"
            ),
            "https://bedrock.us-west-2.amazonaws.com/foundation-models?byProvider=x"
        );
        assert_eq!(
            url(&aws, Service::BedrockRuntime, "/model/m/invoke"),
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/invoke"
        );
        assert_eq!(
            url(&local, Service::Bedrock, "/bedrock/foundation-models"),
            "http://127.0.0.1:9/bedrock/foundation-models"
        );
        let e = Upstream::new(Some("http://x/p"), "x").expect_err("path");
        assert_eq!(
            e.to_string(),
            "invalid upstream URL `http://x/p`: it must not have a path (hint: e.g. `https://bedrock-runtime.us-east-1.amazonaws.com`)"
        );
    }
}
