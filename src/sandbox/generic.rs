//! The generic X-API-Key OTP service (the vendor overview): `POST
//! otp/send|verify|resend`, `GET otp/status` and the management reads `otp/list`, `otp/logs`,
//! `otp/attempts`, `otp/reports`, `otp/rate-limits` answering `{"success":true,"data":…}`.
//!
//! - Auth, any of: `X-API-Key` + `X-API-Secret`; `Authorization: Basic base64(key:secret)`;
//!   `Authorization: Bearer` with the bearer token or `base64(key:secret)`. Otherwise 401
//!   `UNAUTHORIZED`. An `appid` other than the configured app is 403 `FORBIDDEN`.
//! - Failures use `{"success":false,"error":{"code","message"}}`: `INVALID_CODE` (400, with
//!   `attempts_remaining`), `MAX_ATTEMPTS_EXCEEDED` (400, from the last allowed wrong try on),
//!   `OTP_EXPIRED` (400), `ALREADY_VERIFIED` (400), `VERIFICATION_NOT_FOUND` (404),
//!   `INVALID_RECIPIENT` (400), `VALIDATION_ERROR` (422), `RATE_LIMITED` (429 with a
//!   `Retry-After` header and `retry_after`, also for a send or resend inside the cooldown),
//!   `INSUFFICIENT_BALANCE` (402, the quota). Verify failures also carry `verified:false`.

use serde_json::{json, Map, Value};

use super::clock::{ceil_secs, rfc3339};
use super::codes::{Check, Gate, NewCode, NoResend, Otp};
use super::fields::{is_e164_digits, normalize, string_or_number, trimmed_text, whole_number};
use super::ids::random_hex;
use super::state::Shared;
use super::wire::{Reply, Req};
use super::Failure;

pub(super) const ID: &str = "generic";
pub(super) const PREFIX: &str = "/generic/";

const APP_ID: &str = "sandbox-app";
const API_KEY: &str = "sandbox-api-key";
const API_SECRET: &str = "sandbox-api-secret";
const BEARER_TOKEN: &str = "sandbox-bearer-token";
const SENDER: &str = "otpkit";

/// The provider's own keys of its ready-made config.
pub(super) fn config() -> Value {
    json!({
        "app_id": APP_ID,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "sender": SENDER,
    })
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"success": false, "error": {"code": code, "message": message}}),
    )
}

/// A verify failure: the envelope plus `verified:false` and, when known, the tries left.
fn refused(code: &str, message: &str, remaining: Option<u32>) -> Reply {
    let mut body =
        json!({"success": false, "verified": false, "error": {"code": code, "message": message}});
    if let Some(left) = remaining {
        body["attempts_remaining"] = json!(left);
    }
    Reply::json(400, body)
}

fn rate_limited(secs: u64) -> Reply {
    let secs = secs.max(1);
    Reply::json(
        429,
        json!({"success": false, "error": {"code": "RATE_LIMITED", "message": "Too many requests. Please wait before trying again."}, "retry_after": secs}),
    )
    .header("retry-after", secs.to_string())
}

fn balance() -> Reply {
    error(
        402,
        "INSUFFICIENT_BALANCE",
        "Insufficient balance to send OTP.",
    )
}

fn unauthorized() -> Reply {
    error(401, "UNAUTHORIZED", "Invalid or missing API credentials.")
}

fn not_found() -> Reply {
    error(404, "VERIFICATION_NOT_FOUND", "Verification not found.")
}

fn validation(message: &str) -> Reply {
    error(422, "VALIDATION_ERROR", message)
}

/// The documented answer to a forced failure.
pub(super) fn failure(cx: &Shared, _req: &Req, failure: Failure) -> Reply {
    match failure {
        Failure::Cooldown => rate_limited(ceil_secs(cx.options.resend_cooldown)),
        Failure::RateLimited => rate_limited(60),
        Failure::QuotaExceeded => balance(),
        Failure::BadCredentials => unauthorized(),
        Failure::InvalidRecipient => error(
            400,
            "INVALID_RECIPIENT",
            "The recipient is not a reachable mobile number.",
        ),
        _ => error(500, "INTERNAL_ERROR", "Internal server error."),
    }
}

fn authorized(req: &Req) -> bool {
    use base64::Engine as _;
    let pair = format!("{API_KEY}:{API_SECRET}");
    if req.has_headers(&[("x-api-key", API_KEY), ("x-api-secret", API_SECRET)]) {
        return true;
    }
    if req
        .basic()
        .is_some_and(|(user, password)| user == API_KEY && password == API_SECRET)
    {
        return true;
    }
    req.bearer().is_some_and(|token| {
        token == BEARER_TOKEN || token == base64::engine::general_purpose::STANDARD.encode(&pair)
    })
}

/// Answers a request under the prefix.
pub(super) fn handle(cx: &Shared, req: &Req) -> Reply {
    type Operation = fn(&Shared, &Req, &Map<String, Value>) -> Reply;
    let (method, operation): (&str, Operation) = match req.path.as_str() {
        "otp/send" => ("POST", send),
        "otp/verify" => ("POST", verify),
        "otp/resend" => ("POST", resend),
        "otp/status" => ("GET", status),
        "otp/list" => ("GET", list),
        "otp/logs" => ("GET", logs),
        "otp/attempts" => ("GET", attempts),
        "otp/reports" => ("GET", reports),
        "otp/rate-limits" => ("GET", rate_limits),
        _ => return error(404, "NOT_FOUND", "Endpoint not found."),
    };
    if req.method != method {
        return error(405, "METHOD_NOT_ALLOWED", "Method not allowed.");
    }
    if !authorized(req) {
        return unauthorized();
    }
    let body = if method == "POST" {
        match req.json() {
            Some(body) => body,
            None => return validation("The request body must be a JSON object."),
        }
    } else {
        Map::new()
    };
    let appid = match method {
        "POST" => string_or_number(body.get("appid")),
        _ => req.query("appid").map(str::to_owned),
    };
    match appid {
        Some(appid) if appid != APP_ID => {
            return error(
                403,
                "FORBIDDEN",
                "The appid does not belong to these credentials.",
            )
        }
        None if method == "POST" => return validation("The appid field is required."),
        _ => {}
    }
    operation(cx, req, &body)
}

fn text(body: &Map<String, Value>, name: &str) -> Option<String> {
    trimmed_text(body.get(name))
}

fn status_word(cx: &Shared, otp: &Otp) -> &'static str {
    match otp.state(cx.now(), cx.options.max_attempts) {
        Check::Used => "verified",
        Check::Burned => "failed",
        Check::Expired => "expired",
        _ => "sent",
    }
}

fn sent(id: &str, otp: &Otp) -> Reply {
    Reply::json(
        200,
        json!({
            "success": true,
            "verification_id": id,
            "status": "sent",
            "channel": otp.meta.get("channel"),
            "expires_in": otp.ttl.as_secs(),
            "expires_at": rfc3339(otp.wall_expiry()),
        }),
    )
}

fn gate(gate: Gate) -> Reply {
    match gate {
        Gate::Cooldown(left) => rate_limited(ceil_secs(left)),
        Gate::Quota { .. } => balance(),
    }
}

fn send(cx: &Shared, _req: &Req, body: &Map<String, Value>) -> Reply {
    let Some(recipient) = text(body, "recipient") else {
        return validation("The recipient field is required.");
    };
    if !recipient.strip_prefix('+').is_some_and(is_e164_digits) {
        return error(
            400,
            "INVALID_RECIPIENT",
            "The recipient must be an E.164 phone number such as +5511999888777.",
        );
    }
    let channel = text(body, "channel").unwrap_or_else(|| "sms".to_owned());
    if channel != "sms" && channel != "whatsapp" {
        return validation("The channel must be sms or whatsapp.");
    }
    let from = match body.get("from") {
        None | Some(Value::Null) => None,
        Some(Value::String(from)) => Some(from.clone()),
        Some(_) => return validation("The from field must be a string."),
    };
    let id = format!("otp_{}", random_hex(16));
    let mut meta = Map::new();
    meta.insert("channel".into(), json!(channel));
    meta.insert("from".into(), json!(from));
    let issued = cx.issue(NewCode {
        meta,
        ..NewCode::new(ID, &id, &recipient, &cx.options)
    });
    match issued {
        Ok(otp) => sent(&id, &otp),
        Err(g) => gate(g),
    }
}

fn verify(cx: &Shared, _req: &Req, body: &Map<String, Value>) -> Reply {
    let Some(id) = text(body, "verification_id") else {
        return validation("The verification_id field is required.");
    };
    let Some(code) = text(body, "otp_code") else {
        return validation("The otp_code field is required.");
    };
    let Some(stored) = cx.lookup(ID, &id) else {
        return not_found();
    };
    if let Some(recipient) = text(body, "recipient") {
        if normalize(&recipient) != stored.recipient {
            return error(
                400,
                "INVALID_RECIPIENT",
                "The recipient does not match this verification.",
            );
        }
    }
    let Some(check) = cx.check(ID, &id, &code) else {
        return not_found();
    };
    match check {
        Check::Correct => Reply::json(
            200,
            json!({"success": true, "verified": true, "verification_id": id, "status": "verified"}),
        ),
        Check::Wrong { remaining } if remaining > 0 => {
            refused("INVALID_CODE", "The code is incorrect.", Some(remaining))
        }
        Check::Wrong { .. } | Check::Burned => refused(
            "MAX_ATTEMPTS_EXCEEDED",
            "Too many incorrect attempts; request a new code.",
            Some(0),
        ),
        Check::Expired => refused("OTP_EXPIRED", "The code has expired.", None),
        Check::Used | Check::Pending => refused(
            "ALREADY_VERIFIED",
            "This verification is already verified.",
            None,
        ),
    }
}

fn resend(cx: &Shared, _req: &Req, body: &Map<String, Value>) -> Reply {
    let Some(id) = text(body, "verification_id") else {
        return validation("The verification_id field is required.");
    };
    let previous = match cx.resendable(ID, &id) {
        Ok(previous) => previous,
        Err(NoResend::Unknown) => return not_found(),
        Err(NoResend::Cooldown(left)) => return rate_limited(ceil_secs(left)),
        Err(NoResend::Used) => {
            return error(
                400,
                "ALREADY_VERIFIED",
                "This verification is already verified.",
            )
        }
    };
    let issued = cx.issue(NewCode {
        length: previous.code.len(),
        meta: previous.meta,
        ..NewCode::new(ID, &id, &previous.recipient, &cx.options)
    });
    match issued {
        Ok(otp) => sent(&id, &otp),
        Err(g) => gate(g),
    }
}

fn status(cx: &Shared, req: &Req, _body: &Map<String, Value>) -> Reply {
    let Some(id) = req.query("verification_id").filter(|id| !id.is_empty()) else {
        return validation("The verification_id parameter is required.");
    };
    let Some(otp) = cx.lookup(ID, id) else {
        return not_found();
    };
    Reply::json(
        200,
        json!({
            "success": true,
            "verification_id": id,
            "status": status_word(cx, &otp),
            "channel": otp.meta.get("channel"),
            "recipient": otp.recipient,
            "attempts": otp.attempts,
            "expires_at": rfc3339(otp.wall_expiry()),
        }),
    )
}

fn data(data: Value) -> Reply {
    Reply::json(200, json!({"success": true, "data": data}))
}

fn list(cx: &Shared, req: &Req, _body: &Map<String, Value>) -> Reply {
    let limit = whole_number(req.query("limit").map(|l| json!(l)).as_ref()).unwrap_or(100);
    let rows: Vec<Value> = cx
        .all(ID)
        .into_iter()
        .filter(|(_, otp)| {
            req.query("status")
                .is_none_or(|wanted| wanted == status_word(cx, otp))
                && req
                    .query("recipient")
                    .is_none_or(|wanted| normalize(wanted) == otp.recipient)
                && req
                    .query("channel")
                    .is_none_or(|wanted| otp.meta.get("channel") == Some(&json!(wanted)))
        })
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(id, otp)| {
            json!({
                "verification_id": id,
                "recipient": otp.recipient,
                "channel": otp.meta.get("channel"),
                "status": status_word(cx, &otp),
                "created_at": rfc3339(otp.issued_wall),
                "expires_at": rfc3339(otp.wall_expiry()),
            })
        })
        .collect();
    data(json!(rows))
}

fn logs(cx: &Shared, req: &Req, _body: &Map<String, Value>) -> Reply {
    let rows: Vec<Value> = cx
        .events(ID)
        .into_iter()
        .filter(|e| req.query("verification_id").is_none_or(|id| id == e.key))
        .map(|e| json!({"verification_id": e.key, "event": e.what, "created_at": rfc3339(e.at)}))
        .collect();
    data(json!(rows))
}

fn attempts(cx: &Shared, req: &Req, _body: &Map<String, Value>) -> Reply {
    let max = cx.options.max_attempts;
    let rows: Vec<Value> = cx
        .all(ID)
        .into_iter()
        .filter(|(id, _)| {
            req.query("verification_id")
                .is_none_or(|wanted| wanted == id)
        })
        .map(|(id, otp)| {
            json!({
                "verification_id": id,
                "attempts": otp.attempts,
                "max_attempts": max,
                "attempts_remaining": max.saturating_sub(otp.attempts),
            })
        })
        .collect();
    if let Some(id) = req.query("verification_id") {
        return match rows.into_iter().next() {
            Some(row) => data(row),
            None if id.is_empty() => validation("The verification_id parameter is empty."),
            None => not_found(),
        };
    }
    data(json!(rows))
}

fn reports(cx: &Shared, _req: &Req, _body: &Map<String, Value>) -> Reply {
    let mut counts = Map::new();
    let mut channels = Map::new();
    let all = cx.all(ID);
    for (_, otp) in &all {
        let word = status_word(cx, otp);
        let n = counts.get(word).and_then(Value::as_u64).unwrap_or(0);
        counts.insert(word.to_owned(), json!(n + 1));
        if let Some(Value::String(channel)) = otp.meta.get("channel") {
            let n = channels.get(channel).and_then(Value::as_u64).unwrap_or(0);
            channels.insert(channel.clone(), json!(n + 1));
        }
    }
    data(json!({
        "total": all.len(),
        "sends": cx.quota_used(ID),
        "by_status": counts,
        "by_channel": channels,
    }))
}

fn rate_limits(cx: &Shared, _req: &Req, _body: &Map<String, Value>) -> Reply {
    let used = cx.quota_used(ID);
    data(json!({
        "limit": cx.options.quota,
        "used": used,
        "remaining": cx.options.quota.saturating_sub(used),
        "resend_cooldown_secs": ceil_secs(cx.options.resend_cooldown),
        "max_attempts": cx.options.max_attempts,
    }))
}
