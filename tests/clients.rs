//! The clients module against the real cache: real pip installs on first run (the
//! default cache, so CI installs once), the wrappers beating other commands on PATH,
//! and the install slots' locking and repair in temporary directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, mpsc};

use labcheck::clients::{Clients, ClientsError, Provisioned, StderrProgress, slot};
use labcheck::ids::ClientId;

/// The default cache, as `labcheck` finds it from the environment.
fn default_clients() -> Clients {
    labcheck::settings::clients(&labcheck::settings::Vars::capture())
}

fn real(client: ClientId) -> Provisioned {
    default_clients()
        .ensure(client, &StderrProgress)
        .unwrap_or_else(|e| panic!("provisioning {client}: {e}"))
}

/// A directory of impostor `aws` and `python3` commands that print `IMPOSTOR`.
fn impostors() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for name in ["aws", "python3", "python"] {
        let p = dir.path().join(name);
        fs::write(&p, "#!/bin/sh\necho IMPOSTOR\nexit 3\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs `script` with `sh -c`, PATH = bin_dir, impostors, then the machine's PATH.
fn run_with_path(bin_dir: &Path, script: &str, env: &[(&str, &str)]) -> (String, String) {
    let fakes = impostors();
    let path = std::env::join_paths(
        [bin_dir.to_path_buf(), fakes.path().to_path_buf()]
            .into_iter()
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )
    .unwrap();
    let out = Command::new("sh")
        .args(["-c", script])
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "`{script}` failed: {stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn aws_cli_v1_is_the_venv_one_even_with_another_aws_on_path() {
    let v1 = real(ClientId::AwsCliV1);
    assert_eq!(names_in(&v1.bin_dir), ["aws"]);
    assert!(v1.bin_dir.starts_with(default_clients().root().unwrap()));
    // PYTHONVERBOSE makes python name every module file it loads: awscli must come
    // from the provisioned venv, not the machine's site-packages.
    let (stdout, stderr) = run_with_path(&v1.bin_dir, "aws --version", &[("PYTHONVERBOSE", "1")]);
    assert!(
        stdout.starts_with("aws-cli/1.45.11 ") || stderr.contains("aws-cli/1.45.11 "),
        "{stdout}"
    );
    assert!(stdout.contains("botocore/1.43.11"), "{stdout}");
    let venv = v1.bin_dir.parent().unwrap().join("venv");
    let loaded = stderr
        .lines()
        .find(|l| l.contains("awscli/__init__.py"))
        .expect("awscli imported");
    assert!(
        loaded.contains(&*venv.to_string_lossy()),
        "awscli loaded from elsewhere: {loaded}"
    );
}

#[test]
fn aws_cli_v2_is_the_pinned_bundle_even_with_another_aws_on_path() {
    let v2 = real(ClientId::AwsCliV2);
    assert_eq!(names_in(&v2.bin_dir), ["aws"]);
    assert_eq!(v2.version, "2.36.7");
    let (stdout, _) = run_with_path(&v2.bin_dir, "aws --version", &[]);
    assert!(stdout.starts_with("aws-cli/2.36.7 "), "{stdout}");
    // The real v2 parses commands: its error for raw JSON blobs is a v2-only behaviour.
    let (stdout, _) = run_with_path(
        &v2.bin_dir,
        "aws bedrock-runtime help | head -c 2000 || true",
        &[("PAGER", "cat")],
    );
    assert!(stdout.contains("invoke-model"), "{stdout}");
}

#[test]
fn boto3_python3_imports_the_pinned_boto3_and_ignores_pythonpath() {
    let boto3 = real(ClientId::Boto3);
    assert_eq!(
        names_in(&boto3.bin_dir),
        ["python3"],
        "no `python`: fresh Linux has none"
    );
    // A PYTHONPATH impostor boto3 must not stand in for the venv's.
    let poison = tempfile::tempdir().unwrap();
    fs::write(poison.path().join("boto3.py"), "__version__ = 'impostor'\n").unwrap();
    let script = "python3 -c 'import sys, boto3, botocore; print(boto3.__version__, botocore.__version__); print(sys.prefix)'";
    let (stdout, _) = run_with_path(
        &boto3.bin_dir,
        script,
        &[("PYTHONPATH", &poison.path().to_string_lossy())],
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("1.43.11 1.43.11"), "{stdout}");
    let prefix = PathBuf::from(lines.next().unwrap());
    assert!(
        prefix.starts_with(default_clients().root().unwrap()),
        "not the venv: {}",
        prefix.display()
    );
}

#[test]
fn concurrent_ensure_of_all_clients_agrees() {
    let barrier = Barrier::new(4);
    let results: Vec<Provisioned> = std::thread::scope(|s| {
        let handles: Vec<_> = [
            ClientId::AwsCliV1,
            ClientId::Boto3,
            ClientId::AwsCliV2,
            ClientId::Kernel,
        ]
        .into_iter()
        .map(|c| {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                real(c)
            })
        })
        .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // v1 and boto3 share one venv.
    assert_eq!(results[0].bin_dir.parent(), results[1].bin_dir.parent());
    assert_ne!(results[0].bin_dir, results[1].bin_dir);
    assert_eq!(default_clients().ensure_all(&StderrProgress).unwrap(), {
        let mut r = results.clone();
        r.sort_by_key(|p| p.client);
        r
    });
}

#[test]
fn missing_python_is_a_typed_error_with_a_hint() {
    let root = tempfile::tempdir().unwrap();
    let err = Clients::new(root.path().to_path_buf())
        .with_python("/nonexistent/python3")
        .ensure(ClientId::Boto3, &|_: &str| {})
        .unwrap_err();
    assert!(matches!(err, ClientsError::Python { .. }), "{err}");
    assert!(err.to_string().contains("LABCHECK_PYTHON"), "{err}");
    assert!(
        names_in(root.path()).iter().all(|n| !n.starts_with("venv")),
        "nothing half-made"
    );
}

#[test]
fn slot_waits_for_a_concurrent_install_and_builds_once() {
    let root = tempfile::tempdir().unwrap();
    let builds = AtomicUsize::new(0);
    let (building_tx, building_rx) = mpsc::channel::<()>();
    let (waiting_tx, waiting_rx) = mpsc::channel::<String>();
    let waiting_tx = std::sync::Mutex::new(waiting_tx);
    let waiting_rx = std::sync::Mutex::new(waiting_rx);
    let build = |tmp: &Path, _: &Path| {
        builds.fetch_add(1, Ordering::SeqCst);
        fs::write(tmp.join("payload"), "built").unwrap();
        Ok(())
    };
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            slot::ensure_slot(root.path(), "x", "test", &|_: &str| {}, |tmp, dir| {
                building_tx.send(()).unwrap();
                // Hold the lock until the second caller says it is waiting on it.
                let line = waiting_rx.lock().unwrap().recv().unwrap();
                assert!(line.contains("waiting for another labcheck"), "{line}");
                build(tmp, dir)
            })
        });
        building_rx.recv().unwrap();
        let second = s.spawn(|| {
            let progress = |line: &str| waiting_tx.lock().unwrap().send(line.to_string()).unwrap();
            slot::ensure_slot(root.path(), "x", "test", &progress, build)
        });
        let (a, b) = (
            first.join().unwrap().unwrap(),
            second.join().unwrap().unwrap(),
        );
        assert_eq!(a, b);
    });
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert_eq!(
        fs::read_to_string(root.path().join("x/payload")).unwrap(),
        "built"
    );
}

#[test]
fn slot_left_by_a_killed_install_is_rebuilt_not_trusted() {
    let root = tempfile::tempdir().unwrap();
    // What a killed install leaves: a temp dir, and a slot dir without the marker.
    fs::create_dir_all(root.path().join(".tmp-x-4242/venv")).unwrap();
    fs::create_dir_all(root.path().join("x")).unwrap();
    fs::write(root.path().join("x/half-written"), "").unwrap();
    let lines = std::sync::Mutex::new(Vec::new());
    let progress = |l: &str| lines.lock().unwrap().push(l.to_string());
    let dir = slot::ensure_slot(root.path(), "x", "test", &progress, |tmp, _| {
        fs::write(tmp.join("payload"), "fresh").map_err(|e| panic!("{e}"))
    })
    .unwrap();
    assert_eq!(names_in(&dir), [slot::MARKER, "payload"]);
    assert_eq!(names_in(root.path()), [slot::LOCK_FILE, "x"]);
    let lines = lines.into_inner().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("interrupted install")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("incomplete install")),
        "{lines:?}"
    );
}

#[test]
fn failed_build_leaves_nothing_and_the_next_call_retries() {
    let root = tempfile::tempdir().unwrap();
    let err = slot::ensure_slot(root.path(), "x", "test", &|_: &str| {}, |tmp, _| {
        fs::write(tmp.join("partial"), "").unwrap();
        Err(ClientsError::BadPackage {
            path: tmp.to_path_buf(),
            detail: "simulated".into(),
        })
    })
    .unwrap_err();
    assert!(err.to_string().contains("simulated"), "{err}");
    assert_eq!(names_in(root.path()), [slot::LOCK_FILE]);
    let dir = slot::ensure_slot(root.path(), "x", "test", &|_: &str| {}, |_, _| Ok(())).unwrap();
    assert!(slot::is_complete(&dir));
}
