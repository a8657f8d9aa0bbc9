//! The `labcheck` command line: flags parsed with clap into typed commands.
//! Dispatch lives in `main.rs`; this file only says what a user may type.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Turn Amazon Bedrock course labs into tests.
///
/// Exit codes: 0 = every selected trial passed and every judged checklist item
/// is ticked; 101 = a trial failed or a checklist item stayed unticked;
/// 2 = usage or configuration error (bad flag, invalid lab.toml, bad env var).
#[derive(Debug, Parser)]
#[command(name = "labcheck", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run labs' steps with the real clients against the replay endpoint, then
    /// print each lab's ticked checklist.
    Run {
        /// Lab directories (each holds lab.toml); default: every lab under ./labs.
        labs: Vec<PathBuf>,
        /// Replay speed factor: 1 = recorded timing, 0 = no delays.
        #[arg(long, env = "LABCHECK_SPEED", default_value_t = 1.0)]
        speed: f64,
        /// Where outcome files go (one subdirectory per run id).
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// Run the lab.toml against another version of its page (e.g. the original course page).
        #[arg(long)]
        page: Option<PathBuf>,
        /// libtest arguments after `--`: a filter, `--exact`, `--test-threads N`, `--list`…
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// List the trials of labs, one `<lab>::<step>::<client>` per line.
    List { labs: Vec<PathBuf> },
    /// Serve a lab's cassettes as a local Bedrock Runtime endpoint until Ctrl-C,
    /// to practise a lab offline.
    Serve {
        /// A lab directory (its cassettes/ is served) or a cassette directory.
        dir: PathBuf,
        /// Port on 127.0.0.1 (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Stream speed factor: 1 = recorded timing, 0 = no delays.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Region printed in the set-up lines.
        #[arg(long, default_value = "us-east-1")]
        region: String,
    },
    /// Merge the outcome files of one run (e.g. nextest partitions) into checklists.
    Report {
        /// Run id (default: the newest run under --results-dir).
        #[arg(long)]
        run_id: Option<String>,
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// Lab directories whose checklists to print; default: every lab under ./labs.
        labs: Vec<PathBuf>,
    },
    /// Static checks of labs: lab.toml, page commands, model ids, cassettes.
    /// Exit codes: 0 = no errors (warnings allowed); 1 = errors found; 2 = bad path or flag.
    Lint {
        /// Lab directories or bare lab.md pages; default: every lab under ./labs.
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
        /// Model table to use instead of the bundled data/models.toml.
        #[arg(long)]
        models: Option<PathBuf>,
        /// Today's date for age checks (YYYY-MM-DD; default: the system clock, UTC).
        #[arg(long, env = "LABCHECK_TODAY")]
        today: Option<String>,
    },
    /// Manage the provisioned clients (AWS CLI v1/v2, python + boto3).
    Clients {
        #[command(subcommand)]
        action: ClientsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientsAction {
    /// Install every client now (later runs work offline).
    Install,
    /// Print where clients are cached.
    Dir,
}

/// `labcheck lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    /// rustc-style diagnostics with snippets.
    Text,
    /// The versioned JSON report (docs/lint.md).
    Json,
}
