//! Pure parsers of single setting values, shared by environment variables and
//! the flags that mean the same (`--speed`, `--run-id`), with their bounds.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::netguard::Policy;

/// Largest replay speed factor. Recorded delays are multiplied by it; 1000
/// turns a one-second gap into about 17 minutes, beyond any use, and keeps
/// every scaled delay far from `Duration`/`Instant` overflow.
pub const MAX_SPEED: f64 = 1000.0;

/// Largest live token budget (`LABCHECK_MAX_TOKENS`): a billion tokens, far
/// beyond any course run, so sums of spent tokens cannot overflow.
pub const MAX_TOKENS_LIMIT: u64 = 1_000_000_000;
/// The largest `LABCHECK_MAX_SETUP_CALLS`.
pub const MAX_SETUP_CALLS_LIMIT: u64 = 1_000_000;

/// Bounds of `labcheck serve --header-timeout`, in seconds: below 0.1 s a
/// loaded machine would cut off honest clients; above 10 minutes a slow
/// client holds a connection for no purpose.
pub const HEADER_TIMEOUT_SECS: std::ops::RangeInclusive<f64> = 0.1..=600.0;

/// Largest `labcheck serve --max-connections`: beyond it the process's
/// descriptor limit, not this cap, would decide.
pub const MAX_CONNECTIONS_LIMIT: usize = 65_536;

/// Longest run id: it names a directory under the results dir.
const MAX_RUN_ID_LEN: usize = 128;

/// Why a value is not accepted, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (hint: {hint})")]
pub struct ValueError {
    pub problem: String,
    pub hint: String,
}

impl ValueError {
    pub fn new(problem: impl Into<String>, hint: impl Into<String>) -> ValueError {
        ValueError {
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

/// A replay speed factor: a finite number in `0..=`[`MAX_SPEED`]; 1 is the
/// recorded timing, 0 no delays.
pub fn parse_speed(value: &str) -> Result<f64, ValueError> {
    let hint = format!("a number from 0 to {MAX_SPEED}: 1 = recorded timing, 0 = no delays");
    let speed: f64 = value
        .trim()
        .parse()
        .map_err(|_| ValueError::new("not a number", hint.clone()))?;
    if !speed.is_finite() {
        return Err(ValueError::new("not a finite number", hint));
    }
    if !(0.0..=MAX_SPEED).contains(&speed) {
        return Err(ValueError::new(
            format!("out of range 0..={MAX_SPEED}"),
            hint,
        ));
    }
    // `-0` parses and is in range; keep the sign out of later arithmetic.
    Ok(speed.abs())
}

/// A header-read timeout in seconds (`labcheck serve --header-timeout`): a
/// finite number in [`HEADER_TIMEOUT_SECS`].
pub fn parse_header_timeout(value: &str) -> Result<std::time::Duration, ValueError> {
    let (lo, hi) = (HEADER_TIMEOUT_SECS.start(), HEADER_TIMEOUT_SECS.end());
    let hint = format!("seconds from {lo} to {hi}, e.g. `10`");
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| ValueError::new("not a number", hint.clone()))?;
    if !HEADER_TIMEOUT_SECS.contains(&secs) {
        return Err(ValueError::new(format!("out of range {lo}..={hi}"), hint));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A connection cap (`labcheck serve --max-connections`): a whole number in
/// `1..=`[`MAX_CONNECTIONS_LIMIT`].
pub fn parse_max_connections(value: &str) -> Result<usize, ValueError> {
    let hint = format!("a whole number from 1 to {MAX_CONNECTIONS_LIMIT}, e.g. `256`");
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONNECTIONS_LIMIT).contains(&n) => Ok(n),
        Ok(_) => Err(ValueError::new(
            format!("out of range 1..={MAX_CONNECTIONS_LIMIT}"),
            hint,
        )),
        Err(_) => Err(ValueError::new("not a whole number", hint)),
    }
}

/// A percentage (`--fail-under`): a finite number in `0..=100`.
pub fn parse_percent(value: &str) -> Result<f64, ValueError> {
    let hint = "a percentage from 0 to 100, e.g. `60`";
    match value.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p.abs()),
        Ok(_) => Err(ValueError::new("not between 0 and 100", hint)),
        Err(_) => Err(ValueError::new("not a number", hint)),
    }
}

/// A live token budget: a whole number in `0..=`[`MAX_TOKENS_LIMIT`].
pub fn parse_max_tokens(value: &str) -> Result<u64, ValueError> {
    let hint = format!("a whole number of tokens up to {MAX_TOKENS_LIMIT}, e.g. `20000`");
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| ValueError::new("not a whole number", hint.clone()))?;
    if n > MAX_TOKENS_LIMIT {
        return Err(ValueError::new(
            format!("more than {MAX_TOKENS_LIMIT} tokens"),
            hint,
        ));
    }
    Ok(n)
}

/// `LABCHECK_MAX_SETUP_CALLS`: a whole number of calls up to
/// [`MAX_SETUP_CALLS_LIMIT`].
pub fn parse_max_setup_calls(value: &str) -> Result<u64, ValueError> {
    let hint = format!("a whole number of calls up to {MAX_SETUP_CALLS_LIMIT}, e.g. `500`");
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| ValueError::new("not a whole number", hint.clone()))?;
    if n > MAX_SETUP_CALLS_LIMIT {
        return Err(ValueError::new(
            format!("more than {MAX_SETUP_CALLS_LIMIT} calls"),
            hint,
        ));
    }
    Ok(n)
}

/// A run id: it names a directory under the results dir, so only letters,
/// digits, `.`, `_` and `-`, not `.` or `..`, at most 128 characters.
pub fn parse_run_id(value: &str) -> Result<String, ValueError> {
    let hint = "letters, digits, `.`, `_` and `-` only, e.g. `ci-1234`";
    if value.is_empty() || value.len() > MAX_RUN_ID_LEN {
        return Err(ValueError::new(
            format!("must be 1 to {MAX_RUN_ID_LEN} characters"),
            hint,
        ));
    }
    if value == "." || value == ".." {
        return Err(ValueError::new("names a directory, not a run", hint));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(ValueError::new(format!("contains `{c}`"), hint));
    }
    Ok(value.to_string())
}

/// The network guard policy: `auto` (a namespace where permitted, plus the
/// refusing proxy) or `proxy` (the proxy alone).
pub fn parse_netguard(value: &str) -> Result<Policy, ValueError> {
    match value {
        "auto" => Ok(Policy::Auto),
        "proxy" => Ok(Policy::ProxyOnly),
        _ => Err(ValueError::new(
            "not a guard policy",
            "`auto` (namespace where permitted, plus proxy) or `proxy`",
        )),
    }
}

/// The sandbox policy: `auto` (the strongest guard the machine allows),
/// `landlock` (Landlock and rlimits only) or `none`.
pub fn parse_sandbox(value: &str) -> Result<crate::sandbox::Policy, ValueError> {
    use crate::sandbox::Policy as P;
    match value {
        "auto" => Ok(P::Auto),
        "landlock" => Ok(P::Landlock),
        "none" => Ok(P::Off),
        _ => Err(ValueError::new(
            "not a sandbox policy",
            "`auto` (namespaces where permitted), `landlock` or `none`",
        )),
    }
}

/// The clients cache: `explicit` (`LABCHECK_CLIENTS_DIR`), else
/// `$XDG_CACHE_HOME/labcheck/clients`, else `$HOME/.cache/labcheck/clients`
/// (a relative `XDG_CACHE_HOME` is ignored, per the XDG spec). Empty values
/// count as unset. `None` when none applies: provisioning then fails with a
/// hint, while runs that need no provisioned client still work.
pub fn clients_dir(
    explicit: Option<OsString>,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let non_empty = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty(explicit) {
        return Some(dir);
    }
    if let Some(xdg) = non_empty(xdg).filter(|p| p.is_absolute()) {
        return Some(xdg.join("labcheck").join("clients"));
    }
    non_empty(home).map(|h| h.join(".cache").join("labcheck").join("clients"))
}

/// A run id for a run nobody named: time and pid.
pub fn fresh_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("run-{secs}-{}", std::process::id())
}
