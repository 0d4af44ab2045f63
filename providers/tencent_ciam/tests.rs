//! The Tencent CIAM adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;
use crate::{CommonConfig, HttpOptions, ProviderConfig};
use serde_json::json;

fn adapter_with(config: Config) -> TencentCiamAdapter {
    config
        .adapter(Url::parse("https://example.portal.tencentciam.com/").unwrap())
        .unwrap()
}

fn adapter() -> TencentCiamAdapter {
    adapter_with(Config::new("id", "secret").auth_source_id("otp-source"))
}

fn body_of(http: &HttpRequest) -> Value {
    serde_json::from_slice(http.body.as_ref().unwrap()).unwrap()
}

fn handle(recipient: &str, purpose: Purpose) -> Verification {
    let recipient: Recipient = recipient.parse().unwrap();
    Verification::new(ID, recipient.clone())
        .with_purpose(Some(purpose))
        .with_channel(Some(channel_of(&recipient)))
        .with_reference("OTP_TOKEN")
}

/// A handle as [`client`]'s send would have issued it (stamped with its key).
fn issued(recipient: &str, purpose: Purpose) -> Verification {
    let secrets = Config::new("id", "secret").secrets();
    crate::handle_key::HandleKey::from_credentials(ID, &secrets).stamp(handle(recipient, purpose))
}

fn code() -> OtpCode {
    OtpCode::parse("123456").unwrap()
}

/// Checks that each `(status, body)` answer fails `parse` with its kind.
fn assert_error_kinds<T: std::fmt::Debug>(
    cases: &[(u16, &str, ErrorKind)],
    parse: impl Fn(&HttpResponse) -> Result<T, Error>,
) {
    for (status, body, kind) in cases {
        let err = parse(&HttpResponse::new(*status, *body)).unwrap_err();
        assert_eq!(err.kind(), *kind, "{status} {body}");
    }
}

#[test]
fn the_basic_header_matches_the_vendor_sample() {
    assert_eq!(
        basic_authorization("TENANT_CLIENT_ID", "TENANT_CLIENT_SECRET").expose(),
        "Basic VEVOQU5UX0NMSUVOVF9JRDpURU5BTlRfQ0xJRU5UX1NFQ1JFVA=="
    );
    // Reserved characters are percent-encoded before base64, form style (space as `+`).
    let expected = format!("Basic {}", STANDARD.encode("id%3A1:p%40ss+w%2Frd*-._"));
    assert_eq!(
        basic_authorization("id:1", "p@ss w/rd*-._").expose(),
        expected
    );
}

#[test]
fn mainland_mobiles_lose_their_plus_86_and_others_are_refused() {
    for good in ["+8613612345678", "+86 136 1234 5678"] {
        let phone = Phone::parse(good).unwrap();
        assert_eq!(mainland_number(&phone).unwrap(), "13612345678", "{good}");
    }
    // Another country cannot be reached; a +86 number that is no mobile is malformed.
    for (bad, kind) in [
        ("+14155550123", ErrorKind::Unsupported),
        ("+85261234567", ErrorKind::Unsupported),
        ("+886912345678", ErrorKind::Unsupported),
        ("+861012345678", ErrorKind::InvalidRecipient),
        ("+8623612345678", ErrorKind::InvalidRecipient),
        ("+86136123456789", ErrorKind::InvalidRecipient),
    ] {
        let phone = Phone::parse(bad).unwrap();
        let err = mainland_number(&phone).unwrap_err();
        assert_eq!(err.kind(), kind, "{bad}");
    }
}

#[test]
fn send_carries_basic_auth_usage_number_and_auth_source_for_login() {
    let request = SendRequest::new("+8613612345678".parse().unwrap());
    let http = adapter().build_send(&request).unwrap();
    assert_eq!(
        http.url.as_str(),
        "https://example.portal.tencentciam.com/otp/send"
    );
    let authorization = &http.headers["authorization"];
    assert!(authorization.is_sensitive());
    assert_eq!(authorization, basic_authorization("id", "secret").expose());
    assert_eq!(
        body_of(&http),
        json!({"usage": "login", "phone_number": "13612345678", "auth_source_id": "otp-source"})
    );
}

#[test]
fn other_usages_omit_the_auth_source() {
    for purpose in [
        Purpose::Signup,
        Purpose::UpdateUserinfo,
        Purpose::ResetPassword,
    ] {
        let request =
            SendRequest::new("user@example.com".parse().unwrap()).purpose(purpose.clone());
        let http = adapter().build_send(&request).unwrap();
        assert_eq!(
            body_of(&http),
            json!({"usage": purpose.as_str(), "email": "user@example.com"})
        );
    }
    // Without an auth source, those still work and login is a config error.
    let bare = adapter_with(Config::new("id", "secret"));
    let signup = SendRequest::new("user@example.com".parse().unwrap()).purpose(Purpose::Signup);
    assert!(bare.build_send(&signup).is_ok());
    let login = SendRequest::new("user@example.com".parse().unwrap());
    let err = bare.build_send(&login).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("auth_source_id"), "{err}");
}

#[test]
fn purposes_and_channels_tencent_cannot_serve_are_unsupported() {
    let email: Recipient = "user@example.com".parse().unwrap();
    let phone: Recipient = "+8613612345678".parse().unwrap();
    let cases = [
        SendRequest::new(email.clone()).purpose(Purpose::parse("checkout").unwrap()),
        SendRequest::new(email.clone()).channel(Channel::Sms),
        SendRequest::new(phone.clone()).channel(Channel::Email),
        SendRequest::new(phone.clone()).channel(Channel::Whatsapp),
        SendRequest::new(email).channel(Channel::Voice),
    ];
    for request in cases {
        let err = adapter().build_send(&request).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{request:?}");
    }
    let sms = SendRequest::new(phone).channel(Channel::Sms);
    assert!(adapter().build_send(&sms).is_ok());
}

#[test]
fn codes_sent_without_an_auth_source_live_sixty_seconds() {
    let response = HttpResponse::new(200, r#"{"otp_token":"MOCK_OTP_TOKEN"}"#);
    for purpose in [
        Purpose::Signup,
        Purpose::UpdateUserinfo,
        Purpose::ResetPassword,
    ] {
        let request = SendRequest::new("user@example.com".parse().unwrap()).purpose(purpose);
        let sent = adapter().build_send(&request).unwrap();
        let receipt = adapter().parse_send(&request, &sent, &response).unwrap();
        assert_eq!(
            receipt.expires_in,
            Some(DEFAULT_CODE_LIFETIME),
            "{request:?}"
        );
    }
    let login = SendRequest::new("user@example.com".parse().unwrap()).purpose(Purpose::Login);
    let sent = adapter().build_send(&login).unwrap();
    let receipt = adapter().parse_send(&login, &sent, &response).unwrap();
    assert_eq!(receipt.expires_in, Some(OTP_TOKEN_LIFETIME));
}

#[test]
fn the_send_answer_becomes_a_handle_holding_the_otp_token() {
    let request = SendRequest::new("user@example.com".parse().unwrap());
    let sent = adapter().build_send(&request).unwrap();
    let response = HttpResponse::new(200, r#"{"otp_token":"MOCK_OTP_TOKEN"}"#);
    let receipt = adapter().parse_send(&request, &sent, &response).unwrap();
    let handle = &receipt.verification;
    assert_eq!(handle.reference(), Some("MOCK_OTP_TOKEN"));
    assert_eq!(otp_token(handle), Some("MOCK_OTP_TOKEN"));
    assert_eq!(handle.purpose(), Some(&Purpose::Login));
    assert_eq!(handle.channel(), Some(Channel::Email));
    assert_eq!(receipt.expires_in, Some(OTP_TOKEN_LIFETIME));
    assert!(handle.expires_at().is_some());
    let null_error = HttpResponse::new(200, r#"{"otp_token":"T2","error":null}"#);
    let receipt = adapter().parse_send(&request, &sent, &null_error).unwrap();
    assert_eq!(receipt.verification.reference(), Some("T2"));

    let cases = [
        (200, "{}", ErrorKind::UnexpectedResponse),
        (200, r#"{"otp_token":""}"#, ErrorKind::UnexpectedResponse),
        (
            200,
            r#"{"error":"malformed_email"}"#,
            ErrorKind::InvalidRecipient,
        ),
        (
            400,
            r#"{"error":"sms_rate_limit_exceeded"}"#,
            ErrorKind::Cooldown,
        ),
    ];
    assert_error_kinds(&cases, |response| {
        adapter().parse_send(&request, &sent, response)
    });
}

#[test]
fn verify_is_the_oauth_exchange_with_the_grant_type_of_the_channel() {
    let sms = adapter()
        .build_verify(&handle("+8613612345678", Purpose::Login), &code())
        .unwrap();
    assert_eq!(
        sms.url.as_str(),
        "https://example.portal.tencentciam.com/oauth2/token"
    );
    assert!(sms.headers.get("authorization").is_none());
    assert_eq!(
        body_of(&sms),
        json!({
            "grant_type": "http://tencentciam.com/oauth2/grant-type/otp/sms",
            "client_id": "id",
            "client_secret": "secret",
            "auth_source_id": "otp-source",
            "phone_number": "13612345678",
            "otp_token": "OTP_TOKEN",
            "otp": "123456"
        })
    );
    let with_signup = adapter_with(
        Config::new("id", "secret")
            .auth_source_id("otp-source")
            .auto_signup(false),
    );
    let email = with_signup
        .build_verify(&handle("user@example.com", Purpose::Login), &code())
        .unwrap();
    let body = body_of(&email);
    assert_eq!(
        body["grant_type"],
        "http://tencentciam.com/oauth2/grant-type/otp/email"
    );
    assert_eq!(body["email"], "user@example.com");
    assert_eq!(body["auto_signup"], json!(false));
}

#[test]
fn the_bodies_keep_their_exact_bytes() {
    let raw = |http: &HttpRequest| String::from_utf8(http.body.clone().unwrap().to_vec()).unwrap();
    let login = SendRequest::new("+8613612345678".parse().unwrap());
    assert_eq!(
        raw(&adapter().build_send(&login).unwrap()),
        r#"{"auth_source_id":"otp-source","phone_number":"13612345678","usage":"login"}"#
    );
    let signup = SendRequest::new("user@example.com".parse().unwrap()).purpose(Purpose::Signup);
    assert_eq!(
        raw(&adapter().build_send(&signup).unwrap()),
        r#"{"email":"user@example.com","usage":"signup"}"#
    );
    let verify = adapter_with(
        Config::new("id", "secret")
            .auth_source_id("otp-source")
            .auto_signup(true),
    )
    .build_verify(&handle("user@example.com", Purpose::Login), &code())
    .unwrap();
    assert_eq!(
        raw(&verify),
        format!(
            r#"{{"auth_source_id":"otp-source","auto_signup":true,"client_id":"id","client_secret":"secret","email":"user@example.com","grant_type":"{EMAIL_GRANT_TYPE}","otp":"123456","otp_token":"OTP_TOKEN"}}"#
        )
    );
    let reset = adapter()
        .build_reset_password(
            &handle("+8613612345678", Purpose::ResetPassword),
            &code(),
            &Secret::new("n3w-Passw0rd"),
        )
        .unwrap();
    assert_eq!(
        raw(&reset),
        r#"{"password":"n3w-Passw0rd","phone_number":"13612345678","phone_number_otp":"123456","phone_number_otp_token":"OTP_TOKEN"}"#
    );
}

#[test]
fn verify_needs_the_otp_token_and_the_auth_source() {
    let bare = Verification::new(ID, "user@example.com".parse().unwrap());
    let err = adapter().build_verify(&bare, &code()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    let no_source = adapter_with(Config::new("id", "secret"));
    let err = no_source
        .build_verify(&handle("user@example.com", Purpose::Login), &code())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("auth_source_id"));
}

#[test]
fn verify_of_other_usages_says_where_the_code_is_consumed() {
    let cases = [
        (Purpose::ResetPassword, "reset_password"),
        (Purpose::Signup, "signup"),
        (Purpose::UpdateUserinfo, "/userinfo"),
    ];
    for (purpose, place) in cases {
        let err = adapter()
            .build_verify(&handle("user@example.com", purpose), &code())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains(place), "{err}");
        assert!(err.message().contains("email_otp_token"), "{err}");
    }
}

#[test]
fn issued_tokens_are_read_as_secrets() {
    let body = json!({
        "access_token": "eyJ.access.sig",
        "refresh_token": "refresh-value",
        "scope": "openid",
        "id_token": "eyJ.id.sig",
        "token_type": "Bearer",
        "expires_in": 299
    });
    let response = HttpResponse::new(200, body.to_string());
    let verified = adapter()
        .parse_verify(&handle("user@example.com", Purpose::Login), &response)
        .unwrap();
    let tokens = verified.tokens.clone().unwrap();
    assert_eq!(tokens.access_token.expose(), "eyJ.access.sig");
    assert_eq!(tokens.refresh_token.unwrap().expose(), "refresh-value");
    assert_eq!(tokens.id_token.unwrap().expose(), "eyJ.id.sig");
    assert_eq!(tokens.token_type.as_deref(), Some("Bearer"));
    assert_eq!(tokens.scope.as_deref(), Some("openid"));
    assert_eq!(tokens.expires_in, Some(Duration::from_secs(299)));
    let printed = format!("{verified:?}");
    for secret in ["eyJ.access.sig", "refresh-value", "eyJ.id.sig"] {
        assert!(!printed.contains(secret), "{printed}");
    }
    let missing = HttpResponse::new(200, r#"{"token_type":"Bearer"}"#);
    let err = adapter()
        .parse_verify(&handle("user@example.com", Purpose::Login), &missing)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
}

#[test]
fn reset_password_builds_the_documented_bodies() {
    let password = Secret::new("n3w-Passw0rd");
    let email = adapter()
        .build_reset_password(
            &handle("user@example.com", Purpose::ResetPassword),
            &code(),
            &password,
        )
        .unwrap();
    assert_eq!(
        email.url.as_str(),
        "https://example.portal.tencentciam.com/reset_user_password"
    );
    assert!(email.headers["authorization"].is_sensitive());
    assert_eq!(
        body_of(&email),
        json!({"password": "n3w-Passw0rd", "email": "user@example.com",
               "email_otp": "123456", "email_otp_token": "OTP_TOKEN"})
    );
    let phone = adapter()
        .build_reset_password(
            &handle("+8613612345678", Purpose::ResetPassword),
            &code(),
            &password,
        )
        .unwrap();
    assert_eq!(
        body_of(&phone),
        json!({"password": "n3w-Passw0rd", "phone_number": "13612345678",
               "phone_number_otp": "123456", "phone_number_otp_token": "OTP_TOKEN"})
    );
}

#[test]
fn reset_password_refuses_the_wrong_handle_or_password_locally() {
    // A handle from another provider is refused by the core first (see
    // `reset_password_runs_on_the_shared_path`); the adapter refuses the rest.
    let password = Secret::new("n3w-Passw0rd");
    let login = handle("user@example.com", Purpose::Login);
    let no_token = Verification::new(ID, "user@example.com".parse().unwrap())
        .with_purpose(Some(Purpose::ResetPassword));
    for bad in [login, no_token] {
        let err = adapter()
            .build_reset_password(&bad, &code(), &password)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
    }
    let err = adapter()
        .build_reset_password(
            &handle("user@example.com", Purpose::ResetPassword),
            &code(),
            &Secret::new("  "),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn reset_password_answers_are_read() {
    let adapter = adapter();
    assert!(adapter
        .parse_reset_password(&HttpResponse::new(200, ""))
        .is_ok());
    assert!(adapter
        .parse_reset_password(&HttpResponse::new(200, "{}"))
        .is_ok());
    let cases = [
        (200, "<html>portal</html>", ErrorKind::UnexpectedResponse),
        (
            400,
            r#"{"error":"recurrent_password"}"#,
            ErrorKind::InvalidRequest,
        ),
        (
            400,
            r#"{"error":"invalid_new_password"}"#,
            ErrorKind::InvalidRequest,
        ),
        (400, r#"{"error":"bad_email_otp"}"#, ErrorKind::InvalidCode),
        (
            400,
            r#"{"error":"bad_email_otp_token"}"#,
            ErrorKind::VerificationNotFound,
        ),
        (
            400,
            r#"{"error":"abnormal_user_status","error_description":"User is frozen."}"#,
            ErrorKind::Forbidden,
        ),
        (
            401,
            r#"{"error":"invalid_client"}"#,
            ErrorKind::InvalidCredentials,
        ),
        (503, "", ErrorKind::Unavailable),
    ];
    assert_error_kinds(&cases, |response| adapter.parse_reset_password(response));
}

fn client(base_url: &str) -> TencentCiam {
    let common = CommonConfig {
        base_url: Some(base_url.to_owned()),
        ..CommonConfig::default()
    };
    Config::new("id", "secret")
        .build(&common, &HttpOptions::default())
        .unwrap()
}

#[tokio::test]
async fn reset_password_runs_on_the_shared_path() {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/reset_user_password"))
        .and(header(
            "authorization",
            basic_authorization("id", "secret").expose(),
        ))
        .and(body_json(
            json!({"password": "n3w-Passw0rd", "email": "user@example.com",
                              "email_otp": "123456", "email_otp_token": "OTP_TOKEN"}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let genuine = issued("user@example.com", Purpose::ResetPassword);
    let password = Secret::new("n3w-Passw0rd");
    client
        .reset_password(&genuine, "123456", &password)
        .await
        .unwrap();

    // A bad code is refused before any request (the mock expects exactly one).
    let err = client
        .reset_password(&genuine, "12ab56", &password)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCode);
    assert_eq!(err.operation(), Some("reset_password"));

    // So are a handle made by hand, one whose recipient was changed and another provider's.
    let changed: Verification = {
        let mut json = serde_json::to_value(&genuine).unwrap();
        json["recipient"] = "other@example.com".into();
        serde_json::from_value(json).unwrap()
    };
    let foreign = Verification::new("thaaigroup", "user@example.com".parse().unwrap())
        .with_purpose(Some(Purpose::ResetPassword))
        .with_reference("OTP_TOKEN");
    for forged in [
        handle("user@example.com", Purpose::ResetPassword),
        changed,
        foreign,
    ] {
        let err = client
            .reset_password(&forged, "123456", &password)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    }
}

#[tokio::test]
async fn reset_password_errors_carry_status_code_and_operation() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/reset_user_password"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_raw(r#"{"error":"recurrent_password"}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .reset_password(
            &issued("+8613612345678", Purpose::ResetPassword),
            "123456",
            &Secret::new("0ld-Passw0rd"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.provider_code(), Some("recurrent_password"));
    assert_eq!(err.provider(), Some(ID));
    assert_eq!(err.operation(), Some("reset_password"));
}

#[test]
fn config_is_read_from_strings_and_checked_once() {
    let config = ProviderConfig::from_json_str(
        r#"{"provider":"tencent_ciam","base_url":"https://t.portal.tencentciam.com",
                "client_id":"id","client_secret":"secret","auth_source_id":"src","auto_signup":"true"}"#,
    )
    .unwrap();
    let ProviderConfig::TencentCiam(settings) = &config else {
        panic!("not tencent_ciam: {config:?}")
    };
    assert_eq!(settings.provider.auto_signup, Some(true));
    assert_eq!(settings.provider.auth_source_id.as_deref(), Some("src"));
    assert!(config.build().is_ok());

    let without_url = ProviderConfig::from_json_str(
        r#"{"provider":"tencent_ciam","client_id":"id","client_secret":"secret"}"#,
    )
    .unwrap();
    let err = without_url.build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("base_url"), "{err}");

    let blank_source = ProviderConfig::from_json_str(
        r#"{"provider":"tencent_ciam","base_url":"https://t.portal.tencentciam.com",
                "client_id":"id","client_secret":"secret","auth_source_id":" "}"#,
    )
    .unwrap();
    let err = blank_source.build().unwrap_err();
    assert!(err.message().contains("auth_source_id"), "{err}");

    let bad_flag = ProviderConfig::from_json_str(
        r#"{"provider":"tencent_ciam","client_id":"id","client_secret":"secret","auto_signup":"maybe"}"#,
    )
    .unwrap_err();
    assert!(bad_flag.message().contains("auto_signup"), "{bad_flag}");
}

#[test]
fn signup_codes_go_through_the_login_grant_only_with_auto_signup() {
    let signup = SendRequest::new("user@example.com".parse().unwrap()).purpose(Purpose::Signup);
    // Without auto_signup no call checks a sign-up code: verify cannot take it.
    let plain = adapter();
    assert!(!plain.capabilities().verifies(Some(&Purpose::Signup)));
    assert_eq!(
        plain.capabilities().check_send(&signup).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    // With it, the code is sent as a login code and the login grant checks it.
    let auto = adapter_with(
        Config::new("id", "secret")
            .auth_source_id("otp-source")
            .auto_signup(true),
    );
    assert!(auto.capabilities().check_send(&signup).is_ok());
    assert_eq!(
        body_of(&auto.build_send(&signup).unwrap()),
        json!({"auth_source_id":"otp-source","email":"user@example.com","usage":"login"})
    );
    let sent = auto
        .parse_send(
            &signup,
            &auto.build_send(&signup).unwrap(),
            &HttpResponse::new(200, r#"{"otp_token":"OTP_TOKEN"}"#),
        )
        .unwrap();
    assert_eq!(sent.verification.purpose(), Some(&Purpose::Signup));
    assert_eq!(sent.expires_in, Some(OTP_TOKEN_LIFETIME));
    let verify = auto.build_verify(&sent.verification, &code()).unwrap();
    assert_eq!(verify.url.path(), "/oauth2/token");
}
