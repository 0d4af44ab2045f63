//! What the guard adds to a send: the p50 time of one `send` through an unguarded sandbox
//! provider, through the guard with the memory store and (with the `redis` feature) through
//! the guard with Redis on loopback, all in one process against one sandbox. The variants run
//! interleaved, round after round, so machine noise hits them alike; the guard checks both
//! budgets, the in-flight mark and its release on every send (the full path).
//!
//! ```text
//! cargo run --release --example guard_cost --features redis -- [ROUNDS] [SENDS_PER_ROUND]
//! ```
//!
//! Prints one JSON object: each variant's p50 in microseconds, the p50 added by the guard,
//! and the spread of the added p50 over the rounds (min and max of the per-round figures).

#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use otpkit::guard::{Guard, GuardConfig, MemoryStore};
use otpkit::sandbox::{Sandbox, SandboxOptions};
use otpkit::{OtpProvider, SendRequest};

const RULES: &str = "recipient_sends = [1000000, 3600]\nip_sends = [1000000, 3600]";

fn p50(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn micros(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// `a - b` in microseconds, to one decimal.
fn added(a: Duration, b: Duration) -> f64 {
    ((a.as_secs_f64() - b.as_secs_f64()) * 1e7).round() / 10.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let sends_per_round: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(300);

    let sandbox = Sandbox::with_options(
        SandboxOptions::default()
            .resend_cooldown(Duration::ZERO)
            .quota(u64::MAX),
    )
    .await?;
    let build = || sandbox.config("generic").and_then(|c| c.build());
    let rules = GuardConfig::from_toml_str(RULES)?;
    #[cfg_attr(not(feature = "redis"), allow(unused_mut))] // the Redis variant is pushed below
    let mut variants: Vec<(&str, Box<dyn OtpProvider>)> = vec![
        ("unguarded", build()?),
        (
            "memory",
            Box::new(Guard::with_store(
                build()?,
                &rules,
                Arc::new(MemoryStore::new()),
            )),
        ),
    ];
    #[cfg(feature = "redis")]
    let _server = {
        let server = redis_server::RedisServer::start()?;
        let store: Arc<dyn otpkit::guard::Store> = Arc::new(otpkit::guard::RedisStore::new(
            &server.url(),
            Duration::from_secs(10),
            Duration::from_secs(5),
        )?);
        variants.push((
            "redis",
            Box::new(Guard::with_store(build()?, &rules, store)),
        ));
        server
    };
    #[cfg(not(feature = "redis"))]
    eprintln!("guard_cost: built without the `redis` feature; measuring the memory store only");

    let mut counter = 0u64;
    let mut next = || {
        counter += 1;
        let request = SendRequest::new(format!("+5511{:09}", counter).parse().expect("E.164"));
        request.end_user_ip(format!("203.0.113.{}", counter % 250).parse().expect("ip"))
    };
    // Warm up every variant (connections, pools, script cache).
    for (_, provider) in &variants {
        for _ in 0..50 {
            provider.send(&next()).await?;
        }
    }
    let mut all: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    let mut round_p50s: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (index, (_, provider)) in variants.iter().enumerate() {
            let mut samples = Vec::with_capacity(sends_per_round);
            for _ in 0..sends_per_round {
                let request = next();
                let started = Instant::now();
                provider.send(&request).await?;
                samples.push(started.elapsed());
            }
            all[index].extend_from_slice(&samples);
            round_p50s[index].push(p50(&mut samples));
        }
    }
    let base = p50(&mut all[0]);
    let mut out = serde_json::Map::new();
    out.insert("rounds".into(), rounds.into());
    out.insert("sends_per_round".into(), sends_per_round.into());
    for (index, (name, _)) in variants.iter().enumerate() {
        let p = p50(&mut all[index]);
        out.insert(format!("{name}_p50_us"), micros(p).into());
        if index > 0 {
            out.insert(format!("{name}_added_p50_us"), added(p, base).into());
            let added: Vec<f64> = round_p50s[index]
                .iter()
                .zip(&round_p50s[0])
                .map(|(g, u)| added(*g, *u))
                .collect();
            let min = added.iter().copied().fold(f64::INFINITY, f64::min);
            let max = added.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out.insert(
                format!("{name}_added_p50_us_range"),
                serde_json::json!([min, max]),
            );
        }
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
