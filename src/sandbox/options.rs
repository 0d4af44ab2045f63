//! [`SandboxOptions`]: code lifetime, cooldown, attempts, quota, code length and the hang.

use std::time::Duration;

/// How the sandbox behaves. Start from [`SandboxOptions::default`] and change what you need.
///
/// ```
/// use std::time::Duration;
/// use otpkit::sandbox::SandboxOptions;
///
/// let options = SandboxOptions::default()
///     .resend_cooldown(Duration::from_secs(5))
///     .max_attempts(5);
/// assert_eq!(options.code_ttl, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxOptions {
    /// How long a code lives where the request does not say (default 300 s). ThunderSMS takes
    /// `payload.timeout`, HyperVerge mobile `otpExpiry`, and Tencent CIAM without an
    /// `auth_source_id` uses its documented 60 s.
    pub code_ttl: Duration,
    /// The least time between two sends to one recipient (default 30 s, Tencent's documented
    /// "one SMS per number per 30 s").
    pub resend_cooldown: Duration,
    /// Wrong codes allowed per issued code (default 3); after that the code is burned.
    pub max_attempts: u32,
    /// Sends allowed per provider over the sandbox's life (default 1000).
    pub quota: u64,
    /// Digits in a code where the request does not say (default 6).
    pub code_length: u8,
    /// How long [`Failure::Hang`] keeps a request waiting before giving up with a 504
    /// (default 600 s); the wait also ends when the sandbox is dropped.
    ///
    /// [`Failure::Hang`]: super::Failure::Hang
    pub hang: Duration,
    /// How long the answer to a magic `slow` recipient takes (default
    /// [`SLOW_ANSWER`](crate::magic::SLOW_ANSWER); see [`crate::magic`]).
    pub slow: Duration,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            code_ttl: Duration::from_secs(300),
            resend_cooldown: Duration::from_secs(30),
            max_attempts: 3,
            quota: 1000,
            code_length: 6,
            hang: Duration::from_secs(600),
            slow: crate::magic::SLOW_ANSWER,
        }
    }
}

impl SandboxOptions {
    /// Sets [`SandboxOptions::code_ttl`].
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Sets [`SandboxOptions::resend_cooldown`].
    pub fn resend_cooldown(mut self, cooldown: Duration) -> Self {
        self.resend_cooldown = cooldown;
        self
    }

    /// Sets [`SandboxOptions::max_attempts`].
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`SandboxOptions::quota`].
    pub fn quota(mut self, quota: u64) -> Self {
        self.quota = quota;
        self
    }

    /// Sets [`SandboxOptions::code_length`] (clamped to 4–10).
    pub fn code_length(mut self, length: u8) -> Self {
        self.code_length = length.clamp(4, 10);
        self
    }

    /// Sets [`SandboxOptions::hang`].
    pub fn hang(mut self, hang: Duration) -> Self {
        self.hang = hang;
        self
    }

    /// Sets how long the answer to a magic `slow` recipient takes.
    pub fn slow(mut self, slow: Duration) -> Self {
        self.slow = slow;
        self
    }
}
