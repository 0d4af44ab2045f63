//! Portability (issue 9, contract §3 and §6): one scenario, written once as application code
//! against `Box<dyn OtpProvider>` built from config, runs against every registered provider the
//! sandbox serves, for every purpose its capabilities say `verify` checks, and gets the same
//! kinds everywhere. A new provider joins by being registered (`otpkit::providers::descriptors`)
//! and served by the sandbox; nothing here names a provider. The in-memory mock (feature
//! `testing`) runs the same scenario, its codes read from the mock instead of the sandbox.

use std::sync::Arc;
use std::time::Duration;

use otpkit::sandbox::{Sandbox, SandboxOptions};
use otpkit::testing::MockProvider;
use otpkit::{ErrorKind, OtpProvider, ProviderConfig, Purpose, SendRequest, Verification};

/// Where the scenario reads what its users received: the sandbox, or the mock.
trait Inbox: Send + Sync {
    /// The last code sent to `who`.
    fn last_code(&self, who: &str) -> Option<String>;
    /// How many codes were sent so far.
    fn sent(&self) -> usize;
}

impl Inbox for Sandbox {
    fn last_code(&self, who: &str) -> Option<String> {
        Sandbox::last_code(self, who)
    }
    fn sent(&self) -> usize {
        self.issued().len()
    }
}

impl Inbox for MockProvider {
    fn last_code(&self, who: &str) -> Option<String> {
        MockProvider::last_code(self, who)
    }
    fn sent(&self) -> usize {
        MockProvider::sent(self).len()
    }
}
use tokio::task::JoinSet;

/// The resend wait in these tests: short, so the scenario's one real wait is short.
const RESEND_AFTER_SECS: u64 = 1;

/// A recipient like `sample` but distinct for scenario `n`, so scenarios can run side by side:
/// `s{n}.` before an email's local part, or the last two digits of a phone number replaced.
fn recipient_variant(sample: &str, n: usize) -> String {
    match sample.split_once('@') {
        Some((local, domain)) => format!("s{n}.{local}@{domain}"),
        None => format!("{}{:02}", &sample[..sample.len() - 2], n % 100),
    }
}

/// A code that is not `code`: each digit moved by one.
fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// The application: what a sign-in page does with any provider, in two journeys to two
/// recipients. The first user types a wrong code, then the right one, then replays it. The
/// second asks for another code at once, then again after the wait, and types the new code;
/// the page then shows where the verification stands where the provider can say.
async fn scenario(
    sandbox: &dyn Inbox,
    provider: &dyn OtpProvider,
    who: [&str; 2],
    purpose: Purpose,
) -> Result<(), String> {
    let step = |what: &str, detail: String| format!("{what}: {detail}");

    // First journey. The handle goes into the session as a token.
    let (session, code) = start(sandbox, provider, who[0], purpose.clone()).await?;
    let handle = Verification::from_token(&session).map_err(|e| step("token", e.to_string()))?;
    match provider.verify(&handle, &wrong(&code)).await {
        Err(e) if e.kind() == ErrorKind::InvalidCode => {}
        other => return Err(step("wrong code", format!("{other:?}"))),
    }
    provider
        .verify(&handle, &code)
        .await
        .map_err(|e| step("right code", e.to_string()))?;
    match provider.verify(&handle, &code).await {
        Err(e) if e.is_rejection() => {}
        other => return Err(step("reused code", format!("{other:?}"))),
    }

    // Second journey: another code too soon is cooldown with the wait, and nothing is sent.
    let (session, _) = start(sandbox, provider, who[1], purpose).await?;
    let handle = Verification::from_token(&session).map_err(|e| step("token", e.to_string()))?;
    let issued = sandbox.sent();
    let wait = match provider.resend(&handle).await {
        Err(e) if e.kind() == ErrorKind::Cooldown => e
            .retry_after()
            .filter(|wait| !wait.is_zero())
            .ok_or_else(|| step("early resend", format!("cooldown without a wait: {e}")))?,
        other => return Err(step("early resend", format!("{other:?}"))),
    };
    if wait > Duration::from_secs(RESEND_AFTER_SECS + 1) {
        return Err(step("early resend", format!("waits {wait:?}")));
    }
    if sandbox.sent() != issued {
        return Err(step("early resend", "a code was issued".into()));
    }

    // After the wait: a new code, which verifies with the handle the resend returned.
    tokio::time::sleep(wait).await;
    let again = provider
        .resend(&handle)
        .await
        .map_err(|e| step("resend after the wait", e.to_string()))?;
    let new_code = sandbox
        .last_code(who[1])
        .ok_or_else(|| step("resend", "no code arrived".into()))?;
    provider
        .verify(&again.verification, &new_code)
        .await
        .map_err(|e| step("new code", e.to_string()))?;

    // Status where the provider has it; `unsupported` where it does not.
    let status = provider.status(&again.verification).await;
    match (provider.capabilities().status, status) {
        (true, Ok(_)) => {}
        (false, Err(e)) if e.kind() == ErrorKind::Unsupported => {}
        (has, other) => return Err(step("status", format!("capability {has}: {other:?}"))),
    }
    Ok(())
}

/// Sends a code; the session token and the code the user received.
async fn start(
    sandbox: &dyn Inbox,
    provider: &dyn OtpProvider,
    who: &str,
    purpose: Purpose,
) -> Result<(String, String), String> {
    let request = SendRequest::new(who.parse().map_err(|e| format!("{e}"))?).purpose(purpose);
    let receipt = provider
        .send(&request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    if receipt.resend_after.is_none() {
        return Err("send: the receipt has no resend_after".into());
    }
    let code = sandbox
        .last_code(who)
        .ok_or_else(|| "send: no code arrived".to_owned())?;
    Ok((receipt.verification.to_token(), code))
}

#[tokio::test]
async fn one_scenario_runs_the_same_on_every_provider() {
    let options = SandboxOptions::default().resend_cooldown(Duration::from_secs(RESEND_AFTER_SECS));
    let sandbox = Arc::new(Sandbox::with_options(options).await.expect("sandbox"));
    let mut runs = JoinSet::new();
    let mut served = 0;
    for descriptor in otpkit::providers::descriptors() {
        let (mut config, inbox): (serde_json::Value, Arc<dyn Inbox>) =
            if Sandbox::PROVIDERS.contains(&descriptor.id) {
                served += 1;
                let config = sandbox
                    .config_json(descriptor.id)
                    .expect("a sandbox config");
                (config, sandbox.clone())
            } else if descriptor.feature == "testing" {
                // The mock: in memory, its codes read from the mock of that name.
                let name = format!("portability-{}", descriptor.id);
                let config = serde_json::json!({"provider": descriptor.id, "name": name});
                (config, Arc::new(MockProvider::named(&name)))
            } else {
                continue;
            };
        config["resend_after_secs"] = RESEND_AFTER_SECS.into();
        config["timeout_secs"] = 5.into();
        let provider: Arc<dyn OtpProvider> = ProviderConfig::from_json_str(&config.to_string())
            .and_then(|c| c.build())
            .map(Arc::from)
            .unwrap_or_else(|e| panic!("{}: {e}", descriptor.id));
        let purposes = provider
            .capabilities()
            .verify_purposes
            .clone()
            .unwrap_or_else(|| vec![Purpose::parse(descriptor.sample_purpose).unwrap()]);
        assert!(
            !purposes.is_empty(),
            "{}: verify checks nothing",
            descriptor.id
        );
        for purpose in purposes {
            let n = 2 * runs.len();
            let first = recipient_variant(descriptor.sample_recipient, n);
            let second = recipient_variant(descriptor.sample_recipient, n + 1);
            let (inbox, provider, id) = (inbox.clone(), provider.clone(), descriptor.id);
            runs.spawn(async move {
                let label = format!("{id} {purpose}");
                let who = [first.as_str(), second.as_str()];
                let outcome = scenario(inbox.as_ref(), provider.as_ref(), who, purpose).await;
                (label, outcome)
            });
        }
    }
    assert!(
        served >= 1,
        "no registered provider is served by the sandbox"
    );
    let mut failures = Vec::new();
    while let Some(joined) = runs.join_next().await {
        let (label, outcome) = joined.expect("the scenario did not panic");
        if let Err(why) = outcome {
            failures.push(format!("{label}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
