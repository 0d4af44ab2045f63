//! One code's life: the public [`IssuedCode`], and inside the sandbox what to issue
//! ([`NewCode`]), the stored code and its bookkeeping ([`Otp`]), and what checking, sending or
//! resending it can find ([`Check`], [`Gate`], [`NoResend`]).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use super::clock::later;
use super::SandboxOptions;
use crate::recipient::Recipient;
use crate::secret::Secret;

/// A code the sandbox issued: what a real provider would have put in the email or message.
///
/// `Debug` masks the recipient and never shows the code.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedCode {
    /// The provider id.
    pub provider: &'static str,
    /// The recipient: a lower-case email, or an E.164 phone number with `+` (rebuilt from the
    /// provider's own form, e.g. ThunderSMS's digits or Tencent's 11-digit mainland number).
    pub recipient: String,
    /// The code.
    pub code: Secret,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("provider", &self.provider)
            .field("recipient", &mask(&self.recipient))
            .field("code", &self.code)
            .finish()
    }
}

/// The recipient masked the way otpkit prints recipients, or `***` when it does not parse.
fn mask(recipient: &str) -> String {
    Recipient::parse(recipient).map_or_else(|_| "***".to_owned(), |r| r.masked())
}

/// An issued code and its bookkeeping.
#[derive(Clone)]
pub(super) struct Otp {
    pub(super) code: String,
    /// The normalized recipient (see [`IssuedCode::recipient`]).
    pub(super) recipient: String,
    pub(super) issued_at: Instant,
    /// Wall-clock time of issue, for the timestamps providers print.
    pub(super) issued_wall: SystemTime,
    pub(super) expires_at: Instant,
    pub(super) ttl: Duration,
    pub(super) attempts: u32,
    pub(super) used: bool,
    /// Provider-specific facts (purpose, channel, usage, …).
    pub(super) meta: Map<String, Value>,
}

impl Otp {
    fn is_expired(&self, now: Instant) -> bool {
        now >= self.expires_at
    }

    /// Where the code stands, without checking anything typed.
    pub(super) fn state(&self, now: Instant, max_attempts: u32) -> Check {
        if self.used {
            Check::Used
        } else if self.attempts >= max_attempts {
            Check::Burned
        } else if self.is_expired(now) {
            Check::Expired
        } else {
            Check::Pending
        }
    }

    /// When the code expires, on the wall clock.
    pub(super) fn wall_expiry(&self) -> SystemTime {
        later(self.issued_wall, self.ttl)
    }
}

/// What checking a typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Right code: now used.
    Correct,
    /// Wrong code; this many tries left.
    Wrong { remaining: u32 },
    /// Too many wrong codes earlier.
    Burned,
    /// The code's time is up.
    Expired,
    /// Already verified.
    Used,
    /// Not checked, still waiting (only from [`Otp::state`]).
    Pending,
}

/// Why a send was refused before issuing.
pub(super) enum Gate {
    /// A send to this recipient happened less than the cooldown ago; wait this long.
    Cooldown(Duration),
    /// The provider's quota is used up.
    Quota { used: u64 },
}

/// Why a stored code may not be sent again (a retry or resend), in the order a
/// rate-limiting middleware in front of the business rules finds it.
pub(super) enum NoResend {
    /// No code under this key.
    Unknown,
    /// The recipient was sent a code less than the cooldown ago; wait this long.
    Cooldown(Duration),
    /// The code was already verified.
    Used,
}

/// What to issue.
pub(super) struct NewCode<'a> {
    pub(super) provider: &'static str,
    /// Where the code is stored, unique within the provider (an id, or recipient + purpose).
    pub(super) key: &'a str,
    /// The recipient as the provider had it; normalized for [`IssuedCode`].
    pub(super) recipient: &'a str,
    /// The cooldown applies per this key (usually the recipient); `None` for no cooldown.
    pub(super) cooldown: Option<&'a str>,
    pub(super) length: usize,
    pub(super) ttl: Duration,
    /// A caller-chosen code (ThunderSMS `payload.token`).
    pub(super) code: Option<String>,
    pub(super) meta: Map<String, Value>,
}

impl<'a> NewCode<'a> {
    /// The usual send: a random code of the options' length and lifetime, the cooldown counted
    /// per recipient, no provider facts. Change the rest with
    /// `NewCode { …, ..NewCode::new(…) }`.
    pub(super) fn new(
        provider: &'static str,
        key: &'a str,
        recipient: &'a str,
        options: &SandboxOptions,
    ) -> Self {
        NewCode {
            provider,
            key,
            recipient,
            cooldown: Some(recipient),
            length: usize::from(options.code_length),
            ttl: options.code_ttl,
            code: None,
            meta: Map::new(),
        }
    }
}
