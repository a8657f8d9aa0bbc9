//! Trial outcomes and what is made of them: one outcome file per trial under
//! `target/labcheck/results/<run id>/`, merged into a ticked checklist and a
//! score per lab, rendered as text, JSON, JUnit XML or Markdown.
//!
//! Outcome files are the unit of exchange: nextest runs each trial in its own
//! process and CI shards trials over machines, so the checklist is always
//! computed from files of one run id, never from memory alone.

pub mod checklist;
pub mod console;
pub mod json;
pub mod junit;
pub mod leftovers;
pub mod markdown;
pub mod outcome;

pub use checklist::{ItemVerdict, LabVerdict};
pub use leftovers::Leftover;
pub use outcome::{Outcome, ResultsDir, Status};
