//! Small readers shared by every adapter's `parse_*` functions: JSON objects, tolerant fields,
//! status-based fallbacks. Nothing here names a provider.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::http::{seconds_from_json, HttpResponse};

/// The error kind an HTTP status implies when the provider gave no code otpkit knows.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 409 | 413 | 415 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::InvalidCredentials,
        402 => ErrorKind::QuotaExceeded,
        403 => ErrorKind::Forbidden,
        408 | 500..=599 => ErrorKind::Unavailable,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::UnexpectedResponse,
    }
}

/// The body as a JSON object. For a non-2xx answer whose body is not JSON (a proxy's HTML
/// page, an empty 503), the error is classified by status; for a 2xx it is
/// `unexpected_response`.
pub fn object(response: &HttpResponse) -> Result<Map<String, Value>, Error> {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(by_status_or_unexpected(
            response,
            "the JSON is not an object".to_owned(),
        )),
        Err(e) => {
            let described = response.unexpected_body(&e);
            Err(by_status_or_unexpected(
                response,
                described.message().to_owned(),
            ))
        }
    }
}

fn by_status_or_unexpected(response: &HttpResponse, description: String) -> Error {
    let kind = if response.is_success() {
        ErrorKind::UnexpectedResponse
    } else {
        kind_for_status(response.status)
    };
    Error::new(kind, description)
}

/// An error for a non-2xx answer with no code otpkit recognises: kind from the status, the
/// provider's message (scrubbed) when it gave one, and validation field names when present.
pub fn status_error(response: &HttpResponse, body: &Map<String, Value>) -> Error {
    let kind = kind_for_status(response.status);
    let message = message(body).unwrap_or_else(|| format!("HTTP {}", response.status));
    let error = Error::from_provider(kind, &message);
    let fields = validation_fields(body);
    if fields.is_empty() {
        error
    } else {
        Error::from_provider(validation_kind(body), &message).with_fields(fields)
    }
}

/// The kind of a Laravel-style validation body: `invalid_recipient` when every refused field is
/// the recipient (`email`, `phone`, `mobileNumber`, `recipient.to`, …) and none was refused for
/// being absent (contract §3, "same question, same kind": the provider refused the address),
/// `invalid_request` otherwise.
pub fn validation_kind(body: &Map<String, Value>) -> ErrorKind {
    const RECIPIENT_FIELDS: [&str; 8] = [
        "email",
        "phone",
        "phone_number",
        "phonenumber",
        "mobile",
        "mobilenumber",
        "recipient",
        "msisdn",
    ];
    let names_recipient = |field: &String| {
        let lower = field.to_ascii_lowercase();
        RECIPIENT_FIELDS.contains(&lower.as_str())
            || lower.ends_with("recipient.to")
            || lower
                .rsplit('.')
                .next()
                .is_some_and(|last| RECIPIENT_FIELDS.contains(&last))
    };
    let Some(Value::Object(errors)) = body.get("errors") else {
        return ErrorKind::InvalidRequest;
    };
    let missing = |messages: &Value| {
        messages
            .to_string()
            .to_ascii_lowercase()
            .contains("required")
    };
    let refused_recipient = !errors.is_empty()
        && errors
            .iter()
            .all(|(field, messages)| names_recipient(field) && !missing(messages));
    if refused_recipient {
        ErrorKind::InvalidRecipient
    } else {
        ErrorKind::InvalidRequest
    }
}

/// The field names of a Laravel-style validation body, `{"message", "errors": {field: [..]}}`.
pub fn validation_fields(body: &Map<String, Value>) -> Vec<String> {
    match body.get("errors") {
        Some(Value::Object(errors)) => errors.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The first of `message`, `error_description`, `error.message` or a string `error`.
pub fn message(body: &Map<String, Value>) -> Option<String> {
    str_field(body, "message")
        .or_else(|| str_field(body, "error_description"))
        .or_else(|| match body.get("error") {
            Some(Value::Object(inner)) => str_field(inner, "message"),
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        })
}

/// A string field, also accepting a number (some providers send ids as numbers).
pub fn str_field(body: &Map<String, Value>, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A duration in seconds (number or numeric string).
pub fn seconds_field(body: &Map<String, Value>, key: &str) -> Option<Duration> {
    body.get(key).and_then(seconds_from_json)
}

/// A whole number (number or numeric string).
pub fn u64_field(body: &Map<String, Value>, key: &str) -> Option<u64> {
    match body.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The error marker a body carries beside whatever else it says, by the conventions of the
/// five providers' error envelopes, or `None`: a non-empty `error`, `error_code`/`errorCode` or
/// `errors`; `success`, `ok` (and, on `verify`, `verified`) that is `false` or `"false"`; a
/// `status` of `failure`, `fail` or `error`; a `status` or `statusCode` that is an HTTP error
/// number (400 to 599). A body that is not a JSON object has none. The
/// exchange path refuses `Ok` from a body with a marker ([`Adapter::error_marker`]).
///
/// [`Adapter::error_marker`]: crate::Adapter::error_marker
pub fn error_marker(operation: &str, response: &HttpResponse) -> Option<&'static str> {
    let fields = marker_fields(&response.body)?;
    let get = |key: &str| {
        MARKER_KEYS
            .iter()
            .position(|k| *k == key)
            .and_then(|i| fields[i].as_ref())
    };
    let present = |key: &str| match get(key) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    };
    let is_false = |key: &str| match get(key) {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("false"),
        _ => false,
    };
    let status_fails = match get("status") {
        Some(Value::String(s)) => {
            let s = s.trim();
            ["failure", "fail", "error"]
                .iter()
                .any(|word| s.eq_ignore_ascii_case(word))
        }
        _ => false,
    };
    let error_number = |key: &str| {
        let number = match get(key) {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        number.is_some_and(|n| (400..=599).contains(&n))
    };
    ["error", "error_code", "errorCode", "errors"]
        .into_iter()
        .find(|key| present(key))
        .or_else(|| ["success", "ok"].into_iter().find(|key| is_false(key)))
        .or_else(|| (operation == "verify" && is_false("verified")).then_some("verified"))
        .or_else(|| status_fails.then_some("status"))
        .or_else(|| {
            ["status", "statusCode"]
                .into_iter()
                .find(|key| error_number(key))
        })
}

/// The keys that can carry an error marker, in the order [`marker_fields`] returns them.
const MARKER_KEYS: [&str; 9] = [
    "error",
    "error_code",
    "errorCode",
    "errors",
    "success",
    "ok",
    "verified",
    "status",
    "statusCode",
];

/// The values of [`MARKER_KEYS`] in a JSON object body, read without building the rest of the
/// body or any map (every success answer passes here, so this is on the hot path). A body with
/// a duplicate key is read whole, so the last value counts, as JSON readers take it; a body
/// that is not a JSON object gives `None`.
fn marker_fields(body: &[u8]) -> Option<[Option<Value>; 9]> {
    #[derive(serde::Deserialize)]
    struct Fields {
        error: Option<Value>,
        error_code: Option<Value>,
        #[serde(rename = "errorCode")]
        error_code_camel: Option<Value>,
        errors: Option<Value>,
        success: Option<Value>,
        ok: Option<Value>,
        verified: Option<Value>,
        status: Option<Value>,
        #[serde(rename = "statusCode")]
        status_code: Option<Value>,
    }
    // serde reads a struct from an array too (by position): only objects take the fast path.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    match serde_json::from_slice::<Fields>(body) {
        Ok(f) => Some([
            f.error,
            f.error_code,
            f.error_code_camel,
            f.errors,
            f.success,
            f.ok,
            f.verified,
            f.status,
            f.status_code,
        ]),
        Err(_) => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(mut map)) => Some(MARKER_KEYS.map(|key| map.remove(key))),
            _ => None,
        },
    }
}

/// The error for an answer the adapter read as success although it failed: a non-2xx status
/// (classified by [`kind_for_status`]) or a body with an error marker (`unexpected_response`).
/// `None` when the success was earned.
pub fn unearned_success(marker: Option<&str>, response: &HttpResponse) -> Option<Error> {
    if !response.is_success() {
        let error = Error::new(
            kind_for_status(response.status),
            format!(
                "HTTP {} is a failure, whatever the body says",
                response.status
            ),
        );
        return Some(error.with_status(response.status));
    }
    marker.map(|key| {
        Error::unexpected(format!(
            "the answer says both success and failure (`{key}`)"
        ))
    })
}

/// A whole number written as a JSON number (not a string): for figures a provider documents as
/// numbers, where a string is more likely an echo than a count.
pub fn number_field(body: &Map<String, Value>, key: &str) -> Option<u64> {
    body.get(key).and_then(Value::as_u64)
}

/// A boolean field that is exactly `true`.
pub fn is_true(body: &Map<String, Value>, key: &str) -> bool {
    body.get(key) == Some(&Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_json_error_bodies_are_classified_by_status() {
        let html = HttpResponse::new(502, "<html><body>Bad Gateway</body></html>");
        let err = object(&html).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("HTML"));
        let ok_html = HttpResponse::new(200, "<html></html>");
        assert_eq!(
            object(&ok_html).unwrap_err().kind(),
            ErrorKind::UnexpectedResponse
        );
        let array = HttpResponse::new(200, "[1,2]");
        assert_eq!(
            object(&array).unwrap_err().kind(),
            ErrorKind::UnexpectedResponse
        );
    }

    #[test]
    fn error_markers_are_found_beside_success_and_only_there() {
        let marked = [
            (
                "verify",
                r#"{"success":true,"error":{"code":"INVALID_CODE"}}"#,
                "error",
            ),
            (
                "verify",
                r#"{"success":true,"verified":"false"}"#,
                "verified",
            ),
            (
                "send",
                r#"{"ok":true,"error_code":"OTP_INVALID"}"#,
                "error_code",
            ),
            ("send", r#"{"ok":"false"}"#, "ok"),
            (
                "verify",
                r#"{"access_token":"a","error":"invalid_grant"}"#,
                "error",
            ),
            ("send", r#"{"status":"Failure"}"#, "status"),
            (
                "send",
                r#"{"status":"success","statusCode":"503"}"#,
                "statusCode",
            ),
            ("status", r#"{"errors":{"id":["bad"]}}"#, "errors"),
        ];
        for (operation, body, key) in marked {
            let response = HttpResponse::new(200, body);
            assert_eq!(error_marker(operation, &response), Some(key), "{body}");
            let err = unearned_success(Some(key), &response).unwrap();
            assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
        }
        let clean = [
            ("send", r#"{"success":true,"status":"sent","error":null}"#),
            (
                "send",
                r#"{"ok":true,"verified":false,"errors":[],"error":""}"#,
            ),
            (
                "status",
                r#"{"success":true,"status":"failed","statusCode":200}"#,
            ),
            ("verify", r#"{"access_token":"a","token_type":"Bearer"}"#),
            ("send", "<html></html>"),
            ("send", "[1]"),
        ];
        for (operation, body) in clean {
            let response = HttpResponse::new(200, body);
            assert_eq!(error_marker(operation, &response), None, "{body}");
            assert!(unearned_success(None, &response).is_none());
        }
        for status in [100, 302, 401, 500, 503] {
            let err = unearned_success(None, &HttpResponse::new(status, "{}")).unwrap();
            assert_eq!(err.kind(), kind_for_status(status), "{status}");
            assert_eq!(err.status(), Some(status));
        }
    }

    #[test]
    fn validation_bodies_name_their_fields() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"message":"The email field is required.","errors":{"email":["required"]}}"#,
        )
        .unwrap();
        let err = status_error(&HttpResponse::new(422, ""), &body);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.fields(), ["email"]);
    }

    #[test]
    fn the_documented_kind_for_status_example_holds() -> Result<(), crate::Error> {
        use crate::{parse::kind_for_status, ErrorKind};
        assert_eq!(kind_for_status(401), ErrorKind::InvalidCredentials);
        assert_eq!(kind_for_status(503), ErrorKind::Unavailable);
        assert_eq!(kind_for_status(200), ErrorKind::UnexpectedResponse);
        Ok(())
    }

    #[test]
    fn the_documented_validation_kind_example_holds() -> Result<(), crate::Error> {
        use crate::{parse::validation_kind, ErrorKind};

        let kind = |text: &str| validation_kind(&serde_json::from_str(text).unwrap());
        assert_eq!(
            kind(r#"{"errors": {"email": ["must be a valid email"]}}"#),
            ErrorKind::InvalidRecipient
        );
        assert_eq!(
            kind(r#"{"errors": {"channels.0.recipient.to": ["invalid"]}}"#),
            ErrorKind::InvalidRecipient
        );
        assert_eq!(
            kind(r#"{"errors": {"email": ["The email field is required."]}}"#),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind(r#"{"errors": {"email": ["bad"], "purpose": ["bad"]}}"#),
            ErrorKind::InvalidRequest
        );
        Ok(())
    }

    #[test]
    fn the_documented_error_marker_example_holds() -> Result<(), crate::Error> {
        use crate::http::HttpResponse;
        use crate::parse::error_marker;

        let both = HttpResponse::new(200, r#"{"success":true,"error":{"code":"INVALID_CODE"}}"#);
        assert_eq!(error_marker("verify", &both), Some("error"));
        let fine = HttpResponse::new(200, r#"{"success":true,"error":null,"status":"failed"}"#);
        assert_eq!(error_marker("status", &fine), None);
        Ok(())
    }

    #[test]
    fn markers_are_found_whatever_the_body_repeats_or_nests() {
        let marker = |body: &str| error_marker("verify", &HttpResponse::new(200, body));
        // A repeated key counts as JSON readers take it (the last), also when it is a marker.
        assert_eq!(
            marker(r#"{"ok":true,"error":null,"error":"X"}"#),
            Some("error")
        );
        assert_eq!(marker(r#"{"ok":true,"error":"X","error":null}"#), None);
        assert_eq!(marker(r#"{"data":{"error":"inner"},"ok":true}"#), None);
        assert_eq!(marker(r#"[{"error":"X"}]"#), None);
        assert_eq!(marker(r#"  {"statusCode":"503"}"#), Some("statusCode"));
        assert_eq!(
            marker(r#"{"verified":"false","big":[1,2,{"a":[3]}]}"#),
            Some("verified")
        );
    }
}
