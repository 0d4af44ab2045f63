//! Faults on the wire, for every provider and both operations, against the raw local server:
//! refused connections, silence, trickled headers, resets mid-body, huge bodies, and bodies of
//! the wrong kind with success and error statuses. Each must give the documented `ErrorKind`
//! within the configured timeout plus a margin, never panic, and keep memory bounded (measured
//! in child processes, each running one memory case alone).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::table::kind_for_status;
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

/// The size of the huge bodies.
const HUGE: u64 = 64 * 1024 * 1024;

/// The body read in full to show the measurement sees memory use: above the growth the
/// capped reads may cause (32 MiB), kept smaller than [`HUGE`] because a debug build reads it
/// slowly.
const READ_IN_FULL: u64 = 40 * 1024 * 1024;

/// Names the mode a memory child runs in (see [`peak_memory_of_child`]).
const MEMORY_CHILD: &str = "OTPKIT_MEMORY_CHILD";

/// What a memory child does, every provider and operation with a declared and an undeclared
/// body: `control` with 1 KiB bodies, `capped` with 64 MiB bodies and the default cap,
/// `uncapped` with one 40 MiB body and the cap raised above it (so it is read in full).
#[derive(Debug, Clone, Copy, PartialEq)]
enum MemoryMode {
    Control,
    Capped,
    Uncapped,
}

impl MemoryMode {
    const ALL: [MemoryMode; 3] = [
        MemoryMode::Control,
        MemoryMode::Capped,
        MemoryMode::Uncapped,
    ];

    fn name(self) -> &'static str {
        match self {
            MemoryMode::Control => "control",
            MemoryMode::Capped => "capped",
            MemoryMode::Uncapped => "uncapped",
        }
    }
}

#[test]
fn huge_bodies_are_cut_off_and_memory_stays_bounded() {
    if let Ok(mode) = std::env::var(MEMORY_CHILD) {
        let mode = MemoryMode::ALL
            .into_iter()
            .find(|m| m.name() == mode)
            .expect("a known memory mode");
        // A child that hangs must not hang its parent, which waits for its output to end.
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(120));
            eprintln!("the memory child ran out of time");
            std::process::exit(3);
        });
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(read_bodies(mode));
        return report_and_wait();
    }
    // Each mode runs alone in a child process of its own, whose peak memory is its own.
    let [control, capped, uncapped] = MemoryMode::ALL.map(peak_memory_of_child);
    const MIB: u64 = 1024 * 1024;
    // The measurement sees a body read in full grow the peak past the bound checked next;
    // otherwise that check would prove nothing.
    assert!(
        uncapped.saturating_sub(control) >= 32 * MIB,
        "reading a 40 MiB body raised the peak by only {} bytes ({uncapped} against {control}): \
         the measurement does not see memory use",
        uncapped.saturating_sub(control)
    );
    assert!(
        capped.saturating_sub(control) < 32 * MIB,
        "capped 64 MiB bodies raised the peak by {} bytes ({capped} against {control})",
        capped.saturating_sub(control)
    );
}

/// The memory child's work.
async fn read_bodies(mode: MemoryMode) {
    for entry in compiled() {
        let handle = entry.handle().await;
        for op in Op::ALL {
            for declared in [true, false] {
                let bytes = match mode {
                    MemoryMode::Control => 1024,
                    MemoryMode::Capped => HUGE,
                    MemoryMode::Uncapped => READ_IN_FULL,
                };
                let server =
                    LocalServer::scripted(vec![Action::HugeBody { bytes, declared }]).await;
                let what = format!("{bytes}-byte body (declared: {declared})");
                if mode == MemoryMode::Uncapped {
                    let raised = HttpOptions::default().max_body_bytes(2 * HUGE as usize);
                    let provider = entry.provider_with(&server.url(), &raised);
                    let error = entry.run(provider.as_ref(), op, &handle).await.unwrap_err();
                    assert_eq!(
                        error.kind(),
                        ErrorKind::UnexpectedResponse,
                        "{what}: {error}"
                    );
                    assert_eq!(
                        server.huge_bytes_written(),
                        bytes,
                        "{what}: not read in full"
                    );
                    return;
                }
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
}

/// Tells the parent the work is done, then waits for it to read this process's peak memory
/// and close stdin.
fn report_and_wait() {
    println!("\n{MEMORY_CHILD}: done");
    std::io::stdout().flush().expect("stdout");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Runs this test alone in a child process in `mode` and returns the child's peak resident
/// memory (`VmHWM` in `/proc/<pid>/status`, read while the child waits after its work).
/// Panics where it cannot measure: a memory check that cannot measure must not pass.
fn peak_memory_of_child(mode: MemoryMode) -> u64 {
    let test = "faults::huge_bodies_are_cut_off_and_memory_stays_bounded";
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(MEMORY_CHILD, mode.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("memory child starts");
    let stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let mut line = String::new();
    let mut peak = None;
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains(MEMORY_CHILD) {
            let status = format!("/proc/{}/status", child.id());
            let text = std::fs::read_to_string(&status).unwrap_or_else(|e| {
                panic!("cannot measure the child's peak memory ({status}: {e})")
            });
            peak = Some(vm_hwm_bytes(&text).unwrap_or_else(|| {
                panic!("cannot measure the child's peak memory (no VmHWM in {status})")
            }));
            drop(child.stdin.take());
        }
        printed.push_str(&line);
        line.clear();
    }
    let status = child.wait().expect("memory child ends");
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "the {} memory child failed:\n{printed}{stderr}",
        mode.name()
    );
    peak.unwrap_or_else(|| {
        panic!(
            "the {} memory child did not report:\n{printed}{stderr}",
            mode.name()
        )
    })
}

/// `VmHWM` (the peak resident set size) from a `/proc/<pid>/status` text, in bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    (kb > 0).then_some(kb * 1024)
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
