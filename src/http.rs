//! The one exchange path every provider shares: plain request and response values that
//! adapters build and read, and the [`Transport`] that moves them (its own clients, timeouts,
//! body cap, retries, tracing).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, ErrorKind, MAX_RETRY_AFTER};
use crate::mask::Redactor;
use crate::recipient::Recipient;
use crate::retry::{RetryPolicy, RetrySafety};

/// A request an adapter built: method, URL, headers and an optional JSON body. Pure data, so
/// adapters can be tested without a server.
///
/// `Debug` shows the method, the URL with digit runs and addresses masked (a code or a phone
/// number can sit in the path or query), the header names and the body's size: bodies carry
/// codes, recipients and sometimes credentials.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The headers; credentials are marked sensitive.
    pub headers: HeaderMap,
    /// The body bytes (JSON), if any; cheap to clone for a retry.
    pub body: Option<Bytes>,
}

impl HttpRequest {
    /// A `GET` of `url`.
    pub fn get(url: Url) -> Self {
        HttpRequest {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// A `POST` of `body` as JSON to `url`.
    pub fn post_json(url: Url, body: &impl Serialize) -> Result<Self, Error> {
        Self::post_json_with(url, &HeaderMap::new(), body)
    }

    /// A `POST` of `body` as JSON to `url` with headers prepared once (see [`header_map`]):
    /// the prepared map is cloned whole rather than copied header by header, which is cheaper
    /// when it already holds `content-type` (it is added otherwise).
    pub fn post_json_with(
        url: Url,
        headers: &HeaderMap,
        body: &impl Serialize,
    ) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("the request body could not be encoded: {e}"),
            )
        })?;
        let mut headers = headers.clone();
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, json_content_type());
        }
        Ok(HttpRequest {
            method: Method::POST,
            url,
            headers,
            body: Some(Bytes::from(bytes)),
        })
    }

    /// Adds a plain header. A value that cannot be a header (CR, LF, other control characters)
    /// is an `invalid_request` error naming the header.
    pub fn header(self, name: &'static str, value: &str) -> Result<Self, Error> {
        self.insert_header(name, value, false)
    }

    /// Adds headers prepared once (see [`header_map`]), without re-validating or copying them.
    pub fn with_headers(mut self, headers: &HeaderMap) -> Self {
        for (name, value) in headers {
            self.headers.insert(name.clone(), value.clone());
        }
        self
    }

    /// Adds a credential header, marked sensitive so it is never logged.
    pub fn secret_header(self, name: &'static str, value: &str) -> Result<Self, Error> {
        self.insert_header(name, value, true)
    }

    fn insert_header(
        mut self,
        name: &'static str,
        value: &str,
        sensitive: bool,
    ) -> Result<Self, Error> {
        let mut header = HeaderValue::from_str(value).map_err(|_| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("the value for header `{name}` holds characters a header cannot carry"),
            )
        })?;
        header.set_sensitive(sensitive);
        self.headers.insert(HeaderName::from_static(name), header);
        Ok(self)
    }
}

/// Prepares headers once, for adapters to add to every request with
/// [`HttpRequest::with_headers`]: `(name, value, sensitive)`. A value a header cannot carry is a
/// `config` error naming `key`.
pub fn header_map(headers: &[(&'static str, &str, &str, bool)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for &(name, key, value, sensitive) in headers {
        crate::de::check_header_value(key, value)?;
        let mut header = HeaderValue::from_str(value)
            .map_err(|_| Error::config(key, "holds characters a header cannot carry"))?;
        header.set_sensitive(sensitive);
        map.insert(HeaderName::from_static(name), header);
    }
    Ok(map)
}

/// `content-type: application/json`, for adding to a prepared header map (see
/// [`HttpRequest::post_json_with`]).
pub fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// Joins `path` (relative, e.g. `"api/otp/send"`) onto a base URL whose path ends with `/`,
/// keeping the base's own path prefix.
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path(), path.trim_start_matches('/'));
    url.set_path(&joined);
    url
}

/// Like [`endpoint`], then appends each of `segments` percent-encoded as one path segment, so
/// values from users or providers cannot change the path's shape. An empty, `.` or `..`
/// segment (which URL rules would drop or resolve) is an `invalid_request` error.
pub fn endpoint_with_segments(base: &Url, path: &str, segments: &[&str]) -> Result<Url, Error> {
    if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("`{bad}` cannot be a path segment"),
        ));
    }
    let mut url = endpoint(base, path);
    if let Ok(mut parts) = url.path_segments_mut() {
        parts.pop_if_empty().extend(segments);
    }
    Ok(url)
}

/// What came back: status, headers and the body (read up to the configured cap).
///
/// `Debug` shows the status, the header names and the body's size, never the body: answers
/// carry recipients and issued tokens.
#[derive(Clone)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl HttpResponse {
    /// A response, for tests and fuzzing of adapters' `parse_*` functions.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.into()),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Retry-After` header, parsed (see [`parse_retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }

    /// Parses the body as JSON into `T`. An empty body, HTML, truncated JSON or the wrong shape
    /// is `unexpected_response`, described without quoting the body (it may hold personal data).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| self.unexpected_body(&e))
    }

    /// An `unexpected_response` error describing this body and why it was not understood.
    pub fn unexpected_body(&self, why: &serde_json::Error) -> Error {
        let content_type = self.header("content-type").unwrap_or("no content type");
        let problem = match why.classify() {
            serde_json::error::Category::Eof if self.body.is_empty() => {
                "the body is empty".to_owned()
            }
            serde_json::error::Category::Eof => "the JSON is truncated".to_owned(),
            serde_json::error::Category::Syntax => {
                if looks_like_html(&self.body) {
                    "the body is an HTML page, not JSON (a proxy or gateway answered?)".to_owned()
                } else {
                    format!(
                        "the body is not JSON (syntax error at line {} column {})",
                        why.line(),
                        why.column()
                    )
                }
            }
            serde_json::error::Category::Data => format!(
                "the JSON does not have the expected shape (at line {} column {})",
                why.line(),
                why.column()
            ),
            serde_json::error::Category::Io => "the body could not be read".to_owned(),
        };
        Error::unexpected(format!(
            "HTTP {} with {} bytes of {content_type}: {problem}",
            self.status,
            self.body.len()
        ))
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &masked_url(&self.url))
            .field("headers", &HeaderNames(&self.headers))
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .finish()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &HeaderNames(&self.headers))
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A URL for `Debug`: its origin and path, with every path segment that [`scrub`] would change
/// (a code, a phone number, an address) or that holds `+` or an escape shown as `***`, and query
/// values shown as `***`.
///
/// [`scrub`]: crate::scrub
fn masked_url(url: &Url) -> String {
    let mut out = url.origin().ascii_serialization();
    for segment in url.path_segments().into_iter().flatten() {
        out.push('/');
        let hidden = segment.contains(['+', '%']) || crate::mask::scrub(segment) != segment;
        out.push_str(if hidden { "***" } else { segment });
    }
    let mut separator = '?';
    for (key, _) in url.query_pairs() {
        out.push(separator);
        out.push_str(&crate::mask::scrub(&key));
        out.push_str("=***");
        separator = '&';
    }
    out
}

/// Header names only: values may be credentials a caller forgot to mark sensitive.
struct HeaderNames<'a>(&'a HeaderMap);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let start: Vec<u8> = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype") || start.starts_with(b"<html") || start.starts_with(b"<")
}

/// Parses a `Retry-After` value: whole seconds or an HTTP date. Negative seconds and dates in
/// the past give zero; values beyond [`MAX_RETRY_AFTER`] are capped; anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(digits) = value.strip_prefix('-') {
        return (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Duration::ZERO);
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Reads a JSON number of seconds that a provider put in a body (`retry_after`, `expires_in`),
/// tolerating strings and fractions; negative values give zero; huge values are capped.
pub fn seconds_from_json(value: &serde_json::Value) -> Option<Duration> {
    let secs = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !secs.is_finite() {
        return None;
    }
    let capped = secs.clamp(0.0, MAX_RETRY_AFTER.as_secs_f64());
    Some(Duration::from_secs_f64(capped))
}

/// How otpkit talks HTTP: an optional caller-supplied client, the retry policy and the body cap.
///
/// ```
/// use otpkit::{HttpOptions, RetryPolicy};
///
/// let options = HttpOptions::default().retry(RetryPolicy::standard());
/// assert_eq!(options.max_body_bytes, 256 * 1024);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// A client to use instead of otpkit's own (its own connect timeout and TLS apply). It is
    /// used as is from every runtime that calls: keep it to one runtime, or give it no pool.
    pub client: Option<reqwest::Client>,
    /// When to retry; by default never.
    pub retry: RetryPolicy,
    /// The largest response body read; larger ones are `unexpected_response`, stopped while
    /// reading.
    pub max_body_bytes: usize,
    /// A folder to write every exchange into as a scrubbed fixture file (see
    /// [`crate::record`]); `None`, the default, records nothing.
    pub record: Option<std::path::PathBuf>,
    /// The config as it was read, for the recorder (set by `ProviderConfig::build_with`).
    pub(crate) config_source: Option<crate::Secret>,
    /// A total timeout finer than the config's whole `timeout_secs`, for tests
    /// (`otpkit::testing::with_timeout`).
    #[cfg(feature = "testing")]
    pub(crate) timeout: Option<Duration>,
    /// An in-process stand-in for the provider's server, used instead of HTTP: in-process
    /// fixture replay and the fuzzer run the adapters and the exchange path through it.
    #[cfg(feature = "testing")]
    pub(crate) answer: Option<InProcess>,
}

/// Answers requests in-process, without HTTP (feature `testing`): how
/// [`Fixture::replay_in_process`](crate::testing::Fixture::replay_in_process) and
/// [`fuzz_parsing`](crate::testing::fuzz_parsing) drive every provider's full exchange path,
/// with no server and no TLS client.
#[cfg(feature = "testing")]
#[derive(Clone)]
pub(crate) struct InProcess(pub(crate) Arc<dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync>);

#[cfg(feature = "testing")]
impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InProcess")
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            client: None,
            retry: RetryPolicy::none(),
            max_body_bytes: 256 * 1024,
            record: None,
            config_source: None,
            #[cfg(feature = "testing")]
            timeout: None,
            #[cfg(feature = "testing")]
            answer: None,
        }
    }
}

impl HttpOptions {
    /// Uses this client.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Uses this retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Caps response bodies at this many bytes.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Records every exchange of the providers built with these options into `dir`, one
    /// scrubbed fixture file each (see [`crate::record`]). A folder that cannot be written is
    /// logged and never fails a call. A provider built from a [`ProviderConfig`] records its
    /// config too (credentials as placeholders), so the files replay as they are; one built
    /// from a provider's own `Config` with `ProviderSettings::build` records only its id there.
    ///
    /// [`ProviderConfig`]: crate::ProviderConfig
    ///
    /// ```no_run
    /// let options = otpkit::HttpOptions::default().record_to("fixtures/recorded");
    /// let provider = otpkit::ProviderConfig::from_env()?.build_with(&options)?;
    /// # Ok::<(), otpkit::Error>(())
    /// ```
    pub fn record_to(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.record = Some(dir.into());
        self
    }

    pub(crate) fn config_source(mut self, source: crate::Secret) -> Self {
        self.config_source = Some(source);
        self
    }
}

/// The default connect timeout, matching the contract's `connect_timeout_secs` default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default total timeout, matching the contract's `timeout_secs` default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a `reqwest::Client` the way otpkit wants it: rustls with the ring provider (no
/// process-wide provider is installed), the platform's root certificates, no redirects (a
/// redirected POST could send a code twice), idle connections dropped after 30 s.
///
/// The TLS set-up (loading the platform's roots, about 4 ms of CPU) happens once per process;
/// later clients share it, so building one is cheap.
pub fn build_client(connect_timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("otpkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| tls_error(&e.without_url()))
}

fn tls_error(e: &dyn fmt::Display) -> Error {
    Error::new(
        ErrorKind::Transport,
        format!("TLS could not be set up: {e}"),
    )
}

/// otpkit's TLS configuration, made once per process (the platform verifier and the ring
/// provider live behind `Arc`s, so a copy is cheap). Never called on the request path's hot
/// part: [`Transport::new`] makes it first.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    let made = TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tls)
    });
    made.clone().map_err(|e| tls_error(&e))
}

/// The most runtimes one transport keeps a client for; the oldest is dropped first (its
/// runtime is usually gone).
const RUNTIMES_KEPT: usize = 8;

/// A transport's own clients: the caller's, used as is, or otpkit's, one per tokio runtime.
///
/// # Why one client per runtime
///
/// A client's pooled connections are driven by tasks of the runtime that opened them. Used
/// from another runtime, such a connection is dead (that runtime was dropped: "runtime dropped
/// the dispatch task") or never answers (that runtime still exists but is not running, as a
/// current-thread runtime between two `block_on`s: the request waits out its timeout). A
/// provider built once and used from runtime after runtime (`#[tokio::test]`s sharing a
/// `static` provider, a provider built outside any runtime) must not meet either.
///
/// So a transport keeps its clients keyed by the id of the runtime that uses them (tokio never
/// reuses a runtime id within a process): every call looks up the current runtime's client,
/// and a runtime seen for the first time gets a fresh client (or the one made outside any
/// runtime, which has no connection yet; cheap either way: the TLS set-up is shared
/// through [`tls_config`], and no certificate is loaded). The lookup takes this transport's
/// own read lock (never a process-wide one); the write lock is taken only when a new runtime
/// appears. A caller-supplied client is used as is, on whichever runtime calls: its
/// connections are the caller's to manage.
#[derive(Debug)]
enum Clients {
    /// The caller's client.
    Given(reqwest::Client),
    /// No client: requests are answered in this process (`otpkit::testing`).
    #[cfg(feature = "testing")]
    InProcess(InProcess),
    /// otpkit's clients, one per runtime, newest last.
    PerRuntime {
        connect_timeout: Duration,
        by_runtime: RwLock<Vec<(Option<tokio::runtime::Id>, reqwest::Client)>>,
    },
}

impl Clients {
    /// The clients for these options: the caller's, or otpkit's with the TLS set-up (the
    /// expensive part) done now, when the provider is built, not on its first call.
    fn new(connect_timeout: Duration, options: &HttpOptions) -> Result<Self, Error> {
        #[cfg(feature = "testing")]
        if let Some(answer) = &options.answer {
            return Ok(Clients::InProcess(answer.clone()));
        }
        if let Some(client) = &options.client {
            return Ok(Clients::Given(client.clone()));
        }
        let runtime = current_runtime();
        let first = build_client(connect_timeout)?;
        Ok(Clients::PerRuntime {
            connect_timeout,
            by_runtime: RwLock::new(vec![(runtime, first)]),
        })
    }

    /// Starts `request` on the client for the calling runtime. The returned future owns what it
    /// needs (reqwest clones its shared state into it), so no lock is held while it runs.
    fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<impl std::future::Future<Output = reqwest::Result<reqwest::Response>>, Error> {
        let (connect_timeout, by_runtime) = match self {
            Clients::Given(client) => return Ok(client.execute(request)),
            #[cfg(feature = "testing")]
            Clients::InProcess(_) => {
                return Err(Error::new(
                    ErrorKind::Transport,
                    "an in-process transport has no client",
                ))
            }
            Clients::PerRuntime {
                connect_timeout,
                by_runtime,
            } => (*connect_timeout, by_runtime),
        };
        let runtime = current_runtime();
        {
            let clients = by_runtime.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, client)) = clients.iter().rev().find(|(r, _)| *r == runtime) {
                return Ok(client.execute(request));
            }
        }
        let mut clients = by_runtime.write().unwrap_or_else(PoisonError::into_inner);
        // Another call from the same runtime may have added it meanwhile.
        if let Some((_, client)) = clients.iter().rev().find(|(r, _)| *r == runtime) {
            return Ok(client.execute(request));
        }
        // A client made outside any runtime has opened no connection (reqwest cannot without
        // one): the first runtime takes it.
        if let Some(entry) = clients.iter_mut().find(|(r, _)| r.is_none()) {
            entry.0 = runtime;
            return Ok(entry.1.execute(request));
        }
        let client = build_client(connect_timeout)?;
        if clients.len() >= RUNTIMES_KEPT {
            clients.remove(0);
        }
        clients.push((runtime, client.clone()));
        drop(clients);
        Ok(client.execute(request))
    }
}

/// The id of the tokio runtime running this code, if any.
fn current_runtime() -> Option<tokio::runtime::Id> {
    tokio::runtime::Handle::try_current().ok().map(|h| h.id())
}

/// One call's identity, for tracing, errors and the retry decision.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The provider id.
    pub provider: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// The recipient, printed masked.
    pub recipient: Option<&'a Recipient>,
    /// What may be retried.
    pub safety: RetrySafety,
}

/// Moves [`HttpRequest`]s and hands the [`HttpResponse`]s to a parser; shared by every
/// provider. Cheap to clone (clones share the clients).
///
/// The transport owns its HTTP clients, chosen when the provider is built: the caller's
/// [`HttpOptions::client`], or otpkit's own, one per tokio runtime that uses the transport so
/// that no pooled connection is used outside the runtime that drives it (see `Clients`). There
/// is no process-wide lock on the request path and no certificate loading inside a request.
#[derive(Debug, Clone)]
pub struct Transport {
    clients: Arc<Clients>,
    timeout: Duration,
    max_body_bytes: usize,
    retry: RetryPolicy,
    /// Hides the provider's configured secrets in every error the exchange returns.
    redactor: Arc<Redactor>,
}

impl Transport {
    /// Uses `redactor` on every error this transport returns.
    pub(crate) fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Arc::new(redactor);
        self
    }

    /// The redactor applied to every error this transport returns.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A transport with these timeouts and options: the options' client if they bring one,
    /// otherwise clients of its own for this connect timeout (one per tokio runtime that uses
    /// it). TLS set-up problems surface here, not on the first call.
    pub fn new(
        timeout: Duration,
        connect_timeout: Duration,
        options: &HttpOptions,
    ) -> Result<Self, Error> {
        #[cfg(feature = "testing")]
        let timeout = options.timeout.unwrap_or(timeout);
        Ok(Transport {
            clients: Arc::new(Clients::new(connect_timeout, options)?),
            timeout,
            max_body_bytes: options.max_body_bytes,
            retry: options.retry.clone(),
            redactor: Arc::default(),
        })
    }

    /// Sends `request`, parses the answer with `parse`, and retries as the policy and the
    /// call's safety allow. Every error leaves with the provider, operation and HTTP status.
    ///
    /// Not an `async fn` itself: the returned future is the attempts' future inside the
    /// tracing span, without a second copy of the arguments around it (every `OtpProvider`
    /// call boxes it, and a smaller box is a cheaper allocation).
    pub fn exchange<'a, T: 'a>(
        &'a self,
        call: Call<'a>,
        request: &'a HttpRequest,
        parse: impl Fn(&HttpResponse) -> Result<T, Error> + 'a,
    ) -> impl Future<Output = Result<T, Error>> + 'a {
        // A recipient's Display is masked, and formatted only if the span is recorded. With no
        // subscriber the span is disabled, and entering it on each poll costs a branch.
        let span = tracing::debug_span!(
            "otpkit",
            provider = call.provider,
            operation = call.operation,
            recipient = call.recipient.map(tracing::field::display),
        );
        self.attempts(call, request, parse).instrument(span)
    }

    /// [`Transport::exchange`]'s attempts, in its span.
    async fn attempts<T>(
        &self,
        call: Call<'_>,
        request: &HttpRequest,
        parse: impl Fn(&HttpResponse) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let attempt_started = Instant::now();
            let outcome = match self.attempt(request).await {
                Ok(response) => {
                    tracing::debug!(
                        status = response.status,
                        bytes = response.body.len(),
                        latency_ms = attempt_started.elapsed().as_millis() as u64,
                        attempt,
                        "provider answered"
                    );
                    parse(&response).map_err(|e| {
                        e.with_response_context(response.status, response.retry_after())
                    })
                }
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(e) => e
                    .in_context(call.provider, call.operation)
                    .sealed(&self.redactor),
            };
            match self
                .retry
                .delay_before_retry(&error, call.safety, attempt, started.elapsed())
            {
                Some(delay) => {
                    tracing::info!(
                        kind = error.kind().as_str(),
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => {
                    tracing::debug!(
                        kind = error.kind().as_str(),
                        status = error.status(),
                        code = error.provider_code(),
                        attempt,
                        "call failed"
                    );
                    return Err(error);
                }
            }
        }
    }

    /// One attempt, bounded by the total timeout from the start of connecting to the last byte
    /// of the body: what reqwest's per-request timeout bounds, without the extension map and
    /// boxed timer it sets up for every request. A caller's client also gets the timeout as
    /// reqwest's per-request timeout, so that it replaces the client's own, as before.
    async fn attempt(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        #[cfg(feature = "testing")]
        if let Clients::InProcess(answer) = &*self.clients {
            let response = (answer.0)(request);
            if response.body.len() > self.max_body_bytes {
                return Err(self.too_large(response.status));
            }
            return Ok(response);
        }
        tokio::time::timeout(self.timeout, self.attempt_untimed(request))
            .await
            .unwrap_or_else(|_| Err(timed_out(self.timeout)))
    }

    /// One attempt over the network, without the total timeout (see [`Transport::attempt`]).
    async fn attempt_untimed(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let mut response = self
            .clients
            .execute(self.outgoing(request))?
            .await
            .map_err(|e| from_reqwest(e, self.timeout))?;
        let status = response.status().as_u16();
        // The declared `Content-Length`, as hyper already parsed it.
        let declared = response.content_length();
        if declared.is_some_and(|len| len > self.max_body_bytes as u64) {
            return Err(self.too_large(status));
        }
        // Most answers arrive in one chunk, which is kept as is; more are joined. Memory is set
        // aside for what has arrived, never for the declared length: with a raised cap, a
        // false `Content-Length` would otherwise reserve gigabytes (and abort the process).
        let mut received = 0usize;
        let mut single: Option<Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| from_reqwest(e, self.timeout).with_status(status))?
        {
            received += chunk.len();
            if received > self.max_body_bytes {
                return Err(self.too_large(status));
            }
            match single.take() {
                None if joined.is_empty() => single = Some(chunk),
                previous => {
                    if let Some(previous) = previous {
                        joined.reserve(received);
                        joined.extend_from_slice(&previous);
                    }
                    joined.extend_from_slice(&chunk);
                }
            }
        }
        let body = single.unwrap_or_else(|| Bytes::from(joined));
        Ok(HttpResponse {
            status,
            headers: std::mem::take(response.headers_mut()),
            body,
        })
    }

    /// The reqwest request for `request`, assembled directly (not through a builder, which
    /// would insert every header again); the body is shared, not copied. Built outside the
    /// async function so the request moves into reqwest at once instead of taking room in the
    /// attempt's future while the answer is awaited.
    fn outgoing(&self, request: &HttpRequest) -> reqwest::Request {
        let mut outgoing = reqwest::Request::new(request.method.clone(), request.url.clone());
        *outgoing.headers_mut() = request.headers.clone();
        if let Clients::Given(_) = &*self.clients {
            *outgoing.timeout_mut() = Some(self.timeout);
        }
        if let Some(body) = &request.body {
            *outgoing.body_mut() = Some(body.clone().into());
        }
        outgoing
    }

    fn too_large(&self, status: u16) -> Error {
        Error::unexpected(format!(
            "the response body is larger than {} bytes; reading stopped",
            self.max_body_bytes
        ))
        .with_status(status)
    }
}

/// The total timeout ran out: the request may have reached the provider.
fn timed_out(timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "no complete answer within {} s; the request may have reached the provider",
            timeout.as_secs_f32()
        ),
    )
    .with_request_sent(true)
}

/// Classifies a reqwest error, dropping its URL (a URL may carry a code in its path). A TLS
/// failure says so; a certificate that was refused is not retryable, since it would be
/// refused the same way again.
fn from_reqwest(error: reqwest::Error, timeout: Duration) -> Error {
    let error = error.without_url();
    if error.is_timeout() {
        if !error.is_connect() {
            return timed_out(timeout).with_source(error);
        }
        return Error::new(
            ErrorKind::Timeout,
            "the connection could not be made in time; nothing was sent",
        )
        .with_request_sent(false)
        .with_source(error);
    }
    let tls = tls_failure(&error);
    if error.is_connect() {
        let transport = |message: String| {
            Error::new(ErrorKind::Transport, message)
                .with_request_sent(false)
                .with_source(error)
        };
        return match tls {
            Some(TlsFailure::Certificate(why)) => transport(format!(
                "TLS failed: the provider's certificate was refused ({why}); nothing was sent, \
                 and trying again fails the same way until the certificate or the trusted roots \
                 change"
            ))
            .permanent(),
            Some(TlsFailure::Other(why)) => transport(format!(
                "TLS failed while connecting ({why}); nothing was sent"
            )),
            None => transport("the connection could not be made; nothing was sent".to_owned()),
        };
    }
    let message = match tls {
        Some(TlsFailure::Certificate(why) | TlsFailure::Other(why)) => format!(
            "the TLS connection failed during the exchange ({why}); the request may have \
             reached the provider"
        ),
        None => "the connection failed during the exchange; the request may have reached the \
                 provider"
            .to_owned(),
    };
    Error::new(ErrorKind::Transport, message)
        .with_request_sent(true)
        .with_source(error)
}

/// A TLS failure found among an error's causes, described.
enum TlsFailure {
    /// The peer's certificate was refused (untrusted, expired, wrong name, missing).
    Certificate(String),
    /// Any other TLS failure (protocol, alert, corrupt message).
    Other(String),
}

/// Walks `error`'s chain of causes for a rustls error. `std::io::Error` wraps it without
/// reporting it as its `source()`, so each I/O error is looked inside as well.
fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<TlsFailure> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            let certificate = matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
            );
            let why = tls.to_string();
            return Some(if certificate {
                TlsFailure::Certificate(why)
            } else {
                TlsFailure::Other(why)
            });
        }
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => std::error::Error::source(io),
            },
            None => current.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path_prefix() {
        let base = Url::parse("https://api.example.com/v1/").unwrap();
        assert_eq!(
            endpoint(&base, "/sendOTPEmail").as_str(),
            "https://api.example.com/v1/sendOTPEmail"
        );
        let url = endpoint_with_segments(&base, "verify/check", &["a/b", "12 34"]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.example.com/v1/verify/check/a%2Fb/12%2034"
        );
        for bad in ["", ".", ".."] {
            assert!(endpoint_with_segments(&base, "verify/check", &["id", bad]).is_err());
        }
    }

    #[test]
    fn retry_after_accepts_seconds_dates_and_ignores_junk() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_a_minute = httpdate::fmt_http_date(now + Duration::from_secs(60));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(60));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 42 ", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(parse_retry_after("-3", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&in_a_minute, now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        for junk in ["", "-", "abc", "1.5", "4 2", "Tue, 99 Foo 2024"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn json_seconds_are_tolerant() {
        use serde_json::json;
        assert_eq!(seconds_from_json(&json!(42)), Some(Duration::from_secs(42)));
        assert_eq!(
            seconds_from_json(&json!("42")),
            Some(Duration::from_secs(42))
        );
        assert_eq!(seconds_from_json(&json!(-1)), Some(Duration::ZERO));
        assert_eq!(seconds_from_json(&json!(1e300)), Some(MAX_RETRY_AFTER));
        assert_eq!(seconds_from_json(&json!(null)), None);
    }

    #[test]
    fn bad_bodies_are_described_without_quoting_them() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "empty"),
            (
                b"<html><body>502 Bad Gateway jane@example.com</body></html>",
                "HTML",
            ),
            (br#"{"ok": true, "mess"#, "truncated"),
            (br#"{"ok": "secret-value"}"#, "shape"),
        ];
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Shape {
            ok: bool,
        }
        for (body, expected) in cases {
            let err = HttpResponse::new(200, body).json::<Shape>().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedResponse);
            assert!(err.message().contains(expected), "{err}");
            assert!(!err.message().contains("jane"), "{err}");
            assert!(!err.message().contains("secret-value"), "{err}");
        }
    }

    #[test]
    fn debug_shows_no_body_code_credential_or_recipient() {
        let base = Url::parse("https://api.example.com/api/v2/").unwrap();
        let url = endpoint_with_segments(&base, "verify/check", &["ab12cd", "654321"]).unwrap();
        let mut url = url;
        url.query_pairs_mut()
            .append_pair("recipient", "+14155550123");
        let request = HttpRequest::post_json(
            url,
            &serde_json::json!({"otp": "987654", "client_secret": "S3cr3t", "email": "jane@x.io"}),
        )
        .unwrap()
        .header("x-request-id", "plain-header-value")
        .unwrap();
        let text = format!("{request:?}");
        for leak in [
            "654321",
            "4155550123",
            "987654",
            "S3cr3t",
            "jane",
            "plain-header-value",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        assert!(
            text.contains("https://api.example.com/api/v2/verify/check/ab12cd/***?recipient=***"),
            "{text}"
        );
        assert!(text.contains("x-request-id"), "{text}");
        let response =
            HttpResponse::new(200, r#"{"access_token":"eyJ.secret","email":"jane@x.io"}"#);
        let text = format!("{response:?}");
        assert!(!text.contains("eyJ") && !text.contains("jane"), "{text}");
        assert!(text.contains("200"), "{text}");
    }

    #[test]
    fn post_json_with_keeps_the_prepared_headers_and_adds_the_content_type_once() {
        let url = Url::parse("https://x.example/send").unwrap();
        let prepared = header_map(&[("x-client-id", "client_id", "abc", true)]).unwrap();
        let request = HttpRequest::post_json_with(url.clone(), &prepared, &[1, 2]).unwrap();
        assert_eq!(request.headers.len(), 2);
        assert!(request.headers["x-client-id"].is_sensitive());
        assert_eq!(request.headers[CONTENT_TYPE], "application/json");
        assert_eq!(request.body.as_deref(), Some(&b"[1,2]"[..]));
        let mut with_type = prepared.clone();
        with_type.insert(CONTENT_TYPE, json_content_type());
        let request = HttpRequest::post_json_with(url, &with_type, &[1]).unwrap();
        assert_eq!(request.headers.get_all(CONTENT_TYPE).iter().count(), 1);
        assert_eq!(request.headers.len(), 2);
    }

    #[test]
    fn a_transport_keeps_one_client_per_runtime() {
        let transport = Transport::new(
            DEFAULT_TIMEOUT,
            DEFAULT_CONNECT_TIMEOUT,
            &HttpOptions::default(),
        )
        .unwrap();
        let Clients::PerRuntime { by_runtime, .. } = &*transport.clients else {
            panic!("otpkit's own clients expected");
        };
        let runtimes = || -> Vec<Option<tokio::runtime::Id>> {
            by_runtime.read().unwrap().iter().map(|(r, _)| *r).collect()
        };
        // Starting a request picks the client; the future is dropped unpolled (nothing sent).
        let start = || {
            let request =
                reqwest::Request::new(Method::GET, Url::parse("http://127.0.0.1:9/").unwrap());
            drop(transport.clients.execute(request).unwrap());
        };
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
        };
        // Built outside any runtime: one client, which the first runtime takes.
        assert_eq!(runtimes(), vec![None]);
        let first = runtime();
        first.block_on(async { start() });
        first.block_on(async { start() });
        assert_eq!(runtimes(), vec![Some(first.handle().id())]);
        // Another runtime gets a client of its own; the first keeps its.
        let second = runtime();
        second.block_on(async { start() });
        first.block_on(async { start() });
        assert_eq!(
            runtimes(),
            vec![Some(first.handle().id()), Some(second.handle().id())]
        );
        // Clones share the clients.
        let clone = transport.clone();
        assert!(Arc::ptr_eq(&clone.clients, &transport.clients));
        // At most RUNTIMES_KEPT are remembered, the oldest dropped first.
        let later: Vec<_> = (0..RUNTIMES_KEPT).map(|_| runtime()).collect();
        for rt in &later {
            rt.block_on(async { start() });
        }
        let ids: Vec<_> = later.iter().map(|rt| Some(rt.handle().id())).collect();
        assert_eq!(runtimes(), ids);
    }

    #[test]
    fn a_callers_client_is_used_on_every_runtime() {
        let client = build_client(Duration::from_secs(1)).unwrap();
        let options = HttpOptions::default().client(client);
        let transport = Transport::new(DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, &options).unwrap();
        assert!(matches!(&*transport.clients, Clients::Given(_)));
    }

    #[test]
    fn header_values_with_line_breaks_are_refused() {
        let url = Url::parse("https://x.example/").unwrap();
        let err = HttpRequest::get(url)
            .secret_header("x-client-id", "abc\r\nX-Evil: 1")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.message().contains("x-client-id"));
    }

    /// A seeded xorshift, so a failure names its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn text(&mut self, max: u64) -> String {
            let len = self.next() % max;
            (0..len)
                .map(|_| char::from_u32((self.next() % 0x2FF) as u32).unwrap_or('?'))
                .collect()
        }
    }

    #[test]
    fn retry_after_never_panics_and_stays_capped() {
        for seed in 1..=5000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let value = match rng.next() % 5 {
                0 => (rng.next() >> (rng.next() % 64)).to_string(),
                1 => format!("-{}", rng.next() >> (rng.next() % 64)),
                2 => httpdate::fmt_http_date(
                    SystemTime::UNIX_EPOCH + Duration::from_secs(rng.next() % 253_402_300_799),
                ),
                _ => rng.text(30),
            };
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(rng.next() % 253_402_300_799);
            if let Some(after) = parse_retry_after(&value, now) {
                assert!(
                    after <= MAX_RETRY_AFTER,
                    "seed {seed}: {value:?} gave {after:?}"
                );
            }
        }
    }

    #[test]
    fn json_seconds_never_panic_and_stay_capped() {
        use serde_json::{json, Value};
        for seed in 1..=5000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let value = match rng.next() % 3 {
                0 => json!(rng.next() as i64),
                1 => json!(f64::from_bits(rng.next())),
                _ => Value::String(
                    ["NaN", "inf", "-inf", "1e400", "-0", " 7 ", "0x10"][(rng.next() % 7) as usize]
                        .to_owned(),
                ),
            };
            if let Some(secs) = seconds_from_json(&value) {
                assert!(
                    secs <= MAX_RETRY_AFTER,
                    "seed {seed}: {value} gave {secs:?}"
                );
            }
        }
    }

    #[test]
    fn the_documented_header_map_example_holds() -> Result<(), crate::Error> {
        let headers = crate::http::header_map(&[("x-client-id", "client_id", "abc", true)])?;
        assert!(headers["x-client-id"].is_sensitive());
        Ok(())
    }

    #[test]
    fn the_documented_parse_retry_after_example_holds() -> Result<(), crate::Error> {
        use crate::http::parse_retry_after;
        use std::time::{Duration, SystemTime};

        let now = SystemTime::now();
        assert_eq!(parse_retry_after("42", now), Some(Duration::from_secs(42)));
        assert_eq!(parse_retry_after("-5", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("10000000000", now),
            Some(crate::MAX_RETRY_AFTER)
        );
        Ok(())
    }
}
