use std::ffi::OsString;
use std::path::PathBuf;

use super::*;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::from_vars(&Vars::from_pairs(pairs.iter().copied()))
}

fn message(pairs: &[(&str, &str)]) -> String {
    settings(pairs).expect_err("refused").to_string()
}

#[test]
fn defaults_when_nothing_is_set() {
    let s = settings(&[]).expect("defaults");
    assert_eq!(s.mode, Mode::Replay);
    assert_eq!(s.speed, 1.0);
    assert_eq!(s.netguard, Policy::Auto);
    assert_eq!(s.proxy.record_mode, RecordMode::Once);
    assert_eq!(s.proxy.budget.max(), DEFAULT_MAX_TOKENS);
    assert!(s.run_id.starts_with("run-"), "{}", s.run_id);
    assert_eq!(s.run_id_given, None);
    assert!(!s.under_nextest);
    assert_eq!(s.target_dir, None);
}

#[test]
fn every_variable_is_taken() {
    let s = settings(&[
        ("LABCHECK_MODE", "record"),
        ("LABCHECK_SPEED", "0.5"),
        ("NEXTEST_RUN_ID", "nextest-1"),
        ("LABCHECK_UPSTREAM", "http://127.0.0.1:9"),
        ("LABCHECK_SETUP_UPSTREAM", "http://127.0.0.1:10"),
        ("LABCHECK_RECORD", "all"),
        ("LABCHECK_MAX_TOKENS", "500"),
        ("LABCHECK_MAX_SETUP_CALLS", "7"),
        ("LABCHECK_CLIENTS_DIR", "/c"),
        ("LABCHECK_NETGUARD", "proxy"),
        ("CARGO_TARGET_DIR", "/t"),
    ])
    .expect("valid");
    assert_eq!(s.mode, Mode::Record);
    assert_eq!(s.speed, 0.5);
    assert_eq!(s.run_id, "nextest-1");
    assert!(s.under_nextest);
    assert_eq!(s.proxy.upstream.as_deref(), Some("http://127.0.0.1:9"));
    assert_eq!(
        s.proxy.setup_upstream.as_deref(),
        Some("http://127.0.0.1:10")
    );
    assert_eq!(s.proxy.record_mode, RecordMode::All);
    assert_eq!(s.proxy.budget.max(), 500);
    assert_eq!(s.proxy.setup_calls.max(), 7);
    assert_eq!(s.clients.root().expect("root"), PathBuf::from("/c"));
    assert_eq!(s.netguard, Policy::ProxyOnly);
    assert_eq!(s.target_dir, Some(PathBuf::from("/t")));
    assert_eq!(
        s.cargo_results_dir(std::path::Path::new("/repo")),
        PathBuf::from("/t/labcheck/results")
    );
    assert_eq!(
        settings(&[])
            .expect("defaults")
            .cargo_results_dir(std::path::Path::new("/repo")),
        PathBuf::from("/repo/target/labcheck/results")
    );
}

#[test]
fn labcheck_run_id_wins_over_nextest() {
    let s = settings(&[("LABCHECK_RUN_ID", "ci-7"), ("NEXTEST_RUN_ID", "n")]).expect("valid");
    assert_eq!(s.run_id, "ci-7");
    assert_eq!(s.run_id_given.as_deref(), Some("ci-7"));
}

#[test]
fn huge_or_negative_speed_is_an_error_naming_the_variable() {
    for bad in ["1e300", "inf", "NaN", "-1", "1001", "fast"] {
        let e = message(&[("LABCHECK_SPEED", bad)]);
        assert!(
            e.starts_with(&format!(
                "invalid value for env var `LABCHECK_SPEED`: `{bad}`:"
            )),
            "{e}"
        );
        assert!(e.contains("hint: a number from 0 to 1000"), "{e}");
    }
    assert_eq!(parse_speed("1000"), Ok(1000.0));
    assert_eq!(parse_speed("0"), Ok(0.0));
    assert_eq!(parse_speed("-0"), Ok(0.0));
}

#[test]
fn token_budget_is_bounded() {
    let e = message(&[("LABCHECK_MAX_TOKENS", "18446744073709551615")]);
    assert!(e.contains("`LABCHECK_MAX_TOKENS`"), "{e}");
    assert!(e.contains("more than 1000000000 tokens"), "{e}");
    let e = message(&[("LABCHECK_MAX_TOKENS", "lots")]);
    assert!(e.contains("not a whole number"), "{e}");
}

#[test]
fn bad_enums_name_their_variable_and_the_choices() {
    let e = message(&[("LABCHECK_NETGUARD", "off")]);
    assert!(e.contains("`LABCHECK_NETGUARD`: `off`"), "{e}");
    assert!(e.contains("`auto`"), "{e}");
    let e = message(&[("LABCHECK_RECORD", "sometimes")]);
    assert!(e.contains("`LABCHECK_RECORD`"), "{e}");
    assert!(e.contains("`new_episodes`"), "{e}");
    let e = message(&[("LABCHECK_MODE", "live")]);
    assert!(e.contains("LABCHECK_LIVE=1"), "{e}");
}

#[test]
fn run_ids_cannot_leave_the_results_dir() {
    for bad in ["..", "a/b", "", "x y"] {
        assert!(parse_run_id(bad).is_err(), "{bad:?}");
    }
    let e = message(&[("LABCHECK_RUN_ID", "../etc")]);
    assert!(e.contains("contains `/`"), "{e}");
    assert_eq!(parse_run_id("ci-1.2_3"), Ok("ci-1.2_3".into()));
}

#[test]
fn non_utf8_values_are_errors_naming_the_variable() {
    use std::os::unix::ffi::OsStringExt;
    let mut vars = Vars::default();
    vars.values
        .insert("LABCHECK_MODE", OsString::from_vec(vec![0xff, b'x']));
    let e = Settings::from_vars(&vars).expect_err("refused").to_string();
    assert!(e.contains("`LABCHECK_MODE`"), "{e}");
    assert!(e.contains("not valid UTF-8"), "{e}");
}

#[test]
fn clients_dir_prefers_explicit_then_absolute_xdg_then_home() {
    let s = |v: &str| Some(OsString::from(v));
    assert_eq!(
        clients_dir(s("/c"), s("/x"), s("/h")),
        Some(PathBuf::from("/c"))
    );
    assert_eq!(
        clients_dir(None, s("/x"), s("/h")),
        Some(PathBuf::from("/x/labcheck/clients"))
    );
    assert_eq!(
        clients_dir(s(""), s("rel"), s("/h")),
        Some(PathBuf::from("/h/.cache/labcheck/clients"))
    );
    assert_eq!(clients_dir(None, None, None), None);
}

#[test]
fn unknown_names_are_not_captured() {
    let vars = Vars::from_pairs([("SOMETHING_ELSE", "1"), ("HOME", "/h")]);
    assert_eq!(vars.os("HOME"), Some(OsStr::new("/h")));
    assert_eq!(vars.values.len(), 1);
}

#[test]
fn serve_limits_are_bounded() {
    use std::time::Duration;
    assert_eq!(parse_header_timeout("10"), Ok(Duration::from_secs(10)));
    assert_eq!(
        parse_header_timeout(" 0.5 "),
        Ok(Duration::from_millis(500))
    );
    for bad in ["0", "0.05", "601", "1e300", "inf", "NaN", "-1", "ten"] {
        assert!(parse_header_timeout(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(parse_max_connections("1"), Ok(1));
    assert_eq!(parse_max_connections("65536"), Ok(MAX_CONNECTIONS_LIMIT));
    for bad in ["0", "65537", "-3", "1.5", ""] {
        assert!(parse_max_connections(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn the_bedrock_api_key_is_taken_for_recording_and_never_shown() {
    let planted = "ABSKplantedBedrockApiKeyForTheSettingsTest000";
    let vars = Vars::from_pairs([("AWS_BEARER_TOKEN_BEDROCK", planted)]);
    let s = Settings::from_vars(&vars).expect("valid");
    assert_eq!(
        s.proxy.bearer_token.as_ref().map(|t| t.expose()),
        Some(planted)
    );
    for shown in [format!("{vars:?}"), format!("{:?}", s.proxy)] {
        assert!(!shown.contains("planted"), "{shown}");
    }
    let empty = settings(&[("AWS_BEARER_TOKEN_BEDROCK", "  ")]).expect("valid");
    assert!(empty.proxy.bearer_token.is_none());
}
