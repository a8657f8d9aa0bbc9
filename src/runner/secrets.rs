//! Secrets never leave through results: in record and live modes a trial's
//! outcome (its failures, which quote the step's output) is scrubbed when it
//! is built, with the scrubber the trial's proxy gives its cassettes. Outcome
//! files, reports and the failure libtest prints are all made from that
//! outcome, so they are clean without scrubbing again.

use crate::report::leftovers::Leftover;
use std::path::Path;

use super::RunConfig;
use crate::cassette::scrub::Scrubber;
use crate::mode::Mode;

/// The scrubber for what a trial of the lab in `lab_dir` reports: none in
/// replay (only dummy credentials exist there); else the one its proxy used
/// (`from_endpoint`), or, when the proxy never started, the rules known
/// without it.
pub(super) fn trial_scrubber(
    config: &RunConfig,
    lab_dir: &Path,
    from_endpoint: Option<Scrubber>,
) -> Option<Scrubber> {
    match config.mode {
        Mode::Replay => None,
        Mode::Record | Mode::Live => Some(
            from_endpoint
                .unwrap_or_else(|| crate::record::fallback_scrubber(&config.proxy, lab_dir)),
        ),
    }
}

/// `failures` as an outcome may hold them.
pub(super) fn scrub_failures(scrubber: Option<&Scrubber>, failures: Vec<String>) -> Vec<String> {
    match scrubber {
        Some(s) => failures.iter().map(|f| s.text(f)).collect(),
        None => failures,
    }
}

/// `leftovers` as the results dir may hold them (resource names carry ARNs
/// with the account id).
pub(super) fn scrub_leftovers(
    scrubber: Option<&Scrubber>,
    leftovers: Vec<Leftover>,
) -> Vec<Leftover> {
    let Some(s) = scrubber else {
        return leftovers;
    };
    leftovers
        .into_iter()
        .map(|l| Leftover {
            resource: s.text(&l.resource),
            reason: s.text(&l.reason),
            ..l
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CredentialSource, Credentials};

    const KEY: &str = "AKIAUNITPLANTED00000";
    const TOKEN: &str = "unitPlantedTokenWithoutAKnownPrefix0123";

    fn config(mode: Mode) -> RunConfig {
        let mut config = RunConfig::new(
            Vec::new(),
            "results".into(),
            crate::clients::Clients::new("clients".into()),
        );
        config.mode = mode;
        config.proxy.credentials = CredentialSource::Static(Credentials::new(
            KEY,
            "unitPlantedSecret0000000000000000000000",
            Some(TOKEN.into()),
            None,
            "t",
        ));
        config
    }

    fn failure() -> Vec<String> {
        vec![format!(
            "stdout: denied for {KEY} ({TOKEN}) as arn:aws:iam::123456789012:role/x, course-7"
        )]
    }

    #[test]
    fn replay_keeps_failures_as_they_are() {
        let lab = tempfile::tempdir().expect("lab");
        let s = trial_scrubber(&config(Mode::Replay), lab.path(), None);
        assert!(s.is_none());
        assert_eq!(scrub_failures(s.as_ref(), failure()), failure());
    }

    #[test]
    fn without_a_proxy_the_given_credentials_and_the_labs_patterns_still_apply() {
        let lab = tempfile::tempdir().expect("lab");
        std::fs::write(
            lab.path().join("scrub.txt"),
            "# course ids\ncourse-[0-9]+\n",
        )
        .expect("scrub.txt");
        for mode in [Mode::Record, Mode::Live] {
            let s = trial_scrubber(&config(mode), lab.path(), None);
            assert_eq!(
                scrub_failures(s.as_ref(), failure()),
                [
                    "stdout: denied for AKIAXXXXXXXXXXXXXXXX (REDACTED) as arn:aws:iam::000000000000:role/x, REDACTED"
                ]
            );
        }
    }

    #[test]
    fn leftovers_are_scrubbed_in_name_and_reason() {
        let s = Scrubber::new(&["plantedSecretValue"], &[]).expect("scrubber");
        let left = Leftover {
            lab: "lab".into(),
            trial: "lab::s::boto3".into(),
            resource: "IAM role `r` of arn:aws:iam::123456789012:role/r".into(),
            reason: "DeleteRole: 409 DeleteConflict: plantedSecretValue".into(),
        };
        let out = scrub_leftovers(Some(&s), vec![left.clone()]);
        assert_eq!(
            out[0].resource,
            "IAM role `r` of arn:aws:iam::000000000000:role/r"
        );
        assert_eq!(out[0].reason, "DeleteRole: 409 DeleteConflict: REDACTED");
        assert_eq!(scrub_leftovers(None, vec![left.clone()]), [left]);
    }

    #[test]
    fn the_proxys_scrubber_is_used_when_there_is_one() {
        let lab = tempfile::tempdir().expect("lab");
        let proxy = Scrubber::new(&["denied"], &[]).expect("scrubber");
        let s = trial_scrubber(&config(Mode::Record), lab.path(), Some(proxy));
        let out = scrub_failures(s.as_ref(), failure());
        assert!(
            out[0].starts_with("stdout: REDACTED for AKIAXXXXXXXXXXXXXXXX"),
            "{out:?}"
        );
        // Not the fallback's rules: the configured token has no well-known
        // prefix and is not among this proxy's known secrets.
        assert!(out[0].contains(TOKEN), "{out:?}");
    }

    /// A miss quotes the request body; in record and live modes the outcome
    /// holding it is scrubbed like a cassette, and the wording is pinned.
    #[test]
    fn a_miss_shows_its_request_and_is_scrubbed() {
        let report = crate::expect::MissReport {
            operation: crate::ids::Operation::Converse,
            method: "POST".into(),
            model_id: "amazon.nova-lite-v1:0".into(),
            params: Default::default(),
            body: format!(
                r#"{{"messages":[{{"role":"user","content":[{{"text":"key {KEY}"}}]}}]}}"#
            ),
            nearest_file: None,
            nearest_interaction: None,
            differences: Vec::new(),
            diff: String::new(),
            message: "labcheck replay: no interaction in `labs/x/cassettes` matches Converse `amazon.nova-lite-v1:0`: the cassette set is empty (hint: fix the request, or re-record with `labcheck record`)".into(),
        };
        let failure = crate::expect::miss_failure(&report, Path::new("labs/x/cassettes"));
        let text = failure.to_string();
        assert!(text.contains(KEY), "{text}");
        let lab = tempfile::tempdir().expect("lab");
        let s = trial_scrubber(&config(Mode::Record), lab.path(), None);
        let out = scrub_failures(s.as_ref(), vec![text]);
        assert!(!out[0].contains(KEY), "{out:?}");
        insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            // The scrubber's placeholder is shown by name: an AKIA-shaped
            // literal in a committed snapshot reads like a leaked key.
            assert!(out[0].contains(crate::cassette::scrub::ACCESS_KEY), "{out:?}");
            let shown = out[0].replace(crate::cassette::scrub::ACCESS_KEY, "[SCRUBBED_ACCESS_KEY]");
            insta::assert_snapshot!("trial-miss-empty-set-scrubbed", shown);
        });
    }
}
