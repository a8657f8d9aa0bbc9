//! Bedrock-shaped error responses (BEDROCK-WIRE §4): status,
//! `x-amzn-ErrorType`, `x-amzn-RequestId`, JSON `{"message"}` body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CORAL: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

/// A Bedrock error the replay server answers with.
#[derive(Debug, Clone)]
pub(crate) struct BedrockError {
    pub(crate) status: StatusCode,
    /// Error code, e.g. `ValidationException`.
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) request_id: String,
}

impl BedrockError {
    /// 400 ValidationException: non-retryable in every client.
    pub(crate) fn validation(message: String, request_id: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationException",
            message,
            request_id,
        }
    }

    /// 403 for a request without usable credentials. Real Bedrock Runtime
    /// answers a missing `Authorization` with 403 and the message
    /// "Authorization header is missing" (seen in anthropics/claude-code#45000);
    /// the code is Bedrock's documented 403, `AccessDeniedException`, so every
    /// client raises its modeled class.
    pub(crate) fn missing_auth(request_id: String) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "AccessDeniedException",
            message: "Authorization header is missing".into(),
            request_id,
        }
    }

    /// 403 for a SigV4 credential scoped to another service.
    pub(crate) fn wrong_scope(request_id: String) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "InvalidSignatureException",
            message: "Credential should be scoped to correct service: 'bedrock'.".into(),
            request_id,
        }
    }

    /// 404 for a path that is none of the four replayed operations.
    pub(crate) fn unknown_operation(path: &str, request_id: String) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "UnknownOperationException",
            message: format!(
                "labcheck replay serves InvokeModel, InvokeModelWithResponseStream, Converse and ConverseStream; not `{path}`"
            ),
            request_id,
        }
    }
}

impl IntoResponse for BedrockError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("{}{CORAL}", self.code)) {
            h.insert("x-amzn-errortype", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-amzn-requestid", v);
        }
        resp
    }
}
