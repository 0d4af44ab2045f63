//! The Thaaigroup adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;
use serde_json::{json, Value};

fn adapter() -> ThaaigroupAdapter {
    let url = Url::parse("https://account.thaaigroup.com/").unwrap();
    Config::new("id", "secret", "example.com")
        .adapter(url)
        .unwrap()
}

#[test]
fn send_carries_the_three_headers_and_the_documented_body() {
    let request = SendRequest::new("user@example.com".parse().unwrap()).purpose(Purpose::Signup);
    let http = adapter().build_send(&request).unwrap();
    assert_eq!(
        http.url.as_str(),
        "https://account.thaaigroup.com/api/otp/send"
    );
    assert_eq!(http.headers["x-client-id"], "id");
    assert!(http.headers["x-client-secret"].is_sensitive());
    assert_eq!(http.headers["x-client-domain"], "example.com");
    let body: Value = serde_json::from_slice(http.body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"email": "user@example.com", "purpose": "signup"})
    );
}

#[test]
fn phones_and_other_channels_are_unsupported_locally() {
    let phone = SendRequest::new("+14155550123".parse().unwrap());
    assert_eq!(
        adapter().build_send(&phone).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    let sms = SendRequest::new("a@b.co".parse().unwrap()).channel(Channel::Sms);
    assert_eq!(
        adapter().build_send(&sms).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn retry_after_reads_the_header_first_and_the_body_second() {
    let body = r#"{"ok":false,"error_code":"RESEND_COOLDOWN","retry_after":42,"message":"wait"}"#;
    let request = SendRequest::new("user@example.com".parse().unwrap());
    let sent = adapter().build_send(&request).unwrap();
    let body_only = HttpResponse::new(429, body);
    let err = adapter()
        .parse_send(&request, &sent, &body_only)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cooldown);
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(42)));
    let mut both = HttpResponse::new(429, body);
    both.headers.insert(
        "retry-after",
        reqwest::header::HeaderValue::from_static("45"),
    );
    let err = adapter().parse_send(&request, &sent, &both).unwrap_err();
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(45)));
}
