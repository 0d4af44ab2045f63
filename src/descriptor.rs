//! One description per provider, registered once (`providers/mod.rs`): its id, its name, its
//! cargo feature, its documented URL, what it can do when fully configured, and a recipient and
//! purpose that suit it. The configuration registry, the command line, the examples, the README
//! table and the test tables read it instead of repeating one match arm per provider.

use std::future::Future;
use std::pin::Pin;

use crate::capabilities::Capabilities;
use crate::config::ProviderConfig;
use crate::error::Error;
use crate::http::HttpOptions;
use crate::receipt::SendReceipt;
use crate::request::SendRequest;

/// Sends a code for one of the provider's own typed flows (whose code another of its calls
/// consumes, not `verify`), from a config of that provider: what fixture replay runs for the
/// `send_code` operation.
pub(crate) type OwnFlowSend =
    for<'a> fn(
        &'a ProviderConfig,
        &'a HttpOptions,
        &'a SendRequest,
    ) -> Pin<Box<dyn Future<Output = Result<SendReceipt, Error>> + Send + 'a>>;

/// A provider's static description (see [`crate::providers::descriptors`]).
///
/// ```
/// let thaaigroup = otpkit::providers::descriptor("thaaigroup").unwrap();
/// assert_eq!(thaaigroup.feature, "thaaigroup");
/// assert!((thaaigroup.capabilities)().email);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Descriptor {
    /// The provider id: the config tag, module and folder name.
    pub id: &'static str,
    /// The provider's name, for people.
    pub name: &'static str,
    /// The cargo feature that compiles it in.
    pub feature: &'static str,
    /// The documented base URL, or `None` where `base_url` is required.
    pub default_base_url: Option<&'static str>,
    /// What the provider can do when every optional key is configured (an instance's own
    /// [`OtpProvider::capabilities`](crate::OtpProvider::capabilities) may be narrower).
    pub capabilities: fn() -> Capabilities,
    /// A recipient the provider reaches, for examples and tests.
    pub sample_recipient: &'static str,
    /// A purpose whose code `verify` checks with this provider, for examples and tests.
    pub sample_purpose: &'static str,
    /// The provider's typed send for its own flows, if it has one.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // read by fixture replay
    pub(crate) own_flow_send: Option<OwnFlowSend>,
}

/// The README's provider table, one row per descriptor, from their capabilities.
#[cfg(test)]
pub(crate) fn capability_table(descriptors: &[&Descriptor]) -> String {
    let mut out = String::from(
        "| id | provider | channels | email | phone | resend | status | caller's code | verify checks | cargo feature |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let yes_no = |b: bool| if b { "✓" } else { "—" };
    for d in descriptors {
        let caps = (d.capabilities)();
        let channels: Vec<&str> = caps.channels.iter().map(|c| c.as_str()).collect();
        let phone = match (&caps.phone_prefixes, caps.phone) {
            (_, false) => "—".to_owned(),
            (None, true) => "any country".to_owned(),
            (Some(prefixes), true) => prefixes.join(", "),
        };
        let purposes = match &caps.verify_purposes {
            None => "every purpose".to_owned(),
            Some(list) => list
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | `{}` |\n",
            d.id,
            d.name,
            channels.join(", "),
            yes_no(caps.email),
            phone,
            caps.resend.as_str().replace('_', " "),
            yes_no(caps.status),
            yes_no(caps.custom_code),
            purposes,
            d.feature,
        ));
    }
    out
}
