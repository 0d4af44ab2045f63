//! Sealed handles: a [`Verification`] encrypted and authenticated with a server-side key, for
//! when the handle travels through the browser (a cookie, a hidden form field).
//!
//! The plain token ([`Verification::to_token`]) is readable and editable by whoever holds it:
//! it carries the recipient's address, and an application that trusts the handle's recipient
//! after `verify` could be shown a handle whose recipient was changed. A sealed token hides the
//! contents and refuses any change: ChaCha20-Poly1305 with a random nonce, from the `ring` crate
//! that TLS already brings in.
//!
//! ```
//! use otpkit::{SealKey, Verification};
//!
//! // Once: generate a key and store its base64 form with the application's secrets.
//! let (key, stored) = SealKey::generate()?;
//! // At start-up: load it.
//! let key = SealKey::from_base64(stored.expose())?;
//!
//! let handle = Verification::new("thaaigroup", "jane@example.com".parse()?);
//! let sealed = handle.seal(&key)?;
//! assert!(sealed.starts_with("s1.") && !sealed.contains("jane"));
//! assert_eq!(Verification::open(&sealed, &key)?, handle);
//! # Ok::<(), otpkit::Error>(())
//! ```

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::secret::Secret;

const PREFIX: &str = "s1.";
/// Binds sealed tokens to their purpose: a token sealed for something else does not open.
const AAD: &[u8] = b"otpkit verification handle v1";

/// A 32-byte key for [`Verification::seal`] and [`Verification::open`]. Its `Debug` prints
/// `***`. Keep it with the application's other secrets; rotating it invalidates the handles in
/// flight (users ask for a new code).
pub struct SealKey(LessSafeKey);

impl SealKey {
    /// The key length in bytes.
    pub const LEN: usize = 32;

    /// A key from 32 bytes; any other length is a `config` error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != Self::LEN {
            return Err(Error::config("seal key", "must be exactly 32 bytes"));
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| Error::config("seal key", "is not a usable key"))?;
        Ok(SealKey(LessSafeKey::new(key)))
    }

    /// A key from its base64 form (standard or URL-safe, padding optional), as kept in an
    /// environment variable or a secrets store.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| Error::config("seal key", "is not base64"))?;
        Self::from_bytes(&bytes)
    }

    /// A new random key, with its base64 form to store.
    pub fn generate() -> Result<(Self, Secret), Error> {
        let mut bytes = [0u8; Self::LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| no_randomness())?;
        let encoded = Secret::new(STANDARD.encode(bytes));
        Ok((Self::from_bytes(&bytes)?, encoded))
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(***)")
    }
}

fn no_randomness() -> Error {
    Error::new(
        ErrorKind::Transport,
        "the operating system's random number generator failed",
    )
}

fn not_sealed() -> Error {
    // One message for every failure, so the answer says nothing about why.
    Error::new(
        ErrorKind::InvalidRequest,
        "not an otpkit handle sealed with this key",
    )
}

impl Verification {
    /// The handle encrypted and authenticated with `key`: `s1.` and URL-safe base64, cookie-safe
    /// and at most 4096 characters. Open it with [`Verification::open`].
    pub fn seal(&self, key: &SealKey) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| no_randomness())?;
        // Serializing plain strings and options into a Vec cannot fail.
        let mut sealed = serde_json::to_vec(self).unwrap_or_default();
        key.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut sealed,
            )
            .map_err(|_| Error::new(ErrorKind::InvalidRequest, "the handle could not be sealed"))?;
        let mut token =
            String::with_capacity(PREFIX.len() + (NONCE_LEN + sealed.len()) * 4 / 3 + 4);
        token.push_str(PREFIX);
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode_string(raw, &mut token);
        if token.len() > Self::MAX_TOKEN_LEN {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "the sealed handle would be longer than 4096 characters",
            ));
        }
        Ok(token)
    }

    /// Opens a token made by [`Verification::seal`] with the same key. A token that was changed,
    /// sealed with another key, or is not sealed at all is `invalid_request`, with no request
    /// made.
    pub fn open(token: &str, key: &SealKey) -> Result<Self, Error> {
        if token.len() > Self::MAX_TOKEN_LEN {
            return Err(not_sealed());
        }
        let body = token.trim().strip_prefix(PREFIX).ok_or_else(not_sealed)?;
        let mut raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| not_sealed())?;
        if raw.len() < NONCE_LEN {
            return Err(not_sealed());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&raw[..NONCE_LEN]);
        let plain = key
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut raw[NONCE_LEN..],
            )
            .map_err(|_| not_sealed())?;
        serde_json::from_slice(plain).map_err(|_| not_sealed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key() -> SealKey {
        SealKey::from_bytes(&[7u8; 32]).unwrap()
    }

    fn handle() -> Verification {
        Verification::new("generic", "+5511999888777".parse().unwrap())
            .with_reference("otp_67890abcdef12345")
            .expiring_in(Duration::from_secs(300))
    }

    #[test]
    fn sealed_handles_round_trip_and_hide_their_contents() {
        let sealed = handle().seal(&key()).unwrap();
        assert!(sealed.starts_with("s1."));
        assert!(sealed.len() <= Verification::MAX_TOKEN_LEN);
        assert!(sealed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')));
        let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("999888"));
        assert_eq!(Verification::open(&sealed, &key()).unwrap(), handle());
        // A fresh nonce each time: the same handle never seals to the same token.
        assert_ne!(sealed, handle().seal(&key()).unwrap());
    }

    #[test]
    fn changed_foreign_and_plain_tokens_do_not_open() {
        let sealed = handle().seal(&key()).unwrap();
        let other = SealKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(Verification::open(&sealed, &other).is_err());
        // Flip one character of the ciphertext.
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 5;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        for bad in [
            tampered.as_str(),
            &handle().to_token(),
            "s1.",
            "s1.AAAA",
            "",
            &format!("s1.{}", "A".repeat(5000)),
        ] {
            let err = Verification::open(bad, &key()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad:.20}");
        }
    }

    #[test]
    fn keys_are_checked_and_never_print() {
        assert_eq!(
            SealKey::from_bytes(&[1u8; 16]).unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(
            SealKey::from_base64("not base64!").unwrap_err().kind(),
            ErrorKind::Config
        );
        let (generated, encoded) = SealKey::generate().unwrap();
        assert_eq!(format!("{generated:?} {encoded:?}"), "SealKey(***) ***");
        let again = SealKey::from_base64(encoded.expose()).unwrap();
        let sealed = handle().seal(&generated).unwrap();
        assert_eq!(Verification::open(&sealed, &again).unwrap(), handle());
    }
}
