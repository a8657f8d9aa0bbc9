//! Hand-written `Deserialize` for the two "either" values of `lab.toml`
//! (`prompt`: string or code block; `proves` items: index or text). Untagged
//! serde enums would lose toml's spans and say only "did not match any
//! variant"; these visitors say what was expected.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::model::{BlockRef, ChecklistRef, TextOrBlock};

impl<'de> Deserialize<'de> for TextOrBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextOrBlock;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a code block reference `{ section = \"…\", index = 0 }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextOrBlock, E> {
                Ok(TextOrBlock::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TextOrBlock, A::Error> {
                BlockRef::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(TextOrBlock::Block)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ChecklistRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ChecklistRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 1-based checklist index or the item's exact text")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ChecklistRef, E> {
                Ok(ChecklistRef::Index(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ChecklistRef, E> {
                u64::try_from(v)
                    .map(ChecklistRef::Index)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ChecklistRef, E> {
                Ok(ChecklistRef::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}
