//! Serves the provider sandbox on a fixed local port, writes each provider's ready-made config
//! as a TOML file, and prints every code as it is issued, like a mail catcher.
//!
//! ```text
//! cargo run --example sandbox                    # 127.0.0.1:7357
//! cargo run --example sandbox -- 127.0.0.1:9000  # another address
//! ```
//!
//! Then, in another terminal:
//!
//! ```text
//! cargo run --example otpkit -- --config target/otpkit-sandbox/thaaigroup.toml send jane@example.com
//! cargo run --example otpkit -- --config target/otpkit-sandbox/thaaigroup.toml verify --handle <token> <code>
//! curl -X POST http://127.0.0.1:7357/_sandbox/fail/thaaigroup/quota_exceeded   # force a failure
//! ```
//!
//! Unlike the quickstart, this prints codes and recipients in full: that is its purpose.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use otpkit::sandbox::{Failure, Sandbox};
use tokio::sync::broadcast::error::RecvError;

const DEFAULT_ADDR: &str = "127.0.0.1:7357";

/// Where the config files go: `$CARGO_TARGET_DIR/otpkit-sandbox`, else `target/otpkit-sandbox`
/// in the crate.
fn config_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("otpkit-sandbox")
}

/// A path as short as it can be printed: relative to the current directory when inside it.
fn shown(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

/// The command line's arguments for a first send: the descriptor's sample recipient and
/// purpose.
fn example_recipient(provider: &str) -> String {
    match otpkit::providers::descriptor(provider) {
        Some(d) => format!("{} --purpose {}", d.sample_recipient, d.sample_purpose),
        None => "jane.doe@example.com".to_owned(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("-h" | "--help")) {
        println!("usage: cargo run --example sandbox [-- ADDRESS]   (default {DEFAULT_ADDR})");
        return ExitCode::SUCCESS;
    }
    let text = arg.unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let addr: SocketAddr = match text.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("`{text}` is not an address like {DEFAULT_ADDR}: {e}");
            return ExitCode::from(2);
        }
    };
    match serve(addr).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::bind(addr).await?;
    let mut codes = sandbox.subscribe();
    let dir = config_dir();
    std::fs::create_dir_all(&dir)?;
    let compiled = otpkit::provider_ids();

    println!("otpkit sandbox listening on {}\n", sandbox.url());
    for id in Sandbox::PROVIDERS {
        let path = dir.join(format!("{id}.toml"));
        std::fs::write(&path, sandbox.config_toml(id)?)?;
        let note = if compiled.contains(&id) {
            ""
        } else {
            "   (adapter not compiled into this build)"
        };
        println!(
            "{id:<13} {}{note}",
            sandbox.base_url(id).unwrap_or_default()
        );
        println!("              config: {}", shown(&path));
    }
    if let Some(id) = compiled.first() {
        let config = shown(&dir.join(format!("{id}.toml")));
        println!("\nTry it:");
        println!(
            "  cargo run --example otpkit -- --config {config} send {}",
            example_recipient(id)
        );
        println!(
            "  cargo run --example otpkit -- --config {config} verify --handle <handle> <code>"
        );
    }
    let failures: Vec<&str> = Failure::ALL.iter().map(|f| f.as_str()).collect();
    println!(
        "Force a failure: curl -X POST {}/_sandbox/fail/<provider>/<{}>",
        sandbox.url(),
        failures.join("|")
    );
    println!("\nCodes as they are issued (Ctrl-C to stop):");

    loop {
        match codes.recv().await {
            Ok(issued) => println!(
                "  [{}] {} -> code {}",
                issued.provider,
                issued.recipient,
                issued.code.expose()
            ),
            Err(RecvError::Lagged(missed)) => println!("  ({missed} codes not shown)"),
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}
