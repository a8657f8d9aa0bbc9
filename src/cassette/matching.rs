//! Request matching: find the interaction a received request replays, or
//! explain the miss with the nearest recorded request and a field diff.
//!
//! A request matches on operation (of its service), method, decoded model
//! id, URI parameters (`params`, see `cassette/routed.rs`) and body. JSON
//! bodies compare as values (key order and spacing ignored; `1` equals `1.0`;
//! a float equals its f32 rounding, since the Rust SDK sends `temperature: 0.9`
//! as `0.8999999761581421`);
//! a body that is not JSON compares as text against a recorded JSON string.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::CassetteSet;
use super::model::RecordedRequest;
use super::routed::{param_differences, params_line, params_match};
use crate::ids::Operation;

/// Where an interaction lives in a [`CassetteSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InteractionRef {
    /// Index into [`CassetteSet::files`].
    pub file: usize,
    /// Index into that file's `interactions`.
    pub index: usize,
}

/// The outcome of [`CassetteSet::find`].
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// This interaction answers the request.
    Hit(InteractionRef),
    /// Nothing matched; the diagnostic says what came closest.
    Miss(Miss),
}

/// Why a request matched nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// The closest recorded interaction (same operation preferred, then same
    /// model, then fewest differing fields); `None` if the set is empty.
    pub nearest: Option<Nearest>,
    /// Fields that differ from the nearest, in document order.
    pub differences: Vec<Difference>,
    /// A unified text diff of the pretty-printed recorded vs received request.
    pub diff: String,
}

/// The nearest recorded interaction of a miss.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    pub at: InteractionRef,
    /// Cassette file name, e.g. `invoke.json`.
    pub file: String,
    /// Interaction name.
    pub interaction: String,
}

/// One differing field: `operation`, `method`, `model_id`, or a JSON pointer
/// into the body such as `/messages/0/content`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    /// Compact JSON (or text) of the recorded value; `(absent)` if missing.
    pub recorded: String,
    /// Compact JSON (or text) of the received value; `(absent)` if missing.
    pub received: String,
}

/// A received request body, parsed once for matching.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceivedBody {
    Empty,
    Json(Value),
    Text(String),
}

impl ReceivedBody {
    /// Classify raw body bytes.
    pub fn parse(bytes: &[u8]) -> Self {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return ReceivedBody::Empty;
        }
        match serde_json::from_slice(bytes) {
            Ok(v) => ReceivedBody::Json(v),
            Err(_) => ReceivedBody::Text(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    fn as_value(&self) -> Option<Value> {
        match self {
            ReceivedBody::Empty => None,
            ReceivedBody::Json(v) => Some(v.clone()),
            ReceivedBody::Text(t) => Some(Value::String(t.clone())),
        }
    }
}

/// JSON equality ignoring key order, with numbers compared by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let floats = x.is_f64() || y.is_f64();
            x == y
                || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q))
                    if p == q || (floats && p as f32 == q as f32))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn body_matches(recorded: Option<&Value>, received: &ReceivedBody) -> bool {
    match (recorded, received) {
        (None, ReceivedBody::Empty) => true,
        (Some(Value::String(s)), ReceivedBody::Text(t)) => s == t,
        (Some(r), ReceivedBody::Json(v)) => json_eq(r, v),
        _ => false,
    }
}

impl CassetteSet {
    /// Find the interaction answering a request. `model_id` and `params`
    /// (the route's other labels and query parameters) are decoded.
    pub fn find(
        &self,
        op: Operation,
        method: &str,
        model_id: &str,
        params: &BTreeMap<String, String>,
        body: &ReceivedBody,
    ) -> Match {
        if let Some(candidates) = self.index.get(model_id) {
            for &(recorded_op, at) in candidates {
                let req = self.request(at);
                if recorded_op == op
                    && req.method == method
                    && params_match(req, params)
                    && body_matches(req.body.as_ref(), body)
                {
                    return Match::Hit(at);
                }
            }
        }
        Match::Miss(self.explain_miss(op, method, model_id, params, body))
    }

    /// Build the miss diagnostic: nearest interaction and what differs.
    fn explain_miss(
        &self,
        op: Operation,
        method: &str,
        model_id: &str,
        params: &BTreeMap<String, String>,
        body: &ReceivedBody,
    ) -> Miss {
        let received_body = body.as_value();
        let mut best: Option<(Rank, InteractionRef, Vec<Difference>)> = None;
        for (fi, file) in self.files.iter().enumerate() {
            for (ii, it) in file.cassette.interactions.iter().enumerate() {
                let req = &it.request;
                let mut diffs = differences(req, op, method, model_id, received_body.as_ref());
                param_differences(&req.params, params, &mut diffs);
                let key = (req.operation != op, req.model_id != model_id, diffs.len());
                if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
                    best = Some((
                        key,
                        InteractionRef {
                            file: fi,
                            index: ii,
                        },
                        diffs,
                    ));
                }
            }
        }
        let Some((_, at, differences)) = best else {
            return Miss {
                nearest: None,
                differences: Vec::new(),
                diff: String::new(),
            };
        };
        let recorded = self.request(at);
        let diff = text_diff(
            &pretty(
                recorded.operation,
                &recorded.method,
                &recorded.model_id,
                &recorded.params,
                recorded.body.as_ref(),
            ),
            &pretty(op, method, model_id, params, received_body.as_ref()),
        );
        Miss {
            nearest: Some(Nearest {
                at,
                file: self.files[at.file].name.clone(),
                interaction: self.interaction(at).name.clone(),
            }),
            differences,
            diff,
        }
    }
}

/// Nearest ranking: other operation, other model, number of differing fields.
type Rank = (bool, bool, usize);

fn differences(
    req: &RecordedRequest,
    op: Operation,
    method: &str,
    model_id: &str,
    body: Option<&Value>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut scalar = |field: &str, recorded: &str, received: &str| {
        if recorded != received {
            out.push(Difference {
                field: field.into(),
                recorded: recorded.into(),
                received: received.into(),
            });
        }
    };
    scalar(
        "service",
        req.operation.service().as_str(),
        op.service().as_str(),
    );
    scalar("operation", req.operation.as_str(), op.as_str());
    scalar("method", &req.method, method);
    scalar("model_id", &req.model_id, model_id);
    json_diff("", req.body.as_ref(), body, &mut out);
    out
}

/// Collect differing leaves between two JSON values as JSON pointers.
pub(crate) fn json_diff(
    pointer: &str,
    recorded: Option<&Value>,
    received: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    match (recorded, received) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, v) in a {
                json_diff(&child(pointer, k), Some(v), b.get(k), out);
            }
            for (k, v) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                json_diff(&child(pointer, k), None, Some(v), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                json_diff(&child(pointer, &i.to_string()), a.get(i), b.get(i), out);
            }
        }
        (Some(a), Some(b)) if json_eq(a, b) => {}
        (None, None) => {}
        (a, b) => out.push(Difference {
            field: if pointer.is_empty() {
                "body".into()
            } else {
                pointer.into()
            },
            recorded: a.map_or_else(|| "(absent)".into(), Value::to_string),
            received: b.map_or_else(|| "(absent)".into(), Value::to_string),
        }),
    }
}

fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// `v` with object keys sorted, so the text diff shows values, not key order.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn pretty(
    op: Operation,
    method: &str,
    model_id: &str,
    params: &BTreeMap<String, String>,
    body: Option<&Value>,
) -> String {
    let body = body.map_or_else(
        || "(empty)".into(),
        |b| serde_json::to_string_pretty(&sorted(b)).unwrap_or_default(),
    );
    if op.service().is_runtime() && params.is_empty() {
        return format!("{method} {op} {model_id}\n{body}\n");
    }
    let service = op.service();
    let params = params_line(params);
    format!("{method} {service} {op} {model_id}{params}\n{body}\n")
}

fn text_diff(recorded: &str, received: &str) -> String {
    similar::TextDiff::from_lines(recorded, received)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "received")
        .to_string()
}

impl Miss {
    /// One line naming the nearest interaction and the differing fields.
    pub fn summary(&self) -> String {
        let Some(n) = &self.nearest else {
            return "the cassette set is empty".into();
        };
        let mut s = format!(
            "nearest is `{}` in `{}`; differing: ",
            n.interaction, n.file
        );
        for (i, d) in self.differences.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                "`{}` (recorded {}, received {})",
                d.field,
                clip(&d.recorded),
                clip(&d.received)
            );
        }
        if self.differences.is_empty() {
            s.push_str("nothing visible (hint: a duplicate or shadowed interaction?)");
        }
        s
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Cassette, CassetteFile, parse_cassette};
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn set() -> CassetteSet {
        let c = json!({
            "version": 1,
            "meta": {"source": "authored", "model": "m", "region": "us-east-1",
                     "recorded_at": "2026-11-26T00:00:00Z", "client": "any"},
            "interactions": [
                {"name": "hello", "request": {"operation": "InvokeModel", "method": "POST", "model_id": "claude:0",
                  "body": {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}},
                 "response": {"status": 200, "body": {}}},
                {"name": "other-model", "request": {"operation": "InvokeModel", "method": "POST", "model_id": "llama:0",
                  "body": {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}},
                 "response": {"status": 200, "body": {}}},
                {"name": "plain-text", "request": {"operation": "Converse", "method": "POST", "model_id": "claude:0",
                  "body": "not json"}, "response": {"status": 200, "body": {}}},
                {"name": "empty", "request": {"operation": "Converse", "method": "POST", "model_id": "nobody:0"},
                 "response": {"status": 200, "body": {}}}
            ]
        });
        let cassette: Cassette =
            parse_cassette(Path::new("a.json"), &serde_json::to_vec(&c).expect("json"))
                .expect("valid");
        CassetteSet::from_files(vec![CassetteFile {
            path: PathBuf::from("a.json"),
            name: "a.json".into(),
            cassette,
        }])
    }

    fn find(op: Operation, model: &str, body: &str) -> Match {
        set().find(
            op,
            "POST",
            model,
            &BTreeMap::new(),
            &ReceivedBody::parse(body.as_bytes()),
        )
    }

    fn miss(m: Match) -> Miss {
        match m {
            Match::Miss(m) => m,
            Match::Hit(at) => panic!("unexpected hit {at:?}"),
        }
    }

    #[test]
    fn json_matches_ignoring_order_spacing_and_number_form() {
        let body = r#"{ "temperature": 0.50, "messages": [{"content": "hi", "role": "user"}], "max_tokens": 10.0 }"#;
        assert_eq!(
            find(Operation::InvokeModel, "claude:0", body),
            Match::Hit(InteractionRef { file: 0, index: 0 })
        );
    }

    #[test]
    fn floats_match_their_f32_rounding_but_integers_stay_exact() {
        assert!(json_eq(&json!(0.9), &json!(0.8999999761581421)));
        assert!(!json_eq(&json!(0.9), &json!(0.91)));
        assert!(json_eq(&json!(10), &json!(10.0)));
        assert!(!json_eq(&json!(16777217), &json!(16777216)));
    }

    #[test]
    fn text_and_empty_bodies_match() {
        assert_eq!(
            find(Operation::Converse, "claude:0", "not json"),
            Match::Hit(InteractionRef { file: 0, index: 2 })
        );
        assert_eq!(
            find(Operation::Converse, "nobody:0", ""),
            Match::Hit(InteractionRef { file: 0, index: 3 })
        );
        assert!(matches!(
            find(Operation::Converse, "claude:0", "not json!"),
            Match::Miss(_)
        ));
    }

    #[test]
    fn miss_names_nearest_same_model_and_differing_pointer() {
        let body = r#"{"max_tokens": 10, "messages": [{"role": "user", "content": "hello"}], "temperature": 0.5}"#;
        let m = miss(find(Operation::InvokeModel, "claude:0", body));
        let n = m.nearest.as_ref().expect("nearest");
        assert_eq!(
            (n.file.as_str(), n.interaction.as_str()),
            ("a.json", "hello")
        );
        assert_eq!(
            m.differences,
            vec![Difference {
                field: "/messages/0/content".into(),
                recorded: "\"hi\"".into(),
                received: "\"hello\"".into()
            }]
        );
        assert!(m.diff.contains("-      \"content\": \"hi\""), "{}", m.diff);
        assert!(
            m.diff.contains("+      \"content\": \"hello\""),
            "{}",
            m.diff
        );
        let s = m.summary();
        assert!(
            s.contains("`hello` in `a.json`") && s.contains("`/messages/0/content`"),
            "{s}"
        );
    }

    #[test]
    fn miss_prefers_same_operation_then_model_and_lists_extra_fields() {
        // Same body as `other-model` but a model nobody recorded for InvokeModel: op wins, then fewest diffs.
        let body = r#"{"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "top_p": 1}"#;
        let m = miss(find(Operation::InvokeModel, "llama:0", body));
        assert_eq!(
            m.nearest.as_ref().map(|n| n.interaction.as_str()),
            Some("other-model")
        );
        assert_eq!(m.differences.len(), 1);
        assert_eq!(m.differences[0].field, "/top_p");
        assert_eq!(m.differences[0].recorded, "(absent)");
        // No stream recorded at all: same model first, then the fewest differing fields.
        let body = r#"{"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}"#;
        let m = miss(find(
            Operation::InvokeModelWithResponseStream,
            "claude:0",
            body,
        ));
        let fields: Vec<_> = m.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            m.nearest.as_ref().map(|n| n.interaction.as_str()),
            Some("hello")
        );
        assert_eq!(fields, ["operation", "/temperature"]);
    }

    #[test]
    fn wrong_method_misses_and_empty_set_says_so() {
        let body = r#"{"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}"#;
        let m = miss(set().find(
            Operation::InvokeModel,
            "GET",
            "claude:0",
            &BTreeMap::new(),
            &ReceivedBody::parse(body.as_bytes()),
        ));
        assert_eq!(m.differences[0].field, "method");
        let m = miss(CassetteSet::default().find(
            Operation::Converse,
            "POST",
            "x",
            &BTreeMap::new(),
            &ReceivedBody::Empty,
        ));
        assert_eq!(m.nearest, None);
        assert_eq!(m.summary(), "the cassette set is empty");
    }
}
