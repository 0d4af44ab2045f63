//! The HTTP server: the accept loop, reading a request into a [`Req`], routing it to its
//! provider (or to a failure queued for that provider), and the `/_sandbox/` control routes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::routing::{route, Route, ROUTES};
use super::state::Shared;
use super::wire::{Reply, Req};
use super::{Failure, Sandbox};
use crate::magic::MagicOutcome;

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// Where the control routes live: `POST /_sandbox/fail/{provider}/{failure}` queues a failure
/// (as [`Sandbox::fail_next`]) for processes that cannot call the Rust API, such as the
/// command-line example.
const CONTROL_PREFIX: &str = "/_sandbox/";

/// Serves connections until the task is aborted (when the [`Sandbox`] is dropped).
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(serve(&shared, request).await) }
            });
            // A client that goes away mid-exchange is its own business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Answers one request.
async fn serve(shared: &Shared, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if let Some(rest) = path.strip_prefix(CONTROL_PREFIX) {
        return control(shared, parts.method.as_str(), rest).into_response();
    }
    let Some(route) = ROUTES.iter().find(|r| path.starts_with(r.prefix)) else {
        return Reply::json(
            404,
            json!({"message": "not a sandbox route", "routes": ROUTES.iter().map(|r| r.prefix).collect::<Vec<_>>()}),
        )
        .into_response();
    };
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Reply::json(413, json!({"message": "request body too large"})).into_response()
        }
    };
    let req = Req {
        method: parts.method.as_str().to_owned(),
        path: path[route.prefix.len()..].to_owned(),
        query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body,
    };
    let injected = shared
        .lock()
        .failures
        .get_mut(route.id)
        .and_then(VecDeque::pop_front);
    let reply = match (injected, magic_request(&req)) {
        (Some(failure), _) => forced(shared, route, &req, failure).await,
        (None, Some(outcome)) => magic(shared, route, &req, outcome).await,
        (None, None) => (route.handle)(shared, &req),
    };
    reply.into_response()
}

/// The magic outcome of a recipient named anywhere in the request (see [`crate::magic`]).
fn magic_request(req: &Req) -> Option<MagicOutcome> {
    let query: Vec<&str> = req.query.iter().map(|(_, v)| v.as_str()).collect();
    let text = format!(
        "{} {} {}",
        req.path,
        query.join(" "),
        String::from_utf8_lossy(&req.body)
    );
    crate::magic::magic_in_text(&text)
}

/// The answer for a magic recipient, in the provider's own shape: the table of
/// [`crate::magic`] is the same for every provider and for the mock.
async fn magic(shared: &Shared, route: &Route, req: &Req, outcome: MagicOutcome) -> Reply {
    let failure = match outcome {
        MagicOutcome::Unavailable => Failure::ServerError,
        MagicOutcome::QuotaExceeded => Failure::QuotaExceeded,
        MagicOutcome::RateLimited => Failure::RateLimited,
        MagicOutcome::InvalidRecipient => Failure::InvalidRecipient,
        MagicOutcome::Slow => {
            tokio::time::sleep(shared.options.slow).await;
            return (route.handle)(shared, req);
        }
        // The code is issued but never disclosed (see `Shared::issue`).
        _ => return (route.handle)(shared, req),
    };
    let reply = (route.failure)(shared, req, failure);
    if failure == Failure::RateLimited && reply.status == 429 && !reply.has_header("retry-after") {
        // A throttled answer names its wait, as HTTP's 429 does.
        return reply.header(
            "retry-after",
            crate::magic::RATE_LIMIT_RETRY_AFTER.as_secs().to_string(),
        );
    }
    reply
}

/// The answer to a request with a queued failure: the two every provider shares (a hang, an
/// HTML page), or the provider's own documented shape.
async fn forced(shared: &Shared, route: &Route, req: &Req, failure: Failure) -> Reply {
    match failure {
        Failure::Hang => {
            tokio::time::sleep(shared.options.hang).await;
            Reply::json(504, json!({"message": "the sandbox hung on purpose"}))
        }
        Failure::HtmlPage => Reply::html(
            200,
            "<!DOCTYPE html><html><head><title>Sign in to the network</title></head>\
             <body><h1>Sign in to continue</h1><p>This page was served by the otpkit sandbox \
             in place of the provider's JSON.</p></body></html>",
        ),
        failure => (route.failure)(shared, req, failure),
    }
}

/// Answers a control route (the path after [`CONTROL_PREFIX`]).
fn control(shared: &Shared, method: &str, rest: &str) -> Reply {
    let parts: Vec<&str> = rest.split('/').collect();
    let ["fail", provider, failure] = parts.as_slice() else {
        return Reply::json(
            404,
            json!({"message": "POST /_sandbox/fail/{provider}/{failure}"}),
        );
    };
    if method != "POST" {
        return Reply::json(405, json!({"message": "use POST"}));
    }
    let (Some(route), Some(failure)) = (route(provider), Failure::parse(failure)) else {
        return Reply::json(
            404,
            json!({
                "message": "unknown provider or failure",
                "providers": Sandbox::PROVIDERS,
                "failures": Failure::ALL.map(Failure::as_str),
            }),
        );
    };
    shared.queue_failure(route.id, failure);
    Reply::json(
        200,
        json!({"queued": failure.as_str(), "provider": route.id}),
    )
}
