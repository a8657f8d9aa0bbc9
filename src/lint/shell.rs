//! A small POSIX-shell word splitter, enough to read the commands of a lab's
//! `bash` block: backslash-newline continuations, single and double quotes,
//! comments, `;` `&&` `||` `|` `&` separators, redirections (dropped from the
//! words) and here-documents (their bodies are skipped). Every word keeps the
//! 1-based line it starts on. It never fails: unterminated quotes run to the
//! end of the block.

/// One word of a command, quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word after quote removal (`'{"a": 1}'` → `{"a": 1}`).
    pub text: String,
    /// Whether any part of it was quoted.
    pub quoted: bool,
    /// 1-based line in the block where the word starts.
    pub line: usize,
}

/// One simple command: its words (redirections removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
}

impl Command {
    /// The words after leading `NAME=value` assignments (and `sudo`/`env`/`exec`).
    pub fn argv(&self) -> &[Word] {
        let mut i = 0;
        while i < self.words.len() {
            let w = &self.words[i].text;
            let assignment =
                !self.words[i].quoted && w.split_once('=').is_some_and(|(name, _)| is_name(name));
            if assignment || matches!(w.as_str(), "sudo" | "env" | "exec" | "time") {
                i += 1;
            } else {
                break;
            }
        }
        &self.words[i..]
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

struct Splitter {
    commands: Vec<Command>,
    words: Vec<Word>,
    word: Option<Word>,
    skip_next_word: bool,
    heredocs: Vec<(String, bool)>,
    line: usize,
}

impl Splitter {
    fn char(&mut self, c: char) {
        let line = self.line;
        self.word
            .get_or_insert_with(|| Word {
                text: String::new(),
                quoted: false,
                line,
            })
            .text
            .push(c);
    }

    fn quoted(&mut self) {
        let line = self.line;
        self.word
            .get_or_insert_with(|| Word {
                text: String::new(),
                quoted: false,
                line,
            })
            .quoted = true;
    }

    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            if self.skip_next_word {
                self.skip_next_word = false;
            } else {
                self.words.push(w);
            }
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        self.skip_next_word = false;
        if !self.words.is_empty() {
            self.commands.push(Command {
                words: std::mem::take(&mut self.words),
            });
        }
    }
}

/// Splits a block's text into commands. `first_line` is the line number of
/// the block's first line (so words carry page lines).
pub fn split(text: &str, first_line: usize) -> Vec<Command> {
    let chars: Vec<char> = text.chars().collect();
    let mut s = Splitter {
        commands: Vec::new(),
        words: Vec::new(),
        word: None,
        skip_next_word: false,
        heredocs: Vec::new(),
        line: first_line,
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' if next == Some('\n') => {
                s.line += 1;
                i += 2;
                continue;
            }
            '\\' => {
                if let Some(n) = next {
                    s.char(n);
                }
                i += 2;
                continue;
            }
            '\n' => {
                s.end_command();
                s.line += 1;
                i += 1;
                for (delim, strip_tabs) in std::mem::take(&mut s.heredocs) {
                    while i < chars.len() {
                        let end = chars[i..]
                            .iter()
                            .position(|&c| c == '\n')
                            .map_or(chars.len(), |p| i + p);
                        let line: String = chars[i..end].iter().collect();
                        let line = if strip_tabs {
                            line.trim_start_matches('\t')
                        } else {
                            &line
                        };
                        let done = line == delim;
                        i = end + 1;
                        s.line += 1;
                        if done {
                            break;
                        }
                    }
                }
                continue;
            }
            ' ' | '\t' | '\r' => s.end_word(),
            '#' if s.word.is_none() => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\'' => {
                s.quoted();
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\n' {
                        s.line += 1;
                    }
                    s.char(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                s.quoted();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    let c = chars[i];
                    if c == '\\' && matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) {
                        s.char(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if c == '\n' {
                        s.line += 1;
                    }
                    s.char(c);
                    i += 1;
                }
            }
            '$' if next == Some('(') => {
                let mut depth = 0;
                while i < chars.len() {
                    let c = chars[i];
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    if c == '\n' {
                        s.line += 1;
                    }
                    s.char(c);
                    i += 1;
                    if depth == 0 && c == ')' {
                        break;
                    }
                }
                continue;
            }
            ';' | '&' | '|' | '(' | ')' => {
                if c == '&' && next == Some('>') {
                    s.end_word();
                    s.skip_next_word = true;
                    i += 2;
                    continue;
                }
                s.end_command();
            }
            '<' if next == Some('<') && chars.get(i + 2) != Some(&'<') => {
                s.end_word();
                i += 2;
                let strip_tabs = chars.get(i) == Some(&'-');
                if strip_tabs {
                    i += 1;
                }
                while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                    i += 1;
                }
                let mut delim = String::new();
                while let Some(&c) = chars.get(i) {
                    if c.is_whitespace() || matches!(c, ';' | '&' | '|') {
                        break;
                    }
                    if !matches!(c, '\'' | '"' | '\\') {
                        delim.push(c);
                    }
                    i += 1;
                }
                s.heredocs.push((delim, strip_tabs));
                continue;
            }
            '<' | '>' => {
                // `2>`: the fd number belongs to the redirection.
                if s.word.as_ref().is_some_and(|w| {
                    !w.quoted && !w.text.is_empty() && w.text.chars().all(|c| c.is_ascii_digit())
                }) {
                    s.word = None;
                }
                s.end_word();
                while matches!(chars.get(i + 1), Some('>' | '<' | '&')) {
                    i += 1;
                }
                s.skip_next_word = true;
                // `2>&1`: the target is glued to the operator.
                if chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '-')
                    && chars[i] == '&'
                {
                    i += 1;
                    while chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                    s.skip_next_word = false;
                }
            }
            _ => s.char(c),
        }
        i += 1;
    }
    s.end_command();
    s.commands
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(text: &str) -> Vec<Vec<String>> {
        split(text, 1)
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn continuations_quotes_and_lines() {
        let cmds = split(
            "aws x \\\n  --body '{\n  \"a\": 1\n}' \\\n  out.json\n\ntype out.json\n",
            10,
        );
        assert_eq!(cmds.len(), 2);
        let w = &cmds[0].words;
        assert_eq!(w[2].text, "--body");
        assert_eq!(w[2].line, 11);
        assert_eq!(w[3].text, "{\n  \"a\": 1\n}");
        assert!(w[3].quoted);
        assert_eq!((w[4].text.as_str(), w[4].line), ("out.json", 14));
        assert_eq!(cmds[1].words[0].line, 16);
    }

    #[test]
    fn separators_redirections_comments() {
        assert_eq!(
            argvs("a 1 && b 2>&1 | c > f.txt; d # e f\ng \"x y\" 2> err <in"),
            vec![
                vec!["a", "1"],
                vec!["b"],
                vec!["c"],
                vec!["d"],
                vec!["g", "x y"]
            ]
        );
    }

    #[test]
    fn heredoc_bodies_are_skipped() {
        let cmds = split(
            "cat > b.json <<'EOF'\n{\"type\": 1}\ndel x\nEOF\necho done\n",
            1,
        );
        assert_eq!(
            cmds.iter()
                .map(|c| c.words[0].text.as_str())
                .collect::<Vec<_>>(),
            vec!["cat", "echo"]
        );
        assert_eq!(cmds[1].words[0].line, 5);
    }

    #[test]
    fn argv_skips_assignments_and_sudo() {
        let cmds = split("FOO=1 sudo apt-get install jq\n", 1);
        assert_eq!(cmds[0].argv()[0].text, "apt-get");
    }
}
