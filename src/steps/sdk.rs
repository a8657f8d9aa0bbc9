//! `sdk` steps: aws-sdk-bedrockruntime called in process.
//!
//! The client is built explicitly (endpoint, region, dummy credentials, one
//! attempt) rather than from the process environment, because trials run in
//! parallel threads of one process and must not share global settings.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseOutput as ConverseOutputKind,
    ConverseStreamOutput, GuardrailAssessment, GuardrailConfiguration, GuardrailContentBlock,
    GuardrailContentSource, GuardrailStreamConfiguration, GuardrailTextBlock, GuardrailTrace,
    InferenceConfiguration, Message, ResponseStream, SystemContentBlock,
};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::env::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY};
use super::process::Piece;
use super::{StepError, StepOutput};
use crate::spec::lab::{ApplyGuardrailRequest, ConverseRequest, GuardrailSource, SdkCall};

/// A Bedrock Runtime client pointed at `endpoint`, with one attempt per call.
pub fn client(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            DUMMY_ACCESS_KEY_ID,
            DUMMY_SECRET_ACCESS_KEY,
            None,
            None,
            "labcheck",
        ))
        .retry_config(
            aws_sdk_bedrockruntime::config::retry::RetryConfig::standard().with_max_attempts(1),
        )
        .build();
    Client::from_conf(config)
}

/// Runs one SDK call on a runtime of its own, bounded by `timeout`.
pub fn run(
    call: &SdkCall,
    endpoint: &str,
    region: &str,
    timeout: Duration,
) -> Result<StepOutput, StepError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StepError::Io {
            what: "starting a tokio runtime".into(),
            source: e,
        })?;
    let client = client(endpoint, region);
    Ok(runtime.block_on(bounded(timeout, |started| perform(&client, call, started))))
}

/// The call's answer as a step output, its error as stderr with exit code 1,
/// or a timed-out output once `timeout` has passed (the call is dropped, which
/// closes its connection).
async fn bounded<F>(timeout: Duration, call: impl FnOnce(Instant) -> F) -> StepOutput
where
    F: std::future::Future<Output = Result<StepOutput, SdkCallError>>,
{
    let started = Instant::now();
    // The runtime's clock, so that a test with a paused clock sees the limit.
    let clock = tokio::time::Instant::now();
    let mut out = match tokio::time::timeout(timeout, call(started)).await {
        Ok(Ok(out)) => out,
        Ok(Err(error)) => StepOutput {
            exit_code: Some(1),
            stderr: error.to_string(),
            ..StepOutput::default()
        },
        Err(_elapsed) => StepOutput {
            timed_out: true,
            ..StepOutput::default()
        },
    };
    out.elapsed = clock.elapsed();
    out
}

/// Converse with one parameter pair, for playground emulation.
pub fn converse_once(
    request: &ConverseRequest,
    endpoint: &str,
    region: &str,
    timeout: Duration,
) -> Result<StepOutput, StepError> {
    run(
        &SdkCall::Converse(request.clone()),
        endpoint,
        region,
        timeout,
    )
}

/// Why an SDK call gave no answer. It becomes the step's stderr (exit code 1),
/// as a failing client would print it, so expectations judge it like any
/// other client's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkCallError {
    /// The call or its response stream failed (a service error, a refused
    /// connection, a malformed frame), rendered with its whole source chain.
    #[error("{}", DisplayErrorContext(source.as_ref()))]
    Call {
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A body that should be JSON is not.
    #[error("{what} is not JSON: {source}")]
    NotJson {
        what: &'static str,
        source: serde_json::Error,
    },
    /// The SDK refused to build the request from the lab's values.
    #[error("cannot build the request: {}", DisplayErrorContext(source))]
    Request {
        source: aws_sdk_bedrockruntime::error::BuildError,
    },
}

impl SdkCallError {
    fn call(err: impl std::error::Error + Send + Sync + 'static) -> SdkCallError {
        SdkCallError::Call {
            source: Box::new(err),
        }
    }
}

async fn perform(
    client: &Client,
    call: &SdkCall,
    started: Instant,
) -> Result<StepOutput, SdkCallError> {
    match call {
        SdkCall::Invoke { model, body } => {
            let resp = client
                .invoke_model()
                .model_id(model)
                .content_type("application/json")
                .accept("application/json")
                .body(Blob::new(body.to_string()))
                .send()
                .await
                .map_err(SdkCallError::call)?;
            let json: serde_json::Value =
                serde_json::from_slice(resp.body().as_ref()).map_err(|source| {
                    SdkCallError::NotJson {
                        what: "the InvokeModel response body",
                        source,
                    }
                })?;
            let model_out = ModelText::from_body(&json);
            Ok(StepOutput {
                exit_code: Some(0),
                stdout: model_out.text,
                stop_reason: model_out.stop_reason,
                output_tokens: model_out.output_tokens,
                ..StepOutput::default()
            })
        }
        SdkCall::InvokeStream { model, body } => {
            let mut resp = client
                .invoke_model_with_response_stream()
                .model_id(model)
                .content_type("application/json")
                .body(Blob::new(body.to_string()))
                .send()
                .await
                .map_err(SdkCallError::call)?;
            let mut out = StepOutput {
                exit_code: Some(0),
                ..StepOutput::default()
            };
            while let Some(event) = resp.body.recv().await.map_err(SdkCallError::call)? {
                let ResponseStream::Chunk(part) = event else {
                    out.events.push("unknown".into());
                    continue;
                };
                let bytes = part
                    .bytes()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default();
                let chunk: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|source| SdkCallError::NotJson {
                        what: "a stream chunk",
                        source,
                    })?;
                out.events.push(chunk_type(&chunk));
                let piece = ModelText::from_chunk(&chunk);
                if !piece.text.is_empty() {
                    out.pieces.push(Piece {
                        at: started.elapsed(),
                        bytes: piece.text.len(),
                    });
                    out.stdout.push_str(&piece.text);
                }
                out.stop_reason = piece.stop_reason.or(out.stop_reason.take());
                out.output_tokens = piece.output_tokens.or(out.output_tokens);
            }
            Ok(out)
        }
        SdkCall::Converse(r) => {
            let parts = ConverseParts::of(r)?;
            let resp = client
                .converse()
                .model_id(&r.model)
                .set_messages(Some(parts.messages))
                .set_system(parts.system)
                .set_inference_config(parts.inference)
                .set_guardrail_config(guardrail_config(r)?)
                .send()
                .await
                .map_err(SdkCallError::call)?;
            let mut text = String::new();
            if let Some(ConverseOutputKind::Message(message)) = resp.output() {
                for block in message.content() {
                    if let ContentBlock::Text(t) = block {
                        text.push_str(t);
                    }
                }
            }
            Ok(StepOutput {
                exit_code: Some(0),
                stdout: text,
                stop_reason: Some(resp.stop_reason().as_str().to_string()),
                output_tokens: resp.usage().map(|u| u.output_tokens().max(0) as u32),
                ..StepOutput::default()
            })
        }
        SdkCall::ConverseStream(r) => {
            let parts = ConverseParts::of(r)?;
            let builder = client
                .converse_stream()
                .model_id(&r.model)
                .set_messages(Some(parts.messages))
                .set_system(parts.system)
                .set_inference_config(parts.inference)
                .set_guardrail_config(guardrail_stream_config(r)?);
            let mut resp = builder.send().await.map_err(SdkCallError::call)?;
            let mut out = StepOutput {
                exit_code: Some(0),
                ..StepOutput::default()
            };
            while let Some(event) = resp.stream.recv().await.map_err(SdkCallError::call)? {
                let name = match &event {
                    ConverseStreamOutput::MessageStart(_) => "messageStart",
                    ConverseStreamOutput::ContentBlockStart(_) => "contentBlockStart",
                    ConverseStreamOutput::ContentBlockDelta(delta) => {
                        if let Some(ContentBlockDelta::Text(t)) = delta.delta() {
                            out.pieces.push(Piece {
                                at: started.elapsed(),
                                bytes: t.len(),
                            });
                            out.stdout.push_str(t);
                        }
                        "contentBlockDelta"
                    }
                    ConverseStreamOutput::ContentBlockStop(_) => "contentBlockStop",
                    ConverseStreamOutput::MessageStop(stop) => {
                        out.stop_reason = Some(stop.stop_reason().as_str().to_string());
                        "messageStop"
                    }
                    ConverseStreamOutput::Metadata(meta) => {
                        out.output_tokens = meta.usage().map(|u| u.output_tokens().max(0) as u32);
                        "metadata"
                    }
                    _ => "unknown",
                };
                out.events.push(name.to_string());
            }
            Ok(out)
        }
        SdkCall::ApplyGuardrail(r) => apply_guardrail(client, r).await,
    }
}

/// ApplyGuardrail on one text block. Its stdout has the lines lab 7.2's
/// boto3 script prints (`action: …`, `output: …`, `topic: NAME TYPE ->
/// ACTION`), so one `stdout` expectation fits both clients; beyond the
/// script it prints every output text and a line per content, word, PII,
/// regex and grounding finding too (see [`assessment_lines`]).
async fn apply_guardrail(
    client: &Client,
    r: &ApplyGuardrailRequest,
) -> Result<StepOutput, SdkCallError> {
    let text = GuardrailTextBlock::builder()
        .text(&r.text)
        .build()
        .map_err(|source| SdkCallError::Request { source })?;
    let source = match r.source {
        GuardrailSource::Input => GuardrailContentSource::Input,
        GuardrailSource::Output => GuardrailContentSource::Output,
    };
    let resp = client
        .apply_guardrail()
        .guardrail_identifier(&r.guardrail.identifier)
        .guardrail_version(&r.guardrail.version)
        .source(source)
        .content(GuardrailContentBlock::Text(text))
        .send()
        .await
        .map_err(SdkCallError::call)?;
    let mut stdout = format!("action: {}\n", resp.action().as_str());
    for output in resp.outputs() {
        if let Some(t) = output.text() {
            stdout.push_str(&format!("output: {t}\n"));
        }
    }
    for line in resp.assessments().iter().flat_map(assessment_lines) {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    Ok(StepOutput {
        exit_code: Some(0),
        stdout,
        ..StepOutput::default()
    })
}

/// One line per finding of an assessment, `<policy>: <what> -> <action>`:
/// `topic: Investment advice DENY -> BLOCKED`, `content: VIOLENCE HIGH ->
/// BLOCKED`, `word: <match> -> BLOCKED` (`word: <match> PROFANITY -> …` for
/// a managed list), `pii: EMAIL <match> -> ANONYMIZED`, `regex: <name>
/// <match> -> BLOCKED`, `grounding: GROUNDING score 0.2 threshold 0.7 ->
/// BLOCKED`.
/// Automated-reasoning findings are not printed.
fn assessment_lines(a: &GuardrailAssessment) -> Vec<String> {
    let mut lines = Vec::new();
    for t in a.topic_policy().map(|p| p.topics()).unwrap_or_default() {
        lines.push(format!(
            "topic: {} {} -> {}",
            t.name(),
            t.r#type().as_str(),
            t.action().as_str()
        ));
    }
    for f in a.content_policy().map(|p| p.filters()).unwrap_or_default() {
        lines.push(format!(
            "content: {} {} -> {}",
            f.r#type().as_str(),
            f.confidence().as_str(),
            f.action().as_str()
        ));
    }
    if let Some(w) = a.word_policy() {
        for c in w.custom_words() {
            lines.push(format!("word: {} -> {}", c.r#match(), c.action().as_str()));
        }
        for m in w.managed_word_lists() {
            lines.push(format!(
                "word: {} {} -> {}",
                m.r#match(),
                m.r#type().as_str(),
                m.action().as_str()
            ));
        }
    }
    if let Some(s) = a.sensitive_information_policy() {
        for p in s.pii_entities() {
            lines.push(format!(
                "pii: {} {} -> {}",
                p.r#type().as_str(),
                p.r#match(),
                p.action().as_str()
            ));
        }
        for r in s.regexes() {
            lines.push(format!(
                "regex: {} {} -> {}",
                r.name().unwrap_or("-"),
                r.r#match().unwrap_or("-"),
                r.action().as_str()
            ));
        }
    }
    for g in a
        .contextual_grounding_policy()
        .map(|p| p.filters())
        .unwrap_or_default()
    {
        lines.push(format!(
            "grounding: {} score {} threshold {} -> {}",
            g.r#type().as_str(),
            g.score(),
            g.threshold(),
            g.action().as_str()
        ));
    }
    lines
}

fn user_message(prompt: &str) -> Result<Message, SdkCallError> {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(prompt.to_string()))
        .build()
        .map_err(|source| SdkCallError::Request { source })
}

fn inference_config(r: &ConverseRequest) -> Option<InferenceConfiguration> {
    if r.max_tokens.is_none() && r.temperature.is_none() && r.top_p.is_none() {
        return None;
    }
    Some(
        InferenceConfiguration::builder()
            .set_max_tokens(r.max_tokens)
            .set_temperature(r.temperature)
            .set_top_p(r.top_p)
            .build(),
    )
}

/// `guardrailConfig` of a Converse request, trace enabled so the answer
/// says which policy intervened.
fn guardrail_config(r: &ConverseRequest) -> Result<Option<GuardrailConfiguration>, SdkCallError> {
    let Some(g) = &r.guardrail else {
        return Ok(None);
    };
    Ok(Some(
        GuardrailConfiguration::builder()
            .guardrail_identifier(&g.identifier)
            .guardrail_version(&g.version)
            .trace(GuardrailTrace::Enabled)
            .build(),
    ))
}

/// The same for ConverseStream, whose guardrail configuration is its own type.
fn guardrail_stream_config(
    r: &ConverseRequest,
) -> Result<Option<GuardrailStreamConfiguration>, SdkCallError> {
    let Some(g) = &r.guardrail else {
        return Ok(None);
    };
    Ok(Some(
        GuardrailStreamConfiguration::builder()
            .guardrail_identifier(&g.identifier)
            .guardrail_version(&g.version)
            .trace(GuardrailTrace::Enabled)
            .build(),
    ))
}

/// The parts of a Converse request both Converse operations send.
struct ConverseParts {
    messages: Vec<Message>,
    system: Option<Vec<SystemContentBlock>>,
    inference: Option<InferenceConfiguration>,
}

impl ConverseParts {
    fn of(r: &ConverseRequest) -> Result<ConverseParts, SdkCallError> {
        Ok(ConverseParts {
            messages: vec![user_message(&r.prompt)?],
            system: r.system.clone().map(|s| vec![SystemContentBlock::Text(s)]),
            inference: inference_config(r),
        })
    }
}

/// The text, stop reason and output tokens of a model body, for the model
/// families labs use (Claude Messages, Llama, Nova).
#[derive(Debug, Default, PartialEq)]
struct ModelText {
    text: String,
    stop_reason: Option<String>,
    output_tokens: Option<u32>,
}

impl ModelText {
    fn from_body(v: &serde_json::Value) -> ModelText {
        let str_at = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_string);
        let u32_at = |p: &str| v.pointer(p).and_then(|x| x.as_u64()).map(|n| n as u32);
        if let Some(blocks) = v.get("content").and_then(|c| c.as_array()) {
            // Claude Messages API.
            let text = blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
                .collect();
            return ModelText {
                text,
                stop_reason: str_at("/stop_reason"),
                output_tokens: u32_at("/usage/output_tokens"),
            };
        }
        if let Some(text) = str_at("/generation") {
            return ModelText {
                text,
                stop_reason: str_at("/stop_reason"),
                output_tokens: u32_at("/generation_token_count"),
            };
        }
        if let Some(blocks) = v
            .pointer("/output/message/content")
            .and_then(|c| c.as_array())
        {
            let text = blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
                .collect();
            return ModelText {
                text,
                stop_reason: str_at("/stopReason"),
                output_tokens: u32_at("/usage/outputTokens"),
            };
        }
        ModelText::default()
    }

    fn from_chunk(v: &serde_json::Value) -> ModelText {
        let str_at = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_string);
        let u32_at = |p: &str| v.pointer(p).and_then(|x| x.as_u64()).map(|n| n as u32);
        match v.get("type").and_then(|t| t.as_str()) {
            Some("content_block_delta") => ModelText {
                text: str_at("/delta/text").unwrap_or_default(),
                ..Default::default()
            },
            Some("message_delta") => ModelText {
                stop_reason: str_at("/delta/stop_reason"),
                output_tokens: u32_at("/usage/output_tokens"),
                ..Default::default()
            },
            Some(_) => ModelText::default(),
            None if v.get("generation").is_some() => ModelText {
                text: str_at("/generation").unwrap_or_default(),
                stop_reason: str_at("/stop_reason"),
                output_tokens: u32_at("/generation_token_count"),
            },
            None => ModelText {
                text: str_at("/contentBlockDelta/delta/text").unwrap_or_default(),
                stop_reason: str_at("/messageStop/stopReason"),
                output_tokens: u32_at("/metadata/usage/outputTokens"),
            },
        }
    }
}

fn chunk_type(chunk: &serde_json::Value) -> String {
    chunk
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .or_else(|| chunk.as_object().and_then(|o| o.keys().next().cloned()))
        .unwrap_or_else(|| "chunk".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_ends_at_its_limit() {
        let limit = Duration::from_secs(30);
        let out = bounded(limit, |_| std::future::pending()).await;
        assert!(out.timed_out, "{out:?}");
        assert_eq!(out.exit_code, None);
        assert_eq!(out.elapsed, limit);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_within_the_limit_is_kept() {
        let out = bounded(Duration::from_secs(30), |_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(StepOutput {
                exit_code: Some(0),
                stdout: "Xin chào".into(),
                ..StepOutput::default()
            })
        })
        .await;
        assert!(!out.timed_out, "{out:?}");
        assert_eq!(out.stdout, "Xin chào");
        assert_eq!(out.elapsed, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_becomes_stderr_and_exit_code_1() {
        let out = bounded(Duration::from_secs(30), |_| async {
            let source = serde_json::from_str::<serde_json::Value>("{").expect_err("not JSON");
            Err(SdkCallError::NotJson {
                what: "a stream chunk",
                source,
            })
        })
        .await;
        assert_eq!(out.exit_code, Some(1));
        assert!(
            out.stderr.starts_with("a stream chunk is not JSON: "),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn claude_body_text_and_usage() {
        let body = json!({"content":[{"type":"text","text":"Hi"},{"type":"text","text":" there"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}});
        assert_eq!(
            ModelText::from_body(&body),
            ModelText {
                text: "Hi there".into(),
                stop_reason: Some("end_turn".into()),
                output_tokens: Some(2)
            }
        );
    }

    #[test]
    fn llama_and_nova_bodies() {
        let llama = json!({"generation":"Yo","prompt_token_count":4,"generation_token_count":1,"stop_reason":"stop"});
        assert_eq!(ModelText::from_body(&llama).text, "Yo");
        let nova = json!({"output":{"message":{"role":"assistant","content":[{"text":"Xin chào"}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":3,"totalTokens":4}});
        assert_eq!(ModelText::from_body(&nova).output_tokens, Some(3));
        assert_eq!(ModelText::from_body(&nova).text, "Xin chào");
    }

    #[test]
    fn guardrail_findings_print_one_line_each() {
        use aws_sdk_bedrockruntime::types::{
            GuardrailContextualGroundingFilter, GuardrailContextualGroundingFilterType,
            GuardrailContextualGroundingPolicyAction, GuardrailContextualGroundingPolicyAssessment,
            GuardrailPiiEntityFilter, GuardrailPiiEntityType,
            GuardrailSensitiveInformationPolicyAction,
            GuardrailSensitiveInformationPolicyAssessment, GuardrailTopic,
            GuardrailTopicPolicyAction, GuardrailTopicPolicyAssessment, GuardrailTopicType,
        };
        let topic = GuardrailTopic::builder()
            .name("Investment advice")
            .r#type(GuardrailTopicType::Deny)
            .action(GuardrailTopicPolicyAction::Blocked)
            .build()
            .expect("topic");
        let pii = GuardrailPiiEntityFilter::builder()
            .r#match("student@example.com")
            .r#type(GuardrailPiiEntityType::Email)
            .action(GuardrailSensitiveInformationPolicyAction::Anonymized)
            .build()
            .expect("pii");
        let grounding = GuardrailContextualGroundingFilter::builder()
            .r#type(GuardrailContextualGroundingFilterType::Grounding)
            .threshold(0.7)
            .score(0.25)
            .action(GuardrailContextualGroundingPolicyAction::Blocked)
            .build()
            .expect("grounding");
        let assessment = GuardrailAssessment::builder()
            .topic_policy(
                GuardrailTopicPolicyAssessment::builder()
                    .topics(topic)
                    .build()
                    .expect("topics"),
            )
            .sensitive_information_policy(
                GuardrailSensitiveInformationPolicyAssessment::builder()
                    .pii_entities(pii)
                    .set_regexes(Some(Vec::new()))
                    .build()
                    .expect("sensitive information"),
            )
            .contextual_grounding_policy(
                GuardrailContextualGroundingPolicyAssessment::builder()
                    .filters(grounding)
                    .build(),
            )
            .build();
        assert_eq!(
            assessment_lines(&assessment),
            [
                "topic: Investment advice DENY -> BLOCKED",
                "pii: EMAIL student@example.com -> ANONYMIZED",
                "grounding: GROUNDING score 0.25 threshold 0.7 -> BLOCKED",
            ]
        );
        assert!(assessment_lines(&GuardrailAssessment::builder().build()).is_empty());
    }

    #[test]
    fn claude_stream_chunks() {
        let delta = json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ab"}});
        assert_eq!(ModelText::from_chunk(&delta).text, "ab");
        let stop = json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}});
        assert_eq!(ModelText::from_chunk(&stop).output_tokens, Some(9));
        assert_eq!(chunk_type(&stop), "message_delta");
    }
}
