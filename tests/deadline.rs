//! A step's time limit holds for a whole trial, whatever the step does with
//! its output: a shell step that closes stdout and stderr and then sleeps far
//! past its limit fails at the limit with a time-limit failure, and no process
//! of its group survives the trial.

mod common;

use std::path::Path;
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

fn lab_toml(pid_file: &Path) -> String {
    // bash leads the step's process group: its pid ($$) is the group id.
    format!(
        r#"[lab]
title = "Deadline"

[[step]]
id = "hangs"
kind = "shell"
proves = [1]
clients = ["aws-cli-v2"]
timeout = "2s"
program = {{ command = "echo $$ > '{}'; exec >&- 2>&-; sleep 300" }}
"#,
        pid_file.display()
    )
}

/// Processes of group `pgid` still running (zombies are dead already).
fn live_members(pgid: i32) -> Vec<String> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // not a process, or it exited meanwhile
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parens.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
            && fields.first() != Some(&"Z")
        {
            live.push(stat);
        }
    }
    live
}

#[test]
fn a_step_that_closes_its_output_and_sleeps_ends_at_its_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("deadline");
    std::fs::create_dir_all(lab.join("cassettes")).expect("mkdir");
    let pid_file = tmp.path().join("group.pid");
    std::fs::write(lab.join("lab.md"), LAB_MD).expect("write lab.md");
    std::fs::write(lab.join("lab.toml"), lab_toml(&pid_file)).expect("write lab.toml");

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

    let pgid: i32 = std::fs::read_to_string(&pid_file)
        .expect("the step wrote its pid")
        .trim()
        .parse()
        .expect("a pid");
    // SIGKILL is sent at the limit; a process takes a moment to finish
    // exiting, so look again (bounded) before calling it a survivor.
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let live = live_members(pgid);
        if live.is_empty() {
            break;
        }
        assert!(
            Instant::now() < give_up,
            "processes of the step's group survived the trial: {live:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
