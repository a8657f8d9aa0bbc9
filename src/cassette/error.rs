//! `CassetteError`: every way loading or writing a cassette can fail, each
//! naming the file and, for content problems, the JSON path.

use std::path::{Path, PathBuf};

/// An error loading, validating or writing cassettes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The cassette directory could not be listed.
    #[error("cannot read cassette dir `{}`: {source} (hint: record cassettes with `labcheck record`, or point `cassettes` in [lab] at the directory)", dir.display())]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A cassette file could not be read.
    #[error("cannot read cassette `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON at all.
    #[error("`{}`:{line}:{column}: not valid JSON: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The JSON does not have the cassette shape, or fails a check.
    #[error("`{}`:{line}:{column}: at `{json_path}`: {expected}{}", path.display(), hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// 1-based position of the offending value (or of its nearest parent).
        line: usize,
        column: usize,
        /// Where in the document, e.g. `interactions[0].response.status`.
        json_path: String,
        /// What was wrong and what was expected.
        expected: String,
        hint: Option<String>,
    },
    /// Writing a cassette failed.
    #[error("cannot write cassette `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CassetteError {
    /// A stable kebab-case name of the error, for tests and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            CassetteError::ReadDir { .. } => "missing-cassettes",
            CassetteError::Read { .. } => "unreadable-cassette",
            CassetteError::Syntax { .. } => "cassette-syntax",
            CassetteError::Invalid { .. } => "invalid-cassette",
            CassetteError::Write { .. } => "cassette-write",
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            CassetteError::ReadDir { dir: path, .. }
            | CassetteError::Read { path, .. }
            | CassetteError::Syntax { path, .. }
            | CassetteError::Invalid { path, .. }
            | CassetteError::Write { path, .. } => path,
        }
    }

    /// 1-based (line, column) in the file, when the error has a place.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            CassetteError::Syntax { line, column, .. }
            | CassetteError::Invalid { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }
}
