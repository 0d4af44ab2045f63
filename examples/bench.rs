//! Benchmark: the same Thaaigroup send+verify exchange through otpkit and through hand-written
//! `reqwest` + `serde_json`, against the same local server (a child process), in one run.
//! Reports throughput at 1 and 64 concurrent calls, p50/p99 latency and allocations per call
//! for both, and the ratio otpkit / hand-written. The contenders alternate in rounds to cancel
//! machine noise. One call is one send followed by one verify.
//!
//! ```text
//! cargo run --release --example bench -- [ROUNDS]
//! ```

#[path = "support/local_server.rs"]
mod local_server;
#[path = "support/thaaigroup_server.rs"]
mod thaaigroup_server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpkit::{OtpProvider, ProviderConfig, Purpose, SendRequest};
use serde::Deserialize;
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

type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One contender: makes the future for call `n`.
trait Contender: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn call(self: Arc<Self>, n: u64) -> Call;
}

/// otpkit's Thaaigroup client, as an application would use it.
struct Otpkit(Box<dyn OtpProvider>);

impl Contender for Otpkit {
    fn name(&self) -> &'static str {
        "otpkit"
    }
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

/// The same exchange written by hand with reqwest and serde_json.
struct HandWritten {
    client: reqwest::Client,
    send_url: String,
    verify_url: String,
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
    async fn post<T: serde::de::DeserializeOwned>(&self, url: &str, body: &serde_json::Value) -> T {
        let response = self
            .client
            .post(url)
            .header("x-client-id", CLIENT_ID)
            .header("x-client-secret", CLIENT_SECRET)
            .header("x-client-domain", DOMAIN)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(10))
            .body(serde_json::to_vec(body).expect("json"))
            .send()
            .await
            .expect("hand-written request");
        assert!(response.status().is_success());
        let bytes = response.bytes().await.expect("hand-written body");
        serde_json::from_slice(&bytes).expect("hand-written answer")
    }
}

impl Contender for HandWritten {
    fn name(&self) -> &'static str {
        "hand-written"
    }
    fn call(self: Arc<Self>, n: u64) -> Call {
        Box::pin(async move {
            let email = email_for(n % 1000);
            let answer: SendAnswer = self
                .post(
                    &self.send_url,
                    &serde_json::json!({"email": email, "purpose": "signup"}),
                )
                .await;
            assert!(answer.ok);
            let answer: VerifyAnswer = self
                .post(
                    &self.verify_url,
                    &serde_json::json!({"email": email, "otp": code_for(&email), "purpose": "signup"}),
                )
                .await;
            assert!(answer.ok && answer.verified != Some(false));
        })
    }
}

/// One measured batch.
struct Batch {
    calls: u64,
    elapsed: Duration,
    allocations: u64,
    latencies: Vec<Duration>,
}

async fn run_batch(contender: Arc<dyn ContenderDyn>, concurrency: u64, calls: u64) -> Batch {
    let per_task = calls / concurrency;
    let mut slots: Vec<Vec<Duration>> = (0..concurrency)
        .map(|_| Vec::with_capacity(per_task as usize))
        .collect();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency as usize);
    for (task, mut latencies) in slots.drain(..).enumerate() {
        let contender = contender.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let began = Instant::now();
                contender.clone().call_dyn(task as u64 * per_task + i).await;
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

/// Object-safe wrapper so both contenders share one runner.
trait ContenderDyn: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn call_dyn(self: Arc<Self>, n: u64) -> Call;
}

impl<T: Contender> ContenderDyn for T {
    fn name(&self) -> &'static str {
        Contender::name(self)
    }
    fn call_dyn(self: Arc<Self>, n: u64) -> Call {
        Contender::call(self, n)
    }
}

#[derive(Default)]
struct Totals {
    throughputs: Vec<f64>,
    latencies: Vec<Duration>,
    allocations: u64,
    calls: u64,
}

impl Totals {
    fn add(&mut self, batch: Batch) {
        self.throughputs
            .push(batch.calls as f64 / batch.elapsed.as_secs_f64());
        self.latencies.extend(batch.latencies);
        self.allocations += batch.allocations;
        self.calls += batch.calls;
    }

    fn median_throughput(&mut self) -> f64 {
        self.throughputs.sort_by(f64::total_cmp);
        self.throughputs[self.throughputs.len() / 2]
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort();
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }

    fn allocations_per_call(&self) -> f64 {
        self.allocations as f64 / self.calls as f64
    }
}

fn main() {
    thaaigroup_server::serve_if_child();
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let server = ServerProcess::start();
    // One thread: the client's own CPU cost is what is compared, without the cross-thread
    // wake-ups that make single-call latencies bimodal on a multi-threaded runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = ProviderConfig::from_json_str(&format!(
            r#"{{"provider":"thaaigroup","client_id":"{CLIENT_ID}","client_secret":"{CLIENT_SECRET}",
                "domain":"{DOMAIN}","base_url":"{}"}}"#,
            server.url()
        ))
        .expect("config");
        let otpkit: Arc<dyn ContenderDyn> = Arc::new(Otpkit(config.build().expect("provider")));
        // A hand-written integration installs a TLS provider and builds one client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let hand: Arc<dyn ContenderDyn> = Arc::new(HandWritten {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client"),
            send_url: format!("{}/api/otp/send", server.url()),
            verify_url: format!("{}/api/otp/verify", server.url()),
        });
        let contenders = [otpkit, hand];
        let levels: [(u64, u64); 2] = [(1, 2_000), (64, 16_000)];
        // Warm-up: connections, lazy statics, allocator pools.
        for contender in &contenders {
            for (concurrency, calls) in levels {
                run_batch(contender.clone(), concurrency, calls / 4).await;
            }
        }
        let mut totals: Vec<[Totals; 2]> = (0..2).map(|_| Default::default()).collect();
        for round in 0..rounds {
            for (level, (concurrency, calls)) in levels.into_iter().enumerate() {
                // Alternate who goes first.
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for which in order {
                    let batch = run_batch(contenders[which].clone(), concurrency, calls).await;
                    totals[which][level].add(batch);
                }
            }
        }
        println!("otpkit vs hand-written reqwest + serde_json: Thaaigroup send+verify per call, {rounds} alternating rounds");
        println!(
            "{:<14} {:>5} {:>12} {:>10} {:>10} {:>12}",
            "contender", "conc.", "calls/s", "p50 µs", "p99 µs", "allocs/call"
        );
        let mut figures = Vec::new();
        for (level, (concurrency, _)) in levels.into_iter().enumerate() {
            let mut row = Vec::new();
            for (which, contender) in contenders.iter().enumerate() {
                let t = &mut totals[which][level];
                let (throughput, p50, p99, allocs) = (
                    t.median_throughput(),
                    t.percentile(0.50),
                    t.percentile(0.99),
                    t.allocations_per_call(),
                );
                println!(
                    "{:<14} {:>5} {:>12.0} {:>10.1} {:>10.1} {:>12.1}",
                    contender.name(),
                    concurrency,
                    throughput,
                    p50.as_secs_f64() * 1e6,
                    p99.as_secs_f64() * 1e6,
                    allocs
                );
                row.push((throughput, p50, p99, allocs));
            }
            figures.push((concurrency, row));
        }
        println!("ratio otpkit / hand-written (throughput: higher is better; latency, allocations: lower is better)");
        for (concurrency, row) in figures {
            let (o, h) = (row[0], row[1]);
            println!(
                "  concurrency {concurrency:>2}: throughput {:.3}  p50 {:.3}  p99 {:.3}  allocations {:.3}",
                o.0 / h.0,
                o.1.as_secs_f64() / h.1.as_secs_f64(),
                o.2.as_secs_f64() / h.2.as_secs_f64(),
                o.3 / h.3
            );
        }
    });
    drop(server);
}
