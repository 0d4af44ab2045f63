//! Load through the guard with a Redis store: 10,000 sends against the in-process sandbox by
//! eight independent guard instances (each its own HTTP client and Redis connections, as
//! separate processes would have), 64 at a time, with `recipient_sends = [5, 3600]`. Every
//! recipient gets five sends and then a sixth, which must be refused (`guard_recipient`);
//! any other error, or a count at the sandbox other than 10,000, fails the run.
//!
//! ```text
//! cargo run --release --example guard_load --features redis -- [SENDS] [redis://URL]
//! ```
//!
//! Without a URL it starts its own `redis-server` on a free loopback port (no persistence).
//! Prints one JSON summary and exits non-zero on any unexpected outcome.

#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use otpkit::guard::{Guard, GuardConfig, RedisStore};
use otpkit::sandbox::{Sandbox, SandboxOptions};
use otpkit::{OtpProvider, SendRequest};

const INSTANCES: usize = 8;
const CONCURRENCY: usize = 64;
const PER_RECIPIENT: usize = 5;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let sends: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let (_server, url) = match args.next() {
        Some(url) => (None, url),
        None => match redis_server::RedisServer::start() {
            Ok(server) => {
                let url = server.url();
                (Some(server), url)
            }
            Err(e) => {
                eprintln!("guard_load: {e}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    match run(sends, &url).await {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("guard_load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(sends: usize, url: &str) -> Result<serde_json::Value, String> {
    let sandbox = Sandbox::with_options(
        SandboxOptions::default()
            .resend_cooldown(Duration::ZERO)
            .quota(u64::MAX),
    )
    .await
    .map_err(|e| e.to_string())?;
    let rules = GuardConfig::from_toml_str(&format!(
        "store = \"{url}\"\nrecipient_sends = [{PER_RECIPIENT}, 3600]\nip_sends = [1000000, 3600]"
    ))
    .map_err(|e| e.to_string())?;
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        let inner = sandbox
            .config("generic")
            .and_then(|c| c.build())
            .map_err(|e| e.to_string())?;
        let store = RedisStore::new(url, Duration::from_secs(10), Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        instances.push(Arc::new(Guard::with_store(inner, &rules, Arc::new(store))));
    }
    // Start from an empty budget even when pointed at a Redis that served an earlier run.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        % 1_000;
    let recipients = sends.div_ceil(PER_RECIPIENT);
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let tasks: Vec<_> = (0..recipients)
        .map(|r| {
            let guard = Arc::clone(&instances[r % INSTANCES]);
            let limit = Arc::clone(&limit);
            tokio::spawn(async move {
                let _permit = limit.acquire().await.map_err(|e| e.to_string())?;
                let who = format!("+55{run_id:03}{r:09}");
                let ip = format!("203.0.{}.{}", (r / 250) % 250, r % 250);
                let mut sent = 0usize;
                for i in 0..=PER_RECIPIENT {
                    let request = SendRequest::new(who.parse().map_err(|e| format!("{e}"))?)
                        .end_user_ip(ip.parse().map_err(|_| "ip".to_owned())?);
                    match guard.send(&request).await {
                        Ok(_) if i < PER_RECIPIENT => sent += 1,
                        Ok(_) => return Err(format!("recipient {r}: send {} got through", i + 1)),
                        Err(e)
                            if i == PER_RECIPIENT
                                && e.provider_code() == Some("guard_recipient") => {}
                        Err(e) => return Err(format!("recipient {r}: send {}: {e}", i + 1)),
                    }
                }
                Ok::<usize, String>(sent)
            })
        })
        .collect();
    let mut sent = 0;
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => sent += n,
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let elapsed = started.elapsed();
    let issued = sandbox.issued().len();
    if let Some(first) = errors.first() {
        return Err(format!("{} errors; the first: {first}", errors.len()));
    }
    if sent != recipients * PER_RECIPIENT || issued != sent {
        return Err(format!(
            "sent {sent}, the sandbox issued {issued}, expected {}",
            recipients * PER_RECIPIENT
        ));
    }
    Ok(serde_json::json!({
        "sends": sent,
        "intended_refusals": recipients,
        "errors": 0,
        "instances": INSTANCES,
        "concurrency": CONCURRENCY,
        "elapsed_ms": elapsed.as_millis(),
        "sends_per_sec": (sent as f64 / elapsed.as_secs_f64()).round(),
    }))
}
