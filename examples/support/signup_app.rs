//! The sign-up service's HTTP app, shared by `examples/signup_service.rs` and the tests (which
//! include this file with `#[path]` and drive it over real HTTP).
//!
//! Two routes:
//!
//! - `POST /otp/send` with `{"recipient": "jane@example.com", "purpose": "signup"}` (purpose
//!   and `channel` optional) answers `200 {"handle": "s1.…", "expires_in_secs": …,
//!   "resend_after_secs": …}`. The handle is sealed ([`Verification::seal`]): the browser keeps
//!   it but can neither read the address in it nor change it.
//! - `POST /otp/verify` with `{"handle": "s1.…", "code": "123456"}` answers
//!   `200 {"verified": true}`.
//!
//! Errors are `{"error": {"kind": …, "message": …, "retry_after_secs": …}}` with a status a
//! frontend can act on ([`status_for`]): a rejected code 422, `cooldown` and `rate_limited` 429
//! with `Retry-After`, `unavailable` 503, bad input 400, a misconfigured service 500 (its
//! details go to the log, not to the browser).
#![allow(dead_code)] // each includer uses part of it

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use otpkit::{
    Channel, Error, ErrorKind, OtpProvider, ProviderConfig, Purpose, Recipient, SealKey,
    SendRequest, Verification,
};
use serde::Deserialize;
use serde_json::json;

/// What the handlers share: the provider (one, or a router) and the key that seals handles.
#[derive(Clone)]
pub struct AppState {
    provider: Arc<dyn OtpProvider>,
    key: Arc<SealKey>,
}

/// The app for a provider built from `config` (a single provider or `provider = "router"`).
/// Switching providers, or adding a fallback, is a change of configuration file only.
pub fn app(config: &ProviderConfig, key: SealKey) -> Result<axum::Router, Error> {
    let provider: Arc<dyn OtpProvider> = Arc::from(config.build()?);
    tracing::info!(provider = provider.id(), "sign-up service ready");
    Ok(app_with(provider, key))
}

/// The app around an already built provider.
pub fn app_with(provider: Arc<dyn OtpProvider>, key: SealKey) -> axum::Router {
    axum::Router::new()
        .route("/otp/send", post(send))
        .route("/otp/verify", post(verify))
        .with_state(AppState {
            provider,
            key: Arc::new(key),
        })
}

/// The seal key from `SIGNUP_SEAL_KEY` (base64, 32 bytes), or a new one when unset: handles
/// then do not survive a restart (the user asks for a new code).
pub fn seal_key_from_env() -> Result<SealKey, Error> {
    match std::env::var("SIGNUP_SEAL_KEY") {
        Ok(stored) => SealKey::from_base64(&stored),
        Err(_) => {
            tracing::warn!("SIGNUP_SEAL_KEY is not set: handles will not survive a restart");
            SealKey::generate().map(|(key, _)| key)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    recipient: String,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    handle: String,
    code: String,
}

async fn send(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body: SendBody = parse_body(&body)?;
    let recipient = Recipient::parse(&body.recipient)?;
    let mut request = SendRequest::new(recipient.clone());
    if let Some(purpose) = &body.purpose {
        request = request.purpose(Purpose::parse(purpose)?);
    }
    if let Some(channel) = &body.channel {
        request = request.channel(Channel::parse(channel)?);
    }
    let receipt = state.provider.send(&request).await?;
    let handle = &receipt.verification;
    tracing::info!(
        recipient = %recipient.masked(),
        provider = handle.provider(),
        member = handle.member(),
        "code sent"
    );
    let sealed = handle.seal(&state.key)?;
    Ok(Json(json!({
        "handle": sealed,
        "expires_in_secs": receipt.expires_in.map(|d| d.as_secs()),
        "resend_after_secs": receipt.resend_after.map(|d| d.as_secs()),
    }))
    .into_response())
}

async fn verify(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body: VerifyBody = parse_body(&body)?;
    let handle = Verification::open(&body.handle, &state.key)?;
    state.provider.verify(&handle, &body.code).await?;
    tracing::info!(
        recipient = %handle.recipient().masked(),
        member = handle.member(),
        "code verified"
    );
    // Here the application marks the address as verified and creates the account.
    Ok(Json(json!({"verified": true})).into_response())
}

/// A JSON body, or `invalid_request` (400) naming no value.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            _ => "the body is not a JSON object",
        };
        Error::new(ErrorKind::InvalidRequest, why)
    })
}

/// The HTTP status for an error kind, chosen for what the frontend can do about it.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        // The user typed a wrong, expired or used code: show it, let them retry or resend.
        k if k.is_rejection() => StatusCode::UNPROCESSABLE_ENTITY,
        // Wait `Retry-After`, then ask again.
        ErrorKind::Cooldown | ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        // The user's input: fix the address, the form or the handle.
        ErrorKind::InvalidRecipient | ErrorKind::InvalidRequest | ErrorKind::Unsupported => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::RecipientInUse => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        // The provider side: try again later.
        ErrorKind::Unavailable | ErrorKind::QuotaExceeded => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Transport | ErrorKind::UnexpectedResponse => StatusCode::BAD_GATEWAY,
        // Ours to fix: configuration or credentials.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An otpkit error as an HTTP answer.
pub struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let status = status_for(error.kind());
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            // Messages are scrubbed, but a configuration problem is not the browser's business.
            tracing::error!(%error, "sign-up request failed");
            "the service cannot do this right now".to_owned()
        } else {
            tracing::info!(kind = %error.kind(), "sign-up request refused");
            error.message().to_owned()
        };
        let retry_after = error.retry_after().map(|d| d.as_secs().max(1));
        let body = json!({"error": {
            "kind": error.kind(),
            "message": message,
            "retry_after_secs": retry_after,
        }});
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
