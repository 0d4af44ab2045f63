//! Requests and replies as plain data: what a provider module reads ([`Req`]: method, path,
//! query, headers, body and the credential forms) and what it answers ([`Reply`]).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use serde_json::{Map, Value};

/// A request as a provider module sees it.
pub(super) struct Req {
    /// `GET`, `POST`, …
    pub(super) method: String,
    /// The path after the provider's prefix, e.g. `api/otp/send`.
    pub(super) path: String,
    /// The query parameters, decoded, in order.
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Req {
    /// A header's value, when it is text.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether every one of these headers has exactly this value (the header-pair credentials
    /// of Thaaigroup, HyperVerge and the generic service).
    pub(super) fn has_headers(&self, expected: &[(&str, &str)]) -> bool {
        expected
            .iter()
            .all(|&(name, value)| self.header(name) == Some(value))
    }

    /// A query parameter's first value.
    pub(super) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, or `None`.
    pub(super) fn json(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// The token of `Authorization: Bearer <token>`.
    pub(super) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The user and password of `Authorization: Basic <base64(user:password)>`, undecoded.
    pub(super) fn basic(&self) -> Option<(String, String)> {
        use base64::Engine as _;
        let value = self.header("authorization")?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

/// An answer, as plain data.
pub(super) struct Reply {
    pub(super) status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    pub(super) body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub(super) fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    /// An HTML page.
    pub(super) fn html(status: u16, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/html; charset=UTF-8",
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// No body, typed as JSON.
    pub(super) fn empty(status: u16) -> Self {
        Reply {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Whether the answer has this header (names compared case-insensitively).
    pub(super) fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The answer with one more header.
    pub(super) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The answer as hyper sends it.
    pub(super) fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut builder = hyper::Response::builder()
            .status(self.status)
            .header("content-type", self.content_type);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| {
                let mut response = hyper::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                response
            })
    }
}
