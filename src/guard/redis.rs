//! [`RedisStore`]: the guard's counters in Redis, shared by every process that names it
//! (cargo feature `redis`).
//!
//! A small RESP2 client over tokio's `TcpStream` rather than the `redis` crate: the guard needs
//! four Lua scripts (`EVALSHA`, falling back to `EVAL` once per connection when Redis has not
//! seen a script) and `PING`, and the hand-written client adds no dependency and no compile
//! time. Every guard check is one script, so one round trip, atomic on the Redis server.
//!
//! Connections are pooled. A connection that failed is dropped, and an idle one the server
//! closed (Redis restarted) is noticed before reuse, so the store recovers by itself when
//! Redis comes back. A call is never retried once its bytes may have reached Redis: a script
//! that ran twice would take two slots.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::redis_url::{parse_redis_url, RedisTarget};
use super::store::{Admission, Admitted, Attempt, Store};
use crate::error::{Error, ErrorKind};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 32;
/// The longest reply line or bulk string accepted from the server.
const MAX_REPLY: usize = 1 << 20;
/// The key passed where a script takes an in-flight key that the admission does not use.
const NO_KEY: &str = "otpkit:guard:none";

/// Takes the in-flight mark and a slot in every window, or nothing (see [`Store::admit`]).
/// Times come from the Redis server's clock, so instances with skewed clocks agree.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = ARGV[1]
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  local left = redis.call('PTTL', KEYS[1])
  if left ~= -2 then
    if left < 0 then left = ttl end
    return {1, left}
  end
end
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local span = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - span)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + span - now
    if wait < 0 then wait = 0 end
    return {2, i - 2, wait}
  end
end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ticket)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ticket, 'PX', ttl)
end
return {0}
";

/// Drops the in-flight mark if the ticket still holds it; on refund, takes the ticket's
/// entries back out of the windows.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if ARGV[2] == '1' then
  for i = 2, #KEYS do
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
return 0
";

/// Counts an attempt unless the limit is reached (-1).
const TAKE_ATTEMPT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  return -1
end
n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
";

/// Takes an attempt back (DECR keeps the key's expiry).
const GIVE_BACK: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('DECR', KEYS[1]) <= 0 then
    redis.call('DEL', KEYS[1])
  end
end
return 0
";

/// A Lua script and its SHA-1, for `EVALSHA`.
struct Script {
    source: &'static str,
    sha: String,
}

impl Script {
    fn new(source: &'static str) -> Self {
        let digest =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, source.as_bytes());
        let sha = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Script { source, sha }
    }
}

/// The guard's store in Redis, shared by every process that names it (cargo feature
/// `redis`). Each operation is one Lua script (`EVALSHA`), atomic on the server and timed by
/// its clock. Connections are pooled and re-opened after Redis restarts; a call is never
/// retried once it may have reached Redis. Use one Redis (not a Cluster): a check touches
/// several keys.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use otpkit::guard::{Guard, GuardConfig, RedisStore};
///
/// # fn run(inner: Box<dyn otpkit::OtpProvider>) -> Result<(), otpkit::Error> {
/// let store = RedisStore::new("redis://127.0.0.1:6379/0", Duration::from_secs(2), Duration::from_secs(1))?;
/// let rules = GuardConfig::from_toml_str("recipient_sends = [5, 3600]")?;
/// let provider = Guard::with_store(inner, &rules, Arc::new(store));
/// # Ok(()) }
/// ```
pub struct RedisStore {
    target: RedisTarget,
    timeout: Duration,
    connect_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    admit: Script,
    release: Script,
    take_attempt: Script,
    give_back: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.target.addr)
            .field("db", &self.target.db)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A reply from Redis (RESP2).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

struct Connection {
    stream: BufReader<TcpStream>,
}

impl RedisStore {
    /// A store for `redis://[user:password@]host[:port][/db]`. No connection is made until
    /// the first call. `timeout` bounds each call (connecting included), `connect_timeout` the
    /// connection alone.
    pub fn new(url: &str, timeout: Duration, connect_timeout: Duration) -> Result<Self, Error> {
        Ok(RedisStore {
            target: parse_redis_url(url)?,
            timeout,
            connect_timeout: connect_timeout.min(timeout),
            idle: Mutex::new(Vec::new()),
            admit: Script::new(ADMIT),
            release: Script::new(RELEASE),
            take_attempt: Script::new(TAKE_ATTEMPT),
            give_back: Script::new(GIVE_BACK),
        })
    }

    /// Asks Redis for `PONG`: `Ok` when the store answers within its timeout.
    pub async fn ping(&self) -> Result<(), Error> {
        match self.call(&[b"PING"], None).await? {
            Reply::Status(pong) if pong == "PONG" => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    fn unavailable(&self, why: impl fmt::Display) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "the guard's store (Redis at {}) {why}; nothing was sent",
                self.target.addr
            ),
        )
    }

    fn unexpected(&self, reply: &Reply) -> Error {
        let what = match reply {
            Reply::Error(message) => format!("answered with an error: {}", crate::scrub(message)),
            _ => "gave an answer the guard does not understand".to_owned(),
        };
        self.unavailable(what)
    }

    /// Runs one command on a pooled (or new) connection, within the store's timeout; when
    /// Redis answers `NOSCRIPT`, runs it again as `EVAL` with `script` in place of the hash.
    /// The connection goes back to the pool only when the exchange succeeded.
    async fn call(&self, args: &[&[u8]], script: Option<&str>) -> Result<Reply, Error> {
        let attempt = async {
            let mut conn = match self.take_idle() {
                Some(conn) => conn,
                None => self.connect().await?,
            };
            let mut result = conn.command(args).await;
            if let (Ok(Reply::Error(e)), Some(source)) = (&result, script) {
                if e.starts_with("NOSCRIPT") {
                    let mut eval = args.to_vec();
                    eval[0] = b"EVAL";
                    eval[1] = source.as_bytes();
                    result = conn.command(&eval).await;
                }
            }
            match result {
                Ok(reply) => {
                    self.put_idle(conn);
                    Ok(reply)
                }
                Err(why) => {
                    // The server is probably gone: the other idle connections are stale too.
                    self.lock_idle().clear();
                    Err(self.unavailable(why))
                }
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(self.unavailable(format_args!(
                "did not answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The pool holds no invariant a panic could break; keep using it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection the server has not closed, if any.
    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.lock_idle();
        while let Some(conn) = idle.pop() {
            if conn.is_open() {
                return Some(conn);
            }
        }
        None
    }

    fn put_idle(&self, conn: Connection) {
        let mut idle = self.lock_idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<Connection, Error> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.target.addr))
                .await
                .map_err(|_| self.unavailable("could not be reached in time"))?
                .map_err(|e| {
                    self.unavailable(format_args!("could not be reached ({})", e.kind()))
                })?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            stream: BufReader::new(stream),
        };
        if let Some(password) = &self.target.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.target.user {
                args.push(user.as_bytes());
            }
            args.push(password.expose().as_bytes());
            let reply = conn
                .command(&args)
                .await
                .map_err(|why| self.unavailable(why))?;
            if !matches!(reply, Reply::Status(_)) {
                return Err(self.unavailable("refused the configured password"));
            }
        }
        if self.target.db != 0 {
            let db = self.target.db.to_string();
            let reply = conn
                .command(&[b"SELECT", db.as_bytes()])
                .await
                .map_err(|why| self.unavailable(why))?;
            if !matches!(reply, Reply::Status(_)) {
                return Err(self.unexpected(&reply));
            }
        }
        Ok(conn)
    }

    /// Runs a script: `EVALSHA`, and `EVAL` when the server does not know it yet.
    async fn eval(&self, script: &Script, keys: &[&str], args: &[String]) -> Result<Reply, Error> {
        let numkeys = keys.len().to_string();
        let mut line: Vec<&[u8]> = vec![b"EVALSHA", script.sha.as_bytes(), numkeys.as_bytes()];
        line.extend(keys.iter().map(|k| k.as_bytes()));
        line.extend(args.iter().map(String::as_bytes));
        let reply = self.call(&line, Some(script.source)).await?;
        if let Reply::Error(_) = reply {
            return Err(self.unexpected(&reply));
        }
        Ok(reply)
    }
}

impl Connection {
    /// Whether the server has not closed this idle connection (a closed one reads end of
    /// file at once; a live one has nothing to read).
    fn is_open(&self) -> bool {
        if !self.stream.buffer().is_empty() {
            return false; // Unread bytes between exchanges: out of step, do not reuse.
        }
        let mut probe = [0u8; 1];
        matches!(
            self.stream.get_ref().try_read(&mut probe),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        )
    }

    /// Sends one command and reads its reply.
    async fn command(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut out = Vec::with_capacity(64 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        let io = |e: std::io::Error| format!("lost the connection ({})", e.kind());
        self.stream.write_all(&out).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;
        read_reply(&mut self.stream, 0).await
    }
}

/// Reads one RESP2 reply; arrays nest at most a few levels (the scripts return flat arrays).
fn read_reply<'a>(
    stream: &'a mut BufReader<TcpStream>,
    depth: usize,
) -> Pin<Box<dyn Future<Output = Result<Reply, String>> + Send + 'a>> {
    Box::pin(async move {
        let mut line = Vec::new();
        let read = (&mut *stream)
            .take(MAX_REPLY as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("lost the connection ({})", e.kind()))?;
        if read == 0 {
            return Err("closed the connection".to_owned());
        }
        let Some(body) = line.strip_suffix(b"\r\n") else {
            return Err("sent a reply line that does not end".to_owned());
        };
        let (&tag, rest) = body.split_first().ok_or("sent an empty reply line")?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let number = || {
            text.parse::<i64>()
                .map_err(|_| "sent a malformed number".to_owned())
        };
        Ok(match tag {
            b'+' => Reply::Status(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Integer(number()?),
            b'$' => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > MAX_REPLY {
                    return Err("sent a reply too large for the guard".to_owned());
                }
                let mut data = vec![0; len + 2];
                stream
                    .read_exact(&mut data)
                    .await
                    .map_err(|e| format!("lost the connection ({})", e.kind()))?;
                data.truncate(len);
                Reply::Bulk(Some(data))
            }
            b'*' => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                if depth > 4 || len > 1024 {
                    return Err("sent a reply too large for the guard".to_owned());
                }
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(read_reply(stream, depth + 1).await?);
                }
                Reply::Array(Some(items))
            }
            _ => return Err("does not speak the Redis protocol".to_owned()),
        })
    })
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

fn integers(reply: &Reply) -> Option<Vec<i64>> {
    match reply {
        Reply::Array(Some(items)) => items
            .iter()
            .map(|item| match item {
                Reply::Integer(n) => Some(*n),
                _ => None,
            })
            .collect(),
        Reply::Integer(n) => Some(vec![*n]),
        _ => None,
    }
}

fn wait(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[async_trait]
impl Store for RedisStore {
    async fn admit(&self, admission: &Admission) -> Result<Admitted, Error> {
        let mut keys = vec![admission.in_flight.as_deref().unwrap_or(NO_KEY)];
        keys.extend(admission.windows.iter().map(|w| w.key.as_str()));
        let mut args = vec![
            admission.ticket.clone(),
            match admission.in_flight {
                Some(_) => millis(admission.in_flight_ttl),
                None => "0".to_owned(),
            },
        ];
        for window in &admission.windows {
            args.push(window.limit.to_string());
            args.push(millis(window.window));
        }
        let reply = self.eval(&self.admit, &keys, &args).await?;
        match integers(&reply).as_deref() {
            Some([0]) => Ok(Admitted::Yes),
            Some([1, left]) => Ok(Admitted::InFlight(wait(*left))),
            Some([2, index, frees]) => Ok(Admitted::Full(
                usize::try_from(*index).unwrap_or(usize::MAX),
                wait(*frees),
            )),
            _ => Err(self.unexpected(&reply)),
        }
    }

    async fn release(
        &self,
        in_flight: Option<&str>,
        ticket: &str,
        windows: &[String],
        refund: bool,
    ) -> Result<(), Error> {
        let mut keys = vec![in_flight.unwrap_or(NO_KEY)];
        keys.extend(windows.iter().map(String::as_str));
        let args = [ticket.to_owned(), if refund { "1" } else { "0" }.to_owned()];
        self.eval(&self.release, &keys, &args).await.map(|_| ())
    }

    async fn take_attempt(&self, key: &str, limit: u32, ttl: Duration) -> Result<Attempt, Error> {
        let args = [limit.to_string(), millis(ttl)];
        let reply = self.eval(&self.take_attempt, &[key], &args).await?;
        match reply {
            Reply::Integer(-1) => Ok(Attempt::Exhausted),
            Reply::Integer(n) if n > 0 => Ok(Attempt::Taken(u32::try_from(n).unwrap_or(u32::MAX))),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn give_back_attempt(&self, key: &str) -> Result<(), Error> {
        self.eval(&self.give_back, &[key], &[]).await.map(|_| ())
    }
}
