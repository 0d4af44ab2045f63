//! Recording (`HttpOptions::record_to`): for every provider, a run against the sandbox (send,
//! a wrong code, the right code, a resend) is recorded, the recording replays with the same
//! outcomes, and no credential, code, email or phone number of the run is in the files, in
//! any encoding.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use otpkit::sandbox::Sandbox;
use otpkit::{
    ErrorKind, HttpOptions, OtpProvider, ProviderConfig, Purpose, SendRequest, Verification,
};
use serde_json::Value;

/// A fresh folder under the system's temporary one.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "otpkit-record-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A recipient of the run each provider reaches: not the sample (a test elsewhere may share
/// it), so that the scan is about this run's values.
fn recipient_for(provider: &str) -> &'static str {
    match provider {
        "generic" => "+5511987654321",
        "thundersms" => "+919812345670",
        "tencent_ciam" => "+8613912345678",
        _ => "Rita.Recorder@corp-mail.example.org",
    }
}

fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// `ok` and, for failures, the error kind: what a recording must reproduce.
fn summary<T>(outcome: &Result<T, otpkit::Error>) -> String {
    match outcome {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.kind().as_str().to_owned(),
    }
}

fn replay_summary(outcome: &Value) -> String {
    if outcome["ok"] == Value::Bool(true) {
        "ok".to_owned()
    } else {
        outcome["error"]["kind"].as_str().unwrap_or("?").to_owned()
    }
}

/// The values a recording must not hold, each in the forms it could be written in.
fn forbidden_forms(values: &[String]) -> Vec<(String, String)> {
    let mut forms = Vec::new();
    for value in values {
        let json = serde_json::to_string(value).unwrap();
        let candidates = [
            value.clone(),
            value.to_lowercase(),
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
            json.trim_matches('"').to_owned(),
            STANDARD.encode(value),
            URL_SAFE_NO_PAD.encode(value),
        ];
        for form in candidates {
            forms.push((value.clone(), form));
        }
    }
    forms
}

/// Fails if any file under `dir` holds a forbidden value: as text, or inside a base64 word.
fn scan(dir: &Path, values: &[String]) {
    let forms = forbidden_forms(values);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (value, form) in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{}: holds a value of the run ({} characters) as {form:?}",
                path.display(),
                value.len()
            );
        }
        let words = text.split(|c: char| {
            !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'))
        });
        for word in words.filter(|w| w.len() >= 8) {
            for engine in [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                let Some(decoded) = engine
                    .decode(word)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                else {
                    continue;
                };
                for value in values {
                    assert!(
                        !decoded.contains(value.as_str()),
                        "{}: a base64 word hides a value of the run",
                        path.display()
                    );
                }
            }
        }
    }
}

/// The credentials in a sandbox config: every string that is not an address, a word of
/// settings or a URL (the sandbox's are all long random-looking strings).
fn credentials(config: &Value) -> Vec<String> {
    const KEYS: [&str; 8] = [
        "client_id",
        "client_secret",
        "app_id",
        "app_key",
        "api_key",
        "api_secret",
        "token",
        "bearer_token",
    ];
    KEYS.iter()
        .filter_map(|k| config.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_provider_records_a_run_that_replays_and_holds_nothing_personal() {
    let sandbox = Sandbox::start().await.unwrap();
    for descriptor in otpkit::providers::descriptors() {
        let id = descriptor.id;
        if !Sandbox::PROVIDERS.contains(&id) {
            continue;
        }
        let dir = fresh_dir(id);
        let config = sandbox.config_json(id).unwrap();
        let provider = ProviderConfig::from_json_str(&config.to_string())
            .unwrap()
            .build_with(&HttpOptions::default().record_to(&dir))
            .unwrap();
        let who = recipient_for(id);
        let purpose = Purpose::parse(descriptor.sample_purpose).unwrap();
        let request = SendRequest::new(who.parse().unwrap()).purpose(purpose);

        let mut live = Vec::new();
        let sent = provider.send(&request).await;
        live.push(summary(&sent));
        let receipt = sent.unwrap_or_else(|e| panic!("{id}: send: {e}"));
        let code = sandbox.last_code(who).expect("a code was issued");
        let handle: Verification = receipt.verification.clone();
        let wrong_code = wrong(&code);
        let refused = provider.verify(&handle, &wrong_code).await;
        assert!(refused.is_err(), "{id}: a wrong code was accepted");
        live.push(summary(&refused));
        let verified = provider.verify(&handle, &code).await;
        live.push(summary(&verified));
        verified.unwrap_or_else(|e| panic!("{id}: verify: {e}"));
        // Too early by the handle's resend time: refused by otpkit with no request, recorded
        // as such (`"request": null`).
        let resent = provider.resend(&handle).await;
        live.push(summary(&resent));

        let outcomes = otpkit::testing::replay_scenario(&dir)
            .await
            .unwrap_or_else(|e| panic!("{id}: the recording does not replay: {e}"));
        let replayed: Vec<String> = outcomes.iter().map(replay_summary).collect();
        assert_eq!(replayed, live, "{id}: replayed outcomes differ");
        // The recorded files also replay one by one, as any fixture does (a verify with the
        // scrubbed handle it recorded).
        for fixture in otpkit::testing::load_fixtures(&dir).unwrap() {
            fixture
                .replay()
                .await
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        }

        let mut values = credentials(&config);
        values.push(code.clone());
        values.push(wrong_code.clone());
        values.push(who.to_owned());
        if let Some(phone) = who.strip_prefix('+') {
            values.push(phone.to_owned());
            values.push(phone[2..].to_owned());
        } else {
            values.push(who.to_lowercase());
        }
        if let Some(reference) = handle.reference() {
            values.push(reference.to_owned());
        }
        scan(&dir, &values);
        if std::env::var_os("OTPKIT_KEEP_RECORDING").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[tokio::test]
async fn a_folder_that_cannot_be_written_never_fails_a_call() {
    let sandbox = Sandbox::start().await.unwrap();
    let file = fresh_dir("not-a-folder");
    std::fs::write(&file, "a file where the folder should be").unwrap();
    let provider = sandbox
        .config("thaaigroup")
        .unwrap()
        .build_with(&HttpOptions::default().record_to(file.join("below")))
        .unwrap();
    let receipt = provider
        .send(&SendRequest::new("jane.doe@example.com".parse().unwrap()))
        .await
        .expect("the send succeeds although nothing can be recorded");
    let code = sandbox.last_code("jane.doe@example.com").unwrap();
    provider
        .verify(&receipt.verification, &code)
        .await
        .expect("so does the verify");
    assert!(!file.join("below").exists());
    let _ = std::fs::remove_file(&file);
}

#[tokio::test]
async fn recording_off_writes_nothing_and_on_writes_one_file_per_operation() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = fresh_dir("count");
    let recorded = sandbox
        .config("thaaigroup")
        .unwrap()
        .build_with(&HttpOptions::default().record_to(&dir))
        .unwrap();
    let plain: Box<dyn OtpProvider> = sandbox.config("thaaigroup").unwrap().build().unwrap();
    let request = SendRequest::new("count.me@example.com".parse().unwrap());
    plain.send(&request).await.unwrap();
    assert!(!dir.exists());
    // A cooldown from the sandbox (the same recipient, just now): an exchange.
    let refused = recorded.send(&request).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Cooldown);
    // Refused by otpkit before any request: a handle that was never issued (no MAC), and a
    // code with letters on a real one. Recorded with `"request": null`.
    let forged = Verification::new("thaaigroup", "count.me@example.com".parse().unwrap());
    assert_eq!(
        recorded.verify(&forged, "123456").await.unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let other = SendRequest::new("count.other@example.com".parse().unwrap());
    let receipt = recorded.send(&other).await.unwrap();
    assert_eq!(
        recorded
            .verify(&receipt.verification, "12ab56")
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidCode
    );
    let fixtures = otpkit::testing::load_fixtures(&dir).unwrap();
    let shapes: Vec<(&str, bool)> = fixtures
        .iter()
        .map(|f| (f.operation.as_str(), f.request.is_some()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("send", true),
            ("verify", false),
            ("send", true),
            ("verify", false)
        ]
    );
    // Each replays on its own: the refusals make no request there either.
    for fixture in &fixtures {
        fixture
            .replay()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.name()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A router records through its members: each exchange is written with the config of the
/// member that made it, and the folder replays as the flow it was.
#[tokio::test]
async fn a_router_records_each_members_exchanges() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = fresh_dir("router");
    let config = serde_json::json!({
        "provider": "router",
        "members": {
            "mail": sandbox.config_json("thaaigroup").unwrap(),
            "world": sandbox.config_json("thundersms").unwrap(),
        },
        "routes": [
            {"match": "email", "use": ["mail"]},
            {"match": "*", "use": ["world"]},
        ],
    });
    let router = ProviderConfig::from_json_str(&config.to_string())
        .unwrap()
        .build_with(&HttpOptions::default().record_to(&dir))
        .unwrap();
    for who in ["router.user@example.com", "+919834567012"] {
        let receipt = router
            .send(&SendRequest::new(who.parse().unwrap()))
            .await
            .unwrap();
        let code = sandbox.last_code(who).unwrap();
        router.verify(&receipt.verification, &code).await.unwrap();
    }
    let fixtures = otpkit::testing::load_fixtures(&dir).unwrap();
    let providers: Vec<&str> = fixtures
        .iter()
        .map(|f| f.config["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers,
        ["thaaigroup", "thaaigroup", "thundersms", "thundersms"]
    );
    let outcomes = otpkit::testing::replay_scenario(&dir).await.unwrap();
    assert!(
        outcomes.iter().all(|o| o["ok"] == serde_json::json!(true)),
        "{outcomes:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
