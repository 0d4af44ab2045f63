//! The provider-neutral surface: the [`OtpProvider`] trait, what goes in ([`SendRequest`]) and
//! what comes out ([`SendReceipt`], [`Verified`], [`StatusReport`]).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::capabilities::Capabilities;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::recipient::Recipient;
use crate::secret::Secret;

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
    /// expired one `expired`, all with no request made (see [`crate::handle`]).
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

/// Why the code is sent. Providers that take free text get the word as is; Tencent CIAM maps
/// the four named purposes to its `usage`.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// `signup`
    Signup,
    /// `login`
    Login,
    /// `reset_password`
    ResetPassword,
    /// `update_userinfo`
    UpdateUserinfo,
    /// Any other word (letters, digits, `_`, `-`, `.`; at most 64 characters).
    Other(String),
}

impl Purpose {
    /// Parses a purpose word.
    ///
    /// ```
    /// use otpkit::Purpose;
    /// assert_eq!("signup".parse::<Purpose>()?, Purpose::Signup);
    /// assert_eq!("checkout".parse::<Purpose>()?.as_str(), "checkout");
    /// assert!("two words".parse::<Purpose>().is_err());
    /// # Ok::<(), otpkit::Error>(())
    /// ```
    pub fn parse(word: &str) -> Result<Self, Error> {
        Ok(match word {
            "signup" => Purpose::Signup,
            "login" => Purpose::Login,
            "reset_password" => Purpose::ResetPassword,
            "update_userinfo" => Purpose::UpdateUserinfo,
            other => {
                let valid = !other.is_empty()
                    && other.len() <= 64
                    && other
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "a purpose is one word of letters, digits, `_`, `-` or `.` (at most 64)",
                    ));
                }
                Purpose::Other(other.to_owned())
            }
        })
    }

    /// The word.
    pub fn as_str(&self) -> &str {
        match self {
            Purpose::Signup => "signup",
            Purpose::Login => "login",
            Purpose::ResetPassword => "reset_password",
            Purpose::UpdateUserinfo => "update_userinfo",
            Purpose::Other(word) => word,
        }
    }
}

/// How the code travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Channel {
    /// Email.
    Email,
    /// SMS text message.
    Sms,
    /// WhatsApp message.
    Whatsapp,
    /// Voice call.
    Voice,
    /// Viber message.
    Viber,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Email,
        Channel::Sms,
        Channel::Whatsapp,
        Channel::Voice,
        Channel::Viber,
    ];

    /// The lower-case name: `email`, `sms`, `whatsapp`, `voice`, `viber`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Voice => "voice",
            Channel::Viber => "viber",
        }
    }

    /// Parses a channel name (case-insensitive).
    pub fn parse(name: &str) -> Result<Self, Error> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidRequest,
                    "a channel is one of email, sms, whatsapp, voice, viber",
                )
            })
    }
}

macro_rules! string_form {
    ($ty:ty) => {
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                <$ty>::parse(s)
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_form!(Purpose);
string_form!(Channel);

impl fmt::Debug for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Purpose({})", self.as_str())
    }
}

/// A one-time code as the user typed it: 4 to 10 ASCII digits. It never prints.
///
/// ```
/// use otpkit::{ErrorKind, OtpCode};
///
/// assert_eq!(OtpCode::parse("123456")?.expose(), "123456");
/// assert_eq!(format!("{:?}", OtpCode::parse("123456")?), "OtpCode(***)");
/// for bad in ["12a456", "", "123", "12 34 56", "12345678901"] {
///     assert_eq!(OtpCode::parse(bad).unwrap_err().kind(), ErrorKind::InvalidCode);
/// }
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(Secret);

impl OtpCode {
    /// The shortest code any provider issues.
    pub const MIN_LEN: usize = 4;
    /// The longest code any provider issues.
    pub const MAX_LEN: usize = 10;

    /// Checks a typed code: digits only, 4 to 10 of them.
    pub fn parse(typed: &str) -> Result<Self, Error> {
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&typed.len())
            && typed.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Error::new(
                ErrorKind::InvalidCode,
                "a code is 4 to 10 digits with nothing else; nothing was sent to the provider",
            ));
        }
        Ok(OtpCode(Secret::new(typed)))
    }

    /// The digits, for putting them on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

/// What to send: the recipient plus optional hints. Providers use the hints they support and
/// ignore the rest.
///
/// ```
/// use std::time::Duration;
/// use otpkit::{Channel, Purpose, SendRequest};
///
/// let request = SendRequest::new("+14155550123".parse()?)
///     .purpose(Purpose::Login)
///     .channel(Channel::Sms)
///     .code_length(6)
///     .code_ttl(Duration::from_secs(300))
///     .reference("signup-42");
/// assert_eq!(request.channel, Some(Channel::Sms));
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SendRequest {
    /// Who gets the code.
    pub recipient: Recipient,
    /// Why (sign-up, login, …).
    pub purpose: Option<Purpose>,
    /// The preferred channel.
    pub channel: Option<Channel>,
    /// Code length hint.
    pub code_length: Option<u8>,
    /// Code lifetime hint.
    pub code_ttl: Option<Duration>,
    /// The end user's IP address, for providers that take it.
    pub end_user_ip: Option<IpAddr>,
    /// The caller's own reference (a journey or transaction id).
    pub reference: Option<String>,
    /// A code the caller chose instead of letting the provider generate one. Only providers
    /// that document it accept it (ThunderSMS); the others answer `unsupported`.
    pub custom_code: Option<OtpCode>,
    /// The router member sending it, recorded in the handle by the core (contract §7).
    pub(crate) member: Option<String>,
}

impl SendRequest {
    /// The longest caller reference accepted.
    pub const MAX_REFERENCE_LEN: usize = 128;

    /// A request for this recipient with no hints.
    pub fn new(recipient: Recipient) -> Self {
        SendRequest {
            recipient,
            purpose: None,
            channel: None,
            code_length: None,
            code_ttl: None,
            end_user_ip: None,
            reference: None,
            custom_code: None,
            member: None,
        }
    }

    /// Sets the purpose.
    pub fn purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// Sets the preferred channel.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Sets the code length hint.
    pub fn code_length(mut self, length: u8) -> Self {
        self.code_length = Some(length);
        self
    }

    /// Sets the code lifetime hint.
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = Some(ttl);
        self
    }

    /// Sets the end user's IP address.
    pub fn end_user_ip(mut self, ip: IpAddr) -> Self {
        self.end_user_ip = Some(ip);
        self
    }

    /// Sets the caller's reference (checked when sent: at most 128 printable ASCII characters).
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sends this code instead of a provider-generated one (see [`SendRequest::custom_code`]).
    pub fn custom_code(mut self, code: OtpCode) -> Self {
        self.custom_code = Some(code);
        self
    }

    /// Checks the hints that are the same for every provider. Called once before any adapter
    /// sees the request.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(reference) = &self.reference {
            let ok = !reference.is_empty()
                && reference.len() <= Self::MAX_REFERENCE_LEN
                && reference.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a reference is 1 to 128 printable ASCII characters without spaces",
                ));
            }
        }
        if let Some(length) = self.code_length {
            if !(OtpCode::MIN_LEN..=OtpCode::MAX_LEN).contains(&usize::from(length)) {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "code_length must be between 4 and 10",
                ));
            }
        }
        if self.code_ttl.is_some_and(|ttl| ttl.is_zero()) {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "code_ttl must be positive",
            ));
        }
        Ok(())
    }
}

/// What `send` and `resend` return.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SendReceipt {
    /// Everything `verify`, `resend` and `status` need later.
    pub verification: Verification,
    /// How long the code lives, when the provider said.
    pub expires_in: Option<Duration>,
    /// How long before a resend is allowed, when the provider said.
    pub resend_after: Option<Duration>,
    /// The channel the provider used or will try first, when known.
    pub channel: Option<Channel>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
}

impl SendReceipt {
    /// The receipt for a code that was just sent: the handle expires `expires_in` from now
    /// (when the provider said), and the receipt's channel is the handle's.
    pub fn issued(handle: Verification, expires_in: Option<Duration>) -> Self {
        let handle = match expires_in {
            Some(lifetime) => handle.expiring_in(lifetime),
            None => handle,
        };
        let mut receipt = SendReceipt::new(handle);
        receipt.channel = receipt.verification.channel();
        receipt.expires_in = expires_in;
        receipt
    }

    /// A receipt around a handle, with nothing else known yet.
    pub fn new(verification: Verification) -> Self {
        SendReceipt {
            verification,
            expires_in: None,
            resend_after: None,
            channel: None,
            request_id: None,
        }
    }
}

/// Tokens a provider issues when verification doubles as a login (Tencent CIAM's OAuth
/// exchange). Every token is a [`Secret`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect id token.
    pub id_token: Option<Secret>,
    /// The token type, normally `Bearer`.
    pub token_type: Option<String>,
    /// The scope granted.
    pub scope: Option<String>,
    /// The access token's lifetime.
    pub expires_in: Option<Duration>,
}

impl IssuedTokens {
    /// Tokens with only an access token.
    pub fn new(access_token: Secret) -> Self {
        IssuedTokens {
            access_token,
            refresh_token: None,
            id_token: None,
            token_type: None,
            scope: None,
            expires_in: None,
        }
    }
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Verified {
    /// The provider that verified the code.
    pub provider: &'static str,
    /// The provider's request id.
    pub request_id: Option<String>,
    /// Tokens the provider issued, where verifying is a login.
    pub tokens: Option<IssuedTokens>,
}

impl Verified {
    /// A plain "verified" from a provider.
    pub fn new(provider: &'static str) -> Self {
        Verified {
            provider,
            request_id: None,
            tokens: None,
        }
    }
}

/// Where a verification stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerificationState {
    /// Created, not yet sent.
    Pending,
    /// Sent to the recipient.
    Sent,
    /// Delivered to the recipient.
    Delivered,
    /// The code was verified.
    Verified,
    /// The code expired.
    Expired,
    /// Delivery or verification failed.
    Failed,
    /// A state this version of otpkit does not know, as the provider wrote it.
    Other(String),
}

impl VerificationState {
    /// Maps a provider's status word (case-insensitive).
    pub fn from_word(word: &str) -> Self {
        match word.trim().to_ascii_lowercase().as_str() {
            "pending" | "created" | "queued" => VerificationState::Pending,
            "sent" | "submitted" => VerificationState::Sent,
            "delivered" => VerificationState::Delivered,
            "verified" | "success" | "approved" => VerificationState::Verified,
            "expired" => VerificationState::Expired,
            "failed" | "undelivered" | "rejected" => VerificationState::Failed,
            _ => VerificationState::Other(word.to_owned()),
        }
    }

    /// The lower-case word (the provider's own word for `Other`).
    pub fn as_str(&self) -> &str {
        match self {
            VerificationState::Pending => "pending",
            VerificationState::Sent => "sent",
            VerificationState::Delivered => "delivered",
            VerificationState::Verified => "verified",
            VerificationState::Expired => "expired",
            VerificationState::Failed => "failed",
            VerificationState::Other(word) => word,
        }
    }
}

/// One delivery attempt on one channel, for multi-channel providers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelAttempt {
    /// The channel's name as the provider wrote it.
    pub channel: String,
    /// Its delivery state, when the provider reported one.
    pub status: Option<String>,
}

impl ChannelAttempt {
    /// A channel attempt.
    pub fn new(channel: impl Into<String>, status: Option<String>) -> Self {
        ChannelAttempt {
            channel: channel.into(),
            status,
        }
    }
}

/// What `status` returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StatusReport {
    /// The overall state.
    pub state: VerificationState,
    /// Per-channel delivery, for providers that fan out over channels.
    pub channels: Vec<ChannelAttempt>,
}

impl StatusReport {
    /// A report with no per-channel detail.
    pub fn new(state: VerificationState) -> Self {
        StatusReport {
            state,
            channels: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_checked_before_sending() {
        let base = SendRequest::new("a@b.co".parse().unwrap());
        assert!(base.clone().reference("journey-1").validate().is_ok());
        for bad in ["", "has space", "line\r\nbreak", &"x".repeat(129)] {
            let err = base.clone().reference(bad).validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
        }
        assert!(base.clone().code_length(3).validate().is_err());
        assert!(base.clone().code_length(11).validate().is_err());
        assert!(base.code_ttl(Duration::ZERO).validate().is_err());
    }

    #[test]
    fn channels_and_purposes_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()).unwrap(), channel);
        }
        assert_eq!(Channel::parse("SMS").unwrap(), Channel::Sms);
        assert!(Channel::parse("pigeon").is_err());
        for word in [
            "signup",
            "login",
            "reset_password",
            "update_userinfo",
            "2fa",
        ] {
            assert_eq!(Purpose::parse(word).unwrap().as_str(), word);
        }
    }

    #[test]
    fn issued_receipts_carry_the_expiry_and_the_handles_channel() {
        let handle =
            Verification::new("x", "a@b.co".parse().unwrap()).with_channel(Some(Channel::Email));
        let receipt = SendReceipt::issued(handle.clone(), Some(Duration::from_secs(300)));
        assert_eq!(receipt.expires_in, Some(Duration::from_secs(300)));
        assert_eq!(receipt.channel, Some(Channel::Email));
        assert!(receipt.verification.expires_at().is_some());
        let unknown = SendReceipt::issued(handle, None);
        assert_eq!(
            (unknown.expires_in, unknown.verification.expires_at()),
            (None, None)
        );
    }

    #[test]
    fn states_are_read_tolerantly() {
        assert_eq!(
            VerificationState::from_word("SENT"),
            VerificationState::Sent
        );
        assert_eq!(VerificationState::from_word("odd").as_str(), "odd");
    }
}
