//! `labcheck lint`: static checks of lab pages, their `lab.toml` and their
//! cassettes, reported rustc-style with `file:line:column` (or as JSON), so an
//! author learns what is wrong before a student on a fresh Linux machine does.
//!
//! A path is a lab directory (with `lab.toml`: spec, page and cassette
//! checks) or a bare page (`lab.md`: page checks only). The checks:
//!
//! - `spec/*`: [`crate::spec::load_lab`] errors (checklist items no step
//!   proves, missing code blocks, …), one diagnostic each;
//! - `windows-cmd`, `powershell`: cmd/PowerShell commands in a `bash` block;
//! - `aws-cli-*`: AWS CLI calls that fail or differ under v1 and v2;
//!   `aws-cli-no-streaming`: a streaming Bedrock command (which no AWS CLI
//!   has) in prose or a non-shell block;
//! - `python-not-found`, `pip-system`, `tool-missing`, `aws-cli-install`,
//!   `boto3-not-installed`: what a fresh Debian/Ubuntu lacks;
//! - `unnamed-script`, `script-never-run`: python code with no file name or
//!   never run;
//! - `model-*`: model ids unknown, legacy, past end-of-life, not callable on
//!   demand in the region, from the bundled `data/models.toml`
//!   (`models-stale` when the table is older than 90 days);
//! - `cassette-*`, `step-without-cassette`: unused cassettes, steps with no
//!   cassette, secrets, cassettes older than the lab's `max_age`;
//!   `cassette-placeholder`: answers `labcheck capture` left for the author
//!   to write.
//!
//! Only errors fail the lint. The JSON shape is documented in `docs/lint.md`.
//!
//! ```no_run
//! use labcheck::lint::{self, LintOptions};
//! let options = LintOptions::bundled(labcheck::cassette::age::today_utc())?;
//! let found = lint::lint_paths(&["labs/4.2-converse-api".into()], &options)?;
//! print!("{}", lint::render_text(&found));
//! # Ok::<(), lint::LintError>(())
//! ```

mod aws;
mod cassettes;
mod commands;
mod models;
mod page;
mod placeholder;
mod shell;
mod streaming;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub use crate::diagnostic::{Color, Diagnostic, JSON_VERSION, Severity, Summary, render_json};
pub use models::{ModelRow, ModelTable, ModelsError, STALE_AFTER_DAYS};

use aws_smithy_types::DateTime;

use crate::content::LabPage;
use crate::spec::{self, Lab, SpecError};

/// What the lint compares against: today's date and the model table.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// "Today" (midnight UTC) for age checks (injectable for tests).
    pub today: DateTime,
    pub models: ModelTable,
}

impl LintOptions {
    /// The bundled `data/models.toml` and the given date.
    pub fn bundled(today: DateTime) -> Result<LintOptions, LintError> {
        Ok(LintOptions {
            today,
            models: ModelTable::bundled()?,
        })
    }
}

/// A path that cannot be linted at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LintError {
    #[error("`{}` does not exist (hint: pass a lab directory or a `lab.md`)", path.display())]
    NotFound { path: PathBuf },
    #[error("`{}` holds neither `lab.toml` nor `lab.md` (hint: pass a lab directory or a page)", path.display())]
    NotALab { path: PathBuf },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Models(#[from] ModelsError),
}

/// Lints every path; diagnostics in path order (pages by line, then cassettes).
pub fn lint_paths(paths: &[PathBuf], options: &LintOptions) -> Result<Vec<Diagnostic>, LintError> {
    let mut out: Vec<Diagnostic> = options
        .models
        .staleness(options.today)
        .into_iter()
        .collect();
    let mut labs: Vec<Lab> = Vec::new();
    let mut pages_seen: HashSet<PathBuf> = HashSet::new();
    let mut paths_seen: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        if !paths_seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
            continue; // the same lab given twice
        }
        let (page, region) = resolve(path, &mut labs, &mut out)?;
        let Some(page) = page else { continue };
        let key = page.canonicalize().unwrap_or_else(|_| page.clone());
        if pages_seen.insert(key) {
            out.extend(lint_page(&page, &region, options)?);
        }
    }
    // Cassette directories, each with every linted lab that replays it.
    let mut by_dir: BTreeMap<PathBuf, Vec<&Lab>> = BTreeMap::new();
    for lab in &labs {
        let key = lab
            .cassettes
            .canonicalize()
            .unwrap_or_else(|_| lab.cassettes.clone());
        by_dir.entry(key).or_default().push(lab);
    }
    for group in by_dir.values() {
        out.extend(cassettes::check_dir(
            &group[0].cassettes,
            group,
            options.today,
        ));
    }
    Ok(out)
}

/// The page to lint and the region, loading the lab when there is a `lab.toml`.
fn resolve(
    path: &Path,
    labs: &mut Vec<Lab>,
    out: &mut Vec<Diagnostic>,
) -> Result<(Option<PathBuf>, String), LintError> {
    let default_region = spec::DEFAULT_REGION.to_string();
    if path.is_file() {
        return Ok((Some(path.to_path_buf()), default_region));
    }
    if !path.is_dir() {
        return Err(LintError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let bare_page = path.join(spec::DEFAULT_PAGE);
    if !path.join(spec::LAB_FILE).is_file() {
        if bare_page.is_file() {
            return Ok((Some(bare_page), default_region));
        }
        return Err(LintError::NotALab {
            path: path.to_path_buf(),
        });
    }
    match spec::load_lab(path) {
        Ok(lab) => {
            let result = (Some(lab.page.clone()), lab.region.clone());
            labs.push(lab);
            Ok(result)
        }
        Err(e) => {
            out.push(spec_diagnostic(&e));
            // The page's own checks still help, if it is where it usually is.
            let page = bare_page.is_file().then_some(bare_page);
            Ok((page, default_region))
        }
    }
}

/// A `lab.toml` (or page) error from the spec loader, as a lint error.
pub fn spec_diagnostic(e: &SpecError) -> Diagnostic {
    e.diagnostic()
}

/// The plain text report: every diagnostic, then a summary line.
pub fn render_text(diagnostics: &[Diagnostic]) -> String {
    crate::diagnostic::render_text("lint", diagnostics, Color::Never)
}

/// The text report, coloured or not.
pub fn render_text_with(diagnostics: &[Diagnostic], color: Color) -> String {
    crate::diagnostic::render_text("lint", diagnostics, color)
}

fn lint_page(
    path: &Path,
    region: &str,
    options: &LintOptions,
) -> Result<Vec<Diagnostic>, LintError> {
    let bytes = std::fs::read(path).map_err(|source| LintError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = crate::diagnostic::utf8_error_position(&bytes, &e);
            let lossy = String::from_utf8_lossy(&bytes);
            let d = Diagnostic::new(
                Severity::Error,
                "page-not-utf8",
                "the page is not UTF-8",
                path,
            )
            .at_column(&lossy, line, column, 1)
            .help("save the page as UTF-8");
            return Ok(vec![d]);
        }
    };
    match LabPage::parse(path, text) {
        Ok(page) => {
            let mut found = page::check(&page, text, region, &options.models);
            found.extend(streaming::check(&page, text));
            Ok(found)
        }
        Err(e) => Ok(vec![
            Diagnostic::new(Severity::Error, "page-invalid", e.to_string(), path).at(
                text,
                e.line(),
                None,
            ),
        ]),
    }
}
