//! Event-stream frames: encoding a cassette's stream events into AWS
//! event-stream messages (BEDROCK-WIRE §2) once at load, and sending them on
//! their recorded schedule as one HTTP chunk each.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{Map, Value};

use crate::cassette::{FrameKind, StreamEvent};
use crate::ids::Operation;

const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Why a stream event cannot be encoded as an event-stream message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("cannot serialize the payload: {0}")]
    Payload(#[from] serde_json::Error),
    #[error("cannot write the frame: {0}")]
    Frame(#[from] aws_smithy_eventstream::error::Error),
}

/// One pre-encoded frame and its delay after the previous frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) delay: Duration,
    pub(crate) bytes: Bytes,
}

/// Encode one event as a complete event-stream message.
///
/// Operations of the other services (InvokeAgent, RetrieveAndGenerateStream,
/// …) send the event object as written, blob members base64-encoded from
/// their text, without `p` (see `docs/bedrock-services.md`).
///
/// Events carry `:event-type`, `:content-type`, `:message-type: event` in that
/// order; exceptions carry `:exception-type`, `:content-type`,
/// `:message-type: exception`. The invoke stream's payload is
/// `{"bytes": base64(model event), "p": padding}`; Converse's is the event
/// object plus `"p"`; an exception's is its payload as is.
pub fn encode_event(op: Operation, event: &StreamEvent, seq: usize) -> Result<Bytes, EncodeError> {
    let (type_header, name, message_type, payload) = match event.kind() {
        FrameKind::Event(name) => {
            let pad = padding(seq);
            let payload = if !op.service().is_runtime() {
                service_event(op, name, &event.payload)
            } else if op == Operation::InvokeModelWithResponseStream {
                let inner = serde_json::to_vec(&event.payload)?;
                let mut m = Map::new();
                m.insert(
                    "bytes".into(),
                    Value::String(aws_smithy_types::base64::encode(inner)),
                );
                m.insert("p".into(), Value::String(pad.into()));
                Value::Object(m)
            } else {
                let mut m = event.payload.as_object().cloned().unwrap_or_default();
                m.insert("p".into(), Value::String(pad.into()));
                Value::Object(m)
            };
            (":event-type", name, "event", payload)
        }
        FrameKind::Exception(name) => (":exception-type", name, "exception", event.payload.clone()),
    };
    let body = serde_json::to_vec(&payload)?;
    let message = Message::new(body)
        .add_header(Header::new(
            type_header,
            HeaderValue::String(name.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.into()),
        ));
    let mut out = Vec::new();
    write_message_to(&message, &mut out)?;
    Ok(Bytes::from(out))
}

/// The payload of an event of a service other than the runtime: the event
/// object as written, its blob members (e.g. InvokeAgent's `chunk.bytes`,
/// written as text in the cassette) base64-encoded, no padding field.
fn service_event(op: Operation, name: &str, payload: &Value) -> Value {
    let mut m = payload.as_object().cloned().unwrap_or_default();
    let blobs = op
        .def()
        .stream
        .and_then(|s| s.event(name))
        .map_or(&[][..], |e| e.blobs);
    for blob in blobs {
        if let Some(Value::String(text)) = m.get(*blob) {
            let encoded = aws_smithy_types::base64::encode(text.as_bytes());
            m.insert((*blob).to_string(), Value::String(encoded));
        }
    }
    Value::Object(m)
}

/// A prefix of `a…zA…Z0…9` whose length varies with the frame, as Bedrock's does.
fn padding(seq: usize) -> &'static str {
    let len = 1 + (seq * 7 + 3) % PADDING.len();
    &PADDING[..len]
}

/// Encode a whole stream, each frame with its delay after the previous one.
pub(crate) fn encode_stream(
    op: Operation,
    events: &[StreamEvent],
) -> Result<Arc<[Frame]>, EncodeError> {
    let mut frames = Vec::with_capacity(events.len());
    for (seq, ev) in events.iter().enumerate() {
        frames.push(Frame {
            delay: Duration::from_millis(ev.delay_ms),
            bytes: encode_event(op, ev, seq)?,
        });
    }
    Ok(frames.into())
}

/// Called with each frame's index and the instant hyper came back for more
/// after taking it (it has been written and flushed by then).
pub(crate) type OnSent = Box<dyn Fn(usize, Instant) + Send + Sync>;

/// `delay * speed`, saturating at [`Duration::MAX`] instead of panicking
/// (`Duration::mul_f64` panics on overflow, e.g. at speed `1e300`). A speed
/// that is not a positive finite number means no wait.
fn scaled(delay: Duration, speed: f64) -> Duration {
    if speed.is_nan() || speed <= 0.0 || delay.is_zero() {
        return Duration::ZERO;
    }
    if !speed.is_finite() {
        return Duration::MAX;
    }
    Duration::try_from_secs_f64(delay.as_secs_f64() * speed).unwrap_or(Duration::MAX)
}

/// Waits `wait` after `from`; a deadline past what an instant can hold is
/// left to `tokio::time::sleep`, which saturates to its far future.
async fn wait_after(from: tokio::time::Instant, wait: Duration) {
    match from.checked_add(wait) {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => tokio::time::sleep(wait).await,
    }
}

/// The frames as a body stream: frame `i` is released `delay_i * speed` after
/// hyper came back for it, i.e. after frame `i - 1` was written and flushed (no
/// waiting at speed 0). Measuring each gap from that moment, rather than from
/// the response start, means a timer that fires late or a slow write delays
/// the rest of the stream instead of squeezing the next gap: no gap is ever
/// shorter than recorded.
pub(crate) fn frame_stream(
    frames: Arc<[Frame]>,
    speed: f64,
    on_sent: OnSent,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    futures_util::stream::unfold(0usize, move |i| {
        let frames = Arc::clone(&frames);
        let now = Instant::now();
        if i > 0 {
            on_sent(i - 1, now);
        }
        let previous_written = tokio::time::Instant::now();
        async move {
            let frame = frames.get(i)?;
            let wait = scaled(frame.delay, speed);
            if !wait.is_zero() {
                wait_after(previous_written, wait).await;
            }
            Some((Ok(frame.bytes.clone()), i + 1))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use serde_json::json;

    fn chunk(delay_ms: u64, payload: Value) -> StreamEvent {
        StreamEvent {
            delay_ms,
            event: Some("chunk".into()),
            exception: None,
            payload,
        }
    }

    #[test]
    fn other_services_events_carry_their_object_with_blobs_base64_and_no_padding() {
        let ev = chunk(
            0,
            json!({"bytes": "Hi ✓", "attribution": {"citations": []}}),
        );
        let bytes = encode_event(Operation::InvokeAgent, &ev, 3).expect("encode");
        let msg = aws_smithy_eventstream::frame::read_message_from(bytes.as_ref()).expect("decode");
        let names: Vec<_> = msg.headers().iter().map(|h| h.name().as_str()).collect();
        assert_eq!(names, [":event-type", ":content-type", ":message-type"]);
        let payload: Value = serde_json::from_slice(msg.payload()).expect("json");
        assert_eq!(
            payload,
            json!({"bytes": aws_smithy_types::base64::encode("Hi ✓".as_bytes()), "attribution": {"citations": []}})
        );
        // An event without blob members is sent as written.
        let trace = StreamEvent {
            event: Some("citation".into()),
            ..chunk(
                0,
                json!({"generatedResponsePart": {"textResponsePart": {"text": "x"}}}),
            )
        };
        let bytes = encode_event(Operation::RetrieveAndGenerateStream, &trace, 0).expect("encode");
        let msg = aws_smithy_eventstream::frame::read_message_from(bytes.as_ref()).expect("decode");
        let payload: Value = serde_json::from_slice(msg.payload()).expect("json");
        assert_eq!(payload, trace.payload);
    }

    #[test]
    fn chunk_headers_are_75_bytes_in_wire_order() {
        // BEDROCK-WIRE §2: `:event-type chunk`, `:content-type`, `:message-type` => H = 75.
        let bytes = encode_event(
            Operation::InvokeModelWithResponseStream,
            &chunk(0, json!({"type": "x"})),
            0,
        )
        .expect("encode");
        assert_eq!(
            u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes")),
            75
        );
        assert_eq!(
            u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize,
            bytes.len()
        );
        let text = String::from_utf8_lossy(&bytes[12..12 + 75]);
        let (e, c, m) = (
            text.find(":event-type").expect("event"),
            text.find(":content-type").expect("content"),
            text.find(":message-type").expect("message"),
        );
        assert!(e < c && c < m, "{text}");
    }

    #[test]
    fn padding_is_a_nonempty_alphabet_prefix_of_varying_length() {
        let lens: std::collections::HashSet<usize> = (0..20).map(|i| padding(i).len()).collect();
        assert!(lens.len() > 5);
        assert!((0..100).all(|i| !padding(i).is_empty() && PADDING.starts_with(padding(i))));
    }

    #[tokio::test(start_paused = true)]
    async fn frames_follow_the_schedule_scaled_by_speed() {
        let events = [
            chunk(100, json!({})),
            chunk(50, json!({})),
            chunk(0, json!({})),
            chunk(250, json!({})),
        ];
        let frames =
            encode_stream(Operation::InvokeModelWithResponseStream, &events).expect("encode");
        for (speed, want) in [
            (1.0, [100u64, 150, 150, 400]),
            (0.5, [50, 75, 75, 200]),
            (0.0, [0, 0, 0, 0]),
        ] {
            let start = tokio::time::Instant::now();
            let mut s = Box::pin(frame_stream(
                Arc::clone(&frames),
                speed,
                Box::new(|_, _| {}),
            ));
            let mut got = Vec::new();
            while let Some(Ok(_)) = s.next().await {
                got.push(start.elapsed().as_millis() as u64);
            }
            assert_eq!(got, want, "speed {speed}");
        }
    }

    #[test]
    fn scaling_saturates_instead_of_overflowing() {
        let huge = Duration::from_millis(u64::MAX);
        assert_eq!(scaled(huge, 1e300), Duration::MAX);
        assert_eq!(scaled(Duration::from_millis(1), 1e300), Duration::MAX);
        assert_eq!(scaled(huge, f64::INFINITY), Duration::MAX);
        assert_eq!(scaled(huge, 0.0), Duration::ZERO);
        assert_eq!(scaled(huge, f64::NAN), Duration::ZERO);
        assert_eq!(
            scaled(Duration::from_millis(100), 0.5),
            Duration::from_millis(50)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn extreme_speed_and_delay_hold_the_frame_back_without_panicking() {
        let events = [chunk(0, json!({})), chunk(u64::MAX, json!({}))];
        let frames =
            encode_stream(Operation::InvokeModelWithResponseStream, &events).expect("encode");
        let mut s = Box::pin(frame_stream(frames, 1e300, Box::new(|_, _| {})));
        assert!(
            matches!(s.next().await, Some(Ok(_))),
            "the first frame has no delay"
        );
        // The paused clock jumps a year ahead: the second frame is still held back.
        let year = Duration::from_secs(365 * 24 * 3600);
        assert!(tokio::time::timeout(year, s.next()).await.is_err());
    }
}
