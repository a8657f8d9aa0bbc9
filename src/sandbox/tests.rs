use super::*;

#[test]
fn guards_name_themselves_as_reports_show_them() {
    assert_eq!(
        Guard::NsRoot { uid: 65534 }.to_string(),
        "namespaces+uid 65534"
    );
    assert_eq!(Guard::Landlock.to_string(), "landlock+rlimits");
    assert_eq!(Guard::None.to_string(), "none");
}

#[test]
fn off_means_no_sandbox_and_only_namespaces_own_the_tree() {
    assert_eq!(Guard::choose(Policy::Off), Guard::None);
    assert!(Guard::NsRoot { uid: 1 }.owns_the_tree());
    assert!(Guard::NsUser.owns_the_tree());
    assert!(!Guard::Landlock.owns_the_tree());
    assert_eq!(Guard::Landlock.fallback(), None);
    assert_eq!(Guard::None.fallback(), None);
    assert_eq!(tmp_dir(Path::new("/w")), PathBuf::from("/w/.tmp"));
}
