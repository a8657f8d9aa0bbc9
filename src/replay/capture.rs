//! Capture mode and the served hook: what `labcheck capture` and `labcheck
//! serve --log` add to a replay server.
//!
//! With a [`Capture`], a request no cassette answers is not refused: its
//! answer comes from the capture's template function, is sent like a
//! recorded one, and the interaction (the exact request, the template
//! answer) is kept in the capture's sink for the caller to write. An equal
//! request later (another client, another trial sharing the sink) gets the
//! same interaction. A [`ServedHook`] sees every request as it is answered.

use std::sync::{Arc, Mutex};

use crate::cassette::{Interaction, ReceivedBody, RecordedRequest, RecordedResponse, json_eq};
use crate::http::ServedRequest;
use crate::ids::Operation;

/// Builds the answer to a request nothing matched: operation, decoded model
/// id and body in, a response out.
pub type Template = fn(Operation, &str, &ReceivedBody) -> RecordedResponse;

/// An interaction made up in capture mode, with the label of the server
/// (the trial's step) that first saw its request.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub label: String,
    pub interaction: Interaction,
}

/// Capture mode for one server; servers given clones of one sink share it.
#[derive(Clone)]
pub struct Capture {
    template: Template,
    label: String,
    sink: Arc<Mutex<Vec<Captured>>>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Capture {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && Arc::ptr_eq(&self.sink, &other.sink)
    }
}

impl Capture {
    pub fn new(template: Template, label: &str, sink: Arc<Mutex<Vec<Captured>>>) -> Capture {
        Capture {
            template,
            label: label.to_string(),
            sink,
        }
    }

    /// The interaction answering this request: the one already captured for
    /// an equal request, else a new one from the template.
    pub(crate) fn answer(
        &self,
        op: Operation,
        model_id: &str,
        params: &std::collections::BTreeMap<String, String>,
        body: &[u8],
    ) -> Interaction {
        let received = ReceivedBody::parse(body);
        let value = match &received {
            ReceivedBody::Empty => None,
            ReceivedBody::Json(v) => Some(v.clone()),
            ReceivedBody::Text(t) => Some(serde_json::Value::String(t.clone())),
        };
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let same = |it: &Interaction| {
            it.request.operation == op
                && it.request.model_id == model_id
                && &it.request.params == params
                && match (&it.request.body, &value) {
                    (Some(a), Some(b)) => json_eq(a, b),
                    (None, None) => true,
                    _ => false,
                }
        };
        if let Some(c) = sink.iter().find(|c| same(&c.interaction)) {
            return c.interaction.clone();
        }
        let interaction = Interaction {
            name: format!("{}-{}", self.label, sink.len() + 1),
            request: RecordedRequest {
                service: op.service(),
                operation: op,
                method: op.def().method.to_string(),
                model_id: model_id.to_string(),
                params: params.clone(),
                headers: Default::default(),
                body: value,
            },
            response: (self.template)(op, model_id, &received),
            times: 1,
        };
        sink.push(Captured {
            label: self.label.clone(),
            interaction: interaction.clone(),
        });
        interaction
    }
}

/// Called with every request a server answered, as it is answered (for a
/// stream: when its first frame is about to be sent).
#[derive(Clone)]
pub struct ServedHook(pub Arc<dyn Fn(&ServedRequest) + Send + Sync>);

impl std::fmt::Debug for ServedHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServedHook")
    }
}

impl PartialEq for ServedHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// One line for `labcheck serve --log`: the operation, the model, and the
/// interaction that answered (file and name) or `miss` with the status.
pub fn log_line(e: &ServedRequest) -> String {
    let op = e.operation.map_or("(unknown operation)", Operation::as_str);
    let model = if e.model_id.is_empty() {
        "-"
    } else {
        e.model_id.as_str()
    };
    match (&e.interaction, &e.cassette) {
        (Some(name), Some(file)) => format!("{op} {model} -> {file} `{name}`"),
        (Some(name), None) => format!("{op} {model} -> `{name}`"),
        _ => format!("{op} {model} -> miss ({})", e.status),
    }
}
