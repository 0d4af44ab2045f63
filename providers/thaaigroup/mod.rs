//! Thaaigroup Verify: email OTP over two calls, `POST /api/otp/send` and `POST /api/otp/verify`,
//! authenticated by the `X-Client-Id`, `X-Client-Secret` and `X-Client-Domain` headers.
//!
//! There is no resend call: the core's [`resend`](crate::OtpProvider::resend) sends again with
//! the same email and purpose, and an early one is `cooldown` with `retry_after`. There is no
//! status call.
//! The purpose used on send travels in the handle, because verify must repeat it.
//!
//! ```toml
//! provider = "thaaigroup"
//! client_id = "…"
//! client_secret = "…"
//! domain = "example.com"      # must be on the project's allowlist
//! ```

mod errors;
#[cfg(test)]
mod tests;
mod wire;

use serde::{Deserialize, Serialize};

use url::Url;

use crate::adapter::{Adapter, Client};
use crate::capabilities::Capabilities;
use crate::config::ProviderSettings;
use crate::de;
use crate::descriptor::Descriptor;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::http::{endpoint, header_map, json_content_type, HttpRequest, HttpResponse};
use crate::parse;
use crate::receipt::{SendReceipt, Verified};
use crate::recipient::{Email, Recipient};
use crate::request::{Channel, OtpCode, Purpose, SendRequest};
use crate::secret::Secret;
use reqwest::header::{HeaderMap, CONTENT_TYPE};

/// The documented base URL.
pub const DEFAULT_BASE_URL: &str = "https://account.thaaigroup.com";

/// Thaaigroup's keys (see the crate documentation's [Configuration](crate#configuration) section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// `X-Client-Id`.
    pub client_id: Secret,
    /// `X-Client-Secret`.
    pub client_secret: Secret,
    /// `X-Client-Domain`: a domain on the project's allowlist.
    #[serde(deserialize_with = "de::string_like")]
    pub domain: String,
}

impl Config {
    /// A config from the three credentials.
    pub fn new(
        client_id: impl Into<Secret>,
        client_secret: impl Into<Secret>,
        domain: impl Into<String>,
    ) -> Self {
        Config {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            domain: domain.into(),
        }
    }
}

impl ProviderSettings for Config {
    type Adapter = ThaaigroupAdapter;
    const DEFAULT_BASE_URL: Option<&'static str> = Some(DEFAULT_BASE_URL);

    fn secrets(&self) -> Vec<Secret> {
        vec![self.client_id.clone(), self.client_secret.clone()]
    }

    fn adapter(&self, base_url: Url) -> Result<ThaaigroupAdapter, Error> {
        let mut headers = header_map(&[
            ("x-client-id", "client_id", self.client_id.expose(), true),
            (
                "x-client-secret",
                "client_secret",
                self.client_secret.expose(),
                true,
            ),
            ("x-client-domain", "domain", &self.domain, false),
            super::ACCEPT_JSON,
        ])?;
        // Every call posts JSON: with the content type prepared too, a request's headers are
        // one clone of this map.
        headers.insert(CONTENT_TYPE, json_content_type());
        Ok(ThaaigroupAdapter {
            send_url: endpoint(&base_url, "api/otp/send"),
            verify_url: endpoint(&base_url, "api/otp/verify"),
            headers,
        })
    }
}

/// The provider id.
pub const ID: &str = "thaaigroup";

/// Thaaigroup's description.
pub const DESCRIPTOR: Descriptor = Descriptor {
    id: ID,
    name: "Thaaigroup Verify",
    feature: "thaaigroup",
    default_base_url: Some(DEFAULT_BASE_URL),
    capabilities: full_capabilities,
    sample_recipient: "jane.doe@example.com",
    sample_purpose: "signup",
    own_flow_send: None,
};

/// Email only, any purpose; no resend or status call.
fn full_capabilities() -> Capabilities {
    Capabilities::new([Channel::Email])
}

/// Thaaigroup over the shared exchange path.
pub type Thaaigroup = Client<ThaaigroupAdapter>;

/// Thaaigroup's wire format as pure functions.
#[doc(hidden)] // crate plumbing: the typed client (the alias above) is the API
#[derive(Debug, Clone)]
pub struct ThaaigroupAdapter {
    /// `POST …/api/otp/send`, joined once.
    send_url: Url,
    /// `POST …/api/otp/verify`, joined once.
    verify_url: Url,
    /// The three `X-Client-*` headers and `Accept: application/json`, checked and prepared
    /// once.
    headers: HeaderMap,
}

impl ThaaigroupAdapter {
    fn post(&self, url: &Url, body: &impl Serialize) -> Result<HttpRequest, Error> {
        HttpRequest::post_json_with(url.clone(), &self.headers, body)
    }

    fn build_send_to(
        &self,
        email: &Email,
        purpose: Option<&Purpose>,
    ) -> Result<HttpRequest, Error> {
        let body = wire::SendBody {
            email: email.as_str(),
            purpose: purpose.map(Purpose::as_str),
        };
        self.post(&self.send_url, &body)
    }

    fn receipt(
        &self,
        email: &Email,
        purpose: Option<&Purpose>,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        let answer = success(response)?;
        let expires_in = answer.expires_in();
        let handle = Verification::new(ID, Recipient::Email(email.clone()))
            .with_purpose(purpose.cloned())
            .with_channel(Some(Channel::Email));
        let mut receipt = SendReceipt::issued(handle, expires_in);
        receipt.resend_after = answer.cooldown();
        Ok(receipt)
    }
}

/// A successful answer (2xx with `ok: true`), or the classified error.
fn success(response: &HttpResponse) -> Result<wire::Success, Error> {
    // serde would also read a struct from a JSON array (`[true]`), so only objects take the
    // fast path.
    let is_object = response.body.trim_ascii_start().first() == Some(&b'{');
    if response.is_success() && is_object {
        if let Ok(answer) = serde_json::from_slice::<wire::Success>(&response.body) {
            if answer.ok == Some(true) {
                return Ok(answer);
            }
        }
    }
    let body = parse::object(response)?;
    Err(errors::classify(response, &body))
}

fn email_of(recipient: &Recipient) -> Result<&Email, Error> {
    recipient.email().ok_or_else(|| {
        Error::unsupported("Thaaigroup Verify sends codes by email only; nothing was sent")
    })
}

impl Adapter for ThaaigroupAdapter {
    const ID: &'static str = ID;

    fn capabilities(&self) -> Capabilities {
        full_capabilities()
    }

    fn build_send(&self, request: &SendRequest) -> Result<HttpRequest, Error> {
        let email = email_of(&request.recipient)?;
        if request.channel.is_some_and(|c| c != Channel::Email) {
            return Err(Error::unsupported(
                "Thaaigroup Verify sends codes by email only; nothing was sent",
            ));
        }
        self.build_send_to(email, request.purpose.as_ref())
    }

    fn parse_send(
        &self,
        request: &SendRequest,
        _sent: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<SendReceipt, Error> {
        self.receipt(
            email_of(&request.recipient)?,
            request.purpose.as_ref(),
            response,
        )
    }

    fn build_verify(&self, handle: &Verification, code: &OtpCode) -> Result<HttpRequest, Error> {
        let email = email_of(handle.recipient())?;
        let body = wire::VerifyBody {
            email: email.as_str(),
            otp: code.expose(),
            purpose: handle.purpose().map(Purpose::as_str),
        };
        self.post(&self.verify_url, &body)
    }

    fn parse_verify(
        &self,
        _handle: &Verification,
        response: &HttpResponse,
    ) -> Result<Verified, Error> {
        if success(response)?.verified == Some(false) {
            return Err(Error::new(
                ErrorKind::InvalidCode,
                "the provider answered ok but not verified",
            ));
        }
        Ok(Verified::new(ID))
    }
}
