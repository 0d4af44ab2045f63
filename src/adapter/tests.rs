//! The core's unit tests on a Thaaigroup client: handles are checked before any request.

use super::*;
use crate::config::{CommonConfig, ProviderSettings};
use crate::providers::thaaigroup::{Config, ThaaigroupAdapter};

/// A Thaaigroup client whose base URL refuses connections: any request would be `transport`.
fn client() -> Client<ThaaigroupAdapter> {
    let common = CommonConfig {
        base_url: Some("http://127.0.0.1:1".into()),
        ..CommonConfig::default()
    };
    Config::new("id", "secret", "example.com")
        .build(&common, &HttpOptions::default())
        .unwrap()
}

fn stamped(json: serde_json::Value) -> Verification {
    let secrets = Config::new("id", "secret", "example.com").secrets();
    let handle = serde_json::from_value(json).unwrap();
    HandleKey::from_credentials("thaaigroup", &secrets).stamp(handle)
}

#[tokio::test]
async fn expired_handles_are_refused_before_any_request() {
    let client = client();
    let handle = stamped(serde_json::json!({
        "provider": "thaaigroup", "recipient": "jane@example.com", "expires_at": 1
    }));
    let verify = client.verify(&handle, "123456").await.unwrap_err();
    let resend = client.resend(&handle).await.unwrap_err();
    let status = client.status(&handle).await.unwrap_err();
    for err in [verify, resend, status] {
        assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
        assert_eq!(err.request_sent(), None, "{err}");
    }
}

#[tokio::test]
async fn a_resend_before_the_handles_resend_time_is_cooldown_with_the_wait() {
    let client = client();
    let handle = Verification::new("thaaigroup", "jane@example.com".parse().unwrap())
        .resendable_in(Duration::from_secs(60));
    let handle = client.handle_key.stamp(handle);
    let err = client.resend(&handle).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cooldown, "{err}");
    assert_eq!(err.operation(), Some("resend"));
    let wait = err.retry_after().unwrap();
    assert!(wait > Duration::from_secs(58) && wait <= Duration::from_secs(61));
    // Past it, the core sends again (here: to a refused port, so `transport`).
    let due = client.handle_key.stamp(
        Verification::new("thaaigroup", "jane@example.com".parse().unwrap())
            .resendable_in(Duration::ZERO),
    );
    let err = client.resend(&due).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.operation(), Some("resend"));
}

#[tokio::test]
async fn handles_from_another_key_are_refused() {
    let handle = stamped(serde_json::json!({
        "provider": "thaaigroup", "recipient": "jane@example.com"
    }));
    let rotated = Config::new("id", "rotated", "example.com")
        .build(&CommonConfig::default(), &HttpOptions::default())
        .unwrap();
    let err = rotated.verify(&handle, "123456").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    // A client made without configuration has a key of its own.
    let bare = Client::new(client().adapter.clone(), client().transport.clone());
    let err = bare.verify(&handle, "123456").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
}
