//! Recording: every exchange of a provider built with [`HttpOptions::record_to`] is written as
//! a fixture file (the format of `otpkit::testing`, replayable as it is), scrubbed before
//! anything touches disk.
//!
//! What the scrubbing does, in the request, the answer, the input and the expected outcome
//! alike, and in every encoding a value travels in (raw, url-encoded, JSON-escaped, and inside
//! base64 words such as a `Basic` header):
//!
//! - every configured credential ([`ProviderSettings::secrets`]) becomes the `{{key}}`
//!   placeholder replay fills in (inside base64 it becomes the filled value, `fixture-key`, so
//!   the encoded header still matches on replay);
//! - each recipient becomes a stable fake one: emails `user-…@example.com`, phones keep their
//!   first three digits (the country code, so prefix rules still hold) and get fake others;
//! - codes become other codes of the same length, and the provider's references, request ids,
//!   issued tokens and any answer field named like a token or request id become fakes of the
//!   same shape (digits stay digits, hex stays hex).
//!
//! The same real value always maps to the same fake within one configuration (the fakes are a
//! keyed hash whose key comes from the credentials, so several processes recording one account
//! agree, and someone holding only the files cannot recompute them).
//!
//! Recording is not behind a cargo feature: when off, it costs one `Option` test per call and
//! nothing else (no copy of the request or answer is kept), and the command line's `--record`
//! needs it in every build. The recorder never fails a call: a directory it cannot write is a
//! `tracing::warn!` and the call goes on.
//!
//! Files are named `NNNN-<provider>-<operation>.json` in the order written. A `verify`,
//! `resend` or `status` whose handle came from a recorded `send` (or `resend`) in the same
//! folder names that file in `input.handle_from`, so the folder replays as one scenario
//! (`otpkit::testing::replay_scenario`). Recorded handles leave out their MAC (replay stamps
//! them with the fixture's credentials) and expiry. An operation otpkit refused without a
//! request is recorded too, with `"request": null` (a refused handle gets a MAC no key makes; a
//! resend before its time gets a resend time in 2100), so every file also replays on its own.
//!
//! [`HttpOptions::record_to`]: crate::HttpOptions::record_to
//! [`ProviderSettings::secrets`]: crate::ProviderSettings::secrets

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::handle::Verification;
use crate::http::{HttpRequest, HttpResponse};
use crate::receipt::{SendReceipt, StatusReport, Verified};
use crate::recipient::Recipient;
use crate::request::{Channel, Purpose, SendRequest};
use crate::secret::Secret;

/// The exchange one operation made (its last attempt), kept only while recording.
#[derive(Default)]
pub(crate) struct Capture(Mutex<Option<(HttpRequest, HttpResponse)>>);

impl Capture {
    /// Keeps `response` (and the request that got it), replacing an earlier attempt's.
    pub(crate) fn keep(&self, request: &HttpRequest, response: &HttpResponse) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some((request.clone(), response.clone()));
    }

    fn take(self) -> Option<(HttpRequest, HttpResponse)> {
        self.0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What an operation was asked to do.
pub(crate) enum Input<'a> {
    /// `send` (or a provider's own typed send, recorded as `send_code`).
    Send(&'a SendRequest, &'static str),
    /// `verify` with the typed code.
    Verify(&'a Verification, &'a str),
    /// `resend`.
    Resend(&'a Verification),
    /// `status`.
    Status(&'a Verification),
}

impl Outcome<'_> {
    /// Whether otpkit refused before any request (a check of the request, the handle, the
    /// capabilities or the resend time), rather than a request that got no answer.
    fn decided_locally(&self) -> bool {
        let error = match self {
            Outcome::Receipt(Err(e)) | Outcome::Verified(Err(e)) | Outcome::Status(Err(e)) => e,
            _ => return false,
        };
        error.request_sent().is_none()
            && error.status().is_none()
            && !matches!(
                error.kind(),
                crate::ErrorKind::Timeout | crate::ErrorKind::Transport
            )
    }
}

/// What an operation produced.
pub(crate) enum Outcome<'a> {
    /// A receipt (send, resend) or its error.
    Receipt(&'a Result<SendReceipt, crate::Error>),
    /// A verification or its error.
    Verified(&'a Result<Verified, crate::Error>),
    /// A status report or its error.
    Status(&'a Result<StatusReport, crate::Error>),
}

/// One provider client's recorder: where to write, the config as a fixture holds it, and the
/// credentials to replace.
pub(crate) struct Recording {
    dir: PathBuf,
    provider: &'static str,
    /// The config with credentials as `{{key}}` and the base URL's origin as `{{base_url}}`.
    template: Value,
    /// (credential, placeholder form, filled form), longest first.
    secrets: Vec<(String, String, String)>,
    /// Keys the fakes.
    key: ring::hmac::Key,
    /// Serializes numbering within this process.
    write: Mutex<()>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("dir", &self.dir)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// The MAC a recorded refusal of a forged handle carries: no key makes it.
const UNVERIFIABLE_MAC: &str = "recorded-refusal-of-a-handle-that-did-not-verify";

/// The resend time a recorded cooldown pins its handle to: 2100-01-01, always ahead.
const PINNED_RESEND_AT: u64 = 4_102_444_800;

/// Credentials shorter than this are not searched for (they would match ordinary text).
const MIN_SECRET_LEN: usize = 4;

impl Recording {
    /// A recorder writing to `dir` for `provider`. `source` is the config as it was read (JSON
    /// text), `secrets` the provider's configured credentials.
    pub(crate) fn new(
        dir: &Path,
        provider: &'static str,
        source: Option<&Secret>,
        secrets: &[Secret],
    ) -> Self {
        let mut values: Vec<&str> = secrets
            .iter()
            .map(Secret::expose)
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        let mut names = BTreeMap::new();
        let mut template = match source.and_then(|s| serde_json::from_str(s.expose()).ok()) {
            Some(Value::Object(map)) => Value::Object(map),
            _ => json!({ "provider": provider }),
        };
        placeholders(&mut template, "", &values, &mut names);
        if let Some(Value::String(url)) = template.get_mut("base_url") {
            if let Ok(parsed) = url::Url::parse(url) {
                let path = parsed.path().trim_end_matches('/');
                *url = format!("{{{{base_url}}}}{path}");
            }
        }
        let named: Vec<(&str, &String)> = values
            .iter()
            .filter_map(|v| Some((*v, names.get(*v)?)))
            .collect();
        let mut unnamed = 0;
        let secrets = values
            .iter()
            .map(|value| {
                if let Some(name) = names.get(*value) {
                    return (
                        (*value).to_owned(),
                        format!("{{{{{name}}}}}"),
                        format!("fixture-{name}"),
                    );
                }
                // A value made of credentials (the `id:secret` of a Basic header) becomes the
                // same made of their placeholders.
                let (mut to, mut filled) = ((*value).to_owned(), (*value).to_owned());
                for (part, name) in &named {
                    to = to.replace(part, &format!("{{{{{name}}}}}"));
                    filled = filled.replace(part, &format!("fixture-{name}"));
                }
                if to == *value {
                    unnamed += 1;
                    to = format!("{{{{credential_{unnamed}}}}}");
                    filled = format!("fixture-credential_{unnamed}");
                }
                ((*value).to_owned(), to, filled)
            })
            .collect();
        // The fakes' key: a digest of the credentials (stable across processes recording one
        // account; unknown to whoever holds only the files), or random without credentials.
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        digest.update(b"otpkit-record-v1");
        for value in &values {
            digest.update(value.as_bytes());
            digest.update(&[0]);
        }
        if values.is_empty() {
            digest.update(&crate::random::random_u64().to_le_bytes());
            digest.update(&crate::random::random_u64().to_le_bytes());
        }
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, digest.finish().as_ref());
        Recording {
            dir: dir.to_path_buf(),
            provider,
            template,
            secrets,
            key,
            write: Mutex::new(()),
        }
    }

    /// Writes one operation as a fixture. One otpkit decided without a request (a forged
    /// handle, a resend before its time) is written with `"request": null`; one whose request
    /// got no answer (a timeout, a reset) is not written. A write that fails is logged, never
    /// returned.
    pub(crate) fn record(&self, input: Input<'_>, capture: Capture, outcome: Outcome<'_>) {
        let exchange = capture.take();
        if exchange.is_none() && !outcome.decided_locally() {
            tracing::debug!(
                provider = self.provider,
                "not recorded: a request may have left but no answer came back"
            );
            return;
        }
        let exchange = exchange
            .as_ref()
            .map(|(request, response)| (request, response));
        let fixture = self.fixture(&input, exchange, &outcome);
        if let Err(e) = self.write(&fixture) {
            tracing::warn!(
                provider = self.provider,
                dir = %self.dir.display(),
                error = %e,
                "the exchange could not be recorded; the call goes on"
            );
        }
    }

    /// The fixture of one operation; `exchange` is `None` when otpkit decided without a
    /// request (replay then checks that none is made).
    fn fixture(
        &self,
        input: &Input<'_>,
        exchange: Option<(&HttpRequest, &HttpResponse)>,
        outcome: &Outcome<'_>,
    ) -> Value {
        let mut scrub = Scrubber::new(self);
        let (operation, input_value) = match input {
            Input::Send(req, operation) => {
                scrub.recipient(&req.recipient);
                if let Some(code) = &req.custom_code {
                    scrub.code(code.expose());
                }
                if let Some(reference) = &req.reference {
                    scrub.identifier(reference);
                }
                if let Some(ip) = req.end_user_ip {
                    scrub.add(&ip.to_string(), fake_ip(ip).to_owned(), false);
                }
                (*operation, send_input(req))
            }
            Input::Verify(handle, code) => {
                scrub.handle(handle);
                scrub.code(code);
                let mut input = handle_input(handle);
                input.insert("code".into(), json!(code));
                ("verify", input)
            }
            Input::Resend(handle) => {
                scrub.handle(handle);
                ("resend", handle_input(handle))
            }
            Input::Status(handle) => {
                scrub.handle(handle);
                ("status", handle_input(handle))
            }
        };
        let expect = match outcome {
            Outcome::Receipt(Ok(receipt)) => {
                scrub.handle(&receipt.verification);
                if let Some(id) = &receipt.request_id {
                    scrub.identifier(id);
                }
                render_receipt(receipt)
            }
            Outcome::Verified(Ok(verified)) => {
                if let Some(id) = &verified.request_id {
                    scrub.identifier(id);
                }
                if let Some(tokens) = &verified.tokens {
                    scrub.identifier(tokens.access_token.expose());
                    for token in [&tokens.refresh_token, &tokens.id_token]
                        .into_iter()
                        .flatten()
                    {
                        scrub.identifier(token.expose());
                    }
                }
                render_verified(verified)
            }
            Outcome::Status(Ok(report)) => render_status(report),
            // An error's request id is already masked (digit runs hidden); the answer's id
            // field is faked (see `find_ids_in_body`), and the masked fake is not compared.
            Outcome::Receipt(Err(e)) | Outcome::Verified(Err(e)) | Outcome::Status(Err(e)) => {
                render_error(e)
            }
        };
        let bodies = exchange.map(|(request, response)| {
            let request_body = request
                .body
                .as_ref()
                .map(|body| scrub.find_ids_in_body(body));
            (request_body, scrub.find_ids_in_body(&response.body))
        });
        scrub.finish();
        let mut input_value = scrub.value(&Value::Object(input_value));
        if let Some(stem) = self.issuer_of(&input_value) {
            if let Value::Object(map) = &mut input_value {
                map.insert("handle_from".into(), json!(stem));
            }
        }
        let (recorded_request, recorded_response, answered) = match (exchange, bodies) {
            (Some((request, response)), Some((request_body, response_body))) => (
                scrub.request(request, request_body),
                scrub.response(response, response_body),
                format!("HTTP {}", response.status),
            ),
            _ => (
                Value::Null,
                Value::Null,
                "decided by otpkit, no request".to_owned(),
            ),
        };
        let mut expect = expected(scrub.value(&expect));
        if exchange.is_none() && expect["error"]["kind"] == json!("invalid_request") {
            // A handle refused as forged or foreign: replay stamps a handle without a MAC, so
            // the file carries one that cannot verify, and replay refuses it the same way.
            if let Some(Value::Object(handle)) = input_value.get_mut("handle") {
                handle.insert("mac".into(), json!(UNVERIFIABLE_MAC));
            }
        }
        if exchange.is_none() && expect["error"]["kind"] == json!("cooldown") {
            // A resend refused by the handle's resend time: the time passes, so the file pins
            // it far ahead, and the wait left is not compared.
            if let Some(Value::Object(handle)) = input_value.get_mut("handle") {
                handle.insert("resend_at".into(), json!(PINNED_RESEND_AT));
            }
            if let Some(Value::Object(error)) = expect.get_mut("error") {
                error.remove("retry_after_secs");
            }
        }
        json!({
            "description": format!(
                "Recorded by otpkit {}: {operation}, {answered}",
                env!("CARGO_PKG_VERSION")
            ),
            "config": self.template,
            "operation": operation,
            "input": input_value,
            "request": recorded_request,
            "response": recorded_response,
            "expect": expect,
        })
    }

    /// The recorded `send` or `resend` in this folder that issued the (scrubbed) handle of
    /// `input`, newest first.
    fn issuer_of(&self, input: &Value) -> Option<String> {
        let handle = input.get("handle")?;
        let wanted = (
            handle.get("recipient")?.clone(),
            handle.get("reference").cloned().unwrap_or(Value::Null),
            handle.get("purpose").cloned().unwrap_or(Value::Null),
        );
        let mut files = numbered_files(&self.dir);
        files.sort();
        files.reverse();
        files.into_iter().find_map(|(_, path)| {
            let text = std::fs::read_to_string(&path).ok()?;
            let fixture: Value = serde_json::from_str(&text).ok()?;
            let expect = fixture.get("expect")?;
            if fixture.get("config")?.get("provider")? != self.provider
                || expect.get("ok")? != &Value::Bool(true)
            {
                return None;
            }
            let input = fixture.get("input")?;
            let recipient = match fixture.get("operation")?.as_str()? {
                "send" => input.get("recipient")?.clone(),
                "resend" => input.get("handle")?.get("recipient")?.clone(),
                _ => return None,
            };
            let found = (
                recipient,
                expect.get("reference").cloned().unwrap_or(Value::Null),
                expect.get("purpose").cloned().unwrap_or(Value::Null),
            );
            (found == wanted).then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
    }

    /// Writes the fixture as the next numbered file, never overwriting one.
    fn write(&self, fixture: &Value) -> std::io::Result<()> {
        let _guard = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::fs::create_dir_all(&self.dir)?;
        let text = serde_json::to_string_pretty(fixture).map_err(std::io::Error::other)? + "\n";
        let operation = fixture
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("call");
        let mut number = numbered_files(&self.dir)
            .iter()
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        // Another process may take a number first: try the next ones.
        for _ in 0..100 {
            number += 1;
            let path = self
                .dir
                .join(format!("{number:04}-{}-{operation}.json", self.provider));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => return file.write_all(text.as_bytes()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free file number"))
    }

    fn mac(&self, tag: &str, value: &str) -> Vec<u8> {
        let mut context = ring::hmac::Context::with_key(&self.key);
        context.update(tag.as_bytes());
        context.update(&[0]);
        context.update(value.as_bytes());
        context.sign().as_ref().to_vec()
    }
}

/// Replaces every string of `value` equal to a credential with `{{key}}` (its key's name),
/// remembering the names.
fn placeholders(
    value: &mut Value,
    key: &str,
    secrets: &[&str],
    names: &mut BTreeMap<String, String>,
) {
    match value {
        Value::String(text) if secrets.contains(&text.as_str()) => {
            names.entry(text.clone()).or_insert_with(|| key.to_owned());
            *text = format!("{{{{{}}}}}", names[text.as_str()]);
        }
        Value::Number(n) if secrets.contains(&n.to_string().as_str()) => {
            let text = n.to_string();
            names.entry(text.clone()).or_insert_with(|| key.to_owned());
            *value = Value::String(format!("{{{{{}}}}}", names[&text]));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| placeholders(v, key, secrets, names)),
        Value::Object(map) => map
            .iter_mut()
            .for_each(|(k, v)| placeholders(v, k, secrets, names)),
        _ => {}
    }
}

/// The numbered files (`NNNN-…json`) of a folder.
fn numbered_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let (number, rest) = name.split_once('-')?;
            let number = number.parse().ok()?;
            rest.ends_with(".json").then_some((number, path))
        })
        .collect()
}

fn send_input(request: &SendRequest) -> Map<String, Value> {
    let mut input = Map::new();
    input.insert("recipient".into(), json!(request.recipient.as_str()));
    if let Some(purpose) = &request.purpose {
        input.insert("purpose".into(), json!(purpose.as_str()));
    }
    if let Some(channel) = request.channel {
        input.insert("channel".into(), json!(channel.as_str()));
    }
    if let Some(length) = request.code_length {
        input.insert("code_length".into(), json!(length));
    }
    if let Some(ttl) = request.code_ttl {
        input.insert("code_ttl_secs".into(), json!(ttl.as_secs()));
    }
    if let Some(ip) = request.end_user_ip {
        input.insert("end_user_ip".into(), json!(fake_ip(ip)));
    }
    if let Some(reference) = &request.reference {
        input.insert("reference".into(), json!(reference));
    }
    if let Some(code) = &request.custom_code {
        input.insert("custom_code".into(), json!(code.expose()));
    }
    input
}

/// An end user's address identifies a person as much as a phone number: a documentation
/// address (RFC 5737 / 3849) of the same family stands in.
fn fake_ip(ip: std::net::IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "192.0.2.1"
    } else {
        "2001:db8::1"
    }
}

/// The handle as a fixture's input: its serde form without the expiry (a moment of the
/// recording, long past when the file is replayed) and without its MAC (keyed by the real
/// credentials; replay stamps the handle with the fixture's).
fn handle_input(handle: &Verification) -> Map<String, Value> {
    let mut value = serde_json::to_value(handle).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("expires_at");
        map.remove("mac");
    }
    let mut input = Map::new();
    input.insert("handle".into(), value);
    input
}

/// What replay compares against: the rendered outcome without what cannot repeat (the handle's
/// token, ids otpkit generated at random) or what depends on the scrubbed text (an error's
/// message and masked request id).
fn expected(mut outcome: Value) -> Value {
    if let Value::Object(map) = &mut outcome {
        map.remove("handle");
        if let Some(Value::Object(extra)) = map.get_mut("extra") {
            extra.retain(|_, v| !v.as_str().is_some_and(is_generated_id));
        }
        if let Some(Value::Object(error)) = map.get_mut("error") {
            error.remove("message");
            error.remove("request_id");
        }
    }
    outcome
}

/// An id otpkit generated ([`crate::random::unique_id`]): replay generates another.
fn is_generated_id(value: &str) -> bool {
    value
        .strip_prefix("otpkit-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One replacement: the real value, what replaces it in text, and what replaces it inside
/// encodings replay cannot reproduce (base64): the placeholder already filled.
struct Replacement {
    from: String,
    to: String,
    filled: String,
    ignore_case: bool,
}

/// The replacements for one recorded operation.
struct Scrubber<'a> {
    recording: &'a Recording,
    found: Vec<Replacement>,
}

/// Answer or request fields whose values are ids that may identify a person, by the field name
/// with `_` and `-` removed, lower case, as a suffix.
const ID_FIELD_SUFFIXES: [&str; 6] = [
    "token",
    "requestid",
    "reqid",
    "transactionid",
    "sessionid",
    "verificationid",
];

impl<'a> Scrubber<'a> {
    fn new(recording: &'a Recording) -> Self {
        let found = recording
            .secrets
            .iter()
            .map(|(value, to, filled)| Replacement {
                from: value.clone(),
                to: to.clone(),
                filled: filled.clone(),
                ignore_case: false,
            })
            .collect();
        Scrubber { recording, found }
    }

    fn add(&mut self, from: &str, to: String, ignore_case: bool) {
        if from.is_empty() || self.found.iter().any(|r| r.from == from) {
            return;
        }
        self.found.push(Replacement {
            from: from.to_owned(),
            filled: to.clone(),
            to,
            ignore_case,
        });
    }

    fn recipient(&mut self, recipient: &Recipient) {
        match recipient {
            Recipient::Email(email) => {
                let mac = self.recording.mac("email", &email.as_str().to_lowercase());
                let fake = format!("user-{}@example.com", hex(&mac[..5]));
                self.add(email.as_str(), fake, true);
            }
            Recipient::Phone(phone) => {
                let digits = phone.digits();
                let keep = 3.min(digits.len().saturating_sub(4));
                let (_, rest) = digits.split_at(keep);
                let mac = self.recording.mac("phone", digits);
                let mut fake = fake_digits(&mac, rest.len());
                if fake == rest {
                    fake = bump(&fake);
                }
                // The national part alone covers `+CC…`, `CC…` and the national form.
                self.add(rest, fake, false);
            }
        }
    }

    fn code(&mut self, code: &str) {
        let mac = self.recording.mac("code", code);
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            // A typed code otpkit refuses (letters, spaces) stays one it refuses.
            let fake = same_shape(code, &mac);
            self.add(code, fake, false);
            return;
        }
        let mut fake = fake_digits(&mac, code.len());
        if fake == code {
            fake = bump(&fake);
        }
        self.add(code, fake, false);
    }

    fn identifier(&mut self, value: &str) {
        if value.len() < 4 || is_generated_id(value) {
            return;
        }
        let mac = self.recording.mac("id", value);
        let fake = same_shape(value, &mac);
        self.add(value, fake, false);
    }

    fn handle(&mut self, handle: &Verification) {
        self.recipient(handle.recipient());
        if let Some(reference) = handle.reference() {
            self.identifier(reference);
        }
        if let Ok(Value::Object(map)) = serde_json::to_value(handle) {
            if let Some(Value::Object(extra)) = map.get("extra") {
                for value in extra.values().filter_map(Value::as_str) {
                    if value.chars().any(|c| c.is_ascii_digit()) {
                        self.identifier(value);
                    }
                }
            }
        }
    }

    /// Finds id-like fields in a JSON body (see [`ID_FIELD_SUFFIXES`]); returns the body as
    /// JSON when it is JSON.
    fn find_ids_in_body(&mut self, body: &[u8]) -> Option<Value> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let mut ids = Vec::new();
        collect_ids(&value, &mut ids);
        for id in ids {
            self.identifier(&id);
        }
        Some(value)
    }

    /// Adds the url-encoded forms, and orders longest first so that a value inside another is
    /// replaced after it.
    fn finish(&mut self) {
        let mut encoded = Vec::new();
        for r in &self.found {
            let from = url_encoded(&r.from);
            if from != r.from {
                encoded.push(Replacement {
                    from,
                    to: url_encoded(&r.to),
                    filled: url_encoded(&r.filled),
                    ignore_case: r.ignore_case,
                });
            }
            let path_form = path_encoded(&r.from);
            if path_form != r.from && path_form != url_encoded(&r.from) {
                encoded.push(Replacement {
                    from: path_form,
                    to: path_encoded(&r.to),
                    filled: path_encoded(&r.filled),
                    ignore_case: r.ignore_case,
                });
            }
        }
        self.found.extend(encoded);
        self.found.sort_by_key(|r| std::cmp::Reverse(r.from.len()));
    }

    fn text(&self, text: &str) -> String {
        let mut out = self.replace(text, false);
        if out.len() >= 8 {
            out = out
                .split(' ')
                .map(|word| self.inside_base64(word).unwrap_or_else(|| word.to_owned()))
                .collect::<Vec<_>>()
                .join(" ");
        }
        out
    }

    fn replace(&self, text: &str, filled: bool) -> String {
        let mut out = text.to_owned();
        for r in &self.found {
            let to = if filled { &r.filled } else { &r.to };
            out = replace_all(&out, &r.from, to, r.ignore_case);
        }
        out
    }

    /// A base64 word whose text holds a value to hide, re-encoded with the value replaced.
    fn inside_base64(&self, word: &str) -> Option<String> {
        if word.len() < 8 {
            return None;
        }
        for engine in [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let Ok(bytes) = engine.decode(word) else {
                continue;
            };
            let Ok(decoded) = String::from_utf8(bytes) else {
                continue;
            };
            let replaced = self.replace(&decoded, true);
            if replaced != decoded {
                return Some(engine.encode(replaced));
            }
        }
        None
    }

    fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.value(v)))
                    .collect(),
            ),
            // A code or a phone number sent as a JSON number: its fake has the same number of
            // digits, so it is a number too.
            Value::Number(n) => {
                let text = n.to_string();
                let replaced = self.replace(&text, false);
                match replaced.parse::<serde_json::Number>() {
                    Ok(fake) if replaced != text => Value::Number(fake),
                    _ => value.clone(),
                }
            }
            other => other.clone(),
        }
    }

    fn request(&self, request: &HttpRequest, body: Option<Option<Value>>) -> Value {
        let mut headers = Map::new();
        for (name, value) in &request.headers {
            let Ok(value) = value.to_str() else { continue };
            // An id otpkit generated for this request cannot repeat on replay.
            if is_generated_id(value) {
                continue;
            }
            headers.insert(name.as_str().to_owned(), json!(self.text(value)));
        }
        let query: Map<String, Value> = request
            .url
            .query_pairs()
            .map(|(k, v)| (self.text(&k), json!(self.text(&v))))
            .collect();
        let body = match (body, &request.body) {
            (Some(Some(json)), _) => self.value(&json),
            (_, Some(raw)) => json!(self.text(&String::from_utf8_lossy(raw))),
            _ => Value::Null,
        };
        let mut recorded = json!({
            "method": request.method.as_str(),
            "path": self.text(request.url.path()),
            "headers": headers,
        });
        if !query.is_empty() {
            recorded["query"] = Value::Object(query);
        }
        if !body.is_null() {
            recorded["body"] = body;
        }
        recorded
    }

    fn response(&self, response: &HttpResponse, json: Option<Value>) -> Value {
        // Only the headers otpkit reads; others (cookies, trace ids) are left out.
        let mut headers = Map::new();
        for name in ["content-type", "retry-after"] {
            if let Some(value) = response.header(name) {
                headers.insert(name.to_owned(), json!(self.text(value)));
            }
        }
        let mut recorded = json!({"status": response.status, "headers": headers});
        match json {
            Some(json) => recorded["json"] = self.value(&json),
            None if !response.body.is_empty() => {
                recorded["body"] = json!(self.text(&String::from_utf8_lossy(&response.body)));
            }
            None => {}
        }
        recorded
    }
}

fn collect_ids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let name: String = key
                    .chars()
                    .filter(|c| *c != '_' && *c != '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                match value {
                    Value::String(s) if ID_FIELD_SUFFIXES.iter().any(|x| name.ends_with(x)) => {
                        out.push(s.clone());
                    }
                    other => collect_ids(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

fn replace_all(text: &str, from: &str, to: &str, ignore_case: bool) -> String {
    if !ignore_case {
        return text.replace(from, to);
    }
    let lower = text.to_ascii_lowercase();
    let wanted = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, _) in lower.match_indices(&wanted) {
        out.push_str(&text[last..start]);
        out.push_str(to);
        last = start + wanted.len();
    }
    out.push_str(&text[last..]);
    out
}

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn path_encoded(value: &str) -> String {
    url::Url::parse("http://x/")
        .ok()
        .and_then(|mut url| {
            url.path_segments_mut().ok()?.push(value);
            Some(url.path()[1..].to_owned())
        })
        .unwrap_or_else(|| value.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` digits drawn from `mac` (repeated as needed), the first not `0` (so that a number
/// stays a number).
fn fake_digits(mac: &[u8], len: usize) -> String {
    (0..len)
        .map(|i| {
            let r = mac[i % mac.len()].wrapping_add(i as u8 / 32);
            if i == 0 {
                char::from(b'1' + r % 9)
            } else {
                char::from(b'0' + r % 10)
            }
        })
        .collect()
}

/// A different string of digits of the same length.
fn bump(digits: &str) -> String {
    digits
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// A fake with the shape of `value`: digits stay digits, hex letters stay hex letters of the
/// same case, other letters stay letters of the same case, everything else is kept.
fn same_shape(value: &str, mac: &[u8]) -> String {
    let fake: String = value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let r = mac[i % mac.len()].wrapping_add((i / mac.len()) as u8 * 7);
            match c {
                '0'..='9' => char::from(b'0' + r % 10),
                'a'..='f' => char::from(b'a' + r % 6),
                'A'..='F' => char::from(b'A' + r % 6),
                'g'..='z' => char::from(b'g' + r % 20),
                'G'..='Z' => char::from(b'G' + r % 20),
                other => other,
            }
        })
        .collect();
    if fake == value {
        // Only punctuation, or an unlucky draw: mark it.
        format!("x{}", fake.chars().skip(1).collect::<String>())
    } else {
        fake
    }
}

/// Renders a receipt the way fixtures expect it (see `otpkit::testing::Fixture::run`).
pub(crate) fn render_receipt(receipt: &SendReceipt) -> Value {
    let handle = &receipt.verification;
    json!({
        "ok": true,
        "provider": handle.provider(),
        "handle": handle.to_token(),
        "expires_in_secs": receipt.expires_in.map(|d| d.as_secs()),
        "resend_after_secs": receipt.resend_after.map(|d| d.as_secs()),
        "channel": receipt.channel.map(Channel::as_str),
        "reference": handle.reference(),
        "purpose": handle.purpose().map(Purpose::as_str),
        "extra": serde_json::to_value(handle).ok().and_then(|v| v.get("extra").cloned()),
        "request_id": receipt.request_id,
    })
}

/// Renders a verification: tokens as `true` when issued, never their values.
pub(crate) fn render_verified(verified: &Verified) -> Value {
    json!({
        "ok": true,
        "verified": true,
        "request_id": verified.request_id,
        "tokens": verified.tokens.is_some(),
    })
}

/// Renders a status report.
pub(crate) fn render_status(report: &StatusReport) -> Value {
    json!({
        "ok": true,
        "status": report.state.as_str(),
        "channels": report.channels.iter().map(|c| json!({"channel": c.channel, "status": c.status})).collect::<Vec<_>>(),
    })
}

/// Renders an error: its serde form plus the fields fixtures compare.
pub(crate) fn render_error(error: &crate::Error) -> Value {
    let mut rendered = serde_json::to_value(error).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut rendered {
        map.insert("operation".into(), json!(error.operation()));
        map.insert("request_id".into(), json!(error.request_id()));
        map.insert("fields".into(), json!(error.fields()));
        map.insert("quota".into(), json!(error.quota()));
        map.insert(
            "attempts_remaining".into(),
            json!(error.attempts_remaining()),
        );
        map.insert("request_sent".into(), json!(error.request_sent()));
    }
    json!({"ok": false, "error": rendered})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording() -> Recording {
        let source = Secret::new(
            json!({"provider": "generic", "base_url": "https://api.example.com/v2/",
                   "app_id": "my-app-id", "api_key": "key-1234", "api_secret": "s3cr3t-value",
                   "auth": "basic"})
            .to_string(),
        );
        let secrets = [
            Secret::new("my-app-id"),
            Secret::new("key-1234"),
            Secret::new("s3cr3t-value"),
            Secret::new("key-1234:s3cr3t-value"),
        ];
        Recording::new(
            Path::new("/nonexistent"),
            "generic",
            Some(&source),
            &secrets,
        )
    }

    #[test]
    fn the_config_keeps_its_keys_with_credentials_as_placeholders() {
        let rec = recording();
        assert_eq!(
            rec.template,
            json!({"provider": "generic", "base_url": "{{base_url}}/v2",
                   "app_id": "{{app_id}}", "api_key": "{{api_key}}",
                   "api_secret": "{{api_secret}}", "auth": "basic"})
        );
    }

    #[test]
    fn credentials_recipients_and_codes_are_replaced_in_every_encoding() {
        let rec = recording();
        let mut scrub = Scrubber::new(&rec);
        scrub.recipient(&"Jane.Doe+x@Corp.example.org".parse().unwrap());
        scrub.recipient(&"+919876543210".parse().unwrap());
        scrub.code("482913");
        scrub.finish();
        let basic = STANDARD.encode("key-1234:s3cr3t-value");
        let text = format!(
            "Basic {basic} key-1234 s3cr3t-value jane.doe%2Bx%40corp.example.org \
             JANE.DOE+X@CORP.EXAMPLE.ORG 919876543210 9876543210 482913"
        );
        let out = scrub.text(&text);
        for leak in [
            basic.as_str(),
            "key-1234",
            "jane.doe",
            "JANE",
            "9876543210",
            "876543210",
            "482913",
        ] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        let filled = STANDARD.encode("fixture-api_key:fixture-api_secret");
        assert!(out.contains(&format!("Basic {filled}")), "{out}");
        assert!(out.contains("{{api_key}}"), "{out}");
        assert!(out.contains("@example.com"), "{out}");
        assert!(out.contains(" 919"), "the country code stays: {out}");
        // The same value maps to the same fake every time.
        assert_eq!(out, scrub.text(&text));
        // Numbers too: a code sent as a JSON number stays a number, with other digits.
        let body = scrub.value(&json!({"otp": 482913, "mobile": 919876543210u64, "n": 7}));
        assert!(
            body["otp"].is_u64() && body["otp"] != json!(482913),
            "{body}"
        );
        assert!(!body.to_string().contains("876543210"), "{body}");
        assert_eq!(body["n"], json!(7));
    }

    #[test]
    fn fakes_keep_the_shape_of_ids() {
        let mac = [7u8; 32];
        let fake = same_shape("otp_67890abcdef12345", &mac);
        assert_eq!(fake.len(), 20);
        assert_eq!(&fake[3..4], "_");
        assert_ne!(fake, "otp_67890abcdef12345");
        assert!(fake[4..9].bytes().all(|b| b.is_ascii_digit()), "{fake}");
        assert!(is_generated_id(&crate::random::unique_id("otpkit")));
        assert_eq!(same_shape("é-é-", &mac), "x-é-");
    }

    #[test]
    fn an_unwritable_folder_is_an_error_for_the_writer_only() {
        let file = std::env::temp_dir().join(format!("otpkit-record-file-{}", std::process::id()));
        std::fs::write(&file, "not a folder").unwrap();
        let mut rec = recording();
        rec.dir = file.join("below");
        assert!(rec.write(&json!({"operation": "send"})).is_err());
        let _ = std::fs::remove_file(&file);
    }
}
