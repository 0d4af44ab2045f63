//! Tencent CIAM's three JSON request bodies, serialized from borrowed structs. A recipient is
//! named by exactly one of `phone_number` and `email` (see `Target::slots`); the other, and
//! every unset optional member, is left out rather than sent as `null`.

use serde::Serialize;

/// `POST /otp/send`: `{usage, phone_number | email, auth_source_id?}`.
#[derive(Serialize)]
pub(super) struct SendBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_source_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
    pub usage: &'a str,
}

/// `POST /oauth2/token`: `{grant_type, client_id, client_secret, auth_source_id,
/// phone_number | email, otp_token, otp, auto_signup?}`.
#[derive(Serialize)]
pub(super) struct TokenBody<'a> {
    pub auth_source_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_signup: Option<bool>,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    pub grant_type: &'static str,
    pub otp: &'a str,
    pub otp_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
}

/// `POST /reset_user_password`: `{password, email, email_otp, email_otp_token}` or the
/// `phone_number` equivalents.
#[derive(Serialize)]
pub(super) struct ResetPasswordBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_otp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_otp_token: Option<&'a str>,
    pub password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_otp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_otp_token: Option<&'a str>,
}
