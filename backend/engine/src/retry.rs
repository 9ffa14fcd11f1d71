//! Retry policy for transient failures: exponential back-off with full jitter, capped,
//! honouring a vendor's `Retry-After`. The default follows SPEC §3 (5 attempts from 500 ms).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub multiplier: u32,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial: Duration::from_millis(500),
            multiplier: 2,
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `next_attempt` (2 = the first retry). `retry_after` wins when the
    /// vendor said how long to wait; the caller decides whether to sleep or park the run.
    pub fn delay_before(&self, next_attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let exp = next_attempt.saturating_sub(2).min(16);
        let base = self
            .initial
            .saturating_mul(self.multiplier.saturating_pow(exp))
            .min(self.max_delay);
        // "Equal jitter": half fixed, half random, so retries of many runs spread out but a
        // retry never comes sooner than half the nominal delay.
        let half = base / 2;
        let jitter_ms = rand::random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        let p = RetryPolicy::default();
        for attempt in 2..=5 {
            let nominal = p.initial * 2u32.pow(attempt - 2);
            let d = p.delay_before(attempt, None);
            assert!(d >= nominal / 2 && d <= nominal, "attempt {attempt}: {d:?}");
        }
        assert!(p.delay_before(40, None) <= p.max_delay);
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay_before(2, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        let now = chrono::Utc::now();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = (now + chrono::Duration::seconds(10)).to_rfc2822();
        let parsed = parse_retry_after(&later, now).unwrap_or_default();
        assert!(parsed >= Duration::from_secs(9) && parsed <= Duration::from_secs(10));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
