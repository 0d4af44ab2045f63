//! Every request of every provider asks for JSON (`Accept: application/json`): all five APIs
//! answer JSON, and a Laravel backend answers a client that does not ask for it with a redirect
//! instead of its validation errors (the sandbox does the same; see `sandbox_wire`).

use std::sync::{Arc, Mutex};

use crate::local_server::{Action, LocalServer, Response};
use crate::table::{compiled, Op};

/// Each request's path and `Accept` header, as the server saw them.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[tokio::test]
async fn every_request_of_every_provider_accepts_json() {
    for entry in compiled() {
        let handle = entry.handle().await;
        let seen: Seen = Arc::default();
        let record = seen.clone();
        let send_ok = entry.send_ok;
        let server = LocalServer::start(move |request, _| {
            record.lock().unwrap().push((
                request.path.clone(),
                request.header("accept").map(str::to_owned),
            ));
            Action::Respond(Response::json(200, send_ok))
        })
        .await;
        let provider = entry.provider(&server.url());
        // The outcomes do not matter here (a send answer is no verify answer), only what was
        // asked for.
        for op in Op::ALL {
            let _ = entry.run(provider.as_ref(), op, &handle).await;
        }
        let _ = provider.resend(&handle).await;
        let _ = provider.status(&handle).await;
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2, "{}: {seen:?}", entry.id);
        for (path, accept) in seen.iter() {
            assert_eq!(
                accept.as_deref(),
                Some("application/json"),
                "{} {path}",
                entry.id
            );
        }
    }
}
