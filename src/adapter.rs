//! Providers as pure functions: an [`Adapter`] builds each request and classifies each response;
//! [`Client`] runs them over the one shared exchange path and implements [`OtpProvider`].
//!
//! Writing a new provider means implementing [`Adapter`] (no I/O), which makes every provider
//! table-testable and fuzzable without a server.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::capabilities::{Capabilities, ResendMode};
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::handle_key::HandleKey;
use crate::http::{Call, HttpOptions, HttpRequest, HttpResponse, Transport};
use crate::mask::Redactor;
use crate::parse;
use crate::provider::OtpProvider;
use crate::receipt::{SendReceipt, StatusReport, Verified};
use crate::record::{Capture, Input, Outcome, Recording};
use crate::request::{OtpCode, SendRequest};
use crate::retry::RetrySafety;
use crate::secret::Secret;

/// One provider's wire format: a pure `build_*` and `parse_*` per operation.
///
/// `parse_*` sees the request that was sent (so values generated while building, such as an
/// id put in a header, can travel into the handle) and decides success from the body, not the
/// status code, wherever the provider signals failures inside HTTP 200.
///
/// Crate plumbing: not part of the public API (hidden from the docs, unnameable outside the
/// crate), so adapters can change without a semver break.
#[doc(hidden)]
pub trait Adapter: Send + Sync + fmt::Debug + 'static {
    /// The provider id.
    const ID: &'static str;

    /// What this provider, as configured, can do (contract §6). Read once when the client is
    /// built; the core refuses what falls outside it before the adapter sees a request.
    fn capabilities(&self) -> Capabilities;

    /// The error marker `response` carries, if any (see [`parse::error_marker`], the default).
    /// The exchange path asks this separately from `parse_*`: `Ok` from a body with a marker, or
    /// from a non-2xx answer, is refused there: success is earned.
    fn error_marker(&self, operation: &str, response: &HttpResponse) -> Option<&'static str> {
        parse::error_marker(operation, response)
    }

    /// Builds the send request.
    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error>;

    /// Reads the send answer.
    fn parse_send(
        &self,
        request: &SendRequest,
        sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error>;

    /// Builds the verify request.
    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error>;

    /// Reads the verify answer.
    fn parse_verify(
        &self,
        handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error>;

    /// Builds the resend request of a provider whose capabilities say
    /// [`ResendMode::Native`]; `unsupported` by default. Where they say
    /// [`ResendMode::SendsAgain`] the core sends again through [`Adapter::build_send`] and never
    /// calls this.
    fn build_resend(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let _ = handle;
        Err(Error::unsupported(format!(
            "{} has no resend call",
            Self::ID
        )))
    }

    /// Reads the resend answer.
    fn parse_resend(
        &self,
        handle: &Verification,
        sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let _ = (handle, sent, response);
        Err(Error::unsupported(format!(
            "{} has no resend call",
            Self::ID
        )))
    }

    /// Builds the status request; `unsupported` by default.
    fn build_status(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let _ = handle;
        Err(Error::unsupported(format!(
            "{} has no status call",
            Self::ID
        )))
    }

    /// Reads the status answer.
    fn parse_status(
        &self,
        handle: &Verification,
        response: &HttpResponse,
    ) -> Result<StatusReport, Error> {
        let _ = (handle, response);
        Err(Error::unsupported(format!(
            "{} has no status call",
            Self::ID
        )))
    }
}

/// An adapter joined to the shared exchange path: this is what `build()` returns for each
/// provider. It checks handles and codes before any adapter sees them: every handle it returns
/// carries its MAC and resend time, and every handle it is given must carry a valid MAC, be
/// unexpired and (for `resend`) be past its resend time (see [`Verification`]).
#[derive(Debug, Clone)]
pub struct Client<A> {
    adapter: A,
    transport: Transport,
    capabilities: Capabilities,
    handle_key: HandleKey,
    resend_after: Duration,
    /// Where exchanges are recorded, when [`HttpOptions::record_to`] asked for it.
    recording: Option<Arc<Recording>>,
}

/// The wait before a resend when neither the provider's answer nor the configuration names one
/// (`resend_after_secs`, contract §2).
pub(crate) const DEFAULT_RESEND_AFTER: Duration = Duration::from_secs(30);

impl<A: Adapter> Client<A> {
    /// Joins an adapter to a transport. Handles are stamped with a random key of this client
    /// (they do not outlive it) and resends wait 30 s where the provider names no wait;
    /// [`ProviderSettings::build`](crate::ProviderSettings::build) derives the key from the
    /// configured credentials instead, so handles work across processes.
    pub(crate) fn new(adapter: A, transport: Transport) -> Self {
        let capabilities = adapter.capabilities();
        Client {
            adapter,
            transport,
            capabilities,
            handle_key: HandleKey::random(),
            resend_after: DEFAULT_RESEND_AFTER,
            recording: None,
        }
    }

    /// Records this client's exchanges if `options` name a folder (see [`crate::record`]),
    /// with `secrets` (the provider's configured credentials) scrubbed out.
    pub(crate) fn recording(mut self, options: &HttpOptions, secrets: &[Secret]) -> Self {
        if let Some(dir) = &options.record {
            let source = options.config_source.as_ref();
            self.recording = Some(Arc::new(Recording::new(dir, A::ID, source, secrets)));
        }
        self
    }

    /// A place for the exchange of one operation, when recording.
    fn capture(&self) -> Option<Capture> {
        self.recording.as_ref().map(|_| Capture::default())
    }

    /// Records one operation, when recording (never fails the call).
    fn record(&self, capture: Option<Capture>, input: Input<'_>, outcome: Outcome<'_>) {
        if let (Some(recording), Some(capture)) = (&self.recording, capture) {
            recording.record(input, capture, outcome);
        }
    }

    /// Keys handle MACs with the provider's id and these configured secret values.
    pub(crate) fn with_handle_key(mut self, secrets: &[Secret]) -> Self {
        self.handle_key = HandleKey::from_credentials(A::ID, secrets);
        self
    }

    /// Sets the wait before a resend when the provider's answer names none.
    pub(crate) fn with_resend_after(mut self, wait: Duration) -> Self {
        self.resend_after = wait;
        self
    }

    /// Builds the transport from timeouts and options, then joins.
    pub(crate) fn with_options(
        adapter: A,
        timeout: std::time::Duration,
        connect_timeout: std::time::Duration,
        options: &HttpOptions,
    ) -> Result<Self, Error> {
        Ok(Client::new(
            adapter,
            Transport::new(timeout, connect_timeout, options)?,
        ))
    }

    /// The adapter, for provider-specific calls.
    pub(crate) fn adapter(&self) -> &A {
        &self.adapter
    }

    /// Hides these configured secret values (raw, base64, url-encoded) in every error this
    /// client returns; [`ProviderSettings::build`](crate::ProviderSettings::build) passes the
    /// provider's [`ProviderSettings::secrets`](crate::ProviderSettings::secrets).
    pub(crate) fn with_secrets<S: AsRef<str>>(
        mut self,
        secrets: impl IntoIterator<Item = S>,
    ) -> Self {
        self.transport = self.transport.with_redactor(Redactor::new(secrets));
        self
    }

    /// An error decided before any request, with its context, sealed like the exchange's.
    fn local(&self, operation: &'static str, error: Error) -> Error {
        error
            .in_context(A::ID, operation)
            .sealed(self.transport.redactor())
    }

    /// Runs one provider-specific exchange on the shared path. `Ok` comes only from a 2xx
    /// answer that `parse` reads as success and that carries no error marker
    /// ([`Adapter::error_marker`]); otherwise the error says why.
    pub(crate) async fn call<T>(
        &self,
        operation: &'static str,
        safety: RetrySafety,
        recipient: Option<&crate::Recipient>,
        request: &HttpRequest,
        parse: impl Fn(&HttpResponse) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.call_captured(operation, safety, recipient, request, parse, None)
            .await
    }

    /// [`Client::call`], keeping each answer in `capture` for the recorder.
    async fn call_captured<T>(
        &self,
        operation: &'static str,
        safety: RetrySafety,
        recipient: Option<&crate::Recipient>,
        request: &HttpRequest,
        parse: impl Fn(&HttpResponse) -> Result<T, Error>,
        capture: Option<&Capture>,
    ) -> Result<T, Error> {
        let call = Call {
            provider: A::ID,
            operation,
            recipient,
            safety,
        };
        let earned = |response: &HttpResponse| {
            if let Some(capture) = capture {
                capture.keep(request, response);
            }
            let value = parse(response)?;
            let marker = self.adapter.error_marker(operation, response);
            match parse::unearned_success(marker, response) {
                None => Ok(value),
                Some(error) => Err(error),
            }
        };
        self.transport
            .exchange(call, request, earned)
            .await
            .map_err(|e| with_cooldown_wait(e, self.resend_after))
    }

    /// Sends a code the way `send` does, without asking whether `verify` can check its
    /// purpose: for a provider's own typed flows (Tencent's password reset), whose code
    /// another call consumes. Recipient, channel and caller-code checks still apply.
    // Unused in a build without a provider that has typed flows of its own.
    #[allow(dead_code)]
    pub(crate) async fn send_for_own_flow(
        &self,
        request: &SendRequest,
    ) -> Result<SendReceipt, Error> {
        self.send_recorded(request, "send_code").await
    }

    /// Sends, recording the exchange as the fixture operation `recorded_as` when recording.
    async fn send_recorded(
        &self,
        request: &SendRequest,
        recorded_as: &'static str,
    ) -> Result<SendReceipt, Error> {
        let capture = self.capture();
        let outcome = self.send_as("send", request, capture.as_ref()).await;
        self.record(
            capture,
            Input::Send(request, recorded_as),
            Outcome::Receipt(&outcome),
        );
        outcome
    }

    /// The one send path, for `send` and for `resend` where the provider has no resend call
    /// (`operation` names which in errors and tracing).
    async fn send_as(
        &self,
        operation: &'static str,
        request: &SendRequest,
        capture: Option<&Capture>,
    ) -> Result<SendReceipt, Error> {
        let context = |e: Error| self.local(operation, e);
        request.validate().map_err(context)?;
        self.capabilities.check_reach(request).map_err(context)?;
        let http = self.adapter.build_send(request).map_err(context)?;
        self.call_captured(
            operation,
            RetrySafety::NotOnceSent,
            Some(&request.recipient),
            &http,
            |response| {
                let receipt = self.adapter.parse_send(request, &http, response)?;
                self.issue(receipt, request.member.clone())
            },
            capture,
        )
        .await
    }

    /// Checks a handle before any adapter sees it: issued by this provider, its MAC intact
    /// under this provider's key (`invalid_request` otherwise), and not past its expiry
    /// (`expired`). Nothing is sent in either case. Every operation that takes a handle,
    /// including provider-specific ones, calls it first.
    pub(crate) fn check_handle(&self, handle: &Verification) -> Result<(), Error> {
        handle.require_provider(A::ID)?;
        self.handle_key.check(handle)?;
        if handle.is_expired() {
            return Err(Error::new(
                ErrorKind::Expired,
                "this handle has expired; send a new code (nothing was sent)",
            ));
        }
        Ok(())
    }

    /// Completes a receipt the adapter read: the router member, the resend time (the
    /// provider's wait, else `resend_after_secs`) and the MAC over the finished handle.
    fn issue(
        &self,
        mut receipt: SendReceipt,
        member: Option<String>,
    ) -> Result<SendReceipt, Error> {
        let wait = *receipt.resend_after.get_or_insert(self.resend_after);
        let handle = receipt.verification.with_member(member).resendable_in(wait);
        receipt.verification = self.handle_key.stamp(handle);
        check_receipt(receipt)
    }
}

/// `cooldown` with the remaining wait when the handle's resend time has not come.
fn check_cooldown(handle: &Verification) -> Result<(), Error> {
    let wait = handle.resend_wait();
    if wait.is_zero() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Cooldown,
        format!(
            "a new code may be asked for in {} s; nothing was sent",
            wait.as_secs_f64().ceil()
        ),
    )
    .with_retry_after(wait))
}

/// A `cooldown` always says how long to wait: the provider's, else `default`
/// (`resend_after_secs`).
fn with_cooldown_wait(error: Error, default: Duration) -> Error {
    if error.kind() == ErrorKind::Cooldown && error.retry_after().is_none() {
        error.with_retry_after(default)
    } else {
        error
    }
}

fn check_receipt(receipt: SendReceipt) -> Result<SendReceipt, Error> {
    // Building the token costs a JSON encoding and base64 on every send; only do it when the
    // cheap bound says the handle might be too long.
    let handle = &receipt.verification;
    if handle.token_len_bound() > Verification::MAX_TOKEN_LEN
        && handle.to_token().len() > Verification::MAX_TOKEN_LEN
    {
        return Err(Error::unexpected(
            "the provider's reference is too long to fit a handle",
        ));
    }
    Ok(receipt)
}

#[async_trait]
impl<A: Adapter> OtpProvider for Client<A> {
    fn id(&self) -> &'static str {
        A::ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        // The send path checks the recipient, channel and caller code; the portable send also
        // refuses a purpose `verify` could not check.
        self.capabilities
            .check_purpose(request)
            .map_err(|e| self.local("send", e))?;
        self.send_recorded(request, "send").await
    }

    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        let capture = self.capture();
        let outcome = self.verify_inner(handle, code, capture.as_ref()).await;
        self.record(
            capture,
            Input::Verify(handle, code),
            Outcome::Verified(&outcome),
        );
        outcome
    }

    /// Checks the handle and its resend time (`cooldown` with the remaining wait before it),
    /// then asks the provider's resend call where it has one, or sends a new code to the
    /// handle's recipient with its purpose and channel where it has none (a new handle).
    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        let capture = self.capture();
        let outcome = self.resend_inner(handle, capture.as_ref()).await;
        self.record(capture, Input::Resend(handle), Outcome::Receipt(&outcome));
        outcome
    }

    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error> {
        let capture = self.capture();
        let outcome = self.status_inner(handle, capture.as_ref()).await;
        self.record(capture, Input::Status(handle), Outcome::Status(&outcome));
        outcome
    }
}

/// The operations behind [`OtpProvider`], each keeping its answer in `capture` for the recorder.
impl<A: Adapter> Client<A> {
    async fn verify_inner(
        &self,
        handle: &Verification,
        code: &str,
        capture: Option<&Capture>,
    ) -> Result<Verified, Error> {
        let context = |e: Error| self.local("verify", e);
        self.check_handle(handle).map_err(context)?;
        let code = OtpCode::parse(code).map_err(context)?;
        let http = self.adapter.build_verify(handle, &code).map_err(context)?;
        self.call_captured(
            "verify",
            RetrySafety::WhenRefused,
            Some(handle.recipient()),
            &http,
            |response| self.adapter.parse_verify(handle, response),
            capture,
        )
        .await
    }

    async fn resend_inner(
        &self,
        handle: &Verification,
        capture: Option<&Capture>,
    ) -> Result<SendReceipt, Error> {
        let context = |e: Error| self.local("resend", e);
        self.check_handle(handle).map_err(context)?;
        check_cooldown(handle).map_err(context)?;
        let member = handle.member().map(str::to_owned);
        if self.capabilities.resend == ResendMode::SendsAgain {
            let mut request = SendRequest::new(handle.recipient().clone());
            request.purpose = handle.purpose().cloned();
            request.channel = handle.channel();
            request.member = member;
            return self.send_as("resend", &request, capture).await;
        }
        let http = self.adapter.build_resend(handle).map_err(context)?;
        self.call_captured(
            "resend",
            RetrySafety::NotOnceSent,
            Some(handle.recipient()),
            &http,
            |response| {
                let receipt = self.adapter.parse_resend(handle, &http, response)?;
                self.issue(receipt, member.clone())
            },
            capture,
        )
        .await
    }

    async fn status_inner(
        &self,
        handle: &Verification,
        capture: Option<&Capture>,
    ) -> Result<StatusReport, Error> {
        let context = |e: Error| self.local("status", e);
        self.check_handle(handle).map_err(context)?;
        let http = self.adapter.build_status(handle).map_err(context)?;
        self.call_captured(
            "status",
            RetrySafety::Idempotent,
            Some(handle.recipient()),
            &http,
            |response| self.adapter.parse_status(handle, response),
            capture,
        )
        .await
    }
}

#[cfg(all(test, feature = "thaaigroup"))]
mod tests;
