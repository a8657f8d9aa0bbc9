//! The proposal written as `lab.toml`: the keys of `docs/lab-toml.md`, in
//! page order, a `guess:` comment on every value an author should confirm,
//! and a `skipped:` comment where a block was left out.

use std::fmt::Write as _;

use super::Draft;
use super::plan::{Kind, Origin, Proposal, Step};

/// A TOML basic string on one line (newlines escaped).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{ section = "…", index = N }`, or the block's text inline when its
/// section cannot be named (no heading above it, or an ambiguous one), with
/// the comment saying so.
fn source(draft: &Draft, block: usize) -> (Option<String>, String) {
    let b = &draft.blocks[block];
    match b.section.and_then(|s| draft.sections.get(s)) {
        Some(s) if s.unique => (
            None,
            format!("{{ section = {}, index = {} }}", q(&s.name), b.index),
        ),
        _ => (
            Some(format!(
                "# guess: the block at line {} has no unique heading above it, so its text is copied here\n",
                b.line
            )),
            format!("{{ command = {} }}", q(&b.text)),
        ),
    }
}

/// `key = <source>` with its comment above.
fn source_line(draft: &Draft, block: usize, out: &mut String, key: &str) {
    let (comment, value) = source(draft, block);
    out.push_str(comment.as_deref().unwrap_or(""));
    let _ = writeln!(out, "{key} = {value}");
}

fn block_label(draft: &Draft, block: usize) -> String {
    let b = &draft.blocks[block];
    let section = b
        .section
        .and_then(|s| draft.sections.get(s))
        .map_or("(no heading)".to_string(), |s| format!("`{}`", s.name));
    format!(
        "{section} block {} ({}, line {})",
        b.index,
        b.lang.as_deref().unwrap_or("no language"),
        b.line
    )
}

pub(crate) fn render(draft: &Draft, proposal: &Proposal) -> String {
    let mut out = String::new();
    out.push_str(
        "# Written by `labcheck new` from the page. Every `guess:` comment marks a value\n\
         # labcheck guessed: confirm or fix it, then delete the comment.\n\
         # Format: docs/lab-toml.md. Next: `labcheck capture <lab dir>` writes cassette\n\
         # skeletons for the calls these steps make (docs/authoring.md).\n\n[lab]\n",
    );
    match &draft.title {
        Some(_) if draft.notebook => out.push_str("# title: the notebook's first `#` heading\n"),
        Some(_) => out.push_str("# title: the page's front-matter `title`\n"),
        None => {
            let first = draft
                .sections
                .first()
                .map_or("Untitled lab", |s| s.name.as_str());
            out.push_str("# guess: the page has no front-matter title; its first heading\n");
            let _ = writeln!(out, "title = {}", q(first));
        }
    }
    let _ = writeln!(out, "page = {}", q(&draft.page_name));
    out.push_str("cassettes = \"cassettes\"\n");
    match &proposal.region {
        Some(r) => {
            out.push_str("# guess: the region the page's code names\n");
            let _ = writeln!(out, "region = {}", q(r));
        }
        None => out.push_str("# guess: the page names no region\nregion = \"us-east-1\"\n"),
    }
    out.push_str("timeout = \"60s\"\n");
    if !draft.checklist.is_empty() {
        let _ = writeln!(out, "\n# Checklist ({}):", draft.page_name);
        for (i, item) in draft.checklist.iter().enumerate() {
            let _ = writeln!(out, "#   {} {}", i + 1, item.text);
        }
    }
    // Steps and skipped blocks, in page order.
    let mut at = 0;
    for (i, step) in proposal.steps.iter().enumerate() {
        for s in proposal
            .skipped
            .iter()
            .filter(|s| s.block >= at && s.block < step.block)
        {
            let _ = writeln!(
                out,
                "\n# skipped: {}: {}",
                block_label(draft, s.block),
                s.reason
            );
        }
        at = step.block;
        out.push('\n');
        render_step(draft, step, &mut out);
        if i + 1 == proposal.steps.len() {
            for s in proposal.skipped.iter().filter(|s| s.block > step.block) {
                let _ = writeln!(
                    out,
                    "\n# skipped: {}: {}",
                    block_label(draft, s.block),
                    s.reason
                );
            }
        }
    }
    out
}

fn render_step(draft: &Draft, step: &Step, out: &mut String) {
    let _ = writeln!(out, "[[step]]\nid = {}", q(&step.id));
    let kind = match step.kind {
        Kind::Shell => "shell",
        Kind::Python { .. } => "python",
        Kind::Sdk { .. } => "sdk",
        Kind::Playground => "playground",
        Kind::Notebook { .. } => "notebook",
    };
    let _ = writeln!(out, "kind = \"{kind}\"");
    if step.proves.is_empty() {
        out.push_str("# guess: no checklist item seemed to be about this step\n");
    } else {
        for why in &step.proves_why {
            let _ = writeln!(out, "# guess: proves {why}");
        }
    }
    let proves: Vec<String> = step.proves.iter().map(usize::to_string).collect();
    let _ = writeln!(out, "proves = [{}]", proves.join(", "));
    let model_line = |out: &mut String| {
        if step.model_guessed {
            out.push_str(
                "# guess: no model id in this block; the one the page's code calls most\n",
            );
        }
        let model = step.model.as_deref().unwrap_or("us.amazon.nova-lite-v1:0");
        if step.model.is_none() {
            out.push_str("# guess: the page names no model id at all\n");
        }
        let _ = writeln!(out, "model = {}", q(model));
    };
    match &step.kind {
        Kind::Shell => {
            out.push_str(
                "# guess: a bash block calling `aws`: run with both AWS CLI major versions\n",
            );
            if step
                .operation
                .is_some_and(crate::ids::Operation::is_streaming)
            {
                out.push_str("# note: the AWS CLI has no streaming Bedrock commands: this step fails as the page stands (`labcheck lint` says what to write instead)\n");
            }
            out.push_str("clients = [\"aws-cli-v1\", \"aws-cli-v2\"]\n");
            source_line(draft, step.block, out, "program");
        }
        Kind::Python {
            file,
            file_guessed,
            run,
            boto3,
        } => {
            if !boto3 {
                out.push_str("# guess: this python block does not use boto3\n");
            }
            if *file_guessed {
                out.push_str("# guess: the page names no `.py` file before this block\n");
            }
            let (comment, from) = source(draft, step.block);
            out.push_str(comment.as_deref().unwrap_or(""));
            let _ = writeln!(out, "files = [{{ path = {}, from = {from} }}]", q(file));
            match run {
                Origin::Block(j) => source_line(draft, *j, out, "run"),
                Origin::Inline(cmd) => {
                    out.push_str("# guess: no block of the page runs the file\n");
                    let _ = writeln!(out, "run = {{ command = {} }}", q(cmd));
                }
            }
        }
        Kind::Sdk {
            call,
            call_guessed,
            body,
            prompt,
            guardrail,
        } => {
            if *call_guessed {
                out.push_str("# guess: no Bedrock Runtime call recognised in the Rust block\n");
            }
            let _ = writeln!(out, "call = \"{call}\"");
            // ApplyGuardrail calls no model.
            if *call != "apply-guardrail" {
                model_line(out);
            }
            match guardrail {
                Some((id, version)) => {
                    let _ = writeln!(
                        out,
                        "guardrail = {{ identifier = {}, version = {} }}",
                        q(id),
                        q(version)
                    );
                }
                None if *call == "apply-guardrail" => out.push_str(
                    "# guess: no `.guardrail_identifier(\"…\")` and `.guardrail_version(\"…\")` in the block: write the guardrail it applies\nguardrail = { identifier = \"…\", version = \"1\" }\n",
                ),
                None => {}
            }
            if call.starts_with("invoke") {
                match body {
                    Some(b) if !b.contains("'''") => {
                        let _ = writeln!(out, "body = '''{}'''", b.trim());
                    }
                    Some(b) => {
                        let _ = writeln!(out, "body = {}", q(b.trim()));
                    }
                    None => out.push_str(
                        "# guess: no JSON body found in the block: write the request body it sends\nbody = '{}'\n",
                    ),
                }
            } else {
                match prompt {
                    Some(p) => {
                        let _ = writeln!(out, "prompt = {}", q(p));
                    }
                    None => out.push_str(
                        "# guess: no `.text(\"…\")` found in the block: write the prompt it sends\nprompt = \"…\"\n",
                    ),
                }
            }
        }
        Kind::Notebook { last } => {
            out.push_str("# guess: the notebook's cells from the first through this section's last code cell, in one kernel (skip cells that need a console or a real account with `skip = [...]`)\n");
            let _ = writeln!(out, "cells = \"1-{last}\"");
        }
        Kind::Playground => {
            out.push_str("# guess: a prompt in a console section: emulated through Converse\n");
            model_line(out);
            source_line(draft, step.block, out, "prompt");
        }
    }
    out.push_str("[step.expect]\n");
    if matches!(step.kind, Kind::Shell | Kind::Python { .. }) {
        out.push_str("exit_code = 0\n");
    }
    if matches!(step.kind, Kind::Python { .. }) {
        out.push_str("stdout = { not_contains = [\"Traceback\"] }\n");
    }
    if let (Kind::Notebook { .. }, Some(op)) = (&step.kind, step.operation) {
        // The cells before this section call Bedrock too, in loops a page
        // does not count: the author writes the count.
        let _ = writeln!(
            out,
            "# guess: the cells call {op}; write how many calls cells 1 to this one make:\n# served = [{{ operation = \"{op}\", count = 1 }}]",
            op = op.as_str()
        );
    } else if let Some(op) = step.operation {
        out.push_str("# guess: the call the code makes\n");
        // ApplyGuardrail and the other services' calls name no model.
        match step.model.as_ref().filter(|_| op.has_model_id()) {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "served = [{{ operation = \"{}\", model = {} }}]",
                    op.as_str(),
                    q(m)
                );
            }
            None => {
                let _ = writeln!(out, "served = [{{ operation = \"{}\" }}]", op.as_str());
            }
        }
    }
}
