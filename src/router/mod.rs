//! The router (contract §7): one [`OtpProvider`] built from named members, each a whole
//! provider, and ordered routes. `send` takes the first route whose `match` fits the recipient
//! and tries its members in order, moving on only when nothing can have reached the end user
//! ([`fails_over`]); `verify`, `resend` and `status` go to the member named in the handle and
//! nowhere else.
//!
//! From configuration (`provider = "router"`, see [`RouterConfig`](crate::RouterConfig)) or in code:
//!
//! ```
//! use otpkit::router::Router;
//! use otpkit::providers::thaaigroup::Config;
//! use otpkit::{CommonConfig, HttpOptions, OtpProvider, ProviderSettings};
//!
//! let mail = |secret: &str| -> Result<Box<dyn OtpProvider>, otpkit::Error> {
//!     Config::new("id", secret, "example.com")
//!         .build_provider(&CommonConfig::default(), &HttpOptions::default())
//! };
//! let router = Router::builder()
//!     .member("primary", mail("secret-1")?)
//!     .member("backup", mail("secret-2")?)
//!     .route("email", ["primary", "backup"])
//!     .build()?;
//! assert_eq!(router.id(), "router");
//! assert!(router.capabilities().email);
//! # Ok::<(), otpkit::Error>(())
//! ```
//!
//! Layout: `routing` matches recipients, `failover` decides when to move on, `health` passes
//! over failing members; the configuration ([`RouterConfig`](crate::RouterConfig)) is read
//! with every other provider's, in `src/config/`.

mod failover;
mod health;
mod routing;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::capabilities::Capabilities;
use crate::error::{Error, ErrorKind};
use crate::handle::Verification;
use crate::provider::OtpProvider;
use crate::receipt::{SendReceipt, StatusReport, Verified};
use crate::request::SendRequest;

pub use failover::fails_over;
pub use health::HealthPolicy;
pub use routing::{Match, Route};

use failover::Attempts;
use health::Health;
use routing::route_for;

/// The router's provider id, also its config tag.
pub const ID: &str = "router";

/// A clock, replaceable in tests.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// One named member.
struct Member {
    name: String,
    provider: Box<dyn OtpProvider>,
    health: Health,
}

/// Several providers behind one [`OtpProvider`] (see the [module documentation](self)).
pub struct Router {
    members: Vec<Member>,
    routes: Vec<Route>,
    capabilities: Capabilities,
    clock: Clock,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<(&str, &'static str)> = self
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.provider.id()))
            .collect();
        f.debug_struct("Router")
            .field("members", &members)
            .field("routes", &self.routes)
            .finish()
    }
}

/// Builds a [`Router`] from members and routes; [`RouterBuilder::build`] checks them.
#[derive(Default)]
#[must_use]
pub struct RouterBuilder {
    members: Vec<(String, Box<dyn OtpProvider>, HealthPolicy)>,
    routes: Vec<(String, Vec<String>)>,
}

impl fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<&str> = self.members.iter().map(|m| m.0.as_str()).collect();
        f.debug_struct("RouterBuilder")
            .field("members", &members)
            .field("routes", &self.routes)
            .finish()
    }
}

impl RouterBuilder {
    /// Adds a member with the default [`HealthPolicy`].
    pub fn member(self, name: impl Into<String>, provider: Box<dyn OtpProvider>) -> Self {
        self.member_with(name, provider, HealthPolicy::default())
    }

    /// Adds a member with its own [`HealthPolicy`].
    pub fn member_with(
        mut self,
        name: impl Into<String>,
        provider: Box<dyn OtpProvider>,
        health: HealthPolicy,
    ) -> Self {
        self.members.push((name.into(), provider, health));
        self
    }

    /// Adds a route: recipients fitting `matches` (`"+91"`, `"phone"`, `"email"`, `"*"`) try
    /// these members in order.
    pub fn route(
        mut self,
        matches: &str,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.routes.push((
            matches.to_owned(),
            members.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Checks members and routes and builds the router. `config` errors: no member or no
    /// route, a member name used twice or not a plain word, a member that is itself a router,
    /// a `match` that does not parse, an empty `use`, a name in `use` that is not a member, a
    /// member that can never reach a recipient its route takes, a `skip_after_failures` of 0.
    pub fn build(self) -> Result<Router, Error> {
        if self.members.is_empty() {
            return Err(Error::config(
                "members",
                "a router needs at least one member",
            ));
        }
        if self.routes.is_empty() {
            return Err(Error::config("routes", "a router needs at least one route"));
        }
        let mut members: Vec<Member> = Vec::with_capacity(self.members.len());
        for (name, provider, policy) in self.members {
            check_member_name(&name)?;
            if members.iter().any(|m| m.name == name) {
                return Err(Error::config(
                    &format!("members.{name}"),
                    "the name is used twice",
                ));
            }
            if provider.id() == ID {
                return Err(Error::config(
                    &format!("members.{name}.provider"),
                    "a member cannot be a router itself",
                ));
            }
            if policy.skip_after_failures == 0 {
                return Err(Error::config(
                    &format!("members.{name}.skip_after_failures"),
                    "must be at least 1",
                ));
            }
            members.push(Member {
                name,
                provider,
                health: Health::new(policy),
            });
        }
        let mut routes = Vec::with_capacity(self.routes.len());
        for (index, (matches, used)) in self.routes.into_iter().enumerate() {
            let at = |key: &str| format!("routes[{index}].{key}");
            let matches = Match::parse(&matches).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    e.message()
                        .replace("`match`", &format!("`{}`", at("match"))),
                )
            })?;
            if used.is_empty() {
                return Err(Error::config(&at("use"), "names no member"));
            }
            for (i, name) in used.iter().enumerate() {
                if used[..i].contains(name) {
                    return Err(Error::config(&at("use"), format!("names `{name}` twice")));
                }
                let Some(member) = members.iter().find(|m| &m.name == name) else {
                    let known: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                    return Err(Error::config(
                        &at("use"),
                        format!("`{name}` is not a member (members: {})", known.join(", ")),
                    ));
                };
                if let Some(why) = matches.never_reached_by(member.provider.capabilities()) {
                    return Err(Error::config(
                        &at("use"),
                        format!(
                            "member `{name}` ({}) can never serve `match = \"{matches}\"`: {why}",
                            member.provider.id()
                        ),
                    ));
                }
            }
            routes.push(Route::new(matches, used));
        }
        let capabilities = Capabilities::union(members.iter().map(|m| m.provider.capabilities()));
        Ok(Router {
            members,
            routes,
            capabilities,
            clock: Arc::new(Instant::now),
        })
    }
}

/// A member name is a plain word: it travels in handles and is written in `use` lists.
fn check_member_name(name: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::config(
            "members",
            "a member name is 1 to 64 letters, digits, `_` or `-`",
        ))
    }
}

impl Router {
    /// A builder with no members and no routes.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// The member names, in the order they were configured.
    pub fn member_names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.name.as_str())
    }

    /// A member's provider, by name.
    pub fn member(&self, name: &str) -> Option<&dyn OtpProvider> {
        self.find(name).map(|m| m.provider.as_ref())
    }

    /// The routes, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Replaces the clock (tests of the health windows).
    #[cfg(test)]
    pub(crate) fn with_clock(
        mut self,
        clock: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn find(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member that sent the code in `handle`: the handle must name one (it was issued by
    /// a router), and that member must still be configured. No request is made otherwise.
    fn member_of(&self, handle: &Verification, operation: &'static str) -> Result<&Member, Error> {
        let Some(name) = handle.member() else {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "this handle names no router member: it was not issued by a router; give it to the provider that sent the code",
            )
            .in_context(ID, operation));
        };
        self.find(name).ok_or_else(|| {
            Error::config(
                &format!("members.{name}"),
                "the handle's code was sent by this member, which is no longer configured; only it can check the code",
            )
            .in_context(ID, operation)
        })
    }
}

#[async_trait]
impl OtpProvider for Router {
    fn id(&self) -> &'static str {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, Error> {
        request.validate().map_err(|e| e.in_context(ID, "send"))?;
        let Some(route) = route_for(&self.routes, &request.recipient) else {
            return Err(Error::unsupported(format!(
                "no route of this router matches the recipient ({})",
                request.recipient.masked()
            ))
            .in_context(ID, "send"));
        };
        let mut attempts = Attempts::default();
        for name in &route.members {
            // Build-time checks make every name a member.
            let Some(member) = self.find(name) else {
                continue;
            };
            let provider = member.provider.as_ref();
            if let Err(refused) = provider.capabilities().check_send(request) {
                let refused = refused.in_context(provider.id(), "send");
                attempts.left(name, "passed over", refused);
                continue;
            }
            if let Some(remaining) = member.health.skipped_for(name, (self.clock)()) {
                let skipped = Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "passed over for {}s more after {} failed sends in a row",
                        remaining.as_secs().max(1),
                        member.health.failures_in_a_row()
                    ),
                )
                .with_retry_after(remaining)
                .in_context(provider.id(), "send");
                attempts.left(name, "skipped", skipped);
                continue;
            }
            let mut to_member = request.clone();
            to_member.member = Some(name.clone());
            match provider.send(&to_member).await {
                Ok(receipt) => {
                    member.health.answered();
                    return Ok(receipt);
                }
                Err(error) if fails_over(&error) => {
                    // A local `unsupported` says nothing about the member's health.
                    if error.kind() != ErrorKind::Unsupported {
                        member.health.failed_over(name, (self.clock)());
                    }
                    tracing::debug!(member = name.as_str(), kind = %error.kind(), "router: failing over");
                    attempts.left(name, "failed over", error);
                }
                Err(error) => {
                    // An answer that is not an outage ends a run of failures; a request that
                    // may have arrived says nothing either way.
                    if !matches!(error.kind(), ErrorKind::Timeout | ErrorKind::Transport) {
                        member.health.answered();
                    }
                    return Err(attempts.stopped_at(name, error));
                }
            }
        }
        Err(attempts.exhausted().unwrap_or_else(|| {
            Error::unsupported("the route names no member").in_context(ID, "send")
        }))
    }

    async fn verify(&self, handle: &Verification, code: &str) -> Result<Verified, Error> {
        self.member_of(handle, "verify")?
            .provider
            .verify(handle, code)
            .await
    }

    async fn resend(&self, handle: &Verification) -> Result<SendReceipt, Error> {
        self.member_of(handle, "resend")?
            .provider
            .resend(handle)
            .await
    }

    async fn status(&self, handle: &Verification) -> Result<StatusReport, Error> {
        self.member_of(handle, "status")?
            .provider
            .status(handle)
            .await
    }
}
