//! A string that never prints: credentials, OTP codes and issued tokens.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A credential, code or token whose `Debug` and `Display` print `***`.
///
/// `Secret` deliberately has no `Serialize` implementation, so a config or result holding one
/// cannot be written out by accident. Read the value with [`Secret::expose`] at the single place
/// that puts it on the wire.
///
/// ```
/// use otpkit::Secret;
///
/// let secret = Secret::new("s3cr3t");
/// assert_eq!(format!("{secret:?} {secret}"), "*** ***");
/// assert_eq!(secret.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for putting it on the wire. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (or only white space).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Numbers are accepted too: environment values and hand-written TOML often carry
        // numeric ids and keys.
        crate::de::string_like(deserializer).map(Secret)
    }
}
