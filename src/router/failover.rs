//! Failover that never sends twice (contract §7): which outcomes move `send` to the next
//! member, and the account of every member tried that the final error carries.

use std::fmt::Write as _;

use crate::error::{Error, ErrorKind};

/// Whether a member's `send` error lets the router try the next member: only when nothing can
/// have reached the member's end user. `unsupported` (decided before sending), `unavailable`,
/// `quota_exceeded`, `invalid_credentials`, and `transport` or `timeout` whose request provably
/// never left. Never a rejection, `invalid_recipient`, `rate_limited`, `cooldown`, or a
/// request that may have arrived (a `timeout` after the request left stops there).
///
/// ```
/// use otpkit::router::fails_over;
/// use otpkit::{Error, ErrorKind};
///
/// assert!(fails_over(&Error::new(ErrorKind::Unavailable, "")));
/// assert!(fails_over(&Error::new(ErrorKind::Timeout, "").with_request_sent(false)));
/// assert!(!fails_over(&Error::new(ErrorKind::Timeout, "").with_request_sent(true)));
/// assert!(!fails_over(&Error::new(ErrorKind::Timeout, "")));
/// assert!(!fails_over(&Error::new(ErrorKind::RateLimited, "")));
/// ```
pub fn fails_over(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::Unsupported
        | ErrorKind::Unavailable
        | ErrorKind::QuotaExceeded
        | ErrorKind::InvalidCredentials => true,
        ErrorKind::Transport | ErrorKind::Timeout => error.request_sent() == Some(false),
        _ => false,
    }
}

/// The members a `send` went past, and why, in order.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    account: String,
    last: Option<Error>,
}

impl Attempts {
    /// A member passed over or failed over with this error.
    pub(crate) fn left(&mut self, member: &str, why: &str, error: Error) {
        self.note(member, why, &error);
        self.last = Some(error);
    }

    fn note(&mut self, member: &str, why: &str, error: &Error) {
        if !self.account.is_empty() {
            self.account.push_str("; ");
        }
        let _ = write!(self.account, "`{member}` {why}: {error}");
    }

    /// The error to return when no member sent: the last member's, its message naming every
    /// member tried and why each was left. `None` when no member was considered.
    pub(crate) fn exhausted(self) -> Option<Error> {
        let error = self.last?;
        let message = format!("no member could send: {}", self.account);
        Some(error.with_message(message))
    }

    /// A member's error that ends the send (not a failover trigger): returned as it is, with
    /// the members left before it named in its message.
    pub(crate) fn stopped_at(self, member: &str, error: Error) -> Error {
        if self.account.is_empty() {
            return error;
        }
        let message = format!(
            "{} (from `{member}`, after {})",
            error.message(),
            self.account
        );
        error.with_message(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_classified() {
        for kind in ErrorKind::ALL {
            let plain = fails_over(&Error::new(kind, ""));
            let expected = matches!(
                kind,
                ErrorKind::Unsupported
                    | ErrorKind::Unavailable
                    | ErrorKind::QuotaExceeded
                    | ErrorKind::InvalidCredentials
            );
            assert_eq!(plain, expected, "{kind}");
            let never_left = fails_over(&Error::new(kind, "").with_request_sent(false));
            let expected_never_left =
                expected || matches!(kind, ErrorKind::Timeout | ErrorKind::Transport);
            assert_eq!(never_left, expected_never_left, "{kind}");
            let may_have_arrived = fails_over(&Error::new(kind, "").with_request_sent(true));
            assert_eq!(may_have_arrived, expected, "{kind}");
        }
    }

    #[test]
    fn the_final_error_is_the_last_members_and_names_each_member() {
        let mut attempts = Attempts::default();
        attempts.left(
            "india",
            "failed over",
            Error::new(ErrorKind::Unavailable, "down").in_context("hyperverge", "send"),
        );
        attempts.left(
            "world",
            "failed over",
            Error::new(ErrorKind::QuotaExceeded, "no credit")
                .with_code("INSUFFICIENT_BALANCE")
                .with_status(402)
                .with_retry_after(std::time::Duration::from_secs(7))
                .in_context("thundersms", "send"),
        );
        let err = attempts.exhausted().unwrap();
        assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(err.provider(), Some("thundersms"));
        assert_eq!(err.status(), Some(402));
        assert_eq!(err.provider_code(), Some("INSUFFICIENT_BALANCE"));
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert!(err.message().contains("`india` failed over"), "{err}");
        assert!(err.message().contains("unavailable"), "{err}");
        assert!(err.message().contains("`world` failed over"), "{err}");
        assert!(Attempts::default().exhausted().is_none());
    }
}
