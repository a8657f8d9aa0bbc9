//! What a record or live run left behind in a real AWS account: resources
//! the run created that are still there after the cleanup, and resources the
//! cleanup could not delete. Written per run under the results directory
//! (`leftovers/*.json`, next to the outcome files) and shown by every report
//! format; no section at all when nothing is left.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::outcome::{ResultsDir, ResultsError, read_json_dir, write_json};

/// The results subdirectory holding leftover files.
pub const LEFTOVERS_DIR: &str = "leftovers";

/// One resource left in the account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Leftover {
    /// The lab id.
    pub lab: String,
    /// The trial (`<lab>::<step>::<client>`) whose run created it, or the
    /// lab id when the cleanup ran once for the lab.
    pub trial: String,
    /// What is left, as the cleanup or the pass-through names it
    /// (`S3 bucket `lc-1a2b3c-kb-lab-documents``).
    pub resource: String,
    /// Why it is still there.
    pub reason: String,
}

impl ResultsDir {
    /// Records what `name` (a trial or a lab) left behind; nothing is written
    /// when nothing is left. Atomic like [`ResultsDir::write`], so trials of
    /// one run finishing at once each keep their own file.
    pub fn write_leftovers(
        &self,
        name: &str,
        leftovers: &[Leftover],
    ) -> Result<Option<PathBuf>, ResultsError> {
        if leftovers.is_empty() {
            return Ok(None);
        }
        let dir = self.dir.join(LEFTOVERS_DIR);
        let path = write_json(&dir, &Self::file_name(name), leftovers)?;
        Ok(Some(path))
    }

    /// Every leftover of this run, sorted (lab, trial, resource); none when
    /// the run wrote no leftover file.
    pub fn read_leftovers(&self) -> Result<Vec<Leftover>, ResultsError> {
        let files: Vec<Vec<Leftover>> = read_json_dir(&self.dir.join(LEFTOVERS_DIR), true)?;
        let mut all: Vec<Leftover> = files.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        Ok(all)
    }
}

/// The leftovers of one lab.
pub fn of_lab<'a>(leftovers: &'a [Leftover], lab: &str) -> Vec<&'a Leftover> {
    leftovers.iter().filter(|l| l.lab == lab).collect()
}

/// The terminal and `--format text` section; empty when nothing is left.
pub fn render_text(leftovers: &[Leftover]) -> String {
    if leftovers.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "left behind in AWS: {} resource(s), delete them by hand:\n",
        leftovers.len()
    );
    for l in leftovers {
        let _ = writeln!(out, "  - {} ({}): {}", l.resource, l.trial, l.reason);
    }
    out
}

/// The Markdown section; empty when nothing is left.
pub fn render_markdown(leftovers: &[Leftover]) -> String {
    use super::markdown::cell;
    if leftovers.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### ⚠️ Left behind in AWS\n\n");
    out.push_str("| resource | trial | why |\n|---|---|---|\n");
    for l in leftovers {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} |",
            cell(&l.resource),
            cell(&l.trial),
            cell(&l.reason)
        );
    }
    out
}

/// A lab suite's JUnit `<system-err>`: one line per leftover of `lab`; none
/// when it left nothing.
pub fn junit_system_err(leftovers: &[Leftover], lab: &str) -> Option<String> {
    let mine = of_lab(leftovers, lab);
    if mine.is_empty() {
        return None;
    }
    let mut out = String::new();
    for l in mine {
        let _ = writeln!(
            out,
            "left behind: {} ({}): {}",
            l.resource, l.trial, l.reason
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(trial: &str, resource: &str) -> Leftover {
        Leftover {
            lab: "lab".into(),
            trial: trial.into(),
            resource: resource.into(),
            reason: "r".into(),
        }
    }

    fn sample() -> Vec<Leftover> {
        vec![
            Leftover {
                lab: "5.1-knowledge-base-setup".into(),
                trial: "5.1-knowledge-base-setup::cli-role::aws-cli-v2".into(),
                resource: "IAM role `KbLabBedrockRole`".into(),
                reason: "the cleanup could not delete it: DeleteRole: 409 DeleteConflict: Cannot delete entity, must remove roles from instance profile first.".into(),
            },
            Leftover {
                lab: "5.1-knowledge-base-setup".into(),
                trial: "5.1-knowledge-base-setup::python-upload::boto3".into(),
                resource: "S3 bucket `lc-3fa9c1-kb-lab-scratch|tmp`".into(),
                reason: "created by the run and still there after the cleanup: declare it in `[lab] resources` so the cleanup deletes it".into(),
            },
        ]
    }

    fn verdict() -> crate::report::LabVerdict {
        let item = crate::spec::lab::ChecklistItem {
            index: 1,
            text: "The bucket holds the documents".into(),
            line: 3,
            cell: None,
        };
        crate::report::LabVerdict::new("5.1-knowledge-base-setup", &[item], &[])
    }

    fn snap(name: &str, text: &str) {
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, text);
        });
    }

    /// Every report format with leftovers, and without: no section at all.
    #[test]
    fn every_format_shows_leftovers_and_none_shows_nothing() {
        use crate::report::{json, junit, markdown};
        let left = sample();
        let v = [verdict()];
        snap(
            "leftovers-markdown",
            &markdown::run_summary("r1", &v, &[], &left),
        );
        snap("leftovers-json", &json::render("r1", &v, &[], &left));
        let suite = junit::Suite {
            name: v[0].lab.clone(),
            cases: vec![],
            system_out: None,
            system_err: junit_system_err(&left, &v[0].lab),
        };
        snap(
            "leftovers-junit",
            &junit::render("labcheck run r1", &[suite]),
        );
        let root = tempfile::tempdir().expect("tempdir");
        let run = ResultsDir::new(root.path(), "r1");
        run.write_leftovers("5.1-knowledge-base-setup", &left)
            .expect("write");
        let end = crate::report::console::EndOfRun::new(std::iter::empty(), &[], &run.dir);
        snap(
            "leftovers-console",
            &end.text
                .replace(&run.dir.display().to_string(), "<results>"),
        );

        let markdown = markdown::run_summary("r1", &v, &[], &[]);
        snap("leftovers-markdown-none", &markdown);
        assert!(!markdown.contains("Left behind"));
        assert!(!json::render("r1", &v, &[], &[]).contains("left_behind"));
        assert_eq!(junit_system_err(&[], "5.1-knowledge-base-setup"), None);
        assert_eq!(junit_system_err(&left, "other-lab"), None);
        let empty = ResultsDir::new(root.path(), "r2");
        let end = crate::report::console::EndOfRun::new(std::iter::empty(), &[], &empty.dir);
        assert!(!end.text.contains("left behind"), "{}", end.text);
        assert_eq!(render_text(&[]), "");
    }

    #[test]
    fn leftovers_round_trip_next_to_outcomes_and_none_is_no_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let run = ResultsDir::new(root.path(), "r1");
        assert_eq!(run.read_leftovers().expect("none yet"), []);
        assert_eq!(run.write_leftovers("lab::a::boto3", &[]).expect("w"), None);
        assert!(!run.dir.join(LEFTOVERS_DIR).exists());
        run.write_leftovers("lab::b::boto3", &[one("lab::b::boto3", "y")])
            .expect("write");
        run.write_leftovers("lab::a::boto3", &[one("lab::a::boto3", "x")])
            .expect("write");
        let read = run.read_leftovers().expect("read");
        assert_eq!(read, [one("lab::a::boto3", "x"), one("lab::b::boto3", "y")]);
        // Outcome reading passes over the leftovers directory.
        assert_eq!(run.read_all().expect("outcomes"), []);
    }
}
