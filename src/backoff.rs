//! How long to wait before trying again: exponential backoff with jitter, for every client
//! that retries (the cloud services' HTTP requests, model downloads).
//!
//! A leaf module so that `engine::cloud` and `models` can both use it without depending on
//! each other. The delay doubles from `base` up to `max`; jitter spreads it so that many
//! clients do not retry in step. The two callers spread it differently on purpose:
//! [`Backoff::delay`] stretches it by up to a quarter (a request retried soon, never before
//! the plain delay), [`Backoff::equal_jitter_delay`] picks between half and all of it (a
//! download that has many tries to spend).

use std::time::{Duration, SystemTime};

/// Backoff pacing: the first delay and the ceiling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry) without jitter:
    /// `base · 2^(retry-1)`, never above `max`.
    pub fn plain_delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exponent).min(self.max)
    }

    /// [`Backoff::plain_delay`] plus up to 25 % jitter, never above `max` (or `base`, when
    /// `base` is the larger).
    pub fn delay(&self, retry: u32) -> Duration {
        let plain = self.plain_delay(retry);
        let jitter = plain.mul_f64(0.25 * random_unit());
        (plain + jitter).min(self.max.max(self.base))
    }

    /// [`Backoff::plain_delay`] scaled by a random factor in [0.5, 1) ("equal jitter").
    pub fn equal_jitter_delay(&self, retry: u32) -> Duration {
        self.plain_delay(retry).mul_f64(0.5 + 0.5 * random_unit())
    }
}

/// A number in [0, 1) that differs from call to call, from the standard library's randomly
/// keyed hasher (not for cryptography).
fn random_unit() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_bounded_jitter_and_a_ceiling() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        };
        for (retry, plain) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)] {
            let delay = backoff.delay(retry).as_secs_f64();
            assert!(
                delay >= plain && delay <= plain * 1.25,
                "retry {retry}: {delay}"
            );
        }
        assert!(backoff.delay(30) <= Duration::from_secs(30));
        assert!(backoff.delay(30) >= Duration::from_secs(30));
    }

    #[test]
    fn equal_jitter_stays_between_half_and_all_of_the_plain_delay() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let first = backoff.equal_jitter_delay(1);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(100));
            let third = backoff.equal_jitter_delay(3);
            assert!(third >= Duration::from_millis(200) && third < Duration::from_millis(400));
            let late = backoff.equal_jitter_delay(40);
            assert!(late >= Duration::from_millis(500) && late < Duration::from_millis(1000));
        }
        let samples: Vec<Duration> = (0..20).map(|_| backoff.equal_jitter_delay(2)).collect();
        assert!(
            samples.iter().any(|s| *s != samples[0]),
            "no jitter: {samples:?}"
        );
    }

    #[test]
    fn a_base_above_the_ceiling_is_capped_at_the_ceiling() {
        let backoff = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(2),
        };
        assert_eq!(backoff.plain_delay(1), Duration::from_secs(2));
        assert!(backoff.delay(1) <= Duration::from_secs(10));
        assert!(backoff.equal_jitter_delay(3) < Duration::from_secs(2));
    }
}
