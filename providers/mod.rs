//! One module per provider, each behind the cargo feature of its id. A provider's whole story
//! is in its folder: `mod.rs` (config and adapter), `wire.rs` (the JSON shapes) and
//! `errors.rs` (its error codes mapped to [`ErrorKind`](crate::ErrorKind)).
//!
//! Each module has one [`Descriptor`]; [`descriptors`] lists those compiled into this build.

use crate::descriptor::Descriptor;

#[cfg(feature = "generic")]
#[cfg_attr(docsrs, doc(cfg(feature = "generic")))]
pub mod generic;

/// `Accept: application/json`, as an entry for [`header_map`](crate::http::header_map): every
/// provider here answers JSON, and says so only to clients that ask for it. A Laravel backend
/// (Thaaigroup, ThunderSMS) answers its own validation errors and unauthenticated calls with a
/// redirect to a page otherwise.
#[allow(dead_code)] // Unused only when every provider feature is off.
pub(crate) const ACCEPT_JSON: (&str, &str, &str, bool) =
    ("accept", "accept", "application/json", false);
#[cfg(feature = "hyperverge")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyperverge")))]
pub mod hyperverge;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod mock;
#[cfg(feature = "tencent-ciam")]
#[cfg_attr(docsrs, doc(cfg(feature = "tencent-ciam")))]
pub mod tencent_ciam;
#[cfg(feature = "thaaigroup")]
#[cfg_attr(docsrs, doc(cfg(feature = "thaaigroup")))]
pub mod thaaigroup;
#[cfg(feature = "thundersms")]
#[cfg_attr(docsrs, doc(cfg(feature = "thundersms")))]
pub mod thundersms;

/// Every provider compiled into this build, in the contract's order, then the in-memory mock
/// when the `testing` feature is on.
///
/// ```
/// let ids: Vec<&str> = otpkit::providers::descriptors()
///     .iter()
///     .filter(|d| d.id != "mock")
///     .map(|d| d.id)
///     .collect();
/// assert_eq!(ids, otpkit::provider_ids());
/// ```
pub fn descriptors() -> &'static [&'static Descriptor] {
    &[
        #[cfg(feature = "thaaigroup")]
        &thaaigroup::DESCRIPTOR,
        #[cfg(feature = "hyperverge")]
        &hyperverge::DESCRIPTOR,
        #[cfg(feature = "generic")]
        &generic::DESCRIPTOR,
        #[cfg(feature = "thundersms")]
        &thundersms::DESCRIPTOR,
        #[cfg(feature = "tencent-ciam")]
        &tencent_ciam::DESCRIPTOR,
        #[cfg(feature = "testing")]
        &mock::DESCRIPTOR,
    ]
}

/// The descriptor of a provider id compiled into this build.
pub fn descriptor(id: &str) -> Option<&'static Descriptor> {
    descriptors().iter().copied().find(|d| d.id == id)
}

#[cfg(test)]
mod tests {
    use crate::descriptor::capability_table;

    /// The README's provider table is generated from the descriptors: regenerate it with
    /// `OTPKIT_WRITE_README=1 cargo test readme_table` after changing a provider.
    #[test]
    #[cfg(all(
        feature = "thaaigroup",
        feature = "hyperverge",
        feature = "generic",
        feature = "thundersms",
        feature = "tencent-ciam"
    ))]
    fn the_readme_table_matches_the_descriptors() {
        const START: &str = "<!-- capabilities: generated from the descriptors -->\n";
        const END: &str = "<!-- end of capabilities -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let start = readme
            .find(START)
            .expect("README has the table's start marker")
            + START.len();
        let end = readme.find(END).expect("README has the table's end marker");
        // The mock (feature `testing`) is documented in the README's testing guide instead.
        let real: Vec<_> = super::descriptors()
            .iter()
            .copied()
            .filter(|d| d.feature != "testing")
            .collect();
        let table = capability_table(&real);
        if std::env::var_os("OTPKIT_WRITE_README").is_some() {
            let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &readme[start..end],
            table,
            "the README's provider table is stale: run OTPKIT_WRITE_README=1 cargo test readme_table"
        );
    }

    #[test]
    fn every_descriptor_is_consistent_with_its_config_registry_entry() {
        let ids: Vec<&str> = super::descriptors()
            .iter()
            .filter(|d| d.feature != "testing")
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, crate::provider_ids());
        for d in super::descriptors() {
            let caps = (d.capabilities)();
            let recipient: crate::Recipient = d.sample_recipient.parse().unwrap();
            let purpose = crate::Purpose::parse(d.sample_purpose).unwrap();
            let request = crate::SendRequest::new(recipient).purpose(purpose);
            assert!(caps.check_send(&request).is_ok(), "{}", d.id);
        }
    }
}
