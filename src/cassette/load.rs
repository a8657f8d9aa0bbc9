//! Loading a cassette directory: parse each `*.json` (sorted by name) and
//! validate what serde cannot (version, body xor stream, event names, …).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::Value;

use super::error::CassetteError;
use super::locate::locate;
use super::model::{Cassette, Interaction, RecordedResponse};
use crate::ids::{ClientId, Operation};

/// The `*.json` files of `dir`, sorted by file name.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    let read_dir = |source| CassetteError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir)? {
        let path = entry.map_err(read_dir)?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Read, parse and validate one cassette file: the loader `run`, `serve`,
/// `record` and `lint` share.
pub fn load_file(path: &Path) -> Result<Cassette, CassetteError> {
    let bytes = std::fs::read(path).map_err(|source| CassetteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_cassette(path, &bytes)
}

/// Parse and validate one cassette from its bytes; `path` is for messages.
///
/// Parsing reads the raw bytes with serde_json, so every error is at
/// serde_json's own line and column: bytes that are not UTF-8, JSON syntax, a
/// wrong type, an unknown or repeated key, an out-of-range `delay_ms`.
/// Checks serde cannot express (see [`validate`]) are placed by
/// [`super::locate`], which also asks serde_json where the value is.
pub fn parse_cassette(path: &Path, bytes: &[u8]) -> Result<Cassette, CassetteError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        let (line, column) = crate::diagnostic::utf8_error_position(bytes, &e);
        return Err(CassetteError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
            byte: bytes.get(e.valid_up_to()).copied().unwrap_or_default(),
        });
    }
    // The version first: a future format may not fit the v1 structs.
    from_bytes::<Probe>(path, bytes)?;
    let mut cassette: Cassette = from_bytes(path, bytes)?;
    validate(&mut cassette).map_err(|(json_path, expected, hint)| {
        let (line, column) = locate(bytes, &json_path);
        CassetteError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            json_path,
            expected,
            hint: hint.map(str::to_string),
        }
    })?;
    Ok(cassette)
}

/// Deserializes the whole of `bytes` (trailing data is an error), keeping
/// serde_json's position and serde_path_to_error's path.
fn from_bytes<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<T, CassetteError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| {
            let json_path = e.path().to_string();
            json_error(path, bytes, json_path, e.into_inner())
        })
        .and_then(|v| {
            de.end()
                .map(|()| v)
                .map_err(|e| json_error(path, bytes, ".".into(), e))
        })?;
    Ok(value)
}

fn json_error(path: &Path, bytes: &[u8], json_path: String, e: serde_json::Error) -> CassetteError {
    let (line, column) = char_position(bytes, e.line(), e.column());
    // serde_json's message ends with its position, which the error shows anyway.
    let full = e.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m)
        .to_string();
    match e.classify() {
        serde_json::error::Category::Data => {
            let hint = if json_path == "version" {
                Some("this labcheck reads version-1 cassettes only")
            } else if message.starts_with("duplicate") {
                Some("keep one of them: a JSON reader would silently take the last")
            } else if json_path.ends_with("delay_ms") {
                Some("a recorded pause is at most 10 minutes; write the real delay in milliseconds")
            } else {
                None
            }
            .map(str::to_string);
            CassetteError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                json_path,
                expected: message,
                hint,
            }
        }
        _ => CassetteError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message,
        },
    }
}

/// serde_json counts columns in bytes; labcheck positions count characters.
pub(crate) fn char_position(bytes: &[u8], line: usize, byte_column: usize) -> (usize, usize) {
    let text = String::from_utf8_lossy(bytes);
    let Some(src) = text.split('\n').nth(line.saturating_sub(1)) else {
        return (line, byte_column);
    };
    let end = byte_column.min(src.len());
    let column = src.get(..end).map_or(byte_column, |s| s.chars().count());
    (line, column.max(1))
}

/// Only `version`, checked before the rest: anything but `1` is refused here.
#[derive(serde::Deserialize)]
#[serde(expecting = "a cassette (a JSON object)")]
struct Probe {
    #[serde(rename = "version")]
    _version: Version,
}

/// `1`, refused inside the visitor so the error has serde_json's position.
struct Version;

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        struct V;
        impl V {
            fn refuse<E: serde::de::Error>(shown: impl std::fmt::Display) -> Result<Version, E> {
                Err(E::custom(format_args!(
                    "unsupported version `{shown}`, expected `1`"
                )))
            }
        }
        impl serde::de::Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`1`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Version, E> {
                if v == 1 { Ok(Version) } else { V::refuse(v) }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Version, E> {
                V::refuse(v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Version, E> {
                V::refuse(v)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Version, E> {
                V::refuse(format_args!("\"{v}\""))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Version, E> {
                V::refuse(v)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Version, E> {
                V::refuse("null")
            }
        }
        d.deserialize_any(V)
    }
}

type Problem = (String, String, Option<&'static str>);

fn validate(c: &mut Cassette) -> Result<(), Problem> {
    if DateTime::from_str(&c.meta.recorded_at, Format::DateTime).is_err() {
        return Err((
            "meta.recorded_at".into(),
            format!("`{}` is not an RFC 3339 UTC timestamp", c.meta.recorded_at),
            Some("e.g. `2026-11-26T00:00:00Z`"),
        ));
    }
    match (c.meta.source, &c.meta.upstream) {
        (super::model::Source::Proxied, None) => {
            return Err((
                "meta.upstream".into(),
                "missing field, expected the upstream a `proxied` cassette came from".into(),
                Some("e.g. `http://127.0.0.1:8080`"),
            ));
        }
        (super::model::Source::Authored | super::model::Source::Recorded, Some(u)) => {
            return Err((
                "meta.upstream".into(),
                format!("`{u}` on a cassette that is not `proxied`, expected no upstream"),
                Some("a recording from an upstream other than AWS says `\"source\": \"proxied\"`"),
            ));
        }
        _ => {}
    }
    if c.meta.client != "any" && c.meta.client.parse::<ClientId>().is_err() {
        return Err((
            "meta.client".into(),
            format!(
                "unknown client `{}`, expected one of: any, aws-cli-v1, aws-cli-v2, boto3, rust-sdk",
                c.meta.client
            ),
            None,
        ));
    }
    let mut names = HashSet::new();
    for (i, it) in c.interactions.iter_mut().enumerate() {
        let at = |field: &str| format!("interactions[{i}].{field}");
        if it.name.trim().is_empty() {
            return Err((
                at("name"),
                "empty name, expected a non-empty string".into(),
                None,
            ));
        }
        if !names.insert(it.name.clone()) {
            return Err((
                at("name"),
                format!(
                    "duplicate interaction name `{}`, expected names unique within the file",
                    it.name
                ),
                None,
            ));
        }
        if it.times == 0 {
            return Err((at("times"), "`0`, expected at least 1".into(), None));
        }
        validate_interaction(it).map_err(|(field, expected, hint)| (at(&field), expected, hint))?;
    }
    super::openai::validate(&c.openai)
}

fn validate_interaction(it: &mut Interaction) -> Result<(), Problem> {
    super::routed::resolve_request(&mut it.request)?;
    let req = &it.request;
    if req.operation.has_model_id() && (req.model_id.is_empty() || req.model_id.contains('%')) {
        return Err((
            "request.model_id".into(),
            format!(
                "model id `{}`, expected a non-empty decoded id",
                req.model_id
            ),
            Some("write `:` and `/`, not `%3A` or `%2F`"),
        ));
    }
    validate_response(req.operation, &it.response)
}

fn validate_response(op: Operation, resp: &RecordedResponse) -> Result<(), Problem> {
    if !(100..=599).contains(&resp.status) {
        return Err((
            "response.status".into(),
            format!(
                "status `{}`, expected an HTTP status 100..=599",
                resp.status
            ),
            None,
        ));
    }
    for (name, value) in &resp.headers {
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || axum::http::HeaderValue::from_str(value).is_err()
        {
            return Err((
                format!("response.headers.{name}"),
                "expected a valid HTTP header name and visible-ASCII value".into(),
                None,
            ));
        }
    }
    let stream = match (&resp.body, &resp.stream) {
        (Some(_), None) => None,
        (None, Some(s)) => Some(s),
        _ => {
            return Err((
                "response".into(),
                "expected exactly one of `body` and `stream`".into(),
                None,
            ));
        }
    };
    if resp.status >= 400 && !resp.headers.contains_key("x-amzn-errortype") {
        return Err((
            "response.headers".into(),
            "an error response without `x-amzn-errortype`, expected the header".into(),
            Some(
                "clients take the error code from it, e.g. `ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/`",
            ),
        ));
    }
    let Some(events) = stream else { return Ok(()) };
    let Some(stream_def) = op.def().stream.filter(|_| resp.status == 200) else {
        return Err((
            "response.stream".into(),
            format!(
                "a stream for `{op}` with status {}, expected a streaming operation with status 200",
                resp.status
            ),
            None,
        ));
    };
    for (j, ev) in events.iter().enumerate() {
        let at = |f: &str| format!("response.stream[{j}]{f}");
        match (&ev.event, &ev.exception) {
            (Some(name), None) => {
                if !stream_def.events.iter().any(|e| e.name == name) {
                    let expected: Vec<String> = stream_def
                        .events
                        .iter()
                        .map(|e| format!("`{}`", e.name))
                        .collect();
                    return Err((
                        at(".event"),
                        format!(
                            "unknown event `{name}` for `{op}`, expected {}",
                            expected.join(", ")
                        ),
                        None,
                    ));
                }
                if !ev.payload.is_object() {
                    return Err((at(".payload"), "expected a JSON object".into(), None));
                }
            }
            (None, Some(name)) => {
                let first_lower = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                if !first_lower
                    || !name.ends_with("Exception")
                    || !name.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err((
                        at(".exception"),
                        format!(
                            "exception `{name}`, expected a lowerCamel name ending in `Exception`"
                        ),
                        Some("e.g. `modelStreamErrorException`"),
                    ));
                }
                if !ev.payload.get("message").is_some_and(Value::is_string) {
                    return Err((
                        at(".payload.message"),
                        "expected a string message".into(),
                        None,
                    ));
                }
            }
            _ => {
                return Err((
                    at(""),
                    "expected exactly one of `event` and `exception`".into(),
                    None,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "version": 1,
            "meta": {"source": "authored", "model": "m", "region": "us-east-1",
                     "recorded_at": "2026-11-26T00:00:00Z", "client": "any"},
            "interactions": [{
                "name": "a",
                "request": {"operation": "InvokeModel", "method": "POST", "model_id": "m:0", "body": {"x": 1}},
                "response": {"status": 200, "body": {"ok": true}}
            }]
        })
    }

    /// Apply `edit`, parse, and return the error message.
    fn err_of(edit: impl FnOnce(&mut Value)) -> String {
        let mut v = base();
        edit(&mut v);
        let bytes = serde_json::to_vec(&v).expect("json");
        parse_cassette(Path::new("dir/step.json"), &bytes)
            .expect_err("invalid")
            .to_string()
    }

    fn assert_names(msg: &str, json_path: &str, expected: &str) {
        assert!(msg.contains("dir/step.json"), "no file in: {msg}");
        assert!(
            msg.contains(&format!("at `{json_path}`")),
            "no path `{json_path}` in: {msg}"
        );
        assert!(msg.contains(expected), "no `{expected}` in: {msg}");
    }

    #[test]
    fn base_is_valid() {
        let bytes = serde_json::to_vec(&base()).expect("json");
        let c = parse_cassette(Path::new("x.json"), &bytes).expect("valid");
        assert_eq!(c.interactions[0].request.model_id, "m:0");
    }

    #[test]
    fn wrong_version_is_named() {
        assert_names(
            &err_of(|v| v["version"] = json!(2)),
            "version",
            "expected `1`",
        );
        assert_names(
            &err_of(|v| v["version"] = json!("1")),
            "version",
            "expected `1`",
        );
    }

    #[test]
    fn serde_errors_carry_the_json_path() {
        let m = err_of(|v| v["interactions"][0]["response"]["status"] = json!("200"));
        assert_names(&m, "interactions[0].response.status", "expected u16");
        let m = err_of(|v| v["interactions"][0]["request"]["operation"] = json!("Invoke"));
        assert_names(
            &m,
            "interactions[0].request.operation",
            "InvokeModelWithResponseStream",
        );
        let m = err_of(|v| v["meta"]["extra"] = json!(1));
        assert_names(
            &m,
            "meta.extra",
            "unknown field `extra`, expected one of `source`",
        );
    }

    #[test]
    fn negative_delay_is_rejected_with_path() {
        let m = err_of(|v| {
            v["interactions"][0]["request"]["operation"] = json!("ConverseStream");
            v["interactions"][0]["response"] = json!({"status": 200, "stream": [
                {"delay_ms": -5, "event": "messageStart", "payload": {"role": "assistant"}}]});
        });
        assert_names(
            &m,
            "interactions[0].response.stream[0].delay_ms",
            "expected u64",
        );
    }

    #[test]
    fn body_and_stream_are_exclusive() {
        let m = err_of(|v| v["interactions"][0]["response"]["stream"] = json!([]));
        assert_names(
            &m,
            "interactions[0].response",
            "exactly one of `body` and `stream`",
        );
        let m = err_of(|v| {
            v["interactions"][0]["response"]
                .as_object_mut()
                .expect("obj")
                .remove("body");
        });
        assert_names(
            &m,
            "interactions[0].response",
            "exactly one of `body` and `stream`",
        );
    }

    #[test]
    fn services_operations_and_params_are_checked_where_they_are_written() {
        let request = |v: &mut Value, r: Value| v["interactions"][0]["request"] = r;
        let m = err_of(|v| {
            request(
                v,
                json!({"service": "bedrock", "operation": "Retrieve", "params": {"knowledgeBaseId": "K"}}),
            )
        });
        assert_names(
            &m,
            "interactions[0].request.operation",
            "`Retrieve` is not an operation of `bedrock`",
        );
        let m = err_of(|v| {
            request(
                v,
                json!({"service": "bedrock-agent-runtime", "operation": "Retrieve", "params": {"knowledgeBaseId": "K", "agentId": "A"}}),
            )
        });
        assert_names(
            &m,
            "interactions[0].request.params.agentId",
            "unknown parameter `agentId` of `Retrieve`",
        );
        let m = err_of(|v| {
            request(
                v,
                json!({"service": "bedrock", "operation": "GetInferenceProfile", "method": "POST", "params": {"inferenceProfileIdentifier": "p"}}),
            )
        });
        assert_names(&m, "interactions[0].request.method", "expected `GET`");
        let m = err_of(|v| {
            v["interactions"][0]["request"] = json!({"service": "bedrock-agent-runtime", "operation": "InvokeAgent",
                "params": {"agentId": "A", "agentAliasId": "B", "sessionId": "s"}});
            v["interactions"][0]["response"] = json!({"status": 200, "stream": [{"delay_ms": 0, "event": "messageStart", "payload": {}}]});
        });
        assert_names(
            &m,
            "interactions[0].response.stream[0].event",
            "unknown event `messageStart` for `InvokeAgent`, expected `chunk`, `files`, `returnControl`, `trace`",
        );
        // A version-1 runtime interaction without the new fields still loads
        // as one; a control-plane one fills its method from the model.
        let c = parse_cassette(
            Path::new("a.json"),
            &serde_json::to_vec(&base()).expect("json"),
        )
        .expect("loads");
        let r = &c.interactions[0].request;
        assert_eq!(
            (r.service, r.operation),
            (crate::ids::Service::BedrockRuntime, Operation::InvokeModel)
        );
        let mut v = base();
        request(
            &mut v,
            json!({"service": "bedrock", "operation": "ListFoundationModels", "params": {"byProvider": "anthropic"}}),
        );
        let c = parse_cassette(Path::new("a.json"), &serde_json::to_vec(&v).expect("json"))
            .expect("loads");
        assert_eq!(c.interactions[0].request.method, "GET");
        assert_eq!(
            c.interactions[0].request.operation,
            Operation::ListFoundationModels
        );
    }

    #[test]
    fn times_and_the_openai_list_are_checked_where_they_are_wrong() {
        let m = err_of(|v| v["interactions"][0]["times"] = json!(0));
        assert_names(&m, "interactions[0].times", "at least 1");
        let openai = |request: Value, response: Value| json!([{"name": "o", "request": request, "response": response}]);
        let ok = json!({"status": 200, "body": {}});
        let m = err_of(|v| {
            v["openai"] = openai(
                json!({"method": "POST", "path": "/openai/v1/chat/completions"}),
                ok.clone(),
            )
        });
        assert_names(&m, "openai[0].request.path", "below `/openai/v1`");
        let m = err_of(|v| {
            v["openai"] = openai(json!({"method": "PUT", "path": "/models"}), ok.clone())
        });
        assert_names(&m, "openai[0].request.method", "`GET` or `POST`");
        let m = err_of(|v| {
            v["openai"] = openai(
                json!({"method": "GET", "path": "/models"}),
                json!({"status": 404, "body": {"message": "not found"}}),
            )
        });
        assert_names(&m, "openai[0].response.body", "OpenAI's error shape");
        let m = err_of(|v| {
            v["openai"] = openai(
                json!({"method": "POST", "path": "/chat/completions"}),
                json!({"status": 400, "sse": []}),
            )
        });
        assert_names(&m, "openai[0].response.sse", "status 200");
        // A file without `openai`, or with a valid list, loads.
        let mut v = base();
        v["openai"] = openai(json!({"method": "GET", "path": "/models"}), ok);
        let c = parse_cassette(Path::new("x.json"), &serde_json::to_vec(&v).expect("json"))
            .expect("valid");
        assert_eq!(c.openai.len(), 1);
        assert_eq!(c.interactions[0].times, 1);
    }

    #[test]
    fn semantic_checks_name_field_and_expectation() {
        let m = err_of(|v| {
            let it = v["interactions"][0].clone();
            v["interactions"].as_array_mut().expect("arr").push(it);
        });
        assert_names(&m, "interactions[1].name", "duplicate interaction name `a`");
        let m = err_of(|v| v["meta"]["recorded_at"] = json!("26/11/2026"));
        assert_names(&m, "meta.recorded_at", "RFC 3339");
        let m = err_of(|v| v["interactions"][0]["request"]["model_id"] = json!("m%3A0"));
        assert_names(&m, "interactions[0].request.model_id", "decoded");
        assert!(m.contains("(hint: "), "{m}");
        let m = err_of(|v| v["interactions"][0]["response"]["status"] = json!(400));
        assert_names(&m, "interactions[0].response.headers", "x-amzn-errortype");
        let m = err_of(|v| {
            v["interactions"][0]["request"]["operation"] = json!("InvokeModelWithResponseStream");
            v["interactions"][0]["response"] = json!({"status": 200, "stream": [
                {"delay_ms": 0, "event": "messageStart", "payload": {}}]});
        });
        assert_names(
            &m,
            "interactions[0].response.stream[0].event",
            "expected `chunk`",
        );
        let m = err_of(|v| {
            v["interactions"][0]["response"] = json!({"status": 200, "stream": []});
        });
        assert_names(
            &m,
            "interactions[0].response.stream",
            "expected a streaming operation",
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let e = parse_cassette(
            Path::new("dir/bad.json"),
            b"{\n  \"version\": 1,\n  oops\n}",
        )
        .expect_err("bad");
        let m = e.to_string();
        assert!(m.starts_with("`dir/bad.json`:3:3: not valid JSON"), "{m}");
    }

    /// Position of the error parsing `text` as a cassette, and its message.
    fn position_of(text: &[u8]) -> ((usize, usize), String) {
        let e = parse_cassette(Path::new("x.json"), text).expect_err("invalid");
        (e.position().expect("positioned"), e.to_string())
    }

    #[test]
    fn repeated_keys_are_errors_where_they_repeat() {
        let pretty = serde_json::to_string_pretty(&base()).expect("json");
        // A field of a struct given twice (serde's own duplicate check).
        let text = pretty.replacen("\"region\"", "\"model\": \"n\",\n    \"region\"", 1);
        let ((line, _), m) = position_of(text.as_bytes());
        assert!(m.contains("duplicate field `model`"), "{m}");
        assert_eq!(
            text.lines().nth(line - 1).map(str::trim),
            Some("\"model\": \"n\",")
        );
        // A key of a free-form body given twice.
        let text = pretty.replacen("\"ok\": true", "\"ok\": true,\n \"ok\": false", 1);
        let ((line, column), m) = position_of(text.as_bytes());
        assert!(
            m.contains("duplicate key `ok`") && m.contains("(hint: "),
            "{m}"
        );
        assert_eq!(text.lines().nth(line - 1), Some(" \"ok\": false"));
        assert_eq!(column, 5, "the key's closing quote");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed_not_skipped() {
        let mut bytes = serde_json::to_vec_pretty(&base()).expect("json");
        let at = bytes
            .windows(3)
            .position(|w| w == b"m:0")
            .expect("model id");
        bytes[at + 2] = 0xff;
        let ((line, column), m) = position_of(&bytes);
        assert!(m.contains("not UTF-8: byte 0xff"), "{m}");
        let text = String::from_utf8_lossy(&bytes);
        let src = text.lines().nth(line - 1).expect("line");
        assert_eq!(src.chars().nth(column - 1), Some('\u{fffd}'), "{src}");
    }

    #[test]
    fn an_overlong_delay_is_refused_at_its_value() {
        let m = err_of(|v| {
            v["interactions"][0]["request"]["operation"] = json!("ConverseStream");
            v["interactions"][0]["response"] = json!({"status": 200, "stream": [
                {"delay_ms": u64::MAX, "event": "messageStart", "payload": {"role": "assistant"}}]});
        });
        assert_names(
            &m,
            "interactions[0].response.stream[0].delay_ms",
            "at most 600000 (10 minutes)",
        );
    }
}
