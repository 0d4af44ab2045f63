//! Benchmark: the same Thaaigroup send+verify exchange through otpkit and through a lean
//! hand-written `reqwest` + `serde` client, against the same local server (a child process), in
//! one process, the two contenders interleaved.
//!
//! ```text
//! cargo run --release --example bench -- [ROUNDS]        # wall clock; 7 rounds by default
//! cargo run --release --example bench -- callgrind       # instructions per call (valgrind)
//! ```
//!
//! The wall-clock mode measures on a current-thread tokio runtime and on a two-worker
//! multi-thread runtime, at 1 and 64 concurrent calls. In every round, at every level, both
//! contenders run one batch each (who goes first alternates); the ratio otpkit / hand-written
//! is taken within the round, so a machine that speeds up or slows down between rounds moves
//! both sides alike. It prints, per runtime and level, the median and the range of those
//! per-round ratios for throughput and p50 latency, and allocations per call.
//!
//! The callgrind mode runs this executable under `valgrind --tool=callgrind` four times (each
//! contender with a short and a long run of sequential calls on a current-thread runtime) and
//! prints the instructions per call: the difference of the two runs' totals divided by the
//! difference in calls, so start-up, warm-up and connection set-up cancel out. Every instruction
//! of the client process counts (the reqwest connection task included); the server runs in a
//! child process that valgrind does not trace. Instruction counts do not depend on how busy the
//! machine is.
//!
//! One call is one send followed by one verify.

#[path = "support/local_server.rs"]
mod local_server;
#[path = "support/thaaigroup_server.rs"]
mod thaaigroup_server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpkit::{OtpProvider, ProviderConfig, Purpose, SendRequest};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thaaigroup_server::{code_for, email_for, ServerProcess};

/// Counts allocations (the server runs in another process, so all of them are the client's).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only adds a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENT_ID: &str = "bench-id";
const CLIENT_SECRET: &str = "bench-secret";
const DOMAIN: &str = "example.com";
/// The total timeout both contenders use (otpkit's default `timeout_secs`).
const TIMEOUT: Duration = Duration::from_secs(10);
/// The connect timeout both contenders use (otpkit's default `connect_timeout_secs`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One contender: makes the future for call `n`.
trait Contender: Send + Sync + 'static {
    fn call(self: Arc<Self>, n: u64) -> Call;
}

/// otpkit's Thaaigroup client, as an application would use it.
struct Otpkit(Box<dyn OtpProvider>);

impl Otpkit {
    fn new(server_url: &str) -> Self {
        let config = ProviderConfig::from_json_str(&format!(
            r#"{{"provider":"thaaigroup","client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}",
                "domain":"{DOMAIN}","base_url":"{server_url}"}}"#
        ))
        .expect("config");
        Otpkit(config.build().expect("provider"))
    }
}

impl Contender for Otpkit {
    fn call(self: Arc<Self>, n: u64) -> Call {
        Box::pin(async move {
            let email = email_for(n % 1000);
            let request = SendRequest::new(email.parse().expect("email")).purpose(Purpose::Signup);
            let receipt = self.0.send(&request).await.expect("otpkit send");
            self.0
                .verify(&receipt.verification, &code_for(&email))
                .await
                .expect("otpkit verify");
        })
    }
}

/// The same exchange written by hand, as lean as a competent team writes it: one client with
/// the credential headers as default headers and the same timeouts, URLs parsed once, bodies
/// serialized from borrowed structs, answers read into typed structs.
struct HandWritten {
    client: reqwest::Client,
    send_url: Url,
    verify_url: Url,
}

#[derive(Serialize)]
struct SendBody<'a> {
    email: &'a str,
    purpose: &'a str,
}

#[derive(Serialize)]
struct VerifyBody<'a> {
    email: &'a str,
    otp: &'a str,
    purpose: &'a str,
}

#[derive(Deserialize)]
struct SendAnswer {
    ok: bool,
    #[allow(dead_code)]
    expires_in: Option<u64>,
    #[allow(dead_code)]
    cooldown: Option<u64>,
}

#[derive(Deserialize)]
struct VerifyAnswer {
    ok: bool,
    verified: Option<bool>,
}

impl HandWritten {
    fn new(server_url: &str) -> Self {
        // A hand-written integration installs a TLS provider and builds one client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The credentials come from configuration at run time, so their header values are
        // made from strings (not `from_static`), as in otpkit.
        let header = |value: &str, sensitive: bool| {
            let mut value = HeaderValue::from_str(value).expect("header value");
            value.set_sensitive(sensitive);
            value
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-client-id"),
            header(CLIENT_ID, true),
        );
        headers.insert(
            HeaderName::from_static("x-client-secret"),
            header(CLIENT_SECRET, true),
        );
        headers.insert(
            HeaderName::from_static("x-client-domain"),
            header(DOMAIN, false),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .expect("reqwest client");
        let base = Url::parse(server_url).expect("server URL");
        HandWritten {
            client,
            send_url: base.join("/api/otp/send").expect("send URL"),
            verify_url: base.join("/api/otp/verify").expect("verify URL"),
        }
    }

    async fn post<T: DeserializeOwned>(&self, url: &Url, body: &impl Serialize) -> T {
        let body = serde_json::to_vec(body).expect("json");
        let response = self
            .client
            .post(url.clone())
            .body(body)
            .send()
            .await
            .expect("hand-written request");
        assert!(response.status().is_success());
        let bytes = response.bytes().await.expect("hand-written body");
        serde_json::from_slice(&bytes).expect("hand-written answer")
    }
}

impl Contender for HandWritten {
    fn call(self: Arc<Self>, n: u64) -> Call {
        Box::pin(async move {
            let email = email_for(n % 1000);
            let body = SendBody {
                email: &email,
                purpose: "signup",
            };
            let answer: SendAnswer = self.post(&self.send_url, &body).await;
            assert!(answer.ok);
            let code = code_for(&email);
            let body = VerifyBody {
                email: &email,
                otp: &code,
                purpose: "signup",
            };
            let answer: VerifyAnswer = self.post(&self.verify_url, &body).await;
            assert!(answer.ok && answer.verified != Some(false));
        })
    }
}

/// Object-safe wrapper so both contenders share one runner.
trait ContenderDyn: Send + Sync + 'static {
    fn call_dyn(self: Arc<Self>, n: u64) -> Call;
}

impl<T: Contender> ContenderDyn for T {
    fn call_dyn(self: Arc<Self>, n: u64) -> Call {
        Contender::call(self, n)
    }
}

/// Both contenders against one server, built inside the runtime that will drive them.
fn contenders(server_url: &str) -> [Arc<dyn ContenderDyn>; 2] {
    [
        Arc::new(Otpkit::new(server_url)),
        Arc::new(HandWritten::new(server_url)),
    ]
}

/// One measured batch.
struct Batch {
    calls: u64,
    elapsed: Duration,
    allocations: u64,
    latencies: Vec<Duration>,
}

impl Batch {
    fn throughput(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn p50(&mut self) -> Duration {
        self.latencies.sort_unstable();
        self.latencies[self.latencies.len() / 2]
    }
}

async fn run_batch(contender: Arc<dyn ContenderDyn>, concurrency: u64, calls: u64) -> Batch {
    let per_task = calls / concurrency;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency as usize);
    for task in 0..concurrency {
        let contender = contender.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task as usize);
            for i in 0..per_task {
                let began = Instant::now();
                contender.clone().call_dyn(task * per_task + i).await;
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(calls as usize);
    for task in tasks {
        latencies.extend(task.await.expect("bench task"));
    }
    let elapsed = started.elapsed();
    Batch {
        calls: per_task * concurrency,
        elapsed,
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations,
        latencies,
    }
}

/// (concurrency, calls per batch).
const LEVELS: [(u64, u64); 2] = [(1, 2_000), (64, 16_000)];

/// The per-round figures of one runtime and level.
#[derive(Default)]
struct Figures {
    throughput_ratios: Vec<f64>,
    p50_ratios: Vec<f64>,
    throughputs: [Vec<f64>; 2],
    p50s: [Vec<Duration>; 2],
    allocations: [u64; 2],
    calls: [u64; 2],
}

/// Median, minimum and maximum.
fn spread<T: Copy + PartialOrd>(values: &[T]) -> (T, T, T) {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    (
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    )
}

/// Runs every round on `runtime` and prints its table.
fn measure(label: &str, runtime: tokio::runtime::Runtime, server_url: &str, rounds: usize) {
    let mut figures: Vec<Figures> = LEVELS.iter().map(|_| Figures::default()).collect();
    runtime.block_on(async {
        let contenders = contenders(server_url);
        // Warm-up: connections, lazy statics, allocator pools.
        for contender in &contenders {
            for (concurrency, calls) in LEVELS {
                run_batch(contender.clone(), concurrency, calls / 4).await;
            }
        }
        for round in 0..rounds {
            for (level, (concurrency, calls)) in LEVELS.into_iter().enumerate() {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                let mut batches: [Option<Batch>; 2] = [None, None];
                for which in order {
                    batches[which] =
                        Some(run_batch(contenders[which].clone(), concurrency, calls).await);
                }
                let [Some(mut otpkit), Some(mut hand)] = batches else {
                    unreachable!("both contenders ran")
                };
                let f = &mut figures[level];
                f.throughput_ratios
                    .push(otpkit.throughput() / hand.throughput());
                f.p50_ratios
                    .push(otpkit.p50().as_secs_f64() / hand.p50().as_secs_f64());
                for (which, batch) in [&mut otpkit, &mut hand].into_iter().enumerate() {
                    f.throughputs[which].push(batch.throughput());
                    f.p50s[which].push(batch.p50());
                    f.allocations[which] += batch.allocations;
                    f.calls[which] += batch.calls;
                }
            }
        }
    });
    drop(runtime);
    println!("\n{label}, {rounds} interleaved rounds");
    println!(
        "{:>5} {:>13} {:>13} {:>11} {:>11} {:>24} {:>24} {:>13}",
        "conc.",
        "otpkit call/s",
        "hand call/s",
        "otpkit p50",
        "hand p50",
        "throughput ratio",
        "p50 ratio",
        "allocs/call"
    );
    for ((concurrency, _), f) in LEVELS.into_iter().zip(&figures) {
        let (t, t_min, t_max) = spread(&f.throughput_ratios);
        let (p, p_min, p_max) = spread(&f.p50_ratios);
        let micros = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
        println!(
            "{concurrency:>5} {:>13.0} {:>13.0} {:>11} {:>11} {:>24} {:>24} {:>13}",
            spread(&f.throughputs[0]).0,
            spread(&f.throughputs[1]).0,
            micros(spread(&f.p50s[0]).0),
            micros(spread(&f.p50s[1]).0),
            format!("{t:.3} ({t_min:.3}–{t_max:.3})"),
            format!("{p:.3} ({p_min:.3}–{p_max:.3})"),
            format!(
                "{:.1} / {:.1}",
                f.allocations[0] as f64 / f.calls[0] as f64,
                f.allocations[1] as f64 / f.calls[1] as f64
            ),
        );
    }
}

fn wall_clock(rounds: usize) {
    let server = ServerProcess::start();
    println!(
        "otpkit vs hand-written reqwest + serde: Thaaigroup send+verify per call; ratios are \
         otpkit / hand-written, median (min–max) of the per-round ratios"
    );
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    measure("current-thread runtime", current, server.url(), rounds);
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    measure(
        "multi-thread runtime, 2 workers",
        multi,
        server.url(),
        rounds,
    );
    drop(server);
}

/// `flows <otpkit|hand-written> N`: N sequential calls, for the callgrind mode.
fn flows(which: &str, calls: u64) {
    let server = ServerProcess::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Only the measured contender is built, so the other's set-up cannot change how the
        // allocator behaves during the measured calls.
        let contender: Arc<dyn ContenderDyn> = match which {
            "otpkit" => Arc::new(Otpkit::new(server.url())),
            "hand-written" => Arc::new(HandWritten::new(server.url())),
            _ => panic!("contender: otpkit or hand-written"),
        };
        run_batch(contender, 1, calls).await;
    });
    drop(runtime);
    drop(server);
}

/// Runs `flows` under callgrind and returns the total instructions.
fn instructions(which: &str, calls: u64) -> u64 {
    let out = std::env::temp_dir().join(format!(
        "otpkit-bench-{}-{which}-{calls}.callgrind",
        std::process::id()
    ));
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe().expect("own path"))
        .args(["flows", which, &calls.to_string()])
        .status()
        .expect("valgrind runs (is it installed?)");
    assert!(status.success(), "valgrind failed: {status}");
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let total = text
        .lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a summary line");
    println!(
        "  {which:<13} {calls:>5} calls: {total:>14} instructions ({})",
        out.display()
    );
    total
}

fn callgrind() {
    const SHORT: u64 = 200;
    const LONG: u64 = 1_200;
    println!("instructions per send+verify, current-thread runtime, sequential calls");
    let per_call: Vec<f64> = ["otpkit", "hand-written"]
        .into_iter()
        .map(|which| {
            let short = instructions(which, SHORT);
            let long = instructions(which, LONG);
            (long - short) as f64 / (LONG - SHORT) as f64
        })
        .collect();
    println!(
        "otpkit {:.0}, hand-written {:.0} per call; ratio otpkit / hand-written {:.3}",
        per_call[0],
        per_call[1],
        per_call[0] / per_call[1]
    );
}

fn main() {
    thaaigroup_server::serve_if_child();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["callgrind"] => callgrind(),
        ["flows", which, calls] => flows(which, calls.parse().expect("a number of calls")),
        [] => wall_clock(7),
        [rounds] => wall_clock(rounds.parse().expect("a number of rounds")),
        _ => panic!("usage: bench [ROUNDS] | bench callgrind"),
    }
}
