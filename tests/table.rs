//! One entry per provider id: everything the fault, validation, property and scan suites need to
//! drive that provider end to end. Adding a provider is adding one entry here; entries whose id
//! is not compiled into this build (`otpkit::provider_ids()`) are skipped.

use otpkit::{HttpOptions, OtpProvider, ProviderConfig, Purpose, SendRequest, Verification};
use serde_json::{Map, Value};

use crate::local_server::{Action, LocalServer, Response};

/// One provider's minimal config, recipient and successful answers.
pub struct Entry {
    /// The provider id.
    pub id: &'static str,
    /// The config (contract §2 keys) without `provider` and `base_url`.
    pub config: &'static str,
    /// Config keys whose values travel in HTTP headers (a CR/LF there must be refused).
    pub header_keys: &'static [&'static str],
    /// A recipient the provider accepts.
    pub recipient: &'static str,
    /// A recipient the provider cannot take (wrong kind or country), if any.
    pub wrong_recipient: Option<&'static str>,
    /// The purpose to send with.
    pub purpose: Option<&'static str>,
    /// A successful send answer (JSON).
    pub send_ok: &'static str,
    /// A successful verify answer (JSON).
    pub verify_ok: &'static str,
    /// Whether a 404 on verify means "no such verification" (`verification_not_found`)
    /// rather than a wrong address (`unexpected_response`).
    pub verify_404_is_not_found: bool,
    /// Whether verify sends the recipient (so a handle with a recipient the provider cannot
    /// take must be refused before any request).
    pub verify_sends_recipient: bool,
}

/// Every provider of contract §1.
pub const PROVIDERS: &[Entry] = &[
    Entry {
        id: "thaaigroup",
        config: r#"{"client_id":"S3cr3t-client_id-Zq9","client_secret":"S3cr3t-client_secret-Zq9","domain":"example.com"}"#,
        header_keys: &["client_id", "client_secret", "domain"],
        recipient: "jane.doe@example.com",
        wrong_recipient: Some("+14155550123"),
        purpose: Some("signup"),
        send_ok: r#"{"ok":true,"message":"OTP sent","expires_in":300,"cooldown":60}"#,
        verify_ok: r#"{"ok":true,"verified":true}"#,
        verify_404_is_not_found: false,
        verify_sends_recipient: true,
    },
    Entry {
        id: "hyperverge",
        config: r#"{"app_id":"S3cr3t-app_id-Zq9","app_key":"S3cr3t-app_key-Zq9"}"#,
        header_keys: &["app_id", "app_key"],
        recipient: "jane.doe@example.com",
        wrong_recipient: Some("+14155550123"),
        purpose: None,
        send_ok: r#"{"status":"success","statusCode":200,"result":{"type":"success","message":"req-1"},"metaData":{"requestId":"r-1","transactionId":"t-1"}}"#,
        verify_ok: r#"{"status":"success","statusCode":200,"result":{"status":"success","message":"OTP verified"},"metaData":{"requestId":"r-2"}}"#,
        verify_404_is_not_found: false,
        verify_sends_recipient: true,
    },
    Entry {
        id: "generic",
        config: r#"{"app_id":"S3cr3t-app_id-Zq9","api_key":"S3cr3t-api_key-Zq9","api_secret":"S3cr3t-api_secret-Zq9"}"#,
        header_keys: &["api_key", "api_secret"],
        recipient: "+5511999888777",
        wrong_recipient: Some("jane.doe@example.com"),
        purpose: None,
        send_ok: r#"{"success":true,"verification_id":"otp_67890abcdef12345","status":"sent","channel":"sms","expires_in":300}"#,
        verify_ok: r#"{"success":true,"verified":true,"verification_id":"otp_67890abcdef12345","status":"verified"}"#,
        verify_404_is_not_found: true,
        verify_sends_recipient: true,
    },
    Entry {
        id: "thundersms",
        config: r#"{"token":"S3cr3t-token-Zq9","channels":[{"name":"sms","from":"OTPKIT"}]}"#,
        header_keys: &["token"],
        recipient: "+919189195123",
        wrong_recipient: Some("jane.doe@example.com"),
        purpose: None,
        send_ok: r#"{"id":"0b6f3c1e-2d4a-4c8e-9f1a-7e5d3b2a1c0f","status":"sent","to":"919189195123","created_at":"2025-01-01 10:00:00","expire_at":"2025-01-01 10:02:00"}"#,
        verify_ok: r#"{"id":"0b6f3c1e-2d4a-4c8e-9f1a-7e5d3b2a1c0f","status":"success"}"#,
        verify_404_is_not_found: true,
        verify_sends_recipient: false,
    },
    Entry {
        id: "tencent_ciam",
        config: r#"{"client_id":"S3cr3t-client_id-Zq9","client_secret":"S3cr3t-client_secret-Zq9","auth_source_id":"as-1"}"#,
        header_keys: &[],
        recipient: "+8613612345678",
        wrong_recipient: Some("+14155550123"),
        purpose: Some("login"),
        send_ok: r#"{"otp_token":"otp-token-1"}"#,
        verify_ok: r#"{"access_token":"at-1","refresh_token":"rt-1","scope":"openid","id_token":"it-1","token_type":"Bearer","expires_in":299}"#,
        verify_404_is_not_found: false,
        verify_sends_recipient: true,
    },
];

/// The entries compiled into this build.
pub fn compiled() -> impl Iterator<Item = &'static Entry> {
    let ids = otpkit::provider_ids();
    assert!(
        ids.iter()
            .all(|id| PROVIDERS.iter().any(|entry| entry.id == *id)),
        "a compiled provider has no entry in tests/table.rs: {ids:?}"
    );
    PROVIDERS
        .iter()
        .filter(move |entry| ids.contains(&entry.id))
}

/// The operations the suites drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `send`.
    Send,
    /// `verify` with a valid code.
    Verify,
}

impl Op {
    /// Both operations.
    pub const ALL: [Op; 2] = [Op::Send, Op::Verify];
}

/// The total timeout for tests that wait one out (a hang): short, as only a hang reaches it.
pub const HANG_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);

/// `options` with [`HANG_TIMEOUT`] as the total timeout (instead of the config's whole
/// seconds).
pub fn hang_timeout(options: HttpOptions) -> HttpOptions {
    otpkit::testing::with_timeout(options, HANG_TIMEOUT)
}

/// The code the suites verify with.
pub const CODE: &str = "482915";

impl Entry {
    /// The config object with `provider`, `base_url` and 1-second timeouts added.
    pub fn config_json(&self, base_url: &str) -> Map<String, Value> {
        let Value::Object(mut map) = serde_json::from_str(self.config).expect("table config")
        else {
            panic!("{}: the table config is not an object", self.id);
        };
        map.insert("provider".into(), self.id.into());
        map.insert("base_url".into(), base_url.into());
        map.insert("timeout_secs".into(), 1.into());
        map.insert("connect_timeout_secs".into(), 1.into());
        map
    }

    /// The parsed config pointing at `base_url`.
    pub fn config(&self, base_url: &str) -> ProviderConfig {
        let text = Value::Object(self.config_json(base_url)).to_string();
        ProviderConfig::from_json_str(&text)
            .unwrap_or_else(|e| panic!("{}: table config does not parse: {e}", self.id))
    }

    /// A provider pointing at `base_url` (no retries).
    pub fn provider(&self, base_url: &str) -> Box<dyn OtpProvider> {
        self.provider_with(base_url, &HttpOptions::default())
    }

    /// A provider pointing at `base_url` with these options.
    pub fn provider_with(&self, base_url: &str, options: &HttpOptions) -> Box<dyn OtpProvider> {
        self.config(base_url)
            .build_with(options)
            .unwrap_or_else(|e| panic!("{}: table config does not build: {e}", self.id))
    }

    /// The send request for the table's recipient and purpose.
    pub fn send_request(&self) -> SendRequest {
        let request = SendRequest::new(self.recipient.parse().expect("table recipient"));
        match self.purpose {
            Some(purpose) => request.purpose(Purpose::parse(purpose).expect("table purpose")),
            None => request,
        }
    }

    /// The configured credential values (the table marks them with an `S3cr3t-` prefix).
    pub fn secrets(&self) -> Vec<String> {
        let map = self.config_json("http://127.0.0.1:9");
        map.values()
            .filter_map(Value::as_str)
            .filter(|v| v.starts_with("S3cr3t-"))
            .map(str::to_owned)
            .collect()
    }

    /// A handle from a real `send` against a server that answers `send_ok`.
    pub async fn handle(&self) -> Verification {
        let server =
            LocalServer::scripted(vec![Action::Respond(Response::json(200, self.send_ok))]).await;
        let provider = self.provider(&server.url());
        match provider.send(&self.send_request()).await {
            Ok(receipt) => receipt.verification,
            Err(e) => panic!(
                "{}: the table's send_ok does not give a receipt ({e}); fix its entry in tests/table.rs",
                self.id
            ),
        }
    }

    /// Runs `op` against `base_url` with a handle from [`Entry::handle`] for verify.
    pub async fn run(
        &self,
        provider: &dyn OtpProvider,
        op: Op,
        handle: &Verification,
    ) -> Result<(), otpkit::Error> {
        match op {
            Op::Send => provider.send(&self.send_request()).await.map(drop),
            Op::Verify => provider.verify(handle, CODE).await.map(drop),
        }
    }
}

/// The kind contract §3 gives an HTTP status when the body names nothing more specific.
pub fn kind_for_status(status: u16) -> otpkit::ErrorKind {
    use otpkit::ErrorKind;
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
