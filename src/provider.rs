//! The provider-neutral surface: the [`OtpProvider`] trait. What goes in is in `request.rs`,
//! what comes out in `receipt.rs`.

use std::fmt;

use async_trait::async_trait;

use crate::capabilities::Capabilities;
use crate::error::Error;
use crate::handle::Verification;
use crate::receipt::{SendReceipt, StatusReport, Verified};
use crate::request::SendRequest;

/// Sends and verifies one-time passwords through one provider.
///
/// Every adapter implements it, so an application holds a `Box<dyn OtpProvider>` built from
/// configuration and switches providers by editing config, not code.
///
/// ```no_run
/// use otpkit::{OtpProvider, ProviderConfig, SendRequest};
///
/// # async fn run() -> Result<(), otpkit::Error> {
/// let provider: Box<dyn OtpProvider> = ProviderConfig::from_env()?.build()?;
/// let receipt = provider.send(&SendRequest::new("jane@example.com".parse()?)).await?;
/// // … later, with the code the user typed:
/// provider.verify(&receipt.verification, "123456").await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait OtpProvider: Send + Sync + fmt::Debug {
    /// The provider id (`"thaaigroup"`, `"hyperverge"`, `"generic"`, `"thundersms"`,
    /// `"tencent_ciam"`).
    fn id(&self) -> &'static str;

    /// What this provider, as configured, can do, known without a request (contract §6):
    /// channels, recipients, how `resend` works, whether `status` exists, caller-chosen codes
    /// and the purposes `verify` can check. `send` refuses (`unsupported`, nothing sent) what
    /// falls outside it.
    fn capabilities(&self) -> &Capabilities;

    /// Asks the provider to send a code. Never retried once bytes may have reached the provider.
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error>;

    /// Checks the code the user typed. `Ok` means verified; a refused code is an error whose
    /// [`Error::is_rejection`] is true. A code that is not 4 to 10 digits is `invalid_code`,
    /// a handle that was changed or not issued by this provider is `invalid_request`, and an
    /// expired one `expired`, all with no request made (see [`Verification`]).
    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error>;

    /// Sends another code. Where the provider has a resend call it is used; where it has none
    /// (`capabilities().resend` is [`ResendMode::SendsAgain`](crate::ResendMode::SendsAgain)) a
    /// new code goes to the handle's recipient with its purpose and channel, and the receipt
    /// holds a new handle. Before the handle's resend time it is `cooldown` with the remaining
    /// wait, and a changed or expired handle is refused, all with no request made.
    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error>;

    /// Where the verification stands; `unsupported` where the provider has no such call. The
    /// handle is checked first, as for `verify`.
    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error>;
}
