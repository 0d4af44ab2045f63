//! Tamper-evident handles (contract §4): a handle whose fields were edited is refused by
//! `verify`, `resend` and `status` on every provider, `invalid_request` with no request made.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use otpkit::sandbox::Sandbox;
use otpkit::{ErrorKind, SendRequest, Verification};
use serde_json::Value;

/// The token's JSON form.
fn decode(token: &str) -> Value {
    let body = token.strip_prefix("v1.").expect("a plain token");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).expect("base64")).expect("JSON")
}

/// A token from a JSON form.
fn encode(json: &Value) -> String {
    format!("v1.{}", URL_SAFE_NO_PAD.encode(json.to_string()))
}

/// Issue 9's defect: send to your own ThunderSMS number, change the plain token's recipient,
/// verify with your own code. Before tamper-evident handles this was `Ok(Verified)` for the
/// other number.
#[tokio::test]
async fn a_token_whose_recipient_was_changed_does_not_verify() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let provider = sandbox.config("thundersms").unwrap().build().unwrap();
    let mine = "+919189195123";
    let receipt = provider
        .send(&SendRequest::new(mine.parse().unwrap()))
        .await
        .expect("send");
    let code = sandbox.last_code(mine).expect("my code");

    let mut json = decode(&receipt.verification.to_token());
    json["recipient"] = "+919876543210".into();
    let forged = Verification::from_token(&encode(&json)).expect("it still parses");
    let err = provider.verify(&forged, &code).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");

    // Nothing reached the provider: my code is still unused and verifies my own handle.
    provider
        .verify(&receipt.verification, &code)
        .await
        .expect("the genuine handle verifies");
}
