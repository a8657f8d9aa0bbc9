//! labcheck turns hands-on Amazon Bedrock course labs into tests.
//!
//! A lab is a directory `labs/<id>/` holding the student page (`lab.md`), a
//! declarative description of what each step must show (`lab.toml`) and the
//! recorded Bedrock answers the steps are replayed against (`cassettes/`).
//! labcheck runs every step with the real client the page names (AWS CLI v1
//! and v2, python + boto3, the Rust SDK) against a local replay endpoint, and
//! ticks off the page's verification checklist.
//!
//! Modules, one concept each (dependencies and their direction:
//! `docs/architecture.md`):
//! - [`settings`]: environment variables into typed, bounded settings, read once;
//! - [`exit_code`]: the exit codes, one meaning in every command;
//! - [`spec`]: `lab.toml` into a validated [`spec::Lab`];
//! - [`content`]: `lab.md` read into headings, code blocks and checklist items;
//! - [`cassette`]: the fixture format, loading and request matching;
//! - [`plan`]: labs into trials and their names;
//! - [`replay`]: the local Bedrock Runtime impersonator;
//! - [`record`]: record and live modes (re-signing proxy, scrubbing, budget, drift);
//! - [`endpoint`]: a trial's endpoint, by mode;
//! - [`clients`]: provisioning the real clients at pinned versions;
//! - [`steps`]: running one step with one client;
//! - [`expect`]: checking what a step showed;
//! - [`report`]: outcomes, the ticked checklist, report formats and what a run prints;
//! - [`runner`]: executing the plan's trials under libtest-mimic;
//! - [`sandbox`]: namespaces, uid, rlimits or Landlock around every step process;
//! - [`schedule`]: trial order (longest first) and the default thread count;
//! - [`netguard`]: no network but the trial endpoint for step processes;
//! - [`copy`]: the one directory copy and its symlink rule;
//! - [`grade`]: a student's workspace graded against a lab;
//! - [`lint`]: static checks of pages, `lab.toml` and cassettes;
//! - [`http`]: the HTTP layer replay, record and the test upstream share
//!   (server thread, operation table, request extractor, Bedrock errors);
//! - [`ids`], [`mode`]: validated ids and the run mode.
//!
//! Feature `test-support` adds test-only servers (`record::verify`); the
//! crate's own tests enable it through a dev-dependency on itself.
#![deny(clippy::unwrap_used)]

pub mod cassette;
pub mod clients;
pub mod content;
pub mod copy;
pub mod diagnostic;
pub mod endpoint;
pub mod exit_code;
pub mod expect;
pub mod grade;
pub mod http;
pub mod ids;
pub mod ipynb;
pub mod lint;
pub mod mode;
pub mod netguard;
pub mod plan;
pub mod record;
pub mod replay;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod schedule;
pub mod settings;
pub mod spec;
pub mod steps;
