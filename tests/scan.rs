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

use crate::built_examples::example_binary;
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
        // Outcomes are checked by the replay suite; here only what is printed matters. Every
        // fixture runs in process (otpkit's own events are the same as over HTTP), and the
        // replay suite's over-HTTP set runs through the real transport too.
        for fixture in &fixtures {
            let _ = fixture.replay_in_process();
        }
        for fixture in crate::replay::over_http_set() {
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

/// Examples not scanned: the benchmarks and load tests (not user flows; `guard_load` also needs
/// the `redis` feature and a redis-server), the sandbox server, whose purpose is to show a
/// developer the codes it issues, and the fuzzer (200,000 cases by default, cut off by the
/// deadline here; it checks its own planted values are never printed, and `tests/fuzz.rs`
/// runs it in the suite).
const NOT_SCANNED: &[&str] = &[
    "bench",
    "fuzz",
    "guard_cost",
    "guard_load",
    "load",
    "sandbox",
];

/// The user-flow example binaries (built up to date first, see `built_examples`).
fn example_binaries() -> Vec<(String, PathBuf)> {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&sources)
        .expect("examples/ is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            match path.extension() {
                Some(ext) if ext == "rs" => Some(path.file_stem()?.to_str()?.to_owned()),
                None if path.join("main.rs").is_file() => {
                    Some(path.file_name()?.to_str()?.to_owned())
                }
                _ => None,
            }
        })
        .filter(|name| !NOT_SCANNED.contains(&name.as_str()))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no user-flow example under examples/");
    names
        .into_iter()
        .map(|name| {
            let binary = example_binary(&name);
            (name, binary)
        })
        .collect()
}

/// Starts the sign-up service example on a free port, sends a code and verifies it through
/// its HTTP API (both must succeed), stops it and returns everything it printed.
fn run_signup_service(mut command: Command, recipient: &str, purpose: Option<&str>) -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut child = command
        .env("SIGNUP_ADDR", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("signup_service starts");
    let started = Instant::now();
    let mut outcome = Err("did not start listening within 20 s".to_owned());
    while started.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(addr).is_ok() {
            outcome = signup_flow(addr, recipient, purpose);
            break;
        }
        if child.try_wait().ok().flatten().is_some() {
            outcome = Err("exited before listening".to_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if let Err(why) = outcome {
        panic!("signup_service: {why}\n{printed}");
    }
    printed
}

/// `POST /otp/send`, then `POST /otp/verify` with the handle it answered.
fn signup_flow(
    addr: std::net::SocketAddr,
    recipient: &str,
    purpose: Option<&str>,
) -> Result<(), String> {
    let sent = post_json(
        addr,
        "/otp/send",
        &serde_json::json!({"recipient": recipient, "purpose": purpose}),
    )?;
    let handle = sent
        .get("handle")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("send answered no handle: {sent}"))?;
    let verified = post_json(
        addr,
        "/otp/verify",
        &serde_json::json!({"handle": handle, "code": CODE}),
    )?;
    match verified.get("verified") {
        Some(Value::Bool(true)) => Ok(()),
        _ => Err(format!("verify answered {verified}")),
    }
}

/// One HTTP/1.1 POST of `body` as JSON; the answer's JSON body if the status is 200.
fn post_json(addr: std::net::SocketAddr, path: &str, body: &Value) -> Result<Value, String> {
    use std::io::Read;
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("{path}: {e}"))?;
    let (head, json) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{path}: no HTTP answer: {answer:?}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{path}: {head}\n{json}"));
    }
    serde_json::from_str(json).map_err(|e| format!("{path}: {e}: {json:?}"))
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
    let entry = compiled().next().expect("a provider compiled in");
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
        let purpose = entry.purpose;
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
            } else if name == "signup_service" {
                // A server: drive one send and verify through its HTTP API, then stop it.
                printed.push_str(&run_signup_service(command(&[]), recipient, purpose));
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
