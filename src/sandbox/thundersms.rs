//! ThunderSMS Verify under `/api/v2/` (the vendor's Verify page and its MOBtexting
//! twin for check and search).
//!
//! - Auth: `Authorization: Bearer <token>` or the `access_token` query parameter; otherwise 401
//!   `{"message":"Unauthenticated."}`. The `_method` query parameter overrides the method.
//! - `POST verify/send` validates `channels[]` (`name` whatsapp/sms/voice/viber, `from`,
//!   `recipient.to` as digits with the country prefix and no `+`, `order`, `wait`, viber `ttl`
//!   30–1209600) and `payload` (`length` 4–10, default 6; `timeout` seconds, default 120;
//!   `token`, a caller-chosen code whose length must equal `length`). Problems are Laravel 422
//!   bodies (a redirect for a client that does not ask for JSON). The answer is
//!   `{id, status:"sent", foreign_id, created_at, expire_at}` with timestamps
//!   `YYYY-MM-DD HH:MM:SS` and no zone (written in IST, inferred from the vendor's examples).
//! - `GET verify/check/{id}/{token}` answers HTTP 200 with `status` `success`, `invalid`
//!   (also for a burned code), `expired`, `OTP already verified` or `failed` (unknown id).
//! - `GET verify/search/{id}` answers the Verify object with `reference` and per-channel
//!   statuses (the first channel `sent`, the fallbacks `null`); an unknown id is 404.
//! - Undocumented, nearest Laravel behaviour: a send to the same number inside the cooldown is
//!   429 `{"message":"Too Many Attempts."}` with `Retry-After`; the quota is 402
//!   `{"status":402,"message":"Insufficient balance"}`.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::clock::{ceil_secs, naive_time};
use super::codes::{Check, Gate, NewCode, Otp};
use super::fields::{is_e164_digits, string_or_number};
use super::ids::{random_hex, random_uuid};
use super::laravel::{for_client, laravel_422, Problems};
use super::state::Shared;
use super::wire::{Reply, Req};
use super::Failure;

pub(super) const ID: &str = "thundersms";
pub(super) const PREFIX: &str = "/thundersms/api/v2/";

const TOKEN: &str = "sandbox-thundersms-token";
/// India Standard Time, the zone the zone-less timestamps are written in.
const IST: i64 = 5 * 3600 + 30 * 60;
const CHANNELS: [&str; 4] = ["whatsapp", "sms", "voice", "viber"];

/// The provider's own keys of its ready-made config.
pub(super) fn config() -> Value {
    json!({
        "token": TOKEN,
        "channels": [
            {"name": "whatsapp", "from": "919019120000", "order": 0, "wait": 30},
            {"name": "sms", "from": "OTPKIT", "order": 1, "wait": 30},
        ],
    })
}

fn message(status: u16, text: &str) -> Reply {
    Reply::json(status, json!({"message": text}))
}

fn throttled(secs: u64) -> Reply {
    message(429, "Too Many Attempts.").header("retry-after", secs.max(1).to_string())
}

fn balance() -> Reply {
    Reply::json(
        402,
        json!({"status": 402, "message": "Insufficient balance"}),
    )
}

/// The documented answer to a forced failure.
pub(super) fn failure(cx: &Shared, _req: &Req, failure: Failure) -> Reply {
    match failure {
        Failure::Cooldown => throttled(ceil_secs(cx.options.resend_cooldown)),
        Failure::RateLimited => throttled(60),
        Failure::QuotaExceeded => balance(),
        Failure::BadCredentials => message(401, "Unauthenticated."),
        Failure::InvalidRecipient => super::laravel::laravel_422(&[(
            "channels.0.recipient.to",
            "The channels.0.recipient.to is not a valid phone number.",
        )]),
        _ => message(500, "Server Error"),
    }
}

/// Answers a request under the prefix, as Laravel answers this client (see [`for_client`]).
pub(super) fn handle(cx: &Shared, req: &Req) -> Reply {
    for_client(req, answer(cx, req))
}

/// The answer for a client that expects JSON.
fn answer(cx: &Shared, req: &Req) -> Reply {
    let method = req
        .query("_method")
        .map_or_else(|| req.method.clone(), str::to_ascii_uppercase);
    let segments: Vec<&str> = req.path.split('/').collect();
    let route = match segments.as_slice() {
        ["verify", "send"] => ("POST", Route::Send),
        ["verify", "check", id, token] if !id.is_empty() && !token.is_empty() => {
            ("GET", Route::Check(id, token))
        }
        ["verify", "search", id] if !id.is_empty() => ("GET", Route::Search(id)),
        _ => return message(404, "Not Found"),
    };
    if method != route.0 {
        return message(405, "The method is not supported for this route.");
    }
    let token = req.bearer().or_else(|| req.query("access_token"));
    if token != Some(TOKEN) {
        return message(401, "Unauthenticated.");
    }
    match route.1 {
        Route::Send => send(cx, req),
        Route::Check(id, token) => check(cx, id, token),
        Route::Search(id) => search(cx, id),
    }
}

enum Route<'a> {
    Send,
    Check(&'a str, &'a str),
    Search(&'a str),
}

/// A checked channel of the send body.
struct ChannelIn {
    name: String,
    from: String,
    to: String,
    order: u64,
}

fn channel(problems: &mut Problems, index: usize, value: &Value) -> Option<ChannelIn> {
    let path = format!("channels.{index}.");
    let Value::Object(object) = value else {
        problems.add(
            format!("channels.{index}"),
            format!("The channels.{index} field must be an object."),
        );
        return None;
    };
    let name = match object.get("name").and_then(Value::as_str) {
        Some(name) if CHANNELS.contains(&name) => Some(name.to_owned()),
        Some(_) => {
            problems.add(
                format!("{path}name"),
                format!("The selected {path}name is invalid."),
            );
            None
        }
        None => {
            problems.add(
                format!("{path}name"),
                format!("The {path}name field is required."),
            );
            None
        }
    };
    let from = match object.get("from") {
        Some(Value::String(from)) if !from.trim().is_empty() => Some(from.clone()),
        _ => {
            problems.add(
                format!("{path}from"),
                format!("The {path}from field is required."),
            );
            None
        }
    };
    let to = match object
        .get("recipient")
        .and_then(|r| string_or_number(r.get("to")))
    {
        Some(to) if is_e164_digits(&to) => Some(to),
        Some(_) => {
            problems.add(
                format!("{path}recipient.to"),
                format!("The {path}recipient.to format is invalid (digits with the country prefix, no +)."),
            );
            None
        }
        None => {
            problems.add(
                format!("{path}recipient.to"),
                format!("The {path}recipient.to field is required."),
            );
            None
        }
    };
    let order = problems
        .number(object, &path, "order", (0, 100))
        .unwrap_or(index as u64);
    problems.number(object, &path, "wait", (0, 86_400));
    problems.number(object, &path, "ttl", (30, 1_209_600));
    problems.optional_string(object, &path, "flow_id");
    problems.optional_string(object, &path, "language");
    Some(ChannelIn {
        name: name?,
        from: from?,
        to: to?,
        order,
    })
}

fn send(cx: &Shared, req: &Req) -> Reply {
    let body = req.json().unwrap_or_default();
    let mut problems = Problems::default();
    let mut channels = Vec::new();
    match body.get("channels") {
        Some(Value::Array(list)) if !list.is_empty() => {
            for (index, value) in list.iter().enumerate() {
                if let Some(c) = channel(&mut problems, index, value) {
                    channels.push(c);
                }
            }
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            problems.add("channels", "The channels field is required.")
        }
        Some(_) => problems.add("channels", "The channels field must be an array."),
    }
    let payload = match body.get("payload") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(payload)) => payload.clone(),
        Some(_) => {
            problems.add("payload", "The payload field must be an object.");
            Map::new()
        }
    };
    let length = problems
        .number(&payload, "payload.", "length", (4, 10))
        .unwrap_or(6);
    let timeout = problems
        .number(&payload, "payload.", "timeout", (1, 86_400))
        .unwrap_or(120);
    let token = match payload.get("token") {
        None | Some(Value::Null) => None,
        value => match string_or_number(value) {
            Some(token) if token.chars().count() == length as usize => Some(token),
            _ => {
                problems.add(
                    "payload.token",
                    format!("The payload.token field must be {length} characters."),
                );
                None
            }
        },
    };
    problems.optional_string(&payload, "payload.", "ip_address");
    let foreign_id = match body.get("foreign_id") {
        None | Some(Value::Null) => Value::Null,
        value => match string_or_number(value) {
            Some(id) => json!(id),
            None => {
                problems.add("foreign_id", "The foreign_id field must be a string.");
                Value::Null
            }
        },
    };
    problems.optional_string(&body, "", "template");
    if let Err(reply) = problems.finish() {
        return reply;
    }
    channels.sort_by_key(|c| c.order);
    let Some(first) = channels.first() else {
        return laravel_422(&[("channels", "The channels field is required.")]);
    };
    let id = random_uuid();
    let mut meta = Map::new();
    meta.insert("foreign_id".into(), foreign_id.clone());
    meta.insert("to".into(), json!(first.to));
    meta.insert(
        "channels".into(),
        json!(channels
            .iter()
            .map(|c| json!({"name": c.name, "from": c.from, "to": c.to}))
            .collect::<Vec<_>>()),
    );
    let issued = cx.issue(NewCode {
        length: length as usize,
        ttl: Duration::from_secs(timeout),
        code: token,
        meta,
        ..NewCode::new(ID, &id, &first.to, &cx.options)
    });
    match issued {
        Ok(otp) => Reply::json(
            200,
            json!({
                "id": id,
                "status": "sent",
                "foreign_id": foreign_id,
                "created_at": naive_time(otp.issued_wall, IST),
                "expire_at": naive_time(otp.wall_expiry(), IST),
            }),
        ),
        Err(Gate::Cooldown(left)) => throttled(ceil_secs(left)),
        Err(Gate::Quota { .. }) => balance(),
    }
}

fn check(cx: &Shared, id: &str, token: &str) -> Reply {
    let status = match cx.check(ID, id, token) {
        None => "failed",
        Some(Check::Correct) => "success",
        Some(Check::Expired) => "expired",
        Some(Check::Used) => "OTP already verified",
        Some(_) => "invalid",
    };
    Reply::json(200, json!({"id": id, "status": status}))
}

fn search(cx: &Shared, id: &str) -> Reply {
    let Some(otp) = cx.lookup(ID, id) else {
        return message(404, "Not Found");
    };
    let status = match otp.state(cx.now(), cx.options.max_attempts) {
        Check::Used => "verified",
        Check::Burned => "failed",
        Check::Expired => "expired",
        _ => "sent",
    };
    Reply::json(200, verify_object(id, &otp, status))
}

fn verify_object(id: &str, otp: &Otp, status: &str) -> Value {
    let created = naive_time(otp.issued_wall, IST);
    let channels: Vec<Value> = match otp.meta.get("channels") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "id": random_uuid(),
                    "to": c.get("to"),
                    "from": c.get("from"),
                    "channel": c.get("name"),
                    "event_id": if i == 0 { json!(random_hex(24)) } else { Value::Null },
                    "created_at": created,
                    "status": if i == 0 { json!("sent") } else { Value::Null },
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "id": id,
        "to": otp.meta.get("to"),
        "reference": otp.meta.get("foreign_id"),
        "status": status,
        "created_at": created,
        "expire_at": naive_time(otp.wall_expiry(), IST),
        "channels": channels,
    })
}
