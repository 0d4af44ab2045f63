//! HyperVerge OTP: email codes and Indian mobile codes, every call a JSON `POST` carrying the
//! `appId`, `appKey` and `transactionId` headers.
//!
//! | recipient | send | resend | verify |
//! |---|---|---|---|
//! | email | `sendOTPEmail` `{email, otpLength, widgetId?}` | `retryOTPEmail` `{reqId, otpLength, widgetId?}` | `verifyOTPEmail` `{reqId, otp, email, widgetId?}` |
//! | `+91` phone | `verifyMobileSendOtp` `{templateId, mobileNumber, otpLength, otpExpiry?}` | `resendOtp` `{mobileNumber, retryType}` | `verifyMobileOtp` `{mobileNumber, otp}` |
//!
//! - **transactionId**: the caller's [`SendRequest::reference`] when given, otherwise an id
//!   generated once per verification; it travels in the handle (extra
//!   [`TRANSACTION_ID_KEY`]) so resend and verify repeat it.
//! - **Email**: the `reqId` comes from the send answer's `result.message` (or `result.reqId`,
//!   `result.requestId`) and is the handle's reference; resend and verify reuse it. The code
//!   length is 4 or 6 ([`SendRequest::code_length`], else `otp_length`, else 6); another length
//!   is `invalid_request` with nothing sent. The length travels in the handle so the resend asks
//!   for the same one.
//! - **Mobile**: Indian numbers only (`+91` and 10 digits, sent without the country code);
//!   another country is `unsupported` and a malformed `+91` number `invalid_recipient`, with
//!   nothing sent. `template_id` must be configured.
//!   The code length is 4 to 9, the lifetime `otpExpiry` in minutes comes from
//!   [`SendRequest::code_ttl`] (rounded up) or `otp_expiry_mins`. The first code always goes by
//!   SMS; asking for [`Channel::Voice`] makes `resend` call back with `retryType: "voice"`
//!   (otherwise `"text"`).
//! - **Answers**: success is decided from the body's `status`, never the HTTP code (see
//!   `errors.rs` for how failures are classified). `metaData.requestId` becomes the receipt's,
//!   the error's and [`Verified::request_id`].
//! - There is no status call.
//!
//! ```toml
//! provider = "hyperverge"
//! app_id = "…"
//! app_key = "…"
//! widget_id = "…"          # optional: a custom email template
//! otp_length = 6           # optional: 4 or 6 for email, 4 to 9 for mobile
//! template_id = "…"        # required for mobile codes
//! otp_expiry_mins = 10     # optional, mobile codes
//! ```

mod errors;
#[cfg(test)]
mod tests;
mod wire;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::adapter::{Adapter, Client};
use crate::capabilities::{Capabilities, ResendMode};
use crate::config::ProviderSettings;
use crate::de::{self, check_header_value};
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{endpoint, header_map, HttpRequest, HttpResponse};
use crate::parse;
use crate::receipt::{SendReceipt, Verified};
use crate::recipient::{Email, Phone, Recipient};
use crate::request::{Channel, OtpCode, SendRequest};
use crate::secret::Secret;
use reqwest::header::HeaderMap;

use errors::Call;

/// The documented base URL; the operations' paths (`sendOTPEmail`, …) join onto it.
pub const DEFAULT_BASE_URL: &str = "https://ind-engine.thomas.hyperverge.co/v1";

/// The provider id.
pub const ID: &str = "hyperverge";

/// HyperVerge's description.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "HyperVerge",
    feature: "hyperverge",
    default_base_url: Some(DEFAULT_BASE_URL),
    capabilities: full_capabilities,
    sample_recipient: "jane.doe@example.com",
    sample_purpose: "signup",
    own_flow_send: None,
};

/// Email, and Indian mobiles by SMS (voice on resend); native resend calls; no status call.
fn full_capabilities() -> Capabilities {
    Capabilities::new([Channel::Email, Channel::Sms, Channel::Voice])
        .phone(Some(vec!["+91".to_owned()]))
        .resend(ResendMode::Native)
}

/// The code length used when neither the request nor the config names one.
pub const DEFAULT_OTP_LENGTH: u8 = 6;

/// The handle's extra key holding the `transactionId` sent on every call of a verification.
pub const TRANSACTION_ID_KEY: &str = "transaction_id";

/// The handle's extra key holding the email code length, repeated by `retryOTPEmail`.
const OTP_LENGTH_KEY: &str = "otp_length";

/// The code lengths one family of calls accepts.
#[derive(Debug, Clone, Copy)]
struct Lengths {
    accepted: &'static [u8],
    rule: &'static str,
}

/// The email calls' code lengths.
const EMAIL_LENGTHS: Lengths = Lengths {
    accepted: &[4, 6],
    rule: "HyperVerge email codes are 4 or 6 digits long; nothing was sent",
};

/// The mobile call's code lengths.
const MOBILE_LENGTHS: Lengths = Lengths {
    accepted: &[4, 5, 6, 7, 8, 9],
    rule: "HyperVerge mobile codes are 4 to 9 digits long; nothing was sent",
};

impl Lengths {
    /// `length` when accepted, else `invalid_request` stating the rule.
    fn check(self, length: u8) -> Result<u8, Error> {
        if self.accepted.contains(&length) {
            Ok(length)
        } else {
            Err(Error::new(ErrorKind::InvalidRequest, self.rule))
        }
    }
}

/// The longest mobile code lifetime otpkit asks for: one day.
const MAX_OTP_EXPIRY_MINS: u64 = 24 * 60;

/// HyperVerge's keys (see the crate documentation's [Configuration](crate#configuration) section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// `appId`, from the dashboard's credentials tab.
    pub app_id: Secret,
    /// `appKey`, from the dashboard's credentials tab.
    pub app_key: Secret,
    /// `widgetId`: a custom email template (HyperVerge's branded one when absent).
    #[serde(default, deserialize_with = "de::opt_string_like")]
    pub widget_id: Option<String>,
    /// Code length: 4 or 6 for email, 4 to 9 for mobile (default 6).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub otp_length: Option<u64>,
    /// `templateId` for mobile codes, assigned by HyperVerge (required to send to phones).
    #[serde(default, deserialize_with = "de::opt_string_like")]
    pub template_id: Option<String>,
    /// `otpExpiry` for mobile codes, in minutes (1 to 1440; the provider's default when absent).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub otp_expiry_mins: Option<u64>,
}

impl Config {
    /// A config from the two credentials, every optional key unset.
    pub fn new(app_id: impl Into<Secret>, app_key: impl Into<Secret>) -> Self {
        Config {
            app_id: app_id.into(),
            app_key: app_key.into(),
            widget_id: None,
            otp_length: None,
            template_id: None,
            otp_expiry_mins: None,
        }
    }
}

impl ProviderSettings for Config {
    type Adapter = HyperVergeAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = Some(DEFAULT_BASE_URL);

    fn secrets(&self) -> Vec<Secret> {
        vec![self.app_id.clone(), self.app_key.clone()]
    }

    fn adapter(&self, base_url: Url) -> Result<HyperVergeAdapter, Error> {
        let headers = header_map(&[
            ("appid", "app_id", self.app_id.expose(), true),
            ("appkey", "app_key", self.app_key.expose(), true),
            super::ACCEPT_JSON,
        ])?;
        for (key, value) in [
            ("widget_id", &self.widget_id),
            ("template_id", &self.template_id),
        ] {
            if let Some(value) = value {
                check_header_value(key, value)?;
            }
        }
        let otp_length = match self.otp_length {
            None => DEFAULT_OTP_LENGTH,
            Some(length) => u8::try_from(length)
                .ok()
                .filter(|l| MOBILE_LENGTHS.accepted.contains(l))
                .ok_or_else(|| {
                    Error::config("otp_length", "must be 4 to 9 (4 or 6 for email codes)")
                })?,
        };
        if self
            .otp_expiry_mins
            .is_some_and(|mins| !(1..=MAX_OTP_EXPIRY_MINS).contains(&mins))
        {
            return Err(Error::config(
                "otp_expiry_mins",
                format!("must be 1 to {MAX_OTP_EXPIRY_MINS} minutes"),
            ));
        }
        Ok(HyperVergeAdapter {
            send_email_url: endpoint(&base_url, "sendOTPEmail"),
            send_mobile_url: endpoint(&base_url, "verifyMobileSendOtp"),
            verify_email_url: endpoint(&base_url, "verifyOTPEmail"),
            verify_mobile_url: endpoint(&base_url, "verifyMobileOtp"),
            resend_email_url: endpoint(&base_url, "retryOTPEmail"),
            resend_mobile_url: endpoint(&base_url, "resendOtp"),
            headers,
            widget_id: self.widget_id.clone(),
            template_id: self.template_id.clone(),
            otp_length,
            otp_expiry_mins: self.otp_expiry_mins,
        })
    }
}

/// HyperVerge over the shared exchange path.
pub type HyperVerge = Client<HyperVergeAdapter>;

/// HyperVerge's wire format as pure functions.
#[doc(hidden)] // crate plumbing: the typed client (the alias above) is the API
#[derive(Debug, Clone)]
pub struct HyperVergeAdapter {
    /// `POST …/sendOTPEmail`, joined once.
    send_email_url: Url,
    /// `POST …/verifyMobileSendOtp`, joined once.
    send_mobile_url: Url,
    /// `POST …/verifyOTPEmail`, joined once.
    verify_email_url: Url,
    /// `POST …/verifyMobileOtp`, joined once.
    verify_mobile_url: Url,
    /// `POST …/retryOTPEmail`, joined once.
    resend_email_url: Url,
    /// `POST …/resendOtp`, joined once.
    resend_mobile_url: Url,
    /// The `appId` and `appKey` headers, checked and prepared once.
    headers: HeaderMap,
    widget_id: Option<String>,
    template_id: Option<String>,
    otp_length: u8,
    otp_expiry_mins: Option<u64>,
}

/// The `transactionId` a handle carries (see [`TRANSACTION_ID_KEY`]), for correlating a
/// verification with HyperVerge's records.
pub fn transaction_id(handle: &Verification) -> Option<&str> {
    handle.extra(TRANSACTION_ID_KEY)
}

impl HyperVergeAdapter {
    /// A `POST` of `body` to `url` with the three headers.
    fn post(
        &self,
        url: &Url,
        transaction_id: &str,
        body: &impl Serialize,
    ) -> Result<HttpRequest, Error> {
        HttpRequest::post_json(url.clone(), body)?
            .with_headers(&self.headers)
            .header("transactionid", transaction_id)
    }

    /// The code length: the request's, else the config's, checked against `lengths`.
    fn otp_length(&self, lengths: Lengths, requested: Option<u8>) -> Result<u8, Error> {
        lengths.check(requested.unwrap_or(self.otp_length))
    }

    /// `otpExpiry` in minutes: the request's lifetime rounded up, else the config's.
    fn otp_expiry_mins(&self, requested: Option<Duration>) -> Result<Option<u64>, Error> {
        let Some(ttl) = requested else {
            return Ok(self.otp_expiry_mins);
        };
        let mins = ttl.as_secs().div_ceil(60).max(1);
        if mins > MAX_OTP_EXPIRY_MINS {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "HyperVerge mobile codes live at most {MAX_OTP_EXPIRY_MINS} minutes; nothing was sent"
                ),
            ));
        }
        Ok(Some(mins))
    }

    /// The email code length the handle's send used (the config's when the handle has none).
    fn handle_otp_length(&self, handle: &Verification) -> Result<u8, Error> {
        match handle.extra(OTP_LENGTH_KEY) {
            None => self.otp_length(EMAIL_LENGTHS, None),
            Some(text) => text
                .parse::<u8>()
                .map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidRequest,
                        "the handle's otp_length is not a number",
                    )
                })
                .and_then(|length| EMAIL_LENGTHS.check(length)),
        }
    }

    fn template_id(&self) -> Result<&str, Error> {
        self.template_id.as_deref().ok_or_else(|| {
            Error::config(
                "template_id",
                "required to send codes to phone numbers (HyperVerge assigns it); nothing was sent",
            )
        })
    }

    fn build_email_send(
        &self,
        request: &SendRequest,
        email: &Email,
        transaction_id: &str,
    ) -> Result<HttpRequest, Error> {
        if request.channel.is_some_and(|c| c != Channel::Email) {
            return Err(Error::unsupported(
                "HyperVerge sends codes to email addresses by email only; nothing was sent",
            ));
        }
        let body = wire::EmailSendBody {
            email: email.as_str(),
            otp_length: self.otp_length(EMAIL_LENGTHS, request.code_length)?,
            widget_id: self.widget_id.as_deref(),
        };
        self.post(&self.send_email_url, transaction_id, &body)
    }

    fn build_mobile_send(
        &self,
        request: &SendRequest,
        phone: &Phone,
        transaction_id: &str,
    ) -> Result<HttpRequest, Error> {
        phone_channel(request.channel)?;
        let template = self.template_id()?;
        let number = mobile_number(phone)?;
        let body = wire::MobileSendBody {
            template_id: template,
            mobile_number: number,
            otp_length: self.otp_length(MOBILE_LENGTHS, request.code_length)?,
            otp_expiry: self.otp_expiry_mins(request.code_ttl)?,
        };
        self.post(&self.send_mobile_url, transaction_id, &body)
    }
}

/// The 10-digit national number of an Indian phone (`+91` and 10 digits). Another country is a
/// recipient HyperVerge cannot reach (`unsupported`); a `+91` number of another length is
/// malformed (`invalid_recipient`).
fn mobile_number(phone: &Phone) -> Result<&str, Error> {
    let Some(national) = phone.national_number("91") else {
        return Err(Error::unsupported(
            "HyperVerge mobile codes reach Indian numbers only (+91); nothing was sent",
        ));
    };
    if national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()) {
        Ok(national)
    } else {
        Err(Error::new(
            ErrorKind::InvalidRecipient,
            "an Indian mobile number has 10 digits after +91; nothing was sent",
        ))
    }
}

/// The channels a phone code can take: SMS first, voice on resend.
fn phone_channel(channel: Option<Channel>) -> Result<Channel, Error> {
    match channel {
        None | Some(Channel::Sms) => Ok(Channel::Sms),
        Some(Channel::Voice) => Ok(Channel::Voice),
        Some(other) => Err(Error::unsupported(format!(
            "HyperVerge sends phone codes by SMS (voice on resend), not {other}; nothing was sent"
        ))),
    }
}

/// The handle's transaction id, or `invalid_request` when it lacks one.
fn handle_transaction_id(handle: &Verification) -> Result<&str, Error> {
    transaction_id(handle)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                "the handle carries no HyperVerge transaction id; was it made by this provider's send?",
            )
        })
}

/// Whether the body reports success (`status` is `"success"`, any case).
fn succeeded(body: &Map<String, Value>) -> bool {
    parse::str_field(body, "status").is_some_and(|s| s.trim().eq_ignore_ascii_case("success"))
}

/// The body of a successful answer, or the classified error.
fn success_body(call: Call, response: &HttpResponse) -> Result<Map<String, Value>, Error> {
    let body = parse::object(response)?;
    if succeeded(&body) {
        Ok(body)
    } else {
        Err(errors::classify(call, response, &body))
    }
}

/// The send answer's `reqId`: `result.reqId`, else `result.message` (the documented place),
/// else `result.requestId`, or `result` itself when it is a string. A value with white space is
/// prose ("OTP sent"), not an id, and is passed over.
fn req_id(body: &Map<String, Value>) -> Option<String> {
    let is_id =
        |id: &String| !id.is_empty() && id.len() <= 512 && !id.contains(char::is_whitespace);
    match body.get("result") {
        Some(Value::Object(result)) => ["reqId", "message", "requestId"]
            .into_iter()
            .filter_map(|key| parse::str_field(result, key))
            .find(is_id),
        Some(Value::String(id)) => Some(id.clone()).filter(is_id),
        _ => None,
    }
}

/// A receipt for `handle`, with the answer's request id.
fn receipt(
    handle: Verification,
    channel: Channel,
    expiry_mins: Option<u64>,
    body: &Map<String, Value>,
) -> SendReceipt {
    let lifetime = expiry_mins.map(|mins| Duration::from_secs(mins * 60));
    let mut receipt = SendReceipt::issued(handle, lifetime);
    // The first code always goes by SMS, whatever the handle keeps for resends.
    receipt.channel = Some(channel);
    receipt.request_id = errors::request_id(body);
    receipt
}

impl Adapter for HyperVergeAdapter {
    /// Phones only once `template_id` is configured.
    fn capabilities(&self) -> Capabilities {
        if self.template_id.is_some() {
            full_capabilities()
        } else {
            full_capabilities().without_phone()
        }
    }

    const ID: &'static str = ID;

    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error> {
        let transaction_id = match &request.reference {
            Some(reference) => reference.clone(),
            None => crate::random::unique_id("otpkit"),
        };
        match &request.recipient {
            Recipient::Email(email) => self.build_email_send(request, email, &transaction_id),
            Recipient::Phone(phone) => self.build_mobile_send(request, phone, &transaction_id),
        }
    }

    fn parse_send(
        &self,
        request: &SendRequest,
        sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let body = success_body(Call::Send, response)?;
        let transaction_id = sent
            .headers
            .get("transactionid")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidRequest,
                    "the sent request carried no transactionId",
                )
            })?;
        let handle = Verification::new(ID, request.recipient.clone())
            .with_purpose(request.purpose.clone())
            .with_extra(TRANSACTION_ID_KEY, transaction_id);
        match &request.recipient {
            Recipient::Email(_) => {
                let reference = req_id(&body).ok_or_else(|| {
                    errors::with_request_id(
                        Error::unexpected(
                            "the send answer is success but carries no reqId in `result`",
                        ),
                        &body,
                    )
                })?;
                let length = self.otp_length(EMAIL_LENGTHS, request.code_length)?;
                let handle = handle
                    .with_channel(Some(Channel::Email))
                    .with_reference(reference)
                    .with_extra(OTP_LENGTH_KEY, length.to_string());
                Ok(receipt(handle, Channel::Email, None, &body))
            }
            Recipient::Phone(_) => {
                let handle = handle.with_channel(Some(phone_channel(request.channel)?));
                let expiry = self.otp_expiry_mins(request.code_ttl)?;
                Ok(receipt(handle, Channel::Sms, expiry, &body))
            }
        }
    }

    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error> {
        let transaction_id = handle_transaction_id(handle)?;
        match handle.recipient() {
            Recipient::Email(email) => {
                let body = wire::EmailVerifyBody {
                    req_id: handle.require_reference()?,
                    otp: code.expose(),
                    email: email.as_str(),
                    widget_id: self.widget_id.as_deref(),
                };
                self.post(&self.verify_email_url, transaction_id, &body)
            }
            Recipient::Phone(phone) => {
                let body = wire::MobileVerifyBody {
                    mobile_number: mobile_number(phone)?,
                    otp: code.expose(),
                };
                self.post(&self.verify_mobile_url, transaction_id, &body)
            }
        }
    }

    fn parse_verify(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error> {
        let body = success_body(Call::Verify, response)?;
        let mut verified = Verified::new(ID);
        verified.request_id = errors::request_id(&body);
        Ok(verified)
    }

    fn build_resend(&self, handle: &Verification) -> Result<HttpRequest, Error> {
        let transaction_id = handle_transaction_id(handle)?;
        match handle.recipient() {
            Recipient::Email(_) => {
                let body = wire::EmailResendBody {
                    req_id: handle.require_reference()?,
                    otp_length: self.handle_otp_length(handle)?,
                    widget_id: self.widget_id.as_deref(),
                };
                self.post(&self.resend_email_url, transaction_id, &body)
            }
            Recipient::Phone(phone) => {
                let retry_type = match handle.channel() {
                    Some(Channel::Voice) => "voice",
                    _ => "text",
                };
                let body = wire::MobileResendBody {
                    mobile_number: mobile_number(phone)?,
                    retry_type,
                };
                self.post(&self.resend_mobile_url, transaction_id, &body)
            }
        }
    }

    /// The resend keeps the handle as it was: the retry and verify calls both take the `reqId`
    /// the send returned, and the transaction id stays the journey's.
    fn parse_resend(
        &self,
        handle: &Verification,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let body = success_body(Call::Resend, response)?;
        let channel = match handle.recipient() {
            Recipient::Email(_) => Channel::Email,
            Recipient::Phone(_) if handle.channel() == Some(Channel::Voice) => Channel::Voice,
            Recipient::Phone(_) => Channel::Sms,
        };
        Ok(receipt(handle.clone(), channel, None, &body))
    }
}
