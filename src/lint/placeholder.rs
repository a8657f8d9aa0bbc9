//! `cassette-placeholder`: an interaction whose answer still holds the
//! placeholder `labcheck capture` wrote ([`PLACEHOLDER`]). The skeleton
//! replays, so the lab's steps run, but what students would see is not the
//! model's answer yet: an error until the author writes it.

use std::path::Path;

use crate::cassette::{Cassette, PLACEHOLDER};
use crate::diagnostic::{Diagnostic, Severity};

/// One error per interaction whose response mentions the placeholder, at the
/// line of its `name`.
pub fn check(path: &Path, text: &str, cassette: &Cassette) -> Vec<Diagnostic> {
    cassette
        .interactions
        .iter()
        .filter(|it| {
            serde_json::to_string(&it.response).is_ok_and(|r| r.contains(PLACEHOLDER))
        })
        .map(|it| {
            let name = serde_json::to_string(&it.name).unwrap_or_default();
            let line = text
                .lines()
                .position(|l| l.contains("\"name\"") && l.contains(&name))
                .map_or(1, |i| i + 1);
            let msg = format!(
                "interaction `{}` ({} `{}`) still answers with the placeholder `labcheck capture` wrote",
                it.name,
                it.request.operation,
                it.request.model_id
            );
            Diagnostic::new(Severity::Error, "cassette-placeholder", msg, path)
                .at(text, line, Some(&it.name))
                .help(format!(
                    "replace each `{PLACEHOLDER}…` text in its response with the answer the model gives (and the stop reason and token counts it reports), or record it with `labcheck record`"
                ))
        })
        .collect()
}
