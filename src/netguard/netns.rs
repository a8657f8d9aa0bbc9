//! A network namespace with only loopback, for a trial's child processes.
//!
//! The namespace is made by a short-lived thread (`unshare(CLONE_NEWNET)`
//! affects only the calling thread), which brings `lo` up and binds the
//! listeners the child will need *inside* it: a relay to the trial's replay
//! endpoint (which listens on the host's loopback, unreachable from inside)
//! and the refusing proxy. Sockets keep the namespace they were made in, so
//! the relay's outgoing connections, made from host threads, reach the
//! endpoint. The child joins the namespace with `setns` before `exec`.
//! Needs CAP_SYS_ADMIN (root, as in CI containers); otherwise the caller
//! falls back to the proxy guard alone.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;

use super::accept::Acceptor;

/// Listeners bound inside a fresh loopback-only namespace, and the namespace.
pub struct Namespace {
    pub ns: OwnedFd,
    pub relay: TcpListener,
    pub proxy: TcpListener,
    /// A second relay's listener, for the trial's setup-services emulator.
    pub services: TcpListener,
}

/// Creates the namespace, or says why it cannot (e.g. `EPERM` without root).
pub fn create() -> std::io::Result<Namespace> {
    std::thread::spawn(|| {
        // SAFETY: unshare with CLONE_NEWNET only changes this thread's
        // network namespace; the thread ends right after.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        loopback_up()?;
        let ns = File::open("/proc/thread-self/ns/net")?;
        Ok(Namespace {
            ns: ns.into(),
            relay: TcpListener::bind("127.0.0.1:0")?,
            proxy: TcpListener::bind("127.0.0.1:0")?,
            services: TcpListener::bind("127.0.0.1:0")?,
        })
    })
    .join()
    .map_err(|_| std::io::Error::other("the namespace thread panicked"))?
}

/// `ip link set lo up` in the current thread's namespace.
fn loopback_up() -> std::io::Result<()> {
    // SAFETY: plain socket + ioctl calls on a zeroed ifreq naming `lo`;
    // the socket is closed before returning.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if sock < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let mut rc = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            rc = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        }
        let err = std::io::Error::last_os_error();
        libc::close(sock);
        if rc != 0 { Err(err) } else { Ok(()) }
    }
}

/// Forwards every connection accepted on `listener` (inside the namespace)
/// to `target` (on the host), byte for byte, without buffering, so streamed
/// answers keep their timing.
pub fn relay(listener: TcpListener, target: SocketAddr) -> std::io::Result<Acceptor> {
    Acceptor::serve(listener, move |inside| {
        let Ok(outside) = TcpStream::connect(target) else {
            let _ = inside.shutdown(Shutdown::Both);
            return;
        };
        let _ = inside.set_nodelay(true);
        let _ = outside.set_nodelay(true);
        let (Ok(inside2), Ok(outside2)) = (inside.try_clone(), outside.try_clone()) else {
            return;
        };
        let up = std::thread::spawn(move || pump(inside, outside));
        pump(outside2, inside2);
        let _ = up.join();
    })
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
