//! The mock provider (cargo feature `testing`): `provider = "mock"`, in memory, no HTTP. For
//! an application's unit tests: it follows the rules every real provider follows (a wrong
//! code is `invalid_code`, a used code `already_verified`, an early resend `cooldown` with the
//! wait, an expired code `expired`), exposes the code it issued, records what it sent
//! (recipients masked), takes scripted failures, and knows the magic recipients of
//! [`crate::magic`], which behave the same on the sandbox.
//!
//! ```
//! use otpkit::testing::MockProvider;
//! use otpkit::{ErrorKind, OtpProvider, SendRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), otpkit::Error> {
//! let mock = MockProvider::new();
//! let receipt = mock.send(&SendRequest::new("jane@example.com".parse()?)).await?;
//! let code = mock.last_code("jane@example.com").expect("a code was issued");
//! assert_eq!(mock.verify(&receipt.verification, "000000").await.unwrap_err().kind(), ErrorKind::InvalidCode);
//! mock.verify(&receipt.verification, &code).await?;
//! assert_eq!(mock.sent()[0].recipient, "j***@example.com");
//!
//! mock.fail_next_send(ErrorKind::Unavailable);
//! let err = mock.send(&SendRequest::new("joe@example.com".parse()?)).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Unavailable);
//! # Ok(()) }
//! ```
//!
//! From configuration (keys all optional): `name` (mocks built with the same name share their
//! state, so a test reaches the one the application built with [`MockProvider::named`]),
//! `code_length` (6), `code_ttl_secs` (300), `cooldown_secs` (`resend_after_secs`, else 30),
//! `max_attempts` (3),
//! `email` (true), `phone` (true), `phone_prefixes` (any), `resend` (`native` or
//! `sends_again`), `status` (true), `slow_ms` (the magic slow answer, 2000).
//!
//! ```
//! let provider = otpkit::ProviderConfig::from_toml_str("provider = \"mock\"\nname = \"doc\"")?.build()?;
//! assert_eq!(provider.id(), "mock");
//! # Ok::<(), otpkit::Error>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

use crate::adapter::{Adapter, Client};
use crate::capabilities::{Capabilities, ResendMode};
use crate::config::{CommonConfig, ProviderSettings};
use crate::de as lenient;
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{HttpOptions, HttpRequest, HttpResponse};
use crate::magic::{magic_outcome, MagicOutcome, RATE_LIMIT_RETRY_AFTER, SLOW_ANSWER};
use crate::provider::OtpProvider;
use crate::receipt::{SendReceipt, StatusReport, VerificationState, Verified};
use crate::recipient::Recipient;
use crate::request::{Channel, OtpCode, Purpose, SendRequest};
use crate::secret::Secret;

/// The provider id.
pub const ID: &str = "mock";

/// The mock's place in the registry.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "Mock (in memory, for tests)",
    feature: "testing",
    default_base_url: None,
    capabilities: default_capabilities,
    sample_recipient: "jane.doe@example.com",
    sample_purpose: "signup",
    own_flow_send: None,
};

/// Email and SMS to any country, native resend, a status call, caller-chosen codes.
pub fn default_capabilities() -> Capabilities {
    Capabilities::new([Channel::Email, Channel::Sms])
        .resend(ResendMode::Native)
        .status(true)
        .custom_code(true)
}

/// One message the mock sent (the recipient masked, never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentMessage {
    /// `send` or `resend`.
    pub operation: &'static str,
    /// The recipient, masked as in logs.
    pub recipient: String,
    /// The purpose, if given.
    pub purpose: Option<String>,
    /// The channel used.
    pub channel: Channel,
}

/// An issued code.
#[derive(Debug, Clone)]
struct Issued {
    recipient: Recipient,
    code: Secret,
    expires_at: Instant,
    wrong: u32,
    used: bool,
    /// Never disclosed through `last_code` (a magic "never verified" recipient).
    hidden: bool,
}

/// What mocks sharing a name share.
#[derive(Debug, Default)]
struct State {
    /// By reference.
    issued: HashMap<String, Issued>,
    /// Reference of the last code per recipient, for `last_code`.
    last: HashMap<String, String>,
    /// When each recipient last got a code.
    last_sent: HashMap<String, Instant>,
    sent: Vec<SentMessage>,
    scripted: HashMap<&'static str, VecDeque<ErrorKind>>,
    /// Seals the handles this state issued, so an edited one is refused (contract §4).
    seal: Seal,
}

/// The key of the mock's handle seal: random per state.
struct Seal(ring::hmac::Key);

impl Default for Seal {
    fn default() -> Self {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // No system randomness: a key from the process's keyed hasher still differs per
            // state, which is all a test double needs.
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_mut(8) {
                chunk.copy_from_slice(&crate::random::random_u64().to_le_bytes());
            }
            ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes)
        });
        Seal(key)
    }
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(***)")
    }
}

/// The handle's extra key holding the mock's seal.
const SEAL_KEY: &str = "mock_seal";

impl Seal {
    /// The seal of everything a handle says, but the seal itself and the router member.
    fn of(&self, handle: &Verification) -> String {
        let mut context = ring::hmac::Context::with_key(&self.0);
        for part in [
            handle.provider(),
            handle.recipient().as_str(),
            handle.purpose().map_or("", Purpose::as_str),
            handle.channel().map_or("", Channel::as_str),
            handle.reference().unwrap_or(""),
        ] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        context.update(&handle.expires_at().unwrap_or(0).to_le_bytes());
        context
            .sign()
            .as_ref()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn sealed(&self, handle: Verification) -> Verification {
        let seal = self.of(&handle);
        handle.with_extra(SEAL_KEY, seal)
    }

    fn check(&self, handle: &Verification) -> Result<(), Error> {
        let sealed = serde_json::to_value(handle)
            .ok()
            .and_then(|v| v.get("extra")?.get(SEAL_KEY)?.as_str().map(str::to_owned));
        match sealed {
            Some(seal) if seal == self.of(handle) => Ok(()),
            _ => Err(Error::new(
                ErrorKind::InvalidRequest,
                "this handle was not issued as it is (edited, or from another mock); nothing was checked",
            )),
        }
    }
}

/// How the mock behaves; read from configuration or set with [`MockProvider`]'s builders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Mocks with the same name share their state.
    #[serde(default)]
    pub name: Option<String>,
    /// Digits per code (default 6).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub code_length: Option<u64>,
    /// Code lifetime in seconds (default 300).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub code_ttl_secs: Option<u64>,
    /// Least time between codes to one recipient, in seconds (default 30).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub cooldown_secs: Option<u64>,
    /// Wrong codes allowed before the code is burned (default 3).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub max_attempts: Option<u64>,
    /// Whether emails are reached (default true).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub email: Option<bool>,
    /// Whether phones are reached (default true).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub phone: Option<bool>,
    /// The phone prefixes reached (default any).
    #[serde(default)]
    pub phone_prefixes: Option<Vec<String>>,
    /// `native` (default) or `sends_again`.
    #[serde(default)]
    pub resend: Option<String>,
    /// Whether `status` exists (default true).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub status: Option<bool>,
    /// How long the magic slow answer takes, in milliseconds (default 2000).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub slow_ms: Option<u64>,
}

/// The in-memory provider (see the [module documentation](self)). Cheap to clone; clones share
/// their state.
#[derive(Debug, Clone)]
pub struct MockProvider {
    state: Arc<Mutex<State>>,
    capabilities: Capabilities,
    code_length: usize,
    code_ttl: Duration,
    cooldown: Duration,
    max_attempts: u32,
    slow: Duration,
}

impl Default for MockProvider {
    fn default() -> Self {
        MockProvider::new()
    }
}

/// Mocks built by name from configuration.
fn named_states() -> MutexGuard<'static, HashMap<String, Arc<Mutex<State>>>> {
    static NAMED: OnceLock<Mutex<HashMap<String, Arc<Mutex<State>>>>> = OnceLock::new();
    NAMED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

impl MockProvider {
    /// A mock with the defaults and a state of its own.
    pub fn new() -> Self {
        MockProvider {
            state: Arc::default(),
            capabilities: default_capabilities(),
            code_length: 6,
            code_ttl: Duration::from_secs(300),
            cooldown: Duration::from_secs(30),
            max_attempts: 3,
            slow: SLOW_ANSWER,
        }
    }

    /// The mock with this name, sharing its state with every mock of that name, including
    /// those built from configuration (`name = "…"`; without a name, `"default"`).
    pub fn named(name: &str) -> Self {
        let state = Arc::clone(named_states().entry(name.to_owned()).or_default());
        MockProvider {
            state,
            ..MockProvider::new()
        }
    }

    /// Uses these capabilities (what is refused as `unsupported` before anything is "sent").
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Issues codes of this many digits (4 to 10).
    pub fn code_length(mut self, digits: usize) -> Self {
        self.code_length = digits.clamp(OtpCode::MIN_LEN, OtpCode::MAX_LEN);
        self
    }

    /// Codes live this long.
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// The least time between codes to one recipient.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Wrong codes allowed before the code is burned.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long the magic slow answer takes.
    pub fn slow(mut self, slow: Duration) -> Self {
        self.slow = slow;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last code issued to `recipient` (an email in any case, or an E.164 number), unless
    /// it is a magic "never verified" recipient.
    pub fn last_code(&self, recipient: &str) -> Option<String> {
        let recipient = Recipient::parse(recipient).ok()?;
        let state = self.lock();
        let reference = state.last.get(&key(&recipient))?;
        let issued = state.issued.get(reference)?;
        (!issued.hidden).then(|| issued.code.expose().to_owned())
    }

    /// Everything sent so far, oldest first (recipients masked).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// Makes the next `operation` (`send`, `verify`, `resend` or `status`) fail with `kind`.
    /// Calls queue. A `rate_limited` or `cooldown` carries a `retry_after`.
    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.lock()
            .scripted
            .entry(operation)
            .or_default()
            .push_back(kind);
    }

    /// Makes the next `send` fail with `kind`.
    pub fn fail_next_send(&self, kind: ErrorKind) {
        self.fail_next("send", kind);
    }

    /// Makes the next `verify` fail with `kind`.
    pub fn fail_next_verify(&self, kind: ErrorKind) {
        self.fail_next("verify", kind);
    }

    /// Forgets every code, message and scripted failure.
    pub fn reset(&self) {
        *self.lock() = State::default();
    }

    /// A scripted failure for `operation`, if one is queued.
    fn scripted(&self, operation: &'static str) -> Result<(), Error> {
        let kind = self
            .lock()
            .scripted
            .get_mut(operation)
            .and_then(VecDeque::pop_front);
        match kind {
            None => Ok(()),
            Some(kind) => Err(failure(kind, "a failure scripted on the mock")),
        }
    }

    fn issue(
        &self,
        operation: &'static str,
        recipient: &Recipient,
        purpose: Option<&Purpose>,
        channel: Channel,
        custom: Option<&OtpCode>,
        reference: Option<&str>,
    ) -> Result<(String, Instant), Error> {
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(last) = state.last_sent.get(&key(recipient)) {
            let ready = *last + self.cooldown;
            if now < ready {
                return Err(Error::new(
                    ErrorKind::Cooldown,
                    "this recipient got a code too recently",
                )
                .with_retry_after(ready - now));
            }
        }
        let code = match custom {
            Some(code) => code.expose().to_owned(),
            None => random_code(self.code_length),
        };
        let reference = reference.map_or_else(|| crate::random::unique_id(ID), str::to_owned);
        let hidden = magic_outcome(recipient.as_str()) == Some(MagicOutcome::NeverVerified);
        let expires_at = now + self.code_ttl;
        state.issued.insert(
            reference.clone(),
            Issued {
                recipient: recipient.clone(),
                code: Secret::new(code),
                expires_at,
                wrong: 0,
                used: false,
                hidden,
            },
        );
        state.last.insert(key(recipient), reference.clone());
        state.last_sent.insert(key(recipient), now);
        state.sent.push(SentMessage {
            operation,
            recipient: recipient.masked(),
            purpose: purpose.map(|p| p.as_str().to_owned()),
            channel,
        });
        Ok((reference, expires_at))
    }

    /// What a magic recipient does before anything is issued: fail, or wait.
    async fn magic(&self, recipient: &Recipient) -> Result<(), Error> {
        match magic_outcome(recipient.as_str()) {
            Some(MagicOutcome::Slow) => {
                tokio::time::sleep(self.slow).await;
                Ok(())
            }
            Some(outcome) => match outcome.error_kind() {
                Some(kind) => Err(failure(kind, "a magic recipient")),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    fn receipt(&self, handle: Verification, expires_at: Instant) -> SendReceipt {
        let left = expires_at.saturating_duration_since(Instant::now());
        let mut receipt = SendReceipt::issued(handle, Some(round_up(left)));
        receipt.verification = self.lock().seal.sealed(receipt.verification);
        receipt.resend_after = Some(self.cooldown);
        receipt
    }

    /// The handle's reference, once the handle is known to be this mock's, unedited.
    fn check_handle<'h>(&self, handle: &'h Verification) -> Result<&'h str, Error> {
        handle.require_provider(ID)?;
        self.lock().seal.check(handle)?;
        handle
            .reference()
            .ok_or_else(|| Error::new(ErrorKind::InvalidRequest, "the handle has no reference"))
    }

    async fn send_inner(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        request.validate()?;
        self.capabilities.check_send(request)?;
        self.scripted("send")?;
        self.magic(&request.recipient).await?;
        let channel = request.channel.unwrap_or(match request.recipient {
            Recipient::Email(_) => Channel::Email,
            Recipient::Phone(_) => Channel::Sms,
        });
        let (reference, expires_at) = self.issue(
            "send",
            &request.recipient,
            request.purpose.as_ref(),
            channel,
            request.custom_code.as_ref(),
            None,
        )?;
        let handle = Verification::new(ID, request.recipient.clone())
            .with_purpose(request.purpose.clone())
            .with_channel(Some(channel))
            .with_reference(reference);
        Ok(self.receipt(handle, expires_at))
    }

    fn verify_inner(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        let reference = self.check_handle(handle)?;
        let code = OtpCode::parse(code)?;
        self.scripted("verify")?;
        let mut state = self.lock();
        let issued = state
            .issued
            .get_mut(reference)
            .filter(|issued| &issued.recipient == handle.recipient())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::VerificationNotFound,
                    "no code was issued for this handle",
                )
            })?;
        if issued.used {
            return Err(Error::new(
                ErrorKind::AlreadyVerified,
                "this code was already used",
            ));
        }
        if Instant::now() >= issued.expires_at {
            return Err(Error::new(ErrorKind::Expired, "the code has expired"));
        }
        if issued.wrong >= self.max_attempts {
            return Err(Error::new(
                ErrorKind::TooManyAttempts,
                "too many wrong codes; ask for a new one",
            ));
        }
        if issued.code.expose() != code.expose() {
            issued.wrong += 1;
            let left = self.max_attempts.saturating_sub(issued.wrong);
            return Err(Error::new(ErrorKind::InvalidCode, "the code is wrong")
                .with_attempts_remaining(left));
        }
        issued.used = true;
        Ok(Verified::new(ID))
    }

    async fn resend_inner(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        let reference = self.check_handle(handle)?;
        self.scripted("resend")?;
        self.magic(handle.recipient()).await?;
        let known = self
            .lock()
            .issued
            .get(reference)
            .filter(|issued| &issued.recipient == handle.recipient())
            .map(|issued| issued.used);
        match known {
            None => {
                return Err(Error::new(
                    ErrorKind::VerificationNotFound,
                    "no code was issued for this handle",
                ))
            }
            Some(true) => {
                return Err(Error::new(
                    ErrorKind::AlreadyVerified,
                    "this verification is already done",
                ))
            }
            Some(false) => {}
        }
        let channel = handle.channel().unwrap_or(Channel::Sms);
        let native = self.capabilities.resend == ResendMode::Native;
        let (reference, expires_at) = self.issue(
            "resend",
            handle.recipient(),
            handle.purpose(),
            channel,
            None,
            native.then_some(reference),
        )?;
        let renewed = Verification::new(ID, handle.recipient().clone())
            .with_purpose(handle.purpose().cloned())
            .with_channel(Some(channel))
            .with_reference(reference);
        Ok(self.receipt(renewed, expires_at))
    }

    fn status_inner(&self, handle: &Verification) -> Result<StatusReport, Error> {
        if !self.capabilities.status {
            return Err(Error::unsupported("this mock has no status call"));
        }
        let reference = self.check_handle(handle)?;
        self.scripted("status")?;
        let state = self.lock();
        let issued = state.issued.get(reference).ok_or_else(|| {
            Error::new(
                ErrorKind::VerificationNotFound,
                "no code was issued for this handle",
            )
        })?;
        let word = if issued.used {
            VerificationState::Verified
        } else if Instant::now() >= issued.expires_at {
            VerificationState::Expired
        } else if issued.wrong >= self.max_attempts {
            VerificationState::Failed
        } else {
            // In memory, "sent" is delivered at once.
            VerificationState::Delivered
        };
        Ok(StatusReport::new(word))
    }
}

/// A recipient as the mock files it: addresses in any case are one.
fn key(recipient: &Recipient) -> String {
    recipient.as_str().to_ascii_lowercase()
}

/// An error of `kind`, as a provider would answer it: a throttle names its wait.
fn failure(kind: ErrorKind, why: &str) -> Error {
    let error = Error::new(kind, format!("{}: {why}", kind.as_str()));
    match kind {
        ErrorKind::RateLimited | ErrorKind::Cooldown => {
            error.with_retry_after(RATE_LIMIT_RETRY_AFTER)
        }
        _ => error,
    }
}

fn random_code(digits: usize) -> String {
    let mut out = String::with_capacity(digits);
    while out.len() < digits {
        let value = crate::random::random_u64();
        out.push_str(&format!("{:019}", value % 10_000_000_000_000_000_000));
    }
    out.truncate(digits);
    out
}

fn round_up(duration: Duration) -> Duration {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    Duration::from_secs(secs)
}

#[async_trait]
impl OtpProvider for MockProvider {
    fn id(&self) -> &'static str {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        self.send_inner(request)
            .await
            .map_err(|e| e.in_context(ID, "send"))
    }

    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        self.verify_inner(handle, code)
            .map_err(|e| e.in_context(ID, "verify"))
    }

    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        self.resend_inner(handle)
            .await
            .map_err(|e| e.in_context(ID, "resend"))
    }

    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error> {
        self.status_inner(handle)
            .map_err(|e| e.in_context(ID, "status"))
    }
}

impl Config {
    /// The mock these settings describe.
    pub fn mock(&self) -> Result<MockProvider, Error> {
        let mut mock = MockProvider::named(self.name.as_deref().unwrap_or("default"));
        let mut caps = default_capabilities();
        if self.email == Some(false) {
            caps.channels.retain(|c| *c != Channel::Email);
            caps.email = false;
        }
        if self.phone == Some(false) {
            caps = caps.without_phone();
        } else if let Some(prefixes) = &self.phone_prefixes {
            caps = caps.phone(Some(prefixes.clone()));
        }
        caps.resend = match self.resend.as_deref() {
            None | Some("native") => ResendMode::Native,
            Some("sends_again") => ResendMode::SendsAgain,
            Some(_) => return Err(Error::config("resend", "must be native or sends_again")),
        };
        caps.status = self.status.unwrap_or(true);
        mock = mock.with_capabilities(caps);
        if let Some(length) = self.code_length {
            if !(4..=10).contains(&length) {
                return Err(Error::config("code_length", "must be 4 to 10"));
            }
            mock = mock.code_length(length as usize);
        }
        if let Some(ttl) = self.code_ttl_secs {
            mock = mock.code_ttl(Duration::from_secs(ttl));
        }
        if let Some(cooldown) = self.cooldown_secs {
            mock = mock.cooldown(Duration::from_secs(cooldown));
        }
        if let Some(attempts) = self.max_attempts {
            mock = mock.max_attempts(u32::try_from(attempts).unwrap_or(u32::MAX));
        }
        if let Some(ms) = self.slow_ms {
            mock = mock.slow(Duration::from_millis(ms));
        }
        Ok(mock)
    }
}

/// The mock has no wire format: it answers in memory. This adapter exists only so that the
/// mock's config fits [`ProviderSettings`]; [`Config`] builds a [`MockProvider`] instead, and
/// every one of these functions says so.
#[doc(hidden)] // crate plumbing: MockProvider is the API
#[derive(Debug, Clone)]
pub struct MockAdapter;

fn no_wire() -> Error {
    Error::unsupported("the mock answers in memory; it has no HTTP exchange")
}

impl Adapter for MockAdapter {
    const ID: &'static str = ID;

    fn capabilities(&self) -> Capabilities {
        default_capabilities()
    }

    fn build_send(&self, _request: &SendRequest) -> Result<HttpRequest, Error> {
        Err(no_wire())
    }

    fn parse_send(
        &self,
        _request: &SendRequest,
        _sent: &HttpRequest,
        _response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        Err(no_wire())
    }

    fn build_verify(&self, _handle: &Verification, _code: &OtpCode) -> Result<HttpRequest, Error> {
        Err(no_wire())
    }

    fn parse_verify(
        &self,
        _handle: &Verification,
        _response: &HttpResponse,
    ) -> Result<Verified, Error> {
        Err(no_wire())
    }
}

impl ProviderSettings for Config {
    type Adapter = MockAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = None;

    fn adapter(&self, _base_url: Url) -> Result<MockAdapter, Error> {
        Err(no_wire())
    }

    fn secrets(&self) -> Vec<Secret> {
        Vec::new()
    }

    /// The mock has no HTTP client: use [`ProviderSettings::build_provider`] or
    /// [`Config::mock`].
    fn build(
        &self,
        _common: &CommonConfig,
        _options: &HttpOptions,
    ) -> Result<Client<MockAdapter>, Error> {
        Err(no_wire())
    }

    /// The mock; `resend_after_secs` (contract §2) is its cooldown unless `cooldown_secs`
    /// says otherwise. The other common keys (URL, timeouts) mean nothing in memory.
    fn build_provider(
        &self,
        common: &CommonConfig,
        _options: &HttpOptions,
    ) -> Result<Box<dyn OtpProvider>, Error> {
        let mut mock = self.mock()?;
        if let (None, Some(secs)) = (self.cooldown_secs, common.resend_after_secs) {
            mock = mock.cooldown(Duration::from_secs(secs));
        }
        Ok(Box::new(mock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(to: &str) -> SendRequest {
        SendRequest::new(to.parse().unwrap())
    }

    #[tokio::test]
    async fn the_mock_follows_the_rules_of_real_providers() {
        let mock = MockProvider::new().max_attempts(2);
        let receipt = mock.send(&request("+14155550123")).await.unwrap();
        assert_eq!(receipt.channel, Some(Channel::Sms));
        let code = mock.last_code("+14155550123").unwrap();
        assert_eq!(code.len(), 6);
        let handle = &receipt.verification;
        let wrong = mock.verify(handle, "0000000").await.unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::InvalidCode);
        assert_eq!(wrong.provider(), Some("mock"));
        assert_eq!(wrong.attempts_remaining(), Some(1));
        let early = mock.resend(handle).await.unwrap_err();
        assert_eq!(early.kind(), ErrorKind::Cooldown);
        assert!(early.retry_after().is_some_and(|d| d > Duration::ZERO));
        mock.verify(handle, &code).await.unwrap();
        let reused = mock.verify(handle, &code).await.unwrap_err();
        assert_eq!(reused.kind(), ErrorKind::AlreadyVerified);
        assert_eq!(
            mock.status(handle).await.unwrap().state,
            VerificationState::Verified
        );
        // Edited handles are refused before anything is checked (contract §4).
        let token = handle.to_token();
        let json = serde_json::to_string(handle).unwrap();
        for (from, to) in [
            ("+14155550123", "+14155550124"),
            (handle.reference().unwrap(), "mock-0000"),
        ] {
            let edited: Verification = serde_json::from_str(&json.replace(from, to)).unwrap();
            assert_eq!(
                mock.status(&edited).await.unwrap_err().kind(),
                ErrorKind::InvalidRequest
            );
        }
        let unsealed = Verification::new("mock", "+14155550123".parse().unwrap())
            .with_reference(handle.reference().unwrap());
        assert_eq!(
            mock.verify(&unsealed, &code).await.unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
        assert_eq!(&Verification::from_token(&token).unwrap(), handle);
        let sent = mock.sent();
        assert_eq!(sent.len(), 1);
        assert!(!sent[0].recipient.contains("5550123"), "{sent:?}");
    }

    #[tokio::test]
    async fn codes_burn_after_the_attempts_and_expire() {
        let mock = MockProvider::new().max_attempts(1).cooldown(Duration::ZERO);
        let handle = mock
            .send(&request("a@example.com"))
            .await
            .unwrap()
            .verification;
        let code = mock.last_code("A@example.com").unwrap();
        assert!(mock.verify(&handle, "00000000").await.is_err());
        assert_eq!(
            mock.verify(&handle, &code).await.unwrap_err().kind(),
            ErrorKind::TooManyAttempts
        );
        let mock = MockProvider::new().code_ttl(Duration::ZERO);
        let handle = mock
            .send(&request("b@example.com"))
            .await
            .unwrap()
            .verification;
        let code = mock.last_code("b@example.com").unwrap();
        assert_eq!(
            mock.verify(&handle, &code).await.unwrap_err().kind(),
            ErrorKind::Expired
        );
    }

    #[tokio::test]
    async fn scripted_failures_and_capabilities() {
        let mock = MockProvider::new()
            .with_capabilities(Capabilities::new([Channel::Sms]).phone(Some(vec!["+91".into()])));
        assert_eq!(
            mock.send(&request("a@example.com"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
        mock.fail_next_send(ErrorKind::RateLimited);
        let err = mock.send(&request("+919876543210")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(RATE_LIMIT_RETRY_AFTER));
        assert!(mock.sent().is_empty());
        mock.send(&request("+919876543210")).await.unwrap();
    }

    #[tokio::test]
    async fn a_config_names_a_shared_mock() {
        let config = crate::ProviderConfig::from_toml_str(
            "provider = \"mock\"\nname = \"unit-shared\"\ncode_length = 8\ncooldown_secs = 0",
        )
        .unwrap();
        let provider = config.build().unwrap();
        provider.send(&request("c@example.com")).await.unwrap();
        let code = MockProvider::named("unit-shared")
            .last_code("c@example.com")
            .unwrap();
        assert_eq!(code.len(), 8);
        let err = crate::ProviderConfig::from_toml_str("provider = \"mock\"\nresend = \"twice\"")
            .unwrap()
            .build()
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
