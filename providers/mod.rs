//! One module per provider, each behind the cargo feature of its id. A provider's whole story
//! is in its folder: `mod.rs` (config and adapter), `wire.rs` (the JSON shapes) and
//! `errors.rs` (its error codes mapped to [`ErrorKind`](crate::ErrorKind)).

#[cfg(feature = "generic")]
pub mod generic;
#[cfg(feature = "hyperverge")]
pub mod hyperverge;
#[cfg(feature = "tencent-ciam")]
pub mod tencent_ciam;
#[cfg(feature = "thaaigroup")]
pub mod thaaigroup;
#[cfg(feature = "thundersms")]
pub mod thundersms;
