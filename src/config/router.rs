//! The router's configuration (contract §7): `provider = "router"`, a `[members.<name>]` table
//! per member (each a whole provider config, plus the optional `skip_after_failures` and
//! `skip_secs`) and `[[routes]]` with `match` and `use`.
//!
//! ```
//! use otpkit::{OtpProvider, ProviderConfig};
//!
//! let config = ProviderConfig::from_toml_str(r#"
//!     provider = "router"
//!
//!     [members.mail]
//!     provider = "thaaigroup"
//!     client_id = "my-client"
//!     client_secret = "my-secret"
//!     domain = "example.com"
//!     skip_after_failures = 5
//!
//!     [[routes]]
//!     match = "email"
//!     use = ["mail"]
//! "#)?;
//! assert_eq!(config.provider_id(), "router");
//! let router = config.build()?;
//! assert_eq!(router.id(), "router");
//!
//! // Errors name the member and the key.
//! let err = ProviderConfig::from_toml_str(r#"
//!     provider = "router"
//!     [members.mail]
//!     provider = "thaaigroup"
//!     client_id = "my-client"
//!     domain = "example.com"
//!     [[routes]]
//!     match = "email"
//!     use = ["mail"]
//! "#).unwrap_err();
//! assert!(err.message().contains("members.mail.client_secret"), "{err}");
//! # Ok::<(), otpkit::Error>(())
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{without_values, CommonConfig, ProviderConfig};
use crate::error::{Error, ErrorKind};
use crate::http::HttpOptions;
use crate::provider::OtpProvider;
use crate::router::{HealthPolicy, Router, ID};

/// A router's configuration, read from `provider = "router"` documents.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouterConfig {
    /// The keys outside `members` and `routes` that every configuration may have. The HTTP
    /// keys (`base_url`, timeouts, `allow_http`) belong to each member and are refused here.
    pub common: CommonConfig,
    /// The members, by name.
    pub members: Vec<MemberConfig>,
    /// The routes as written: `match` and `use`.
    pub routes: Vec<(String, Vec<String>)>,
}

/// One member: its name, its whole provider config and its health policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MemberConfig {
    /// The member's name (the key under `members`).
    pub name: String,
    /// The provider's configuration.
    pub config: ProviderConfig,
    /// `skip_after_failures` and `skip_secs`.
    pub health: HealthPolicy,
}

/// A `[[routes]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    #[serde(rename = "match")]
    matches: String,
    #[serde(rename = "use")]
    members: Vec<String>,
}

impl RouterConfig {
    /// Reads a router document's keys after `provider` and the common keys were taken out.
    pub(crate) fn from_parts(
        common: CommonConfig,
        mut rest: Map<String, Value>,
    ) -> Result<Self, Error> {
        let http_keys = [
            ("base_url", common.base_url.is_some()),
            ("timeout_secs", common.timeout_secs.is_some()),
            (
                "connect_timeout_secs",
                common.connect_timeout_secs.is_some(),
            ),
            ("allow_http", common.allow_http),
        ];
        if let Some((key, _)) = http_keys.iter().find(|(_, set)| *set) {
            return Err(Error::config(
                key,
                "a router has no HTTP settings of its own; set it in each member's table",
            ));
        }
        let members = match rest.remove("members") {
            Some(Value::Object(members)) => members,
            Some(_) => {
                return Err(Error::config(
                    "members",
                    "must be a table of member configs, `[members.<name>]` (a router is read from a file: OTPKIT_CONFIG)",
                ))
            }
            None => return Err(Error::config("members", "missing: a router needs members")),
        };
        let routes = match rest.remove("routes") {
            Some(Value::Array(routes)) => routes,
            Some(_) => {
                return Err(Error::config(
                    "routes",
                    "must be a list of `[[routes]]` with `match` and `use`",
                ))
            }
            None => return Err(Error::config("routes", "missing: a router needs routes")),
        };
        if let Some(key) = rest.keys().next() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("unknown field `{key}`, expected `members` or `routes`"),
            ));
        }
        let members = members
            .into_iter()
            .map(|(name, value)| MemberConfig::from_value(name, value))
            .collect::<Result<Vec<_>, _>>()?;
        let routes = routes
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                serde_json::from_value::<RouteEntry>(value)
                    .map(|r| (r.matches, r.members))
                    .map_err(|e| {
                        Error::config(&format!("routes[{index}]"), without_values(&e.to_string()))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (index, (_, used)) in routes.iter().enumerate() {
            if let Some(unknown) = used.iter().find(|n| !members.iter().any(|m| &m.name == *n)) {
                let known: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                return Err(Error::config(
                    &format!("routes[{index}].use"),
                    format!(
                        "`{unknown}` is not a member (members: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(RouterConfig {
            common,
            members,
            routes,
        })
    }

    /// Builds every member (errors name the member and the key) and checks the routes
    /// against the members' capabilities.
    pub fn build(&self, options: &HttpOptions) -> Result<Router, Error> {
        let mut builder = Router::builder();
        for member in &self.members {
            let provider = member
                .config
                .build_with(options)
                .map_err(|e| in_member(&member.name, e))?;
            builder = builder.member_with(member.name.clone(), provider, member.health);
        }
        for (matches, used) in &self.routes {
            builder = builder.route(matches, used);
        }
        builder.build()
    }

    /// Like [`RouterConfig::build`], as a `Box<dyn OtpProvider>`.
    pub fn build_provider(&self, options: &HttpOptions) -> Result<Box<dyn OtpProvider>, Error> {
        Ok(Box::new(self.build(options)?))
    }
}

impl MemberConfig {
    fn from_value(name: String, value: Value) -> Result<Self, Error> {
        let Value::Object(mut map) = value else {
            return Err(Error::config(
                &format!("members.{name}"),
                "must be a table holding a provider config",
            ));
        };
        if map.get("provider").and_then(Value::as_str) == Some(ID) {
            return Err(Error::config(
                &format!("members.{name}.provider"),
                "a member cannot be a router itself",
            ));
        }
        let number = |map: &mut Map<String, Value>, key: &str| -> Result<Option<u64>, Error> {
            let Some(value) = map.remove(key) else {
                return Ok(None);
            };
            let parsed = match &value {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            parsed.map(Some).ok_or_else(|| {
                Error::config(&format!("members.{name}.{key}"), "must be a whole number")
            })
        };
        let skip_after = number(&mut map, "skip_after_failures")?;
        let skip_secs = number(&mut map, "skip_secs")?;
        let skip_after_failures = match skip_after {
            None => HealthPolicy::DEFAULT_SKIP_AFTER_FAILURES,
            Some(n) => u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                Error::config(
                    &format!("members.{name}.skip_after_failures"),
                    "must be at least 1",
                )
            })?,
        };
        let skip_secs = skip_secs.unwrap_or(HealthPolicy::DEFAULT_SKIP_SECS);
        if !(1..=HealthPolicy::MAX_SKIP_SECS).contains(&skip_secs) {
            return Err(Error::config(
                &format!("members.{name}.skip_secs"),
                format!("must be 1 to {} seconds", HealthPolicy::MAX_SKIP_SECS),
            ));
        }
        let qualified = name.clone();
        let config =
            ProviderConfig::from_map(map, &move |key| format!("`members.{qualified}.{key}`"))
                .map_err(|e| in_member(&name, e))?;
        Ok(MemberConfig {
            name,
            config,
            health: HealthPolicy::new(skip_after_failures, Duration::from_secs(skip_secs)),
        })
    }
}

/// Names the member in an error about one of its keys: `` `app_key`: … `` becomes
/// `` `members.india.app_key`: … ``; messages that already name it are kept.
fn in_member(name: &str, error: Error) -> Error {
    let qualified = format!("members.{name}");
    let message = error.message();
    if message.contains(&format!("`{qualified}")) {
        return error;
    }
    let message = match message.strip_prefix('`') {
        Some(rest) => format!("`{qualified}.{rest}"),
        None => format!("`{qualified}`: {message}"),
    };
    error.with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's router example reads and builds (every member compiled in).
    #[test]
    #[cfg(all(feature = "hyperverge", feature = "thundersms", feature = "thaaigroup"))]
    fn the_readme_example_builds() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Several providers: the router")
            .nth(1)
            .expect("the README has the router section");
        let toml = section
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the section has a TOML example")
            .replace('…', "x");
        let config = ProviderConfig::from_toml_str(&toml).unwrap();
        let router = config.build().unwrap();
        assert_eq!(router.id(), ID);
        assert!(router.capabilities().email && router.capabilities().phone);
    }

    #[test]
    fn member_errors_are_qualified_once() {
        let e = in_member("india", Error::config("app_key", "must not be empty"));
        assert_eq!(e.message(), "`members.india.app_key`: must not be empty");
        let e = in_member(
            "india",
            Error::new(ErrorKind::Config, "missing key `members.india.x`"),
        );
        assert_eq!(e.message(), "missing key `members.india.x`");
        let e = in_member("india", Error::new(ErrorKind::Config, "the JSON is odd"));
        assert_eq!(e.message(), "`members.india`: the JSON is odd");
    }
}
