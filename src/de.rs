//! Lenient deserializers for configuration values that arrive as strings from the environment
//! (`OTPKIT_TIMEOUT_SECS=3`) or as numbers from TOML (numeric ids), and the check of values that
//! travel in HTTP headers. A leaf: it depends on nothing in the crate but the error type.

// Each provider uses some of these; a build with few providers leaves others unused.
#![allow(dead_code)]

use crate::error::Error;

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

struct StringLike;

impl Visitor<'_> for StringLike {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A string, also accepting integers (numeric ids in TOML).
pub fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringLike)
}

/// An optional string, also accepting integers.
pub fn opt_string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string_like(d).map(Some)
}

struct Number;

impl Visitor<'_> for Number {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom("must not be negative"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom("must be a whole number"))
    }
}

struct Flag;

impl Visitor<'_> for Flag {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(E::custom("must be true or false")),
        }
    }
}

/// A whole number, also from a string.
pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(Number)
}

/// An optional whole number, also from a string.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    u64(d).map(Some)
}

/// A flag, also from `"true"`/`"false"` strings.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(Flag)
}

/// An optional flag, also from strings.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool(d).map(Some)
}

/// Checks a credential or other value that travels in a header: present, not blank, and free of
/// characters a header cannot carry (CR, LF, other control characters).
pub(crate) fn check_header_value(key: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::config(key, "must not be empty"));
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() || value.chars().any(char::is_control)
    {
        return Err(Error::config(
            key,
            "holds line breaks or other control characters",
        ));
    }
    Ok(())
}
