//! Scrubbing: what a recording must never write to disk, removed before it is
//! written (or, in record and live modes, reported). Signing headers and
//! cookies are dropped; access key ids, known secrets (also cut short at
//! either end, as a shortened message quotes them) and session tokens,
//! Amazon Bedrock API keys (bearer tokens), 12-digit account ids (also
//! inside ARNs and percent-encoded paths) and
//! per-lab extra patterns are replaced in header values, bodies, stream
//! payloads and text; request ids are normalised.
//!
//! Stream payloads are scrubbed together: the strings at the same JSON path of
//! consecutive frames (e.g. every `/delta/text`) are joined before matching, so
//! a secret split across two frames is still found and redacted in both.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use regex::Regex;
use serde_json::Value;

/// Headers dropped outright (lower-case).
pub const DROPPED_HEADERS: [&str; 12] = [
    "authorization",
    "x-amz-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
    "cookie",
    "set-cookie",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "content-length",
    "date",
    "connection",
    "transfer-encoding",
];

/// What a redacted account id becomes.
pub const ACCOUNT: &str = "000000000000";
/// What a redacted access key id becomes (still shaped like one).
pub const ACCESS_KEY: &str = "AKIAXXXXXXXXXXXXXXXX";
/// What a redacted secret or token becomes.
pub const REDACTED: &str = "REDACTED";
/// The request id every scrubbed interaction carries.
pub const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";

/// An invalid extra pattern.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("invalid scrub pattern `{pattern}`: {source} (hint: one Rust regex per line)")]
pub struct ScrubPatternError {
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

/// The redaction rules of one recording.
#[derive(Debug, Clone)]
pub struct Scrubber {
    /// Exact values known to be secret (the signing credentials), longest first.
    known: Vec<String>,
    /// Patterns and what each match becomes.
    patterns: Vec<(Regex, &'static str)>,
}

impl Scrubber {
    /// The built-in rules plus `known` secret values and `extra` regexes.
    pub fn new<S: AsRef<str>>(known: &[S], extra: &[S]) -> Result<Scrubber, ScrubPatternError> {
        let mut known: Vec<String> = known
            .iter()
            .map(|s| s.as_ref().to_string())
            .filter(|s| s.len() >= 4)
            .collect();
        known.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let builtin = [
            // Access key ids: long-term (AKIA) and temporary (ASIA) and friends.
            (
                r"(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{16}",
                ACCESS_KEY,
            ),
            // Session tokens (STS, SSO) by their well-known prefixes.
            (
                r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9/+=]{16,}",
                REDACTED,
            ),
            // A secret written next to its name.
            (
                r#"(?i)(?:aws_?secret_?access_?key|secretaccesskey)["'\s:=]+[A-Za-z0-9/+]{40}"#,
                REDACTED,
            ),
            // Amazon Bedrock API keys: long-term ones are `ABSK` + base64 of
            // `BedrockAPIKey-…` (the whole prefix, so base64 data that merely
            // contains `ABSK` is left alone); short-term ones
            // `bedrock-api-key-` + base64 of a presigned URL
            // (docs/openai-compatible.md).
            (r"ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]*={0,2}", REDACTED),
            (r"bedrock-api-key-[A-Za-z0-9+/=%._-]{16,}", REDACTED),
            // Any bearer credential quoted with its scheme (an echoed header).
            (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}", REDACTED),
        ];
        let mut patterns = Vec::new();
        for (p, with) in builtin {
            let re = Regex::new(p).map_err(|source| ScrubPatternError {
                pattern: p.into(),
                source,
            })?;
            patterns.push((re, with));
        }
        for p in extra {
            let re = Regex::new(p.as_ref()).map_err(|source| ScrubPatternError {
                pattern: p.as_ref().into(),
                source,
            })?;
            patterns.push((re, REDACTED));
        }
        Ok(Scrubber { known, patterns })
    }

    /// Byte ranges of `text` to redact, with their replacement, sorted and disjoint.
    fn spans(&self, text: &str) -> Vec<(usize, usize, &'static str)> {
        // Patterns first: on an equal span their replacement wins, so a value
        // both known and recognisable is redacted as replay redacts it.
        let mut spans = Vec::new();
        for (re, with) in &self.patterns {
            spans.extend(re.find_iter(text).map(|m| (m.start(), m.end(), *with)));
        }
        for k in &self.known {
            spans.extend(
                text.match_indices(k.as_str())
                    .map(|(i, m)| (i, i + m.len(), REDACTED)),
            );
            spans.extend(
                cut_pieces(text, k)
                    .into_iter()
                    .map(|(s, e)| (s, e, REDACTED)),
            );
        }
        spans.extend(account_ids(text).into_iter().map(|(s, e)| (s, e, ACCOUNT)));
        spans.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
        let mut merged: Vec<(usize, usize, &'static str)> = Vec::new();
        for (s, e, w) in spans {
            match merged.last_mut() {
                Some(last) if s < last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e, w)),
            }
        }
        merged
    }

    /// What the rules find in `text`, each as a byte range and its kind
    /// (`access-key`, `secret`, `account-id`), sorted and disjoint: the same
    /// spans [`Scrubber::text`] replaces, for checks that report rather than
    /// redact (lint of a notebook's saved outputs).
    pub fn findings(&self, text: &str) -> Vec<(std::ops::Range<usize>, &'static str)> {
        self.spans(text)
            .into_iter()
            .map(|(s, e, with)| {
                let kind = match with {
                    ACCESS_KEY => "access-key",
                    ACCOUNT => "account-id",
                    _ => "secret",
                };
                (s..e, kind)
            })
            .collect()
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e, with) in self.spans(text) {
            out.push_str(&text[at..s]);
            out.push_str(with);
            at = e;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The built-in rules only (no known secrets, no extra patterns): what
    /// replay applies to incoming requests before matching.
    pub fn builtin() -> &'static Scrubber {
        static BUILTIN: std::sync::LazyLock<Scrubber> = std::sync::LazyLock::new(|| {
            Scrubber::new::<&str>(&[], &[]).unwrap_or(Scrubber {
                known: Vec::new(),
                patterns: Vec::new(),
            })
        });
        &BUILTIN
    }

    /// A request body redacted for matching: `None` when nothing in it needs
    /// redacting (the common case, no copy), else the scrubbed bytes.
    pub fn request_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        let text = String::from_utf8_lossy(body);
        if self.spans(&text).is_empty() {
            return None;
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(mut v) => {
                self.value(&mut v);
                serde_json::to_vec(&v).ok()
            }
            Err(_) => Some(self.text(&text).into_bytes()),
        }
    }

    /// A model id as taken from the path: decoded, scrubbed (an
    /// inference-profile ARN carries the account id).
    pub fn model_id(&self, id: &str) -> String {
        let decoded = percent_decode_str(id).decode_utf8_lossy();
        self.text(&decoded)
    }

    /// A JSON value with every string leaf scrubbed (see [`Scrubber::values`]).
    pub fn value(&self, value: &mut Value) {
        self.values(std::slice::from_mut(value));
    }

    /// Scrub several JSON values as one sequence (a stream's payloads): the
    /// strings at the same JSON path are joined in order before matching, so a
    /// secret split across two values is redacted in both.
    pub fn values(&self, values: &mut [Value]) {
        let mut groups: BTreeMap<String, Vec<&mut String>> = BTreeMap::new();
        for v in values.iter_mut() {
            collect(v, &mut String::new(), &mut groups);
        }
        for leaves in groups.into_values() {
            self.redact_joined(leaves);
        }
    }

    fn redact_joined(&self, mut leaves: Vec<&mut String>) {
        let joined: String = leaves.iter().map(|s| s.as_str()).collect();
        let spans = self.spans(&joined);
        if spans.is_empty() {
            return;
        }
        // Rebuild each leaf: keep what no span covers; a span's replacement
        // goes where it starts.
        let mut offset = 0;
        for leaf in leaves.iter_mut() {
            let (start, end) = (offset, offset + leaf.len());
            offset = end;
            let mut out = String::new();
            let mut at = start;
            for &(s, e, with) in &spans {
                if e <= start || s >= end {
                    continue;
                }
                let (cs, ce) = (s.max(start), e.min(end));
                out.push_str(&joined[at..cs]);
                if s >= start {
                    out.push_str(with);
                }
                at = ce;
            }
            out.push_str(&joined[at..end]);
            **leaf = out;
        }
    }

    /// Headers as stored: dropped ones removed, request ids normalised,
    /// names lower-cased, values scrubbed.
    pub fn headers<'a>(
        &self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if DROPPED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = if name == "x-amzn-requestid" || name == "x-amz-request-id" {
                REQUEST_ID.to_string()
            } else {
                self.text(value)
            };
            out.insert(name, value);
        }
        out
    }
}

/// Gather `&mut` to every string leaf, keyed by its JSON path (array indexes
/// kept, so `/content/0/text` and `/content/1/text` stay apart).
fn collect<'a>(
    v: &'a mut Value,
    path: &mut String,
    out: &mut BTreeMap<String, Vec<&'a mut String>>,
) {
    match v {
        Value::String(s) => out.entry(path.clone()).or_default().push(s),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                collect(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let len = path.len();
                path.push('/');
                path.push_str(k);
                collect(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The shortest piece of a known secret recognised on its own.
const PIECE: usize = 8;

/// Pieces of `secret` cut at one end, as a shortened message leaves them
/// (`got "… secret wJalrXUtnF…"`): a run that starts like the secret (its
/// first [`PIECE`] bytes or more) or ends like it. Whole occurrences are
/// found too; the spans then coincide.
fn cut_pieces(text: &str, secret: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if secret.len() <= PIECE {
        return out;
    }
    let (t, k) = (text.as_bytes(), secret.as_bytes());
    if let Some(head) = secret.get(..PIECE) {
        for (i, _) in text.match_indices(head) {
            let mut n = t[i..].iter().zip(k).take_while(|(a, b)| a == b).count();
            while !text.is_char_boundary(i + n) {
                n -= 1;
            }
            out.push((i, i + n));
        }
    }
    if let Some(tail) = secret.get(secret.len() - PIECE..) {
        for (i, _) in text.match_indices(tail) {
            let end = i + PIECE;
            let mut n = t[..end]
                .iter()
                .rev()
                .zip(k.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            while !text.is_char_boundary(end - n) {
                n -= 1;
            }
            out.push((end - n, end));
        }
    }
    out
}

/// Runs of exactly 12 ASCII digits (AWS account ids), not part of a longer number.
fn account_ids(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 12 {
                out.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY";

    fn scrubber() -> Scrubber {
        Scrubber::new(&[SECRET], &["course-[0-9]+"]).expect("valid")
    }

    #[test]
    fn bedrock_api_keys_and_echoed_bearer_headers_are_redacted() {
        let s = Scrubber::builtin();
        let long = "ABSKQmVkcm9ja0FQSUtleS1wbGFudGVkLWV4YW1wbGU=";
        let short = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbg==&Version=1";
        let text = format!(
            "key {long}, temp {short}; header Authorization: Bearer plantedOpaqueToken0123456789"
        );
        let out = s.text(&text);
        for secret in [long, "YmVkcm9jay5hbWF6", "plantedOpaqueToken"] {
            assert!(!out.contains(secret), "{out}");
        }
        // Prose about bearer tokens, and base64 that merely contains `ABSK`, are left alone.
        assert_eq!(s.text("a Bearer token"), "a Bearer token");
        let image = "iVBORw0KGgoABSKQmFzZTY0ZGF0YQ0KGgoAAAANSUhEUgAAAAEAAAAB";
        assert_eq!(s.text(image), image);
    }

    #[test]
    fn keys_accounts_arns_secrets_and_extra_patterns_are_replaced() {
        let s = scrubber();
        let t = s.text("key AKIAIOSFODNN7PLANTED in arn:aws:bedrock:us-east-1:123456789012:x, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY, course-42, ms 1732579200000");
        assert_eq!(
            t,
            "key AKIAXXXXXXXXXXXXXXXX in arn:aws:bedrock:us-east-1:000000000000:x, secret REDACTED, REDACTED, ms 1732579200000"
        );
        assert_eq!(
            s.model_id(
                "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x-v1%3A0"
            ),
            "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.x-v1:0"
        );
    }

    #[test]
    fn a_known_secret_cut_short_at_either_end_is_still_redacted() {
        let s = scrubber();
        assert_eq!(
            s.text("got \"secret wJalrXUtnFEMI/K7…\" and \"…MDENG/bPxRfiCYPLANTEDKEY\""),
            "got \"secret REDACTED…\" and \"…REDACTED\""
        );
        // Shorter than a piece, or not the secret's own end: left alone.
        assert_eq!(s.text("wJalrXU, K7MDENG/bPx"), "wJalrXU, K7MDENG/bPx");
    }

    #[test]
    fn scrubbing_is_idempotent_so_scrubbed_requests_still_match() {
        let s = scrubber();
        let once = s.text("ASIAPLANTEDPLANTED12 123456789012 IQoJb3JpZ2luX2VjEPLANTEDTOKENvalue==");
        assert_eq!(s.text(&once), once);
        assert!(!once.contains("PLANTED"), "{once}");
    }

    #[test]
    fn a_secret_split_across_two_frames_is_redacted_in_both() {
        let s = scrubber();
        let mut frames = vec![
            json!({"type": "content_block_delta", "delta": {"text": "the key is AKIAIOSF"}}),
            json!({"type": "content_block_delta", "delta": {"text": "ODNN7PLANTED, and account 1234"}}),
            json!({"type": "content_block_delta", "delta": {"text": "56789012 ok"}}),
        ];
        s.values(&mut frames);
        let text: Vec<&str> = frames
            .iter()
            .map(|f| f["delta"]["text"].as_str().expect("text"))
            .collect();
        assert_eq!(
            text,
            [
                "the key is AKIAXXXXXXXXXXXXXXXX",
                ", and account 000000000000",
                " ok"
            ]
        );
        assert_eq!(frames[0]["type"], "content_block_delta");
    }

    #[test]
    fn headers_drop_signing_and_cookies_and_normalise_request_ids() {
        let s = scrubber();
        let h = s.headers([
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7PLANTED/…",
            ),
            ("X-Amz-Security-Token", "IQoJb3JpZ2luX2VjEPLANTED"),
            ("X-Amz-Date", "20261126T000000Z"),
            ("Cookie", "a=b"),
            ("x-amzn-RequestId", "5d7b1a3e-0000-4000-8000-123456789abc"),
            (
                "x-amzn-bedrock-guardrail",
                "arn:aws:bedrock:us-east-1:123456789012:guardrail/x",
            ),
        ]);
        assert_eq!(
            h.into_iter().collect::<Vec<_>>(),
            [
                (
                    "x-amzn-bedrock-guardrail".to_string(),
                    "arn:aws:bedrock:us-east-1:000000000000:guardrail/x".to_string()
                ),
                ("x-amzn-requestid".to_string(), REQUEST_ID.to_string()),
            ]
        );
    }

    #[test]
    fn a_bad_extra_pattern_is_named() {
        let e = Scrubber::new::<&str>(&[], &["(unclosed"]).expect_err("invalid");
        assert!(
            e.to_string()
                .starts_with("invalid scrub pattern `(unclosed`"),
            "{e}"
        );
    }
}
