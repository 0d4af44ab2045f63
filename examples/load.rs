//! Load: 10,000 concurrent send+verify flows through one shared Thaaigroup client against a
//! local server (a child process). Every answer is derived from its request, and each flow
//! checks that it got its own back; one flow in seven types a wrong code on purpose and must
//! get `invalid_code`. Prints a JSON summary with the peak memory (VmHWM) and exits non-zero
//! on any error.
//!
//! ```text
//! cargo run --release --example load -- [FLOWS]
//! ```

#[path = "support/local_server.rs"]
mod local_server;
#[path = "support/thaaigroup_server.rs"]
mod thaaigroup_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use otpkit::{ErrorKind, OtpProvider, ProviderConfig, Purpose, SendRequest};
use thaaigroup_server::{code_for, email_for, expires_for, peak_rss_kib, ServerProcess};

/// What one flow saw, when it was not what it should have been.
async fn flow(provider: Arc<dyn OtpProvider>, n: u64) -> Result<(), String> {
    let email = email_for(n);
    let request =
        SendRequest::new(email.parse().map_err(|e| format!("{e}"))?).purpose(Purpose::Signup);
    let receipt = provider
        .send(&request)
        .await
        .map_err(|e| format!("flow {n}: send failed: {e}"))?;
    let expected = expires_for(&email).map(Duration::from_secs);
    if receipt.expires_in != expected {
        return Err(format!(
            "flow {n}: got expires_in {:?}, its own is {expected:?}",
            receipt.expires_in
        ));
    }
    if receipt.verification.recipient().as_str() != email {
        return Err(format!("flow {n}: the handle is for another recipient"));
    }
    let wrong = n % 7 == 0;
    let code = if wrong {
        // A different valid-looking code.
        let right: u32 = code_for(&email).parse().unwrap_or(0);
        format!("{:06}", (right + 1) % 1_000_000)
    } else {
        code_for(&email)
    };
    match (wrong, provider.verify(&receipt.verification, &code).await) {
        (false, Ok(_)) => Ok(()),
        (true, Err(e)) if e.kind() == ErrorKind::InvalidCode => Ok(()),
        (wrong, outcome) => Err(format!(
            "flow {n}: verify with {} code gave {outcome:?}",
            if wrong { "a wrong" } else { "its" }
        )),
    }
}

fn main() {
    thaaigroup_server::serve_if_child();
    let flows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let server = ServerProcess::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (errors, elapsed) = runtime.block_on(async {
        let config = ProviderConfig::from_json_str(&format!(
            r#"{{"provider":"thaaigroup","client_id":"load-id","client_secret":"load-secret",
                "domain":"example.com","base_url":"{}","timeout_secs":60}}"#,
            server.url()
        ))
        .expect("config");
        let provider: Arc<dyn OtpProvider> = Arc::from(config.build().expect("provider"));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..flows {
            tasks.spawn(flow(provider.clone(), n));
        }
        let mut errors = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(why)) => errors.push(why),
                Err(panic) => errors.push(format!("a flow panicked: {panic}")),
            }
        }
        (errors, started.elapsed())
    });
    drop(server);
    for why in errors.iter().take(10) {
        eprintln!("{why}");
    }
    println!(
        "{}",
        serde_json::json!({
            "flows": flows,
            "errors": errors.len(),
            "seconds": elapsed.as_secs_f64(),
            "flows_per_second": flows as f64 / elapsed.as_secs_f64(),
            "peak_rss_kib": peak_rss_kib(),
        })
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}
