//! An accept loop on its own thread that stops when dropped, for listeners
//! that may live in another network namespace (so no wake-up connection).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Serves connections of one listener, one thread per connection.
pub struct Acceptor {
    pub addr: SocketAddr,
    listener_fd: RawFd,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    pub fn serve<F>(listener: TcpListener, handle: F) -> std::io::Result<Acceptor>
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let addr = listener.local_addr()?;
        let listener_fd = listener.as_raw_fd();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                loop {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let handle = Arc::clone(&handle);
                            std::thread::spawn(move || handle(conn));
                        }
                        Err(_) if stop.load(Ordering::SeqCst) => break,
                        Err(_) => continue,
                    }
                }
            })
        };
        Ok(Acceptor {
            addr,
            listener_fd,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // On Linux, shutting a listening socket down wakes a blocked accept()
        // with an error, whatever namespace the socket lives in.
        // SAFETY: the fd is the listener's and still open: its thread owns the
        // listener until the join below.
        unsafe {
            libc::shutdown(self.listener_fd, libc::SHUT_RDWR);
        }
        if let Some(t) = self.thread.take() {
            let _joined = t.join();
        }
    }
}
