//! The real Rust SDK (aws-sdk-bedrockruntime + aws-config) against the replay
//! server loaded with `tests/fixtures/cassettes/`.

use std::path::Path;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseStreamOutput, InferenceConfiguration, Message,
    ResponseStream, StopReason,
};
use labcheck::cassette::CassetteSet;
use labcheck::ids::Operation;
use labcheck::replay::{ReplayOptions, ReplayServer};
use serde_json::{Value, json};

const MODEL: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0";

fn fixtures() -> CassetteSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cassettes");
    CassetteSet::load_dir(dir).expect("fixture cassettes load")
}

fn opts(speed: f64) -> ReplayOptions {
    ReplayOptions {
        port: 0,
        speed,
        label: "tests/fixtures/cassettes".into(),
        ..ReplayOptions::default()
    }
}

async fn client(endpoint: &str) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "dummy-secret",
            None,
            None,
            "labcheck-test",
        ))
        .load()
        .await;
    Client::new(&conf)
}

fn claude_body(prompt: &str, max_tokens: u64) -> Blob {
    // Key order differs from the cassette on purpose: matching is by value.
    let body = json!({"temperature": 0.5, "messages": [{"role": "user", "content": prompt}],
                      "max_tokens": max_tokens, "anthropic_version": "bedrock-2023-05-31"});
    Blob::new(serde_json::to_vec(&body).expect("json"))
}

#[tokio::test]
async fn invoke_model_returns_the_recorded_body() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let out = c
        .invoke_model()
        .model_id(MODEL)
        .content_type("application/json")
        .body(claude_body("What is Amazon Bedrock? One sentence.", 256))
        .send()
        .await
        .expect("invoke_model");
    assert_eq!(out.content_type(), "application/json");
    assert!(
        out.request_id().is_some_and(|id| id.len() == 36),
        "request id: {:?}",
        out.request_id()
    );
    let v: Value = serde_json::from_slice(out.body().as_ref()).expect("json body");
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(
        v["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Amazon Bedrock is"))
    );
    let served = server.served();
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].operation, Some(Operation::InvokeModel));
    assert_eq!(served[0].model_id, MODEL);
    assert_eq!(
        served[0].interaction.as_deref(),
        Some("invoke-what-is-bedrock")
    );
    assert!(
        served[0].user_agent.starts_with("aws-sdk-rust/"),
        "{}",
        served[0].user_agent
    );
    assert!(server.misses().is_empty());
}

#[tokio::test]
async fn invoke_stream_yields_all_chunks_in_order_on_schedule() {
    let server = ReplayServer::start(fixtures(), opts(1.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let mut out = c
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .content_type("application/json")
        .body(claude_body("List 5 benefits of Amazon Bedrock.", 256))
        .send()
        .await
        .expect("stream call");
    assert_eq!(out.content_type(), "application/json");
    let (mut types, mut text) = (Vec::new(), String::new());
    while let Some(ev) = out.body.recv().await.expect("stream event") {
        let ResponseStream::Chunk(part) = ev else {
            panic!("unexpected event {ev:?}")
        };
        let v: Value =
            serde_json::from_slice(part.bytes().expect("bytes").as_ref()).expect("chunk json");
        types.push(v["type"].as_str().expect("type").to_string());
        if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
            text.push_str(t);
        }
    }
    let mut expected = vec!["message_start", "content_block_start"];
    expected.extend(["content_block_delta"; 5]);
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(types, expected);
    assert_eq!(text, "Here are five benefits: 1. Managed 2. Choice");
    let served = server.served();
    let frames = &served[0].frames_sent;
    assert_eq!(frames.len(), 10);
    // Lower bounds only: first frame >= 0.8 x 120 ms after arrival, deltas >= 0.8 x 60 ms apart.
    assert!(frames[0] - served[0].arrived >= Duration::from_millis(96));
    for w in frames[1..7].windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(48),
            "gap {:?}",
            w[1] - w[0]
        );
    }
}

#[tokio::test]
async fn in_stream_exception_surfaces_as_modeled_error() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let mut out = c
        .invoke_model_with_response_stream()
        .model_id(MODEL)
        .body(claude_body("Trigger a mid-stream error.", 256))
        .send()
        .await
        .expect("stream call");
    assert!(matches!(
        out.body.recv().await,
        Ok(Some(ResponseStream::Chunk(_)))
    ));
    let err = out.body.recv().await.expect_err("exception frame");
    let service = err.into_service_error();
    assert!(service.is_model_stream_error_exception(), "{service:?}");
}

fn converse_message() -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text("Say hello in Vietnamese.".into()))
        .build()
        .expect("message")
}

fn inference() -> InferenceConfiguration {
    InferenceConfiguration::builder()
        .max_tokens(64)
        .temperature(0.5)
        .build()
}

#[tokio::test]
async fn converse_and_arn_model_ids_round_trip() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    for (model, want) in [(MODEL, "Xin chào!"), (ARN, "Xin chào (ARN)!")] {
        let out = c
            .converse()
            .model_id(model)
            .messages(converse_message())
            .inference_config(inference())
            .send()
            .await
            .expect("converse");
        assert_eq!(out.stop_reason(), &StopReason::EndTurn);
        let msg = out.output().expect("output").as_message().expect("message");
        assert_eq!(msg.content()[0].as_text().expect("text"), want);
        assert_eq!(out.usage().map(|u| u.total_tokens()), Some(17));
    }
    let served = server.served();
    assert_eq!(served[1].model_id, ARN);
    assert!(server.misses().is_empty(), "{:?}", server.misses());
}

#[tokio::test]
async fn converse_stream_yields_events_in_order() {
    let server = ReplayServer::start(fixtures(), opts(1.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let mut out = c
        .converse_stream()
        .model_id(MODEL)
        .messages(converse_message())
        .inference_config(inference())
        .send()
        .await
        .expect("converse_stream");
    let (mut kinds, mut text) = (Vec::new(), String::new());
    while let Some(ev) = out.stream.recv().await.expect("event") {
        kinds.push(match &ev {
            ConverseStreamOutput::MessageStart(_) => "messageStart",
            ConverseStreamOutput::ContentBlockDelta(d) => {
                text.push_str(
                    d.delta()
                        .and_then(|d| d.as_text().ok())
                        .expect("text delta"),
                );
                "contentBlockDelta"
            }
            ConverseStreamOutput::ContentBlockStop(_) => "contentBlockStop",
            ConverseStreamOutput::MessageStop(m) => {
                assert_eq!(m.stop_reason(), &StopReason::EndTurn);
                "messageStop"
            }
            ConverseStreamOutput::Metadata(_) => "metadata",
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(
        kinds,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(text, "Xin chào!");
    let served = server.served();
    assert!(served[0].frames_sent[0] - served[0].arrived >= Duration::from_millis(40));
}

#[tokio::test]
async fn recorded_validation_exception_is_modeled() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let err = c
        .invoke_model()
        .model_id(MODEL)
        .body(claude_body("What is Amazon Bedrock? One sentence.", 0))
        .send()
        .await
        .expect_err("recorded 400");
    match err.into_service_error() {
        InvokeModelError::ValidationException(e) => {
            assert_eq!(e.message(), Some("max_tokens: range: 1..1,000,000"));
        }
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

#[tokio::test]
async fn changed_prompt_fails_fast_naming_nearest_and_field() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let err = c
        .invoke_model()
        .model_id(MODEL)
        .body(claude_body("What is Amazon Bedrock? Two sentences.", 256))
        .send()
        .await
        .expect_err("miss");
    let InvokeModelError::ValidationException(e) = err.into_service_error() else {
        panic!("not a ValidationException")
    };
    let msg = e.message().expect("message");
    assert!(msg.contains("tests/fixtures/cassettes"), "{msg}");
    assert!(msg.contains("`invoke-what-is-bedrock`"), "{msg}");
    assert!(msg.contains("/messages/0/content"), "{msg}");
    assert!(msg.contains("Two sentences"), "{msg}");
    assert_eq!(
        server.served().len(),
        1,
        "the SDK must not retry a replay miss"
    );
    let misses = server.misses();
    assert_eq!(misses.len(), 1);
    assert_eq!(misses[0].nearest_file.as_deref(), Some("invoke.json"));
    assert_eq!(misses[0].differences.len(), 1);
    assert!(misses[0].diff.contains("-") && misses[0].diff.contains("Two sentences"));
}

#[tokio::test]
async fn missing_auth_is_403_bedrock_shaped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let mut tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let req = format!(
        "POST /model/{}/invoke HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
        MODEL.replace(':', "%3A"),
        server.addr()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await.expect("read");
    let lower = resp.to_ascii_lowercase();
    assert!(resp.starts_with("HTTP/1.1 403"), "{resp}");
    assert!(
        lower.contains("x-amzn-errortype: accessdeniedexception"),
        "{resp}"
    );
    assert!(lower.contains("x-amzn-requestid: "), "{resp}");
    assert!(
        resp.ends_with(r#"{"message":"Authorization header is missing"}"#),
        "{resp}"
    );
    assert!(server.misses().is_empty());
    assert_eq!(server.served()[0].status, 403);
}

#[test]
fn sixty_four_concurrent_clients_from_a_plain_thread() {
    let server = ReplayServer::start_blocking(fixtures(), opts(0.0)).expect("start_blocking");
    let endpoint = server.endpoint();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let endpoint = endpoint.clone();
            tasks.push(tokio::spawn(async move {
                let c = client(&endpoint).await;
                if i % 2 == 0 {
                    c.invoke_model()
                        .model_id(MODEL)
                        .body(claude_body("What is Amazon Bedrock? One sentence.", 256))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                } else {
                    c.converse()
                        .model_id(MODEL)
                        .messages(converse_message())
                        .inference_config(inference())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                }
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    let errors: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(server.misses().is_empty());
    let served = server.served();
    assert_eq!(served.len(), 64);
    assert!(served.iter().all(|s| s.status == 200));
    server.shutdown();
}

#[tokio::test]
async fn miss_report_reads_well() {
    let server = ReplayServer::start(fixtures(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let _ = c
        .converse()
        .model_id(MODEL)
        .messages(converse_message())
        .inference_config(
            InferenceConfiguration::builder()
                .max_tokens(65)
                .temperature(0.5)
                .build(),
        )
        .send()
        .await
        .expect_err("miss");
    let report = server.misses().pop().expect("one miss").to_string();
    eprintln!("{report}");
    assert!(
        report.contains("`converse-hello` in `converse.json`"),
        "{report}"
    );
    assert!(
        report.contains("`/inferenceConfig/maxTokens` (recorded 64, received 65)"),
        "{report}"
    );
    // Keys are sorted in the text diff, so only the changed line differs.
    assert!(
        report.contains("-    \"maxTokens\": 64,\n+    \"maxTokens\": 65,"),
        "{report}"
    );
    assert_eq!(
        report
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        1,
        "{report}"
    );
}

#[tokio::test]
async fn a_server_without_a_kept_log_still_counts_what_it_served() {
    let options = ReplayOptions {
        retention: labcheck::replay::Retention::Recent,
        ..opts(0.0)
    };
    let server = ReplayServer::start(fixtures(), options)
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    for _ in 0..3 {
        c.invoke_model()
            .model_id(MODEL)
            .content_type("application/json")
            .body(claude_body("What is Amazon Bedrock? One sentence.", 256))
            .send()
            .await
            .expect("invoke_model");
    }
    assert!(server.served().is_empty(), "nothing kept");
    assert_eq!(server.served_count(), 3);
}

#[tokio::test]
async fn a_miss_on_an_empty_set_shows_the_request_that_arrived() {
    let server = ReplayServer::start(CassetteSet::default(), opts(0.0))
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let _ = c
        .converse()
        .model_id(MODEL)
        .messages(converse_message())
        .send()
        .await
        .expect_err("miss");
    let report = server.misses().pop().expect("one miss").to_string();
    server.shutdown();
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("replay-miss-empty-set", report);
    });
}
