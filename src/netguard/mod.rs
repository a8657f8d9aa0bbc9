//! No unexpected network in replay: every step's child process is guarded so
//! that reaching for a non-loopback host fails, naming the host.
//!
//! Two layers. The refusing proxy ([`proxy`]) is always on: the child gets
//! `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` (both cases) pointing at it and
//! `NO_PROXY=127.0.0.1,localhost`, so clients that honour proxies (botocore,
//! pip, curl) are refused and logged. Where Linux allows it (CAP_SYS_ADMIN),
//! the child also runs in a network namespace with only loopback ([`netns`]),
//! which stops clients that ignore proxy variables too; the trial endpoint is
//! relayed into it. [`NetGuard::kind`] says which guard was in force.

mod accept;
pub mod netns;
pub mod proxy;

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

pub use proxy::{Attempt, RefusingProxy};

/// Which guard a trial ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// Loopback-only network namespace plus the refusing proxy.
    Netns,
    /// The refusing proxy alone (no namespace: not permitted here, or not asked for).
    Proxy,
}

impl std::fmt::Display for GuardKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GuardKind::Netns => "netns+proxy",
            GuardKind::Proxy => "proxy",
        })
    }
}

/// Whether to try a network namespace (`LABCHECK_NETGUARD=proxy` turns it
/// off; parsed by [`crate::settings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// A namespace where permitted, else the proxy alone.
    #[default]
    Auto,
    /// The proxy alone.
    ProxyOnly,
}

/// What a child process needs to run guarded.
#[derive(Debug, Clone)]
pub struct ChildGuard {
    /// The refusing proxy's URL, as the child reaches it.
    pub proxy_url: String,
    /// The trial endpoint as the child reaches it (relayed inside a namespace).
    pub endpoint: String,
    /// The namespace to join before `exec`, if any.
    pub netns: Option<Arc<OwnedFd>>,
    /// The setup-services emulator (moto) as the child reaches it, if the
    /// trial has one: another loopback port, relayed like the endpoint.
    pub services: Option<String>,
}

impl ChildGuard {
    /// Proxy variables for the child's environment.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars: Vec<(&'static str, String)> = [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ]
        .into_iter()
        .map(|k| (k, self.proxy_url.clone()))
        .collect();
        vars.push(("NO_PROXY", "127.0.0.1,localhost".into()));
        vars.push(("no_proxy", "127.0.0.1,localhost".into()));
        vars
    }
}

/// The guard of one trial; stops its proxy and relay when dropped.
pub struct NetGuard {
    kind: GuardKind,
    proxy: RefusingProxy,
    _relay: Option<accept::Acceptor>,
    _services_relay: Option<accept::Acceptor>,
    child: ChildGuard,
    /// Why no namespace is used, when [`Policy::Auto`] fell back.
    pub fallback: Option<String>,
}

impl NetGuard {
    /// Guards children of a trial whose endpoint is `endpoint` (`http://127.0.0.1:PORT`).
    pub fn start(endpoint: &str, policy: Policy) -> std::io::Result<NetGuard> {
        NetGuard::start_with(endpoint, None, policy)
    }

    /// [`NetGuard::start`] for a trial that also has a setup-services
    /// emulator listening on `services` (a loopback address): the child may
    /// reach it too, and still no other host.
    pub fn start_with(
        endpoint: &str,
        services: Option<SocketAddr>,
        policy: Policy,
    ) -> std::io::Result<NetGuard> {
        let target: Option<SocketAddr> = endpoint
            .strip_prefix("http://")
            .and_then(|a| a.trim_end_matches('/').parse().ok());
        let mut fallback = None;
        if policy == Policy::Auto {
            match (target, netns::create()) {
                (Some(target), Ok(ns)) => {
                    let relay_addr = ns.relay.local_addr()?;
                    let relay = netns::relay(ns.relay, target)?;
                    let proxy = RefusingProxy::serve(ns.proxy)?;
                    let (services_relay, services_url) = match services {
                        Some(addr) => {
                            let inside = ns.services.local_addr()?;
                            (
                                Some(netns::relay(ns.services, addr)?),
                                Some(format!("http://{inside}")),
                            )
                        }
                        None => (None, None),
                    };
                    let child = ChildGuard {
                        proxy_url: proxy.url(),
                        endpoint: format!("http://{relay_addr}"),
                        netns: Some(Arc::new(ns.ns)),
                        services: services_url,
                    };
                    return Ok(NetGuard {
                        kind: GuardKind::Netns,
                        proxy,
                        _relay: Some(relay),
                        _services_relay: services_relay,
                        child,
                        fallback: None,
                    });
                }
                (None, _) => {
                    fallback = Some(format!("endpoint `{endpoint}` is not a loopback address"))
                }
                (_, Err(e)) => fallback = Some(format!("no network namespace: {e}")),
            }
        }
        let proxy = RefusingProxy::start()?;
        let child = ChildGuard {
            proxy_url: proxy.url(),
            endpoint: endpoint.to_string(),
            netns: None,
            services: services.map(|a| format!("http://{a}")),
        };
        Ok(NetGuard {
            kind: GuardKind::Proxy,
            proxy,
            _relay: None,
            _services_relay: None,
            child,
            fallback,
        })
    }

    pub fn kind(&self) -> GuardKind {
        self.kind
    }

    pub fn child(&self) -> ChildGuard {
        self.child.clone()
    }

    /// Requests the proxy refused so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.proxy.attempts()
    }
}
