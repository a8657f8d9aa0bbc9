//! Bedrock's own answer: `ListFoundationModels` (`GET /foundation-models` on
//! the `bedrock` control plane) per region, signed with SigV4, and its
//! `modelLifecycle` (status, legacy and end-of-life times) read out of the
//! JSON body. The endpoint is `https://bedrock.<region>.amazonaws.com`
//! unless `AWS_ENDPOINT_URL_BEDROCK` (read by [`crate::settings`]) names
//! another — replay's `/bedrock` prefix, or a test server.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::cassette::age::format_day;

/// One model of a `ListFoundationModels` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundationModel {
    pub model_id: String,
    /// `ACTIVE` or `LEGACY` as Bedrock writes it.
    pub status: String,
    /// `legacyTime`, as `YYYY-MM-DD`.
    pub legacy_date: Option<String>,
    /// `endOfLifeTime`, as `YYYY-MM-DD`.
    pub eol_date: Option<String>,
    /// `inferenceTypesSupported` contains `ON_DEMAND`.
    pub on_demand: bool,
}

/// Why Bedrock could not be asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BedrockError {
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    #[error("invalid endpoint `{url}`: {problem}")]
    Endpoint { url: String, problem: String },
    #[error("cannot sign the request: {0}")]
    Sign(String),
    #[error("ListFoundationModels in `{region}` failed: {message}")]
    Request { region: String, message: String },
    #[error("ListFoundationModels in `{region}` answered {status}: {body}")]
    Status {
        region: String,
        status: u16,
        body: String,
    },
    #[error("ListFoundationModels in `{region}` answered a body labcheck cannot read: {message}")]
    Body { region: String, message: String },
}

/// A timestamp of the answer (epoch seconds, or an RFC 3339 string) as a day.
fn day(value: &Value) -> Option<String> {
    let t = match value {
        Value::Number(n) => DateTime::from_fractional_secs(n.as_i64()?, 0.0),
        Value::String(s) => DateTime::from_str(s, Format::DateTime).ok()?,
        _ => return None,
    };
    Some(format_day(t))
}

/// Reads a `ListFoundationModels` body (`{"modelSummaries": [...]}`).
pub fn parse_list(region: &str, body: &str) -> Result<Vec<FoundationModel>, BedrockError> {
    let bad = |message: String| BedrockError::Body {
        region: region.to_string(),
        message,
    };
    let value: Value = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let list = value
        .get("modelSummaries")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `modelSummaries` list".into()))?;
    let mut out = Vec::new();
    for m in list {
        let Some(model_id) = m.get("modelId").and_then(Value::as_str) else {
            return Err(bad("a summary without `modelId`".into()));
        };
        let life = m.get("modelLifecycle");
        let field = |f: &str| life.and_then(|l| l.get(f));
        out.push(FoundationModel {
            model_id: model_id.to_string(),
            status: field("status")
                .and_then(Value::as_str)
                .unwrap_or("ACTIVE")
                .to_string(),
            legacy_date: field("legacyTime").and_then(day),
            eol_date: field("endOfLifeTime").and_then(day),
            on_demand: m
                .get("inferenceTypesSupported")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|t| t == "ON_DEMAND")),
        });
    }
    Ok(out)
}

/// The credentials of the default chain (environment, profile, SSO, …), or
/// why there are none.
pub async fn default_credentials() -> Result<Credentials, BedrockError> {
    use aws_credential_types::provider::ProvideCredentials as _;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| BedrockError::NoCredentials("no credentials provider".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| BedrockError::NoCredentials(e.to_string()))
}

/// `ListFoundationModels` in `region`: the endpoint override (path prefix
/// kept), else real Bedrock; SigV4 for `bedrock`; at most `timeout`.
pub async fn list_foundation_models(
    endpoint: Option<&str>,
    region: &str,
    creds: &Credentials,
    timeout: Duration,
) -> Result<Vec<FoundationModel>, BedrockError> {
    let base = match endpoint {
        Some(e) => e.trim_end_matches('/').to_string(),
        None => format!("https://bedrock.{region}.amazonaws.com"),
    };
    let url = format!("{base}/foundation-models");
    let uri: http::Uri =
        url.parse()
            .map_err(|e: http::uri::InvalidUri| BedrockError::Endpoint {
                url: base.clone(),
                problem: e.to_string(),
            })?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(BedrockError::Endpoint {
            url: base,
            problem: "the scheme must be `http` or `https`, with a host".into(),
        });
    }
    let mut req = http::Request::builder()
        .method("GET")
        .uri(&url)
        .header("accept", "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| BedrockError::Sign(e.to_string()))?;
    let pairs: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        pairs.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| BedrockError::Sign(e.to_string()))?;
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("bedrock")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| BedrockError::Sign(e.to_string()))?
        .into();
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| BedrockError::Sign(e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut req);
    let failed = |message: String| BedrockError::Request {
        region: region.to_string(),
        message,
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| failed(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let answer = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        Ok::<_, BedrockError>((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, answer)
        .await
        .map_err(|_| failed(format!("no answer within {} s", timeout.as_secs())))??;
    let text = String::from_utf8_lossy(&body);
    if status != 200 {
        return Err(BedrockError::Status {
            region: region.to_string(),
            status,
            body: text.chars().take(300).collect(),
        });
    }
    parse_list(region, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_times_become_days() {
        let body = r#"{"modelSummaries":[
            {"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0",
             "modelId":"anthropic.claude-opus-4-1-20250805-v1:0","inferenceTypesSupported":["INFERENCE_PROFILE"],
             "modelLifecycle":{"status":"LEGACY","legacyTime":1783468800,"endOfLifeTime":"2027-01-08T00:00:00Z"}},
            {"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
             "modelId":"amazon.titan-embed-text-v2:0","inferenceTypesSupported":["ON_DEMAND"]}]}"#;
        let got = parse_list("us-east-1", body).expect("parses");
        assert_eq!(got[0].status, "LEGACY");
        assert_eq!(got[0].legacy_date.as_deref(), Some("2026-07-08"));
        assert_eq!(got[0].eol_date.as_deref(), Some("2027-01-08"));
        assert!(!got[0].on_demand);
        assert_eq!(got[1].status, "ACTIVE");
        assert!(got[1].on_demand && got[1].eol_date.is_none());
        let e = parse_list("eu-west-1", "{}").expect_err("no list");
        assert_eq!(
            e.to_string(),
            "ListFoundationModels in `eu-west-1` answered a body labcheck cannot read: no `modelSummaries` list"
        );
    }
}
