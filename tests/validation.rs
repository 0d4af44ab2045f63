//! Local validation, for every provider: bad codes, bad recipients, garbled handles and
//! header-injection attempts in config values are typed errors, and no request is made (a
//! server counts connections).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use otpkit::{ErrorKind, OtpCode, ProviderConfig, Recipient, SendRequest, Verification};
use serde_json::Value;

use crate::local_server::{Action, LocalServer, Response};
use crate::table::{compiled, CODE};

/// A server that answers anything with 500, to count what reaches it.
async fn counting_server() -> LocalServer {
    LocalServer::scripted(vec![Action::Respond(Response::new(500, None, ""))]).await
}

const BAD_CODES: &[&str] = &[
    "12a456",
    "abcdef",
    "12 34 56",
    " 123456",
    "123456 ",
    "",
    "123",
    "12345678901",
    "1234567890123456789012345678901234567890",
    "１２３４５６",
    "12345\n",
    "-12345",
    "+12345",
    "0x1234",
];

#[tokio::test]
async fn bad_codes_are_refused_before_any_request() {
    for entry in compiled() {
        let handle = entry.handle().await;
        let server = counting_server().await;
        let provider = entry.provider(&server.url());
        for code in BAD_CODES {
            let error = provider.verify(&handle, code).await.expect_err(code);
            assert_eq!(
                error.kind(),
                ErrorKind::InvalidCode,
                "{} {code:?}",
                entry.id
            );
            assert!(!error.to_string().contains(code.trim()) || code.trim().is_empty());
        }
        assert_eq!(
            server.connections(),
            0,
            "{}: a bad code reached the server",
            entry.id
        );
        assert!(OtpCode::parse(CODE).is_ok());
    }
}

const BAD_RECIPIENTS: &[&str] = &[
    "",
    "   ",
    "jane",
    "jane@",
    "@example.com",
    "jane@example",
    "jane@@example.com",
    "jane doe@example.com",
    "jane@exa mple.com",
    "<jane@example.com>",
    "jane@example.com\r\nBcc: x@example.com",
    "jane@-example.com",
    "0044207946000",
    "4155550123",
    "+0123456789",
    "+1234567",
    "+1234567890123456",
    "+1415555O123",
    "+44 20 7946 ABCD",
    "+",
    "++14155550123",
];

#[test]
fn bad_recipients_are_typed_errors() {
    for input in BAD_RECIPIENTS {
        let error = Recipient::parse(input).expect_err(input);
        assert_eq!(error.kind(), ErrorKind::InvalidRecipient, "{input:?}");
    }
}

#[tokio::test]
async fn recipients_a_provider_cannot_take_are_refused_locally() {
    for entry in compiled() {
        let Some(wrong) = entry.wrong_recipient else {
            continue;
        };
        let server = counting_server().await;
        let provider = entry.provider(&server.url());
        let request = SendRequest::new(wrong.parse().expect("table recipient"));
        let error = provider.send(&request).await.expect_err(wrong);
        // Contract §3, "same question, same kind": a recipient of a kind or country the
        // provider cannot reach is `unsupported` on every provider.
        assert_eq!(
            error.kind(),
            ErrorKind::Unsupported,
            "{} {wrong}: {error}",
            entry.id
        );
        assert_eq!(
            server.connections(),
            0,
            "{}: send {wrong} reached the server",
            entry.id
        );
        if !entry.verify_sends_recipient {
            // Verify needs only the provider's id, so the recipient never reaches the wire.
            continue;
        }
        // A handle made by hand carries no MAC, so the core refuses it (`invalid_request`)
        // before its recipient is even looked at; either way nothing reaches the server.
        let handle = Verification::new(entry.id, wrong.parse().unwrap()).with_reference("ref-1");
        let error = provider.verify(&handle, CODE).await.expect_err(wrong);
        assert!(
            matches!(
                error.kind(),
                ErrorKind::Unsupported | ErrorKind::InvalidRecipient | ErrorKind::InvalidRequest
            ),
            "{} verify {wrong}: {error}",
            entry.id
        );
        assert_eq!(
            server.connections(),
            0,
            "{}: {wrong} reached the server",
            entry.id
        );
    }
}

#[tokio::test]
async fn garbled_and_foreign_handles_make_no_request() {
    for entry in compiled() {
        let server = counting_server().await;
        let provider = entry.provider(&server.url());
        for token in ["", "v1.", "v1.!!!", "v2.e30", "v1.e30", "not a token"] {
            let error = Verification::from_token(token).expect_err(token);
            assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{token:?}");
        }
        let foreign = compiled()
            .map(|other| other.id)
            .find(|id| *id != entry.id)
            .unwrap_or("someone_else");
        let handle = Verification::new(foreign, entry.recipient.parse().unwrap());
        let error = provider.verify(&handle, CODE).await.expect_err(foreign);
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidRequest,
            "{}: {error}",
            entry.id
        );
        assert_eq!(server.connections(), 0, "{}", entry.id);
    }
}

const INJECTIONS: &[&str] = &[
    "abc\r\nX-Evil: 1",
    "abc\nX-Evil: 1",
    "abc\rX-Evil: 1",
    "abc\0def",
    "\r\n",
];

/// A server that answers 500 and remembers whether any request carried an `x-evil` header.
async fn injection_witness() -> (LocalServer, Arc<AtomicBool>) {
    let seen = Arc::new(AtomicBool::new(false));
    let flag = seen.clone();
    let server = LocalServer::start(move |request, _| {
        if request.header("x-evil").is_some() {
            flag.store(true, Ordering::SeqCst);
        }
        Action::Respond(Response::new(500, None, ""))
    })
    .await;
    (server, seen)
}

#[tokio::test]
async fn line_breaks_in_config_values_never_reach_a_header() {
    for entry in compiled() {
        let (server, injected_header_seen) = injection_witness().await;
        let base = entry.config_json(&server.url());
        let keys: Vec<String> = base
            .iter()
            .filter(|(key, value)| value.is_string() && *key != "base_url" && *key != "provider")
            .map(|(key, _)| key.clone())
            .collect();
        for key in &keys {
            for injected in INJECTIONS {
                let mut map = base.clone();
                map.insert(key.clone(), Value::String((*injected).to_owned()));
                let context = format!("{} `{key}` = {injected:?}", entry.id);
                let built = ProviderConfig::from_json_str(&Value::Object(map).to_string())
                    .and_then(|config| config.build());
                match built {
                    Err(error) => {
                        assert_eq!(error.kind(), ErrorKind::Config, "{context}: {error}");
                        assert!(error.message().contains(key.as_str()), "{context}: {error}");
                    }
                    Ok(provider) => {
                        // Only values that never travel in a header may pass the build; the
                        // witness then checks what went on the wire.
                        assert!(
                            !entry.header_keys.contains(&key.as_str()),
                            "{context}: accepted"
                        );
                        let _ = provider.send(&entry.send_request()).await;
                    }
                }
            }
        }
        assert!(
            !injected_header_seen.load(Ordering::SeqCst),
            "{}: an injected header reached the server",
            entry.id
        );
        if keys
            .iter()
            .all(|key| entry.header_keys.contains(&key.as_str()))
        {
            // Every value is a header value: nothing may have been sent at all.
            assert_eq!(server.connections(), 0, "{}", entry.id);
        }
    }
}
