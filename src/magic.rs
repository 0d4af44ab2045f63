//! Magic recipients: addresses and numbers that always produce one outcome, the same on the
//! mock provider (`otpkit::testing::MockProvider`) and on every provider of the sandbox
//! (`otpkit::sandbox`), so an application can test its error paths without scripting either
//! (cargo feature `testing` or `sandbox`).
//!
//! | outcome | email | phone (any country code) | what happens |
//! |---|---|---|---|
//! | `unavailable` | `magic-unavailable@example.com` | ends in `555001` | `send` and `resend` fail `unavailable` (a 5xx) |
//! | `quota_exceeded` | `magic-quota@example.com` | ends in `555002` | `send` and `resend` fail `quota_exceeded` |
//! | `rate_limited` | `magic-rate-limited@example.com` | ends in `555003` | `send` and `resend` fail `rate_limited` with a `retry_after` |
//! | `invalid_recipient` | `magic-invalid@example.com` | ends in `555004` | `send` and `resend` fail `invalid_recipient` (the provider refused it) |
//! | `slow` | `magic-slow@example.com` | ends in `555005` | `send` succeeds after [`SLOW_ANSWER`] (the sandbox's and the mock's `slow` option change it) |
//! | `never_verified` | `magic-never-verified@example.com` | ends in `555006` | `send` succeeds, but the code is never disclosed (no `last_code`): every `verify` is `invalid_code` |
//!
//! Pick a phone number your provider reaches and end it with the digits, e.g. `+919876555001`
//! (HyperVerge, India) or `+8613800555003` (Tencent, mainland China).
//!
//! ```
//! use otpkit::magic::{magic_outcome, MagicOutcome};
//!
//! assert_eq!(magic_outcome("magic-quota@example.com"), Some(MagicOutcome::QuotaExceeded));
//! assert_eq!(magic_outcome("+14155555003"), Some(MagicOutcome::RateLimited));
//! assert_eq!(magic_outcome("jane@example.com"), None);
//! assert_eq!(MagicOutcome::RateLimited.error_kind(), Some(otpkit::ErrorKind::RateLimited));
//! ```

use std::fmt;
use std::time::Duration;

use crate::error::ErrorKind;

/// What a magic recipient always produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MagicOutcome {
    /// `send` and `resend` fail `unavailable`.
    Unavailable,
    /// `send` and `resend` fail `quota_exceeded`.
    QuotaExceeded,
    /// `send` and `resend` fail `rate_limited`, with a `retry_after`.
    RateLimited,
    /// `send` and `resend` fail `invalid_recipient`.
    InvalidRecipient,
    /// `send` succeeds after a delay.
    Slow,
    /// `send` succeeds but the code is never disclosed, so no `verify` succeeds.
    NeverVerified,
}

/// One row of the table: the outcome, its email address and the last digits of its phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MagicRecipient {
    /// What it produces.
    pub outcome: MagicOutcome,
    /// The magic email address.
    pub email: &'static str,
    /// Any phone number ending in these digits.
    pub phone_suffix: &'static str,
}

/// The table (see the [module documentation](self)).
pub const MAGIC_RECIPIENTS: [MagicRecipient; 6] = [
    row(
        MagicOutcome::Unavailable,
        "magic-unavailable@example.com",
        "555001",
    ),
    row(
        MagicOutcome::QuotaExceeded,
        "magic-quota@example.com",
        "555002",
    ),
    row(
        MagicOutcome::RateLimited,
        "magic-rate-limited@example.com",
        "555003",
    ),
    row(
        MagicOutcome::InvalidRecipient,
        "magic-invalid@example.com",
        "555004",
    ),
    row(MagicOutcome::Slow, "magic-slow@example.com", "555005"),
    row(
        MagicOutcome::NeverVerified,
        "magic-never-verified@example.com",
        "555006",
    ),
];

const fn row(
    outcome: MagicOutcome,
    email: &'static str,
    phone_suffix: &'static str,
) -> MagicRecipient {
    MagicRecipient {
        outcome,
        email,
        phone_suffix,
    }
}

/// The `retry_after` a magic `rate_limited` carries where the provider's answer names none.
pub const RATE_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(42);

/// How long a magic `slow` answer takes by default.
pub const SLOW_ANSWER: Duration = Duration::from_secs(2);

/// The outcome a recipient (an email address in any case, or an E.164 number with `+`) always
/// produces, if it is magic.
pub fn magic_outcome(recipient: &str) -> Option<MagicOutcome> {
    let recipient = recipient.trim();
    if recipient.contains('@') {
        return MAGIC_RECIPIENTS
            .iter()
            .find(|r| r.email.eq_ignore_ascii_case(recipient))
            .map(|r| r.outcome);
    }
    let digits = recipient.strip_prefix('+')?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    MAGIC_RECIPIENTS
        .iter()
        .find(|r| digits.ends_with(r.phone_suffix))
        .map(|r| r.outcome)
}

/// The magic outcome of any recipient written in `text` (a request body, path or query): email
/// addresses, and numbers of 8 to 15 digits with or without `+` (providers send phones in
/// either form, or the national number alone, which still ends in the magic digits).
pub fn magic_in_text(text: &str) -> Option<MagicOutcome> {
    let lower = text.to_ascii_lowercase();
    if let Some(found) = MAGIC_RECIPIENTS
        .iter()
        .find(|r| lower.contains(r.email) || lower.contains(&r.email.replace('@', "%40")))
    {
        return Some(found.outcome);
    }
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| (8..=15).contains(&run.len()))
        .find_map(|run| magic_outcome(&format!("+{run}")))
}

impl MagicOutcome {
    /// Every outcome, in the table's order.
    pub const ALL: [MagicOutcome; 6] = [
        MagicOutcome::Unavailable,
        MagicOutcome::QuotaExceeded,
        MagicOutcome::RateLimited,
        MagicOutcome::InvalidRecipient,
        MagicOutcome::Slow,
        MagicOutcome::NeverVerified,
    ];

    /// The error `send` fails with, or `None` where it succeeds.
    pub fn error_kind(self) -> Option<ErrorKind> {
        match self {
            MagicOutcome::Unavailable => Some(ErrorKind::Unavailable),
            MagicOutcome::QuotaExceeded => Some(ErrorKind::QuotaExceeded),
            MagicOutcome::RateLimited => Some(ErrorKind::RateLimited),
            MagicOutcome::InvalidRecipient => Some(ErrorKind::InvalidRecipient),
            MagicOutcome::Slow | MagicOutcome::NeverVerified => None,
        }
    }

    /// The snake_case name used in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            MagicOutcome::Unavailable => "unavailable",
            MagicOutcome::QuotaExceeded => "quota_exceeded",
            MagicOutcome::RateLimited => "rate_limited",
            MagicOutcome::InvalidRecipient => "invalid_recipient",
            MagicOutcome::Slow => "slow",
            MagicOutcome::NeverVerified => "never_verified",
        }
    }

    /// This outcome's row of [`MAGIC_RECIPIENTS`].
    pub fn recipient(self) -> &'static MagicRecipient {
        // Every outcome has its row (the table lists each once, checked by a test).
        MAGIC_RECIPIENTS
            .iter()
            .find(|r| r.outcome == self)
            .unwrap_or(&MAGIC_RECIPIENTS[0])
    }

    /// A magic phone number like `phone` (same country code and length): its last digits
    /// replaced by this outcome's.
    pub fn phone_like(self, phone: &str) -> String {
        let suffix = self.recipient().phone_suffix;
        let keep = phone.chars().count().saturating_sub(suffix.len());
        let start: String = phone.chars().take(keep).collect();
        format!("{start}{suffix}")
    }
}

impl fmt::Display for MagicOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_one_row_and_is_found_in_requests() {
        for outcome in MagicOutcome::ALL {
            let row = outcome.recipient();
            assert_eq!(row.outcome, outcome);
            assert_eq!(magic_outcome(row.email), Some(outcome));
            assert_eq!(magic_outcome(&row.email.to_uppercase()), Some(outcome));
            let phone = outcome.phone_like("+919876543210");
            assert_eq!(phone.len(), "+919876543210".len());
            assert_eq!(magic_outcome(&phone), Some(outcome));
            let body = format!(r#"{{"mobileNumber": "{}"}}"#, &phone[3..]);
            assert_eq!(magic_in_text(&body), Some(outcome), "{body}");
            let encoded = format!("email={}", row.email.replace('@', "%40"));
            assert_eq!(magic_in_text(&encoded), Some(outcome));
        }
        assert_eq!(
            magic_in_text(r#"{"email": "jane@example.com", "otp": "555001"}"#),
            None
        );
    }
}
