//! A Thaaigroup look-alike for the load and bench examples, run in a child process (the same
//! executable with the argument `serve`) so the measured process holds only the client side:
//! its allocations, memory and file descriptors.
//!
//! Every answer is derived from its request: a send for `userN@load.example` says
//! `expires_in = 1000 + N`, and a verify succeeds only with the code [`code_for`] that email, so
//! a flow can check that it got its own answers back.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use crate::local_server::{Action, LocalServer, Request, Response};

/// The recipient of flow `n`.
pub fn email_for(n: u64) -> String {
    format!("user{n}@load.example")
}

/// The code the server accepts for `email` (FNV-1a, six digits).
pub fn code_for(email: &str) -> String {
    let hash = email.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:06}", hash % 1_000_000)
}

/// The `expires_in` the server answers a send for `email` with.
pub fn expires_for(email: &str) -> Option<u64> {
    let n: u64 = email
        .strip_prefix("user")?
        .split('@')
        .next()?
        .parse()
        .ok()?;
    Some(1000 + n)
}

/// Answers like Thaaigroup, derived from the request.
pub fn answer(request: &Request, _n: u64) -> Action {
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let email = body["email"].as_str().unwrap_or_default();
    if request.path.ends_with("/verify") {
        if body["otp"].as_str() == Some(code_for(email).as_str()) {
            return Action::Respond(Response::json(200, r#"{"ok":true,"verified":true}"#));
        }
        return Action::Respond(Response::json(
            422,
            r#"{"ok":false,"error_code":"OTP_INVALID","message":"Invalid or expired OTP"}"#,
        ));
    }
    match expires_for(email) {
        Some(expires) => Action::Respond(Response::json(
            200,
            format!(r#"{{"ok":true,"message":"OTP sent","expires_in":{expires},"cooldown":60}}"#),
        )),
        None => Action::Respond(Response::json(
            422,
            r#"{"ok":false,"error_code":"INVALID_EMAIL","message":"bad email"}"#,
        )),
    }
}

/// When this process was started as the server (`<exe> serve`): serve until standard input
/// closes, then exit. Otherwise return.
pub fn serve_if_child() {
    if std::env::args().nth(1).as_deref() != Some("serve") {
        return;
    }
    // One thread: on a small machine the server then takes one core's worth at most and
    // leaves the rest to the measured client.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = LocalServer::start(answer).await;
        println!("{}", server.url());
        std::io::stdout().flush().expect("stdout");
        // The parent closes our standard input when it is done.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        })
        .await
        .expect("stdin watcher");
    });
    std::process::exit(0);
}

/// The server child; killed when dropped.
pub struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    /// Starts this executable as the server and waits for its URL.
    pub fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server child starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("child stdout"))
            .read_line(&mut line)
            .expect("server URL");
        ServerProcess {
            child,
            url: line.trim().to_owned(),
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The high-water mark of this process's resident memory, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
