//! Front matter at the top of a lab page: YAML between `---` lines or TOML
//! between `+++` lines (Hugo's two styles).
//!
//! Only flat `key: value` pairs are read from YAML (enough for `title`, `date`,
//! `weight`); nested YAML is skipped rather than misread. TOML front matter is
//! parsed with the `toml` crate and its top-level scalars kept as text.

use std::collections::BTreeMap;

use super::ContentError;

/// The page's front matter, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    /// Top-level scalar fields as written (quotes removed).
    pub fields: BTreeMap<String, String>,
    /// 1-based line of the closing delimiter (0 when the page has none).
    pub end_line: usize,
}

impl FrontMatter {
    /// The `title` field.
    pub fn title(&self) -> Option<&str> {
        self.fields.get("title").map(String::as_str)
    }
}

/// Splits front matter off `text`. Returns it and the byte length it occupies
/// (including its closing delimiter line), so the caller can blank it out while
/// keeping byte offsets of the rest.
pub(crate) fn split(text: &str) -> Result<(FrontMatter, usize), ContentError> {
    let delim = if text.starts_with("---") {
        "---"
    } else if text.starts_with("+++") {
        "+++"
    } else {
        return Ok((FrontMatter::default(), 0));
    };
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != delim {
        // `---` followed by text is a thematic break or something else, not front matter.
        return Ok((FrontMatter::default(), 0));
    }
    let mut offset = first.len();
    let body_start = offset;
    for (i, line) in lines.enumerate() {
        if line.trim_end() == delim {
            let body = &text[body_start..offset];
            let fields = if delim == "---" {
                parse_yaml(body)
            } else {
                parse_toml(body)?
            };
            let end_line = i + 2;
            return Ok((FrontMatter { fields, end_line }, offset + line.len()));
        }
        offset += line.len();
    }
    Err(ContentError::UnterminatedFrontMatter { delimiter: delim })
}

fn parse_yaml(body: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for line in body.lines() {
        // Indented lines and list items belong to nested values: skipped.
        if line.starts_with([' ', '\t', '-', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let value = strip_quotes(value);
        if !key.trim().is_empty() && !value.is_empty() {
            fields.insert(key.trim().to_string(), value.to_string());
        }
    }
    fields
}

fn strip_quotes(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn parse_toml(body: &str) -> Result<BTreeMap<String, String>, ContentError> {
    let table: toml::Table = toml::from_str(body).map_err(|e| ContentError::BadFrontMatter {
        message: e.message().to_string(),
    })?;
    Ok(table
        .into_iter()
        .filter_map(|(k, v)| match v {
            toml::Value::String(s) => Some((k, s)),
            toml::Value::Integer(_)
            | toml::Value::Float(_)
            | toml::Value::Boolean(_)
            | toml::Value::Datetime(_) => Some((k, v.to_string())),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_title_quotes_removed_and_nested_skipped() {
        let text = "---\ntitle: \"4.1 Lab: Invoke\"\ntags:\n  - a\nweight: 1\n---\n# Body\n";
        let (fm, len) = split(text).expect("valid");
        assert_eq!(fm.title(), Some("4.1 Lab: Invoke"));
        assert_eq!(fm.fields.get("weight").map(String::as_str), Some("1"));
        assert!(!fm.fields.contains_key("tags"));
        assert_eq!(&text[len..], "# Body\n");
        assert_eq!(fm.end_line, 6);
    }

    #[test]
    fn toml_front_matter() {
        let (fm, _) = split("+++\ntitle = 'T'\nweight = 2\n+++\n").expect("valid");
        assert_eq!(fm.title(), Some("T"));
        assert_eq!(fm.fields.get("weight").map(String::as_str), Some("2"));
    }

    #[test]
    fn unterminated_is_an_error() {
        assert!(matches!(
            split("---\ntitle: x\n"),
            Err(ContentError::UnterminatedFrontMatter { .. })
        ));
    }

    #[test]
    fn no_front_matter() {
        let (fm, len) = split("# Title\n---\n").expect("valid");
        assert_eq!(len, 0);
        assert!(fm.title().is_none());
    }
}
