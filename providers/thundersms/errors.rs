//! ThunderSMS's answers mapped to [`ErrorKind`].
//!
//! The check call reports its results inside HTTP 200 as a `status` word (`success`,
//! `invalid`, `expired`, `OTP already verified`, `failed`). Other failures are undocumented
//! beyond the 401 `Unauthenticated`; the platform is Laravel, so they are read as Laravel bodies
//! (`{"message": "Unauthenticated."}`, 422 `{message, errors: {field: [..]}}`) or as the
//! platform's envelope `{status: 4xx | "error", code?, message}`.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::http::HttpResponse;
use crate::parse;

/// What a failed call was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    /// Creating a verification (send): a 404 means a wrong `base_url`.
    NewVerification,
    /// An existing verification (check, search): a 404 means an unknown id.
    Existing,
}

/// What the check call's `status` word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CheckWord {
    /// `success`: the code is right.
    Verified,
    /// A documented refusal.
    Refused(ErrorKind),
    /// A word otpkit does not know.
    Unknown,
}

/// Reads the check call's `status` word, case-insensitively; `OTP already verified` is matched
/// by the words `already verified`.
pub(super) fn check_word(word: &str) -> CheckWord {
    let word = word.trim().to_ascii_lowercase();
    if word.contains("already verified") {
        return CheckWord::Refused(ErrorKind::AlreadyVerified);
    }
    match word.as_str() {
        "success" => CheckWord::Verified,
        "invalid" => CheckWord::Refused(ErrorKind::InvalidCode),
        "expired" => CheckWord::Refused(ErrorKind::Expired),
        "failed" => CheckWord::Refused(ErrorKind::VerificationNotFound),
        _ => CheckWord::Unknown,
    }
}

/// The error for a refused code: the kind, the provider's word as its code, and its message
/// (scrubbed) or a plain explanation.
pub(super) fn refusal(kind: ErrorKind, word: &str, body: &Map<String, Value>) -> Error {
    let explanation = match kind {
        ErrorKind::InvalidCode => "the code is wrong",
        ErrorKind::Expired => "the code has expired",
        ErrorKind::AlreadyVerified => "the code was already checked; each code can be checked once",
        _ => "ThunderSMS does not know this verification id",
    };
    let message = parse::message(body).unwrap_or_else(|| explanation.to_owned());
    Error::from_provider(kind, &message).with_code(word.trim())
}

/// Whether a body is the platform's error envelope: `status` is `"error"` or an HTTP error
/// number, or a Laravel `errors` object is present.
pub(super) fn is_error_envelope(body: &Map<String, Value>) -> bool {
    let word_is_error = matches!(body.get("status"), Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("error"));
    word_is_error || numeric_status(body).is_some() || !parse::validation_fields(body).is_empty()
}

/// The body's `status` (or else `code`) when it is an HTTP error number (400 to 599).
fn numeric_status(body: &Map<String, Value>) -> Option<u16> {
    ["status", "code"].into_iter().find_map(|key| {
        parse::u64_field(body, key)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (400..=599).contains(n))
    })
}

/// Classifies a failed answer: a non-2xx status, or a 2xx carrying the error envelope.
///
/// Validation bodies are `invalid_request` with their field names; 402 or balance wording is
/// `quota_exceeded`; 401 or `Unauthenticated` is `invalid_credentials`; a 404 about an existing
/// verification is `verification_not_found`; anything else goes by the HTTP status (or, inside
/// a 2xx, the body's status number; `invalid_request` when there is none). The provider's
/// `code` and (scrubbed) message are kept.
pub(super) fn classify(
    response: &HttpResponse,
    body: &Map<String, Value>,
    subject: Subject,
) -> Error {
    let status = if response.is_success() {
        numeric_status(body)
    } else {
        Some(response.status)
    };
    let message = parse::message(body);
    let error = match special_kind(status, message.as_deref(), body, subject) {
        None if !response.is_success() => parse::status_error(response, body),
        special => {
            let kind = special.unwrap_or_else(|| {
                status.map_or(ErrorKind::InvalidRequest, parse::kind_for_status)
            });
            let fallback = status.map_or_else(
                || "ThunderSMS reported an error".to_owned(),
                |s| format!("HTTP {s}"),
            );
            let fields = parse::validation_fields(body);
            let kind = match kind {
                ErrorKind::InvalidRequest if !fields.is_empty() => parse::validation_kind(body),
                kind => kind,
            };
            let error = Error::from_provider(kind, message.as_deref().unwrap_or(&fallback));
            if fields.is_empty() {
                error
            } else {
                error.with_fields(fields)
            }
        }
    };
    match provider_code(body) {
        Some(code) => error.with_code(code),
        None => error,
    }
}

/// The kinds that the status alone does not give.
fn special_kind(
    status: Option<u16>,
    message: Option<&str>,
    body: &Map<String, Value>,
    subject: Subject,
) -> Option<ErrorKind> {
    if !parse::validation_fields(body).is_empty() {
        return None;
    }
    let message = message.unwrap_or_default().to_ascii_lowercase();
    let about_balance = [
        "balance",
        "insufficient credit",
        "insufficient fund",
        "out of credit",
    ]
    .iter()
    .any(|words| message.contains(words));
    if status == Some(402) || about_balance {
        Some(ErrorKind::QuotaExceeded)
    } else if message.contains("unauthenticated") {
        Some(ErrorKind::InvalidCredentials)
    } else if status == Some(404) && subject == Subject::Existing {
        Some(ErrorKind::VerificationNotFound)
    } else {
        None
    }
}

/// The provider's own error code: its `code` (text or number), when short enough to be one.
fn provider_code(body: &Map<String, Value>) -> Option<String> {
    let code = parse::str_field(body, "code")?;
    let code = code.trim();
    (!code.is_empty() && code.len() <= 64).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn check_words_are_read_case_insensitively() {
        let refused = |kind| CheckWord::Refused(kind);
        let cases = [
            ("success", CheckWord::Verified),
            (" SUCCESS ", CheckWord::Verified),
            ("invalid", refused(ErrorKind::InvalidCode)),
            ("Expired", refused(ErrorKind::Expired)),
            ("OTP already verified", refused(ErrorKind::AlreadyVerified)),
            ("otp ALREADY VERIFIED.", refused(ErrorKind::AlreadyVerified)),
            ("failed", refused(ErrorKind::VerificationNotFound)),
        ];
        for (word, expected) in cases {
            assert_eq!(check_word(word), expected, "{word:?}");
        }
        for unknown in ["", "verified", "successful", "ok", "sent"] {
            assert_eq!(check_word(unknown), CheckWord::Unknown, "{unknown:?}");
        }
    }

    #[test]
    fn failures_are_classified_by_wording_status_and_subject() {
        let cases = [
            (
                401,
                r#"{"message":"Unauthenticated."}"#,
                ErrorKind::InvalidCredentials,
            ),
            (
                200,
                r#"{"status":"error","message":"Unauthenticated"}"#,
                ErrorKind::InvalidCredentials,
            ),
            (
                402,
                r#"{"message":"Payment required"}"#,
                ErrorKind::QuotaExceeded,
            ),
            (
                400,
                r#"{"status":400,"message":"Insufficient balance"}"#,
                ErrorKind::QuotaExceeded,
            ),
            (
                200,
                r#"{"status":"error","message":"Sender not approved"}"#,
                ErrorKind::InvalidRequest,
            ),
            (
                200,
                r#"{"status":429,"message":"Slow down"}"#,
                ErrorKind::RateLimited,
            ),
            (
                403,
                r#"{"message":"IP not whitelisted"}"#,
                ErrorKind::Forbidden,
            ),
            (503, r#"{"message":"Down"}"#, ErrorKind::Unavailable),
        ];
        for (status, json, kind) in cases {
            let error = classify(
                &HttpResponse::new(status, json),
                &body(json),
                Subject::NewVerification,
            );
            assert_eq!(error.kind(), kind, "{status} {json}");
        }
        let missing = body(r#"{"message":"Not found"}"#);
        let response = HttpResponse::new(404, "");
        assert_eq!(
            classify(&response, &missing, Subject::Existing).kind(),
            ErrorKind::VerificationNotFound
        );
        assert_eq!(
            classify(&response, &missing, Subject::NewVerification).kind(),
            ErrorKind::UnexpectedResponse
        );
    }

    #[test]
    fn validation_bodies_name_fields_and_codes_are_kept() {
        let json = r#"{"message":"The given data was invalid.","errors":{"channels.0.from":["required"],"payload.length":["between 4 and 10"]}}"#;
        let error = classify(
            &HttpResponse::new(422, json),
            &body(json),
            Subject::NewVerification,
        );
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.fields(), ["channels.0.from", "payload.length"]);
        let json =
            r#"{"status":"error","code":"E1002","message":"Balance too low for +919876543210"}"#;
        let error = classify(
            &HttpResponse::new(200, json),
            &body(json),
            Subject::NewVerification,
        );
        assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
        // A provider code is provider text: its digit runs are masked like a code would be.
        assert_eq!(error.provider_code(), Some("E****"));
        assert!(!error.message().contains("9876543210"), "{error}");
    }

    #[test]
    fn envelopes_are_told_from_answers() {
        assert!(is_error_envelope(&body(r#"{"status":"error"}"#)));
        assert!(is_error_envelope(&body(r#"{"status":401,"message":"x"}"#)));
        assert!(is_error_envelope(&body(r#"{"errors":{"id":["bad"]}}"#)));
        assert!(!is_error_envelope(&body(r#"{"id":"a","status":"sent"}"#)));
        assert!(!is_error_envelope(&body(r#"{"status":"failed"}"#)));
        assert!(!is_error_envelope(&body(r#"{"status":"OK","code":200}"#)));
    }
}
