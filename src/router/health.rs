//! Member health: a member whose sends failed over `skip_after_failures` times in a row is
//! passed over for `skip_secs`, then tried again (contract §7). In this process only.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a member is passed over after failing (`skip_after_failures`, `skip_secs`).
///
/// ```
/// use std::time::Duration;
/// use otpkit::router::HealthPolicy;
///
/// let policy = HealthPolicy::default();
/// assert_eq!(policy.skip_after_failures, 3);
/// assert_eq!(policy.skip_for, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthPolicy {
    /// Failed-over sends in a row after which the member is passed over (at least 1).
    pub skip_after_failures: u32,
    /// How long it is passed over.
    pub skip_for: Duration,
}

impl HealthPolicy {
    /// The default `skip_after_failures`.
    pub const DEFAULT_SKIP_AFTER_FAILURES: u32 = 3;
    /// The default `skip_secs`.
    pub const DEFAULT_SKIP_SECS: u64 = 30;
    /// The longest `skip_secs` accepted (a day).
    pub const MAX_SKIP_SECS: u64 = 24 * 60 * 60;

    /// A policy: passed over for `skip_for` after `skip_after_failures` failed-over sends in a
    /// row.
    pub fn new(skip_after_failures: u32, skip_for: Duration) -> Self {
        HealthPolicy {
            skip_after_failures,
            skip_for,
        }
    }
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy::new(
            Self::DEFAULT_SKIP_AFTER_FAILURES,
            Duration::from_secs(Self::DEFAULT_SKIP_SECS),
        )
    }
}

/// One member's record: failed-over sends in a row and, while passed over, until when.
#[derive(Debug)]
pub(crate) struct Health {
    policy: HealthPolicy,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures_in_a_row: u32,
    skipped_until: Option<Instant>,
}

impl Health {
    pub(crate) fn new(policy: HealthPolicy) -> Self {
        Health {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves only counters behind: keep using them.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Some(remaining)` while the member is passed over; once the window has passed the
    /// member is tried again (said once in tracing).
    pub(crate) fn skipped_for(&self, member: &str, now: Instant) -> Option<Duration> {
        let mut state = self.state();
        let until = state.skipped_until?;
        if now < until {
            return Some(until - now);
        }
        state.skipped_until = None;
        tracing::info!(
            member,
            "router: member is tried again after being passed over for {}s",
            self.policy.skip_for.as_secs()
        );
        None
    }

    /// A send failed over: one more in a row; at the threshold the member is passed over.
    /// A member tried again after its window that fails once more is passed over again.
    pub(crate) fn failed_over(&self, member: &str, now: Instant) {
        let mut state = self.state();
        state.failures_in_a_row = state.failures_in_a_row.saturating_add(1);
        if state.failures_in_a_row >= self.policy.skip_after_failures
            && state.skipped_until.is_none()
        {
            state.skipped_until = now.checked_add(self.policy.skip_for);
            tracing::info!(
                member,
                failures_in_a_row = state.failures_in_a_row,
                "router: member is passed over for {}s",
                self.policy.skip_for.as_secs()
            );
        }
    }

    /// The member answered without failing over: the run of failures ends.
    pub(crate) fn answered(&self) {
        let mut state = self.state();
        state.failures_in_a_row = 0;
        state.skipped_until = None;
    }

    /// The failed-over sends in a row so far.
    pub(crate) fn failures_in_a_row(&self) -> u32 {
        self.state().failures_in_a_row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Collects what tracing writes.
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn tracing_says_when_a_member_is_passed_over_and_when_it_comes_back() {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let health = Health::new(HealthPolicy::new(1, Duration::from_secs(5)));
            let t0 = Instant::now();
            health.failed_over("india", t0);
            assert!(health.skipped_for("india", t0).is_some());
            assert!(health
                .skipped_for("india", t0 + Duration::from_secs(5))
                .is_none());
        });
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].contains("INFO") && lines[0].contains("passed over for 5s"),
            "{text}"
        );
        assert!(lines[0].contains("member=\"india\""), "{text}");
        assert!(lines[1].contains("tried again"), "{text}");
    }

    #[test]
    fn a_member_is_passed_over_after_the_threshold_and_back_after_the_window() {
        let health = Health::new(HealthPolicy::new(2, Duration::from_secs(30)));
        let t0 = Instant::now();
        health.failed_over("a", t0);
        assert_eq!(health.skipped_for("a", t0), None);
        health.failed_over("a", t0);
        assert_eq!(health.skipped_for("a", t0), Some(Duration::from_secs(30)));
        let later = t0 + Duration::from_secs(29);
        assert_eq!(health.skipped_for("a", later), Some(Duration::from_secs(1)));
        let after = t0 + Duration::from_secs(30);
        assert_eq!(health.skipped_for("a", after), None);
        // Failing again on its comeback passes it over again at once.
        health.failed_over("a", after);
        assert!(health.skipped_for("a", after).is_some());
        // An answer ends the run.
        health.answered();
        assert_eq!(health.failures_in_a_row(), 0);
        assert_eq!(health.skipped_for("a", after), None);
        health.failed_over("a", after);
        assert_eq!(health.skipped_for("a", after), None);
    }
}
