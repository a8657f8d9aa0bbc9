//! The operations labcheck answers, as data: one row per operation with its
//! service, HTTP method, URI template (labels in braces, as the AWS service
//! models write `http.uri` / `requestUri`), operation and whether its output
//! is an event stream. Routing a request is matching its method and raw path
//! against the rows; a label matches one non-empty path segment (`{label+}`:
//! the rest of the path) and is percent-decoded after the match, so a `%2F`
//! inside a model id never splits it.
//!
//! The rows follow the service models field for field, so they can be
//! generated from them; adding an operation or a service is a row here, not
//! a handler.

use percent_encoding::percent_decode_str;

use crate::ids::Operation;

/// An AWS service labcheck answers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Amazon Bedrock Runtime (`bedrock-runtime`, signing name `bedrock`).
    BedrockRuntime,
}

impl Service {
    /// The endpoint prefix, e.g. `bedrock-runtime`.
    pub fn endpoint_prefix(self) -> &'static str {
        match self {
            Service::BedrockRuntime => "bedrock-runtime",
        }
    }

    /// The SigV4 signing name (credential scope service), e.g. `bedrock`.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::BedrockRuntime => "bedrock",
        }
    }
}

/// One operation's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationSpec {
    pub service: Service,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// URI template, e.g. `/model/{modelId}/invoke`.
    pub uri: &'static str,
    pub operation: Operation,
    /// Whether the output is an event stream (`application/vnd.amazon.eventstream`).
    pub event_stream: bool,
}

impl OperationSpec {
    /// The operation name as AWS writes it, e.g. `InvokeModel`.
    pub fn name(&self) -> &'static str {
        self.operation.as_str()
    }
}

/// Every operation labcheck replays and records (BEDROCK-WIRE §1).
pub static OPERATIONS: &[OperationSpec] = &[
    OperationSpec {
        service: Service::BedrockRuntime,
        method: "POST",
        uri: "/model/{modelId}/invoke",
        operation: Operation::InvokeModel,
        event_stream: false,
    },
    OperationSpec {
        service: Service::BedrockRuntime,
        method: "POST",
        uri: "/model/{modelId}/invoke-with-response-stream",
        operation: Operation::InvokeModelWithResponseStream,
        event_stream: true,
    },
    OperationSpec {
        service: Service::BedrockRuntime,
        method: "POST",
        uri: "/model/{modelId}/converse",
        operation: Operation::Converse,
        event_stream: false,
    },
    OperationSpec {
        service: Service::BedrockRuntime,
        method: "POST",
        uri: "/model/{modelId}/converse-stream",
        operation: Operation::ConverseStream,
        event_stream: true,
    },
];

/// The row of `op`.
pub fn spec(op: Operation) -> &'static OperationSpec {
    OPERATIONS
        .iter()
        .find(|s| s.operation == op)
        .expect("every Operation has a row in OPERATIONS (checked by a test)")
}

/// A request routed to a row, with its decoded labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub spec: &'static OperationSpec,
    /// `(label, decoded value)` in template order.
    pub labels: Vec<(&'static str, String)>,
}

impl Route {
    /// Routes `method` and the raw (still percent-encoded) `path`; `None`
    /// when no row matches.
    pub fn find(method: &str, path: &str) -> Option<Route> {
        OPERATIONS
            .iter()
            .filter(|s| s.method.eq_ignore_ascii_case(method))
            .find_map(|spec| {
                let labels = match_template(spec.uri, path)?;
                Some(Route { spec, labels })
            })
    }

    pub fn operation(&self) -> Operation {
        self.spec.operation
    }

    /// The decoded value of `label`, e.g. `modelId`.
    pub fn label(&self, label: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded `modelId` label (empty when the route has none).
    pub fn model_id(&self) -> &str {
        self.label("modelId").unwrap_or_default()
    }
}

/// The labels of `path` if it matches `template` segment by segment.
fn match_template(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut labels = Vec::new();
    let mut parts = path.split('/');
    let mut segments = template.split('/').peekable();
    while let Some(seg) = segments.next() {
        let label = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        match label {
            None => {
                if parts.next()? != seg {
                    return None;
                }
            }
            Some(greedy) if greedy.ends_with('+') && segments.peek().is_none() => {
                let rest: Vec<&str> = parts.by_ref().collect();
                let raw = rest.join("/");
                if raw.is_empty() {
                    return None;
                }
                labels.push((greedy.trim_end_matches('+'), decode(&raw)?));
            }
            Some(name) => {
                let raw = parts.next()?;
                if raw.is_empty() {
                    return None;
                }
                labels.push((name, decode(raw)?));
            }
        }
    }
    parts.next().is_none().then_some(labels)
}

fn decode(raw: &str) -> Option<String> {
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Option<(String, Operation)> {
        Route::find("POST", path).map(|r| (r.model_id().to_string(), r.operation()))
    }

    #[test]
    fn every_operation_has_exactly_one_row_with_its_streaming_flag() {
        for op in Operation::ALL {
            let rows: Vec<_> = OPERATIONS.iter().filter(|s| s.operation == op).collect();
            assert_eq!(rows.len(), 1, "{op}");
            assert_eq!(rows[0].event_stream, op.is_streaming(), "{op}");
            assert!(rows[0].uri.ends_with(op.path_suffix()), "{op}");
            assert_eq!(spec(op).name(), op.as_str());
        }
    }

    #[test]
    fn path_decodes_colon_and_arn_slash_in_one_segment() {
        let (id, op) =
            route("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke").expect("routes");
        assert_eq!(id, "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(op, Operation::InvokeModel);
        let arn = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.x-v1%3A0/converse-stream";
        let (id, op) = route(arn).expect("routes");
        assert_eq!(
            id,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.x-v1:0"
        );
        assert_eq!(op, Operation::ConverseStream);
    }

    #[test]
    fn path_rejects_unknown_operations_and_shapes() {
        assert_eq!(route("/model/x/count-tokens"), None);
        assert_eq!(route("/model//invoke"), None);
        assert_eq!(route("/model/a/b/invoke"), None);
        assert_eq!(route("/model/x/invoke/"), None);
        assert_eq!(route("/model/%FF/invoke"), None);
        assert_eq!(route("/guardrail/x/version/1/apply"), None);
        assert_eq!(Route::find("GET", "/model/x/invoke"), None);
    }

    #[test]
    fn greedy_labels_take_the_rest_of_the_path() {
        assert_eq!(
            match_template("/bucket/{Key+}", "/bucket/a/b%20c"),
            Some(vec![("Key", "a/b c".to_string())])
        );
        assert_eq!(match_template("/bucket/{Key+}", "/bucket/"), None);
        assert_eq!(
            match_template("/g/{id}/version/{v}/apply", "/g/x/version/1/apply"),
            Some(vec![("id", "x".to_string()), ("v", "1".to_string())])
        );
    }
}
