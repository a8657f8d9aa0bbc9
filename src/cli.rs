//! The `labcheck` command line: flags parsed with clap into typed commands.
//! Dispatch lives in `main.rs`; this file only says what a user may type.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use labcheck::settings::{
    parse_header_timeout, parse_max_connections, parse_percent, parse_run_id, parse_speed,
};

/// Turn Amazon Bedrock course labs into tests.
#[derive(Debug, Parser)]
#[command(name = "labcheck", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, one meaning in every command (`labcheck::exit_code`).
const EXIT_CODES: &str = "\
Exit codes (the same in every command):
  0    ok: everything selected ran and passed
  1    findings: lint errors, a grade below --fail-under, cassettes that drifted
  2    usage or configuration error: bad flag or env var, invalid lab.toml, missing path
  101  a trial failed or a checklist item stayed unticked (as a failing `cargo test`)";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run labs' steps with the real clients against the replay endpoint, then
    /// print each lab's ticked checklist.
    #[command(after_help = EXIT_CODES)]
    Run {
        /// Lab directories (each holds lab.toml); default: every lab under ./labs.
        labs: Vec<PathBuf>,
        /// Replay speed factor from 0 to 1000: 1 = recorded timing, 0 = no
        /// delays [default: `LABCHECK_SPEED`, else 1].
        #[arg(long, value_parser = parse_speed)]
        speed: Option<f64>,
        /// Where outcome files go (one subdirectory per run id).
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// Run the lab.toml against another version of its page (e.g. the original course page).
        #[arg(long)]
        page: Option<PathBuf>,
        /// libtest arguments after `--`: filters (any matches), `--exact`, `--skip`, `--test-threads N`, `--list`…
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// List the trials of labs, one `<lab>::<step>::<client>` per line.
    #[command(after_help = EXIT_CODES)]
    List { labs: Vec<PathBuf> },
    /// List every operation replay and record can serve, one `<service>
    /// <Operation>` per line, from the table generated from the Bedrock
    /// service models (plus routes served beside them).
    #[command(after_help = EXIT_CODES)]
    Operations,
    /// Serve a lab's cassettes as a local Bedrock endpoint (all four services) until Ctrl-C,
    /// to practise a lab offline.
    #[command(after_help = EXIT_CODES)]
    Serve {
        /// A lab directory (its cassettes/ is served) or a cassette directory.
        dir: PathBuf,
        /// Port on 127.0.0.1 (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Stream speed factor from 0 to 1000: 1 = recorded timing, 0 = no delays.
        #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
        speed: f64,
        /// Region printed in the set-up lines.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Seconds a client has to send a request's headers (also how long an
        /// idle connection is kept), from 0.1 to 600.
        #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_header_timeout)]
        header_timeout: std::time::Duration,
        /// Connections served at once (1 to 65536); more wait to be accepted.
        #[arg(long, value_name = "N", default_value = "256", value_parser = parse_max_connections)]
        max_connections: usize,
        /// Print one line per request to stderr as it is answered: operation,
        /// model, and the interaction that answered it or `miss` (coloured on
        /// a terminal unless NO_COLOR is set).
        #[arg(long)]
        log: bool,
    },
    /// Merge the outcome files of one run (e.g. nextest partitions) into checklists.
    #[command(after_help = EXIT_CODES)]
    Report {
        /// Run id [default: `LABCHECK_RUN_ID`, else the newest run under --results-dir].
        #[arg(long, value_parser = parse_run_id)]
        run_id: Option<String>,
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// Lab directories whose checklists to print; default: every lab under ./labs.
        labs: Vec<PathBuf>,
        /// text (checklists), json, junit (XML) or markdown (for `$GITHUB_STEP_SUMMARY`).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Grade a student's workspace: run the lab's steps with the student's own
    /// files, print the score and the ticked checklist.
    ///
    /// A low score is not a failure of the tool: 0 = graded (whatever the
    /// score) unless --fail-under says otherwise.
    #[command(after_help = EXIT_CODES)]
    Grade {
        /// The lab directory (holds lab.toml).
        lab: PathBuf,
        /// The student's workspace (copied; never modified).
        #[arg(long)]
        workspace: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Exit with 1 when the score is below this percentage (0 to 100) of the maximum.
        #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
        fail_under: Option<f64>,
        /// Replay speed factor from 0 to 1000 (streaming is judged on the
        /// recorded timing: keep 1).
        #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
        speed: f64,
    },
    /// Record a lab's cassettes from real Bedrock (or `LABCHECK_UPSTREAM`) through
    /// a re-signing, scrubbing proxy. `LABCHECK_RECORD=once|new_episodes|all`.
    #[command(after_help = EXIT_CODES)]
    Record {
        /// The lab directory.
        lab: PathBuf,
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// libtest arguments after `--`: filters (any matches), `--exact`, `--test-threads N`…
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Record a lab afresh into a scratch copy and print what changed against
    /// its committed cassettes (and which are older than its `max_age`).
    #[command(after_help = EXIT_CODES)]
    Drift {
        /// The lab directory.
        lab: PathBuf,
        #[arg(long, default_value = "target/labcheck/results")]
        results_dir: PathBuf,
        /// libtest arguments after `--`, e.g. filters.
        #[arg(last = true)]
        test_args: Vec<String>,
    },
    /// Static checks of labs: lab.toml, page commands, model ids, cassettes.
    /// Warnings alone exit 0; errors exit 1.
    #[command(after_help = EXIT_CODES)]
    Lint {
        /// Lab directories or bare pages (lab.md, a notebook .ipynb); default: every lab under ./labs.
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LintFormat::Text)]
        format: LintFormat,
        /// Model table whose rows add to (or override) the bundled data/models.toml.
        #[arg(long)]
        models: Option<PathBuf>,
        /// Today's date for age checks (YYYY-MM-DD) [default: `LABCHECK_TODAY`,
        /// else the system clock, UTC].
        #[arg(long)]
        today: Option<String>,
    },
    /// Write a first lab.toml from a lab's page (LAB_DIR/lab.md): one step per
    /// runnable code block, checklist items bound, every guess commented.
    #[command(after_help = EXIT_CODES)]
    New {
        /// The lab directory holding lab.md.
        lab: PathBuf,
        /// Replace an existing lab.toml.
        #[arg(long)]
        force: bool,
    },
    /// Run a lab's steps against a local endpoint that answers every request,
    /// and add cassette skeletons (the exact requests, placeholder answers
    /// marked `"source": "authored"`) for what its cassettes do not answer yet.
    #[command(after_help = EXIT_CODES)]
    Capture {
        /// The lab directory (holds lab.toml).
        lab: PathBuf,
    },
    /// Manage the provisioned clients (AWS CLI v1/v2, python + boto3).
    #[command(after_help = EXIT_CODES)]
    Clients {
        #[command(subcommand)]
        action: ClientsAction,
    },
    /// The bundled model table (data/models.toml).
    #[command(after_help = EXIT_CODES)]
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Compare the model table with Bedrock's ListFoundationModels (live mode
    /// and AWS credentials) or, without them, with an LLM gateway package's
    /// model data from PyPI; print what changed. Changes exit 1.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Regions to ask Bedrock in [default: every region the labs under
        /// ./labs use].
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Version of the gateway package (litellm) to download from PyPI
        /// [default: the newest].
        #[arg(long)]
        gateway_version: Option<String>,
        /// Read the gateway data from this file instead of PyPI (litellm's
        /// model_prices_and_context_window.json, or the committed fixture).
        #[arg(long)]
        gateway_file: Option<PathBuf>,
        /// Today's date for end-of-life dates (YYYY-MM-DD) [default:
        /// `LABCHECK_TODAY`, else the system clock, UTC].
        #[arg(long)]
        today: Option<String>,
    },
}

/// Output format of `report` and `grade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
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
