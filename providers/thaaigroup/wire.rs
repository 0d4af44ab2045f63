//! Thaaigroup's success shape, read straight into a struct (unknown fields are skipped without
//! being stored). Failures go through the tolerant map-based classifier in `errors.rs`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::http::seconds_from_json;

/// `{ok: true, message, expires_in, cooldown}` from send; `{ok: true, verified: true}` from
/// verify.
#[derive(Debug, Deserialize)]
pub(super) struct Success {
    #[serde(default)]
    pub ok: Option<bool>,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    cooldown: Option<Value>,
}

impl Success {
    /// The code's lifetime.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in.as_ref().and_then(seconds_from_json)
    }

    /// The minimum gap before the next send.
    pub fn cooldown(&self) -> Option<Duration> {
        self.cooldown.as_ref().and_then(seconds_from_json)
    }
}
