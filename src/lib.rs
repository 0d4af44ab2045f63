//! # otpkit
//!
//! Send and verify one-time passwords through third-party providers behind one trait,
//! [`OtpProvider`], with every provider's failures normalized into one [`ErrorKind`].
//! Choose the provider in configuration and switch by editing config, not code.
//!
//! | provider id | what | cargo feature | module |
//! |---|---|---|---|
//! | `thaaigroup` | Thaaigroup Verify, email | `thaaigroup` | [`providers::thaaigroup`] |
//! | `hyperverge` | HyperVerge, email and Indian mobile | `hyperverge` | [`providers::hyperverge`] |
//! | `generic` | the X-API-Key service, SMS and WhatsApp | `generic` | [`providers::generic`] |
//! | `thundersms` | ThunderSMS multi-channel verify | `thundersms` | [`providers::thundersms`] |
//! | `tencent_ciam` | Tencent Cloud CIAM, SMS and email | `tencent-ciam` | [`providers::tencent_ciam`] |
//!
//! ```no_run
//! use otpkit::{ErrorKind, ProviderConfig, Purpose, SendRequest};
//!
//! # async fn run() -> Result<(), otpkit::Error> {
//! let provider = ProviderConfig::from_toml_str(r#"
//!     provider = "thaaigroup"
//!     client_id = "my-client"
//!     client_secret = "my-secret"
//!     domain = "example.com"
//! "#)?.build()?;
//!
//! let request = SendRequest::new("jane@example.com".parse()?).purpose(Purpose::Signup);
//! let receipt = provider.send(&request).await?;
//! // Keep `receipt.verification` (serde, or `to_token()`) until the user types the code.
//! match provider.verify(&receipt.verification, "123456").await {
//!     Ok(_) => println!("verified"),
//!     Err(e) if e.is_rejection() => println!("wrong code: {}", e.kind()),
//!     Err(e) => return Err(e),
//! }
//! // A new code asked for too soon is `cooldown`, with the wait.
//! if let Err(e) = provider.resend(&receipt.verification).await {
//!     if e.kind() == ErrorKind::Cooldown {
//!         println!("wait {:?}", e.retry_after());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Secrets ([`Secret`]) print as `***`; recipients print masked; provider messages are scrubbed.
//!
//! With the `sandbox` feature, `otpkit::sandbox::Sandbox` is a local stand-in for all five
//! providers (`cargo run --example quickstart` walks through it).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The exchange plumbing is shared by the providers; a build without all of them leaves some
// helpers unused. Full builds (the default, and CI's clippy) still report dead code.
#![cfg_attr(
    not(all(
        feature = "thaaigroup",
        feature = "hyperverge",
        feature = "generic",
        feature = "thundersms",
        feature = "tencent-ciam"
    )),
    allow(dead_code)
)]

mod adapter;
mod capabilities;
mod config;
mod de;
mod descriptor;
mod error;
pub mod guard;
mod handle;
mod handle_key;
mod http;
mod mask;
mod parse;
mod provider;
mod random;
mod receipt;
mod recipient;
pub mod record;
mod request;
mod retry;
pub mod router;
mod seal;
mod secret;

#[path = "../providers/mod.rs"]
pub mod providers;

#[cfg(any(feature = "testing", feature = "sandbox"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "testing", feature = "sandbox"))))]
pub mod magic;
#[cfg(feature = "sandbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "sandbox")))]
pub mod sandbox;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use adapter::Client;
pub use capabilities::{Capabilities, ResendMode};
pub use config::router::{MemberConfig, RouterConfig};
pub use config::{provider_ids, CommonConfig, ProviderConfig, ProviderSettings};
pub use descriptor::Descriptor;
pub use error::{Error, ErrorKind, QuotaInfo, MAX_RETRY_AFTER};
pub use guard::{Guard, GuardConfig};
pub use handle::Verification;
pub use http::HttpOptions;
pub use mask::scrub;
pub use provider::OtpProvider;
pub use receipt::{
    ChannelAttempt, IssuedTokens, SendReceipt, StatusReport, VerificationState, Verified,
};
pub use recipient::{Email, Phone, Recipient};
pub use request::{Channel, OtpCode, Purpose, SendRequest};
pub use retry::{RetryPolicy, RetrySafety};
pub use router::Router;
pub use seal::SealKey;
pub use secret::Secret;

/// What used to be public and is crate plumbing now: each of these must fail to compile, so
/// the surface cannot grow back by accident (`.ci/run` also checks the whole list of public
/// items against `docs/public-api.txt`).
///
/// ```compile_fail
/// use otpkit::http::Transport;
/// ```
/// ```compile_fail
/// use otpkit::http::HttpRequest;
/// ```
/// ```compile_fail
/// use otpkit::parse::kind_for_status;
/// ```
/// ```compile_fail
/// use otpkit::random::unique_id;
/// ```
/// ```compile_fail
/// use otpkit::config::de::string_like;
/// ```
/// ```compile_fail
/// use otpkit::config::check_header_value;
/// ```
/// ```compile_fail
/// use otpkit::Adapter;
/// ```
/// ```compile_fail
/// otpkit::Error::new(otpkit::ErrorKind::Unsupported, "x").in_context("generic", "send");
/// ```
#[cfg(doctest)]
pub struct FormerlyPublic;

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
