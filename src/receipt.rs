//! What comes out: the [`SendReceipt`] of a send, the [`Verified`] answer of a verify and the
//! [`StatusReport`] of a status call.

use std::time::Duration;

use crate::handle::Verification;
use crate::request::Channel;
use crate::secret::Secret;

/// What `send` and `resend` return.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SendReceipt {
    /// Everything `verify`, `resend` and `status` need later.
    pub verification: Verification,
    /// How long the code lives, when the provider said.
    pub expires_in: Option<Duration>,
    /// How long before a resend is allowed, when the provider said.
    pub resend_after: Option<Duration>,
    /// The channel the provider used or will try first, when known.
    pub channel: Option<Channel>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
}

impl SendReceipt {
    /// The receipt for a code that was just sent: the handle expires `expires_in` from now
    /// (when the provider said), and the receipt's channel is the handle's.
    pub fn issued(handle: Verification, expires_in: Option<Duration>) -> Self {
        let handle = match expires_in {
            Some(lifetime) => handle.expiring_in(lifetime),
            None => handle,
        };
        let mut receipt = SendReceipt::new(handle);
        receipt.channel = receipt.verification.channel();
        receipt.expires_in = expires_in;
        receipt
    }

    /// A receipt around a handle, with nothing else known yet.
    pub fn new(verification: Verification) -> Self {
        SendReceipt {
            verification,
            expires_in: None,
            resend_after: None,
            channel: None,
            request_id: None,
        }
    }
}

/// Tokens a provider issues when verification doubles as a login (Tencent CIAM's OAuth
/// exchange). Every token is a [`Secret`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect id token.
    pub id_token: Option<Secret>,
    /// The token type, normally `Bearer`.
    pub token_type: Option<String>,
    /// The scope granted.
    pub scope: Option<String>,
    /// The access token's lifetime.
    pub expires_in: Option<Duration>,
}

impl IssuedTokens {
    /// Tokens with only an access token.
    pub fn new(access_token: Secret) -> Self {
        IssuedTokens {
            access_token,
            refresh_token: None,
            id_token: None,
            token_type: None,
            scope: None,
            expires_in: None,
        }
    }
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Verified {
    /// The provider that verified the code.
    pub provider: &'static str,
    /// The provider's request id.
    pub request_id: Option<String>,
    /// Tokens the provider issued, where verifying is a login.
    pub tokens: Option<IssuedTokens>,
}

impl Verified {
    /// A plain "verified" from a provider.
    pub fn new(provider: &'static str) -> Self {
        Verified {
            provider,
            request_id: None,
            tokens: None,
        }
    }
}

/// Where a verification stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerificationState {
    /// Created, not yet sent.
    Pending,
    /// Sent to the recipient.
    Sent,
    /// Delivered to the recipient.
    Delivered,
    /// The code was verified.
    Verified,
    /// The code expired.
    Expired,
    /// Delivery or verification failed.
    Failed,
    /// A state this version of otpkit does not know, as the provider wrote it.
    Other(String),
}

impl VerificationState {
    /// Maps a provider's status word (case-insensitive).
    pub fn from_word(word: &str) -> Self {
        match word.trim().to_ascii_lowercase().as_str() {
            "pending" | "created" | "queued" => VerificationState::Pending,
            "sent" | "submitted" => VerificationState::Sent,
            "delivered" => VerificationState::Delivered,
            "verified" | "success" | "approved" => VerificationState::Verified,
            "expired" => VerificationState::Expired,
            "failed" | "undelivered" | "rejected" => VerificationState::Failed,
            _ => VerificationState::Other(word.to_owned()),
        }
    }

    /// The lower-case word (the provider's own word for `Other`).
    pub fn as_str(&self) -> &str {
        match self {
            VerificationState::Pending => "pending",
            VerificationState::Sent => "sent",
            VerificationState::Delivered => "delivered",
            VerificationState::Verified => "verified",
            VerificationState::Expired => "expired",
            VerificationState::Failed => "failed",
            VerificationState::Other(word) => word,
        }
    }
}

/// One delivery attempt on one channel, for multi-channel providers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelAttempt {
    /// The channel's name as the provider wrote it.
    pub channel: String,
    /// Its delivery state, when the provider reported one.
    pub status: Option<String>,
}

impl ChannelAttempt {
    /// A channel attempt.
    pub fn new(channel: impl Into<String>, status: Option<String>) -> Self {
        ChannelAttempt {
            channel: channel.into(),
            status,
        }
    }
}

/// What `status` returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StatusReport {
    /// The overall state.
    pub state: VerificationState,
    /// Per-channel delivery, for providers that fan out over channels.
    pub channels: Vec<ChannelAttempt>,
}

impl StatusReport {
    /// A report with no per-channel detail.
    pub fn new(state: VerificationState) -> Self {
        StatusReport {
            state,
            channels: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_receipts_carry_the_expiry_and_the_handles_channel() {
        let handle =
            Verification::new("x", "a@b.co".parse().unwrap()).with_channel(Some(Channel::Email));
        let receipt = SendReceipt::issued(handle.clone(), Some(Duration::from_secs(300)));
        assert_eq!(receipt.expires_in, Some(Duration::from_secs(300)));
        assert_eq!(receipt.channel, Some(Channel::Email));
        assert!(receipt.verification.expires_at().is_some());
        let unknown = SendReceipt::issued(handle, None);
        assert_eq!(
            (unknown.expires_in, unknown.verification.expires_at()),
            (None, None)
        );
    }

    #[test]
    fn states_are_read_tolerantly() {
        assert_eq!(
            VerificationState::from_word("SENT"),
            VerificationState::Sent
        );
        assert_eq!(VerificationState::from_word("odd").as_str(), "odd");
    }
}
