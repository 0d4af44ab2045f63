//! Thaaigroup Verify: `POST api/otp/send` and `POST api/otp/verify` under the three
//! `X-Client-*` headers, failures in `{ok:false, error_code, message, …}` (the vendor's
//! API reference).
//!
//! - A wrong `X-Client-Id`/`X-Client-Secret` is 401 `INVALID_CLIENT`; a domain off the
//!   allowlist (`example.com`, `localhost`) is 403 `DOMAIN_NOT_ALLOWED`, on both calls.
//! - Resending is sending again; inside the cooldown it is 429 `RESEND_COOLDOWN` with
//!   `retry_after`. The quota is 429 `QUOTA_EXCEEDED` with `quota`, `used`, `reset_at` (the first
//!   of next month).
//! - Verify must repeat the send's `purpose`; wrong, expired, burned, reused and unknown codes
//!   are all 400 `OTP_INVALID` "Invalid or expired OTP", as documented.
//! - A missing or malformed field is a Laravel 422 validation body (inferred: the vendor's
//!   examples are Laravel's), or Laravel's redirect for a client that does not ask for JSON.

use serde_json::{json, Map, Value};

use super::clock::{ceil_secs, next_month};
use super::codes::{Check, Gate, NewCode};
use super::fields::{is_email, string_or_number};
use super::laravel::{for_client, laravel_422, Problems};
use super::state::Shared;
use super::wire::{Reply, Req};
use super::Failure;

pub(super) const ID: &str = "thaaigroup";
pub(super) const PREFIX: &str = "/thaaigroup/";

const CLIENT_ID: &str = "sandbox-client-id";
const CLIENT_SECRET: &str = "sandbox-client-secret";
const DOMAIN: &str = "example.com";
const ALLOWED_DOMAINS: [&str; 2] = [DOMAIN, "localhost"];

/// The provider's own keys of its ready-made config.
pub(super) fn config() -> Value {
    json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "domain": DOMAIN,
    })
}

fn error(status: u16, code: &str, message: &str, extra: Value) -> Reply {
    let mut body = json!({"ok": false, "error_code": code, "message": message});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Reply::json(status, body)
}

fn invalid_client() -> Reply {
    error(
        401,
        "INVALID_CLIENT",
        "Invalid client credentials.",
        json!({}),
    )
}

fn cooldown(secs: u64) -> Reply {
    error(
        429,
        "RESEND_COOLDOWN",
        "Please wait before requesting another OTP.",
        json!({"retry_after": secs.max(1)}),
    )
}

fn quota(cx: &Shared, used: u64) -> Reply {
    error(
        429,
        "QUOTA_EXCEEDED",
        "Monthly OTP quota exceeded. Upgrade plan to continue.",
        json!({"quota": cx.options.quota, "used": used, "reset_at": next_month(cx.wall_now())}),
    )
}

fn otp_invalid() -> Reply {
    error(400, "OTP_INVALID", "Invalid or expired OTP", json!({}))
}

/// The documented answer to a forced failure.
pub(super) fn failure(cx: &Shared, _req: &Req, failure: Failure) -> Reply {
    match failure {
        Failure::Cooldown => cooldown(ceil_secs(cx.options.resend_cooldown)),
        Failure::QuotaExceeded => quota(cx, cx.options.quota),
        Failure::RateLimited => error(
            429,
            "RATE_LIMITED",
            "Too many requests. Please try again later.",
            json!({}),
        ),
        Failure::BadCredentials => invalid_client(),
        Failure::InvalidRecipient => super::laravel::laravel_422(&[(
            "email",
            "The email field must be a valid email address.",
        )]),
        // Undocumented; the envelope is the documented one.
        _ => error(
            500,
            "SERVER_ERROR",
            "Something went wrong. Please try again later.",
            json!({}),
        ),
    }
}

/// Answers a request under the prefix, as Laravel answers this client (see [`for_client`]).
pub(super) fn handle(cx: &Shared, req: &Req) -> Reply {
    for_client(req, answer(cx, req))
}

/// The answer for a client that expects JSON.
fn answer(cx: &Shared, req: &Req) -> Reply {
    let operation: fn(&Shared, &Map<String, Value>) -> Reply = match req.path.as_str() {
        "api/otp/send" => send,
        "api/otp/verify" => verify,
        _ => return error(404, "NOT_FOUND", "Not found.", json!({})),
    };
    if req.method != "POST" {
        return error(405, "METHOD_NOT_ALLOWED", "Use POST.", json!({}));
    }
    if !req.has_headers(&[
        ("x-client-id", CLIENT_ID),
        ("x-client-secret", CLIENT_SECRET),
    ]) {
        return invalid_client();
    }
    let domain_ok = req.header("x-client-domain").is_some_and(|domain| {
        ALLOWED_DOMAINS
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(domain.trim()))
    });
    if !domain_ok {
        return error(
            403,
            "DOMAIN_NOT_ALLOWED",
            "This domain is not allowed for this project.",
            json!({}),
        );
    }
    operation(cx, &req.json().unwrap_or_default())
}

/// The email and purpose of a send or verify body, or the validation answer.
fn email_and_purpose(body: &Map<String, Value>) -> Result<(String, String), Reply> {
    let mut problems = Problems::default();
    let email = match body.get("email").and_then(Value::as_str) {
        Some(email) if is_email(email.trim()) => email.trim().to_lowercase(),
        Some(_) => {
            problems.add("email", "The email field must be a valid email address.");
            String::new()
        }
        None => {
            problems.add("email", "The email field is required.");
            String::new()
        }
    };
    let purpose = match body.get("purpose") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(p)) if p.len() <= 64 => p.clone(),
        Some(_) => {
            problems.add(
                "purpose",
                "The purpose field must be a string of at most 64 characters.",
            );
            String::new()
        }
    };
    problems.finish().map(|()| (email, purpose))
}

fn send(cx: &Shared, body: &Map<String, Value>) -> Reply {
    let (email, purpose) = match email_and_purpose(body) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let key = format!("{email}\n{purpose}");
    let issued = cx.issue(NewCode::new(ID, &key, &email, &cx.options));
    match issued {
        Ok(_) => Reply::json(
            200,
            json!({
                "ok": true,
                "message": "OTP sent",
                "expires_in": cx.options.code_ttl.as_secs(),
                "cooldown": ceil_secs(cx.options.resend_cooldown),
            }),
        ),
        Err(Gate::Cooldown(left)) => cooldown(ceil_secs(left)),
        Err(Gate::Quota { used, .. }) => quota(cx, used),
    }
}

fn verify(cx: &Shared, body: &Map<String, Value>) -> Reply {
    let (email, purpose) = match email_and_purpose(body) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let Some(otp) = string_or_number(body.get("otp")).filter(|otp| !otp.is_empty()) else {
        return laravel_422(&[("otp", "The otp field is required.")]);
    };
    match cx.check(ID, &format!("{email}\n{purpose}"), otp.trim()) {
        Some(Check::Correct) => Reply::json(200, json!({"ok": true, "verified": true})),
        _ => otp_invalid(),
    }
}
