//! One module per provider, each behind the cargo feature of its id. A provider's whole story
//! is in its folder: `mod.rs` (config and adapter), `wire.rs` (the JSON shapes) and
//! `errors.rs` (its error codes mapped to [`ErrorKind`](crate::ErrorKind)).
//!
//! Each module has one [`Descriptor`]; [`descriptors`] lists those compiled into this build.

use crate::descriptor::Descriptor;

/// The providers, in the contract's order, then the in-memory mock: each line is its cargo
/// feature, its `ProviderConfig` variant and its module (folder). This is the one list: it
/// declares the modules and [`descriptors`] here, and the configuration registry
/// (`src/config/mod.rs`) reads it too. A new provider is one line here, plus its folder, its
/// fixtures, its sandbox file and its cargo feature.
macro_rules! with_providers {
    ($then:ident) => {
        $then! {
            "thaaigroup" => Thaaigroup(thaaigroup),
            "hyperverge" => HyperVerge(hyperverge),
            "generic" => Generic(generic),
            "thundersms" => ThunderSms(thundersms),
            "tencent-ciam" => TencentCiam(tencent_ciam),
            "testing" => Mock(mock),
        }
    };
}
pub(crate) use with_providers;

/// Declares each provider's module behind its feature, and [`descriptors`].
macro_rules! provider_modules {
    ($( $feature:literal => $variant:ident($module:ident) ),* $(,)?) => {
        $(
            #[cfg(feature = $feature)]
            #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
            pub mod $module;
        )*

        /// Every provider compiled into this build, in the contract's order, then the
        /// in-memory mock when the `testing` feature is on.
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
            &[ $( #[cfg(feature = $feature)] &$module::DESCRIPTOR, )* ]
        }
    };
}

with_providers!(provider_modules);

/// `Accept: application/json`, as an entry for [`header_map`](crate::http::header_map): every
/// provider here answers JSON, and says so only to clients that ask for it. A Laravel backend
/// (Thaaigroup, ThunderSMS) answers its own validation errors and unauthenticated calls with a
/// redirect to a page otherwise.
#[allow(dead_code)] // Unused only when every provider feature is off.
pub(crate) const ACCEPT_JSON: (&str, &str, &str, bool) =
    ("accept", "accept", "application/json", false);

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
