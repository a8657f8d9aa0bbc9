//! The exit codes of every `labcheck` command and of `cargo test --test labs`,
//! one meaning each in every command (as nextest's `exit_codes.rs`). `--help`
//! and the README's table say the same.

use std::process::ExitCode;

/// Everything selected ran and passed; nothing to report.
pub const OK: u8 = 0;

/// The command worked and found something: lint errors, a grade below
/// `--fail-under`, cassettes that drifted from a fresh recording.
pub const FINDINGS: u8 = 1;

/// Usage or configuration error: a bad flag or environment variable, an
/// invalid `lab.toml` or page, a missing path. Also what clap exits with.
pub const USAGE: u8 = 2;

/// A trial failed or a judged checklist item stayed unticked (as a failing
/// `cargo test`).
pub const FAILED: u8 = 101;

/// `code` as the process's [`ExitCode`].
pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
