//! No configured secret may appear in the `Debug` or `Display` of any config, provider or error.

use std::path::Path;

use otpkit::testing::load_fixtures;
use otpkit::{ProviderConfig, SendRequest};
use serde_json::Value;

/// A value per credential key, recognisable in any output.
fn secret_value(key: &str) -> String {
    format!("S3cr3t-{key}-Zq9")
}

/// The config keys that hold credentials (contract §2).
pub const SECRET_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "app_id",
    "app_key",
    "api_key",
    "api_secret",
    "bearer_token",
    "token",
];

/// Each fixture's config with every credential placeholder replaced by a recognisable secret.
fn configs_with_secrets(base_url: &str) -> Vec<(String, ProviderConfig, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for fixture in load_fixtures(root).unwrap() {
        let Value::Object(mut map) = fixture.config.clone() else {
            continue;
        };
        let provider = map["provider"].as_str().unwrap_or_default().to_owned();
        if !seen.insert(provider.clone()) {
            continue;
        }
        let mut secrets = Vec::new();
        for key in SECRET_KEYS {
            if map.contains_key(*key) {
                map.insert((*key).to_owned(), Value::String(secret_value(key)));
                secrets.push(secret_value(key));
            }
        }
        map.insert("base_url".into(), Value::String(base_url.to_owned()));
        let config = ProviderConfig::from_json_str(&Value::Object(map).to_string()).unwrap();
        out.push((provider, config, secrets));
    }
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} leaks a secret: {text}"
        );
    }
}

#[tokio::test]
async fn secrets_never_print_from_configs_providers_or_errors() {
    // A port nothing listens on: every call fails with a transport error.
    let configs = configs_with_secrets("http://127.0.0.1:9");
    assert!(!configs.is_empty());
    for (provider, config, secrets) in configs {
        assert!(!secrets.is_empty(), "{provider} has no credential to check");
        assert_clean("config Debug", &format!("{config:?}"), &secrets);
        let built = config.build().unwrap();
        assert_clean("provider Debug", &format!("{built:?}"), &secrets);
        let request = SendRequest::new("user@example.com".parse().unwrap());
        if let Err(error) = built.send(&request).await {
            assert_clean("error Display", &error.to_string(), &secrets);
            assert_clean("error Debug", &format!("{error:?}"), &secrets);
            assert_clean(
                "error JSON",
                &serde_json::to_string(&error).unwrap(),
                &secrets,
            );
        }
    }
}

#[test]
fn config_errors_never_echo_values() {
    let leaked = secret_value("client_secret");
    // A secret put where a number belongs.
    let toml = format!(
        "provider = \"thaaigroup\"\nclient_id = \"a\"\nclient_secret = \"b\"\ndomain = \"c\"\ntimeout_secs = \"{leaked}\""
    );
    let err = ProviderConfig::from_toml_str(&toml).unwrap_err();
    assert!(err.message().contains("timeout_secs"), "{err}");
    assert_clean(
        "config error",
        &format!("{err} {err:?}"),
        std::slice::from_ref(&leaked),
    );
    // A TOML syntax error on the secret's line.
    let toml = format!("provider = \"thaaigroup\"\nclient_secret = \"{leaked}\n");
    let err = ProviderConfig::from_toml_str(&toml).unwrap_err();
    assert_clean("toml error", &format!("{err} {err:?}"), &[leaked]);
}

#[test]
fn fixtures_hold_no_real_credentials() {
    // Credentials in fixtures are `{{placeholders}}` or the fixture- values they become.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for fixture in load_fixtures(root).unwrap() {
        let Value::Object(config) = &fixture.config else {
            continue;
        };
        for key in SECRET_KEYS {
            if let Some(Value::String(value)) = config.get(*key) {
                assert!(
                    value.starts_with("{{") && value.ends_with("}}"),
                    "{}: `{key}` is not a placeholder",
                    fixture.path.display()
                );
            }
        }
    }
}
