//! The hostile server, over every adapter of `tests/table.rs`: success bodies on failing
//! statuses, bodies that say both success and failure, and error bodies that echo configured
//! secrets, codes and recipients in every string field. Contract §3: `Ok` comes only from a 2xx
//! answer read as success with no error marker, and nothing sensitive leaves in `Display`,
//! `Debug`, the error JSON or the TRACE log.

use std::sync::{Arc, Mutex};

use crate::table::kind_for_status;
use base64::Engine;
use otpkit::{Error, ErrorKind, OtpProvider, Verification};
use serde_json::{json, Map, Value};

use crate::local_server::{Action, LocalServer, Response};
use crate::scan::{capture_trace, in_own_process};
use crate::table::{compiled, Entry, Op};

/// A server whose answer the test sets before each call.
struct Hostile {
    server: LocalServer,
    answer: Arc<Mutex<Response>>,
}

impl Hostile {
    async fn start() -> Self {
        let answer = Arc::new(Mutex::new(Response::json(200, "{}")));
        let shared = answer.clone();
        let server =
            LocalServer::start(move |_, _| Action::Respond(shared.lock().unwrap().clone())).await;
        Hostile { server, answer }
    }

    fn answer(&self, response: Response) {
        *self.answer.lock().unwrap() = response;
    }
}

/// A provider, a handle from a real send, and the hostile server both point at.
async fn setup(entry: &'static Entry) -> (Hostile, Box<dyn OtpProvider>, Verification) {
    let handle = entry.handle().await;
    let hostile = Hostile::start().await;
    let provider = entry.provider(&hostile.server.url());
    (hostile, provider, handle)
}

fn ok_body(entry: &Entry, op: Op) -> &'static str {
    match op {
        Op::Send => entry.send_ok,
        Op::Verify => entry.verify_ok,
    }
}

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => panic!("not a JSON object: {text}"),
    }
}

/// Every status that is not 2xx and that an HTTP/1.1 server can answer with a body.
fn failing_statuses() -> impl Iterator<Item = u16> {
    (300..=599).filter(|s| !matches!(s, 304))
}

#[tokio::test]
async fn a_success_body_on_a_failing_status_is_never_ok() {
    for entry in compiled() {
        let (hostile, provider, handle) = setup(entry).await;
        for op in Op::ALL {
            for status in failing_statuses() {
                hostile.answer(Response::json(status, ok_body(entry, op)));
                let outcome = entry.run(provider.as_ref(), op, &handle).await;
                let context = format!("{} {op:?} HTTP {status}", entry.id);
                let error = match outcome {
                    Ok(()) => panic!("{context}: Ok from a failing status"),
                    Err(error) => error,
                };
                assert_eq!(error.status(), Some(status), "{context}: {error}");
                if matches!(status, 401 | 500 | 502 | 503) {
                    assert_eq!(error.kind(), kind_for_status(status), "{context}: {error}");
                }
            }
        }
    }
}

/// Error markers a provider might send beside its success fields.
fn markers() -> Vec<(&'static str, Value)> {
    vec![
        (
            "error",
            json!({"code": "INVALID_CODE", "message": "invalid otp"}),
        ),
        ("error", json!("invalid_grant")),
        ("error_code", json!("OTP_INVALID")),
        ("errors", json!({"otp": ["The otp is invalid."]})),
        ("status", json!("failure")),
        ("success", json!(false)),
        ("success", json!("false")),
        ("ok", json!(false)),
        ("verified", json!(false)),
        ("verified", json!("false")),
        // An HTTP error number inside the body (HyperVerge's `statusCode`, ThunderSMS's
        // `status`).
        ("status", json!(500)),
        ("statusCode", json!(401)),
        ("statusCode", json!("503")),
    ]
}

/// Markers only one provider's envelope uses.
fn own_markers(id: &str) -> Vec<(&'static str, Value)> {
    match id {
        // ThunderSMS puts an HTTP error number in `code` when `status` is a word.
        "thundersms" => vec![("code", json!(502))],
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn a_body_that_says_success_and_failure_is_never_ok() {
    for entry in compiled() {
        let (hostile, provider, handle) = setup(entry).await;
        for op in Op::ALL {
            for (key, value) in markers().into_iter().chain(own_markers(entry.id)) {
                // `verified: false` only contradicts success on verify; on send it is a state.
                if key == "verified" && op != Op::Verify {
                    continue;
                }
                let mut body = object(ok_body(entry, op));
                body.insert(key.to_owned(), value.clone());
                let text = Value::Object(body).to_string();
                hostile.answer(Response::json(200, text.clone()));
                let outcome = entry.run(provider.as_ref(), op, &handle).await;
                assert!(outcome.is_err(), "{} {op:?}: Ok from {text}", entry.id);
            }
        }
    }
}

/// The contradictory answers issue 9 reported, each read as `unexpected_response`.
#[tokio::test]
async fn the_reported_contradictions_are_unexpected_responses() {
    let cases: &[(&str, Op, &str)] = &[
        (
            "hyperverge",
            Op::Verify,
            r#"{"status":"success","statusCode":200,"result":{"status":"success"},"error":{"message":"invalid otp"}}"#,
        ),
        (
            "hyperverge",
            Op::Send,
            r#"{"status":"success","statusCode":200,"result":{"message":"req-1"},"error":"Internal Server Error"}"#,
        ),
        (
            "generic",
            Op::Verify,
            r#"{"success":true,"error":{"code":"INVALID_CODE"}}"#,
        ),
        (
            "generic",
            Op::Verify,
            r#"{"success":true,"verified":"false"}"#,
        ),
        (
            "thaaigroup",
            Op::Verify,
            r#"{"ok":true,"error_code":"OTP_INVALID"}"#,
        ),
        (
            "tencent_ciam",
            Op::Verify,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":299,"error":"invalid_grant"}"#,
        ),
    ];
    for &(id, op, body) in cases {
        let Some(entry) = compiled().find(|e| e.id == id) else {
            continue;
        };
        let (hostile, provider, handle) = setup(entry).await;
        hostile.answer(Response::json(200, body));
        let outcome = entry.run(provider.as_ref(), op, &handle).await;
        let error = outcome
            .err()
            .unwrap_or_else(|| panic!("{id} {op:?}: Ok from {body}"));
        assert_eq!(
            error.kind(),
            ErrorKind::UnexpectedResponse,
            "{id} {op:?}: {error}"
        );
    }
}

/// Values a hostile provider echoes back, and the texts that must never be printed for them.
pub struct Planted {
    /// What is put into the bodies.
    pub values: Vec<String>,
    /// What must not appear in any output.
    pub forbidden: Vec<String>,
}

/// The planted values for `entry`: its secrets (raw, base64, url-encoded, and the Basic header
/// value of each pair), a code in several spellings, an email and phone numbers.
pub fn planted(entry: &Entry) -> Planted {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut values = Vec::new();
    let mut forbidden = Vec::new();
    let secrets = entry.secrets();
    for secret in &secrets {
        let encoded = b64.encode(secret);
        let url = secret.replace('-', "%2D");
        values.extend([secret.clone(), encoded.clone(), url.clone()]);
        forbidden.extend([secret.clone(), encoded, url]);
    }
    for a in &secrets {
        for b in &secrets {
            if a != b {
                let basic = b64.encode(format!("{a}:{b}"));
                values.push(format!("Basic {basic}"));
                forbidden.push(basic);
            }
        }
    }
    values.extend(
        [
            "OTP_INVALID:482913",
            "code 482913 is wrong",
            "482-913",
            "4 8 2 9 1 3",
            "jane.doe@example.com",
            "jane.doe%40example.com",
            "+14155550123",
            "14155550123",
            "+919876543210/482913",
        ]
        .map(str::to_owned),
    );
    forbidden.extend(
        [
            "482913",
            "482-913",
            "4 8 2 9 1 3",
            "jane.doe",
            "4155550123",
            "9876543210",
        ]
        .map(str::to_owned),
    );
    Planted { values, forbidden }
}

/// Error bodies with `value` in every string field the five providers read, in the shapes
/// their error tables use.
pub fn echo_bodies(value: &str) -> Vec<Value> {
    let v = value;
    vec![
        json!({
            "ok": false, "success": false, "status": "failure", "statusCode": 400,
            "error_code": v, "code": v, "message": v, "error_description": v,
            "error": {"code": v, "message": v, "fields": [v], "details": {v: [v]}},
            "errors": {v: [v]}, "reset_at": v, "request_id": v, "requestId": v,
            "metaData": {"requestId": v, "transactionId": v}, "id": v, "retry_after": v
        }),
        json!({"ok": false, "error_code": "QUOTA_EXCEEDED", "message": v, "quota": 10, "used": 10, "reset_at": v}),
        json!({"ok": false, "error_code": "RESEND_COOLDOWN", "message": v, "retry_after": 42}),
        json!({"ok": false, "error_code": v, "message": v, "errors": {v: [v]}}),
        json!({"status": "failure", "statusCode": 400, "error": {"message": v}, "metaData": {"requestId": v}}),
        json!({"status": "failure", "message": v, "metaData": {"requestId": v}}),
        json!({"success": false, "error": {"code": v, "message": v, "fields": [v, v]}}),
        json!({"success": false, "error": {"code": "INSUFFICIENT_BALANCE", "message": v}}),
        json!({"success": false, "verified": false, "error": {"code": "INVALID_CODE", "message": v, "attempts_remaining": 2}}),
        json!({"message": v, "errors": {v: [v]}}),
        json!({"status": "failed", "message": v, "id": v}),
        json!({"status": v, "message": v}),
        json!({"error": v, "error_description": v}),
        json!({"error": "invalid_request", "error_description": v}),
        json!({"error": "insufficient_sms_quota", "error_description": v}),
        json!({"error": "sms_rate_limit_exceeded", "error_description": v}),
    ]
}

/// Statuses the echo bodies are sent with.
const ECHO_STATUSES: [u16; 11] = [200, 400, 401, 402, 403, 404, 409, 422, 429, 500, 503];

fn check_printed(forbidden: &[String], what: &str, text: &str) {
    for value in forbidden {
        assert!(
            !text.contains(value.as_str()),
            "{what} printed {value:?}: {text}"
        );
    }
}

fn check_error(forbidden: &[String], context: &str, error: &Error) {
    check_printed(forbidden, &format!("{context} Display"), &error.to_string());
    check_printed(
        forbidden,
        &format!("{context} Debug"),
        &format!("{error:?}"),
    );
    let json = serde_json::to_string(error).expect("errors serialize");
    check_printed(forbidden, &format!("{context} JSON"), &json);
    let accessors = format!(
        "{:?} {:?} {:?} {:?}",
        error.provider_code(),
        error.request_id(),
        error.fields(),
        error.quota()
    );
    check_printed(forbidden, &format!("{context} accessors"), &accessors);
}

#[test]
fn echoed_secrets_codes_and_recipients_never_leave() {
    in_own_process(
        "hostile::echoed_secrets_codes_and_recipients_never_leave",
        echo_scan,
    );
}

fn echo_scan() {
    let mut all_forbidden = Vec::new();
    let log = capture_trace(async {
        for entry in compiled() {
            let (hostile, provider, handle) = setup(entry).await;
            let planted = planted(entry);
            all_forbidden.extend(planted.forbidden.iter().cloned());
            let mut turn = 0;
            for value in &planted.values {
                for body in echo_bodies(value) {
                    // One status per body and value, rotating through the list (the fuzzer
                    // tries every status).
                    turn += 1;
                    let status = ECHO_STATUSES[turn % ECHO_STATUSES.len()];
                    let answer = Response::json(status, body.to_string())
                        .header("retry-after", "7")
                        .header("x-request-id", value);
                    hostile.answer(answer);
                    for op in Op::ALL {
                        let context = format!("{} {op:?} HTTP {status} {body}", entry.id);
                        if let Err(error) = entry.run(provider.as_ref(), op, &handle).await {
                            check_error(&planted.forbidden, &context, &error);
                        }
                    }
                }
            }
        }
    });
    check_printed(&all_forbidden, "the TRACE log", &log);
}
