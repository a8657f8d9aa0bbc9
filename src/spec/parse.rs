//! Stage 1: `lab.toml` text into [`LabFile`], toml and serde errors turned
//! into [`SpecError`]s with line:column, the key path and a suggestion.
//!
//! serde reports unknown/missing keys and wrong types only as messages
//! (``unknown field `x`, expected one of `a`, `b` ``); their wording is fixed
//! by serde's `de::Error` helpers, so we read the backticked names out of them.
//! The key path comes from `serde_path_to_error`.

use serde_path_to_error::Segment;

use super::error::{Problem, Source, SpecError, nearest, ticks};
use super::model::LabFile;

pub(crate) fn parse(src: &Source<'_>) -> Result<LabFile, SpecError> {
    let de = toml::Deserializer::parse(src.text).map_err(|e| {
        src.error(
            e.span(),
            Problem::TomlSyntax {
                message: e.message().trim().to_string(),
            },
            "fix the TOML syntax here (quotes, brackets, `key = value`); see docs/lab-toml.md",
        )
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = key_path(e.path());
        let inner = e.into_inner();
        classify(src, inner.span(), inner.message(), path)
    })
}

/// `step[1].expect.stdout`, without serde_spanned's private wrapper keys.
fn key_path(path: &serde_path_to_error::Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => match out.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => out.push(format!("[{index}]")),
            },
            Segment::Map { key } if !key.starts_with("$__") => out.push(key.clone()),
            Segment::Enum { variant } => out.push(variant.clone()),
            _ => {}
        }
    }
    out
}

fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn classify(
    src: &Source<'_>,
    span: Option<std::ops::Range<usize>>,
    message: &str,
    mut path: Vec<String>,
) -> SpecError {
    let names = backticked(message);
    if message.starts_with("unknown field") {
        let key = names.first().cloned().unwrap_or_default();
        if path.last() == Some(&key) {
            path.pop();
        }
        let expected: Vec<String> = names.into_iter().skip(1).collect();
        let hint = match nearest(&key, expected.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None if expected.is_empty() => "remove it: this table takes no keys".to_string(),
            None => format!("remove it, or use one of {}", ticks(&expected)),
        };
        let table = table_name(&path);
        return src.error(
            span,
            Problem::UnknownKey {
                key,
                table,
                expected,
            },
            hint,
        );
    }
    if message.starts_with("missing field") {
        let key = names.first().cloned().unwrap_or_default();
        let table = table_name(&path);
        let hint = if path.is_empty() && key == "lab" {
            "add a `[lab]` table (it may be empty: every key has a default)".to_string()
        } else {
            format!("add `{key} = …` to {table} (see docs/lab-toml.md)")
        };
        return src.error(span, Problem::MissingKey { key, table }, hint);
    }
    let key = table_name(&path);
    let message = message.trim().to_string();
    let hint = "write the value with the type shown in docs/lab-toml.md";
    src.error(span, Problem::WrongType { key, message }, hint)
}

fn table_name(path: &[String]) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{}`", path.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_names() {
        assert_eq!(
            backticked("unknown field `a`, expected one of `b`, `c`"),
            ["a", "b", "c"]
        );
        assert!(backticked("no ticks").is_empty());
    }
}
