//! The generic service's error codes, mapped to [`ErrorKind`]. Failures share the envelope
//! `{"success": false, "error": {"code", "message"}, "attempts_remaining"?, "retry_after"?}`.
//!
//! | code (case-insensitive) | kind |
//! |---|---|
//! | `INVALID_CODE`, `OTP_INVALID` | `invalid_code` |
//! | `OTP_EXPIRED`, `EXPIRED` | `expired` |
//! | `MAX_ATTEMPTS_EXCEEDED` | `too_many_attempts` |
//! | `VERIFICATION_NOT_FOUND`, `NOT_FOUND` | `verification_not_found` |
//! | `ALREADY_VERIFIED` | `already_verified` |
//! | `RATE_LIMITED` | `rate_limited`; on resend `cooldown` (asked too soon) |
//! | `INSUFFICIENT_BALANCE` | `quota_exceeded` |
//! | `UNAUTHORIZED` | `invalid_credentials` |
//! | `FORBIDDEN` | `forbidden` |
//! | `INVALID_RECIPIENT` | `invalid_recipient` |
//! | `VALIDATION_ERROR` | `invalid_request` (with the field names the body lists) |
//!
//! Any other code, or none, is classified by HTTP status; a 404 on a call that names a
//! `verification_id` is `verification_not_found`, a 429 on resend is `cooldown`, and a 2xx
//! verify answer with `verified: false` is `invalid_code`.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::http::HttpResponse;
use crate::parse;

/// Which call answered: some codes and statuses mean different things per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operation {
    Send,
    Verify,
    Resend,
    Status,
    /// A management read (`list`, `logs`, …), which names no single verification.
    Manage,
}

impl Operation {
    /// Whether the call names a `verification_id`, so that a bare 404 means it is unknown.
    fn names_a_verification(self) -> bool {
        matches!(
            self,
            Operation::Verify | Operation::Resend | Operation::Status
        )
    }
}

/// The kind a documented code (or alias) stands for, case-insensitively.
pub(super) fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "INVALID_CODE" | "OTP_INVALID" => ErrorKind::InvalidCode,
        "OTP_EXPIRED" | "EXPIRED" => ErrorKind::Expired,
        "MAX_ATTEMPTS_EXCEEDED" => ErrorKind::TooManyAttempts,
        "VERIFICATION_NOT_FOUND" | "NOT_FOUND" => ErrorKind::VerificationNotFound,
        "ALREADY_VERIFIED" => ErrorKind::AlreadyVerified,
        "RATE_LIMITED" => ErrorKind::RateLimited,
        "INSUFFICIENT_BALANCE" => ErrorKind::QuotaExceeded,
        "UNAUTHORIZED" => ErrorKind::InvalidCredentials,
        "FORBIDDEN" => ErrorKind::Forbidden,
        "INVALID_RECIPIENT" => ErrorKind::InvalidRecipient,
        "VALIDATION_ERROR" => ErrorKind::InvalidRequest,
        _ => return None,
    })
}

/// Classifies a failed answer (non-2xx, `success` not true, or `verified: false`): the
/// provider's code first, the HTTP status second. Keeps the raw code, the scrubbed message,
/// `retry_after` (the body's; the core adds the `Retry-After` header's when the body has none),
/// `attempts_remaining`, the request id and validation field names.
pub(super) fn classify(
    operation: Operation,
    response: &HttpResponse,
    body: &Map<String, Value>,
) -> Error {
    let inner = match body.get("error") {
        Some(Value::Object(inner)) => Some(inner),
        _ => None,
    };
    let code = error_code(body, inner);
    let kind = match code.as_deref().and_then(kind_for_code) {
        Some(ErrorKind::RateLimited) if operation == Operation::Resend => ErrorKind::Cooldown,
        Some(kind) => kind,
        None => kind_without_code(operation, response, body),
    };
    let message = inner
        .and_then(parse::message)
        .or_else(|| parse::message(body))
        .unwrap_or_else(|| {
            if response.is_success() {
                format!(
                    "HTTP {} without `success: true` and without an error code",
                    response.status
                )
            } else {
                format!("HTTP {}", response.status)
            }
        });
    let mut error = Error::from_provider(kind, &message);
    if let Some(code) = code {
        error = error.with_code(code);
    }
    if let Some(after) = either_level(body, inner, "retry_after", parse::seconds_field) {
        error = error.with_retry_after(after);
    }
    if let Some(left) = either_level(body, inner, "attempts_remaining", parse::u64_field) {
        error = error.with_attempts_remaining(u32::try_from(left).unwrap_or(u32::MAX));
    }
    if let Some(id) = parse::str_field(body, "request_id") {
        error = error.with_request_id(id);
    }
    let fields = field_names(body, inner);
    if !fields.is_empty() {
        error = error.with_fields(fields);
    }
    error
}

/// `error.code`, a top-level `error_code` or string `code`, or a string `error` that is one of
/// the documented codes.
fn error_code(body: &Map<String, Value>, inner: Option<&Map<String, Value>>) -> Option<String> {
    let code = inner
        .and_then(|inner| parse::str_field(inner, "code"))
        .or_else(|| parse::str_field(body, "error_code"))
        .or_else(|| match body.get("code") {
            Some(Value::String(code)) => Some(code.clone()),
            _ => None,
        })
        .or_else(|| match body.get("error") {
            Some(Value::String(word)) if kind_for_code(word).is_some() => Some(word.clone()),
            _ => None,
        })?;
    let code = code.trim();
    (!code.is_empty()).then(|| code.to_owned())
}

fn kind_without_code(
    operation: Operation,
    response: &HttpResponse,
    body: &Map<String, Value>,
) -> ErrorKind {
    match response.status {
        404 if operation.names_a_verification() => ErrorKind::VerificationNotFound,
        429 if operation == Operation::Resend => ErrorKind::Cooldown,
        200..=299
            if operation == Operation::Verify
                && body.get("verified") == Some(&Value::Bool(false)) =>
        {
            ErrorKind::InvalidCode
        }
        status => parse::kind_for_status(status),
    }
}

/// A field beside `error`, as the envelope puts it, or else inside it, where some answers nest it.
fn either_level<T>(
    body: &Map<String, Value>,
    inner: Option<&Map<String, Value>>,
    key: &str,
    read: fn(&Map<String, Value>, &str) -> Option<T>,
) -> Option<T> {
    read(body, key).or_else(|| read(inner?, key))
}

/// Field names a validation body lists: a top-level Laravel-style `errors` object, or under
/// `error`: `fields`, `details` or `errors`, as an object (its keys), a list of names, or a list
/// of objects naming a `field`, `name`, `param` or `path`.
fn field_names(body: &Map<String, Value>, inner: Option<&Map<String, Value>>) -> Vec<String> {
    let mut names = parse::validation_fields(body);
    let lists = ["fields", "details", "errors"]
        .into_iter()
        .filter_map(|key| inner?.get(key));
    for list in lists {
        match list {
            Value::Object(map) => names.extend(map.keys().cloned()),
            Value::Array(items) => names.extend(items.iter().filter_map(|item| {
                match item {
                    Value::String(name) => Some(name.clone()),
                    Value::Object(entry) => ["field", "name", "param", "path"]
                        .into_iter()
                        .find_map(|key| parse::str_field(entry, key)),
                    _ => None,
                }
            })),
            _ => {}
        }
    }
    // Only identifiers: a list of sentences is messages, not names.
    names.retain(|name| {
        !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))
    });
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn classify_json(operation: Operation, status: u16, body: &str) -> Error {
        let response = HttpResponse::new(status, body);
        let map = parse::object(&response).unwrap();
        classify(operation, &response, &map)
    }

    fn envelope(code: &str) -> String {
        format!(r#"{{"success":false,"error":{{"code":"{code}","message":"nope"}}}}"#)
    }

    #[test]
    fn every_documented_code_and_alias_maps_case_insensitively() {
        let table = [
            ("INVALID_CODE", ErrorKind::InvalidCode),
            ("OTP_INVALID", ErrorKind::InvalidCode),
            ("OTP_EXPIRED", ErrorKind::Expired),
            ("EXPIRED", ErrorKind::Expired),
            ("MAX_ATTEMPTS_EXCEEDED", ErrorKind::TooManyAttempts),
            ("VERIFICATION_NOT_FOUND", ErrorKind::VerificationNotFound),
            ("NOT_FOUND", ErrorKind::VerificationNotFound),
            ("ALREADY_VERIFIED", ErrorKind::AlreadyVerified),
            ("RATE_LIMITED", ErrorKind::RateLimited),
            ("INSUFFICIENT_BALANCE", ErrorKind::QuotaExceeded),
            ("UNAUTHORIZED", ErrorKind::InvalidCredentials),
            ("FORBIDDEN", ErrorKind::Forbidden),
            ("INVALID_RECIPIENT", ErrorKind::InvalidRecipient),
            ("VALIDATION_ERROR", ErrorKind::InvalidRequest),
        ];
        for (code, kind) in table {
            for spelled in [code.to_owned(), code.to_ascii_lowercase()] {
                // A 500 status proves the code, not the status, decided.
                let err = classify_json(Operation::Verify, 500, &envelope(&spelled));
                assert_eq!(err.kind(), kind, "{spelled}");
                assert_eq!(err.provider_code(), Some(spelled.as_str()));
                assert_eq!(err.message(), "nope");
            }
        }
        assert_eq!(kind_for_code(" Otp_Expired "), Some(ErrorKind::Expired));
        assert_eq!(kind_for_code("SOMETHING_NEW"), None);
    }

    #[test]
    fn rate_limited_on_resend_is_cooldown() {
        let body = r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"wait"},"retry_after":30}"#;
        let resend = classify_json(Operation::Resend, 429, body);
        assert_eq!(resend.kind(), ErrorKind::Cooldown);
        assert_eq!(resend.retry_after(), Some(Duration::from_secs(30)));
        let send = classify_json(Operation::Send, 429, body);
        assert_eq!(send.kind(), ErrorKind::RateLimited);
        let bare = classify_json(Operation::Resend, 429, "{}");
        assert_eq!(bare.kind(), ErrorKind::Cooldown);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status_and_keep_the_code() {
        let err = classify_json(Operation::Send, 503, &envelope("GATEWAY_DOWN"));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.provider_code(), Some("GATEWAY_DOWN"));
        let err = classify_json(Operation::Send, 402, r#"{"success":false}"#);
        assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(err.provider_code(), None);
    }

    #[test]
    fn a_bare_404_is_not_found_only_where_a_verification_is_named() {
        for operation in [Operation::Verify, Operation::Resend, Operation::Status] {
            let err = classify_json(operation, 404, "{}");
            assert_eq!(err.kind(), ErrorKind::VerificationNotFound, "{operation:?}");
        }
        for operation in [Operation::Send, Operation::Manage] {
            let err = classify_json(operation, 404, "{}");
            assert_eq!(err.kind(), ErrorKind::UnexpectedResponse, "{operation:?}");
        }
    }

    #[test]
    fn attempts_and_retry_after_are_read_at_either_level() {
        let top = r#"{"success":false,"verified":false,"error":{"code":"INVALID_CODE","message":"x"},"attempts_remaining":2}"#;
        assert_eq!(
            classify_json(Operation::Verify, 400, top).attempts_remaining(),
            Some(2)
        );
        let nested = r#"{"success":false,"error":{"code":"INVALID_CODE","attempts_remaining":"1","retry_after":"7"}}"#;
        let err = classify_json(Operation::Verify, 400, nested);
        assert_eq!(err.attempts_remaining(), Some(1));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn verified_false_without_a_code_is_invalid_code() {
        let err = classify_json(
            Operation::Verify,
            200,
            r#"{"success":true,"verified":false}"#,
        );
        assert_eq!(err.kind(), ErrorKind::InvalidCode);
        let err = classify_json(Operation::Send, 200, r#"{"success":false}"#);
        assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
        assert!(err.message().contains("success"), "{err}");
    }

    #[test]
    fn validation_errors_name_their_fields() {
        let listed = r#"{"success":false,"error":{"code":"VALIDATION_ERROR","message":"bad","details":[{"field":"recipient","message":"required"},{"field":"channel"}]}}"#;
        let err = classify_json(Operation::Send, 422, listed);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.fields(), ["recipient", "channel"]);
        let keyed = r#"{"success":false,"error":{"code":"VALIDATION_ERROR","fields":{"appid":["required"]}},"errors":{"appid":["required"]}}"#;
        assert_eq!(
            classify_json(Operation::Send, 400, keyed).fields(),
            ["appid"]
        );
        let sentences = r#"{"success":false,"error":{"code":"VALIDATION_ERROR","details":["recipient is not a valid number"]}}"#;
        assert!(classify_json(Operation::Send, 400, sentences)
            .fields()
            .is_empty());
    }

    #[test]
    fn codes_and_messages_are_found_in_other_places() {
        let err = classify_json(
            Operation::Send,
            400,
            r#"{"success":false,"error":"invalid_recipient","message":"bad number +5511999888777"}"#,
        );
        assert_eq!(err.kind(), ErrorKind::InvalidRecipient);
        assert!(!err.message().contains("999888"), "{err}");
        let err = classify_json(
            Operation::Send,
            400,
            r#"{"success":false,"error_code":"FORBIDDEN","error":"Sender not allowed"}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.message(), "Sender not allowed");
    }

    #[test]
    fn provider_messages_are_scrubbed() {
        let err = classify_json(
            Operation::Verify,
            400,
            r#"{"success":false,"error":{"code":"INVALID_CODE","message":"code 123456 is wrong for +5511999888777"}}"#,
        );
        assert!(!err.message().contains("123456"), "{err}");
        assert!(!err.message().contains("999888"), "{err}");
    }
}
