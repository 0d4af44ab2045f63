//! The command-line example end to end against a local mock of Thaaigroup (contract §5):
//! exact JSON on stdout and the documented exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use otpkit::testing::load_fixture;
use serde_json::{json, Value};
use wiremock::MockServer;

/// The example binary, built up to date (see `built_examples`).
pub(crate) fn cli_binary() -> PathBuf {
    crate::built_examples::example_binary("otpkit")
}

fn fixture(name: &str) -> otpkit::testing::Fixture {
    load_fixture(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/thaaigroup")
            .join(name),
    )
    .expect("fixture loads")
}

/// Writes a Thaaigroup config pointing at `base_url` and returns its path.
fn config_file(dir: &Path, base_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("otpkit.toml");
    std::fs::write(
        &path,
        format!(
            "provider = \"thaaigroup\"\nbase_url = \"{base_url}\"\nclient_id = \"fixture-client_id\"\nclient_secret = \"fixture-client_secret\"\ndomain = \"example.com\"\n{extra}"
        ),
    )
    .unwrap();
    path
}

/// Runs the CLI; returns (exit code, parsed stdout, raw stdout).
pub(crate) fn run(config: &Path, args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(cli_binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("cli runs");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON line: {stdout:?}"
    );
    let parsed: Value = serde_json::from_str(stdout.trim()).expect("stdout is JSON");
    (
        output.status.code().unwrap_or(-1),
        parsed,
        stdout.trim().to_owned(),
    )
}

/// A scratch folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("otpkit-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn send_verify_wrong_code_and_early_resend() {
    let server = MockServer::start().await;
    let dir = TempDir::new("flow");
    let config = config_file(&dir.0, &server.uri(), "");

    fixture("send_ok.json").mount(&server).await.unwrap();
    let (code, out, raw) = run(
        &config,
        &["send", "user@example.com", "--purpose", "signup"],
    );
    assert_eq!(code, 0, "{raw}");
    let handle = out["handle"].as_str().expect("handle").to_owned();
    assert_eq!(
        raw,
        format!(
            r#"{{"ok":true,"provider":"thaaigroup","handle":"{handle}","expires_in_secs":300,"resend_after_secs":60}}"#
        )
    );
    assert!(
        handle.len() <= 4096
            && handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    );

    fixture("verify_ok.json").mount(&server).await.unwrap();
    let (code, _, raw) = run(&config, &["verify", "--handle", &handle, "123456"]);
    assert_eq!((code, raw.as_str()), (0, r#"{"ok":true,"verified":true}"#));

    let mut wrong = fixture("verify_otp_invalid_400.json");
    if let Some(request) = wrong.request.as_mut() {
        request.body =
            Some(json!({"email": "user@example.com", "otp": "000000", "purpose": "signup"}));
    }
    wrong.mount(&server).await.unwrap();
    let (code, _, raw) = run(&config, &["verify", "--handle", &handle, "000000"]);
    assert_eq!(code, 1, "a rejected code exits 1");
    assert_eq!(
        raw,
        r#"{"ok":false,"error":{"kind":"invalid_code","provider":"thaaigroup","status":400,"provider_code":"OTP_INVALID","message":"Invalid or expired OTP","retry_after_secs":null}}"#
    );

    // The send answer asked for 60 s between codes: the handle keeps that, and an early
    // resend is `cooldown` with the remaining wait, decided without a request.
    server.reset().await;
    let (code, out, raw) = run(&config, &["resend", "--handle", &handle]);
    assert_eq!(code, 3);
    assert_eq!(out["error"]["kind"], "cooldown", "{raw}");
    assert_eq!(out["error"]["provider"], "thaaigroup", "{raw}");
    let wait = out["error"]["retry_after_secs"].as_u64().expect("a wait");
    assert!((1..=60).contains(&wait), "{raw}");

    let (code, out, _) = run(&config, &["status", "--handle", &handle]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (3, Some("unsupported"))
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "neither the early resend nor status made a request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_before_any_request() {
    let server = MockServer::start().await;
    let dir = TempDir::new("bad");

    let config = config_file(&dir.0, &server.uri(), "client_idd = \"typo\"\n");
    let (code, out, _) = run(&config, &["send", "user@example.com"]);
    assert_eq!(code, 2, "config errors exit 2");
    assert_eq!(out["error"]["kind"], "config");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("client_idd"),
        "{out}"
    );

    let config = config_file(&dir.0, &server.uri(), "");
    for recipient in ["user-at-example.com", "07700 900123", "+12"] {
        let (code, out, _) = run(&config, &["send", recipient]);
        assert_eq!(code, 3, "{recipient}");
        assert_eq!(out["error"]["kind"], "invalid_recipient", "{recipient}");
    }
    let (code, out, _) = run(&config, &["verify", "--handle", "v1.garbage", "123456"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (3, Some("invalid_request"))
    );
    let (code, out, _) = run(&config, &["frobnicate"]);
    assert_eq!((code, out["error"]["kind"].as_str()), (2, Some("config")));

    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no request was made"
    );
}

#[test]
fn usage_errors_name_the_missing_or_unknown_argument() {
    let dir = TempDir::new("usage");
    let config = config_file(&dir.0, "http://127.0.0.1:9", "");
    let cases: &[(&[&str], &str)] = &[
        (&["send"], "<recipient>"),
        (&["send", "--purpose", "login"], "<recipient>"),
        (&["verify", "123456"], "--handle"),
        (&["verify", "--handle", "v1.abc"], "<code>"),
        (&["resend"], "--handle"),
        (&["status"], "--handle"),
        (&["frobnicate"], "frobnicate"),
        (&["send", "user@example.com", "--purpos", "x"], "--purpos"),
        (&["verify", "--handle"], "--handle"),
        (&[], "command"),
    ];
    for (args, named) in cases {
        let (code, out, _) = run(&config, args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert_eq!(out["ok"], false, "{args:?}: {out}");
        assert_eq!(out["error"]["kind"], "config", "{args:?}: {out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("usage: "), "{args:?}: {message}");
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(!message.contains("error:"), "{args:?}: {message}");
    }
}

/// Per provider: a recipient it takes, a purpose, whether it has a status call. The flow:
/// send, a wrong code, resend, the right code, the same code again, status.
const SANDBOX_FLOWS: &[(&str, &str, &str, bool)] = &[
    ("thaaigroup", "jane.doe@example.com", "signup", false),
    ("hyperverge", "jane.doe@example.com", "signup", false),
    ("generic", "+5511999888777", "signup", true),
    ("thundersms", "+919189195123", "signup", true),
    ("tencent_ciam", "+8613612345678", "login", false),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_provider_end_to_end_against_the_sandbox() {
    // No cooldowns (the sandbox's and otpkit's own) so the resend right after a send is allowed.
    let options =
        otpkit::sandbox::SandboxOptions::default().resend_cooldown(std::time::Duration::ZERO);
    let sandbox = otpkit::sandbox::Sandbox::with_options(options)
        .await
        .unwrap();
    let dir = TempDir::new("sandbox");
    // A provider compiled in but missing here would go untested: say so instead.
    for id in otpkit::provider_ids() {
        assert!(
            SANDBOX_FLOWS.iter().any(|flow| flow.0 == id),
            "{id} has no entry in SANDBOX_FLOWS (its recipient, purpose and whether it has status)"
        );
    }
    for &(id, recipient, purpose, has_status) in SANDBOX_FLOWS {
        if !otpkit::provider_ids().contains(&id) {
            continue;
        }
        let config = dir.0.join(format!("{id}.toml"));
        let toml = sandbox.config_toml(id).unwrap();
        std::fs::write(&config, format!("resend_after_secs = 0\n{toml}")).unwrap();

        // `capabilities` answers without a request, in contract §6's shape, and agrees with
        // what the provider then does.
        let (code, caps, raw) = run(&config, &["capabilities"]);
        assert_eq!(code, 0, "{id} capabilities: {raw}");
        let mut keys: Vec<&str> = caps
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = [
            "ok",
            "provider",
            "channels",
            "email",
            "phone",
            "phone_prefixes",
            "resend",
            "status",
            "custom_code",
            "verify_purposes",
        ];
        keys.sort_unstable();
        expected.sort_unstable();
        assert_eq!(keys, expected, "{raw}");
        assert_eq!(caps["provider"], id, "{raw}");
        assert_eq!(caps["status"], has_status, "{raw}");
        let kind_flag = if recipient.contains('@') {
            "email"
        } else {
            "phone"
        };
        assert_eq!(caps[kind_flag], true, "{raw}");
        if caps["phone"] == false {
            assert_eq!(caps["phone_prefixes"], json!([]), "{raw}");
        }

        let (code, out, raw) = run(&config, &["send", recipient, "--purpose", purpose]);
        assert_eq!(
            (code, out["ok"].as_bool()),
            (0, Some(true)),
            "{id} send: {raw}"
        );
        assert_eq!(out["provider"], id, "{raw}");
        let handle = out["handle"].as_str().unwrap().to_owned();

        let (code, out, raw) = run(&config, &["verify", "--handle", &handle, "0000"]);
        assert_eq!(
            (code, out["error"]["kind"].as_str()),
            (1, Some("invalid_code")),
            "{id}: {raw}"
        );

        // Resend before the code is used; the resend's handle is the one to verify with
        // (Tencent issues a new otp_token).
        let (code, out, raw) = run(&config, &["resend", "--handle", &handle]);
        assert_eq!(
            (code, out["ok"].as_bool()),
            (0, Some(true)),
            "{id} resend: {raw}"
        );
        assert!(out["resend_after_secs"].is_u64(), "{id} resend: {raw}");
        let handle = out["handle"]
            .as_str()
            .expect("resend prints a handle")
            .to_owned();

        let issued = sandbox
            .last_code(recipient)
            .expect("the sandbox issued a code");
        let (code, _, raw) = run(&config, &["verify", "--handle", &handle, &issued]);
        assert_eq!(
            (code, raw.as_str()),
            (0, r#"{"ok":true,"verified":true}"#),
            "{id}"
        );
        let (code, out, raw) = run(&config, &["verify", "--handle", &handle, &issued]);
        assert_eq!(code, 1, "{id}: a used code is rejected: {raw}");
        assert!(out["error"]["kind"].is_string(), "{raw}");

        let (code, out, raw) = run(&config, &["status", "--handle", &handle]);
        if has_status {
            assert_eq!(code, 0, "{id} status: {raw}");
            assert!(out["status"].is_string(), "{raw}");
        } else {
            assert_eq!(
                (code, out["error"]["kind"].as_str()),
                (3, Some("unsupported")),
                "{raw}"
            );
        }
    }
}

/// `--record DIR` (contract §5): a send and a verify in two runs of the command line are
/// recorded against the sandbox, linked into one scenario across the two processes, replay,
/// and hold neither the code, the phone number nor the token.
#[tokio::test(flavor = "multi_thread")]
async fn record_writes_a_scrubbed_scenario_across_runs() {
    let sandbox = otpkit::sandbox::Sandbox::start().await.unwrap();
    let dir = TempDir::new("record");
    let config = dir.0.join("otpkit.toml");
    std::fs::write(&config, sandbox.config_toml("thundersms").unwrap()).unwrap();
    let recorded = dir.0.join("recorded");
    let record = recorded.to_str().unwrap().to_owned();
    let phone = "+919823456701";
    let (config_for_send, record_for_send) = (config.clone(), record.clone());
    let (code, out, _) = tokio::task::spawn_blocking(move || {
        run(
            &config_for_send,
            &["--record", &record_for_send, "send", phone],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    let handle = out["handle"].as_str().unwrap().to_owned();
    let otp = sandbox.last_code(phone).unwrap();
    let (config_for_verify, record_for_verify, otp_for_verify) =
        (config.clone(), record.clone(), otp.clone());
    let (code, out, _) = tokio::task::spawn_blocking(move || {
        run(
            &config_for_verify,
            &[
                "--record",
                &record_for_verify,
                "verify",
                "--handle",
                &handle,
                &otp_for_verify,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!((code, out), (0, json!({"ok": true, "verified": true})));

    let fixtures = otpkit::testing::load_fixtures(&recorded).unwrap();
    let operations: Vec<&str> = fixtures.iter().map(|f| f.operation.as_str()).collect();
    assert_eq!(operations, ["send", "verify"]);
    assert_eq!(
        fixtures[1].input.get("handle_from"),
        Some(&json!(fixtures[0].name()))
    );
    let outcomes = otpkit::testing::replay_scenario(&recorded).await.unwrap();
    assert!(
        outcomes.iter().all(|o| o["ok"] == json!(true)),
        "{outcomes:?}"
    );
    let token = sandbox.config_json("thundersms").unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for fixture in &fixtures {
        let text = std::fs::read_to_string(&fixture.path).unwrap();
        for leak in [&otp, "919823456701", "9823456701", token.as_str()] {
            assert!(!text.contains(leak), "{}", fixture.path.display());
        }
    }
}
