//! What the sandbox remembers and the rules it keeps: [`Shared`] (the options, the origin and
//! the locked [`State`]) with the operations the provider modules call — issue a code under
//! the cooldown and quota, look one up, check a typed code, the resend rules, the activity log,
//! Tencent's accounts and the queued failures.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::broadcast;

use super::clock::later;
use super::codes::{Check, Gate, IssuedCode, NewCode, NoResend, Otp};
use super::fields::normalize;
use super::ids::random_code;
use super::{Failure, SandboxOptions};
use crate::secret::Secret;

/// Everything the server tasks and the [`Sandbox`](super::Sandbox) handle share.
pub(super) struct Shared {
    pub(super) options: SandboxOptions,
    /// `http://127.0.0.1:PORT`
    pub(super) origin: String,
    state: Mutex<State>,
    pub(super) issued_tx: broadcast::Sender<IssuedCode>,
}

/// The mutable part, behind [`Shared`]'s lock.
#[derive(Default)]
pub(super) struct State {
    /// What [`Sandbox::advance`](super::Sandbox::advance) added to the clock.
    pub(super) clock_offset: Duration,
    /// Issued codes by `provider:key`.
    otps: HashMap<String, Otp>,
    /// When each `provider:recipient` was last sent a code.
    last_sent: HashMap<String, Instant>,
    /// Sends per provider, for the quota.
    sent: HashMap<&'static str, u64>,
    /// Failures queued by [`Sandbox::fail_next`](super::Sandbox::fail_next), per provider.
    pub(super) failures: HashMap<&'static str, VecDeque<Failure>>,
    /// Every code issued, oldest first.
    pub(super) issued: Vec<IssuedCode>,
    /// What happened, for the generic service's `/otp/logs`.
    events: Vec<Event>,
    /// Known accounts (Tencent CIAM users) by recipient, with their password if set.
    accounts: HashMap<String, Option<String>>,
}

/// One line of the activity log.
#[derive(Clone)]
pub(super) struct Event {
    pub(super) provider: &'static str,
    pub(super) key: String,
    pub(super) what: &'static str,
    pub(super) at: SystemTime,
}

impl Shared {
    /// A sandbox's shared part, with nothing issued yet.
    pub(super) fn new(options: SandboxOptions, origin: String) -> Self {
        let (issued_tx, _) = broadcast::channel(256);
        Shared {
            options,
            origin,
            state: Mutex::new(State::default()),
            issued_tx,
        }
    }

    /// The state, locked.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters for a sandbox; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sandbox clock (real time plus [`Sandbox::advance`](super::Sandbox::advance)).
    pub(super) fn now(&self) -> Instant {
        later(Instant::now(), self.lock().clock_offset)
    }

    /// The sandbox's wall clock.
    pub(super) fn wall_now(&self) -> SystemTime {
        later(SystemTime::now(), self.lock().clock_offset)
    }

    /// Issues a code unless the cooldown or quota says no; replaces any code under the same key.
    pub(super) fn issue(&self, new: NewCode<'_>) -> Result<Otp, Gate> {
        let mut state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let wall = later(SystemTime::now(), state.clock_offset);
        let cooldown_key = new.cooldown.map(|k| format!("{}:{k}", new.provider));
        if let Some(key) = &cooldown_key {
            if let Some(last) = state.last_sent.get(key) {
                let ready = later(*last, self.options.resend_cooldown);
                if now < ready {
                    return Err(Gate::Cooldown(ready - now));
                }
            }
        }
        let used = state.sent.get(new.provider).copied().unwrap_or(0);
        if used >= self.options.quota {
            return Err(Gate::Quota { used });
        }
        state.sent.insert(new.provider, used + 1);
        if let Some(key) = cooldown_key {
            state.last_sent.insert(key, now);
        }
        let otp = Otp {
            code: new.code.unwrap_or_else(|| random_code(new.length)),
            recipient: normalize(new.recipient),
            issued_at: now,
            issued_wall: wall,
            expires_at: later(now, new.ttl),
            ttl: new.ttl,
            attempts: 0,
            used: false,
            meta: new.meta,
        };
        state
            .otps
            .insert(format!("{}:{}", new.provider, new.key), otp.clone());
        state.events.push(Event {
            provider: new.provider,
            key: new.key.to_owned(),
            what: "sent",
            at: wall,
        });
        let issued = IssuedCode {
            provider: new.provider,
            recipient: otp.recipient.clone(),
            code: Secret::new(otp.code.clone()),
        };
        // A magic "never verified" recipient's code is issued but never disclosed.
        let never_verified = crate::magic::magic_in_text(new.recipient)
            == Some(crate::magic::MagicOutcome::NeverVerified);
        if never_verified {
            return Ok(otp);
        }
        state.issued.push(issued.clone());
        drop(state);
        // Nobody listening is fine.
        let _ = self.issued_tx.send(issued);
        Ok(otp)
    }

    /// Queues a failure for the provider's next answer.
    pub(super) fn queue_failure(&self, provider: &'static str, failure: Failure) {
        self.lock()
            .failures
            .entry(provider)
            .or_default()
            .push_back(failure);
    }

    /// The code stored under this key, if it may be sent again (a retry or resend). The
    /// cooldown comes before the code's own state, as in a rate-limiting middleware.
    pub(super) fn resendable(&self, provider: &str, key: &str) -> Result<Otp, NoResend> {
        let state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let previous = state
            .otps
            .get(&format!("{provider}:{key}"))
            .ok_or(NoResend::Unknown)?;
        let last_sent = state
            .last_sent
            .get(&format!("{provider}:{}", previous.recipient));
        if let Some(last) = last_sent {
            let left = later(*last, self.options.resend_cooldown).saturating_duration_since(now);
            if !left.is_zero() {
                return Err(NoResend::Cooldown(left));
            }
        }
        if previous.used {
            return Err(NoResend::Used);
        }
        Ok(previous.clone())
    }

    /// The code stored under this key.
    pub(super) fn lookup(&self, provider: &str, key: &str) -> Option<Otp> {
        self.lock().otps.get(&format!("{provider}:{key}")).cloned()
    }

    /// Checks a typed code against the one stored under this key, counting a wrong one; `None`
    /// when no code is stored there.
    pub(super) fn check(&self, provider: &'static str, key: &str, typed: &str) -> Option<Check> {
        let mut state = self.lock();
        let now = later(Instant::now(), state.clock_offset);
        let wall = later(SystemTime::now(), state.clock_offset);
        let max = self.options.max_attempts;
        let otp = state.otps.get_mut(&format!("{provider}:{key}"))?;
        let check = match otp.state(now, max) {
            Check::Pending if otp.code == typed => {
                otp.used = true;
                Check::Correct
            }
            Check::Pending => {
                otp.attempts += 1;
                Check::Wrong {
                    remaining: max.saturating_sub(otp.attempts),
                }
            }
            other => other,
        };
        state.events.push(Event {
            provider,
            key: key.to_owned(),
            what: match check {
                Check::Correct => "verified",
                Check::Wrong { .. } => "wrong_code",
                Check::Burned => "too_many_attempts",
                Check::Expired => "expired",
                Check::Used | Check::Pending => "already_verified",
            },
            at: wall,
        });
        Some(check)
    }

    /// How many sends the provider has made (against the quota).
    pub(super) fn quota_used(&self, provider: &str) -> u64 {
        self.lock().sent.get(provider).copied().unwrap_or(0)
    }

    /// Every stored code of a provider, with its key, oldest first.
    pub(super) fn all(&self, provider: &str) -> Vec<(String, Otp)> {
        let prefix = format!("{provider}:");
        let mut all: Vec<(String, Otp)> = self
            .lock()
            .otps
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
            .collect();
        all.sort_by_key(|(_, otp)| otp.issued_at);
        all
    }

    /// The provider's activity log, oldest first.
    pub(super) fn events(&self, provider: &str) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.provider == provider)
            .cloned()
            .collect()
    }

    /// Whether an account exists, and its password.
    pub(super) fn account(&self, recipient: &str) -> Option<Option<String>> {
        self.lock().accounts.get(&normalize(recipient)).cloned()
    }

    /// Creates the account if it is new, and sets its password if one is given.
    pub(super) fn set_account(&self, recipient: &str, password: Option<String>) {
        let mut state = self.lock();
        let entry = state.accounts.entry(normalize(recipient)).or_default();
        if password.is_some() {
            *entry = password;
        }
    }
}
