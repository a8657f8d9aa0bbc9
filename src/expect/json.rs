//! JSON checks: a text or a workspace file parsed as JSON, values at JSON
//! pointers compared with the expected values.

use std::collections::BTreeMap;
use std::path::Path;

use super::Failure;
use crate::spec::lab::FileExpect;

/// Checks `pointer → value` pairs against `text` parsed as JSON.
pub fn check_pointers(
    subject: &str,
    text: &str,
    want: &BTreeMap<String, serde_json::Value>,
    failures: &mut Vec<Failure>,
) {
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            failures.push(Failure::new(
                subject,
                format!("expected valid JSON, got a parse error: {e}"),
            ));
            return;
        }
    };
    for (pointer, expected) in want {
        match doc.pointer(pointer) {
            Some(actual) if values_match(expected, actual) => {}
            Some(actual) => failures.push(Failure::new(
                subject,
                format!(
                    "at JSON pointer `{pointer}`: expected {expected}, got {}",
                    short(actual)
                ),
            )),
            None => failures.push(Failure::new(
                subject,
                format!("no value at JSON pointer `{pointer}`"),
            )),
        }
    }
}

/// A string expectation of `"*"` means "present and non-empty"; other values
/// must be equal.
fn values_match(expected: &serde_json::Value, actual: &serde_json::Value) -> bool {
    match expected.as_str() {
        Some("*") => !actual.is_null() && actual.as_str() != Some(""),
        _ => expected == actual,
    }
}

/// `v` as JSON, shortened to about 200 characters for a failure message.
/// Never cut inside a word: a key, token or account id cut in half is no
/// longer recognised by the scrubber record and live modes run failures
/// through, and half of it would leak.
fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    let Some((at, _)) = s.char_indices().nth(200) else {
        return s;
    };
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '=' | '_' | '-');
    let end = s[at..].find(|c| !word(c)).map_or(s.len(), |n| at + n);
    if end == s.len() {
        s
    } else {
        format!("{}…", &s[..end])
    }
}

/// Checks one expected workspace file.
pub fn check_file(exp: &FileExpect, workspace: &Path, failures: &mut Vec<Failure>) {
    let subject = exp.path.display().to_string();
    let full = workspace.join(&exp.path);
    let text = match std::fs::read_to_string(&full) {
        Ok(t) => t,
        Err(_) => {
            failures.push(
                Failure::new(&subject, "the step did not create this file").hint(
                    "the lab says the step writes it; check the command's output file argument",
                ),
            );
            return;
        }
    };
    if exp.is_json || !exp.json.is_empty() {
        check_pointers(&subject, &text, &exp.json, failures);
    }
    for needle in &exp.contains {
        if !text.contains(needle.as_str()) {
            failures.push(Failure::new(
                &subject,
                format!("expected to contain {needle:?}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_long_value_is_shortened_between_words() {
        let long = format!(
            "{} arn:aws:iam::123456789012:role/x and more",
            "a ".repeat(90)
        );
        let got = short(&json!(long));
        // Cut where the account id ends, not in its middle.
        assert!(got.ends_with(" arn:aws:iam::123456789012…"), "{got}");
        assert_eq!(short(&json!("brief")), "\"brief\"");
    }

    #[test]
    fn pointer_mismatch_names_pointer_and_values() {
        let mut f = Vec::new();
        let want = BTreeMap::from([
            ("/a/0".to_string(), json!("x")),
            ("/b".to_string(), json!("*")),
        ]);
        check_pointers("stdout", r#"{"a":["y"],"b":""}"#, &want, &mut f);
        assert_eq!(f.len(), 2);
        assert!(
            f[0].message.contains("`/a/0`: expected \"x\", got \"y\""),
            "{}",
            f[0]
        );
        assert!(f[1].message.contains("`/b`"), "{}", f[1]);
    }

    #[test]
    fn invalid_json_is_reported() {
        let mut f = Vec::new();
        check_pointers(
            "output.json",
            "{nope",
            &BTreeMap::from([("/a".to_string(), json!(1))]),
            &mut f,
        );
        assert!(f[0].message.contains("expected valid JSON"));
    }

    #[test]
    fn missing_file_has_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = Vec::new();
        let exp = FileExpect {
            path: "output.json".into(),
            is_json: true,
            json: BTreeMap::new(),
            contains: vec![],
        };
        check_file(&exp, dir.path(), &mut f);
        assert_eq!(f[0].message, "the step did not create this file");
    }
}
