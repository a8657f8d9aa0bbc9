//! Every template answer `labcheck capture` serves decodes in the Rust SDK:
//! each model family on InvokeModel and InvokeModelWithResponseStream (all
//! frames, the text in several chunks), Converse and ConverseStream; and an
//! equal request gets the interaction already captured.

use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseStreamOutput, Message, ResponseStream,
};
use labcheck::capture::template;
use labcheck::cassette::{CassetteSet, PLACEHOLDER};
use labcheck::replay::{Capture, Captured, ReplayOptions, ReplayServer};

const MODELS: [&str; 14] = [
    "us.anthropic.claude-sonnet-4-6",
    "us.amazon.nova-2-lite-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.titan-embed-text-v2:0",
    "amazon.nova-canvas-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mistral-large-2407-v1:0",
    "cohere.command-text-v14",
    "cohere.command-r-plus-v1:0",
    "cohere.embed-english-v3",
    "ai21.j2-ultra-v1",
    "stability.stable-diffusion-xl-v1",
    "openai.gpt-oss-20b-1:0",
];

async fn client(endpoint: &str) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "dummy-secret",
            None,
            None,
            "test",
        ))
        .load()
        .await;
    Client::new(&conf)
}

#[tokio::test]
async fn every_template_decodes_in_the_rust_sdk() {
    let sink: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let options = ReplayOptions {
        speed: 0.0,
        capture: Some(Capture::new(template::answer, "t", Arc::clone(&sink))),
        ..ReplayOptions::default()
    };
    let server = ReplayServer::start(CassetteSet::default(), options)
        .await
        .expect("start");
    let c = client(&server.endpoint()).await;
    let body = || Blob::new(br#"{"messages":[{"role":"user","content":"hi"}]}"#.to_vec());
    for model in MODELS {
        let out = c
            .invoke_model()
            .model_id(model)
            .body(body())
            .send()
            .await
            .expect(model);
        let json: serde_json::Value =
            serde_json::from_slice(out.body().as_ref()).expect("a JSON body");
        assert!(json.to_string().contains(PLACEHOLDER), "{model}: {json}");

        let mut stream = c
            .invoke_model_with_response_stream()
            .model_id(model)
            .body(body())
            .send()
            .await
            .expect(model)
            .body;
        let mut chunks = 0;
        while let Some(event) = stream.recv().await.expect("frames decode") {
            if let ResponseStream::Chunk(p) = event {
                let bytes = p.bytes().expect("bytes").as_ref().to_vec();
                serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON chunk");
                chunks += 1;
            }
        }
        assert!(chunks >= 3, "{model}: {chunks} chunks");

        let msg = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text("hi".into()))
            .build()
            .expect("message");
        let out = c
            .converse()
            .model_id(model)
            .messages(msg.clone())
            .send()
            .await
            .expect(model);
        assert!(out.usage().is_some());
        let mut stream = c
            .converse_stream()
            .model_id(model)
            .messages(msg)
            .send()
            .await
            .expect(model)
            .stream;
        let mut text = String::new();
        while let Some(event) = stream.recv().await.expect("events decode") {
            if let ConverseStreamOutput::ContentBlockDelta(d) = event
                && let Some(aws_sdk_bedrockruntime::types::ContentBlockDelta::Text(t)) = d.delta()
            {
                text.push_str(t);
            }
        }
        assert!(text.starts_with(PLACEHOLDER), "{model}: {text}");
    }
    // Converse requests are equal across models but for the model: one
    // interaction per (operation, model); the invoke ones likewise.
    let captured = sink.lock().expect("sink").len();
    assert_eq!(captured, MODELS.len() * 4);
    // The same request again is answered from what was captured.
    let _ = c
        .invoke_model()
        .model_id(MODELS[0])
        .body(body())
        .send()
        .await
        .expect("again");
    assert_eq!(sink.lock().expect("sink").len(), captured);
    server.shutdown();
}
