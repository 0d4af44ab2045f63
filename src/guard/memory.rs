//! [`MemoryStore`]: the guard's counters in this process (the default store).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::store::{Admission, Admitted, Attempt, Store};
use crate::error::Error;

/// The guard's counters in one process, behind one mutex: every operation is atomic because it
/// runs under the lock. Entries expire like Redis keys do, and expired ones are swept every
/// [`MemoryStore::SWEEP_EVERY`] operations, so memory stays bounded by the traffic of one
/// window.
///
/// Share one built guard (or one `Arc<MemoryStore>`) across the tasks of a process; other
/// processes do not see it (use the Redis store for that).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    operations: u64,
}

#[derive(Debug)]
enum Entry {
    /// A sliding window: when each entry was taken, oldest first, and by which ticket.
    Window(VecDeque<(Instant, String)>, Instant),
    /// An in-flight mark: the ticket holding it.
    Mark(String, Instant),
    /// A count of attempts.
    Count(u32, Instant),
}

impl Entry {
    fn expires(&self) -> Instant {
        match self {
            Entry::Window(_, at) | Entry::Mark(_, at) | Entry::Count(_, at) => *at,
        }
    }
}

impl MemoryStore {
    /// Expired entries are swept after this many operations.
    pub const SWEEP_EVERY: u64 = 1024;

    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are held (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters more than losing the guard entirely, so keep going with its contents.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks, drops what has expired from the keys about to be used, and sweeps now and then.
    fn begin<'a>(&'a self, keys: &[&str], now: Instant) -> MutexGuard<'a, State> {
        let mut state = self.lock();
        state.operations += 1;
        if state.operations % Self::SWEEP_EVERY == 0 {
            state.entries.retain(|_, entry| entry.expires() > now);
        }
        for key in keys {
            if state.entries.get(*key).is_some_and(|e| e.expires() <= now) {
                state.entries.remove(*key);
            }
        }
        state
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn admit(&self, admission: &Admission) -> Result<Admitted, Error> {
        let now = Instant::now();
        let mut keys: Vec<&str> = admission.windows.iter().map(|w| w.key.as_str()).collect();
        keys.extend(admission.in_flight.as_deref());
        let mut state = self.begin(&keys, now);
        if let Some(key) = &admission.in_flight {
            if let Some(entry) = state.entries.get(key) {
                return Ok(Admitted::InFlight(
                    entry.expires().saturating_duration_since(now),
                ));
            }
        }
        for (index, window) in admission.windows.iter().enumerate() {
            if let Some(Entry::Window(taken, _)) = state.entries.get_mut(&window.key) {
                while taken
                    .front()
                    .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= window.window)
                {
                    taken.pop_front();
                }
                if taken.len() >= window.limit as usize {
                    let oldest = taken.front().map_or(now, |(at, _)| *at);
                    let frees = (oldest + window.window).saturating_duration_since(now);
                    return Ok(Admitted::Full(index, frees));
                }
            }
        }
        for window in &admission.windows {
            let expires = now + window.window;
            let entry = state
                .entries
                .entry(window.key.clone())
                .or_insert_with(|| Entry::Window(VecDeque::new(), expires));
            if let Entry::Window(taken, at) = entry {
                taken.push_back((now, admission.ticket.clone()));
                *at = expires;
            } else {
                *entry = Entry::Window(VecDeque::from([(now, admission.ticket.clone())]), expires);
            }
        }
        if let Some(key) = &admission.in_flight {
            state.entries.insert(
                key.clone(),
                Entry::Mark(admission.ticket.clone(), now + admission.in_flight_ttl),
            );
        }
        Ok(Admitted::Yes)
    }

    async fn release(
        &self,
        in_flight: Option<&str>,
        ticket: &str,
        windows: &[String],
        refund: bool,
    ) -> Result<(), Error> {
        let now = Instant::now();
        let mut keys: Vec<&str> = windows.iter().map(String::as_str).collect();
        keys.extend(in_flight);
        let mut state = self.begin(&keys, now);
        if let Some(key) = in_flight {
            if matches!(state.entries.get(key), Some(Entry::Mark(holder, _)) if holder == ticket) {
                state.entries.remove(key);
            }
        }
        if refund {
            for key in windows {
                if let Some(Entry::Window(taken, _)) = state.entries.get_mut(key) {
                    taken.retain(|(_, t)| t != ticket);
                }
            }
        }
        Ok(())
    }

    async fn take_attempt(&self, key: &str, limit: u32, ttl: Duration) -> Result<Attempt, Error> {
        let now = Instant::now();
        let mut state = self.begin(&[key], now);
        let count = match state.entries.get(key) {
            Some(Entry::Count(n, _)) => *n,
            _ => 0,
        };
        if count >= limit {
            return Ok(Attempt::Exhausted);
        }
        state
            .entries
            .insert(key.to_owned(), Entry::Count(count + 1, now + ttl));
        Ok(Attempt::Taken(count + 1))
    }

    async fn give_back_attempt(&self, key: &str) -> Result<(), Error> {
        let now = Instant::now();
        let mut state = self.begin(&[key], now);
        if let Some(Entry::Count(n, _)) = state.entries.get_mut(key) {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::store::Window;

    fn admission(ticket: &str, windows: Vec<Window>) -> Admission {
        Admission {
            ticket: ticket.to_owned(),
            in_flight: None,
            in_flight_ttl: Duration::from_secs(10),
            windows,
        }
    }

    #[tokio::test]
    async fn expired_entries_are_swept() {
        let store = MemoryStore::new();
        let tiny = Duration::from_nanos(1);
        for i in 0..MemoryStore::SWEEP_EVERY {
            let window = Window::new(format!("k{i}"), 1, tiny);
            store
                .admit(&admission(&i.to_string(), vec![window]))
                .await
                .unwrap();
        }
        // The sweep ran on the last operation and dropped every (already expired) window but,
        // at most, the one just written.
        assert!(store.len() <= 1, "{} keys left", store.len());
    }

    #[tokio::test]
    async fn a_refund_frees_the_slot() {
        let store = MemoryStore::new();
        let window = || Window::new("k", 1, Duration::from_secs(60));
        assert_eq!(
            store.admit(&admission("a", vec![window()])).await.unwrap(),
            Admitted::Yes
        );
        assert!(matches!(
            store.admit(&admission("b", vec![window()])).await.unwrap(),
            Admitted::Full(0, _)
        ));
        store
            .release(None, "a", &["k".to_owned()], true)
            .await
            .unwrap();
        assert_eq!(
            store.admit(&admission("c", vec![window()])).await.unwrap(),
            Admitted::Yes
        );
    }
}
