//! The environment a step's child process sees.
//!
//! A trial must never reach real AWS or read the user's `~/.aws`, and must run
//! the provisioned client rather than whatever `aws` or `python3` is first on
//! the user's PATH. So the child starts from an empty environment and gets only
//! what a fresh Linux shell pointed at the replay endpoint would have.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Dummy credentials in the format of AWS's documentation examples. They sign
/// requests the replay server accepts without verifying.
pub const DUMMY_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const DUMMY_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// A dummy Bedrock API key for the `openai` client (`OPENAI_API_KEY`): replay
/// and the recording proxy accept any bearer token; the proxy replaces it
/// with the author's `AWS_BEARER_TOKEN_BEDROCK` when recording.
pub const DUMMY_OPENAI_API_KEY: &str = "labcheck-dummy-bedrock-api-key";

/// Where Bedrock's OpenAI-compatible API sits below a runtime endpoint.
pub const OPENAI_BASE_PATH: &str = "/openai/v1";

/// System directories a fresh Debian shell has on PATH after the client's own.
/// `/usr/local/bin` is left out on purpose: that is where stray global installs
/// (an `aws` from the official installer, a `python` shim) live.
const SYSTEM_PATH: &[&str] = &["/usr/bin", "/bin"];

/// Where a trial's child process runs and what it may see.
#[derive(Debug, Clone)]
pub struct ChildEnv {
    /// The trial's workspace: the child's working directory.
    pub workspace: PathBuf,
    /// The replay (or recording proxy) endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub region: String,
    /// The provisioned client's bin dir, first on PATH.
    pub client_bin: Option<PathBuf>,
    /// The network guard: proxy variables and, where permitted, a namespace.
    pub guard: Option<crate::netguard::ChildGuard>,
    /// Where the setup services (S3, IAM, STS, …) are, for an unguarded
    /// child: the re-signing pass-through of record and live modes. A
    /// guarded child reaches moto through the guard (`guard.services`).
    pub services: Option<String>,
    /// The sandbox the child runs in ([`crate::sandbox`]).
    pub sandbox: crate::sandbox::Guard,
    /// Trees outside the system directories the sandboxed child must read:
    /// the provisioned clients and the python their venv was built from.
    pub read_only: Vec<PathBuf>,
}

impl ChildEnv {
    /// The full environment for the child, as (name, value) pairs; the caller
    /// clears the inherited environment first.
    pub fn vars(&self) -> Vec<(String, OsString)> {
        let home = self.workspace.join(".home");
        let aws_dir = home.join(".aws");
        let mut path_dirs: Vec<PathBuf> = self.client_bin.iter().cloned().collect();
        path_dirs.extend(SYSTEM_PATH.iter().map(PathBuf::from));
        let path =
            std::env::join_paths(&path_dirs).unwrap_or_else(|_| OsString::from("/usr/bin:/bin"));
        let s = |v: &str| OsString::from(v);
        let p = |v: &Path| v.as_os_str().to_owned();
        let mut vars: Vec<(String, OsString)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), p(&home)),
            ("LANG".into(), s("C.UTF-8")),
            ("LC_ALL".into(), s("C.UTF-8")),
            ("TERM".into(), s("dumb")),
            ("AWS_REGION".into(), s(&self.region)),
            ("AWS_DEFAULT_REGION".into(), s(&self.region)),
            ("AWS_ACCESS_KEY_ID".into(), s(DUMMY_ACCESS_KEY_ID)),
            ("AWS_SECRET_ACCESS_KEY".into(), s(DUMMY_SECRET_ACCESS_KEY)),
            ("AWS_EC2_METADATA_DISABLED".into(), s("true")),
            // One attempt: a replay miss must fail at once, not after retries with backoff.
            ("AWS_MAX_ATTEMPTS".into(), s("1")),
            ("AWS_CONFIG_FILE".into(), p(&aws_dir.join("config"))),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                p(&aws_dir.join("credentials")),
            ),
            // CLI v2 pipes output through `less` on a terminal; never on a trial.
            ("AWS_PAGER".into(), s("")),
            // The `openai` client against Bedrock's OpenAI-compatible API on the same listener.
            (
                "OPENAI_BASE_URL".into(),
                s(&format!("{}{OPENAI_BASE_PATH}", self.endpoint)),
            ),
            ("OPENAI_API_KEY".into(), s(DUMMY_OPENAI_API_KEY)),
        ];
        // Every Bedrock service on the one endpoint: the runtime at its root,
        // the others under their path prefix (`…/bedrock-agent`).
        vars.extend(crate::ids::Service::ALL.iter().map(|svc| {
            let url = svc.endpoint_url(&self.endpoint);
            (svc.endpoint_env().to_string(), OsString::from(url))
        }));
        if self.sandbox != crate::sandbox::Guard::None {
            let tmp = crate::sandbox::tmp_dir(&self.workspace);
            vars.push(("TMPDIR".into(), p(&tmp)));
            // The stdlib is read-only in the sandbox: no pointless EROFS tries.
            vars.push(("PYTHONDONTWRITEBYTECODE".into(), s("1")));
        }
        if let Some(guard) = &self.guard {
            vars.extend(guard.vars().into_iter().map(|(k, v)| (k.into(), v.into())));
        }
        let services = match &self.guard {
            Some(guard) => guard.services.as_ref(),
            None => self.services.as_ref(),
        };
        if let Some(services) = services {
            vars.extend(
                service_endpoints(&self.endpoint, services)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), OsString::from(v))),
            );
        }
        vars
    }

    /// Creates the workspace's empty home (with an empty `.aws/`).
    pub fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.workspace.join(".home").join(".aws"))?;
        if self.sandbox != crate::sandbox::Guard::None {
            // TMPDIR of the sandbox, inside the one writable tree.
            std::fs::create_dir_all(crate::sandbox::tmp_dir(&self.workspace))?;
        }
        Ok(())
    }
}

/// Where each service goes when the trial has a setup-services emulator:
/// every service to it (`AWS_ENDPOINT_URL`, honoured by boto3/botocore ≥ 1.31,
/// AWS CLI v1 and v2 and the Rust SDK), except the Bedrock ones, whose
/// service-specific variables win and keep them on the replay listener (the
/// shared layout of one listener with a path prefix per Bedrock service).
pub fn service_endpoints(endpoint: &str, services: &str) -> Vec<(&'static str, String)> {
    let endpoint = endpoint.trim_end_matches('/');
    vec![
        ("AWS_ENDPOINT_URL", services.to_string()),
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", endpoint.to_string()),
        ("AWS_ENDPOINT_URL_BEDROCK", format!("{endpoint}/bedrock")),
        (
            "AWS_ENDPOINT_URL_BEDROCK_AGENT",
            format!("{endpoint}/bedrock-agent"),
        ),
        (
            "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME",
            format!("{endpoint}/bedrock-agent-runtime"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> ChildEnv {
        ChildEnv {
            workspace: PathBuf::from("/tmp/ws"),
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            client_bin: Some(PathBuf::from("/cache/aws-cli-v2/bin")),
            guard: None,
            services: None,
            sandbox: crate::sandbox::Guard::None,
            read_only: Vec::new(),
        }
    }

    fn get(vars: &[(String, OsString)], name: &str) -> Option<String> {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    }

    #[test]
    fn client_bin_comes_first_and_user_dirs_are_absent() {
        let vars = env().vars();
        assert_eq!(
            get(&vars, "PATH").as_deref(),
            Some("/cache/aws-cli-v2/bin:/usr/bin:/bin")
        );
    }

    #[test]
    fn every_bedrock_service_points_at_the_endpoint_under_its_prefix() {
        let vars = env().vars();
        let ep = |k| get(&vars, k);
        assert_eq!(
            ep("AWS_ENDPOINT_URL_BEDROCK_RUNTIME").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            ep("AWS_ENDPOINT_URL_BEDROCK").as_deref(),
            Some("http://127.0.0.1:9/bedrock")
        );
        assert_eq!(
            ep("AWS_ENDPOINT_URL_BEDROCK_AGENT").as_deref(),
            Some("http://127.0.0.1:9/bedrock-agent")
        );
        assert_eq!(
            ep("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME").as_deref(),
            Some("http://127.0.0.1:9/bedrock-agent-runtime")
        );
    }

    #[test]
    fn both_region_variables_and_no_imds() {
        let vars = env().vars();
        assert_eq!(get(&vars, "AWS_REGION").as_deref(), Some("us-east-1"));
        assert_eq!(
            get(&vars, "AWS_DEFAULT_REGION").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            get(&vars, "AWS_EC2_METADATA_DISABLED").as_deref(),
            Some("true")
        );
        assert_eq!(get(&vars, "AWS_MAX_ATTEMPTS").as_deref(), Some("1"));
        assert_eq!(get(&vars, "HOME").as_deref(), Some("/tmp/ws/.home"));
        assert_eq!(
            get(&vars, "AWS_CONFIG_FILE").as_deref(),
            Some("/tmp/ws/.home/.aws/config")
        );
        assert!(get(&vars, "AWS_PROFILE").is_none());
        assert!(get(&vars, "AWS_BEARER_TOKEN_BEDROCK").is_none());
        assert!(get(&vars, "HTTPS_PROXY").is_none());
    }

    #[test]
    fn the_openai_client_is_pointed_at_the_same_listener_with_a_dummy_key() {
        let vars = env().vars();
        assert_eq!(
            get(&vars, "OPENAI_BASE_URL").as_deref(),
            Some("http://127.0.0.1:9/openai/v1")
        );
        assert_eq!(
            get(&vars, "OPENAI_API_KEY").as_deref(),
            Some(DUMMY_OPENAI_API_KEY)
        );
    }

    #[test]
    fn a_guard_adds_proxy_variables_and_exempts_loopback() {
        let mut e = env();
        e.guard = Some(crate::netguard::ChildGuard {
            proxy_url: "http://127.0.0.1:7".into(),
            endpoint: e.endpoint.clone(),
            netns: None,
            services: None,
        });
        let vars = e.vars();
        for k in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "https_proxy"] {
            assert_eq!(get(&vars, k).as_deref(), Some("http://127.0.0.1:7"), "{k}");
        }
        assert_eq!(
            get(&vars, "NO_PROXY").as_deref(),
            Some("127.0.0.1,localhost")
        );
        assert_eq!(
            get(&vars, "no_proxy").as_deref(),
            Some("127.0.0.1,localhost")
        );
        // No emulator: no catch-all endpoint (a setup call is refused by the guard).
        assert!(get(&vars, "AWS_ENDPOINT_URL").is_none());
    }

    #[test]
    fn an_emulator_takes_every_service_but_bedrock() {
        let mut e = env();
        e.guard = Some(crate::netguard::ChildGuard {
            proxy_url: "http://127.0.0.1:7".into(),
            endpoint: e.endpoint.clone(),
            netns: None,
            services: Some("http://127.0.0.1:8".into()),
        });
        let vars = e.vars();
        assert_eq!(
            get(&vars, "AWS_ENDPOINT_URL").as_deref(),
            Some("http://127.0.0.1:8")
        );
        assert_eq!(
            get(&vars, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            get(&vars, "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME").as_deref(),
            Some("http://127.0.0.1:9/bedrock-agent-runtime")
        );
    }
}
