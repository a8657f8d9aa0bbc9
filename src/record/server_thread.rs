//! An axum router served from its own thread and tokio runtime until stopped:
//! how the recording proxy and the verifying test upstream run beside the
//! (synchronous) trial threads. Stopping is graceful: in-flight answers finish
//! before the thread is joined.

use std::thread::JoinHandle;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::sync::oneshot;

/// A running server; stops (and joins its thread) on [`stop`](Self::stop) or drop.
pub(crate) struct ServerThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Serves `app` on `listener` (bound on `rt`) from a thread named `name`.
    pub(crate) fn spawn(
        rt: tokio::runtime::Runtime,
        listener: tokio::net::TcpListener,
        app: Router,
        name: &str,
    ) -> std::io::Result<ServerThread> {
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                rt.block_on(async move {
                    // Nagle would hold back small stream frames behind delayed ACKs.
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        Ok(ServerThread {
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops accepting, lets in-flight answers finish, joins the thread.
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
