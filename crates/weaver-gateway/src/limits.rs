//! Rate limits: one token bucket (GCRA, from `governor`) per client address, checked before
//! authentication so credential guessing is limited too, and one per identity, checked after.
//! A refused request is answered 429 with `Retry-After`.
//!
//! Buckets that are full again are dropped every minute ([`Limiters::housekeeping`]), so memory
//! follows the number of recently active clients, not every address ever seen. IPv6 clients
//! are counted per /64, the block a single host usually controls.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::config::LimitsConfig;

/// The two kinds of buckets.
pub struct Limiters {
    identity: Option<DefaultKeyedRateLimiter<String>>,
    address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("identity", &self.identity.is_some())
            .field("address", &self.address.is_some())
            .finish()
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_second: u32,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl Limiters {
    /// Buckets as configured (a rate of 0 turns that kind off).
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            identity: limiter(config.identity_per_second, config.identity_burst),
            address: limiter(config.address_per_second, config.address_burst),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `address`; `Err(wait)` when its bucket is empty.
    pub fn address(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.address else {
            return Ok(());
        };
        limiter
            .check_key(&bucket_address(address))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes a token for the identity bucket `key`; `Err(wait)` when it is empty.
    pub fn identity(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.identity else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops buckets that have refilled; returns how many remain (identities, addresses).
    pub fn housekeeping(&self) -> (usize, usize) {
        let mut counts = (0, 0);
        if let Some(l) = &self.identity {
            l.retain_recent();
            l.shrink_to_fit();
            counts.0 = l.len();
        }
        if let Some(l) = &self.address {
            l.retain_recent();
            l.shrink_to_fit();
            counts.1 = l.len();
        }
        counts
    }
}

/// The bucket of an address: itself for IPv4, its /64 for IPv6 (IPv4-mapped ones as IPv4).
fn bucket_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                for s in segments.iter_mut().skip(4) {
                    *s = 0;
                }
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// `Retry-After` seconds for a wait: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_empty_after_the_burst_and_are_per_key() {
        let limits = Limiters::new(&LimitsConfig {
            identity_per_second: 1,
            identity_burst: 3,
            address_per_second: 0,
            address_burst: 0,
        });
        for _ in 0..3 {
            limits.identity("key:a").unwrap();
        }
        let wait = limits.identity("key:a").unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        limits.identity("key:b").unwrap();
        // Addresses are unlimited here.
        for _ in 0..100 {
            limits.address("10.0.0.1".parse().unwrap()).unwrap();
        }
        assert_eq!(limits.housekeeping(), (2, 0));
    }

    #[test]
    fn ipv6_clients_share_their_slash_64() {
        let limits = Limiters::new(&LimitsConfig {
            identity_per_second: 0,
            identity_burst: 0,
            address_per_second: 1,
            address_burst: 1,
        });
        limits.address("2001:db8::1".parse().unwrap()).unwrap();
        assert!(limits.address("2001:db8::2".parse().unwrap()).is_err());
        limits.address("2001:db8:0:1::1".parse().unwrap()).unwrap();
        limits.address("::ffff:10.0.0.1".parse().unwrap()).unwrap();
        assert!(limits.address("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
