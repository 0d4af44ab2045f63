//! The ThunderSMS adapter's unit tests, compiled only under `#[cfg(test)]` (declared in `mod.rs`).

use super::*;
use crate::config::{CommonConfig, ProviderConfig};
use crate::HttpOptions;
use serde_json::json;

const ID_SAMPLE: &str = "bdd56db3-ecd3-4d20-8ab5-988bdc76795a";

fn channel(name: &str, from: &str) -> ChannelConfig {
    ChannelConfig::new(name, from)
}

fn config(channels: Vec<ChannelConfig>) -> Config {
    Config::new("tok-123", channels)
}

fn base() -> Url {
    Url::parse(DEFAULT_BASE_URL).unwrap()
}

fn adapter() -> ThunderSmsAdapter {
    let mut voice = channel("voice", "91806828000");
    voice.flow_id = Some("5876".into());
    voice.language = Some("en_US".into());
    config(vec![
        channel("whatsapp", "91901912000"),
        channel("sms", "OTPKIT"),
        voice,
    ])
    .adapter(base())
    .unwrap()
}

fn phone_request() -> SendRequest {
    SendRequest::new("+919876543210".parse().unwrap())
}

fn body_of(http: &HttpRequest) -> Value {
    serde_json::from_slice(http.body.as_ref().unwrap()).unwrap()
}

fn config_error(config: &Config) -> String {
    let err = config.adapter(base()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    err.message().to_owned()
}

fn handle(reference: &str) -> Verification {
    Verification::new(ID, "+919876543210".parse().unwrap()).with_reference(reference)
}

fn env_config(channels: &str) -> Result<ProviderConfig, Error> {
    let vars = [
        ("OTPKIT_PROVIDER", "thundersms"),
        ("OTPKIT_TOKEN", "tok"),
        ("OTPKIT_CODE_TTL_SECS", "300"),
        ("OTPKIT_CHANNELS", channels),
    ];
    ProviderConfig::from_env_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))
}

#[test]
fn channels_load_from_toml_lists_and_from_an_environment_json_string() {
    let toml = ProviderConfig::from_toml_str(
        r#"
            provider = "thundersms"
            token = "tok"
            code_length = 5
            [[channels]]
            name = "whatsapp"
            from = 91901912000
            wait = 60
            [[channels]]
            name = "voice"
            from = "91806828000"
            flow_id = 5876
            language = "en_US"
            "#,
    )
    .unwrap();
    assert!(toml.build().is_ok());
    let env = env_config(
        r#"[{"name":"sms","from":"OTPKIT","wait":"45"},{"name":"viber","from":"adef759b","ttl":"60"}]"#,
    )
    .unwrap();
    assert!(env.build().is_ok());
    let ProviderConfig::ThunderSms(settings) = env else {
        panic!("not a ThunderSMS config");
    };
    let mut sms = channel("sms", "OTPKIT");
    sms.wait = Some(45);
    let mut viber = channel("viber", "adef759b");
    viber.ttl = Some(60);
    assert_eq!(settings.provider.channels, [sms, viber]);
    assert_eq!(settings.provider.code_ttl_secs, Some(300));
}

#[test]
fn bad_channel_lists_name_their_key_without_echoing_values() {
    let not_json = env_config("sms").unwrap_err();
    assert_eq!(not_json.kind(), ErrorKind::Config);
    assert!(not_json.message().contains("`channels`"), "{not_json}");
    let unknown = env_config(r#"[{"name":"sms","from":"A","sender":"B"}]"#).unwrap_err();
    assert!(unknown.message().contains("sender"), "{unknown}");
    let wrong_type =
        env_config(r#"[{"name":"sms","from":"A","wait":[1]},{"x":"Hunter2"}]"#).unwrap_err();
    assert!(wrong_type.message().contains("`channels`"), "{wrong_type}");
    // serde quotes the value in `invalid type` messages; the config layer drops it.
    let quoted = env_config(r#"[{"name":"sms","from":"A","wait":918273.5}]"#).unwrap_err();
    assert!(quoted.message().contains("invalid type"), "{quoted}");
    assert!(!quoted.message().contains("918273"), "{quoted}");
    let object = ProviderConfig::from_json_str(
        r#"{"provider":"thundersms","token":"t","channels":{"name":"sms","from":"A"}}"#,
    )
    .unwrap_err();
    assert!(object.message().contains("channels"), "{object}");
}

#[test]
fn every_config_value_is_checked_when_built() {
    let with = |edit: &dyn Fn(&mut ChannelConfig)| {
        let mut entry = channel("sms", "OTPKIT");
        edit(&mut entry);
        config(vec![entry])
    };
    let three = vec![
        channel("sms", "A"),
        channel("whatsapp", "B"),
        channel("Sms", "C"),
    ];
    let cases: Vec<(Config, &str)> = vec![
        (config(vec![]), "`channels`"),
        (config(vec![channel("email", "A")]), "`channels[0].name`"),
        (config(vec![channel("pigeon", "A")]), "`channels[0].name`"),
        (config(three), "`channels[2].name`"),
        (with(&|c| c.from = "  ".into()), "`channels[0].from`"),
        (with(&|c| c.ttl = Some(60)), "`channels[0].ttl`"),
        (
            with(&|c| c.flow_id = Some("5876".into())),
            "`channels[0].flow_id`",
        ),
        (
            with(&|c| c.language = Some("en_US".into())),
            "`channels[0].language`",
        ),
        (
            with(&|c| c.wait = Some(MAX_WAIT_SECS + 1)),
            "`channels[0].wait`",
        ),
        (Config::new(" ", vec![channel("sms", "A")]), "`token`"),
        (Config::new("a\r\nb", vec![channel("sms", "A")]), "`token`"),
    ];
    for (bad, key) in cases {
        let message = config_error(&bad);
        assert!(message.contains(key), "{key}: {message}");
    }
    for (ttl, ok) in [
        (29, false),
        (30, true),
        (1_209_600, true),
        (1_209_601, false),
    ] {
        let mut viber = channel("viber", "uuid");
        viber.ttl = Some(ttl);
        match config(vec![viber]).adapter(base()) {
            Ok(_) => assert!(ok, "{ttl}"),
            Err(e) => assert!(!ok && e.message().contains("`channels[0].ttl`"), "{e}"),
        }
    }
    let mut voice = channel("voice", "91806828000");
    voice.language = Some("  ".into());
    assert!(config_error(&config(vec![voice])).contains("`channels[0].language`"));
    // A voice channel without flow_id is accepted: the vendor does not list it as required.
    assert!(config(vec![channel("voice", "91806828000")])
        .adapter(base())
        .is_ok());
}

#[test]
fn code_settings_and_templates_are_checked() {
    for (length, ok) in [(3, false), (4, true), (10, true), (11, false), (300, false)] {
        let mut c = config(vec![channel("sms", "A")]);
        c.code_length = Some(length);
        match c.adapter(base()) {
            Ok(adapter) => assert!(ok && u64::from(adapter.code_length) == length),
            Err(e) => assert!(!ok && e.message().contains("`code_length`"), "{e}"),
        }
    }
    let ttls = [
        (0, false),
        (1, true),
        (MAX_CODE_TTL_SECS, true),
        (MAX_CODE_TTL_SECS + 1, false),
    ];
    for (ttl, ok) in ttls {
        let mut c = config(vec![channel("sms", "A")]);
        c.code_ttl_secs = Some(ttl);
        match c.adapter(base()) {
            Ok(adapter) => assert!(ok && adapter.code_ttl_secs == ttl),
            Err(e) => assert!(!ok && e.message().contains("`code_ttl_secs`"), "{e}"),
        }
    }
    assert_eq!(check_template(None).unwrap(), None);
    assert_eq!(
        check_template(Some("Code: {token}")).unwrap().as_deref(),
        Some("Code: {token}")
    );
    for bad in ["", "   ", "Your code is {code}", "{ token }"] {
        let err = check_template(Some(bad)).unwrap_err();
        assert!(err.message().contains("`template`"), "{bad:?}: {err}");
    }
}

#[test]
fn orders_default_to_list_positions_and_must_be_distinct() {
    let mut sms = channel("sms", "A");
    sms.order = Some(7);
    let mut voice = channel("voice", "B");
    voice.order = Some(3);
    let routes = check_channels(&[sms, voice, channel("whatsapp", "C")]).unwrap();
    let names: Vec<Channel> = routes.iter().map(|r| r.channel).collect();
    assert_eq!(names, [Channel::Whatsapp, Channel::Voice, Channel::Sms]);
    assert!(routes.iter().all(|r| r.wait == DEFAULT_WAIT_SECS));
    // whatsapp's absent order is its position, 1, which sms already holds.
    let mut sms = channel("sms", "A");
    sms.order = Some(1);
    let err = check_channels(&[sms, channel("whatsapp", "B")]).unwrap_err();
    assert!(err.message().contains("`channels[1].order`"), "{err}");
}

#[test]
fn a_requested_channel_goes_first_and_the_rest_follow_in_order() {
    let routes = adapter().routes;
    let names = |plan: Vec<&Route>| plan.iter().map(|r| r.channel).collect::<Vec<_>>();
    assert_eq!(
        names(plan_routes(&routes, None).unwrap()),
        [Channel::Whatsapp, Channel::Sms, Channel::Voice]
    );
    assert_eq!(
        names(plan_routes(&routes, Some(Channel::Voice)).unwrap()),
        [Channel::Voice, Channel::Whatsapp, Channel::Sms]
    );
    assert_eq!(
        names(plan_routes(&routes, Some(Channel::Whatsapp)).unwrap()),
        [Channel::Whatsapp, Channel::Sms, Channel::Voice]
    );
    for missing in [Channel::Viber, Channel::Email] {
        let err = plan_routes(&routes, Some(missing)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{missing}");
    }
}

#[test]
fn send_renumbers_orders_and_carries_every_hint() {
    let request = phone_request()
        .channel(Channel::Sms)
        .code_length(5)
        .code_ttl(Duration::from_millis(90_500))
        .end_user_ip("2001:db8::7".parse().unwrap())
        .reference("journey-9")
        .custom_code(OtpCode::parse("48213").unwrap());
    let http = adapter().build_send(&request).unwrap();
    assert_eq!(http.method, reqwest::Method::POST);
    assert_eq!(
        http.url.as_str(),
        "https://portal.thundersms.com/api/v2/verify/send"
    );
    assert_eq!(http.headers["authorization"], "Bearer tok-123");
    assert!(http.headers["authorization"].is_sensitive());
    assert_eq!(http.headers["accept"], "application/json");
    let to = json!({"to": "919876543210"});
    assert_eq!(
        body_of(&http),
        json!({
            "channels": [
                {"name": "sms", "from": "OTPKIT", "recipient": to, "order": 0, "wait": 30},
                {"name": "whatsapp", "from": "91901912000", "recipient": to, "order": 1,
                 "wait": 30},
                {"name": "voice", "from": "91806828000", "recipient": to, "order": 2,
                 "wait": 30, "flow_id": "5876", "language": "en_US"},
            ],
            "payload": {"length": 5, "timeout": 91, "token": "48213",
                        "ip_address": "2001:db8::7"},
            "foreign_id": "journey-9",
        })
    );
}

#[test]
fn the_template_travels_and_a_caller_code_must_match_the_length() {
    let mut c = config(vec![channel("sms", "A")]);
    c.template = Some("Your code is {token}".into());
    let adapter = c.adapter(base()).unwrap();
    assert!(adapter.capabilities().custom_code);
    let body = body_of(&adapter.build_send(&phone_request()).unwrap());
    assert_eq!(body["template"], "Your code is {token}");
    assert_eq!(body["payload"], json!({"length": 6, "timeout": 120}));
    let short = phone_request().custom_code(OtpCode::parse("1234").unwrap());
    let err = adapter.build_send(&short).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(!err.message().contains("1234"), "{err}");
    let matching = short.code_length(4);
    let body = body_of(&adapter.build_send(&matching).unwrap());
    assert_eq!(
        body["payload"],
        json!({"length": 4, "timeout": 120, "token": "1234"})
    );
}

#[test]
fn code_lifetimes_round_up_and_are_bounded() {
    assert_eq!(timeout_secs(None, 120).unwrap(), 120);
    assert_eq!(
        timeout_secs(Some(Duration::from_secs(60)), 120).unwrap(),
        60
    );
    assert_eq!(
        timeout_secs(Some(Duration::from_millis(1)), 120).unwrap(),
        1
    );
    let long = Duration::from_secs(MAX_CODE_TTL_SECS + 1);
    assert_eq!(
        timeout_secs(Some(long), 120).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let request = phone_request().code_ttl(long);
    assert_eq!(
        adapter().build_send(&request).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
}

#[test]
fn email_recipients_are_unsupported_locally() {
    let email = SendRequest::new("a@example.com".parse().unwrap());
    assert_eq!(
        adapter().build_send(&email).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn send_answers_become_handles_expiring_with_the_timeout() {
    let request = phone_request()
        .channel(Channel::Sms)
        .code_ttl(Duration::from_secs(300));
    let adapter = adapter();
    let sent = adapter.build_send(&request).unwrap();
    let parse = |body: Value| {
        adapter.parse_send(&request, &sent, &HttpResponse::new(200, body.to_string()))
    };
    let receipt = parse(json!({"id": ID_SAMPLE, "status": "sent",
        "created_at": "2023-12-05 08:24:48", "expire_at": "2023-12-05 08:26:48"}))
    .unwrap();
    assert_eq!(receipt.verification.provider(), ID);
    assert_eq!(receipt.verification.reference(), Some(ID_SAMPLE));
    assert_eq!(receipt.verification.channel(), Some(Channel::Sms));
    assert_eq!(receipt.channel, Some(Channel::Sms));
    assert_eq!(receipt.expires_in, Some(Duration::from_secs(300)));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_at = receipt.verification.expires_at().unwrap();
    assert!(
        (now + 299..=now + 301).contains(&expires_at),
        "{expires_at}"
    );
    for bad in [
        json!({"status": "sent"}),
        json!({"id": 42, "status": "sent"}),
        json!({"id": "", "status": "sent"}),
        json!({"id": "a/b", "status": "sent"}),
    ] {
        let err = parse(bad.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedResponse, "{bad}");
    }
    let envelope = json!({"id": ID_SAMPLE, "status": "error", "message": "Sender not approved"});
    assert_eq!(
        parse(envelope).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
}

#[test]
fn verify_and_status_put_ids_and_codes_in_the_path_only_when_plain() {
    let adapter = adapter();
    let code = OtpCode::parse("123456").unwrap();
    let http = adapter.build_verify(&handle(ID_SAMPLE), &code).unwrap();
    assert_eq!(http.method, reqwest::Method::GET);
    assert!(http.body.is_none());
    assert_eq!(
        http.url.as_str(),
        format!("https://portal.thundersms.com/api/v2/verify/check/{ID_SAMPLE}/123456")
    );
    assert_eq!(http.headers["authorization"], "Bearer tok-123");
    let status = adapter.build_status(&handle(ID_SAMPLE)).unwrap();
    assert_eq!(
        status.url.as_str(),
        format!("https://portal.thundersms.com/api/v2/verify/search/{ID_SAMPLE}")
    );
    let long = "a".repeat(129);
    for bad in ["", ".", "..", "a/b", "a?b", "a%2Fb", "x y", long.as_str()] {
        let err = adapter.build_verify(&handle(bad), &code).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
        let err = adapter.build_status(&handle(bad)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:?}");
    }
    let bare = Verification::new(ID, "+919876543210".parse().unwrap());
    assert_eq!(
        adapter.build_verify(&bare, &code).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    assert!(is_plain_id("v1.2_3-x") && is_plain_id(&"a".repeat(128)));
}

#[test]
fn check_answers_are_read_from_the_status_word() {
    let adapter = adapter();
    let verify = |status: u16, body: Value| {
        let response = HttpResponse::new(status, body.to_string());
        adapter.parse_verify(&handle(ID_SAMPLE), &response)
    };
    let kind = |status: u16, body: Value| verify(status, body).unwrap_err().kind();
    assert!(verify(200, json!({"id": ID_SAMPLE, "status": "success"})).is_ok());
    let upper = ID_SAMPLE.to_uppercase();
    assert!(verify(200, json!({"id": upper, "status": "Success"})).is_ok());
    assert!(verify(200, json!({"status": "success"})).is_ok());
    let cases = [
        (200, json!({"status": "invalid"}), ErrorKind::InvalidCode),
        (200, json!({"status": "EXPIRED"}), ErrorKind::Expired),
        (
            200,
            json!({"status": "OTP already verified"}),
            ErrorKind::AlreadyVerified,
        ),
        (
            200,
            json!({"status": "failed"}),
            ErrorKind::VerificationNotFound,
        ),
        (400, json!({"status": "invalid"}), ErrorKind::InvalidCode),
        (500, json!({"status": "failed"}), ErrorKind::Unavailable),
        (500, json!({"status": "success"}), ErrorKind::Unavailable),
        (
            401,
            json!({"message": "Unauthenticated."}),
            ErrorKind::InvalidCredentials,
        ),
        (404, json!({}), ErrorKind::VerificationNotFound),
        (
            200,
            json!({"status": "error", "message": "Unauthenticated"}),
            ErrorKind::InvalidCredentials,
        ),
        (200, json!({}), ErrorKind::UnexpectedResponse),
        (200, json!({"status": null}), ErrorKind::UnexpectedResponse),
        (
            200,
            json!({"status": "verified"}),
            ErrorKind::UnexpectedResponse,
        ),
        (
            200,
            json!({"status": "success", "id": "another-id"}),
            ErrorKind::UnexpectedResponse,
        ),
    ];
    for (status, body, expected) in cases {
        assert_eq!(kind(status, body.clone()), expected, "{status} {body}");
    }
    let refused = verify(
        200,
        json!({"status": "invalid", "message": "OTP 123456 is invalid"}),
    )
    .unwrap_err();
    assert_eq!(refused.provider_code(), Some("invalid"));
    assert!(!refused.message().contains("123456"), "{refused}");
}

#[test]
fn search_answers_report_each_channel() {
    let adapter = adapter();
    let status = |body: Value| {
        let response = HttpResponse::new(200, body.to_string());
        adapter.parse_status(&handle(ID_SAMPLE), &response)
    };
    let report = status(json!({
        "id": ID_SAMPLE, "status": "sent",
        "channels": [
            {"channel": "whatsapp", "status": "failed"},
            {"channel": "sms", "status": null},
            {"name": "voice", "status": 3},
        ]
    }))
    .unwrap();
    assert_eq!(report.state, VerificationState::Sent);
    assert_eq!(
        report.channels,
        [
            ChannelAttempt::new("whatsapp", Some("failed".into())),
            ChannelAttempt::new("sms", None),
            ChannelAttempt::new("voice", Some("3".into())),
        ]
    );
    let bare = status(json!({"status": "expired"})).unwrap();
    assert_eq!(bare.state, VerificationState::Expired);
    assert!(bare.channels.is_empty());
    for bad in [
        json!({"channels": []}),
        json!({"status": "sent", "channels": "whatsapp"}),
        json!({"status": "sent", "channels": [{"status": "failed"}]}),
        json!({"status": "sent", "channels": ["whatsapp"]}),
    ] {
        let err = status(bad.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedResponse, "{bad}");
    }
    let err = status(json!({"status": 404, "message": "Not found"})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationNotFound);
}

#[test]
fn the_documented_http_url_needs_allow_http_and_the_token_never_prints() {
    let c = config(vec![channel("sms", "A")]);
    let mut common = CommonConfig {
        base_url: Some("http://portal.thundersms.com/api/v2/".into()),
        ..CommonConfig::default()
    };
    let err = c.build(&common, &HttpOptions::default()).unwrap_err();
    assert!(err.message().contains("base_url"), "{err}");
    common.allow_http = true;
    let built = c.build(&common, &HttpOptions::default()).unwrap();
    assert!(!format!("{built:?} {c:?}").contains("tok-123"));
    assert_eq!(built.adapter().channels(), [Channel::Sms]);
}

#[test]
fn channel_errors_from_the_environment_name_only_variables_that_exist() {
    /// The `OTPKIT_…` variables a message names.
    fn variables(message: &str) -> Vec<&str> {
        message
            .match_indices("OTPKIT_")
            .map(|(at, _)| {
                let rest = &message[at..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .unwrap_or(rest.len());
                &rest[..end]
            })
            .collect()
    }
    // A key inside a channel is no variable of its own: the hint is the list's variable.
    for (channels, key) in [
        (r#"[{"name":"sms","from":"A","sender":"B"}]"#, "sender"),
        (r#"[{"name":"sms"}]"#, "from"),
    ] {
        let err = env_config(channels).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains(key), "{err}");
        assert_eq!(variables(err.message()), ["OTPKIT_CHANNELS"], "{err}");
    }
    let missing = ProviderConfig::from_env_vars(
        [("OTPKIT_PROVIDER", "thundersms"), ("OTPKIT_TOKEN", "tok")]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap_err();
    assert_eq!(
        variables(missing.message()),
        ["OTPKIT_CHANNELS"],
        "{missing}"
    );
    // And the variable it names does what the hint says.
    assert!(env_config(r#"[{"name":"sms","from":"OTPKIT"}]"#).is_ok());
    // From a file, the nested key is named with its place in the list.
    let toml = ProviderConfig::from_toml_str(
        "provider = \"thundersms\"\ntoken = \"t\"\n[[channels]]\nname = \"sms\"\nsender = \"B\"\n",
    )
    .unwrap_err();
    assert!(toml.message().contains("channels"), "{toml}");
    assert!(variables(toml.message()).is_empty(), "{toml}");
}
