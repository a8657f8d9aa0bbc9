//! Bedrock-shaped error replies (BEDROCK-WIRE §4): the status,
//! `Content-Type: application/json`, `x-amzn-ErrorType: <code>:<coral suffix>`,
//! `x-amzn-RequestId` when known, and the body `{"message": "…"}`. Every
//! client reads the code from the header (cut at the first `:`), so each
//! error raises its modeled class, and the status decides retries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What real Bedrock appends to the code in `x-amzn-ErrorType`.
const CORAL: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

/// One error reply, as Bedrock sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockError {
    pub status: StatusCode,
    /// Error code, e.g. `ValidationException`.
    pub code: &'static str,
    pub message: String,
    /// Sent as `x-amzn-RequestId` when set.
    pub request_id: Option<String>,
}

impl BedrockError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            request_id: None,
        }
    }

    /// The same error carrying `x-amzn-RequestId: id`.
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// 400 ValidationException: non-retryable in every client.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationException", message)
    }

    /// 403 for a request without usable credentials. Real Bedrock Runtime
    /// answers a missing `Authorization` with 403 and the message
    /// "Authorization header is missing" (seen in anthropics/claude-code#45000);
    /// the code is Bedrock's documented 403, `AccessDeniedException`, so every
    /// client raises its modeled class.
    pub fn missing_auth() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "Authorization header is missing",
        )
    }

    /// 403 for a SigV4 credential scoped to another service.
    pub fn wrong_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'bedrock'.",
        )
    }

    /// 404 for a path (or method) that is no operation of the table.
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "UnknownOperationException", message)
    }

    /// 413 for a body over `limit` bytes. Bedrock's front end answers an
    /// oversized request with 413 "Request exceeds the maximum allowed size";
    /// the code is `ValidationException` so every client raises its modeled,
    /// non-retryable class instead of a generic error.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ValidationException",
            format!("Request exceeds the maximum allowed size ({limit} bytes)"),
        )
    }

    /// 408 for a body that did not arrive within `limit`; the connection is
    /// then let go. Non-retryable `ValidationException`, as for 413.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "ValidationException",
            format!("Request body not received within {} s", limit.as_secs_f64()),
        )
    }

    /// 500 InternalServerException (retried by clients).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            message,
        )
    }
}

impl std::fmt::Display for BedrockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for BedrockError {}

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
        if let Some(v) = self
            .request_id
            .as_deref()
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            h.insert("x-amzn-requestid", v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn renders_status_errortype_request_id_and_message_body() {
        let resp = BedrockError::validation("bad \"input\"")
            .with_request_id("r-1")
            .into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let h = resp.headers();
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(
            h["x-amzn-errortype"],
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
        assert_eq!(h["x-amzn-requestid"], "r-1");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&body[..], br#"{"message":"bad \"input\""}"#);
    }

    #[test]
    fn no_request_id_header_unless_given() {
        let resp = BedrockError::missing_auth().into_response();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(!resp.headers().contains_key("x-amzn-requestid"));
    }
}
