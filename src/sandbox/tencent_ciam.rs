//! Tencent Cloud CIAM (the vendor's Send OTP page): `POST otp/send`,
//! the OTP grant on `POST oauth2/token`, and `POST reset_user_password` as a consumer of
//! `reset_password` codes. Errors are `{error, error_description?}`.
//!
//! - `otp/send` and `reset_user_password` take `Authorization: Basic
//!   base64(url_encode(client_id):url_encode(client_secret))`; otherwise 401
//!   `{"error":"invalid_client"}` (inferred from the token endpoint).
//! - `usage` is `login` (the default; needs `auth_source_id`, whose code length and lifetime
//!   are the sandbox's options), `signup`, `update_userinfo` or `reset_password` (6 digits, 60
//!   s, as documented). The phone is an 11-digit mainland number (`malformed_phone_number`),
//!   the email must look like one (`malformed_email`); an email at a `.invalid` domain stands
//!   for a nonexistent or blocklisted one (`invalid_email`). Signing up a known user is
//!   `email_is_used` / `phone_number_is_used`. A second SMS to one number inside the cooldown
//!   is 400 `sms_rate_limit_exceeded`; the quota is 400 `insufficient_sms_quota` /
//!   `insufficient_email_quota`. Answers `{"otp_token"}`, valid 5 minutes.
//! - `oauth2/token` takes JSON with `grant_type` `http://tencentciam.com/oauth2/grant-type/otp/sms`
//!   or `…/otp/email` (the parameter table's value), `client_id` and `client_secret` in the
//!   body (401 `invalid_client`), `auth_source_id` (400 `invalid_auth_source`), the phone or
//!   email of the send, `otp_token`, `otp` and optional `auto_signup`. Its 400s are
//!   `invalid_grant` "Unknown or expired otp_token" / "Unknown or expired OTP" (wrong, expired
//!   or burned) / "User not found" (unknown user without `auto_signup`), and `invalid_request`
//!   "Mismatched OTP token and OTP sending parameters". Success is a token set with JWTs.
//! - A send failure forced with [`Failure::ServerError`] is the documented 503
//!   `temporarily_unavailable`.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::clock::unix;
use super::codes::{Check, Gate, NewCode};
use super::fields::is_email;
use super::ids::random_hex;
use super::state::Shared;
use super::wire::{Reply, Req};
use super::Failure;

pub(super) const ID: &str = "tencent_ciam";
pub(super) const PREFIX: &str = "/tencent_ciam/";

const CLIENT_ID: &str = "sandbox-client-id";
const CLIENT_SECRET: &str = "sandbox-client-secret";
const AUTH_SOURCE_ID: &str = "sandbox-otp-auth-source";
const GRANT_SMS: &str = "http://tencentciam.com/oauth2/grant-type/otp/sms";
const GRANT_EMAIL: &str = "http://tencentciam.com/oauth2/grant-type/otp/email";
/// How long an `otp_token` lives (documented: 5 minutes).
const TOKEN_LIFE: Duration = Duration::from_secs(300);
/// Code length and lifetime without an auth source (documented).
const DEFAULT_LENGTH: usize = 6;
const DEFAULT_TTL: Duration = Duration::from_secs(60);
const USAGES: [&str; 4] = ["login", "signup", "update_userinfo", "reset_password"];

/// The provider's own keys of its ready-made config.
pub(super) fn config() -> Value {
    json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "auth_source_id": AUTH_SOURCE_ID,
        "auto_signup": true,
    })
}

fn error(status: u16, code: &str, description: Option<&str>) -> Reply {
    let mut body = json!({"error": code});
    if let Some(description) = description {
        body["error_description"] = json!(description);
    }
    Reply::json(status, body)
}

fn bad(code: &str) -> Reply {
    error(400, code, None)
}

fn invalid_request(description: &str) -> Reply {
    error(400, "invalid_request", Some(description))
}

fn invalid_grant(description: &str) -> Reply {
    error(400, "invalid_grant", Some(description))
}

fn invalid_client() -> Reply {
    error(401, "invalid_client", None)
}

fn sms_rate_limit() -> Reply {
    error(
        400,
        "sms_rate_limit_exceeded",
        Some("SMS rate limit exceeded for same phone number"),
    )
}

fn insufficient_quota(email: bool) -> Reply {
    bad(if email {
        "insufficient_email_quota"
    } else {
        "insufficient_sms_quota"
    })
}

/// The documented answer to a forced failure.
pub(super) fn failure(_cx: &Shared, req: &Req, failure: Failure) -> Reply {
    let email = req.json().is_some_and(|body| {
        body.contains_key("email") || body.get("grant_type") == Some(&json!(GRANT_EMAIL))
    });
    match failure {
        Failure::Cooldown => sms_rate_limit(),
        // Tencent documents no account-wide throttle: its gateway's plain 429 (undocumented)
        // with the wait, as HTTP has it. `sms_rate_limit_exceeded` is the per-number cooldown.
        Failure::RateLimited => error(429, "too_many_requests", None).header("retry-after", "60"),
        Failure::QuotaExceeded => insufficient_quota(email),
        Failure::BadCredentials => invalid_client(),
        Failure::InvalidRecipient if email => error(400, "malformed_email", None),
        Failure::InvalidRecipient => error(400, "malformed_phone_number", None),
        _ => error(
            503,
            "temporarily_unavailable",
            Some("Failed to send OTP. Please try again later."),
        ),
    }
}

/// Answers a request under the prefix.
pub(super) fn handle(cx: &Shared, req: &Req) -> Reply {
    let operation: fn(&Shared, &Req, &Map<String, Value>) -> Reply = match req.path.as_str() {
        "otp/send" => send,
        "oauth2/token" => token,
        "reset_user_password" => reset_password,
        _ => return error(404, "not_found", Some("Not found")),
    };
    if req.method != "POST" {
        return invalid_request("Method not allowed");
    }
    let Some(body) = req.json() else {
        return invalid_request("The request body must be a JSON object");
    };
    operation(cx, req, &body)
}

/// Whether the Basic header carries the client, each half url-encoded.
fn basic_ok(req: &Req) -> bool {
    req.basic().is_some_and(|(id, secret)| {
        url_decode(&id).as_deref() == Some(CLIENT_ID)
            && url_decode(&secret).as_deref() == Some(CLIENT_SECRET)
    })
}

/// Decodes `%XX` escapes and `+` (a space, as form encoders write it).
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The recipient of a send or reset body: `("phone_number", value)` or `("email", value)`.
fn recipient(
    body: &Map<String, Value>,
    phone_key: &str,
    email_key: &str,
) -> Result<(bool, String), Reply> {
    match (text(body, phone_key), text(body, email_key)) {
        (Some(phone), None) => {
            let ok = phone.len() == 11
                && phone.starts_with('1')
                && phone.bytes().all(|b| b.is_ascii_digit());
            if ok {
                Ok((false, phone.to_owned()))
            } else {
                Err(bad("malformed_phone_number"))
            }
        }
        (None, Some(email)) => {
            if is_email(email) {
                Ok((true, email.to_lowercase()))
            } else {
                Err(bad("malformed_email"))
            }
        }
        (Some(_), Some(_)) => Err(invalid_request(
            "Pass either phone_number or email, not both",
        )),
        (None, None) => Err(invalid_request("phone_number or email is required")),
    }
}

/// The normalized form of a Tencent recipient: `+86` and the mainland number, or the email.
fn display(is_email: bool, value: &str) -> String {
    if is_email {
        value.to_owned()
    } else {
        format!("+86{value}")
    }
}

fn send(cx: &Shared, req: &Req, body: &Map<String, Value>) -> Reply {
    if !basic_ok(req) {
        return invalid_client();
    }
    let usage = match body.get("usage") {
        None | Some(Value::Null) => "login",
        Some(Value::String(usage)) if USAGES.contains(&usage.as_str()) => usage.as_str(),
        Some(_) => {
            return invalid_request(
                "usage must be login, signup, update_userinfo or reset_password",
            )
        }
    };
    let (is_email, value) = match recipient(body, "phone_number", "email") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if is_email && value.ends_with(".invalid") {
        return bad("invalid_email");
    }
    let auth_source = text(body, "auth_source_id");
    let (length, ttl) = match (usage, auth_source) {
        ("login", None) => return invalid_request("auth_source_id is required for login"),
        ("login", Some(AUTH_SOURCE_ID)) => {
            (usize::from(cx.options.code_length), cx.options.code_ttl)
        }
        ("login", Some(_)) => {
            return error(
                400,
                "invalid_auth_source",
                Some("Auth source and application not associated"),
            )
        }
        _ => (DEFAULT_LENGTH, DEFAULT_TTL),
    };
    let who = display(is_email, &value);
    if usage == "signup" && cx.account(&who).is_some() {
        return bad(if is_email {
            "email_is_used"
        } else {
            "phone_number_is_used"
        });
    }
    let otp_token = random_hex(40);
    let mut meta = Map::new();
    meta.insert("usage".into(), json!(usage));
    meta.insert("email".into(), json!(is_email));
    meta.insert("value".into(), json!(value));
    let issued = cx.issue(NewCode {
        // The documented one-SMS-per-number-per-30-s rule; no limit is documented for email.
        cooldown: (!is_email).then_some(value.as_str()),
        length,
        ttl,
        meta,
        ..NewCode::new(ID, &otp_token, &who, &cx.options)
    });
    match issued {
        Ok(_) => Reply::json(200, json!({"otp_token": otp_token})),
        Err(Gate::Cooldown(_)) => sms_rate_limit(),
        Err(Gate::Quota { .. }) => insufficient_quota(is_email),
    }
}

/// Looks up an `otp_token` issued for this usage and recipient and checks the code.
fn consume(
    cx: &Shared,
    otp_token: &str,
    usage: &str,
    is_email: bool,
    value: &str,
    otp: &str,
) -> Result<(), Reply> {
    let unknown = || invalid_grant("Unknown or expired otp_token");
    let stored = cx.lookup(ID, otp_token).ok_or_else(unknown)?;
    if stored.used || cx.now().saturating_duration_since(stored.issued_at) >= TOKEN_LIFE {
        return Err(unknown());
    }
    let same = stored.meta.get("usage") == Some(&json!(usage))
        && stored.meta.get("email") == Some(&json!(is_email))
        && stored.meta.get("value") == Some(&json!(value));
    if !same {
        return Err(invalid_request(
            "Mismatched OTP token and OTP sending parameters",
        ));
    }
    match cx.check(ID, otp_token, otp) {
        Some(Check::Correct) => Ok(()),
        Some(Check::Used) | None => Err(unknown()),
        Some(_) => Err(invalid_grant("Unknown or expired OTP")),
    }
}

fn token(cx: &Shared, _req: &Req, body: &Map<String, Value>) -> Reply {
    if text(body, "client_id") != Some(CLIENT_ID)
        || text(body, "client_secret") != Some(CLIENT_SECRET)
    {
        return invalid_client();
    }
    let is_email = match text(body, "grant_type") {
        Some(GRANT_SMS) => false,
        Some(GRANT_EMAIL) => true,
        Some(_) => {
            return error(
                400,
                "unsupported_grant_type",
                Some("Unsupported grant type"),
            )
        }
        None => return invalid_request("grant_type is required"),
    };
    match text(body, "auth_source_id") {
        Some(AUTH_SOURCE_ID) => {}
        Some(_) => {
            return error(
                400,
                "invalid_auth_source",
                Some("Auth source and application not associated"),
            )
        }
        None => return invalid_request("auth_source_id is required"),
    }
    let key = if is_email { "email" } else { "phone_number" };
    let Some(value) = text(body, key) else {
        return invalid_request(&format!("{key} is required for this grant_type"));
    };
    let value = if is_email {
        value.to_lowercase()
    } else {
        value.to_owned()
    };
    let (Some(otp_token), Some(otp)) = (text(body, "otp_token"), text(body, "otp")) else {
        return invalid_request("otp_token and otp are required");
    };
    let auto_signup = match body.get("auto_signup") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return invalid_request("auto_signup must be a boolean"),
    };
    if let Err(reply) = consume(cx, otp_token, "login", is_email, &value, otp) {
        return reply;
    }
    let who = display(is_email, &value);
    if cx.account(&who).is_none() {
        if !auto_signup {
            return invalid_grant("User not found");
        }
        cx.set_account(&who, None);
    }
    let issuer = format!("{}{}", cx.origin, PREFIX.trim_end_matches('/'));
    let subject = format!("sandbox-user-{}", &random_hex(16));
    let now = unix(cx.wall_now());
    let claims = json!({"iss": issuer, "sub": subject, "aud": CLIENT_ID, "iat": now, "exp": now.saturating_add(299)});
    Reply::json(
        200,
        json!({
            "access_token": jwt(&claims),
            "refresh_token": random_hex(48),
            "scope": "openid",
            "id_token": jwt(&claims),
            "token_type": "Bearer",
            "expires_in": 299,
        }),
    )
}

/// An unsigned-looking JWT: real header and claims, a placeholder signature.
fn jwt(claims: &Value) -> String {
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        encode(&json!({"alg": "RS256", "typ": "JWT", "kid": "sandbox"})),
        encode(claims),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("otpkit-sandbox-signature"),
    )
}

fn reset_password(cx: &Shared, req: &Req, body: &Map<String, Value>) -> Reply {
    if !basic_ok(req) {
        return invalid_client();
    }
    let Some(password) = text(body, "password") else {
        return invalid_request("password is required");
    };
    let (is_email, value) = match recipient(body, "phone_number", "email") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let prefix = if is_email { "email" } else { "phone_number" };
    let (Some(otp), Some(otp_token)) = (
        text(body, &format!("{prefix}_otp")),
        text(body, &format!("{prefix}_otp_token")),
    ) else {
        return invalid_request(&format!("{prefix}_otp and {prefix}_otp_token are required"));
    };
    let strong = password.chars().count() >= 8
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(char::is_alphabetic);
    if !strong {
        return error(
            400,
            "invalid_new_password",
            Some("The password must be at least 8 characters with letters and digits"),
        );
    }
    let who = display(is_email, &value);
    if cx.account(&who).flatten().as_deref() == Some(password) {
        return error(
            400,
            "recurrent_password",
            Some("The new password must differ from the current one"),
        );
    }
    if let Err(reply) = consume(cx, otp_token, "reset_password", is_email, &value, otp) {
        return reply;
    }
    cx.set_account(&who, Some(password.to_owned()));
    Reply::empty(200)
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn url_decoding_handles_escapes_and_rejects_broken_ones() {
        assert_eq!(url_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(url_decode("plain").as_deref(), Some("plain"));
        assert_eq!(url_decode("bad%4"), None);
        assert_eq!(url_decode("bad%zz"), None);
        assert_eq!(url_decode("%E2%82%AC").as_deref(), Some("€"));
    }
}
