//! `CassetteError`: every way loading or writing a cassette can fail, each
//! naming the file and, for content problems, the position (serde_json's,
//! in characters) and the JSON path. [`CassetteError::diagnostic`] renders it
//! through the shared [`crate::diagnostic`] layer.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};

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
    /// The file is not UTF-8 (JSON must be): the position of the first bad byte.
    #[error("`{}`:{line}:{column}: not UTF-8: byte 0x{byte:02x} (hint: save the cassette as UTF-8; labcheck writes every cassette that way)", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
        byte: u8,
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
            CassetteError::NotUtf8 { .. } => "cassette-not-utf8",
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
            | CassetteError::NotUtf8 { path, .. }
            | CassetteError::Syntax { path, .. }
            | CassetteError::Invalid { path, .. }
            | CassetteError::Write { path, .. } => path,
        }
    }

    /// 1-based (line, column) in the file, when the error has a place.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            CassetteError::NotUtf8 { line, column, .. }
            | CassetteError::Syntax { line, column, .. }
            | CassetteError::Invalid { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The error as a located diagnostic (code `cassette-<kind>`), with the
    /// offending line of the file when it has a position.
    pub fn diagnostic(&self) -> Diagnostic {
        let (message, help) = match self {
            CassetteError::NotUtf8 { byte, .. } => (
                format!("not UTF-8: byte 0x{byte:02x}"),
                Some("save the cassette as UTF-8; labcheck writes every cassette that way".into()),
            ),
            CassetteError::Syntax { message, .. } => (format!("not valid JSON: {message}"), None),
            CassetteError::Invalid {
                json_path,
                expected,
                hint,
                ..
            } => (format!("at `{json_path}`: {expected}"), hint.clone()),
            CassetteError::ReadDir { source, .. } => (
                format!("cannot read the cassette directory: {source}"),
                Some("record cassettes with `labcheck record`, or point `cassettes` in [lab] at the directory".into()),
            ),
            CassetteError::Read { source, .. } => (format!("cannot read the cassette: {source}"), None),
            CassetteError::Write { source, .. } => (format!("cannot write the cassette: {source}"), None),
        };
        let code = match self.kind() {
            "invalid-cassette" => "cassette-invalid",
            other => other,
        };
        let mut d = Diagnostic::new(Severity::Error, code, message, self.file());
        if let Some((line, column)) = self.position() {
            let bytes = std::fs::read(self.file()).unwrap_or_default();
            d = d.at_column(&String::from_utf8_lossy(&bytes), line, column, 1);
        }
        match help {
            Some(h) => d.help(h),
            None => d,
        }
    }
}
