//! The verification handle: everything `verify`, `resend` and `status` need after `send`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::provider::{Channel, Purpose};
use crate::recipient::Recipient;

/// What `send` hands back so that `verify`, `resend` and `status` can follow later, possibly in
/// another process: the provider id, the recipient, the purpose, the provider's own reference
/// (HyperVerge `reqId`, ThunderSMS `id`, Tencent `otp_token`, generic `verification_id`) and the
/// expiry. It holds no credential.
///
/// It is serde-serializable, and has a compact string form for the command line and cookies:
/// [`Verification::to_token`] gives only cookie-safe characters (`A-Z a-z 0-9 - _ .`), at most
/// 4096 of them. The token carries the recipient's address (providers such as Thaaigroup verify
/// by address), so keep it server-side, or seal it ([`Verification::seal`]) if it travels
/// through a browser.
///
/// ```
/// use otpkit::Verification;
///
/// let handle = Verification::new("generic", "+5511999888777".parse()?)
///     .with_reference("otp_67890abcdef12345");
/// let token = handle.to_token();
/// assert!(token.starts_with("v1."));
/// assert_eq!(Verification::from_token(&token)?, handle);
/// assert!(Verification::from_token("v1.not-a-handle").is_err());
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    provider: String,
    recipient: Recipient,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    purpose: Option<Purpose>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    extra: BTreeMap<String, String>,
    /// The router member that sent the code (contract §7), so `verify`, `resend` and `status`
    /// go to it and nowhere else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<String>,
}

const TOKEN_PREFIX: &str = "v1.";

impl Verification {
    /// The longest token [`Verification::to_token`] may produce.
    pub const MAX_TOKEN_LEN: usize = 4096;

    /// A handle for a code sent by `provider` to `recipient`.
    pub fn new(provider: &str, recipient: Recipient) -> Self {
        Verification {
            provider: provider.to_owned(),
            recipient,
            purpose: None,
            channel: None,
            reference: None,
            expires_at: None,
            extra: BTreeMap::new(),
            member: None,
        }
    }

    /// Sets the purpose used on send (verify sends it again where the provider wants it).
    pub fn with_purpose(mut self, purpose: Option<Purpose>) -> Self {
        self.purpose = purpose;
        self
    }

    /// Sets the channel.
    pub fn with_channel(mut self, channel: Option<Channel>) -> Self {
        self.channel = channel;
        self
    }

    /// Sets the provider's reference.
    pub fn with_reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sets the expiry to `lifetime` from now.
    pub fn expiring_in(mut self, lifetime: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.expires_at = Some(now.saturating_add(lifetime).as_secs());
        self
    }

    /// Stores an adapter-specific value (for example HyperVerge's `transactionId`).
    pub fn with_extra(mut self, key: &str, value: impl Into<String>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Records the router member that sent the code (set by the core from
    /// [`SendRequest`](crate::SendRequest)'s member, never by adapters).
    pub(crate) fn with_member(mut self, member: Option<String>) -> Self {
        self.member = member;
        self
    }

    /// The name of the router member that sent the code, for handles a router issued.
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// The provider id that issued the handle.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The recipient.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The purpose used on send.
    pub fn purpose(&self) -> Option<&Purpose> {
        self.purpose.as_ref()
    }

    /// The channel used on send.
    pub fn channel(&self) -> Option<Channel> {
        self.channel
    }

    /// The provider's reference.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The provider's reference, or an `invalid_request` error saying the handle lacks it.
    pub fn require_reference(&self) -> Result<&str, Error> {
        self.reference().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                "the handle carries no provider reference; was it made by this provider's send?",
            )
        })
    }

    /// When the code expires, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// An adapter-specific value.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra.get(key).map(String::as_str)
    }

    /// The compact, cookie-safe string form: `v1.` and the URL-safe base64 of the JSON form.
    pub fn to_token(&self) -> String {
        // Serializing plain strings and options into a Vec cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut token = String::with_capacity(TOKEN_PREFIX.len() + json.len() * 4 / 3 + 4);
        token.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(json, &mut token);
        token
    }

    /// An upper bound on `to_token().len()`, computed without building the token: every
    /// character of a string field escapes to at most 6 JSON bytes, the rest of the JSON form
    /// is under 256 bytes, and base64 adds a third.
    pub(crate) fn token_len_bound(&self) -> usize {
        let strings = self.provider.len()
            + self.recipient.as_str().len()
            + self.purpose.as_ref().map_or(0, |p| p.as_str().len())
            + self.reference.as_ref().map_or(0, String::len)
            + self.member.as_ref().map_or(0, String::len)
            + self
                .extra
                .iter()
                .map(|(k, v)| k.len() + v.len() + 8)
                .sum::<usize>();
        let json = 256 + 6 * strings;
        TOKEN_PREFIX.len() + json.div_ceil(3) * 4
    }

    /// Parses a token made by [`Verification::to_token`]. Anything else is `invalid_request`.
    pub fn from_token(token: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("not an otpkit verification handle: {why}"),
            )
        };
        if token.len() > Self::MAX_TOKEN_LEN {
            return Err(bad("longer than 4096 characters"));
        }
        let body = token
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or_else(|| bad("it does not start with `v1.`"))?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| bad("it is not URL-safe base64"))?;
        serde_json::from_slice(&json).map_err(|_| bad("its contents do not parse"))
    }
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("provider", &self.provider)
            .field("recipient", &self.recipient)
            .field("purpose", &self.purpose)
            .field("channel", &self.channel)
            .field("reference", &self.reference)
            .field("expires_at", &self.expires_at)
            .field("extra", &self.extra)
            .field("member", &self.member)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_length_bound_holds() {
        let long = "é\"\u{1}".repeat(100);
        for handle in [
            sample(),
            sample().with_reference(long.clone()),
            sample()
                .with_extra(&long, long.clone())
                .expiring_in(Duration::from_secs(u64::MAX / 4)),
        ] {
            assert!(handle.to_token().len() <= handle.token_len_bound());
        }
    }

    fn sample() -> Verification {
        Verification::new("hyperverge", "jane.doe@example.com".parse().unwrap())
            .with_purpose(Some(Purpose::Signup))
            .with_channel(Some(Channel::Email))
            .with_reference("3461646b6c4a373535313235")
            .with_extra("transaction_id", "otpkit-1234")
            .with_member(Some("india".to_owned()))
            .expiring_in(Duration::from_secs(300))
    }

    #[test]
    fn tokens_round_trip_and_are_cookie_safe() {
        let handle = sample();
        let token = handle.to_token();
        assert!(token.len() <= Verification::MAX_TOKEN_LEN);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')));
        assert_eq!(Verification::from_token(&token).unwrap(), handle);
    }

    #[test]
    fn serde_form_round_trips() {
        let handle = sample();
        let json = serde_json::to_string(&handle).unwrap();
        assert_eq!(serde_json::from_str::<Verification>(&json).unwrap(), handle);
    }

    #[test]
    fn garbage_tokens_are_invalid_request() {
        let long = format!("v1.{}", "A".repeat(5000));
        let not_json = format!("v1.{}", URL_SAFE_NO_PAD.encode("hello"));
        let bad_recipient = format!(
            "v1.{}",
            URL_SAFE_NO_PAD.encode(r#"{"provider":"x","recipient":"nobody"}"#)
        );
        for bad in [
            "",
            "v1.",
            "v2.abc",
            "v1.***",
            &long,
            &not_json,
            &bad_recipient,
        ] {
            let err = Verification::from_token(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:.20}");
        }
    }

    #[test]
    fn debug_masks_the_recipient() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("jane.doe"), "{text}");
    }
}
