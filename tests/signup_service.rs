//! The sign-up service example (`examples/support/signup_app.rs`) over real HTTP against the
//! sandbox, once with a single provider and once with a router, changing only the config file.

use std::path::Path;

use otpkit::sandbox::{Failure, Sandbox};
use otpkit::{ErrorKind, ProviderConfig, SealKey};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::signup_app;

/// An answer: status, `Retry-After`, JSON body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

/// One `POST` over a fresh connection, the raw way a browser's fetch would send it.
async fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let retry_after = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("retry-after:")
            .map(|v| v.trim().parse().unwrap())
    });
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    Answer {
        status,
        retry_after,
        body,
    }
}

/// Starts the app from the config file the way the example does (`OTPKIT_CONFIG`).
async fn serve(config_file: &Path) -> std::net::SocketAddr {
    let vars = [(
        "OTPKIT_CONFIG".to_owned(),
        config_file.display().to_string(),
    )];
    let config = ProviderConfig::from_env_vars(vars).unwrap();
    let (key, _) = SealKey::generate().unwrap();
    let app = signup_app::app(&config, key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The whole sign-up journey and its errors; `router` says which config is in the file.
async fn journey(sandbox: &Sandbox, config: Value, router: bool) {
    let file = std::env::temp_dir().join(format!(
        "otpkit-signup-{}-{router}.json",
        std::process::id()
    ));
    std::fs::write(&file, config.to_string()).unwrap();
    let addr = serve(&file).await;
    let _ = std::fs::remove_file(&file);
    let who = if router {
        "router@example.com"
    } else {
        "single@example.com"
    };

    let sent = post(
        addr,
        "/otp/send",
        &json!({"recipient": who, "purpose": "signup"}).to_string(),
    )
    .await;
    assert_eq!(sent.status, 200, "{sent:?}");
    let handle = sent.body["handle"].as_str().unwrap().to_owned();
    assert!(
        handle.starts_with("s1.") && !handle.contains("example"),
        "{handle}"
    );
    let code = sandbox.last_code(who).unwrap();

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post(
        addr,
        "/otp/verify",
        &json!({"handle": handle, "code": wrong}).to_string(),
    )
    .await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.body["error"]["kind"], "invalid_code");

    let again = post(addr, "/otp/send", &json!({"recipient": who}).to_string()).await;
    assert_eq!(again.status, 429, "{again:?}");
    assert_eq!(again.body["error"]["kind"], "cooldown");
    let wait = again.retry_after.expect("a Retry-After header");
    assert!(wait >= 1);
    assert_eq!(again.body["error"]["retry_after_secs"], wait);

    let verified = post(
        addr,
        "/otp/verify",
        &json!({"handle": handle, "code": code}).to_string(),
    )
    .await;
    assert_eq!(
        (verified.status, &verified.body),
        (200, &json!({"verified": true}))
    );

    // Bad input: 400 with a kind.
    for (path, body, kind) in [
        (
            "/otp/send",
            json!({"recipient": "not-an-address"}).to_string(),
            "invalid_recipient",
        ),
        ("/otp/send", "{\"recipient\":".to_owned(), "invalid_request"),
        (
            "/otp/send",
            json!({"recipient": who, "extra": 1}).to_string(),
            "invalid_request",
        ),
        (
            "/otp/verify",
            json!({"handle": format!("{handle}x"), "code": code}).to_string(),
            "invalid_request",
        ),
        (
            "/otp/verify",
            json!({"handle": "v1.e30", "code": code}).to_string(),
            "invalid_request",
        ),
    ] {
        let answer = post(addr, path, &body).await;
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert_eq!(answer.body["error"]["kind"], kind, "{body}");
    }

    // The provider down: a single provider answers 503; the router moves to its backup.
    let other = if router {
        "router2@example.com"
    } else {
        "single2@example.com"
    };
    sandbox
        .fail_next("thaaigroup", Failure::ServerError)
        .unwrap();
    let outage = post(addr, "/otp/send", &json!({"recipient": other}).to_string()).await;
    if router {
        assert_eq!(outage.status, 200, "{outage:?}");
        assert_eq!(sandbox.issued().last().unwrap().provider, "hyperverge");
    } else {
        assert_eq!(outage.status, 503, "{outage:?}");
        assert_eq!(outage.body["error"]["kind"], "unavailable");
    }
    sandbox.clear_failures();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signup_service_works_with_a_single_provider_and_with_a_router() {
    let sandbox = Sandbox::start().await.unwrap();
    journey(&sandbox, sandbox.config_json("thaaigroup").unwrap(), false).await;
    journey(&sandbox, crate::router::email_pair(&sandbox), true).await;
}

#[test]
fn statuses_are_ones_a_frontend_can_act_on() {
    let status = |kind| signup_app::status_for(kind).as_u16();
    for kind in ErrorKind::ALL {
        let expected = match kind {
            k if k.is_rejection() => 422,
            ErrorKind::Cooldown | ErrorKind::RateLimited => 429,
            ErrorKind::InvalidRecipient | ErrorKind::InvalidRequest | ErrorKind::Unsupported => 400,
            ErrorKind::Unavailable | ErrorKind::QuotaExceeded => 503,
            ErrorKind::Config | ErrorKind::InvalidCredentials => 500,
            _ => status(kind),
        };
        assert_eq!(status(kind), expected, "{kind}");
        assert!(status(kind) >= 400, "{kind}");
    }
}
