//! The pulldown-cmark walk: one pass over the page collecting headings, fenced
//! code blocks and task-list items, each with its 1-based line.
//!
//! Byte offsets come from `into_offset_iter`; the caller has already blanked
//! front matter and Hugo shortcode lines with spaces, so offsets are those of
//! the original text.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use unicode_normalization::UnicodeNormalization;

use super::{ChecklistEntry, CodeBlock, Heading};

/// Maps byte offsets to 1-based lines and columns.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

pub(crate) struct Walked {
    pub headings: Vec<Heading>,
    pub blocks: Vec<CodeBlock>,
    pub checklist: Vec<ChecklistEntry>,
}

/// State of a task-list item whose text is being collected.
struct OpenItem {
    checked: bool,
    start: usize,
    end: usize,
}

pub(crate) fn walk(text: &str) -> Walked {
    let lines = Lines::new(text);
    let mut out = Walked {
        headings: Vec::new(),
        blocks: Vec::new(),
        checklist: Vec::new(),
    };
    let mut heading: Option<(u8, usize, String)> = None;
    let mut block: Option<(Option<String>, usize, String)> = None;
    let mut item: Option<OpenItem> = None;

    let options =
        Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        // A task item's text runs from its marker to the end of its first block.
        if let Some(open) = item.as_mut() {
            match &event {
                Event::End(TagEnd::Paragraph | TagEnd::Item)
                | Event::Start(Tag::List(_) | Tag::CodeBlock(_)) => {
                    out.checklist.push(finish_item(text, &lines, open));
                    item = None;
                }
                _ => open.end = open.end.max(range.end),
            }
        }
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level as u8, range.start, String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, start, rendered)) = heading.take() {
                    out.headings.push(Heading {
                        level,
                        text: normalize(&rendered),
                        source: heading_source(&text[start..range.end]),
                        line: lines.line(start),
                    });
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = info.split_whitespace().next().map(str::to_string);
                block = Some((lang, range.start, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, start, code)) = block.take() {
                    out.blocks.push(CodeBlock {
                        lang,
                        text: code,
                        line: lines.line(start),
                        heading: out.headings.len().checked_sub(1),
                        cell: None,
                    });
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, code)) = block.as_mut() {
                    code.push_str(&t);
                } else if let Some((_, _, rendered)) = heading.as_mut() {
                    rendered.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, rendered)) = heading.as_mut() {
                    rendered.push(' ');
                }
            }
            Event::TaskListMarker(checked) => {
                item = Some(OpenItem {
                    checked,
                    start: range.end,
                    end: range.end,
                })
            }
            _ => {}
        }
    }
    if let Some(open) = item.as_ref() {
        out.checklist.push(finish_item(text, &lines, open));
    }
    out
}

fn finish_item(text: &str, lines: &Lines, open: &OpenItem) -> ChecklistEntry {
    let raw = &text[open.start..open.end.max(open.start)];
    // Continuation lines are joined with one space, as a reader sees them.
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    ChecklistEntry {
        checked: open.checked,
        text: normalize(&joined),
        line: lines.line(open.start),
    }
}

/// Trim and NFC-normalise, the form every comparison in labcheck uses.
pub(crate) fn normalize(s: &str) -> String {
    s.trim().nfc().collect()
}

/// The heading as written: ATX `#` markers (and closing `#`s) or a setext
/// underline removed.
fn heading_source(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or_default().trim();
    let stripped = first.trim_start_matches('#').trim();
    let stripped = stripped.trim_end_matches('#').trim_end();
    normalize(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let l = Lines::new("a\nb\n\nc");
        assert_eq!(l.line(0), 1);
        assert_eq!(l.line(2), 2);
        assert_eq!(l.line(4), 3);
        assert_eq!(l.line(5), 4);
    }

    #[test]
    fn heading_source_strips_markers() {
        assert_eq!(heading_source("### Bước 2: `x` ##\n"), "Bước 2: `x`");
        assert_eq!(heading_source("Title\n=====\n"), "Title");
    }
}
