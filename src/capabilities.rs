//! What a provider can do, known without a request (contract §6): the channels and recipients
//! it reaches, how `resend` works, whether `status` exists, whether a caller-chosen code is
//! accepted and which purposes `verify` can check.
//!
//! The core reads it before anything is sent: a recipient, channel or purpose outside a
//! provider's capabilities is `unsupported` with no request made, so a code is never sent that
//! cannot be checked. Applications and the router read it to decide before sending.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::error::{Error, ErrorKind};
use crate::recipient::Recipient;
use crate::request::{Channel, Purpose, SendRequest};

/// How a provider answers `resend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResendMode {
    /// The provider has its own resend call, which keeps the verification.
    Native,
    /// The provider has none: `resend` sends a new code to the same recipient and returns a new
    /// handle.
    SendsAgain,
}

impl ResendMode {
    /// `native` or `sends_again`, as the command line prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResendMode::Native => "native",
            ResendMode::SendsAgain => "sends_again",
        }
    }
}

impl fmt::Display for ResendMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider can do (contract §6). Serializes to the fields of the command line's
/// `capabilities` output.
///
/// ```
/// use otpkit::{Capabilities, Channel, Purpose, ResendMode, SendRequest};
///
/// let caps = Capabilities::new([Channel::Sms])
///     .phone(Some(vec!["+91".to_owned()]))
///     .resend(ResendMode::Native);
/// assert!(caps.reaches(&"+919876543210".parse()?));
/// assert!(!caps.reaches(&"+14155550123".parse()?));
/// assert!(!caps.reaches(&"jane@example.com".parse()?));
/// let refused = caps.check_send(&SendRequest::new("+14155550123".parse()?)).unwrap_err();
/// assert_eq!(refused.kind(), otpkit::ErrorKind::Unsupported);
/// assert!(caps.verifies(Some(&Purpose::Signup)));
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The channels the provider can send on.
    pub channels: Vec<Channel>,
    /// Whether it sends to email addresses.
    pub email: bool,
    /// Whether it sends to phone numbers.
    pub phone: bool,
    /// The E.164 prefixes (`"+91"`) of the phone numbers it reaches; `None`: any. Empty when
    /// `phone` is false.
    pub phone_prefixes: Option<Vec<String>>,
    /// How `resend` works.
    pub resend: ResendMode,
    /// Whether `status` exists.
    pub status: bool,
    /// Whether a caller-chosen code ([`SendRequest::custom_code`]) is accepted.
    pub custom_code: bool,
    /// The purposes whose codes `verify` can check; `None`: all. A send without a purpose is
    /// checked as the provider's default purpose and always allowed.
    pub verify_purposes: Option<Vec<Purpose>>,
}

impl Capabilities {
    /// A provider sending on these channels: email recipients when [`Channel::Email`] is among
    /// them, phone numbers of any country when another channel is; resend sends again; no
    /// status call; no caller-chosen code; every purpose verifiable.
    pub fn new(channels: impl IntoIterator<Item = Channel>) -> Self {
        let channels: Vec<Channel> = channels.into_iter().collect();
        let email = channels.contains(&Channel::Email);
        let phone = channels.iter().any(|c| *c != Channel::Email);
        Capabilities {
            channels,
            email,
            phone,
            phone_prefixes: if phone { None } else { Some(Vec::new()) },
            resend: ResendMode::SendsAgain,
            status: false,
            custom_code: false,
            verify_purposes: None,
        }
    }

    /// Sets which phone numbers are reached: `None` for any, or these E.164 prefixes. A
    /// provider with no phone channel reaches none whatever this says.
    pub fn phone(mut self, prefixes: Option<Vec<String>>) -> Self {
        self.phone_prefixes = if self.phone {
            prefixes
        } else {
            Some(Vec::new())
        };
        self
    }

    /// Reaches no phone number (a provider whose phone channel is not configured).
    pub fn without_phone(mut self) -> Self {
        self.phone = false;
        self.channels.retain(|c| *c == Channel::Email);
        self.phone_prefixes = Some(Vec::new());
        self
    }

    /// Sets how `resend` works.
    pub fn resend(mut self, mode: ResendMode) -> Self {
        self.resend = mode;
        self
    }

    /// Sets whether `status` exists.
    pub fn status(mut self, exists: bool) -> Self {
        self.status = exists;
        self
    }

    /// Sets whether a caller-chosen code is accepted.
    pub fn custom_code(mut self, accepted: bool) -> Self {
        self.custom_code = accepted;
        self
    }

    /// Limits the purposes `verify` can check.
    pub fn verify_purposes(mut self, purposes: impl IntoIterator<Item = Purpose>) -> Self {
        self.verify_purposes = Some(purposes.into_iter().collect());
        self
    }

    /// Whether the provider reaches this recipient (its kind and, for phones, its prefix).
    pub fn reaches(&self, recipient: &Recipient) -> bool {
        match recipient {
            Recipient::Email(_) => self.email,
            Recipient::Phone(phone) => {
                self.phone
                    && self.phone_prefixes.as_ref().is_none_or(|prefixes| {
                        prefixes
                            .iter()
                            .any(|p| phone.as_str().starts_with(p.as_str()))
                    })
            }
        }
    }

    /// Whether the provider can send on `channel` to `recipient`: the channel is one of its
    /// own, and email goes to addresses while the other channels go to phones.
    pub fn reaches_on(&self, recipient: &Recipient, channel: Channel) -> bool {
        let fits = match recipient {
            Recipient::Email(_) => channel == Channel::Email,
            Recipient::Phone(_) => channel != Channel::Email,
        };
        fits && self.channels.contains(&channel) && self.reaches(recipient)
    }

    /// Whether `verify` can check a code sent for `purpose` (no purpose: always).
    pub fn verifies(&self, purpose: Option<&Purpose>) -> bool {
        match (purpose, &self.verify_purposes) {
            (None, _) | (_, None) => true,
            (Some(purpose), Some(allowed)) => allowed.contains(purpose),
        }
    }

    /// Refuses, as `unsupported` and before anything is sent, a request this provider cannot
    /// serve end to end: a recipient it does not reach, a channel it lacks, a caller-chosen
    /// code it does not take, or a purpose whose code `verify` could not check.
    pub fn check_send(&self, request: &SendRequest) -> Result<(), Error> {
        self.check_reach(request)?;
        self.check_purpose(request)
    }

    /// The purpose half of [`Capabilities::check_send`]: `unsupported` when `verify` could not
    /// check a code sent for the request's purpose.
    pub fn check_purpose(&self, request: &SendRequest) -> Result<(), Error> {
        if !self.verifies(request.purpose.as_ref()) {
            let purpose = request.purpose.as_ref().map_or("", Purpose::as_str);
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "`verify` cannot check a `{purpose}` code with this provider (it checks {}); nothing was sent",
                    self.verify_purposes
                        .iter()
                        .flatten()
                        .map(Purpose::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Like [`Capabilities::check_send`] without the purpose: for a provider's own typed flows,
    /// whose code another of its calls consumes.
    pub fn check_reach(&self, request: &SendRequest) -> Result<(), Error> {
        let refuse = |why: String| {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!("{why}; nothing was sent"),
            ))
        };
        let recipient = &request.recipient;
        if !self.reaches(recipient) {
            return refuse(match recipient {
                Recipient::Email(_) => "this provider does not send to email addresses".to_owned(),
                Recipient::Phone(_) if !self.phone => {
                    "this provider does not send to phone numbers".to_owned()
                }
                Recipient::Phone(_) => format!(
                    "this provider reaches phone numbers starting {} only",
                    self.phone_prefixes
                        .as_deref()
                        .unwrap_or_default()
                        .join(", ")
                ),
            });
        }
        if let Some(channel) = request.channel {
            if !self.reaches_on(recipient, channel) {
                return refuse(format!(
                    "this provider cannot send to this recipient by {channel}"
                ));
            }
        }
        if request.custom_code.is_some() && !self.custom_code {
            return refuse(
                "this provider generates its own codes; a caller-chosen code cannot be sent"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Whether every phone number is reached (no prefix limit).
    fn reaches_any_phone(&self) -> bool {
        self.phone && self.phone_prefixes.is_none()
    }

    /// What several providers can do together (the router's): the union of channels,
    /// recipients and prefixes; `resend` is native only if every member's is; `status` and
    /// caller-chosen codes only if every member has them; the purposes every member verifies.
    pub fn union<'a>(all: impl IntoIterator<Item = &'a Capabilities>) -> Capabilities {
        let mut out: Option<Capabilities> = None;
        for caps in all {
            out = Some(match out {
                None => caps.clone(),
                Some(mut acc) => {
                    for channel in &caps.channels {
                        if !acc.channels.contains(channel) {
                            acc.channels.push(*channel);
                        }
                    }
                    acc.email |= caps.email;
                    acc.phone_prefixes = if acc.reaches_any_phone() || caps.reaches_any_phone() {
                        None
                    } else {
                        let mut prefixes = acc.phone_prefixes.take().unwrap_or_default();
                        for prefix in caps.phone_prefixes.iter().flatten() {
                            if !prefixes.contains(prefix) {
                                prefixes.push(prefix.clone());
                            }
                        }
                        Some(prefixes)
                    };
                    acc.phone |= caps.phone;
                    if caps.resend != ResendMode::Native {
                        acc.resend = ResendMode::SendsAgain;
                    }
                    acc.status &= caps.status;
                    acc.custom_code &= caps.custom_code;
                    acc.verify_purposes = match (acc.verify_purposes.take(), &caps.verify_purposes)
                    {
                        (None, theirs) => theirs.clone(),
                        (mine, None) => mine,
                        (Some(mine), Some(theirs)) => {
                            Some(mine.into_iter().filter(|p| theirs.contains(p)).collect())
                        }
                    };
                    acc
                }
            });
        }
        out.unwrap_or_else(|| Capabilities::new([]))
    }
}

impl Serialize for Capabilities {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Capabilities", 8)?;
        out.serialize_field("channels", &self.channels)?;
        out.serialize_field("email", &self.email)?;
        out.serialize_field("phone", &self.phone)?;
        out.serialize_field("phone_prefixes", &self.phone_prefixes)?;
        out.serialize_field("resend", self.resend.as_str())?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("custom_code", &self.custom_code)?;
        out.serialize_field("verify_purposes", &self.verify_purposes)?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Recipient {
        s.parse().unwrap()
    }

    #[test]
    fn email_only_providers_refuse_phones_and_other_channels() {
        let caps = Capabilities::new([Channel::Email]);
        assert!(caps.reaches(&r("a@b.co")));
        assert!(!caps.reaches(&r("+14155550123")));
        assert_eq!(caps.phone_prefixes, Some(Vec::new()));
        let sms = SendRequest::new(r("a@b.co")).channel(Channel::Sms);
        assert_eq!(
            caps.check_send(&sms).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn channels_must_fit_the_recipient() {
        let caps = Capabilities::new([Channel::Email, Channel::Sms]);
        assert!(caps.reaches_on(&r("a@b.co"), Channel::Email));
        assert!(!caps.reaches_on(&r("a@b.co"), Channel::Sms));
        assert!(caps.reaches_on(&r("+14155550123"), Channel::Sms));
        assert!(!caps.reaches_on(&r("+14155550123"), Channel::Email));
        assert!(!caps.reaches_on(&r("+14155550123"), Channel::Voice));
    }

    #[test]
    fn purposes_verify_cannot_check_are_refused_before_sending() {
        let caps = Capabilities::new([Channel::Sms]).verify_purposes([Purpose::Login]);
        let base = SendRequest::new(r("+8613800138000"));
        assert!(caps.check_send(&base).is_ok());
        assert!(caps
            .check_send(&base.clone().purpose(Purpose::Login))
            .is_ok());
        let err = caps
            .check_send(&base.clone().purpose(Purpose::Signup))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("signup"), "{err}");
        let custom = base.custom_code(crate::OtpCode::parse("1234").unwrap());
        assert_eq!(
            caps.check_send(&custom).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn the_union_joins_reach_and_keeps_only_shared_guarantees() {
        let india = Capabilities::new([Channel::Email, Channel::Sms])
            .phone(Some(vec!["+91".into()]))
            .resend(ResendMode::Native);
        let mail = Capabilities::new([Channel::Email]).status(true);
        let union = Capabilities::union([&india, &mail]);
        assert!(union.email && union.phone);
        assert_eq!(union.phone_prefixes, Some(vec!["+91".to_owned()]));
        assert_eq!(union.resend, ResendMode::SendsAgain);
        assert!(!union.status);
        let world = Capabilities::new([Channel::Whatsapp, Channel::Sms]).resend(ResendMode::Native);
        let union = Capabilities::union([&india, &world]);
        assert_eq!(union.phone_prefixes, None);
        assert_eq!(union.resend, ResendMode::Native);
        assert_eq!(
            union.channels,
            [Channel::Email, Channel::Sms, Channel::Whatsapp]
        );
        let login_only = Capabilities::new([Channel::Sms]).verify_purposes([Purpose::Login]);
        let union = Capabilities::union([&world, &login_only]);
        assert_eq!(union.verify_purposes, Some(vec![Purpose::Login]));
    }

    #[test]
    fn serializes_as_the_command_line_prints_it() {
        let caps = Capabilities::new([Channel::Email]);
        let json = serde_json::to_value(&caps).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "channels": ["email"], "email": true, "phone": false, "phone_prefixes": [],
                "resend": "sends_again", "status": false, "custom_code": false,
                "verify_purposes": null
            })
        );
    }
}
