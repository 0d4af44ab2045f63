//! What goes into a send: the [`SendRequest`], its [`Purpose`] and [`Channel`], and the
//! [`OtpCode`] a user types.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorKind};
use crate::recipient::Recipient;
use crate::secret::Secret;

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
}
