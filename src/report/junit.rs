//! JUnit XML, the format CI systems and LMSs import: one `<testsuite>` per
//! lab, one `<testcase>` per trial (or per graded checklist item).
//!
//! Serialized by `quick-junit` (what nextest writes its JUnit with): it owns
//! the XML escaping, drops characters XML cannot carry (ANSI escapes, other
//! controls) and counts tests, failures and skips per suite.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

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
    /// Printed in the suite's `<system-err>`: what a record or live run left
    /// in the account ([`super::leftovers::junit_system_err`]).
    pub system_err: Option<String>,
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
    let mut report = Report::new(name);
    let mut total = Duration::ZERO;
    for suite in suites {
        let mut ts = TestSuite::new(suite.name.as_str());
        let mut time = Duration::ZERO;
        for case in &suite.cases {
            let status = match (&case.failure, &case.skipped) {
                (Some((message, details)), _) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(message.as_str())
                        .set_type("labcheck")
                        .set_description(details.as_str());
                    s
                }
                (None, Some(reason)) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.as_str());
                    s
                }
                (None, None) => TestCaseStatus::success(),
            };
            let mut tc = TestCase::new(case.name.as_str(), status);
            let case_time = Duration::from_millis(case.time_ms);
            tc.set_classname(case.classname.as_str())
                .set_time(case_time);
            time += case_time;
            ts.add_test_case(tc);
        }
        ts.set_time(time);
        if let Some(text) = &suite.system_out {
            ts.set_system_out(text.as_str());
        }
        if let Some(text) = &suite.system_err {
            ts.set_system_err(text.as_str());
        }
        total += time;
        report.add_test_suite(ts);
    }
    report.set_time(total);
    let mut xml = report
        .to_string()
        .expect("serializing a JUnit report into memory cannot fail");
    if !xml.ends_with('\n') {
        xml.push('\n');
    }
    xml
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
            system_err: None,
        };
        let xml = render("labcheck", &[suite]);
        assert!(
            xml.contains("tests=\"2\" skipped=\"0\" failures=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("message=\"stdout: expected &quot;&lt;x&gt;&quot;\""),
            "{xml}"
        );
        assert!(xml.contains(">a &amp; b</failure>"), "{xml}");
        assert!(
            xml.contains("name=\"b::boto3\" classname=\"lab\" time=\"0.002\"/>"),
            "{xml}"
        );
    }

    /// The whole document, pinned: names and classnames stay what CI
    /// dashboards already track (`<lab>` / `<step>::<client>`).
    #[test]
    fn document_shape() {
        let suite = Suite {
            name: "4.1-invoke-fm-via-bedrock".into(),
            cases: vec![
                Case {
                    classname: "4.1-invoke-fm-via-bedrock".into(),
                    name: "cli-invoke::aws-cli-v2".into(),
                    time_ms: 1234,
                    failure: None,
                    skipped: None,
                },
                Case {
                    classname: "4.1-invoke-fm-via-bedrock".into(),
                    name: "sdk-converse::rust-sdk".into(),
                    time_ms: 20,
                    failure: Some((
                        "stdout: missing `RAG`".into(),
                        "stdout: missing `RAG`\nmore".into(),
                    )),
                    skipped: None,
                },
                Case {
                    classname: "4.1-invoke-fm-via-bedrock".into(),
                    name: "3. Python script".into(),
                    time_ms: 0,
                    failure: None,
                    skipped: Some("not graded".into()),
                },
            ],
            system_out: Some("score 1/3\n".into()),
            system_err: None,
        };
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!("junit-report", render("labcheck run r1", &[suite]));
        });
    }
}
