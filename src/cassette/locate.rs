//! Where a JSON path (`interactions[0].response.status`) sits in a cassette,
//! for the checks that run after deserialization. serde_json itself walks the
//! bytes: a seed follows the path and fails on arrival, and the failure
//! carries serde_json's position. No hand-written JSON scanner.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Marks of the deliberate failures: arrived at the value, or at the end of
/// the deepest object or array on the path that lacks the next part.
const ARRIVED: &str = "labcheck-locate: arrived";
const MISSING: &str = "labcheck-locate: missing";

/// 1-based (line, column, in characters) of the value at `path` in `bytes`; a
/// missing part is reported at the end of the deepest part that exists (as
/// serde reports a missing field). (1, 1) if the bytes are not JSON.
pub(crate) fn locate(bytes: &[u8], path: &str) -> (usize, usize) {
    let segments = segments(path);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Err(e) = (Seek { rest: &segments }).deserialize(&mut de) else {
        return (1, 1);
    };
    let (line, column) = (e.line(), e.column());
    let message = e.to_string();
    // On arrival serde_json stands on the last byte before the value (the
    // `:`, `,`, `[` or a blank): the value starts one column further on.
    let column = if message.starts_with(ARRIVED) {
        column + 1
    } else if message.starts_with(MISSING) {
        column
    } else {
        return (1, 1); // not JSON: the parse error came first anyway
    };
    super::load::char_position(bytes, line, column)
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

/// Follows `rest`; always fails, with [`ARRIVED`] or [`MISSING`].
struct Seek<'a> {
    rest: &'a [Segment],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.rest.is_empty() {
            // Fail before serde_json reads the value, so it stands right before it.
            return Err(de::Error::custom(ARRIVED));
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or array on the path")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(want), rest)) = self.rest.split_first() else {
            return Err(de::Error::custom(MISSING));
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *want {
                return map.next_value_seed(Seek { rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom(MISSING))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(want), rest)) = self.rest.split_first() else {
            return Err(de::Error::custom(MISSING));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom(MISSING));
            }
        }
        match seq.next_element_seed(Seek { rest })? {
            Some(()) | None => Err(de::Error::custom(MISSING)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{\n  \"version\": 1,\n  \"meta\": {\"x\": \"a,}]\\\"b\"},\n  \"interactions\": [\n    {\"name\": \"ư\"},\n    {\"name\": \"b\", \"response\": {\"status\": 99}}\n  ]\n}\n";

    #[test]
    fn finds_nested_values_past_tricky_strings() {
        assert_eq!(locate(DOC.as_bytes(), "version"), (2, 14));
        assert_eq!(
            locate(DOC.as_bytes(), "interactions[1].response.status"),
            (6, 42)
        );
        assert_eq!(locate(DOC.as_bytes(), "interactions[0].name"), (5, 14));
        assert_eq!(locate(DOC.as_bytes(), "interactions[1]"), (6, 5));
    }

    #[test]
    fn missing_parts_point_at_the_end_of_the_deepest_existing_parent() {
        // `{"name": "b", "response": …}` closes at column 45 of line 6.
        assert_eq!(locate(DOC.as_bytes(), "interactions[1].request"), (6, 45));
        // The array closes on line 7.
        assert_eq!(locate(DOC.as_bytes(), "interactions[7]"), (7, 3));
    }

    #[test]
    fn not_json_is_one_one() {
        assert_eq!(locate(b"nope", "version"), (1, 1));
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
