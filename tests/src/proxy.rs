//! A TCP proxy on a loopback port that passes bytes through to an upstream server and injects one
//! kind of network fault: a response cut in the middle of its body, or connections closed while
//! the request is still being read. HTTP/1.1 without pipelining is assumed, so the bytes that
//! follow a request on a connection are its response.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The fault to inject.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Closes the connection after `after` bytes of the response to the first request whose bytes
    /// contain `needle` (e.g. `GET /trail/AWSLogs`); every other exchange passes through.
    CutResponse {
        /// Bytes identifying the request.
        needle: Vec<u8>,
        /// Response bytes (head included) passed before the cut.
        after: usize,
    },
    /// Reads up to `after` bytes of the request on each of the first `connections` connections,
    /// then closes them without forwarding anything; later connections pass through.
    DropRequest {
        /// Connections dropped.
        connections: usize,
        /// Request bytes read before closing.
        after: usize,
    },
}

/// A running proxy, stopped on drop.
pub struct Proxy {
    addr: SocketAddr,
    faults: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults injected so far (responses cut or connections dropped).
    pub fn faults(&self) -> usize {
        self.faults.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The host and port of an `http://host:port` URI.
pub fn addr_of(uri: &str) -> SocketAddr {
    let rest = uri.strip_prefix("http://").unwrap_or(uri);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.parse().unwrap_or_else(|e| panic!("{uri}: not http://ip:port ({e})"))
}

/// Starts a proxy to `upstream` that injects `fault`.
pub async fn start(upstream: SocketAddr, fault: Fault) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
    let addr = listener.local_addr().expect("proxy address");
    let faults = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let cut_armed_once = Arc::new(AtomicBool::new(false));
    let task = {
        let faults = faults.clone();
        let connections = connections.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let index = connections.fetch_add(1, Ordering::SeqCst);
                let fault = fault.clone();
                let faults = faults.clone();
                let cut_armed_once = cut_armed_once.clone();
                tokio::spawn(async move {
                    match fault {
                        Fault::DropRequest { connections, after } if index < connections => {
                            drop_after(client, after).await;
                            faults.fetch_add(1, Ordering::SeqCst);
                        }
                        Fault::DropRequest { .. } => pass(client, upstream, None, faults).await,
                        Fault::CutResponse { needle, after } => {
                            pass(client, upstream, Some((needle, after, cut_armed_once)), faults).await
                        }
                    }
                });
            }
        })
    };
    Proxy { addr, faults, connections, task }
}

async fn drop_after(mut client: TcpStream, after: usize) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut read = 0;
    while read < after {
        let want = (after - read).min(buf.len());
        match client.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    // Dropping the stream closes the connection with the request unanswered.
}

type Cut = (Vec<u8>, usize, Arc<AtomicBool>);

async fn pass(client: TcpStream, upstream: SocketAddr, cut: Option<Cut>, faults: Arc<AtomicUsize>) {
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set when a request on this connection matched the needle: its response is to be cut.
    let armed = Arc::new(AtomicBool::new(false));
    let (needle, after, once) = match cut {
        Some((needle, after, once)) => (needle, after, Some(once)),
        None => (Vec::new(), usize::MAX, None),
    };
    let upstream_pump = {
        let armed = armed.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut tail: Vec<u8> = Vec::new();
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if let Some(once) = &once {
                    tail.extend_from_slice(&buf[..n]);
                    if contains(&tail, &needle)
                        && once.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok()
                    {
                        armed.store(true, Ordering::SeqCst);
                    }
                    let keep = tail.len().saturating_sub(needle.len());
                    tail.drain(..keep);
                }
                if server_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut passed = 0usize;
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if armed.load(Ordering::SeqCst) {
            let allowed = after.saturating_sub(passed).min(n);
            if client_write.write_all(&buf[..allowed]).await.is_err() {
                break;
            }
            passed += allowed;
            if passed >= after {
                faults.fetch_add(1, Ordering::SeqCst);
                break;
            }
        } else if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upstream_pump.abort();
    // Both halves of the client stream are dropped here: the connection closes.
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
