//! `seed.toml`: state a lab needs before its steps run (a bucket the course
//! provides, a role that exists), created in each trial's fresh moto server.
//!
//! ```toml
//! [[bucket]]
//! name = "course-corpus"
//! objects = { "faq.md" = "What is RAG? …" }   # key = content
//!
//! [[role]]
//! name = "CourseReadOnly"
//! trust = '''{"Version": "2012-10-17", "Statement": []}'''
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::http::{Call, encode_key, form, send};

/// The seed file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub bucket: Vec<SeedBucket>,
    #[serde(default)]
    pub role: Vec<SeedRole>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBucket {
    pub name: String,
    /// Object key → its text.
    #[serde(default)]
    pub objects: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRole {
    pub name: String,
    /// The trust policy document (JSON text).
    pub trust: String,
}

impl Seed {
    /// What the seed creates, in `[lab] resources`' terms: against a real
    /// account (record and live modes) labcheck made them, so its cleanup
    /// deletes them too and the run prefix applies to their names.
    pub fn resources(&self) -> Vec<crate::spec::lab::Resource> {
        use crate::spec::lab::Resource;
        let buckets = self.bucket.iter().map(|b| Resource::Bucket {
            bucket: b.name.clone(),
        });
        let roles = self.role.iter().map(|r| Resource::Role {
            role: r.name.clone(),
        });
        buckets.chain(roles).collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    #[error("cannot read the seed `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}`: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("seeding {what} failed: {detail}")]
    Call { what: String, detail: String },
}

impl Seed {
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| SeedError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Creates everything in the server at `addr`.
    pub fn apply(&self, addr: SocketAddr, region: &str) -> Result<(), SeedError> {
        let call = |what: String, c: Call<'_>| match send(addr, region, &c) {
            Ok(r) if r.ok() => Ok(()),
            Ok(r) => Err(SeedError::Call {
                what,
                detail: format!("{} {}", r.status, r.body),
            }),
            Err(e) => Err(SeedError::Call {
                what,
                detail: e.to_string(),
            }),
        };
        for b in &self.bucket {
            let path = format!("/{}", encode_key(&b.name));
            call(
                format!("bucket `{}`", b.name),
                Call {
                    service: "s3",
                    method: "PUT",
                    path: &path,
                    headers: &[],
                    body: b"",
                },
            )?;
            for (key, text) in &b.objects {
                let path = format!("/{}/{}", encode_key(&b.name), encode_key(key));
                call(
                    format!("object `s3://{}/{key}`", b.name),
                    Call {
                        service: "s3",
                        method: "PUT",
                        path: &path,
                        headers: &[],
                        body: text.as_bytes(),
                    },
                )?;
            }
        }
        for r in &self.role {
            let body = form(&[
                ("Action", "CreateRole"),
                ("RoleName", &r.name),
                ("AssumeRolePolicyDocument", &r.trust),
                ("Version", "2010-05-08"),
            ]);
            call(
                format!("role `{}`", r.name),
                Call {
                    service: "iam",
                    method: "POST",
                    path: "/",
                    headers: &[("Content-Type", "application/x-www-form-urlencoded")],
                    body: body.as_bytes(),
                },
            )?;
        }
        Ok(())
    }
}
