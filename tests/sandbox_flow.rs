//! A downstream application's test: a sign-up flow against the sandbox for every provider
//! compiled into this build, through the public API only, including the error paths an
//! application has to handle.

use std::time::Duration;

use otpkit::sandbox::{Failure, Sandbox, SandboxOptions};
use otpkit::{
    Error, ErrorKind, HttpOptions, OtpProvider, ProviderConfig, Purpose, SendRequest, Verification,
};

use crate::table::hang_timeout;

/// Who each provider sends to. Tencent CIAM verifies through its login grant (with
/// `auto_signup`, which is how it signs a new user up).
fn recipient_for(provider: &str) -> (&'static str, Purpose) {
    match provider {
        "generic" => ("+5511999888777", Purpose::Signup),
        "thundersms" => ("+919189195123", Purpose::Signup),
        "tencent_ciam" => ("+8613612345678", Purpose::Login),
        "hyperverge" => ("new.user@example.com", Purpose::Signup),
        _ => ("new.user@example.com", Purpose::Signup),
    }
}

fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// The application under test: sign-up by one-time code.
struct SignUp<'a> {
    provider: &'a dyn OtpProvider,
}

impl SignUp<'_> {
    /// Step 1: the user typed an email or phone number. The handle goes into the session.
    async fn start(&self, who: &str, purpose: Purpose) -> Result<String, Error> {
        let receipt = self
            .provider
            .send(&SendRequest::new(who.parse()?).purpose(purpose))
            .await?;
        Ok(receipt.verification.to_token())
    }

    /// Step 2: the user typed the code.
    async fn finish(&self, session: &str, code: &str) -> Result<(), Error> {
        let handle = Verification::from_token(session)?;
        self.provider.verify(&handle, code).await.map(|_| ())
    }

    /// "Send me another code": the same call on every provider (the core sends again where the
    /// provider has no resend call).
    async fn resend(&self, session: &str) -> Result<(), Error> {
        let handle = Verification::from_token(session)?;
        self.provider.resend(&handle).await.map(|_| ())
    }
}

fn provider(sandbox: &Sandbox, id: &str, timeout_secs: u64) -> Box<dyn OtpProvider> {
    provider_with(sandbox, id, timeout_secs, &HttpOptions::default())
}

fn provider_with(
    sandbox: &Sandbox,
    id: &str,
    timeout_secs: u64,
    options: &HttpOptions,
) -> Box<dyn OtpProvider> {
    let mut config = sandbox.config_json(id).expect("a sandbox config");
    config["timeout_secs"] = timeout_secs.into();
    ProviderConfig::from_json_str(&config.to_string())
        .and_then(|c| c.build_with(options))
        .unwrap_or_else(|e| panic!("{id}: the sandbox config does not build: {e}"))
}

#[tokio::test]
async fn sign_up_works_for_every_compiled_provider() {
    let ids = otpkit::provider_ids();
    assert!(!ids.is_empty());
    let sandbox = Sandbox::start().await.expect("sandbox");
    for id in ids {
        let provider = provider(&sandbox, id, 5);
        let app = SignUp {
            provider: provider.as_ref(),
        };
        let (who, purpose) = recipient_for(id);
        let session = app
            .start(who, purpose)
            .await
            .unwrap_or_else(|e| panic!("{id}: send failed: {e}"));
        let code = sandbox
            .last_code(who)
            .unwrap_or_else(|| panic!("{id}: no code reached {who}"));

        let err = app.finish(&session, &wrong(&code)).await.unwrap_err();
        assert!(err.is_rejection(), "{id}: wrong code gave {err}");
        assert_eq!(err.provider(), Some(id));

        let err = app.resend(&session).await.unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Cooldown,
            "{id}: too-early resend gave {err}"
        );

        app.finish(&session, &code)
            .await
            .unwrap_or_else(|e| panic!("{id}: the right code failed: {e}"));

        let err = app.finish(&session, &code).await.unwrap_err();
        assert!(err.is_rejection(), "{id}: reused code gave {err}");
    }
}

#[tokio::test]
async fn burned_and_expired_codes_are_rejections() {
    let sandbox = Sandbox::with_options(SandboxOptions::default().resend_cooldown(Duration::ZERO))
        .await
        .expect("sandbox");
    for id in otpkit::provider_ids() {
        let provider = provider(&sandbox, id, 5);
        let app = SignUp {
            provider: provider.as_ref(),
        };
        let (who, purpose) = recipient_for(id);

        let session = app.start(who, purpose.clone()).await.expect("send");
        let code = sandbox.last_code(who).expect("a code");
        for _ in 0..sandbox.options().max_attempts {
            let err = app.finish(&session, &wrong(&code)).await.unwrap_err();
            assert!(err.is_rejection(), "{id}: {err}");
        }
        let err = app.finish(&session, &code).await.unwrap_err();
        assert!(err.is_rejection(), "{id}: a burned code gave {err}");

        let session = app.start(who, purpose).await.expect("send");
        let code = sandbox.last_code(who).expect("a code");
        sandbox.advance(Duration::from_secs(3600));
        let err = app.finish(&session, &code).await.unwrap_err();
        assert!(err.is_rejection(), "{id}: an expired code gave {err}");
    }
}

/// The normalized kind an application sees for a forced failure. Where a vendor documents no
/// shape for a failure the sandbox answers the nearest one (see `Failure`), so a few differ.
fn expected_kind(provider: &str, failure: Failure) -> ErrorKind {
    match (provider, failure) {
        // A 429 on send is the account's rate limit (contract §3).
        ("hyperverge" | "generic" | "thundersms", Failure::Cooldown) => ErrorKind::RateLimited,
        (_, Failure::Cooldown) => ErrorKind::Cooldown,
        (_, Failure::QuotaExceeded) => ErrorKind::QuotaExceeded,
        (_, Failure::RateLimited) => ErrorKind::RateLimited,
        (_, Failure::ServerError) => ErrorKind::Unavailable,
        (_, Failure::BadCredentials) => ErrorKind::InvalidCredentials,
        (_, Failure::InvalidRecipient) => ErrorKind::InvalidRecipient,
        (_, Failure::HtmlPage) => ErrorKind::UnexpectedResponse,
        (_, Failure::Hang) => ErrorKind::Timeout,
        (_, _) => ErrorKind::UnexpectedResponse,
    }
}

#[tokio::test]
async fn forced_failures_reach_the_application_as_normalized_kinds() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for id in otpkit::provider_ids() {
        let provider = provider(&sandbox, id, 5);
        // A short timeout for the hang, so it ends quickly (only the hang waits it out).
        let hanging = provider_with(&sandbox, id, 5, &hang_timeout(HttpOptions::default()));
        let (who, purpose) = recipient_for(id);
        for failure in Failure::ALL {
            let app = SignUp {
                provider: if failure == Failure::Hang {
                    hanging.as_ref()
                } else {
                    provider.as_ref()
                },
            };
            sandbox.fail_next(id, failure).expect("known provider");
            let err = app.start(who, purpose.clone()).await.unwrap_err();
            assert_eq!(
                err.kind(),
                expected_kind(id, failure),
                "{id} {failure}: {err}"
            );
            let retryable = matches!(
                expected_kind(id, failure),
                ErrorKind::RateLimited | ErrorKind::Unavailable
            );
            if retryable {
                assert!(err.is_retryable(), "{id} {failure}: {err}");
            }
            if failure == Failure::Hang {
                assert_eq!(err.request_sent(), Some(true), "{id}: a hang may have sent");
            }
        }
        // The failures were used up: the next send is real.
        let app = SignUp {
            provider: provider.as_ref(),
        };
        app.start(who, purpose).await.expect("a real send");
    }
}

#[tokio::test]
async fn bad_credentials_in_config_are_refused_like_the_vendor_does() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    for id in otpkit::provider_ids() {
        let mut config = sandbox.config_json(id).expect("config");
        let secret_key = ["client_secret", "app_key", "api_secret", "token"]
            .into_iter()
            .find(|key| config.get(key).is_some())
            .expect("a secret key");
        config[secret_key] = "not-the-secret".into();
        let provider = ProviderConfig::from_json_str(&config.to_string())
            .and_then(|c| c.build())
            .expect("builds");
        let (who, purpose) = recipient_for(id);
        let err = provider
            .send(&SendRequest::new(who.parse().unwrap()).purpose(purpose))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidCredentials, "{id}: {err}");
        assert!(
            !format!("{err} {err:?}").contains("not-the-secret"),
            "{id}: the secret leaked"
        );
    }
}

#[tokio::test]
async fn ready_made_configs_load_from_toml_and_name_the_sandbox() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let compiled = otpkit::provider_ids();
    for id in Sandbox::PROVIDERS {
        let base = sandbox.base_url(id).expect("base url");
        assert!(base.starts_with(sandbox.url()), "{base}");
        let toml = sandbox.config_toml(id).expect("toml");
        assert!(toml.starts_with(&format!("provider = \"{id}\"")), "{toml}");
        if compiled.contains(&id) {
            let config = ProviderConfig::from_toml_str(&toml).expect("the TOML loads");
            assert_eq!(config.provider_id(), id);
            assert_eq!(config.common().base_url.as_deref(), Some(base.as_str()));
            config.build().expect("and builds");
        } else {
            assert_eq!(
                sandbox.config(id).unwrap_err().kind(),
                ErrorKind::Config,
                "{id} is not compiled in"
            );
        }
    }
    assert_eq!(
        sandbox.config("twilio").unwrap_err().kind(),
        ErrorKind::Config
    );
    assert!(sandbox.fail_next("twilio", Failure::Hang).is_err());
}

#[tokio::test]
async fn issued_codes_are_observable_but_never_printed() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let mut feed = sandbox.subscribe();
    let id = otpkit::provider_ids()[0];
    let provider = provider(&sandbox, id, 5);
    let (who, purpose) = recipient_for(id);
    provider
        .send(&SendRequest::new(who.parse().unwrap()).purpose(purpose))
        .await
        .expect("send");
    let issued = tokio::time::timeout(Duration::from_secs(10), feed.recv())
        .await
        .expect("a code in time")
        .expect("a code");
    assert_eq!(issued.provider, id);
    assert_eq!(
        Some(issued.code.expose().to_owned()),
        sandbox.last_code(who)
    );
    assert_eq!(sandbox.issued().len(), 1);
    let debug = format!("{issued:?}");
    assert!(!debug.contains(issued.code.expose()), "{debug}");
    assert!(!debug.contains(who), "{debug}");
}
