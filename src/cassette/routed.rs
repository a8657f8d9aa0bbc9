//! The service-model side of a cassette request, kept apart from body
//! matching: at load, an interaction's `service`, `operation`, `method`,
//! `model_id` and `params` are resolved and checked against the operation
//! table generated from the service models ([`crate::services`]); at match
//! time, `params` (URI labels and declared query parameters) must equal the
//! request's, and idempotency tokens (which botocore fills with a fresh UUID
//! on every call) are taken out of the received body before it is compared.

use std::collections::BTreeMap;

use serde_json::Value;

use super::matching::{Difference, ReceivedBody};
use super::model::RecordedRequest;
use crate::ids::Operation;

/// A located load problem: JSON path under the interaction, message, hint.
pub(crate) type Problem = (String, String, Option<&'static str>);

/// Resolves `req.operation` in `req.service`, fills the default method and
/// checks `model_id` and `params` against the operation's URI.
pub(crate) fn resolve_request(req: &mut RecordedRequest) -> Result<(), Problem> {
    let name = req.operation.as_str();
    let Some(op) = Operation::find(req.service, name) else {
        let elsewhere: Vec<String> = Operation::all()
            .filter(|o| o.as_str() == name)
            .map(|o| format!("`{}`", o.service()))
            .collect();
        return Err((
            "request.operation".into(),
            format!(
                "`{name}` is not an operation of `{}`, expected one of its model's (it is one of {})",
                req.service,
                elsewhere.join(", ")
            ),
            Some("set `service` to the service the client calls, e.g. `\"service\": \"bedrock\"`"),
        ));
    };
    req.operation = op;
    let def = op.def();
    if req.method.is_empty() {
        req.method = def.method.to_string();
    } else if req.method != def.method {
        return Err((
            "request.method".into(),
            format!(
                "method `{}`, expected `{}` (`{op}` in the `{}` model)",
                req.method, def.method, def.service
            ),
            None,
        ));
    }
    if !op.has_model_id() && !req.model_id.is_empty() {
        return Err((
            "request.model_id".into(),
            format!("a model id on `{op}`, whose path has none, expected no `model_id`"),
            Some("URI labels and query parameters go in `params`"),
        ));
    }
    let allowed = allowed_params(op);
    for key in req.params.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err((
                format!("request.params.{key}"),
                format!(
                    "unknown parameter `{key}` of `{op}`, expected one of: {}",
                    if allowed.is_empty() {
                        "(none)".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
                Some("params are the URI labels and query parameters of the operation's model"),
            ));
        }
    }
    for (_, label) in def.labels.iter().filter(|(_, l)| *l != "modelId") {
        if !req.params.contains_key(*label) {
            return Err((
                "request.params".into(),
                format!(
                    "no `{label}`, expected every URI label of `{op}` (`{}`)",
                    def.uri
                ),
                None,
            ));
        }
    }
    if let Some(Value::Object(body)) = &req.body
        && let Some(token) = def
            .idempotency_tokens
            .iter()
            .find(|t| body.contains_key(**t))
    {
        return Err((
            format!("request.body.{token}"),
            format!("idempotency token `{token}` in the body, expected none"),
            Some("clients send a fresh token on every call, so replay never compares it"),
        ));
    }
    Ok(())
}

/// The names `params` may hold for `op`: URI labels but `modelId`, and
/// query parameters that are not idempotency tokens.
fn allowed_params(op: Operation) -> Vec<&'static str> {
    let def = op.def();
    let labels = def
        .labels
        .iter()
        .map(|(_, l)| *l)
        .filter(|l| *l != "modelId");
    let query = def
        .query
        .iter()
        .map(|(_, q)| *q)
        .filter(|q| !def.idempotency_tokens.contains(q));
    labels.chain(query).collect()
}

/// Whether a recorded request's `params` are exactly the received ones.
pub(crate) fn params_match(
    recorded: &RecordedRequest,
    received: &BTreeMap<String, String>,
) -> bool {
    recorded.params == *received
}

/// `params.<name>` differences between recorded and received, by name.
pub(crate) fn param_differences(
    recorded: &BTreeMap<String, String>,
    received: &BTreeMap<String, String>,
    out: &mut Vec<Difference>,
) {
    let mut keys: Vec<&String> = recorded.keys().chain(received.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (a, b) = (recorded.get(k), received.get(k));
        if a != b {
            let shown = |v: Option<&String>| v.map_or_else(|| "(absent)".into(), |s| s.clone());
            out.push(Difference {
                field: format!("params.{k}"),
                recorded: shown(a),
                received: shown(b),
            });
        }
    }
}

/// `params` as one line for a diff: `agentId=A1 sessionId=s-1`.
pub(crate) fn params_line(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl ReceivedBody {
    /// The body without `op`'s idempotency-token members, which botocore
    /// fills with a fresh UUID on every call and replay never compares.
    pub fn without_idempotency_tokens(self, op: Operation) -> ReceivedBody {
        let tokens = op.def().idempotency_tokens;
        match self {
            ReceivedBody::Json(Value::Object(mut m)) if !tokens.is_empty() => {
                for t in tokens {
                    m.remove(*t);
                }
                if m.is_empty() {
                    ReceivedBody::Empty
                } else {
                    ReceivedBody::Json(Value::Object(m))
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Service;

    fn request(service: Service, op: &str, params: &[(&str, &str)]) -> RecordedRequest {
        RecordedRequest {
            service,
            operation: op.parse().expect("known name"),
            method: String::new(),
            model_id: String::new(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    #[test]
    fn resolves_operation_in_its_service_and_fills_the_method() {
        let mut r = request(
            Service::BedrockAgent,
            "TagResource",
            &[("resourceArn", "a")],
        );
        resolve_request(&mut r).expect("valid");
        assert_eq!(r.operation, Operation::BedrockAgentTagResource);
        assert_eq!(r.method, "POST");
        let mut r = request(Service::Bedrock, "Retrieve", &[]);
        let (path, msg, _) = resolve_request(&mut r).expect_err("wrong service");
        assert_eq!(path, "request.operation");
        assert!(msg.contains("one of `bedrock-agent-runtime`"), "{msg}");
    }

    #[test]
    fn params_must_be_the_operations_labels_and_query() {
        let mut r = request(Service::Bedrock, "GetInferenceProfile", &[]);
        let (path, msg, _) = resolve_request(&mut r).expect_err("missing label");
        assert_eq!(path, "request.params");
        assert!(msg.contains("`inferenceProfileIdentifier`"), "{msg}");
        let mut r = request(
            Service::Bedrock,
            "ListFoundationModels",
            &[("byProvider", "anthropic"), ("agentId", "x")],
        );
        let (path, _, _) = resolve_request(&mut r).expect_err("unknown param");
        assert_eq!(path, "request.params.agentId");
        let mut r = request(Service::Bedrock, "ListFoundationModels", &[]);
        r.model_id = "m".into();
        assert_eq!(
            resolve_request(&mut r).expect_err("no model id").0,
            "request.model_id"
        );
    }

    #[test]
    fn idempotency_tokens_are_refused_in_cassettes_and_dropped_from_requests() {
        let mut r = request(Service::BedrockAgent, "CreateAgent", &[]);
        r.body = Some(serde_json::json!({"agentName": "a", "clientToken": "t"}));
        assert_eq!(
            resolve_request(&mut r).expect_err("token").0,
            "request.body.clientToken"
        );
        let got = ReceivedBody::parse(br#"{"agentName": "a", "clientToken": "uuid"}"#)
            .without_idempotency_tokens(Operation::CreateAgent);
        assert_eq!(
            got,
            ReceivedBody::Json(serde_json::json!({"agentName": "a"}))
        );
    }
}
