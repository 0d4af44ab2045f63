//! A local stand-in for all five providers, like a mail catcher for SMTP (cargo feature
//! `sandbox`).
//!
//! [`Sandbox::start`] starts an HTTP server on `127.0.0.1` inside the current tokio runtime. It
//! speaks each provider's wire protocol as the vendor documents describe it, under one path
//! prefix per provider that also reproduces the provider's documented base path:
//!
//! | provider | base URL | operations |
//! |---|---|---|
//! | `thaaigroup` | `http://127.0.0.1:PORT/thaaigroup` | `POST api/otp/send`, `POST api/otp/verify` |
//! | `hyperverge` | `…/hyperverge/v1` | `POST sendOTPEmail`, `retryOTPEmail`, `verifyOTPEmail`, `verifyMobileSendOtp`, `verifyMobileOtp`, `resendOtp` |
//! | `generic` | `…/generic` | `POST otp/send`, `otp/verify`, `otp/resend`; `GET otp/status`, `otp/list`, `otp/logs`, `otp/attempts`, `otp/reports`, `otp/rate-limits` |
//! | `thundersms` | `…/thundersms/api/v2/` | `POST verify/send`, `GET verify/check/{id}/{token}`, `GET verify/search/{id}` |
//! | `tencent_ciam` | `…/tencent_ciam` | `POST otp/send`, `POST oauth2/token`, `POST reset_user_password` |
//!
//! It is written from the vendor documents (`providers.md` and the seeds), not from otpkit's
//! adapters, so the two check each other. It is stateful: codes expire
//! ([`SandboxOptions::code_ttl`]), work once, allow [`SandboxOptions::max_attempts`] wrong
//! tries, refuse a resend inside [`SandboxOptions::resend_cooldown`] and count sends against
//! [`SandboxOptions::quota`]. Credentials are checked the way each vendor does; the ones that
//! work are in [`Sandbox::config`].
//!
//! ```
//! use otpkit::sandbox::{Failure, Sandbox};
//! use otpkit::{ErrorKind, SendRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), otpkit::Error> {
//! let sandbox = Sandbox::start().await?;
//! let provider = sandbox.config("thaaigroup")?.build()?;
//!
//! let receipt = provider.send(&SendRequest::new("jane@example.com".parse()?)).await?;
//! let code = sandbox.last_code("jane@example.com").expect("a code was issued");
//! provider.verify(&receipt.verification, &code).await?;
//!
//! // Force the next answer into a documented failure.
//! sandbox.fail_next("thaaigroup", Failure::QuotaExceeded)?;
//! let err = provider.send(&SendRequest::new("joe@example.com".parse()?)).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
//! # Ok(()) }
//! ```
//!
//! What each [`Failure`] looks like on each provider's wire is listed on [`Failure`]. Processes
//! that cannot call [`Sandbox::fail_next`] (the command-line example, another language) can queue
//! one with `curl -X POST http://127.0.0.1:PORT/_sandbox/fail/{provider}/{failure}`, the failure
//! named as by [`Failure::as_str`].

mod generic;
mod hyperverge;
mod tencent_ciam;
mod thaaigroup;
mod thundersms;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::ProviderConfig;
use crate::error::{Error, ErrorKind};
use crate::random::random_u64;
use crate::recipient::Recipient;
use crate::secret::Secret;

/// How the sandbox behaves. Start from [`SandboxOptions::default`] and change what you need.
///
/// ```
/// use std::time::Duration;
/// use otpkit::sandbox::SandboxOptions;
///
/// let options = SandboxOptions::default()
///     .resend_cooldown(Duration::from_secs(5))
///     .max_attempts(5);
/// assert_eq!(options.code_ttl, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxOptions {
    /// How long a code lives where the request does not say (default 300 s). ThunderSMS takes
    /// `payload.timeout`, HyperVerge mobile `otpExpiry`, and Tencent CIAM without an
    /// `auth_source_id` uses its documented 60 s.
    pub code_ttl: Duration,
    /// The least time between two sends to one recipient (default 30 s, Tencent's documented
    /// "one SMS per number per 30 s").
    pub resend_cooldown: Duration,
    /// Wrong codes allowed per issued code (default 3); after that the code is burned.
    pub max_attempts: u32,
    /// Sends allowed per provider over the sandbox's life (default 1000).
    pub quota: u64,
    /// Digits in a code where the request does not say (default 6).
    pub code_length: u8,
    /// How long [`Failure::Hang`] keeps a request waiting before giving up with a 504
    /// (default 600 s); the wait also ends when the sandbox is dropped.
    pub hang: Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            code_ttl: Duration::from_secs(300),
            resend_cooldown: Duration::from_secs(30),
            max_attempts: 3,
            quota: 1000,
            code_length: 6,
            hang: Duration::from_secs(600),
        }
    }
}

impl SandboxOptions {
    /// Sets [`SandboxOptions::code_ttl`].
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Sets [`SandboxOptions::resend_cooldown`].
    pub fn resend_cooldown(mut self, cooldown: Duration) -> Self {
        self.resend_cooldown = cooldown;
        self
    }

    /// Sets [`SandboxOptions::max_attempts`].
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`SandboxOptions::quota`].
    pub fn quota(mut self, quota: u64) -> Self {
        self.quota = quota;
        self
    }

    /// Sets [`SandboxOptions::code_length`] (clamped to 4–10).
    pub fn code_length(mut self, length: u8) -> Self {
        self.code_length = length.clamp(4, 10);
        self
    }

    /// Sets [`SandboxOptions::hang`].
    pub fn hang(mut self, hang: Duration) -> Self {
        self.hang = hang;
        self
    }
}

/// A documented failure to force with [`Sandbox::fail_next`]. Each provider answers its own
/// documented shape; where a vendor documents none for a failure, the sandbox answers the
/// nearest documented equivalent:
///
/// | failure | thaaigroup | hyperverge | generic | thundersms | tencent_ciam |
/// |---|---|---|---|---|---|
/// | `Cooldown` | 429 `RESEND_COOLDOWN` + `retry_after` | 429 "Rate limit exceeded" (no cooldown documented) | 429 `RATE_LIMITED` + `Retry-After` + `retry_after` | 429 "Too Many Attempts." + `Retry-After` (Laravel throttle) | 400 `sms_rate_limit_exceeded` |
/// | `QuotaExceeded` | 429 `QUOTA_EXCEEDED` + quota, used, reset_at | 403 "Access Denied" (no quota documented) | 402 `INSUFFICIENT_BALANCE` | 402 "Insufficient balance" | 400 `insufficient_sms_quota` / `insufficient_email_quota` |
/// | `RateLimited` | 429 `RATE_LIMITED` | 429 "Rate limit exceeded" | 429 `RATE_LIMITED` + `Retry-After` | 429 "Too Many Attempts." + `Retry-After` | 400 `sms_rate_limit_exceeded` |
/// | `ServerError` | 500 `SERVER_ERROR` (undocumented) | 500 "Internal Server Error" | 500 `INTERNAL_ERROR` | 500 "Server Error" | 503 `temporarily_unavailable` |
/// | `BadCredentials` | 401 `INVALID_CLIENT` | 401 "Missing/Invalid credentials" | 401 `UNAUTHORIZED` | 401 "Unauthenticated." | 401 `invalid_client` |
/// | `HtmlPage` | 200 `text/html` page (a captive portal or misrouted proxy) | same | same | same | same |
/// | `Hang` | no answer for [`SandboxOptions::hang`] | same | same | same | same |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// A resend asked too soon.
    Cooldown,
    /// The plan's quota or balance is used up.
    QuotaExceeded,
    /// Throttled.
    RateLimited,
    /// A provider-side failure (5xx).
    ServerError,
    /// The credentials are refused.
    BadCredentials,
    /// An HTML page with HTTP 200 where JSON was expected.
    HtmlPage,
    /// No answer at all: the client's timeout has to end the exchange.
    Hang,
}

impl Failure {
    /// Every failure.
    pub const ALL: [Failure; 7] = [
        Failure::Cooldown,
        Failure::QuotaExceeded,
        Failure::RateLimited,
        Failure::ServerError,
        Failure::BadCredentials,
        Failure::HtmlPage,
        Failure::Hang,
    ];

    /// The failure named by [`Failure::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Failure::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// A short snake_case name (`cooldown`, `quota_exceeded`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Cooldown => "cooldown",
            Failure::QuotaExceeded => "quota_exceeded",
            Failure::RateLimited => "rate_limited",
            Failure::ServerError => "server_error",
            Failure::BadCredentials => "bad_credentials",
            Failure::HtmlPage => "html_page",
            Failure::Hang => "hang",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code the sandbox issued: what a real provider would have put in the email or message.
///
/// `Debug` masks the recipient and never shows the code.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedCode {
    /// The provider id.
    pub provider: &'static str,
    /// The recipient: a lower-case email, or an E.164 phone number with `+` (rebuilt from the
    /// provider's own form, e.g. ThunderSMS's digits or Tencent's 11-digit mainland number).
    pub recipient: String,
    /// The code.
    pub code: Secret,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("provider", &self.provider)
            .field("recipient", &mask(&self.recipient))
            .field("code", &self.code)
            .finish()
    }
}

/// The recipient masked the way otpkit prints recipients, or `***` when it does not parse.
fn mask(recipient: &str) -> String {
    Recipient::parse(recipient).map_or_else(|_| "***".to_owned(), |r| r.masked())
}

/// The provider sandbox: an HTTP server on a local port, stopped when this value is dropped.
///
/// See the [module documentation](self) for the routes and an example.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("options", &self.shared.options)
            .finish()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection too.
        self.server.abort();
    }
}

impl Sandbox {
    /// The provider ids the sandbox serves, whether or not their adapters are compiled in.
    pub const PROVIDERS: [&'static str; 5] = [
        thaaigroup::ID,
        hyperverge::ID,
        generic::ID,
        thundersms::ID,
        tencent_ciam::ID,
    ];

    /// Starts a sandbox with default options on `127.0.0.1` and a free port. Must be called
    /// inside a tokio runtime; the server runs as tasks on it.
    pub async fn start() -> Result<Self, Error> {
        Self::with_options(SandboxOptions::default()).await
    }

    /// Starts a sandbox with these options on `127.0.0.1` and a free port.
    pub async fn with_options(options: SandboxOptions) -> Result<Self, Error> {
        Self::bind_with(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await
    }

    /// Starts a sandbox with default options on this address (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> Result<Self, Error> {
        Self::bind_with(addr, SandboxOptions::default()).await
    }

    /// Starts a sandbox with these options on this address.
    pub async fn bind_with(addr: SocketAddr, options: SandboxOptions) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("the sandbox cannot listen on {addr}: {e}"),
            )
            .with_source(e)
        })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("the sandbox's address is unknown: {e}"),
            )
        })?;
        let (issued_tx, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            options,
            origin: format!("http://{addr}"),
            state: Mutex::new(State::default()),
            issued_tx,
        });
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Sandbox {
            shared,
            addr,
            server,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The options in force.
    pub fn options(&self) -> &SandboxOptions {
        &self.shared.options
    }

    /// The server's root, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.shared.origin
    }

    /// A provider's base URL, the value of `base_url` in its config (e.g.
    /// `http://127.0.0.1:PORT/hyperverge/v1`); `None` for an unknown id.
    pub fn base_url(&self, provider: &str) -> Option<String> {
        route(provider).map(|r| self.shared.base_url(r))
    }

    /// A provider's ready-made configuration as a JSON object, with the contract's keys and
    /// credentials the sandbox accepts. Change it (a shorter `timeout_secs`, a wrong secret)
    /// and read it with [`ProviderConfig::from_json_str`]. Works for all five ids, compiled in
    /// or not.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), otpkit::Error> {
    /// let sandbox = otpkit::sandbox::Sandbox::start().await?;
    /// let mut config = sandbox.config_json("thaaigroup")?;
    /// config["timeout_secs"] = 1.into();
    /// let provider = otpkit::ProviderConfig::from_json_str(&config.to_string())?.build()?;
    /// # let _ = provider; Ok(()) }
    /// ```
    pub fn config_json(&self, provider: &str) -> Result<Value, Error> {
        let route = route(provider).ok_or_else(|| unknown_provider(provider))?;
        Ok((route.config)(&self.shared.base_url(route)))
    }

    /// A provider's ready-made configuration ([`Sandbox::config_json`]), parsed. A provider whose
    /// adapter is not compiled in is a `config` error.
    pub fn config(&self, provider: &str) -> Result<ProviderConfig, Error> {
        ProviderConfig::from_json_str(&self.config_json(provider)?.to_string())
    }

    /// A provider's ready-made configuration as a TOML document, for
    /// `cargo run --example otpkit -- --config FILE`.
    pub fn config_toml(&self, provider: &str) -> Result<String, Error> {
        let config = self.config_json(provider)?;
        let Value::Object(map) = config else {
            return Err(Error::new(
                ErrorKind::Config,
                "the sandbox config is not an object",
            ));
        };
        Ok(to_toml(&map))
    }

    /// The last code issued to a recipient by any provider, for tests: an email (any case) or
    /// an E.164 phone number with `+`.
    pub fn last_code(&self, recipient: &str) -> Option<String> {
        let wanted = normalize(recipient);
        self.shared
            .lock()
            .issued
            .iter()
            .rev()
            .find(|issued| issued.recipient == wanted)
            .map(|issued| issued.code.expose().to_owned())
    }

    /// Every code issued so far, oldest first.
    pub fn issued(&self) -> Vec<IssuedCode> {
        self.shared.lock().issued.clone()
    }

    /// A live feed of codes as they are issued (what the `sandbox` example prints). A receiver
    /// that falls more than 256 codes behind loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<IssuedCode> {
        self.shared.issued_tx.subscribe()
    }

    /// Makes the provider's next answer (to any of its routes) the given failure instead of the
    /// real one. Calls queue: two calls fail the next two requests.
    pub fn fail_next(&self, provider: &str, failure: Failure) -> Result<(), Error> {
        let route = route(provider).ok_or_else(|| unknown_provider(provider))?;
        self.shared.queue_failure(route.id, failure);
        Ok(())
    }

    /// Drops every failure queued with [`Sandbox::fail_next`].
    pub fn clear_failures(&self) {
        self.shared.lock().failures.clear();
    }

    /// Moves the sandbox's clock forward: codes expire, cooldowns end and `otp_token`s age as if
    /// this much time had passed. Lets tests see expiry without sleeping.
    pub fn advance(&self, by: Duration) {
        let mut state = self.shared.lock();
        state.clock_offset = state.clock_offset.saturating_add(by).min(CENTURY);
    }
}

fn unknown_provider(provider: &str) -> Error {
    Error::config(
        "provider",
        format!(
            "the sandbox serves {}, not `{provider}`",
            Sandbox::PROVIDERS.join(", ")
        ),
    )
}

/// One provider's place in the sandbox.
struct Route {
    id: &'static str,
    /// The path prefix, with the documented base path and a trailing `/`.
    prefix: &'static str,
    handle: fn(&Shared, &Req) -> Reply,
    failure: fn(&Shared, &Req, Failure) -> Reply,
    config: fn(&str) -> Value,
}

const ROUTES: [Route; 5] = [
    Route {
        id: thaaigroup::ID,
        prefix: thaaigroup::PREFIX,
        handle: thaaigroup::handle,
        failure: thaaigroup::failure,
        config: thaaigroup::config,
    },
    Route {
        id: hyperverge::ID,
        prefix: hyperverge::PREFIX,
        handle: hyperverge::handle,
        failure: hyperverge::failure,
        config: hyperverge::config,
    },
    Route {
        id: generic::ID,
        prefix: generic::PREFIX,
        handle: generic::handle,
        failure: generic::failure,
        config: generic::config,
    },
    Route {
        id: thundersms::ID,
        prefix: thundersms::PREFIX,
        handle: thundersms::handle,
        failure: thundersms::failure,
        config: thundersms::config,
    },
    Route {
        id: tencent_ciam::ID,
        prefix: tencent_ciam::PREFIX,
        handle: tencent_ciam::handle,
        failure: tencent_ciam::failure,
        config: tencent_ciam::config,
    },
];

fn route(provider: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.id == provider)
}

// ---------------------------------------------------------------------------------------------
// Server

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(serve(&shared, request).await) }
            });
            // A client that goes away mid-exchange is its own business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(shared: &Shared, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if let Some(rest) = path.strip_prefix(CONTROL_PREFIX) {
        return control(shared, parts.method.as_str(), rest).into_response();
    }
    let Some(route) = ROUTES.iter().find(|r| path.starts_with(r.prefix)) else {
        return Reply::json(
            404,
            json!({"message": "not a sandbox route", "routes": ROUTES.iter().map(|r| r.prefix).collect::<Vec<_>>()}),
        )
        .into_response();
    };
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Reply::json(413, json!({"message": "request body too large"})).into_response()
        }
    };
    let req = Req {
        method: parts.method.as_str().to_owned(),
        path: path[route.prefix.len()..].to_owned(),
        query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body,
    };
    let injected = shared
        .lock()
        .failures
        .get_mut(route.id)
        .and_then(VecDeque::pop_front);
    let reply = match injected {
        Some(Failure::Hang) => {
            tokio::time::sleep(shared.options.hang).await;
            Reply::json(504, json!({"message": "the sandbox hung on purpose"}))
        }
        Some(Failure::HtmlPage) => Reply::html(
            200,
            "<!DOCTYPE html><html><head><title>Sign in to the network</title></head>\
             <body><h1>Sign in to continue</h1><p>This page was served by the otpkit sandbox \
             in place of the provider's JSON.</p></body></html>",
        ),
        Some(failure) => (route.failure)(shared, &req, failure),
        None => (route.handle)(shared, &req),
    };
    reply.into_response()
}

/// Where the control routes live: `POST /_sandbox/fail/{provider}/{failure}` queues a failure
/// (as [`Sandbox::fail_next`]) for processes that cannot call the Rust API, such as the
/// command-line example.
const CONTROL_PREFIX: &str = "/_sandbox/";

fn control(shared: &Shared, method: &str, rest: &str) -> Reply {
    let parts: Vec<&str> = rest.split('/').collect();
    let ["fail", provider, failure] = parts.as_slice() else {
        return Reply::json(
            404,
            json!({"message": "POST /_sandbox/fail/{provider}/{failure}"}),
        );
    };
    if method != "POST" {
        return Reply::json(405, json!({"message": "use POST"}));
    }
    let (Some(route), Some(failure)) = (route(provider), Failure::parse(failure)) else {
        return Reply::json(
            404,
            json!({
                "message": "unknown provider or failure",
                "providers": Sandbox::PROVIDERS,
                "failures": Failure::ALL.map(Failure::as_str),
            }),
        );
    };
    shared.queue_failure(route.id, failure);
    Reply::json(
        200,
        json!({"queued": failure.as_str(), "provider": route.id}),
    )
}

// ---------------------------------------------------------------------------------------------
// Requests and replies, as plain data for the provider modules.

/// A request as a provider module sees it.
pub(crate) struct Req {
    /// `GET`, `POST`, …
    method: String,
    /// The path after the provider's prefix, e.g. `api/otp/send`.
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, or `None`.
    fn json(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// The token of `Authorization: Bearer <token>`.
    fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The user and password of `Authorization: Basic <base64(user:password)>`, undecoded.
    fn basic(&self) -> Option<(String, String)> {
        use base64::Engine as _;
        let value = self.header("authorization")?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

/// An answer, as plain data.
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    fn html(status: u16, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/html; charset=UTF-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn empty(status: u16) -> Self {
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut builder = hyper::Response::builder()
            .status(self.status)
            .header("content-type", self.content_type);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| {
                let mut response = hyper::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                response
            })
    }
}

/// A Laravel validation answer: 422 `{message, errors: {field: [message]}}`, the message being
/// the first one plus "(and N more errors)".
fn laravel_422(errors: &[(String, String)]) -> Reply {
    let mut by_field = Map::new();
    for (field, message) in errors {
        if let Value::Array(list) = by_field
            .entry(field.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(json!(message));
        }
    }
    let first = errors
        .first()
        .map_or("The given data was invalid.", |e| &e.1);
    let message = match errors.len() {
        0 | 1 => first.to_owned(),
        2 => format!("{first} (and 1 more error)"),
        n => format!("{first} (and {} more errors)", n - 1),
    };
    Reply::json(422, json!({"message": message, "errors": by_field}))
}

// ---------------------------------------------------------------------------------------------
// State

pub(crate) struct Shared {
    options: SandboxOptions,
    /// `http://127.0.0.1:PORT`
    origin: String,
    state: Mutex<State>,
    issued_tx: broadcast::Sender<IssuedCode>,
}

#[derive(Default)]
struct State {
    clock_offset: Duration,
    /// Issued codes by `provider:key`.
    otps: HashMap<String, Otp>,
    /// When each `provider:recipient` was last sent a code.
    last_sent: HashMap<String, Instant>,
    /// Sends per provider, for the quota.
    sent: HashMap<&'static str, u64>,
    failures: HashMap<&'static str, VecDeque<Failure>>,
    issued: Vec<IssuedCode>,
    /// What happened, for the generic service's `/otp/logs`.
    events: Vec<Event>,
    /// Known accounts (Tencent CIAM users) by recipient, with their password if set.
    accounts: HashMap<String, Option<String>>,
}

/// One line of the activity log.
#[derive(Clone)]
struct Event {
    provider: &'static str,
    key: String,
    what: &'static str,
    at: SystemTime,
}

/// An issued code and its bookkeeping.
#[derive(Clone)]
struct Otp {
    code: String,
    /// The normalized recipient (see [`IssuedCode::recipient`]).
    recipient: String,
    issued_at: Instant,
    /// Wall-clock time of issue, for the timestamps providers print.
    issued_wall: SystemTime,
    expires_at: Instant,
    ttl: Duration,
    attempts: u32,
    used: bool,
    /// Provider-specific facts (purpose, channel, usage, …).
    meta: Map<String, Value>,
}

impl Otp {
    fn is_expired(&self, now: Instant) -> bool {
        now >= self.expires_at
    }

    fn state(&self, now: Instant, max_attempts: u32) -> Check {
        if self.used {
            Check::Used
        } else if self.attempts >= max_attempts {
            Check::Burned
        } else if self.is_expired(now) {
            Check::Expired
        } else {
            Check::Pending
        }
    }

    fn wall_expiry(&self) -> SystemTime {
        later(self.issued_wall, self.ttl)
    }
}

/// What checking a typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Right code: now used.
    Correct,
    /// Wrong code; this many tries left.
    Wrong { remaining: u32 },
    /// Too many wrong codes earlier.
    Burned,
    /// The code's time is up.
    Expired,
    /// Already verified.
    Used,
    /// Not checked, still waiting (only from [`Otp::state`]).
    Pending,
}

/// Why a send was refused before issuing.
enum Gate {
    /// A send to this recipient happened less than the cooldown ago; wait this long.
    Cooldown(Duration),
    /// The provider's quota is used up.
    Quota { used: u64 },
}

/// What to issue.
struct NewCode<'a> {
    provider: &'static str,
    /// Where the code is stored, unique within the provider (an id, or recipient + purpose).
    key: &'a str,
    /// The recipient as the provider had it; normalized for [`IssuedCode`].
    recipient: &'a str,
    /// The cooldown applies per this key (usually the recipient); `None` for no cooldown.
    cooldown: Option<&'a str>,
    length: usize,
    ttl: Duration,
    /// A caller-chosen code (ThunderSMS `payload.token`).
    code: Option<String>,
    meta: Map<String, Value>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters for a sandbox; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self, route: &Route) -> String {
        let prefix = route.prefix.trim_end_matches('/');
        // ThunderSMS documents its base URL with the trailing slash.
        if route.id == thundersms::ID {
            format!("{}{prefix}/", self.origin)
        } else {
            format!("{}{prefix}", self.origin)
        }
    }

    /// The sandbox clock (real time plus [`Sandbox::advance`]).
    fn now(&self) -> Instant {
        later(Instant::now(), self.lock().clock_offset)
    }

    fn wall_now(&self) -> SystemTime {
        later(SystemTime::now(), self.lock().clock_offset)
    }

    /// Issues a code unless the cooldown or quota says no; replaces any code under the same key.
    fn issue(&self, new: NewCode<'_>) -> Result<Otp, Gate> {
        let mut state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let wall = later(SystemTime::now(), state.clock_offset);
        let cooldown_key = new.cooldown.map(|k| format!("{}:{k}", new.provider));
        if let Some(key) = &cooldown_key {
            if let Some(last) = state.last_sent.get(key) {
                let ready = later(*last, self.options.resend_cooldown);
                if now < ready {
                    return Err(Gate::Cooldown(ready - now));
                }
            }
        }
        let used = state.sent.get(new.provider).copied().unwrap_or(0);
        if used >= self.options.quota {
            return Err(Gate::Quota { used });
        }
        state.sent.insert(new.provider, used + 1);
        if let Some(key) = cooldown_key {
            state.last_sent.insert(key, now);
        }
        let otp = Otp {
            code: new.code.unwrap_or_else(|| random_code(new.length)),
            recipient: normalize(new.recipient),
            issued_at: now,
            issued_wall: wall,
            expires_at: later(now, new.ttl),
            ttl: new.ttl,
            attempts: 0,
            used: false,
            meta: new.meta,
        };
        state
            .otps
            .insert(format!("{}:{}", new.provider, new.key), otp.clone());
        state.events.push(Event {
            provider: new.provider,
            key: new.key.to_owned(),
            what: "sent",
            at: wall,
        });
        let issued = IssuedCode {
            provider: new.provider,
            recipient: otp.recipient.clone(),
            code: Secret::new(otp.code.clone()),
        };
        state.issued.push(issued.clone());
        drop(state);
        // Nobody listening is fine.
        let _ = self.issued_tx.send(issued);
        Ok(otp)
    }

    fn queue_failure(&self, provider: &'static str, failure: Failure) {
        self.lock()
            .failures
            .entry(provider)
            .or_default()
            .push_back(failure);
    }

    /// How long before this recipient may be sent another code, if it may not yet.
    fn cooldown_left(&self, provider: &str, key: &str) -> Option<Duration> {
        let state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let last = *state.last_sent.get(&format!("{provider}:{key}"))?;
        later(last, self.options.resend_cooldown)
            .checked_duration_since(now)
            .filter(|left| !left.is_zero())
    }

    /// The code stored under this key.
    fn lookup(&self, provider: &str, key: &str) -> Option<Otp> {
        self.lock().otps.get(&format!("{provider}:{key}")).cloned()
    }

    /// Checks a typed code against the one stored under this key, counting a wrong one.
    fn check(&self, provider: &'static str, key: &str, typed: &str) -> Option<(Check, Otp)> {
        let mut state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let wall = later(SystemTime::now(), state.clock_offset);
        let max = self.options.max_attempts;
        let otp = state.otps.get_mut(&format!("{provider}:{key}"))?;
        let check = match otp.state(now, max) {
            Check::Pending if otp.code == typed => {
                otp.used = true;
                Check::Correct
            }
            Check::Pending => {
                otp.attempts += 1;
                Check::Wrong {
                    remaining: max.saturating_sub(otp.attempts),
                }
            }
            other => other,
        };
        let snapshot = otp.clone();
        state.events.push(Event {
            provider,
            key: key.to_owned(),
            what: match check {
                Check::Correct => "verified",
                Check::Wrong { .. } => "wrong_code",
                Check::Burned => "too_many_attempts",
                Check::Expired => "expired",
                Check::Used | Check::Pending => "already_verified",
            },
            at: wall,
        });
        Some((check, snapshot))
    }

    /// How many sends the provider has made (against the quota).
    fn quota_used(&self, provider: &str) -> u64 {
        self.lock().sent.get(provider).copied().unwrap_or(0)
    }

    /// Every stored code of a provider, with its key, oldest first.
    fn all(&self, provider: &str) -> Vec<(String, Otp)> {
        let prefix = format!("{provider}:");
        let mut all: Vec<(String, Otp)> = self
            .lock()
            .otps
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
            .collect();
        all.sort_by_key(|(_, otp)| otp.issued_at);
        all
    }

    fn events(&self, provider: &str) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.provider == provider)
            .cloned()
            .collect()
    }

    /// Whether an account exists, and its password.
    fn account(&self, recipient: &str) -> Option<Option<String>> {
        self.lock().accounts.get(&normalize(recipient)).cloned()
    }

    fn set_account(&self, recipient: &str, password: Option<String>) {
        let mut state = self.lock();
        let entry = state.accounts.entry(normalize(recipient)).or_default();
        if password.is_some() {
            *entry = password;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the provider modules.

/// An email lower-cased, or a phone number as `+` and its digits.
fn normalize(recipient: &str) -> String {
    let trimmed = recipient.trim();
    if trimmed.contains('@') {
        trimmed.to_lowercase()
    } else {
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        format!("+{digits}")
    }
}

fn random_code(length: usize) -> String {
    let mut code = String::with_capacity(length);
    while code.len() < length {
        let mut n = random_u64();
        for _ in 0..18 {
            if code.len() == length {
                break;
            }
            code.push(char::from(b'0' + (n % 10) as u8));
            n /= 10;
        }
    }
    code
}

/// `n` random lower-case hex digits.
fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n + 16);
    while out.len() < n {
        out.push_str(&format!("{:016x}", random_u64()));
    }
    out.truncate(n);
    out
}

/// A random version-4 UUID.
fn random_uuid() -> String {
    let hex = random_hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The longest span the sandbox adds to a clock reading; options and [`Sandbox::advance`]
/// beyond it are treated as it.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `at + by`, with `by` capped at a century so that no option can overflow the clock.
fn later<T: std::ops::Add<Duration, Output = T> + Copy>(at: T, by: Duration) -> T {
    at + by.min(CENTURY)
}

/// A string, or a number written as a string (codes and lengths arrive both ways).
fn string_or_number(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole number, also from a string of digits.
fn whole_number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A plausible email: one `@`, something before it, a dotted domain after, no spaces.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && text.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whole seconds, rounded up (a client told "wait 0 s" would ask again at once).
fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

/// Seconds since the Unix epoch.
fn unix(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Year, month, day, hour, minute, second of a Unix time (proleptic Gregorian, UTC).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Every value below is in range by construction (day ≤ 31, month ≤ 12, rest < 86400).
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    (
        year,
        small(month),
        small(day),
        small(rest / 3600),
        small(rest % 3600 / 60),
        small(rest % 60),
    )
}

/// `2026-02-01T00:00:00Z`
fn rfc3339(at: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(unix(at));
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2023-12-05 08:24:48` at a fixed offset from UTC, with no zone written.
fn naive_time(at: SystemTime, offset_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix(at).saturating_add(offset_secs));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// The first instant of next month (UTC), in RFC 3339: when a monthly quota resets.
fn next_month(at: SystemTime) -> String {
    let (y, mo, ..) = civil(unix(at));
    let (y, mo) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    format!("{y:04}-{mo:02}-01T00:00:00Z")
}

/// A TOML document from a flat JSON object whose values are scalars, or arrays of objects of
/// scalars (ThunderSMS `channels`).
fn to_toml(map: &Map<String, Value>) -> String {
    let scalar = |value: &Value| match value {
        Value::String(s) => Value::String(s.clone()).to_string(),
        other => other.to_string(),
    };
    let mut head = String::new();
    let mut tables = String::new();
    // `provider` first, as people write it.
    let ordered = map
        .iter()
        .filter(|(k, _)| *k == "provider")
        .chain(map.iter().filter(|(k, _)| *k != "provider"));
    for (key, value) in ordered {
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) => {
                for item in items {
                    tables.push_str(&format!("\n[[{key}]]\n"));
                    if let Value::Object(fields) = item {
                        for (k, v) in fields {
                            tables.push_str(&format!("{k} = {}\n", scalar(v)));
                        }
                    }
                }
            }
            Value::Null => {}
            other => head.push_str(&format!("{key} = {}\n", scalar(other))),
        }
    }
    head + &tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2023-12-05 08:24:48 UTC
        assert_eq!(civil(1_701_764_688), (2023, 12, 5, 8, 24, 48));
        // 2024-02-29 23:59:59 UTC
        assert_eq!(civil(1_709_251_199), (2024, 2, 29, 23, 59, 59));
        let dec = UNIX_EPOCH + Duration::from_secs(1_701_764_688);
        assert_eq!(next_month(dec), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(dec), "2023-12-05T08:24:48Z");
        assert_eq!(naive_time(dec, 19_800), "2023-12-05 13:54:48");
    }

    #[test]
    fn codes_and_ids_have_their_shapes() {
        for length in 4..=10 {
            let code = random_code(length);
            assert_eq!(code.len(), length);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let uuid = random_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
    }

    #[test]
    fn recipients_normalize_to_one_form() {
        assert_eq!(normalize(" Jane@Example.com "), "jane@example.com");
        assert_eq!(normalize("+91 91891-95123"), "+919189195123");
        assert_eq!(normalize("919189195123"), "+919189195123");
    }

    #[test]
    fn laravel_messages_count_the_rest() {
        let errors = vec![
            ("a".to_owned(), "A is bad.".to_owned()),
            ("b".to_owned(), "B is bad.".to_owned()),
            ("b".to_owned(), "B is worse.".to_owned()),
        ];
        let reply = laravel_422(&errors);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(reply.status, 422);
        assert_eq!(body["message"], "A is bad. (and 2 more errors)");
        assert_eq!(body["errors"]["b"][1], "B is worse.");
    }

    #[test]
    fn toml_round_trips_through_the_config_reader() {
        let config = json!({
            "provider": "thundersms",
            "token": "t\"ok",
            "code_length": 6,
            "channels": [{"name": "sms", "from": "X", "order": 0}],
        });
        let Value::Object(map) = config else {
            unreachable!()
        };
        let text = to_toml(&map);
        let back: Map<String, Value> = toml::from_str(&text).unwrap();
        assert_eq!(back["token"], "t\"ok");
        assert_eq!(back["channels"][0]["from"], "X");
    }
}
