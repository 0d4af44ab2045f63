//! The shared exchange path across runtimes: a provider built once keeps working when it is
//! used from one tokio runtime after another (as `#[tokio::test]`s and `static` providers do).
//!
//! A transport keeps one client per runtime (see `Transport` in `src/http.rs`): a pooled
//! connection is driven by the runtime that opened it. The second test provokes the failure
//! that guards against on demand: a connection opened on a runtime that still exists but is not
//! running (a current-thread runtime between two `block_on`s) never answers a request sent from
//! another runtime, so a transport that shared one client across runtimes times out there. The
//! first test covers runtimes that are dropped between uses; the failure a shared client had
//! there (a request handed to a connection whose runtime is being torn down at that moment,
//! "runtime dropped the dispatch task") is a race this test cannot provoke reliably.

use std::path::Path;

use otpkit::testing::{load_fixture, Fixture};
use otpkit::{OtpProvider, SendRequest};
use tokio::runtime::Runtime;
use wiremock::MockServer;

/// The mock server, on a multi-thread runtime of its own for the whole test, so its
/// connections stay open while the client side's runtimes come and go.
fn server() -> (Runtime, MockServer, Fixture) {
    let server_runtime = Runtime::new().unwrap();
    let fixture = load_fixture(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/thaaigroup/send_ok.json"),
    )
    .unwrap();
    let server = server_runtime.block_on(async {
        let server = MockServer::start().await;
        fixture.mount(&server).await.unwrap();
        server
    });
    (server_runtime, server, fixture)
}

/// The provider, built outside any runtime, with a short timeout so a hang fails fast.
fn provider(server: &MockServer, fixture: &Fixture) -> Box<dyn OtpProvider> {
    let mut fixture = fixture.clone();
    fixture.config["timeout_secs"] = 2.into();
    fixture.config(&server.uri()).unwrap().build().unwrap()
}

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request() -> SendRequest {
    SendRequest::new("user@example.com".parse().unwrap()).purpose(otpkit::Purpose::Signup)
}

#[test]
fn one_provider_serves_runtime_after_runtime() {
    let (server_runtime, server, fixture) = server();
    let provider = provider(&server, &fixture);
    for round in 0..4 {
        let runtime = current_thread();
        let outcome = runtime.block_on(provider.send(&request()));
        assert!(outcome.is_ok(), "round {round}: {outcome:?}");
        drop(runtime);
    }
    let received = server_runtime.block_on(server.received_requests()).unwrap();
    assert_eq!(received.len(), 4);
}

#[test]
fn a_runtime_that_is_not_running_does_not_hold_another_runtimes_calls() {
    let (server_runtime, server, fixture) = server();
    let provider = provider(&server, &fixture);
    // The first runtime opens a pooled connection, then stays alive without running.
    let first = current_thread();
    let outcome = first.block_on(provider.send(&request()));
    assert!(outcome.is_ok(), "first runtime: {outcome:?}");
    // Another runtime calls meanwhile: with the first runtime's connection it would wait out
    // the timeout, as nothing drives that connection now.
    let second = current_thread();
    for round in 0..2 {
        let outcome = second.block_on(provider.send(&request()));
        assert!(
            outcome.is_ok(),
            "second runtime, round {round}: {outcome:?}"
        );
    }
    // And the first runtime, running again, still has a working client.
    let outcome = first.block_on(provider.send(&request()));
    assert!(outcome.is_ok(), "first runtime again: {outcome:?}");
    let received = server_runtime.block_on(server.received_requests()).unwrap();
    assert_eq!(received.len(), 4);
}
