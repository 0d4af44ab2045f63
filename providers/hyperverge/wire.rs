//! HyperVerge's six JSON request bodies, serialized from borrowed structs. Optional members are
//! left out rather than sent as `null`; `otpLength` and `otpExpiry` are numbers.

use serde::Serialize;

/// `POST sendOTPEmail`: `{email, otpLength, widgetId?}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EmailSendBody<'a> {
    pub email: &'a str,
    pub otp_length: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_id: Option<&'a str>,
}

/// `POST verifyMobileSendOtp`: `{templateId, mobileNumber, otpLength, otpExpiry?}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MobileSendBody<'a> {
    pub mobile_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_expiry: Option<u64>,
    pub otp_length: u8,
    pub template_id: &'a str,
}

/// `POST verifyOTPEmail`: `{reqId, otp, email, widgetId?}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EmailVerifyBody<'a> {
    pub email: &'a str,
    pub otp: &'a str,
    pub req_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_id: Option<&'a str>,
}

/// `POST verifyMobileOtp`: `{mobileNumber, otp}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MobileVerifyBody<'a> {
    pub mobile_number: &'a str,
    pub otp: &'a str,
}

/// `POST retryOTPEmail`: `{reqId, otpLength, widgetId?}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EmailResendBody<'a> {
    pub otp_length: u8,
    pub req_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_id: Option<&'a str>,
}

/// `POST resendOtp`: `{mobileNumber, retryType}` (`"text"` or `"voice"`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MobileResendBody<'a> {
    pub mobile_number: &'a str,
    pub retry_type: &'static str,
}
