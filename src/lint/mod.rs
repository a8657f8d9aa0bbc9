//! `labcheck lint`: static checks of lab pages, their `lab.toml` and their
//! cassettes, reported rustc-style with `file:line:column` (or as JSON), so an
//! author learns what is wrong before a student on a fresh Linux machine does.
//!
//! A path is a lab directory (with `lab.toml`: spec, page and cassette
//! checks) or a bare page (`lab.md` or a notebook `.ipynb`: page checks only;
//! a notebook's findings are located by cell, see [`notebook`]). The checks:
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
//!   (`models-stale` when the table is older than 90 days); a lab's own
//!   `models.toml` beside its page adds to or overrides rows for that page;
//! - `client-too-old`: a boto3, botocore or AWS CLI pinned or suggested
//!   older than what the page's own calls need ([`client_versions`]);
//! - `service-undeclared`: a setup service the page's code calls (boto3
//!   client, `aws <service>`) that `[lab] services` does not declare;
//!   `setup-undeclared-resources`: `s3`, `iam` or `dynamodb` declared but no
//!   `[lab] resources` for the record/live cleanup;
//! - `cassette-*`, `step-without-cassette`: unused cassettes, steps with no
//!   cassette, secrets, cassettes older than the lab's `max_age`;
//! - `notebook-*`: saved outputs with secrets, ARNs, account ids or errors,
//!   cells run out of order, `!pip`; a notebook that does not parse.
//! - `cassette-placeholder`: answers `labcheck capture` left for the author
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
pub mod client_versions;
mod commands;
mod models;
mod notebook;
mod page;
mod placeholder;
mod services;
mod shell;
mod streaming;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub use crate::diagnostic::{Color, Diagnostic, JSON_VERSION, Severity, Summary, render_json};
pub use models::{
    FoundId, GEO_PREFIXES, ModelRow, ModelTable, ModelsError, STALE_AFTER_DAYS, find_ids,
};

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
    #[error("`{}` holds neither `lab.toml` nor `lab.md` nor `lab.ipynb` (hint: pass a lab directory or a page)", path.display())]
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
            match lab_models(&page, options)? {
                Some(own) => out.extend(lint_page(&page, &region, &own)?),
                None => out.extend(lint_page(&page, &region, options)?),
            }
            // Only a loaded lab says which services it declares.
            if let Some(lab) = labs.last().filter(|l| l.page == page) {
                out.extend(undeclared_services(&page, &lab.services));
                let toml =
                    std::fs::read_to_string(lab.dir.join(spec::LAB_FILE)).unwrap_or_default();
                out.extend(services::undeclared_resources(lab, &toml));
            }
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

/// A lab's own model table, read from beside its page.
pub const LAB_MODELS: &str = "models.toml";

/// The options with the rows of the lab's own `models.toml` (beside the
/// page) added to the table, when there is one: a lab that teaches a model
/// the bundled table lacks, or one it knows better, says so next to itself.
fn lab_models(page: &Path, options: &LintOptions) -> Result<Option<LintOptions>, LintError> {
    let Some(own) = page.parent().map(|d| d.join(LAB_MODELS)) else {
        return Ok(None);
    };
    if !own.is_file() {
        return Ok(None);
    }
    let table = ModelTable::read(&own)?;
    Ok(Some(LintOptions {
        today: options.today,
        models: options.models.clone().with_rows_from(table),
    }))
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
    let bare_notebook = path.join("lab.ipynb");
    if !path.join(spec::LAB_FILE).is_file() {
        if bare_page.is_file() {
            return Ok((Some(bare_page), default_region));
        }
        if bare_notebook.is_file() {
            return Ok((Some(bare_notebook), default_region));
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
            // The page's own checks still help, if it is where it usually is
            // (unless the error is the page itself: no second report of it).
            let page = if bare_page.is_file() {
                Some(bare_page)
            } else {
                (bare_notebook.is_file() && e.file() != bare_notebook).then_some(bare_notebook)
            };
            Ok((page, default_region))
        }
    }
}

/// A `lab.toml` (or page) error from the spec loader, as a lint error.
pub fn spec_diagnostic(e: &SpecError) -> Diagnostic {
    e.diagnostic()
}

/// The page checks and notebook rules of a notebook page (built with
/// [`LabPage::from_notebook`]), every finding located by cell; nothing for
/// a Markdown page.
pub fn lint_notebook_page(page: &LabPage, region: &str, models: &ModelTable) -> Vec<Diagnostic> {
    notebook::check(page, region, models)
}

/// The plain text report: every diagnostic, then a summary line.
pub fn render_text(diagnostics: &[Diagnostic]) -> String {
    crate::diagnostic::render_text("lint", diagnostics, Color::Never)
}

/// The text report, coloured or not.
pub fn render_text_with(diagnostics: &[Diagnostic], color: Color) -> String {
    crate::diagnostic::render_text("lint", diagnostics, color)
}

/// `service-undeclared` for a page that parses (other page problems are
/// reported by [`lint_page`]).
fn undeclared_services(path: &Path, declared: &[String]) -> Vec<Diagnostic> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    match LabPage::parse(path, &text) {
        Ok(page) => services::check(&page, &text, declared),
        Err(_) => Vec::new(),
    }
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
    if LabPage::is_notebook_path(path) {
        return Ok(match crate::content::Notebook::parse(path, &bytes) {
            Ok(nb) => notebook::check(&LabPage::from_notebook(nb), region, &options.models),
            Err(e) => vec![notebook::error_diagnostic(&e, &bytes)],
        });
    }
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
            found.extend(client_versions::check(path, text));
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
