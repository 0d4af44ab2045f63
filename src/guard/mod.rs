//! The guard (contract §8): abuse and cost limits in front of any provider, shared across
//! processes through a [`Store`].
//!
//! [`Guard`] is an [`OtpProvider`] that wraps another one, like a tower layer
//! (`Guard<Router<…>>`). Before anything reaches the inner provider it checks, in this order:
//!
//! 1. **Prefixes** (local, no store): a phone number outside `allow_prefixes` or inside
//!    `deny_prefixes` is `forbidden`, provider code `guard_prefix`. Emails are unaffected.
//! 2. **In flight**: a second send (or resend) for the same recipient and purpose while the
//!    first has not ended is `cooldown`, with `retry_after` the longest the first can still
//!    hold the mark. The mark is released when the send ends, either way (also when the
//!    caller drops the future), and expires on its own after twice the provider's timeout
//!    plus its connect timeout, so a crashed process never locks a recipient.
//! 3. **Budgets**: `recipient_sends` (sends and resends per recipient) and `ip_sends` (sends
//!    per [`SendRequest::end_user_ip`]). Used up: `rate_limited`, provider code
//!    `guard_recipient` or `guard_ip`, `retry_after` until the window frees a slot.
//!
//! Steps 2 and 3 are one atomic store operation ([`Store::admit`]): either everything is
//! taken or nothing is, so a send refused by the IP budget does not use up the recipient's.
//! `verify` counts wrong codes per handle (keyed by a hash of its token): after
//! `verify_attempts` answers of `invalid_code` the next `verify` is `too_many_attempts`
//! (provider code `guard_attempts`) with no request made. `status` passes through.
//!
//! The store unreachable or slower than the provider's timeout is `unavailable` with `store`
//! in the message, and nothing is sent: the guard fails closed.
//!
//! # Windows: sliding, not fixed
//!
//! Budgets are **sliding-window logs**: the store keeps when each of the last `limit` sends
//! happened (a Redis sorted set, timestamped by the Redis server's own clock so that
//! instances with skewed clocks agree). A send is admitted when fewer than `limit` happened
//! in the last `window`. This is exact: no span of `window` seconds ever holds more than
//! `limit` sends, where fixed windows allow twice the budget across a boundary (five at
//! 11:59, five more at 12:00); and `retry_after` is exact too (when the oldest entry leaves).
//! The cost is `limit` small entries per key, which the limits of an OTP guard keep tiny.
//!
//! A slot counts once admitted, whatever the provider answers, except when the send
//! provably never reached the provider (refused locally by the inner provider, or a
//! connection that never opened): then the slot is given back.
//!
//! # Keys
//!
//! Every key starts with `otpkit:guard:`, and recipients, IPs and handles appear only as
//! truncated SHA-256 hashes (no phone number or email in the store). Note that a hash of a
//! phone number can be reversed by trying every number: treat the store as holding
//! pseudonymous data. Every key expires on its own (a window when its newest entry leaves, an
//! in-flight mark after its lifetime, an attempt count when its handle expires, at most a
//! day), so the store never grows without bound.
//!
//! ```
//! use std::time::Duration;
//! use otpkit::guard::{Guard, GuardConfig};
//! use otpkit::sandbox::Sandbox;
//! use otpkit::{ErrorKind, OtpProvider, SendRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), otpkit::Error> {
//! let sandbox = Sandbox::start().await?;
//! let rules = GuardConfig::from_toml_str("recipient_sends = [1, 3600]\ndeny_prefixes = [\"+881\"]")?;
//! let provider = Guard::new(sandbox.config("generic")?.build()?, &rules)?;
//!
//! provider.send(&SendRequest::new("+5511999888777".parse()?)).await?;
//! let err = provider.send(&SendRequest::new("+5511999888777".parse()?)).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::RateLimited);
//! assert_eq!(err.provider_code(), Some("guard_recipient"));
//! assert!(err.retry_after() <= Some(Duration::from_secs(3600)));
//!
//! let err = provider.send(&SendRequest::new("+881234567890".parse()?)).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Forbidden);
//! # Ok(()) }
//! ```

mod config;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod redis_url;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use config::{Budget, GuardConfig, StoreSpec};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;
pub use store::{Admission, Admitted, Attempt, Store, Window};

use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
use crate::provider::OtpProvider;
use crate::receipt::{SendReceipt, StatusReport, Verified};
use crate::recipient::Recipient;
use crate::request::{Purpose, SendRequest};

/// The provider code of a refused recipient budget.
pub const CODE_RECIPIENT: &str = "guard_recipient";
/// The provider code of a refused IP budget.
pub const CODE_IP: &str = "guard_ip";
/// The provider code of a refused phone prefix.
pub const CODE_PREFIX: &str = "guard_prefix";
/// The provider code of a second send while the first is in flight.
pub const CODE_IN_FLIGHT: &str = "guard_in_flight";
/// The provider code of a handle out of wrong-code attempts.
pub const CODE_ATTEMPTS: &str = "guard_attempts";

/// How long an attempt count lives when the handle does not say when it expires.
const ATTEMPTS_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Abuse and cost limits around another provider (see the [module documentation](self)).
pub struct Guard {
    inner: Box<dyn OtpProvider>,
    store: Arc<dyn Store>,
    config: GuardConfig,
    in_flight_ttl: Duration,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("inner", &self.inner)
            .finish()
    }
}

impl Guard {
    /// Wraps `inner` with the rules of `config` and the store it names, with otpkit's default
    /// provider timeouts (see [`Guard::with_timeouts`]).
    pub fn new(inner: Box<dyn OtpProvider>, config: &GuardConfig) -> Result<Self, Error> {
        Self::with_timeouts(inner, config, DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)
    }

    /// Wraps `inner`; `timeout` and `connect_timeout` are the inner provider's: they bound
    /// every store call, so the guard never waits longer than a send would, and set how long
    /// an in-flight mark outlives a crashed process (`2 × timeout + connect_timeout`).
    pub fn with_timeouts(
        inner: Box<dyn OtpProvider>,
        config: &GuardConfig,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, Error> {
        let store = config.store(timeout, connect_timeout)?;
        let mut guard = Self::with_store(inner, config, store);
        guard.in_flight_ttl = timeout * 2 + connect_timeout;
        Ok(guard)
    }

    /// Wraps `inner` with the rules of `config` over the given store (its `store` key is
    /// ignored). Guards that share a store share their budgets.
    pub fn with_store(
        inner: Box<dyn OtpProvider>,
        config: &GuardConfig,
        store: Arc<dyn Store>,
    ) -> Self {
        Guard {
            inner,
            store,
            config: config.clone(),
            in_flight_ttl: DEFAULT_TIMEOUT * 2 + DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The rules.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &dyn OtpProvider {
        self.inner.as_ref()
    }

    fn refusal(
        &self,
        operation: &'static str,
        kind: ErrorKind,
        code: &str,
        message: String,
    ) -> Error {
        Error::new(kind, message)
            .with_code(code)
            .in_context(self.inner.id(), operation)
    }

    /// Refuses a phone number outside `allow_prefixes` or inside `deny_prefixes`.
    fn check_prefix(&self, recipient: &Recipient, operation: &'static str) -> Result<(), Error> {
        let Some(phone) = recipient.phone() else {
            return Ok(());
        };
        let number = phone.as_str();
        let denied = self
            .config
            .deny_prefixes
            .iter()
            .any(|p| number.starts_with(p.as_str()));
        let allowed = self.config.allow_prefixes.is_empty()
            || self
                .config
                .allow_prefixes
                .iter()
                .any(|p| number.starts_with(p.as_str()));
        if denied || !allowed {
            return Err(self.refusal(
                operation,
                ErrorKind::Forbidden,
                CODE_PREFIX,
                format!(
                    "the guard does not send to {}: its prefix is {}; nothing was sent",
                    phone.masked(),
                    if denied { "denied" } else { "not allowed" }
                ),
            ));
        }
        Ok(())
    }

    /// Takes the in-flight mark and a slot in every budget that applies, or says why not.
    async fn admit(
        &self,
        operation: &'static str,
        recipient: &Recipient,
        purpose: Option<&Purpose>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Pass, Error> {
        let mut windows = Vec::new();
        let mut codes = Vec::new();
        if let Some(budget) = self.config.recipient_sends {
            windows.push(Window::new(
                keys::recipient(recipient),
                budget.limit,
                budget.window,
            ));
            codes.push((CODE_RECIPIENT, "recipient", budget));
        }
        if let (Some(budget), Some(ip)) = (self.config.ip_sends, ip) {
            windows.push(Window::new(keys::ip(ip), budget.limit, budget.window));
            codes.push((CODE_IP, "end-user IP", budget));
        }
        let admission = Admission {
            ticket: crate::random::unique_id("t"),
            in_flight: Some(keys::in_flight(recipient, purpose)),
            in_flight_ttl: self.in_flight_ttl,
            windows,
        };
        let answer = self
            .store
            .admit(&admission)
            .await
            .map_err(|e| e.in_context(self.inner.id(), operation))?;
        match answer {
            Admitted::Yes => Ok(Pass {
                store: Arc::clone(&self.store),
                in_flight: admission.in_flight,
                ticket: admission.ticket,
                windows: admission.windows.into_iter().map(|w| w.key).collect(),
                done: false,
            }),
            Admitted::InFlight(left) => Err(self
                .refusal(
                    operation,
                    ErrorKind::Cooldown,
                    CODE_IN_FLIGHT,
                    format!(
                        "a code for {} and this purpose is being sent right now; nothing was sent",
                        recipient.masked()
                    ),
                )
                .with_retry_after(whole_seconds(left))),
            Admitted::Full(index, frees) => {
                let Some(&(code, what, budget)) = codes.get(index) else {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        "the guard's store named a budget that was not asked for",
                    )
                    .in_context(self.inner.id(), operation));
                };
                Err(self
                    .refusal(
                        operation,
                        ErrorKind::RateLimited,
                        code,
                        format!(
                            "the guard's {what} budget ({} sends per {} s) is used up; nothing was sent",
                            budget.limit,
                            budget.window.as_secs()
                        ),
                    )
                    .with_retry_after(whole_seconds(frees)))
            }
        }
    }
}

/// Rounds up to whole seconds, at least one: "retry after 0 s" would invite a busy loop.
fn whole_seconds(wait: Duration) -> Duration {
    Duration::from_secs(
        wait.as_millis()
            .div_ceil(1000)
            .max(1)
            .try_into()
            .unwrap_or(u64::MAX),
    )
}

/// Whether an error from the inner provider proves nothing reached the provider, so the
/// budget slot can be given back: refused locally (no HTTP status, and a kind only local
/// checks give without a request), or a connection that never opened.
fn nothing_reached(error: &Error) -> bool {
    if error.request_sent() == Some(false) {
        return true;
    }
    error.status().is_none()
        && error.request_sent().is_none()
        && matches!(
            error.kind(),
            ErrorKind::Unsupported
                | ErrorKind::InvalidRequest
                | ErrorKind::InvalidRecipient
                | ErrorKind::Config
                | ErrorKind::Cooldown
        )
}

/// An admitted send: releases its in-flight mark when finished, or, if dropped unfinished (the
/// caller gave up on the future), from a spawned task.
struct Pass {
    store: Arc<dyn Store>,
    in_flight: Option<String>,
    ticket: String,
    windows: Vec<String>,
    done: bool,
}

impl Pass {
    async fn finish<T>(mut self, result: &Result<T, Error>) {
        self.done = true;
        let refund = result.as_ref().err().is_some_and(nothing_reached);
        if let Err(e) = self
            .store
            .release(
                self.in_flight.as_deref(),
                &self.ticket,
                &self.windows,
                refund,
            )
            .await
        {
            // The send already happened; the mark expires on its own.
            tracing::warn!(error = %e, "the guard could not release an in-flight mark");
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // No runtime left: the mark expires on its own.
        };
        let store = Arc::clone(&self.store);
        let in_flight = self.in_flight.take();
        let ticket = std::mem::take(&mut self.ticket);
        runtime.spawn(async move {
            let _ = store
                .release(in_flight.as_deref(), &ticket, &[], false)
                .await;
        });
    }
}

#[async_trait]
impl OtpProvider for Guard {
    fn id(&self) -> &'static str {
        self.inner.id()
    }

    fn capabilities(&self) -> &crate::capabilities::Capabilities {
        self.inner.capabilities()
    }

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        self.check_prefix(&request.recipient, "send")?;
        let pass = self
            .admit(
                "send",
                &request.recipient,
                request.purpose.as_ref(),
                request.end_user_ip,
            )
            .await?;
        let result = self.inner.send(request).await;
        pass.finish(&result).await;
        result
    }

    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        let Some(limit) = self.config.verify_attempts else {
            return self.inner.verify(handle, code).await;
        };
        let key = keys::attempts(handle);
        let taken = self
            .store
            .take_attempt(&key, limit, attempts_ttl(handle))
            .await
            .map_err(|e| e.in_context(self.inner.id(), "verify"))?;
        if taken == Attempt::Exhausted {
            return Err(self.refusal(
                "verify",
                ErrorKind::TooManyAttempts,
                CODE_ATTEMPTS,
                format!("{limit} wrong codes were tried for this handle; nothing was sent"),
            ));
        }
        let result = self.inner.verify(handle, code).await;
        let wrong = matches!(&result, Err(e) if e.kind() == ErrorKind::InvalidCode);
        if !wrong {
            if let Err(e) = self.store.give_back_attempt(&key).await {
                tracing::warn!(error = %e, "the guard could not give back a verify attempt");
            }
        }
        result
    }

    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        self.check_prefix(handle.recipient(), "resend")?;
        let pass = self
            .admit("resend", handle.recipient(), handle.purpose(), None)
            .await?;
        let result = self.inner.resend(handle).await;
        pass.finish(&result).await;
        result
    }

    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error> {
        self.inner.status(handle).await
    }
}

/// How long a handle's attempt count lives: until the handle expires (and a minute more), at
/// most a day.
fn attempts_ttl(handle: &Verification) -> Duration {
    let Some(expires_at) = handle.expires_at() else {
        return ATTEMPTS_TTL;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duration::from_secs(expires_at.saturating_sub(now).saturating_add(60)).min(ATTEMPTS_TTL)
}

/// The store keys: namespaced, with recipients, IPs and handles hashed.
pub mod keys {
    use std::net::IpAddr;

    use crate::handle::Verification;
    use crate::recipient::Recipient;
    use crate::request::Purpose;

    /// Every key starts with this.
    pub const PREFIX: &str = "otpkit:guard:";

    /// A truncated SHA-256 (128 bits, hex) of the parts, each part's kind first so that
    /// different kinds of value never share a key.
    fn hash(kind: &str, parts: &[&str]) -> String {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(b"otpkit-guard\0");
        context.update(kind.as_bytes());
        for part in parts {
            context.update(b"\0");
            context.update(part.as_bytes());
        }
        let digest = context.finish();
        let mut out = format!("{PREFIX}{kind}:");
        for byte in &digest.as_ref()[..16] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    fn recipient_text(recipient: &Recipient) -> String {
        // Emails compare case-insensitively here, so `Jane@` and `jane@` share a budget.
        match recipient {
            Recipient::Email(email) => email.as_str().to_lowercase(),
            other => other.as_str().to_owned(),
        }
    }

    /// The recipient's send window.
    pub fn recipient(recipient: &Recipient) -> String {
        hash("r", &[&recipient_text(recipient)])
    }

    /// The end-user IP's send window. IPv6 addresses count per /64, since one host usually
    /// holds a whole /64.
    pub fn ip(ip: IpAddr) -> String {
        let text = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        };
        hash("ip", &[&text])
    }

    /// The in-flight mark of a recipient and purpose.
    pub fn in_flight(recipient: &Recipient, purpose: Option<&Purpose>) -> String {
        hash(
            "f",
            &[
                &recipient_text(recipient),
                purpose.map_or("", Purpose::as_str),
            ],
        )
    }

    /// A handle's wrong-code count, keyed by its token.
    pub fn attempts(handle: &Verification) -> String {
        hash("a", &[&handle.to_token()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_hold_no_recipient() {
        let phone: Recipient = "+5511999888777".parse().unwrap();
        let key = keys::recipient(&phone);
        assert!(key.starts_with("otpkit:guard:r:"), "{key}");
        assert!(!key.contains("5511999888777"));
        assert_eq!(key.len(), "otpkit:guard:r:".len() + 32);
        let upper: Recipient = "Jane@Example.com".parse().unwrap();
        let lower: Recipient = "jane@example.com".parse().unwrap();
        assert_eq!(keys::recipient(&upper), keys::recipient(&lower));
        assert_ne!(
            keys::in_flight(&phone, Some(&Purpose::Login)),
            keys::in_flight(&phone, Some(&Purpose::Signup))
        );
        let a: std::net::IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(keys::ip(a), keys::ip(b));
        let v4: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        let mapped: std::net::IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(keys::ip(v4), keys::ip(mapped));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            whole_seconds(Duration::from_millis(1001)),
            Duration::from_secs(2)
        );
        assert_eq!(
            whole_seconds(Duration::from_secs(3600)),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn only_provably_unsent_errors_give_the_slot_back() {
        let local = Error::new(ErrorKind::Unsupported, "x");
        assert!(nothing_reached(&local));
        let refused = Error::new(ErrorKind::InvalidRequest, "x").with_status(400);
        assert!(!nothing_reached(&refused));
        let never_left = Error::new(ErrorKind::Transport, "x").with_request_sent(false);
        assert!(nothing_reached(&never_left));
        let maybe = Error::new(ErrorKind::Timeout, "x").with_request_sent(true);
        assert!(!nothing_reached(&maybe));
        assert!(!nothing_reached(&Error::new(ErrorKind::Unavailable, "x")));
    }
}
