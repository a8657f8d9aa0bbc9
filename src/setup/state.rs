//! `state` expectations: what a step left in the emulated services, read
//! back from the trial's moto server after the step. A miss names the
//! missing object and what is there instead, so a student sees what to fix.

use std::net::SocketAddr;

use regex::Regex;

use super::http::{Call, Response, encode_key, form, send};
use crate::spec::lab::StateExpect;

/// Why one `state` expectation does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// What should be there (`S3 object `s3://b/k``).
    pub expected: String,
    /// What is there instead, or why it could not be read.
    pub detail: String,
}

/// Checks every expectation; the ones that do not hold.
pub fn check(addr: SocketAddr, region: &str, expected: &[StateExpect]) -> Vec<Missing> {
    expected
        .iter()
        .filter_map(|e| {
            one(addr, region, e).err().map(|detail| Missing {
                expected: e.to_string(),
                detail,
            })
        })
        .collect()
}

fn one(addr: SocketAddr, region: &str, e: &StateExpect) -> Result<(), String> {
    let get = |call: Call<'_>| {
        send(addr, region, &call).map_err(|e| format!("moto could not be asked: {e}"))
    };
    match e {
        StateExpect::Bucket { bucket } => {
            let r = get(s3(&format!("/{}", encode_key(bucket)), "HEAD"))?;
            if r.ok() {
                Ok(())
            } else {
                Err(format!("it does not exist; {}", buckets(addr, region)))
            }
        }
        StateExpect::Object { bucket, key } => {
            let r = get(s3(
                &format!("/{}/{}", encode_key(bucket), encode_key(key)),
                "HEAD",
            ))?;
            if r.ok() {
                return Ok(());
            }
            let list = get(s3(&format!("/{}?list-type=2", encode_key(bucket)), "GET"))?;
            if !list.ok() {
                return Err(format!(
                    "it does not exist: there is no bucket `{bucket}`; {}",
                    buckets(addr, region)
                ));
            }
            let keys = tags(&list, "Key");
            Err(format!(
                "it does not exist; bucket `{bucket}` holds {}",
                names(&keys, "no object")
            ))
        }
        StateExpect::Role { role } => {
            let r = get(iam(&[("Action", "GetRole"), ("RoleName", role)]).as_call())?;
            if r.ok() {
                Ok(())
            } else {
                let all = get(iam(&[("Action", "ListRoles")]).as_call())?;
                Err(format!(
                    "it does not exist; the account has {}",
                    names(&tags(&all, "RoleName"), "no role")
                ))
            }
        }
        StateExpect::RolePolicy { role, policy } => {
            let inline = get(iam(&[("Action", "ListRolePolicies"), ("RoleName", role)]).as_call())?;
            if !inline.ok() {
                return Err(format!("there is no role `{role}`"));
            }
            let attached =
                get(iam(&[("Action", "ListAttachedRolePolicies"), ("RoleName", role)]).as_call())?;
            let inline = tags(&inline, "member");
            let attached = tags(&attached, "PolicyName");
            if inline.iter().chain(&attached).any(|p| p == policy) {
                Ok(())
            } else {
                Err(format!(
                    "the role has {} inline and {} attached",
                    names(&inline, "no policy"),
                    names(&attached, "none")
                ))
            }
        }
        StateExpect::Table { table } => {
            let body = serde_json::json!({ "TableName": table }).to_string();
            let r = get(Call {
                service: "dynamodb",
                method: "POST",
                path: "/",
                headers: &[
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("X-Amz-Target", "DynamoDB_20120810.DescribeTable"),
                ],
                body: body.as_bytes(),
            })?;
            if r.ok() {
                Ok(())
            } else {
                Err("it does not exist".into())
            }
        }
    }
}

fn s3<'a>(path: &'a str, method: &'a str) -> Call<'a> {
    Call {
        service: "s3",
        method,
        path,
        headers: &[],
        body: b"",
    }
}

/// An IAM query call (its form body owned here).
struct Iam(String);

fn iam(params: &[(&str, &str)]) -> Iam {
    let mut all = params.to_vec();
    all.push(("Version", "2010-05-08"));
    Iam(form(&all))
}

impl Iam {
    fn as_call(&self) -> Call<'_> {
        Call {
            service: "iam",
            method: "POST",
            path: "/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: self.0.as_bytes(),
        }
    }
}

fn buckets(addr: SocketAddr, region: &str) -> String {
    match send(addr, region, &s3("/", "GET")) {
        Ok(r) => format!("the account has {}", names(&tags(&r, "Name"), "no bucket")),
        Err(e) => format!("the buckets could not be listed: {e}"),
    }
}

/// The texts of `<tag>…</tag>` in an XML answer.
fn tags(r: &Response, tag: &str) -> Vec<String> {
    let re = Regex::new(&format!("<{tag}>([^<]*)</{tag}>")).expect("a tag name is a literal");
    re.captures_iter(&r.body)
        .map(|c| c[1].to_string())
        .collect()
}

fn names(v: &[String], none: &str) -> String {
    if v.is_empty() {
        return none.to_string();
    }
    let shown: Vec<String> = v.iter().take(10).map(|n| format!("`{n}`")).collect();
    let more = v.len().saturating_sub(10);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
