//! One error type for every provider: [`Error`] and its stable [`ErrorKind`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::mask::{scrub, Redactor};

/// What went wrong, normalized across providers. The snake_case names ([`ErrorKind::as_str`],
/// also the serde form) are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The code is wrong (or wrong-or-expired where the provider cannot tell).
    InvalidCode,
    /// The code or verification has expired.
    Expired,
    /// The code was already used.
    AlreadyVerified,
    /// Too many wrong codes.
    TooManyAttempts,
    /// Unknown handle, request id or token.
    VerificationNotFound,
    /// A new code was asked for too soon; [`Error::retry_after`] says when to ask again.
    Cooldown,
    /// Throttled by the provider; [`Error::retry_after`] when known.
    RateLimited,
    /// Plan or balance used up; [`Error::quota`] when known.
    QuotaExceeded,
    /// Credentials wrong or inactive.
    InvalidCredentials,
    /// Authenticated but not allowed (domain, IP, access).
    Forbidden,
    /// Malformed, undeliverable or blocklisted email or phone number.
    InvalidRecipient,
    /// The email or phone number is already registered.
    RecipientInUse,
    /// Another request problem the provider (or local validation) rejected.
    InvalidRequest,
    /// This provider cannot do that operation, channel or recipient type.
    Unsupported,
    /// Provider-side failure, worth retrying later.
    Unavailable,
    /// No answer in time; [`Error::request_sent`] says whether the request may have arrived.
    Timeout,
    /// Connection or TLS failure.
    Transport,
    /// A body the adapter cannot understand (HTML page, truncated JSON, wrong shape, too large).
    UnexpectedResponse,
    /// Invalid configuration; the message names the key.
    Config,
}

impl ErrorKind {
    /// Every kind, in the order of the [Errors](crate#errors) table of the crate documentation.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::InvalidCode,
        ErrorKind::Expired,
        ErrorKind::AlreadyVerified,
        ErrorKind::TooManyAttempts,
        ErrorKind::VerificationNotFound,
        ErrorKind::Cooldown,
        ErrorKind::RateLimited,
        ErrorKind::QuotaExceeded,
        ErrorKind::InvalidCredentials,
        ErrorKind::Forbidden,
        ErrorKind::InvalidRecipient,
        ErrorKind::RecipientInUse,
        ErrorKind::InvalidRequest,
        ErrorKind::Unsupported,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::UnexpectedResponse,
        ErrorKind::Config,
    ];

    /// The stable snake_case name, e.g. `"invalid_code"`.
    ///
    /// ```
    /// assert_eq!(otpkit::ErrorKind::RateLimited.as_str(), "rate_limited");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidCode => "invalid_code",
            ErrorKind::Expired => "expired",
            ErrorKind::AlreadyVerified => "already_verified",
            ErrorKind::TooManyAttempts => "too_many_attempts",
            ErrorKind::VerificationNotFound => "verification_not_found",
            ErrorKind::Cooldown => "cooldown",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::InvalidCredentials => "invalid_credentials",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::InvalidRecipient => "invalid_recipient",
            ErrorKind::RecipientInUse => "recipient_in_use",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::UnexpectedResponse => "unexpected_response",
            ErrorKind::Config => "config",
        }
    }

    /// Whether the user typed something the provider refused (as opposed to an outage or a
    /// misconfiguration): `invalid_code`, `expired`, `already_verified`, `too_many_attempts`,
    /// `verification_not_found`.
    pub fn is_rejection(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidCode
                | ErrorKind::Expired
                | ErrorKind::AlreadyVerified
                | ErrorKind::TooManyAttempts
                | ErrorKind::VerificationNotFound
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| Error::new(ErrorKind::InvalidRequest, "unknown error kind"))
    }
}

/// Quota figures a provider reported with `quota_exceeded`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuotaInfo {
    /// The plan's limit.
    pub limit: Option<u64>,
    /// How much of it is used.
    pub used: Option<u64>,
    /// When the quota resets, as the provider wrote it (RFC 3339 for Thaaigroup).
    pub reset_at: Option<String>,
}

impl QuotaInfo {
    /// Quota figures.
    pub fn new(limit: Option<u64>, used: Option<u64>, reset_at: Option<String>) -> Self {
        QuotaInfo {
            limit,
            used,
            reset_at,
        }
    }
}

/// The largest `retry_after` otpkit reports; larger values (a misbehaving proxy, `10^10`) are
/// capped to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// An otpkit error: a normalized [`ErrorKind`] plus everything the provider said about it.
///
/// Messages are scrubbed: emails, phone numbers and anything that looks like a code are masked
/// before they are stored, because providers echo them back.
///
/// ```
/// use otpkit::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::InvalidRecipient, "not an email or E.164 phone number");
/// assert_eq!(err.kind(), ErrorKind::InvalidRecipient);
/// assert!(!err.is_retryable());
/// ```
#[derive(thiserror::Error)]
#[error("{}", self.render())]
#[non_exhaustive]
pub struct Error {
    inner: Box<Inner>,
    #[source]
    source: Option<BoxError>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

struct Inner {
    kind: ErrorKind,
    message: String,
    provider: Option<&'static str>,
    operation: Option<&'static str>,
    status: Option<u16>,
    provider_code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    quota: Option<QuotaInfo>,
    attempts_remaining: Option<u32>,
    request_sent: Option<bool>,
    /// Trying again would fail the same way (a refused certificate): never retryable.
    permanent: bool,
    fields: Vec<String>,
    /// What the provider sent, as received, kept only until the core seals the error with the
    /// provider's [`Redactor`] (secrets must be hidden before digits are masked, or a secret
    /// holding digits would be left half visible). Never printed.
    raw: Option<Box<Raw>>,
}

/// The provider-sourced strings of an error, as received; see `Inner::raw`.
#[derive(Default)]
struct Raw {
    message: Option<String>,
    code: Option<String>,
    request_id: Option<String>,
    fields: Option<Vec<String>>,
    reset_at: Option<String>,
}

/// Whether `value` is an RFC 3339 date or date-time (`2025-02-01`, `2025-02-01T00:00:00Z`,
/// `2025-02-01 00:00:00.5+05:30`) and nothing else.
fn is_timestamp(value: &str) -> bool {
    let bytes = value.as_bytes();
    let date = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !date || bytes.len() == 10 {
        return date;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return false;
    }
    let time = &value[11..];
    let time = time
        .strip_suffix(['Z', 'z'])
        .or_else(|| {
            let zone = time.len().checked_sub(6)?;
            let (clock, offset) = time.split_at_checked(zone)?;
            let o = offset.as_bytes();
            let ok = matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..].iter().all(u8::is_ascii_digit);
            ok.then_some(clock)
        })
        .unwrap_or(time);
    let t = time.as_bytes();
    t.len() >= 8
        && t.len() <= 18
        && t[..8].iter().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                *b == b':'
            } else {
                b.is_ascii_digit()
            }
        })
        && (t.len() == 8 || (t[8] == b'.' && t.len() > 9 && t[9..].iter().all(u8::is_ascii_digit)))
}

/// A quota reset time is kept when it is a plain timestamp (see [`is_timestamp`]), and masked
/// like any other provider text otherwise.
fn mask_reset_at(value: &str) -> String {
    if is_timestamp(value) {
        value.to_owned()
    } else {
        scrub(value)
    }
}

impl Error {
    /// An error with a message written by otpkit itself (not scrubbed).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                provider: None,
                operation: None,
                status: None,
                provider_code: None,
                request_id: None,
                retry_after: None,
                quota: None,
                attempts_remaining: None,
                request_sent: None,
                permanent: false,
                fields: Vec::new(),
                raw: None,
            }),
            source: None,
        }
    }

    /// An error carrying a provider's own message, scrubbed of emails, phone numbers and codes
    /// (and, once the provider's exchange path has sealed it, of the configured secrets).
    ///
    /// This, [`Error::with_code`], [`Error::with_request_id`], [`Error::with_fields`] and
    /// [`Error::with_quota`] are the only ways provider text enters an error.
    pub fn from_provider(kind: ErrorKind, message: &str) -> Self {
        let mut error = Error::new(kind, scrub(message));
        error.raw().message = Some(message.to_owned());
        error
    }

    fn raw(&mut self) -> &mut Raw {
        self.inner.raw.get_or_insert_with(Box::default)
    }

    /// Hides the provider's configured secrets in every string of this error and masks the
    /// provider's text again from what it sent (secrets first, then contacts and codes). The
    /// exchange path calls this on every error it returns; the raw text is dropped.
    pub(crate) fn sealed(mut self, redactor: &Redactor) -> Self {
        let clean = |text: &str| scrub(&redactor.hide(text));
        let inner = &mut *self.inner;
        if let Some(raw) = inner.raw.take() {
            if let Some(message) = &raw.message {
                inner.message = clean(message);
            }
            if let Some(code) = &raw.code {
                inner.provider_code = Some(clean(code));
            }
            if let Some(id) = &raw.request_id {
                inner.request_id = Some(clean(id));
            }
            if let Some(fields) = &raw.fields {
                inner.fields = fields.iter().map(|f| clean(f)).collect();
            }
            if let (Some(reset), Some(quota)) = (&raw.reset_at, inner.quota.as_mut()) {
                quota.reset_at = Some(mask_reset_at(&redactor.hide(reset)));
            }
        }
        if redactor.is_empty() {
            return self;
        }
        let hide = |text: &mut String| {
            let hidden = redactor.hide(text);
            if hidden != *text {
                *text = hidden;
            }
        };
        hide(&mut inner.message);
        inner.provider_code.iter_mut().for_each(hide);
        inner.request_id.iter_mut().for_each(hide);
        inner.fields.iter_mut().for_each(hide);
        if let Some(quota) = inner.quota.as_mut() {
            quota.reset_at.iter_mut().for_each(hide);
        }
        self
    }

    /// A `config` error naming the key.
    pub fn config(key: &str, problem: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Config, format!("`{key}`: {problem}"))
    }

    /// An `unsupported` error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// An `unexpected_response` error.
    pub fn unexpected(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::UnexpectedResponse, message)
    }

    /// The normalized kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message: otpkit's own, or the provider's (scrubbed).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider id (`"thaaigroup"`, …), when the error concerns one.
    pub fn provider(&self) -> Option<&'static str> {
        self.inner.provider
    }

    /// The operation (`"send"`, `"verify"`, `"resend"`, `"status"`, …).
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The HTTP status the provider answered with.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's own error code (`RESEND_COOLDOWN`, `invalid_grant`, …).
    pub fn provider_code(&self) -> Option<&str> {
        self.inner.provider_code.as_deref()
    }

    /// The provider's request id, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// How long to wait before asking again, when the provider said (capped at
    /// [`MAX_RETRY_AFTER`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Quota figures, for `quota_exceeded`.
    pub fn quota(&self) -> Option<&QuotaInfo> {
        self.inner.quota.as_ref()
    }

    /// Wrong attempts left, when the provider said.
    pub fn attempts_remaining(&self) -> Option<u32> {
        self.inner.attempts_remaining
    }

    /// For `timeout` and `transport`: `Some(false)` when the request provably never left,
    /// `Some(true)` when it may have reached the provider.
    pub fn request_sent(&self) -> Option<bool> {
        self.inner.request_sent
    }

    /// Field names a validation error named.
    pub fn fields(&self) -> &[String] {
        &self.inner.fields
    }

    /// Whether trying again later may succeed: `rate_limited`, `unavailable`, and `timeout` or
    /// `transport` when the request provably never left, unless it would fail the same way
    /// again (a TLS certificate that was refused). `cooldown` is not: it is a timer for the
    /// user interface.
    pub fn is_retryable(&self) -> bool {
        if self.inner.permanent {
            return false;
        }
        match self.inner.kind {
            ErrorKind::RateLimited | ErrorKind::Unavailable => true,
            ErrorKind::Timeout | ErrorKind::Transport => self.inner.request_sent == Some(false),
            _ => false,
        }
    }

    /// Whether the user typed something the provider refused; see [`ErrorKind::is_rejection`].
    pub fn is_rejection(&self) -> bool {
        self.inner.kind.is_rejection()
    }

    /// Sets the provider's own code (masked like a provider message).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        let code = code.into();
        self.inner.provider_code = Some(scrub(&code));
        self.raw().code = Some(code);
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets the provider's request id (masked like a provider message).
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.inner.request_id = Some(scrub(&id));
        self.raw().request_id = Some(id);
        self
    }

    /// Sets `retry_after`, capped at [`MAX_RETRY_AFTER`].
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.inner.retry_after = Some(after.min(MAX_RETRY_AFTER));
        self
    }

    /// Sets the quota figures; a reset time that is not a plain timestamp is masked.
    pub fn with_quota(mut self, mut quota: QuotaInfo) -> Self {
        if let Some(reset) = quota.reset_at.take() {
            quota.reset_at = Some(mask_reset_at(&reset));
            self.raw().reset_at = Some(reset);
        }
        self.inner.quota = Some(quota);
        self
    }

    /// Sets the wrong attempts left. A count above [`Error::MAX_ATTEMPTS_REMAINING`] is not an
    /// attempts count (a provider echoing a code where the count belongs) and is dropped.
    pub fn with_attempts_remaining(mut self, left: u32) -> Self {
        self.inner.attempts_remaining = (left <= Self::MAX_ATTEMPTS_REMAINING).then_some(left);
        self
    }

    /// The largest attempts count an error keeps; see [`Error::with_attempts_remaining`].
    pub const MAX_ATTEMPTS_REMAINING: u32 = 100;

    /// Says whether the request may have reached the provider.
    pub fn with_request_sent(mut self, sent: bool) -> Self {
        self.inner.request_sent = Some(sent);
        self
    }

    /// Marks the error as one that trying again would repeat (a refused TLS certificate):
    /// neither [`Error::is_retryable`] nor the retry policy will repeat the call.
    pub(crate) fn permanent(mut self) -> Self {
        self.inner.permanent = true;
        self
    }

    /// Whether trying again would fail the same way (see [`Error::permanent`]).
    pub(crate) fn is_permanent(&self) -> bool {
        self.inner.permanent
    }

    /// Sets the field names of a validation error (masked like a provider message).
    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.inner.fields = fields.iter().map(|f| scrub(f)).collect();
        self.raw().fields = Some(fields);
        self
    }

    /// Replaces the message with otpkit's own wording (the router's account of the members it
    /// tried), keeping everything else.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Fills provider, operation and status where the error does not have them yet. The one
    /// exchange path calls this on every error an adapter returns.
    pub(crate) fn in_context(mut self, provider: &'static str, operation: &'static str) -> Self {
        self.inner.provider.get_or_insert(provider);
        self.inner.operation.get_or_insert(operation);
        self
    }

    /// Fills the HTTP status and retry-after hint (from a header) where missing.
    pub(crate) fn with_response_context(
        mut self,
        status: u16,
        retry_after: Option<Duration>,
    ) -> Self {
        self.inner.status.get_or_insert(status);
        if self.inner.retry_after.is_none() {
            self.inner.retry_after = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
        }
        self
    }

    fn render(&self) -> String {
        let inner = &self.inner;
        let mut out = String::new();
        if let Some(provider) = inner.provider {
            out.push_str(provider);
            if let Some(operation) = inner.operation {
                out.push(' ');
                out.push_str(operation);
            }
            out.push_str(": ");
        }
        out.push_str(inner.kind.as_str());
        if let Some(code) = &inner.provider_code {
            out.push_str(" [");
            out.push_str(code);
            out.push(']');
        }
        if let Some(status) = inner.status {
            out.push_str(&format!(" (HTTP {status})"));
        }
        if !inner.message.is_empty() {
            out.push_str(": ");
            out.push_str(&inner.message);
        }
        if let Some(after) = inner.retry_after {
            out.push_str(&format!("; retry after {}s", after.as_secs()));
        }
        out
    }
}

/// The JSON form the command-line example prints and HTTP APIs can return:
/// `{"kind", "provider", "status", "provider_code", "message", "retry_after_secs"}`, unknown
/// fields `null`. It holds nothing secret: messages are scrubbed.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let inner = &self.inner;
        let mut s = serializer.serialize_struct("Error", 6)?;
        s.serialize_field("kind", &inner.kind)?;
        s.serialize_field("provider", &inner.provider)?;
        s.serialize_field("status", &inner.status)?;
        s.serialize_field("provider_code", &inner.provider_code)?;
        s.serialize_field("message", &inner.message)?;
        s.serialize_field("retry_after_secs", &inner.retry_after.map(|d| d.as_secs()))?;
        s.end()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("provider", &inner.provider)
            .field("operation", &inner.operation)
            .field("status", &inner.status)
            .field("provider_code", &inner.provider_code);
        if let Some(id) = &inner.request_id {
            d.field("request_id", id);
        }
        if let Some(after) = inner.retry_after {
            d.field("retry_after", &after);
        }
        if let Some(quota) = &inner.quota {
            d.field("quota", quota);
        }
        if let Some(left) = inner.attempts_remaining {
            d.field("attempts_remaining", &left);
        }
        if let Some(sent) = inner.request_sent {
            d.field("request_sent", &sent);
        }
        if inner.permanent {
            d.field("permanent", &true);
        }
        if !inner.fields.is_empty() {
            d.field("fields", &inner.fields);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names_and_serde() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn display_names_provider_kind_code_status_and_message() {
        let err = Error::from_provider(ErrorKind::Cooldown, "Please wait before requesting")
            .with_code("RESEND_COOLDOWN")
            .with_retry_after(Duration::from_secs(42))
            .in_context("thaaigroup", "send")
            .with_response_context(429, None);
        assert_eq!(
            err.to_string(),
            "thaaigroup send: cooldown [RESEND_COOLDOWN] (HTTP 429): Please wait before requesting; retry after 42s"
        );
    }

    #[test]
    fn retry_after_is_capped() {
        let err = Error::new(ErrorKind::RateLimited, "")
            .with_retry_after(Duration::from_secs(10_000_000_000));
        assert_eq!(err.retry_after(), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn only_outages_are_retryable() {
        assert!(Error::new(ErrorKind::Unavailable, "").is_retryable());
        assert!(Error::new(ErrorKind::RateLimited, "").is_retryable());
        assert!(!Error::new(ErrorKind::Cooldown, "").is_retryable());
        assert!(!Error::new(ErrorKind::Timeout, "").is_retryable());
        assert!(Error::new(ErrorKind::Timeout, "")
            .with_request_sent(false)
            .is_retryable());
        assert!(!Error::new(ErrorKind::Transport, "")
            .with_request_sent(true)
            .is_retryable());
        assert!(Error::new(ErrorKind::Expired, "").is_rejection());
        assert!(!Error::new(ErrorKind::Cooldown, "").is_rejection());
    }

    #[test]
    fn reset_times_are_kept_only_when_they_are_timestamps() {
        for kept in [
            "2025-02-01",
            "2025-02-01T00:00:00Z",
            "2025-02-01 00:00:00",
            "2025-02-01T00:00:00.123+05:30",
        ] {
            assert_eq!(mask_reset_at(kept), kept);
        }
        for masked in [
            "2026-02-01T00:00:00Z 482-913",
            "482913",
            "2025-02-01T00:00:00+482913",
            "2025-02-01T48:29:13.482913482913482913Z",
            "2025-02-01Tü",
        ] {
            assert!(!mask_reset_at(masked).contains("482"), "{masked}");
        }
        let quota = QuotaInfo::new(Some(10), Some(10), Some("in 482913 s".into()));
        let err = Error::from_provider(ErrorKind::QuotaExceeded, "").with_quota(quota);
        assert_eq!(
            err.quota().unwrap().reset_at.as_deref(),
            Some("in ****** s")
        );
        let err = err.with_attempts_remaining(482_913);
        assert_eq!(err.attempts_remaining(), None);
    }

    #[test]
    fn provider_messages_are_scrubbed() {
        let err = Error::from_provider(
            ErrorKind::InvalidCode,
            "code 123456 for jane.doe@example.com or +14155550123 is wrong",
        );
        let text = err.to_string();
        assert!(!text.contains("123456"), "{text}");
        assert!(!text.contains("jane.doe"), "{text}");
        assert!(!text.contains("4155550123"), "{text}");
    }
}
