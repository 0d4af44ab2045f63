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
//! It is written from the vendors' published API documents, not from otpkit's adapters, so
//! the two check each other. It is stateful: codes expire
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
//!
//! Without queuing anything, the magic recipients of [`crate::magic`] (such as
//! `magic-quota@example.com` or any number ending in `555003`) always get the same outcome,
//! from every provider here and from the mock (`otpkit::testing::MockProvider`) alike.

// The shared machinery, one concern a module.
mod clock;
mod codes;
mod failure;
mod fields;
mod ids;
mod laravel;
mod options;
mod ready_config;
mod routing;
mod server;
mod state;
mod wire;

// One module a provider, each written from that vendor's documents.
mod generic;
mod hyperverge;
mod tencent_ciam;
mod thaaigroup;
mod thundersms;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::config::ProviderConfig;
use crate::error::{Error, ErrorKind};

pub use codes::IssuedCode;
pub use failure::Failure;
pub use options::SandboxOptions;

use clock::CENTURY;
use fields::normalize;
use ready_config::{config_json, to_toml};
use routing::route;
use state::Shared;

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
        let shared = Arc::new(Shared::new(options, format!("http://{addr}")));
        let server = tokio::spawn(server::accept_loop(listener, Arc::clone(&shared)));
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
        route(provider).map(|r| r.base_url(&self.shared.origin))
    }

    /// A provider's ready-made configuration as a JSON object, with the documented keys and
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
        Ok(config_json(route, &self.shared.origin))
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

/// The error for a provider id the sandbox does not serve.
fn unknown_provider(provider: &str) -> Error {
    Error::config(
        "provider",
        format!(
            "the sandbox serves {}, not `{provider}`",
            Sandbox::PROVIDERS.join(", ")
        ),
    )
}
