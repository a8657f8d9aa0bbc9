//! Every reference of a `lab.toml` into a page, checked at once: used when a
//! lab runs against another version of its page (`--page`, e.g. the original
//! course page), where the loader's first error would hide the others an
//! author has to fix or accept.

use std::path::Path;

use super::error::{Source, SpecError};
use super::model::TextOrBlock;
use super::resolve::Ctx;
use super::{LAB_FILE, parse};
use crate::content::LabPage;

/// The page references of `dir/lab.toml` (`program`, `run`, each file's
/// `from`, a `prompt` block, `proves`) that do not resolve in `page`, in
/// file order. Empty when the lab.toml cannot be read or parsed (the loader
/// reports that) or every reference resolves.
pub fn broken_references(dir: &Path, page: &Path) -> Vec<SpecError> {
    let file = dir.join(LAB_FILE);
    let (Ok(text), Ok(page)) = (std::fs::read_to_string(&file), LabPage::read(page)) else {
        return Vec::new();
    };
    let src = Source::new(&file, &text);
    let Ok(raw) = parse::parse(&src) else {
        return Vec::new();
    };
    let ctx = Ctx { src, page: &page };
    let mut out = Vec::new();
    for step in &raw.step {
        let s = step.get_ref();
        for r in &s.proves {
            out.extend(ctx.checklist_ref(r).err());
        }
        if let Some(p) = &s.program {
            out.extend(ctx.source("program", p).err());
        }
        if let Some(files) = &s.files {
            for f in files.get_ref() {
                out.extend(ctx.source("from", &f.from).err());
            }
        }
        if let Some(r) = &s.run {
            out.extend(ctx.source("run", r).err());
        }
        if let Some(p) = &s.prompt
            && matches!(p.get_ref(), TextOrBlock::Block(_))
        {
            out.extend(ctx.text_or_block(p).err());
        }
    }
    out
}
