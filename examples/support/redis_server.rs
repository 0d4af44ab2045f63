//! A throwaway `redis-server` on a free loopback port, with no persistence and a temporary
//! directory, stopped (and its directory removed) when dropped. Shared by the Redis tests of
//! the guard and the `guard_load` and `guard_cost` examples (included with `#[path]`).
//!
//! Starting it is never optional: when `redis-server` is missing or does not answer, `start`
//! returns an error and the tests fail rather than skip.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub fn start() -> Result<Self, String> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("otpkit-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.restart()?;
        Ok(server)
    }

    /// The URL for the guard's `store`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (like a crash: SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`RedisServer::kill`]); its data is gone.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start redis-server ({e}); install it (apt-get install redis-server)"
                )
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("redis-server exited at once ({status})"));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err("redis-server did not answer PING within 10 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one command (written out in RESP) and returns the raw reply.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
            .map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let mut out = format!("*{}\r\n", args.len());
        for arg in args {
            out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream
            .write_all(out.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reply = vec![0; 65536];
        let n = stream.read(&mut reply).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&reply[..n]).into_owned())
    }

    fn ping(&self) -> bool {
        self.command(&["PING"])
            .is_ok_and(|r| r.starts_with("+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
