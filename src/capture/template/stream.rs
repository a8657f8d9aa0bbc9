//! Stream templates: the frames of ConverseStream and of each family's
//! InvokeModelWithResponseStream, the text in three pieces spread over the
//! stream.

use serde_json::{Value, json};

use super::{Family, pieces, short, usage};
use crate::cassette::StreamEvent;

/// Whether a frame carries a piece of the answer's text.
fn carries_text(payload: &Value) -> bool {
    let text = payload.to_string();
    pieces().iter().any(|p| text.contains(p.as_str()))
}

/// Pause before each text piece after the first; every other frame is sent
/// at once. The text then spans the whole stream, as an `incremental` check
/// expects, with room for a loaded machine's jitter on the other frames.
const PIECE_GAP_MS: u64 = 150;

fn events(payloads: Vec<Value>) -> Vec<StreamEvent> {
    let mut seen_text = false;
    payloads
        .into_iter()
        .map(|payload| {
            let text = carries_text(&payload);
            let delay_ms = if text && seen_text { PIECE_GAP_MS } else { 0 };
            seen_text |= text;
            StreamEvent {
                delay_ms,
                event: Some("chunk".to_string()),
                exception: None,
                payload,
            }
        })
        .collect()
}

pub(super) fn converse_stream() -> Vec<StreamEvent> {
    let mut out = vec![StreamEvent {
        delay_ms: 0,
        event: Some("messageStart".into()),
        exception: None,
        payload: json!({"role": "assistant"}),
    }];
    for (i, p) in pieces().into_iter().enumerate() {
        out.push(StreamEvent {
            delay_ms: if i == 0 { 0 } else { PIECE_GAP_MS },
            event: Some("contentBlockDelta".into()),
            exception: None,
            payload: json!({"contentBlockIndex": 0, "delta": {"text": p}}),
        });
    }
    let tail = [
        ("contentBlockStop", json!({"contentBlockIndex": 0})),
        ("messageStop", json!({"stopReason": "end_turn"})),
        (
            "metadata",
            json!({"usage": usage(), "metrics": {"latencyMs": 100}}),
        ),
    ];
    for (event, payload) in tail {
        out.push(StreamEvent {
            delay_ms: 0,
            event: Some(event.into()),
            exception: None,
            payload,
        });
    }
    out
}

/// Invocation metrics Bedrock adds to a stream's last chunk.
fn metrics() -> Value {
    json!({"inputTokenCount": 10, "outputTokenCount": 10,
           "invocationLatency": 200, "firstByteLatency": 50})
}

pub(super) fn invoke_stream(family: Family, model_id: &str) -> Vec<StreamEvent> {
    let [a, b, c] = pieces();
    let last = |mut v: Value| {
        if let Value::Object(m) = &mut v {
            m.insert("amazon-bedrock-invocationMetrics".into(), metrics());
        }
        v
    };
    let payloads = match family {
        Family::Anthropic => {
            let delta = |t: &str| {
                json!({"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": t}})
            };
            vec![
                json!({"type": "message_start", "message": {
                    "id": "msg_bdrk_placeholder", "type": "message", "role": "assistant",
                    "model": short(model_id), "content": [], "stop_reason": null,
                    "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
                delta(&a),
                delta(&b),
                delta(&c),
                json!({"type": "content_block_stop", "index": 0}),
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                       "stop_sequence": null}, "usage": {"output_tokens": 10}}),
                last(json!({"type": "message_stop"})),
            ]
        }
        Family::Nova => {
            let delta = |t: &str| {
                json!({"contentBlockDelta": {"delta": {"text": t},
                                         "contentBlockIndex": 0}})
            };
            vec![
                json!({"messageStart": {"role": "assistant"}}),
                delta(&a),
                delta(&b),
                delta(&c),
                json!({"contentBlockStop": {"contentBlockIndex": 0}}),
                json!({"messageStop": {"stopReason": "end_turn"}}),
                last(json!({"metadata": {"usage": {"inputTokens": 10, "outputTokens": 10}}})),
            ]
        }
        Family::TitanText => vec![
            json!({"outputText": a, "index": 0, "totalOutputTextTokenCount": 4,
                   "completionReason": null, "inputTextTokenCount": 10}),
            json!({"outputText": b, "index": 0, "totalOutputTextTokenCount": 7,
                   "completionReason": null}),
            last(
                json!({"outputText": c, "index": 0, "totalOutputTextTokenCount": 10,
                        "completionReason": "FINISH"}),
            ),
        ],
        Family::Llama => vec![
            json!({"generation": a, "prompt_token_count": 10, "generation_token_count": 4,
                   "stop_reason": null}),
            json!({"generation": b, "prompt_token_count": null, "generation_token_count": 7,
                   "stop_reason": null}),
            last(json!({"generation": c, "prompt_token_count": null,
                        "generation_token_count": 10, "stop_reason": "stop"})),
        ],
        Family::MistralText => vec![
            json!({"outputs": [{"text": a, "stop_reason": null}]}),
            json!({"outputs": [{"text": b, "stop_reason": null}]}),
            last(json!({"outputs": [{"text": c, "stop_reason": "stop"}]})),
        ],
        Family::CohereCommand => vec![
            json!({"text": a, "is_finished": false}),
            json!({"text": b, "is_finished": false}),
            json!({"text": c, "is_finished": false}),
            last(json!({"is_finished": true, "finish_reason": "COMPLETE"})),
        ],
        Family::CohereCommandR => vec![
            json!({"event_type": "stream-start", "is_finished": false,
                   "generation_id": "placeholder"}),
            json!({"event_type": "text-generation", "is_finished": false, "text": a}),
            json!({"event_type": "text-generation", "is_finished": false, "text": b}),
            json!({"event_type": "text-generation", "is_finished": false, "text": c}),
            last(json!({"event_type": "stream-end", "is_finished": true,
                        "finish_reason": "COMPLETE"})),
        ],
        // Embedding and image models do not stream; answer in chat form so
        // the request is at least captured for the author to look at.
        Family::Chat
        | Family::Ai21J2
        | Family::Embedding
        | Family::CohereEmbed
        | Family::Image
        | Family::StabilityArtifacts => {
            let delta = |t: &str, finish: Value| {
                json!({"id": "placeholder",
                "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": finish}]})
            };
            vec![
                delta(&a, Value::Null),
                delta(&b, Value::Null),
                last(delta(&c, json!("stop"))),
            ]
        }
    };
    events(payloads)
}
