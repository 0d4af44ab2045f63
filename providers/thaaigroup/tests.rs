//! The Thaaigroup adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;

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
