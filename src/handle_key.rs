//! The key behind tamper-evident handles (contract §4): derived once, when a provider is built,
//! from its id and its configured credentials, so no key is asked of the application. See
//! [`crate::handle`]'s "Tamper evidence" for what the MAC protects against and what it does not.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac};

use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::secret::Secret;

/// Separates this key from any other use of the same credentials.
const SALT: &[u8] = b"otpkit handle mac v2";
/// What the derived key is for.
const INFO: &[u8] = b"verification handle";

/// An HMAC-SHA256 key for one provider's handles. `None` only when the operating system's
/// random generator failed for a client built without credentials: every handle is then
/// refused (fail closed).
#[derive(Clone)]
pub(crate) struct HandleKey(Option<hmac::Key>);

impl HandleKey {
    /// The key for a provider id and its configured secret values: HKDF-SHA256 over the id and
    /// each secret, each prefixed by its length so no two lists run together.
    pub(crate) fn from_credentials(provider: &str, secrets: &[Secret]) -> Self {
        let mut material = Vec::new();
        for part in std::iter::once(provider).chain(secrets.iter().map(Secret::expose)) {
            material.extend_from_slice(&(part.len() as u64).to_be_bytes());
            material.extend_from_slice(part.as_bytes());
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(&material);
        let info = [INFO];
        // `expand` fails only when asked for more than 255 hash lengths; one HMAC key is one.
        let key = prk
            .expand(&info, hmac::HMAC_SHA256)
            .ok()
            .map(hmac::Key::from);
        HandleKey(key)
    }

    /// A random key: handles survive only as long as this client (for a [`crate::Client`]
    /// made without configuration).
    pub(crate) fn random() -> Self {
        let mut bytes = [0u8; 32];
        let key = SystemRandom::new()
            .fill(&mut bytes)
            .ok()
            .map(|()| hmac::Key::new(hmac::HMAC_SHA256, &bytes));
        HandleKey(key)
    }

    /// The handle with its MAC (over every other field) set.
    pub(crate) fn stamp(&self, handle: Verification) -> Verification {
        let mac = self.0.as_ref().map(|key| {
            let tag = hmac::sign(key, &mac_input(&handle));
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        });
        handle.with_mac(mac)
    }

    /// Whether the handle's MAC is this key's over its fields: `invalid_request` when it is
    /// missing or does not match (a field was changed, or another key stamped it).
    pub(crate) fn check(&self, handle: &Verification) -> Result<(), Error> {
        let refused = || {
            Error::new(
                ErrorKind::InvalidRequest,
                "this handle was changed, or was not issued by this provider with its current credentials; nothing was sent",
            )
        };
        let (Some(key), Some(mac)) = (&self.0, handle.mac()) else {
            return Err(refused());
        };
        let tag = URL_SAFE_NO_PAD.decode(mac).map_err(|_| refused())?;
        hmac::verify(key, &mac_input(handle), &tag).map_err(|_| refused())
    }
}

/// The bytes the MAC covers (see `Verification::mac_input`), gathered once.
fn mac_input(handle: &Verification) -> Vec<u8> {
    let mut input = Vec::with_capacity(256);
    handle.mac_input(|bytes| input.extend_from_slice(bytes));
    input
}

impl fmt::Debug for HandleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandleKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn handle() -> Verification {
        Verification::new("generic", "+5511999888777".parse().unwrap())
            .with_reference("otp_67890abcdef12345")
            .expiring_in(Duration::from_secs(300))
    }

    fn key(secret: &str) -> HandleKey {
        HandleKey::from_credentials("generic", &[Secret::new(secret)])
    }

    #[test]
    fn a_stamped_handle_checks_and_survives_both_forms() {
        let stamped = key("s3cret").stamp(handle());
        key("s3cret").check(&stamped).unwrap();
        let token = Verification::from_token(&stamped.to_token()).unwrap();
        key("s3cret").check(&token).unwrap();
        let json = serde_json::to_string(&stamped).unwrap();
        key("s3cret")
            .check(&serde_json::from_str(&json).unwrap())
            .unwrap();
    }

    #[test]
    fn other_keys_edits_and_missing_macs_are_refused() {
        let stamped = key("s3cret").stamp(handle());
        let refused = |k: &HandleKey, h: &Verification| {
            assert_eq!(k.check(h).unwrap_err().kind(), ErrorKind::InvalidRequest);
        };
        refused(&key("rotated"), &stamped);
        refused(
            &HandleKey::from_credentials("thundersms", &[Secret::new("s3cret")]),
            &stamped,
        );
        refused(&key("s3cret"), &handle());
        refused(&key("s3cret"), &stamped.clone().with_reference("otp_other"));
        refused(
            &key("s3cret"),
            &stamped.clone().with_mac(Some("AAAA".into())),
        );
        refused(
            &key("s3cret"),
            &stamped.with_mac(Some("not base64!".into())),
        );
        refused(&HandleKey(None), &HandleKey(None).stamp(handle()));
    }

    #[test]
    fn secrets_do_not_run_together_and_the_key_never_prints() {
        let ab = HandleKey::from_credentials("x", &[Secret::new("ab"), Secret::new("c")]);
        let a_bc = HandleKey::from_credentials("x", &[Secret::new("a"), Secret::new("bc")]);
        assert!(a_bc.check(&ab.stamp(handle())).is_err());
        assert_eq!(format!("{ab:?}"), "HandleKey(***)");
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let a = handle().with_extra("ab", "c");
        let b = handle().with_extra("a", "bc");
        let no_reference = Verification::new("generic", "+5511999888777".parse().unwrap())
            .expiring_in(Duration::from_secs(300));
        let empty_reference = no_reference.clone().with_reference("");
        assert_ne!(mac_input(&a), mac_input(&b));
        assert_ne!(mac_input(&no_reference), mac_input(&empty_reference));
    }
}
