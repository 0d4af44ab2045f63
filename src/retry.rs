//! The opt-in retry policy, and the rule that nothing is sent twice.

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// What an operation can safely repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetrySafety {
    /// `send` and `resend`: retried only when the request provably never left (the connection
    /// failed). A second SMS costs the user money, so an answered or timed-out send is final.
    NotOnceSent,
    /// `verify`: also retried when the provider answered that it could not take the request now
    /// (`rate_limited`, `unavailable`), but not after a timeout, because the code may already
    /// have been used up.
    WhenRefused,
    /// Reads (`status`, listings): retried after any retryable error, timeouts included.
    Idempotent,
}

/// When otpkit retries a failed call. The default, [`RetryPolicy::none`], never retries.
///
/// Sleeps honour the provider's `retry_after`; when that is longer than `max_retry_after`, the
/// error returns at once so the caller can decide.
///
/// ```
/// use std::time::Duration;
/// use otpkit::RetryPolicy;
///
/// let policy = RetryPolicy::standard().max_attempts(2).budget(Duration::from_secs(5));
/// assert_eq!(policy.attempts(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    budget: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::none()
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            budget: Duration::from_secs(10),
            jitter: true,
        }
    }

    /// Three attempts, 200 ms doubling up to 2 s with jitter, `retry_after` honoured up to 5 s,
    /// 10 s in all.
    pub fn standard() -> Self {
        RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::none()
        }
    }

    /// Sets the number of attempts, the first included (1 = never retry).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first delay; each later one doubles.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest backoff delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the longest provider `retry_after` otpkit will sleep through.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Sets the total time the retries of one call may take.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Turns jitter on or off (on by default; off makes delays exact, for tests).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// The number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before attempt `attempt + 1`, or `None` to give up and return `error`.
    pub fn delay_before_retry(
        &self,
        error: &Error,
        safety: RetrySafety,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !may_repeat(error, safety) {
            return None;
        }
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let backoff = if self.jitter {
            jittered(backoff)
        } else {
            backoff
        };
        let delay = match error.retry_after() {
            Some(after) if after > self.max_retry_after => return None,
            Some(after) => after.max(backoff),
            None => backoff,
        };
        // Saturating: delays and budgets are the caller's, and `Duration::MAX` is a fair way to
        // write "no limit".
        (elapsed.saturating_add(delay) <= self.budget).then_some(delay)
    }
}

/// Whether repeating the call after `error` is both useful and safe.
fn may_repeat(error: &Error, safety: RetrySafety) -> bool {
    if error.is_permanent() {
        // It would fail the same way again (a refused certificate).
        return false;
    }
    let kind = error.kind();
    let outage = matches!(kind, ErrorKind::RateLimited | ErrorKind::Unavailable);
    let lost = matches!(kind, ErrorKind::Timeout | ErrorKind::Transport);
    if lost && error.request_sent() == Some(false) {
        // The connection never carried the request: repeating it is always safe.
        return true;
    }
    match safety {
        RetrySafety::NotOnceSent => false,
        RetrySafety::WhenRefused => outage,
        RetrySafety::Idempotent => outage || lost,
    }
}

/// Full jitter between half and all of `delay`.
fn jittered(delay: Duration) -> Duration {
    let fraction = 0.5 + (crate::random::random_u64() % 1000) as f64 / 2000.0;
    delay.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::standard().jitter(false)
    }

    #[test]
    fn what_would_fail_the_same_way_is_never_repeated() {
        // A refused certificate: nothing left, yet another attempt is refused the same way.
        let refused = Error::new(ErrorKind::Transport, "")
            .with_request_sent(false)
            .permanent();
        assert!(!refused.is_retryable());
        for safety in [
            RetrySafety::NotOnceSent,
            RetrySafety::WhenRefused,
            RetrySafety::Idempotent,
        ] {
            assert!(policy()
                .delay_before_retry(&refused, safety, 1, Duration::ZERO)
                .is_none());
        }
    }

    #[test]
    fn sends_are_retried_only_when_nothing_left() {
        let refused = Error::new(ErrorKind::Transport, "").with_request_sent(false);
        let timed_out = Error::new(ErrorKind::Timeout, "").with_request_sent(true);
        let unavailable = Error::new(ErrorKind::Unavailable, "").with_status(503);
        let p = policy();
        assert!(p
            .delay_before_retry(&refused, RetrySafety::NotOnceSent, 1, Duration::ZERO)
            .is_some());
        assert!(p
            .delay_before_retry(&timed_out, RetrySafety::NotOnceSent, 1, Duration::ZERO)
            .is_none());
        assert!(p
            .delay_before_retry(&unavailable, RetrySafety::NotOnceSent, 1, Duration::ZERO)
            .is_none());
        assert!(p
            .delay_before_retry(&unavailable, RetrySafety::WhenRefused, 1, Duration::ZERO)
            .is_some());
        assert!(p
            .delay_before_retry(&timed_out, RetrySafety::WhenRefused, 1, Duration::ZERO)
            .is_none());
        assert!(
            p.delay_before_retry(&timed_out, RetrySafety::Idempotent, 1, Duration::ZERO)
                .is_some(),
            "a read is repeated after a timeout"
        );
        let cooldown = Error::new(ErrorKind::Cooldown, "").with_status(429);
        assert!(p
            .delay_before_retry(&cooldown, RetrySafety::Idempotent, 1, Duration::ZERO)
            .is_none());
    }

    #[test]
    fn huge_delays_and_attempt_zero_do_not_overflow() {
        let e = Error::new(ErrorKind::Unavailable, "");
        let p = policy().base_delay(Duration::MAX).max_delay(Duration::MAX);
        // Past the budget: given up on, not an overflow.
        assert_eq!(
            p.delay_before_retry(&e, RetrySafety::Idempotent, 2, Duration::from_secs(1)),
            None
        );
        assert_eq!(
            p.budget(Duration::MAX).delay_before_retry(
                &e,
                RetrySafety::Idempotent,
                1,
                Duration::ZERO
            ),
            Some(Duration::MAX)
        );
        assert_eq!(
            policy().delay_before_retry(&e, RetrySafety::Idempotent, 0, Duration::ZERO),
            Some(Duration::from_millis(200))
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = policy();
        let soon = Error::new(ErrorKind::RateLimited, "").with_retry_after(Duration::from_secs(1));
        let late = Error::new(ErrorKind::RateLimited, "").with_retry_after(Duration::from_secs(60));
        assert_eq!(
            p.delay_before_retry(&soon, RetrySafety::WhenRefused, 1, Duration::ZERO),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            p.delay_before_retry(&late, RetrySafety::WhenRefused, 1, Duration::ZERO),
            None
        );
    }

    #[test]
    fn attempts_budget_and_backoff_bound_the_retries() {
        let p = policy();
        let e = Error::new(ErrorKind::Unavailable, "");
        assert_eq!(
            p.delay_before_retry(&e, RetrySafety::Idempotent, 1, Duration::ZERO),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            p.delay_before_retry(&e, RetrySafety::Idempotent, 2, Duration::ZERO),
            Some(Duration::from_millis(400))
        );
        assert_eq!(
            p.delay_before_retry(&e, RetrySafety::Idempotent, 3, Duration::ZERO),
            None
        );
        assert_eq!(
            p.delay_before_retry(&e, RetrySafety::Idempotent, 1, Duration::from_secs(10)),
            None
        );
        assert_eq!(
            RetryPolicy::none().delay_before_retry(&e, RetrySafety::Idempotent, 1, Duration::ZERO),
            None
        );
        let jittered = RetryPolicy::standard()
            .delay_before_retry(&e, RetrySafety::Idempotent, 1, Duration::ZERO)
            .unwrap();
        assert!(jittered >= Duration::from_millis(100) && jittered <= Duration::from_millis(200));
    }
}
