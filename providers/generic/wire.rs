//! The generic service's three JSON request bodies, serialized from borrowed structs. `from` is
//! left out (not sent as `null`) when no sender is configured.

use serde::Serialize;

/// `POST otp/send`: `{appid, recipient, channel, from?}`.
#[derive(Serialize)]
pub(super) struct SendBody<'a> {
    pub appid: &'a str,
    pub channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    pub recipient: &'a str,
}

/// `POST otp/verify`: `{appid, verification_id, otp_code, recipient}`.
#[derive(Serialize)]
pub(super) struct VerifyBody<'a> {
    pub appid: &'a str,
    pub otp_code: &'a str,
    pub recipient: &'a str,
    pub verification_id: &'a str,
}

/// `POST otp/resend`: `{appid, verification_id}`.
#[derive(Serialize)]
pub(super) struct ResendBody<'a> {
    pub appid: &'a str,
    pub verification_id: &'a str,
}
