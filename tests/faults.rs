//! Faults on the wire, for every provider and both operations, against the raw local server:
//! refused connections, silence, trickled headers, resets mid-body, huge bodies, and bodies of
//! the wrong kind with success and error statuses. Each must give the documented `ErrorKind`
//! within the configured timeout plus a margin, never panic, and keep memory bounded.

use std::time::{Duration, Instant};

use otpkit::parse::kind_for_status;
use otpkit::{ErrorKind, HttpOptions, Verification};
use tokio::task::JoinSet;

use crate::local_server::{refused_url, Action, LocalServer, Response};
use crate::table::{compiled, Entry, Op};

/// The configured timeout (see `Entry::config_json`) plus a generous margin for a loaded
/// machine. The only timing assertion in the suite.
const DEADLINE: Duration = Duration::from_secs(1 + 9);

/// What a fault must produce.
#[derive(Debug, Clone, Copy)]
struct Expect {
    kind: ErrorKind,
    /// `Some(sent)` when the error must say whether the request may have left.
    sent: Option<bool>,
}

/// Runs `op` of `entry` against `base_url` and checks the error.
async fn check_fault(
    entry: &'static Entry,
    op: Op,
    handle: &Verification,
    base_url: &str,
    what: &str,
    expect: Expect,
) {
    let provider = entry.provider(base_url);
    let started = Instant::now();
    let outcome =
        tokio::time::timeout(DEADLINE * 2, entry.run(provider.as_ref(), op, handle)).await;
    let elapsed = started.elapsed();
    let context = format!("{} {op:?} {what}", entry.id);
    let error = match outcome {
        Err(_) => panic!("{context}: no answer after {:?}", DEADLINE * 2),
        Ok(Ok(())) => panic!("{context}: succeeded, expected {:?}", expect.kind),
        Ok(Err(error)) => error,
    };
    assert_eq!(error.kind(), expect.kind, "{context}: {error}");
    assert_eq!(error.provider(), Some(entry.id), "{context}: {error}");
    if let Some(sent) = expect.sent {
        assert_eq!(error.request_sent(), Some(sent), "{context}: {error}");
    }
    assert!(elapsed < DEADLINE, "{context}: took {elapsed:?}");
}

fn expect(kind: ErrorKind, sent: Option<bool>) -> Expect {
    Expect { kind, sent }
}

/// Connection-level faults for one provider and operation, run concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_give_typed_errors_in_time() {
    let mut tasks = JoinSet::new();
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            let cases: Vec<(&str, Option<Action>, Expect)> = vec![
                ("refused", None, expect(ErrorKind::Transport, Some(false))),
                (
                    "silent",
                    Some(Action::Hang),
                    expect(ErrorKind::Timeout, Some(true)),
                ),
                (
                    "trickled headers",
                    Some(Action::TrickleHeaders(Duration::from_millis(50))),
                    expect(ErrorKind::Timeout, Some(true)),
                ),
                (
                    "reset mid-body",
                    Some(Action::ResetMidBody),
                    expect(ErrorKind::Transport, Some(true)),
                ),
                (
                    "closed unanswered",
                    Some(Action::Close),
                    expect(ErrorKind::Transport, Some(true)),
                ),
            ];
            for (what, action, expected) in cases {
                let handle = handle.clone();
                tasks.spawn(async move {
                    match action {
                        None => {
                            let url = refused_url().await;
                            check_fault(entry, op, &handle, &url, what, expected).await;
                        }
                        Some(action) => {
                            let server = LocalServer::scripted(vec![action]).await;
                            check_fault(entry, op, &handle, &server.url(), what, expected).await;
                            // Retries are off by default: the fault was met exactly once.
                            assert_eq!(server.requests(), 1, "{} {op:?} {what}", entry.id);
                        }
                    }
                });
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a fault case panicked");
    }
}

/// The high-water mark of this process's resident memory, in bytes.
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_bodies_are_cut_off_and_memory_stays_bounded() {
    const HUGE: u64 = 64 * 1024 * 1024;
    let before = peak_rss_bytes();
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            for declared in [true, false] {
                let server = LocalServer::scripted(vec![Action::HugeBody {
                    bytes: HUGE,
                    declared,
                }])
                .await;
                let what = format!("64 MiB body (declared: {declared})");
                check_fault(
                    entry,
                    op,
                    &handle,
                    &server.url(),
                    &what,
                    expect(ErrorKind::UnexpectedResponse, None),
                )
                .await;
                // The client stopped reading: at most the cap plus socket buffers went out.
                assert!(
                    server.huge_bytes_written() < HUGE / 4,
                    "{} {op:?} {what}: {} bytes were written",
                    entry.id,
                    server.huge_bytes_written()
                );
            }
        }
    }
    let growth = peak_rss_bytes().saturating_sub(before);
    assert!(
        growth < 32 * 1024 * 1024,
        "peak memory grew by {growth} bytes reading capped bodies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_content_length_with_a_raised_cap_reserves_nothing_it_has_not_read() {
    // A caller who raised the cap, and a server (or a man in the middle) that announces a body
    // far larger than memory and sends a few bytes: the reader must not set memory aside for
    // the announced length (48 GiB aborted the process), only for what arrived.
    let options = HttpOptions::default().max_body_bytes(usize::MAX);
    for declared in [48 << 30, 1 << 60, u64::MAX] {
        for entry in compiled() {
            let handle = entry.handle().await;
            let body = format!("{:<4096}", entry.send_ok).into_bytes();
            let server = LocalServer::scripted(vec![Action::FalseLength { declared, body }]).await;
            let provider = entry.provider_with(&server.url(), &options);
            for op in Op::ALL {
                let context = format!("{} {op:?} declaring {declared} bytes", entry.id);
                let error = entry
                    .run(provider.as_ref(), op, &handle)
                    .await
                    .expect_err(&context);
                // The body ended early: a connection failure after the request left.
                assert_eq!(error.kind(), ErrorKind::Transport, "{context}: {error}");
                assert_eq!(error.request_sent(), Some(true), "{context}: {error}");
            }
        }
    }
}

/// Bodies that are not the provider's JSON.
const BAD_BODIES: &[(&str, Option<&str>, &str)] = &[
    (
        "html",
        Some("text/html"),
        "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
    ),
    ("text", Some("text/plain"), "upstream connect error"),
    ("empty", None, ""),
    (
        "truncated",
        Some("application/json"),
        r#"{"ok": true, "mess"#,
    ),
    (
        "wrong-shape object",
        Some("application/json"),
        r#"{"unexpected": {"nested": [1, 2, 3]}}"#,
    ),
    ("wrong-shape array", Some("application/json"), "[1, 2, 3]"),
    ("wrong-shape string", Some("application/json"), r#""ok""#),
];

const STATUSES: &[u16] = &[200, 400, 401, 403, 404, 422, 429, 500, 502, 503, 504];

fn is_json_object(body: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body).is_ok()
}

#[tokio::test]
async fn bad_bodies_are_classified_by_status() {
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            let mut cases = Vec::new();
            for &status in STATUSES {
                for &(what, content_type, body) in BAD_BODIES {
                    cases.push((
                        status,
                        what,
                        body,
                        Response::new(status, content_type, body),
                    ));
                }
            }
            let script = cases
                .iter()
                .map(|(_, _, _, response)| Action::Respond(response.clone()))
                .collect();
            // One keep-alive connection answers every case in turn.
            let server = LocalServer::scripted(script).await;
            let provider = entry.provider(&server.url());
            for (status, what, body, _) in &cases {
                let context = format!("{} {op:?} {what} with HTTP {status}", entry.id);
                let error = entry
                    .run(provider.as_ref(), op, &handle)
                    .await
                    .expect_err(&context);
                let documented = match (*status, op) {
                    (200, _) => ErrorKind::UnexpectedResponse,
                    // A JSON 404 without a code names no verification; an HTML or text 404
                    // is a wrong address.
                    (404, Op::Verify) if entry.verify_404_is_not_found && is_json_object(body) => {
                        ErrorKind::VerificationNotFound
                    }
                    _ => kind_for_status(*status),
                };
                assert_eq!(error.kind(), documented, "{context}: {error}");
                assert_eq!(error.status(), Some(*status), "{context}: {error}");
                assert_eq!(error.provider(), Some(entry.id), "{context}: {error}");
                // Bodies are described, never quoted.
                assert!(
                    !error.message().contains("Bad Gateway</h1>"),
                    "{context}: {error}"
                );
            }
            assert_eq!(server.requests(), cases.len() as u64);
        }
    }
}
