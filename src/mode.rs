//! The run mode, chosen by one env var (`LABCHECK_MODE`, read once by
//! [`crate::settings`]): `replay` (default, offline), `record`, `live` (with `LABCHECK_LIVE=1`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Offline: every trial talks to a local server replaying cassettes.
    #[default]
    Replay,
    /// A re-signing proxy in front of real Bedrock writes cassettes.
    Record,
    /// Real Bedrock through a metering proxy; needs `LABCHECK_LIVE=1`.
    Live,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModeError {
    #[error(
        "invalid value for env var `LABCHECK_MODE`: `{0}` (hint: one of `replay`, `record`, `live`)"
    )]
    Invalid(String),
    #[error(
        "`LABCHECK_MODE=live` calls real Amazon Bedrock and spends tokens, so it needs an explicit opt-in (hint: set `LABCHECK_LIVE=1`, and a budget with `LABCHECK_MAX_TOKENS`)"
    )]
    LiveNotEnabled,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Replay => "replay",
            Mode::Record => "record",
            Mode::Live => "live",
        })
    }
}

impl Mode {
    /// Parses a `LABCHECK_MODE` value (empty = default).
    pub fn parse(value: &str) -> Result<Mode, ModeError> {
        match value {
            "" | "replay" => Ok(Mode::Replay),
            "record" => Ok(Mode::Record),
            "live" => Ok(Mode::Live),
            other => Err(ModeError::Invalid(other.to_string())),
        }
    }

    /// The mode a run uses, from the values of `LABCHECK_MODE` and
    /// `LABCHECK_LIVE` (read by [`crate::settings`]); `live` also needs
    /// `LABCHECK_LIVE=1`, else it is refused rather than silently replayed.
    pub fn resolve(mode: &str, live: &str) -> Result<Mode, ModeError> {
        match Mode::parse(mode)? {
            Mode::Live if live != "1" => Err(ModeError::LiveNotEnabled),
            m => Ok(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(Mode::parse(""), Ok(Mode::Replay));
        assert_eq!(Mode::parse("record"), Ok(Mode::Record));
        assert_eq!(
            Mode::parse("Replay").expect_err("case matters").to_string(),
            "invalid value for env var `LABCHECK_MODE`: `Replay` (hint: one of `replay`, `record`, `live`)"
        );
    }

    #[test]
    fn live_needs_the_opt_in_and_says_which_variable() {
        assert_eq!(Mode::resolve("record", ""), Ok(Mode::Record));
        assert_eq!(Mode::resolve("live", "1"), Ok(Mode::Live));
        for no in ["", "0", "yes"] {
            let e = Mode::resolve("live", no).expect_err("refused");
            assert!(e.to_string().contains("LABCHECK_LIVE=1"), "{e}");
        }
    }
}
