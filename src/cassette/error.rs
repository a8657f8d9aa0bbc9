//! `CassetteError`: every way loading or writing a cassette can fail, each
//! naming the file and, for content problems, the JSON path.

use std::path::PathBuf;

/// An error loading, validating or writing cassettes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The cassette directory could not be listed.
    #[error("cannot read cassette dir `{}`: {source}", dir.display())]
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
    #[error("`{}` at `{json_path}`: {expected}{}", path.display(), hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
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
