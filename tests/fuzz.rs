//! Seeded fuzzing of every adapter's parsing through the exchange path (see
//! `otpkit::testing::fuzz_parsing`): a few thousand cases here; `cargo run --example fuzz`
//! runs 200,000 or more.

use std::path::Path;

use otpkit::testing::{fuzz_parsing, load_fixtures};

#[test]
fn parsing_never_panics_never_earns_ok_from_a_failure_and_never_leaks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(root).expect("fixtures load");
    for seed in [1, 2, 3] {
        let report = fuzz_parsing(&fixtures, seed, 1500);
        assert_eq!(report.cases, 1500);
        assert!(report.is_clean(), "seed {seed}: {report}");
        // The cases reach both sides: answers read as success and errors, failing answers too.
        assert!(report.ok > 0 && report.errors > 0, "seed {seed}: {report}");
        assert!(report.failing_answers > 0, "seed {seed}: {report}");
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(root).expect("fixtures load");
    assert_eq!(
        fuzz_parsing(&fixtures, 42, 300),
        fuzz_parsing(&fixtures, 42, 300)
    );
}
