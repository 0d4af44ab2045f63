//! Seeded fuzzing of every provider's answer parsing, at scale: replays every fixture under
//! `fixtures/` against an in-process server that answers random statuses (100 to 599) and
//! random or mutated bodies with secrets, codes and recipients planted in them, and prints the
//! counts. Exits non-zero on any panic, `Ok` from a failing answer, or planted value printed.
//!
//! ```text
//! cargo run --example fuzz -- [CASES] [SEED]     # defaults: 200000 cases, seed 1
//! ```

use std::path::Path;
use std::process::ExitCode;

use otpkit::testing::{fuzz_parsing, load_fixtures};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let cases: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = match load_fixtures(&root) {
        Ok(fixtures) => fixtures,
        Err(e) => {
            eprintln!("fixtures do not load: {e}");
            return ExitCode::from(2);
        }
    };
    let report = fuzz_parsing(&fixtures, seed, cases);
    println!("seed {seed}: {report}");
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
