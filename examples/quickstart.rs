//! otpkit in a few seconds, with nothing configured: starts the built-in provider sandbox and
//! walks every compiled-in provider through send → a wrong code → the right code → a resend
//! that comes too early, then forces each documented failure and shows its normalized kind.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Codes are never printed (the output says "the right code"); recipients print masked.

use std::process::ExitCode;
use std::time::Duration;

use otpkit::sandbox::{Failure, Sandbox};
use otpkit::{Error, ErrorKind, OtpProvider, ProviderConfig, Purpose, Recipient, SendRequest};

/// Who each provider sends to, and why.
fn recipient_for(provider: &str) -> (&'static str, Purpose) {
    match provider {
        "generic" => ("+5511999888777", Purpose::Signup),
        "thundersms" => ("+919189195123", Purpose::Signup),
        // Tencent CIAM verifies through its login grant.
        "tencent_ciam" => ("+8613612345678", Purpose::Login),
        _ => ("jane.doe@example.com", Purpose::Signup),
    }
}

/// A code that is certainly not the right one: every digit moved by one.
fn wrong_code(right: &str) -> String {
    right
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// One error, the way an application would log it.
fn describe(err: &Error) -> String {
    let mut out = err.kind().to_string();
    if let Some(code) = err.provider_code() {
        out.push_str(&format!(" [{code}]"));
    }
    if let Some(status) = err.status() {
        out.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(after) = err.retry_after() {
        out.push_str(&format!(", retry after {}s", after.as_secs()));
    }
    if let Some(left) = err.attempts_remaining() {
        out.push_str(&format!(", {left} attempts left"));
    }
    out
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "?".to_owned(), |d| format!("{}s", d.as_secs()))
}

/// Notes what went against expectations.
#[derive(Default)]
struct Report {
    problems: Vec<String>,
}

impl Report {
    fn expect(&mut self, provider: &str, step: &str, ok: bool) -> &'static str {
        if ok {
            ""
        } else {
            self.problems.push(format!("{provider}: {step}"));
            "   <- UNEXPECTED"
        }
    }
}

async fn walk(
    sandbox: &Sandbox,
    provider: &dyn OtpProvider,
    report: &mut Report,
) -> Result<(), Error> {
    let id = provider.id();
    let (to, purpose) = recipient_for(id);
    let recipient: Recipient = to.parse()?;
    println!("\n{id} -> {recipient} (purpose {purpose})");

    let receipt = provider
        .send(&SendRequest::new(recipient).purpose(purpose))
        .await?;
    println!(
        "  send               sent; expires in {}, resend after {}",
        secs(receipt.expires_in),
        secs(receipt.resend_after)
    );
    let handle = &receipt.verification;
    let Some(right) = sandbox.last_code(to) else {
        report.expect(id, "the sandbox issued no code", false);
        return Ok(());
    };

    let wrong = provider.verify(handle, &wrong_code(&right)).await;
    let line = match &wrong {
        Ok(_) => "verified?!".to_owned(),
        Err(e) => describe(e),
    };
    let flag = report.expect(
        id,
        "a wrong code was not rejected",
        wrong.as_ref().is_err_and(Error::is_rejection),
    );
    println!("  verify wrong code  {line}{flag}");

    let right_result = provider.verify(handle, &right).await;
    let line = match &right_result {
        Ok(_) => "verified".to_owned(),
        Err(e) => describe(e),
    };
    let flag = report.expect(id, "the right code did not verify", right_result.is_ok());
    println!("  verify right code  {line}{flag}");

    // The same call on every provider: the core sends again where the provider has no resend
    // call, and refuses one before the handle's resend time.
    let resend = provider.resend(handle).await;
    let line = match &resend {
        Ok(_) => "sent again?!".to_owned(),
        Err(e) => describe(e),
    };
    let too_early = resend
        .as_ref()
        .is_err_and(|e| e.kind() == ErrorKind::Cooldown);
    let flag = report.expect(id, "a too-early resend was not refused", too_early);
    println!("  resend too early   {line}{flag}");
    Ok(())
}

/// The provider with a one-second timeout, so [`Failure::Hang`] ends quickly.
fn impatient(sandbox: &Sandbox, id: &str) -> Result<Box<dyn OtpProvider>, Error> {
    let mut config = sandbox.config_json(id)?;
    config["timeout_secs"] = 1.into();
    ProviderConfig::from_json_str(&config.to_string())?.build()
}

async fn forced_failures(sandbox: &Sandbox, id: &str, report: &mut Report) -> Result<(), Error> {
    let provider = impatient(sandbox, id)?;
    let (to, purpose) = recipient_for(id);
    let request = SendRequest::new(to.parse()?).purpose(purpose);
    println!("\n{id}: forced failures on send (timeout 1s)");
    for failure in Failure::ALL {
        sandbox.fail_next(id, failure)?;
        let result = provider.send(&request).await;
        let line = match &result {
            Ok(_) => "succeeded?!".to_owned(),
            Err(e) => describe(e),
        };
        let flag = report.expect(id, &format!("forced {failure} succeeded"), result.is_err());
        println!("  {:<16} -> {line}{flag}", failure.as_str());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Error> {
    let sandbox = Sandbox::start().await?;
    let ids = otpkit::provider_ids();
    println!(
        "otpkit sandbox on {} standing in for: {}",
        sandbox.url(),
        ids.join(", ")
    );
    let mut report = Report::default();
    for id in &ids {
        let provider = sandbox.config(id)?.build()?;
        walk(&sandbox, provider.as_ref(), &mut report).await?;
    }
    for id in &ids {
        forced_failures(&sandbox, id, &mut report).await?;
    }
    println!();
    if report.problems.is_empty() {
        println!(
            "All {} provider(s) verified; every failure came back as a normalized error.",
            ids.len()
        );
        println!(
            "Next: `cargo run --example sandbox` serves the sandbox for your own application."
        );
        Ok(true)
    } else {
        println!("Unexpected results:");
        for problem in &report.problems {
            println!("  {problem}");
        }
        Ok(false)
    }
}
