//! Replays every recorded exchange under `fixtures/`: each fixture checks the exact request
//! the adapter built and the normalized outcome. A new case is a new file.
//!
//! Every fixture replays in process (`Fixture::replay_in_process`: the adapters and the
//! exchange path, no socket); a few per provider also replay over HTTP against wiremock
//! (`Fixture::replay`), which proves the transport end to end and that both replays agree.

use std::collections::BTreeMap;
use std::path::Path;

use otpkit::testing::{load_fixture, load_fixtures, Fixture};
use serde_json::Value;

fn all_fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(&root).expect("fixtures load");
    assert!(
        fixtures.len() >= 30,
        "only {} fixtures found",
        fixtures.len()
    );
    fixtures
}

/// The provider folder a fixture lives in (`fixtures/<id>/…`).
fn provider_of(fixture: &Fixture) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let relative = fixture.path.strip_prefix(&root).unwrap_or(&fixture.path);
    relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn failures(
    fixtures: &[Fixture],
    replay: impl Fn(&Fixture) -> Result<Value, String>,
) -> Vec<String> {
    fixtures
        .iter()
        .filter_map(|fixture| {
            replay(fixture).err().map(|why| {
                format!(
                    "{}: {}\n  {why}",
                    fixture.path.display(),
                    fixture.description
                )
            })
        })
        .collect()
}

#[test]
fn every_fixture_replays_in_process() {
    let fixtures = all_fixtures();
    let failures = failures(&fixtures, Fixture::replay_in_process);
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

/// Per provider: two of the bad shapes, the first successful send and the first successful
/// verify.
pub fn over_http_set() -> Vec<Fixture> {
    let mut chosen: BTreeMap<(String, &str), Fixture> = BTreeMap::new();
    for fixture in all_fixtures() {
        let name = fixture.name();
        let ok = fixture.expect.get("ok") == Some(&Value::Bool(true));
        let role = match (name.as_str(), fixture.operation.as_str()) {
            ("bad_html_502", _) => "bad_html_502",
            ("bad_empty_body", _) => "bad_empty_body",
            (_, "send") if ok && fixture.request.is_some() => "send_ok",
            (_, "verify") if ok && fixture.request.is_some() => "verify_ok",
            _ => continue,
        };
        chosen
            .entry((provider_of(&fixture), role))
            .or_insert(fixture);
    }
    chosen.into_values().collect()
}

#[tokio::test]
async fn a_few_fixtures_per_provider_replay_over_http_as_in_process() {
    let fixtures = over_http_set();
    for id in otpkit::provider_ids() {
        let count = fixtures.iter().filter(|f| provider_of(f) == *id).count();
        assert_eq!(count, 4, "{id}: {count} fixtures over HTTP, expected 4");
    }
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let over_http = fixture.replay().await;
        let in_process = fixture.replay_in_process();
        let agree = match (&over_http, &in_process) {
            // The handle token carries issue times; everything else must be equal.
            (Ok(a), Ok(b)) => without_handle(a) == without_handle(b),
            _ => false,
        };
        if !agree {
            failures.push(format!(
                "{}:\n  over HTTP:  {over_http:?}\n  in process: {in_process:?}",
                fixture.path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn without_handle(outcome: &Value) -> Value {
    let mut outcome = outcome.clone();
    if let Value::Object(map) = &mut outcome {
        map.remove("handle");
    }
    outcome
}

#[test]
fn every_provider_folder_has_the_bad_shapes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for id in otpkit::provider_ids() {
        let dir = root.join(id);
        let names: Vec<String> = load_fixtures(&dir)
            .unwrap_or_default()
            .iter()
            .map(|f| f.name())
            .collect();
        for shape in [
            "bad_html_502",
            "bad_200_html",
            "bad_truncated_json",
            "bad_wrong_shape",
            "bad_empty_body",
        ] {
            assert!(
                names.iter().any(|n| n == shape),
                "fixtures/{id} lacks {shape}.json"
            );
        }
    }
}

#[tokio::test]
async fn a_fixture_that_expects_the_wrong_outcome_fails() {
    // Both replays must be able to fail: take a real fixture and expect something else.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/thaaigroup/send_ok.json");
    let mut fixture = load_fixture(&file).unwrap();
    fixture.expect = serde_json::json!({"ok": true, "expires_in_secs": 301});
    assert!(fixture.replay().await.is_err());
    assert!(fixture.replay_in_process().is_err());
    let mut fixture = load_fixture(&file).unwrap();
    if let Some(request) = fixture.request.as_mut() {
        request.body = Some(serde_json::json!({"email": "someone-else@example.com"}));
    }
    let why = fixture.replay().await.unwrap_err();
    assert!(why.contains("body"), "{why}");
    let why = fixture.replay_in_process().unwrap_err();
    assert!(why.contains("body"), "{why}");
    // A header the adapter does not send is a mismatch too.
    let mut fixture = load_fixture(&file).unwrap();
    if let Some(request) = fixture.request.as_mut() {
        request.headers.insert("x-not-sent".into(), "1".into());
    }
    let why = fixture.replay_in_process().unwrap_err();
    assert!(why.contains("x-not-sent"), "{why}");
}
