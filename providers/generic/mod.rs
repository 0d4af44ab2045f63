//! The generic "X-API-Key" OTP service: SMS or WhatsApp codes to E.164 numbers over
//! `POST otp/send`, `POST otp/verify`, `POST otp/resend` and `GET otp/status`, plus the
//! management reads (`otp/list`, `otp/logs`, `otp/attempts`, `otp/reports`,
//! `otp/rate-limits`) as typed methods of [`Generic`] (see [`manage`]).
//!
//! No public host is documented, so `base_url` is required; a path prefix in it is kept.
//! Authentication is chosen by `auth`:
//!
//! | `auth` | headers sent |
//! |---|---|
//! | `headers` (default) | `X-API-Key: <api_key>` and `X-API-Secret: <api_secret>` |
//! | `basic` | `Authorization: Basic base64(api_key:api_secret)` |
//! | `bearer` | `Authorization: Bearer <bearer_token>`, or `Bearer base64(api_key:api_secret)` when no token is configured |
//!
//! The provider's `verification_id` travels in the handle as its reference; verify repeats the
//! handle's recipient. A resend asked too soon (429 `RATE_LIMITED`) is `cooldown` with
//! `retry_after`. Any non-2xx answer, and a 2xx with `success: false` or `verified: false`, is
//! an error classified by the provider's `error.code` (see the table in `errors.rs`).
//!
//! ```toml
//! provider = "generic"
//! base_url = "https://otp.example.com/api/v1"
//! app_id = "…"
//! api_key = "…"
//! api_secret = "…"
//! auth = "headers"        # or "basic", "bearer"
//! # bearer_token = "…"    # only with auth = "bearer"
//! sender = "YourApp"      # the `from`; omitted when not set
//! channel = "sms"         # or "whatsapp"; a request's own channel wins
//! ```

mod errors;
pub mod manage;
#[cfg(test)]
mod tests;
mod wire;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::adapter::{Adapter, Client};
use crate::capabilities::{Capabilities, ResendMode};
use crate::config::ProviderSettings;
use crate::de::{self, check_header_value};
use crate::descriptor::Descriptor;
use crate::error::Error;
use crate::handle::Verification;
use crate::http::{endpoint, header_map, HttpRequest, HttpResponse};
use crate::parse;
use crate::receipt::{SendReceipt, StatusReport, VerificationState, Verified};
use crate::recipient::{Phone, Recipient};
use crate::request::{Channel, OtpCode, Purpose, SendRequest};
use crate::secret::Secret;
use reqwest::header::HeaderMap;

pub use manage::{Filters, ListPage, Management, OtpRecord};

use errors::Operation;

/// The provider id.
pub const ID: &str = "generic";

/// The X-API-Key service's description.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "the X-API-Key OTP service",
    feature: "generic",
    default_base_url: None,
    capabilities: full_capabilities,
    sample_recipient: "+5511999888777",
    sample_purpose: "signup",
    own_flow_send: None,
};

/// SMS and WhatsApp to phone numbers of any country, with native resend and status calls.
fn full_capabilities() -> Capabilities {
    Capabilities::new([Channel::Sms, Channel::Whatsapp])
        .resend(ResendMode::Native)
        .status(true)
}

/// The generic service over the shared exchange path, with the management reads as inherent
/// methods ([`manage`]).
pub type Generic = Client<GenericAdapter>;

/// How requests authenticate (config key `auth`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMode {
    /// `X-API-Key` and `X-API-Secret` headers (the default).
    #[default]
    Headers,
    /// `Authorization: Basic base64(api_key:api_secret)`.
    Basic,
    /// `Authorization: Bearer <bearer_token>`, or `base64(api_key:api_secret)` without one.
    Bearer,
}

impl AuthMode {
    /// The config word: `headers`, `basic` or `bearer`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Headers => "headers",
            AuthMode::Basic => "basic",
            AuthMode::Bearer => "bearer",
        }
    }
}

impl FromStr for AuthMode {
    type Err = Error;

    /// Parses the config word, case-insensitively.
    fn from_str(word: &str) -> Result<Self, Error> {
        [AuthMode::Headers, AuthMode::Basic, AuthMode::Bearer]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(word.trim()))
            .ok_or_else(|| Error::config("auth", "must be one of headers, basic, bearer"))
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The message never quotes the value given.
        let word = String::deserialize(deserializer)?;
        word.parse()
            .map_err(|_| serde::de::Error::custom("must be one of headers, basic, bearer"))
    }
}

/// The generic service's keys (see the crate documentation's [Configuration](crate#configuration) section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The `appid` sent in every body.
    pub app_id: Secret,
    /// The API key (`X-API-Key`, or the user half of Basic/Bearer credentials).
    pub api_key: Secret,
    /// The API secret (`X-API-Secret`, or the password half of Basic/Bearer credentials).
    pub api_secret: Secret,
    /// How requests authenticate; `headers` by default.
    #[serde(default)]
    pub auth: AuthMode,
    /// The token for `auth = "bearer"`; without it the bearer is `base64(api_key:api_secret)`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// The sender id sent as `from`; omitted from the body when not set.
    #[serde(default, deserialize_with = "de::opt_string_like")]
    pub sender: Option<String>,
    /// The channel used when a request names none: `sms` (default) or `whatsapp`.
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// The longest `sender` accepted.
const MAX_SENDER_LEN: usize = 64;

impl Config {
    /// A config from the three credentials, with header authentication and SMS.
    pub fn new(
        app_id: impl Into<Secret>,
        api_key: impl Into<Secret>,
        api_secret: impl Into<Secret>,
    ) -> Self {
        Config {
            app_id: app_id.into(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            auth: AuthMode::Headers,
            bearer_token: None,
            sender: None,
            channel: None,
        }
    }

    /// Uses this authentication mode.
    pub fn auth(mut self, mode: AuthMode) -> Self {
        self.auth = mode;
        self
    }

    /// Uses this bearer token (with [`AuthMode::Bearer`] only).
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Sends this sender id as `from`.
    pub fn sender(mut self, sender: impl Into<String>) -> Self {
        self.sender = Some(sender.into());
        self
    }

    /// Uses this channel when a request names none (`Sms` or `Whatsapp`).
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Checks every key except `base_url`; returns the channel to use by default.
    fn check(&self) -> Result<Channel, Error> {
        check_header_value("app_id", self.app_id.expose())?;
        check_header_value("api_key", self.api_key.expose())?;
        check_header_value("api_secret", self.api_secret.expose())?;
        let derived_credentials = match (self.auth, &self.bearer_token) {
            (AuthMode::Bearer, Some(token)) => {
                check_header_value("bearer_token", token.expose())?;
                false
            }
            (_, Some(_)) => {
                return Err(Error::config(
                    "bearer_token",
                    "is used only with auth = \"bearer\"",
                ))
            }
            (AuthMode::Headers, None) => false,
            (AuthMode::Basic | AuthMode::Bearer, None) => true,
        };
        if derived_credentials && self.api_key.expose().contains(':') {
            return Err(Error::config(
                "api_key",
                "must not contain `:` when sent as base64(api_key:api_secret)",
            ));
        }
        if let Some(sender) = &self.sender {
            let ok = !sender.trim().is_empty()
                && sender.chars().count() <= MAX_SENDER_LEN
                && !sender.chars().any(char::is_control);
            if !ok {
                return Err(Error::config(
                    "sender",
                    format!("must be 1 to {MAX_SENDER_LEN} characters without control characters"),
                ));
            }
        }
        match self.channel.unwrap_or(Channel::Sms) {
            channel @ (Channel::Sms | Channel::Whatsapp) => Ok(channel),
            _ => Err(Error::config("channel", "must be sms or whatsapp")),
        }
    }
}

/// `base_url` is required: no public host is documented.
impl ProviderSettings for Config {
    type Adapter = GenericAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = None;

    /// The three keys, the bearer token, and `api_key:api_secret` (the Basic and derived
    /// Bearer credentials are its base64).
    fn secrets(&self) -> Vec<Secret> {
        let pair = format!("{}:{}", self.api_key.expose(), self.api_secret.expose());
        let mut secrets = vec![
            self.app_id.clone(),
            self.api_key.clone(),
            self.api_secret.clone(),
            Secret::new(pair),
        ];
        secrets.extend(self.bearer_token.clone());
        secrets
    }

    fn adapter(&self, base_url: Url) -> Result<GenericAdapter, Error> {
        let channel = self.check()?;
        Ok(GenericAdapter {
            send_url: endpoint(&base_url, "otp/send"),
            verify_url: endpoint(&base_url, "otp/verify"),
            resend_url: endpoint(&base_url, "otp/resend"),
            base_url,
            app_id: self.app_id.clone(),
            headers: auth_headers(self)?,
            sender: self.sender.clone(),
            channel,
        })
    }
}

/// The authentication headers `auth` asks for, prepared once: `X-API-Key` and `X-API-Secret`,
/// or one `Authorization` value (`Basic …` or `Bearer …`), all marked sensitive.
fn auth_headers(config: &Config) -> Result<HeaderMap, Error> {
    let pair = || {
        STANDARD.encode(format!(
            "{}:{}",
            config.api_key.expose(),
            config.api_secret.expose()
        ))
    };
    // The derived values are base64 behind a fixed word, so only a token can be refused, and
    // `Config::check` has already checked it.
    let (authorization, key) = match (config.auth, &config.bearer_token) {
        (AuthMode::Headers, _) => {
            return header_map(&[
                ("x-api-key", "api_key", config.api_key.expose(), true),
                (
                    "x-api-secret",
                    "api_secret",
                    config.api_secret.expose(),
                    true,
                ),
                super::ACCEPT_JSON,
            ])
        }
        (AuthMode::Basic, _) => (format!("Basic {}", pair()), "api_key"),
        (AuthMode::Bearer, Some(token)) => (format!("Bearer {}", token.expose()), "bearer_token"),
        (AuthMode::Bearer, None) => (format!("Bearer {}", pair()), "api_key"),
    };
    header_map(&[
        ("authorization", key, &authorization, true),
        super::ACCEPT_JSON,
    ])
}

/// The generic service's wire format as pure functions.
#[doc(hidden)] // crate plumbing: the typed client (the alias above) is the API
#[derive(Debug, Clone)]
pub struct GenericAdapter {
    /// The base for the per-call `GET`s (`otp/status` and the management reads).
    base_url: Url,
    /// `POST …/otp/send`, joined once.
    send_url: Url,
    /// `POST …/otp/verify`, joined once.
    verify_url: Url,
    /// `POST …/otp/resend`, joined once.
    resend_url: Url,
    app_id: Secret,
    /// The authentication headers `auth` asks for and `Accept: application/json`, checked and
    /// prepared once.
    headers: HeaderMap,
    sender: Option<String>,
    channel: Channel,
}

impl GenericAdapter {
    /// Checks `config` and prepares the adapter for `base_url` (a path ending in `/`, as
    /// [`CommonConfig::resolve`](crate::CommonConfig::resolve) gives it); the same as
    /// [`ProviderSettings::adapter`].
    pub fn new(base_url: Url, config: &Config) -> Result<Self, Error> {
        config.adapter(base_url)
    }

    fn post(&self, url: &Url, body: &impl Serialize) -> Result<HttpRequest, Error> {
        Ok(HttpRequest::post_json(url.clone(), body)?.with_headers(&self.headers))
    }

    /// A `GET` of `path` with these query pairs, authenticated.
    fn get(&self, path: &str, query: &[(&str, &str)]) -> HttpRequest {
        let mut url = endpoint(&self.base_url, path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        HttpRequest::get(url).with_headers(&self.headers)
    }

    /// The channel a send uses: the request's when it is SMS or WhatsApp, else the config's;
    /// email, voice and Viber are `unsupported`.
    fn channel_for(&self, requested: Option<Channel>) -> Result<Channel, Error> {
        match requested.unwrap_or(self.channel) {
            channel @ (Channel::Sms | Channel::Whatsapp) => Ok(channel),
            other => Err(Error::unsupported(format!(
                "the generic service sends codes by sms or whatsapp, not {other}; nothing was sent"
            ))),
        }
    }

    /// The handle and receipt for a send or resend answer. The answer's `verification_id` wins
    /// over `fallback_id` (the handle's, on resend); its `channel` over `channel`.
    fn receipt(
        &self,
        recipient: &Recipient,
        purpose: Option<&Purpose>,
        fallback_id: Option<&str>,
        channel: Channel,
        body: &Map<String, Value>,
    ) -> Result<SendReceipt, Error> {
        let verification_id = match parse::str_field(body, "verification_id") {
            Some(id) if !id.trim().is_empty() => id,
            _ => fallback_id.map(str::to_owned).ok_or_else(|| {
                Error::unexpected("the answer reports success but carries no verification_id")
            })?,
        };
        let channel = parse::str_field(body, "channel")
            .and_then(|word| Channel::parse(&word).ok())
            .unwrap_or(channel);
        let expires_in = expiry(body, SystemTime::now());
        let handle = Verification::new(ID, recipient.clone())
            .with_purpose(purpose.cloned())
            .with_channel(Some(channel))
            .with_reference(verification_id);
        let mut receipt = SendReceipt::issued(handle, expires_in);
        receipt.resend_after = parse::seconds_field(body, "resend_after");
        receipt.request_id = parse::str_field(body, "request_id");
        Ok(receipt)
    }
}

/// The body of a successful answer (2xx with `success: true`), or the classified error.
fn success_body(
    operation: Operation,
    response: &HttpResponse,
) -> Result<Map<String, Value>, Error> {
    let body = parse::object(response)?;
    if response.is_success() && (parse::is_true(&body, "success") || unflagged_ok(operation, &body))
    {
        Ok(body)
    } else {
        Err(errors::classify(operation, response, &body))
    }
}

/// The schema is inferred, so a send or resend answer that leaves out `success` but carries a
/// `verification_id` and no `error` is read as sent. Verify and status stay strict: an answer
/// must say `success: true` before a code counts as verified.
fn unflagged_ok(operation: Operation, body: &Map<String, Value>) -> bool {
    matches!(operation, Operation::Send | Operation::Resend)
        && !body.contains_key("success")
        && !body.contains_key("error")
        && matches!(body.get("verification_id"), Some(Value::String(id)) if !id.is_empty())
}

fn phone_of(recipient: &Recipient) -> Result<&Phone, Error> {
    recipient.phone().ok_or_else(|| {
        Error::unsupported(
            "the generic service sends codes to E.164 phone numbers only; nothing was sent",
        )
    })
}

/// How long the code lives: `expires_in` seconds, else `expires_at` (Unix seconds or an RFC
/// 3339 timestamp) measured from `now`. A past `expires_at` gives zero; junk gives `None`.
fn expiry(body: &Map<String, Value>, now: SystemTime) -> Option<Duration> {
    if let Some(lifetime) = parse::seconds_field(body, "expires_in") {
        return Some(lifetime);
    }
    let at = match body.get("expires_at")? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(secs) => secs,
            Err(_) => rfc3339_to_unix(s.trim())?,
        },
        _ => return None,
    };
    // A value in milliseconds (13 digits) is read as such.
    let at = if at >= 100_000_000_000 { at / 1000 } else { at };
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)).min(crate::MAX_RETRY_AFTER))
}

/// Seconds since the Unix epoch for an RFC 3339 timestamp such as `2026-02-01T00:05:00Z` or
/// `2026-02-01T03:05:00.123+03:00`; `None` for anything else or before 1970.
fn rfc3339_to_unix(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let number = |range| number_in(text, range);
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours = number_in(rest, 1..3)?;
            let minutes = number_in(rest, 4..6)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

fn number_in(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = text.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

impl Adapter for GenericAdapter {
    fn capabilities(&self) -> Capabilities {
        full_capabilities()
    }

    const ID: &'static str = ID;

    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error> {
        let phone = phone_of(&request.recipient)?;
        let channel = self.channel_for(request.channel)?;
        let body = wire::SendBody {
            appid: self.app_id.expose(),
            recipient: phone.as_str(),
            channel: channel.as_str(),
            from: self.sender.as_deref(),
        };
        self.post(&self.send_url, &body)
    }

    fn parse_send(
        &self,
        request: &SendRequest,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let body = success_body(Operation::Send, response)?;
        let channel = self.channel_for(request.channel)?;
        self.receipt(
            &request.recipient,
            request.purpose.as_ref(),
            None,
            channel,
            &body,
        )
    }

    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error> {
        let verification_id = handle.require_reference()?;
        let phone = phone_of(handle.recipient())?;
        let body = wire::VerifyBody {
            appid: self.app_id.expose(),
            verification_id,
            otp_code: code.expose(),
            recipient: phone.as_str(),
        };
        self.post(&self.verify_url, &body)
    }

    fn parse_verify(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error> {
        let body = success_body(Operation::Verify, response)?;
        if body.get("verified") == Some(&Value::Bool(false)) {
            return Err(errors::classify(Operation::Verify, response, &body));
        }
        let mut verified = Verified::new(ID);
        verified.request_id = parse::str_field(&body, "request_id");
        Ok(verified)
    }

    fn build_resend(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let body = wire::ResendBody {
            appid: self.app_id.expose(),
            verification_id: handle.require_reference()?,
        };
        self.post(&self.resend_url, &body)
    }

    fn parse_resend(
        &self,
        handle: &Verification,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let body = success_body(Operation::Resend, response)?;
        let channel = handle.channel().unwrap_or(self.channel);
        self.receipt(
            handle.recipient(),
            handle.purpose(),
            handle.reference(),
            channel,
            &body,
        )
    }

    fn build_status(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let verification_id = handle.require_reference()?;
        Ok(self.get("otp/status", &[("verification_id", verification_id)]))
    }

    fn parse_status(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<StatusReport, Error> {
        let body = success_body(Operation::Status, response)?;
        let word = parse::str_field(&body, "status")
            .ok_or_else(|| Error::unexpected("the status answer carries no `status` word"))?;
        Ok(StatusReport::new(VerificationState::from_word(&word)))
    }
}
