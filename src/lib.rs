//! labcheck turns hands-on Amazon Bedrock course labs into tests.
//!
//! A lab is a directory `labs/<id>/` holding the student page (`lab.md`), a
//! declarative description of what each step must show (`lab.toml`) and the
//! recorded Bedrock answers the steps are replayed against (`cassettes/`).
//! labcheck runs every step with the real client the page names (AWS CLI v1
//! and v2, python + boto3, the Rust SDK) against a local replay endpoint, and
//! ticks off the page's verification checklist.
//!
//! Modules, one concept each:
//! - [`spec`]: `lab.toml` into a validated [`spec::Lab`];
//! - [`content`]: `lab.md` read into headings, code blocks and checklist items;
//! - [`cassette`]: the fixture format, loading and request matching;
//! - [`replay`]: the local Bedrock Runtime impersonator;
//! - [`record`]: record and live modes (re-signing proxy, scrubbing, budget, drift);
//! - [`clients`]: provisioning the real clients at pinned versions;
//! - [`steps`]: running one step with one client;
//! - [`expect`]: checking what a step showed;
//! - [`report`]: outcomes, the ticked checklist and report formats;
//! - [`runner`]: labs × steps × clients as libtest-mimic trials;
//! - [`schedule`]: trial order (longest first) and the default thread count;
//! - [`netguard`]: no network but the trial endpoint for step processes;
//! - [`grade`]: a student's workspace graded against a lab.
//! - [`lint`]: static checks of pages, `lab.toml` and cassettes.
#![deny(clippy::unwrap_used)]

pub mod cassette;
pub mod clients;
pub mod content;
pub mod endpoint;
pub mod expect;
pub mod grade;
pub mod ids;
pub mod lint;
pub mod mode;
pub mod netguard;
pub mod record;
pub mod replay;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod spec;
pub mod steps;
