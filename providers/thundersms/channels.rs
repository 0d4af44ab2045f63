//! ThunderSMS's channel sequence: the `channels` config (also read from a JSON string, the
//! environment's form), its checks, and the order a request's channels are tried in.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::{wire, DEFAULT_WAIT_SECS, MAX_WAIT_SECS, VIBER_TTL_SECS};
use crate::de as lenient;
use crate::error::Error;
use crate::request::Channel;

/// One channel of the fallback sequence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ChannelConfig {
    /// `whatsapp`, `sms`, `voice` or `viber`.
    #[serde(deserialize_with = "lenient::string_like")]
    pub name: String,
    /// The sender id or number (for Viber, a UUID).
    #[serde(deserialize_with = "lenient::string_like")]
    pub from: String,
    /// The place in the sequence; the position in the list when absent.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub order: Option<u64>,
    /// Seconds before the next channel is tried (default 30).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub wait: Option<u64>,
    /// Voice only: the call flow id. The vendor's example sets it on voice channels but does
    /// not list it as required, so it is optional here.
    #[serde(default, deserialize_with = "lenient::opt_string_like")]
    pub flow_id: Option<String>,
    /// Voice only: the text-to-speech language, such as `en_US`.
    #[serde(default)]
    pub language: Option<String>,
    /// Viber only: the message's time to live, 30 to 1,209,600 seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub ttl: Option<u64>,
}

impl ChannelConfig {
    /// A channel with its name and sender, every option at its default.
    pub fn new(name: impl Into<String>, from: impl Into<String>) -> Self {
        ChannelConfig {
            name: name.into(),
            from: from.into(),
            order: None,
            wait: None,
            flow_id: None,
            language: None,
            ttl: None,
        }
    }
}

/// Reads `channels` from a list, or from a string holding a JSON list (the environment's form).
pub(super) fn channel_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<ChannelConfig>, D::Error> {
    struct ListOrJson;

    impl<'de> Visitor<'de> for ListOrJson {
        type Value = Vec<ChannelConfig>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of channels, or a string holding a JSON list of channels")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            serde_json::from_str(text).map_err(|e| match e.classify() {
                // Keep serde's wording first, so the config layer drops any quoted value.
                serde_json::error::Category::Data => E::custom(e),
                _ => E::custom(format!(
                    "is a string but not a JSON list of channels (line {} column {})",
                    e.line(),
                    e.column()
                )),
            })
        }
    }

    d.deserialize_any(ListOrJson)
}

/// One checked channel, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    pub(super) channel: Channel,
    from: String,
    pub(super) wait: u64,
    flow_id: Option<String>,
    language: Option<String>,
    ttl: Option<u64>,
}

impl Route {
    pub(super) fn to_wire<'a>(&'a self, to: &'a str, order: usize) -> wire::WireChannel<'a> {
        wire::WireChannel {
            name: self.channel.as_str(),
            from: &self.from,
            recipient: wire::WireRecipient { to },
            order,
            wait: self.wait,
            flow_id: self.flow_id.as_deref(),
            language: self.language.as_deref(),
            ttl: self.ttl,
        }
    }
}

/// Checks the channel list: at least one; names whatsapp, sms, voice or viber, each once;
/// `from` not blank; `flow_id` and `language` only on voice, `ttl` only on viber and in range;
/// `wait` at most a day; `order` values distinct. Returns the channels sorted by `order`.
pub(super) fn check_channels(channels: &[ChannelConfig]) -> Result<Vec<Route>, Error> {
    if channels.is_empty() {
        return Err(Error::config(
            "channels",
            "needs at least one channel (whatsapp, sms, voice or viber)",
        ));
    }
    let mut ordered: Vec<(u64, Route)> = Vec::with_capacity(channels.len());
    for (position, entry) in channels.iter().enumerate() {
        let key = |field: &str| format!("channels[{position}].{field}");
        let channel = Channel::parse(&entry.name)
            .ok()
            .filter(|c| *c != Channel::Email)
            .ok_or_else(|| Error::config(&key("name"), "must be whatsapp, sms, voice or viber"))?;
        if ordered.iter().any(|(_, route)| route.channel == channel) {
            return Err(Error::config(
                &key("name"),
                format!("`{channel}` is listed twice; list each channel once"),
            ));
        }
        let from = entry.from.trim();
        if from.is_empty() {
            return Err(Error::config(&key("from"), "must not be empty"));
        }
        let flow_id = only_on(
            channel,
            Channel::Voice,
            &key("flow_id"),
            entry.flow_id.as_deref(),
        )?;
        let language = only_on(
            channel,
            Channel::Voice,
            &key("language"),
            entry.language.as_deref(),
        )?;
        if entry.ttl.is_some() && channel != Channel::Viber {
            return Err(Error::config(
                &key("ttl"),
                "applies to the viber channel only",
            ));
        }
        if let Some(ttl) = entry.ttl.filter(|ttl| !VIBER_TTL_SECS.contains(ttl)) {
            return Err(Error::config(
                &key("ttl"),
                format!("{ttl} is outside 30 to 1,209,600 seconds"),
            ));
        }
        let wait = entry.wait.unwrap_or(DEFAULT_WAIT_SECS);
        if wait > MAX_WAIT_SECS {
            return Err(Error::config(
                &key("wait"),
                format!("must be at most {MAX_WAIT_SECS} seconds"),
            ));
        }
        let order = entry.order.unwrap_or(position as u64);
        if ordered.iter().any(|(taken, _)| *taken == order) {
            return Err(Error::config(
                &key("order"),
                format!("{order} is already another channel's place (an absent order is the list position)"),
            ));
        }
        let route = Route {
            channel,
            from: from.to_owned(),
            wait,
            flow_id,
            language,
            ttl: entry.ttl,
        };
        ordered.push((order, route));
    }
    ordered.sort_by_key(|(order, _)| *order);
    Ok(ordered.into_iter().map(|(_, route)| route).collect())
}

/// A voice-only (or other single-channel) option: refused elsewhere, not blank when given.
fn only_on(
    channel: Channel,
    allowed: Channel,
    key: &str,
    value: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(value) = value else {
        return Ok(None);
    };
    if channel != allowed {
        return Err(Error::config(
            key,
            format!("applies to the {allowed} channel only"),
        ));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::config(key, "must not be empty when set"));
    }
    Ok(Some(value.to_owned()))
}

/// The channel sequence for a request: as configured, or with the requested channel first
/// and the others after it in their configured order.
pub(super) fn plan_routes(
    routes: &[Route],
    requested: Option<Channel>,
) -> Result<Vec<&Route>, Error> {
    let Some(wanted) = requested else {
        return Ok(routes.iter().collect());
    };
    if wanted == Channel::Email {
        return Err(Error::unsupported(
            "ThunderSMS does not send codes by email; nothing was sent",
        ));
    }
    let first = routes.iter().find(|r| r.channel == wanted).ok_or_else(|| {
        let configured: Vec<&str> = routes.iter().map(|r| r.channel.as_str()).collect();
        Error::unsupported(format!(
            "the {wanted} channel is not configured for ThunderSMS (configured: {}); nothing was sent",
            configured.join(", ")
        ))
    })?;
    Ok(std::iter::once(first)
        .chain(routes.iter().filter(|r| r.channel != wanted))
        .collect())
}
