//! HyperVerge's failures mapped to [`ErrorKind`].
//!
//! HyperVerge has no error codes of its own. Every answer carries `status` (`"success"` or
//! `"failure"`) and a `statusCode` that echoes an HTTP status, and a failure says what went
//! wrong in free text: `error.message` (`{"error": {"message": "invalid otp"}}`), a string
//! `error` (`"Internal Server Error"`) or a top-level `message` (`"Missing/Invalid
//! credentials"`). Code rejections ("invalid otp", "OTP has expired", "otp already verifed")
//! come back as HTTP 200, so the kind is read from that text first and from the status second.
//!
//! `provider_code` stays empty: `statusCode` is only an HTTP status (already on the error),
//! and the vendor's free text is the error's message. `metaData.requestId` becomes the error's
//! request id.

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::http::HttpResponse;
use crate::parse;

/// Which call answered: code-related messages only mean that on calls about an existing
/// verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// `sendOTPEmail` or `verifyMobileSendOtp`.
    Send,
    /// `retryOTPEmail` or `resendOtp`.
    Resend,
    /// `verifyOTPEmail` or `verifyMobileOtp`.
    Verify,
}

/// Classifies an answer whose body `status` is not `"success"`.
///
/// 1. HTTP 2xx (the vendor's business failures): a `statusCode` of 400 to 599 in the body is
///    taken as the real status; otherwise, on resend and verify, the message is matched by
///    [`message_kind`]; a failure envelope with a message otpkit does not know is
///    `invalid_request` (the provider understood the call and refused it; the message is kept),
///    and a 2xx body with no `status` at all is `unexpected_response` (not HyperVerge's
///    envelope).
/// 2. Any other HTTP status: the kind follows the status (400 `invalid_request`, 401
///    `invalid_credentials`, 402 `quota_exceeded`, 403 `forbidden`, 429 `rate_limited`, 5xx
///    `unavailable`), whatever the message says ("Missing/Invalid credentials" must not read as
///    a wrong code), with three exceptions: a 429 on a resend is `cooldown` (HyperVerge
///    documents no cooldown; the wait comes from `Retry-After` or the core's default), a 400 or
///    404 whose message names an unknown reqId or number on resend or verify is
///    `verification_not_found`, and a message about a used-up quota is `quota_exceeded`.
pub(super) fn classify(call: Call, response: &HttpResponse, body: &Map<String, Value>) -> Error {
    let error = if response.is_success() {
        business_failure(call, body)
    } else {
        status_failure(call, response, body)
    };
    with_request_id(error, body)
}

/// A non-2xx answer: by status, except where the status and message together say more (see
/// [`classify`]).
fn status_failure(call: Call, response: &HttpResponse, body: &Map<String, Value>) -> Error {
    let error = parse::status_error(response, body);
    let message = parse::message(body);
    let named = message.as_deref().and_then(message_kind);
    let kind = match (response.status, call, named) {
        // HyperVerge documents no cooldown: a 429 on a resend is "resend too soon".
        (429, Call::Resend, _) => ErrorKind::Cooldown,
        (400 | 404 | 422, Call::Resend | Call::Verify, Some(ErrorKind::VerificationNotFound)) => {
            ErrorKind::VerificationNotFound
        }
        (_, _, Some(ErrorKind::QuotaExceeded)) => ErrorKind::QuotaExceeded,
        _ => return error,
    };
    Error::from_provider(kind, message.as_deref().unwrap_or("")).with_status(response.status)
}

/// `error` with the answer's `metaData.requestId`, when it has one.
pub(super) fn with_request_id(error: Error, body: &Map<String, Value>) -> Error {
    match request_id(body) {
        Some(id) => error.with_request_id(id),
        None => error,
    }
}

fn business_failure(call: Call, body: &Map<String, Value>) -> Error {
    if parse::str_field(body, "status").is_none() {
        return Error::unexpected("the answer has no `status`: it is not HyperVerge's envelope");
    }
    let message = parse::message(body);
    let reported_status = parse::u64_field(body, "statusCode")
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (400..=599).contains(code));
    let kind = match (reported_status, call, message.as_deref()) {
        (_, _, Some(text)) if message_kind(text) == Some(ErrorKind::QuotaExceeded) => {
            ErrorKind::QuotaExceeded
        }
        (Some(code), _, _) => parse::kind_for_status(code),
        (None, Call::Resend | Call::Verify, Some(text)) => {
            message_kind(text).unwrap_or(ErrorKind::InvalidRequest)
        }
        _ => ErrorKind::InvalidRequest,
    };
    let text = message.unwrap_or_else(|| "the answer's status is not success".to_owned());
    let error = Error::from_provider(kind, &text);
    match reported_status {
        Some(code) => error.with_status(code),
        None => error,
    }
}

/// The kind a failure message names, matched case-insensitively: the vendor's three documented
/// texts, their likely variants, and the wording of MSG91's OTP API, which HyperVerge's OTP
/// calls mirror ([INF]). `None` for anything else.
///
/// "invalid" alone is not enough: the word `otp` or `code` must stand in the message too, so
/// "Invalid widgetId" or "invalid otpLength" are not read as a wrong code.
pub(super) fn message_kind(message: &str) -> Option<ErrorKind> {
    let text = message.to_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let word = |w: &str| words.contains(&w);
    let has = |needle: &str| text.contains(needle);
    if has("already verif") {
        // "otp already verifed" (the vendor's spelling), "Mobile no. already verified".
        Some(ErrorKind::AlreadyVerified)
    } else if has("expired") {
        Some(ErrorKind::Expired)
    } else if has("too many") || has("max limit") || has("attempts exceeded") {
        Some(ErrorKind::TooManyAttempts)
    } else if has("not found")
        || has("no request")
        || ((word("reqid") || word("mobilenumber") || has("request id"))
            && (word("invalid") || word("unknown")))
    {
        // "Invalid reqId" (an unknown reqId), "Invalid mobileNumber" (no code for that number).
        Some(ErrorKind::VerificationNotFound)
    } else if has("quota") || has("insufficient balance") || has("insufficient credit") {
        Some(ErrorKind::QuotaExceeded)
    } else if (word("otp") || word("code"))
        && (word("invalid")
            || word("incorrect")
            || word("wrong")
            || word("mismatch")
            || has("not match"))
    {
        Some(ErrorKind::InvalidCode)
    } else {
        None
    }
}

/// `metaData.requestId`, HyperVerge's id for the call (for support tickets).
pub(super) fn request_id(body: &Map<String, Value>) -> Option<String> {
    match body.get("metaData") {
        Some(Value::Object(meta)) => parse::str_field(meta, "requestId"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn messages_name_their_kinds() {
        let table = [
            ("otp already verifed", Some(ErrorKind::AlreadyVerified)),
            ("OTP already verified", Some(ErrorKind::AlreadyVerified)),
            (
                "Mobile no. already verified",
                Some(ErrorKind::AlreadyVerified),
            ),
            ("OTP has expired", Some(ErrorKind::Expired)),
            ("otp expired", Some(ErrorKind::Expired)),
            ("invalid otp", Some(ErrorKind::InvalidCode)),
            ("Invalid OTP", Some(ErrorKind::InvalidCode)),
            ("OTP is invalid", Some(ErrorKind::InvalidCode)),
            ("OTP not match", Some(ErrorKind::InvalidCode)),
            ("incorrect code", Some(ErrorKind::InvalidCode)),
            (
                "Max limit reached for this otp verification",
                Some(ErrorKind::TooManyAttempts),
            ),
            ("No request found", Some(ErrorKind::VerificationNotFound)),
            ("reqId not found", Some(ErrorKind::VerificationNotFound)),
            ("Invalid reqId", Some(ErrorKind::VerificationNotFound)),
            (
                "Invalid mobileNumber",
                Some(ErrorKind::VerificationNotFound),
            ),
            ("Quota exceeded", Some(ErrorKind::QuotaExceeded)),
            ("Invalid widgetId", None),
            ("invalid otpLength", None),
            ("Missing/Invalid credentials", None),
            ("Internal Server Error", None),
            ("", None),
        ];
        for (message, kind) in table {
            assert_eq!(message_kind(message), kind, "{message:?}");
        }
    }

    #[test]
    fn http_200_failures_are_read_from_the_message_on_verify_and_resend_only() {
        let ok = HttpResponse::new(200, "");
        let invalid = body(json!({
            "status": "failure", "statusCode": 200,
            "error": {"message": "invalid otp"},
            "metaData": {"requestId": "req-1"}
        }));
        let err = classify(Call::Verify, &ok, &invalid);
        assert_eq!(err.kind(), ErrorKind::InvalidCode);
        assert_eq!(err.request_id(), Some("req-1"));
        assert_eq!(err.message(), "invalid otp");
        assert_eq!(err.provider_code(), None);
        // On send there is no code to be wrong: the same text is a refused request.
        assert_eq!(
            classify(Call::Send, &ok, &invalid).kind(),
            ErrorKind::InvalidRequest
        );
        let expired = body(json!({"status": "failure", "error": {"message": "OTP has expired"}}));
        assert_eq!(
            classify(Call::Resend, &ok, &expired).kind(),
            ErrorKind::Expired
        );
    }

    #[test]
    fn unknown_and_shapeless_200_failures() {
        let ok = HttpResponse::new(200, "");
        let unknown = body(json!({"status": "failure", "error": {"message": "Something odd"}}));
        let err = classify(Call::Verify, &ok, &unknown);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.message(), "Something odd");
        let no_message = body(json!({"status": "failure"}));
        assert_eq!(
            classify(Call::Verify, &ok, &no_message).kind(),
            ErrorKind::InvalidRequest
        );
        for shapeless in [json!({"result": "fine"}), json!({"status": null})] {
            assert_eq!(
                classify(Call::Verify, &ok, &body(shapeless)).kind(),
                ErrorKind::UnexpectedResponse
            );
        }
    }

    #[test]
    fn a_status_code_in_a_200_body_decides_over_the_message() {
        let ok = HttpResponse::new(200, "");
        let internal = body(json!({
            "status": "failure", "statusCode": 500, "error": "Internal Server Error"
        }));
        let err = classify(Call::Verify, &ok, &internal);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.status(), Some(500));
        let denied = body(json!({
            "status": "failure", "statusCode": "401", "message": "Missing/Invalid credentials"
        }));
        assert_eq!(
            classify(Call::Verify, &ok, &denied).kind(),
            ErrorKind::InvalidCredentials
        );
    }

    #[test]
    fn other_statuses_follow_the_status_not_the_message() {
        let cases = [
            (400, ErrorKind::InvalidRequest),
            (401, ErrorKind::InvalidCredentials),
            (403, ErrorKind::Forbidden),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
        ];
        // Even a message that would read as a code rejection on HTTP 200.
        let failure = body(json!({
            "status": "failure", "message": "invalid otp or credentials",
            "metaData": {"requestId": "req-9"}
        }));
        for (status, kind) in cases {
            let err = classify(Call::Verify, &HttpResponse::new(status, ""), &failure);
            assert_eq!(err.kind(), kind, "{status}");
            assert_eq!(err.request_id(), Some("req-9"), "{status}");
        }
    }
}
