//! The sandbox at the HTTP level, for all five providers whether or not their adapters are
//! compiled in: plain requests shaped as the vendor documents say, answers checked against the
//! documented shapes. (The adapters are checked against the sandbox in `sandbox_flow`.)

use std::time::Duration;

use base64::Engine as _;
use otpkit::sandbox::{Failure, Sandbox, SandboxOptions};
use serde_json::{json, Value};

/// A sandbox plus a plain HTTP client.
struct Wire {
    sandbox: Sandbox,
    client: reqwest::Client,
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
    json: Value,
}

impl Wire {
    async fn new() -> Wire {
        Wire::with(SandboxOptions::default()).await
    }

    async fn with(options: SandboxOptions) -> Wire {
        Wire {
            sandbox: Sandbox::with_options(options)
                .await
                .expect("sandbox starts"),
            client: plain_client(),
        }
    }

    fn url(&self, provider: &str, path: &str) -> String {
        let base = self.sandbox.base_url(provider).expect("known provider");
        format!("{}/{path}", base.trim_end_matches('/'))
    }

    async fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, url)
            .timeout(Duration::from_secs(10));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    /// One provider's routes, called with these headers.
    fn api(&self, provider: &'static str, headers: &[(&str, &str)]) -> Api<'_> {
        Api {
            wire: self,
            provider,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// A route of the sandbox itself (`_sandbox/…`, or one that is no provider's).
    async fn root(&self, method: &str, path: &str) -> Answer {
        let url = format!("{}/{path}", self.sandbox.url());
        self.call(method, &url, &[], None).await
    }

    fn code(&self, recipient: &str) -> String {
        self.sandbox
            .last_code(recipient)
            .unwrap_or_else(|| panic!("no code issued to {recipient}"))
    }
}

/// One provider's routes with a fixed set of headers.
struct Api<'a> {
    wire: &'a Wire,
    provider: &'static str,
    headers: Vec<(String, String)>,
}

impl Api<'_> {
    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = self.wire.url(self.provider, path);
        self.wire.call(method, &url, &headers, body).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(&body)).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }
}

fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Thaaigroup

const TG: [(&str, &str); 4] = [
    ("X-Client-Id", "sandbox-client-id"),
    ("X-Client-Secret", "sandbox-client-secret"),
    ("X-Client-Domain", "example.com"),
    // Laravel answers validation errors as JSON only to clients that ask for it.
    ("Accept", "application/json"),
];

#[tokio::test]
async fn thaaigroup_send_verify_and_its_documented_failures() {
    let wire = Wire::new().await;
    let send = json!({"email": "user@example.com", "purpose": "signup"});
    let tg = wire.api("thaaigroup", &TG);
    let tg_anon = wire.api("thaaigroup", &[]);
    let tg_other = wire.api(
        "thaaigroup",
        &[TG[0], TG[1], ("X-Client-Domain", "evil.example")],
    );

    let no_auth = tg_anon.post("api/otp/send", send.clone()).await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(no_auth.json["error_code"], "INVALID_CLIENT");
    assert_eq!(no_auth.json["ok"], false);

    let denied = tg_other.post("api/otp/send", send.clone()).await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json["error_code"], "DOMAIN_NOT_ALLOWED");
    let denied = tg_other
        .post(
            "api/otp/verify",
            json!({"email": "user@example.com", "otp": "123456"}),
        )
        .await;
    assert_eq!(denied.json["error_code"], "DOMAIN_NOT_ALLOWED");

    let bad = tg.post("api/otp/send", json!({"email": "nope"})).await;
    assert_eq!(bad.status, 422);
    assert!(bad.json["errors"]["email"].is_array(), "{bad:?}");

    let sent = tg.post("api/otp/send", send.clone()).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(
        sent.json,
        json!({"ok": true, "message": "OTP sent", "expires_in": 300, "cooldown": 30})
    );
    let code = wire.code("user@example.com");
    assert_eq!(code.len(), 6);

    let again = tg.post("api/otp/send", send.clone()).await;
    assert_eq!(again.status, 429);
    assert_eq!(again.json["error_code"], "RESEND_COOLDOWN");
    let retry_after = again.json["retry_after"].as_u64().expect("retry_after");
    assert!((1..=30).contains(&retry_after), "{retry_after}");

    let verify = |otp: &str, purpose: &str| json!({"email": "user@example.com", "otp": otp, "purpose": purpose});
    let other_purpose = tg.post("api/otp/verify", verify(&code, "login")).await;
    assert_eq!(other_purpose.status, 400);
    assert_eq!(other_purpose.json["error_code"], "OTP_INVALID");

    let wrong_code = tg
        .post("api/otp/verify", verify(&wrong(&code), "signup"))
        .await;
    assert_eq!(wrong_code.status, 400);
    assert_eq!(wrong_code.json["message"], "Invalid or expired OTP");

    let ok = tg.post("api/otp/verify", verify(&code, "signup")).await;
    assert_eq!(ok.json, json!({"ok": true, "verified": true}));

    let reused = tg.post("api/otp/verify", verify(&code, "signup")).await;
    assert_eq!(reused.json["error_code"], "OTP_INVALID");
}

#[tokio::test]
async fn thaaigroup_expiry_attempts_and_quota() {
    let wire = Wire::with(
        SandboxOptions::default()
            .quota(2)
            .resend_cooldown(Duration::ZERO),
    )
    .await;
    let tg = wire.api("thaaigroup", &TG);
    let verify = |otp: &str| json!({"email": "a@example.com", "otp": otp});

    tg.post("api/otp/send", json!({"email": "a@example.com"}))
        .await;
    let code = wire.code("a@example.com");
    for _ in 0..3 {
        tg.post("api/otp/verify", verify(&wrong(&code))).await;
    }
    let burned = tg.post("api/otp/verify", verify(&code)).await;
    assert_eq!(
        burned.json["error_code"], "OTP_INVALID",
        "three wrong codes burn it"
    );

    tg.post("api/otp/send", json!({"email": "a@example.com"}))
        .await;
    let code = wire.code("a@example.com");
    wire.sandbox.advance(Duration::from_secs(301));
    let expired = tg.post("api/otp/verify", verify(&code)).await;
    assert_eq!(
        expired.json["error_code"], "OTP_INVALID",
        "expired looks like wrong"
    );

    let quota = tg
        .post("api/otp/send", json!({"email": "b@example.com"}))
        .await;
    assert_eq!(quota.status, 429);
    assert_eq!(quota.json["error_code"], "QUOTA_EXCEEDED");
    assert_eq!(quota.json["quota"], 2);
    assert_eq!(quota.json["used"], 2);
    assert!(quota.json["reset_at"]
        .as_str()
        .is_some_and(|r| r.ends_with("-01T00:00:00Z")));
}

// ---------------------------------------------------------------------------------------------
// HyperVerge

const HV: [(&str, &str); 3] = [
    ("appId", "sandbox-app-id"),
    ("appKey", "sandbox-app-key"),
    ("transactionId", "journey-1"),
];

#[tokio::test]
async fn hyperverge_email_otp_with_http_200_failures() {
    let wire = Wire::new().await;
    let send = json!({"email": "user@example.com", "otpLength": 6});
    let hv = wire.api("hyperverge", &HV);
    let hv_anon = wire.api("hyperverge", &[HV[2]]);
    let hv_no_transaction = wire.api("hyperverge", &HV[..2]);

    let no_auth = hv_anon.post("sendOTPEmail", send.clone()).await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(
        no_auth.json,
        json!({"message": "Missing/Invalid credentials", "statusCode": 401, "status": "failure"})
    );
    let no_transaction = hv_no_transaction.post("sendOTPEmail", send.clone()).await;
    assert_eq!(no_transaction.status, 400);
    let five = hv
        .post(
            "sendOTPEmail",
            json!({"email": "user@example.com", "otpLength": 5}),
        )
        .await;
    assert_eq!(five.status, 400);
    assert_eq!(five.json["status"], "failure");

    let sent = hv.post("sendOTPEmail", send.clone()).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.json["status"], "success");
    assert_eq!(sent.json["statusCode"], 200);
    assert_eq!(sent.json["metaData"]["transactionId"], "journey-1");
    assert!(sent.json["metaData"]["requestId"].is_string());
    let req_id = sent.json["result"]["message"]
        .as_str()
        .expect("reqId")
        .to_owned();
    let code = wire.code("user@example.com");

    let verify = |otp: &str| json!({"reqId": req_id, "otp": otp, "email": "user@example.com"});
    let wrong_code = hv.post("verifyOTPEmail", verify(&wrong(&code))).await;
    assert_eq!(wrong_code.status, 200);
    assert_eq!(wrong_code.json["status"], "failure");
    assert_eq!(wrong_code.json["error"]["message"], "invalid otp");

    let early = hv
        .post("retryOTPEmail", json!({"reqId": req_id, "otpLength": 6}))
        .await;
    assert_eq!(early.status, 429);
    assert_eq!(early.json["message"], "Rate limit exceeded");

    let ok = hv.post("verifyOTPEmail", verify(&code)).await;
    assert_eq!(ok.json["status"], "success", "{ok:?}");
    assert_eq!(ok.json["result"]["status"], "success");
    let reused = hv.post("verifyOTPEmail", verify(&code)).await;
    assert_eq!(reused.json["error"]["message"], "otp already verifed");

    wire.sandbox.advance(Duration::from_secs(31));
    let sent = hv.post("sendOTPEmail", send).await;
    let req_id = sent.json["result"]["message"]
        .as_str()
        .expect("reqId")
        .to_owned();
    let first = wire.code("user@example.com");
    wire.sandbox.advance(Duration::from_secs(31));
    let retried = hv
        .post("retryOTPEmail", json!({"reqId": req_id, "otpLength": 4}))
        .await;
    assert_eq!(retried.json["result"]["message"], req_id.as_str());
    let second = wire.code("user@example.com");
    assert_eq!(second.len(), 4);
    assert_ne!(first, second);
    wire.sandbox.advance(Duration::from_secs(301));
    let expired = hv
        .post("verifyOTPEmail", json!({"reqId": req_id, "otp": second}))
        .await;
    assert_eq!(expired.json["error"]["message"], "OTP has expired");
}

#[tokio::test]
async fn hyperverge_mobile_otp() {
    let wire = Wire::new().await;
    let hv = wire.api("hyperverge", &HV);
    let nine = hv
        .post(
            "verifyMobileSendOtp",
            json!({"templateId": "t", "mobileNumber": "918919519"}),
        )
        .await;
    assert_eq!(nine.status, 400);
    let no_template = hv
        .post("verifyMobileSendOtp", json!({"mobileNumber": "9189195123"}))
        .await;
    assert_eq!(no_template.status, 400);

    let sent = hv
        .post(
            "verifyMobileSendOtp",
            json!({"templateId": "t", "mobileNumber": "9189195123", "otpLength": 5}),
        )
        .await;
    assert_eq!(sent.json["status"], "success", "{sent:?}");
    let code = wire.code("+919189195123");
    assert_eq!(code.len(), 5);
    let bad_retry = hv
        .post(
            "resendOtp",
            json!({"mobileNumber": "9189195123", "retryType": "sms"}),
        )
        .await;
    assert_eq!(bad_retry.status, 400);
    let ok = hv
        .post(
            "verifyMobileOtp",
            json!({"mobileNumber": "9189195123", "otp": code}),
        )
        .await;
    assert_eq!(ok.json["status"], "success");
}

// ---------------------------------------------------------------------------------------------
// Generic

const GN: [(&str, &str); 2] = [
    ("X-API-Key", "sandbox-api-key"),
    ("X-API-Secret", "sandbox-api-secret"),
];

#[tokio::test]
async fn generic_send_verify_resend_and_management() {
    let wire = Wire::new().await;
    let send = json!({"appid": "sandbox-app", "recipient": "+5511999888777", "channel": "sms", "from": "YourApp"});
    let gn = wire.api("generic", &GN);
    let gn_anon = wire.api("generic", &[]);

    let no_auth = gn_anon.post("otp/send", send.clone()).await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(no_auth.json["error"]["code"], "UNAUTHORIZED");
    let other_app = gn
        .post(
            "otp/send",
            json!({"appid": "x", "recipient": "+5511999888777"}),
        )
        .await;
    assert_eq!(other_app.status, 403);
    let bad_recipient = gn
        .post(
            "otp/send",
            json!({"appid": "sandbox-app", "recipient": "5511999888777"}),
        )
        .await;
    assert_eq!(bad_recipient.status, 400);
    assert_eq!(bad_recipient.json["error"]["code"], "INVALID_RECIPIENT");

    let sent = gn.post("otp/send", send.clone()).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.json["success"], true);
    assert_eq!(sent.json["status"], "sent");
    assert_eq!(sent.json["channel"], "sms");
    let id = sent.json["verification_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(id.starts_with("otp_") && id.len() == 20, "{id}");
    let code = wire.code("+5511999888777");

    let verify = |otp: &str| json!({"appid": "sandbox-app", "recipient": "+5511999888777", "otp_code": otp, "verification_id": id});
    let wrong_code = gn.post("otp/verify", verify(&wrong(&code))).await;
    assert_eq!(wrong_code.status, 400);
    assert_eq!(wrong_code.json["error"]["code"], "INVALID_CODE");
    assert_eq!(wrong_code.json["attempts_remaining"], 2);
    assert_eq!(wrong_code.json["verified"], false);

    let early = gn
        .post(
            "otp/resend",
            json!({"appid": "sandbox-app", "verification_id": id}),
        )
        .await;
    assert_eq!(early.status, 429);
    assert_eq!(early.json["error"]["code"], "RATE_LIMITED");
    let header: u64 = early.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(early.json["retry_after"], header);

    let ok = gn.post("otp/verify", verify(&code)).await;
    assert_eq!(
        ok.json,
        json!({"success": true, "verified": true, "verification_id": id, "status": "verified"})
    );
    let reused = gn.post("otp/verify", verify(&code)).await;
    assert_eq!(reused.json["error"]["code"], "ALREADY_VERIFIED");
    let unknown = gn.post("otp/verify", json!({"appid": "sandbox-app", "otp_code": "123456", "verification_id": "otp_0000000000000000"}))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json["error"]["code"], "VERIFICATION_NOT_FOUND");

    let status = gn.get(&format!("otp/status?verification_id={id}")).await;
    assert_eq!(status.json["status"], "verified");
    for path in [
        "otp/list",
        "otp/logs",
        "otp/attempts",
        "otp/reports",
        "otp/rate-limits",
    ] {
        let answer = gn.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json["success"], true, "{path}");
        assert!(!answer.json["data"].is_null(), "{path}");
    }
    let list = gn.get("otp/list?status=verified").await;
    assert_eq!(list.json["data"][0]["verification_id"], id.as_str());
    let logs = gn.get(&format!("otp/logs?verification_id={id}")).await;
    let events: Vec<&str> = logs.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["sent", "wrong_code", "verified", "already_verified"]
    );
}

#[tokio::test]
async fn generic_auth_schemes_attempts_expiry_and_balance() {
    let wire = Wire::with(SandboxOptions::default().quota(2)).await;
    let pair =
        base64::engine::general_purpose::STANDARD.encode("sandbox-api-key:sandbox-api-secret");
    let basic = format!("Basic {pair}");
    let bearer = format!("Bearer {pair}");
    let gn = wire.api("generic", &GN);
    let gn_basic = wire.api("generic", &[("Authorization", &basic)]);
    let gn_bearer = wire.api("generic", &[("Authorization", &bearer)]);
    let send = |to: &str| json!({"appid": "sandbox-app", "recipient": to, "channel": "whatsapp"});

    let sent = gn_basic.post("otp/send", send("+5511999888001")).await;
    assert_eq!(sent.status, 200, "basic auth: {sent:?}");
    let id = sent.json["verification_id"].as_str().unwrap().to_owned();
    let code = wire.code("+5511999888001");
    let verify =
        |otp: &str| json!({"appid": "sandbox-app", "otp_code": otp, "verification_id": id});
    let mut codes = Vec::new();
    for _ in 0..4 {
        let answer = gn_bearer.post("otp/verify", verify(&wrong(&code))).await;
        codes.push(
            answer.json["error"]["code"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
        );
    }
    assert_eq!(
        codes,
        [
            "INVALID_CODE",
            "INVALID_CODE",
            "MAX_ATTEMPTS_EXCEEDED",
            "MAX_ATTEMPTS_EXCEEDED"
        ]
    );
    let status = gn_bearer
        .get(&format!("otp/status?verification_id={id}"))
        .await;
    assert_eq!(status.json["status"], "failed");

    let sent = gn.post("otp/send", send("+5511999888002")).await;
    let id2 = sent.json["verification_id"].as_str().unwrap().to_owned();
    let code2 = wire.code("+5511999888002");
    wire.sandbox.advance(Duration::from_secs(301));
    let expired = gn
        .post(
            "otp/verify",
            json!({"appid": "sandbox-app", "otp_code": code2, "verification_id": id2}),
        )
        .await;
    assert_eq!(expired.json["error"]["code"], "OTP_EXPIRED");

    let broke = gn.post("otp/send", send("+5511999888003")).await;
    assert_eq!(broke.status, 402);
    assert_eq!(broke.json["error"]["code"], "INSUFFICIENT_BALANCE");
}

// ---------------------------------------------------------------------------------------------
// ThunderSMS

const TS: [(&str, &str); 2] = [
    ("Authorization", "Bearer sandbox-thundersms-token"),
    ("Accept", "application/json"),
];

fn thunder_send(to: &str, length: u64, token: Option<&str>) -> Value {
    let mut payload = json!({"length": length, "timeout": 60, "ip_address": "192.168.1.1"});
    if let Some(token) = token {
        payload["token"] = json!(token);
    }
    json!({
        "channels": [
            {"name": "whatsapp", "from": "91901912000", "recipient": {"to": to}, "order": 0, "wait": 60},
            {"name": "sms", "from": "91901912000", "recipient": {"to": to}, "order": 1, "wait": 60},
            {"name": "voice", "from": "91806828000", "recipient": {"to": to}, "flow_id": "5876", "language": "en_US", "order": 2, "wait": 60},
            {"name": "viber", "from": "adef759b-fbb3-4452-9aed-518d1c000000", "recipient": {"to": to}, "ttl": 30, "order": 3, "wait": 60}
        ],
        "payload": payload,
        "foreign_id": "signup-42",
    })
}

/// Seconds between two `YYYY-MM-DD HH:MM:SS` times of the same day.
fn clock_secs(time: &str) -> i64 {
    let clock = time.split(' ').nth(1).expect("a time");
    clock
        .split(':')
        .map(|part| part.parse::<i64>().expect("digits"))
        .fold(0, |acc, part| acc * 60 + part)
}

#[tokio::test]
async fn thundersms_send_check_search() {
    let wire = Wire::new().await;
    let ts = wire.api("thundersms", &TS);
    let ts_anon = wire.api("thundersms", &[]);
    let no_auth = ts_anon
        .post("verify/send", thunder_send("919189195123", 5, None))
        .await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(no_auth.json, json!({"message": "Unauthenticated."}));

    let plus = ts
        .post("verify/send", thunder_send("+919189195123", 5, None))
        .await;
    assert_eq!(plus.status, 422);
    assert!(
        plus.json["errors"]["channels.0.recipient.to"].is_array(),
        "{plus:?}"
    );
    let short_token = ts
        .post("verify/send", thunder_send("919189195123", 5, Some("1234")))
        .await;
    assert_eq!(short_token.status, 422);
    assert!(short_token.json["errors"]["payload.token"].is_array());
    let no_channels = ts.post("verify/send", json!({"payload": {}})).await;
    assert_eq!(no_channels.status, 422);

    let sent = ts
        .post(
            "verify/send",
            thunder_send("919189195123", 5, Some("12345")),
        )
        .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.json["status"], "sent");
    assert_eq!(sent.json["foreign_id"], "signup-42");
    let created = sent.json["created_at"].as_str().expect("created_at");
    let expire = sent.json["expire_at"].as_str().expect("expire_at");
    assert_eq!(created.len(), 19, "no zone: {created}");
    let ttl = (clock_secs(expire) - clock_secs(created)).rem_euclid(86_400);
    assert_eq!(ttl, 60);
    let id = sent.json["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(
        wire.code("+919189195123"),
        "12345",
        "the caller's token is the code"
    );

    let check = |token: &str| format!("verify/check/{id}/{token}");
    let invalid = ts.get(&check("54321")).await;
    assert_eq!(invalid.status, 200);
    assert_eq!(invalid.json, json!({"id": id, "status": "invalid"}));
    let success = ts.get(&check("12345")).await;
    assert_eq!(success.json["status"], "success");
    let again = ts.get(&check("12345")).await;
    assert_eq!(again.json["status"], "OTP already verified");
    let unknown = ts
        .get("verify/check/00000000-0000-4000-a000-000000000000/12345")
        .await;
    assert_eq!(unknown.json["status"], "failed");

    let search = ts_anon
        .get(&format!(
            "verify/search/{id}?access_token=sandbox-thundersms-token"
        ))
        .await;
    assert_eq!(search.status, 200, "access_token query: {search:?}");
    assert_eq!(search.json["status"], "verified");
    assert_eq!(search.json["reference"], "signup-42");
    let channels = search.json["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 4);
    assert_eq!(channels[0]["channel"], "whatsapp");
    assert!(channels[1]["status"].is_null());
    let missing = ts.get("verify/search/nope").await;
    assert_eq!(missing.status, 404);

    let early = ts
        .post("verify/send", thunder_send("919189195123", 6, None))
        .await;
    assert_eq!(early.status, 429);
    assert!(early.headers.contains_key("retry-after"));

    let overridden = ts
        .send(
            "GET",
            "verify/send?_method=POST",
            Some(&thunder_send("919189195124", 6, None)),
        )
        .await;
    assert_eq!(overridden.status, 200, "_method override: {overridden:?}");
    let id = overridden.json["id"].as_str().unwrap().to_owned();
    let code = wire.code("+919189195124");
    wire.sandbox.advance(Duration::from_secs(121));
    let expired = ts.get(&format!("verify/check/{id}/{code}")).await;
    assert_eq!(expired.json["status"], "expired");
}

// ---------------------------------------------------------------------------------------------
// Tencent CIAM

fn tencent_basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn grant(phone: &str, otp_token: &str, otp: &str, auto_signup: bool) -> Value {
    json!({
        "grant_type": "http://tencentciam.com/oauth2/grant-type/otp/sms",
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "auth_source_id": "sandbox-otp-auth-source",
        "phone_number": phone,
        "otp_token": otp_token,
        "otp": otp,
        "auto_signup": auto_signup,
    })
}

#[tokio::test]
async fn tencent_send_and_login_grant() {
    let wire = Wire::new().await;
    let basic = tencent_basic("sandbox-client-id", "sandbox-client-secret");
    let tc = wire.api("tencent_ciam", &[("Authorization", &basic)]);
    let tc_anon = wire.api("tencent_ciam", &[]);
    let login = |phone: &str| json!({"usage": "login", "phone_number": phone, "auth_source_id": "sandbox-otp-auth-source"});

    let no_auth = tc_anon.post("otp/send", login("13612345678")).await;
    assert_eq!(no_auth.status, 401);
    assert_eq!(no_auth.json["error"], "invalid_client");
    let wrong_secret = tencent_basic("sandbox-client-id", "nope");
    let tc_wrong = wire.api("tencent_ciam", &[("Authorization", &wrong_secret)]);
    let refused = tc_wrong.post("otp/send", login("13612345678")).await;
    assert_eq!(refused.status, 401);

    let e164 = tc.post("otp/send", login("+8613612345678")).await;
    assert_eq!(e164.status, 400);
    assert_eq!(e164.json["error"], "malformed_phone_number");
    let bad_email = tc
        .post("otp/send", json!({"usage": "signup", "email": "nope"}))
        .await;
    assert_eq!(bad_email.json["error"], "malformed_email");
    let no_source = tc
        .post("otp/send", json!({"phone_number": "13612345678"}))
        .await;
    assert_eq!(
        no_source.json["error"], "invalid_request",
        "login is the default usage"
    );
    let other_source = tc
        .post(
            "otp/send",
            json!({"phone_number": "13612345678", "auth_source_id": "x"}),
        )
        .await;
    assert_eq!(other_source.json["error"], "invalid_auth_source");

    let sent = tc.post("otp/send", login("13612345678")).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let otp_token = sent.json["otp_token"]
        .as_str()
        .expect("otp_token")
        .to_owned();
    let code = wire.code("+8613612345678");
    let again = tc.post("otp/send", login("13612345678")).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json["error"], "sms_rate_limit_exceeded");
    assert_eq!(
        again.json["error_description"],
        "SMS rate limit exceeded for same phone number"
    );

    let mut bad_client = grant("13612345678", &otp_token, &code, true);
    bad_client["client_secret"] = json!("nope");
    let bad_client = tc_anon.post("oauth2/token", bad_client).await;
    assert_eq!(bad_client.status, 401);
    assert_eq!(bad_client.json["error"], "invalid_client");
    let wrong_code = tc_anon
        .post(
            "oauth2/token",
            grant("13612345678", &otp_token, &wrong(&code), true),
        )
        .await;
    assert_eq!(wrong_code.status, 400);
    assert_eq!(
        wrong_code.json,
        json!({"error": "invalid_grant", "error_description": "Unknown or expired OTP"})
    );
    let other_phone = tc_anon
        .post(
            "oauth2/token",
            grant("13612345679", &otp_token, &code, true),
        )
        .await;
    assert_eq!(other_phone.json["error"], "invalid_request");
    assert_eq!(
        other_phone.json["error_description"],
        "Mismatched OTP token and OTP sending parameters"
    );
    let unknown_token = tc_anon
        .post("oauth2/token", grant("13612345678", "nope", &code, true))
        .await;
    assert_eq!(
        unknown_token.json["error_description"],
        "Unknown or expired otp_token"
    );
    let no_user = tc_anon
        .post(
            "oauth2/token",
            grant("13612345678", &otp_token, &code, false),
        )
        .await;
    assert_eq!(no_user.json["error_description"], "User not found");

    wire.sandbox.advance(Duration::from_secs(31));
    let sent = tc.post("otp/send", login("13612345678")).await;
    let otp_token = sent.json["otp_token"]
        .as_str()
        .expect("otp_token")
        .to_owned();
    let code = wire.code("+8613612345678");
    let tokens = tc_anon
        .post(
            "oauth2/token",
            grant("13612345678", &otp_token, &code, true),
        )
        .await;
    assert_eq!(tokens.status, 200, "{tokens:?}");
    assert_eq!(tokens.json["token_type"], "Bearer");
    assert_eq!(tokens.json["scope"], "openid");
    assert_eq!(tokens.json["expires_in"], 299);
    for key in ["access_token", "id_token"] {
        assert_eq!(
            tokens.json[key].as_str().unwrap().split('.').count(),
            3,
            "{key} is a JWT"
        );
    }
    let reused = tc_anon
        .post(
            "oauth2/token",
            grant("13612345678", &otp_token, &code, true),
        )
        .await;
    assert_eq!(
        reused.json["error_description"],
        "Unknown or expired otp_token"
    );

    wire.sandbox.advance(Duration::from_secs(31));
    let taken = tc
        .post(
            "otp/send",
            json!({"usage": "signup", "phone_number": "13612345678"}),
        )
        .await;
    assert_eq!(taken.json["error"], "phone_number_is_used");

    let sent = tc.post("otp/send", login("13612345670")).await;
    let otp_token = sent.json["otp_token"].as_str().unwrap().to_owned();
    wire.sandbox.advance(Duration::from_secs(301));
    let old = tc_anon
        .post(
            "oauth2/token",
            grant(
                "13612345670",
                &otp_token,
                &wire.code("+8613612345670"),
                true,
            ),
        )
        .await;
    assert_eq!(
        old.json["error_description"], "Unknown or expired otp_token",
        "tokens live 5 minutes"
    );
}

#[tokio::test]
async fn tencent_reset_password_consumes_the_code() {
    let wire = Wire::new().await;
    let basic = tencent_basic("sandbox-client-id", "sandbox-client-secret");
    let tc = wire.api("tencent_ciam", &[("Authorization", &basic)]);
    let send = json!({"usage": "reset_password", "email": "MOCK_USERNAME@example.com"});
    let reset = |token: &str, otp: &str, password: &str| json!({"password": password, "email": "mock_username@example.com", "email_otp": otp, "email_otp_token": token});

    let sent = tc.post("otp/send", send.clone()).await;
    let token = sent.json["otp_token"].as_str().unwrap().to_owned();
    let code = wire.code("mock_username@example.com");
    assert_eq!(code.len(), 6, "6 digits without an auth source");
    let weak = tc
        .post("reset_user_password", reset(&token, &code, "short"))
        .await;
    assert_eq!(weak.json["error"], "invalid_new_password");
    let done = tc
        .post("reset_user_password", reset(&token, &code, "n3w-passw0rd"))
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.text.is_empty());

    let sent = tc.post("otp/send", send).await;
    let token = sent.json["otp_token"].as_str().unwrap().to_owned();
    let code = wire.code("mock_username@example.com");
    let same = tc
        .post("reset_user_password", reset(&token, &code, "n3w-passw0rd"))
        .await;
    assert_eq!(same.json["error"], "recurrent_password");
    wire.sandbox.advance(Duration::from_secs(61));
    let late = tc
        .post(
            "reset_user_password",
            reset(&token, &code, "0ther-passw0rd"),
        )
        .await;
    assert_eq!(
        late.json["error_description"], "Unknown or expired OTP",
        "codes without an auth source live 60 s"
    );
}

// ---------------------------------------------------------------------------------------------
// Laravel content negotiation (Thaaigroup, ThunderSMS)

#[tokio::test]
async fn laravel_redirects_validation_errors_for_clients_that_do_not_ask_for_json() {
    let wire = Wire::new().await;
    let cases = [
        (
            "thaaigroup",
            &TG[..3],
            "api/otp/send",
            json!({"email": "nope"}),
        ),
        (
            "thundersms",
            &TS[..1],
            "verify/send",
            thunder_send("+919189195123", 5, None),
        ),
    ];
    for (provider, credentials, path, body) in cases {
        let mut headers = credentials.to_vec();
        let plain = wire.api(provider, &headers).post(path, body.clone()).await;
        assert_eq!(plain.status, 302, "{provider}: {plain:?}");
        let location = plain.headers["location"].to_str().unwrap();
        assert!(
            location.starts_with("http://127.0.0.1:"),
            "{provider}: {location}"
        );
        assert!(
            plain.text.contains("Redirecting to"),
            "{provider}: {plain:?}"
        );
        assert!(!plain.text.contains("errors"), "{provider}: {plain:?}");

        headers.push(("Referer", "https://app.example/signup"));
        let back = wire.api(provider, &headers).post(path, body.clone()).await;
        assert_eq!(back.status, 302, "{provider}: {back:?}");
        assert_eq!(back.headers["location"], "https://app.example/signup");

        // An AJAX request that accepts anything is answered JSON too.
        let mut ajax = credentials.to_vec();
        ajax.push(("X-Requested-With", "XMLHttpRequest"));
        let answered = wire.api(provider, &ajax).post(path, body.clone()).await;
        assert_eq!(answered.status, 422, "{provider}: {answered:?}");

        for accept in ["application/json", "application/vnd.api+json, */*;q=0.1"] {
            let mut json = credentials.to_vec();
            json.push(("Accept", accept));
            let answered = wire.api(provider, &json).post(path, body.clone()).await;
            assert_eq!(answered.status, 422, "{provider} {accept}: {answered:?}");
            assert!(
                answered.json["errors"].is_object(),
                "{provider}: {answered:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Forced failures, every provider

/// The status each provider answers a forced failure with (see `Failure`'s table).
fn forced_status(provider: &str, failure: Failure) -> u16 {
    match (provider, failure) {
        (_, Failure::HtmlPage) => 200,
        (_, Failure::BadCredentials) => 401,
        ("tencent_ciam", Failure::ServerError) => 503,
        (_, Failure::ServerError) => 500,
        ("thaaigroup" | "thundersms", Failure::InvalidRecipient) => 422,
        (_, Failure::InvalidRecipient) => 400,
        ("tencent_ciam", Failure::RateLimited) => 429,
        ("tencent_ciam", _) => 400,
        ("hyperverge" | "generic" | "thundersms", Failure::QuotaExceeded) => 402,
        _ => 429,
    }
}

/// Any request to the provider: the injected failure answers before routing.
fn any_request(provider: &str) -> (&'static str, &'static str) {
    match provider {
        "thaaigroup" => ("POST", "api/otp/send"),
        "hyperverge" => ("POST", "sendOTPEmail"),
        "generic" => ("POST", "otp/send"),
        "thundersms" => ("POST", "verify/send"),
        _ => ("POST", "otp/send"),
    }
}

#[tokio::test]
async fn forced_failures_answer_each_providers_documented_shape() {
    let wire = Wire::with(SandboxOptions::default().hang(Duration::from_secs(30))).await;
    for provider in Sandbox::PROVIDERS {
        let (method, path) = any_request(provider);
        let url = wire.url(provider, path);
        for failure in Failure::ALL {
            wire.sandbox.fail_next(provider, failure).unwrap();
            if failure == Failure::Hang {
                let result = wire
                    .client
                    .post(&url)
                    .timeout(Duration::from_millis(300))
                    .body("{}")
                    .send()
                    .await;
                assert!(result.is_err_and(|e| e.is_timeout()), "{provider} hang");
                continue;
            }
            let answer = wire.call(method, &url, &[], Some(&json!({}))).await;
            assert_eq!(
                answer.status,
                forced_status(provider, failure),
                "{provider} {failure}: {answer:?}"
            );
            let html = answer.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html");
            assert_eq!(html, failure == Failure::HtmlPage, "{provider} {failure}");
            if !html {
                assert!(
                    answer.json.is_object(),
                    "{provider} {failure}: {}",
                    answer.text
                );
            }
        }
        // The queue is empty again: the next answer is the real one (no credentials: 401).
        let real = wire.call(method, &url, &[], Some(&json!({}))).await;
        assert_eq!(real.status, 401, "{provider}: {real:?}");
    }
    // Over HTTP too, for processes that cannot call fail_next.
    let queued = wire
        .root("POST", "_sandbox/fail/generic/quota_exceeded")
        .await;
    assert_eq!(queued.status, 200);
    let answer = wire.api("generic", &GN).post("otp/send", json!({})).await;
    assert_eq!(answer.json["error"]["code"], "INSUFFICIENT_BALANCE");
    let unknown = wire.root("POST", "_sandbox/fail/generic/meltdown").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn garbage_requests_get_answers_not_panics() {
    let wire = Wire::new().await;
    let garbage = ["", "null", "[1,2]", "{\"email\": 5}", "\u{0}\u{1}", "{{{{"];
    for provider in Sandbox::PROVIDERS {
        for path in [
            "api/otp/send",
            "sendOTPEmail",
            "otp/send",
            "verify/send",
            "otp/send",
            "oauth2/token",
            "nope",
            "verify/check/x/y",
        ] {
            for body in garbage {
                let response = wire
                    .client
                    .post(wire.url(provider, path))
                    .header("Authorization", "Bearer sandbox-thundersms-token")
                    .body(body)
                    .send()
                    .await
                    .expect("an answer");
                assert!(
                    response.status().as_u16() < 500,
                    "{provider} {path} {body:?}"
                );
            }
        }
    }
    let stranger = wire.root("GET", "elsewhere").await;
    assert_eq!(stranger.status, 404);
}

#[tokio::test]
async fn dropping_the_sandbox_stops_the_server() {
    let wire = Wire::new().await;
    let url = wire.url("generic", "otp/list");
    assert_eq!(wire.call("GET", &url, &GN, None).await.status, 200);
    let Wire { sandbox, client } = wire;
    drop(sandbox);
    let mut refused = false;
    // The abort lands on the runtime's next turn; give it generous room.
    for _ in 0..50 {
        if client
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the server still answers after drop");
}

#[tokio::test]
async fn extreme_options_and_clock_jumps_do_not_break_the_server() {
    let options = SandboxOptions::default()
        .code_ttl(Duration::MAX)
        .resend_cooldown(Duration::MAX)
        .max_attempts(u32::MAX);
    let wire = Wire::with(options).await;
    let tg = wire.api("thaaigroup", &TG);
    let send = json!({"email": "far@example.com"});
    assert_eq!(tg.post("api/otp/send", send.clone()).await.status, 200);
    let again = tg.post("api/otp/send", send).await;
    assert_eq!(again.json["error_code"], "RESEND_COOLDOWN");
    assert!(again.json["retry_after"]
        .as_u64()
        .is_some_and(|s| s > 1_000_000));
    let code = wire.code("far@example.com");
    wire.sandbox.advance(Duration::MAX);
    wire.sandbox.advance(Duration::MAX);
    let late = tg
        .post(
            "api/otp/verify",
            json!({"email": "far@example.com", "otp": code}),
        )
        .await;
    assert_eq!(late.json["error_code"], "OTP_INVALID", "{late:?}");
}

/// A client for the sandbox's plain-HTTP loopback address: rustls with the ring provider (no
/// process-wide provider is installed) and no trusted roots, no redirects followed (the Laravel
/// side answers some requests with one).
fn plain_client() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}
