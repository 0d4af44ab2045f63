//! Tamper-evident handles (contract §4): a handle whose fields were edited is refused by
//! `verify`, `resend` and `status` on every provider, `invalid_request` with no request made.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use otpkit::sandbox::Sandbox;
use otpkit::{ErrorKind, ProviderConfig, SendRequest, Verification};
use serde_json::Value;

use crate::local_server::{Action, LocalServer, Response};

/// The token's JSON form.
fn decode(token: &str) -> Value {
    let body = token.strip_prefix("v1.").expect("a plain token");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).expect("base64")).expect("JSON")
}

/// A token from a JSON form.
fn encode(json: &Value) -> String {
    format!("v1.{}", URL_SAFE_NO_PAD.encode(json.to_string()))
}

/// Issue 9's defect: send to your own ThunderSMS number, change the plain token's recipient,
/// verify with your own code. Before tamper-evident handles this was `Ok(Verified)` for the
/// other number.
#[tokio::test]
async fn a_token_whose_recipient_was_changed_does_not_verify() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let provider = sandbox.config("thundersms").unwrap().build().unwrap();
    let mine = "+919189195123";
    let receipt = provider
        .send(&SendRequest::new(mine.parse().unwrap()))
        .await
        .expect("send");
    let code = sandbox.last_code(mine).expect("my code");

    let mut json = decode(&receipt.verification.to_token());
    json["recipient"] = "+919876543210".into();
    let forged = Verification::from_token(&encode(&json)).expect("it still parses");
    let err = provider.verify(&forged, &code).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");

    // Nothing reached the provider: my code is still unused and verifies my own handle.
    provider
        .verify(&receipt.verification, &code)
        .await
        .expect("the genuine handle verifies");
}

/// Every one-field edit of a plain token: each field changed, added where absent and removed
/// where present (each extra key too), the MAC changed or removed. Each edit still parses, so
/// it is the MAC, not the parser, that refuses it.
fn one_field_edits(genuine: &Value, other_provider: &str) -> Vec<(String, Value)> {
    let object = genuine.as_object().expect("a JSON object");
    let mut edits = Vec::new();
    let mut edit = |what: String, change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut edited = object.clone();
        change(&mut edited);
        edits.push((what, Value::Object(edited)));
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let recipient = text("recipient").expect("a recipient");
    let other_recipient = match recipient.split_once('@') {
        Some((local, domain)) => format!("x{local}@{domain}"),
        None => {
            let last = if recipient.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &recipient[..recipient.len() - 1])
        }
    };
    let purpose = match text("purpose").as_deref() {
        Some("login") => "signup",
        _ => "login",
    };
    let channel = match text("channel").as_deref() {
        Some("sms") => "whatsapp",
        _ => "sms",
    };
    let later = object
        .get("expires_at")
        .and_then(Value::as_u64)
        .unwrap_or(2_000_000_000)
        + 3600;
    let mut mac = text("mac").expect("the genuine handle carries a MAC");
    let first = if mac.starts_with('A') { "B" } else { "A" };
    mac.replace_range(..1, first);

    let set = |key: &'static str, value: Value| {
        move |h: &mut serde_json::Map<String, Value>| {
            h.insert(key.to_owned(), value.clone());
        }
    };
    edit("provider".into(), &set("provider", other_provider.into()));
    edit(
        "recipient".into(),
        &set("recipient", other_recipient.into()),
    );
    edit("purpose".into(), &set("purpose", purpose.into()));
    edit("channel".into(), &set("channel", channel.into()));
    let reference = text("reference").map_or("ref-1".to_owned(), |r| format!("{r}x"));
    edit("reference".into(), &set("reference", reference.into()));
    edit("expiry".into(), &set("expires_at", later.into()));
    edit("resend time".into(), &set("resend_at", 0.into()));
    edit("member".into(), &set("member", "india".into()));
    edit("mac".into(), &set("mac", mac.into()));
    for key in [
        "purpose",
        "channel",
        "reference",
        "expires_at",
        "resend_at",
        "mac",
    ] {
        if object.contains_key(key) {
            edit(format!("{key} removed"), &|h| {
                h.remove(key);
            });
        }
    }
    let extra = object
        .get("extra")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, value) in &extra {
        let changed = format!("{}x", value.as_str().unwrap_or_default());
        edit(format!("extra {key}"), &|h| {
            h["extra"][key] = changed.clone().into();
        });
        edit(format!("extra {key} removed"), &|h| {
            if let Some(extra) = h.get_mut("extra").and_then(Value::as_object_mut) {
                extra.remove(key);
            }
        });
    }
    edit("extra key added".into(), &|h| {
        let extra = h
            .entry("extra")
            .or_insert_with(|| Value::Object(Default::default()));
        extra["added"] = "1".into();
    });
    edits
}

/// Issue 9's hostile table: for every registered provider the sandbox serves, every one-field
/// edit of a genuine plain token gives no `Ok` from `verify`, `resend` or `status`, and no
/// request. The edited handles go to the same provider and credentials (so the same key)
/// pointed at a local server that counts requests.
#[tokio::test]
async fn every_one_field_edit_of_a_token_is_refused_with_no_request() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let ids: Vec<&str> = otpkit::providers::descriptors()
        .iter()
        .map(|d| d.id)
        .filter(|id| Sandbox::PROVIDERS.contains(id))
        .collect();
    assert!(!ids.is_empty());
    for descriptor in otpkit::providers::descriptors() {
        let id = descriptor.id;
        if !ids.contains(&id) {
            continue;
        }
        let provider = sandbox.config(id).unwrap().build().unwrap();
        let request = SendRequest::new(descriptor.sample_recipient.parse().unwrap())
            .purpose(descriptor.sample_purpose.parse().unwrap());
        let receipt = provider.send(&request).await.expect("send");
        let genuine = decode(&receipt.verification.to_token());

        let counter = LocalServer::start(|_, _| Action::Respond(Response::json(200, "{}"))).await;
        let mut config = sandbox.config_json(id).unwrap();
        config["base_url"] = counter.url().into();
        let counted = ProviderConfig::from_json_str(&config.to_string())
            .and_then(|c| c.build())
            .unwrap();

        let other = ids.iter().copied().find(|o| *o != id).unwrap_or("other");
        let edits = one_field_edits(&genuine, other);
        assert!(edits.len() >= 12, "{id}: only {} edits", edits.len());
        for (what, edited) in edits {
            let token = encode(&edited);
            let handle = Verification::from_token(&token)
                .unwrap_or_else(|e| panic!("{id} {what}: the edit does not parse: {e}"));
            let outcomes = [
                ("verify", counted.verify(&handle, "123456").await.map(drop)),
                ("resend", counted.resend(&handle).await.map(drop)),
                ("status", counted.status(&handle).await.map(drop)),
            ];
            for (operation, outcome) in outcomes {
                let err = outcome.expect_err(&format!("{id} {what}: {operation} gave Ok"));
                assert_eq!(
                    err.kind(),
                    ErrorKind::InvalidRequest,
                    "{id} {what}: {operation}: {err}"
                );
            }
            assert_eq!(counter.requests(), 0, "{id} {what}: a request was made");
        }

        // The control: the genuine handle does reach the counting server.
        let _ = counted.verify(&receipt.verification, "123456").await;
        assert_eq!(
            counter.requests(),
            1,
            "{id}: the genuine handle made no request"
        );
    }
}

/// A sealed handle carries the MAC inside: opened, it is the handle `send` returned, and it
/// verifies.
#[tokio::test]
async fn sealed_handles_carry_the_mac() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let descriptor = otpkit::providers::descriptors()
        .iter()
        .find(|d| Sandbox::PROVIDERS.contains(&d.id))
        .expect("a provider the sandbox serves");
    let provider = sandbox.config(descriptor.id).unwrap().build().unwrap();
    let who = descriptor.sample_recipient;
    let request =
        SendRequest::new(who.parse().unwrap()).purpose(descriptor.sample_purpose.parse().unwrap());
    let receipt = provider.send(&request).await.expect("send");
    let (key, _) = otpkit::SealKey::generate().unwrap();
    let sealed = receipt.verification.seal(&key).unwrap();
    assert!(sealed.len() <= Verification::MAX_TOKEN_LEN);
    let opened = Verification::open(&sealed, &key).unwrap();
    assert_eq!(opened, receipt.verification);
    let code = sandbox.last_code(who).expect("a code");
    provider
        .verify(&opened, &code)
        .await
        .expect("the opened handle verifies");
}
