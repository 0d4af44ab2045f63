//! Secret and personal-data scan: everything otpkit prints at `TRACE` while replaying every
//! fixture, running every provider's send+verify, and running the examples, must hold no
//! configured secret, no code, and no unmasked email or phone number.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otpkit::testing::{fill_placeholders, load_fixtures};
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use crate::local_server::{Action, LocalServer, Response};
use crate::secrets::SECRET_KEYS;
use crate::table::{compiled, CODE};

/// A writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What must never be printed.
#[derive(Default)]
struct Forbidden(Vec<(String, &'static str)>);

impl Forbidden {
    fn add(&mut self, value: &str, what: &'static str) {
        if value.len() >= 4 && !self.0.iter().any(|(v, _)| v == value) {
            self.0.push((value.to_owned(), what));
        }
    }

    fn check(&self, where_: &str, text: &str) {
        for (value, what) in &self.0 {
            if let Some(at) = find_token(text, value) {
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                panic!(
                    "{where_} printed a {what} ({value:?}) in: {}",
                    &text[start..end]
                );
            }
        }
    }
}

/// Where `value` stands in `text` as a whole token: a code inside a longer run of digits (a
/// timestamp's nanoseconds, a port) or a word inside a longer word is not a leak of it.
fn find_token(text: &str, value: &str) -> Option<usize> {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(value).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + value.len()..].chars().next();
        let first = value.chars().next();
        let last = value.chars().next_back();
        // Only a boundary between two alphanumerics of the same class joins the token.
        let same = |a: Option<char>, b: Option<char>| match (a, b) {
            (Some(a), Some(b)) => a.is_ascii_digit() == b.is_ascii_digit(),
            _ => false,
        };
        let joined_before = joins(before) && same(before, first);
        let joined_after = joins(after) && same(after, last);
        !(joined_before || joined_after)
    })
}

/// Runs `work` on a current-thread runtime with a TRACE subscriber writing into a buffer.
pub(crate) fn capture_trace<F: std::future::Future<Output = ()>>(work: F) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        // No timestamps: their microseconds are six digits that can equal a planted code.
        .without_time()
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work);
    capture.text()
}

/// Adds a fixture's secrets, code and recipients to the forbidden list.
fn forbid_fixture(forbidden: &mut Forbidden, config: &Value, input: &Value) {
    if let Value::Object(map) = config {
        for (key, value) in map {
            let credential = SECRET_KEYS.contains(&key.as_str());
            if let (true, Some(value)) = (credential, value.as_str()) {
                forbidden.add(value, "configured secret");
            }
        }
    }
    if let Some(code) = input.get("code").and_then(Value::as_str) {
        if code.len() >= 4 && code.bytes().all(|b| b.is_ascii_digit()) {
            forbidden.add(code, "code");
        }
    }
    let mut recipients = vec![input.get("recipient").and_then(Value::as_str)];
    recipients.push(input.pointer("/handle/recipient").and_then(Value::as_str));
    for recipient in recipients.into_iter().flatten() {
        forbidden.add(recipient, "unmasked recipient");
    }
}

/// Runs the named test of this binary alone in a child process, where no other test's thread
/// can race the scoped subscriber (tracing caches callsite interest process-wide, and a test
/// running beside it at the same moment can leave events unrecorded).
pub(crate) fn in_own_process(test: &str, work: impl FnOnce()) {
    if std::env::var_os("OTPKIT_SCAN_CHILD").is_some() {
        return work();
    }
    let output = Command::new(std::env::current_exe().expect("own path"))
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env("OTPKIT_SCAN_CHILD", "1")
        .output()
        .expect("test child runs");
    assert!(
        output.status.success(),
        "{test} failed in its own process:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{test} did not run in the child"
    );
}

#[test]
fn fixtures_and_flows_print_no_secret_code_or_contact_at_trace() {
    in_own_process(
        "scan::fixtures_and_flows_print_no_secret_code_or_contact_at_trace",
        scan_fixtures_and_flows,
    );
}

fn scan_fixtures_and_flows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(&root).expect("fixtures load");
    let mut forbidden = Forbidden::default();
    for fixture in &fixtures {
        let config = fill_placeholders(&fixture.config, "http://127.0.0.1:9");
        forbid_fixture(
            &mut forbidden,
            &config,
            &Value::Object(fixture.input.clone()),
        );
    }
    for entry in compiled() {
        for secret in entry.secrets() {
            forbidden.add(&secret, "configured secret");
        }
        forbidden.add(entry.recipient, "unmasked recipient");
    }
    forbidden.add(CODE, "code");
    let printed = capture_trace(async {
        for fixture in &fixtures {
            // Outcomes are checked by the replay suite; here only what is printed matters.
            let _ = fixture.replay().await;
        }
        for entry in compiled() {
            let server = LocalServer::scripted(vec![
                Action::Respond(Response::json(200, entry.send_ok)),
                Action::Respond(Response::json(200, entry.verify_ok)),
                Action::Respond(Response::json(
                    400,
                    format!(
                        r#"{{"message":"code {CODE} for {} rejected"}}"#,
                        entry.recipient
                    ),
                )),
            ])
            .await;
            let provider = entry.provider(&server.url());
            let receipt = provider.send(&entry.send_request()).await.expect(entry.id);
            provider
                .verify(&receipt.verification, CODE)
                .await
                .expect(entry.id);
            let error = provider
                .verify(&receipt.verification, CODE)
                .await
                .unwrap_err();
            tracing::info!(%error, "final error");
        }
    });
    // The capture works: otpkit's own events are in it.
    assert!(
        printed.contains("provider answered"),
        "nothing captured:\n{printed}"
    );
    assert!(
        printed.contains("final error"),
        "nothing captured:\n{printed}"
    );
    // Recipients are logged, masked.
    assert!(
        printed.contains("***@example.com"),
        "no masked recipient:\n{printed}"
    );
    forbidden.check("the fixture suite at TRACE", &printed);
}

/// Examples not scanned: a long benchmark and load test (not user flows), and the sandbox
/// server, whose purpose is to show a developer the codes it issues.
const NOT_SCANNED: &[&str] = &["bench", "load", "sandbox"];

/// The built example binaries (`cargo test` builds every example into `target/*/examples`).
fn example_binaries() -> Vec<(String, PathBuf)> {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let built = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples")))
        .unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(&sources)
        .map(|dir| {
            dir.filter_map(|entry| {
                let path = entry.ok()?.path();
                match path.extension() {
                    Some(ext) if ext == "rs" => Some(path.file_stem()?.to_str()?.to_owned()),
                    None if path.join("main.rs").is_file() => {
                        Some(path.file_name()?.to_str()?.to_owned())
                    }
                    _ => None,
                }
            })
            .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|name| !NOT_SCANNED.contains(&name.as_str()))
        .filter_map(|name| {
            let binary = built.join(&name);
            if binary.is_file() {
                Some((name, binary))
            } else {
                eprintln!(
                    "NOTE: example `{name}` is not built at {}; not scanned",
                    binary.display()
                );
                None
            }
        })
        .collect()
}

/// Runs a binary with a deadline, returning everything it printed.
fn run_with_deadline(mut command: Command, deadline: Duration) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("example starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_print_no_secret_code_or_contact_at_trace() {
    let examples = example_binaries();
    if examples.is_empty() {
        eprintln!("NOTE: no user-flow example is built yet (e.g. examples/otpkit.rs, examples/quickstart.rs); none scanned");
        return;
    }
    let Some(entry) = compiled().next() else {
        return;
    };
    let server = LocalServer::start(move |request, _| {
        let body = if request.path.contains("verify") {
            entry.verify_ok
        } else {
            entry.send_ok
        };
        Action::Respond(Response::json(200, body))
    })
    .await;
    let mut env: Vec<(String, String)> = entry
        .config_json(&server.url())
        .into_iter()
        .map(|(key, value)| {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            (format!("OTPKIT_{}", key.to_ascii_uppercase()), value)
        })
        .collect();
    env.push(("RUST_LOG".into(), "trace".into()));
    let mut forbidden = Forbidden::default();
    for secret in entry.secrets() {
        forbidden.add(&secret, "configured secret");
    }
    forbidden.add(entry.recipient, "unmasked recipient");
    forbidden.add(CODE, "code");
    for (name, binary) in examples {
        let env = env.clone();
        let recipient = entry.recipient;
        let printed = tokio::task::spawn_blocking(move || {
            let command = |args: &[&str]| {
                let mut command = Command::new(&binary);
                command
                    .args(args)
                    .env_remove("OTPKIT_CONFIG")
                    .envs(env.clone());
                command
            };
            let mut printed = String::new();
            if name == "otpkit" {
                // The contract's command line: send, then verify with the handle it printed.
                let sent =
                    run_with_deadline(command(&["send", recipient]), Duration::from_secs(30));
                let handle = sent
                    .lines()
                    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                    .find_map(|v| v.get("handle")?.as_str().map(str::to_owned));
                printed.push_str(&sent);
                match handle {
                    Some(handle) => printed.push_str(&run_with_deadline(
                        command(&["verify", "--handle", &handle, CODE]),
                        Duration::from_secs(30),
                    )),
                    None => panic!("`otpkit send` printed no handle:\n{sent}"),
                }
            } else {
                printed.push_str(&run_with_deadline(command(&[]), Duration::from_secs(30)));
            }
            (name, printed)
        })
        .await
        .expect("example run");
        let (name, printed) = printed;
        eprintln!("scanned example `{name}`: {} bytes printed", printed.len());
        forbidden.check(&format!("example `{name}` at RUST_LOG=trace"), &printed);
    }
}

#[test]
fn codes_are_found_only_as_whole_tokens() {
    assert_eq!(find_token("at 00:48:03.143214Z", "4321"), None);
    assert_eq!(find_token("code 4321.", "4321"), Some(5));
    assert_eq!(find_token("otp=4321&x", "4321"), Some(4));
    assert_eq!(find_token("\"S3cr3t-x\"", "S3cr3t-x"), Some(1));
    assert_eq!(find_token("Bearer S3cr3t-x", "S3cr3t-x"), Some(7));
}
