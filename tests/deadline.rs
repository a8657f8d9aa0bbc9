//! A step's time limit holds for a whole trial, whatever the step does with
//! its output: a shell step that closes stdout and stderr and then sleeps far
//! past its limit fails at the limit with a time-limit failure, and no process
//! it started survives the trial.

mod common;

use std::time::{Duration, Instant};

use labcheck::report::Status;

const LAB_MD: &str = "---
title: \"Deadline\"
---

## Step one

```bash
echo hi
```

## Verification

- [ ] The step ends at its limit
";

fn lab_toml(marker: &str) -> String {
    // The step's processes live in the sandbox, where a pid is namespace-local
    // and nothing outside the workspace can be written: the sleeping process
    // carries a unique marker in its argv instead, which the host's /proc shows.
    format!(
        r#"[lab]
title = "Deadline"

[[step]]
id = "hangs"
kind = "shell"
proves = [1]
clients = ["aws-cli-v2"]
timeout = "2s"
program = {{ command = "exec >&- 2>&-; bash -c 'exec -a {marker} sleep 300'" }}
"#
    )
}

#[test]
fn a_step_that_closes_its_output_and_sleeps_ends_at_its_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("deadline");
    std::fs::create_dir_all(lab.join("cassettes")).expect("mkdir");
    let marker = format!(
        "labcheck-deadline-{}-{}",
        std::process::id(),
        tmp.path().display()
    );
    let marker = marker.replace('/', "_");
    std::fs::write(lab.join("lab.md"), LAB_MD).expect("write lab.md");
    std::fs::write(lab.join("lab.toml"), lab_toml(&marker)).expect("write lab.toml");

    let started = Instant::now();
    let outcomes = common::run(&common::config(&lab, &tmp.path().join("results")), "hangs");
    let took = started.elapsed();

    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let outcome = &outcomes[0];
    assert_eq!(outcome.status, Status::Failed);
    let failures = common::failures(outcome);
    assert!(failures.contains("time limit"), "{failures}");
    assert!(
        outcome.duration_ms >= 2000,
        "ended before its limit: {outcome:?}"
    );
    // Generous: only a trial that waits for `sleep 300` comes near it.
    assert!(took < Duration::from_secs(60), "took {took:?}");

    // SIGKILL is sent at the limit; a process takes a moment to finish
    // exiting, so look again (bounded) before calling it a survivor.
    common::assert_no_process_with(&marker, "processes of the step survived the trial");
}
