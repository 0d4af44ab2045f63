//! Tencent CIAM's documented error codes, mapped to [`ErrorKind`]. Every failure is
//! `{error, error_description?}`, mostly with HTTP 400 (the SMS rate limit included); the
//! `invalid_grant` cases of the token exchange differ only in `error_description`.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::http::HttpResponse;
use crate::parse;

/// `error` codes of `/otp/send`, `/oauth2/token` and `/reset_user_password`, with the kind and
/// the message used when the provider sent no `error_description`.
const CODES: &[(&str, ErrorKind, &str)] = &[
    (
        "malformed_phone_number",
        ErrorKind::InvalidRecipient,
        "the phone number is not an 11-digit mainland China mobile number",
    ),
    (
        "malformed_email",
        ErrorKind::InvalidRecipient,
        "the email address is malformed",
    ),
    (
        "invalid_email",
        ErrorKind::InvalidRecipient,
        "the email address does not exist or is on the blocklist",
    ),
    (
        "insufficient_sms_quota",
        ErrorKind::QuotaExceeded,
        "the SMS quota is used up; configure an SMS template in the console",
    ),
    (
        "insufficient_email_quota",
        ErrorKind::QuotaExceeded,
        "the email quota is used up; configure an email template in the console",
    ),
    (
        "email_is_used",
        ErrorKind::RecipientInUse,
        "the email address is already registered",
    ),
    (
        "phone_number_is_used",
        ErrorKind::RecipientInUse,
        "the phone number is already registered",
    ),
    (
        "sms_rate_limit_exceeded",
        ErrorKind::Cooldown,
        "too many SMS to this phone number",
    ),
    (
        "temporarily_unavailable",
        ErrorKind::Unavailable,
        "the code could not be sent; try again later",
    ),
    (
        "invalid_client",
        ErrorKind::InvalidCredentials,
        "client_id or client_secret is wrong",
    ),
    (
        "invalid_request",
        ErrorKind::InvalidRequest,
        "the request was refused",
    ),
    (
        "invalid_auth_source",
        ErrorKind::InvalidRequest,
        "the auth source is not associated with the application",
    ),
    (
        "recurrent_password",
        ErrorKind::InvalidRequest,
        "the new password was used before",
    ),
    (
        "invalid_new_password",
        ErrorKind::InvalidRequest,
        "the new password does not meet the password policy",
    ),
    (
        "user_not_found",
        ErrorKind::InvalidRecipient,
        "no user has this email address or phone number",
    ),
    (
        "abnormal_user_status",
        ErrorKind::Forbidden,
        "the user is locked or frozen",
    ),
    (
        "bad_email_otp_token",
        ErrorKind::VerificationNotFound,
        "the otp_token is unknown, expired or was sent to another address",
    ),
    (
        "bad_phone_number_otp_token",
        ErrorKind::VerificationNotFound,
        "the otp_token is unknown, expired or was sent to another number",
    ),
    (
        "bad_email_otp",
        ErrorKind::InvalidCode,
        "the code is wrong or expired",
    ),
    (
        "bad_phone_number_otp",
        ErrorKind::InvalidCode,
        "the code is wrong or expired",
    ),
];

/// `invalid_grant` descriptions (lower case, matched as substrings, first match wins: the
/// `otp_token` case must come before the `OTP` one, whose text it contains).
const GRANT_DESCRIPTIONS: &[(&str, ErrorKind)] = &[
    (
        "unknown or expired otp_token",
        ErrorKind::VerificationNotFound,
    ),
    ("unknown or expired otp", ErrorKind::InvalidCode),
    ("user not found", ErrorKind::InvalidRecipient),
    ("abnormal user status", ErrorKind::Forbidden),
];

/// The kind for an `error` code and its description; `None` for a code otpkit does not know.
pub(super) fn kind_for(code: &str, description: Option<&str>) -> Option<ErrorKind> {
    if code.eq_ignore_ascii_case("invalid_grant") {
        let description = description?.to_ascii_lowercase();
        return GRANT_DESCRIPTIONS
            .iter()
            .find(|(text, _)| description.contains(text))
            .map(|(_, kind)| *kind);
    }
    known(code).map(|(_, kind, _)| *kind)
}

/// The table row of a code otpkit knows.
fn known(code: &str) -> Option<&'static (&'static str, ErrorKind, &'static str)> {
    CODES
        .iter()
        .find(|(known, _, _)| known.eq_ignore_ascii_case(code))
}

/// Classifies a failed answer by `error` (and, for `invalid_grant`, `error_description`)
/// first, the HTTP status second. The code stays on the error; the description is its message.
pub(super) fn classify(response: &HttpResponse, body: &Map<String, Value>) -> Error {
    let Some(code) = parse::str_field(body, "error") else {
        return parse::status_error(response, body);
    };
    let description =
        parse::str_field(body, "error_description").filter(|text| !text.trim().is_empty());
    let kind = kind_for(&code, description.as_deref())
        .unwrap_or_else(|| parse::kind_for_status(response.status));
    let message = description.unwrap_or_else(|| {
        known(&code).map_or_else(|| code.clone(), |(_, _, text)| (*text).to_owned())
    });
    let message = if code.eq_ignore_ascii_case("invalid_auth_source") {
        format!("check `auth_source_id`, the auth source must be associated with this application: {message}")
    } else {
        message
    };
    let error = Error::from_provider(kind, &message).with_code(code);
    if kind == ErrorKind::Cooldown {
        // One SMS per number per 30 s (the free quota's documented limit), unless the answer
        // names another wait.
        error.with_retry_after(response.retry_after().unwrap_or(SMS_COOLDOWN))
    } else {
        error
    }
}

/// Tencent's documented least time between two SMS to one number.
const SMS_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify_json(status: u16, body: Value) -> Error {
        let response = HttpResponse::new(status, body.to_string());
        let Value::Object(map) = body else {
            panic!("test bodies are objects")
        };
        classify(&response, &map)
    }

    #[test]
    fn every_documented_code_has_its_kind() {
        let cases = [
            ("malformed_phone_number", 400, ErrorKind::InvalidRecipient),
            ("malformed_email", 400, ErrorKind::InvalidRecipient),
            ("invalid_email", 400, ErrorKind::InvalidRecipient),
            ("insufficient_sms_quota", 400, ErrorKind::QuotaExceeded),
            ("insufficient_email_quota", 400, ErrorKind::QuotaExceeded),
            ("email_is_used", 400, ErrorKind::RecipientInUse),
            ("phone_number_is_used", 400, ErrorKind::RecipientInUse),
            ("sms_rate_limit_exceeded", 400, ErrorKind::Cooldown),
            ("temporarily_unavailable", 503, ErrorKind::Unavailable),
            ("invalid_client", 401, ErrorKind::InvalidCredentials),
            ("invalid_request", 400, ErrorKind::InvalidRequest),
            ("invalid_auth_source", 400, ErrorKind::InvalidRequest),
            ("recurrent_password", 400, ErrorKind::InvalidRequest),
            ("invalid_new_password", 400, ErrorKind::InvalidRequest),
            ("user_not_found", 400, ErrorKind::InvalidRecipient),
            ("abnormal_user_status", 400, ErrorKind::Forbidden),
            ("bad_email_otp_token", 400, ErrorKind::VerificationNotFound),
            ("bad_phone_number_otp", 400, ErrorKind::InvalidCode),
        ];
        for (code, status, kind) in cases {
            let err = classify_json(status, json!({ "error": code }));
            assert_eq!(err.kind(), kind, "{code}");
            assert_eq!(err.provider_code(), Some(code));
            assert!(!err.message().is_empty(), "{code}");
        }
    }

    #[test]
    fn invalid_grant_is_told_apart_by_its_description() {
        let cases = [
            (
                "Unknown or expired otp_token",
                ErrorKind::VerificationNotFound,
            ),
            ("Unknown or expired OTP", ErrorKind::InvalidCode),
            ("unknown or expired otp.", ErrorKind::InvalidCode),
            ("User not found", ErrorKind::InvalidRecipient),
            ("Abnormal user status", ErrorKind::Forbidden),
            ("Something else", ErrorKind::InvalidRequest),
        ];
        for (description, kind) in cases {
            let err = classify_json(
                400,
                json!({"error": "invalid_grant", "error_description": description}),
            );
            assert_eq!(err.kind(), kind, "{description}");
            assert_eq!(err.provider_code(), Some("invalid_grant"));
            assert_eq!(err.message(), description);
        }
        let bare = classify_json(400, json!({"error": "invalid_grant"}));
        assert_eq!(bare.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn the_mismatch_is_invalid_request_and_the_auth_source_is_named() {
        let err = classify_json(
            400,
            json!({"error": "invalid_request", "error_description": "Mismatched OTP token and OTP sending parameters"}),
        );
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.message().contains("Mismatched"));
        let err = classify_json(
            400,
            json!({"error": "invalid_auth_source", "error_description": "Auth source and application not associated"}),
        );
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.message().contains("auth_source_id"), "{err}");
        assert!(err.message().contains("not associated"), "{err}");
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status_and_keep_the_code() {
        let err = classify_json(429, json!({"error": "brand_new_code"}));
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.provider_code(), Some("brand_new_code"));
        let err = classify_json(500, json!({"message": "boom"}));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.provider_code(), None);
    }

    #[test]
    fn descriptions_are_scrubbed() {
        let err = classify_json(
            400,
            json!({"error": "invalid_email", "error_description": "jane.doe@example.com is blocked"}),
        );
        assert!(!err.message().contains("jane.doe"), "{err}");
    }
}
