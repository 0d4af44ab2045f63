//! Fixture replay, in process or with wiremock (cargo feature `testing`).
//!
//! A fixture is one recorded exchange as data: the config (credentials as `{{placeholders}}`),
//! the operation and its input, the exact request the adapter must send, the provider's
//! response, and the normalized outcome otpkit must produce. otpkit's own suite replays every
//! file under `fixtures/` in process ([`Fixture::replay_in_process`]: no server, no socket)
//! and a few per provider over HTTP ([`Fixture::replay`]); both check the request by the same
//! rules. Applications can mount the same files on their own mock server.
//!
//! ```json
//! {
//!   "description": "Send: the documented success",
//!   "config": {"provider": "thaaigroup", "client_id": "{{client_id}}",
//!              "client_secret": "{{client_secret}}", "domain": "example.com"},
//!   "operation": "send",
//!   "input": {"recipient": "user@example.com", "purpose": "signup"},
//!   "request": {"method": "POST", "path": "/api/otp/send",
//!               "headers": {"x-client-id": "{{client_id}}"},
//!               "body": {"email": "user@example.com", "purpose": "signup"}},
//!   "response": {"status": 200, "json": {"ok": true, "expires_in": 300, "cooldown": 60}},
//!   "expect": {"ok": true, "expires_in_secs": 300, "resend_after_secs": 60}
//! }
//! ```
//!
//! `{{base_url}}` stands for the mock server's URL (the config's `base_url` defaults to it;
//! in process it is `http://127.0.0.1:9`, where nothing is sent);
//! any other `{{name}}` becomes `fixture-name`. `"request": null` means no request may be made.
//! `expect` is matched as a subset of the rendered outcome (see [`Fixture::run`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! let server = wiremock::MockServer::start().await;
//! otpkit::testing::mount_fixtures(&server, "fixtures/thaaigroup/send_ok.json").await?;
//! // point the application's otpkit config at server.uri() …
//! # Ok(()) }
//! ```

mod fuzz;

pub use fuzz::{fuzz_parsing, FuzzReport};

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::config::ProviderConfig;
use crate::handle::Verification;
use crate::handle_key::HandleKey;
use crate::http::{HttpOptions, HttpRequest, HttpResponse, InProcess};
use crate::provider::OtpProvider;
use crate::receipt::{SendReceipt, StatusReport};
use crate::recipient::Recipient;
use crate::request::{Channel, Purpose, SendRequest};

pub use crate::providers::mock::{MockProvider, SentMessage};

/// One recorded exchange.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fixture {
    /// Where the file was loaded from (set by the loader).
    #[serde(skip)]
    pub path: PathBuf,
    /// What the exchange shows.
    pub description: String,
    /// The provider config, with `{{placeholders}}`.
    pub config: Value,
    /// `send`, `verify`, `resend` or `status`.
    pub operation: String,
    /// The operation's input: `recipient`, `purpose`, `channel`, `code_length`,
    /// `code_ttl_secs`, `end_user_ip`, `reference`, `custom_code` for send; `handle` (the serde form of a
    /// [`Verification`], or a token string; one without `mac` is stamped as the provider would
    /// have) and `code` for the others, and optionally `handle_from`, the file stem of the
    /// send whose handle [`replay_scenario`] uses instead.
    #[serde(default)]
    pub input: Map<String, Value>,
    /// The request the adapter must send, or `null` for none.
    pub request: Option<ExpectedRequest>,
    /// What the mock answers.
    #[serde(default)]
    pub response: Option<FixtureResponse>,
    /// The outcome otpkit must produce (matched as a subset).
    pub expect: Value,
}

/// The request a fixture expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ExpectedRequest {
    /// The method.
    pub method: String,
    /// The path, percent-encoded as sent.
    pub path: String,
    /// Query parameters that must be present.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// Headers that must be present with these values (names are case-insensitive).
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// The exact JSON body, if any.
    #[serde(default)]
    pub body: Option<Value>,
}

/// The response a fixture's mock gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FixtureResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<Value>,
    /// A raw text body (HTML pages, truncated JSON).
    #[serde(default)]
    pub body: Option<String>,
}

impl FixtureResponse {
    /// The body and its content type, as served: the JSON as `application/json`, or the raw
    /// text with the fixture's `content-type` header (`text/html` by default).
    fn body(&self) -> Option<(String, String)> {
        match (&self.json, &self.body) {
            (Some(json), _) => Some((json.to_string(), "application/json".to_owned())),
            (None, Some(raw)) => {
                let content_type = self
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    .map_or("text/html".to_owned(), |(_, v)| as_text(v));
                Some((raw.clone(), content_type))
            }
            (None, None) => None,
        }
    }

    /// The response as the exchange path would read it off the wire from wiremock: the
    /// fixture's headers, then `content-type` and `content-length` for the body.
    fn to_http(&self) -> HttpResponse {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&as_text(value)),
            ) {
                headers.insert(name, value);
            }
        }
        let body = match self.body() {
            Some((body, content_type)) => {
                if let Ok(value) = HeaderValue::from_str(&content_type) {
                    headers.insert(CONTENT_TYPE, value);
                }
                body.into_bytes()
            }
            None => Vec::new(),
        };
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        HttpResponse {
            status: self.status,
            headers,
            body: body.into(),
        }
    }
}

/// `options` with a total timeout that replaces the config's `timeout_secs` (whole seconds),
/// so a test that waits out a timeout (a server that never answers) can wait milliseconds.
pub fn with_timeout(options: HttpOptions, timeout: Duration) -> HttpOptions {
    HttpOptions {
        timeout: Some(timeout),
        ..options
    }
}

/// The base URL in-process replays configure (loopback, so plain `http` is accepted; nothing
/// listens there and nothing is sent).
const IN_PROCESS_BASE_URL: &str = "http://127.0.0.1:9";

/// Replaces `{{base_url}}` with the server URL and any other `{{name}}` with `fixture-name`.
pub fn fill_placeholders(value: &Value, base_url: &str) -> Value {
    match value {
        Value::String(s) => Value::String(fill_str(s, base_url)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill_placeholders(v, base_url))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_placeholders(v, base_url)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn fill_str(text: &str, base_url: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + len];
        if name == "base_url" {
            out.push_str(base_url.trim_end_matches('/'));
        } else {
            out.push_str("fixture-");
            out.push_str(name);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Loads one fixture file.
pub fn load_fixture(file: impl AsRef<Path>) -> Result<Fixture, String> {
    let file = file.as_ref();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut fixture: Fixture =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    fixture
        .check()
        .map_err(|e| format!("{}: {e}", file.display()))?;
    fixture.path = file.to_path_buf();
    Ok(fixture)
}

/// Loads a fixture file, or every `.json` file under a folder (recursively, sorted by path).
pub fn load_fixtures(path: impl AsRef<Path>) -> Result<Vec<Fixture>, String> {
    let path = path.as_ref();
    if path.is_file() {
        return Ok(vec![load_fixture(path)?]);
    }
    let mut files = Vec::new();
    collect_json(path, &mut files)?;
    files.sort();
    files.iter().map(load_fixture).collect()
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Mounts a fixture file or folder on `server`: each answers its response only to its exact
/// request. Returns the fixtures mounted.
pub async fn mount_fixtures(
    server: &MockServer,
    path: impl AsRef<Path>,
) -> Result<Vec<Fixture>, String> {
    let fixtures = load_fixtures(path)?;
    for fixture in &fixtures {
        fixture.mount(server).await?;
    }
    Ok(fixtures)
}

/// Replays a folder of fixtures as one scenario, in file order (recorded files are numbered, see
/// [`crate::record`]): a fixture whose input has `"handle_from": "<file stem>"` gets, as its
/// `handle`, the handle that file's replayed `send` or `resend` returned, so a recorded
/// send, verify and resend replay as the flow they were. Each step is checked like
/// [`Fixture::replay`]; returns every outcome, in order.
///
/// ```no_run
/// # async fn run() -> Result<(), String> {
/// let outcomes = otpkit::testing::replay_scenario("fixtures/recorded/signup").await?;
/// assert!(outcomes.iter().all(|o| o.get("ok").is_some()));
/// # Ok(()) }
/// ```
pub async fn replay_scenario(dir: impl AsRef<Path>) -> Result<Vec<Value>, String> {
    let mut handles: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    let mut outcomes = Vec::new();
    for mut fixture in load_fixtures(dir)? {
        let place = fixture.path.display().to_string();
        if let Some(from) = fixture.input.get("handle_from").map(as_text) {
            let handle = handles
                .get(&from)
                .ok_or_else(|| format!("{place}: no earlier send `{from}` gave a handle"))?;
            fixture.input.insert("handle".into(), handle.clone());
        }
        let outcome = fixture
            .replay()
            .await
            .map_err(|e| format!("{place}: {e}"))?;
        if let Some(handle) = outcome.get("handle") {
            handles.insert(fixture.name(), handle.clone());
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

impl Fixture {
    /// The fixture's name: its file stem.
    pub fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The provider config pointed at `base_url` (the mock server), placeholders filled.
    pub fn config(&self, base_url: &str) -> Result<ProviderConfig, crate::Error> {
        let mut config = fill_placeholders(&self.config, base_url);
        if let Value::Object(map) = &mut config {
            map.entry("base_url")
                .or_insert_with(|| Value::String(base_url.to_owned()));
        }
        ProviderConfig::from_json_str(&config.to_string())
    }

    /// Checks that the fixture can be mounted: a known method, a path starting with `/` and
    /// holding no `?`, a status from 100 to 999, and header names and values HTTP can carry.
    /// wiremock panics on each of these, so [`load_fixture`] and [`Fixture::mount`] check first.
    pub fn check(&self) -> Result<(), String> {
        let header = |place: &str, name: &str, value: &Value| {
            let value = fill_str(&as_text(value), "http://127.0.0.1:1");
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("{place} header `{name}` is not a header name"));
            }
            HeaderValue::from_str(&value)
                .map(drop)
                .map_err(|_| format!("{place} header `{name}` holds characters a header cannot"))
        };
        if let Some(request) = &self.request {
            if Method::from_bytes(request.method.to_ascii_uppercase().as_bytes()).is_err() {
                return Err(format!(
                    "request method `{}` is not a method",
                    request.method
                ));
            }
            if !request.path.starts_with('/') || request.path.contains('?') {
                return Err(
                    "request path must start with `/` and hold no `?` (put the query under `query`)"
                        .to_owned(),
                );
            }
            for (name, value) in &request.headers {
                header("request", name, value)?;
            }
        }
        if let Some(response) = &self.response {
            if StatusCode::from_u16(response.status).is_err() {
                return Err(format!(
                    "response status {} is not 100 to 999",
                    response.status
                ));
            }
            for (name, value) in &response.headers {
                header("response", name, value)?;
            }
        }
        Ok(())
    }

    /// Mounts this fixture's response on `server`, matching its exact request. A fixture that
    /// fails [`Fixture::check`] is an error and mounts nothing.
    pub async fn mount(&self, server: &MockServer) -> Result<(), String> {
        self.check()?;
        let (Some(request), Some(response)) = (&self.request, &self.response) else {
            return Ok(());
        };
        let uri = server.uri();
        let mut mock =
            Mock::given(method(request.method.as_str())).and(path(request.path.as_str()));
        for (name, value) in &request.headers {
            mock = mock.and(header(
                name.as_str(),
                fill_str(&as_text(value), &uri).as_str(),
            ));
        }
        for (name, value) in &request.query {
            mock = mock.and(query_param(
                name.as_str(),
                fill_str(&as_text(value), &uri).as_str(),
            ));
        }
        match &request.body {
            Some(Value::String(raw)) => mock = mock.and(body_string(fill_str(raw, &uri))),
            Some(body) => mock = mock.and(body_json(fill_placeholders(body, &uri))),
            None => {}
        }
        mock.respond_with(self.template(response))
            .mount(server)
            .await;
        Ok(())
    }

    fn template(&self, response: &FixtureResponse) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(response.status);
        for (name, value) in &response.headers {
            template = template.insert_header(name.as_str(), as_text(value).as_str());
        }
        match response.body() {
            Some((body, content_type)) => template.set_body_raw(body, &content_type),
            None => template,
        }
    }

    /// Runs the fixture's operation on `provider` and renders the outcome as JSON:
    /// `{"ok": true, "provider", "expires_in_secs", "resend_after_secs", "channel", "reference",
    /// "purpose", "extra", "request_id"}` for send and resend, `{"ok": true, "verified": true,
    /// "request_id", "tokens"}` for verify (tokens as `true` when issued, never their values),
    /// `{"ok": true, "status", "channels"}` for status, and `{"ok": false, "error": …}` (the
    /// serde form of [`crate::Error`] plus `request_id`, `fields`, `quota`,
    /// `attempts_remaining`) for any failure.
    pub async fn run(&self, provider: &dyn OtpProvider) -> Value {
        match self.execute(provider).await {
            Ok(value) => value,
            Err(error) => render_error(&error),
        }
    }

    async fn execute(&self, provider: &dyn OtpProvider) -> Result<Value, crate::Error> {
        match self.operation.as_str() {
            "send" => Ok(render_receipt(&provider.send(&self.send_request()?).await?)),
            "resend" => Ok(render_receipt(&provider.resend(&self.handle()?).await?)),
            "verify" => {
                let code = self.input.get("code").map(as_text).unwrap_or_default();
                let verified = provider.verify(&self.handle()?, &code).await?;
                Ok(crate::record::render_verified(&verified))
            }
            "status" => Ok(render_status(&provider.status(&self.handle()?).await?)),
            other => Err(crate::Error::new(
                crate::ErrorKind::InvalidRequest,
                format!("fixture operation `{other}` is not send, verify, resend or status"),
            )),
        }
    }

    /// The `send_code` operation: the provider's typed send for its own flows (Tencent's
    /// password reset, sign-up and user-info codes), which the portable `send` refuses.
    async fn run_own_flow_send(&self, base_url: &str, options: &HttpOptions) -> Value {
        let outcome = async {
            let config = self.config(base_url)?;
            let send = crate::providers::descriptor(config.provider_id())
                .and_then(|d| d.own_flow_send)
                .ok_or_else(|| {
                    crate::Error::unsupported("this provider has no typed send of its own")
                })?;
            send(&config, options, &self.send_request()?).await
        };
        match outcome.await {
            Ok(receipt) => render_receipt(&receipt),
            Err(error) => render_error(&error),
        }
    }

    fn send_request(&self) -> Result<SendRequest, crate::Error> {
        let text = |key: &str| self.input.get(key).map(as_text);
        let recipient = Recipient::parse(&text("recipient").unwrap_or_default())?;
        let mut request = SendRequest::new(recipient);
        if let Some(purpose) = text("purpose") {
            request = request.purpose(Purpose::parse(&purpose)?);
        }
        if let Some(channel) = text("channel") {
            request = request.channel(Channel::parse(&channel)?);
        }
        if let Some(length) = self.input.get("code_length").and_then(Value::as_u64) {
            // Out of range stays out of range (and is refused), instead of wrapping into it.
            request = request.code_length(u8::try_from(length).unwrap_or(u8::MAX));
        }
        if let Some(ttl) = self.input.get("code_ttl_secs").and_then(Value::as_u64) {
            request = request.code_ttl(Duration::from_secs(ttl));
        }
        if let Some(ip) = text("end_user_ip") {
            let ip = ip.parse().map_err(|_| {
                crate::Error::new(
                    crate::ErrorKind::InvalidRequest,
                    "end_user_ip is not an IP address",
                )
            })?;
            request = request.end_user_ip(ip);
        }
        if let Some(reference) = text("reference") {
            request = request.reference(reference);
        }
        if let Some(code) = text("custom_code") {
            request = request.custom_code(crate::OtpCode::parse(&code)?);
        }
        Ok(request)
    }

    /// The fixture's handle. One without a MAC stands for a handle the provider issued, so it
    /// is stamped with the key of the fixture's config (placeholders filled as in
    /// [`Fixture::config`]); one with a MAC is used as it is, so a fixture can show a forged
    /// handle being refused.
    fn handle(&self) -> Result<Verification, crate::Error> {
        let handle = match self.input.get("handle") {
            Some(Value::String(token)) => Verification::from_token(token)?,
            Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
                crate::Error::new(
                    crate::ErrorKind::InvalidRequest,
                    format!("fixture handle: {e}"),
                )
            })?,
            None => {
                return Err(crate::Error::new(
                    crate::ErrorKind::InvalidRequest,
                    "fixture has no handle",
                ))
            }
        };
        if handle.mac().is_some() {
            return Ok(handle);
        }
        // The key depends on the provider and its credentials, not on where it is reached.
        let config = self.config("http://127.0.0.1:1")?;
        let key = HandleKey::from_credentials(config.provider_id(), &config.secrets());
        Ok(key.stamp(handle))
    }

    /// Checks that exactly the expected request was received (or none, for `"request": null`).
    pub fn check_requests(&self, received: &[Request], base_url: &str) -> Result<(), String> {
        let sent: Vec<Sent<'_>> = received
            .iter()
            .map(|r| Sent {
                method: r.method.as_str(),
                url: &r.url,
                headers: &r.headers,
                body: &r.body,
            })
            .collect();
        self.check_sent(&sent, base_url)
    }

    /// The matching rules shared by the wiremock and in-process replays: exactly one request,
    /// or none for `"request": null`.
    fn check_sent(&self, sent: &[Sent<'_>], base_url: &str) -> Result<(), String> {
        let Some(expected) = &self.request else {
            return match sent.len() {
                0 => Ok(()),
                n => Err(format!("expected no request, {n} were made")),
            };
        };
        let [actual] = sent else {
            return Err(format!(
                "expected exactly one request, {} were made",
                sent.len()
            ));
        };
        actual.matches(expected, base_url)
    }

    /// Checks an outcome against `expect`: every key there must be present with an equal value
    /// (nested objects likewise).
    pub fn check_outcome(&self, outcome: &Value) -> Result<(), String> {
        subset_mismatch(&self.expect, outcome, "")
            .map_or(Ok(()), |why| Err(format!("{why}\n  outcome: {outcome}")))
    }

    /// Replays this fixture on a fresh mock server: mounts it, runs the operation through a
    /// provider built for the server (with its own HTTP client), and checks both the request
    /// sent and the outcome.
    pub async fn replay(&self) -> Result<Value, String> {
        let server = MockServer::start().await;
        self.mount(&server).await?;
        let uri = server.uri();
        let outcome = self.outcome(&uri, &HttpOptions::default()).await;
        let received = server.received_requests().await.unwrap_or_default();
        self.check_requests(&received, &uri)?;
        self.check_outcome(&outcome)?;
        Ok(outcome)
    }

    /// Builds the provider for `base_url` with `options` and runs the fixture's operation; a
    /// config that does not build gives its error as the outcome.
    async fn outcome(&self, base_url: &str, options: &HttpOptions) -> Value {
        if self.operation == "send_code" {
            return self.run_own_flow_send(base_url, options).await;
        }
        match self
            .config(base_url)
            .and_then(|config| config.build_with(options))
        {
            Ok(provider) => self.run(provider.as_ref()).await,
            Err(error) => render_error(&error),
        }
    }

    /// Replays this fixture in this process, with no server, no socket and no runtime: the
    /// provider is built from the fixture's config with a transport that hands each request
    /// to the fixture instead of the network. The request is checked by the same rules as
    /// [`Fixture::replay`] (method, path, query, headers with placeholders filled, body), a
    /// matching request gets the fixture's response as wiremock would serve it (a request
    /// that does not match gets wiremock's empty 404), and the outcome is checked against
    /// `expect`. Everything but the socket runs as in production: validation, the adapter's
    /// `build_*` and `parse_*`, the exchange path's body cap and error context.
    ///
    /// ```
    /// let fixture = otpkit::testing::load_fixture(
    ///     concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/thaaigroup/send_ok.json"),
    /// )?;
    /// let outcome = fixture.replay_in_process()?;
    /// assert_eq!(outcome["ok"], true);
    /// # Ok::<(), String>(())
    /// ```
    pub fn replay_in_process(&self) -> Result<Value, String> {
        self.check()?;
        let sent: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let answer = {
            let sent = sent.clone();
            let fixture = self.clone();
            move |request: &HttpRequest| {
                sent.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(request.clone());
                match (&fixture.request, &fixture.response) {
                    (Some(expected), Some(response))
                        if Sent::from(request)
                            .matches(expected, IN_PROCESS_BASE_URL)
                            .is_ok() =>
                    {
                        response.to_http()
                    }
                    _ => HttpResponse::new(404, Vec::new()),
                }
            }
        };
        let options = HttpOptions {
            answer: Some(InProcess(Arc::new(answer))),
            ..HttpOptions::default()
        };
        // Nothing in the path waits on I/O or timers, so one poll finishes the operation.
        let mut work = std::pin::pin!(self.outcome(IN_PROCESS_BASE_URL, &options));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(outcome) = work.as_mut().poll(&mut context) else {
            return Err("the operation waited on something (a retry delay?); in-process replay runs without a runtime".to_owned());
        };
        let sent = sent.lock().unwrap_or_else(PoisonError::into_inner);
        let sent: Vec<Sent<'_>> = sent.iter().map(Sent::from).collect();
        self.check_sent(&sent, IN_PROCESS_BASE_URL)?;
        self.check_outcome(&outcome)?;
        Ok(outcome)
    }
}

/// A request as sent, whether it reached wiremock or the in-process answerer.
struct Sent<'a> {
    method: &'a str,
    url: &'a url::Url,
    headers: &'a reqwest::header::HeaderMap,
    body: &'a [u8],
}

impl<'a> From<&'a HttpRequest> for Sent<'a> {
    fn from(request: &'a HttpRequest) -> Self {
        Sent {
            method: request.method.as_str(),
            url: &request.url,
            headers: &request.headers,
            body: request.body.as_deref().unwrap_or_default(),
        }
    }
}

impl Sent<'_> {
    /// Whether this is the fixture's request: method, path, query, headers present with their
    /// values (placeholders filled) and the exact body.
    fn matches(&self, expected: &ExpectedRequest, base_url: &str) -> Result<(), String> {
        if !self.method.eq_ignore_ascii_case(&expected.method) {
            return Err(format!(
                "method: sent {}, expected {}",
                self.method, expected.method
            ));
        }
        if self.url.path() != expected.path {
            return Err(format!(
                "path: sent {}, expected {}",
                self.url.path(),
                expected.path
            ));
        }
        let query: Map<String, Value> = self
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        let wanted_query: Map<String, Value> = expected
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(fill_str(&as_text(v), base_url))))
            .collect();
        if query != wanted_query {
            return Err(format!("query: sent {query:?}, expected {wanted_query:?}"));
        }
        for (name, value) in &expected.headers {
            let wanted = fill_str(&as_text(value), base_url);
            let sent = self
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok());
            if sent != Some(wanted.as_str()) {
                // Header values are often credentials: say how they differ, not what they are.
                let what = match sent {
                    None => "was not sent".to_owned(),
                    Some(value) => format!(
                        "differs from the fixture's ({} characters sent, {} expected)",
                        value.len(),
                        wanted.len()
                    ),
                };
                return Err(format!("header {name} {what}"));
            }
        }
        match &expected.body {
            None if !self.body.is_empty() => {
                Err("a body was sent where none was expected".to_owned())
            }
            None => Ok(()),
            Some(Value::String(raw)) => {
                let wanted = fill_str(raw, base_url);
                (self.body == wanted.as_bytes())
                    .then_some(())
                    .ok_or_else(|| {
                        format!(
                            "body: sent {:?}, expected {wanted:?}",
                            String::from_utf8_lossy(self.body)
                        )
                    })
            }
            Some(body) => {
                let wanted = fill_placeholders(body, base_url);
                let sent: Value = serde_json::from_slice(self.body)
                    .map_err(|e| format!("body is not JSON: {e}"))?;
                (sent == wanted)
                    .then_some(())
                    .ok_or_else(|| format!("body: sent {sent}, expected {wanted}"))
            }
        }
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn subset_mismatch(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let here = format!("{at}.{key}");
            match have.get(key) {
                Some(found) => subset_mismatch(value, found, &here),
                None if value.is_null() => None,
                None => Some(format!("{here}: missing, expected {value}")),
            }
        }),
        _ if expected == actual => None,
        _ => Some(format!(
            "{}: got {actual}, expected {expected}",
            if at.is_empty() { "." } else { at }
        )),
    }
}

/// Renders a receipt as [`Fixture::run`] describes.
pub fn render_receipt(receipt: &SendReceipt) -> Value {
    crate::record::render_receipt(receipt)
}

fn render_status(report: &StatusReport) -> Value {
    crate::record::render_status(report)
}

/// Renders an error as [`Fixture::run`] describes.
pub fn render_error(error: &crate::Error) -> Value {
    crate::record::render_error(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Fixture {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_out_of_range_code_length_is_not_wrapped_into_range() {
        let fixture = fixture(
            r#"{"description": "", "config": {}, "operation": "send", "request": null,
                "input": {"recipient": "a@b.co", "code_length": 260}, "expect": {}}"#,
        );
        let request = fixture.send_request().unwrap();
        assert!(request.validate().is_err(), "{:?}", request.code_length);
    }

    #[tokio::test]
    async fn fixtures_wiremock_would_panic_on_are_errors() {
        let server = MockServer::start().await;
        let request = r#"{"method": "POST", "path": "/x"}"#;
        let response = r#"{"status": 200}"#;
        for (request, response) in [
            (r#"{"method": "P OST", "path": "/x"}"#, response),
            (r#"{"method": "POST", "path": "/x?a=1"}"#, response),
            (r#"{"method": "POST", "path": "http://host/x"}"#, response),
            (
                r#"{"method": "POST", "path": "/x", "headers": {"bad name": "v"}}"#,
                response,
            ),
            (
                r#"{"method": "POST", "path": "/x", "headers": {"x": "a\nb"}}"#,
                response,
            ),
            (request, r#"{"status": 1000}"#),
            (
                request,
                r#"{"status": 200, "headers": {"content-type": "a\u0000b"}}"#,
            ),
            (request, r#"{"status": 200, "headers": {"x(": "v"}}"#),
        ] {
            let text = format!(
                r#"{{"description": "", "config": {{}}, "operation": "send", "expect": {{}},
                    "request": {request}, "response": {response}}}"#
            );
            let fixture = fixture(&text);
            assert!(fixture.check().is_err(), "{text}");
            assert!(fixture.mount(&server).await.is_err(), "{text}");
            let file = std::env::temp_dir()
                .join(format!("otpkit-bad-fixture-{}.json", std::process::id()));
            std::fs::write(&file, &text).unwrap();
            assert!(load_fixture(&file).is_err(), "{text}");
            let _ = std::fs::remove_file(&file);
        }
    }
}
