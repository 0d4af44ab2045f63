//! The magic recipients (`otpkit::magic`) give the same outcome on the mock and on every
//! provider of the sandbox: the same error kind from `send`, a `retry_after` on
//! `rate_limited`, and for "never verified" a send that succeeds with no code disclosed and a
//! verify that is `invalid_code`.

use std::time::Duration;

use otpkit::magic::MagicOutcome;
use otpkit::sandbox::{Sandbox, SandboxOptions};
use otpkit::testing::MockProvider;
use otpkit::{Capabilities, OtpProvider, Purpose, SendRequest};

/// A phone number the capabilities reach (the magic digits replace its end).
fn phone_for(caps: &Capabilities) -> Option<&'static str> {
    if !caps.phone {
        return None;
    }
    let reaches = |phone: &str| caps.reaches(&phone.parse().unwrap());
    [
        "+14155550123",
        "+919876543210",
        "+8613812345678",
        "+5511999888777",
    ]
    .into_iter()
    .find(|p| reaches(p))
}

/// What a magic recipient produced, for comparison.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    send: String,
    retry_after: bool,
    code_disclosed: bool,
    verify: Option<String>,
}

async fn try_one(
    provider: &dyn OtpProvider,
    last_code: &dyn Fn(&str) -> Option<String>,
    recipient: &str,
    purpose: &Purpose,
) -> Seen {
    let request = SendRequest::new(recipient.parse().unwrap()).purpose(purpose.clone());
    match provider.send(&request).await {
        Err(e) => Seen {
            send: e.kind().as_str().to_owned(),
            retry_after: e.retry_after().is_some(),
            code_disclosed: false,
            verify: None,
        },
        Ok(receipt) => {
            let code = last_code(recipient);
            let guess = code.clone().unwrap_or_else(|| "1234567".to_owned());
            let verify = match provider.verify(&receipt.verification, &guess).await {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.kind().as_str().to_owned(),
            };
            Seen {
                send: "ok".to_owned(),
                retry_after: false,
                code_disclosed: code.is_some(),
                verify: Some(verify),
            }
        }
    }
}

fn expected(outcome: MagicOutcome) -> Seen {
    match outcome.error_kind() {
        Some(kind) => Seen {
            send: kind.as_str().to_owned(),
            retry_after: outcome == MagicOutcome::RateLimited,
            code_disclosed: false,
            verify: None,
        },
        None => {
            let never = outcome == MagicOutcome::NeverVerified;
            Seen {
                send: "ok".to_owned(),
                retry_after: false,
                code_disclosed: !never,
                verify: Some(if never { "invalid_code" } else { "ok" }.to_owned()),
            }
        }
    }
}

#[tokio::test]
async fn magic_recipients_agree_between_the_mock_and_every_sandbox_provider() {
    let slow = Duration::from_millis(20);
    let sandbox = Sandbox::with_options(SandboxOptions::default().slow(slow))
        .await
        .unwrap();
    for descriptor in otpkit::providers::descriptors() {
        if !Sandbox::PROVIDERS.contains(&descriptor.id) {
            continue;
        }
        // A mock per provider: each sends once to each magic recipient, like the sandbox's
        // provider does.
        let mock = MockProvider::new().slow(slow);
        let provider = sandbox.config(descriptor.id).unwrap().build().unwrap();
        let caps = provider.capabilities().clone();
        let purpose = Purpose::parse(descriptor.sample_purpose).unwrap();
        for outcome in MagicOutcome::ALL {
            let mut recipients = Vec::new();
            if caps.email {
                recipients.push(outcome.recipient().email.to_owned());
            }
            if let Some(phone) = phone_for(&caps) {
                recipients.push(outcome.phone_like(phone));
            }
            assert!(!recipients.is_empty(), "{} reaches nobody", descriptor.id);
            for recipient in recipients {
                let on_sandbox = try_one(
                    provider.as_ref(),
                    &|r| sandbox.last_code(r),
                    &recipient,
                    &purpose,
                )
                .await;
                let on_mock = try_one(&mock, &|r| mock.last_code(r), &recipient, &purpose).await;
                assert_eq!(
                    on_sandbox, on_mock,
                    "{} and the mock disagree on {outcome} ({recipient})",
                    descriptor.id
                );
                assert_eq!(on_mock, expected(outcome), "{outcome} ({recipient})");
            }
        }
    }
}
