//! Hand-written `Deserialize` for the two "either" values of `lab.toml`
//! (`prompt`: string or code block; `proves` items: index or text). Untagged
//! serde enums would lose toml's spans and say only "did not match any
//! variant"; these visitors say what was expected.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::model::{BlockRef, CellRef, CellSelect, ChecklistRef, RawCells, TextOrBlock};

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

impl<'de> Deserialize<'de> for CellRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CellRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a cell number, a string, or `{ cell = \"<id>\" }` / `{ tag = \"<tag>\" }`",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CellRef, E> {
                usize::try_from(v)
                    .map(CellRef::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CellRef, E> {
                usize::try_from(v)
                    .map(CellRef::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CellRef, E> {
                Ok(CellRef::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<CellRef, A::Error> {
                CellSelect::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(CellRef::Select)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawCells {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCells;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all`, a range `3-12`, `3, 5, 7-9`, or a list of cell numbers, ranges and `{ cell = … }` / `{ tag = … }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCells, E> {
                Ok(RawCells::Text(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawCells, A::Error> {
                let mut out = Vec::new();
                while let Some(c) = seq.next_element::<CellRef>()? {
                    out.push(c);
                }
                Ok(RawCells::List(out))
            }
        }
        d.deserialize_any(V)
    }
}
