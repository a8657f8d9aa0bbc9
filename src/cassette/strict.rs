//! Deserializers for the free-form parts of a cassette that are stricter than
//! serde_json's defaults: a JSON object that names a key twice is an error
//! (serde_json keeps the last one silently, so a hand-edited cassette could
//! replay something else than it shows), and a frame's `delay_ms` is bounded
//! so that replay's time arithmetic cannot overflow.
//!
//! Every check fails inside a visitor, while serde_json is still at the
//! offending token: the error then carries serde_json's own line and column.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The longest pause a recorded frame may ask for: 10 minutes. Real streams
/// pause for seconds; anything longer is a corrupt or hand-made value, and
/// bounding it keeps `Instant + delay / speed` far from overflow.
pub const MAX_DELAY_MS: u64 = 10 * 60 * 1000;

/// `delay_ms`: a whole number of milliseconds up to [`MAX_DELAY_MS`].
pub(crate) fn delay_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "u64 milliseconds, at most {MAX_DELAY_MS} (10 minutes)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            if v <= MAX_DELAY_MS {
                Ok(v)
            } else {
                Err(E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
    }
    d.deserialize_u64(V)
}

/// Any JSON value, refusing duplicate keys at any depth.
pub(crate) fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    UniqueValue.deserialize(d)
}

/// An optional JSON value (`null` or absent: `None`), refusing duplicate keys.
pub(crate) fn optional_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let v = UniqueValue.deserialize(d)?;
    Ok((!v.is_null()).then_some(v))
}

/// A header map: string names to string values, each name once.
pub(crate) fn headers<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of header names to string values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                if out.contains_key(&name) {
                    return Err(duplicate(&name));
                }
                let value: String = map.next_value()?;
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!(
        "duplicate key `{key}`, expected each key once per object"
    ))
}

/// Builds a [`Value`] like serde_json does, but fails on a repeated key.
struct UniqueValue;

impl<'de> DeserializeSeed<'de> for UniqueValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueValue {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        UniqueValue.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(UniqueValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(duplicate(&key));
            }
            let v = map.next_value_seed(UniqueValue)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        value(&mut de)
    }

    #[test]
    fn values_parse_like_serde_json() {
        let text = r#"{"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}}"#;
        let expected: Value = serde_json::from_str(text).expect("json");
        assert_eq!(parse(text).expect("unique"), expected);
    }

    #[test]
    fn duplicate_keys_fail_at_their_line() {
        let e = parse("{\n  \"a\": {\n    \"x\": 1,\n    \"x\": 2\n  }\n}").expect_err("dup");
        assert!(e.to_string().contains("duplicate key `x`"), "{e}");
        assert_eq!(e.line(), 4);
    }

    #[test]
    fn delay_is_bounded() {
        let ok = delay_ms(&mut serde_json::Deserializer::from_str("600000"));
        assert_eq!(ok.expect("at the bound"), MAX_DELAY_MS);
        let e = delay_ms(&mut serde_json::Deserializer::from_str(
            "\n  18446744073709551615",
        ))
        .expect_err("too long");
        assert!(e.to_string().contains("at most 600000"), "{e}");
        assert_eq!(e.line(), 2);
    }
}
