//! The durable job queue's policy: retry backoff with jitter. The queue itself is the `jobs`
//! table, driven through [`crate::Store`]'s `claim_next_job`, `complete_job`, `fail_job` and
//! `release_job`.
//!
//! # Why our own queue and not apalis (or similar)
//!
//! - A delivery and the jobs it implies must be written in **one transaction** with the
//!   `deliveries` row that de-duplicates `X-GitHub-Delivery`. apalis owns its own tables and
//!   connection handling, so that atomicity would be lost or need its internals.
//! - We need **supersede** semantics (a newer push replaces a queued review of an older head),
//!   dead letters that keep the last error, and leases that expire so a `kill -9`'d process's
//!   job is taken again — on **both** SQLite and Postgres with the same behaviour. apalis's SQL
//!   backends differ per dialect in exactly these areas and move with its own release cadence.
//! - The whole queue is about 150 lines of SQL per dialect that we test in one contract suite
//!   (`store::contract`), including two processes sharing one Postgres. Owning it costs less
//!   than adapting a framework's worker model, metrics and shutdown to ours.

use std::time::Duration;

use rand::Rng;

/// How failed jobs are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub base: Duration,
    /// No delay is longer than this.
    pub max: Duration,
    /// Attempts before a job becomes a dead letter.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    /// 5 attempts over about 10 minutes: long enough to ride out a GitHub or Azure incident's
    /// first minutes, short enough that a review still lands while the author cares.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(10 * 60),
            max_attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): exponential, capped, with
    /// "full jitter" in its upper half so many jobs failing together do not retry together.
    pub fn backoff(&self, attempt: i32, rng: &mut impl Rng) -> Duration {
        let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
        let ceiling = self.base.saturating_mul(1u32 << exponent).min(self.max);
        let half = ceiling / 2;
        half + half.mul_f64(rng.gen_range(0.0..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=12 {
            let ceiling = (policy.base * 2u32.pow(attempt as u32 - 1)).min(policy.max);
            for _ in 0..50 {
                let delay = policy.backoff(attempt, &mut rng);
                assert!(
                    delay >= ceiling / 2,
                    "attempt {attempt}: {delay:?} < {:?}",
                    ceiling / 2
                );
                assert!(
                    delay <= ceiling,
                    "attempt {attempt}: {delay:?} > {ceiling:?}"
                );
            }
        }
        assert!(policy.backoff(40, &mut rng) <= policy.max);
    }

    #[test]
    fn backoff_jitter_spreads_retries() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let delays: std::collections::BTreeSet<_> =
            (0..20).map(|_| policy.backoff(3, &mut rng)).collect();
        assert!(
            delays.len() > 10,
            "jitter should vary the delay: {delays:?}"
        );
    }
}
