//! The HyperVerge adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;
use serde_json::json;

fn config() -> Config {
    let mut config = Config::new("app", "key");
    config.template_id = Some("tmpl-1".into());
    config
}

fn adapter_with(config: &Config) -> HyperVergeAdapter {
    let base = Url::parse("https://ind-engine.thomas.hyperverge.co/v1/").unwrap();
    config.adapter(base).unwrap()
}

fn adapter() -> HyperVergeAdapter {
    adapter_with(&config())
}

fn body_of(request: &HttpRequest) -> Value {
    serde_json::from_slice(request.body.as_ref().unwrap()).unwrap()
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    request.headers[name].to_str().unwrap()
}

fn email_ok() -> HttpResponse {
    HttpResponse::new(
        200,
        r#"{"status":"success","statusCode":200,"result":{"type":"success","message":"3461646b6c4a"},"metaData":{"requestId":"req-1"}}"#,
    )
}

#[test]
fn email_send_carries_the_headers_and_the_documented_body() {
    let request = SendRequest::new("user@example.com".parse().unwrap()).reference("journey-42");
    let http = adapter().build_send(&request).unwrap();
    assert_eq!(
        http.url.as_str(),
        "https://ind-engine.thomas.hyperverge.co/v1/sendOTPEmail"
    );
    assert_eq!(header(&http, "appid"), "app");
    assert!(http.headers["appkey"].is_sensitive());
    assert_eq!(header(&http, "transactionid"), "journey-42");
    assert_eq!(
        body_of(&http),
        json!({"email": "user@example.com", "otpLength": 6})
    );
}

#[test]
fn a_generated_transaction_id_is_used_and_reused_across_resend_and_verify() {
    let adapter = adapter();
    let request = SendRequest::new("user@example.com".parse().unwrap());
    let sent = adapter.build_send(&request).unwrap();
    let generated = header(&sent, "transactionid").to_owned();
    assert!(generated.starts_with("otpkit-"), "{generated}");
    // Another send gets another id.
    let other = adapter.build_send(&request).unwrap();
    assert_ne!(header(&other, "transactionid"), generated);

    let receipt = adapter.parse_send(&request, &sent, &email_ok()).unwrap();
    let handle = Verification::from_token(&receipt.verification.to_token()).unwrap();
    assert_eq!(transaction_id(&handle), Some(generated.as_str()));
    assert_eq!(handle.reference(), Some("3461646b6c4a"));
    assert_eq!(receipt.request_id.as_deref(), Some("req-1"));

    let resend = adapter.build_resend(&handle).unwrap();
    assert_eq!(header(&resend, "transactionid"), generated);
    let code = OtpCode::parse("123456").unwrap();
    let verify = adapter.build_verify(&handle, &code).unwrap();
    assert_eq!(header(&verify, "transactionid"), generated);
    assert_eq!(
        body_of(&verify),
        json!({"reqId": "3461646b6c4a", "otp": "123456", "email": "user@example.com"})
    );
}

#[test]
fn the_email_resend_repeats_the_send_length_and_the_widget() {
    let mut config = config();
    config.widget_id = Some("widget-7".into());
    let adapter = adapter_with(&config);
    let request = SendRequest::new("user@example.com".parse().unwrap()).code_length(4);
    let sent = adapter.build_send(&request).unwrap();
    assert_eq!(body_of(&sent)["otpLength"], 4);
    assert_eq!(body_of(&sent)["widgetId"], "widget-7");
    let receipt = adapter.parse_send(&request, &sent, &email_ok()).unwrap();
    let resend = adapter.build_resend(&receipt.verification).unwrap();
    assert!(resend.url.as_str().ends_with("/v1/retryOTPEmail"));
    assert_eq!(
        body_of(&resend),
        json!({"reqId": "3461646b6c4a", "otpLength": 4, "widgetId": "widget-7"})
    );
}

#[test]
fn email_code_lengths_are_4_or_6() {
    let email = || SendRequest::new("user@example.com".parse().unwrap());
    for (length, ok) in [(4, true), (6, true), (5, false), (8, false), (10, false)] {
        let outcome = adapter().build_send(&email().code_length(length));
        assert_eq!(outcome.is_ok(), ok, "{length}");
        if let Err(err) = outcome {
            assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        }
    }
    // A config length valid for mobile only refuses email sends, not the build.
    let mut eight = config();
    eight.otp_length = Some(8);
    let err = adapter_with(&eight).build_send(&email()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    // The request's length overrides the config's.
    let sent = adapter_with(&eight)
        .build_send(&email().code_length(4))
        .unwrap();
    assert_eq!(body_of(&sent)["otpLength"], 4);
    // A handle with a bad stored length refuses the resend locally.
    let handle = Verification::new(ID, "user@example.com".parse().unwrap())
        .with_reference("r")
        .with_extra(TRANSACTION_ID_KEY, "t")
        .with_extra(OTP_LENGTH_KEY, "five");
    let err = adapter().build_resend(&handle).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn mobile_code_lengths_are_4_to_9_and_config_lengths_are_checked_at_build() {
    let phone = || SendRequest::new("+919876543210".parse().unwrap());
    for (length, ok) in [(4, true), (9, true), (7, true), (10, false)] {
        let outcome = adapter().build_send(&phone().code_length(length));
        assert_eq!(outcome.is_ok(), ok, "{length}");
    }
    let base = Url::parse("https://x.example/v1/").unwrap();
    for bad in [0, 3, 10, 300] {
        let mut config = config();
        config.otp_length = Some(bad);
        let err = config.adapter(base.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("otp_length"), "{err}");
    }
}

#[test]
fn only_indian_numbers_are_sent_without_the_country_code() {
    let cases = [
        ("+919876543210", Ok("9876543210")),
        ("+91 98765 43210", Ok("9876543210")),
        // Another country cannot be reached; a +91 number of another length is malformed.
        ("+14155550123", Err(ErrorKind::Unsupported)),
        ("+9198765432", Err(ErrorKind::InvalidRecipient)),
        ("+91987654321012", Err(ErrorKind::InvalidRecipient)),
        ("+9219876543210", Err(ErrorKind::Unsupported)),
    ];
    for (input, expected) in cases {
        let phone = Phone::parse(input).unwrap();
        let got = mobile_number(&phone).map_err(|e| e.kind());
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn mobile_send_takes_the_template_length_and_expiry() {
    let mut config = config();
    config.otp_expiry_mins = Some(10);
    let adapter = adapter_with(&config);
    let request = SendRequest::new("+919876543210".parse().unwrap()).reference("journey-42");
    let http = adapter.build_send(&request).unwrap();
    assert!(http.url.as_str().ends_with("/v1/verifyMobileSendOtp"));
    assert_eq!(
        body_of(&http),
        json!({"templateId": "tmpl-1", "mobileNumber": "9876543210", "otpLength": 6, "otpExpiry": 10})
    );
    // A requested lifetime overrides the config's, rounded up to whole minutes.
    let ttl = request.clone().code_ttl(Duration::from_secs(61));
    assert_eq!(body_of(&adapter.build_send(&ttl).unwrap())["otpExpiry"], 2);
    let too_long = request.code_ttl(Duration::from_secs(2 * 24 * 3600));
    assert_eq!(
        adapter.build_send(&too_long).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
}

#[test]
fn mobile_send_without_a_template_is_a_config_error() {
    let adapter = adapter_with(&Config::new("app", "key"));
    let err = adapter
        .build_send(&SendRequest::new("+919876543210".parse().unwrap()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("template_id"), "{err}");
}

#[test]
fn channels_follow_the_recipient() {
    let email = || SendRequest::new("user@example.com".parse().unwrap());
    let phone = || SendRequest::new("+919876543210".parse().unwrap());
    assert!(adapter()
        .build_send(&email().channel(Channel::Email))
        .is_ok());
    for channel in [Channel::Sms, Channel::Voice, Channel::Whatsapp] {
        let err = adapter().build_send(&email().channel(channel)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{channel}");
    }
    for channel in [Channel::Sms, Channel::Voice] {
        assert!(adapter().build_send(&phone().channel(channel)).is_ok());
    }
    for channel in [Channel::Whatsapp, Channel::Viber, Channel::Email] {
        let err = adapter().build_send(&phone().channel(channel)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{channel}");
    }
}

#[test]
fn mobile_resend_calls_back_by_voice_only_when_asked() {
    let adapter = adapter();
    let ok = HttpResponse::new(200, r#"{"status":"success","statusCode":200}"#);
    for (channel, retry_type) in [
        (None, "text"),
        (Some(Channel::Sms), "text"),
        (Some(Channel::Voice), "voice"),
    ] {
        let mut request = SendRequest::new("+919876543210".parse().unwrap());
        request.channel = channel;
        let sent = adapter.build_send(&request).unwrap();
        let receipt = adapter.parse_send(&request, &sent, &ok).unwrap();
        assert_eq!(receipt.channel, Some(Channel::Sms));
        assert_eq!(receipt.verification.reference(), None);
        let resend = adapter.build_resend(&receipt.verification).unwrap();
        assert!(resend.url.as_str().ends_with("/v1/resendOtp"));
        assert_eq!(
            body_of(&resend),
            json!({"mobileNumber": "9876543210", "retryType": retry_type})
        );
    }
}

#[test]
fn the_req_id_is_read_tolerantly() {
    let cases = [
        (json!({"result": {"message": "abc123"}}), Some("abc123")),
        (
            json!({"result": {"reqId": "r-1", "message": "OTP sent"}}),
            Some("r-1"),
        ),
        (
            json!({"result": {"message": "OTP sent", "requestId": "r-2"}}),
            Some("r-2"),
        ),
        (json!({"result": {"message": 12345}}), Some("12345")),
        (json!({"result": "r-3"}), Some("r-3")),
        (
            json!({"result": {"message": "OTP sent successfully"}}),
            None,
        ),
        (json!({"result": {"message": ""}}), None),
        (json!({"result": null}), None),
        (json!({}), None),
    ];
    for (body, expected) in cases {
        let Value::Object(map) = &body else {
            unreachable!()
        };
        assert_eq!(req_id(map).as_deref(), expected, "{body}");
    }
}

#[test]
fn success_is_read_from_the_body_not_the_status() {
    let adapter = adapter();
    let handle = Verification::new(ID, "user@example.com".parse().unwrap())
        .with_reference("r")
        .with_extra(TRANSACTION_ID_KEY, "t");
    let ok = HttpResponse::new(
        200,
        r#"{"status":"SUCCESS","result":{"status":"success"},"metaData":{"requestId":"req-5"}}"#,
    );
    let verified = adapter.parse_verify(&handle, &ok).unwrap();
    assert_eq!(verified.request_id.as_deref(), Some("req-5"));
    let failure = HttpResponse::new(
        200,
        r#"{"status":"failure","statusCode":200,"error":{"message":"otp already verifed"}}"#,
    );
    let err = adapter.parse_verify(&handle, &failure).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyVerified);
    // A success without a reqId cannot make an email handle.
    let request = SendRequest::new("user@example.com".parse().unwrap());
    let sent = adapter.build_send(&request).unwrap();
    let bare = HttpResponse::new(200, r#"{"status":"success","metaData":{"requestId":"q"}}"#);
    let err = adapter.parse_send(&request, &sent, &bare).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
    assert_eq!(err.request_id(), Some("q"));
}

#[test]
fn handles_without_what_the_calls_need_are_refused_locally() {
    let adapter = adapter();
    let code = OtpCode::parse("123456").unwrap();
    let no_transaction =
        Verification::new(ID, "user@example.com".parse().unwrap()).with_reference("r");
    assert_eq!(
        adapter
            .build_verify(&no_transaction, &code)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest
    );
    let no_reference = Verification::new(ID, "user@example.com".parse().unwrap())
        .with_extra(TRANSACTION_ID_KEY, "t");
    assert_eq!(
        adapter.build_resend(&no_reference).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let foreign_number =
        Verification::new(ID, "+14155550123".parse().unwrap()).with_extra(TRANSACTION_ID_KEY, "t");
    assert_eq!(
        adapter
            .build_verify(&foreign_number, &code)
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn config_values_are_checked_once_at_build() {
    let base = Url::parse("https://x.example/v1/").unwrap();
    let bad = |edit: fn(&mut Config), key: &str| {
        let mut config = config();
        edit(&mut config);
        let err = config.adapter(base.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}");
        assert!(err.message().contains(key), "{err}");
    };
    bad(|c| c.app_id = Secret::new(""), "app_id");
    bad(|c| c.app_key = Secret::new("a\r\nb"), "app_key");
    bad(|c| c.widget_id = Some("w\n".into()), "widget_id");
    bad(|c| c.template_id = Some(" ".into()), "template_id");
    bad(|c| c.otp_expiry_mins = Some(0), "otp_expiry_mins");
    bad(|c| c.otp_expiry_mins = Some(1441), "otp_expiry_mins");
}

#[test]
fn the_bodies_keep_their_exact_bytes() {
    let mut config = config();
    config.widget_id = Some("widget-7".into());
    config.otp_expiry_mins = Some(10);
    let adapter = adapter_with(&config);
    let raw = |http: &HttpRequest| String::from_utf8(http.body.clone().unwrap().to_vec()).unwrap();
    let email = SendRequest::new("user@example.com".parse().unwrap());
    assert_eq!(
        raw(&adapter.build_send(&email).unwrap()),
        r#"{"email":"user@example.com","otpLength":6,"widgetId":"widget-7"}"#
    );
    let phone = SendRequest::new("+919876543210".parse().unwrap());
    assert_eq!(
        raw(&adapter.build_send(&phone).unwrap()),
        r#"{"mobileNumber":"9876543210","otpExpiry":10,"otpLength":6,"templateId":"tmpl-1"}"#
    );
}
