//! The five providers' places in the sandbox: the [`ROUTES`] table (id, path prefix, request
//! handler, failure answers, ready-made config), lookup by id, and each one's base URL.

use serde_json::Value;

use super::state::Shared;
use super::wire::{Reply, Req};
use super::{generic, hyperverge, tencent_ciam, thaaigroup, thundersms, Failure};

/// One provider's place in the sandbox.
pub(super) struct Route {
    /// The provider id.
    pub(super) id: &'static str,
    /// The path prefix, with the documented base path and a trailing `/`.
    pub(super) prefix: &'static str,
    /// Answers a request under the prefix.
    pub(super) handle: fn(&Shared, &Req) -> Reply,
    /// Answers a request with a forced [`Failure`] in the provider's documented shape.
    pub(super) failure: fn(&Shared, &Req, Failure) -> Reply,
    /// The provider's own keys of its ready-made config (credentials the sandbox accepts and
    /// any settings); `provider` and `base_url` are added for all.
    pub(super) config: fn() -> Value,
}

/// Every provider the sandbox serves.
pub(super) const ROUTES: [Route; 5] = [
    Route {
        id: thaaigroup::ID,
        prefix: thaaigroup::PREFIX,
        handle: thaaigroup::handle,
        failure: thaaigroup::failure,
        config: thaaigroup::config,
    },
    Route {
        id: hyperverge::ID,
        prefix: hyperverge::PREFIX,
        handle: hyperverge::handle,
        failure: hyperverge::failure,
        config: hyperverge::config,
    },
    Route {
        id: generic::ID,
        prefix: generic::PREFIX,
        handle: generic::handle,
        failure: generic::failure,
        config: generic::config,
    },
    Route {
        id: thundersms::ID,
        prefix: thundersms::PREFIX,
        handle: thundersms::handle,
        failure: thundersms::failure,
        config: thundersms::config,
    },
    Route {
        id: tencent_ciam::ID,
        prefix: tencent_ciam::PREFIX,
        handle: tencent_ciam::handle,
        failure: tencent_ciam::failure,
        config: tencent_ciam::config,
    },
];

/// The route of a provider id.
pub(super) fn route(provider: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.id == provider)
}

impl Route {
    /// The provider's base URL on a server at `origin` (`http://127.0.0.1:PORT`).
    pub(super) fn base_url(&self, origin: &str) -> String {
        let prefix = self.prefix.trim_end_matches('/');
        // ThunderSMS documents its base URL with the trailing slash.
        if self.id == thundersms::ID {
            format!("{origin}{prefix}/")
        } else {
            format!("{origin}{prefix}")
        }
    }
}
