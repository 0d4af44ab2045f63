//! Configuration: one [`ProviderConfig`] tagged by `provider`, from TOML, JSON or the
//! environment, checked once when the provider is built.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use url::Url;

pub(crate) mod router;

use crate::adapter::{Adapter, Client, DEFAULT_RESEND_AFTER};
use crate::de;
use crate::error::{Error, ErrorKind};
use crate::http::{HttpOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
use crate::provider::OtpProvider;
use crate::secret::Secret;

/// The keys every provider accepts (the crate documentation's [Configuration](crate#configuration) section).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CommonConfig {
    /// Where the provider's API lives: the documented URL up to the operation's own path.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Total time for one HTTP exchange, in seconds (default 10).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub timeout_secs: Option<u64>,
    /// Time to connect, in seconds (default 5).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub connect_timeout_secs: Option<u64>,
    /// Permit a plain-`http` `base_url` that is not loopback.
    #[serde(default, deserialize_with = "de::bool")]
    pub allow_http: bool,
    /// The least time between codes to one handle, in seconds, when the provider's answer says
    /// none (default 30; 0 to 3600).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub resend_after_secs: Option<u64>,
    /// The `[guard]` table (contract §8): when present, the built provider is wrapped in a
    /// [`crate::guard::Guard`].
    #[serde(skip)]
    pub guard: Option<crate::guard::GuardConfig>,
}

/// The checked form of [`CommonConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The base URL, its path ending in `/`.
    pub base_url: Url,
    /// Total time for one exchange.
    pub timeout: Duration,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// The wait before a resend when the provider's answer names none.
    pub resend_after: Duration,
}

/// The longest timeout accepted, in seconds.
const MAX_TIMEOUT_SECS: u64 = 600;

/// The longest `resend_after_secs` accepted.
const MAX_RESEND_AFTER_SECS: u64 = 3600;

impl CommonConfig {
    /// Checks the common keys. `default_base` is the provider's documented URL, or `None` where
    /// `base_url` is required.
    pub fn resolve(&self, default_base: Option<&str>) -> Result<Endpoint, Error> {
        let raw = match (&self.base_url, default_base) {
            (Some(url), _) => url.as_str(),
            (None, Some(default)) => default,
            (None, None) => return Err(Error::config("base_url", "required for this provider")),
        };
        let mut url = Url::parse(raw.trim())
            .map_err(|e| Error::config("base_url", format!("not a URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http || is_loopback(&url) => {}
            "http" => {
                return Err(Error::config(
                    "base_url",
                    "plain http to a host that is not loopback would send credentials unencrypted; use https or set allow_http = true",
                ))
            }
            other => return Err(Error::config("base_url", format!("scheme `{other}` is not http or https"))),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::config("base_url", "has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "base_url",
                "must not carry credentials; use the provider's credential keys",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "base_url",
                "must not have a query or fragment",
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Endpoint {
            base_url: url,
            timeout: seconds("timeout_secs", self.timeout_secs, DEFAULT_TIMEOUT)?,
            connect_timeout: seconds(
                "connect_timeout_secs",
                self.connect_timeout_secs,
                DEFAULT_CONNECT_TIMEOUT,
            )?,
            resend_after: match self.resend_after_secs {
                None => DEFAULT_RESEND_AFTER,
                Some(secs) if secs <= MAX_RESEND_AFTER_SECS => Duration::from_secs(secs),
                Some(_) => {
                    return Err(Error::config(
                        "resend_after_secs",
                        format!("must be 0 to {MAX_RESEND_AFTER_SECS} seconds"),
                    ))
                }
            },
        })
    }
}

fn seconds(key: &str, value: Option<u64>, default: Duration) -> Result<Duration, Error> {
    match value {
        None => Ok(default),
        Some(secs) if (1..=MAX_TIMEOUT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        Some(_) => Err(Error::config(
            key,
            format!("must be 1 to {MAX_TIMEOUT_SECS} seconds"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A provider's own settings: the keys beyond [`CommonConfig`], and how they make the
/// provider's adapter. Each provider module implements it for its `Config`; `build` is the same
/// for all of them.
///
/// ```
/// use otpkit::providers::thaaigroup::Config;
/// use otpkit::{CommonConfig, HttpOptions, OtpProvider, ProviderSettings};
///
/// let client = Config::new("id", "secret", "example.com")
///     .build(&CommonConfig::default(), &HttpOptions::default())?;
/// assert_eq!(client.id(), "thaaigroup");
/// # Ok::<(), otpkit::Error>(())
/// ```
pub trait ProviderSettings: DeserializeOwned + fmt::Debug + Clone + Send + Sync + 'static {
    /// The adapter these settings make (crate plumbing).
    #[doc(hidden)]
    type Adapter: Adapter;

    /// The documented base URL, or `None` where `base_url` is required.
    const DEFAULT_BASE_URL: Option<&'static str>;

    /// Checks the provider's own keys and makes its adapter for `base_url` (crate plumbing).
    #[doc(hidden)]
    fn adapter(&self, base_url: Url) -> Result<Self::Adapter, Error>;

    /// Every configured secret value, plus any value derived from them that travels on the
    /// wire (such as the `id:secret` of a Basic header): the core hides each of them (raw,
    /// base64, url-encoded) in every error and log line, whatever the provider echoes back,
    /// and derives the key of the handles' MAC from them (contract §4), so rotating any of
    /// them invalidates outstanding handles. The recorder replaces them with placeholders.
    fn secrets(&self) -> Vec<Secret>;

    /// Checks every value (the common keys first) and builds the typed client.
    fn build(
        &self,
        common: &CommonConfig,
        options: &HttpOptions,
    ) -> Result<Client<Self::Adapter>, Error> {
        let endpoint = common.resolve(Self::DEFAULT_BASE_URL)?;
        let adapter = self.adapter(endpoint.base_url)?;
        let client =
            Client::with_options(adapter, endpoint.timeout, endpoint.connect_timeout, options)?;
        let secrets = self.secrets();
        Ok(client
            .with_secrets(secrets.iter().map(Secret::expose))
            .with_handle_key(&secrets)
            .with_resend_after(endpoint.resend_after)
            .recording(options, &secrets))
    }

    /// Like [`ProviderSettings::build`], as a `Box<dyn OtpProvider>`.
    fn build_provider(
        &self,
        common: &CommonConfig,
        options: &HttpOptions,
    ) -> Result<Box<dyn OtpProvider>, Error> {
        Ok(Box::new(self.build(common, options)?))
    }
}

/// One provider's configuration: the common keys plus the provider's own.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings<T> {
    /// The keys every provider accepts.
    pub common: CommonConfig,
    /// The provider's own keys.
    pub provider: T,
    /// The config as it was read (JSON), for the recorder's fixture files.
    #[allow(dead_code)] // read through `ProviderConfig`, which a build without providers lacks
    pub(crate) source: Option<Secret>,
}

macro_rules! registry {
    ($( $feature:literal => $variant:ident($module:ident) ),* $(,)?) => {
        /// A provider's configuration, tagged by `provider` (the crate documentation's [Configuration](crate#configuration) section).
        ///
        /// ```
        /// use otpkit::ProviderConfig;
        ///
        /// let config = ProviderConfig::from_toml_str(r#"
        ///     provider = "thaaigroup"
        ///     client_id = "my-client"
        ///     client_secret = "my-secret"
        ///     domain = "example.com"
        /// "#)?;
        /// assert_eq!(config.provider_id(), "thaaigroup");
        /// assert!(!format!("{config:?}").contains("my-secret"));
        ///
        /// let err = ProviderConfig::from_toml_str("provider = \"thaaigroup\"\nclient_idd = \"x\"").unwrap_err();
        /// assert_eq!(err.kind(), otpkit::ErrorKind::Config);
        /// assert!(err.message().contains("client_idd"));
        /// # Ok::<(), otpkit::Error>(())
        /// ```
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ProviderConfig {
            $(
                #[doc = concat!("`provider = \"", stringify!($module), "\"`")]
                #[cfg(feature = $feature)]
                $variant(Settings<crate::providers::$module::Config>),
            )*
            /// `provider = "router"`: named members and routes (contract §7).
            Router(Box<self::router::RouterConfig>),
        }

        /// The ids of the vendors' providers compiled into this build (one cargo feature
        /// each), in the contract's order (see [`crate::providers::descriptors`]). The in-memory
        /// mock of the `testing` feature is registered too (`provider = "mock"`) but is no
        /// vendor, so it is not listed.
        pub fn provider_ids() -> Vec<&'static str> {
            crate::providers::descriptors()
                .iter()
                .filter(|d| d.feature != "testing")
                .map(|d| d.id)
                .collect()
        }

        impl ProviderConfig {
            /// The provider id.
            pub fn provider_id(&self) -> &'static str {
                match *self {
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(_) => stringify!($module), )*
                    ProviderConfig::Router(_) => crate::router::ID,
                }
            }

            /// The provider's configured secret values (see [`ProviderSettings::secrets`]): the
            /// handle key's material and what redaction hides; a router's are its members'.
            #[cfg_attr(not(feature = "testing"), allow(dead_code))] // read by replay and the fuzzer
            pub(crate) fn secrets(&self) -> Vec<Secret> {
                match *self {
                    ProviderConfig::Router(ref r) => {
                        r.members.iter().flat_map(|m| m.config.secrets()).collect()
                    }
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(ref s) => s.provider.secrets(), )*
                }
            }

            /// The common keys.
            pub fn common(&self) -> &CommonConfig {
                match *self {
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(ref s) => &s.common, )*
                    ProviderConfig::Router(ref r) => &r.common,
                }
            }

            /// Checks every value and builds the provider alone (no `[guard]`).
            fn build_unguarded(&self, options: &HttpOptions) -> Result<Box<dyn OtpProvider>, Error> {
                let recorded;
                let options = match (&options.record, self.source()) {
                    (Some(_), Some(source)) => {
                        recorded = options.clone().config_source(source.clone());
                        &recorded
                    }
                    _ => options,
                };
                match *self {
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(ref s) => s.provider.build_provider(&s.common, options), )*
                    ProviderConfig::Router(ref r) => r.build_provider(options),
                }
            }

            /// The config as it was read, for the recorder.
            fn source(&self) -> Option<&Secret> {
                match *self {
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(ref s) => s.source.as_ref(), )*
                    // Each member keeps its own, and records with it.
                    ProviderConfig::Router(_) => None,
                }
            }

            fn with_source(self, source: Secret) -> Self {
                match self {
                    $( #[cfg(feature = $feature)] ProviderConfig::$variant(mut s) => {
                        s.source = Some(source);
                        ProviderConfig::$variant(s)
                    } )*
                    router @ ProviderConfig::Router(_) => {
                        drop(source);
                        router
                    }
                }
            }

            fn from_parts(id: &str, common: CommonConfig, rest: Map<String, Value>) -> Result<Self, Error> {
                let _ = (&common, &rest);
                match id {
                    $(
                        #[cfg(feature = $feature)]
                        stringify!($module) => Ok(ProviderConfig::$variant(Settings {
                            common,
                            provider: from_map(rest)?,
                            source: None,
                        })),
                    )*
                    crate::router::ID => Ok(ProviderConfig::Router(Box::new(
                        self::router::RouterConfig::from_parts(common, rest)?,
                    ))),
                    other => Err(Error::config(
                        "provider",
                        format!(
                            "`{other}` is not one of {}, {}",
                            provider_ids().join(", "),
                            crate::router::ID
                        ),
                    )),
                }
            }
        }
    };
}

// One variant per line of the providers' list (`providers/mod.rs`).
crate::providers::with_providers!(registry);

impl ProviderConfig {
    /// Checks every value and builds the provider with the given HTTP options, wrapped in a
    /// [`crate::guard::Guard`] when the config has a `[guard]` table.
    pub fn build_with(&self, options: &HttpOptions) -> Result<Box<dyn OtpProvider>, Error> {
        let provider = self.build_unguarded(options)?;
        let common = self.common();
        let Some(guard) = &common.guard else {
            return Ok(provider);
        };
        let timeout = common
            .timeout_secs
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let connect = common
            .connect_timeout_secs
            .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs);
        Ok(Box::new(crate::guard::Guard::with_timeouts(
            provider, guard, timeout, connect,
        )?))
    }

    /// Checks every value and builds the provider with HTTP clients of its own (one per tokio
    /// runtime that uses it) and no retries.
    pub fn build(&self) -> Result<Box<dyn OtpProvider>, Error> {
        self.build_with(&HttpOptions::default())
    }

    /// Reads a TOML document.
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        let map: Map<String, Value> = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let place = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            Error::new(
                ErrorKind::Config,
                format!("the TOML does not parse{place}: {}", e.message().trim()),
            )
        })?;
        Self::from_map(map, &|key| format!("`{key}`"))
    }

    /// Reads a JSON object.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "the JSON does not parse as an object (line {} column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Self::from_map(map, &|key| format!("`{key}`"))
    }

    /// Reads a file: JSON when its name ends in `.json` or it starts with `{`, TOML otherwise.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read config file {}: {e}", path.display()),
            )
        })?;
        let is_json =
            path.extension().is_some_and(|ext| ext == "json") || text.trim_start().starts_with('{');
        if is_json {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// Reads the process environment: the file named by `OTPKIT_CONFIG`, or else
    /// `OTPKIT_PROVIDER` plus one `OTPKIT_<KEY>` per key (e.g. `OTPKIT_CLIENT_SECRET`).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_vars(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }))
    }

    /// Like [`ProviderConfig::from_env`], from the given variables (for tests and embedding).
    ///
    /// ```
    /// use otpkit::ProviderConfig;
    ///
    /// let vars = [
    ///     ("OTPKIT_PROVIDER", "thaaigroup"),
    ///     ("OTPKIT_CLIENT_ID", "id"),
    ///     ("OTPKIT_CLIENT_SECRET", "secret"),
    ///     ("OTPKIT_DOMAIN", "example.com"),
    ///     ("OTPKIT_TIMEOUT_SECS", "3"),
    ///     ("HOME", "/root"),
    /// ];
    /// let config = ProviderConfig::from_env_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())))?;
    /// assert_eq!(config.common().timeout_secs, Some(3));
    /// # Ok::<(), otpkit::Error>(())
    /// ```
    pub fn from_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("OTPKIT_"))
            .collect();
        if let Some(path) = vars.get("OTPKIT_CONFIG") {
            return Self::from_file(path);
        }
        if !vars.contains_key("OTPKIT_PROVIDER") {
            return Err(Error::config(
                "provider",
                "missing: set OTPKIT_CONFIG to a config file, or OTPKIT_PROVIDER and OTPKIT_<KEY> variables",
            ));
        }
        let map = vars
            .into_iter()
            .filter(|(k, _)| k != "OTPKIT_LOG")
            .map(|(k, v)| (k["OTPKIT_".len()..].to_ascii_lowercase(), Value::String(v)))
            .collect();
        Self::from_map(map, &|key| {
            format!("`{key}` (OTPKIT_{})", key.to_ascii_uppercase())
        })
    }

    pub(crate) fn from_map(
        mut map: Map<String, Value>,
        name: &dyn Fn(&str) -> String,
    ) -> Result<Self, Error> {
        // Kept (as a secret: it holds the credentials) for the recorder's fixture files.
        let source = Secret::new(Value::Object(map.clone()).to_string());
        let provider = match map.remove("provider") {
            Some(Value::String(id)) => id,
            Some(_) => return Err(Error::config("provider", "must be a string")),
            None => {
                return Err(Error::config(
                    "provider",
                    format!("missing; one of {}", provider_ids().join(", ")),
                ))
            }
        };
        let mut common = Map::new();
        for key in [
            "base_url",
            "timeout_secs",
            "connect_timeout_secs",
            "allow_http",
            "resend_after_secs",
        ] {
            if let Some(value) = map.remove(key) {
                common.insert(key.to_owned(), value);
            }
        }
        let mut common: CommonConfig = from_map(common).map_err(|e| rename_keys(e, name))?;
        common.guard = map
            .remove("guard")
            .map(crate::guard::GuardConfig::from_value)
            .transpose()?;
        Self::from_parts(&provider, common, map)
            .map(|config| config.with_source(source))
            .map_err(|e| rename_keys(e, name))
    }
}

impl<'de> Deserialize<'de> for ProviderConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        ProviderConfig::from_map(map, &|key| format!("`{key}`")).map_err(serde::de::Error::custom)
    }
}

/// Deserializes a provider's keys, naming the key in every error and never quoting a value.
fn from_map<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, Error> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let message = without_values(&e.into_inner().to_string());
        // An unknown key is reported at its own path; anything else below a key (a key
        // unknown or missing inside a value, such as a channel of a JSON list in one string)
        // belongs to that key.
        let named = message.split('`').nth(1);
        let top_level_key_problem = message.starts_with("unknown field") && named == Some(&path);
        if path == "." || path.is_empty() || top_level_key_problem {
            // The message names the key itself; `rename_keys` words it for the source.
            Error::new(ErrorKind::Config, message)
        } else {
            Error::new(ErrorKind::Config, format!("`{path}`: {message}"))
        }
    })
}

/// Rewrites serde's `unknown field` / `missing field` wording into otpkit's, naming keys the way
/// the source spells them (e.g. with the environment variable).
fn rename_keys(error: Error, name: &dyn Fn(&str) -> String) -> Error {
    let message = error.message();
    let key_in = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(key) = key_in("unknown field `") {
        let expected = message.split_once(", expected").map(|x| x.1).unwrap_or("");
        return Error::new(
            ErrorKind::Config,
            format!("unknown key {}; expected{expected}", name(&key)),
        );
    }
    if let Some(key) = key_in("missing field `") {
        return Error::new(ErrorKind::Config, format!("missing key {}", name(&key)));
    }
    // A problem inside one key's value: ``"`channels`: …"``.
    if let Some((key, rest)) = key_in("`").and_then(|key| {
        let rest = message.strip_prefix(&format!("`{key}`:"))?;
        (!key.contains(['.', '['])).then_some((key, rest))
    }) {
        return Error::new(ErrorKind::Config, format!("{}:{rest}", name(&key)));
    }
    error
}

/// Drops quoted values from serde messages such as ``invalid type: string "abc", expected u64``,
/// so a secret put under the wrong key is never echoed.
pub(crate) fn without_values(message: &str) -> String {
    if !(message.starts_with("invalid type") || message.starts_with("invalid value")) {
        return message.to_owned();
    }
    let (head, tail) = message.split_once(", expected").unwrap_or((message, ""));
    let kept: String = match head.find(['"', '`']) {
        Some(i) => head[..i].trim_end().to_owned(),
        None => head.to_owned(),
    };
    if tail.is_empty() {
        kept
    } else {
        format!("{kept}, expected{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::de::check_header_value;

    fn common(url: &str) -> CommonConfig {
        CommonConfig {
            base_url: Some(url.to_owned()),
            ..CommonConfig::default()
        }
    }

    #[test]
    fn base_urls_are_checked() {
        let ok = common("https://api.example.com/v1").resolve(None).unwrap();
        assert_eq!(ok.base_url.as_str(), "https://api.example.com/v1/");
        assert_eq!(ok.timeout, DEFAULT_TIMEOUT);
        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost:9/x/",
            "http://[::1]:80",
        ] {
            assert!(common(loopback).resolve(None).is_ok(), "{loopback}");
        }
        for bad in [
            "http://api.example.com",
            "ftp://api.example.com",
            "not a url",
            "https://user:pw@api.example.com",
            "https://api.example.com/?x=1",
        ] {
            let err = common(bad).resolve(None).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.message().contains("base_url"), "{err}");
            assert!(!err.message().contains("pw@"), "{err}");
        }
        let allowed = CommonConfig {
            allow_http: true,
            ..common("http://api.example.com")
        };
        assert!(allowed.resolve(None).is_ok());
        assert_eq!(
            CommonConfig::default().resolve(None).unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn timeouts_are_bounded() {
        let zero = CommonConfig {
            timeout_secs: Some(0),
            ..common("https://x.example")
        };
        assert!(zero
            .resolve(None)
            .unwrap_err()
            .message()
            .contains("timeout_secs"));
    }

    #[cfg(feature = "thaaigroup")]
    #[test]
    fn resend_after_secs_is_read_everywhere_and_bounded() {
        let base = r#""provider":"thaaigroup","client_id":"a","client_secret":"b","domain":"x""#;
        let json = ProviderConfig::from_json_str(&format!("{{{base},\"resend_after_secs\":5}}"));
        assert_eq!(json.unwrap().common().resend_after_secs, Some(5));
        let toml = ProviderConfig::from_toml_str(
            "provider = \"thaaigroup\"\nclient_id = \"a\"\nclient_secret = \"b\"\ndomain = \"x\"\nresend_after_secs = 0",
        );
        assert_eq!(toml.unwrap().common().resend_after_secs, Some(0));
        let vars = [
            ("OTPKIT_PROVIDER", "thaaigroup"),
            ("OTPKIT_CLIENT_ID", "a"),
            ("OTPKIT_CLIENT_SECRET", "b"),
            ("OTPKIT_DOMAIN", "x"),
            ("OTPKIT_RESEND_AFTER_SECS", "45"),
        ];
        let env = ProviderConfig::from_env_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(env.unwrap().common().resend_after_secs, Some(45));

        let resolved = |secs: Option<u64>| {
            CommonConfig {
                resend_after_secs: secs,
                ..common("https://x.example")
            }
            .resolve(None)
        };
        assert_eq!(resolved(None).unwrap().resend_after, DEFAULT_RESEND_AFTER);
        assert_eq!(resolved(Some(0)).unwrap().resend_after, Duration::ZERO);
        let err = resolved(Some(3601)).unwrap_err();
        assert!(err.message().contains("resend_after_secs"), "{err}");
        let err =
            ProviderConfig::from_json_str(&format!("{{{base},\"resend_after_secs\":\"soon\"}}"))
                .unwrap_err();
        assert!(err.message().contains("resend_after_secs"), "{err}");
    }

    #[test]
    fn serde_values_are_not_echoed() {
        assert_eq!(
            without_values("invalid type: string \"hunter2\", expected u64"),
            "invalid type: string, expected u64"
        );
        assert_eq!(
            without_values("invalid type: integer `12345`, expected a boolean"),
            "invalid type: integer, expected a boolean"
        );
        assert_eq!(without_values("missing field `x`"), "missing field `x`");
    }

    #[cfg(feature = "thaaigroup")]
    #[test]
    fn environment_key_problems_name_the_variable() {
        let vars = |extra: &[(&str, &str)]| {
            let mut all = vec![
                ("OTPKIT_PROVIDER", "thaaigroup"),
                ("OTPKIT_CLIENT_ID", "a"),
                ("OTPKIT_CLIENT_SECRET", "b"),
            ];
            all.extend_from_slice(extra);
            all.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        };
        let missing = ProviderConfig::from_env_vars(vars(&[])).unwrap_err();
        assert_eq!(missing.message(), "missing key `domain` (OTPKIT_DOMAIN)");
        let typo =
            ProviderConfig::from_env_vars(vars(&[("OTPKIT_DOMAIN", "x"), ("OTPKIT_DOMIAN", "x")]))
                .unwrap_err();
        assert!(
            typo.message()
                .starts_with("unknown key `domian` (OTPKIT_DOMIAN)"),
            "{typo}"
        );
        let unknown =
            ProviderConfig::from_env_vars(vars(&[("OTPKIT_PROVIDER", "nope")])).unwrap_err();
        assert!(unknown.message().contains("provider"), "{unknown}");
    }

    #[test]
    fn header_values_are_checked() {
        assert!(check_header_value("domain", "example.com").is_ok());
        for bad in ["", "  ", "a\r\nb", "a\nb", "tab\there"] {
            let err = check_header_value("domain", bad).unwrap_err();
            assert!(err.message().contains("domain"));
        }
    }
}
