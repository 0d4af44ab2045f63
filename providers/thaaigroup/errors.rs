//! Thaaigroup's documented error codes, mapped to [`ErrorKind`]. All failures share the
//! envelope `{ok: false, error_code, message, ...extra}`.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, QuotaInfo};
use crate::http::HttpResponse;
use crate::parse;

/// Classifies a failed answer by `error_code` first, the HTTP status second.
pub(super) fn classify(response: &HttpResponse, body: &Map<String, Value>) -> Error {
    let Some(code) = parse::str_field(body, "error_code") else {
        return parse::status_error(response, body);
    };
    let message = parse::message(body).unwrap_or_default();
    let kind = match code.to_ascii_uppercase().as_str() {
        "RESEND_COOLDOWN" => ErrorKind::Cooldown,
        "QUOTA_EXCEEDED" => ErrorKind::QuotaExceeded,
        "RATE_LIMITED" => ErrorKind::RateLimited,
        "DOMAIN_NOT_ALLOWED" => ErrorKind::Forbidden,
        "INVALID_CLIENT" => ErrorKind::InvalidCredentials,
        "OTP_INVALID" => ErrorKind::InvalidCode,
        _ => parse::kind_for_status(response.status),
    };
    let mut error = Error::from_provider(kind, &message).with_code(code);
    // The `Retry-After` header is undocumented but read first when present; the body's
    // documented `retry_after` (seconds, on RESEND_COOLDOWN) is the fallback.
    if let Some(after) = response
        .retry_after()
        .or_else(|| parse::seconds_field(body, "retry_after"))
    {
        error = error.with_retry_after(after);
    }
    if kind == ErrorKind::QuotaExceeded {
        error = error.with_quota(QuotaInfo::new(
            parse::number_field(body, "quota"),
            parse::number_field(body, "used"),
            parse::str_field(body, "reset_at"),
        ));
    }
    let fields = parse::validation_fields(body);
    if !fields.is_empty() {
        error = error.with_fields(fields);
    }
    error
}
