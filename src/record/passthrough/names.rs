//! The run prefix of resource names: a lab's page uses fixed names (bucket
//! `kb-lab-documents`, role `KbLabBedrockRole`); against real AWS two runs
//! must not collide, so the pass-through sends `<prefix><name>` upstream and
//! gives the student `<name>` back.
//!
//! **The rule** (exact tokens, never substrings of other identifiers): a
//! declared name is rewritten where it occurs as a whole token: the
//! character before it is not a name character (`A-Z a-z 0-9 - _ .`) and the
//! character after it is neither a name character nor a `.` followed by one
//! (so `kb-lab-documents.` at the end of a sentence matches, while
//! `kb-lab-documents.s3…` or `my-kb-lab-documents-2` do not). Backwards, the
//! prefixed name is unique to the run, so it is restored wherever it is
//! followed by a token end, whatever precedes it (inside a URL-encoded
//! policy document `%3A%3A%3Alc-…-kb-lab-documents` too).
//!
//! **Limits**: names are matched as written (case-sensitive; IAM compares
//! role names case-insensitively); a name built at run time from pieces
//! (`f"kb-lab-{suffix}"`) is not declared and so not prefixed; an encoded
//! occurrence (`%6Bb-lab…`) is not seen; S3 object bodies are never touched.

/// Declared names and the run's prefix, e.g. `lc-3f9a2b-`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    prefix: String,
    /// Longest first, so `kb-lab-documents-archive` wins over `kb-lab-documents`.
    names: Vec<String>,
}

fn name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')
}

/// Whether a match ending at `end` ends a token.
fn ends_token(text: &[u8], end: usize) -> bool {
    match text.get(end) {
        None => true,
        Some(&c) if name_char(c) => false,
        Some(b'.') => !text.get(end + 1).is_some_and(|&c| name_char(c)),
        Some(_) => true,
    }
}

impl NameMap {
    /// `names` rewritten to `prefix` + name; empty names are ignored.
    pub fn new(prefix: &str, names: impl IntoIterator<Item = impl Into<String>>) -> NameMap {
        let mut names: Vec<String> = names
            .into_iter()
            .map(Into::into)
            .filter(|n: &String| !n.is_empty())
            .collect();
        names.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        names.dedup();
        NameMap {
            prefix: prefix.to_string(),
            names,
        }
    }

    /// No prefixing at all (no names, or an empty prefix).
    pub fn is_empty(&self) -> bool {
        self.prefix.is_empty() || self.names.is_empty()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `text` with every declared name token prefixed.
    pub fn to_real(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut copied = 0;
        while i < b.len() {
            let starts = i == 0 || !(name_char(b[i - 1]) || b[i - 1] == b'.');
            if starts
                && let Some(n) = self
                    .names
                    .iter()
                    .find(|n| b[i..].starts_with(n.as_bytes()) && ends_token(b, i + n.len()))
            {
                out.push_str(&text[copied..i]);
                out.push_str(&self.prefix);
                out.push_str(n);
                i += n.len();
                copied = i;
                continue;
            }
            i += 1;
        }
        out.push_str(&text[copied..]);
        out
    }

    /// `text` with every prefixed name back to the declared one.
    pub fn to_student(&self, text: &str) -> String {
        if self.is_empty() || !text.contains(&self.prefix) {
            return text.to_string();
        }
        let b = text.as_bytes();
        let p = self.prefix.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while let Some(at) = find(&b[i..], p).map(|k| k + i) {
            let rest = &b[at + p.len()..];
            match self
                .names
                .iter()
                .find(|n| rest.starts_with(n.as_bytes()) && ends_token(b, at + p.len() + n.len()))
            {
                Some(_) => {
                    out.push_str(&text[copied..at]);
                    copied = at + p.len();
                    i = copied;
                }
                None => i = at + 1,
            }
        }
        out.push_str(&text[copied..]);
        out
    }

    /// The real (prefixed) name of a declared one, `None` when undeclared.
    pub fn real(&self, name: &str) -> Option<String> {
        (!self.is_empty() && self.names.iter().any(|n| n == name))
            .then(|| format!("{}{name}", self.prefix))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> NameMap {
        NameMap::new(
            "lc-3f9a2b-",
            [
                "kb-lab-documents",
                "KbLabBedrockRole",
                "kb-lab-documents-archive",
            ],
        )
    }

    #[test]
    fn whole_tokens_are_prefixed_and_nothing_else() {
        let m = map();
        assert_eq!(
            m.to_real("/kb-lab-documents/docs/a.md"),
            "/lc-3f9a2b-kb-lab-documents/docs/a.md"
        );
        assert_eq!(
            m.to_real("arn:aws:s3:::kb-lab-documents/* and kb-lab-documents-archive"),
            "arn:aws:s3:::lc-3f9a2b-kb-lab-documents/* and lc-3f9a2b-kb-lab-documents-archive"
        );
        assert_eq!(
            m.to_real("RoleName=KbLabBedrockRole&x=1"),
            "RoleName=lc-3f9a2b-KbLabBedrockRole&x=1"
        );
        // Ends of sentences match; longer identifiers and hosts do not.
        assert_eq!(
            m.to_real("bucket kb-lab-documents."),
            "bucket lc-3f9a2b-kb-lab-documents."
        );
        for untouched in [
            "my-kb-lab-documents",
            "kb-lab-documents2",
            "kb-lab-documents.s3.amazonaws.com",
            "x.kb-lab-documents",
            "KbLabBedrockRoleV2",
            "lc-3f9a2b-kb-lab-documents",
        ] {
            assert_eq!(m.to_real(untouched), untouched);
        }
    }

    #[test]
    fn prefixed_names_come_back_also_inside_encoded_text() {
        let m = map();
        for plain in [
            "<Name>kb-lab-documents</Name>",
            "arn:aws:iam::123456789012:role/KbLabBedrockRole",
            "arn%3Aaws%3As3%3A%3A%3Akb-lab-documents%2F%2A",
            "kb-lab-documents-archive",
        ] {
            let real = m.to_real(plain);
            let real = if real == plain {
                plain.replace("kb-lab", "lc-3f9a2b-kb-lab")
            } else {
                real
            };
            assert_ne!(real, plain);
            assert_eq!(m.to_student(&real), plain, "{real}");
        }
        // Someone else's prefixed-looking name stays.
        assert_eq!(
            m.to_student("lc-3f9a2b-kb-lab-documentsX"),
            "lc-3f9a2b-kb-lab-documentsX"
        );
        assert_eq!(
            m.real("KbLabBedrockRole").as_deref(),
            Some("lc-3f9a2b-KbLabBedrockRole")
        );
        assert_eq!(m.real("other"), None);
        assert!(NameMap::new("", ["a"]).is_empty());
    }
}
