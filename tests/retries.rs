//! The retry policy on the wire, for every provider: what is retried, what returns at once, and
//! that a send which may have reached the provider is never sent again (a server counts).
//! Also `Retry-After` edge cases as every provider surfaces them.

use std::time::{Duration, SystemTime};

use otpkit::{ErrorKind, HttpOptions, RetryPolicy, MAX_RETRY_AFTER};

use crate::local_server::{Action, LocalServer, Response};
use crate::table::{compiled, hang_timeout, Entry, Op};

/// Retries on, with short exact delays so the tests stay fast.
fn retrying() -> HttpOptions {
    HttpOptions::default().retry(
        RetryPolicy::standard()
            .base_delay(Duration::from_millis(10))
            .max_delay(Duration::from_millis(20))
            .jitter(false),
    )
}

/// Runs `op` of `entry` with retries on against a server following `script`; returns the
/// outcome and the server (to count requests).
async fn run_retrying(
    entry: &Entry,
    op: Op,
    script: Vec<Action>,
) -> (Result<(), otpkit::Error>, LocalServer) {
    run_with(entry, op, script, retrying()).await
}

/// [`run_retrying`] with these options.
async fn run_with(
    entry: &Entry,
    op: Op,
    script: Vec<Action>,
    options: HttpOptions,
) -> (Result<(), otpkit::Error>, LocalServer) {
    let handle = entry.handle().await;
    let server = LocalServer::scripted(script).await;
    let provider = entry.provider_with(&server.url(), &options);
    let outcome = entry.run(provider.as_ref(), op, &handle).await;
    (outcome, server)
}

#[tokio::test]
async fn a_503_then_200_on_verify_is_retried_once_and_succeeds() {
    for entry in compiled() {
        let script = vec![
            Action::Respond(Response::new(503, None, "")),
            Action::Respond(Response::json(200, entry.verify_ok)),
        ];
        let (outcome, server) = run_retrying(entry, Op::Verify, script).await;
        assert!(outcome.is_ok(), "{}: {outcome:?}", entry.id);
        assert_eq!(server.requests(), 2, "{}", entry.id);
    }
}

#[tokio::test]
async fn a_503_on_send_is_not_sent_again() {
    for entry in compiled() {
        let script = vec![
            Action::Respond(Response::new(503, None, "")),
            Action::Respond(Response::json(200, entry.send_ok)),
        ];
        let (outcome, server) = run_retrying(entry, Op::Send, script).await;
        let error = outcome.expect_err(entry.id);
        assert_eq!(
            error.kind(),
            ErrorKind::Unavailable,
            "{}: {error}",
            entry.id
        );
        assert_eq!(server.requests(), 1, "{}", entry.id);
    }
}

#[tokio::test]
async fn a_429_beyond_the_retry_after_cap_returns_at_once() {
    for entry in compiled() {
        for op in Op::ALL {
            let script = vec![Action::Respond(
                Response::new(429, None, "").header("retry-after", "3600"),
            )];
            let started = std::time::Instant::now();
            let (outcome, server) = run_retrying(entry, op, script).await;
            let error = outcome.expect_err(entry.id);
            assert_eq!(
                error.kind(),
                ErrorKind::RateLimited,
                "{} {op:?}: {error}",
                entry.id
            );
            assert_eq!(error.retry_after(), Some(Duration::from_secs(3600)));
            assert_eq!(server.requests(), 1, "{} {op:?}", entry.id);
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} {op:?}",
                entry.id
            );
        }
    }
}

/// Runs `case` for every compiled provider at once (each waits out its own short timeout).
async fn for_every_provider<F>(case: impl Fn(&'static Entry) -> F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut cases = tokio::task::JoinSet::new();
    for entry in compiled() {
        cases.spawn(case(entry));
    }
    while let Some(done) = cases.join_next().await {
        done.expect("a provider's case panicked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_may_have_arrived_is_never_sent_again() {
    for_every_provider(|entry| async move {
        let faults = [
            ("timed out after writing", Action::Hang),
            ("reset mid-body", Action::ResetMidBody),
            ("closed unanswered", Action::Close),
        ];
        for (what, fault) in faults {
            let script = vec![fault, Action::Respond(Response::json(200, entry.send_ok))];
            let (outcome, server) =
                run_with(entry, Op::Send, script, hang_timeout(retrying())).await;
            let error = outcome.expect_err(entry.id);
            assert_eq!(
                error.request_sent(),
                Some(true),
                "{} {what}: {error}",
                entry.id
            );
            assert!(!error.is_retryable(), "{} {what}: {error}", entry.id);
            // The retry loop runs inside the call: had it repeated the send, the server would
            // have counted it before the call returned.
            assert_eq!(server.requests(), 1, "{} {what}: sent twice", entry.id);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_that_timed_out_is_not_repeated() {
    for_every_provider(|entry| async move {
        let script = vec![
            Action::Hang,
            Action::Respond(Response::json(200, entry.verify_ok)),
        ];
        let (outcome, server) = run_with(entry, Op::Verify, script, hang_timeout(retrying())).await;
        let error = outcome.expect_err(entry.id);
        assert_eq!(error.kind(), ErrorKind::Timeout, "{}: {error}", entry.id);
        assert_eq!(server.requests(), 1, "{}", entry.id);
    })
    .await;
}

#[tokio::test]
async fn retry_after_headers_are_read_tolerantly() {
    let now = SystemTime::now();
    let in_two_minutes = httpdate::fmt_http_date(now + Duration::from_secs(120));
    let an_hour_ago = httpdate::fmt_http_date(now - Duration::from_secs(3600));
    // (header, lowest and highest acceptable value; None = ignored)
    let cases: Vec<(&str, Option<(Duration, Duration)>)> = vec![
        ("7", Some((Duration::from_secs(7), Duration::from_secs(7)))),
        (
            " 7 ",
            Some((Duration::from_secs(7), Duration::from_secs(7))),
        ),
        (
            &in_two_minutes,
            Some((Duration::from_secs(60), Duration::from_secs(120))),
        ),
        (&an_hour_ago, Some((Duration::ZERO, Duration::ZERO))),
        ("-5", Some((Duration::ZERO, Duration::ZERO))),
        ("10000000000", Some((MAX_RETRY_AFTER, MAX_RETRY_AFTER))),
        ("junk", None),
        ("1.5", None),
        ("", None),
    ];
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            let script = cases
                .iter()
                .map(|(value, _)| {
                    Action::Respond(Response::new(429, None, "").header("retry-after", value))
                })
                .collect();
            let server = LocalServer::scripted(script).await;
            let provider = entry.provider(&server.url());
            for (value, range) in &cases {
                let error = entry
                    .run(provider.as_ref(), op, &handle)
                    .await
                    .expect_err(entry.id);
                let context = format!("{} {op:?} Retry-After {value:?}: {error}", entry.id);
                assert_eq!(error.kind(), ErrorKind::RateLimited, "{context}");
                match (range, error.retry_after()) {
                    (None, None) => {}
                    (Some((low, high)), Some(got)) => {
                        assert!(*low <= got && got <= *high, "{context}: got {got:?}")
                    }
                    (want, got) => panic!("{context}: expected {want:?}, got {got:?}"),
                }
            }
        }
    }
}
