//! Non-cryptographic randomness for jitter and unique ids, without a dependency.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random 64-bit value: the process's randomly keyed SipHash over a counter and the clock.
/// Good for jitter and unique ids; not for secrets.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A unique id such as `otpkit-5f0c6a1e9b2d4c7e8a9f0b1c2d3e4f50`: the prefix, a dash and 32
/// hex digits.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_unique_id_example_holds() -> Result<(), crate::Error> {
        let id = crate::random::unique_id("otpkit");
        assert!(id.starts_with("otpkit-") && id.len() == 39);
        assert_ne!(id, crate::random::unique_id("otpkit"));
        Ok(())
    }
}
