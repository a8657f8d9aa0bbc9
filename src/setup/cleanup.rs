//! Record and live modes: the run prefix of the resources a run creates in a
//! real account, the cleanup of the resources a lab declares
//! (`[lab] resources`) at the end of the run, and what it left behind.
//!
//! The cleanup talks to the endpoint it is given — in record and live modes
//! the re-signing pass-through, which adds the run prefix to the lab's names
//! and signs with the author's credentials — so it sends the names **as the
//! lab declares them**, signed with the dummy credentials like every call of
//! [`super::http`]. Against a trial's moto it works unchanged (the tests do
//! that). A resource that is not there is `absent`, never a failure: the
//! student may have deleted it, or never created it.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;

use super::http::{Call, Response, encode_key, endpoint_addr, form, send};
use crate::report::Leftover;
use crate::spec::lab::Resource;

/// How many list-and-delete rounds one listing (objects, versions, a
/// role's policies) gets: 1000 keys a round, so a million objects; beyond
/// that the resource is reported as failed instead of looping on.
const MAX_ROUNDS: usize = 1000;

/// A run-specific prefix for resource names, valid in S3 bucket names and
/// IAM names: `lc-` and 6 lowercase hex digits (`lc-3fa9c1`), joined to a
/// name with `-` (`lc-3fa9c1-kb-lab-documents`: 10 characters of the 63 a
/// bucket name may have).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunPrefix(String);

impl RunPrefix {
    /// A new prefix from the time and the process id: two runs on one
    /// machine, or on two, differ with near certainty (24 bits).
    pub fn new() -> RunPrefix {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        RunPrefix::from_seed(nanos ^ (u64::from(std::process::id()) << 40))
    }

    /// The prefix a seed gives, always the same (for tests and for a run id
    /// that must map to one prefix).
    pub fn from_seed(seed: u64) -> RunPrefix {
        // splitmix64: neighbouring seeds give unrelated prefixes.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        RunPrefix(format!("lc-{:06x}", z & 0xFF_FFFF))
    }

    /// The prefix of a run id: every process of one run (nextest runs one
    /// per trial, CI shards run on several machines) names its resources
    /// alike, so a cleanup in any of them finds them.
    pub fn from_run_id(run_id: &str) -> RunPrefix {
        // FNV-1a: stable across processes, platforms and Rust versions
        // (unlike `DefaultHasher`).
        let hash = run_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        RunPrefix::from_seed(hash)
    }

    /// `lc-3fa9c1`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `name` with the prefix: `lc-3fa9c1-<name>`.
    pub fn apply(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }

    /// `name` without the prefix, when it carries it.
    pub fn strip<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(self.0.as_str())?.strip_prefix('-')
    }
}

impl Default for RunPrefix {
    fn default() -> Self {
        RunPrefix::new()
    }
}

impl std::fmt::Display for RunPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a cleanup did, each resource named as [`Resource`] displays it
/// (`S3 bucket `kb-lab-documents``).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Deleted.
    pub removed: Vec<String>,
    /// Still there: the resource and why.
    pub failed: Vec<(String, String)>,
    /// Not there to begin with.
    pub absent: Vec<String>,
}

/// Deletes every resource of `resources` through the endpoint at
/// `endpoint` (`http://host:port`): buckets with all their objects and
/// versions, tables, roles with their inline policies, attachments and
/// instance profiles, then managed policies (detached from everything
/// first). Every resource is tried, whatever happened to the others.
pub fn cleanup(endpoint: &str, region: &str, resources: &[Resource]) -> CleanupReport {
    let mut report = CleanupReport::default();
    let addr = match endpoint_addr(endpoint) {
        Ok(addr) => addr,
        Err(e) => {
            report.failed = resources
                .iter()
                .map(|r| (r.to_string(), e.to_string()))
                .collect();
            return report;
        }
    };
    let c = Cleaner { addr, region };
    // Roles before the managed policies attached to them; buckets and tables
    // depend on nothing.
    let rank = |r: &Resource| match r {
        Resource::Bucket { .. } => 0,
        Resource::Table { .. } => 1,
        Resource::Role { .. } => 2,
        Resource::Policy { .. } => 3,
    };
    let mut ordered: Vec<&Resource> = resources.iter().collect();
    ordered.sort_by_key(|r| rank(r));
    for r in ordered {
        let done = match r {
            Resource::Bucket { bucket } => c.bucket(bucket),
            Resource::Table { table } => c.table(table),
            Resource::Role { role } => c.role(role),
            Resource::Policy { policy } => c.policy(policy),
        };
        match done {
            Ok(Gone::Removed) => report.removed.push(r.to_string()),
            Ok(Gone::Absent) => report.absent.push(r.to_string()),
            Err(why) => report.failed.push((r.to_string(), why)),
        }
    }
    report
}

/// The leftovers of a run for the report: every resource the cleanup could
/// not delete, then every resource the pass-through saw created and not
/// deleted (`still_there`, its ledger after the cleanup) that is not already
/// among them — a ledger entry spelled like [`Resource`]'s `Display`
/// (`S3 bucket `kb-lab-documents``) is listed once. Unscrubbed: the runner
/// scrubs them with the trial's scrubber, like outcomes, and stores them
/// with [`crate::report::ResultsDir::write_leftovers`].
pub fn leftovers(
    lab: &str,
    trial: &str,
    report: &CleanupReport,
    still_there: &[String],
) -> Vec<Leftover> {
    let mut out: Vec<Leftover> = report
        .failed
        .iter()
        .map(|(resource, why)| Leftover {
            lab: lab.to_string(),
            trial: trial.to_string(),
            resource: resource.clone(),
            reason: format!("the cleanup could not delete it: {why}"),
        })
        .collect();
    // The cleanup says "S3 bucket `x`", the pass-through's ledger "s3 bucket
    // x", either maybe followed by "(`y` in the lab)": one resource.
    let plain = |t: &str| {
        let t = t.split_once(" (").map_or(t, |(name, _)| name);
        t.replace('`', "").to_lowercase()
    };
    for resource in still_there {
        if report
            .failed
            .iter()
            .any(|(r, _)| plain(r) == plain(resource))
        {
            continue;
        }
        out.push(Leftover {
            lab: lab.to_string(),
            trial: trial.to_string(),
            resource: resource.clone(),
            reason: "created by the run and still there after the cleanup: declare it in \
                     `[lab] resources` so the cleanup deletes it"
                .to_string(),
        });
    }
    out
}

enum Gone {
    Removed,
    Absent,
}

struct Cleaner<'a> {
    addr: SocketAddr,
    region: &'a str,
}

impl Cleaner<'_> {
    fn send(&self, call: &Call<'_>) -> Result<Response, String> {
        send(self.addr, self.region, call)
            .map_err(|e| format!("the endpoint could not be asked: {e}"))
    }

    fn s3(&self, method: &str, path: &str) -> Result<Response, String> {
        self.send(&Call {
            service: "s3",
            method,
            path,
            headers: &[],
            body: b"",
        })
    }

    fn iam(&self, params: &[(&str, &str)]) -> Result<Response, String> {
        let mut all = params.to_vec();
        all.push(("Version", "2010-05-08"));
        let body = form(&all);
        self.send(&Call {
            service: "iam",
            method: "POST",
            path: "/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: body.as_bytes(),
        })
    }

    /// Objects (current, then every version and delete marker), then the
    /// bucket.
    fn bucket(&self, bucket: &str) -> Result<Gone, String> {
        let base = format!("/{}", encode_key(bucket));
        let head = self.s3("HEAD", &base)?;
        if head.status == 404 {
            return Ok(Gone::Absent);
        }
        // One page at a time, deleting what it lists, until a listing comes
        // back empty: no continuation tokens to carry, and a page whose
        // deletions all fail stops the loop instead of repeating it.
        drain(
            || {
                let list = self.s3("GET", &format!("{base}?list-type=2"))?;
                expect_ok(&list, "ListObjectsV2")?;
                Ok(texts(&list.body, "Key")
                    .into_iter()
                    .map(|key| (key, None))
                    .collect())
            },
            |(key, _): &(String, Option<String>)| {
                let r = self.s3("DELETE", &format!("{base}/{}", encode_key(key)))?;
                expect_ok(&r, "DeleteObject")
            },
        )?;
        // A versioned bucket keeps old versions and delete markers. A
        // listing refused (no `s3:ListBucketVersions` for an unversioned
        // bucket's owner) is passed over: DeleteBucket then says whether
        // anything is left.
        drain(
            || {
                let list = self.s3("GET", &format!("{base}?versions"))?;
                Ok(if list.ok() {
                    versions(&list.body)
                } else {
                    Vec::new()
                })
            },
            |(key, version): &(String, Option<String>)| {
                let v = version.as_deref().unwrap_or("null");
                let r = self.s3(
                    "DELETE",
                    &format!("{base}/{}?versionId={}", encode_key(key), query(v)),
                )?;
                expect_ok(&r, "DeleteObject")
            },
        )?;
        let r = self.s3("DELETE", &base)?;
        match r.status {
            200..=299 => Ok(Gone::Removed),
            404 => Ok(Gone::Absent),
            _ => Err(error_text(&r, "DeleteBucket")),
        }
    }

    fn table(&self, table: &str) -> Result<Gone, String> {
        let body = serde_json::json!({ "TableName": table }).to_string();
        let r = self.send(&Call {
            service: "dynamodb",
            method: "POST",
            path: "/",
            headers: &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.DeleteTable"),
            ],
            body: body.as_bytes(),
        })?;
        if r.ok() {
            Ok(Gone::Removed)
        } else if r.body.contains("ResourceNotFoundException") {
            Ok(Gone::Absent)
        } else {
            Err(error_text(&r, "DeleteTable"))
        }
    }

    /// Inline policies, attached policies and instance profiles, then the role.
    fn role(&self, role: &str) -> Result<Gone, String> {
        let get = self.iam(&[("Action", "GetRole"), ("RoleName", role)])?;
        if no_such_entity(&get) {
            return Ok(Gone::Absent);
        }
        expect_ok(&get, "GetRole")?;
        self.drain_iam(
            &[("Action", "ListRolePolicies"), ("RoleName", role)],
            "member",
            |name| {
                vec![
                    ("Action", "DeleteRolePolicy".into()),
                    ("RoleName", role.into()),
                    ("PolicyName", name.into()),
                ]
            },
        )?;
        self.drain_iam(
            &[("Action", "ListAttachedRolePolicies"), ("RoleName", role)],
            "PolicyArn",
            |arn| {
                vec![
                    ("Action", "DetachRolePolicy".into()),
                    ("RoleName", role.into()),
                    ("PolicyArn", arn.into()),
                ]
            },
        )?;
        self.drain_iam(
            &[
                ("Action", "ListInstanceProfilesForRole"),
                ("RoleName", role),
            ],
            "InstanceProfileName",
            |profile| {
                vec![
                    ("Action", "RemoveRoleFromInstanceProfile".into()),
                    ("RoleName", role.into()),
                    ("InstanceProfileName", profile.into()),
                ]
            },
        )?;
        let r = self.iam(&[("Action", "DeleteRole"), ("RoleName", role)])?;
        if no_such_entity(&r) {
            return Ok(Gone::Absent);
        }
        expect_ok(&r, "DeleteRole").map(|()| Gone::Removed)
    }

    /// A customer-managed policy: found by name in the caller's account,
    /// detached from every role, user and group, its non-default versions
    /// deleted, then the policy.
    fn policy(&self, policy: &str) -> Result<Gone, String> {
        let Some(arn) = self.policy_arn(policy)? else {
            return Ok(Gone::Absent);
        };
        let get = self.iam(&[("Action", "GetPolicy"), ("PolicyArn", &arn)])?;
        if no_such_entity(&get) {
            return Ok(Gone::Absent);
        }
        expect_ok(&get, "GetPolicy")?;
        let entities = &[
            ("Action", "ListEntitiesForPolicy"),
            ("PolicyArn", arn.as_str()),
        ];
        for (tag, action, key) in [
            ("RoleName", "DetachRolePolicy", "RoleName"),
            ("UserName", "DetachUserPolicy", "UserName"),
            ("GroupName", "DetachGroupPolicy", "GroupName"),
        ] {
            self.drain_iam(entities, tag, |name| {
                vec![
                    ("Action", action.into()),
                    (key, name.into()),
                    ("PolicyArn", arn.clone()),
                ]
            })?;
        }
        drain(
            || {
                let list = self.iam(&[("Action", "ListPolicyVersions"), ("PolicyArn", &arn)])?;
                expect_ok(&list, "ListPolicyVersions")?;
                Ok(non_default_versions(&list.body))
            },
            |v: &String| {
                let r = self.iam(&[
                    ("Action", "DeletePolicyVersion"),
                    ("PolicyArn", &arn),
                    ("VersionId", v),
                ])?;
                expect_ok(&r, "DeletePolicyVersion")
            },
        )?;
        let r = self.iam(&[("Action", "DeletePolicy"), ("PolicyArn", &arn)])?;
        if no_such_entity(&r) {
            return Ok(Gone::Absent);
        }
        expect_ok(&r, "DeletePolicy").map(|()| Gone::Removed)
    }

    /// The ARN of the account's own policy `policy`, from IAM's listing of
    /// local policies (not STS `GetCallerIdentity`: a lab need not list
    /// `sts`, and the record/live pass-through forwards only its services).
    fn policy_arn(&self, policy: &str) -> Result<Option<String>, String> {
        let member = Regex::new(r"(?s)<member>(.*?)</member>").expect("a literal regex");
        let mut marker: Option<String> = None;
        for _ in 0..MAX_ROUNDS {
            let mut params = vec![("Action", "ListPolicies"), ("Scope", "Local")];
            if let Some(m) = &marker {
                params.push(("Marker", m));
            }
            let r = self.iam(&params)?;
            expect_ok(&r, "ListPolicies")?;
            let found = member.captures_iter(&r.body).find_map(|c| {
                let name = texts(&c[1], "PolicyName").into_iter().next()?;
                (name == policy)
                    .then(|| texts(&c[1], "Arn").into_iter().next())
                    .flatten()
            });
            if found.is_some() {
                return Ok(found);
            }
            let truncated = r.body.contains("<IsTruncated>true</IsTruncated>");
            marker = texts(&r.body, "Marker").into_iter().next();
            if !truncated || marker.is_none() {
                return Ok(None);
            }
        }
        Err(format!(
            "ListPolicies: more than {MAX_ROUNDS} pages of local policies"
        ))
    }

    /// Lists with `list`, removes every `<tag>` value with the call
    /// `remove` builds, until the listing is empty.
    fn drain_iam(
        &self,
        list: &[(&str, &str)],
        tag: &str,
        remove: impl Fn(&str) -> Vec<(&'static str, String)>,
    ) -> Result<(), String> {
        let action = list.first().map_or("List", |(_, a)| *a);
        drain(
            || {
                let r = self.iam(list)?;
                expect_ok(&r, action)?;
                Ok(texts(&r.body, tag))
            },
            |name: &String| {
                let owned = remove(name);
                let params: Vec<(&str, &str)> =
                    owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let what = params.first().map_or("", |(_, a)| *a);
                let r = self.iam(&params)?;
                expect_ok(&r, what)
            },
        )
    }
}

/// List, remove each, list again, until a listing is empty; fails when a
/// round removes nothing (the first error says why) or after
/// [`MAX_ROUNDS`].
fn drain<T>(
    mut list: impl FnMut() -> Result<Vec<T>, String>,
    mut remove: impl FnMut(&T) -> Result<(), String>,
) -> Result<(), String> {
    for _ in 0..MAX_ROUNDS {
        let items = list()?;
        if items.is_empty() {
            return Ok(());
        }
        // Every item is tried; the first error is the reason given.
        let mut first_error = None;
        for item in &items {
            if let Err(e) = remove(item) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Err(format!(
        "still not empty after {MAX_ROUNDS} rounds of deletions"
    ))
}

fn expect_ok(r: &Response, action: &str) -> Result<(), String> {
    if r.ok() {
        Ok(())
    } else {
        Err(error_text(r, action))
    }
}

fn no_such_entity(r: &Response) -> bool {
    r.status == 404 || r.body.contains("<Code>NoSuchEntity</Code>")
}

/// `DeleteBucket: 409 BucketNotEmpty: The bucket you tried to delete is not empty`.
fn error_text(r: &Response, action: &str) -> String {
    let code = texts(&r.body, "Code").into_iter().next().or_else(|| {
        serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v.get("__type")?.as_str().map(str::to_string))
    });
    let message = texts(&r.body, "Message").into_iter().next();
    match (code, message) {
        (Some(c), Some(m)) => format!("{action}: {} {c}: {m}", r.status),
        (Some(c), None) => format!("{action}: {} {c}", r.status),
        _ => format!("{action}: {}", r.status),
    }
}

/// The texts of `<tag>…</tag>` in an XML answer, unescaped.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let re = Regex::new(&format!("<{tag}>([^<]*)</{tag}>")).expect("a tag name is a literal");
    re.captures_iter(xml).map(|c| unescape(&c[1])).collect()
}

/// `(key, version id)` of every `<Version>` and `<DeleteMarker>`.
fn versions(xml: &str) -> Vec<(String, Option<String>)> {
    let re = Regex::new(r"(?s)<(?:Version|DeleteMarker)>(.*?)</(?:Version|DeleteMarker)>")
        .expect("a literal regex");
    re.captures_iter(xml)
        .filter_map(|c| {
            let key = texts(&c[1], "Key").into_iter().next()?;
            Some((key, texts(&c[1], "VersionId").into_iter().next()))
        })
        .collect()
}

/// The version ids of a policy that are not its default version.
fn non_default_versions(xml: &str) -> Vec<String> {
    let re = Regex::new(r"(?s)<member>(.*?)</member>").expect("a literal regex");
    re.captures_iter(xml)
        .filter(|c| !c[1].contains("<IsDefaultVersion>true</IsDefaultVersion>"))
        .filter_map(|c| texts(&c[1], "VersionId").into_iter().next())
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn query(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_short_lowercase_and_deterministic_by_seed() {
        let p = RunPrefix::from_seed(7);
        assert_eq!(p, RunPrefix::from_seed(7));
        assert_ne!(p, RunPrefix::from_seed(8));
        assert!(
            Regex::new("^lc-[0-9a-f]{6}$").unwrap().is_match(p.as_str()),
            "{p}"
        );
        let name = p.apply("kb-lab-documents");
        assert_eq!(name, format!("{p}-kb-lab-documents"));
        assert_eq!(p.strip(&name), Some("kb-lab-documents"));
        assert_eq!(p.strip("kb-lab-documents"), None);
        assert!(RunPrefix::new().as_str().starts_with("lc-"));
        assert_eq!(
            RunPrefix::from_run_id("run-1"),
            RunPrefix::from_run_id("run-1")
        );
        assert_ne!(
            RunPrefix::from_run_id("run-1"),
            RunPrefix::from_run_id("run-2")
        );
        // Pinned: a run id maps to the same prefix in every build.
        assert_eq!(RunPrefix::from_run_id("run-1").as_str(), "lc-8a60bb");
    }

    #[test]
    fn listings_are_read_unescaped() {
        let xml = "<ListVersionsResult><Version><Key>a&amp;b</Key><VersionId>v1</VersionId></Version>\
                   <DeleteMarker><Key>c</Key><VersionId>v2</VersionId></DeleteMarker></ListVersionsResult>";
        assert_eq!(
            versions(xml),
            [
                ("a&b".to_string(), Some("v1".to_string())),
                ("c".to_string(), Some("v2".to_string()))
            ]
        );
        let pv = "<Versions><member><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion></member>\
                  <member><VersionId>v2</VersionId><IsDefaultVersion>false</IsDefaultVersion></member></Versions>";
        assert_eq!(non_default_versions(pv), ["v2"]);
    }

    #[test]
    fn an_unusable_endpoint_fails_every_resource_with_the_reason() {
        let r = cleanup(
            "https://s3.amazonaws.com",
            "us-east-1",
            &[Resource::Bucket { bucket: "b".into() }],
        );
        assert_eq!(r.failed.len(), 1);
        assert!(r.failed[0].1.contains("http://"), "{r:?}");
    }

    #[test]
    fn leftovers_are_failures_then_undeclared_creations_listed_once() {
        let report = CleanupReport {
            removed: vec!["S3 bucket `a`".into()],
            failed: vec![(
                "IAM role `lc-000001-r` (`r` in the lab)".into(),
                "DeleteRole: 409 DeleteConflict: plantedSecretValue".into(),
            )],
            absent: vec![],
        };
        let left = leftovers(
            "lab",
            "lab::s::boto3",
            &report,
            // The ledger's spelling of the role the cleanup failed on.
            &[
                "iam role lc-000001-r (`r` in the lab)".into(),
                "s3 bucket lc-000001-extra (`extra` in the lab)".into(),
            ],
        );
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(left[0].resource, "IAM role `lc-000001-r` (`r` in the lab)");
        assert!(left[0].reason.contains("DeleteConflict"), "{left:?}");
        assert!(left[1].reason.contains("`[lab] resources`"), "{left:?}");
    }
}
