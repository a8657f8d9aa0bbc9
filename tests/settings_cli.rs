//! Settings at the binary's edge: every number a user gives is bounded, a bad
//! value exits 2 naming the flag or variable before anything runs, and the
//! exit codes are documented in `--help`.

use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;

fn labcheck() -> Command {
    let mut cmd = Command::cargo_bin("labcheck").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in labcheck::settings::VARS {
        if var.starts_with("LABCHECK_") {
            cmd.env_remove(var);
        }
    }
    cmd
}

const LAB: &str = "labs/4.1-invoke-fm-via-bedrock";

#[test]
fn a_huge_speed_flag_is_a_usage_error_naming_the_flag() {
    for cmd in [
        vec!["run", LAB, "--speed", "1e300"],
        vec!["grade", LAB, "--workspace", ".", "--speed", "1e300"],
        vec!["serve", LAB, "--speed", "1e300"],
    ] {
        labcheck()
            .args(&cmd)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("'1e300' for '--speed <SPEED>'"))
            .stderr(predicate::str::contains("out of range 0..=1000"))
            .stderr(predicate::str::contains("hint: a number from 0 to 1000"))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn serve_limits_out_of_bounds_are_usage_errors_naming_the_flag() {
    for (flag, value, bound) in [
        ("--header-timeout", "0", "out of range 0.1..=600"),
        ("--header-timeout", "1e300", "out of range 0.1..=600"),
        ("--max-connections", "0", "out of range 1..=65536"),
        (
            "--max-connections",
            "99999999999999999999",
            "not a whole number",
        ),
    ] {
        labcheck()
            .args(["serve", LAB, flag, value])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!("'{value}' for '{flag}")))
            .stderr(predicate::str::contains(bound))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn a_huge_speed_variable_is_a_usage_error_naming_the_variable() {
    labcheck()
        .args(["run", LAB])
        .env("LABCHECK_SPEED", "1e300")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value for env var `LABCHECK_SPEED`: `1e300`: out of range 0..=1000",
        ))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_fail_under_beyond_100_is_a_usage_error() {
    labcheck()
        .args(["grade", LAB, "--workspace", ".", "--fail-under", "150"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'--fail-under <PERCENT>'"))
        .stderr(predicate::str::contains("not between 0 and 100"));
}

#[test]
fn a_token_budget_that_would_overflow_is_refused() {
    labcheck()
        .args(["run", LAB])
        .env("LABCHECK_MAX_TOKENS", "18446744073709551615")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value for env var `LABCHECK_MAX_TOKENS`",
        ));
}

#[test]
fn a_run_id_that_would_leave_the_results_dir_is_refused() {
    labcheck()
        .args(["report", "--run-id", "../x", LAB])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("contains `/`"));
    labcheck()
        .args(["report", LAB])
        .env("LABCHECK_RUN_ID", "..")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`LABCHECK_RUN_ID`"));
}

#[test]
fn help_documents_every_exit_code() {
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["lint", "--help"],
    ] {
        let out = labcheck().args(&args).assert().success();
        let stdout = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
        for line in [
            "  0    ok",
            "  1    findings",
            "  2    usage or configuration error",
            "  101  a trial failed or a checklist item stayed unticked",
        ] {
            assert!(stdout.contains(line), "{args:?} lacks {line:?}:\n{stdout}");
        }
    }
}

#[test]
fn help_codes_match_the_library_constants() {
    use labcheck::exit_code::{FAILED, FINDINGS, OK, USAGE};
    assert_eq!((OK, FINDINGS, USAGE, FAILED), (0, 1, 2, 101));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 101 |"] {
        assert!(readme.contains(code), "README exit-code table lacks {code}");
    }
}
