//! A small hand-written HTTP/1.1 server on tokio's `TcpListener`, shared by the integration
//! tests (fault injection), `examples/load.rs` and `examples/bench.rs`.
//!
//! Each request is handed to a handler that picks an [`Action`]: a normal answer (keep-alive),
//! or one of the misbehaviours the fault tests need (hang, trickle the headers, reset mid-body,
//! a huge body, close without answering). The server counts connections, requests and body
//! bytes written, so tests can prove that nothing was sent, or nothing was sent twice.
//!
//! Included with `#[path]` from the tests and the examples; each uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The request target, e.g. `/api/otp/send`.
    pub path: String,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (read by `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A fixed answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers (`content-length` is added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An answer with this status, content type (if any) and body.
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        let headers = content_type
            .map(|t| vec![("content-type".to_owned(), t.to_owned())])
            .unwrap_or_default();
        Response {
            status,
            headers,
            body: body.into(),
        }
    }

    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::new(status, Some("application/json"), body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The bytes on the wire. Statuses that cannot carry a body (1xx, 204, 304) get none.
    pub fn encode(&self) -> Vec<u8> {
        let bodyless = self.status < 200 || self.status == 204 || self.status == 304;
        let body: &[u8] = if bodyless { &[] } else { &self.body };
        let mut out = Vec::with_capacity(128 + body.len());
        out.extend_from_slice(format!("HTTP/1.1 {} X\r\n", self.status).as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if !bodyless {
            out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        out
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer and keep the connection open.
    Respond(Response),
    /// Never answer; hold the connection until the client goes away.
    Hang,
    /// Write a valid 200 answer's status line and headers one byte per interval.
    TrickleHeaders(Duration),
    /// Declare a 1000-byte body, write 100 bytes of it, then reset the connection (RST).
    ResetMidBody,
    /// Answer 200 with a body of `bytes` bytes, declared with `Content-Length` or sent until
    /// the connection closes.
    HugeBody {
        /// The body size.
        bytes: u64,
        /// Whether `Content-Length` announces it.
        declared: bool,
    },
    /// Answer 200 declaring a `Content-Length` of `declared` bytes, write `body` in two pieces
    /// (flushed apart, so the client reads more than one chunk), then close the connection.
    FalseLength {
        /// The length announced.
        declared: u64,
        /// What is actually sent.
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Close,
}

/// What the server saw and did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Requests read in full.
    pub requests: AtomicU64,
    /// Bytes of huge bodies written.
    pub huge_bytes_written: AtomicU64,
}

type Handler = dyn Fn(&Request, u64) -> Action + Send + Sync;

/// A running server; stops accepting when dropped.
pub struct LocalServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    accept: JoinHandle<()>,
}

impl LocalServer {
    /// Starts a server on a free loopback port. `handler` gets each request and its number
    /// (0-based, across all connections).
    pub async fn start(handler: impl Fn(&Request, u64) -> Action + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, Arc::new(handler))
    }

    /// Starts a server that answers request `n` with `actions[n]`, and every later request
    /// with the last action.
    pub async fn scripted(actions: Vec<Action>) -> Self {
        assert!(!actions.is_empty(), "a script needs at least one action");
        Self::start(move |_, n| {
            let index = usize::try_from(n).unwrap_or(usize::MAX);
            actions[index.min(actions.len() - 1)].clone()
        })
        .await
    }

    /// Serves on an already bound listener.
    pub fn serve(listener: TcpListener, handler: Arc<Handler>) -> Self {
        let addr = listener.local_addr().expect("local address");
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                counters.connections.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, handler.clone(), counters.clone()));
            }
        });
        LocalServer {
            addr,
            stats,
            accept,
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Requests read so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Bytes of huge bodies written so far.
    pub fn huge_bytes_written(&self) -> u64 {
        self.stats.huge_bytes_written.load(Ordering::SeqCst)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A loopback URL where nothing listens (connections are refused).
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

async fn connection(mut stream: TcpStream, handler: Arc<Handler>, stats: Arc<Stats>) {
    let mut buf = Vec::with_capacity(4096);
    while let Some(request) = read_request(&mut stream, &mut buf).await {
        let n = stats.requests.fetch_add(1, Ordering::SeqCst);
        let keep_open = match handler(&request, n) {
            Action::Respond(response) => stream.write_all(&response.encode()).await.is_ok(),
            Action::Hang => {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(k) if k > 0) {}
                false
            }
            Action::TrickleHeaders(every) => {
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                for byte in head {
                    if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
                true
            }
            Action::ResetMidBody => {
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
                let _ = stream.write_all(head).await;
                let _ = stream.write_all(&[b' '; 100]).await;
                let _ = stream.flush().await;
                let _ = stream.set_zero_linger();
                false
            }
            Action::HugeBody { bytes, declared } => {
                let head = if declared {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {bytes}\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                        .to_owned()
                };
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    stats
                        .huge_bytes_written
                        .fetch_add(n as u64, Ordering::SeqCst);
                    left -= n as u64;
                }
                declared
            }
            Action::FalseLength { declared, body } => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n");
                let (first, second) = body.split_at(body.len() / 2);
                for piece in [head.as_bytes(), first, second] {
                    if stream.write_all(piece).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                    // Pacing only: the pieces reach the client as separate reads.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                false
            }
            Action::Close => false,
        };
        if !keep_open {
            return;
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` at end of stream or on junk.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let method = first.next()?.to_owned();
            let path = first.next()?.to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let length = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                if stream.read_buf(buf).await.ok()? == 0 {
                    return None;
                }
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return Some(Request {
                method,
                path,
                headers,
                body,
            });
        }
        if buf.len() > 1 << 20 || stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}
