//! The guard with a real Redis (cargo feature `redis`): the rule scenarios of `guard.rs`,
//! several independent instances racing against the sandbox, Redis killed and restarted, a
//! load run, and budgets shared by two command-line invocations.
//!
//! Each test starts its own `redis-server` on a free loopback port (no persistence) and stops
//! it at the end. A test that cannot start one fails: it never skips.

use std::sync::Arc;
use std::time::Duration;

use otpkit::guard::{Guard, GuardConfig, RedisStore, Store};
use otpkit::sandbox::{Sandbox, SandboxOptions};
use otpkit::{ErrorKind, OtpProvider, Purpose, SendRequest};
use serde_json::Value;

use crate::guard::{from_ip, scenarios, to};
use crate::redis_server::RedisServer;

fn redis() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("the Redis tests need redis-server: {e}"))
}

fn store(server: &RedisServer) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::new(
            &server.url(),
            Duration::from_secs(5),
            Duration::from_secs(2),
        )
        .expect("a redis store"),
    )
}

#[tokio::test]
async fn redis_recipient_budget() {
    let server = redis();
    scenarios::recipient_budget(store(&server)).await;
}

#[tokio::test]
async fn redis_ip_budget() {
    let server = redis();
    scenarios::ip_budget(store(&server)).await;
}

#[tokio::test]
async fn redis_prefixes() {
    let server = redis();
    scenarios::prefixes(store(&server)).await;
}

#[tokio::test]
async fn redis_attempts() {
    let server = redis();
    scenarios::attempts(store(&server)).await;
}

#[tokio::test]
async fn redis_in_flight() {
    let server = redis();
    scenarios::in_flight(store(&server)).await;
}

#[tokio::test]
async fn redis_store_down() {
    let mut server = redis();
    let store = store(&server);
    server.kill();
    scenarios::store_down(store).await;
}

/// A store that accepts the connection and never answers: `unavailable` once the store's
/// timeout (the provider's) runs out, and nothing sent.
#[tokio::test]
async fn redis_silent_store_is_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket); // read nothing, answer nothing
        }
    });
    let store = RedisStore::new(
        &format!("redis://127.0.0.1:{port}/0"),
        Duration::from_millis(300),
        Duration::from_millis(300),
    )
    .unwrap();
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("did not answer"), "{err}");
    scenarios::store_down(Arc::new(store)).await;
    hold.abort();
}

/// Every key the guard wrote is namespaced, holds no phone number, and expires on its own.
#[tokio::test]
async fn redis_keys_are_hashed_and_expire() {
    let server = redis();
    scenarios::recipient_budget(store(&server)).await;
    scenarios::attempts(store(&server)).await;
    let reply = server.command(&["KEYS", "*"]).unwrap();
    let keys: Vec<&str> = reply
        .lines()
        .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
        .collect();
    assert!(keys.len() >= 3, "{reply}");
    for key in keys {
        assert!(key.starts_with("otpkit:guard:"), "{key}");
        assert!(!key.contains("5511999888"), "{key}");
        let ttl = server.command(&["PTTL", key]).unwrap();
        let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
}

/// A sandbox that never refuses on its own: no resend cooldown, a quota beyond any test.
async fn sandbox() -> Sandbox {
    Sandbox::with_options(
        SandboxOptions::default()
            .resend_cooldown(Duration::ZERO)
            .quota(10_000_000),
    )
    .await
    .expect("sandbox")
}

/// One independent instance, as another process would have it: its own provider (its own
/// HTTP client) and its own Redis connections.
fn instance(sandbox: &Sandbox, server: &RedisServer, rules: &str) -> Arc<Guard> {
    let inner = sandbox.config("generic").unwrap().build().unwrap();
    let config = GuardConfig::from_toml_str(rules).unwrap();
    Arc::new(Guard::with_store(inner, &config, store(server)))
}

fn issued_to(sandbox: &Sandbox, who: &str) -> usize {
    sandbox
        .issued()
        .iter()
        .filter(|i| i.recipient == who)
        .count()
}

/// Fires every request at once, each through its instance; returns how many succeeded, and
/// checks that every failure is one of the guard's refusals.
async fn race(requests: Vec<(Arc<Guard>, SendRequest)>) -> usize {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(guard, request)| tokio::spawn(async move { guard.send(&request).await }))
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                let code = e.provider_code().unwrap_or_default().to_owned();
                assert!(
                    matches!(
                        (e.kind(), code.as_str()),
                        (ErrorKind::RateLimited, "guard_recipient" | "guard_ip")
                            | (ErrorKind::Cooldown, "guard_in_flight")
                    ),
                    "not a guard refusal: {e}"
                );
            }
        }
    }
    ok
}

/// Eight instances race 24 sends to one recipient with `recipient_sends = [5, …]`: never more
/// than 5 reach the sandbox (the in-flight rule may let fewer through for one purpose; over
/// distinct purposes exactly 5 do), 20 times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_racing_never_exceed_the_recipient_budget() {
    let server = redis();
    let sandbox = sandbox().await;
    let rules = "recipient_sends = [5, 3600]";
    let instances: Vec<_> = (0..8).map(|_| instance(&sandbox, &server, rules)).collect();
    for round in 0..20 {
        let same = format!("+55119990{round:05}");
        let requests = (0..24)
            .map(|i| {
                (
                    Arc::clone(&instances[i % 8]),
                    to(&same).purpose(Purpose::Login),
                )
            })
            .collect();
        let ok = race(requests).await;
        assert!(ok <= 5, "round {round}: {ok} sends got through");
        assert!(ok >= 1, "round {round}: nothing got through");
        assert_eq!(issued_to(&sandbox, &same), ok, "round {round}");

        let spread = format!("+55119991{round:05}");
        let requests = (0..24)
            .map(|i| {
                let purpose = Purpose::parse(&format!("race{i}")).unwrap();
                (Arc::clone(&instances[i % 8]), to(&spread).purpose(purpose))
            })
            .collect();
        let ok = race(requests).await;
        assert_eq!(ok, 5, "round {round}: over distinct purposes");
        assert_eq!(issued_to(&sandbox, &spread), 5, "round {round}");
    }
}

/// The same instances sending one after another get exactly the budget through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_in_turn_get_exactly_the_budget() {
    let server = redis();
    let sandbox = sandbox().await;
    let instances: Vec<_> = (0..8)
        .map(|_| instance(&sandbox, &server, "recipient_sends = [5, 3600]"))
        .collect();
    let who = "+5511999200001";
    let mut outcomes = Vec::new();
    for i in 0..12 {
        outcomes.push(
            instances[i % 8]
                .send(&to(who))
                .await
                .map_err(|e| e.provider_code().map(str::to_owned)),
        );
    }
    assert!(outcomes[..5].iter().all(Result::is_ok), "{outcomes:?}");
    assert!(
        outcomes[5..]
            .iter()
            .all(|o| o == &Err(Some("guard_recipient".to_owned()))),
        "{outcomes:?}"
    );
    assert_eq!(issued_to(&sandbox, who), 5);
}

/// An IP budget raced over distinct recipients by eight instances lets exactly the budget
/// through, 20 times over (a fresh IP each round).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_racing_get_exactly_the_ip_budget() {
    let server = redis();
    let sandbox = sandbox().await;
    let instances: Vec<_> = (0..8)
        .map(|_| instance(&sandbox, &server, "ip_sends = [10, 3600]"))
        .collect();
    for round in 0..20 {
        let before = sandbox.issued().len();
        let ip = format!("198.51.100.{round}");
        let requests = (0..32)
            .map(|i| {
                let who = format!("+5511993{round:02}{i:04}");
                (Arc::clone(&instances[i % 8]), from_ip(&who, &ip))
            })
            .collect();
        let ok = race(requests).await;
        assert_eq!(ok, 10, "round {round}");
        assert_eq!(sandbox.issued().len() - before, 10, "round {round}");
    }
}

/// Redis killed mid-run: `unavailable` naming the store and nothing sent; restarted: the same
/// guard works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_then_restarted() {
    let mut server = redis();
    let sandbox = sandbox().await;
    let guard = instance(
        &sandbox,
        &server,
        "recipient_sends = [100, 3600]\nverify_attempts = 5",
    );
    let receipt = guard.send(&to("+5511999300001")).await.unwrap();
    guard.send(&to("+5511999300002")).await.unwrap();
    let sent = sandbox.issued().len();

    server.kill();
    for who in ["+5511999300001", "+5511999300003"] {
        let err = guard.send(&to(who)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains("store"), "{err}");
    }
    let err = guard.resend(&receipt.verification).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let err = guard
        .verify(&receipt.verification, "000000")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(sandbox.issued().len(), sent, "a send went out unguarded");

    server.restart().expect("redis-server restarts");
    guard
        .send(&to("+5511999300003"))
        .await
        .expect("the guard recovers");
    guard
        .send(&to("+5511999300004"))
        .await
        .expect("and keeps working");
    assert_eq!(sandbox.issued().len(), sent + 2);
}

/// A smaller run of `examples/guard_load.rs`: 1,000 sends through eight Redis-guarded
/// instances, then one more per recipient, which is the only refusal allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_through_the_redis_guard() {
    let server = redis();
    let sandbox = sandbox().await;
    let instances: Vec<_> = (0..8)
        .map(|_| {
            instance(
                &sandbox,
                &server,
                "recipient_sends = [5, 3600]\nip_sends = [1000000, 3600]",
            )
        })
        .collect();
    let recipients = 200;
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let tasks: Vec<_> = (0..recipients)
        .map(|r| {
            let guard = Arc::clone(&instances[r % 8]);
            let limit = Arc::clone(&limit);
            tokio::spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let who = format!("+5511994{r:06}");
                let mut sent = 0;
                for i in 0..6 {
                    let request = from_ip(&who, &format!("203.0.113.{}", r % 250));
                    match guard.send(&request).await {
                        Ok(_) => sent += 1,
                        Err(e) => {
                            assert_eq!(i, 5, "send {i} to recipient {r} failed: {e}");
                            assert_eq!(e.provider_code(), Some("guard_recipient"), "{e}");
                        }
                    }
                }
                sent
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, recipients * 5);
    assert_eq!(sandbox.issued().len(), recipients * 5);
}

/// Two invocations of the command line share a budget through Redis; `--ip` counts against
/// `ip_sends`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_invocations_share_a_budget() {
    let server = redis();
    let sandbox = sandbox().await;
    let dir = std::env::temp_dir().join(format!("otpkit-guard-cli-{}", server.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otpkit.toml");
    let config = format!(
        "{}\n[guard]\nstore = \"{}\"\nrecipient_sends = [1, 3600]\nip_sends = [1, 3600]\n",
        sandbox.config_toml("generic").unwrap(),
        server.url()
    );
    std::fs::write(&path, config).unwrap();
    let run = |args: &'static [&'static str]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::cli::run(&path, args))
    };
    // A filtered run (`--test otpkit`) may find the example built without `redis`: build it.
    let (_, out, _) = run(&["capabilities"]).await.unwrap();
    if out["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("`redis` cargo feature"))
    {
        let built = tokio::task::spawn_blocking(|| {
            std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "--example",
                    "otpkit",
                    "--features",
                    "redis",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
        });
        assert!(built.await.unwrap().expect("cargo runs").success());
    }

    let (code, out, _) = run(&["send", "+5511999400001"]).await.unwrap();
    assert_eq!((code, &out["ok"]), (0, &Value::Bool(true)), "{out}");
    let (code, out, _) = run(&["send", "+5511999400001"]).await.unwrap();
    assert_eq!(code, 3, "{out}");
    assert_eq!(out["error"]["kind"], "rate_limited", "{out}");
    assert_eq!(out["error"]["provider_code"], "guard_recipient", "{out}");
    assert_eq!(out["error"]["provider"], "generic", "{out}");
    assert!(
        out["error"]["retry_after_secs"]
            .as_u64()
            .is_some_and(|s| (1..=3600).contains(&s)),
        "{out}"
    );

    let (code, out, _) = run(&["send", "+5511999400002", "--ip", "203.0.113.50"])
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["send", "+5511999400003", "--ip", "203.0.113.50"])
        .await
        .unwrap();
    assert_eq!(code, 3, "{out}");
    assert_eq!(out["error"]["provider_code"], "guard_ip", "{out}");
    assert_eq!(issued_to(&sandbox, "+5511999400001"), 1);
    assert_eq!(sandbox.issued().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
