//! Request matching: find the interaction a received request replays, or
//! explain the miss with the nearest recorded request and a field diff.
//!
//! A request matches on operation, method, decoded model id and body. JSON
//! bodies compare as values (key order and spacing ignored; `1` equals `1.0`);
//! a body that is not JSON compares as text against a recorded JSON string.

use std::fmt::Write as _;

use serde_json::Value;

use super::CassetteSet;
use super::model::RecordedRequest;
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
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
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
    /// Find the interaction answering a request. `model_id` is decoded.
    pub fn find(&self, op: Operation, method: &str, model_id: &str, body: &ReceivedBody) -> Match {
        if method == "POST"
            && let Some(candidates) = self.index.get(&(op, model_id.to_string()))
        {
            for &at in candidates {
                if body_matches(self.request(at).body.as_ref(), body) {
                    return Match::Hit(at);
                }
            }
        }
        Match::Miss(self.explain_miss(op, method, model_id, body))
    }

    /// Build the miss diagnostic: nearest interaction and what differs.
    fn explain_miss(
        &self,
        op: Operation,
        method: &str,
        model_id: &str,
        body: &ReceivedBody,
    ) -> Miss {
        let received_body = body.as_value();
        let mut best: Option<(Rank, InteractionRef, Vec<Difference>)> = None;
        for (fi, file) in self.files.iter().enumerate() {
            for (ii, it) in file.cassette.interactions.iter().enumerate() {
                let req = &it.request;
                let diffs = differences(req, op, method, model_id, received_body.as_ref());
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
                recorded.body.as_ref(),
            ),
            &pretty(op, method, model_id, received_body.as_ref()),
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
    scalar("operation", req.operation.as_str(), op.as_str());
    scalar("method", &req.method, method);
    scalar("model_id", &req.model_id, model_id);
    json_diff("", req.body.as_ref(), body, &mut out);
    out
}

/// Collect differing leaves between two JSON values as JSON pointers.
fn json_diff(
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

fn pretty(op: Operation, method: &str, model_id: &str, body: Option<&Value>) -> String {
    let body = body.map_or_else(
        || "(empty)".into(),
        |b| serde_json::to_string_pretty(b).unwrap_or_default(),
    );
    format!("{method} {op} {model_id}\n{body}\n")
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
