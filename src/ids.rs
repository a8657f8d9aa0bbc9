//! Validated identifiers shared across modules: labs, steps and clients.
//!
//! Ids are newtypes so a step id can never be passed where a lab id is wanted,
//! and `ClientId` is a closed enum: the set of real clients labcheck can run.
//! `Operation` (any operation of the four Bedrock services) lives with its
//! generated table in [`crate::services`] and is re-exported here.

use std::fmt;
use std::str::FromStr;

/// A lab's id: its directory name under `labs/`, e.g. `4.1-invoke-fm-via-bedrock`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct LabId(pub String);

/// A step's id inside one lab, e.g. `cli-invoke`. Unique within the lab.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StepId(pub String);

impl fmt::Display for LabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The real client a trial runs a step with.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClientId {
    /// AWS CLI v1 (the `awscli` PyPI package) from the provisioned venv.
    AwsCliV1,
    /// AWS CLI v2 (the bundled Linux build from `aws-cdk-asset-awscli-v2`).
    AwsCliV2,
    /// python3 from the provisioned venv, with pinned boto3/botocore.
    Boto3,
    /// aws-sdk-bedrockruntime, in process.
    RustSdk,
    /// A Jupyter kernel (ipykernel, run through nbclient) whose python sees the
    /// provisioned boto3; it runs `notebook` steps.
    Kernel,
}

impl ClientId {
    pub const ALL: [ClientId; 5] = [
        ClientId::AwsCliV1,
        ClientId::AwsCliV2,
        ClientId::Boto3,
        ClientId::RustSdk,
        ClientId::Kernel,
    ];

    /// The name used in `lab.toml`, trial names and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientId::AwsCliV1 => "aws-cli-v1",
            ClientId::AwsCliV2 => "aws-cli-v2",
            ClientId::Boto3 => "boto3",
            ClientId::RustSdk => "rust-sdk",
            ClientId::Kernel => "kernel",
        }
    }

    /// The User-Agent prefix this client sends (BEDROCK-WIRE §1), used to prove
    /// which client the replay server actually served.
    pub fn user_agent_prefix(self) -> &'static str {
        match self {
            ClientId::AwsCliV1 => "aws-cli/1.",
            ClientId::AwsCliV2 => "aws-cli/2.",
            ClientId::Boto3 => "Boto3/",
            ClientId::RustSdk => "aws-sdk-rust/",
            ClientId::Kernel => "Boto3/",
        }
    }

    /// Whether a request with this User-Agent came from this client. The
    /// kernel's boto3 is told its app id ([`KERNEL_APP_ID`], sent as
    /// `app/<id>`), so a request from a notebook's kernel and one from a
    /// `python` step's boto3 are told apart.
    pub fn sent(self, user_agent: &str) -> bool {
        let from_kernel = user_agent
            .split_whitespace()
            .any(|part| part.strip_prefix("app/") == Some(KERNEL_APP_ID));
        user_agent.starts_with(self.user_agent_prefix())
            && match self {
                ClientId::Kernel => from_kernel,
                ClientId::Boto3 => !from_kernel,
                _ => true,
            }
    }
}

/// The app id a notebook kernel's AWS SDK puts in its User-Agent
/// (`AWS_SDK_UA_APP_ID`).
pub const KERNEL_APP_ID: &str = "labcheck-kernel";

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown client name; lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown client `{0}` (expected one of: aws-cli-v1, aws-cli-v2, boto3, rust-sdk, kernel)")]
pub struct UnknownClient(pub String);

impl FromStr for ClientId {
    type Err = UnknownClient;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientId::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownClient(s.to_string()))
    }
}

/// An operation of one of the Bedrock services, as their models name it;
/// defined, with the generated table, in [`crate::services`].
pub use crate::services::{Operation, Service, UnknownOperation};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_and_a_python_step_are_told_apart_by_the_app_id() {
        let kernel = "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7 app/labcheck-kernel";
        let script = "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7";
        assert!(ClientId::Kernel.sent(kernel));
        assert!(!ClientId::Kernel.sent(script));
        assert!(ClientId::Boto3.sent(script));
        assert!(!ClientId::Boto3.sent(kernel));
        // Another app id is not the kernel's.
        assert!(!ClientId::Kernel.sent(&format!("{script} app/labcheck-kernelx")));
        assert!(ClientId::AwsCliV2.sent("aws-cli/2.36.7 md/installer#exe"));
        assert_eq!("kernel".parse::<ClientId>(), Ok(ClientId::Kernel));
    }
}
