//! Serving an axum router on `127.0.0.1`, either as a task on the caller's
//! tokio runtime ([`Server::spawn_task`]) or on a thread with its own
//! multi-threaded runtime ([`Server::spawn_thread`]), which is how servers run
//! beside the synchronous trial threads. Either way the call returns only
//! once the listener is bound and the server is accepting, with the bound
//! address: the thread signals readiness over a channel, so no caller ever
//! polls or sleeps. Stopping is graceful: no new connections, in-flight
//! answers (streams included) finish, then the thread is joined.
//!
//! Every connection is served under [`Limits`]: a client must send its
//! request head within the header-read timeout (also while a kept-alive
//! connection idles), and at most `max_connections` are open at once; beyond
//! that, new connections wait in the kernel's accept queue, so slow or idle
//! clients can neither exhaust the file descriptors nor starve a normal
//! request for longer than the timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

use super::request::MAX_BODY_BYTES;

/// Default time a client has to send a request head: well above what any
/// client on loopback needs, short enough that idle connections are let go.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of connections served at once: far more than a course's
/// clients open against one endpoint, far below the usual descriptor limit
/// (1024).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// What a server grants each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to send a whole request head (also the idle time of a kept-alive
    /// connection); the connection is closed after it.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("cannot bind `127.0.0.1:{port}`: {source} (hint: use port 0 for any free port)")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the `{name}` server thread: {source}")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the `{name}` server thread ended before it was ready")]
    Died { name: &'static str },
}

/// How to run a server thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSpec {
    /// Names the runtime's worker threads; the serving thread is `<name>-main`.
    pub name: &'static str,
    /// Port on 127.0.0.1; `0` picks a free one.
    pub port: u16,
    /// Worker threads of the runtime.
    pub workers: usize,
}

/// A running server. Stops on [`stop`](Self::stop) or drop.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

async fn bind(port: u16) -> Result<(TcpListener, SocketAddr), ServerError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| ServerError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { port, source })?;
    Ok((listener, addr))
}

/// Serves `app` under `limits` until `stop` fires (or its sender is
/// dropped), then lets in-flight answers finish.
async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: oneshot::Receiver<()>) {
    let mut stop = std::pin::pin!(stop);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        // A permit first: at the limit, connections wait in the accept queue
        // and take no descriptor of ours.
        let permit = tokio::select! {
            _ = &mut stop => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let tcp = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // A connection reset before it was accepted: take the
                    // next. Anything else (out of descriptors, EMFILE/ENFILE):
                    // back off briefly, as axum does, instead of spinning.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        // Nagle would hold back small stream frames behind delayed ACKs.
        let _ = tcp.set_nodelay(true);
        let conn = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out head): nothing to report.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A router sending every request to `handler` with `state`. Routing is the
/// operation table's job, done by the [`BedrockRequest`](super::BedrockRequest)
/// extractor on the raw path: axum's path router would decode a `%2F` inside a
/// model id into a segment break.
pub fn app<H, T, S>(handler: H, state: S) -> Router
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .fallback(handler)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

impl Server {
    /// Serves `app` on `127.0.0.1:port` as a task on the current runtime;
    /// returns once the listener is bound (connections are queued from then).
    pub async fn spawn_task(port: u16, app: Router) -> Result<Server, ServerError> {
        Self::spawn_task_with(port, Limits::default(), app).await
    }

    /// [`spawn_task`](Self::spawn_task) under `limits`.
    pub async fn spawn_task_with(
        port: u16,
        limits: Limits,
        app: Router,
    ) -> Result<Server, ServerError> {
        let (listener, addr) = bind(port).await?;
        let (tx, rx) = oneshot::channel();
        // Detached: the task ends when `stop` fires and in-flight answers finish.
        tokio::spawn(serve(listener, app, limits, rx));
        Ok(Server {
            addr,
            stop: Some(tx),
            thread: None,
        })
    }

    /// Runs `init` on a new runtime on a new thread, then serves the router it
    /// returns on `127.0.0.1:port` from that thread. Returns the server and
    /// what `init` returned beside the router once the server is accepting,
    /// or the first error (`init`'s own, or binding). `init` runs on the
    /// server's runtime, so tasks it spawns (helper servers, clients) live
    /// exactly as long as the server.
    pub fn spawn_thread<S, E, F, Fut>(spec: ThreadSpec, init: F) -> Result<(Server, S), E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(Router, S), E>>,
        S: Send + 'static,
        E: From<ServerError> + Send + 'static,
    {
        Self::spawn_thread_with(spec, Limits::default(), init)
    }

    /// [`spawn_thread`](Self::spawn_thread) under `limits`.
    pub fn spawn_thread_with<S, E, F, Fut>(
        spec: ThreadSpec,
        limits: Limits,
        init: F,
    ) -> Result<(Server, S), E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(Router, S), E>>,
        S: Send + 'static,
        E: From<ServerError> + Send + 'static,
    {
        let name = spec.name;
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(SocketAddr, S), E>>(1);
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-main"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(spec.workers.max(1))
                    .thread_name(name)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(source) => {
                        let _ = ready_tx.send(Err(ServerError::Thread { name, source }.into()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let started = async {
                        let (app, state) = init().await?;
                        let (listener, addr) = bind(spec.port).await?;
                        Ok::<_, E>((app, state, listener, addr))
                    };
                    match started.await {
                        Ok((app, state, listener, addr)) => {
                            // The caller may have gone (it only waits for this); serve anyway
                            // until stopped, which its dropped sender also signals.
                            let _ = ready_tx.send(Ok((addr, state)));
                            serve(listener, app, limits, stop_rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|source| E::from(ServerError::Thread { name, source }))?;
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok((addr, state))) => {
                server.addr = addr;
                Ok((server, state))
            }
            Ok(Err(e)) => Err(e),
            // The thread panicked before saying anything; `server` drops and joins it.
            Err(_) => Err(ServerError::Died { name }.into()),
        }
    }

    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight answers finish and, for a thread,
    /// joins it. A task server finishes on its runtime.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    fn get(addr: SocketAddr) -> String {
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut out = String::new();
        tcp.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn a_thread_server_answers_as_soon_as_spawn_returns_and_stops_on_request() {
        let spec = ThreadSpec {
            name: "labcheck-test",
            port: 0,
            workers: 1,
        };
        let (mut server, extra) = Server::spawn_thread(spec, || async {
            Ok::<_, ServerError>((Router::new().fallback(|| async { "hello" }), 42))
        })
        .expect("spawn");
        assert_eq!(extra, 42);
        assert!(get(server.addr()).ends_with("hello"));
        let addr = server.addr();
        server.stop();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still accepting"
        );
    }

    #[derive(Debug, PartialEq)]
    enum InitError {
        Mine,
        Server(String),
    }
    impl From<ServerError> for InitError {
        fn from(e: ServerError) -> Self {
            InitError::Server(e.to_string())
        }
    }

    #[test]
    fn init_and_bind_errors_come_back_to_the_caller() {
        let spec = ThreadSpec {
            name: "labcheck-test",
            port: 0,
            workers: 1,
        };
        let e = Server::spawn_thread(spec, || async { Err::<(Router, ()), _>(InitError::Mine) })
            .expect_err("init fails");
        assert_eq!(e, InitError::Mine);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let e = Server::spawn_thread(ThreadSpec { port, ..spec }, || async {
            Ok::<_, InitError>((Router::new(), ()))
        })
        .expect_err("port taken");
        assert!(
            matches!(&e, InitError::Server(m) if m.starts_with(&format!("cannot bind `127.0.0.1:{port}`"))),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_task_server_is_bound_when_spawn_returns() {
        let server = Server::spawn_task(0, Router::new().fallback(|| async { "hi" }))
            .await
            .expect("spawn");
        let addr = server.addr();
        let body = tokio::task::spawn_blocking(move || get(addr))
            .await
            .expect("join");
        assert!(body.ends_with("hi"), "{body}");
    }
}
