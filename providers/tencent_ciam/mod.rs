//! Tencent Cloud CIAM: SMS and email codes sent from the tenant's portal
//! (`https://<tenant>.portal.tencentciam.com` or a custom domain, so `base_url` is required).
//!
//! - **Send**: `POST /otp/send` with `Authorization: Basic base64(urlencode(client_id) + ":" +
//!   urlencode(client_secret))` and `{usage, phone_number | email, auth_source_id?}`. The
//!   purpose becomes `usage` (`login` when none is given; `signup`, `update_userinfo`,
//!   `reset_password`; any other purpose is `unsupported`). Phone numbers must be mainland China
//!   mobiles (`+86` and 11 digits, sent without the `+86`): another country is `unsupported`,
//!   another `+86` number `invalid_recipient`, with no request. `login` needs `auth_source_id` in the config (`config` error otherwise); the other
//!   usages do not send it. The answer's `otp_token` is the handle's
//!   [`reference`](Verification::reference) (also [`otp_token`]); it lives 5 minutes. A code
//!   sent without an auth source lives 60 seconds (the documented default), so the receipt of a
//!   `signup`, `update_userinfo` or `reset_password` send says 60 seconds; a `login` code's
//!   lifetime is its auth source's, and the receipt gives the `otp_token`'s 5 minutes.
//! - **Verify** (`login` only): the OAuth exchange `POST /oauth2/token` with the `otp/sms` or
//!   `otp/email` grant type, the client credentials in the JSON body, `auth_source_id`, the same
//!   phone number or email, `otp_token`, `otp` and `auto_signup` when configured. **It is a
//!   login, not a mere check**: a verified code issues a session, whose tokens come back in
//!   [`Verified::tokens`] (as [`Secret`]s), and with `auto_signup = true` an unknown user is
//!   created.
//! - **Other usages**: Tencent has no call that only checks a `signup`, `update_userinfo` or
//!   `reset_password` code; its own API consumes the code together with the `otp_token`, so
//!   [`verify`](crate::OtpProvider::verify) answers `unsupported` and says where.
//!   [`TencentCiam::reset_password`] is the typed `POST /reset_user_password`; for sign-up and
//!   `PATCH /userinfo`, pass the code as `email_otp` / `phone_number_otp` and [`otp_token`] as
//!   `email_otp_token` / `phone_number_otp_token`.
//! - **Resend**: there is no resend call; the core's resend sends again with the handle's
//!   recipient, purpose and channel, which issues a new `otp_token` (use the new handle). There
//!   is no status call.
//!
//! ```toml
//! provider = "tencent_ciam"
//! base_url = "https://example.portal.tencentciam.com"
//! client_id = "…"
//! client_secret = "…"
//! auth_source_id = "…"   # the SMS or email OTP auth source; required for login codes
//! auto_signup = false    # optional: create unknown users when they log in with a code
//! ```

mod errors;
mod reset_password;
#[cfg(test)]
mod tests;
mod wire;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::form_urlencoded::byte_serialize;
use url::Url;

use crate::adapter::{Adapter, Client};
use crate::capabilities::Capabilities;
use crate::config::ProviderSettings;
use crate::de::{self, check_header_value};
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{endpoint, header_map, HttpRequest, HttpResponse};
use crate::parse;
use crate::receipt::{IssuedTokens, SendReceipt, Verified};
use crate::recipient::{Phone, Recipient};
use crate::request::{Channel, OtpCode, Purpose, SendRequest};
use crate::secret::Secret;
use reqwest::header::HeaderMap;

/// The provider id.
pub const ID: &str = "tencent_ciam";

/// Tencent CIAM's description.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "Tencent Cloud CIAM",
    feature: "tencent-ciam",
    default_base_url: None,
    capabilities: || capabilities_with(true),
    sample_recipient: "+8613612345678",
    sample_purpose: "login",
    own_flow_send: Some(|config, options, request| {
        Box::pin(send_code_from_config(config, options, request))
    }),
};

/// [`TencentCiam::send_code`] from a Tencent config, for fixture replay of its own flows.
async fn send_code_from_config(
    config: &crate::ProviderConfig,
    options: &crate::HttpOptions,
    request: &SendRequest,
) -> Result<SendReceipt, Error> {
    match config {
        crate::ProviderConfig::TencentCiam(settings) => {
            let client = settings.provider.build(&settings.common, options)?;
            client.send_code(request).await
        }
        #[allow(unreachable_patterns)] // only Tencent when no other provider is compiled in
        _ => Err(Error::unsupported("send_code is Tencent CIAM's")),
    }
}

/// SMS to mainland China mobiles and email; `verify` checks `login` codes, and `signup` codes
/// when `auto_signup` is on (sent and checked through the login grant); no resend or status
/// call.
fn capabilities_with(auto_signup: bool) -> Capabilities {
    let mut purposes = vec![Purpose::Login];
    if auto_signup {
        purposes.push(Purpose::Signup);
    }
    Capabilities::new([Channel::Sms, Channel::Email])
        .phone(Some(vec!["+86".to_owned()]))
        .verify_purposes(purposes)
}

/// How long an `otp_token` is valid, as documented.
pub const OTP_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// How long a code sent without an auth source (`signup`, `update_userinfo`,
/// `reset_password`) is valid, as documented: 60 seconds. A `login` code follows its auth
/// source's settings, which otpkit cannot see, so its lifetime is bounded by the `otp_token`'s.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(60);

/// The token exchange's grant type for SMS codes (the parameter table's value).
pub(crate) const SMS_GRANT_TYPE: &str = "http://tencentciam.com/oauth2/grant-type/otp/sms";

/// The token exchange's grant type for email codes (the parameter table's value).
pub(crate) const EMAIL_GRANT_TYPE: &str = "http://tencentciam.com/oauth2/grant-type/otp/email";

/// Tencent CIAM's keys (see the crate documentation's [Configuration](crate#configuration)
/// section); `base_url` (the tenant's portal) is required too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The application's `client_id`.
    pub client_id: Secret,
    /// The application's `client_secret` (a web application's).
    pub client_secret: Secret,
    /// The SMS or email OTP auth source; required for `login` codes.
    #[serde(default, deserialize_with = "de::opt_string_like")]
    pub auth_source_id: Option<String>,
    /// Whether a login with a code creates an unknown user; sent only when set.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub auto_signup: Option<bool>,
}

impl Config {
    /// A config from the application's credentials, with no auth source (enough for
    /// `signup`, `update_userinfo` and `reset_password` codes).
    pub fn new(client_id: impl Into<Secret>, client_secret: impl Into<Secret>) -> Self {
        Config {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            auth_source_id: None,
            auto_signup: None,
        }
    }

    /// Sets the OTP auth source, which `login` codes need.
    pub fn auth_source_id(mut self, id: impl Into<String>) -> Self {
        self.auth_source_id = Some(id.into());
        self
    }

    /// Sets `auto_signup` for the login exchange.
    pub fn auto_signup(mut self, enabled: bool) -> Self {
        self.auto_signup = Some(enabled);
        self
    }
}

/// `base_url` is required: it is the tenant's portal.
///
/// ```
/// use otpkit::providers::tencent_ciam::Config;
/// use otpkit::{CommonConfig, ErrorKind, HttpOptions, ProviderSettings};
///
/// let mut common = CommonConfig::default();
/// let config = Config::new("client", "secret").auth_source_id("sms-source");
/// let err = config.build(&common, &HttpOptions::default()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.message().contains("base_url"));
///
/// common.base_url = Some("https://example.portal.tencentciam.com".into());
/// let client = config.build(&common, &HttpOptions::default())?;
/// # let _ = client;
/// # Ok::<(), otpkit::Error>(())
/// ```
impl ProviderSettings for Config {
    type Adapter = TencentCiamAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = None;

    /// The two credentials and the `id:secret` pair of the Basic header, url-encoded as sent
    /// and raw (the header value is its base64).
    fn secrets(&self) -> Vec<Secret> {
        let (id, secret) = (self.client_id.expose(), self.client_secret.expose());
        let encoded = |v: &str| byte_serialize(v.as_bytes()).collect::<String>();
        vec![
            self.client_id.clone(),
            self.client_secret.clone(),
            Secret::new(format!("{id}:{secret}")),
            Secret::new(format!("{}:{}", encoded(id), encoded(secret))),
        ]
    }

    fn adapter(&self, base_url: Url) -> Result<TencentCiamAdapter, Error> {
        check_header_value("client_id", self.client_id.expose())?;
        check_header_value("client_secret", self.client_secret.expose())?;
        if let Some(id) = &self.auth_source_id {
            check_header_value("auth_source_id", id)?;
        }
        let authorization =
            basic_authorization(self.client_id.expose(), self.client_secret.expose());
        // Both halves were checked above and base64 after `Basic ` is always header-safe, so
        // this cannot fail; the key is named all the same.
        let basic = header_map(&[
            (
                "authorization",
                "client_secret",
                authorization.expose(),
                true,
            ),
            super::ACCEPT_JSON,
        ])?;
        let json = header_map(&[super::ACCEPT_JSON])?;
        Ok(TencentCiamAdapter {
            send_url: endpoint(&base_url, "otp/send"),
            token_url: endpoint(&base_url, "oauth2/token"),
            reset_password_url: endpoint(&base_url, "reset_user_password"),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            auth_source_id: self.auth_source_id.clone(),
            auto_signup: self.auto_signup,
            basic,
            json,
        })
    }
}

/// Tencent CIAM over the shared exchange path.
pub type TencentCiam = Client<TencentCiamAdapter>;

/// Tencent CIAM's wire format as pure functions.
#[doc(hidden)] // crate plumbing: the typed client (the alias above) is the API
#[derive(Debug, Clone)]
pub struct TencentCiamAdapter {
    /// `POST …/otp/send`, joined once.
    send_url: Url,
    /// `POST …/oauth2/token`, joined once.
    token_url: Url,
    /// `POST …/reset_user_password`, joined once.
    reset_password_url: Url,
    /// Sent in the body of the `/oauth2/token` exchange.
    client_id: Secret,
    /// Sent in the body of the `/oauth2/token` exchange.
    client_secret: Secret,
    auth_source_id: Option<String>,
    auto_signup: Option<bool>,
    /// `Authorization: Basic …` for `/otp/send` and `/reset_user_password` (never the token
    /// exchange), and `Accept: application/json`, checked and prepared once.
    basic: HeaderMap,
    /// `Accept: application/json` alone, for the token exchange: it answers JSON, errors
    /// included.
    json: HeaderMap,
}

/// `Basic base64(urlencode(client_id) ":" urlencode(client_secret))`, form-style percent
/// encoding as in the vendor's Java samples (`URLEncoder`), standard base64 with padding.
fn basic_authorization(client_id: &str, client_secret: &str) -> Secret {
    let id: String = byte_serialize(client_id.as_bytes()).collect();
    let secret: String = byte_serialize(client_secret.as_bytes()).collect();
    Secret::new(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    ))
}

/// The `otp_token` of a handle issued by this provider's send (its
/// [`reference`](Verification::reference)): what Tencent's sign-up, `PATCH /userinfo` and
/// `/reset_user_password` calls take as `email_otp_token` or `phone_number_otp_token`.
///
/// ```
/// use otpkit::providers::tencent_ciam::{otp_token, ID};
/// use otpkit::Verification;
///
/// let handle = Verification::new(ID, "jane@example.com".parse()?).with_reference("OTP_TOKEN");
/// assert_eq!(otp_token(&handle), Some("OTP_TOKEN"));
/// let other = Verification::new("thaaigroup", "jane@example.com".parse()?).with_reference("x");
/// assert_eq!(otp_token(&other), None);
/// # Ok::<(), otpkit::Error>(())
/// ```
pub fn otp_token(handle: &Verification) -> Option<&str> {
    if handle.provider() == ID {
        handle.reference()
    } else {
        None
    }
}

/// The 11-digit national number of a mainland China mobile, as Tencent wants it.
fn mainland_number(phone: &Phone) -> Result<&str, Error> {
    let national = phone.national_number("86").ok_or_else(|| {
        Error::unsupported(
            "Tencent CIAM sends SMS codes to mainland China mobile numbers (+86) only; nothing was sent",
        )
    })?;
    if national.len() == 11 && national.starts_with('1') {
        Ok(national)
    } else {
        Err(Error::new(
            ErrorKind::InvalidRecipient,
            "a mainland China mobile number is +86 and 11 digits starting with 1; nothing was sent",
        ))
    }
}

/// The recipient in Tencent's terms: its value for the JSON key `phone_number` or `email`.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    value: &'a str,
    channel: Channel,
}

impl<'a> Target<'a> {
    fn of(recipient: &'a Recipient) -> Result<Self, Error> {
        let value = match recipient {
            Recipient::Phone(phone) => mainland_number(phone)?,
            Recipient::Email(email) => email.as_str(),
        };
        Ok(Target {
            value,
            channel: channel_of(recipient),
        })
    }

    fn grant_type(self) -> &'static str {
        match self.channel {
            Channel::Sms => SMS_GRANT_TYPE,
            _ => EMAIL_GRANT_TYPE,
        }
    }

    /// `value` in the body member this recipient is named by: `(email, phone_number)`, one of
    /// them `Some` (a phone's members are `phone_number…`, an address's `email…`).
    fn slots<T>(self, value: T) -> (Option<T>, Option<T>) {
        match self.channel {
            Channel::Sms => (None, Some(value)),
            _ => (Some(value), None),
        }
    }
}

/// The JSON key Tencent names a recipient by (`phone_number` or `email`; the OTP fields of its
/// other calls are `<key>_otp` and `<key>_otp_token`).
fn key_of(recipient: &Recipient) -> &'static str {
    match recipient {
        Recipient::Phone(_) => "phone_number",
        Recipient::Email(_) => "email",
    }
}

/// The channel a recipient gets its code on: SMS for phones, email for addresses.
fn channel_of(recipient: &Recipient) -> Channel {
    match recipient {
        Recipient::Phone(_) => Channel::Sms,
        Recipient::Email(_) => Channel::Email,
    }
}

/// The `usage` for a purpose: `login` when none is given, the four documented ones as they are.
fn usage(purpose: Option<&Purpose>) -> Result<Purpose, Error> {
    match purpose {
        None => Ok(Purpose::Login),
        Some(
            purpose @ (Purpose::Login
            | Purpose::Signup
            | Purpose::UpdateUserinfo
            | Purpose::ResetPassword),
        ) => Ok(purpose.clone()),
        Some(other) => Err(Error::unsupported(format!(
            "Tencent CIAM sends codes for login, signup, update_userinfo and reset_password only, not `{other}`; nothing was sent"
        ))),
    }
}

/// Refuses a requested channel the recipient cannot get: Tencent sends SMS to phones and email
/// to addresses, nothing else.
fn check_channel(requested: Option<Channel>, recipient: &Recipient) -> Result<(), Error> {
    let natural = channel_of(recipient);
    match requested {
        None => Ok(()),
        Some(channel) if channel == natural => Ok(()),
        Some(channel @ (Channel::Sms | Channel::Email)) => Err(Error::unsupported(format!(
            "Tencent CIAM sends {natural} codes to this recipient, not {channel}; nothing was sent"
        ))),
        Some(channel) => Err(Error::unsupported(format!(
            "Tencent CIAM sends codes by sms or email only, not {channel}; nothing was sent"
        ))),
    }
}

/// Where a non-login code is consumed, for `verify`'s `unsupported` answer.
fn consumed_elsewhere(usage: &Purpose, recipient: &Recipient) -> Error {
    let key = key_of(recipient);
    let place = match usage {
        Purpose::ResetPassword => {
            "POST /reset_user_password: call `TencentCiam::reset_password` with this handle, the code and the new password".to_owned()
        }
        Purpose::UpdateUserinfo => "PATCH /userinfo (with the user's access token)".to_owned(),
        _ => "Tencent CIAM's sign-up call".to_owned(),
    };
    Error::unsupported(format!(
        "Tencent CIAM has no call that only checks a `{usage}` code: the code (`{key}_otp`) and this handle's otp_token (`{key}_otp_token`, the handle's reference) are consumed by {place}; nothing was sent"
    ))
}

/// The body of a successful answer, or the classified error (also for a 2xx carrying `error`).
fn answer(response: &HttpResponse) -> Result<Map<String, Value>, Error> {
    let body = parse::object(response)?;
    if response.is_success() && parse::str_field(&body, "error").is_none() {
        Ok(body)
    } else {
        Err(errors::classify(response, &body))
    }
}

/// A non-empty string field.
fn text_field(body: &Map<String, Value>, key: &str) -> Option<String> {
    parse::str_field(body, key).filter(|value| !value.trim().is_empty())
}

impl TencentCiamAdapter {
    /// A JSON `POST` with the Basic `Authorization` header (`/otp/send`, `/reset_user_password`).
    fn post_with_basic(&self, url: &Url, body: &impl Serialize) -> Result<HttpRequest, Error> {
        Ok(HttpRequest::post_json(url.clone(), body)?.with_headers(&self.basic))
    }

    fn auth_source_id(&self) -> Result<&str, Error> {
        self.auth_source_id.as_deref().ok_or_else(|| {
            Error::config(
                "auth_source_id",
                "required for login codes (the SMS or email OTP auth source in the Tencent CIAM console); nothing was sent",
            )
        })
    }

    /// The `usage` sent for a purpose. With `auto_signup` on, a `signup` code is sent as a
    /// `login` code, so the login grant checks it (and creates the user): Tencent has no call
    /// that only checks a sign-up code.
    fn wire_usage(&self, purpose: Option<&Purpose>) -> Result<Purpose, Error> {
        match usage(purpose)? {
            Purpose::Signup if self.auto_signup == Some(true) => Ok(Purpose::Login),
            usage => Ok(usage),
        }
    }

    fn build_send_to(
        &self,
        recipient: &Recipient,
        purpose: Option<&Purpose>,
        channel: Option<Channel>,
    ) -> Result<HttpRequest, Error> {
        let usage = self.wire_usage(purpose)?;
        check_channel(channel, recipient)?;
        let target = Target::of(recipient)?;
        let (email, phone_number) = target.slots(target.value);
        let body = wire::SendBody {
            usage: usage.as_str(),
            email,
            phone_number,
            auth_source_id: if usage == Purpose::Login {
                Some(self.auth_source_id()?)
            } else {
                None
            },
        };
        self.post_with_basic(&self.send_url, &body)
    }

    fn receipt(
        &self,
        recipient: &Recipient,
        purpose: Option<&Purpose>,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let body = answer(response)?;
        let otp_token = text_field(&body, "otp_token")
            .ok_or_else(|| Error::unexpected("the send answer has no otp_token"))?;
        let channel = channel_of(recipient);
        let purpose = usage(purpose)?;
        // Without an auth source the code itself dies after 60 s, well before its otp_token.
        let lifetime = if self.wire_usage(Some(&purpose))? == Purpose::Login {
            OTP_TOKEN_LIFETIME
        } else {
            DEFAULT_CODE_LIFETIME
        };
        let handle = Verification::new(ID, recipient.clone())
            .with_purpose(Some(purpose))
            .with_channel(Some(channel))
            .with_reference(otp_token);
        Ok(SendReceipt::issued(handle, Some(lifetime)))
    }
}

impl Adapter for TencentCiamAdapter {
    fn capabilities(&self) -> Capabilities {
        capabilities_with(self.auto_signup == Some(true))
    }

    const ID: &'static str = ID;

    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error> {
        self.build_send_to(
            &request.recipient,
            request.purpose.as_ref(),
            request.channel,
        )
    }

    fn parse_send(
        &self,
        request: &SendRequest,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        self.receipt(&request.recipient, request.purpose.as_ref(), response)
    }

    /// The login exchange at `/oauth2/token`; other usages are `unsupported` (see the module).
    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error> {
        let usage = self.wire_usage(handle.purpose())?;
        if usage != Purpose::Login {
            return Err(consumed_elsewhere(&usage, handle.recipient()));
        }
        let target = Target::of(handle.recipient())?;
        let otp_token = handle.require_reference()?;
        let (email, phone_number) = target.slots(target.value);
        let body = wire::TokenBody {
            grant_type: target.grant_type(),
            client_id: self.client_id.expose(),
            client_secret: self.client_secret.expose(),
            auth_source_id: self.auth_source_id()?,
            email,
            phone_number,
            otp_token,
            otp: code.expose(),
            auto_signup: self.auto_signup,
        };
        Ok(HttpRequest::post_json(self.token_url.clone(), &body)?.with_headers(&self.json))
    }

    fn parse_verify(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error> {
        let body = answer(response)?;
        let access_token = text_field(&body, "access_token")
            .ok_or_else(|| Error::unexpected("the token answer has no access_token"))?;
        let mut tokens = IssuedTokens::new(Secret::new(access_token));
        tokens.refresh_token = text_field(&body, "refresh_token").map(Secret::new);
        tokens.id_token = text_field(&body, "id_token").map(Secret::new);
        tokens.token_type = text_field(&body, "token_type");
        tokens.scope = text_field(&body, "scope");
        tokens.expires_in = parse::seconds_field(&body, "expires_in");
        let mut verified = Verified::new(ID);
        verified.tokens = Some(tokens);
        Ok(verified)
    }
}
