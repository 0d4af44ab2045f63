//! ThunderSMS multi-channel Verify: one `POST verify/send` tries the configured channels in
//! order (WhatsApp, SMS, voice, Viber), falling back to the next after `wait` seconds; the code
//! is checked with `GET verify/check/{id}/{code}` and the delivery is followed with
//! `GET verify/search/{id}`. Every call carries `Authorization: Bearer <token>`.
//!
//! - `send` takes phone numbers only. A requested [`Channel`] goes first and the other
//!   configured channels follow as fallbacks; a channel that is not configured is
//!   `unsupported`. [`SendRequest::custom_code`] becomes the vendor's `payload.token`.
//! - `verify` checks the code in the URL path. The answer comes inside HTTP 200: `success`,
//!   `invalid` (`invalid_code`), `expired`, `OTP already verified` (`already_verified`) or
//!   `failed` (`verification_not_found`). Each code can be checked once.
//! - `status` reports the overall state and each channel's delivery, so a caller can see that
//!   WhatsApp failed and SMS took over.
//! - ThunderSMS documents no resend call: the core's `resend` sends again to the handle's
//!   recipient with its channel first, and returns the new handle.
//!
//! The answer's `created_at`/`expire_at` carry no time zone, so the handle's expiry is computed
//! from the requested timeout instead.
//!
//! ```toml
//! provider = "thundersms"
//! token = "…"
//! code_length = 6                     # 4 to 10
//! code_ttl_secs = 120
//! template = "Your code is {token}"   # optional; must contain {token}
//!
//! [[channels]]
//! name = "whatsapp"
//! from = "91901912000"
//! wait = 60                           # seconds before the next channel (default 30)
//!
//! [[channels]]
//! name = "sms"
//! from = "OTPKIT"
//! ```
//!
//! From the environment, `OTPKIT_CHANNELS` holds the list as JSON:
//! `[{"name":"whatsapp","from":"91901912000"},{"name":"sms","from":"OTPKIT"}]`.

mod channels;
mod errors;
#[cfg(test)]
mod tests;
mod wire;

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

pub use self::channels::ChannelConfig;
use self::channels::{channel_list, check_channels, plan_routes, Route};
use self::errors::{CheckWord, Subject};
use crate::adapter::{Adapter, Client};
use crate::capabilities::Capabilities;
use crate::config::ProviderSettings;
use crate::de::{self as lenient, check_header_value};
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{endpoint, endpoint_with_segments, header_map, HttpRequest, HttpResponse};
use crate::parse;
use crate::receipt::{ChannelAttempt, SendReceipt, StatusReport, VerificationState, Verified};
use crate::recipient::Phone;
use crate::request::{Channel, OtpCode, SendRequest};
use crate::secret::Secret;
use reqwest::header::HeaderMap;

/// The provider id.
pub const ID: &str = "thundersms";

/// ThunderSMS's description.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "ThunderSMS Verify",
    feature: "thundersms",
    default_base_url: Some(DEFAULT_BASE_URL),
    capabilities: || {
        capabilities_on([
            Channel::Whatsapp,
            Channel::Sms,
            Channel::Voice,
            Channel::Viber,
        ])
    },
    sample_recipient: "+919189195123",
    sample_purpose: "signup",
    own_flow_send: None,
};

/// Phone numbers of any country on these channels; a caller-chosen code is `payload.token`;
/// `status` is `verify/search`; no resend call (sending again is the resend).
fn capabilities_on(channels: impl IntoIterator<Item = Channel>) -> Capabilities {
    Capabilities::new(channels).status(true).custom_code(true)
}

/// The base URL: the documented `http://portal.thundersms.com/api/v2/` over https. The plain
/// http URL is accepted as `base_url` only with `allow_http = true`.
pub const DEFAULT_BASE_URL: &str = "https://portal.thundersms.com/api/v2/";

/// The code length when neither the config nor the request sets one (the vendor's default).
pub const DEFAULT_CODE_LENGTH: u8 = 6;
/// The code lifetime in seconds when neither the config nor the request sets one (the
/// vendor's default).
pub const DEFAULT_CODE_TTL_SECS: u64 = 120;
/// The longest code lifetime accepted, in seconds (a day).
pub const MAX_CODE_TTL_SECS: u64 = 24 * 60 * 60;
/// The seconds before the next channel is tried when a channel sets no `wait` (the vendor's
/// default).
pub const DEFAULT_WAIT_SECS: u64 = 30;
/// The longest `wait` accepted, in seconds (a day).
pub const MAX_WAIT_SECS: u64 = 24 * 60 * 60;
/// The Viber `ttl` range the vendor documents, in seconds.
pub const VIBER_TTL_SECS: RangeInclusive<u64> = 30..=1_209_600;

const CODE_LENGTHS: RangeInclusive<u64> = 4..=10;
const MAX_ID_LEN: usize = 128;

/// ThunderSMS's keys (see the crate documentation's [Configuration](crate#configuration) section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The API token, sent as `Authorization: Bearer <token>`.
    pub token: Secret,
    /// The channels to try, in order. Also accepted as a string holding a JSON list (the form
    /// `OTPKIT_CHANNELS` takes).
    #[serde(deserialize_with = "channel_list")]
    pub channels: Vec<ChannelConfig>,
    /// The code length, 4 to 10 (default 6).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub code_length: Option<u64>,
    /// The code lifetime in seconds, 1 to 86,400 (default 120).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub code_ttl_secs: Option<u64>,
    /// A custom message; `{token}` marks where the code goes.
    #[serde(default)]
    pub template: Option<String>,
}

/// Checks the optional template: not blank, and holding `{token}`.
fn check_template(template: Option<&str>) -> Result<Option<String>, Error> {
    let Some(template) = template else {
        return Ok(None);
    };
    if template.trim().is_empty() {
        return Err(Error::config("template", "must not be empty when set"));
    }
    if !template.contains("{token}") {
        return Err(Error::config(
            "template",
            "must contain `{token}` where the code goes",
        ));
    }
    Ok(Some(template.to_owned()))
}

impl Config {
    /// A config from the token and the channels, every option at its default.
    pub fn new(token: impl Into<Secret>, channels: Vec<ChannelConfig>) -> Self {
        Config {
            token: token.into(),
            channels,
            code_length: None,
            code_ttl_secs: None,
            template: None,
        }
    }
}

impl ProviderSettings for Config {
    type Adapter = ThunderSmsAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = Some(DEFAULT_BASE_URL);

    fn secrets(&self) -> Vec<Secret> {
        vec![self.token.clone()]
    }

    fn adapter(&self, base_url: Url) -> Result<ThunderSmsAdapter, Error> {
        // Checked on its own: behind `Bearer ` a blank token would still make a header.
        check_header_value("token", self.token.expose())?;
        let bearer = format!("Bearer {}", self.token.expose());
        let headers = header_map(&[
            ("authorization", "token", &bearer, true),
            // Laravel answers JSON (not a login redirect) only to clients that accept it.
            super::ACCEPT_JSON,
        ])?;
        let routes = check_channels(&self.channels)?;
        let code_length = match self.code_length {
            None => DEFAULT_CODE_LENGTH,
            Some(length) => u8::try_from(length)
                .ok()
                .filter(|_| CODE_LENGTHS.contains(&length))
                .ok_or_else(|| Error::config("code_length", "must be 4 to 10"))?,
        };
        let code_ttl_secs = self.code_ttl_secs.unwrap_or(DEFAULT_CODE_TTL_SECS);
        if !(1..=MAX_CODE_TTL_SECS).contains(&code_ttl_secs) {
            return Err(Error::config(
                "code_ttl_secs",
                format!("must be 1 to {MAX_CODE_TTL_SECS} seconds"),
            ));
        }
        Ok(ThunderSmsAdapter {
            send_url: endpoint(&base_url, "verify/send"),
            base_url,
            headers,
            routes,
            code_length,
            code_ttl_secs,
            template: check_template(self.template.as_deref())?,
        })
    }
}

/// ThunderSMS over the shared exchange path.
pub type ThunderSms = Client<ThunderSmsAdapter>;

/// ThunderSMS's wire format as pure functions.
#[doc(hidden)] // crate plumbing: the typed client (the alias above) is the API
#[derive(Debug, Clone)]
pub struct ThunderSmsAdapter {
    /// The base for the `GET`s whose path carries the verification id (and the code).
    base_url: Url,
    /// `POST …/verify/send`, joined once.
    send_url: Url,
    /// `Authorization: Bearer <token>` and `Accept: application/json`, checked and prepared
    /// once.
    headers: HeaderMap,
    routes: Vec<Route>,
    code_length: u8,
    code_ttl_secs: u64,
    template: Option<String>,
}

/// What one send request asks for, worked out once for building and again for reading.
struct Plan<'a> {
    phone: &'a Phone,
    routes: Vec<&'a Route>,
    length: u8,
    timeout: u64,
    token: Option<&'a str>,
}

/// The code lifetime in whole seconds (a fraction rounds up), 1 to a day.
fn timeout_secs(requested: Option<Duration>, configured: u64) -> Result<u64, Error> {
    let Some(ttl) = requested else {
        return Ok(configured);
    };
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    if !(1..=MAX_CODE_TTL_SECS).contains(&secs) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("code_ttl must be 1 to {MAX_CODE_TTL_SECS} seconds for ThunderSMS"),
        ));
    }
    Ok(secs)
}

/// Whether a provider id can travel as one URL path segment unchanged: 1 to 128 letters,
/// digits, `-`, `_` or `.`, with at least one letter or digit (so never `.` or `..`, which URL
/// joining would drop).
fn is_plain_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// The handle's ThunderSMS id, checked before it goes into a URL path.
fn id_of(handle: &Verification) -> Result<&str, Error> {
    let id = handle.require_reference()?;
    if !is_plain_id(id) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "the handle's reference is not a ThunderSMS id (1 to 128 letters, digits, `-`, `_` or `.`); nothing was sent",
        ));
    }
    Ok(id)
}

impl ThunderSmsAdapter {
    /// The checked channels in their configured order.
    pub fn channels(&self) -> Vec<Channel> {
        self.routes.iter().map(|r| r.channel).collect()
    }

    fn get(&self, path: &str, segments: &[&str]) -> Result<HttpRequest, Error> {
        let url = endpoint_with_segments(&self.base_url, path, segments)?;
        Ok(HttpRequest::get(url).with_headers(&self.headers))
    }

    fn plan<'a>(&'a self, request: &'a SendRequest) -> Result<Plan<'a>, Error> {
        let phone = request.recipient.phone().ok_or_else(|| {
            Error::unsupported("ThunderSMS sends codes to phone numbers only; nothing was sent")
        })?;
        let routes = plan_routes(&self.routes, request.channel)?;
        let length = request.code_length.unwrap_or(self.code_length);
        let timeout = timeout_secs(request.code_ttl, self.code_ttl_secs)?;
        let token = match &request.custom_code {
            Some(code) if code.expose().len() != usize::from(length) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    format!(
                        "the caller-chosen code must have exactly {length} digits, the code length; nothing was sent"
                    ),
                ))
            }
            Some(code) => Some(code.expose()),
            None => None,
        };
        Ok(Plan {
            phone,
            routes,
            length,
            timeout,
            token,
        })
    }
}

/// The answer as a JSON object and whether it is a failure to classify.
fn answer(response: &HttpResponse) -> Result<(Map<String, Value>, bool), Error> {
    let body = parse::object(response)?;
    let failed = !response.is_success() || errors::is_error_envelope(&body);
    Ok((body, failed))
}

impl Adapter for ThunderSmsAdapter {
    const ID: &'static str = ID;

    /// The shared markers, and the platform's own error envelope (a `code` that is an HTTP
    /// error number, a Laravel `errors` object).
    fn error_marker(&self, operation: &str, response: &HttpResponse) -> Option<&'static str> {
        parse::error_marker(operation, response).or_else(|| {
            let body = parse::object(response).ok()?;
            errors::is_error_envelope(&body).then_some("status")
        })
    }

    /// The configured channels only.
    fn capabilities(&self) -> Capabilities {
        capabilities_on(self.channels())
    }

    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error> {
        let plan = self.plan(request)?;
        let to = plan.phone.digits();
        let body = wire::SendBody {
            channels: plan
                .routes
                .iter()
                .enumerate()
                .map(|(order, route)| route.to_wire(to, order))
                .collect(),
            payload: wire::Payload {
                length: plan.length,
                timeout: plan.timeout,
                token: plan.token,
                ip_address: request.end_user_ip.map(|ip| ip.to_string()),
            },
            foreign_id: request.reference.as_deref(),
            template: self.template.as_deref(),
        };
        Ok(HttpRequest::post_json(self.send_url.clone(), &body)?.with_headers(&self.headers))
    }

    fn parse_send(
        &self,
        request: &SendRequest,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let (body, failed) = answer(response)?;
        if failed {
            return Err(errors::classify(response, &body, Subject::NewVerification));
        }
        let id = match body.get("id") {
            Some(Value::String(id)) if is_plain_id(id) => id.clone(),
            Some(Value::String(_)) => return Err(Error::unexpected(
                "the answer's `id` is not a plain id (1 to 128 letters, digits, `-`, `_` or `.`)",
            )),
            _ => return Err(Error::unexpected("the answer has no `id` string")),
        };
        let plan = self.plan(request)?;
        let first = plan.routes.first().map(|route| route.channel);
        let lifetime = Duration::from_secs(plan.timeout);
        let handle = Verification::new(ID, request.recipient.clone())
            .with_purpose(request.purpose.clone())
            .with_channel(first)
            .with_reference(id);
        Ok(SendReceipt::issued(handle, Some(lifetime)))
    }

    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error> {
        self.get("verify/check", &[id_of(handle)?, code.expose()])
    }

    fn parse_verify(
        &self,
        handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error> {
        let body = parse::object(response)?;
        let word = parse::str_field(&body, "status");
        // The documented refusals come inside HTTP 200; they are believed under a 4xx too, not
        // under a 5xx (a server error is an outage whatever its body says).
        if let Some(word) = word.as_ref().filter(|_| response.status < 500) {
            if let CheckWord::Refused(kind) = errors::check_word(word) {
                return Err(errors::refusal(kind, word, &body));
            }
        }
        if !response.is_success() || errors::is_error_envelope(&body) {
            return Err(errors::classify(response, &body, Subject::Existing));
        }
        let Some(word) = word else {
            return Err(Error::unexpected("the check answer has no `status`"));
        };
        if errors::check_word(&word) != CheckWord::Verified {
            let shown: String = word.chars().take(64).collect();
            return Err(Error::from_provider(
                ErrorKind::UnexpectedResponse,
                &format!("the check answer's status `{shown}` is not one ThunderSMS documents"),
            ));
        }
        let answered_id = parse::str_field(&body, "id");
        let same_id = |id: &String| {
            handle
                .reference()
                .is_some_and(|r| r.eq_ignore_ascii_case(id))
        };
        if answered_id.is_some_and(|id| !same_id(&id)) {
            return Err(Error::unexpected(
                "the check answer is about another verification id",
            ));
        }
        Ok(Verified::new(ID))
    }

    fn build_status(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        self.get("verify/search", &[id_of(handle)?])
    }

    fn parse_status(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<StatusReport, Error> {
        let (body, failed) = answer(response)?;
        if failed {
            return Err(errors::classify(response, &body, Subject::Existing));
        }
        let word = parse::str_field(&body, "status")
            .ok_or_else(|| Error::unexpected("the search answer has no `status`"))?;
        let mut report = StatusReport::new(VerificationState::from_word(&word));
        report.channels = channel_attempts(&body)?;
        Ok(report)
    }
}

/// The search answer's `channels[]`: each entry's `channel` (or `name`) and its `status`,
/// which may be `null`.
fn channel_attempts(body: &Map<String, Value>) -> Result<Vec<ChannelAttempt>, Error> {
    let entries = match body.get("channels") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(Error::unexpected(
                "the search answer's `channels` is not a list",
            ))
        }
    };
    entries
        .iter()
        .map(|entry| {
            let entry = entry.as_object();
            let name = entry.and_then(|e| {
                parse::str_field(e, "channel").or_else(|| parse::str_field(e, "name"))
            });
            let Some((entry, name)) = entry.zip(name) else {
                return Err(Error::unexpected(
                    "a search answer channel has no `channel` name",
                ));
            };
            Ok(ChannelAttempt::new(name, parse::str_field(entry, "status")))
        })
        .collect()
}
