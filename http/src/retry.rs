//! When and how long to wait before trying a request again.

use std::time::{Duration, SystemTime};

/// How failed requests are retried.
///
/// Retried: connection errors, timeouts, `5xx` responses and `429 Too Many Requests`.
/// Never retried: other `4xx` responses, which would fail the same way again.
/// A `Retry-After` header on a 429 or 503 replaces the computed backoff, up to
/// [`RetryPolicy::max_retry_after`]; a server asking for a longer wait fails the request at
/// once rather than stalling the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 means no retries).
    pub attempts: u32,
    /// The wait before the first retry; it doubles on each further retry.
    pub base_delay: Duration,
    /// The longest computed wait between two tries.
    pub max_delay: Duration,
    /// Whether each wait is drawn at random from its upper half, so that many clients
    /// failing together do not retry together.
    pub jitter: bool,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            jitter: true,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        if self.jitter {
            ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
        } else {
            ceiling
        }
    }
}

/// Whether a response status is worth another try.
pub fn status_is_retryable(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?;
    let when = SystemTime::from(when.timestamp());
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let policy = RetryPolicy {
            jitter: false,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        let waits: Vec<_> = (0..4).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 350, 350]);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let wait = policy.backoff(1);
            assert!(wait >= Duration::from_millis(250) && wait <= Duration::from_millis(500));
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_429_and_5xx_are_retried() {
        assert!(status_is_retryable(429));
        assert!(status_is_retryable(503));
        assert!(!status_is_retryable(404));
        assert!(!status_is_retryable(410));
        assert!(!status_is_retryable(200));
    }
}
