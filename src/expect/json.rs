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

/// Largest expected file labcheck reads (a step's output files are small
/// JSON documents; the cap keeps a hostile step from growing the grader).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Why an expected file was not read.
#[derive(Debug, thiserror::Error)]
enum WorkspaceFile {
    #[error("the step did not create this file")]
    Missing,
    #[error(
        "is not a regular file inside the workspace (a symbolic link, FIFO or device): labcheck did not read it"
    )]
    NotRegular,
    #[error("is larger than {} MiB: labcheck did not read it", MAX_FILE_BYTES >> 20)]
    TooLarge,
    #[error("could not be read: {0}")]
    Unreadable(std::io::Error),
}

/// Reads an expected file the step (untrusted code) wrote: never through a
/// link (`O_NOFOLLOW`, and the parent must resolve inside the workspace),
/// never blocking on a FIFO (`O_NONBLOCK`), only a regular file, at most
/// [`MAX_FILE_BYTES`].
fn read_workspace_file(workspace: &Path, full: &Path) -> Result<String, WorkspaceFile> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let inside = match (
        full.parent().map(Path::canonicalize),
        workspace.canonicalize(),
    ) {
        (Some(Ok(parent)), Ok(root)) => parent.starts_with(root),
        (Some(Err(e)), _) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WorkspaceFile::Missing);
        }
        _ => false,
    };
    if !inside {
        return Err(WorkspaceFile::NotRegular);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(full)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => WorkspaceFile::Missing,
            // ELOOP: the last component is a symbolic link.
            _ if e.raw_os_error() == Some(libc::ELOOP) => WorkspaceFile::NotRegular,
            _ => WorkspaceFile::Unreadable(e),
        })?;
    let meta = file.metadata().map_err(WorkspaceFile::Unreadable)?;
    if !meta.file_type().is_file() {
        return Err(WorkspaceFile::NotRegular);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(WorkspaceFile::Unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(WorkspaceFile::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        WorkspaceFile::Unreadable(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })
}

/// Checks one expected workspace file.
pub fn check_file(exp: &FileExpect, workspace: &Path, failures: &mut Vec<Failure>) {
    let subject = exp.path.display().to_string();
    let full = workspace.join(&exp.path);
    let text = match read_workspace_file(workspace, &full) {
        Ok(t) => t,
        Err(WorkspaceFile::Missing) => {
            failures.push(
                Failure::new(&subject, "the step did not create this file").hint(
                    "the lab says the step writes it; check the command's output file argument",
                ),
            );
            return;
        }
        Err(problem) => {
            failures.push(Failure::new(&subject, problem.to_string()).hint(
                "the step must write a regular file inside its workspace; labcheck does not follow links out of it",
            ));
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

    fn expect_file(path: &str) -> FileExpect {
        FileExpect {
            path: path.into(),
            is_json: true,
            json: BTreeMap::new(),
            contains: vec![],
        }
    }

    #[test]
    fn a_link_a_fifo_and_a_link_out_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("secret.json"), "{\"a\": 1}").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.json"),
            dir.path().join("link.json"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).expect("dir link");
        let fifo = std::ffi::CString::new(
            dir.path()
                .join("fifo.json")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .expect("path");
        // SAFETY: mkfifo on a path we own; a plain libc call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
        for path in ["link.json", "fifo.json", "out/secret.json"] {
            let mut f = Vec::new();
            check_file(&expect_file(path), dir.path(), &mut f);
            assert_eq!(f.len(), 1, "{path}: {f:?}");
            assert!(f[0].message.contains("not a regular file"), "{path}: {f:?}");
        }
    }

    #[test]
    fn an_oversized_file_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = std::fs::File::create(dir.path().join("big.json")).expect("create");
        big.set_len(MAX_FILE_BYTES + 1).expect("grow");
        let mut f = Vec::new();
        check_file(&expect_file("big.json"), dir.path(), &mut f);
        assert!(f[0].message.contains("larger than 16 MiB"), "{f:?}");
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
