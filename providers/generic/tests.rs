//! The generic service adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;
use crate::error::ErrorKind;
use serde_json::json;

fn base() -> Url {
    Url::parse("https://otp.example.com/api/v1/").unwrap()
}

fn config() -> Config {
    Config::new("app-1", "key-1", "secret-1").sender("YourApp")
}

fn adapter(config: &Config) -> GenericAdapter {
    config.adapter(base()).unwrap()
}

fn body_of(request: &HttpRequest) -> Value {
    serde_json::from_slice(request.body.as_ref().unwrap()).unwrap()
}

fn phone_request() -> SendRequest {
    SendRequest::new("+5511999888777".parse().unwrap())
}

fn handle() -> Verification {
    Verification::new(ID, "+5511999888777".parse().unwrap())
        .with_channel(Some(Channel::Sms))
        .with_reference("otp_67890abcdef12345")
}

// base64("key-1:secret-1")
const PAIR: &str = "a2V5LTE6c2VjcmV0LTE=";

#[test]
fn header_auth_is_the_default() {
    let http = adapter(&config()).build_send(&phone_request()).unwrap();
    assert_eq!(http.url.as_str(), "https://otp.example.com/api/v1/otp/send");
    assert_eq!(http.headers["x-api-key"], "key-1");
    assert_eq!(http.headers["x-api-secret"], "secret-1");
    assert!(http.headers["x-api-secret"].is_sensitive());
    assert!(!http.headers.contains_key("authorization"));
}

#[test]
fn basic_auth_encodes_key_and_secret() {
    let http = adapter(&config().auth(AuthMode::Basic))
        .build_send(&phone_request())
        .unwrap();
    assert_eq!(
        http.headers["authorization"],
        format!("Basic {PAIR}").as_str()
    );
    assert!(http.headers["authorization"].is_sensitive());
    assert!(!http.headers.contains_key("x-api-key"));
}

#[test]
fn bearer_auth_uses_the_token_or_the_encoded_pair() {
    let with_token = adapter(&config().auth(AuthMode::Bearer).bearer_token("jwt-abc"))
        .build_status(&handle())
        .unwrap();
    assert_eq!(with_token.headers["authorization"], "Bearer jwt-abc");
    let derived = adapter(&config().auth(AuthMode::Bearer))
        .build_status(&handle())
        .unwrap();
    assert_eq!(
        derived.headers["authorization"],
        format!("Bearer {PAIR}").as_str()
    );
}

#[test]
fn config_values_are_checked_once() {
    let cases = [
        (config().bearer_token("t"), "bearer_token"),
        (
            config().auth(AuthMode::Basic).bearer_token("t"),
            "bearer_token",
        ),
        (
            config().auth(AuthMode::Bearer).bearer_token(" "),
            "bearer_token",
        ),
        (Config::new("", "k", "s"), "app_id"),
        (Config::new("a", "k\r\nX: y", "s"), "api_key"),
        (Config::new("a", "k", " "), "api_secret"),
        (
            Config::new("a", "k:1", "s").auth(AuthMode::Basic),
            "api_key",
        ),
        (config().sender(""), "sender"),
        (config().sender("a\nb"), "sender"),
        (config().channel(Channel::Email), "channel"),
        (config().channel(Channel::Voice), "channel"),
    ];
    for (config, key) in cases {
        let err = config.adapter(base()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}");
        assert!(err.message().contains(key), "{key}: {err}");
    }
    // A colon in the key is fine where it travels in its own header.
    assert!(Config::new("a", "k:1", "s").adapter(base()).is_ok());
}

#[test]
fn auth_words_parse_case_insensitively() {
    assert_eq!("Basic".parse::<AuthMode>().unwrap(), AuthMode::Basic);
    assert_eq!(" BEARER ".parse::<AuthMode>().unwrap(), AuthMode::Bearer);
    let err = "token".parse::<AuthMode>().unwrap_err();
    assert!(err.message().contains("auth"), "{err}");
}

#[test]
fn the_request_channel_wins_over_the_config_channel() {
    let sms = adapter(&config());
    let whatsapp = adapter(&config().channel(Channel::Whatsapp));
    assert_eq!(sms.channel_for(None).unwrap(), Channel::Sms);
    assert_eq!(whatsapp.channel_for(None).unwrap(), Channel::Whatsapp);
    assert_eq!(
        sms.channel_for(Some(Channel::Whatsapp)).unwrap(),
        Channel::Whatsapp
    );
    assert_eq!(
        whatsapp.channel_for(Some(Channel::Sms)).unwrap(),
        Channel::Sms
    );
    for other in [Channel::Email, Channel::Voice, Channel::Viber] {
        let err = whatsapp.channel_for(Some(other)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{other}");
    }
}

#[test]
fn send_body_carries_appid_recipient_channel_and_from() {
    let http = adapter(&config())
        .build_send(&phone_request().channel(Channel::Whatsapp))
        .unwrap();
    assert_eq!(
        body_of(&http),
        json!({"appid": "app-1", "recipient": "+5511999888777", "channel": "whatsapp", "from": "YourApp"})
    );
    let no_sender = adapter(&Config::new("app-1", "k", "s"))
        .build_send(&phone_request())
        .unwrap();
    assert_eq!(
        body_of(&no_sender),
        json!({"appid": "app-1", "recipient": "+5511999888777", "channel": "sms"})
    );
}

#[test]
fn the_bodies_keep_their_exact_bytes() {
    let a = adapter(&config());
    let raw = |http: &HttpRequest| String::from_utf8(http.body.clone().unwrap().to_vec()).unwrap();
    assert_eq!(
        raw(&a.build_send(&phone_request()).unwrap()),
        r#"{"appid":"app-1","channel":"sms","from":"YourApp","recipient":"+5511999888777"}"#
    );
    let code = OtpCode::parse("123456").unwrap();
    assert_eq!(
        raw(&a.build_verify(&handle(), &code).unwrap()),
        r#"{"appid":"app-1","otp_code":"123456","recipient":"+5511999888777","verification_id":"otp_67890abcdef12345"}"#
    );
}

#[test]
fn emails_are_unsupported_before_any_request() {
    let email = SendRequest::new("jane@example.com".parse().unwrap());
    let err = adapter(&config()).build_send(&email).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[test]
fn verify_resend_and_status_carry_the_verification_id() {
    let a = adapter(&config());
    let code = OtpCode::parse("123456").unwrap();
    let verify = a.build_verify(&handle(), &code).unwrap();
    assert_eq!(verify.url.path(), "/api/v1/otp/verify");
    assert_eq!(
        body_of(&verify),
        json!({"appid": "app-1", "verification_id": "otp_67890abcdef12345", "otp_code": "123456", "recipient": "+5511999888777"})
    );
    let resend = a.build_resend(&handle()).unwrap();
    assert_eq!(
        body_of(&resend),
        json!({"appid": "app-1", "verification_id": "otp_67890abcdef12345"})
    );
    let status = a.build_status(&handle()).unwrap();
    assert_eq!(
        status.url.as_str(),
        "https://otp.example.com/api/v1/otp/status?verification_id=otp_67890abcdef12345"
    );
    assert!(status.body.is_none());
    let bare = Verification::new(ID, "+5511999888777".parse().unwrap());
    assert_eq!(
        a.build_resend(&bare).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
}

#[test]
fn send_answers_fill_the_handle() {
    let a = adapter(&config());
    let request = phone_request();
    let sent = a.build_send(&request).unwrap();
    let ok = HttpResponse::new(
        200,
        r#"{"success":true,"verification_id":"otp_1","status":"sent","channel":"whatsapp","expires_in":300}"#,
    );
    let receipt = a.parse_send(&request, &sent, &ok).unwrap();
    assert_eq!(receipt.verification.reference(), Some("otp_1"));
    assert_eq!(receipt.verification.channel(), Some(Channel::Whatsapp));
    assert_eq!(receipt.expires_in, Some(Duration::from_secs(300)));
    let no_id = HttpResponse::new(200, r#"{"success":true,"status":"sent"}"#);
    assert_eq!(
        a.parse_send(&request, &sent, &no_id).unwrap_err().kind(),
        ErrorKind::UnexpectedResponse
    );
    // The schema is inferred: an id without a `success` flag is read as sent...
    let no_flag = HttpResponse::new(200, r#"{"verification_id":"otp_1"}"#);
    let receipt = a.parse_send(&request, &sent, &no_flag).unwrap();
    assert_eq!(receipt.verification.reference(), Some("otp_1"));
    // ...but not when an error rides along, nor when the id is missing.
    for body in [
        r#"{"verification_id":"otp_1","error":{"code":"RATE_LIMITED"}}"#,
        r#"{"status":"sent"}"#,
    ] {
        let answer = HttpResponse::new(200, body);
        assert!(a.parse_send(&request, &sent, &answer).is_err(), "{body}");
    }
}

#[test]
fn verified_false_is_an_error_even_with_success_true() {
    let a = adapter(&config());
    let answer = HttpResponse::new(200, r#"{"success":true,"verified":false}"#);
    let err = a.parse_verify(&handle(), &answer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    let ok = HttpResponse::new(200, r#"{"success":true,"verified":true}"#);
    assert!(a.parse_verify(&handle(), &ok).is_ok());
}

#[test]
fn expiry_reads_expires_in_then_expires_at() {
    let now = UNIX_EPOCH + Duration::from_secs(1_769_904_000); // 2026-02-01T00:00:00Z
    let read = |text: &str| expiry(&serde_json::from_str(text).unwrap(), now);
    assert_eq!(
        read(r#"{"expires_in": 300}"#),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        read(r#"{"expires_in": "120", "expires_at": 1769904300}"#),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        read(r#"{"expires_at": 1769904300}"#),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        read(r#"{"expires_at": 1769904300000}"#),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        read(r#"{"expires_at": "2026-02-01T00:05:00Z"}"#),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        read(r#"{"expires_at": "2026-02-01T03:05:00.250+03:00"}"#),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        read(r#"{"expires_at": "2026-01-31T23:00:00Z"}"#),
        Some(Duration::ZERO)
    );
    for junk in [
        r#"{}"#,
        r#"{"expires_at": "soon"}"#,
        r#"{"expires_at": "2026-13-01T00:00:00Z"}"#,
        r#"{"expires_at": "2026-02-01T00:05:00"}"#,
        r#"{"expires_at": "2026-02-01T00:05:00+0300"}"#,
        r#"{"expires_at": -5}"#,
        r#"{"expires_at": true}"#,
    ] {
        assert_eq!(read(junk), None, "{junk}");
    }
}

#[test]
fn rfc3339_matches_known_instants() {
    assert_eq!(rfc3339_to_unix("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(rfc3339_to_unix("2000-02-29T12:00:00Z"), Some(951_825_600));
    assert_eq!(rfc3339_to_unix("1969-12-31T23:59:59Z"), None);
    assert_eq!(
        rfc3339_to_unix("2026-02-01T00:00:00-00:30"),
        Some(1_769_905_800)
    );
}

#[test]
fn debug_never_shows_credentials() {
    let a = adapter(&config().auth(AuthMode::Bearer).bearer_token("jwt-abc"));
    let text = format!("{a:?} {:?}", config());
    for secret in ["app-1", "key-1", "secret-1", "jwt-abc"] {
        assert!(!text.contains(secret), "{text}");
    }
}
