//! Placeholder answers shaped like Bedrock's: the response body (or stream
//! events) each model family sends for each operation, with
//! [`PLACEHOLDER`] where the model's words go.
//! They parse in boto3, both AWS CLIs and the Rust SDK, so the lab's later
//! steps run; `labcheck lint` reports them (`cassette-placeholder`) until an
//! author writes the real answer.

use serde_json::{Value, json};

use crate::cassette::{PLACEHOLDER, ReceivedBody, RecordedResponse};
use crate::ids::Operation;

/// The answer's text, whole.
fn text() -> String {
    format!("{PLACEHOLDER}: write the answer the model gives here.")
}

/// The answer's text in three stream pieces (the marker whole in the first).
fn pieces() -> [String; 3] {
    [
        format!("{PLACEHOLDER}: write"),
        " the streamed answer".to_string(),
        " here.".to_string(),
    ]
}

/// A 1×1 PNG, base64: the smallest image every client decodes.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// Which body format a model speaks on InvokeModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Anthropic,
    Nova,
    TitanText,
    Embedding,
    CohereEmbed,
    Image,
    StabilityArtifacts,
    Llama,
    MistralText,
    CohereCommand,
    CohereCommandR,
    Ai21J2,
    /// OpenAI-style `choices` (Mistral chat, Jamba, DeepSeek, gpt-oss, …).
    Chat,
}

/// The model's base id: no ARN, no geographic prefix.
fn base(model_id: &str) -> String {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    let geo = [
        "us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.",
    ];
    let id = geo.iter().find_map(|g| id.strip_prefix(g)).unwrap_or(id);
    id.to_ascii_lowercase()
}

/// The model name without its provider, as Anthropic's answers give it
/// (`claude-sonnet-4-6`).
fn short(model_id: &str) -> String {
    let id = base(model_id);
    id.split_once('.')
        .map_or(id.clone(), |(_, name)| name.to_string())
}

pub(crate) fn family(model_id: &str, body: &ReceivedBody) -> Family {
    let id = base(model_id);
    let has =
        |key: &str| matches!(body, ReceivedBody::Json(Value::Object(m)) if m.contains_key(key));
    let (provider, name) = id.split_once('.').unwrap_or(("", id.as_str()));
    match provider {
        "anthropic" => Family::Anthropic,
        "amazon" if name.starts_with("nova-canvas") || name.starts_with("titan-image") => {
            Family::Image
        }
        "amazon"
            if name.starts_with("titan-embed") || name.starts_with("nova-2-multimodal-embed") =>
        {
            Family::Embedding
        }
        "amazon" if name.starts_with("nova") => Family::Nova,
        "amazon" => Family::TitanText,
        "meta" => Family::Llama,
        "mistral" if has("messages") => Family::Chat,
        "mistral" => Family::MistralText,
        "cohere" if name.starts_with("embed") => Family::CohereEmbed,
        "cohere" if name.starts_with("command-r") || has("message") => Family::CohereCommandR,
        "cohere" => Family::CohereCommand,
        "ai21" if name.starts_with("j2") => Family::Ai21J2,
        "stability" if name.starts_with("stable-diffusion-xl") => Family::StabilityArtifacts,
        "stability" => Family::Image,
        _ if has("anthropic_version") => Family::Anthropic,
        _ => Family::Chat,
    }
}

/// The template answer to `op` on `model_id` with `body`: 200 and a body
/// or stream fitting the model family and the operation.
pub fn answer(op: Operation, model_id: &str, body: &ReceivedBody) -> RecordedResponse {
    let headers = [(
        "x-amzn-requestid".to_string(),
        crate::cassette::scrub::REQUEST_ID.to_string(),
    )]
    .into();
    let (body, stream) = match op {
        Operation::Converse => (Some(converse()), None),
        Operation::ConverseStream => (None, Some(converse_stream())),
        Operation::InvokeModel => (Some(invoke(family(model_id, body), model_id)), None),
        Operation::InvokeModelWithResponseStream => {
            (None, Some(invoke_stream(family(model_id, body), model_id)))
        }
        // Any other operation (the other Bedrock services): an empty JSON
        // object for the author to fill in; lint flags an empty answer by
        // the placeholder note below.
        _ => (Some(json!({ "note": PLACEHOLDER })), None),
    };
    RecordedResponse {
        status: 200,
        headers,
        body,
        stream,
    }
}

fn usage() -> Value {
    json!({"inputTokens": 10, "outputTokens": 10, "totalTokens": 20})
}

fn converse() -> Value {
    json!({
        "output": {"message": {"role": "assistant", "content": [{"text": text()}]}},
        "stopReason": "end_turn",
        "usage": usage(),
        "metrics": {"latencyMs": 100}
    })
}

fn embedding() -> Value {
    json!([0.0, 0.125, -0.25, 0.5, -0.0625, 0.75, 0.0, -0.5])
}

fn invoke(family: Family, model_id: &str) -> Value {
    let t = text();
    match family {
        Family::Anthropic => json!({
            "id": "msg_bdrk_placeholder", "type": "message", "role": "assistant",
            "model": short(model_id), "content": [{"type": "text", "text": t}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 10}
        }),
        Family::Nova => json!({
            "output": {"message": {"role": "assistant", "content": [{"text": t}]}},
            "stopReason": "end_turn", "usage": usage()
        }),
        Family::TitanText => json!({
            "inputTextTokenCount": 10,
            "results": [{"tokenCount": 10, "outputText": t, "completionReason": "FINISH"}]
        }),
        Family::Embedding => json!({
            "embedding": embedding(), "inputTextTokenCount": 10, "labcheck_placeholder": t
        }),
        Family::CohereEmbed => json!({
            "id": "placeholder", "embeddings": [embedding()], "texts": [],
            "response_type": "embeddings_floats", "labcheck_placeholder": t
        }),
        Family::Image => json!({
            "images": [PNG_1X1], "seeds": [0], "finish_reasons": [null], "labcheck_placeholder": t
        }),
        Family::StabilityArtifacts => json!({
            "result": "success",
            "artifacts": [{"seed": 0, "base64": PNG_1X1, "finishReason": "SUCCESS"}],
            "labcheck_placeholder": t
        }),
        Family::Llama => json!({
            "generation": t, "prompt_token_count": 10, "generation_token_count": 10,
            "stop_reason": "stop"
        }),
        Family::MistralText => json!({"outputs": [{"text": t, "stop_reason": "stop"}]}),
        Family::CohereCommand => json!({
            "id": "placeholder", "prompt": "",
            "generations": [{"id": "placeholder", "text": t, "finish_reason": "COMPLETE"}]
        }),
        Family::CohereCommandR => json!({
            "response_id": "placeholder", "generation_id": "placeholder", "text": t,
            "finish_reason": "COMPLETE", "chat_history": []
        }),
        Family::Ai21J2 => json!({
            "id": 1234,
            "completions": [{"data": {"text": t}, "finishReason": {"reason": "endoftext"}}]
        }),
        Family::Chat => json!({
            "id": "placeholder", "object": "chat.completion", "model": base(model_id),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": t},
                         "finish_reason": "stop", "stop_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
        }),
    }
}

mod stream;

use stream::{converse_stream, invoke_stream};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_from_ids_and_bodies() {
        let none = ReceivedBody::Empty;
        let chat = ReceivedBody::Json(json!({"messages": []}));
        assert_eq!(
            family("us.anthropic.claude-sonnet-4-6", &none),
            Family::Anthropic
        );
        assert_eq!(family("us.amazon.nova-2-lite-v1:0", &none), Family::Nova);
        assert_eq!(
            family("amazon.titan-text-express-v1", &none),
            Family::TitanText
        );
        assert_eq!(
            family("amazon.titan-embed-text-v2:0", &none),
            Family::Embedding
        );
        assert_eq!(family("amazon.nova-canvas-v1:0", &none), Family::Image);
        assert_eq!(family("meta.llama3-8b-instruct-v1:0", &none), Family::Llama);
        assert_eq!(
            family("mistral.mistral-7b-instruct-v0:2", &none),
            Family::MistralText
        );
        assert_eq!(
            family("mistral.mistral-large-2407-v1:0", &chat),
            Family::Chat
        );
        assert_eq!(
            family("cohere.command-r-plus-v1:0", &none),
            Family::CohereCommandR
        );
        assert_eq!(
            family("cohere.embed-english-v3", &none),
            Family::CohereEmbed
        );
        assert_eq!(
            family("stability.stable-diffusion-xl-v1", &none),
            Family::StabilityArtifacts
        );
        assert_eq!(
            family(
                "arn:aws:bedrock:us-east-1:000000000000:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0",
                &none
            ),
            Family::Anthropic
        );
    }

    #[test]
    fn every_answer_carries_the_placeholder() {
        let body = ReceivedBody::Empty;
        for op in Operation::MODEL_CALLS {
            for model in [
                "anthropic.claude-3-haiku",
                "amazon.nova-lite-v1:0",
                "meta.llama3",
                "amazon.titan-embed-text-v2:0",
            ] {
                let r = answer(op, model, &body);
                let text = serde_json::to_string(&r).expect("serializes");
                assert!(text.contains(PLACEHOLDER), "{op} {model}: {text}");
                assert_eq!(r.body.is_some(), !op.is_streaming());
            }
        }
    }
}
