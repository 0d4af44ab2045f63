//! One module per provider, each behind the cargo feature of its id. A provider's whole story
//! is in its folder: `mod.rs` (config and adapter), `wire.rs` (the JSON shapes) and
//! `errors.rs` (its error codes mapped to [`ErrorKind`](crate::ErrorKind)).

#[cfg(feature = "generic")]
pub mod generic;

/// `Accept: application/json`, as an entry for [`header_map`](crate::http::header_map): every
/// provider here answers JSON, and says so only to clients that ask for it. A Laravel backend
/// (Thaaigroup, ThunderSMS) answers its own validation errors and unauthenticated calls with a
/// redirect to a page otherwise.
#[allow(dead_code)] // Unused only when every provider feature is off.
pub(crate) const ACCEPT_JSON: (&str, &str, &str, bool) =
    ("accept", "accept", "application/json", false);
#[cfg(feature = "hyperverge")]
pub mod hyperverge;
#[cfg(feature = "tencent-ciam")]
pub mod tencent_ciam;
#[cfg(feature = "thaaigroup")]
pub mod thaaigroup;
#[cfg(feature = "thundersms")]
pub mod thundersms;
