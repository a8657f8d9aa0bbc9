//! Routing a request through the operation table ([`crate::services`],
//! generated from the Bedrock service models).
//!
//! One listener serves the four Bedrock services: Bedrock Runtime at the
//! root, the others under their path prefix (`/bedrock`, `/bedrock-agent`,
//! `/bedrock-agent-runtime`), which clients get from their endpoint URL
//! (`AWS_ENDPOINT_URL_BEDROCK_AGENT=http://127.0.0.1:P/bedrock-agent`). The
//! prefix picks the service (all four sign as `bedrock`, and `TagResource`
//! has the same path in three of them); the prefix is stripped and the rest
//! is matched against the service's rows by method and path. A label matches
//! one non-empty segment (`{label+}`: the rest of the path) and is
//! percent-decoded after the match, so a `%2F` inside a model id never splits
//! it; a trailing `/` in a template must be there (`GET /flows/` is
//! ListFlows, `GET /flows/{id}/` GetFlow). Where two templates of one service
//! match, the one with more literal segments wins.
//!
//! Adding an operation or a service is a row in the generated table, not a
//! handler.

use percent_encoding::percent_decode_str;

use crate::ids::Operation;
pub use crate::services::{OPERATIONS, OperationDef, Service};

/// The former name of a table row, kept for call sites.
pub type OperationSpec = OperationDef;

/// `(label, decoded value)` pairs, in template order.
type Labels = Vec<(&'static str, String)>;

/// A request routed to a row, with its decoded labels and query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub spec: &'static OperationDef,
    operation: Operation,
    /// `(label, decoded value)` in template order.
    pub labels: Vec<(&'static str, String)>,
    /// `(query parameter, decoded value)` for the parameters the operation
    /// declares, sorted by name; a repeated parameter's values joined by `,`.
    pub query: Vec<(&'static str, String)>,
}

impl Route {
    /// Routes `method` and the raw (still percent-encoded) path, with or
    /// without its `?query`; `None` when no row matches.
    pub fn find(method: &str, path_and_query: &str) -> Option<Route> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let (service, path) = split_prefix(path);
        // (literal segments, operation, labels) of the most specific match.
        let mut best: Option<(usize, Operation, Labels)> = None;
        for op in Operation::of_service(service) {
            let spec = op.def();
            if !spec.method.eq_ignore_ascii_case(method)
                || !has_literal_query(spec.query_literal, query)
            {
                continue;
            }
            let Some(labels) = match_template(spec.uri, path) else {
                continue;
            };
            let literal = spec.uri.split('/').filter(|s| !s.starts_with('{')).count();
            if best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, op, labels));
            }
        }
        let (_, operation, labels) = best?;
        let spec = operation.def();
        Some(Route {
            spec,
            operation,
            labels,
            query: declared_query(spec, query),
        })
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }

    pub fn service(&self) -> Service {
        self.spec.service
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

    /// What a cassette matches besides the body: every label but `modelId`
    /// (matched on its own, as `model_id`) and every declared query
    /// parameter but idempotency tokens, by name.
    pub fn params(&self) -> std::collections::BTreeMap<String, String> {
        let tokens = self.spec.idempotency_tokens;
        self.labels
            .iter()
            .filter(|(l, _)| *l != "modelId")
            .chain(self.query.iter().filter(|(q, _)| !tokens.contains(q)))
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// The path the service itself sees: the request's with the service
    /// prefix removed (what the record proxy forwards upstream).
    pub fn strip_prefix(path_and_query: &str) -> &str {
        let (service, _) = split_prefix(path_and_query);
        &path_and_query[service.path_prefix().len()..]
    }
}

/// The service a path's prefix names, and the path without it.
fn split_prefix(path: &str) -> (Service, &str) {
    // Longest prefixes first: `/bedrock-agent-runtime` before `/bedrock-agent`.
    for service in [
        Service::BedrockAgentRuntime,
        Service::BedrockAgent,
        Service::Bedrock,
    ] {
        if let Some(rest) = path.strip_prefix(service.path_prefix())
            && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        {
            return (service, rest);
        }
    }
    (Service::BedrockRuntime, path)
}

/// Whether `query` has every `k` / `k=v` of a template's literal query part.
fn has_literal_query(literal: &str, query: &str) -> bool {
    literal.is_empty()
        || literal
            .split('&')
            .all(|want| query.split('&').any(|got| got == want))
}

/// The declared query parameters present in `query`, decoded, by name.
fn declared_query(spec: &OperationDef, query: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    if query.is_empty() || spec.query.is_empty() {
        return out;
    }
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(k) = decode(k) else { continue };
        let Some(&(_, name)) = spec.query.iter().find(|(_, q)| *q == k) else {
            continue;
        };
        let v = decode(v).unwrap_or_else(|| v.to_string());
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            None => out.push((name, v)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// Whether `path` has `template`'s shape: literal segments equal, labels
/// non-empty, a greedy label last. No allocation, so trying the rows that do
/// not match costs a few comparisons each.
fn fits(template: &str, path: &str) -> bool {
    let mut parts = path.split('/');
    let mut segments = template.split('/').peekable();
    while let Some(seg) = segments.next() {
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            None => {
                if parts.next() != Some(seg) {
                    return false;
                }
            }
            Some(greedy) if greedy.ends_with('+') && segments.peek().is_none() => {
                return parts.any(|p| !p.is_empty());
            }
            Some(_) => {
                if parts.next().is_none_or(str::is_empty) {
                    return false;
                }
            }
        }
    }
    parts.next().is_none()
}

/// The labels of `path` if it matches `template` segment by segment.
fn match_template(template: &'static str, path: &str) -> Option<Labels> {
    if !fits(template, path) {
        return None;
    }
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

/// Every operation of the service models replay can serve, as `service
/// Operation` lines in table order (`labcheck operations` appends the
/// OpenAI-compatible paths, which `crate::replay` owns).
pub fn listing() -> Vec<String> {
    Operation::all()
        .map(|o| format!("{} {}", o.service(), o.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Option<(String, Operation)> {
        Route::find("POST", path).map(|r| (r.model_id().to_string(), r.operation()))
    }

    /// A concrete path for a template: every label `x`.
    fn example(uri: &str) -> String {
        uri.split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_operation_routes_to_itself_under_its_prefix() {
        for op in Operation::all() {
            let d = op.def();
            let path = format!("{}{}", d.service.path_prefix(), example(d.uri));
            let got = Route::find(d.method, &path).map(|r| r.operation());
            assert_eq!(got, Some(op), "{} {path}", d.method);
        }
    }

    #[test]
    fn prefixes_and_trailing_slashes_tell_same_paths_apart() {
        let op = |m, p| Route::find(m, p).map(|r| r.operation());
        assert_eq!(
            op("POST", "/bedrock-agent/agents/A1/"),
            Some(Operation::PrepareAgent)
        );
        assert_eq!(
            op("POST", "/bedrock-agent-runtime/agents/s1"),
            Some(Operation::InvokeInlineAgent)
        );
        assert_eq!(op("POST", "/bedrock-agent/agents/A1"), None);
        assert_eq!(op("POST", "/bedrock/tags/arn"), None);
        assert_eq!(
            op("POST", "/bedrock/tagResource"),
            Some(Operation::BedrockTagResource)
        );
        assert_eq!(
            op("POST", "/bedrock-agent/tags/arn%3Ax"),
            Some(Operation::BedrockAgentTagResource)
        );
        assert_eq!(
            op("POST", "/bedrock-agent-runtime/tags/arn%3Ax"),
            Some(Operation::BedrockAgentRuntimeTagResource)
        );
        assert_eq!(
            op("GET", "/bedrock-agent/flows/"),
            Some(Operation::ListFlows)
        );
        assert_eq!(
            op("GET", "/bedrock-agent/flows/f/"),
            Some(Operation::GetFlow)
        );
        // A prefix is a whole segment.
        assert_eq!(op("GET", "/bedrockx/foundation-models"), None);
        assert_eq!(
            op("GET", "/bedrock/foundation-models"),
            Some(Operation::ListFoundationModels)
        );
    }

    #[test]
    fn declared_query_parameters_become_params_and_others_are_ignored() {
        let r = Route::find(
            "GET",
            "/bedrock/foundation-models?byProvider=anthropic&byOutputModality=TEXT&junk=1",
        )
        .expect("routes");
        assert_eq!(r.operation(), Operation::ListFoundationModels);
        let params: Vec<_> = r.params().into_iter().collect();
        assert_eq!(
            params,
            [
                ("byOutputModality".to_string(), "TEXT".to_string()),
                ("byProvider".to_string(), "anthropic".to_string())
            ]
        );
        let r = Route::find(
            "POST",
            "/bedrock-agent-runtime/agents/A/agentAliases/B/sessions/s%201/text",
        )
        .expect("routes");
        assert_eq!(r.operation(), Operation::InvokeAgent);
        assert_eq!(r.params()["sessionId"], "s 1");
        assert_eq!(
            Route::strip_prefix("/bedrock-agent-runtime/agents/A?x=1"),
            "/agents/A?x=1"
        );
        assert_eq!(Route::strip_prefix("/model/x/invoke"), "/model/x/invoke");
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
        assert_eq!(route("/model/x/count-tokenz"), None);
        assert_eq!(route("/model//invoke"), None);
        assert_eq!(route("/model/a/b/invoke"), None);
        assert_eq!(route("/model/x/invoke/"), None);
        assert_eq!(route("/model/%FF/invoke"), None);
        assert_eq!(route("/model/x/invoke-with-bidirectional-stream"), None);
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

    #[test]
    fn the_listing_names_every_operation_once() {
        let lines = listing();
        assert_eq!(lines.len(), OPERATIONS.len());
        assert!(lines.contains(&"bedrock GetInferenceProfile".to_string()));
        assert!(lines.contains(&"bedrock-runtime InvokeModel".to_string()));
        let unique: std::collections::HashSet<_> = lines.iter().collect();
        assert_eq!(unique.len(), lines.len());
    }
}
