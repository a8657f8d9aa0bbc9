//! Capturing an upstream answer while it is forwarded: the body bytes, or the
//! event-stream frames decoded as they complete with the delay since the
//! previous one, turned into a cassette response (unscrubbed) and the token
//! usage it reports.

use std::time::Instant;

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::Message;
use bytes::{Buf, BytesMut};
use serde_json::Value;

use super::budget::{Tokens, usage_in};
use crate::cassette::{RecordedResponse, StreamEvent};
use crate::ids::Operation;

/// The largest event-stream message the wire format allows (16 MiB, the
/// limit of AWS's event-stream decoders): a length prefix above it is a
/// corrupt stream, not a reason to buffer gigabytes.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// The most of an answer kept for its cassette (its bytes as they arrived,
/// body or stream): an image model's base64 answer is a few MiB; more is not
/// a lab's answer, and keeping it would grow the proxy without bound.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why a captured event stream cannot be recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("event-stream frame of length {0} (a frame is 16 bytes to {MAX_FRAME} bytes)")]
    FrameLength(usize),
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("cannot decode an event-stream frame: {0}")]
    Frame(#[from] aws_smithy_eventstream::error::Error),
    #[error("event-stream frame without `:event-type`")]
    NoEventType,
    #[error("invalid base64 in `bytes`: {0}")]
    Base64(#[from] aws_smithy_types::base64::DecodeError),
}

/// One answer being captured.
pub(crate) struct Capture {
    op: Operation,
    status: u16,
    headers: Vec<(String, String)>,
    streaming: bool,
    buf: BytesMut,
    body: Vec<u8>,
    events: Vec<StreamEvent>,
    /// Bytes pushed so far (bounded by [`MAX_BODY`]).
    seen: usize,
    last: Instant,
    /// Set when the stream could not be decoded; the answer is then not recorded.
    pub(crate) broken: Option<CaptureError>,
}

impl Capture {
    pub(crate) fn new(
        op: Operation,
        status: u16,
        headers: Vec<(String, String)>,
        started: Instant,
    ) -> Capture {
        let streaming = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.contains("vnd.amazon.eventstream")
        });
        Capture {
            op,
            status,
            headers,
            streaming,
            buf: BytesMut::new(),
            body: Vec::new(),
            events: Vec::new(),
            seen: 0,
            last: started,
            broken: None,
        }
    }

    /// Feed bytes that arrived at `now`.
    pub(crate) fn push(&mut self, chunk: &[u8], now: Instant) {
        if self.broken.is_some() {
            // Already unrecordable: the rest is only forwarded, not kept.
            return;
        }
        // Every byte counts, decoded events included: they are what the
        // cassette would hold.
        self.seen = self.seen.saturating_add(chunk.len());
        if self.seen > MAX_BODY {
            self.broken = Some(CaptureError::TooLarge);
            self.buf.clear();
            self.body.clear();
            self.events.clear();
            return;
        }
        if !self.streaming {
            self.body.extend_from_slice(chunk);
            return;
        }
        self.buf.extend_from_slice(chunk);
        while self.buf.len() >= 4 {
            let total = (&self.buf[..4]).get_u32() as usize;
            if !(16..=MAX_FRAME).contains(&total) {
                self.broken = Some(CaptureError::FrameLength(total));
                self.buf.clear();
                return;
            }
            if self.buf.len() < total {
                break;
            }
            let frame = self.buf.split_to(total).freeze();
            match read_message_from(frame)
                .map_err(CaptureError::from)
                .and_then(|m| event(self.op, &m))
            {
                Ok(mut ev) => {
                    // A pause longer than a cassette may hold is kept at the
                    // longest one (the cassette would not load otherwise).
                    let waited = now.saturating_duration_since(self.last).as_millis();
                    ev.delay_ms = u64::try_from(waited)
                        .unwrap_or(u64::MAX)
                        .min(crate::cassette::MAX_DELAY_MS);
                    self.last = now;
                    self.events.push(ev);
                }
                Err(e) => self.broken = Some(e),
            }
        }
    }

    /// Tokens the answer reports: the token-count headers, else usage in the
    /// body or stream payloads.
    pub(crate) fn usage(&self) -> Tokens {
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        if let (Some(i), Some(o)) = (
            header("x-amzn-bedrock-input-token-count"),
            header("x-amzn-bedrock-output-token-count"),
        ) {
            return Tokens {
                input: i,
                output: o,
            };
        }
        let mut total = Tokens::default();
        let body: Option<Value> = serde_json::from_slice(&self.body).ok();
        for v in body.iter().chain(self.events.iter().map(|e| &e.payload)) {
            if let Some(t) = usage_in(v) {
                total.input += t.input;
                total.output += t.output;
            }
        }
        total
    }

    pub(crate) fn status(&self) -> u16 {
        self.status
    }

    /// Whether the answer names its error code (`x-amzn-errortype`).
    pub(crate) fn response_has_errortype(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
    }

    /// The response as a cassette would hold it (not yet scrubbed).
    pub(crate) fn response(self) -> RecordedResponse {
        let headers = self
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        if self.streaming {
            return RecordedResponse {
                status: self.status,
                headers,
                body: None,
                stream: Some(self.events),
            };
        }
        let body = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()));
        RecordedResponse {
            status: self.status,
            headers,
            body: Some(body),
            stream: None,
        }
    }
}

/// Decodes an event-stream body as a recording captures it, fed in `chunks` as
/// they would arrive from upstream: the stream events in order (delays 0), or
/// the last frame error. A trailing incomplete frame is ignored, as it is when
/// recording. The entry point of the `event_stream` fuzz target, so the
/// fuzzer drives the exact frame splitting and decoding `record` runs.
pub fn decode_event_stream<'a>(
    op: Operation,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<StreamEvent>, CaptureError> {
    let now = Instant::now();
    let headers = vec![(
        "content-type".to_string(),
        "application/vnd.amazon.eventstream".to_string(),
    )];
    let mut capture = Capture::new(op, 200, headers, now);
    for chunk in chunks {
        capture.push(chunk, now);
    }
    match capture.broken {
        Some(e) => Err(e),
        None => Ok(capture.events),
    }
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// The blob members of a non-runtime event (InvokeAgent's `chunk.bytes`)
/// as the text a cassette holds: replay base64-encodes them again. A blob
/// that is not UTF-8 text stays base64.
fn decode_blobs(op: Operation, event: &str, map: &mut serde_json::Map<String, Value>) {
    if op.service().is_runtime() {
        return;
    }
    let Some(def) = op.def().stream.and_then(|s| s.event(event)) else {
        return;
    };
    for blob in def.blobs {
        if let Some(Value::String(b64)) = map.get(*blob)
            && let Ok(raw) = aws_smithy_types::base64::decode(b64)
            && let Ok(text) = String::from_utf8(raw)
        {
            map.insert((*blob).to_string(), Value::String(text));
        }
    }
}

/// One decoded frame as a cassette stream event (delay filled in by the caller).
fn event(op: Operation, m: &Message) -> Result<StreamEvent, CaptureError> {
    let payload: Value = serde_json::from_slice(m.payload())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(m.payload()).into_owned()));
    let (event, exception, payload) = match header(m, ":message-type") {
        Some("exception") | Some("error") => {
            let name = header(m, ":exception-type")
                .or_else(|| header(m, ":error-code"))
                .unwrap_or("internalServerException");
            (None, Some(name.to_string()), payload)
        }
        _ => {
            let name = header(m, ":event-type")
                .ok_or(CaptureError::NoEventType)?
                .to_string();
            let payload = match payload {
                Value::Object(mut map) => {
                    map.remove("p");
                    if op == Operation::InvokeModelWithResponseStream
                        && let Some(Value::String(b64)) = map.get("bytes")
                    {
                        let raw = aws_smithy_types::base64::decode(b64)?;
                        serde_json::from_slice(&raw).unwrap_or_else(|_| {
                            Value::String(String::from_utf8_lossy(&raw).into_owned())
                        })
                    } else {
                        decode_blobs(op, &name, &mut map);
                        Value::Object(map)
                    }
                }
                other => other,
            };
            (Some(name), None, payload)
        }
    };
    Ok(StreamEvent {
        delay_ms: 0,
        event,
        exception,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::stream::encode_event;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn frames_split_across_chunks_decode_with_their_delays() {
        let ev = |payload: Value| StreamEvent {
            delay_ms: 0,
            event: Some("chunk".into()),
            exception: None,
            payload,
        };
        let op = Operation::InvokeModelWithResponseStream;
        let a = encode_event(op, &ev(json!({"type": "message_start"})), 0).expect("a");
        let b = encode_event(
            op,
            &ev(json!({"type": "content_block_delta", "delta": {"text": "Hi"}})),
            1,
        )
        .expect("b");
        let t0 = Instant::now();
        let headers = vec![(
            "Content-Type".into(),
            "application/vnd.amazon.eventstream".into(),
        )];
        let mut c = Capture::new(op, 200, headers, t0);
        c.push(&a[..10], t0 + Duration::from_millis(5));
        c.push(&a[10..], t0 + Duration::from_millis(40));
        let mut rest = b.to_vec();
        rest.truncate(b.len() - 1);
        c.push(&rest, t0 + Duration::from_millis(50));
        c.push(&b[b.len() - 1..], t0 + Duration::from_millis(100));
        assert!(c.broken.is_none(), "{:?}", c.broken);
        let stream = c.response().stream.expect("stream");
        assert_eq!(stream.len(), 2);
        assert_eq!((stream[0].delay_ms, stream[1].delay_ms), (40, 60));
        assert_eq!(
            stream[1].payload,
            json!({"type": "content_block_delta", "delta": {"text": "Hi"}})
        );
    }

    fn streaming(op: Operation, t0: Instant) -> Capture {
        let headers = vec![(
            "content-type".into(),
            "application/vnd.amazon.eventstream".into(),
        )];
        Capture::new(op, 200, headers, t0)
    }

    #[test]
    fn a_pause_longer_than_a_cassette_holds_is_kept_at_the_longest() {
        let op = Operation::InvokeModelWithResponseStream;
        let ev = StreamEvent {
            delay_ms: 0,
            event: Some("chunk".into()),
            exception: None,
            payload: json!({"type": "message_stop"}),
        };
        let frame = encode_event(op, &ev, 0).expect("frame");
        let t0 = Instant::now();
        let mut c = streaming(op, t0);
        c.push(&frame, t0 + Duration::from_secs(11 * 60));
        assert!(c.broken.is_none(), "{:?}", c.broken);
        let stream = c.response().stream.expect("stream");
        assert_eq!(stream[0].delay_ms, crate::cassette::MAX_DELAY_MS);
    }

    #[test]
    fn an_absurd_frame_length_breaks_the_capture_without_buffering_it() {
        let op = Operation::InvokeModelWithResponseStream;
        let t0 = Instant::now();
        let mut c = streaming(op, t0);
        let prefix = u32::try_from(MAX_FRAME + 1).expect("fits").to_be_bytes();
        c.push(&prefix, t0);
        c.push(&[0u8; 4096], t0);
        assert!(
            matches!(c.broken, Some(CaptureError::FrameLength(n)) if n == MAX_FRAME + 1),
            "{:?}",
            c.broken
        );
        assert!(c.buf.is_empty(), "nothing kept after the bad prefix");
    }

    #[test]
    fn a_body_above_the_limit_is_not_kept() {
        let t0 = Instant::now();
        let headers = vec![("content-type".into(), "application/json".into())];
        let mut c = Capture::new(Operation::InvokeModel, 200, headers, t0);
        let mib = vec![b'a'; 1024 * 1024];
        for _ in 0..(MAX_BODY / mib.len()) {
            c.push(&mib, t0);
        }
        assert!(c.broken.is_none(), "exactly the limit is kept");
        c.push(b"a", t0);
        assert!(
            matches!(c.broken, Some(CaptureError::TooLarge)),
            "{:?}",
            c.broken
        );
        assert!(c.body.is_empty());
    }

    #[test]
    fn a_stream_of_small_frames_is_bounded_by_all_it_sent() {
        let op = Operation::InvokeModelWithResponseStream;
        let ev = StreamEvent {
            delay_ms: 0,
            event: Some("chunk".into()),
            exception: None,
            payload: json!({"type": "content_block_delta", "delta": {"text": "x".repeat(4000)}}),
        };
        let frame = encode_event(op, &ev, 0).expect("frame");
        let t0 = Instant::now();
        let mut c = streaming(op, t0);
        let mut sent = 0;
        while c.broken.is_none() {
            c.push(&frame, t0);
            sent += frame.len();
            assert!(sent <= MAX_BODY + frame.len(), "never stops");
        }
        assert!(
            matches!(c.broken, Some(CaptureError::TooLarge)),
            "{:?}",
            c.broken
        );
        assert!(c.events.is_empty(), "decoded events are not kept either");
    }
}
