//! Thaaigroup's JSON shapes: the two request bodies, and the success answer read straight into
//! a struct (unknown fields are skipped without being stored). Failures go through the tolerant
//! map-based classifier in `errors.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::seconds_from_json;

/// `POST /api/otp/send`: `{email, purpose?}`.
#[derive(Debug, Serialize)]
pub(super) struct SendBody<'a> {
    pub email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<&'a str>,
}

/// `POST /api/otp/verify`: `{email, otp, purpose?}` (the purpose used on send).
#[derive(Serialize)]
pub(super) struct VerifyBody<'a> {
    pub email: &'a str,
    pub otp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<&'a str>,
}

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
