//! Stage 2 helpers: one value of `lab.toml` checked or resolved against the
//! page — code block references, checklist references, durations, regexes,
//! JSON pointers — each failing with a [`SpecError`] at that value.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::error::{Problem, Source, SpecError, nearest_all, ticks};
use super::lab::ProgramSource;
use super::model::{BlockRef, ChecklistRef, SourceRef, TextOrBlock};
use crate::content::{CellSelector, CodeBlock, LabPage, LookupError, normalize};

/// What stage 2 checks against: the `lab.toml` text and the parsed page.
pub(crate) struct Ctx<'a> {
    pub src: Source<'a>,
    pub page: &'a LabPage,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        span: Range<usize>,
        problem: Problem,
        hint: impl std::fmt::Display,
    ) -> SpecError {
        self.src.error(Some(span), problem, hint)
    }

    /// `program`, `run` or a file's `from`: exactly one of section/command/workspace.
    pub(crate) fn source(
        &self,
        key: &str,
        r: &Spanned<SourceRef>,
    ) -> Result<ProgramSource, SpecError> {
        let v = r.get_ref();
        let set: Vec<&str> = [
            ("section", v.section.is_some()),
            ("cell", v.cell.is_some()),
            ("tag", v.tag.is_some()),
            ("command", v.command.is_some()),
        ]
        .into_iter()
        .chain([("workspace", v.workspace.is_some())])
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        let allowed = vec![
            "section".to_string(),
            "cell".to_string(),
            "tag".to_string(),
            "command".to_string(),
            "workspace".to_string(),
        ];
        let bad = |found: String| {
            self.err(
                r.span(),
                Problem::BadSource { key: key.to_string(), allowed: allowed.clone(), found },
                format!("write `{key} = {{ section = \"<heading>\", index = 0 }}`, `{key} = {{ cell = \"<cell id>\" }}` (notebooks) or `{key} = {{ command = \"…\" }}`"),
            )
        };
        match (set.as_slice(), v) {
            (
                ["section"],
                SourceRef {
                    section: Some(section),
                    index,
                    ..
                },
            ) => self.block(r.span(), section, index.unwrap_or(0)),
            (
                ["cell"],
                SourceRef {
                    cell: Some(id),
                    index: None,
                    ..
                },
            ) => self.cell(r.span(), &CellSelector::Id(id.clone())),
            (
                ["tag"],
                SourceRef {
                    tag: Some(tag),
                    index: None,
                    ..
                },
            ) => self.cell(r.span(), &CellSelector::Tag(tag.clone())),
            (
                ["command"],
                SourceRef {
                    command: Some(text),
                    index: None,
                    ..
                },
            ) => Ok(ProgramSource::Inline { text: text.clone() }),
            (
                ["workspace"],
                SourceRef {
                    workspace: Some(path),
                    index: None,
                    ..
                },
            ) => Ok(ProgramSource::Workspace {
                path: PathBuf::from(path),
            }),
            ([], _) => Err(bad("none".to_string())),
            ([_], _) => Err(bad("`index` without `section`".to_string())),
            (many, _) => Err(bad(ticks(
                &many.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ))),
        }
    }

    /// A code block of the page, as a [`ProgramSource::Block`].
    pub(crate) fn block(
        &self,
        span: Range<usize>,
        section: &str,
        index: usize,
    ) -> Result<ProgramSource, SpecError> {
        let b = self.code_block(span, section, index)?;
        Ok(ProgramSource::Block {
            section: normalize(section),
            index,
            line: b.line,
            lang: b.lang.clone(),
            text: b.text.clone(),
            cell: self.page.cell_location(b.line + 1),
        })
    }

    /// The code of the one cell `selector` names, as a [`ProgramSource::Block`]
    /// (section: the heading above the cell, index: its place there).
    pub(crate) fn cell(
        &self,
        span: Range<usize>,
        selector: &CellSelector,
    ) -> Result<ProgramSource, SpecError> {
        let b = self
            .page
            .cell_block(selector)
            .map_err(|e| self.lookup_error(span, e))?;
        let (section, index) = match b.heading {
            Some(h) => (
                self.page.headings[h].text.clone(),
                self.page
                    .section_blocks(h)
                    .position(|x| std::ptr::eq(x, b))
                    .unwrap_or_default(),
            ),
            None => (String::new(), 0),
        };
        Ok(ProgramSource::Block {
            section,
            index,
            line: b.line,
            lang: b.lang.clone(),
            text: b.text.clone(),
            cell: self.page.cell_location(b.line + 1),
        })
    }

    fn code_block(
        &self,
        span: Range<usize>,
        section: &str,
        index: usize,
    ) -> Result<&CodeBlock, SpecError> {
        self.page
            .block(section, index)
            .map_err(|e| self.lookup_error(span, e))
    }

    /// `prompt`: a plain string, or a code block's text without its final newline.
    pub(crate) fn text_or_block(&self, v: &Spanned<TextOrBlock>) -> Result<String, SpecError> {
        let text = match v.get_ref() {
            TextOrBlock::Text(t) => return Ok(t.clone()),
            TextOrBlock::Block(BlockRef {
                section: Some(section),
                index,
                cell: None,
                tag: None,
            }) => self
                .code_block(v.span(), section, index.unwrap_or(0))?
                .text
                .clone(),
            TextOrBlock::Block(BlockRef {
                section: None,
                index: None,
                cell,
                tag,
            }) if cell.is_some() != tag.is_some() => {
                let selector = match (cell, tag) {
                    (Some(id), _) => CellSelector::Id(id.clone()),
                    (_, Some(tag)) => CellSelector::Tag(tag.clone()),
                    (None, None) => unreachable!("guarded: exactly one is set"),
                };
                match self.cell(v.span(), &selector)? {
                    ProgramSource::Block { text, .. } => text,
                    _ => unreachable!("cell() returns a block"),
                }
            }
            TextOrBlock::Block(b) => {
                let found: Vec<String> = [
                    ("section", b.section.is_some()),
                    ("index", b.index.is_some()),
                    ("cell", b.cell.is_some()),
                    ("tag", b.tag.is_some()),
                ]
                .into_iter()
                .filter(|&(_, on)| on)
                .map(|(k, _)| format!("`{k}`"))
                .collect();
                return Err(self.err(
                    v.span(),
                    Problem::BadSource {
                        key: "prompt".to_string(),
                        allowed: vec!["section".into(), "cell".into(), "tag".into()],
                        found: if found.is_empty() { "none".to_string() } else { found.join(", ") },
                    },
                    "write `prompt = { section = \"<heading>\", index = 0 }`, `{ cell = \"<id>\" }` or `{ tag = \"<tag>\" }`",
                ));
            }
        };
        Ok(text.trim_end_matches('\n').to_string())
    }

    pub(super) fn lookup_error(&self, span: Range<usize>, e: LookupError) -> SpecError {
        let page = self.page.path.display();
        match e {
            LookupError::UnknownSection { section, nearest } => {
                let hint = match nearest.first() {
                    Some(best) => format!("did you mean `{best}`? (headings of `{page}`)"),
                    None => format!("use a heading of `{page}`, written as rendered (without `#`)"),
                };
                self.err(span, Problem::UnknownSection { section, nearest }, hint)
            }
            LookupError::AmbiguousSection { section, lines } if self.page.notebook.is_some() => {
                // Lines of a notebook page are layout lines: name the cells.
                let cells: Vec<String> = lines
                    .iter()
                    .filter_map(|&l| self.page.cell_location(l))
                    .map(|c| format!("cell {}", c.number))
                    .collect();
                let message = format!(
                    "section `{section}` is ambiguous: the heading appears in {}",
                    cells.join(", ")
                );
                self.err(
                    span,
                    Problem::CellRef {
                        kind: "ambiguous-section",
                        message,
                    },
                    "rename one of the headings in the notebook so each section name is unique",
                )
            }
            LookupError::AmbiguousSection { section, lines } => self.err(
                span,
                Problem::AmbiguousSection { section, lines },
                "rename one of the headings in the page so each section name is unique",
            ),
            LookupError::UnknownCell { ref nearest, .. } => {
                let hint = match nearest.first() {
                    Some(best) => format!("did you mean `{best}`? (cell ids of `{page}`)"),
                    None => format!("use the `id` of a cell of `{page}` (nbformat 4.5 or later saves one per cell)"),
                };
                self.cell_ref("unknown-cell", span, &e, hint)
            }
            LookupError::UnknownTag { ref nearest, .. } => {
                let hint = match nearest.first() {
                    Some(best) => format!("did you mean `{best}`? (tags of `{page}`)"),
                    None => "add the tag to the cell's `metadata.tags`, or select it by `cell = \"<id>\"`".to_string(),
                };
                self.cell_ref("unknown-tag", span, &e, hint)
            }
            LookupError::AmbiguousTag { .. } => self.cell_ref(
                "ambiguous-tag",
                span,
                &e,
                "select the cell by its id (`cell = \"<id>\"`), or keep the tag on one cell only",
            ),
            LookupError::NoCodeInCell { .. } => self.cell_ref(
                "no-code-in-cell",
                span,
                &e,
                "point at a code cell, or a markdown cell with exactly one fenced code block",
            ),
            LookupError::NotANotebook { .. } => self.cell_ref(
                "not-a-notebook",
                span,
                &e,
                "`cell` and `tag` select notebook cells: use `section` and `index` for a Markdown page",
            ),
            LookupError::MissingBlock { ref blocks, .. } => {
                let hint = match blocks.len() {
                    0 => {
                        "point at a section that holds the code block, or add the block to the page"
                            .to_string()
                    }
                    n => format!("use an `index` from 0 to {} (0-based)", n - 1),
                };
                self.err(
                    span,
                    Problem::MissingBlock {
                        message: e.to_string(),
                    },
                    hint,
                )
            }
        }
    }

    fn cell_ref(
        &self,
        kind: &'static str,
        span: Range<usize>,
        e: &LookupError,
        hint: impl std::fmt::Display,
    ) -> SpecError {
        let problem = Problem::CellRef {
            kind,
            message: e.to_string(),
        };
        self.err(span, problem, hint)
    }

    /// A `proves` entry as a 1-based checklist index.
    pub(crate) fn checklist_ref(&self, r: &Spanned<ChecklistRef>) -> Result<usize, SpecError> {
        let items = &self.page.checklist;
        let count = items.len();
        match r.get_ref() {
            ChecklistRef::Index(i) => match usize::try_from(*i) {
                Ok(i) if (1..=count).contains(&i) => Ok(i),
                _ => Err(self.err(
                    r.span(),
                    Problem::UnknownChecklistItem {
                        reference: format!("`{i}`"),
                        count,
                    },
                    if count == 0 {
                        "the page has no `- [ ]` items: remove `proves`".to_string()
                    } else {
                        format!("checklist indexes are 1-based: use 1 to {count}")
                    },
                )),
            },
            ChecklistRef::Text(text) => {
                let wanted = normalize(text);
                if let Some(pos) = items.iter().position(|it| it.text == wanted) {
                    return Ok(pos + 1);
                }
                let hint = match nearest_item(&wanted, items.iter().map(|it| it.text.as_str())) {
                    Some((pos, best)) => {
                        let n = pos + 1;
                        format!("did you mean item {n} \"{best}\"? (or bind it by index: `{n}`)")
                    },
                    None => "copy the item's text exactly as written after `- [ ]` in the page, or use its 1-based index"
                        .to_string(),
                };
                Err(self.err(
                    r.span(),
                    Problem::UnknownChecklistItem {
                        reference: format!("\"{wanted}\""),
                        count,
                    },
                    hint,
                ))
            }
        }
    }

    pub(crate) fn duration(&self, v: &Spanned<String>) -> Result<Duration, SpecError> {
        parse_duration(v.get_ref()).ok_or_else(|| {
            self.err(
                v.span(),
                Problem::BadDuration {
                    value: v.get_ref().clone(),
                },
                "write a whole number followed by `ms`, `s`, `m`, `h` or `d`, e.g. `90s`",
            )
        })
    }

    /// A step timeout: a duration of at most [`super::MAX_TIMEOUT`].
    pub(crate) fn timeout(&self, key: &str, v: &Spanned<String>) -> Result<Duration, SpecError> {
        let d = self.duration(v)?;
        if d <= super::MAX_TIMEOUT {
            return Ok(d);
        }
        Err(self.err(
            v.span(),
            Problem::DurationTooLong {
                key: key.to_string(),
                value: v.get_ref().clone(),
                limit: "24h".to_string(),
            },
            "write a timeout of at most `24h`; a step that needs longer belongs in a separate job",
        ))
    }

    pub(crate) fn regex(&self, v: &Spanned<String>) -> Result<String, SpecError> {
        match regex::Regex::new(v.get_ref()) {
            Ok(_) => Ok(v.get_ref().clone()),
            Err(e) => {
                let message = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string();
                let hint = "escape regex metacharacters with `\\\\` in a basic string, or use a '…' literal string";
                Err(self.err(
                    v.span(),
                    Problem::BadRegex {
                        pattern: v.get_ref().clone(),
                        message,
                    },
                    hint,
                ))
            }
        }
    }

    pub(crate) fn pointer(&self, v: &Spanned<String>) -> Result<String, SpecError> {
        let p = v.get_ref();
        if p.is_empty() || p.starts_with('/') {
            return Ok(p.clone());
        }
        Err(self.err(
            v.span(),
            Problem::BadJsonPointer { pointer: p.clone() },
            format!("write `\"/{p}\"` (RFC 6901: `/content/0/type`)"),
        ))
    }
}

fn nearest_item<'a>(
    wanted: &str,
    items: impl Iterator<Item = &'a str>,
) -> Option<(usize, &'a str)> {
    items
        .enumerate()
        .map(|(i, t)| (strsim::normalized_levenshtein(wanted, t), i, t))
        .filter(|(s, _, _)| *s > 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, i, t)| (i, t))
}

/// `500ms`, `90s`, `2m`, `1h`, `365d`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = |k: u64| n.checked_mul(k).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => None,
    }
}

/// Best-effort suggestion among fixed names.
pub(crate) fn did_you_mean(word: &str, names: &[&str]) -> String {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match nearest_all(word, names.iter().copied()).as_slice() {
        [] => format!("use one of {}", ticks(&own(names))),
        [one] => format!("did you mean `{one}`?"),
        [first @ .., last] => format!("did you mean {} or `{last}`?", ticks(&own(first))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("365d"),
            Some(Duration::from_secs(365 * 86_400))
        );
        for bad in ["", "90", "s", "1.5s", "10 sec", "-1s", "1w"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
