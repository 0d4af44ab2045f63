//! HyperVerge email and mobile OTP under `/v1`, with the `appId`, `appKey` and `transactionId`
//! headers (the vendor's Verify Email OTP page).
//!
//! - Wrong or missing `appId`/`appKey`: 401 `{"message":"Missing/Invalid credentials",
//!   "statusCode":401,"status":"failure"}`. A missing `transactionId` or body field: 400
//!   "Missing required request parameters"; a bad value (e.g. `otpLength` not 4 or 6): 400
//!   "Input Validation Error: …".
//! - `sendOTPEmail` answers `{status:"success", statusCode:200, result:{type:"success",
//!   message:"<reqId>"}, metaData:{requestId, transactionId}}`; `retryOTPEmail` sends a new code
//!   under the same `reqId`; `verifyOTPEmail` reports failures as **HTTP 200** with
//!   `status:"failure"` and `error.message` "invalid otp" (also for a burned code or a
//!   different `email`), "OTP has expired" or "otp already verifed" (sic). An unknown `reqId`
//!   is HTTP 200 "Invalid reqId" (undocumented).
//! - The mobile family (`verifyMobileSendOtp` with `templateId` and a 10-digit
//!   `mobileNumber`, `verifyMobileOtp`, `resendOtp` with `retryType` `voice`/`text`) is keyed by
//!   the number and answers in the same envelope. An unknown number is HTTP 200
//!   "Invalid mobileNumber" (undocumented).
//! - No cooldown is documented: a resend inside the cooldown gets the documented 429 "Rate
//!   limit exceeded". No quota is documented: a used-up quota gets 402 "Quota exceeded" in the
//!   documented envelope (the documented 403 "Access Denied" means the keys are not allowed,
//!   which otpkit rightly reads as `forbidden`).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::codes::{Check, Gate, NewCode, NoResend};
use super::fields::{is_email, trimmed_text, whole_number};
use super::ids::random_hex;
use super::state::Shared;
use super::wire::{Reply, Req};
use super::Failure;

pub(super) const ID: &str = "hyperverge";
pub(super) const PREFIX: &str = "/hyperverge/v1/";

const APP_ID: &str = "sandbox-app-id";
const APP_KEY: &str = "sandbox-app-key";
const TEMPLATE_ID: &str = "sandbox-template-id";

/// The provider's own keys of its ready-made config.
pub(super) fn config() -> Value {
    json!({
        "app_id": APP_ID,
        "app_key": APP_KEY,
        "template_id": TEMPLATE_ID,
    })
}

/// The top-level failure shape of the error table (400, 401, 403, 429).
fn failure_status(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "statusCode": status, "status": "failure"}),
    )
}

fn missing() -> Reply {
    failure_status(400, "Missing required request parameters")
}

fn invalid(detail: &str) -> Reply {
    failure_status(400, &format!("Input Validation Error: {detail}"))
}

fn rate_limited() -> Reply {
    failure_status(429, "Rate limit exceeded")
}

/// A used-up quota. HyperVerge documents none; its 403 "Access Denied" means the keys may not
/// call the API, so a quota answers 402 in the same envelope (undocumented, as the generic
/// service and ThunderSMS answer a used-up balance).
fn quota_exceeded() -> Reply {
    failure_status(402, "Quota exceeded")
}

/// The documented answer to a forced failure.
pub(super) fn failure(_cx: &Shared, req: &Req, failure: Failure) -> Reply {
    match failure {
        Failure::Cooldown | Failure::RateLimited => rate_limited(),
        Failure::QuotaExceeded => quota_exceeded(),
        Failure::BadCredentials => failure_status(401, "Missing/Invalid credentials"),
        // Undocumented: the 400 envelope, naming the refused field.
        Failure::InvalidRecipient => {
            let field = if req.json().is_some_and(|b| b.contains_key("email")) {
                "email"
            } else {
                "mobileNumber"
            };
            Reply::json(
                400,
                json!({"statusCode": 400, "status": "failure", "message": format!("Invalid {field}"),
                       "errors": {field: [format!("{field} is not deliverable")]}}),
            )
        }
        _ => Reply::json(
            500,
            json!({"statusCode": 500, "status": "failure", "error": "Internal Server Error"}),
        ),
    }
}

/// The request's context: its transaction id and a fresh request id.
struct Call<'a> {
    cx: &'a Shared,
    transaction_id: String,
    request_id: String,
    body: Map<String, Value>,
}

impl Call<'_> {
    fn meta(&self) -> Value {
        json!({"requestId": self.request_id, "transactionId": self.transaction_id})
    }

    fn success(&self, result: Value) -> Reply {
        Reply::json(
            200,
            json!({"status": "success", "statusCode": 200, "result": result, "metaData": self.meta()}),
        )
    }

    /// A business failure: HTTP 200, `status:"failure"`.
    fn refused(&self, message: &str) -> Reply {
        Reply::json(
            200,
            json!({"status": "failure", "statusCode": 200, "error": {"message": message}, "metaData": self.meta()}),
        )
    }

    fn str_field(&self, name: &str) -> Option<String> {
        trimmed_text(self.body.get(name))
    }

    /// `otpLength`, required on the email calls: 4 or 6.
    fn email_length(&self) -> Result<usize, Reply> {
        match self.body.get("otpLength") {
            None | Some(Value::Null) => Err(missing()),
            value => match whole_number(value) {
                Some(n @ (4 | 6)) => Ok(n as usize),
                _ => Err(invalid("otpLength must be 4 or 6")),
            },
        }
    }

    fn mobile(&self) -> Result<String, Reply> {
        let number = self.str_field("mobileNumber").ok_or_else(missing)?;
        if number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()) {
            Ok(number)
        } else {
            Err(invalid(
                "mobileNumber must be a 10-digit Indian mobile number without the country code",
            ))
        }
    }

    fn optional_string(&self, name: &str) -> Result<(), Reply> {
        match self.body.get(name) {
            None | Some(Value::Null | Value::String(_)) => Ok(()),
            Some(_) => Err(invalid(&format!("{name} must be a string"))),
        }
    }

    fn gate(&self, gate: Gate) -> Reply {
        match gate {
            Gate::Cooldown(_) => rate_limited(),
            Gate::Quota { .. } => quota_exceeded(),
        }
    }

    /// Issues a code under `key` and answers the send envelope with `message` as the result.
    fn issue(
        &self,
        key: &str,
        recipient: &str,
        length: usize,
        ttl: Duration,
        message: &str,
    ) -> Reply {
        let issued = self.cx.issue(NewCode {
            length,
            ttl,
            ..NewCode::new(ID, key, recipient, &self.cx.options)
        });
        match issued {
            Ok(_) => self.success(json!({"type": "success", "message": message})),
            Err(gate) => self.gate(gate),
        }
    }

    /// Sends the code under `key` again (retry / resend), `length` digits or as before.
    fn reissue(&self, key: &str, unknown: &str, length: Option<usize>, message: &str) -> Reply {
        let previous = match self.cx.resendable(ID, key) {
            Ok(previous) => previous,
            Err(NoResend::Unknown) => return self.refused(unknown),
            Err(NoResend::Cooldown(_)) => return rate_limited(),
            Err(NoResend::Used) => return self.refused("otp already verifed"),
        };
        let length = length.unwrap_or(previous.code.len());
        self.issue(key, &previous.recipient, length, previous.ttl, message)
    }

    fn verdict(&self, check: Option<Check>, unknown: &str) -> Reply {
        match check {
            None => self.refused(unknown),
            Some(Check::Correct) => self.success(json!({
                "status": "success",
                "message": format!("sandbox-verification-{}", random_hex(24)),
            })),
            Some(Check::Expired) => self.refused("OTP has expired"),
            Some(Check::Used) => self.refused("otp already verifed"),
            Some(_) => self.refused("invalid otp"),
        }
    }
}

/// Answers a request under the prefix.
pub(super) fn handle(cx: &Shared, req: &Req) -> Reply {
    type Operation = fn(&Call<'_>) -> Reply;
    let operation: Operation = match req.path.as_str() {
        "sendOTPEmail" => send_email,
        "retryOTPEmail" => retry_email,
        "verifyOTPEmail" => verify_email,
        "verifyMobileSendOtp" => send_mobile,
        "verifyMobileOtp" => verify_mobile,
        "resendOtp" => resend_mobile,
        _ => return failure_status(404, "Not Found"),
    };
    if req.method != "POST" {
        return failure_status(405, "Method Not Allowed");
    }
    if !req.has_headers(&[("appid", APP_ID), ("appkey", APP_KEY)]) {
        return failure_status(401, "Missing/Invalid credentials");
    }
    let Some(transaction_id) = req
        .header("transactionid")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return missing();
    };
    let Some(body) = req.json() else {
        return missing();
    };
    operation(&Call {
        cx,
        transaction_id: transaction_id.to_owned(),
        request_id: random_hex(32),
        body,
    })
}

fn email_key(req_id: &str) -> String {
    format!("email:{req_id}")
}

fn send_email(call: &Call<'_>) -> Reply {
    let Some(email) = call.str_field("email") else {
        return missing();
    };
    if !is_email(&email) {
        return invalid("email must be a valid email address");
    }
    let length = match call.email_length() {
        Ok(length) => length,
        Err(reply) => return reply,
    };
    if let Err(reply) = call.optional_string("widgetId") {
        return reply;
    }
    let req_id = random_hex(24);
    let email = email.to_lowercase();
    let ttl = call.cx.options.code_ttl;
    call.issue(&email_key(&req_id), &email, length, ttl, &req_id)
}

fn retry_email(call: &Call<'_>) -> Reply {
    let Some(req_id) = call.str_field("reqId") else {
        return missing();
    };
    let length = match call.email_length() {
        Ok(length) => length,
        Err(reply) => return reply,
    };
    if let Err(reply) = call.optional_string("widgetId") {
        return reply;
    }
    call.reissue(&email_key(&req_id), "Invalid reqId", Some(length), &req_id)
}

fn verify_email(call: &Call<'_>) -> Reply {
    let (Some(req_id), Some(otp)) = (call.str_field("reqId"), call.str_field("otp")) else {
        return missing();
    };
    for field in ["email", "widgetId"] {
        if let Err(reply) = call.optional_string(field) {
            return reply;
        }
    }
    let key = email_key(&req_id);
    if let (Some(email), Some(stored)) = (call.str_field("email"), call.cx.lookup(ID, &key)) {
        if !email.eq_ignore_ascii_case(&stored.recipient) {
            return call.refused("invalid otp");
        }
    }
    call.verdict(call.cx.check(ID, &key, &otp), "Invalid reqId")
}

fn mobile_key(number: &str) -> String {
    format!("mobile:{number}")
}

fn send_mobile(call: &Call<'_>) -> Reply {
    if call.str_field("templateId").is_none() {
        return missing();
    }
    let number = match call.mobile() {
        Ok(number) => number,
        Err(reply) => return reply,
    };
    let length = match call.body.get("otpLength") {
        None | Some(Value::Null) => 4,
        value => match whole_number(value) {
            Some(n @ 4..=9) => n as usize,
            _ => return invalid("otpLength must be between 4 and 9"),
        },
    };
    let ttl = match call.body.get("otpExpiry") {
        None | Some(Value::Null) => call.cx.options.code_ttl,
        value => match whole_number(value) {
            Some(minutes @ 1..=10_080) => Duration::from_secs(minutes * 60),
            _ => return invalid("otpExpiry must be a number of minutes"),
        },
    };
    let recipient = format!("+91{number}");
    call.issue(
        &mobile_key(&number),
        &recipient,
        length,
        ttl,
        &random_hex(24),
    )
}

fn verify_mobile(call: &Call<'_>) -> Reply {
    let number = match call.mobile() {
        Ok(number) => number,
        Err(reply) => return reply,
    };
    let Some(otp) = call.str_field("otp") else {
        return missing();
    };
    let check = call.cx.check(ID, &mobile_key(&number), &otp);
    call.verdict(check, "Invalid mobileNumber")
}

fn resend_mobile(call: &Call<'_>) -> Reply {
    let number = match call.mobile() {
        Ok(number) => number,
        Err(reply) => return reply,
    };
    match call.body.get("retryType") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind == "voice" || kind == "text" => {}
        Some(_) => return invalid("retryType must be voice or text"),
    }
    call.reissue(
        &mobile_key(&number),
        "Invalid mobileNumber",
        None,
        &random_hex(24),
    )
}
