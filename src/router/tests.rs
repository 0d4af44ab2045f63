//! The router with scripted members (no HTTP): every failover trigger and non-trigger,
//! routing, stickiness, health and the build-time checks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::*;
use crate::receipt::VerificationState;
use crate::recipient::Recipient;
use crate::request::{Channel, Purpose};

/// A member that answers `send` from a script and counts every call.
#[derive(Debug)]
struct Scripted {
    id: &'static str,
    caps: Capabilities,
    script: Mutex<VecDeque<Result<(), Error>>>,
    calls: Arc<Calls>,
}

#[derive(Debug, Default)]
struct Calls {
    send: AtomicUsize,
    verify: AtomicUsize,
    resend: AtomicUsize,
    status: AtomicUsize,
}

impl Calls {
    fn sends(&self) -> usize {
        self.send.load(Ordering::SeqCst)
    }
    fn others(&self) -> usize {
        self.verify.load(Ordering::SeqCst)
            + self.resend.load(Ordering::SeqCst)
            + self.status.load(Ordering::SeqCst)
    }
}

impl Scripted {
    /// A member reaching every phone and email, answering `Ok` unless scripted.
    fn working(id: &'static str) -> (Box<dyn OtpProvider>, Arc<Calls>) {
        Self::with(id, Capabilities::new([Channel::Email, Channel::Sms]), [])
    }

    fn with(
        id: &'static str,
        caps: Capabilities,
        script: impl IntoIterator<Item = Result<(), Error>>,
    ) -> (Box<dyn OtpProvider>, Arc<Calls>) {
        let calls = Arc::new(Calls::default());
        let member = Scripted {
            id,
            caps,
            script: Mutex::new(script.into_iter().collect()),
            calls: calls.clone(),
        };
        (Box::new(member), calls)
    }

    fn failing(id: &'static str, errors: Vec<Error>) -> (Box<dyn OtpProvider>, Arc<Calls>) {
        Self::with(
            id,
            Capabilities::new([Channel::Email, Channel::Sms]),
            errors.into_iter().map(Err),
        )
    }
}

#[async_trait]
impl OtpProvider for Scripted {
    fn id(&self) -> &'static str {
        self.id
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        self.calls.send.fetch_add(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
        next.map_err(|e| e.in_context(self.id, "send"))?;
        let handle = Verification::new(self.id, request.recipient.clone())
            .with_reference("ref-1")
            .with_member(request.member.clone());
        Ok(SendReceipt::new(handle))
    }
    async fn verify(&self, handle: &Verification, _code: &str) -> Result<Verified, Error> {
        self.calls.verify.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            handle.provider(),
            self.id,
            "verify went to the wrong member"
        );
        Ok(Verified::new(self.id))
    }
    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        self.calls.resend.fetch_add(1, Ordering::SeqCst);
        Ok(SendReceipt::new(handle.clone()))
    }
    async fn status(&self, _handle: &Verification) -> Result<StatusReport, Error> {
        self.calls.status.fetch_add(1, Ordering::SeqCst);
        Ok(StatusReport::new(VerificationState::Pending))
    }
}

fn phone() -> Recipient {
    "+919812345678".parse().unwrap()
}

fn two(first: Box<dyn OtpProvider>, second: Box<dyn OtpProvider>) -> Router {
    Router::builder()
        .member("first", first)
        .member("second", second)
        .route("*", ["first", "second"])
        .build()
        .unwrap()
}

/// Every kind with every `request_sent` variant, and whether the router must move on.
fn every_outcome() -> Vec<(Error, bool)> {
    let mut all = Vec::new();
    for kind in ErrorKind::ALL {
        let triggers = matches!(
            kind,
            ErrorKind::Unsupported
                | ErrorKind::Unavailable
                | ErrorKind::QuotaExceeded
                | ErrorKind::InvalidCredentials
        );
        let never_left = matches!(kind, ErrorKind::Timeout | ErrorKind::Transport);
        all.push((Error::new(kind, "scripted"), triggers));
        all.push((
            Error::new(kind, "scripted").with_request_sent(false),
            triggers || never_left,
        ));
        all.push((
            Error::new(kind, "scripted").with_request_sent(true),
            triggers,
        ));
    }
    all
}

#[tokio::test]
async fn each_trigger_moves_on_and_each_non_trigger_stops_there() {
    for (error, moves_on) in every_outcome() {
        let what = format!("{error:?}");
        let kind = error.kind();
        let (first, first_calls) = Scripted::failing("alpha", vec![error]);
        let (second, second_calls) = Scripted::working("beta");
        let router = two(first, second);
        let outcome = router.send(&SendRequest::new(phone())).await;
        assert_eq!(first_calls.sends(), 1, "{what}");
        if moves_on {
            let receipt = outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(receipt.verification.member(), Some("second"), "{what}");
            assert_eq!(receipt.verification.provider(), "beta", "{what}");
            assert_eq!(second_calls.sends(), 1, "{what}");
        } else {
            let err = outcome.expect_err(&what);
            assert_eq!(err.kind(), kind, "{what}");
            assert_eq!(err.provider(), Some("alpha"), "{what}");
            assert_eq!(second_calls.sends(), 0, "{what}: never a second send");
        }
    }
}

#[tokio::test]
async fn the_named_non_triggers_stop_at_the_first_member() {
    let stops = [
        Error::new(ErrorKind::InvalidCode, "rejected"),
        Error::new(ErrorKind::InvalidRecipient, "bad number"),
        Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(Duration::from_secs(9)),
        Error::new(ErrorKind::Cooldown, "wait").with_retry_after(Duration::from_secs(30)),
        Error::new(ErrorKind::Timeout, "no answer").with_request_sent(true),
        Error::new(ErrorKind::Transport, "reset").with_request_sent(true),
        Error::new(ErrorKind::UnexpectedResponse, "html"),
    ];
    for error in stops {
        let kind = error.kind();
        let retry_after = error.retry_after();
        let (first, _) = Scripted::failing("alpha", vec![error]);
        let (second, second_calls) = Scripted::working("beta");
        let err = two(first, second)
            .send(&SendRequest::new(phone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.retry_after(), retry_after, "{kind}");
        assert_eq!(second_calls.sends(), 0, "{kind}");
    }
}

#[tokio::test]
async fn when_every_member_fails_the_error_is_the_last_members_and_names_each() {
    let (first, _) = Scripted::failing(
        "alpha",
        vec![Error::new(ErrorKind::Unavailable, "down").with_status(503)],
    );
    let (second, _) = Scripted::failing(
        "beta",
        vec![Error::new(ErrorKind::QuotaExceeded, "no credit")
            .with_status(402)
            .with_code("INSUFFICIENT_BALANCE")
            .with_retry_after(Duration::from_secs(60))],
    );
    let err = two(first, second)
        .send(&SendRequest::new(phone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    assert_eq!(err.provider(), Some("beta"));
    assert_eq!(err.status(), Some(402));
    assert_eq!(err.provider_code(), Some("INSUFFICIENT_BALANCE"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    let message = err.message();
    assert!(message.contains("`first` failed over"), "{message}");
    assert!(
        message.contains("unavailable (HTTP 503): down"),
        "{message}"
    );
    assert!(message.contains("`second` failed over"), "{message}");
    assert!(message.contains("no credit"), "{message}");
}

#[tokio::test]
async fn a_stop_after_a_failover_names_the_members_left_before() {
    let (first, _) = Scripted::failing("alpha", vec![Error::new(ErrorKind::Unavailable, "down")]);
    let (second, _) = Scripted::failing("beta", vec![Error::new(ErrorKind::RateLimited, "slow")]);
    let err = two(first, second)
        .send(&SendRequest::new(phone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.provider(), Some("beta"));
    assert!(err.message().starts_with("slow"), "{err}");
    assert!(err.message().contains("`first` failed over"), "{err}");
}

#[tokio::test]
async fn the_first_fitting_route_is_used_and_no_route_is_unsupported() {
    let (india, india_calls) = Scripted::working("alpha");
    let (world, world_calls) = Scripted::working("beta");
    let router = Router::builder()
        .member("india", india)
        .member("world", world)
        .route("+91", ["india"])
        .route("phone", ["world"])
        .build()
        .unwrap();
    router.send(&SendRequest::new(phone())).await.unwrap();
    assert_eq!((india_calls.sends(), world_calls.sends()), (1, 0));
    let us = SendRequest::new("+14155550123".parse().unwrap());
    let receipt = router.send(&us).await.unwrap();
    assert_eq!(receipt.verification.member(), Some("world"));
    assert_eq!((india_calls.sends(), world_calls.sends()), (1, 1));
    let err = router
        .send(&SendRequest::new("jane@example.com".parse().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.provider(), Some("router"));
    assert!(!err.message().contains("jane@"), "{err}");
    assert_eq!((india_calls.sends(), world_calls.sends()), (1, 1));
}

#[tokio::test]
async fn members_that_cannot_serve_the_request_are_passed_over_without_a_request() {
    let sms_india = || {
        Capabilities::new([Channel::Sms])
            .phone(Some(vec!["+91".into()]))
            .verify_purposes([Purpose::Login])
    };
    let cases: Vec<(&str, SendRequest)> = vec![
        (
            "email recipient",
            SendRequest::new("a@b.co".parse().unwrap()),
        ),
        (
            "other country",
            SendRequest::new("+14155550123".parse().unwrap()),
        ),
        (
            "channel",
            SendRequest::new(phone()).channel(Channel::Whatsapp),
        ),
        (
            "purpose",
            SendRequest::new(phone()).purpose(Purpose::Signup),
        ),
        (
            "caller's code",
            SendRequest::new(phone()).custom_code(crate::OtpCode::parse("1234").unwrap()),
        ),
    ];
    for (what, request) in cases {
        let (first, first_calls) = Scripted::with("alpha", sms_india(), []);
        let (second, second_calls) = Scripted::with(
            "beta",
            Capabilities::new([Channel::Email, Channel::Sms, Channel::Whatsapp]).custom_code(true),
            [],
        );
        let receipt = two(first, second).send(&request).await.unwrap();
        assert_eq!(receipt.verification.member(), Some("second"), "{what}");
        assert_eq!(
            first_calls.sends(),
            0,
            "{what}: no request to a member passed over"
        );
        assert_eq!(second_calls.sends(), 1, "{what}");
    }
    // Nobody can: `unsupported` naming the member, with no request.
    let (only, only_calls) = Scripted::with("alpha", sms_india(), []);
    let router = Router::builder()
        .member("india", only)
        .route("*", ["india"])
        .build()
        .unwrap();
    let err = router
        .send(&SendRequest::new(phone()).purpose(Purpose::Signup))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.provider(), Some("alpha"));
    assert!(err.message().contains("`india` passed over"), "{err}");
    assert_eq!(only_calls.sends(), 0);
}

#[tokio::test]
async fn verify_resend_and_status_go_to_the_handles_member_only() {
    let (first, first_calls) =
        Scripted::failing("alpha", vec![Error::new(ErrorKind::Unavailable, "")]);
    let (second, second_calls) = Scripted::working("beta");
    let router = two(first, second);
    let receipt = router.send(&SendRequest::new(phone())).await.unwrap();
    // After a restart: the member travels in the token.
    let handle = Verification::from_token(&receipt.verification.to_token()).unwrap();
    assert_eq!(handle.member(), Some("second"));
    router.verify(&handle, "123456").await.unwrap();
    let resent = router.resend(&handle).await.unwrap();
    assert_eq!(resent.verification.member(), Some("second"));
    router.status(&handle).await.unwrap();
    assert_eq!(first_calls.others(), 0);
    assert_eq!(second_calls.others(), 3);

    // No member in the handle: invalid_request, no request.
    let plain = Verification::new("beta", phone());
    let err = router.verify(&plain, "123456").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    // A member no longer configured: config, no request.
    let gone = Verification::new("beta", phone()).with_member(Some("retired".into()));
    for err in [
        router.verify(&gone, "123456").await.unwrap_err(),
        router.resend(&gone).await.unwrap_err(),
        router.status(&gone).await.map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("members.retired"), "{err}");
    }
    assert_eq!(first_calls.others() + second_calls.others(), 3);
}

#[tokio::test]
async fn a_failing_member_is_passed_over_for_its_window_then_tried_again() {
    let now = Arc::new(Mutex::new(Instant::now()));
    let clock = now.clone();
    let down = || Error::new(ErrorKind::Unavailable, "down");
    let (first, first_calls) = Scripted::failing("alpha", vec![down(), down(), down()]);
    let (second, second_calls) = Scripted::working("beta");
    let router = Router::builder()
        .member_with(
            "first",
            first,
            HealthPolicy::new(2, Duration::from_secs(30)),
        )
        .member("second", second)
        .route("*", ["first", "second"])
        .build()
        .unwrap()
        .with_clock(move || *clock.lock().unwrap());
    let request = SendRequest::new(phone());
    let send = || router.send(&request);
    send().await.unwrap();
    send().await.unwrap();
    assert_eq!(first_calls.sends(), 2);
    // Passed over: no request to it.
    let receipt = send().await.unwrap();
    assert_eq!(receipt.verification.member(), Some("second"));
    assert_eq!(first_calls.sends(), 2);
    *now.lock().unwrap() += Duration::from_secs(29);
    send().await.unwrap();
    assert_eq!(first_calls.sends(), 2);
    // The window is over: tried again (and it fails once more, so passed over again).
    *now.lock().unwrap() += Duration::from_secs(1);
    send().await.unwrap();
    assert_eq!(first_calls.sends(), 3);
    send().await.unwrap();
    assert_eq!(first_calls.sends(), 3);
    // Back after the next window, and it answers now: the run ends.
    *now.lock().unwrap() += Duration::from_secs(30);
    let receipt = send().await.unwrap();
    assert_eq!(receipt.verification.member(), Some("first"));
    send().await.unwrap();
    assert_eq!(first_calls.sends(), 5);
    assert_eq!(second_calls.sends(), 6);
}

#[tokio::test]
async fn a_skipped_last_member_gives_unavailable_with_the_wait() {
    let (only, calls) =
        Scripted::failing("alpha", vec![Error::new(ErrorKind::Unavailable, "down")]);
    let router = Router::builder()
        .member_with("only", only, HealthPolicy::new(1, Duration::from_secs(30)))
        .route("*", ["only"])
        .build()
        .unwrap();
    router.send(&SendRequest::new(phone())).await.unwrap_err();
    let err = router.send(&SendRequest::new(phone())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.retry_after().is_some());
    assert!(err.message().contains("`only` skipped"), "{err}");
    assert_eq!(calls.sends(), 1);
}

#[test]
fn building_checks_names_routes_and_capabilities() {
    let phones = || Scripted::with("alpha", Capabilities::new([Channel::Sms]), []).0;
    let mail = || Scripted::with("beta", Capabilities::new([Channel::Email]), []).0;
    let india = || {
        Scripted::with(
            "gamma",
            Capabilities::new([Channel::Sms]).phone(Some(vec!["+91".into()])),
            [],
        )
        .0
    };
    let message = |b: RouterBuilder| {
        let err = b.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        err.message().to_owned()
    };
    assert!(message(Router::builder().route("*", ["x"])).contains("members"));
    assert!(message(Router::builder().member("a", phones())).contains("routes"));
    let m = message(Router::builder().member("a", phones()).route("*", ["b"]));
    assert!(m.contains("routes[0].use") && m.contains("`b`"), "{m}");
    let m = message(
        Router::builder()
            .member("a", phones())
            .route("email", ["a"]),
    );
    assert!(m.contains("routes[0].use") && m.contains("`a`"), "{m}");
    let m = message(Router::builder().member("a", mail()).route("+91", ["a"]));
    assert!(m.contains("+91"), "{m}");
    let m = message(
        Router::builder()
            .member("a", india())
            .member("b", phones())
            .route("phone", ["b"])
            .route("+86", ["b", "a"]),
    );
    assert!(
        m.contains("routes[1].use") && m.contains("member `a`"),
        "{m}"
    );
    let m = message(
        Router::builder()
            .member("a", phones())
            .route("*", ["a", "a"]),
    );
    assert!(m.contains("routes[0].use") && m.contains("twice"), "{m}");
    let m = message(Router::builder().member("a", phones()).route("91", ["a"]));
    assert!(m.contains("routes[0].match"), "{m}");
    let m = message(
        Router::builder()
            .member("a", phones())
            .route("*", Vec::<String>::new()),
    );
    assert!(m.contains("routes[0].use"), "{m}");
    let m = message(
        Router::builder()
            .member("a b", phones())
            .route("*", ["a b"]),
    );
    assert!(m.contains("members"), "{m}");
    let m = message(
        Router::builder()
            .member("a", phones())
            .member("a", phones())
            .route("*", ["a"]),
    );
    assert!(m.contains("members.a"), "{m}");
    let m = message(
        Router::builder()
            .member_with("a", phones(), HealthPolicy::new(0, Duration::from_secs(1)))
            .route("*", ["a"]),
    );
    assert!(m.contains("members.a.skip_after_failures"), "{m}");
    let inner = Router::builder()
        .member("a", phones())
        .route("*", ["a"])
        .build()
        .unwrap();
    let m = message(
        Router::builder()
            .member("nested", Box::new(inner))
            .route("*", ["nested"]),
    );
    assert!(m.contains("members.nested.provider"), "{m}");
    // `+91` with a member reaching +91 numbers and `*` with a mail-only member are fine.
    assert!(Router::builder()
        .member("in", india())
        .member("mail", mail())
        .route("+91", ["in"])
        .route("*", ["mail", "in"])
        .build()
        .is_ok());
}

#[test]
fn capabilities_are_the_union_and_the_id_is_router() {
    let india = Scripted::with(
        "gamma",
        Capabilities::new([Channel::Sms]).phone(Some(vec!["+91".into()])),
        [],
    )
    .0;
    let mail = Scripted::with("beta", Capabilities::new([Channel::Email]), []).0;
    let router = Router::builder()
        .member("in", india)
        .member("mail", mail)
        .route("*", ["in", "mail"])
        .build()
        .unwrap();
    assert_eq!(router.id(), "router");
    let caps = router.capabilities();
    assert!(caps.email && caps.phone);
    assert_eq!(caps.phone_prefixes, Some(vec!["+91".to_owned()]));
    assert_eq!(caps.channels, [Channel::Sms, Channel::Email]);
    assert_eq!(router.member_names().collect::<Vec<_>>(), ["in", "mail"]);
    assert!(format!("{router:?}").contains("\"in\""));
}
