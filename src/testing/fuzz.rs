//! Seeded fuzzing of every provider's answer parsing through the whole exchange path:
//! [`fuzz_parsing`] replays fixtures against an in-process stand-in for the server that answers
//! random statuses (100 to 599) and random or mutated fixture bodies, with secrets, codes and
//! recipients planted in every string, and counts panics, `Ok` from failing answers and planted
//! values in any `Display`, `Debug`, error JSON or TRACE log line.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Map, Value};

use super::Fixture;
use crate::http::{HttpOptions, HttpResponse, InProcess};
use crate::provider::OtpProvider;

/// What [`fuzz_parsing`] found. A clean run has `panics`, `unearned_ok` and `leaks` at zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FuzzReport {
    /// Cases run.
    pub cases: u64,
    /// Cases that ended `Ok`.
    pub ok: u64,
    /// Cases that ended in an error.
    pub errors: u64,
    /// Cases whose answer failed (non-2xx, or an error marker planted beside success).
    pub failing_answers: u64,
    /// Panics (each is a bug).
    pub panics: u64,
    /// `Ok` from a failing answer (each is a bug).
    pub unearned_ok: u64,
    /// Outputs holding a planted secret, code or recipient (each is a bug).
    pub leaks: u64,
    /// The first few problems, each with the case, the fixture and the offending output.
    pub problems: Vec<String>,
}

impl FuzzReport {
    /// Whether nothing went wrong.
    pub fn is_clean(&self) -> bool {
        self.panics == 0 && self.unearned_ok == 0 && self.leaks == 0
    }

    fn problem(&mut self, what: String) {
        if self.problems.len() < 20 {
            self.problems.push(what);
        }
    }
}

impl fmt::Display for FuzzReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases: {} ok, {} errors, {} failing answers; {} panics, {} ok from a failing answer, {} leaks",
            self.cases,
            self.ok,
            self.errors,
            self.failing_answers,
            self.panics,
            self.unearned_ok,
            self.leaks
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        // The remainder is below `n`, which is a usize.
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The code, recipients and their spellings planted in bodies (besides the configured secrets).
const PLANTED: &[&str] = &[
    "OTP_INVALID:482913",
    "code 482913 is wrong",
    "482913",
    "482-913",
    "4 8 2 9 1 3",
    "jane.doe@example.com",
    "jane.doe%40example.com",
    "+14155550123",
    "14155550123",
    "+919876543210/482913",
];

/// What must never be printed for [`PLANTED`].
const FORBIDDEN: &[&str] = &[
    "482913",
    "482-913",
    "4 8 2 9 1 3",
    "jane.doe",
    "4155550123",
    "9876543210",
];

/// Error markers a failing answer may carry beside its success fields.
fn markers(operation: &str) -> Vec<(&'static str, Value)> {
    let mut all = vec![
        (
            "error",
            json!({"code": "INVALID_CODE", "message": "invalid otp"}),
        ),
        ("error", json!("invalid_grant")),
        ("error_code", json!("OTP_INVALID")),
        ("errors", json!({"otp": ["The otp is invalid."]})),
        ("status", json!("failure")),
        ("success", json!(false)),
        ("ok", json!("false")),
        ("status", json!(503)),
        ("statusCode", json!("401")),
    ];
    if operation == "verify" {
        all.push(("verified", json!(false)));
        all.push(("verified", json!("false")));
    }
    all
}

/// Keys a provider's error envelope may hold, each given a planted value.
const ECHO_KEYS: &[&str] = &[
    "message",
    "error_description",
    "error_code",
    "code",
    "request_id",
    "requestId",
    "reset_at",
    "id",
    "retry_after",
];

/// One fixture ready to fuzz: its provider (answering in-process), planted and forbidden values.
struct Target {
    fixture: Fixture,
    provider: Box<dyn OtpProvider>,
    planted: Vec<String>,
    forbidden: Vec<String>,
}

/// The values planted for a provider with these secrets, and what must never be printed.
fn plants(secrets: &[String]) -> (Vec<String>, Vec<String>) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut planted: Vec<String> = PLANTED.iter().map(|s| (*s).to_owned()).collect();
    let mut forbidden: Vec<String> = FORBIDDEN.iter().map(|s| (*s).to_owned()).collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let encoded = b64.encode(secret);
        let escaped: String = secret.bytes().map(|b| format!("%{b:02X}")).collect();
        planted.extend([
            secret.clone(),
            encoded.clone(),
            escaped,
            format!("Basic {encoded}"),
        ]);
        forbidden.extend([secret.clone(), encoded]);
    }
    (planted, forbidden)
}

/// Runs `cases` seeded cases over `fixtures` (those with a response and a config that builds;
/// see [`load_fixtures`](super::load_fixtures)) and reports what it found. Each case takes a
/// fixture, answers its operation in-process with a random status from 100 to 599 (or the
/// fixture's own) and a body that is the fixture's, a mutation of it (values replaced, planted
/// values and error markers added, keys dropped, types changed, bytes cut) or random, and
/// checks: no panic, no `Ok` from a non-2xx answer or a body with an error marker, and no
/// planted secret, code or recipient in the error's `Display`, `Debug` or JSON or in the TRACE
/// log of the exchange.
///
/// ```
/// let fixtures = otpkit::testing::load_fixtures(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
///     .expect("fixtures");
/// let report = otpkit::testing::fuzz_parsing(&fixtures, 7, 200);
/// assert!(report.is_clean(), "{report}");
/// assert_eq!(report.cases, 200);
/// ```
pub fn fuzz_parsing(fixtures: &[Fixture], seed: u64, cases: u64) -> FuzzReport {
    let mut report = FuzzReport::default();
    let answer: Arc<Mutex<HttpResponse>> = Arc::new(Mutex::new(HttpResponse::new(200, "{}")));
    let targets = targets(fixtures, &answer);
    if targets.is_empty() {
        report.problem("no fixture with a response and a config that builds".to_owned());
        return report;
    }
    let log = Arc::new(Mutex::new(String::new()));
    let dispatch = tracing::Dispatch::new(Recorder(log.clone()));
    let mut runtime = new_runtime();
    let mut rng = Rng(seed);
    for case in 0..cases {
        let index = rng.below(targets.len());
        let target = &targets[index];
        let (response, failing) = respond(&mut rng, target);
        let status = response.status;
        *answer.lock().unwrap_or_else(PoisonError::into_inner) = response;
        log.lock().unwrap_or_else(PoisonError::into_inner).clear();
        report.cases += 1;
        report.failing_answers += u64::from(failing);
        let outcome = tracing::dispatcher::with_default(&dispatch, || {
            catch_unwind(AssertUnwindSafe(|| {
                runtime.block_on(target.fixture.execute(target.provider.as_ref()))
            }))
        });
        let name = format!(
            "case {case} ({} {} HTTP {status})",
            target.fixture.name(),
            target.fixture.operation
        );
        match outcome {
            Err(_) => {
                report.panics += 1;
                report.problem(format!("{name}: panicked"));
                runtime = new_runtime();
            }
            Ok(Ok(_)) => {
                report.ok += 1;
                if failing {
                    report.unearned_ok += 1;
                    report.problem(format!("{name}: Ok from a failing answer"));
                }
            }
            Ok(Err(error)) => {
                report.errors += 1;
                let printed = [
                    error.to_string(),
                    format!("{error:?}"),
                    serde_json::to_string(&error).unwrap_or_default(),
                ];
                if let Some(what) = leaked(&target.forbidden, &printed) {
                    report.leaks += 1;
                    report.problem(format!("{name}: the error printed {what}: {}", printed[1]));
                }
            }
        }
        let logged = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(what) = leaked(&target.forbidden, &[logged]) {
            report.leaks += 1;
            report.problem(format!("{name}: the log printed {what}"));
        }
    }
    report
}

fn new_runtime() -> tokio::runtime::Runtime {
    // A current-thread runtime with only the timer driver opens no file or socket; building it
    // fails only when the OS refuses the timer's resources, and the fuzzer (a testing helper,
    // never on a request path) cannot run without it anyway.
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}

/// Which forbidden value (described by its length, not quoted) one of `texts` holds.
fn leaked(forbidden: &[String], texts: &[String]) -> Option<String> {
    forbidden.iter().find_map(|value| {
        texts.iter().any(|t| t.contains(value.as_str())).then(|| {
            let head: String = value.chars().take(3).collect();
            format!("a planted value ({head}…, {} chars)", value.chars().count())
        })
    })
}

/// The fuzzable fixtures, each with its provider built to answer from `answer`.
fn targets(fixtures: &[Fixture], answer: &Arc<Mutex<HttpResponse>>) -> Vec<Target> {
    let mut targets = Vec::new();
    for fixture in fixtures {
        let operation = fixture.operation.as_str();
        if fixture.response.is_none()
            || !matches!(operation, "send" | "verify" | "resend" | "status")
        {
            continue;
        }
        let Ok(config) = fixture.config("http://127.0.0.1:9") else {
            continue;
        };
        let shared = answer.clone();
        let options = HttpOptions {
            answer: Some(InProcess(Arc::new(move |_| {
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            }))),
            ..HttpOptions::default()
        };
        let Ok(provider) = config.build_with(&options) else {
            continue;
        };
        let secrets: Vec<String> = config
            .secrets()
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        let (planted, forbidden) = plants(&secrets);
        targets.push(Target {
            fixture: fixture.clone(),
            provider,
            planted,
            forbidden,
        });
    }
    targets
}

/// The fixture's own body as JSON, when it has one.
fn fixture_json(fixture: &Fixture) -> Option<Value> {
    let response = fixture.response.as_ref()?;
    match (&response.json, &response.body) {
        (Some(json), _) => Some(json.clone()),
        (None, Some(text)) => serde_json::from_str(text).ok(),
        (None, None) => None,
    }
}

fn fixture_bytes(fixture: &Fixture) -> Vec<u8> {
    match fixture.response.as_ref() {
        Some(r) => match (&r.json, &r.body) {
            (Some(json), _) => json.to_string().into_bytes(),
            (None, Some(text)) => text.clone().into_bytes(),
            (None, None) => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// One case's answer and whether it is a failing one (non-2xx, or a marker beside success).
fn respond(rng: &mut Rng, target: &Target) -> (HttpResponse, bool) {
    let fixture = &target.fixture;
    let own_status = fixture.response.as_ref().map_or(200, |r| r.status);
    let status = match rng.below(4) {
        0 => own_status,
        1 => *rng.pick(&[
            200, 201, 204, 400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503,
        ]),
        _ => 100 + rng.below(500) as u16,
    };
    let mut marked = false;
    let body: Vec<u8> = match rng.below(10) {
        0 => fixture_bytes(fixture),
        1 => random_bytes(rng, target),
        2 => random_json(rng, target, 3).to_string().into_bytes(),
        3 => {
            // Cut somewhere: truncated JSON.
            let mut bytes = fixture_bytes(fixture);
            let at = rng.below(bytes.len() + 1);
            bytes.truncate(at);
            bytes
        }
        _ => {
            let mut json = fixture_json(fixture).unwrap_or_else(|| json!({}));
            mutate(rng, target, &mut json);
            if rng.chance(40) {
                if let Value::Object(map) = &mut json {
                    let options = markers(&fixture.operation);
                    let (key, value) = rng.pick(&options).clone();
                    map.insert(key.to_owned(), value);
                    marked = true;
                }
            }
            json.to_string().into_bytes()
        }
    };
    let mut headers = HeaderMap::new();
    if rng.chance(20) {
        let value = match rng.below(3) {
            0 => (rng.below(100_000)).to_string(),
            1 => "-5".to_owned(),
            _ => rng.pick(&target.planted).clone(),
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert("retry-after", value);
        }
    }
    if rng.chance(50) {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    let response = HttpResponse {
        status,
        headers,
        body: Bytes::from(body),
    };
    let failing = !(200..300).contains(&status) || marked;
    (response, failing)
}

/// A random JSON value, `depth` levels at most, with planted strings among the values.
fn random_json(rng: &mut Rng, target: &Target, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(rng.next() as i64 % 100_000),
        3 => json!(rng.below(1000) as f64 / 7.0),
        4 => Value::String(rng.pick(&target.planted).clone()),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, target, depth - 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(6) {
                let key = if rng.chance(70) {
                    (*rng.pick(ECHO_KEYS)).to_owned()
                } else {
                    rng.pick(&target.planted).clone()
                };
                map.insert(key, random_json(rng, target, depth - 1));
            }
            Value::Object(map)
        }
    }
}

fn random_bytes(rng: &mut Rng, target: &Target) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
    if rng.chance(50) {
        bytes.extend_from_slice(rng.pick(&target.planted).as_bytes());
    }
    bytes
}

/// Edits a JSON value in place: strings replaced by planted values, planted keys and envelope
/// fields added, keys dropped, types changed.
fn mutate(rng: &mut Rng, target: &Target, value: &mut Value) {
    match value {
        Value::String(s) if rng.chance(50) => {
            *s = match rng.below(3) {
                0 => rng.pick(&target.planted).clone(),
                1 => format!("{s} {}", rng.pick(&target.planted)),
                _ => format!("{}:{s}", rng.pick(&target.planted)),
            };
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mutate(rng, target, v)),
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                match rng.below(10) {
                    0 => {
                        map.remove(&key);
                    }
                    1 => {
                        map.insert(key, random_json(rng, target, 2));
                    }
                    _ => {
                        if let Some(v) = map.get_mut(&key) {
                            mutate(rng, target, v);
                        }
                    }
                }
            }
            for _ in 0..rng.below(4) {
                let planted = rng.pick(&target.planted).clone();
                match rng.below(3) {
                    0 => {
                        map.insert((*rng.pick(ECHO_KEYS)).to_owned(), Value::String(planted));
                    }
                    1 => {
                        map.insert("errors".to_owned(), json!({ planted.clone(): [planted] }));
                    }
                    _ => {
                        map.insert(
                            "metaData".to_owned(),
                            json!({"requestId": planted, "transactionId": planted}),
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// A tracing subscriber that writes every span's and event's fields into a buffer, so the
/// fuzzer sees what a TRACE log would print.
struct Recorder(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        span.record(&mut Fields(&mut log));
        log.push('\n');
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        values.record(&mut Fields(&mut log));
        log.push('\n');
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        event.record(&mut Fields(&mut log));
        log.push('\n');
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
