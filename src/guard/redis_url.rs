//! `redis://` URLs for the guard's store: read by the configuration (to refuse a bad one when
//! the config is read) and by the Redis store (to connect). A leaf of the guard.

use crate::error::Error;

/// The parts of a Redis URL.
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // read by the Redis store
#[derive(Clone)]
pub(crate) struct RedisTarget {
    /// `host:port`.
    pub(crate) addr: String,
    /// The user for `AUTH`, when given.
    pub(crate) user: Option<String>,
    /// The password for `AUTH`, when given.
    pub(crate) password: Option<crate::secret::Secret>,
    /// The database number.
    pub(crate) db: u32,
}

/// Parses `redis://[user:password@]host[:port][/db]`.
pub(crate) fn parse_redis_url(raw: &str) -> Result<RedisTarget, Error> {
    let bad = |why: &str| Error::config("guard.store", why);
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("not a redis:// URL"))?;
    if url.scheme() != "redis" {
        return Err(bad("only redis:// is supported (no TLS rediss://)"));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(host) => host.to_string(),
        None => return Err(bad("the redis:// URL has no host")),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the redis:// URL must not have a query or fragment"));
    }
    let db = match url.path().trim_matches('/') {
        "" => 0,
        n => n
            .parse()
            .map_err(|_| bad("the redis:// URL's path must be a database number"))?,
    };
    let decode = |s: &str| {
        percent_decode(s).ok_or_else(|| bad("the redis:// URL's user or password is not valid"))
    };
    let user = match url.username() {
        "" => None,
        u => Some(decode(u)?),
    };
    let password = url
        .password()
        .map(|p| decode(p).map(crate::secret::Secret::new))
        .transpose()?;
    Ok(RedisTarget {
        addr: format!("{host}:{}", url.port().unwrap_or(6379)),
        user,
        password,
        db,
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
