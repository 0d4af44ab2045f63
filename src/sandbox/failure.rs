//! [`Failure`]: the documented failures [`Sandbox::fail_next`](super::Sandbox::fail_next)
//! forces, and their names for the control route.

use std::fmt;

/// A documented failure to force with [`Sandbox::fail_next`]. Each provider answers its own
/// documented shape; where a vendor documents none for a failure, the sandbox answers the
/// nearest documented equivalent:
///
/// | failure | thaaigroup | hyperverge | generic | thundersms | tencent_ciam |
/// |---|---|---|---|---|---|
/// | `Cooldown` | 429 `RESEND_COOLDOWN` + `retry_after` | 429 "Rate limit exceeded" (no cooldown documented) | 429 `RATE_LIMITED` + `Retry-After` + `retry_after` | 429 "Too Many Attempts." + `Retry-After` (Laravel throttle) | 400 `sms_rate_limit_exceeded` |
/// | `QuotaExceeded` | 429 `QUOTA_EXCEEDED` + quota, used, reset_at | 402 "Quota exceeded" (no quota documented; 403 would mean forbidden) | 402 `INSUFFICIENT_BALANCE` | 402 "Insufficient balance" | 400 `insufficient_sms_quota` / `insufficient_email_quota` |
/// | `RateLimited` | 429 `RATE_LIMITED` | 429 "Rate limit exceeded" | 429 `RATE_LIMITED` + `Retry-After` | 429 "Too Many Attempts." + `Retry-After` | 429 `too_many_requests` + `Retry-After` (undocumented gateway throttle; `sms_rate_limit_exceeded` is the per-number cooldown) |
/// | `ServerError` | 500 `SERVER_ERROR` (undocumented) | 500 "Internal Server Error" | 500 `INTERNAL_ERROR` | 500 "Server Error" | 503 `temporarily_unavailable` |
/// | `BadCredentials` | 401 `INVALID_CLIENT` | 401 "Missing/Invalid credentials" | 401 `UNAUTHORIZED` | 401 "Unauthenticated." | 401 `invalid_client` |
/// | `InvalidRecipient` | 422 validation of `email` (Laravel) | 400 failure envelope with `errors` naming `email` / `mobileNumber` (undocumented) | 400 `INVALID_RECIPIENT` | 422 validation of `channels.0.recipient.to` (Laravel) | 400 `malformed_email` / `malformed_phone_number` |
/// | `HtmlPage` | 200 `text/html` page (a captive portal or misrouted proxy) | same | same | same | same |
/// | `Hang` | no answer for [`SandboxOptions::hang`] | same | same | same | same |
///
/// [`Sandbox::fail_next`]: super::Sandbox::fail_next
/// [`SandboxOptions::hang`]: super::SandboxOptions::hang
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// A resend asked too soon.
    Cooldown,
    /// The plan's quota or balance is used up.
    QuotaExceeded,
    /// Throttled.
    RateLimited,
    /// A provider-side failure (5xx).
    ServerError,
    /// The credentials are refused.
    BadCredentials,
    /// The recipient is refused (malformed, undeliverable or blocked).
    InvalidRecipient,
    /// An HTML page with HTTP 200 where JSON was expected.
    HtmlPage,
    /// No answer at all: the client's timeout has to end the exchange.
    Hang,
}

impl Failure {
    /// Every failure.
    pub const ALL: [Failure; 8] = [
        Failure::Cooldown,
        Failure::QuotaExceeded,
        Failure::RateLimited,
        Failure::ServerError,
        Failure::BadCredentials,
        Failure::InvalidRecipient,
        Failure::HtmlPage,
        Failure::Hang,
    ];

    /// The failure named by [`Failure::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Failure::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// A short snake_case name (`cooldown`, `quota_exceeded`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Cooldown => "cooldown",
            Failure::QuotaExceeded => "quota_exceeded",
            Failure::RateLimited => "rate_limited",
            Failure::ServerError => "server_error",
            Failure::BadCredentials => "bad_credentials",
            Failure::InvalidRecipient => "invalid_recipient",
            Failure::HtmlPage => "html_page",
            Failure::Hang => "hang",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
