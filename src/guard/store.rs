//! The [`Store`] trait: the guard's few atomic operations, each one round trip.
//!
//! Keys arrive already namespaced and hashed (`otpkit:guard:…`, see [`super::keys`]); a store
//! treats them as opaque strings and must let every key expire on its own.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Error;

/// One sliding window to take a slot in: at most `limit` entries younger than `window` under
/// `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Window {
    /// The window's key.
    pub key: String,
    /// How many entries it holds.
    pub limit: u32,
    /// How long an entry stays.
    pub window: Duration,
}

impl Window {
    /// A window of `limit` entries over `window` under `key`.
    pub fn new(key: impl Into<String>, limit: u32, window: Duration) -> Self {
        Window {
            key: key.into(),
            limit,
            window,
        }
    }
}

/// What [`Store::admit`] is asked to do atomically: if `in_flight` is free and every window has
/// a free slot, mark `in_flight` (for `in_flight_ttl`) and take a slot in every window, all
/// under `ticket`; otherwise change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Admission {
    /// A unique id for this send: the in-flight mark's value and the windows' entry.
    pub ticket: String,
    /// The in-flight key (recipient and purpose), when the rule applies.
    pub in_flight: Option<String>,
    /// How long the in-flight mark lives if it is never released (a crashed process).
    pub in_flight_ttl: Duration,
    /// The windows to take a slot in.
    pub windows: Vec<Window>,
}

/// The answer of [`Store::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admitted {
    /// Everything was taken; release the in-flight mark when the send ends.
    Yes,
    /// Another send holds the in-flight mark, for at most this long.
    InFlight(Duration),
    /// The window at this index of [`Admission::windows`] is full until a slot frees in this
    /// long.
    Full(usize, Duration),
}

/// The answer of [`Store::take_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempt {
    /// An attempt was counted; this many are now counted.
    Taken(u32),
    /// The limit is reached; nothing was counted.
    Exhausted,
}

/// Where the guard keeps its counters: every method is one atomic step (one round trip for a
/// remote store), never a read followed by a separate write. Errors are `unavailable` with
/// `store` in the message.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Admits a send (see [`Admission`]).
    async fn admit(&self, admission: &Admission) -> Result<Admitted, Error>;

    /// Ends a send: drops the in-flight mark if it still holds `ticket`, and, when `refund` is
    /// true (nothing reached the provider), takes `ticket`'s entry back out of `windows`.
    async fn release(
        &self,
        in_flight: Option<&str>,
        ticket: &str,
        windows: &[String],
        refund: bool,
    ) -> Result<(), Error>;

    /// Counts one verification attempt under `key` unless `limit` are already counted; the
    /// count lives `ttl` from its last change.
    async fn take_attempt(&self, key: &str, limit: u32, ttl: Duration) -> Result<Attempt, Error>;

    /// Takes back an attempt counted by [`Store::take_attempt`] (the code was not wrong).
    async fn give_back_attempt(&self, key: &str) -> Result<(), Error>;
}
