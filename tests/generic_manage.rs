//! The generic service's management reads (`list`, `logs`, `attempts`, `reports`,
//! `rate-limits`) against wiremock. The fixture replay drives only send, verify, resend and
//! status, so these are tested here; response bodies live in `fixtures/generic/manage/*.txt`.
#![cfg(feature = "generic")]

use std::path::Path;
use std::time::Duration;

use otpkit::providers::generic::{AuthMode, Config, Filters, Generic};
use otpkit::{
    Channel, CommonConfig, ErrorKind, HttpOptions, Phone, ProviderSettings, RetryPolicy,
    VerificationState,
};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A response body from `fixtures/generic/manage/`.
fn body(name: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/generic/manage")
        .join(format!("{name}.txt"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn data_of(name: &str) -> Value {
    let parsed: Value = serde_json::from_str(&body(name)).unwrap();
    parsed["data"].clone()
}

fn json_response(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body(name), "application/json")
}

/// A client for `server`, under the `/api` prefix, with header auth unless `config` says else.
fn client(server: &MockServer, config: Config, options: &HttpOptions) -> Generic {
    let mut common = CommonConfig::default();
    common.base_url = Some(format!("{}/api", server.uri()));
    common.timeout_secs = Some(1);
    config.build(&common, options).unwrap()
}

fn config() -> Config {
    Config::new("app-1", "key-1", "secret-1")
}

/// The query pairs of the one request the server received, in order.
async fn only_query(server: &MockServer) -> Vec<(String, String)> {
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "expected exactly one request");
    received[0]
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn list_sends_its_filters_and_types_the_items() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/otp/list"))
        .and(header("x-api-key", "key-1"))
        .and(header("x-api-secret", "secret-1"))
        .respond_with(json_response(200, "list_ok"))
        .mount(&server)
        .await;
    let filters = Filters::new()
        .status(VerificationState::Verified)
        .channel(Channel::Sms)
        .recipient(Phone::parse("+5511999888777").unwrap())
        .start_date("2026-01-01")
        .end_date("2026-01-31")
        .page(2)
        .limit(2)
        .extra("sort", "-created_at");
    let page = client(&server, config(), &HttpOptions::default())
        .list(&filters)
        .await
        .unwrap();
    let query = only_query(&server).await;
    let expected: Vec<(String, String)> = [
        ("status", "verified"),
        ("channel", "sms"),
        ("recipient", "+5511999888777"),
        ("start_date", "2026-01-01"),
        ("end_date", "2026-01-31"),
        ("page", "2"),
        ("limit", "2"),
        ("sort", "-created_at"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(query, expected);

    assert_eq!(
        (page.total, page.page, page.limit),
        (Some(42), Some(2), Some(2))
    );
    let ids: Vec<&str> = page
        .items
        .iter()
        .map(|r| r.verification_id.as_str())
        .collect();
    assert_eq!(ids, ["otp_67890abcdef12345", "otp_fedcba0987654321"]);
    let second = &page.items[1];
    assert_eq!(second.status, Some(VerificationState::Expired));
    assert_eq!(second.channel, Some(Channel::Whatsapp));
    assert_eq!(second.created_at.as_deref(), Some("2026-01-31T11:30:00Z"));
    assert_eq!(second.recipient(), Some("+5511988887777"));
    let printed = format!("{page:?}");
    assert!(!printed.contains("988887777"), "{printed}");
}

#[tokio::test]
async fn the_other_reads_return_their_data_as_json() {
    let server = MockServer::start().await;
    for (route, name) in [
        ("/api/otp/logs", "logs_ok"),
        ("/api/otp/attempts", "attempts_ok"),
        ("/api/otp/reports", "reports_ok"),
        ("/api/otp/rate-limits", "rate_limits_ok"),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(json_response(200, name))
            .mount(&server)
            .await;
    }
    let generic = client(&server, config(), &HttpOptions::default());
    let by_id = Filters::new().verification_id("otp_67890abcdef12345");
    let dates = Filters::new()
        .start_date("2026-01-01")
        .end_date("2026-01-31")
        .extra("group_by", "channel");

    assert_eq!(generic.logs(&by_id).await.unwrap(), data_of("logs_ok"));
    assert_eq!(
        generic.attempts(&by_id).await.unwrap(),
        data_of("attempts_ok")
    );
    assert_eq!(
        generic.reports(&dates).await.unwrap(),
        data_of("reports_ok")
    );
    let limits = generic.rate_limits().await.unwrap();
    assert_eq!(limits["remaining"], json!(97));

    let received = server.received_requests().await.unwrap();
    let queries: Vec<Option<&str>> = received.iter().map(|r| r.url.query()).collect();
    assert_eq!(
        queries,
        [
            Some("verification_id=otp_67890abcdef12345"),
            Some("verification_id=otp_67890abcdef12345"),
            Some("start_date=2026-01-01&end_date=2026-01-31&group_by=channel"),
            None,
        ]
    );
}

#[tokio::test]
async fn management_reads_use_the_configured_auth_mode() {
    let server = MockServer::start().await;
    // base64("key-1:secret-1")
    Mock::given(method("GET"))
        .and(path("/api/otp/rate-limits"))
        .and(header("authorization", "Basic a2V5LTE6c2VjcmV0LTE="))
        .respond_with(json_response(200, "rate_limits_ok"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/otp/logs"))
        .and(header("authorization", "Bearer jwt-abc"))
        .respond_with(json_response(200, "logs_ok"))
        .mount(&server)
        .await;
    let basic = client(
        &server,
        config().auth(AuthMode::Basic),
        &HttpOptions::default(),
    );
    assert!(basic.rate_limits().await.is_ok());
    let bearer = client(
        &server,
        config().auth(AuthMode::Bearer).bearer_token("jwt-abc"),
        &HttpOptions::default(),
    );
    assert!(bearer.logs(&Filters::new()).await.is_ok());
    // The header-auth client matches neither mock: wiremock answers 404.
    let headers = client(&server, config(), &HttpOptions::default());
    assert!(headers.rate_limits().await.is_err());
}

#[tokio::test]
async fn management_errors_are_classified_and_named() {
    let server = MockServer::start().await;
    Mock::given(path("/api/otp/list"))
        .respond_with(json_response(401, "unauthorized"))
        .mount(&server)
        .await;
    Mock::given(path("/api/otp/rate-limits"))
        .respond_with(json_response(429, "rate_limited").insert_header("retry-after", "20"))
        .mount(&server)
        .await;
    Mock::given(path("/api/otp/reports"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>portal</html>", "text/html"))
        .mount(&server)
        .await;
    let generic = client(&server, config(), &HttpOptions::default());

    let err = generic.list(&Filters::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
    assert_eq!(err.provider(), Some("generic"));
    assert_eq!(err.operation(), Some("list"));
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.provider_code(), Some("UNAUTHORIZED"));

    let err = generic.rate_limits().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.operation(), Some("rate_limits"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));

    let err = generic.reports(&Filters::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);

    // Nothing mounted for logs: a bare 404 on a read that names no verification is not
    // `verification_not_found`.
    let err = generic.logs(&Filters::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
    assert_eq!(err.operation(), Some("logs"));

    let err = generic
        .logs(&Filters::new().extra("", "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(err.operation(), Some("logs"));
}

#[tokio::test]
async fn reads_are_retried_after_an_answered_outage() {
    // A read is idempotent: unlike send, it is retried after the provider answered 503.
    let server = MockServer::start().await;
    Mock::given(path("/api/otp/rate-limits"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/otp/rate-limits"))
        .respond_with(json_response(200, "rate_limits_ok"))
        .mount(&server)
        .await;
    let retrying = HttpOptions::default().retry(
        RetryPolicy::standard()
            .base_delay(Duration::from_millis(10))
            .jitter(false),
    );
    let generic = client(&server, config(), &retrying);
    let limits = generic.rate_limits().await.unwrap();
    assert_eq!(limits["limit"], json!(100));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
