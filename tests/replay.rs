//! Replays every recorded exchange under `fixtures/` with wiremock: each fixture checks the
//! exact request the adapter sent and the normalized outcome. A new case is a new file.

use std::path::Path;

use otpkit::testing::load_fixtures;

#[tokio::test]
async fn every_fixture_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(&root).expect("fixtures load");
    assert!(
        fixtures.len() >= 30,
        "only {} fixtures found",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for fixture in &fixtures {
        if let Err(why) = fixture.replay().await {
            failures.push(format!(
                "{}: {}\n  {why}",
                fixture.path.display(),
                fixture.description
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_provider_folder_has_the_bad_shapes() {
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
    // The replay must be able to fail: take a real fixture and expect something else.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/thaaigroup/send_ok.json");
    let mut fixture = load_fixtures(&root).unwrap().remove(0);
    fixture.expect = serde_json::json!({"ok": true, "expires_in_secs": 301});
    assert!(fixture.replay().await.is_err());
    let mut fixture = load_fixtures(&root).unwrap().remove(0);
    if let Some(request) = fixture.request.as_mut() {
        request.body = Some(serde_json::json!({"email": "someone-else@example.com"}));
    }
    let why = fixture.replay().await.unwrap_err();
    assert!(why.contains("body"), "{why}");
}
