//! Request pacing: at most one request per interval to an API, so a documented limit (Atlassian
//! `/events`: 10 requests a minute, api-contracts.md §5.1) is never reached, and a `Retry-After`
//! holds back every stream that shares the API.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Spaces requests to one API at least `interval` apart. Shared (`Arc`) by the streams that
/// count against the same limit.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing one request every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self { interval, next: Mutex::new(None) }
    }

    /// A pacer allowing `requests` requests a minute (at least one).
    pub fn per_minute(requests: u32) -> Self {
        Self::new(Duration::from_secs(60) / requests.max(1))
    }

    /// The interval between requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until the next request may go, and books the slot after it.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            let now = Instant::now();
            if at > now {
                tokio::time::sleep(at - now).await;
            }
        }
        *next = Some(Instant::now() + self.interval);
    }

    /// No request goes before `at` (the API asked to wait).
    pub async fn hold_until(&self, at: Instant) {
        let mut next = self.next.lock().await;
        if next.is_none_or(|n| n < at) {
            *next = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_minute_turns_a_limit_into_an_interval() {
        assert_eq!(Pacer::per_minute(10).interval(), Duration::from_secs(6));
        assert_eq!(Pacer::per_minute(600).interval(), Duration::from_millis(100));
        assert_eq!(Pacer::per_minute(0).interval(), Duration::from_secs(60));
    }

    #[tokio::test]
    async fn requests_are_spaced_by_the_interval_and_held_by_retry_after() {
        let pacer = Pacer::new(Duration::from_millis(40));
        let started = Instant::now();
        for _ in 0..4 {
            pacer.wait().await;
        }
        // The first goes at once, the next three 40 ms apart.
        assert!(started.elapsed() >= Duration::from_millis(120), "{:?}", started.elapsed());

        let held = Instant::now();
        pacer.hold_until(held + Duration::from_millis(150)).await;
        pacer.wait().await;
        assert!(held.elapsed() >= Duration::from_millis(150), "{:?}", held.elapsed());
    }
}
