//! The shared exchange path across runtimes: a provider built once keeps working when it is
//! used from one tokio runtime after another (as `#[tokio::test]`s and `static` providers do).
//!
//! This checks the behaviour, not the mechanism: the dead pooled connection that the
//! per-runtime shared client guards against appeared only intermittently (about one run in
//! 25 of the fixture suite) and could not be provoked on demand here.

use std::path::Path;

use otpkit::testing::load_fixture;
use otpkit::{OtpProvider, SendRequest};

#[test]
fn one_provider_serves_runtime_after_runtime() {
    // The mock server lives on a runtime of its own for the whole test, so its connections
    // stay open while the client side's runtimes come and go.
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let fixture = load_fixture(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/thaaigroup/send_ok.json"),
    )
    .unwrap();
    let server = server_runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        fixture.mount(&server).await.unwrap();
        server
    });
    let provider: Box<dyn OtpProvider> = fixture.config(&server.uri()).unwrap().build().unwrap();
    let request =
        SendRequest::new("user@example.com".parse().unwrap()).purpose(otpkit::Purpose::Signup);
    for round in 0..4 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(provider.send(&request));
        assert!(outcome.is_ok(), "round {round}: {outcome:?}");
        drop(runtime);
    }
    let received = server_runtime.block_on(server.received_requests()).unwrap();
    assert_eq!(received.len(), 4);
}
