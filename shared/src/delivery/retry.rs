//! The delivery engine's retry budget: its backoff settings, and the budget that ends before the
//! Lambda deadline (the timing functions are [`crate::backoff`]'s).

use std::time::{Duration, Instant};

use crate::backoff::full_jitter;

/// First backoff ceiling: the wait before the second attempt is drawn from `0..=BACKOFF_BASE`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Largest backoff ceiling.
pub const BACKOFF_CAP: Duration = Duration::from_secs(20);
/// Time kept back before the invocation deadline for the dead-letter write: 10 s, or a quarter of
/// the time left when the run starts, whichever is less.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);
/// Longest `Retry-After` honoured without a deadline; a longer one ends the retries.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// When to stop retrying, and how long each attempt may take.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    /// Attempts per batch (at least 1).
    pub max_attempts: u32,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Backoff base.
    pub base: Duration,
    /// Backoff cap.
    pub cap: Duration,
    /// No attempt starts and no wait ends after this (deadline minus margin).
    pub retry_until: Option<Instant>,
}

/// Why a batch is not tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GiveUp {
    /// `max_attempts` reached.
    Attempts(u32),
    /// The retry budget before the deadline is spent.
    Deadline,
    /// The server asked for a wait longer than [`MAX_RETRY_AFTER`].
    RetryAfterTooLong(Duration),
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Attempts(n) => write!(f, "gave up after {n} attempts"),
            Self::Deadline => f.write_str("retry budget ended before the invocation deadline"),
            Self::RetryAfterTooLong(d) => {
                write!(f, "server asked to retry after {} s", d.as_secs())
            }
        }
    }
}

impl RetryPolicy {
    /// A policy for `max_attempts` and `request_timeout`, stopping a margin before `deadline`.
    pub fn new(
        max_attempts: u32,
        request_timeout: Duration,
        deadline: Option<Instant>,
        now: Instant,
    ) -> Self {
        let retry_until = deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(now);
            deadline.checked_sub(DEADLINE_MARGIN.min(left / 4)).unwrap_or(now)
        });
        Self {
            max_attempts: max_attempts.max(1),
            request_timeout,
            base: BACKOFF_BASE,
            cap: BACKOFF_CAP,
            retry_until,
        }
    }

    /// The timeout of an attempt starting at `now`, or `None` when no attempt may start.
    pub fn attempt_timeout(&self, now: Instant) -> Option<Duration> {
        match self.retry_until {
            None => Some(self.request_timeout),
            Some(until) if now < until => Some(self.request_timeout.min(until - now)),
            Some(_) => None,
        }
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed ones, or why there is none.
    pub fn next_wait(
        &self,
        attempts: u32,
        retry_after: Option<Duration>,
        now: Instant,
    ) -> Result<Duration, GiveUp> {
        if attempts >= self.max_attempts {
            return Err(GiveUp::Attempts(attempts));
        }
        let wait = full_jitter(attempts, self.base, self.cap).max(retry_after.unwrap_or(Duration::ZERO));
        match self.retry_until {
            Some(until) if now.checked_add(wait).is_none_or(|end| end >= until) => Err(GiveUp::Deadline),
            None if wait > MAX_RETRY_AFTER => Err(GiveUp::RetryAfterTooLong(wait)),
            _ => Ok(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_ends_a_margin_before_the_deadline() {
        let now = Instant::now();
        let timeout = Duration::from_secs(30);
        let long = RetryPolicy::new(6, timeout, Some(now + Duration::from_secs(900)), now);
        assert_eq!(long.retry_until, Some(now + Duration::from_secs(890)));
        let short = RetryPolicy::new(6, timeout, Some(now + Duration::from_secs(8)), now);
        assert_eq!(short.retry_until, Some(now + Duration::from_secs(6)));
        assert_eq!(short.attempt_timeout(now), Some(Duration::from_secs(6)));
        assert_eq!(short.attempt_timeout(now + Duration::from_secs(6)), None);
        assert_eq!(long.attempt_timeout(now), Some(timeout));
        let none = RetryPolicy::new(0, timeout, None, now);
        assert_eq!(none.max_attempts, 1);
        assert_eq!(none.attempt_timeout(now), Some(timeout));
    }

    #[test]
    fn next_wait_honours_retry_after_attempts_and_deadline() {
        let now = Instant::now();
        let mut policy = RetryPolicy::new(3, Duration::from_secs(5), None, now);
        policy.base = Duration::from_millis(10);
        policy.cap = Duration::from_millis(10);
        let wait = policy.next_wait(1, Some(Duration::from_secs(2)), now).unwrap();
        assert_eq!(wait, Duration::from_secs(2));
        assert!(policy.next_wait(2, None, now).unwrap() <= Duration::from_millis(10));
        assert_eq!(policy.next_wait(3, None, now), Err(GiveUp::Attempts(3)));
        assert_eq!(
            policy.next_wait(1, Some(Duration::from_secs(301)), now),
            Err(GiveUp::RetryAfterTooLong(Duration::from_secs(301)))
        );
        policy.retry_until = Some(now + Duration::from_secs(1));
        assert_eq!(policy.next_wait(1, Some(Duration::from_secs(1)), now), Err(GiveUp::Deadline));
        assert!(policy.next_wait(1, Some(Duration::from_millis(500)), now).is_ok());
    }
}
