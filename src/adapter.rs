//! Providers as pure functions: an [`Adapter`] builds each request and classifies each response;
//! [`Client`] runs them over the one shared exchange path and implements [`OtpProvider`].
//!
//! Writing a new provider means implementing [`Adapter`] (no I/O), which makes every provider
//! table-testable and fuzzable without a server.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{Call, HttpOptions, HttpRequest, HttpResponse, Transport};
use crate::provider::{OtpCode, OtpProvider, SendReceipt, SendRequest, StatusReport, Verified};
use crate::retry::RetrySafety;

/// One provider's wire format: a pure `build_*` and `parse_*` per operation.
///
/// `parse_*` sees the request that was sent (so values generated while building, such as an
/// id put in a header, can travel into the handle) and decides success from the body, not the
/// status code, wherever the provider signals failures inside HTTP 200.
pub trait Adapter: Send + Sync + fmt::Debug + 'static {
    /// The provider id.
    const ID: &'static str;

    /// Whether the provider accepts a caller-chosen code ([`SendRequest::custom_code`]).
    fn accepts_custom_code(&self) -> bool {
        false
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

    /// Builds the resend request; `unsupported` by default.
    fn build_resend(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let _ = handle;
        Err(Error::unsupported(format!(
            "{} has no resend call; call send again",
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

/// An [`Adapter`] joined to the shared exchange path: this is what `build()` returns for each
/// provider. It checks handles and codes before any adapter sees them.
#[derive(Debug, Clone)]
pub struct Client<A> {
    adapter: A,
    transport: Transport,
}

impl<A: Adapter> Client<A> {
    /// Joins an adapter to a transport.
    pub fn new(adapter: A, transport: Transport) -> Self {
        Client { adapter, transport }
    }

    /// Builds the transport from timeouts and options, then joins.
    pub fn with_options(
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
    pub fn adapter(&self) -> &A {
        &self.adapter
    }

    /// The transport, for provider-specific calls.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Runs one provider-specific exchange on the shared path. (A plain function returning the
    /// exchange's future, so the future `OtpProvider` boxes does not hold the arguments twice.)
    pub fn call<'a, T: 'a>(
        &'a self,
        operation: &'static str,
        safety: RetrySafety,
        recipient: Option<&'a crate::Recipient>,
        request: &'a HttpRequest,
        parse: impl Fn(&HttpResponse) -> Result<T, Error> + 'a,
    ) -> impl Future<Output = Result<T, Error>> + 'a {
        let call = Call {
            provider: A::ID,
            operation,
            recipient,
            safety,
        };
        self.transport.exchange(call, request, parse)
    }

    fn check_handle(&self, handle: &Verification) -> Result<(), Error> {
        if handle.provider() == A::ID {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "this handle was issued by `{}`, not `{}`",
                handle.provider(),
                A::ID
            ),
        ))
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

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        let context = |e: Error| e.in_context(A::ID, "send");
        request.validate().map_err(context)?;
        if request.custom_code.is_some() && !self.adapter.accepts_custom_code() {
            return Err(context(Error::unsupported(format!(
                "{} generates its own codes; a caller-chosen code cannot be sent",
                A::ID
            ))));
        }
        let http = self.adapter.build_send(request).map_err(context)?;
        self.call(
            "send",
            RetrySafety::NotOnceSent,
            Some(&request.recipient),
            &http,
            |response| {
                let receipt = self.adapter.parse_send(request, &http, response)?;
                check_receipt(receipt)
            },
        )
        .await
    }

    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        let context = |e: Error| e.in_context(A::ID, "verify");
        self.check_handle(handle).map_err(context)?;
        let code = OtpCode::parse(code).map_err(context)?;
        let http = self.adapter.build_verify(handle, &code).map_err(context)?;
        self.call(
            "verify",
            RetrySafety::WhenRefused,
            Some(handle.recipient()),
            &http,
            |response| self.adapter.parse_verify(handle, response),
        )
        .await
    }

    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        let context = |e: Error| e.in_context(A::ID, "resend");
        self.check_handle(handle).map_err(context)?;
        let http = self.adapter.build_resend(handle).map_err(context)?;
        self.call(
            "resend",
            RetrySafety::NotOnceSent,
            Some(handle.recipient()),
            &http,
            |response| {
                let receipt = self.adapter.parse_resend(handle, &http, response)?;
                check_receipt(receipt)
            },
        )
        .await
    }

    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error> {
        let context = |e: Error| e.in_context(A::ID, "status");
        self.check_handle(handle).map_err(context)?;
        let http = self.adapter.build_status(handle).map_err(context)?;
        self.call(
            "status",
            RetrySafety::Idempotent,
            Some(handle.recipient()),
            &http,
            |response| self.adapter.parse_status(handle, response),
        )
        .await
    }
}
