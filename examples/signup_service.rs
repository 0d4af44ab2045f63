//! A sign-up service: `POST /otp/send` and `POST /otp/verify` in front of any provider, or a
//! router of several, chosen by configuration alone.
//!
//! ```text
//! OTPKIT_CONFIG=otpkit.toml SIGNUP_SEAL_KEY=<base64 of 32 bytes> \
//!     cargo run --example signup_service
//! curl -s localhost:3000/otp/send -d '{"recipient":"jane@example.com","purpose":"signup"}'
//! curl -s localhost:3000/otp/verify -d '{"handle":"s1.…","code":"123456"}'
//! ```
//!
//! `SIGNUP_ADDR` sets the address (default `127.0.0.1:3000`); `RUST_LOG` the log level (default
//! `info`). Try it without a provider account: `cargo run --example sandbox` prints configs.
//! The routes, the error format and the statuses are in `examples/support/signup_app.rs`.

#[path = "support/signup_app.rs"]
mod signup_app;

use otpkit::{Error, ErrorKind, ProviderConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let config = ProviderConfig::from_env()?;
    let app = signup_app::app(&config, signup_app::seal_key_from_env()?)?;
    let addr = std::env::var("SIGNUP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::new(ErrorKind::Config, format!("cannot listen on {addr}: {e}")))?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app)
        .await
        .map_err(|e| Error::new(ErrorKind::Transport, e.to_string()))
}
