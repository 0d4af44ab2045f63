//! The example binaries, built up to date before a test runs one: `cargo test` builds them
//! already (then this is a quick no-op), but a filtered run (`cargo test --test otpkit`) does
//! not, and a missing or stale binary must neither fail obscurely nor let a test pass without
//! running the current code.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of example `name`, after every example was built once in this process.
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let profile_dir = profile_dir();
    if let Err(why) = BUILT.get_or_init(|| build_examples(&profile_dir)) {
        panic!("{why}");
    }
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "example `{name}` was built but is not at {}",
        binary.display()
    );
    binary
}

/// `target/<profile>`, from this test binary's path (`target/<profile>/deps/<binary>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary sits in target/<profile>/deps")
        .to_path_buf()
}

/// Runs `cargo build --examples` in the profile this test binary was built with.
fn build_examples(profile_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    // Drop what cargo set for this test process (package variables, the library path): passed
    // on, they make this build's fingerprints differ from `cargo test`'s, and each rebuilds
    // the other's dependencies.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_for_tests = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "LD_LIBRARY_PATH",
            "DYLD_FALLBACK_LIBRARY_PATH",
        ];
        if set_for_tests.iter().any(|prefix| key.starts_with(prefix)) {
            command.env_remove(key.as_ref());
        }
    }
    command
        .args(["build", "--quiet", "--examples", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run {cargo:?} to build the examples: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the examples failed ({command:?}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
