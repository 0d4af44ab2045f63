//! The guard (contract §8) over a scripted inner provider that counts its calls: every rule,
//! with the memory store here and with a real Redis in `guard_redis.rs` (same scenarios).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use otpkit::guard::{Admission, Admitted, Attempt, Guard, GuardConfig, MemoryStore, Store};
use otpkit::{
    Capabilities, Channel, Error, ErrorKind, OtpProvider, Purpose, SendReceipt, SendRequest,
    StatusReport, Verification, Verified,
};
use tokio::sync::Semaphore;

/// The right code for every handle the scripted provider issues.
pub const RIGHT: &str = "123456";

/// What the scripted provider saw.
#[derive(Debug, Default)]
pub struct Calls {
    pub sends: AtomicUsize,
    pub resends: AtomicUsize,
    pub verifies: AtomicUsize,
    /// Sends that have started (before the gate).
    pub started: AtomicUsize,
}

impl Calls {
    pub fn sends(&self) -> usize {
        self.sends.load(Ordering::SeqCst)
    }
    pub fn resends(&self) -> usize {
        self.resends.load(Ordering::SeqCst)
    }
    pub fn verifies(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }
}

/// A provider that answers from a script: every send succeeds (after passing `gate`, when
/// set), `RIGHT` verifies and any other code is `invalid_code`.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub calls: Arc<Calls>,
    pub gate: Option<Arc<Semaphore>>,
    pub capabilities: Capabilities,
}

impl Default for Scripted {
    fn default() -> Self {
        Scripted {
            calls: Arc::default(),
            gate: None,
            capabilities: Capabilities::new([Channel::Sms, Channel::Email]).phone(None),
        }
    }
}

impl Scripted {
    fn receipt(request_recipient: &otpkit::Recipient, purpose: Option<&Purpose>) -> SendReceipt {
        SendReceipt::new(
            Verification::new("scripted", request_recipient.clone())
                .with_purpose(purpose.cloned())
                .with_reference(unique_ref()),
        )
    }
}

#[async_trait]
impl OtpProvider for Scripted {
    fn id(&self) -> &'static str {
        "scripted"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        self.calls.started.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        self.calls.sends.fetch_add(1, Ordering::SeqCst);
        Ok(Self::receipt(&request.recipient, request.purpose.as_ref()))
    }

    async fn verify(&self, _handle: &Verification, code: &str) -> Result<Verified, Error> {
        self.calls.verifies.fetch_add(1, Ordering::SeqCst);
        if code == RIGHT {
            Ok(Verified::new("scripted"))
        } else {
            Err(Error::new(ErrorKind::InvalidCode, "wrong code"))
        }
    }

    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        self.calls.resends.fetch_add(1, Ordering::SeqCst);
        Ok(Self::receipt(handle.recipient(), handle.purpose()))
    }

    async fn status(&self, _handle: &Verification) -> Result<StatusReport, Error> {
        Err(Error::unsupported("no status"))
    }
}

/// A guard with these rules (TOML, the `[guard]` table's contents) over a scripted provider.
pub fn guarded(rules: &str, store: Arc<dyn Store>) -> (Guard, Arc<Calls>) {
    guarded_with(rules, store, Scripted::default())
}

pub fn guarded_with(rules: &str, store: Arc<dyn Store>, inner: Scripted) -> (Guard, Arc<Calls>) {
    let config = GuardConfig::from_toml_str(rules).expect("rules parse");
    let calls = Arc::clone(&inner.calls);
    (Guard::with_store(Box::new(inner), &config, store), calls)
}

pub fn to(who: &str) -> SendRequest {
    SendRequest::new(who.parse().expect("recipient"))
}

pub fn from_ip(who: &str, ip: &str) -> SendRequest {
    to(who).end_user_ip(ip.parse().expect("ip"))
}

/// Asserts a refusal's kind, provider code and retry_after bound.
pub fn assert_refused(err: &Error, kind: ErrorKind, code: &str, max_wait: Option<Duration>) {
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.provider_code(), Some(code), "{err}");
    assert_eq!(err.provider(), Some("scripted"), "{err}");
    match max_wait {
        Some(max) => {
            let wait = err
                .retry_after()
                .unwrap_or_else(|| panic!("no retry_after: {err}"));
            assert!(
                wait >= Duration::from_secs(1) && wait <= max,
                "{wait:?} > {max:?}"
            );
        }
        None => assert_eq!(err.retry_after(), None, "{err}"),
    }
}

/// The scenarios, run against any store.
pub mod scenarios {
    use super::*;

    /// Sends and resends share the recipient budget; the next one is `rate_limited`
    /// (`guard_recipient`) with no request; other recipients are unaffected.
    pub async fn recipient_budget(store: Arc<dyn Store>) {
        let (guard, calls) = guarded("recipient_sends = [3, 3600]", store);
        let receipt = guard.send(&to("+5511999888001")).await.unwrap();
        guard.resend(&receipt.verification).await.unwrap();
        guard.send(&to("+5511999888001")).await.unwrap();
        let err = guard.send(&to("+5511999888001")).await.unwrap_err();
        assert_refused(
            &err,
            ErrorKind::RateLimited,
            "guard_recipient",
            Some(Duration::from_secs(3600)),
        );
        assert!(err.message().contains("3 sends per 3600 s"), "{err}");
        assert!(!err.to_string().contains("5511999888001"), "{err}");
        let err = guard.resend(&receipt.verification).await.unwrap_err();
        assert_refused(
            &err,
            ErrorKind::RateLimited,
            "guard_recipient",
            Some(Duration::from_secs(3600)),
        );
        assert_eq!((calls.sends(), calls.resends()), (2, 1));
        // Another recipient, and the same number by email, have their own budgets.
        guard.send(&to("+5511999888002")).await.unwrap();
        guard.send(&to("jane@example.com")).await.unwrap();
        assert_eq!(calls.sends(), 4);
    }

    /// The IP budget counts sends from one end-user IP over any recipients; a send refused by
    /// it does not use up the recipient's budget; sends without an IP are not counted.
    pub async fn ip_budget(store: Arc<dyn Store>) {
        let (guard, calls) = guarded("ip_sends = [2, 3600]\nrecipient_sends = [1, 3600]", store);
        guard
            .send(&from_ip("+5511999888101", "203.0.113.7"))
            .await
            .unwrap();
        guard
            .send(&from_ip("+5511999888102", "203.0.113.7"))
            .await
            .unwrap();
        let err = guard
            .send(&from_ip("+5511999888103", "203.0.113.7"))
            .await
            .unwrap_err();
        assert_refused(
            &err,
            ErrorKind::RateLimited,
            "guard_ip",
            Some(Duration::from_secs(3600)),
        );
        assert!(!err.to_string().contains("203.0.113.7"), "{err}");
        // The refused recipient still has its one send, from another IP.
        guard
            .send(&from_ip("+5511999888103", "198.51.100.1"))
            .await
            .unwrap();
        guard.send(&to("+5511999888104")).await.unwrap();
        // One IPv6 host's /64 is one budget.
        guard
            .send(&from_ip("+5511999888105", "2001:db8::1"))
            .await
            .unwrap();
        guard
            .send(&from_ip("+5511999888106", "2001:db8::2"))
            .await
            .unwrap();
        let err = guard
            .send(&from_ip("+5511999888107", "2001:db8::3"))
            .await
            .unwrap_err();
        assert_refused(
            &err,
            ErrorKind::RateLimited,
            "guard_ip",
            Some(Duration::from_secs(3600)),
        );
        assert_eq!(calls.sends(), 6);
    }

    /// Prefix rules refuse phone numbers (`forbidden`, `guard_prefix`) before the store is
    /// asked; emails pass.
    pub async fn prefixes(store: Arc<dyn Store>) {
        let (guard, calls) = guarded(
            "allow_prefixes = [\"+91\", \"+86\"]\ndeny_prefixes = [\"+86136\"]",
            store,
        );
        let receipt = guard.send(&to("+919189195123")).await.unwrap();
        guard.send(&to("+8613712345678")).await.unwrap();
        guard.send(&to("jane@example.com")).await.unwrap();
        for refused in ["+14155550123", "+8613612345678", "+881234567890"] {
            let err = guard.send(&to(refused)).await.unwrap_err();
            assert_refused(&err, ErrorKind::Forbidden, "guard_prefix", None);
            assert!(!err.to_string().contains(&refused[4..]), "{err}");
        }
        assert_eq!(calls.sends(), 3);
        let denied = Verification::new("scripted", "+8613612345678".parse().unwrap());
        let err = guard.resend(&denied).await.unwrap_err();
        assert_refused(&err, ErrorKind::Forbidden, "guard_prefix", None);
        guard.resend(&receipt.verification).await.unwrap();
        assert_eq!(calls.resends(), 1);
    }

    /// After `verify_attempts` wrong codes the handle is `too_many_attempts` locally, even for
    /// the right code; a right code does not use an attempt; other handles are unaffected.
    pub async fn attempts(store: Arc<dyn Store>) {
        let (guard, calls) = guarded("verify_attempts = 2", store);
        let handle = guard
            .send(&to("+5511999888201"))
            .await
            .unwrap()
            .verification;
        let other = guard
            .send(&to("+5511999888202"))
            .await
            .unwrap()
            .verification;
        let err = guard.verify(&handle, "000000").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCode);
        guard.verify(&handle, RIGHT).await.unwrap();
        guard.verify(&handle, RIGHT).await.unwrap();
        let err = guard.verify(&handle, "000001").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCode);
        assert_eq!(calls.verifies(), 4);
        for code in [RIGHT, "000002"] {
            let err = guard.verify(&handle, code).await.unwrap_err();
            assert_refused(&err, ErrorKind::TooManyAttempts, "guard_attempts", None);
            assert!(err.is_rejection());
        }
        assert_eq!(
            calls.verifies(),
            4,
            "a refused attempt reached the provider"
        );
        guard.verify(&other, RIGHT).await.unwrap();
        assert_eq!(calls.verifies(), 5);
    }

    /// A second send for the same recipient and purpose while the first is in flight is
    /// `cooldown` with a retry_after; another purpose or recipient is not; the mark is gone
    /// once the first send ends, and also when its caller gives up on it.
    pub async fn in_flight(store: Arc<dyn Store>) {
        let gate = Arc::new(Semaphore::new(0));
        let inner = Scripted {
            gate: Some(Arc::clone(&gate)),
            ..Scripted::default()
        };
        let (guard, calls) = guarded_with("recipient_sends = [10, 3600]", store, inner);
        let guard = Arc::new(guard);
        let login = || to("+5511999888301").purpose(Purpose::Login);
        let first = tokio::spawn({
            let guard = Arc::clone(&guard);
            async move { guard.send(&login()).await }
        });
        while calls.started.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        let err = guard.send(&login()).await.unwrap_err();
        assert_refused(
            &err,
            ErrorKind::Cooldown,
            "guard_in_flight",
            Some(Duration::from_secs(25)),
        );
        let receipt_err = guard
            .resend(
                &Verification::new("scripted", "+5511999888301".parse().unwrap())
                    .with_purpose(Some(Purpose::Login)),
            )
            .await
            .unwrap_err();
        assert_eq!(receipt_err.kind(), ErrorKind::Cooldown);
        // Another purpose is another send.
        gate.add_permits(3);
        guard
            .send(&to("+5511999888301").purpose(Purpose::Signup))
            .await
            .unwrap();
        first.await.unwrap().unwrap();
        // Released: the next send goes through.
        guard.send(&login()).await.unwrap();
        assert_eq!(calls.sends(), 3);

        // A caller that gives up mid-send (the future is dropped) releases the mark too.
        let abandoned = tokio::spawn({
            let guard = Arc::clone(&guard);
            async move { guard.send(&login()).await }
        });
        while calls.started.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        gate.add_permits(100);
        let mut released = false;
        for _ in 0..500 {
            match guard.send(&login()).await {
                Ok(_) => {
                    released = true;
                    break;
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Cooldown, "{e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        assert!(
            released,
            "the abandoned send's in-flight mark was never released"
        );
    }

    /// The store unreachable: `unavailable` naming the store, and nothing sent or verified.
    pub async fn store_down(store: Arc<dyn Store>) {
        let (guard, calls) = guarded("recipient_sends = [5, 3600]\nverify_attempts = 3", store);
        let err = guard.send(&to("+5511999888401")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains("store"), "{err}");
        assert!(err.is_retryable());
        let handle = Verification::new("scripted", "+5511999888401".parse().unwrap());
        let err = guard.resend(&handle).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        let err = guard.verify(&handle, RIGHT).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert_eq!(
            (calls.sends(), calls.resends(), calls.verifies()),
            (0, 0, 0)
        );
    }
}

/// A store that is always down.
#[derive(Debug)]
struct Down;

fn down() -> Error {
    Error::new(ErrorKind::Unavailable, "the guard's store is down")
}

#[async_trait]
impl Store for Down {
    async fn admit(&self, _: &Admission) -> Result<Admitted, Error> {
        Err(down())
    }
    async fn release(&self, _: Option<&str>, _: &str, _: &[String], _: bool) -> Result<(), Error> {
        Err(down())
    }
    async fn take_attempt(&self, _: &str, _: u32, _: Duration) -> Result<Attempt, Error> {
        Err(down())
    }
    async fn give_back_attempt(&self, _: &str) -> Result<(), Error> {
        Err(down())
    }
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn memory_recipient_budget() {
    scenarios::recipient_budget(memory()).await;
}

#[tokio::test]
async fn memory_ip_budget() {
    scenarios::ip_budget(memory()).await;
}

#[tokio::test]
async fn memory_prefixes() {
    scenarios::prefixes(memory()).await;
}

#[tokio::test]
async fn memory_attempts() {
    scenarios::attempts(memory()).await;
}

#[tokio::test]
async fn memory_in_flight() {
    scenarios::in_flight(memory()).await;
}

#[tokio::test]
async fn memory_store_down() {
    scenarios::store_down(Arc::new(Down)).await;
}

/// A `[guard]` table in a provider's config (TOML, JSON, through OTPKIT_CONFIG) wraps the built
/// provider; its errors name `guard.<key>`.
#[test]
fn a_guard_table_in_any_config_wraps_the_provider() {
    let toml = "provider = \"thaaigroup\"\nclient_id = \"a\"\nclient_secret = \"b\"\ndomain = \"example.com\"\n\n[guard]\nrecipient_sends = [5, 3600]\ndeny_prefixes = [\"+881\"]\n";
    let config = otpkit::ProviderConfig::from_toml_str(toml).unwrap();
    let guard = config
        .common()
        .guard
        .as_ref()
        .expect("the guard table is kept");
    assert_eq!(guard.recipient_sends.map(|b| b.limit), Some(5));
    let provider = config.build().unwrap();
    assert!(format!("{provider:?}").starts_with("Guard"), "{provider:?}");
    assert_eq!(provider.id(), "thaaigroup");

    let json = r#"{"provider":"thaaigroup","client_id":"a","client_secret":"b","domain":"example.com","guard":{"ip_sends":[20,3600]}}"#;
    let config = otpkit::ProviderConfig::from_json_str(json).unwrap();
    assert!(format!("{:?}", config.build().unwrap()).starts_with("Guard"));

    let dir = std::env::temp_dir().join(format!("otpkit-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otpkit.toml");
    std::fs::write(&path, toml).unwrap();
    let vars = [("OTPKIT_CONFIG".to_owned(), path.display().to_string())];
    let config = otpkit::ProviderConfig::from_env_vars(vars).unwrap();
    assert!(config.common().guard.is_some());
    let _ = std::fs::remove_dir_all(&dir);
    let vars = [
        ("OTPKIT_PROVIDER", "thaaigroup"),
        ("OTPKIT_CLIENT_ID", "a"),
        ("OTPKIT_CLIENT_SECRET", "b"),
        ("OTPKIT_DOMAIN", "example.com"),
        ("OTPKIT_GUARD", r#"{"recipient_sends":[3,60]}"#),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let config = otpkit::ProviderConfig::from_env_vars(vars).unwrap();
    let guard = config
        .common()
        .guard
        .as_ref()
        .expect("OTPKIT_GUARD is read");
    assert_eq!(guard.recipient_sends.map(|b| b.limit), Some(3));

    for (table, key) in [
        ("[guard]\nrecipient_sends = [5]", "guard.recipient_sends"),
        ("[guard]\nverify_attemps = 5", "guard.verify_attemps"),
        ("[guard]\nstore = \"memcached://x\"", "guard.store"),
    ] {
        let text = format!("provider = \"thaaigroup\"\nclient_id = \"a\"\nclient_secret = \"b\"\ndomain = \"example.com\"\n{table}");
        let err = otpkit::ProviderConfig::from_toml_str(&text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains(key), "{table}: {err}");
    }
    // Without a [guard] table nothing is wrapped.
    let plain =
        otpkit::ProviderConfig::from_toml_str(toml.split("[guard]").next().unwrap()).unwrap();
    assert!(plain.common().guard.is_none());
    assert!(!format!("{:?}", plain.build().unwrap()).starts_with("Guard"));
}

/// The command line reads a `[guard]` table like any other key: a denied prefix is refused
/// with the contract's JSON, `--ip` is accepted and checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_applies_the_guard_table() {
    let sandbox = otpkit::sandbox::Sandbox::start().await.expect("sandbox");
    let dir = std::env::temp_dir().join(format!("otpkit-guard-cli-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("otpkit.toml");
    let config = format!(
        "{}\n[guard]\ndeny_prefixes = [\"+881\"]\nip_sends = [5, 3600]\n",
        sandbox.config_toml("generic").unwrap()
    );
    std::fs::write(&path, config).unwrap();
    let run = |args: &'static [&'static str]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::cli::run(&path, args))
    };
    let (code, _, raw) = run(&["send", "+881234567890"]).await.unwrap();
    assert_eq!(code, 3, "{raw}");
    assert_eq!(
        raw,
        r#"{"ok":false,"error":{"kind":"forbidden","provider":"generic","status":null,"provider_code":"guard_prefix","message":"the guard does not send to +88******7890: its prefix is denied; nothing was sent","retry_after_secs":null}}"#
    );
    let (code, out, _) = run(&["send", "+5511999888501", "--ip", "203.0.113.5"])
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["send", "+5511999888502", "--ip", "not-an-ip"])
        .await
        .unwrap();
    assert_eq!(code, 3, "{out}");
    assert_eq!(out["error"]["kind"], "invalid_request", "{out}");
    assert_eq!(sandbox.issued().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `[guard]` on a router config guards the whole router: one routed send is one send to the
/// budget, whichever member carried it.
#[tokio::test]
async fn a_guard_on_a_router_guards_every_member() {
    let sandbox = otpkit::sandbox::Sandbox::with_options(
        otpkit::sandbox::SandboxOptions::default().resend_cooldown(Duration::ZERO),
    )
    .await
    .expect("sandbox");
    let mut config = crate::router::email_pair(&sandbox);
    config["guard"] = serde_json::json!({"recipient_sends": [2, 3600], "deny_prefixes": ["+881"]});
    let router = otpkit::ProviderConfig::from_json_str(&config.to_string())
        .and_then(|c| c.build())
        .expect("a guarded router");
    assert!(format!("{router:?}").starts_with("Guard"), "{router:?}");
    router.send(&to("jane@example.com")).await.unwrap();
    sandbox
        .fail_next("thaaigroup", otpkit::sandbox::Failure::ServerError)
        .unwrap();
    // The primary fails, the backup sends: still one send for the budget.
    router.send(&to("jane@example.com")).await.unwrap();
    let err = router.send(&to("jane@example.com")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.provider_code(), Some("guard_recipient"));
    assert_eq!(err.provider(), Some("router"));
    assert_eq!(sandbox.issued().len(), 2);
}

/// A reference no other send of this process used.
fn unique_ref() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "ref-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
