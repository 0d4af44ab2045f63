//! [`GuardConfig`]: the `[guard]` table of contract §8, checked once, every error naming its key
//! as `guard.<key>`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::memory::MemoryStore;
use super::redis_url::parse_redis_url;
use super::store::Store;
use crate::config::without_values;
use crate::error::Error;

/// The longest window a budget may have: 30 days.
const MAX_WINDOW_SECS: u64 = 30 * 24 * 60 * 60;
/// The largest count a budget or `verify_attempts` may allow.
const MAX_LIMIT: u64 = 1_000_000;

/// The `[guard]` table (contract §8): budgets, prefix rules and wrong-code attempts, and the
/// store that holds their state.
///
/// ```
/// use otpkit::guard::GuardConfig;
///
/// let config = GuardConfig::from_toml_str(r#"
///     store = "memory"
///     recipient_sends = [5, 3600]
///     ip_sends = [20, 3600]
///     allow_prefixes = ["+91", "+86"]
///     deny_prefixes = ["+881"]
///     verify_attempts = 5
/// "#)?;
/// assert_eq!(config.recipient_sends.map(|b| b.limit), Some(5));
///
/// let err = GuardConfig::from_toml_str("recipient_sends = [0, 3600]").unwrap_err();
/// assert!(err.message().contains("guard.recipient_sends"), "{err}");
/// # Ok::<(), otpkit::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuardConfig {
    /// Where the counters live (`store`; default [`StoreSpec::Memory`]).
    pub store: StoreSpec,
    /// At most this many sends and resends per recipient per window (`recipient_sends`).
    pub recipient_sends: Option<Budget>,
    /// At most this many sends per end-user IP per window (`ip_sends`).
    pub ip_sends: Option<Budget>,
    /// Phone numbers must start with one of these, when any are given (`allow_prefixes`).
    pub allow_prefixes: Vec<String>,
    /// Phone numbers starting with one of these are refused (`deny_prefixes`).
    pub deny_prefixes: Vec<String>,
    /// Wrong codes allowed per handle before `too_many_attempts` (`verify_attempts`).
    pub verify_attempts: Option<u32>,
}

/// A send budget: at most `limit` sends in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budget {
    /// How many sends the window holds.
    pub limit: u32,
    /// How long the window is (whole seconds, 1 s to 30 days).
    pub window: Duration,
}

impl Budget {
    /// At most `limit` sends in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Budget { limit, window }
    }
}

/// Where the guard keeps its counters.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreSpec {
    /// In this process only (`store = "memory"`, the default): shared by everything that uses
    /// the one built provider, not by other processes.
    #[default]
    Memory,
    /// A Redis server shared by every process that names it (`store = "redis://…"`). The URL
    /// may carry a password; it never prints.
    Redis(crate::secret::Secret),
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("Memory"),
            StoreSpec::Redis(_) => f.write_str("Redis(***)"),
        }
    }
}

/// The table as written, before the values are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of guard keys")]
struct Raw {
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    recipient_sends: Option<(u64, u64)>,
    #[serde(default)]
    ip_sends: Option<(u64, u64)>,
    #[serde(default)]
    allow_prefixes: Vec<String>,
    #[serde(default)]
    deny_prefixes: Vec<String>,
    #[serde(default, deserialize_with = "crate::de::opt_u64")]
    verify_attempts: Option<u64>,
}

impl GuardConfig {
    /// Reads the table from a JSON value (the `guard` entry of a provider's config). A string
    /// holding a JSON object is read too, so the environment can carry the table
    /// (`OTPKIT_GUARD='{"recipient_sends":[5,3600]}'`).
    pub fn from_value(value: Value) -> Result<Self, Error> {
        let value = match value {
            Value::String(text) => serde_json::from_str::<Value>(&text).map_err(|_| {
                Error::config(
                    "guard",
                    "a string here must hold a JSON object of guard keys",
                )
            })?,
            other => other,
        };
        let raw: Raw = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let message = without_values(&e.into_inner().to_string());
            if let Some(rest) = message.strip_prefix("unknown field `") {
                let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
                let expected = expected.trim_start_matches(", ");
                return Error::config(&format!("guard.{key}"), format!("unknown key; {expected}"));
            }
            if path.is_empty() || path == "." {
                Error::config("guard", message)
            } else {
                Error::config(&format!("guard.{path}"), message)
            }
        })?;
        let store = match raw.store.as_deref().map(str::trim) {
            None | Some("memory") => StoreSpec::Memory,
            Some(url) if url.starts_with("redis://") => {
                check_redis_url(url)?;
                StoreSpec::Redis(crate::secret::Secret::new(url))
            }
            Some(_) => {
                return Err(Error::config(
                    "guard.store",
                    "must be \"memory\" or a redis:// URL",
                ))
            }
        };
        let verify_attempts = raw
            .verify_attempts
            .map(|n| limit("guard.verify_attempts", n))
            .transpose()?;
        Ok(GuardConfig {
            store,
            recipient_sends: raw
                .recipient_sends
                .map(|b| budget("guard.recipient_sends", b))
                .transpose()?,
            ip_sends: raw
                .ip_sends
                .map(|b| budget("guard.ip_sends", b))
                .transpose()?,
            allow_prefixes: prefixes("guard.allow_prefixes", raw.allow_prefixes)?,
            deny_prefixes: prefixes("guard.deny_prefixes", raw.deny_prefixes)?,
            verify_attempts,
        })
    }

    /// Reads a TOML table (the contents of `[guard]`).
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        let value: Value = toml::from_str(text).map_err(|e| {
            Error::config(
                "guard",
                format!("the TOML does not parse: {}", e.message().trim()),
            )
        })?;
        Self::from_value(value)
    }

    /// Makes the store this table names. `timeout` bounds every store call (connecting
    /// included) and `connect_timeout` the connection alone; give the provider's own, so the
    /// guard never waits longer than a send would. Without the `redis` feature a Redis URL is a
    /// `config` error.
    pub fn store(
        &self,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Arc<dyn Store>, Error> {
        let _ = (timeout, connect_timeout);
        match &self.store {
            StoreSpec::Memory => Ok(Arc::new(MemoryStore::new())),
            #[cfg(feature = "redis")]
            StoreSpec::Redis(url) => Ok(Arc::new(super::redis::RedisStore::new(
                url.expose(),
                timeout,
                connect_timeout,
            )?)),
            #[cfg(not(feature = "redis"))]
            StoreSpec::Redis(_) => Err(Error::config(
                "guard.store",
                "a redis:// store needs otpkit's `redis` cargo feature; enable it or use \"memory\"",
            )),
        }
    }
}

fn limit(key: &str, n: u64) -> Result<u32, Error> {
    if n == 0 || n > MAX_LIMIT {
        return Err(Error::config(key, format!("must be 1 to {MAX_LIMIT}")));
    }
    // n <= MAX_LIMIT, which fits in u32.
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn budget(key: &str, (count, secs): (u64, u64)) -> Result<Budget, Error> {
    let count = limit(key, count)
        .map_err(|_| Error::config(key, format!("the count must be 1 to {MAX_LIMIT}")))?;
    if secs == 0 || secs > MAX_WINDOW_SECS {
        return Err(Error::config(
            key,
            format!("the window must be 1 to {MAX_WINDOW_SECS} seconds"),
        ));
    }
    Ok(Budget::new(count, Duration::from_secs(secs)))
}

fn prefixes(key: &str, list: Vec<String>) -> Result<Vec<String>, Error> {
    list.into_iter()
        .map(|prefix| {
            let prefix = prefix.trim().to_owned();
            let digits = prefix.strip_prefix('+').unwrap_or("");
            if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Error::config(
                    key,
                    "each prefix is `+` and 1 to 15 digits, like \"+91\"",
                ));
            }
            Ok(prefix)
        })
        .collect()
}

/// Checks a `redis://[user:password@]host[:port][/db]` URL without echoing it.
pub(crate) fn check_redis_url(url: &str) -> Result<(), Error> {
    parse_redis_url(url).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        GuardConfig::from_toml_str(text)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn the_contract_table_parses() {
        let config = GuardConfig::from_toml_str(
            "store = \"memory\"\nrecipient_sends = [5, 3600]\nip_sends = [20, 3600]\nallow_prefixes = [\"+91\", \"+86\"]\ndeny_prefixes = [\"+881\"]\nverify_attempts = 5",
        )
        .unwrap();
        assert_eq!(
            config.recipient_sends,
            Some(Budget::new(5, Duration::from_secs(3600)))
        );
        assert_eq!(
            config.ip_sends,
            Some(Budget::new(20, Duration::from_secs(3600)))
        );
        assert_eq!(config.allow_prefixes, ["+91", "+86"]);
        assert_eq!(config.deny_prefixes, ["+881"]);
        assert_eq!(config.verify_attempts, Some(5));
        assert_eq!(config.store, StoreSpec::Memory);
        assert_eq!(
            GuardConfig::from_toml_str("").unwrap(),
            GuardConfig::default()
        );
    }

    #[test]
    fn every_error_names_its_key() {
        for (text, key) in [
            ("recipient_sends = [0, 60]", "`guard.recipient_sends`"),
            ("recipient_sends = [5]", "`guard.recipient_sends`"),
            ("recipient_sends = [5, 0]", "`guard.recipient_sends`"),
            ("ip_sends = [5, 99999999]", "`guard.ip_sends`"),
            ("ip_sends = \"5/h\"", "`guard.ip_sends`"),
            ("allow_prefixes = [\"91\"]", "`guard.allow_prefixes`"),
            ("deny_prefixes = [\"+8x1\"]", "`guard.deny_prefixes`"),
            ("verify_attempts = 0", "`guard.verify_attempts`"),
            ("verify_attempts = -1", "`guard.verify_attempts`"),
            ("recipient_send = [5, 60]", "`guard.recipient_send`"),
            ("store = \"postgres://x\"", "`guard.store`"),
            ("store = \"redis://h:1/notanumber\"", "`guard.store`"),
        ] {
            let message = err(text);
            assert!(message.contains(key), "{text}: {message}");
        }
    }

    #[test]
    fn the_environment_carries_the_table_as_json() {
        let config = GuardConfig::from_value(Value::String(
            r#"{"recipient_sends":[5,3600],"verify_attempts":"3"}"#.to_owned(),
        ))
        .unwrap();
        assert_eq!(config.recipient_sends.map(|b| b.limit), Some(5));
        assert_eq!(config.verify_attempts, Some(3));
        for bad in [Value::String("5 per hour".to_owned()), Value::Bool(true)] {
            let err = GuardConfig::from_value(bad).unwrap_err();
            assert!(err.message().starts_with("`guard`"), "{err}");
            assert!(!err.message().contains("Raw"), "{err}");
        }
    }

    #[test]
    fn redis_urls_are_parsed_and_never_echoed() {
        let target = parse_redis_url("redis://app:p%40ss@cache.internal:6380/2").unwrap();
        assert_eq!(target.addr, "cache.internal:6380");
        assert_eq!(target.user.as_deref(), Some("app"));
        assert_eq!(target.password.as_ref().map(|p| p.expose()), Some("p@ss"));
        assert_eq!(target.db, 2);
        let plain = parse_redis_url("redis://127.0.0.1").unwrap();
        assert_eq!((plain.addr.as_str(), plain.db), ("127.0.0.1:6379", 0));
        let config = GuardConfig::from_toml_str("store = \"redis://u:hunter2@h:1/x\"").unwrap_err();
        assert!(!config.message().contains("hunter2"), "{config}");
        let ok = GuardConfig::from_toml_str("store = \"redis://u:hunter2@h:1/0\"").unwrap();
        assert!(!format!("{ok:?}").contains("hunter2"));
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn a_redis_store_needs_the_feature() {
        let config = GuardConfig::from_toml_str("store = \"redis://127.0.0.1:6379/0\"").unwrap();
        let err = config
            .store(Duration::from_secs(1), Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(
            err.message().contains("guard.store") && err.message().contains("redis"),
            "{err}"
        );
    }
}
