//! JUnit XML, the format CI systems and LMSs import: one `<testsuite>` per
//! lab, one `<testcase>` per trial (or per graded checklist item).
//!
//! Written by hand: the subset CI tools read (testsuites/testsuite/testcase,
//! failure, skipped, system-out) is a few elements, and escaping is all the
//! care it needs.

use std::fmt::Write as _;

use super::outcome::{Outcome, Status};

/// One test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub time_ms: u64,
    /// `Some((message, details))` when it failed.
    pub failure: Option<(String, String)>,
    /// `Some(reason)` when it was not run.
    pub skipped: Option<String>,
}

/// One suite (a lab).
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
    /// Printed in the suite's `<system-out>` (e.g. the ticked checklist).
    pub system_out: Option<String>,
}

/// The cases of one lab's outcomes, one per trial.
pub fn cases_of(outcomes: &[Outcome], lab: &str) -> Vec<Case> {
    outcomes
        .iter()
        .filter(|o| o.lab == lab)
        .map(|o| Case {
            classname: o.lab.clone(),
            name: o
                .trial
                .strip_prefix(&format!("{lab}::"))
                .unwrap_or(&o.trial)
                .to_string(),
            time_ms: o.duration_ms,
            failure: (o.status == Status::Failed).then(|| {
                let first = o
                    .failures
                    .first()
                    .and_then(|f| f.lines().next())
                    .unwrap_or("failed")
                    .to_string();
                (first, o.failures.join("\n"))
            }),
            skipped: None,
        })
        .collect()
}

/// `<testsuites name=…>` with every suite.
pub fn render(name: &str, suites: &[Suite]) -> String {
    let count = |f: &dyn Fn(&Case) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| f(c))
            .count()
    };
    let total_ms: u64 = suites
        .iter()
        .flat_map(|s| &s.cases)
        .map(|c| c.time_ms)
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
        escape(name),
        count(&|_| true),
        count(&|c| c.failure.is_some()),
        count(&|c| c.skipped.is_some()),
        secs(total_ms)
    );
    for suite in suites {
        let failures = suite.cases.iter().filter(|c| c.failure.is_some()).count();
        let skipped = suite.cases.iter().filter(|c| c.skipped.is_some()).count();
        let time: u64 = suite.cases.iter().map(|c| c.time_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
            escape(&suite.name),
            suite.cases.len(),
            secs(time)
        );
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                escape(&case.classname),
                escape(&case.name),
                secs(case.time_ms)
            );
            match (&case.failure, &case.skipped) {
                (Some((message, details)), _) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"labcheck\">{}</failure>\n    </testcase>",
                        escape(message),
                        escape(details)
                    );
                }
                (None, Some(reason)) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(reason)
                    );
                }
                (None, None) => out.push_str("/>\n"),
            }
        }
        if let Some(text) = &suite.system_out {
            let _ = writeln!(out, "    <system-out>{}</system-out>", escape(text));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// XML text/attribute escaping; control characters XML 1.0 forbids are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_escaped_and_counted() {
        let suite = Suite {
            name: "lab".into(),
            cases: vec![
                Case {
                    classname: "lab".into(),
                    name: "a::boto3".into(),
                    time_ms: 1500,
                    failure: Some(("stdout: expected \"<x>\"".into(), "a & b\u{1b}".into())),
                    skipped: None,
                },
                Case {
                    classname: "lab".into(),
                    name: "b::boto3".into(),
                    time_ms: 2,
                    failure: None,
                    skipped: None,
                },
            ],
            system_out: None,
        };
        let xml = render("labcheck", &[suite]);
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
        assert!(
            xml.contains("message=\"stdout: expected &quot;&lt;x&gt;&quot;\""),
            "{xml}"
        );
        assert!(xml.contains(">a &amp; b</failure>"), "{xml}");
        assert!(xml.contains("name=\"b::boto3\" time=\"0.002\"/>"), "{xml}");
    }
}
