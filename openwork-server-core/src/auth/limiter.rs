//! SECURITY (D6): brute-force protection. After too many failed authentications from one
//! address within a window, requests from it that carry credentials are refused without
//! checking them, until the window passes. User-chosen tokens can be weak.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Failed attempts allowed within [`WINDOW`].
pub(crate) const MAX_FAILURES: usize = 20;
/// The window failures are counted over.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Above this many tracked addresses, stale ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 1024;

/// Failed authentications per client address.
#[derive(Debug, Default)]
pub(crate) struct AuthLimiter {
    /// The times of the most recent failures per address (at most [`MAX_FAILURES`] kept).
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AuthLimiter {
    /// `Err(seconds)` when `ip` is blocked; the seconds are what `Retry-After` says.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let failures = self.lock();
        let Some(times) = failures.get(&ip) else {
            return Ok(());
        };
        match times.front() {
            Some(oldest) if times.len() >= MAX_FAILURES && now - *oldest < WINDOW => {
                let remaining = WINDOW - (now - *oldest);
                // Round up so a client that waits exactly Retry-After is let through.
                Err(remaining.as_millis().div_ceil(1000) as u64)
            }
            _ => Ok(()),
        }
    }

    /// Records a failed authentication from `ip`.
    pub(crate) fn record_failure(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
        }
        let times = failures.entry(ip).or_default();
        times.push_back(now);
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    #[tokio::test(start_paused = true)]
    async fn blocks_after_twenty_failures_until_the_window_passes() {
        let limiter = AuthLimiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            limiter.record_failure(A);
        }
        assert_eq!(limiter.check(A), Ok(()));
        limiter.record_failure(A);
        assert_eq!(limiter.check(A), Err(60));
        assert_eq!(limiter.check(B), Ok(()));

        tokio::time::advance(Duration::from_millis(59_500)).await;
        assert_eq!(limiter.check(A), Err(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.check(A), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_spread_beyond_the_window_do_not_block() {
        let limiter = AuthLimiter::default();
        for _ in 0..MAX_FAILURES {
            limiter.record_failure(A);
            tokio::time::advance(Duration::from_secs(4)).await;
        }
        assert_eq!(limiter.check(A), Ok(()));
    }
}
