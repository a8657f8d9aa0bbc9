//! Property tests: our event-stream frames decode back to what we encoded,
//! and cassette loading never panics on arbitrary input.

use std::path::Path;

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::HeaderValue;
use labcheck::cassette::{CassetteError, CassetteSet, StreamEvent, parse_cassette};
use labcheck::ids::Operation;
use labcheck::replay::stream::encode_event;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Binary fractions: exact through serde_json's (not bit-exact) float parser.
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z_]{1,10}", arb_json(), 0..6).prop_map(|m| {
        let mut m: Map<String, Value> = m.into_iter().collect();
        m.remove("p");
        m
    })
}

fn header(m: &aws_smithy_types::event_stream::Message, i: usize) -> (&str, &str) {
    let h = &m.headers()[i];
    match h.value() {
        HeaderValue::String(s) => (h.name().as_str(), s.as_str()),
        other => panic!("non-string header {other:?}"),
    }
}

const CONVERSE: [&str; 6] = [
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
];

proptest! {
    #[test]
    fn invoke_chunk_round_trips(payload in arb_object(), seq in 0usize..1000) {
        let ev = StreamEvent { delay_ms: 0, event: Some("chunk".into()), exception: None, payload: Value::Object(payload.clone()) };
        let bytes = encode_event(Operation::InvokeModelWithResponseStream, &ev, seq).expect("encode");
        let msg = read_message_from(bytes.as_ref()).expect("decode");
        prop_assert_eq!(msg.headers().len(), 3);
        prop_assert_eq!(header(&msg, 0), (":event-type", "chunk"));
        prop_assert_eq!(header(&msg, 1), (":content-type", "application/json"));
        prop_assert_eq!(header(&msg, 2), (":message-type", "event"));
        let outer: Value = serde_json::from_slice(msg.payload()).expect("outer json");
        let b64 = outer["bytes"].as_str().expect("bytes field");
        prop_assert!(outer["p"].as_str().is_some_and(|p| !p.is_empty()));
        let inner: Value = serde_json::from_slice(&aws_smithy_types::base64::decode(b64).expect("base64")).expect("inner json");
        prop_assert_eq!(inner, Value::Object(payload));
    }

    #[test]
    fn converse_event_and_exception_round_trip(payload in arb_object(), which in 0usize..6, msg_text in ".{0,40}", seq in 0usize..1000) {
        let name = CONVERSE[which];
        let ev = StreamEvent { delay_ms: 0, event: Some(name.into()), exception: None, payload: Value::Object(payload.clone()) };
        let msg = read_message_from(encode_event(Operation::ConverseStream, &ev, seq).expect("encode").as_ref()).expect("decode");
        prop_assert_eq!(header(&msg, 0), (":event-type", name));
        prop_assert_eq!(header(&msg, 2), (":message-type", "event"));
        let mut got: Value = serde_json::from_slice(msg.payload()).expect("json");
        prop_assert!(got.as_object_mut().expect("object").remove("p").is_some());
        prop_assert_eq!(got, Value::Object(payload));

        let exc = StreamEvent { delay_ms: 0, event: None, exception: Some("throttlingException".into()), payload: json!({"message": msg_text}) };
        let msg = read_message_from(encode_event(Operation::ConverseStream, &exc, seq).expect("encode").as_ref()).expect("decode");
        prop_assert_eq!(header(&msg, 0), (":exception-type", "throttlingException"));
        prop_assert_eq!(header(&msg, 1), (":content-type", "application/json"));
        prop_assert_eq!(header(&msg, 2), (":message-type", "exception"));
        let got: Value = serde_json::from_slice(msg.payload()).expect("json");
        prop_assert_eq!(got, json!({"message": msg_text}));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = parse_cassette(Path::new("fuzz.json"), &bytes);
        // Random bytes are (almost) never a cassette; any error must be a content error naming the file.
        if let Err(e) = r {
            let content_error = matches!(e, CassetteError::NotUtf8 { .. } | CassetteError::Syntax { .. } | CassetteError::Invalid { .. });
            prop_assert!(content_error, "{:?}", e);
            prop_assert!(e.to_string().contains("fuzz.json"));
        }
    }

    #[test]
    fn arbitrary_json_is_rejected_with_a_message(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).expect("json");
        // An arbitrary value is never a full cassette: it must be an error naming the file.
        let e = parse_cassette(Path::new("fuzz.json"), &bytes).expect_err("not a cassette");
        prop_assert!(e.to_string().contains("fuzz.json"));
    }

    #[test]
    fn mutated_cassettes_load_or_fail_cleanly(at in 0usize..POINTERS.len(), v in arb_json()) {
        let mut doc = valid();
        if let Some(slot) = doc.pointer_mut(POINTERS[at]) {
            *slot = v;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("m.json"), serde_json::to_vec(&doc).expect("json")).expect("write");
        match CassetteSet::load_dir(dir.path()) {
            Ok(set) => prop_assert!(set.len() <= 2),
            Err(e) => prop_assert!(e.to_string().contains("m.json"), "{}", e),
        }
    }
}

const POINTERS: [&str; 14] = [
    "/version",
    "/meta",
    "/meta/source",
    "/meta/recorded_at",
    "/meta/client",
    "/interactions",
    "/interactions/0/name",
    "/interactions/0/request/operation",
    "/interactions/0/request/model_id",
    "/interactions/0/request/body",
    "/interactions/0/response/status",
    "/interactions/1/response/stream",
    "/interactions/1/response/stream/0/delay_ms",
    "/interactions/1/response/stream/0/payload",
];

fn valid() -> Value {
    json!({
        "version": 1,
        "meta": {"source": "authored", "model": "m", "region": "us-east-1",
                 "recorded_at": "2026-11-26T00:00:00Z", "client": "any"},
        "interactions": [
            {"name": "a", "request": {"operation": "InvokeModel", "method": "POST", "model_id": "m:0", "body": {"x": 1}},
             "response": {"status": 200, "body": {"ok": true}}},
            {"name": "b", "request": {"operation": "ConverseStream", "method": "POST", "model_id": "m:0", "body": {"x": 2}},
             "response": {"status": 200, "stream": [{"delay_ms": 5, "event": "messageStart", "payload": {"role": "assistant"}}]}}
        ]
    })
}
