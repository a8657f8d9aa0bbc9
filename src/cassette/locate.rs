//! Finding where a JSON path (`interactions[0].response.status`) sits in a
//! cassette's text, so validation errors can name a line and column, not just
//! a path. A small scanner: it only skips over JSON, it never builds values.

/// 1-based (line, column) of the value at `path` in `text`, or of the deepest
/// part of the path that exists (a missing field is reported at its parent).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut scanner = Scanner { bytes, pos: 0 };
    scanner.skip_ws();
    let mut found = scanner.pos;
    for segment in segments(path) {
        scanner.skip_ws();
        let ok = match segment {
            Segment::Key(key) => scanner.enter_key(&key),
            Segment::Index(i) => scanner.enter_index(i),
        };
        if !ok {
            break;
        }
        scanner.skip_ws();
        found = scanner.pos;
    }
    Some(line_col(text, found))
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `a.b[2].c` (serde_path_to_error's notation) into segments.
fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Segment::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    break;
                };
                if let Ok(i) = stripped[..close].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(Segment::Key(rest.to_string()));
        }
    }
    out
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Reads a string at `pos` (which must be `"`), returning its raw contents.
    fn string(&mut self) -> Option<&[u8]> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Some(&self.bytes[start..i]);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// With `pos` at an object, moves to the value of `key`.
    fn enter_key(&mut self, key: &str) -> bool {
        let start = self.pos;
        if self.peek() != Some(b'{') {
            return false;
        }
        self.pos += 1;
        loop {
            self.skip_ws();
            let Some(name) = self.string() else {
                self.pos = start;
                return false;
            };
            let matched = name == key.as_bytes();
            self.skip_ws();
            if self.peek() != Some(b':') {
                self.pos = start;
                return false;
            }
            self.pos += 1;
            self.skip_ws();
            if matched {
                return true;
            }
            if self.skip_value().is_none() {
                self.pos = start;
                return false;
            }
            self.skip_ws();
            if self.peek() != Some(b',') {
                self.pos = start;
                return false;
            }
            self.pos += 1;
        }
    }

    /// With `pos` at an array, moves to element `index`.
    fn enter_index(&mut self, index: usize) -> bool {
        let start = self.pos;
        if self.peek() != Some(b'[') {
            return false;
        }
        self.pos += 1;
        for _ in 0..index {
            if self.skip_value().is_none() {
                self.pos = start;
                return false;
            }
            self.skip_ws();
            if self.peek() != Some(b',') {
                self.pos = start;
                return false;
            }
            self.pos += 1;
        }
        self.skip_ws();
        if matches!(self.peek(), None | Some(b']')) {
            self.pos = start;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{\n  \"version\": 1,\n  \"meta\": {\"x\": \"a,}]\\\"b\"},\n  \"interactions\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\", \"response\": {\"status\": 99}}\n  ]\n}\n";

    #[test]
    fn finds_nested_values_past_tricky_strings() {
        assert_eq!(locate(DOC, "version"), Some((2, 14)));
        assert_eq!(
            locate(DOC, "interactions[1].response.status"),
            Some((6, 42))
        );
        assert_eq!(locate(DOC, "interactions[0].name"), Some((5, 14)));
    }

    #[test]
    fn missing_parts_point_at_the_deepest_existing_parent() {
        assert_eq!(locate(DOC, "interactions[1].request"), Some((6, 5)));
        assert_eq!(locate(DOC, "interactions[7]"), Some((4, 19)));
    }

    #[test]
    fn segments_parse_serde_paths() {
        assert_eq!(
            segments("a.b[2][0].c"),
            vec![
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(2),
                Segment::Index(0),
                Segment::Key("c".into())
            ]
        );
    }
}
