//! The verification handle: everything `verify`, `resend` and `status` need after `send`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::recipient::Recipient;
use crate::request::{Channel, Purpose};

/// What `send` hands back so that `verify`, `resend` and `status` can follow later, possibly in
/// another process: the provider id, the recipient, the purpose, the provider's own reference
/// (HyperVerge `reqId`, ThunderSMS `id`, Tencent `otp_token`, generic `verification_id`) and the
/// expiry. It holds no credential.
///
/// It is serde-serializable, and has a compact string form for the command line and cookies:
/// [`Verification::to_token`] gives only cookie-safe characters (`A-Z a-z 0-9 - _ .`), at most
/// 4096 of them. Both forms carry the core's MAC, so an edited handle is refused (see
/// "Tamper evidence" below for what the MAC does and does not protect against). The token
/// is readable: it carries the recipient's address (providers such as Thaaigroup verify by
/// address), so keep it server-side, or seal it ([`Verification::seal`]) if it travels through
/// a browser.
///
///
/// # Tamper evidence
///
/// Every handle a provider built from configuration returns carries a MAC (HMAC-SHA256) over
/// all its other fields: provider, recipient, purpose, channel, reference, expiry, extra
/// values, router member and resend time. The key is derived when the provider is built, from
/// its id and its configured credentials, so no key is asked of the application. Before any
/// adapter sees a handle, `verify`, `resend`, `status` and provider-specific calls (Tencent's
/// `reset_password`) check it: a handle from another provider, without a MAC, or with any
/// field changed is `invalid_request`; one past its expiry is `expired`; a `resend` before its
/// resend time is `cooldown`. In each case no request is made.
///
/// What this protects against: whoever holds a plain token (a browser, a log reader) cannot
/// point it at another recipient, purpose or reference, extend its expiry, skip the resend
/// wait or make a handle up, and so cannot have otpkit answer `Ok` for an address they do not
/// control.
///
/// What it does not:
/// - **Reading.** A plain token is base64 of JSON: the recipient's address is readable. Seal
///   the handle ([`Verification::seal`]) for anything a browser holds.
/// - **Replay.** An unchanged token stays valid until it expires; it is the provider that
///   refuses a used code. Keep the handle in the user's session, not where another user can
///   submit it.
/// - **Holders of the credentials.** Anyone with the provider's credentials can mint handles
///   (they can call the provider directly anyway).
/// - **Rotation.** Rotating the credentials changes the key: handles issued before are then
///   refused (`invalid_request`) and users ask for a new code. Two deployments with the same
///   provider and credentials accept each other's handles.
/// - **Handles made by hand.** [`Verification::new`] builds an unstamped handle: the core
///   refuses it. Only handles returned by `send`/`resend` verify.
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
    /// When `resend` may ask for another code, in seconds since the Unix epoch (set by the
    /// core from the provider's answer or `resend_after_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resend_at: Option<u64>,
    /// The core's MAC over every other field (see [`crate::handle`]'s "Tamper evidence").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
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
            resend_at: None,
            mac: None,
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
        self.expires_at = Some(unix_now().saturating_add(lifetime).as_secs());
        self
    }

    /// Sets the resend time to `wait` from now, rounded up to the second so it is never
    /// earlier than the provider asked (no wait: now). Set by the core on every handle it
    /// issues.
    pub(crate) fn resendable_in(mut self, wait: Duration) -> Self {
        let at = unix_now().saturating_add(wait);
        let round_up = !wait.is_zero() && at.subsec_nanos() > 0;
        let secs = at.as_secs() + u64::from(round_up);
        self.resend_at = Some(secs);
        self
    }

    /// When `resend` may ask for another code, in seconds since the Unix epoch: the provider's
    /// wait from the send answer, else the configured `resend_after_secs`. `resend` before it
    /// is `cooldown` with the remaining wait, with no request made.
    pub fn resend_at(&self) -> Option<u64> {
        self.resend_at
    }

    /// How long until `resend` may ask for another code (zero when it may now).
    pub fn resend_wait(&self) -> Duration {
        self.resend_at.map_or(Duration::ZERO, |at| {
            Duration::from_secs(at).saturating_sub(unix_now())
        })
    }

    /// Whether the expiry has passed (a handle without one never expires here; the provider
    /// decides).
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|at| unix_now() > Duration::from_secs(at))
    }

    /// The MAC the core stamped on the handle, base64.
    pub(crate) fn mac(&self) -> Option<&str> {
        self.mac.as_deref()
    }

    /// The handle with this MAC.
    pub(crate) fn with_mac(mut self, mac: Option<String>) -> Self {
        self.mac = mac;
        self
    }

    /// Feeds every field but the MAC to `write`, each as a tag byte and a value prefixed with
    /// its length in four bytes (an absent optional as the length `u32::MAX`), so no two
    /// different handles give the same input: what the MAC covers. No copy of the handle and
    /// no JSON; short, so the HMAC hashes few blocks.
    pub(crate) fn mac_input(&self, mut write: impl FnMut(&[u8])) {
        const ABSENT: u32 = u32::MAX;
        let mut field = |tag: u8, value: Option<&[u8]>| {
            write(&[tag]);
            match value {
                // A handle's values are far below 4 GiB (its token is at most 4096 characters);
                // a longer one would need more memory than any handle is given.
                Some(bytes) => {
                    let len = u32::try_from(bytes.len()).unwrap_or(ABSENT - 1);
                    write(&len.to_be_bytes());
                    write(bytes);
                }
                None => write(&ABSENT.to_be_bytes()),
            }
        };
        let expires_at = self.expires_at.map(u64::to_be_bytes);
        let resend_at = self.resend_at.map(u64::to_be_bytes);
        field(b'p', Some(self.provider.as_bytes()));
        field(b'r', Some(self.recipient.as_str().as_bytes()));
        field(b'u', self.purpose.as_ref().map(|p| p.as_str().as_bytes()));
        field(b'c', self.channel.map(|c| c.as_str().as_bytes()));
        field(b'f', self.reference.as_deref().map(str::as_bytes));
        field(b'e', expires_at.as_ref().map(|b| &b[..]));
        field(b'x', Some(&(self.extra.len() as u64).to_be_bytes()));
        for (key, value) in &self.extra {
            field(b'k', Some(key.as_bytes()));
            field(b'v', Some(value.as_bytes()));
        }
        field(b'm', self.member.as_deref().map(str::as_bytes));
        field(b't', resend_at.as_ref().map(|b| &b[..]));
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

    /// `invalid_request` unless this handle was issued by provider `id` (checked before any
    /// request, with the MAC, by every provider).
    pub(crate) fn require_provider(&self, id: &str) -> Result<(), Error> {
        if self.provider == id {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("this handle was issued by `{}`, not `{id}`", self.provider),
        ))
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
            + self.mac.as_ref().map_or(0, String::len)
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

/// The time since the Unix epoch (zero if the clock is before it).
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
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
            .field("resend_at", &self.resend_at)
            .field("stamped", &self.mac.is_some())
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
            .resendable_in(Duration::from_secs(30))
            .with_mac(Some("m".repeat(43)))
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
